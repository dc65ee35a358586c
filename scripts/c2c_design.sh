#!/bin/sh
# The C-2C accelerator's design space (issue 18, docs/c2c.md): unit-capacitor area x op-amp
# open-loop gain -> MNIST accuracy, for each weight width K. Every number comes from a circuit:
#   1. per area:  gen c2c-bench -> neurospice mc --variation local   (ladder mismatch, Pelgrom)
#   2. per gain:  gen opamp-neuron -> neurospice mc (offset spread) -> neurospice chara
#                 (level -> membrane transfer with finite gain, swing, slew; + that spread)
#   3. per pair:  neurospice snn eval --synapse c2c:... --neuron opamp:...  (test digits)
#   4. table design_k<K>.csv (the `plot accuracy` format; lo..hi = Wilson 95 % interval of
#      the mean accuracy over the test digits) and figure design_k<K>.svg: one curve per gain,
#      the flat line "ideal K-bit - 1 %" and, per gain whose curve crosses it inside the sweep,
#      the 1 % point marked at the smallest swept area within 1 %; the summary also gives the
#      crossing interpolated log-linearly between that area and the next smaller one
# Usage: scripts/c2c_design.sh [OUTDIR]     (default results/c2c)
# Environment (defaults in brackets): NS [target/release/neurospice], BITS ["4 8"],
#   AREAS (um^2) ["0.000316 0.001 0.00316 0.01 0.0316 0.1 0.316 1"], GAINS ["100 1000 10000"],
#   RUNS [200] (RUNS_K<K> overrides it for one K),
#   REPEATS [2], SEED [1], DATA [data/mnist/test8k-images-idx3-ubyte.gz],
#   MODEL_K<K> [models/mnist_k<K>.json]. Long runs: nice it (nice -n 10 scripts/...).
set -eu
NS=${NS:-target/release/neurospice}
OUT=${1:-results/c2c}
BITS=${BITS:-"4 8"}
AREAS=${AREAS:-"0.000316 0.001 0.00316 0.01 0.0316 0.1 0.316 1"}
GAINS=${GAINS:-"100 1000 10000"}
RUNS=${RUNS:-200}
REPEATS=${REPEATS:-2}
SEED=${SEED:-1}
DATA=${DATA:-data/mnist/test8k-images-idx3-ubyte.gz}
mkdir -p "$OUT"

field() { # field FILE KEY: a number from a JSON object
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"
}

for K in $BITS; do
    MODEL=$(eval "echo \${MODEL_K$K:-models/mnist_k$K.json}")
    KRUNS=$(eval "echo \${RUNS_K$K:-$RUNS}")
    D="$OUT/k$K"
    mkdir -p "$D"
    CSV="$OUT/design_k$K.csv"
    TMP="$CSV.part"
    echo "neuron,param,value,accuracy,accuracy_std,accuracy_lo,accuracy_hi,n,repeats" > "$TMP"
    "$NS" snn eval --model "$MODEL" --data "$DATA" --json > "$D/ideal.json"
    ideal=$(field "$D/ideal.json" accuracy)
    for A in $AREAS; do
        "$NS" gen c2c-bench --bits "$K" --unit-area "$A" -o "$D/ladder_a$A.cir" > /dev/null
        "$NS" mc "$D/ladder_a$A.cir" --variation local --runs "$KRUNS" --seed "$SEED" -q \
            -o "$D/ladder_a$A.csv" --summary "$D/ladder_a$A.json"
    done
    for G in $GAINS; do
        args=$("$NS" gen opamp-neuron --bits "$K" --a0 "$G" -o "$D/opamp_g$G.cir" | sed -n 's/^chara args: //p')
        "$NS" mc "$D/opamp_g$G.cir" --runs "$KRUNS" --seed "$SEED" -q \
            -o "$D/opamp_g$G.csv" --summary "$D/opamp_g$G.mc.json"
        sigma=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['measures']['vout']['std'])" "$D/opamp_g$G.mc.json")
        # shellcheck disable=SC2086
        "$NS" chara "$D/opamp_g$G.cir" $args --membrane-sigma "$sigma" --name "opamp_a0_$G" \
            -o "$D/opamp_g$G.json" > /dev/null
        for A in $AREAS; do
            "$NS" snn eval --model "$MODEL" --data "$DATA" --synapse "c2c:$D/ladder_a$A.json" \
                --neuron "opamp:$D/opamp_g$G.json" --repeats "$REPEATS" --seed "$SEED" --json \
                > "$D/acc_a${A}_g$G.json"
            python3 -c "
