#!/bin/sh
# Throughput of 1,000 Monte Carlo runs of netlists/mc_if_neuron.cir: neurospice mc (one
# process, all cores) against ngspice re-launched once per seed (the usual script loop, run
# JOBS at a time). Needs ngspice and a release build (cargo build --release).
# Usage: benches/mc_vs_ngspice.sh [RUNS] [JOBS]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-1000}
jobs=${2:-$(nproc)}
net="$here/netlists/mc_if_neuron.cir"
bin="$here/target/release/neurospice"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

t0=$(now)
"$bin" mc "$net" --runs "$runs" --seed 1 -m 'tcross=rise(v(mem),0.45)' -o "$tmp/runs.csv" -q
t1=$(now)
ns=$(echo "$t1 - $t0" | bc -l)

sed '/^\.end$/d' "$net" > "$tmp/base.cir"
export tmp
t0=$(now)
seq 1 "$runs" | xargs -P "$jobs" -I{} sh -c ' s={}; { cat "$tmp/base.cir"; printf ".options seed=%s\n.meas tran tcross when v(mem)=0.45 rise=1\n.end\n" "$s"; } > "$tmp/r$s.cir"; ngspice -b "$tmp/r$s.cir" > "$tmp/r$s.log" 2>&1'
t1=$(now)
ng=$(echo "$t1 - $t0" | bc -l)
got=$(grep -l '^tcross' "$tmp"/r*.log | wc -l)
[ "$got" -eq "$runs" ] || { echo "only $got of $runs ngspice runs measured tcross" >&2; exit 1; }

printf 'runs %s, %s parallel ngspice processes, %s cores\n' "$runs" "$jobs" "$(nproc)"
printf 'neurospice mc: %.3f s  (%.0f runs/s)\n' "$ns" "$(echo "$runs / $ns" | bc -l)"
printf 'ngspice:       %.3f s  (%.0f runs/s, %.2f ms per run per process)\n' "$ng" "$(echo "$runs / $ng" | bc -l)" "$(echo "1000 * $ng * $jobs / $runs" | bc -l)"
printf 'throughput ratio: %.1fx\n' "$(echo "$ng / $ns" | bc -l)"
