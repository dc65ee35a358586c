#!/usr/bin/env python3
"""Writes a netlist of N independent integrate-and-fire neurons (each its own current source,
membrane capacitor and self-resetting switch), the benchmark of issue 2.

usage: gen_if_array.py N OUT.cir [--tstop 2u] [--tmax 0.05n|none] [--ron 10k]
The defaults (RON = 10k: a 10 ns reset, and TMAX = 0.05 ns) are the setting in which ngspice,
which flips a switch only at the first time point after its threshold, resolves spike times to
0.2%; neurospice locates the switching instants and would not need the TMAX. `--ron 10 --tmax
none` (a 10 ps reset) is the issue's benchmark, whose ngspice times match the issue's figures
(scripts/compare_ngspice.py runs both).
Neuron k gets I = 1 uA * (1 + 0.5 k / N) so their spikes do not line up.
"""
import sys

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n = int(sys.argv[1])
    out = sys.argv[2]
    tstop = sys.argv[sys.argv.index("--tstop") + 1] if "--tstop" in sys.argv else "2u"
    tmax = sys.argv[sys.argv.index("--tmax") + 1] if "--tmax" in sys.argv else "0.05n"
    ron = sys.argv[sys.argv.index("--ron") + 1] if "--ron" in sys.argv else "10k"
    lines = [f"Array of {n} independent integrate-and-fire neurons",
             f"* Expected: every membrane v(m<k>) ramps at I_k/C and resets at 0.5 V, firing periodically.",
             f".model rst sw vt=0.35 vh=0.15 ron={ron} roff=1e12"]
    for k in range(1, n + 1):
        i = 1e-6 * (1 + 0.5 * k / n)
        lines += [f"I{k} 0 m{k} PULSE(0 {i:.9e} 0 1n)", f"C{k} m{k} 0 1p", f"S{k} m{k} 0 m{k} 0 rst"]
    lines += [f".tran 1n {tstop}" + ("" if tmax == "none" else f" 0 {tmax}"), ".end"]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