import json,sys
r=json.load(open(sys.argv[1]))
print('A0 = %s,unit_area_um2,%s,%r,%r,%r,%r,%d,%d' % (sys.argv[2], sys.argv[3], r['accuracy'],
      r['accuracy_std'], r['binomial_lo'], r['binomial_hi'], r['n'], r['repeats']))" \
                "$D/acc_a${A}_g$G.json" "$G" "$A" >> "$TMP"
        done
    done
    for A in $AREAS; do
        python3 -c "import sys; a=float(sys.argv[1])-0.01; print('ideal %s-bit - 1 %%,unit_area_um2,%s,%r,0,%r,%r,0,1' % (sys.argv[2], sys.argv[3], a, a, a))" \
            "$ideal" "$K" "$A" >> "$TMP"
    done
    # the answer: per gain, the smallest unit capacitor whose mean accuracy is within 1 % of
    # ideal, and the 1 % point (appended to the table as one marked series)
    python3 - "$TMP" "$ideal" "$K" "$KRUNS" > "$OUT/design_k$K.summary.txt" <<'PY'
import csv, math, sys
path, ideal, k, runs = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [r for r in csv.DictReader(open(path)) if r["neuron"].startswith("A0")]
target = ideal - 0.01
print("K = %s: ideal accuracy %.2f %%, target >= %.2f %% (ideal - 1 %%); %s Monte Carlo runs per circuit"
      % (k, 100 * ideal, 100 * target, runs))
best, marks = None, []
for g in sorted({r["neuron"] for r in rows}, key=lambda s: float(s.split("=")[1])):
    pts = sorted((float(r["value"]), r) for r in rows if r["neuron"] == g)
    ok = [(a, r) for a, r in pts if float(r["accuracy"]) >= target]
    if not ok:
        print("%s: no swept unit capacitor within 1 %%" % g)
        continue
    a, r = ok[0]
    print("%s: smallest swept unit capacitor within 1 %%: %g um^2 (%.2f %%, Wilson 95 %% %.2f..%.2f %%)"
          % (g, a, 100 * float(r["accuracy"]), 100 * float(r["accuracy_lo"]), 100 * float(r["accuracy_hi"])))
    if best is None:
        best = (g, a)
    below = [(b, s) for b, s in pts if b < a]
    if not below:
        print("    1 %% point: below the smallest swept area (%g um^2)" % a)
        continue
    b, s = below[-1]
    ya, yb = float(r["accuracy"]), float(s["accuracy"])
    # log-linear interpolation between the first failing (b) and the last passing (a) area
    t = (target - yb) / (ya - yb)
    x = math.exp(math.log(b) + t * (math.log(a) - math.log(b)))
    print("    1 %% point: %.3g um^2 (between %g um^2 at %.2f %% and %g um^2 at %.2f %%)"
          % (x, b, 100 * yb, a, 100 * ya))
    marks.append((g, a, float(r["accuracy"])))
if best:
    print("smallest gain within 1 %%: %s (from %g um^2)" % best)
else:
    print("no swept gain/area pair within 1 %")
with open(path, "a") as f:
    # marked on the curve at the swept point (an off-grid x would cost the log area axis)
    for g, a, y in marks:
        f.write("1 %% point %s,unit_area_um2,%r,%r,0,%r,%r,0,1\n" % (g, a, y, y, y))
PY
    mv "$TMP" "$CSV"
    cat "$OUT/design_k$K.summary.txt"
    "$NS" plot accuracy "$CSV" --title "C-2C K=$K: accuracy vs unit capacitor" -o "$OUT/design_k$K.svg"
    echo "K=$K: ideal $ideal; table $CSV, figure $OUT/design_k$K.svg"
done
