#!/bin/sh
# Regenerates every figure of the README gallery from netlists/, models/ and data/, with
# neurospice only: simulation, characterisation, Monte Carlo, network accuracy, drawing.
#
#   scripts/figures.sh [OUT_DIR]     write the figures into OUT_DIR (default $CARGO_TARGET_DIR/figures or target/figures)
#   scripts/figures.sh --update      rewrite the committed figures in plots/
#
# The committed figures are rewritten only when asked (--update), so a trial run never
# leaves plots/ modified. Prints how long each step and the whole took (the release build
# of neurospice is not counted; `cargo build --release` first if it is stale).
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
--update) P=plots ;;
-*) echo "usage: scripts/figures.sh [OUT_DIR | --update]" >&2; exit 2 ;;
*) P=${1:-${CARGO_TARGET_DIR:-target}/figures} ;;
esac
cargo build --quiet --release
NS=${CARGO_TARGET_DIR:-target}/release/neurospice
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$P"
start=$(date +%s.%N)
last=$start
# the wall time of the step just finished, and since the start
step() {
    now=$(date +%s.%N)
    awk -v n="$1" -v a="$now" -v b="$last" -v s="$start" \
        'BEGIN { printf "%-30s %6.1f s  (total %6.1f s)\n", n, a - b, a - s }' >&2
    last=$now
}

# 1. An integrate-and-fire neuron: membrane waveform with its located spikes
$NS run netlists/if_neuron.cir -o "$W/if.csv" --spikes mem:0.45 --spikes-out "$W/if_spikes.csv" -q > /dev/null
$NS plot wave "$W/if.csv" --signals "v(mem)" --spikes "$W/if_spikes.csv" \
    --title "IF neuron (netlists/if_neuron.cir)" -o "$P"/if_neuron.svg
step "1 IF neuron"

# 2. Monte Carlo of the IF neuron (5 % C, 3 % I): first-crossing histogram and waveform overlay
$NS mc netlists/mc_if_neuron.cir --runs 1000 --seed 1 --measure "tcross=rise(v(mem),0.45)" \
    --save-waves 40 -o "$W/runs.csv" --summary "$W/summary.json" -q > /dev/null
$NS plot hist "$W/runs.csv" --column tcross --title "MC first crossing, 1000 runs" -o "$P"/mc_hist.svg
$NS plot mc-overlay "$W"/waves/run_*.csv --nominal "$W/waves/nominal.csv" --signal "v(mem)" \
    --title "MC membrane, 40 runs" -o "$P"/mc_overlay.svg
step "2 Monte Carlo"

# 3. Neuron transfer curves (cmos28): current-mirror against time-domain
$NS chara netlists/neuron_cm.cir --levels 0:32 --vth 0.4 --t-membrane 156.25n --name cm28 \
    -o "$W/cm.json" --csv "$W/cm.csv" > /dev/null
$NS chara netlists/neuron_td.cir --levels 0:32 --vth 0.4 --t-membrane 156.25n --name td28 \
    -o "$W/td.json" --csv "$W/td.csv" > /dev/null
$NS plot transfer "$W/cm.csv" --signals membrane_v --title "Current-mirror neuron" -o "$P"/transfer_cm.svg
$NS plot transfer "$W/td.csv" --signals membrane_v --title "Time-domain neuron" -o "$P"/transfer_td.svg
step "3 transfer curves"

# 4. Network accuracy against current variation (ideal IF read-out of each chunk level)
$NS snn sweep --model models/bnn_mnist.json --data data/mnist_4k.csv.gz --neuron-kind current-sigma \
    --param sigma --values 0,0.01,0.02,0.03,0.05,0.1 --repeats 5 --seed 1 -o "$W/acc.csv" > /dev/null
$NS plot accuracy "$W/acc.csv" --title "MNIST accuracy vs current sigma" -o "$P"/accuracy.svg
step "4 network accuracy"

# 5. CapMin: MAC-level histogram, capacitor and accuracy against kept levels, CapMin-V
M="--model models/bnn_mnist.json --data data/mnist_4k.csv.gz"
$NS capmin hist $M -o "$W/hist.csv" > /dev/null
$NS plot capmin-hist "$W/hist.csv" -o "$P"/capmin_hist.svg
$NS capmin select $M --sweep-k "$W/sweep.csv" > /dev/null
$NS plot capmin-sweep "$W/sweep.csv" --height 3.2in -o "$P"/capmin_sweep.svg
$NS capmin protect $M --sigma 0.01,0.03,0.05 -o "$W/protect.csv" > /dev/null
$NS plot capmin-v "$W/protect.csv" --height 3.2in -o "$P"/capmin_v.svg

step "5 CapMin"

# 6. sky130 (BSIM4, the unchanged PDK): tt_mm mismatch Monte Carlo of the current-mirror IF neuron
$NS mc netlists/sky130_cm_neuron_mm.cir --runs 1000 --seed 1 -o "$W/sky130_mm.csv" -q > /dev/null
$NS plot hist "$W/sky130_mm.csv" --column tspike --title "sky130 tt_mm: CM neuron first spike" \
    -o "$P"/sky130_mc_spike.svg
step "6 sky130 Monte Carlo (all done)"
echo "figures written to $P/"
