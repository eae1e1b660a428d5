#!/bin/sh
# bench/segment.sh - `make bench-segment`: generates 200 sample pages with
# seed 7 (not the committed set) at 300 and at 200 dpi when DIR does not
# hold them yet, then measures the segmentation stage on them against
# their truth (bench/seg_bench.c): skew error, forms and fields found,
# digit-count exact rate, crop agreement under the shipped model,
# milliseconds per page on one core.
#   sh bench/segment.sh ./docpipe build/bench/seg_bench DIR [PAGES SEED]
set -eu
bin=$1; bench=$2; dir=$3; pages=${4:-200}; seed=${5:-7}
for dpi in 300 200; do
    d=$dir-$dpi
    if [ ! -f "$d/pages.csv" ] || [ ! -f "$d/sources.csv" ] || [ "$(($(wc -l < "$d/pages.csv") - 1))" -ne "$pages" ]; then
        rm -rf "$d"
        echo "generating $pages pages (seed $seed, $dpi dpi) into $d"
        "$bin" samples --out "$d" --pages "$pages" --seed "$seed" --kind mixed --dpi "$dpi"
    fi
    echo "== $pages pages, seed $seed, $dpi dpi: $bench $d"
    OMP_NUM_THREADS=1 "$bench" "$d"
done
