#!/bin/sh
# deploy/slurm/submit.sh - submits a sharded docpipe ingest: an array job of
# N tasks over PAGES (each writing OUT/shard-<task>.db), then the merge into
# OUT/merged.db once every task ended well (afterok).  Prints the two job
# ids ("ARRAY_ID MERGE_ID").  PAGES and OUT must be on a folder every node
# sees; DOCPIPE names the binary (default: docpipe on PATH), and further
# arguments go to sbatch for both jobs (--partition=..., --time=...).
#
#   deploy/slurm/submit.sh N PAGES OUT [sbatch options...]
set -eu
n=${1:?usage: submit.sh N PAGES OUT [sbatch options]}
pages=${2:?usage: submit.sh N PAGES OUT [sbatch options]}
out=${3:?usage: submit.sh N PAGES OUT [sbatch options]}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export DOCPIPE="${DOCPIPE:-docpipe}"
array=$(sbatch --parsable --export=ALL --array="1-$n" --chdir="$out" \
    --output="$out/ingest-%A_%a.out" "$@" "$here/ingest.sbatch" "$pages" "$out")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --chdir="$out" --output="$out/merge-%j.out" "$@" "$here/merge.sbatch" "$out")
merge=${merge%%;*}
echo "$array $merge"
