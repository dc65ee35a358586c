#!/bin/sh
# Regenerates the waveform inputs of the plot tests from ngspice (an independent simulator):
#   if_neuron_bin.raw, if_neuron_ascii.raw  ngspice raw files, binary and ASCII
#   if_neuron.csv                           the same run as `neurospice run -o` CSV
#   if_neuron_spikes.csv                    resets of v(mem) (first sample below 0.8 V
#                                           after one above it) as node,index,time
# Needs ngspice (apt-get install -y ngspice). Run from this directory.
set -eu
# ngspice -b exits 1 when the netlist has no .print; the files it writes are checked instead.
ngspice -b if_neuron.cir >/dev/null 2>&1 || true
test -s if_neuron_bin.raw && test -s if_neuron_ascii.raw && test -s if_neuron.dat
# wrdata writes "time value" pairs per vector: columns 1, 2 (v(mem)) and 4 (i(vs)).
awk 'BEGIN { print "time,v(mem),i(vs)" } { printf "%s,%s,%s\n", $1, $2, $4 }' if_neuron.dat > if_neuron.csv
awk -F, 'NR > 2 && prev >= 0.8 && $2 < 0.8 { printf "mem,%d,%s\n", n++, $1 } NR > 1 { prev = $2 }
         BEGIN { print "node,index,time" }' if_neuron.csv > if_neuron_spikes.csv
rm -f if_neuron.dat
