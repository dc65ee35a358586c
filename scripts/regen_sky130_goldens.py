#!/usr/bin/env python3
"""Regenerate the sky130 BSIM4 reference data of tests/data/bsim4/*.json with ngspice.

For each device geometry below this runs ngspice-39 in batch mode on the
SkyWater sky130 library (`.lib sky130.lib.spice tt`, `.option scale=1.0u`,
the PDK's own spinit settings `ngbehavior=hsa` and `ng_nomodcheck`) with the
device instantiated through its subcircuit wrapper exactly as a designer
writes it:

    X1 d g s b sky130_fd_pr__nfet_01v8 w=0.84 l=0.15

and records, per geometry, one JSON file holding

  card     the EFFECTIVE numeric model card of the bin ngspice selected
           (`showmod` names the bin; every parameter the PDK's card text
           gives is read back from ngspice as `@model[param]` at full
           precision, so `.param` expressions such as rsh = {swx_nrds} or
           wint = {2.1859E-8+sw_activecd} are evaluated by ngspice itself)
  inst     the instance parameters the subcircuit passes to the BSIM4
           device (l, w in metres after scale, nf, ad, as, pd, ps, nrd,
           nrs, sa, sb, sd, delvto, mulu0), again read back from ngspice
  curves   terminal currents of DC sweeps at 27 C and 75 C: Id-Vg at
           |Vds| = 0.05 V and 1.8 V, Id-Vg with 0.9 V reverse body bias,
           Id-Vd at |Vgs| = 0.6 ... 1.8 V (from 0.2 V of reverse Vds, so the
           source/drain exchange is crossed)
  ops      instance operating-point quantities along Vg sweeps at
           |Vds| = 0.05 V and 1.8 V: the internal terminal voltages the
           device saw (after the source/drain series resistances and the
           body-resistance network), its channel current, gm, gds, gmbs,
           substrate current, junction currents and capacitances, and the
           intrinsic small-signal capacitances cgg ... cbb.

Besides the sky130 devices it runs synthetic BSIM4.5 cards (no PDK; files named
`syn_*.json`), one for each sub-model the sky130 cards do not switch on: capmod 0 and 1,
the charge partitions, mobmod 1 and 2, rdsmod 1, rbodymod 2, diomod 0 and 2 with
breakdown and trap-assisted tunnelling, GIDL, stress and well proximity, velocity
overshoot and source-end velocity limit, pocket implant, layout-derived diffusions,
tempmod 1 and 2, binning in microns, and the derived defaults of a nearly empty card.

Terminal currents are currents INTO the transistor's terminals (amperes),
voltages are node voltages with the source at 0 V.

The tests (tests/bsim4_model.rs) never run ngspice: they evaluate the
neurospice BSIM4 model on the stored card and compare. Never regenerate these
files from neurospice's own output.

  --pdk DIR    the sky130 PDK (default /work/shared/pdk/sky130; the library is
               Apache-2.0, a copy of its LICENSE sits in tests/data/bsim4/)
  --only NAME  regenerate one geometry (or one synthetic card) only
  --ngspice-cost N
               no references: time ngspice's BSIM4v5 load on N instances of the
               sky130 nfet card (tests/data/bsim4/nfet_01v8_w0p84_l0p15.json as a
               plain .model card, each instance on its own drain node through 10 kOhm)
               in a DC sweep against the same deck with only an .op, and print the
               difference in user CPU time (and, with --callgrind, in instructions)
               per instance per Newton iteration, plus ngspice's own rusage figures
  --callgrind  with --ngspice-cost: count instructions with valgrind instead of timing
  --check      rerun ngspice with reltol 1e-8 instead of 1e-6 and report how
               far the drain currents move from the committed files, in units
               of 0.1 % of each curve's largest current; nothing is written

Plain python3 (no numpy), so it runs wherever ngspice does.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "data", "bsim4")

# (file stem, subcircuit, polarity, w [um], l [um], nf)
GEOMETRIES = [
    ("nfet_01v8_w0p84_l0p15", "sky130_fd_pr__nfet_01v8", "n", 0.84, 0.15, 1),
    ("nfet_01v8_w2_l0p35", "sky130_fd_pr__nfet_01v8", "n", 2.0, 0.35, 1),
    ("nfet_01v8_w5p5_l3", "sky130_fd_pr__nfet_01v8", "n", 5.5, 3.0, 1),
    ("nfet_01v8_w1p68_l0p15_nf2", "sky130_fd_pr__nfet_01v8", "n", 1.68, 0.15, 2),
    ("pfet_01v8_w0p84_l0p15", "sky130_fd_pr__pfet_01v8", "p", 0.84, 0.15, 1),
    ("pfet_01v8_w2_l0p35", "sky130_fd_pr__pfet_01v8", "p", 2.0, 0.35, 1),
    ("pfet_01v8_w5p5_l3", "sky130_fd_pr__pfet_01v8", "p", 5.5, 3.0, 1),
    ("nfet_01v8_lvt_w0p84_l0p15", "sky130_fd_pr__nfet_01v8_lvt", "n", 0.84, 0.15, 1),
    ("pfet_01v8_hvt_w0p84_l0p15", "sky130_fd_pr__pfet_01v8_hvt", "p", 0.84, 0.15, 1),
    ("pfet_01v8_lvt_w2_l0p35", "sky130_fd_pr__pfet_01v8_lvt", "p", 2.0, 0.35, 1),
]

# Synthetic cards (no PDK): one for each implemented sub-model the sky130 cards do not
# switch on, so every branch of the model has an ngspice reference. The stress case keeps
# ku0 = ku0we = 0 because ngspice-39's `mulu0` discards the stress change of the mobility
# (docs/bsim4.md).
BASE_CARD = {
    "toxe": 2.5e-9, "toxp": 2.2e-9, "toxm": 2.5e-9, "ndep": 2.5e17, "xj": 1.2e-7,
    "k1": 0.5, "k2": -0.02, "rdsw": 150.0, "vsat": 9e4, "alpha0": 1e-6, "beta0": 20.0,
    "pclm": 0.8, "pdiblc2": 0.005, "pscbe2": 1e-6, "cgso": 2e-10, "cgdo": 2e-10,
    "cgbo": 1e-12, "cjs": 1e-3, "cjsws": 2e-10, "cjswgs": 3e-10, "mjs": 0.4, "mjsws": 0.3,
    "mjswgs": 0.7, "jss": 1e-6, "jsws": 1e-12, "lint": 1e-8, "wint": 1e-8, "ngate": 5e19,
    "dvt0": 1.5, "dvt1": 0.5, "eta0": 0.06, "nfactor": 1.2,
}
POL_CARD = {"n": {"u0": 0.035, "vth0": 0.42}, "p": {"u0": 0.012, "vth0": -0.41}}
GEO = {"w": 1e-6, "l": 1e-7, "ad": 1e-13, "as": 1.2e-13, "pd": 1.5e-6, "ps": 1.6e-6}
SYNTHETIC = [
    ("syn_capmod2_rsh", "n", {"rsh": 50.0}, dict(GEO, nrd=0.5, nrs=0.6)),
    ("syn_capmod1", "n", {"capmod": 1, "cgsl": 1e-11, "cgdl": 2e-11}, GEO),
    ("syn_capmod0_xpart1", "p", {"capmod": 0, "xpart": 1.0}, GEO),
    ("syn_capmod0_xpart05", "n", {"capmod": 0, "xpart": 0.5}, GEO),
    ("syn_capmod2_xpart05", "p", {"xpart": 0.5, "rsh": 20.0}, dict(GEO, nrd=1.0, nrs=1.0)),
    ("syn_mobmod1", "n", {"mobmod": 1, "uc": -0.04}, GEO),
    ("syn_mobmod2", "p", {"mobmod": 2, "ua": 1e-15}, GEO),
    ("syn_rdsmod1", "p", {"rdsmod": 1, "rdw": 80.0, "rsw": 90.0, "rsh": 20.0, "prwb": 0.1},
     dict(GEO, w=2e-6, nrd=0.5, nrs=0.6)),
    ("syn_rbodymod2", "n", {"rbodymod": 2, "rbps0": 60.0, "rbpd0": 70.0, "rbsbx0": 90.0,
                            "rbdbx0": 80.0, "rbpbxl": 0.2}, GEO),
    ("syn_diomod0", "n", {"diomod": 0, "bvs": 3.0, "xjbvs": 0.5}, GEO),
    ("syn_diomod2_tat", "n", {"diomod": 2, "bvs": 4.0, "jtss": 1e-7, "jtssws": 1e-13,
                              "vtss": 5.0, "njts": 15.0}, GEO),
    ("syn_gidl", "n", {"agidl": 1e-9, "bgidl": 1e9, "cgidl": 0.3, "egidl": 0.3}, GEO),
    ("syn_stress_wpe", "n", {"kvth0": 1e-8, "kvsat": 0.3, "stk2": 1e-8, "steta0": 1e-8,
                             "wpemod": 1, "kvth0we": 0.01, "k2we": 0.005, "web": 0.5,
                             "wec": 0.2}, dict(GEO, sa=5e-7, sb=7e-7, sc=2e-6)),
    ("syn_overshoot_vtl_pocket", "n", {"lambda": 1e-7, "vtl": 1.5e5, "xn": 4.0, "lc": 6e-9,
                                       "dvtp0": 1e-7, "dvtp1": 0.5, "fprout": 100.0,
                                       "pdits": 0.5, "pditsd": 0.5, "pditsl": 1e6,
                                       "pvag": 1.0, "a1": 0.1, "a2": 0.8}, GEO),
    ("syn_geomod_rgeomod_nf4", "n", {"geomod": 0, "rgeomod": 1, "rsh": 30.0, "dmcg": 1e-7,
                                     "dmdg": 5e-8}, {"w": 4e-6, "l": 1e-7, "nf": 4}),
    ("syn_tempmod1", "n", {"tempmod": 1, "ua1": 1e-3, "at": 1e-3, "prt": 1e-3}, GEO),
    ("syn_tempmod2_binning", "p", {"tempmod": 2, "at": 1e-3, "binunit": 1, "lvth0": 0.01, "wu0": 1e-3,
                                   "pk1": 0.01, "lags": 0.02}, GEO),
]
# a card with almost everything at its default: the derived defaults (k1, k2 from the
# doping, vth0 from vfb, overlap capacitances from xj) against ngspice
DEFAULTS = ("syn_defaults", "n", {"toxe": 2.5e-9, "ndep": 3e17, "vfb": -0.9}, GEO)

TEMPS = [27.0, 75.0]
VDD = 1.8

INST_PARAMS = ["l", "w", "nf", "ad", "as", "pd", "ps", "nrd", "nrs", "sa", "sb", "sd",
               "delvto", "mulu0"]

OP_QUANTITIES = ["vds", "vgs", "vbs", "id", "gm", "gds", "gmbs", "isub", "ibd", "ibs",
                 "vth", "vdsat", "capbd", "capbs",
                 "cgg", "cgs", "cgd", "cgb", "cdg", "cdd", "cds", "cdb",
                 "csg", "csd", "css", "csb", "cbg", "cbd", "cbs", "cbb",
                 "qg", "qd", "qs", "qb"]

SPINIT = "set ngbehavior=hsa\nset ng_nomodcheck\n"
RELTOL = 1e-6


def frange(start, stop, step):
    n = int(round((stop - start) / step))
    return [start + i * step for i in range(n + 1)]


def run_ngspice(deck, workdir):
    path = os.path.join(workdir, "deck.cir")
    with open(path, "w") as f:
        f.write(deck)
    with open(os.path.join(workdir, ".spiceinit"), "w") as f:
        f.write(SPINIT)
    res = subprocess.run(["ngspice", "-b", "deck.cir"], cwd=workdir,
                         capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    # ngspice -b exits with 1 when a deck has only a .control block ("no simulations
    # run"), so failure is recognised by its messages, not by the exit code
    bad = [l for l in out.splitlines()
           if re.search(r"\berror\b|fatal|not found|unknown|warning: .*(reset|set to)", l, re.I)]
    if bad:
        raise RuntimeError("ngspice reported:\n" + "\n".join(bad[:20]))
    return out


def read_wrdata(path):
    """Columns of an ngspice `wrdata` file written with wr_singlescale and wr_vecnames."""
    with open(path) as f:
        lines = [l.split() for l in f if l.strip()]
    names = lines[0]
    cols = {n: [] for n in names}
    for row in lines[1:]:
        for n, v in zip(names, row):
            cols[n].append(float(v))
    return cols


def card_text(pdk, model_name):
    """Parameter names the PDK's .model card of `model_name` gives, in order, with
    their literal text (a number or a {expression})."""
    fet = open(os.path.join(pdk, "continuous", "models_fet.spice")).read()
    m = re.search(r"^\.model\s+" + re.escape(model_name) + r"\s+([np]mos)\s*\n((?:\+.*\n|\*.*\n)*)",
                  fet, re.M | re.I)
    if not m:
        raise RuntimeError(f"model card {model_name} not found in models_fet.spice")
    body = " ".join(l[1:] for l in m.group(2).splitlines() if l.startswith("+"))
    params = []
    for pm in re.finditer(r"([A-Za-z_]\w*)\s*=\s*(\{[^}]*\}|\S+)", body):
        params.append((pm.group(1).lower(), pm.group(2)))
    return m.group(1).lower(), params


def deck_header(pdk, temp, subckt, pol, w, l, nf):
    return (f"* sky130 {subckt} w={w} l={l} nf={nf} at {temp} C\n"
            f".lib {os.path.join(pdk, 'sky130.lib.spice')} tt\n"
            f".option scale=1.0u\n"
            f".options reltol={RELTOL} abstol=1e-15 vntol=1e-9 gmin=1e-12\n"
            f".temp {temp}\n"
            f"X1 d g s b {subckt} w={w} l={l} nf={nf}\n"
            f"Vd d 0 0\nVg g 0 0\nVs s 0 0\nVb b 0 0\n")


def sweeps(pol):
    """(name, swept source, sweep values, fixed {source: value}) in real polarity."""
    k = 1.0 if pol == "n" else -1.0
    vg = [k * v for v in frange(0.0, VDD, 0.02)]
    vd = [k * v for v in frange(-0.2, VDD, 0.05)]
    out = [
        ("idvg_vds0.05", "vg", vg, {"vd": k * 0.05, "vb": 0.0}),
        ("idvg_vds1.8", "vg", vg, {"vd": k * VDD, "vb": 0.0}),
        ("idvg_vds0.05_vbs-0.9", "vg", vg, {"vd": k * 0.05, "vb": -k * 0.9}),
        ("idvg_vds1.8_vbs-0.9", "vg", vg, {"vd": k * VDD, "vb": -k * 0.9}),
    ]
    for vgs in (0.6, 0.9, 1.2, 1.5, 1.8):
        out.append((f"idvd_vgs{vgs:g}", "vd", vd, {"vg": k * vgs, "vb": 0.0}))
    return out


def op_sweeps(pol):
    k = 1.0 if pol == "n" else -1.0
    vg = [k * v for v in frange(-0.6, VDD, 0.1)]
    return [("op_vds0.05", "vg", vg, {"vd": k * 0.05, "vb": 0.0}),
            ("op_vds1.8", "vg", vg, {"vd": k * VDD, "vb": 0.0})]


def control_for(dev, sweep_list, op_list, workdir):
    """A .control block running each sweep and writing its vectors."""
    lines = [".control", "set numdgt=16", "set wr_singlescale", "set wr_vecnames",
             "option numdgt=16"]
    files = []
    for i, (name, src, vals, fixed) in enumerate(sweep_list + op_list):
        is_op = i >= len(sweep_list)
        for s, v in fixed.items():
            lines.append(f"alter {s} dc = {v!r}")
        start, stop = vals[0], vals[-1]
        step = vals[1] - vals[0]
        lines.append(f"dc {src} {start!r} {stop!r} {step!r}")
        vecs = ["i(vd)", "i(vg)", "i(vs)", "i(vb)"]
        if is_op:
            vecs += [f"@{dev}[{q}]" for q in OP_QUANTITIES]
        fname = os.path.join(workdir, f"sweep{i}.dat")
        files.append((name, src, fixed, is_op, fname))
        lines.append(f"wrdata {fname} " + " ".join(vecs))
        # back to zero so the next sweep starts from a known source state
        for s in fixed:
            lines.append(f"alter {s} dc = 0")
    lines.append(".endc")
    return "\n".join(lines) + "\n", files


def run_sweeps(header, dev, pol, workdir):
    """Runs the current sweeps and the operating-point sweeps of device `dev` of the
    netlist `header` and returns (curves, ops)."""
    sw, ops = sweeps(pol), op_sweeps(pol)
    deck = header
    # device quantities exist per sweep point only when saved before the analysis
    deck += ".save all " + " ".join(f"@{dev}[{q}]" for q in OP_QUANTITIES) + "\n"
    ctl, files = control_for(dev, sw, ops, workdir)
    deck += ctl + ".end\n"
    run_ngspice(deck, workdir)
    curves, op_data = [], []
    for (cname, src, fixed, is_op, fname) in files:
        cols = read_wrdata(fname)
        x = cols[list(cols)[0]]
        # the gate current is zero (no tunnelling) and the source current is -(id + ib)
        entry = {"name": cname, "sweep": src, "fixed": fixed, "x": x,
                 "id": [-v for v in cols["i(vd)"]], "ib": [-v for v in cols["i(vb)"]]}
        if is_op:
            for q in OP_QUANTITIES:
                entry[q] = cols[f"@{dev}[{q}]"]
            op_data.append(entry)
        else:
            curves.append(entry)
    return curves, op_data


def extract(pdk, name, subckt, pol, w, l, nf, temp, workdir):
    dev = f"m.x1.m{subckt}"
    # 1. which bin, and the effective card and instance parameters
    deck = deck_header(pdk, temp, subckt, pol, w, l, nf)
    deck += ".control\nop\nshowmod " + dev + " : level\n.endc\n.end\n"
    out = run_ngspice(deck, workdir)
    mm = re.search(r"^\s*model\s+(\S+)\s*$", out, re.M)
    if not mm:
        raise RuntimeError("showmod did not name the model:\n" + out[-2000:])
    ng_model = mm.group(1)                      # e.g. x1:nshort_model.40
    base = ng_model.split(":")[-1]
    mtype, given = card_text(pdk, base)
    names = [n for n, _ in given if n not in ("level", "version")]
    deck = deck_header(pdk, temp, subckt, pol, w, l, nf)
    deck += ".control\nset numdgt=16\nop\n"
    for n in names:
        deck += f"print @{ng_model}[{n}]\n"
    for n in INST_PARAMS:
        deck += f"print @{dev}[{n}]\n"
    deck += ".endc\n.end\n"
    out = run_ngspice(deck, workdir)
    vals = {}
    for pm in re.finditer(r"^@([^\[\s]+)\[(\w+)\]\s*=\s*(\S+)", out, re.M):
        vals[(pm.group(1), pm.group(2))] = float(pm.group(3))
    card = {"level": 54.0}
    literal = dict(given)
    for n in names:
        v = vals.get((ng_model, n))
        text = literal[n]
        if text.startswith("{") or v is None:
            if v is None:
                v = float(text)             # ngspice cannot print it: the literal is numeric
        else:
            v = float(text)                 # a plain number: keep it exactly as written
        card[n] = v
    card["version"] = float(literal.get("version", "4.5"))
    inst = {}
    for n in INST_PARAMS:
        v = vals.get((dev, n))
        if v is None:
            raise RuntimeError(f"ngspice did not report instance parameter {n}")
        inst[n] = v
    # 2. the sweeps
    curves, op_data = run_sweeps(deck_header(pdk, temp, subckt, pol, w, l, nf), dev, pol, workdir)
    return ng_model, mtype, card, inst, curves, op_data


def generate_synthetic(entry, only_card=False):
    name, pol, extra, inst = entry
    if name == "syn_defaults":
        card = dict(extra)
    else:
        card = dict(BASE_CARD)
        card.update(POL_CARD[pol])
        card.update(extra)
    card = {"level": 54.0, "version": 4.5, **{k: float(v) for k, v in card.items()}}
    mtype = "nmos" if pol == "n" else "pmos"
    doc = {"generator": "scripts/regen_sky130_goldens.py", "simulator": "ngspice-39",
           "pdk": "none: synthetic BSIM4.5 card", "polarity": pol, "model": "syn",
           "card": card, "inst": {k: float(v) for k, v in inst.items()},
           "units": "SI; currents into the transistor terminals; temperatures in C",
           "temps": {}}
    params = " ".join(f"{k}={v!r}" for k, v in card.items())
    iparams = " ".join(f"{k}={v!r}" for k, v in inst.items())
    for temp in TEMPS:
        header = (f"* synthetic BSIM4 card {name} at {temp} C\n"
                  f".options reltol={RELTOL} abstol=1e-15 vntol=1e-9 gmin=1e-12\n"
                  f".temp {temp}\n"
                  f".model syn {mtype} {params}\n"
                  f"M1 d g s b syn {iparams}\n"
                  f"Vd d 0 0\nVg g 0 0\nVs s 0 0\nVb b 0 0\n")
        with tempfile.TemporaryDirectory() as wd:
            curves, ops = run_sweeps(header, "m1", pol, wd)
        doc["temps"][f"{temp:g}"] = {"curves": curves, "ops": ops}
    return doc


def generate(pdk, geom):
    name, subckt, pol, w, l, nf = geom
    doc = {"generator": "scripts/regen_sky130_goldens.py", "simulator": "ngspice-39",
           "pdk": "SkyWater sky130 (Apache-2.0), continuous models, corner tt",
           "subckt": subckt, "polarity": pol,
           "subckt_params": {"w": w, "l": l, "nf": nf},
           "units": "SI; currents into the transistor terminals; temperatures in C",
           "temps": {}}
    for temp in TEMPS:
        with tempfile.TemporaryDirectory() as wd:
            ng_model, mtype, card, inst, curves, ops = extract(pdk, name, subckt, pol, w, l, nf, temp, wd)
        if mtype[0] != pol:
            raise RuntimeError(f"{name}: card is {mtype}, expected {pol}mos")
        doc["model"] = ng_model.split(":")[-1]
        doc["card"] = card
        doc["inst"] = inst
        doc["temps"][f"{temp:g}"] = {"curves": curves, "ops": ops}
    return doc


def rounded(doc):
    """Sweep data rounded to 10 significant digits (far below every test tolerance and
    ngspice's own convergence); the model card keeps full precision."""
    def r(x):
        if isinstance(x, float):
            return float(f"{x:.10g}")
        if isinstance(x, list):
            return [r(v) for v in x]
        if isinstance(x, dict):
            return {k: r(v) for k, v in x.items()}
        return x
    out = dict(doc)
    out["temps"] = r(doc["temps"])
    return out


def write_atomic(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rounded(doc), f, indent=None, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)


def check(pdk, geom, path):
    """Distance between the committed data and a rerun at 10x tighter reltol."""
    global RELTOL
    with open(path) as f:
        old = json.load(f)
    RELTOL = 1e-8
    new = generate(pdk, geom)
    worst = 0.0
    for t, blk in old["temps"].items():
        for c_old, c_new in zip(blk["curves"], new["temps"][t]["curves"]):
            imax = max(abs(v) for v in c_old["id"])
            for a, b in zip(c_old["id"], c_new["id"]):
                worst = max(worst, abs(a - b) / (1e-3 * imax + 1e-15))
    return worst


def ngspice_cost(n, callgrind):
    """ngspice's cost per BSIM4v5 instance per Newton iteration (see --ngspice-cost)."""
    import resource
    with open(os.path.join(OUT_DIR, "nfet_01v8_w0p84_l0p15.json")) as f:
        d = json.load(f)
    card = " ".join(f"{k}={v!r}" for k, v in d["card"].items())
    inst = " ".join(f"{k}={d['inst'][k]!r}" for k in
                    ["l", "w", "nf", "ad", "as", "pd", "ps", "nrd", "nrs", "sa", "sb", "sd", "delvto"])
    figures = {}
    with tempfile.TemporaryDirectory() as wd:
        for an in ("op", "dc"):
            lines = [f"* {n} BSIM4v5 instances", f".model nsh nmos {card}", "Vdd vdd 0 1.8", "Vg g 0 0.9"]
            for i in range(n):
                lines += [f"R{i} vdd d{i} 10k", f"M{i} d{i} g 0 0 nsh {inst}"]
            lines += [".control", "dc Vg 0 1.8 0.01" if an == "dc" else "op", "rusage all", ".endc", ".end"]
            with open(os.path.join(wd, f"{an}.cir"), "w") as f:
                f.write("\n".join(lines) + "\n")
            cmd = ["ngspice", "-b", f"{an}.cir"]
            env = dict(os.environ, OMP_NUM_THREADS="1")
            if callgrind:
                cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={wd}/cg.out"] + cmd
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
            res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, env=env)
            user = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
            out = res.stdout + res.stderr
            it = int(re.search(r"Total iterations = (\d+)", out).group(1))
            load = float(re.search(r"Matrix load time = (\S+)", out).group(1))
            ir = re.search(r"I\s+refs:\s+([\d,]+)", out)
            figures[an] = (it, user, load, int(ir.group(1).replace(",", "")) if ir else None)
            print(f"{an}: {it} Newton iterations, user CPU {user:.2f} s, ngspice 'Matrix load time' {load:.3f} s"
                  + (f", {figures[an][3]:,} instructions" if ir else ""))
    dit = (figures["dc"][0] - figures["op"][0]) * n
    print(f"per instance per iteration: {1e6 * (figures['dc'][1] - figures['op'][1]) / dit:.2f} us user CPU")
    if callgrind:
        print(f"per instance per iteration: {(figures['dc'][3] - figures['op'][3]) / dit:,.0f} instructions")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pdk", default="/work/shared/pdk/sky130")
    ap.add_argument("--only")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--ngspice-cost", type=int, metavar="N")
    ap.add_argument("--callgrind", action="store_true")
    args = ap.parse_args()
    if args.ngspice_cost:
        ngspice_cost(args.ngspice_cost, args.callgrind)
        return
    os.makedirs(OUT_DIR, exist_ok=True)
    for entry in SYNTHETIC + [DEFAULTS]:
        if args.only and entry[0] != args.only or args.check:
            continue
        path = os.path.join(OUT_DIR, entry[0] + ".json")
        write_atomic(path, generate_synthetic(entry))
        print(f"wrote {os.path.relpath(path, ROOT)}")
    for geom in GEOMETRIES:
        if args.only and geom[0] != args.only:
            continue
        path = os.path.join(OUT_DIR, geom[0] + ".json")
        if args.check:
            print(f"{geom[0]}: rerun differs by {check(args.pdk, geom, path):.3g} x 0.1 % of Imax")
            continue
        doc = generate(args.pdk, geom)
        write_atomic(path, doc)
        print(f"wrote {os.path.relpath(path, ROOT)} ({doc['model']})")


if __name__ == "__main__":
    sys.exit(main())
