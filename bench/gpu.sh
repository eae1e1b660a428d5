#!/bin/sh
# bench/gpu.sh - docpipe's CUDA engine against PyTorch on the same GPU, in the
# same run (make bench-gpu).  Needs a machine with an NVIDIA GPU, docpipe
# built with CUDA, and python3 with a CUDA PyTorch for the reference.
#
#   sh bench/gpu.sh [BIN]            BIN: the docpipe binary (./docpipe)
#
# 1. Throughput: `BIN bench --device cuda` and torch_mnist.py --device cuda
#    (throughput mode) alternately, for lenet5, kaggle and default (docpipe
#    only: PyTorch has no such preset), training at batch 86 and 1024 and
#    inference at batch 8192; the median of GPU_REPS rounds and the ratio
#    docpipe / PyTorch, as a markdown table.
# 2. Time to 99.6 %: the default recipe (bench/time-to-accuracy.sh's
#    command) with --device cuda, and PyTorch's kaggle recipe at batch 512,
#    lr 2e-3 (the issue's reference run) beside it.
# 3. Ingest: 1000 generated 300-dpi pages with --device cuda: pages/s and
#    how long the classifier waited for segmentation (the summary's
#    "classifier:" line).
#
# Environment: GPU_REPS (3), GPU_DATA (data/train.csv), GPU_TEST
# (data/test_labeled.csv), GPU_BATCHES (timed training steps, 300),
# GPU_PAGES (1000), GPU_SKIP (space-separated parts to skip: tput tta
# ingest), GPU_TTA_ARGS (the recipe for part 2, default the shipped model's:
# --arch default --epochs 30 --patience 2 --average-from 16), TORCH_MNIST (../shared/bench/torch_mnist.py beside the checkout).
set -eu

BIN=${1:-./docpipe}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${GPU_DATA:-data/train.csv}
TEST=${GPU_TEST:-data/test_labeled.csv}
REPS=${GPU_REPS:-3}
NB=${GPU_BATCHES:-300}
PAGES=${GPU_PAGES:-1000}
SKIP=${GPU_SKIP:-}
TORCH=${TORCH_MNIST:-$ROOT/../shared/bench/torch_mnist.py}
[ -f "$TORCH" ] || TORCH=/work/shared/bench/torch_mnist.py

die() { echo "bench/gpu.sh: $*" >&2; exit 1; }
skip() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }

[ -x "$BIN" ] || die "no executable $BIN (run make)"
[ -f "$DATA" ] || die "no $DATA (run make data)"
[ -f "$TEST" ] || die "no $TEST (run make data)"

# A GPU, and a docpipe that can use it: one tiny run says so, or why not.
if ! probe=$("$BIN" bench --device cuda --arch lenet5 --batches 1 --infer-batch 1000 "$DATA" 2>&1); then
    die "needs a usable GPU and a CUDA build of docpipe: $(printf '%s\n' "$probe" | grep -m1 error || printf '%s' "$probe" | tail -n 1)"
fi
GPU=$(printf '%s\n' "$probe" | sed -n 's/.*"device": "\([^"]*\)".*/\1/p' | tail -n 1)
HAVE_TORCH=1
if [ ! -f "$TORCH" ] || ! python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    echo "bench/gpu.sh: no CUDA PyTorch or no $TORCH: docpipe figures only" >&2
    HAVE_TORCH=0
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT INT TERM

json() { printf '%s\n' "$2" | sed -n "s/.*\"$1\": \"*\([^\",}]*\)\"*[,}].*/\1/p"; }

# one ENGINE TAG ARGS... - one measurement, its JSON line appended to OUT/TAG.ENGINE.
one() {
    eng=$1 tag=$2
    shift 2
    if [ "$eng" = docpipe ]; then
        line=$("$BIN" bench --device cuda "$@" "$DATA" 2>/dev/null | tail -n 1)
    else
        line=$(python3 "$TORCH" --device cuda "$@" "$DATA" | tail -n 1)
    fi
    case $line in
    '{'*) printf '%s\n' "$line" >>"$OUT/$tag.$eng" ;;
    *) die "$eng $tag gave no JSON line" ;;
    esac
    echo "  $eng $tag: $(json train_img_s "$line") / $(json infer_img_s "$line") img/s" >&2
}

pair() {
    pr=$1
    shift
    if [ "$HAVE_TORCH" = 0 ] || { [ "$2" = --arch ] && [ "$3" = default ]; }; then
        one docpipe "$@"
    elif [ $((pr % 2)) = 1 ]; then
        one docpipe "$@"
        one torch "$@"
    else
        one torch "$@"
        one docpipe "$@"
    fi
}

