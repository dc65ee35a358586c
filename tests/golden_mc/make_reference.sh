#!/bin/sh
# Reference for tests/mc.rs: 200 ngspice runs of netlists/mc_if_neuron.cir, seeds 1..200
# (`.options seed=S`), each measuring the first time v(mem) rises through 0.45 V.
# Needs ngspice (tested with ngspice-39). Writes if_neuron_ngspice.csv beside this script.
# Usage: tests/golden_mc/make_reference.sh [RUNS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
net="$here/../../netlists/mc_if_neuron.cir"
runs=${1:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out.csv"
echo "seed,tcross" > "$out"
s=1
while [ "$s" -le "$runs" ]; do
  # the netlist without its .end, plus the seed and the measurement
  sed '/^\.end$/d' "$net" > "$tmp/run.cir"
  printf '.options seed=%s\n.meas tran tcross when v(mem)=0.45 rise=1\n.end\n' "$s" >> "$tmp/run.cir"
  t=$(ngspice -b "$tmp/run.cir" 2>/dev/null | awk '$1 == "tcross" && $2 == "=" { print $3 }')
  [ -n "$t" ] || { echo "ngspice run with seed $s gave no tcross" >&2; exit 1; }
  echo "$s,$t" >> "$out"
  s=$((s + 1))
done
mv "$out" "$here/if_neuron_ngspice.csv"
echo "wrote $here/if_neuron_ngspice.csv ($runs runs, $(ngspice -v 2>/dev/null | grep -o 'ngspice-[0-9]*' | head -1))"
