#!/bin/sh
# bench/time-to-accuracy.sh - how long the default recipe takes to first
# reach 99.6 % on the 10,000 MNIST test digits (make bench-tta).
#
#   sh bench/time-to-accuracy.sh [BIN]
#
# Trains the shipped model's recipe (the command in README, "The shipped
# model") with the test set scored after every epoch, stopping at 99.6 %.
# The figure is seconds of training (evaluation time excluded), printed by
# the trainer as "test accuracy ... reached ... after N s of training".
# Run it on an otherwise idle machine: the engine's threads share the cores.
set -eu
BIN=${1:-./docpipe}
OUT=${TTA_OUT:-reports/tta}
mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
"$BIN" train --arch default --epochs 30 --patience 2 --seed 1 --threads "$(nproc)" \
    --test data/test_labeled.csv --stop-at 0.996 \
    --out "$OUT/tta.model" --log "$OUT/tta-log.csv" data/train.csv
