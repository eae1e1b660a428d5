#!/bin/sh
# fuzz/run.sh - runs each libFuzzer harness in BINDIR for SECONDS, one after
# the other, niced (make fuzz: BINDIR build/fuzz/fuzz, SECONDS $FUZZ_SECONDS).
#
#   sh fuzz/run.sh BINDIR SECONDS [NAME...]      (NAME: csv model form image db)
#
# Each harness starts from the committed seeds (fuzz/corpus/NAME, read only)
# and a working corpus build/fuzz/corpus/NAME that keeps what it finds
# between runs.  A crash leaves build/fuzz/crashes/NAME-crash-* (the input)
# and the log build/fuzz/NAME.log; the script then goes on with the next
# harness and exits 1 at the end.  The last line per harness is a summary:
# executions, seconds, executions/s, corpus size, crash or not.
set -u
bindir=${1:?usage: fuzz/run.sh BINDIR SECONDS [NAME...]}
secs=${2:?usage: fuzz/run.sh BINDIR SECONDS [NAME...]}
shift 2
names=${*:-csv model form image db}
out=build/fuzz
mkdir -p "$out/crashes"
status=0
for n in $names; do
    bin=$bindir/fuzz_$n
    [ -x "$bin" ] || { echo "fuzz: $bin missing (make fuzz-build)"; status=1; continue; }
    mkdir -p "$out/corpus/$n"
    log=$out/$n.log
    t0=$(date +%s)
    # -max_len: the CSV seeds are ~11 KB (785 columns); the rest are smaller.
    TMPDIR=${TMPDIR:-/tmp} nice -n 19 "$bin" -max_total_time="$secs" -timeout=30 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$n-" "$out/corpus/$n" "fuzz/corpus/$n" >"$log" 2>&1
    rc=$?
    t1=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    files=$(ls "$out/corpus/$n" | wc -l)
    if [ $rc -ne 0 ]; then
        status=1
        what="CRASH (exit $rc): $(grep -m1 -E 'ERROR|runtime error|SUMMARY' "$log")"
    else
        what="no crash"
    fi
    echo "fuzz_$n: ${execs:-?} executions in $((t1 - t0)) s" \
        "($(( ${execs:-0} / ( (t1 - t0) > 0 ? (t1 - t0) : 1 ) )) exec/s), $cov," \
        "working corpus $files files: $what"
done
exit $status
