#!/usr/bin/env python3
"""Regenerates tests/data/partition/: IF arrays whose neurons meet only at one ideal supply
(gen_arrays.py family `ideal`) or draw from it through a 1 ohm rail (family `rail`, which
neurospice tears at the rail and relaxes: tests/multirate.rs), and issue 13's 4-mirror deck
(family `mirror`, N = 4, 1.5 us: the mirrors meet at a bias line that neurospice tears and
relaxes), run by ngspice-39 with tight settings (reltol 1e-5, TMAX
10 ps) so its answer is converged well below the test's tolerance. Each deck measures spike
times and the charge drawn from the supply (the integral of i(vdd)); the golden file holds
ngspice's `.meas` results as `name value` lines. Run from the repository root:

    python3 scripts/regen_partition_goldens.py
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "partition")
N = 8
TSTOP = "1u"


def main():
    os.makedirs(OUT, exist_ok=True)
    for family in ("ideal", "rail"):
        one(family, N, TSTOP)
    one("mirror", 4, "1.5u")


def one(family, n, tstop):
    deck = os.path.join(OUT, f"{family}{n}.cir")
    subprocess.run(
        [sys.executable, os.path.join(HERE, "gen_arrays.py"), family, str(n), deck,
         "--tstop", tstop],
        check=True,
    )
    text = open(deck).read()
    # the supply's charge over the run and in a window, and its current at one instant
    extra = (
        ".meas tran qdd integ i(vdd) from=5n to=" + tstop + "\n"
        ".meas tran qwin integ i(vdd) from=300n to=600n\n"
    )
    if family == "rail":
        # the rail's lowest voltage (the drop across the 1 ohm wiring)
        extra += ".meas tran vmin min v(vdd) from=5n to=" + tstop + "\n"
    if family == "mirror":
        # the bias line: its mean, and its value after the supply ramp's kick
        extra += ".meas tran vbavg avg v(vb) from=5n to=" + tstop + "\n"
        extra += ".meas tran vb2n find v(vb) at=2n\n"
    text = text.replace(".tran", extra + ".tran", 1)
    open(deck, "w").write(text)
    tight = os.path.join(OUT, "tight.cir")
    t = re.sub(r"^\.tran 1n (\S+)( 0 \S+)?$", r".options reltol=1e-5\n.tran 1n \1 0 10p", text,
               flags=re.M)
    assert t != text
    open(tight, "w").write(t)
    r = subprocess.run(["ngspice", "-b", tight], capture_output=True, text=True, check=True)
    os.remove(tight)
    lines = []
    for line in r.stdout.splitlines():
        m = re.match(r"^(s\d+_\d+|qdd|qwin|vmin|vbavg|vb2n)\s*=\s*(\S+)", line)
        if m:
            lines.append(f"{m.group(1)} {float(m.group(2)):.9e}")
    if len(lines) < 4:
        sys.exit("ngspice gave too few measurements:\n" + r.stdout + r.stderr)
    with open(os.path.join(OUT, f"{family}{n}.ngspice"), "w") as f:
        f.write("# ngspice-39, reltol 1e-5, TMAX 10p (scripts/regen_partition_goldens.py)\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
