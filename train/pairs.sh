#!/bin/sh
# train/pairs.sh - makes the pair readers (README "The pair readers"): two
# LeNet-5s that read a glyph holding two touching digits, one its left
# digit and one its right, trained on pairs drawn touching from MNIST's
# training digits by the sample generator's writers and cut as the
# segmenter cuts one glyph (`docpipe samples --pairs`).
#
#   sh train/pairs.sh [DOCPIPE [WORKDIR]]   (default ./docpipe build/pairs)
#
# Writes WORKDIR/pair-left.model and WORKDIR/pair-right.model; copying them
# to models/ ships them.  About 6 minutes on the 2-core machine.
set -eu
bin=${1:-./docpipe}
out=${2:-build/pairs}
mkdir -p "$out"
for s in 1 2; do
    [ -f "$out/p$s/pairs-right.csv" ] ||
        "$bin" samples --pairs 120000 --seed $s --digits data/train.csv --out "$out/p$s" &
done
wait
[ -f "$out/p1/pairs-right.csv" ] && [ -f "$out/p2/pairs-right.csv" ]
for side in left right; do
    { cat "$out/p1/pairs-$side.csv"; tail -n +2 "$out/p2/pairs-$side.csv"; } > "$out/$side.csv"
    "$bin" train --arch lenet5 --epochs 8 --rotate 5 --average-from 5 --seed 1 --threads 1 \
        --val 0.05 --out "$out/pair-$side.model" --log "$out/log-$side.csv" "$out/$side.csv" \
        > "$out/train-$side.txt" 2>&1 &
done
wait
tail -n 2 "$out/train-left.txt" "$out/train-right.txt"
[ -f "$out/pair-left.model" ] && [ -f "$out/pair-right.model" ]
