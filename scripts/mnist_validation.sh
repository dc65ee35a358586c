#!/bin/sh
# Reruns the validation study that chose the settings of models/mnist_binary.json and
# models/mnist_w4.json (docs/snn.md, "Validation protocol"): every configuration is trained
# on 54,000 of the 60,000 MNIST training digits and scored on the other 6,000
# (--test-fraction 0.1 --split-seed 1). test8k is never read here.
#
# Usage: scripts/mnist_validation.sh [OUTDIR] [NAME...]   (default OUTDIR: target/mnist-validation;
# names select rows of the table below). Writes OUTDIR/NAME.json and appends the name and
# the JSON of `snn eval` on the validation split to OUTDIR/validation.csv.
# Each 784-512-512-10 run costs 4-6 CPU-minutes (40 epochs) on one core; runs are niced.
set -eu
NS=${NS:-target/release/neurospice}
D=data/mnist/train-images-idx3-ubyte.gz
OUT=${1:-target/mnist-validation}
[ $# -gt 0 ] && shift
mkdir -p "$OUT"

# name | settings (everything else: the defaults of `snn train`, which are the chosen binary ones)
TABLE='
b_base    | --hidden 512,512 --epochs 40 --lr 0.005 --augment-shift 2
b_lr01    | --hidden 512,512 --epochs 40 --lr 0.01 --augment-shift 2
b_lr02    | --hidden 512,512 --epochs 40 --lr 0.02 --augment-shift 2
b_s1      | --hidden 512,512 --epochs 40 --lr 0.005 --augment-shift 1
b_s1_lr01 | --hidden 512,512 --epochs 40 --lr 0.01 --augment-shift 1
b_w1024   | --hidden 1024,1024 --epochs 40 --lr 0.005 --augment-shift 2
k4_lr02   | --weight-bits 4 --hidden 512,512 --epochs 40 --lr 0.02 --augment-shift 2
k4_s1     | --weight-bits 4 --hidden 512,512 --epochs 40 --lr 0.02 --augment-shift 1
'

echo "$TABLE" | while IFS='|' read -r name args; do
    name=$(echo "$name" | tr -d ' ')
    [ -z "$name" ] && continue
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    # shellcheck disable=SC2086
    nice -n 10 "$NS" snn train --data "$D" --test-fraction 0.1 --split-seed 1 --batch 100 \
        --seed 1 $args -o "$OUT/$name.json" > "$OUT/$name.log"
    # The model's own training file: snn eval scores its held-out (validation) split.
    acc=$("$NS" snn eval --model "$OUT/$name.json" --data "$D" --json)
    echo "$name,$acc" >> "$OUT/validation.csv"
done
