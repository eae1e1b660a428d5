#!/bin/sh
# bench/bench.sh - docpipe's speed against PyTorch on this machine (make bench).
#
#   sh bench/bench.sh [BIN]          BIN: the docpipe binary (./docpipe)
#
# Runs `BIN bench` and the PyTorch reference torch_mnist.py (throughput mode,
# CPU) on the same data, threads and shapes, alternating the two so both see
# the same machine state, and prints a markdown table of images/s with the
# ratio docpipe / PyTorch, the median of BENCH_REPS rounds.
#
# Rows: lenet5 and kaggle training at batch 86 and inference at batch 1000,
# inference at batch 1, and the default net (docpipe only; PyTorch has no
# such preset).  The batch-1 runs pass --batches 1, so that both programs
# read their minimum of 10000 rows and time 10000 single-image forward
# passes (their training figure is then ignored).
#
# Environment: BENCH_THREADS (nproc), BENCH_DATA (data/train.csv),
# BENCH_REPS (3), BENCH_BATCHES (timed training steps of the batch-1000
# rows; unset: the script's 300 for lenet5, 40 otherwise), TORCH_MNIST (the script; by default the shared folder
# beside the checkout: ../shared/bench/torch_mnist.py).
set -eu

BIN=${1:-./docpipe}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${BENCH_THREADS:-$(nproc)}
DATA=${BENCH_DATA:-data/train.csv}
REPS=${BENCH_REPS:-3}
NB=${BENCH_BATCHES:+--batches $BENCH_BATCHES}
TORCH=${TORCH_MNIST:-$ROOT/../shared/bench/torch_mnist.py}
[ -f "$TORCH" ] || TORCH=/work/shared/bench/torch_mnist.py

[ -x "$BIN" ] || { echo "bench.sh: no executable $BIN (run make)" >&2; exit 1; }
[ -f "$DATA" ] || { echo "bench.sh: no $DATA (run make data)" >&2; exit 1; }
HAVE_TORCH=1
if [ ! -f "$TORCH" ]; then
    echo "bench.sh: no torch_mnist.py ($TORCH): docpipe figures only" >&2
    HAVE_TORCH=0
elif ! "$TORCH" --help >/dev/null 2>&1; then
    echo "bench.sh: $TORCH does not run (python3-torch missing?): docpipe figures only" >&2
    HAVE_TORCH=0
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT INT TERM

LOAD=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD" 'BEGIN { exit !(l > 0.5) }'; then
    echo "bench.sh: warning: load average $LOAD before starting; figures may be low" >&2
fi

# json KEY LINE - the value of KEY in a one-line JSON object (no quotes).
json() {
    printf '%s\n' "$2" | sed -n "s/.*\"$1\": \"*\([^\",}]*\)\"*[,}].*/\1/p"
}

# one ENGINE TAG ARGS... - runs one measurement, appends its JSON line to OUT/TAG.ENGINE.
one() {
    eng=$1 tag=$2
    shift 2
    if [ "$eng" = docpipe ]; then
        line=$("$BIN" bench --threads "$THREADS" "$@" "$DATA" | tail -n 1)
    else
        line=$("$TORCH" --threads "$THREADS" "$@" "$DATA" | tail -n 1)
    fi
    case $line in
    '{'*) printf '%s\n' "$line" >>"$OUT/$tag.$eng" ;;
    *) echo "bench.sh: $eng $tag gave no JSON line" >&2; exit 1 ;;
    esac
    echo "  $eng $tag: $(json train_img_s "$line") / $(json infer_img_s "$line") img/s" >&2
}

# pair ROUND TAG ARGS... - docpipe and PyTorch, first one or the other by round.
pair() {
    pr=$1
    shift
    if [ "$HAVE_TORCH" = 0 ]; then
        one docpipe "$@"
    elif [ $((pr % 2)) = 1 ]; then
        one docpipe "$@"
        one torch "$@"
    else
        one torch "$@"
        one docpipe "$@"
    fi
}

r=1
while [ "$r" -le "$REPS" ]; do
    echo "bench.sh: round $r of $REPS ($THREADS threads, $DATA)" >&2
    pair "$r" lenet5 --arch lenet5 --batch 86 --infer-batch 1000 $NB
    pair "$r" lenet5-1 --arch lenet5 --batch 86 --infer-batch 1 --batches 1
    pair "$r" kaggle --arch kaggle --batch 86 --infer-batch 1000 $NB
    pair "$r" kaggle-1 --arch kaggle --batch 86 --infer-batch 1 --batches 1
    one docpipe default --arch default --batch 86 --infer-batch 1000 $NB
    one docpipe default-1 --arch default --batch 86 --infer-batch 1 --batches 1
    r=$((r + 1))
done

# median TAG ENGINE KEY - the median of KEY over the rounds, or "" when none.
median() {
    [ -f "$OUT/$1.$2" ] || return 0
    while read -r line; do json "$3" "$line"; done <"$OUT/$1.$2" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# row ARCH WHAT BATCH TAG KEY
row() {
    d=$(median "$4" docpipe "$5")
    t=$(median "$4" torch "$5")
    ratio=$(awk -v d="$d" -v t="$t" 'BEGIN { if (t > 0) printf "%.2f×", d / t; else printf "—" }')
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$d" "${t:-—}" "$ratio"
}

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
PT=""
[ -f "$OUT/lenet5.torch" ] && PT=$(json engine "$(head -n 1 "$OUT/lenet5.torch")")
BLAS=$(dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null || true)
REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

echo "Speed on $(nproc) cores ($CPU), $THREADS threads, $(date -u '+%Y-%m-%d %H:%M UTC');"
echo "docpipe $REV (OpenBLAS ${BLAS:-?}), ${PT:-PyTorch not run}; median of $REPS rounds, images/s."
echo
echo "| arch | measure | batch | docpipe img/s | PyTorch img/s | ratio |"
echo "|---|---|---:|---:|---:|---:|"
for a in lenet5 kaggle default; do
    row "$a" training 86 "$a" train_img_s
    row "$a" inference 1000 "$a" infer_img_s
    row "$a" inference 1 "$a-1" infer_img_s
done
