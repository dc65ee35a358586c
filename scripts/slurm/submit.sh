#!/bin/sh
# Submits a sharded Monte Carlo study as a job array plus a merge job that waits for it.
#
#   scripts/slurm/submit.sh NETLIST RUNS SEED SHARDS OUT_DIR [--wait]
#
# Writes OUT_DIR/parts/runs_i.csv per shard, then OUT_DIR/runs.csv and OUT_DIR/summary.json.
# With --wait it returns when the merge job has ended (exit code = the merge job's).
set -eu
[ $# -ge 5 ] || { echo "usage: submit.sh NETLIST RUNS SEED SHARDS OUT_DIR [--wait]" >&2; exit 2; }
netlist=$1 runs=$2 seed=$3 shards=$4 out=$5 wait=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/parts"
out=$(cd "$out" && pwd)
export NETLIST="$netlist" RUNS="$runs" SEED="$seed" SHARDS="$shards" OUT="$out/parts"
export RESULT="$out/runs.csv" SUMMARY="$out/summary.json"
job=$(sbatch --parsable --array=0-$((shards - 1)) -o "$out/parts/slurm-%A_%a.out" "$here/mc-array.sh")
job=${job%%;*}
echo "submitted array job $job ($shards tasks)" >&2
if [ "$wait" = "--wait" ]; then
    exec sbatch --wait --dependency=afterok:"$job" --kill-on-invalid-dep=yes \
        -o "$out/slurm-merge-%j.out" "$here/mc-merge.sh"
else
    sbatch --parsable --dependency=afterok:"$job" --kill-on-invalid-dep=yes \
        -o "$out/slurm-merge-%j.out" "$here/mc-merge.sh"
fi
