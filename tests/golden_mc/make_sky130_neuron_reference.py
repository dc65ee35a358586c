#!/usr/bin/env python3
"""Reference for tests/mc.rs (sky130_neuron_mismatch_agrees_with_ngspice): ngspice-39's tt_mm
mismatch distribution of the first spike time of netlists/sky130_cm_neuron_mm.cir.

ngspice draws every subcircuit instance's AGAUSS mismatch term separately (the sky130 cells
evaluate `agauss` in each device subcircuit's own .param lines), and the tt_mm section has no
per-run global term (MC_PR_SWITCH=0). So COPIES independent copies of the neuron in one deck,
each a subcircuit instance sharing only the ideal supplies, are COPIES independent samples of
the same distribution as COPIES separately seeded runs, at one library load (3.7 s of CPU
each) instead of COPIES. Checked: copy 1 of the seed-1 deck fires at 1.16040 us, the
single-neuron deck with seed 1 at 1.16014 us (the same draws; the 2e-4 difference is the
shared time step), seed 2's single neuron at 0.952 us.

The reference is SEEDS decks (`.options seed=S`, S = 1..SEEDS) of COPIES copies, SEEDS x COPIES
samples (default 10 x 20 = 200), one ngspice at a time under nice 10. On the shared 2-core
machine one library load per sample (200 processes) took 30 s of wall time each; the copies
make it 3-4x cheaper per sample.

Each copy's first spike is an ngspice `.meas tran tK WHEN v(oK)=0.9 RISE=1`, the netlist's
own measure. The decks stop the transient at 2.2 us instead of the netlist's 2.5 us (same step
settings): only the first spike is measured, the latest of neurospice's 1000 runs is at
1.97 us, and every copy's first spike is checked to be there (the script stops otherwise).

Runs with the PDK's spinit settings (ngbehavior=hsa, ng_nomodcheck). Finished decks are kept in
.sky130_cm_neuron_mm_ngspice.partial beside this script, so an interrupted run resumes; at the
end sky130_cm_neuron_mm_ngspice.csv (seed,copy,tspike) is written atomically.
Needs ngspice (tested with ngspice-39) and pdk/sky130.
Usage: tests/golden_mc/make_sky130_neuron_reference.py [SEEDS [COPIES]]
"""
import os, re, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NET = HERE.parent.parent / "netlists" / "sky130_cm_neuron_mm.cir"
PDK = (HERE.parent.parent / "pdk" / "sky130").resolve()
PARTIAL = HERE / ".sky130_cm_neuron_mm_ngspice.partial"
OUT = HERE / "sky130_cm_neuron_mm_ngspice.csv"


def deck(seed, copies):
    lines = NET.read_text().splitlines()
    title, body = lines[0], lines[1:]
    lib, devices, tran = None, [], None
    for l in body:
        s = l.strip()
        low = s.lower()
        if not s or s.startswith("*") or low == ".end" or low.startswith(".meas"):
            continue
        if low.startswith(".lib"):
            lib = re.sub(r'"\.\./pdk/sky130/', f'"{PDK}/', s)
        elif low.startswith(".tran"):
            tran = re.sub(r"(?i)^(\.tran\s+\S+\s+)\S+", r"\g<1>2.2u", s)
        elif low.startswith(".op"):
            sys.exit(f"{NET.name}: unexpected card {s}")
        elif low[0] == "v":  # the ideal supplies and biases, shared by the copies
            devices.append(("src", s))
        else:
            devices.append(("dev", s))
    out = [title, lib, ".subckt neuron_copy vdd vpw vleak out"]
    out += [s for k, s in devices if k == "dev"]
    out.append(".ends")
    out += [s for k, s in devices if k == "src"]
    out += [f"X{k} vdd vpw vleak o{k} neuron_copy" for k in range(1, copies + 1)]
    out.append(tran)
    out += [f".meas tran t{k} WHEN v(o{k})=0.9 RISE=1" for k in range(1, copies + 1)]
    out += [f".options seed={seed}", ".end"]
    return "\n".join(out) + "\n"


def run(seed, copies):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / ".spiceinit").write_text("set ngbehavior=hsa\nset ng_nomodcheck\n")
        (Path(d) / "mc.cir").write_text(deck(seed, copies))
        # one OpenMP thread: the packaged ngspice-39 evaluates BSIM4 in busy-waiting threads
        env = dict(os.environ, NGSPICE_MEAS_PRECISION="12", OMP_NUM_THREADS="1")
        p = subprocess.run(["nice", "-n", "10", "ngspice", "-b", "mc.cir"], cwd=d,
                           capture_output=True, text=True, env=env)
    got = {}
    for l in p.stdout.splitlines():
        m = re.match(r"^t(\d+)\s+=\s+(\S+)", l.strip())
        if m:
            got[int(m.group(1))] = float(m.group(2))
    missing = [k for k in range(1, copies + 1) if k not in got]
    if missing:
        sys.exit(f"seed {seed}: ngspice gave no spike for copies {missing}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return [f"{seed},{k},{got[k]!r}\n" for k in range(1, copies + 1)]


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rows = {}
    if PARTIAL.exists():
        for l in PARTIAL.read_text().splitlines(keepends=True):
            s, k, _ = l.split(",")
            if int(k) <= copies:
                rows.setdefault(int(s), []).append(l)
    with PARTIAL.open("a") as part:
        for s in range(1, seeds + 1):
            if len(rows.get(s, [])) == copies:
                continue
            rows[s] = run(s, copies)
            part.write("".join(rows[s]))
            part.flush()
    ver = subprocess.run(["ngspice", "-v"], capture_output=True, text=True).stdout
    ver = (re.search(r"ngspice-\S+", ver) or [ver.strip()])[0]
    tmp = HERE / ".sky130_cm_neuron_mm_ngspice.csv.tmp"
    tmp.write_text("seed,copy,tspike\n" + "".join("".join(rows[s]) for s in range(1, seeds + 1)))
    tmp.replace(OUT)
    PARTIAL.unlink()
    print(f"wrote {OUT.name}: {seeds * copies} samples ({seeds} seeds x {copies} copies, {ver})")


if __name__ == "__main__":
    main()
