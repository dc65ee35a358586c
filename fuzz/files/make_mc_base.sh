#!/bin/sh
# Regenerates the Monte Carlo files of base/ (a 3-of-6-run study to resume, two shards to
# merge). The sidecars record the netlist's absolute path, so they are made in the fuzzer's
# scratch folder, where every fuzz/replay run puts its files (examples/fuzz_files.rs).
set -e
B=${NEUROSPICE:-neurospice}
BASE=$(cd "$(dirname "$0")" && pwd)/base
W=/tmp/neurospice-fuzz-files
rm -rf "$W" && mkdir -p "$W" && cd "$W"
cp "$BASE/mc_if_neuron.cir" .
M='tcross=rise(v(mem),0.45)'
"$B" mc mc_if_neuron.cir --runs 3 -j 1 -m "$M" -o runs.csv -q
for s in 0 1; do "$B" mc mc_if_neuron.cir --runs 6 -j 1 -m "$M" -o p$s.csv --shard $s/2 -q; done
cp runs.csv runs.csv.meta.json p0.csv p0.csv.meta.json p1.csv p1.csv.meta.json "$BASE/"
