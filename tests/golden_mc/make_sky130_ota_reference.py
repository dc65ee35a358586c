#!/usr/bin/env python3
"""Reference for tests/mc.rs (sky130_ota_offset_mismatch_agrees_with_ngspice): ngspice-39's
tt_mm mismatch distribution of the output of netlists/sky130_ota_offset_mm.cir (a 5T OTA as a
unity-gain follower: the output is the input plus the input-referred offset).

As in make_sky130_neuron_reference.py, COPIES independent copies of the circuit share one
deck (only the ideal supply and input sources are shared; every copy's devices draw their own
AGAUSS terms, and tt_mm has no per-run global term), so SEEDS decks (`.options seed=S`,
S = 1..SEEDS) give SEEDS x COPIES samples (default 10 x 20 = 200). Each deck runs `op` and
prints every copy's output voltage with 12 digits.

Runs with the PDK's spinit settings (ngbehavior=hsa, ng_nomodcheck), one OpenMP thread, under
nice 10. Writes sky130_ota_offset_mm_ngspice.csv (seed,copy,vout) atomically.
Needs ngspice (tested with ngspice-39) and pdk/sky130.
Usage: tests/golden_mc/make_sky130_ota_reference.py [SEEDS [COPIES]]
"""
import os, re, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NET = HERE.parent.parent / "netlists" / "sky130_ota_offset_mm.cir"
PDK = (HERE.parent.parent / "pdk" / "sky130").resolve()
OUT = HERE / "sky130_ota_offset_mm_ngspice.csv"
SHARED = ("vdd", "vinp")


def deck(seed, copies):
    lines = NET.read_text().splitlines()
    lib, devices, shared = None, [], []
    for l in lines[1:]:
        s = l.strip()
        low = s.lower()
        if not s or s.startswith("*") or low in (".end", ".op"):
            continue
        if low.startswith(".lib"):
            lib = re.sub(r'"\.\./pdk/sky130/', f'"{PDK}/', s)
        elif low.startswith("."):
            sys.exit(f"{NET.name}: unexpected card {s}")
        elif low.split()[0] in SHARED:
            shared.append(s)
        else:
            devices.append(s)
    out = [lines[0], lib, ".subckt ota_copy vdd inp out"] + devices + [".ends"] + shared
    out += [f"X{k} vdd inp out{k} ota_copy" for k in range(1, copies + 1)]
    out += [f".options seed={seed}", ".control", "set numdgt=12", "op"]
    out += [f"print v(out{k})" for k in range(1, copies + 1)]
    out += [".endc", ".end"]
    return "\n".join(out) + "\n"


def run(seed, copies):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / ".spiceinit").write_text("set ngbehavior=hsa\nset ng_nomodcheck\n")
        (Path(d) / "mc.cir").write_text(deck(seed, copies))
        env = dict(os.environ, OMP_NUM_THREADS="1")
        p = subprocess.run(["nice", "-n", "10", "ngspice", "-b", "mc.cir"], cwd=d,
                           capture_output=True, text=True, env=env)
    got = {}
    for l in p.stdout.splitlines():
        m = re.match(r"^v\(out(\d+)\)\s+=\s+(\S+)", l.strip())
        if m:
            got[int(m.group(1))] = float(m.group(2))
    missing = [k for k in range(1, copies + 1) if k not in got]
    if missing:
        sys.exit(f"seed {seed}: no output for copies {missing}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return [f"{seed},{k},{got[k]!r}\n" for k in range(1, copies + 1)]


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rows = []
    for s in range(1, seeds + 1):
        rows += run(s, copies)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text("seed,copy,vout\n" + "".join(rows))
    tmp.replace(OUT)
    print(f"wrote {OUT.name}: {seeds * copies} samples ({seeds} seeds x {copies} copies)")


if __name__ == "__main__":
    main()
