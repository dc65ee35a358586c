#!/bin/sh
# One shard of a neurospice Monte Carlo study per Slurm array task.
#
#   NETLIST=cell.cir RUNS=100000 SEED=7 OUT=parts \
#       sbatch --array=0-15 --cpus-per-task=4 scripts/slurm/mc-array.sh
#
# Task i of M computes runs [i*RUNS/M, (i+1)*RUNS/M) into OUT/runs_i.csv (+ .meta.json).
# Run k of a seed is the same on any machine, thread count or shard, so merging the parts
# (scripts/slurm/mc-merge.sh, or `neurospice mc-merge`) gives byte for byte the file one
# machine would have written. Extra `neurospice mc` flags (measures, specs, --variation)
# go in MC_FLAGS. NEUROSPICE names the binary (default: `neurospice` on PATH).
#SBATCH --job-name=neurospice-mc
#SBATCH --cpus-per-task=1
set -eu
: "${NETLIST:?set NETLIST to the netlist file}"
: "${RUNS:?set RUNS to the number of runs of the whole study}"
: "${SEED:?set SEED}"
: "${OUT:?set OUT to the folder for the parts}"
: "${SLURM_ARRAY_TASK_ID:?run this as a Slurm job array (sbatch --array=0-M-1)}"
bin=${NEUROSPICE:-neurospice}
# The number of shards: SHARDS if given, else the size of the array (indices 0..M-1).
shards=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?set SHARDS or submit with --array=0-M-1}}
mkdir -p "$OUT"
# shellcheck disable=SC2086 # MC_FLAGS is a list of flags
exec "$bin" mc "$NETLIST" --runs "$RUNS" --seed "$SEED" --shard "$SLURM_ARRAY_TASK_ID/$shards" \
    --jobs "${SLURM_CPUS_PER_TASK:-1}" -o "$OUT/runs_$SLURM_ARRAY_TASK_ID.csv" -q ${MC_FLAGS:-}
