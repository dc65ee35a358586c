#!/bin/sh
# Merges the parts of a sharded study (run after the array: --dependency=afterok:JOBID).
#
#   OUT=parts RESULT=runs.csv SUMMARY=summary.json sbatch --dependency=afterok:123 scripts/slurm/mc-merge.sh
#
# `neurospice mc-merge` checks that the parts belong to one study (same netlist, seed and
# settings) and that no run is missing. MERGE_FLAGS passes --spec etc.
#SBATCH --job-name=neurospice-mc-merge
set -eu
: "${OUT:?set OUT to the folder holding runs_*.csv}"
: "${RESULT:?set RESULT to the merged runs file}"
: "${SUMMARY:?set SUMMARY to the merged summary file}"
bin=${NEUROSPICE:-neurospice}
# shellcheck disable=SC2086
exec "$bin" mc-merge "$OUT"/runs_*.csv -o "$RESULT" --summary "$SUMMARY" ${MERGE_FLAGS:-}
