#!/bin/sh
# Reference for tests/sky130.rs: 200 ngspice runs of netlists/sky130_mirror_mm.cir (the sky130
# tt_mm mismatch corner), seeds 1..200 (`.options seed=S`), each measuring the output current
# i(vout) and the reference gate voltage v(ref) at the operating point.
# Needs ngspice (tested with ngspice-39) and pdk/sky130. Runs with the PDK's spinit settings
# (ngbehavior=hsa, ng_nomodcheck). Writes sky130_mirror_mm_ngspice.csv beside this script.
# Usage: tests/golden_mc/make_sky130_reference.sh [RUNS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
net="$here/../../netlists/sky130_mirror_mm.cir"
pdk=$(cd "$here/../../pdk/sky130" && pwd -P)
runs=${1:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'set ngbehavior=hsa\nset ng_nomodcheck\n' > "$tmp/.spiceinit"
out="$tmp/out.csv"
echo "seed,iout,vref" > "$out"
s=1
while [ "$s" -le "$runs" ]; do
  # the netlist without .op/.end and with the library path made absolute, plus the seed and
  # a control block printing the operating point
  sed -e '/^\.end$/d' -e '/^\.op$/d' -e "s#\"\.\./pdk/sky130/#\"$pdk/#" "$net" > "$tmp/run.cir"
  printf '.options seed=%s\n.control\nset numdgt=12\nop\nlet iout = vout#branch\nlet vref = v(ref)\nprint iout vref\n.endc\n.end\n' "$s" >> "$tmp/run.cir"
  log=$(cd "$tmp" && ngspice -b run.cir 2>&1 || true)  # batch mode exits 1 with no .print
  i=$(echo "$log" | awk '$1 == "iout" && $2 == "=" { print $3 }')
  v=$(echo "$log" | awk '$1 == "vref" && $2 == "=" { print $3 }')
  [ -n "$i" ] && [ -n "$v" ] || { echo "ngspice run with seed $s gave no iout/vref" >&2; exit 1; }
  echo "$s,$i,$v" >> "$out"
  s=$((s + 1))
done
mv "$out" "$here/sky130_mirror_mm_ngspice.csv"
echo "wrote $here/sky130_mirror_mm_ngspice.csv ($runs runs, $(ngspice -v 2>/dev/null | grep -o 'ngspice-[0-9]*' | head -1))"
