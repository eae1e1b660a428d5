#!/bin/sh
# bench/ingest.sh - `make bench-ingest`: docpipe ingest end to end, its
# accuracy, and stock Tesseract on the same fields.
#   sh bench/ingest.sh ./docpipe BENCH_BIN_DIR [DIR] [PAGES] [SEED]
# 1. generates `docpipe samples --pages 200 --seed 11` (300 dpi, mixed) into
#    DIR when it is not there yet;
# 2. ingests it into a fresh database, timed (--threads 2), and runs
#    eval-ingest on it; then again without the checker (--checker none);
#    and the field accuracy the model would reach reading the MNIST
#    originals of the same digits (bench/read_ceiling.py on sources.csv);
# 3. Tesseract (Debian tesseract-ocr, installed with apt-get when missing)
#    reads each field area docpipe located, deskewed the same way
#    (bench/tess_crops.c), with --psm 7 and a digits-only whitelist; both
#    are scored by the same truth as digit strings (bench/ingest_score.py);
# 4. throughput on 300-dpi G4 TIFF letter pages: `docpipe samples --kind
#    postal` pages rewritten one G4 TIFF per page (bench/to_g4.c).
set -eu
bin=$1; bb=$2; dir=${3:-build/samples-seed11}; pages=${4:-200}; seed=${5:-11}
work=build/bench-ingest
mkdir -p "$work"
if [ ! -f "$dir/truth.csv" ] || [ ! -f "$dir/sources.csv" ] ||
   [ "$(($(wc -l < "$dir/pages.csv") - 1))" -ne "$pages" ]; then
    rm -rf "$dir"
    echo "generating $pages pages (seed $seed, 300 dpi, mixed) into $dir"
    "$bin" samples --out "$dir" --pages "$pages" --seed "$seed" --kind mixed --dpi 300
fi
echo "== docpipe ingest, $pages pages, --threads 2"
rm -f "$work/bench.db" "$work/bench.db-wal" "$work/bench.db-shm"
start=$(date +%s.%N)
"$bin" ingest --quiet --db "$work/bench.db" --threads 2 "$dir" || true
end=$(date +%s.%N)
np=$(sqlite3 "$work/bench.db" "SELECT count(*) FROM pages")
echo "$np pages in $(echo "$end - $start" | bc) s: $(echo "scale=1; $np / ($end - $start)" | bc) pages/s end to end"
echo "== eval-ingest"
"$bin" eval-ingest --db "$work/bench.db" --truth "$dir/truth.csv"
echo "== the same without the checker (--checker none): its cost, its read rate"
rm -f "$work/nc.db" "$work/nc.db-wal" "$work/nc.db-shm"
start=$(date +%s.%N)
"$bin" ingest --quiet --checker none --db "$work/nc.db" --threads 2 "$dir" || true
end=$(date +%s.%N)
echo "$np pages in $(echo "$end - $start" | bc) s: $(echo "scale=1; $np / ($end - $start)" | bc) pages/s end to end without the checker"
"$bin" eval-ingest --db "$work/nc.db" --truth "$dir/truth.csv" | grep -E "field exact|read rate|status ok"
echo "== the model on the MNIST originals of the same digits (the reading ceiling)"
"$bin" eval --json data/test_labeled.csv > "$work/eval.json"
"$bin" predict data/test.csv -o "$work/pred.csv" 2> /dev/null
python3 bench/read_ceiling.py --predictions "$work/pred.csv" "$work/eval.json" "$dir/truth.csv"

echo "== Tesseract on the same field areas"
if ! command -v tesseract >/dev/null 2>&1; then
    echo "installing tesseract-ocr"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends tesseract-ocr >/dev/null ||
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
              --no-install-recommends tesseract-ocr >/dev/null; } ||
        { echo "tesseract-ocr cannot be installed: comparison skipped"; exit 0; }
fi
tesseract --version 2>&1 | head -1
rm -rf "$work/tess"; mkdir -p "$work/tess"
"$bb/tess_crops" "$work/bench.db" "$work/tess"
start=$(date +%s.%N)
ls "$work/tess" | grep '\.png$' | sed 's/\.png$//' | \
    OMP_THREAD_LIMIT=1 xargs -P 2 -I{} sh -c \
    "tesseract '$work/tess/{}.png' '$work/tess/{}' --psm 7 -c tessedit_char_whitelist=0123456789 >/dev/null 2>&1 || true"
end=$(date +%s.%N)
echo "tesseract: $np pages' fields in $(echo "$end - $start" | bc) s: $(echo "scale=2; $np / ($end - $start)" | bc) pages/s (2 processes, field crops only)"
python3 bench/ingest_score.py "$dir/truth.csv" "$work/tess" "$work/bench.db"

echo "== throughput on 300-dpi G4 TIFF letter pages"
g4src=build/samples-postal-seed12
if [ ! -f "$g4src/truth.csv" ]; then
    "$bin" samples --out "$g4src" --pages 100 --seed 12 --kind postal --dpi 300
fi
rm -rf "$work/g4"; mkdir -p "$work/g4"
"$bb/to_g4" "$work/g4" "$g4src"/doc*
rm -f "$work/g4.db" "$work/g4.db-wal" "$work/g4.db-shm"
start=$(date +%s.%N)
"$bin" ingest --quiet --db "$work/g4.db" --threads 2 "$work/g4" || true
end=$(date +%s.%N)
np=$(sqlite3 "$work/g4.db" "SELECT count(*) FROM pages")
echo "G4: $np pages in $(echo "$end - $start" | bc) s: $(echo "scale=1; $np / ($end - $start)" | bc) pages/s end to end"
