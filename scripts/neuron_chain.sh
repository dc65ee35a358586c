#!/bin/sh
# The chain of issue 6: from the cmos28 neuron netlists through Monte Carlo (local Pelgrom
# mismatch of the cell's transistors) and characterisation to MNIST accuracy.
#   1. neurospice mc: spike-time spread of each neuron cell at level 16 (200 runs, local variation)
#   2. neurospice chara: transfer curve level 0..32 -> spike time, with that relative spread
#   3. neurospice snn eval: accuracy of the committed network with the ideal neuron and each cell
# Usage: scripts/neuron_chain.sh [OUTDIR]   (default characterisation/; about 30 s)
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet --release
NS=target/release/neurospice
OUT=${1:-characterisation}
mkdir -p "$OUT"
M="--model models/bnn_mnist.json --data data/mnist_4k.csv.gz"
$NS snn eval $M --neuron ideal --json > "$OUT/acc_ideal.json"
for n in cm td; do
    $NS mc netlists/neuron_$n.cir --runs 200 --seed 1 --variation local -m "t=rise(v(mem),0.4)" \
        -o "$OUT/mc_$n.csv" --summary "$OUT/mc_$n.json" -q > /dev/null
    sigma=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['measures']['t']; print(m['std']/m['mean'])" "$OUT/mc_$n.json")
    $NS chara netlists/neuron_$n.cir --levels 0:32 --vth 0.4 --t-membrane 156.25n --name ${n}28 \
        --sigma-rel "$sigma" --sigma-note "neurospice mc netlists/neuron_$n.cir --runs 200 --seed 1 --variation local: std/mean of the level-16 spike time" \
        -o "$OUT/$n.json" --csv "$OUT/$n.csv" > /dev/null
    $NS snn eval $M --neuron circuit:"$OUT/$n.json" --t-clk 1e-9 --repeats 10 --seed 1 --json > "$OUT/acc_$n.json"
    echo "$n: spike-time sigma/mean $sigma, accuracy $(cat "$OUT/acc_$n.json")"
done
echo "ideal: accuracy $(cat "$OUT/acc_ideal.json")"
