#!/bin/sh
# The neuron comparison "each at its best area for the same headroom" (issue 16, item 5;
# docs/circuits.md). Same headroom: 1 V supply, 0.4 V threshold swing, 320 nA full-scale
# column current and the same mirror aspect ratio W/L = 4 for both cells (so the same diode
# voltage at full scale, i.e. the same voltage left to the crossbar's input cells: measured
# 0.436 V at 320 nA for every size below). Along that ratio the mirror area is swept
# (W/L = 4u/1u, 2u/500n, 1u/250n, 8u/2u: 4, 1, 0.25, 16 um2 per device; SIZES="W:L ..."
# runs a subset);
# each cell's per-level circuit curve (transistor mismatch, input cells at 1 %, TRNOISE shot
# noise) is evaluated on the model's 6,000 VALIDATION digits with 10
# device samples. scripts/capmin_tables.py then picks, per cell, the smallest area whose
# validation loss against the ideal neuron is <= 0.2 %, and only those two curves are
# evaluated on test8k (10 device samples, once): run this script a second time with
# TEST=td_...,cm_... (the chosen names) to do that step.
# Usage: scripts/capmin_headroom.sh [RUNS]   (default 20 runs per level and set)
set -eu
cd "$(dirname "$0")/.."
NS=${NS:-target/release/neurospice}
RUNS=${1:-20}
M=models/mnist_binary.json
TRAIN=data/mnist/train-images-idx3-ubyte.gz
TEST8K=data/mnist/test8k-images-idx3-ubyte.gz
OUT=results/capmin/headroom
mkdir -p "$OUT"
if [ -n "${TEST:-}" ]; then
    for n in $(echo "$TEST" | tr , ' '); do
        nice -n 10 "$NS" snn eval --model $M --data $TEST8K --neuron "circuit:$OUT/$n.json" \
            --t-clk 1e-9 --repeats 10 --seed 1 --paired --json > "$OUT/$n.test8k.json"
    done
    exit 0
fi
# the 4u/1u curves are the equal-area comparison's (results/capmin/circuit, 40 runs per level)
for cell in td cm; do
    [ -s "$OUT/${cell}_4u1u.json" ] || cp "results/capmin/circuit/${cell}_4u1u_sc1.json" "$OUT/${cell}_4u1u.json"
done
for size in ${SIZES:-4u:1u 2u:500n 1u:250n 8u:2u}; do
    for cell in td cm; do
        set -- $(echo "$size" | tr : " ")
        n="${cell}_$1$2"
        [ -s "$OUT/$n.json" ] || nice -n 10 "$NS" chara "netlists/neuron_${cell}_var.cir" --levels 0:32 \
            --vth 0.4 --t-membrane 156.25n --name "$n" --set wm="$1" --set lm="$2" --set sc=0.01 \
            --mc-runs "$RUNS" --seed 1 -o "$OUT/$n.json" --csv "$OUT/$n.csv"
        [ -s "$OUT/$n.val.json" ] || nice -n 10 "$NS" snn eval --model $M --data $TRAIN \
            --neuron "circuit:$OUT/$n.json" --t-clk 1e-9 --repeats 10 --seed 1 --paired --json > "$OUT/$n.val.json"
    done
done
