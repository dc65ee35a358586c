#!/bin/sh
# CapMin-V from the circuit and the neuron comparison (issue 16, items 4 and 5): the per-level
# Monte Carlo of the neuron cells (transistor mismatch from the cmos28 cards, input-cell
# mismatch, TRNOISE shot noise; `chara --mc-runs`), written as circuit curves that
# `capmin select --spread` and `snn eval --neuron circuit:FILE` read directly.
# Usage: scripts/capmin_circuit.sh [RUNS] [RUNS_SIGMA]   (defaults 40 and 10 runs per level and
# set; the 3 % and 5 % curves were run with 10 on the shared machine: ~6 min CPU in all)
set -eu
cd "$(dirname "$0")/.."
NS=${NS:-target/release/neurospice}
RUNS=${1:-40}
RUNS_SIGMA=${2:-10}
OUT=results/capmin/circuit
mkdir -p "$OUT"
curve() { # name netlist wm lm sc [runs]
    nice -n 10 $NS chara "netlists/neuron_$2_var.cir" --levels 0:32 --vth 0.4 --t-membrane 156.25n \
        --name "$1" --set wm="$3" --set lm="$4" --set sc="$5" --mc-runs "${6:-$RUNS}" --seed 1 \
        -o "$OUT/$1.json" --csv "$OUT/$1.csv"
}
curve td_4u1u_sc1 td 4u 1u 0.01
curve cm_1u100n_sc1 cm 1u 100n 0.01
curve cm_4u1u_sc1 cm 4u 1u 0.01
curve td_1u100n_sc1 td 1u 100n 0.01
curve td_4u1u_sc3 td 4u 1u 0.03 "$RUNS_SIGMA"
curve td_4u1u_sc5 td 4u 1u 0.05 "$RUNS_SIGMA"
