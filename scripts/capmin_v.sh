#!/bin/sh
# CapMin and CapMin-V under the circuit's per-level spread (issue 16, item 4), for the `and`
# read-out at 1 % budget: for each time-domain neuron curve of scripts/capmin_circuit.sh
# (input-cell current sigma SC = 1, 3, 5 %):
#   CapMin:   the design chosen without variation (results/capmin/mnist/design_and.json),
#             scored under the spread on the validation digits (--evaluate), then test8k once;
#   CapMin-V: designs whose decoders are sized from the spread (--protect), chosen on the
#             validation digits under the spread, then test8k once. The search starts at
#             15x (just above CapMin's 14.78x: protection costs capacitor) to fit the CPU.
# Usage: scripts/capmin_v.sh SC...   (e.g. scripts/capmin_v.sh 1 3 5)
set -eu
cd "$(dirname "$0")/.."
NS=${NS:-target/release/neurospice}
M=models/mnist_binary.json
TRAIN=data/mnist/train-images-idx3-ubyte.gz
TEST=data/mnist/test8k-images-idx3-ubyte.gz
OUT=results/capmin/circuit
for sc in "$@"; do
    C="$OUT/td_4u1u_sc$sc.json"
    nice -n 10 "$NS" capmin select --model $M --data $TRAIN --readout and --max-loss 0.01 \
        --evaluate results/capmin/mnist/design_and.json --spread "$C" \
        --design "$OUT/capmin_and_sc$sc.json" > "$OUT/capmin_and_sc$sc.log" 2>&1
    nice -n 10 "$NS" snn eval --model $M --data $TEST --neuron "capmin:$OUT/capmin_and_sc$sc.json" \
        --repeats 3 --seed 1 --paired --json > "$OUT/capmin_and_sc$sc.test8k.json"
    nice -n 10 "$NS" capmin select --model $M --data $TRAIN --readout and --max-loss 0.01 \
        --spread "$C" --protect --max-reduction 15 --design "$OUT/capminv_and_sc$sc.json" > "$OUT/capminv_and_sc$sc.log" 2>&1
    nice -n 10 "$NS" snn eval --model $M --data $TEST --neuron "capmin:$OUT/capminv_and_sc$sc.json" \
        --repeats 3 --seed 1 --paired --json > "$OUT/capminv_and_sc$sc.test8k.json"
done