median() {
    [ -f "$OUT/$1.$2" ] || return 0
    while read -r line; do json "$3" "$line"; done <"$OUT/$1.$2" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

row() {
    d=$(median "$4" docpipe "$5")
    t=$(median "$4" torch "$5")
    ratio=$(awk -v d="$d" -v t="$t" 'BEGIN { if (t > 0) printf "%.2f×", d / t; else printf "—" }')
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$d" "${t:-—}" "$ratio"
}

REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
PT=$([ "$HAVE_TORCH" = 1 ] && python3 -c 'import torch; print("PyTorch", torch.__version__, "cuDNN", torch.backends.cudnn.version())' 2>/dev/null || echo "PyTorch not run")
echo "GPU: $GPU"
echo "docpipe $REV; $PT; $(date -u '+%Y-%m-%d %H:%M UTC')"

if ! skip tput; then
    r=1
    while [ "$r" -le "$REPS" ]; do
        echo "bench/gpu.sh: round $r of $REPS" >&2
        for a in lenet5 kaggle default; do
            pair "$r" "$a-86" --arch "$a" --batch 86 --infer-batch 8192 --batches "$NB"
            pair "$r" "$a-1024" --arch "$a" --batch 1024 --infer-batch 8192 --batches "$NB"
        done
        r=$((r + 1))
    done
    echo
    echo "Throughput, median of $REPS rounds, images/s ($NB timed steps; inference at batch 8192)."
    echo
    echo "| arch | measure | batch | docpipe img/s | PyTorch img/s | ratio |"
    echo "|---|---|---:|---:|---:|---:|"
    for a in lenet5 kaggle default; do
        row "$a" training 86 "$a-86" train_img_s
        row "$a" training 1024 "$a-1024" train_img_s
        row "$a" inference 8192 "$a-1024" infer_img_s
    done
fi

if ! skip tta; then
    echo
    echo "== time to 99.6 % test accuracy, default recipe, --device cuda"
    mkdir -p build/bench-gpu
    # shellcheck disable=SC2086 # GPU_TTA_ARGS: recipe options, split on spaces
    "$BIN" train --device cuda ${GPU_TTA_ARGS:---arch default --epochs 30 --patience 2 --average-from 16} --seed 1 \
        --test "$TEST" --stop-at 0.996 --out build/bench-gpu/tta.model \
        --log build/bench-gpu/tta-log.csv "$DATA" 2>&1 | grep -E "reached|epoch|accuracy" | tail -n 5
    if [ "$HAVE_TORCH" = 1 ]; then
        echo "== PyTorch, kaggle recipe, batch 512, lr 2e-3"
        python3 "$TORCH" --device cuda --arch kaggle --batch 512 --lr 2e-3 --epochs 30 \
            --test "$TEST" "$DATA" 2>/dev/null | tail -n 3
    fi
fi

if ! skip ingest; then
    dir=build/samples-gpu-$PAGES
    if [ ! -f "$dir/truth.csv" ]; then
        # The generator is single-threaded (about 0.1 s a page): nproc parts
        # side by side, part K with seed 1300+K, one truth file for them all.
        rm -rf "$dir"
        mkdir -p "$dir"
        parts=$(nproc)
        [ "$parts" -le "$PAGES" ] || parts=$PAGES
        echo "generating $PAGES pages (seeds 1300.., 300 dpi, mixed) in $parts parts into $dir" >&2
        k=0
        while [ "$k" -lt "$parts" ]; do
            n=$(( (PAGES - k + parts - 1) / parts ))
            "$BIN" samples --out "$dir/p$k" --pages "$n" --seed $((1300 + k)) --kind mixed \
                --dpi 300 >/dev/null &
            k=$((k + 1))
        done
        wait
        k=0
        head -n 1 "$dir/p0/truth.csv" >"$dir/truth.tmp"
        while [ "$k" -lt "$parts" ]; do
            [ -f "$dir/p$k/truth.csv" ] || die "generating part $k failed"
            tail -n +2 "$dir/p$k/truth.csv" | sed "s|^|p$k/|" >>"$dir/truth.tmp"
            rm -f "$dir/p$k/truth.csv"
            k=$((k + 1))
        done
        mv "$dir/truth.tmp" "$dir/truth.csv"
    fi
    echo
    echo "== ingest, $PAGES pages at 300 dpi, --device cuda, --threads $(nproc)"
    db=build/bench-gpu/ingest.db
    mkdir -p build/bench-gpu
    rm -f "$db" "$db-wal" "$db-shm"
    "$BIN" ingest --device cuda --db "$db" --threads "$(nproc)" --batch 4096 "$dir" \
        >build/bench-gpu/ingest.out 2>build/bench-gpu/ingest.err || true
    grep -E "pages/s|classifier:" build/bench-gpu/ingest.out ||
        die "ingest gave no summary: $(tail -n 3 build/bench-gpu/ingest.err)"
    "$BIN" eval-ingest --truth "$dir/truth.csv" --db "$db" 2>/dev/null |
        grep -E "exact|digit accuracy|read rate" | head -n 8 || true
fi
