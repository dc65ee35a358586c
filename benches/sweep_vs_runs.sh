#!/bin/sh
# Issue 3's sweep benchmark: a POINTS-point `run --sweep` of netlists/if_neuron.cir (one
# process; parsed and elaborated once, solver structure reused, points in parallel) against
# POINTS separate `neurospice run` calls of the same netlist with the parameter set by a
# .param line (the usual shell loop, one after the other). Both record the spikes of v(mem);
# the separate runs keep no waveforms (--save none), their cheapest form. Best of REPS.
# Needs a release build (cargo build --release).
# Usage: benches/sweep_vs_runs.sh [POINTS] [REPS]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
points=${1:-50}
reps=${2:-5}
net="$here/netlists/if_neuron.cir"
bin="$here/target/release/neurospice"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

# the separate runs' netlists, written beforehand (not timed)
i=0
while [ "$i" -lt "$points" ]; do
    v=$(echo "0.5 + 1.5 * $i / ($points - 1)" | bc -l)
    sed "s/^\.param cmem = 1p iin = 1u/.param cmem = 1p iin = ${v}u/" "$net" > "$tmp/p$i.cir"
    grep -q "iin = ${v}u" "$tmp/p$i.cir" || { echo "could not set iin in $net" >&2; exit 1; }
    i=$((i + 1))
done

best() { # best wall time of $reps runs of "$@"
    b=""
    r=0
    while [ "$r" -lt "$reps" ]; do
        t0=$(now); "$@"; t1=$(now)
        d=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$d < $b" | bc -l)" -eq 1 ]; then b=$d; fi
        r=$((r + 1))
    done
    echo "$b"
}
sweep() { "$bin" run "$net" --sweep "iin=0.5u:2u:$points" --spikes mem:0.45 --meas-csv "$tmp/sweep.csv" -q > /dev/null; }
sweep1() { RAYON_NUM_THREADS=1 sweep; }
separate() {
    i=0
    while [ "$i" -lt "$points" ]; do
        "$bin" run "$tmp/p$i.cir" --spikes mem:0.45 --save none -q > /dev/null
        i=$((i + 1))
    done
}
ts=$(best sweep)
ts1=$(best sweep1)
tr=$(best separate)
printf '%s-point sweep: %.1f ms (%.1f ms on one thread); %s separate runs: %.1f ms; speed-up %.1fx (%.1fx on one thread)\n' \
    "$points" "$(echo "$ts * 1000" | bc -l)" "$(echo "$ts1 * 1000" | bc -l)" "$points" "$(echo "$tr * 1000" | bc -l)" \
    "$(echo "$tr / $ts" | bc -l)" "$(echo "$tr / $ts1" | bc -l)"
