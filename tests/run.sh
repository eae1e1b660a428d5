#!/bin/sh
# tests/run.sh - run each test program given, show its summary line, and end
# with the totals as one "total: N passed, N failed" line; exit 1 if any
# program failed or printed no summary.
passed=0; failed=0; skipped=0; bad=0
for t in "$@"; do
    name=$(basename "$t")
    start=$(date +%s)
    out=$("$t" 2>"$t.stderr"); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    secs=$(( $(date +%s) - start ))
    if [ -z "$line" ]; then
        echo "$name: no summary line (exit $rc)"; cat "$t.stderr"; bad=$((bad + 1)); continue
    fi
    printf '%-24s %s  (%ss)\n' "$name" "$line" "$secs"
    [ $rc -eq 0 ] || { cat "$t.stderr"; bad=$((bad + 1)); }
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
done
[ $bad -eq 0 ] || failed=$((failed + bad))
if [ $skipped -gt 0 ]; then
    echo "total: $passed passed, $failed failed, $skipped skipped"
else
    echo "total: $passed passed, $failed failed"
fi
[ $failed -eq 0 ]
