#!/usr/bin/env python3
"""Reference for tests/sky130_mm.rs: the per-instance mismatch parameters ngspice-39 draws in
the sky130 `tt_mm` section, read directly from the devices (not through a circuit's response).

The deck sky130_mm_draws.cir (written by this script, committed beside it) holds COPIES copies
of a subcircuit `probe` with one instance of every device kind and geometry below: the nine
devices of netlists/sky130_cm_neuron_mm.cir and others (nf > 1, `mult`, `m`, lvt/hvt, the
pfet's and the lvt nfet's two AGAUSS terms). For seeds 1..SEEDS (`.options seed=S`) ngspice
runs `op` and prints every BSIM4 instance's `delvto` (`show m : delvto`), the only parameter the
mm section perturbs for these devices (deltox and mulu0 are commented out in the library).
Writes sky130_mm_draws_ngspice.csv: seed,copy,device,delvto (atomically).

Runs with the PDK's spinit settings (ngbehavior=hsa, ng_nomodcheck) and one OpenMP thread,
under nice 10. About 4 s of CPU per seed (the library load).
Needs ngspice (tested with ngspice-39) and pdk/sky130.
Usage: tests/golden_mc/make_sky130_mm_draws.py [SEEDS [COPIES]]
"""
import os, re, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PDK = (HERE.parent.parent / "pdk" / "sky130").resolve()
DECK = HERE / "sky130_mm_draws.cir"
OUT = HERE / "sky130_mm_draws_ngspice.csv"

# name, subcircuit, instance parameters (the neuron's nine first)
DEVICES = [
    ("xm1", "sky130_fd_pr__pfet_01v8", "w=1 l=1"),
    ("xm2", "sky130_fd_pr__pfet_01v8", "w=1 l=1 m=2"),
    ("xleak", "sky130_fd_pr__nfet_01v8", "w=0.42 l=2"),
    ("xi1n", "sky130_fd_pr__nfet_01v8", "w=0.5 l=0.5"),
    ("xi1p", "sky130_fd_pr__pfet_01v8", "w=1 l=0.5"),
    ("xi2n", "sky130_fd_pr__nfet_01v8", "w=0.5 l=0.15"),
    ("xi2p", "sky130_fd_pr__pfet_01v8", "w=1 l=0.15"),
    ("xr1", "sky130_fd_pr__nfet_01v8", "w=0.5 l=0.15"),
    ("xr2", "sky130_fd_pr__nfet_01v8", "w=0.5 l=0.5"),
    ("xnf", "sky130_fd_pr__nfet_01v8", "w=1.68 l=0.15 nf=2"),
    ("xmult", "sky130_fd_pr__nfet_01v8", "w=1 l=0.5 mult=2"),
    ("xm3", "sky130_fd_pr__nfet_01v8", "w=1 l=0.5 m=3"),
    ("xpnf", "sky130_fd_pr__pfet_01v8", "w=3 l=0.15 nf=2 mult=2"),
    ("xnlvt", "sky130_fd_pr__nfet_01v8_lvt", "w=1 l=0.5"),
    ("xplvt", "sky130_fd_pr__pfet_01v8_lvt", "w=1 l=0.35"),
    ("xphvt", "sky130_fd_pr__pfet_01v8_hvt", "w=1 l=0.15"),
]


def deck_text(copies, lib):
    out = ["sky130 tt_mm mismatch draws: one probe of every device kind per copy",
           "* made by tests/golden_mc/make_sky130_mm_draws.py; ngspice prints each delvto",
           f'.lib "{lib}" tt_mm', ".subckt probe d g vdd"]
    for name, sub, par in DEVICES:
        if "pfet" in sub:
            out.append(f"{name} d g vdd vdd {sub} {par}")
        else:
            out.append(f"{name} d g 0 0 {sub} {par}")
    out.append(".ends")
    out += ["Vdd vdd 0 1.8", "Vd d 0 0.9", "Vg g 0 0.9"]
    out += [f"X{k} d g vdd probe" for k in range(1, copies + 1)]
    out += [".op", ".end"]
    return "\n".join(out) + "\n"


def run(seed, copies):
    text = deck_text(copies, str(PDK / "sky130.lib.spice"))
    text = text.replace(".op\n.end\n",
                        f".options seed={seed}\n.control\nset width=400\nop\nshow m : delvto\n.endc\n.end\n")
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / ".spiceinit").write_text("set ngbehavior=hsa\nset ng_nomodcheck\n")
        (Path(d) / "d.cir").write_text(text)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        p = subprocess.run(["nice", "-n", "10", "ngspice", "-b", "d.cir"], cwd=d,
                           capture_output=True, text=True, env=env)
    vals, names = {}, None
    for l in p.stdout.splitlines():
        f = l.split()
        if f[:1] == ["device"]:
            names = f[1:]
        elif f[:1] == ["delvto"] and names:
            for n, v in zip(names, f[1:]):
                m = re.match(r"m\.x(\d+)\.(x[a-z0-9]+)\.m", n)
                if not m:
                    sys.exit(f"seed {seed}: cannot read device name {n}")
                vals[(int(m.group(1)), m.group(2))] = float(v)
            names = None
    want = [(k, n) for k in range(1, copies + 1) for n, _, _ in DEVICES]
    missing = [w for w in want if w not in vals]
    if missing:
        sys.exit(f"seed {seed}: no delvto for {missing[:5]}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return [f"{seed},{k},{n},{vals[(k, n)]!r}\n" for k, n in want]


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    tmp = DECK.with_suffix(".tmp")
    tmp.write_text(deck_text(copies, "../../pdk/sky130/sky130.lib.spice"))
    tmp.replace(DECK)
    rows = []
    for s in range(1, seeds + 1):
        rows += run(s, copies)
        print(f"seed {s} done", file=sys.stderr)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text("seed,copy,device,delvto\n" + "".join(rows))
    tmp.replace(OUT)
    print(f"wrote {OUT.name}: {len(rows)} draws ({seeds} seeds x {copies} copies x {len(DEVICES)} devices)")


if __name__ == "__main__":
    main()
