#!/bin/sh
# tests/slurm.sh - sharded ingest on a real Slurm cluster of one machine
# (make test-slurm).  Installs Debian's slurm-wlm and munge when missing,
# starts a private munged, slurmctld and slurmd (no systemd; every state
# file, socket and log under one temporary folder; ports 16817/16818),
# generates 24 pages (docpipe samples --seed 5 --dpi 200), submits
# deploy/slurm/submit.sh's 4-task array job and the dependent merge, waits
# for them (polling squeue and scontrol, with a timeout), and checks that
# the merged database holds exactly the fields (file, page, field, text,
# confidence) of one plain `docpipe ingest` of the same pages, and that a
# second merge adds nothing.  The daemons are stopped on every exit.
#
#   sh tests/slurm.sh ./docpipe              the test (prints PASS or FAIL)
#   sh tests/slurm.sh ./docpipe --bench P    also pages/s for 1, 2 and 4 array
#                                            tasks over P generated pages, and
#                                            the merge time per 10,000 fields
# Exits 0 when everything held, 1 otherwise.  Run as root (apt-get, daemons).
set -u
bin=${1:?usage: tests/slurm.sh DOCPIPE [--bench PAGES]}
bench_pages=0
[ "${2:-}" = "--bench" ] && bench_pages=${3:?--bench needs a page count}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
timeout_s=${SLURM_TEST_TIMEOUT:-300}
t_start=$(date +%s)

say() { echo "slurm.sh: $*"; }
fail() { say "FAIL: $*"; exit 1; }

# ------------------------------------------------------------ packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge failed"
fi
command -v sqlite3 >/dev/null || fail "sqlite3 missing (make deps)"

