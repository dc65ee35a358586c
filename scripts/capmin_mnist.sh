#!/bin/sh
# Reproduces results/capmin/mnist/ (docs/capmin.md, "Full MNIST"): CapMin designs for
# models/mnist_binary.json chosen on the model's 6,000 validation digits (the held-out split
# of the MNIST training file; test8k is never read by `capmin select`), then each chosen design
# and the ideal network evaluated ONCE on test8k, paired against the ideal neuron.
# Each `select` takes 1-5 CPU-minutes; runs are niced.
set -eu
NS=${NS:-target/release/neurospice}
M=models/mnist_binary.json
TRAIN=data/mnist/train-images-idx3-ubyte.gz
TEST=data/mnist/test8k-images-idx3-ubyte.gz
OUT=results/capmin/mnist
mkdir -p "$OUT"
nice -n 10 "$NS" snn eval --model $M --data $TEST --json > "$OUT/test8k_ideal.json"
for spec in "and 0.01 design_and" "xnor 0.01 design_xnor" "and 0.02 design_and_2pct"; do
    set -- $spec
    nice -n 10 "$NS" capmin select --model $M --data $TRAIN --readout "$1" --max-loss "$2" \
        --design "$OUT/$3.json" > "$OUT/$3.log" 2>&1
    nice -n 10 "$NS" snn eval --model $M --data $TEST --neuron "capmin:$OUT/$3.json" \
        --paired --json > "$OUT/$3.test8k.json"
done
