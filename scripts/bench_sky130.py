#!/usr/bin/env python3
"""Times neurospice against ngspice-39 on the sky130 example netlists (the unchanged PDK, BSIM4)
and reports the cost per Newton iteration of each.

For every deck, both simulators run interleaved (neurospice, ngspice, neurospice, ...; best of
--repeat), CPU time (user + system) from /usr/bin/time, on a temporary copy with the PDK path
made absolute (ngspice gets the PDK's spinit settings and `.options acct`). Each deck also runs
with its `.tran` replaced by `.op` (library load, elaboration and the operating point): the
difference is the transient's own CPU time, which divided by the transient's Newton
iterations (neurospice `--stats`; ngspice's `Transient iterations` from acct) gives the cost
per Newton iteration of the whole circuit (device evaluation, matrix load, factorisation,
solve, time-step control). Prints a Markdown table.

usage: bench_sky130.py [--repeat N] [--bin PATH] [DECK ...]   (default: the decks below)
Needs ngspice on PATH and /usr/bin/time. On a shared machine, run it under nice and read CPU
times (wall time is not comparable). ngspice-39 as packaged is built with OpenMP and evaluates
BSIM4 instances in parallel threads that busy-wait; on a loaded machine that multiplies its CPU
time (34 s instead of 10 s for the same axon-hillock run), so it runs here with one thread
(OMP_NUM_THREADS=1 and `set num_threads=1`), like neurospice's single-threaded `run`. ngspice's
acct times are elapsed time, so only its iteration counts are taken from them.
"""
import argparse, os, re, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DECKS = ["netlists/sky130_axon_hillock.cir", "netlists/sky130_neuron_td.cir",
         "netlists/sky130_neuron_cm.cir", "netlists/sky130_cm_neuron.cir"]


def prepared(deck, workdir, op_only, ngspice):
    text = (ROOT / deck).read_text()
    text = re.sub(r'(?im)^(\s*\.(?:lib|include|inc)\s+)(["\']?)(\.\.[^"\'\s]*)\2',
                  lambda m: f'{m.group(1)}"{((ROOT / deck).parent / m.group(3)).resolve()}"', text)
    lines = [l for l in text.splitlines() if l.strip().lower() != ".end"]
    if op_only:
        lines = [".op" if l.lower().startswith(".tran") else l for l in lines
                 if not l.lower().startswith(".meas")]
    if ngspice:
        lines.append(".options acct")
        # batch mode simulates only with an output request
        node = first_node(lines)
        lines.append(f".print tran v({node})" if not op_only else f".print op v({node})")
    lines.append(".end")
    p = workdir / (("op_" if op_only else "") + ("ng_" if ngspice else "ns_") + Path(deck).name)
    p.write_text("\n".join(lines) + "\n")
    return p


def first_node(lines):
    """A node of the deck's first element line (batch mode needs an output request)."""
    for l in lines[1:]:
        t = l.split()
        if t and t[0][0].isalpha() and not l.lstrip().startswith(("*", ".", "+")) and len(t) > 2:
            return next(n for n in t[1:] if n != "0")
    sys.exit("no element line to take a node from")


def timed(cmd, cwd):
    p = subprocess.run(["/usr/bin/time", "-f", "CPU %U %S"] + cmd, cwd=cwd, capture_output=True, text=True)
    m = re.search(r"CPU ([0-9.]+) ([0-9.]+)", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}")
    return float(m.group(1)) + float(m.group(2)), p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--bin", default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "neurospice"))
    ap.add_argument("decks", nargs="*", default=DECKS)
    a = ap.parse_args()
    print("| deck | neurospice CPU s (op only) | Newton its | ngspice CPU s (op only) | Newton its | CPU ratio ngspice/ours | per iteration ours | per iteration ngspice |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        wd = Path(d)
        (wd / ".spiceinit").write_text("set ngbehavior=hsa\nset ng_nomodcheck\nset num_threads=1\n")
        os.environ["OMP_NUM_THREADS"] = "1"
        for deck in a.decks:
            best = {}
            for _ in range(a.repeat):
                for sim in ("ns", "ng"):
                    for op in (False, True):
                        f = prepared(deck, wd, op, sim == "ng")
                        if sim == "ns":
                            cmd = [a.bin, "run", str(f), "--stats", "-q"]
                            if not op:
                                cmd += ["-o", str(wd / "out.csv")]
                        else:
                            cmd = ["ngspice", "-b", str(f)]
                        cpu, out, err = timed(cmd, wd)
                        key = (sim, op)
                        if key not in best or cpu < best[key][0]:
                            best[key] = (cpu, out + err)
            ns_its = int(re.search(r"newton=(\d+)", best[("ns", False)][1]).group(1))
            m = re.search(r"Transient iterations\s*=\s*(\d+)", best[("ng", False)][1])
            ng_its = int(m.group(1)) if m else 0
            ns_t, ns_op = best[("ns", False)][0], best[("ns", True)][0]
            ng_t, ng_op = best[("ng", False)][0], best[("ng", True)][0]
            per = lambda t, op, its: f"{(t - op) / its * 1e6:.1f} us" if its and t > op else "-"
            print(f"| {Path(deck).stem} | {ns_t:.2f} ({ns_op:.2f}) | {ns_its} | {ng_t:.2f} ({ng_op:.2f}) | {ng_its} "
                  f"| {ng_t / ns_t:.1f} | {per(ns_t, ns_op, ns_its)} | {per(ng_t, ng_op, ng_its)} |", flush=True)


if __name__ == "__main__":
    main()