# ------------------------------------------------------------- daemons
T=$(mktemp -d /tmp/docpipe-slurm.XXXXXX)
chmod 755 "$T"   # slurmd's job steps (as root) read the scripts beside it
node=$(hostname -s)
cleanup() {
    for p in slurmd slurmctld munged; do
        [ -s "$T/$p.pid" ] && kill "$(cat "$T/$p.pid")" 2>/dev/null
    done
    sleep 1
    for p in slurmd slurmctld munged; do
        [ -s "$T/$p.pid" ] && kill -9 "$(cat "$T/$p.pid")" 2>/dev/null
    done
    if [ "${keep:-0}" = 1 ]; then say "left $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/work"
chmod 700 "$T/munge"
mungekey --create --keyfile="$T/munge/munge.key" 2>/dev/null ||
    { dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 2>/dev/null &&
      chmod 600 "$T/munge/munge.key"; }
munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" \
    --pid-file="$T/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge/seed" ||
    fail "munged did not start ($(tail -3 "$T/munged.log" 2>/dev/null))"

cat >"$T/slurm.conf" <<CONF
ClusterName=docpipe-test
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=docpipe Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
slurmctld -c -f "$T/slurm.conf" || fail "slurmctld did not start ($(tail -3 "$T/slurmctld.log"))"
slurmd -f "$T/slurm.conf" -N "$node" || fail "slurmd did not start ($(tail -3 "$T/slurmd.log"))"
i=0
until sinfo -h -o %T 2>/dev/null | grep -q idle; do
    i=$((i + 1))
    [ $i -gt 60 ] && fail "the node never became idle: $(sinfo 2>&1 | tail -2); $(tail -3 "$T/slurmd.log")"
    sleep 0.5
done
say "cluster up: $(sinfo -h -o '%P %D node, %c CPUs, %T')"

# Waits until every job id given (an array job: each of its tasks) has
# ended, from scontrol's JobState (it keeps ended jobs for MinJobAge; a
# query that fails counts as not ended yet), then checks each COMPLETED.
wait_jobs() {
    t0=$(date +%s)
    while :; do
        states=$(for j in "$@"; do scontrol -o show job "$j" 2>/dev/null ||
                 echo "JobState=UNKNOWN"; done | grep -o 'JobState=[A-Z_]*')
        echo "$states" | grep -qvE 'JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)' || break
        [ $(($(date +%s) - t0)) -gt "$timeout_s" ] && fail "jobs $* not ended after ${timeout_s} s: $(echo $states)"
        sleep 0.2
    done
    bad=$(echo "$states" | grep -v COMPLETED)
    [ -z "$bad" ] || fail "jobs $* ended $(echo $bad) (logs in $T/work)"
}

# Seconds since 1970 of the runs' earliest start or latest end in the
# databases given (what=min(started_at) or max(ended_at)).
run_time() {
    what=$1
    shift
    for f in "$@"; do
        sqlite3 "$f" "SELECT printf('%.3f', ($what - 2440587.5) * 86400) FROM
                      (SELECT julianday(started_at) AS s, julianday(ended_at) AS e FROM runs)"
    done | sort -n | { if [ "$what" = "min(s)" ]; then head -1; else tail -1; fi; }
}

# The fields of a database, one line each, in a fixed order.  Confidences
# are compared apart (conf_differ): the classifier's sums are ordered by
# batch, so a shard and the whole set may differ in the last bits.
fields_of() {
    sqlite3 "$1" "SELECT d.path, p.page_no, f.name, f.text FROM fields f
                  JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id
                  ORDER BY 1, 2, 3"
}

# conf_differ A B - how many fields of A have no field of B at the same path,
# page and name with a confidence within 1e-5.
conf_differ() {
    sqlite3 "$1" "ATTACH '$2' AS o;
                  SELECT count(*) FROM fields f JOIN pages p ON p.id = f.page_id
                  JOIN documents d ON d.id = p.document_id
                  WHERE NOT EXISTS (SELECT 1 FROM o.fields f2 JOIN o.pages p2 ON p2.id = f2.page_id
                                    JOIN o.documents d2 ON d2.id = p2.document_id
                                    WHERE d2.path = d.path AND p2.page_no = p.page_no
                                      AND f2.name = f.name
                                      AND abs(f2.confidence - f.confidence) <= 1e-5)"
}

# ---------------------------------------------------------------- test
pages="$T/work/pages"
"$bin" samples --out "$pages" --pages 24 --seed 5 --dpi 200 >/dev/null || fail "samples failed"
(cd "$T/work" && "$bin" ingest --quiet --threads 1 --db "$T/work/plain.db" "$pages") ||
    fail "the plain ingest failed"
ids=$(DOCPIPE="$bin" sh "$repo/deploy/slurm/submit.sh" 4 "$pages" "$T/work/out") ||
    fail "submit.sh failed"
say "submitted: array job ${ids% *}, merge job ${ids#* }"
wait_jobs $ids
[ "$(ls "$T/work/out"/shard-*.db | wc -l)" -eq 4 ] || fail "not 4 shard databases: $(ls "$T/work/out")"
n_plain=$(fields_of "$T/work/plain.db" | tee "$T/plain.txt" | wc -l)
fields_of "$T/work/out/merged.db" >"$T/merged.txt"
[ "$n_plain" -gt 50 ] || fail "the plain ingest stored only $n_plain fields"
diff "$T/plain.txt" "$T/merged.txt" >"$T/diff.txt" ||
    fail "merged and plain databases differ: $(head -5 "$T/diff.txt")"
nd=$(conf_differ "$T/work/plain.db" "$T/work/out/merged.db")
[ "$nd" = 0 ] || fail "$nd fields of the plain ingest have no merged field with the same confidence (within 1e-5)"
for k in 1 2 3 4; do
    n=$(sqlite3 "$T/work/out/shard-$k.db" "SELECT count(*) FROM documents")
    [ "$n" -gt 0 ] || fail "shard $k holds no document"
done
docs=$(sqlite3 "$T/work/out/merged.db" "SELECT count(*) FROM documents")
[ "$docs" = "$(sqlite3 "$T/work/plain.db" "SELECT count(*) FROM documents")" ] ||
    fail "merged holds $docs documents, the plain ingest $(sqlite3 "$T/work/plain.db" "SELECT count(*) FROM documents")"
before=$(sqlite3 "$T/work/out/merged.db" "SELECT count(*) FROM runs; SELECT count(*) FROM digits" | tr '\n' ' ')
"$bin" merge --quiet --db "$T/work/out/merged.db" "$T/work/out"/shard-*.db || fail "second merge failed"
after=$(sqlite3 "$T/work/out/merged.db" "SELECT count(*) FROM runs; SELECT count(*) FROM digits" | tr '\n' ' ')
[ "$before" = "$after" ] || fail "merging again changed runs/digits: $before -> $after"
say "PASS: 4 array tasks + merge = one plain ingest ($n_plain fields, $docs documents); $(( $(date +%s) - t_start )) s in all"

# --------------------------------------------------------------- bench
[ "$bench_pages" -gt 0 ] || exit 0
bp="$T/work/bench-pages"
"$bin" samples --out "$bp" --pages "$bench_pages" --seed 11 --dpi 200 >/dev/null || fail "samples failed"
for n in 1 2 4; do
    o="$T/work/bench-$n"
    t0=$(date +%s.%N)
    ids=$(DOCPIPE="$bin" sh "$repo/deploy/slurm/submit.sh" "$n" "$bp" "$o") || fail "submit failed"
    wait_jobs $ids
    t2=$(date +%s.%N)
    got=$(sqlite3 "$o/merged.db" "SELECT count(*) FROM pages")
    s0=$(run_time "min(s)" "$o"/shard-*.db)
    e1=$(run_time "max(e)" "$o"/shard-*.db)
    say "bench: $n array task(s): $got pages; submission to the last task's end $(echo "$e1 - $t0" | bc) s = $(echo "scale=1; $got / ($e1 - $t0)" | bc) pages/s; first ingest start to last end $(echo "$e1 - $s0" | bc) s = $(echo "scale=1; $got / ($e1 - $s0)" | bc) pages/s; submission to merged $(echo "$t2 - $t0" | bc) s"
done
# Merge time per 10,000 fields: the 4-task run's merged database copied
# K times over (new SHA-256 and ids) into one shard, merged into an empty
# output.
big="$T/work/big.db"
cp "$T/work/bench-4/merged.db" "$big"
nf=$(sqlite3 "$big" "SELECT count(*) FROM fields")
k=$(( (20000 + nf - 1) / nf ))
{
    echo "BEGIN;"
    echo "CREATE TEMP TABLE m AS SELECT (SELECT max(id) FROM documents) d, (SELECT max(id) FROM pages) p, (SELECT max(id) FROM fields) f, (SELECT max(id) FROM digits) g;"
    i=1
    while [ $i -lt $k ]; do
        echo "INSERT INTO documents SELECT id + $i*(SELECT d FROM m), run_id, path || '#$i', printf('%08x', $i) || substr(sha256, 9), bytes, page_count, status, error, ingested_at, seconds FROM documents WHERE id <= (SELECT d FROM m);"
        echo "INSERT INTO pages SELECT id + $i*(SELECT p FROM m), document_id + $i*(SELECT d FROM m), page_no, width, height, dpi, skew_deg, form, error FROM pages WHERE id <= (SELECT p FROM m);"
        echo "INSERT INTO fields SELECT id + $i*(SELECT f FROM m), page_id + $i*(SELECT p FROM m), form, name, type, x, y, w, h, text, value, confidence, status, doubt, note FROM fields WHERE id <= (SELECT f FROM m);"
        echo "INSERT INTO digits(id, field_id, pos, label, prob, label2, prob2, check_prob, x, y, w, h, crop) SELECT id + $i*(SELECT g FROM m), field_id + $i*(SELECT f FROM m), pos, label, prob, label2, prob2, check_prob, x, y, w, h, crop FROM digits WHERE id <= (SELECT g FROM m);"
        i=$((i + 1))
    done
    echo "COMMIT;"
} | sqlite3 "$big" || fail "could not build the big shard"
nf=$(sqlite3 "$big" "SELECT count(*) FROM fields")
t0=$(date +%s.%N)
"$bin" merge --quiet --db "$T/work/big-out.db" "$big" || fail "big merge failed"
t1=$(date +%s.%N)
"$bin" merge --quiet --db "$T/work/big-out.db" "$big" || fail "big merge again failed"
t2=$(date +%s.%N)
[ "$(sqlite3 "$T/work/big-out.db" "SELECT count(*) FROM fields")" = "$nf" ] || fail "big merge lost fields"
say "bench: merge of $nf fields ($(sqlite3 "$big" "SELECT count(*) FROM digits") digits with crops) into an empty database: $(echo "$t1 - $t0" | bc) s = $(echo "scale=3; ($t1 - $t0) * 10000 / $nf" | bc) s per 10,000 fields; the same again (all skipped): $(echo "$t2 - $t1" | bc) s"
exit 0
