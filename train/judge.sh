#!/bin/sh
# train/judge.sh - makes the judge (README "The judge"): a LeNet-5 that
# reads a glyph as a whole digit (0), touching digits read as one glyph
# (1) or a piece of a digit (2), trained on the glyphs of every split of
# generated pages drawn from MNIST's training digits with neighbours
# touching four times as often as `docpipe samples` draws them, each
# labeled by the split the shipped model reads as written
# (`docpipe crops --judge`).  Seeds 2001-2004 train it (their touching
# rows six times over, so that the rare class weighs), 2005 is held out.
#
#   sh train/judge.sh [DOCPIPE [WORKDIR]]   (default ./docpipe build/judge)
#
# Writes WORKDIR/judge.model; copying it to models/judge.model ships it.
# About 10 minutes on the 2-core machine.
set -eu
bin=${1:-./docpipe}
out=${2:-build/judge}
mkdir -p "$out"
for s in 2001 2002 2003 2004 2005; do
    [ -f "$out/t$s/truth.csv" ] ||
        "$bin" samples --out "$out/t$s" --pages 400 --seed $s --digits data/train.csv --touch 4
    "$bin" crops --judge models/default.model --out "$out/rows-$s.csv" "$out/t$s"
done
{
    head -n 1 "$out/rows-2001.csv"
    for s in 2001 2002 2003 2004; do
        tail -n +2 "$out/rows-$s.csv" | awk -F, '{ n = $1 == 1 ? 6 : 1; for (i = 0; i < n; i++) print }'
    done
} > "$out/train.csv"
"$bin" train --arch lenet5 --epochs 12 --rotate 5 --seed 1 --threads 2 \
    --test "$out/rows-2005.csv" --out "$out/judge.model" --log "$out/log.csv" "$out/train.csv"
"$bin" eval --model "$out/judge.model" "$out/rows-2005.csv"
