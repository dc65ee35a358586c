#!/usr/bin/env python3
"""Issue 3's sweep benchmark: a POINTS-point `run --sweep` of netlists/if_neuron.cir (one
process; parsed once, solver structure reused, points in parallel) against POINTS separate
`neurospice run` calls of the same netlist with the parameter set on its .param line (the usual
shell loop, one after the other). Every variant records the spikes of v(mem) and prints their
statistics on stdout (the sweep one line per point):

  separate, default : run p.cir --spikes mem:0.45            (keeps the waveforms in memory)
  separate, cheapest: run p.cir --spikes mem:0.45 --save none
  sweep             : run if_neuron.cir --sweep iin=0.5u:2u:POINTS --spikes mem:0.45
  sweep + CSV       : the same with --meas-csv (written atomically and fsync'd)

Variants are interleaved and the best of REPS is kept, so drifts in machine load hit all alike.
Process start-up counts (a shell loop pays it per run). Needs a release build.

usage: sweep_vs_runs.py [--points 50] [--reps 20] [--bin target/release/neurospice]
"""
import argparse, os, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "neurospice"))
    a = ap.parse_args()
    net = os.path.join(ROOT, "netlists", "if_neuron.cir")
    text = open(net).read()
    base = ".param cmem = 1p iin = 1u"
    assert base in text, f"{net}: expected the line '{base}'"
    devnull = open(os.devnull, "w")
    with tempfile.TemporaryDirectory() as d:
        files = []
        for k in range(a.points):
            v = 0.5 + 1.5 * k / (a.points - 1)
            p = os.path.join(d, f"p{k}.cir")
            open(p, "w").write(text.replace(base, f".param cmem = 1p iin = {v!r}u"))
            files.append(p)
        sweep = [a.bin, "run", net, "--sweep", f"iin=0.5u:2u:{a.points}", "--spikes", "mem:0.45", "-q"]
        variants = {
            "sweep": [sweep],
            "sweep + CSV": [sweep + ["--meas-csv", os.path.join(d, "sweep.csv")]],
            "separate (default)": [[a.bin, "run", f, "--spikes", "mem:0.45", "-q"] for f in files],
            "separate (--save none)": [[a.bin, "run", f, "--spikes", "mem:0.45", "--save", "none", "-q"] for f in files],
        }
        best = {k: float("inf") for k in variants}
        for _ in range(a.reps):
            for name, cmds in variants.items():
                t0 = time.perf_counter()
                for c in cmds:
                    subprocess.run(c, stdout=devnull, check=True)
                best[name] = min(best[name], time.perf_counter() - t0)
    print(f"{a.points} points, best of {a.reps} (ms):")
    for k, v in best.items():
        print(f"  {k:24s} {v * 1e3:8.1f}")
    for s in ["sweep", "sweep + CSV"]:
        print(f"  {s} speed-up: {best['separate (default)'] / best[s]:.1f}x over default runs, "
              f"{best['separate (--save none)'] / best[s]:.1f}x over --save none runs")


if __name__ == "__main__":
    main()
