#!/usr/bin/env python3
"""Regenerate the ngspice references of the .meas goldens (tests/golden_meas/).

For every NAME.cir there, ngspice 39 runs the netlist in batch mode and the measure lines it
prints become NAME.ngspice.json: {"measure": value} or {"measure": {"failed": message}} for a
measure ngspice could not take. A comment line `* ngspice: .meas ...` replaces the card of the
same name for ngspice only: that is how measures ngspice 39 cannot take itself (DERIV, v(a,b))
get an independent reference (for DERIV: the capacitor's equation dv/dt = i/C at that point).

NGSPICE_MEAS_PRECISION=12 makes ngspice print WHEN/RMS/INTEG with 13 digits; the other
functions always print 7, far below the 0.1% tolerance. Never run this on our own output: the
references come from ngspice only.

The raw-file golden (tests/golden_meas/raw/): neurospice (the newer of target/release and target/debug)
writes NAME.raw (binary) and NAME_ascii.raw (ASCII) for a few of the netlists above; those files
are committed, ngspice 39 `load`s each and `wrdata` writes every vector with 17 significant
digits to NAME[_ascii].ngspice.txt. tests/raw_golden.rs checks that our reader gives exactly
ngspice's values from the committed files and that our writer still produces them byte for
byte (apart from the Date: line).

Usage: scripts/regen_meas_goldens.py [NAME ...]     (measure references)
       scripts/regen_meas_goldens.py --raw           (raw-file golden)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "tests" / "golden_meas"
LINE = re.compile(r"^([a-z0-9_.]+)\s+=\s+(\S+)", re.I)


def meas_name(line):
    toks = line.split()
    return toks[2].lower() if len(toks) > 2 else None


def for_ngspice(text):
    """The netlist with `* ngspice:` replacements applied, and the measure names in order."""
    lines = text.splitlines()
    repl = {}
    for l in lines:
        m = re.match(r"^\*\s*ngspice:\s*(\.meas.*)$", l, re.I)
        if m:
            repl[meas_name(m.group(1))] = m.group(1)
    out, names = [], []
    for l in lines:
        if re.match(r"^\.meas(ure)?\s", l, re.I):
            n = meas_name(l)
            names.append(n)
            out.append(repl.get(n, l))
        else:
            out.append(l)
    return "\n".join(out) + "\n", names


OUTSIDE = re.compile(r"""^(\s*\.(?:lib|include|inc)\s+)(["']?)(\.\.[^"'\s]*)\2""", re.I | re.M)


def run(cir):
    text, names = for_ngspice(cir.read_text())
    # paths that leave the directory (the sky130 PDK, models/) made absolute for the copy
    text = OUTSIDE.sub(lambda m: f'{m.group(1)}"{(cir.parent / m.group(3)).resolve()}"', text)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / cir.name
        p.write_text(text)
        if "sky130" in text:
            # the PDK's spinit: W per finger in binning (hsa), no model checks
            (Path(d) / ".spiceinit").write_text("set ngbehavior=hsa\nset ng_nomodcheck\n")
        env = dict(os.environ, NGSPICE_MEAS_PRECISION="12")
        r = subprocess.run(["ngspice", "-b", str(p)], capture_output=True, text=True, env=env, cwd=d)
    out = r.stdout + r.stderr
    values = {}
    for l in out.splitlines():
        m = LINE.match(l.strip())
        if m and m.group(1).lower() in names:
            try:
                values[m.group(1).lower()] = float(m.group(2))
            except ValueError:
                pass
    res = {}
    for n in names:
        if n in values:
            res[n] = values[n]
        else:
            err = [l.strip() for l in out.splitlines() if re.search(rf"\b{re.escape(n)}\b", l, re.I)]
            res[n] = {"failed": " | ".join(err) or "not printed by ngspice"}
    return res


RAW = ["rc_settle", "dc_sweep"]


def neurospice():
    """The most recently built binary (a stale release build must not write the golden)."""
    bins = [ROOT / "target" / p / "neurospice" for p in ("release", "debug")]
    bins = [b for b in bins if b.exists()]
    if not bins:
        sys.exit("build neurospice first (cargo build)")
    return max(bins, key=lambda b: b.stat().st_mtime)


def regen_raw():
    out = DIR / "raw"
    out.mkdir(exist_ok=True)
    for stem in RAW:
        for suffix, flags in (("", []), ("_ascii", ["--ascii"])):
            raw = out / f"{stem}{suffix}.raw"
            subprocess.run([neurospice(), "run", DIR / f"{stem}.cir", "-q", "-o", raw] + flags,
                           check=True, capture_output=True)
            txt = out / f"{stem}{suffix}.ngspice.txt"
            with tempfile.TemporaryDirectory() as d:
                ctl = Path(d) / "load.sp"
                ctl.write_text(
                    "* load a neurospice raw file\n.control\nset wr_singlescale\nset wr_vecnames\n"
                    f"set numdgt=17\nload {raw}\nwrdata {txt} all\n.endc\n.end\n")
                txt.unlink(missing_ok=True)
                # ngspice -b exits with 1 when the deck runs no analysis, as here
                r = subprocess.run(["ngspice", "-b", str(ctl)], capture_output=True, text=True, cwd=d)
                if not txt.exists() or "rror" in r.stdout + r.stderr:
                    sys.exit(f"ngspice could not load {raw}:\n{r.stdout}{r.stderr}")
            print(txt.relative_to(ROOT), sum(1 for _ in txt.open()), "lines")


def main():
    if sys.argv[1:] == ["--raw"]:
        regen_raw()
        return
    stems = sys.argv[1:] or sorted(p.stem for p in DIR.glob("*.cir"))
    ver = subprocess.run(["ngspice", "-v"], capture_output=True, text=True).stdout
    m = re.search(r"ngspice-(\S+)", ver)
    (DIR / "NGSPICE_VERSION").write_text((m.group(1) if m else ver.strip()) + "\n")
    for s in stems:
        res = run(DIR / f"{s}.cir")
        (DIR / f"{s}.ngspice.json").write_text(json.dumps(res, indent=2) + "\n")
        print(s, json.dumps(res))


if __name__ == "__main__":
    main()
