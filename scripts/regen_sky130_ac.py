#!/usr/bin/env python3
"""Regenerate the ngspice-39 references of the sky130 `.ac` goldens (tests/golden_ac/).

For every NAME.cir there, ngspice runs the netlist in batch mode (with the PDK's spinit
settings) and the `.meas ac` lines it prints become NAME.ngspice.json, exactly as
scripts/regen_meas_goldens.py does for tests/golden_meas/ (its `run` is reused). The decks run
through neurospice's control path (every `.ac` deck does), so tests/sky130_ac.rs reads our
measures from stdout. Never run this on our own output: the references come from ngspice only.

Usage: scripts/regen_sky130_ac.py [NAME ...]
"""
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "tests" / "golden_ac"
spec = importlib.util.spec_from_file_location("regen_meas", ROOT / "scripts" / "regen_meas_goldens.py")
regen_meas = importlib.util.module_from_spec(spec)
spec.loader.exec_module(regen_meas)

for stem in sys.argv[1:] or sorted(p.stem for p in DIR.glob("*.cir")):
    res = regen_meas.run(DIR / f"{stem}.cir")
    bad = [k for k, v in res.items() if not isinstance(v, float)]
    if bad:
        sys.exit(f"{stem}: ngspice could not take {bad}: {res}")
    (DIR / f"{stem}.ngspice.json").write_text(json.dumps(res, indent=2) + "\n")
    print(stem, json.dumps(res))
