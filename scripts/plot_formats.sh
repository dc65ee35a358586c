#!/bin/sh
# Draws every `neurospice plot` kind from the example inputs in tests/data/plot, as SVG and
# PNG, into OUT (default target/figures). These inputs are test fixtures (the waveforms come
# from ngspice, the rest are synthetic), so the output is a format check, not a gallery of
# results: the README gallery in plots/ is drawn from netlists/ and models/ by
# scripts/figures.sh.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-target/figures}
D=tests/data/plot
mkdir -p "$OUT"
cargo build --quiet --release
NS=${CARGO_TARGET_DIR:-target}/release/neurospice

for ext in svg png; do
    $NS plot wave $D/if_neuron.csv --panels "v(mem);i(vs)" --spikes $D/if_neuron_spikes.csv \
        --title "IF membrane (ngspice)" -o "$OUT/wave.$ext"
    $NS plot wave $D/if_neuron_bin.raw --signals "v(mem)" --from 1u --to 2.5u -o "$OUT/wave_raw_window.$ext"
    $NS plot mc-overlay $D/waves/run_*.csv --nominal $D/waves/nominal.csv --signal "v(mem)" \
        -o "$OUT/mc_overlay.$ext"
    $NS plot hist $D/runs.csv --column t_spike_s -o "$OUT/hist.$ext"
    $NS plot scatter $D/runs.csv --x vth_v --y t_spike_s -o "$OUT/scatter.$ext"
    $NS plot transfer $D/transfer.csv -o "$OUT/transfer.$ext"
    $NS plot transfer $D/transfer.json -o "$OUT/transfer_json.$ext"
    $NS plot accuracy $D/accuracy.csv -o "$OUT/accuracy.$ext"
    $NS plot capmin-hist $D/capmin_hist.csv --layers fc1,fc2,all -o "$OUT/capmin_hist.$ext"
    $NS plot capmin-sweep $D/capmin_sweep.csv --height 3.2in -o "$OUT/capmin_sweep.$ext"
    $NS plot capmin-v $D/capmin_v.csv --height 3.2in -o "$OUT/capmin_v.$ext"
done
echo "figures in $OUT"
