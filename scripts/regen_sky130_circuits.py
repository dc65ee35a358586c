#!/usr/bin/env python3
"""Regenerate the ngspice-39 references of tests/golden_sky130/ (tests/sky130_circuits.rs).

Those decks load the unchanged sky130 library in corners, temperatures, geometries and device
flavours that tests/golden/ does not (ff at 125 C, ss at -25 C, sf, fs; nf > 1, m, lvt/hvt
nfets and pfets), plus a mirror pair, an inverter chain and a current-mirror neuron:

  NAME.cir with .meas cards  -> NAME.ngspice.json, the values ngspice prints for them
                                (scripts/regen_meas_goldens.py's runner)
  NAME.cir without           -> NAME.ngspice.csv, every vector of its .dc or .tran
                                (scripts/regen_goldens.py's runner and CSV layout)

Both runners use the PDK's spinit settings (ngbehavior=hsa, ng_nomodcheck). ngspice runs with
one OpenMP thread (its BSIM4 threads busy-wait on a loaded machine); run this under nice.
Never run on neurospice's output: the references come from ngspice only.

Usage: scripts/regen_sky130_circuits.py [NAME ...]
"""
import json
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import regen_goldens  # noqa: E402
import regen_meas_goldens  # noqa: E402

DIR = HERE.parent / "tests" / "golden_sky130"


def main():
    os.environ["OMP_NUM_THREADS"] = "1"
    regen_goldens.GOLDEN_DIR = str(DIR)
    only = sys.argv[1:]
    failed = False
    for cir in sorted(DIR.glob("*.cir")):
        name = cir.stem
        if only and name not in only:
            continue
        text = cir.read_text()
        try:
            if re.search(r"^\.meas", text, re.I | re.M):
                res = regen_meas_goldens.run(cir)
                bad = [k for k, v in res.items() if isinstance(v, dict)]
                if bad:
                    raise RuntimeError(f"ngspice took no value for {bad}: {res}")
                regen_goldens.write_atomic(str(DIR / f"{name}.ngspice.json"),
                                           json.dumps(res, indent=1) + "\n")
                print(f"{name}: {len(res)} measures")
            else:
                net = regen_goldens.Netlist(str(cir))
                with tempfile.TemporaryDirectory() as work:
                    wave, _ = regen_goldens.simulate(net, net.text, work)
                regen_goldens.write_atomic(str(DIR / f"{name}.ngspice.csv"),
                                           regen_goldens.csv_text(wave))
                print(f"{name}: {len(wave[0][1])} rows x {len(wave)} columns")
        except (RuntimeError, OSError, ValueError) as e:
            print(f"FAIL {name}: {e}")
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
