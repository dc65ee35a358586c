#!/usr/bin/env python3
"""Which BSIM4 model parameters behave the same in ngspice-39's BSIM4.5 code (version=4.5)
and its BSIM4.6/4.7/4.8 code (version=4.6, 4.7, 4.8; --versions)?

  python3 scripts/bsim4_version_probe.py [--out src/devices/bsim4/version_same.txt]

For every base parameter of src/devices/bsim4/params.rs (binning variants l*/w*/p* follow
their base), an nmos card with that one parameter moved off its default (default * 1.2, or
for a zero/derived default the first of 0.1, 1e-3, 1e-6, 1e-8, 1e-12 that every code runs)
is simulated by ngspice with each version (all cards in a few decks, one device pair each): drain current over a bias grid (vgs 0.3..1.5, vds 0.05/0.6/1.5,
vbs 0/-0.6) of a long (10u/10u) and a short (0.12u/1u) device, and the gate's small-signal
current at 1 GHz (the capacitances). The parameter counts as "same" when the largest
relative difference between 4.5 and the newer version is no more than the difference the
default card already has (baseline, measured the same way) times 1.5 plus 1e-6. Parameters
neither code runs in the probe, switches, and parameters that differ are left out.
The output lists "same" parameters, one per line, with the version compared and the measured
differences as comments. Needs ngspice (ngspice-39) on PATH; a few minutes.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWITCHES = {"mobmod", "capmod", "diomod", "rdsmod", "rbodymod", "rgatemod", "permod",
            "geomod", "rgeomod", "igcmod", "igbmod", "tempmod", "trnqsmod", "acnqsmod",
            "fnoimod", "tnoimod", "binunit", "paramchk", "mtrlmod", "gidlmod", "version",
            "level", "cvchargemod", "wpemod", "mtrlcompatmod", "type", "tnom"}


def params():
    text = open(os.path.join(ROOT, "src/devices/bsim4/params.rs")).read()
    start = text.index("bsim4_params! {")
    body = text[start:]
    b0 = body.index("binned {")
    p0 = body.index("plain {")
    end = body.index("\n}\n", p0)
    out = []
    for section, chunk in (("binned", body[b0:p0]), ("plain", body[p0:end])):
        for m in re.finditer(r'^\s+([a-z0-9_]+)(?:\s*\|\s*[a-z0-9_]+)?,\s*"[^"]*",\s*([^,]+),\s*"',
                             chunk, re.M):
            out.append((m.group(1), m.group(2).strip(), section))
    return out


HEAD = """probe
vg g 0 0
vd d 0 0
vb b 0 0
"""
TAIL = (".control\nset filetype=ascii\n"
        + "".join(f"alter vb dc = {vbs}\nalter vd dc = {vds}\ndc vg 0.3 1.5 0.2\n"
                  f"write dc_{k}.raw\n"
                  for k, (vbs, vds) in enumerate((b, d) for b in (0, -0.6)
                                                 for d in (0.05, 0.6, 1.5)))
        + "alter vd dc = 0.8\nalter vb dc = 0\nalter vg dc = 0.9\nalter vg ac = 1\n"
        + "ac lin 1 1e9 1e9\nwrite ac.raw\nquit\n.endc\n.end\n")
GEOMS = (("10u", "10u"), ("0.12u", "1u"))


def read_raw(path):
    """{vector name: [values]} of an ASCII raw file (complex values by magnitude)."""
    with open(path) as f:
        lines = f.read().splitlines()
    names, vals, k = [], {}, 0
    nvar = npts = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("No. Variables:"):
            nvar = int(line.split(":")[1])
        elif line.startswith("No. Points:"):
            npts = int(line.split(":")[1])
        elif line.startswith("Variables:"):
            for j in range(nvar):
                names.append(lines[k + 1 + j].split()[1].lower())
            k += nvar
        elif line.startswith("Values:"):
            toks = " ".join(lines[k + 1:]).split()
            pos = 0
            for _ in range(npts):
                pos += 1  # the point index
                for n in names:
                    t = toks[pos]
                    pos += 1
                    if "," in t:
                        re_, im = (float(x) for x in t.split(","))
                        v = math.hypot(re_, im)
                    else:
                        v = float(t)
                    vals.setdefault(n, []).append(v)
            break
        k += 1
    return vals


def run_all(ver, cards):
    """Currents of every probe card (a list of `name=value` strings, "" for the default card,
    None to leave out) with `version=ver`: {index: [Id over the grid and both sizes..., |Ig|
    at 1 GHz per size]}. Cards run in chunks; a chunk ngspice does not finish is split until
    the card that stops it is found, which is set to None in `cards`."""
    out = {}
    todo = [[k for k in range(len(cards)) if cards[k] is not None]]
    todo = [todo[0][i:i + 40] for i in range(0, len(todo[0]), 40)]
    while todo:
        chunk = todo.pop()
        res = run_once(ver, cards, chunk)
        if res is not None:
            out.update(res)
        elif len(chunk) == 1:
            print(f"{ver}: {cards[chunk[0]]} stops ngspice", file=sys.stderr)
            cards[chunk[0]] = None
        else:
            todo += [chunk[:len(chunk) // 2], chunk[len(chunk) // 2:]]
    return out


def run_once(ver, cards, chunk):
    """The probe of cards[k] for k in chunk, or None when ngspice does not finish it."""
    deck = [HEAD]
    for k in chunk:
        deck.append(f".model p{k} nmos (level=54 version={ver} {cards[k]})\n")
        for j, (l, w) in enumerate(GEOMS):
            deck.append(f"vd{k}_{j} d{k}_{j} d 0\nvg{k}_{j} g{k}_{j} g 0\n"
                        f"m{k}_{j} d{k}_{j} g{k}_{j} 0 b p{k} l={l} w={w}\n")
    deck.append(TAIL)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "p.cir")
        with open(path, "w") as f:
            f.write("".join(deck))
        try:
            subprocess.run(["ngspice", "-b", path], capture_output=True, text=True,
                           timeout=600, cwd=d)
        except subprocess.TimeoutExpired:
            return None
        raws = [f"dc_{i}.raw" for i in range(6)] + ["ac.raw"]
        try:
            data = [read_raw(os.path.join(d, x)) for x in raws]
        except (OSError, ValueError, IndexError):
            return None
    out = {}
    try:
        for k in chunk:
            v = []
            for j in range(len(GEOMS)):
                for dat in data[:-1]:
                    v += current(dat, f"vd{k}_{j}")
                v += current(data[-1], f"vg{k}_{j}")
            if len(v) != 2 * (6 * 7 + 1):
                return None
            out[k] = v
    except KeyError:
        return None
    return out


def probe_all(cards, vers):
    """run_all with 4.5 and every version of `vers` (a card that stops one code is None
    afterwards; results of the others for it are ignored by the caller)."""
    ref = run_all("4.5", cards)
    return ref, {ver: run_all(ver, cards) for ver in vers}


def current(dat, src):
    return dat[f"i({src})"] if f"i({src})" in dat else dat[f"{src}#branch"]


def diff(a, b):
    """Worst relative difference: drain currents against the largest of the grid (floor
    1e-3 of it), the gate admittances (last two of each size block) each against itself."""
    scale = max(abs(x) for x in a) or 1.0
    return max(abs(x - y) / (abs(x) + 1e-3 * scale) for x, y in zip(a, b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "src/devices/bsim4/version_same.txt"))
    ap.add_argument("--versions", default="4.6,4.7,4.8")
    args = ap.parse_args()
    vers = args.versions.split(",")
    cards, names = [""], [None]
    for name, default, _ in params():
        if name in SWITCHES:
            continue
        try:
            d0 = float(default.replace("f64::NAN", "nan"))
        except ValueError:
            d0 = float("nan")
        v = d0 * 1.2 if math.isfinite(d0) and d0 != 0.0 else 0.1
        cards.append(f"{name}={v:g}")
        names.append(name)
    ref, new = probe_all(cards, vers)
    # zero defaults probed at 0.1 that stop a code (lengths in metres: lint, wl, dwj...) are
    # tried again at smaller values
    for small in (1e-3, 1e-6, 1e-8, 1e-12):
        retry = [k for k in range(1, len(cards))
                 if (cards[k] is None or any(k not in new[v] for v in vers))
                 and names[k] is not None]
        if not retry:
            break
        sub = [""] + [f"{names[k]}={small:g}" for k in retry]
        r2, n2 = probe_all(sub, vers)
        for j, k in enumerate(retry, start=1):
            if sub[j] is not None and j in r2 and all(j in n2[v] for v in vers):
                cards[k] = sub[j]
                ref[k] = r2[j]
                for v in vers:
                    new[v][k] = n2[v][j]
    base = {ver: diff(ref[0], new[ver][0]) for ver in vers}
    print("baseline (default card):", base, file=sys.stderr)
    lines = ["# BSIM4 parameters whose behaviour ngspice-39 computes the same in its 4.5 code and",
             "# in its " + "/".join(vers) + " code, measured by scripts/bsim4_version_probe.py",
             "# (one parameter moved off its default at a time; Id over a bias grid of a long and",
             "# a short device, and the gate's 1 GHz admittance). Baseline difference of the",
             "# default card: " + ", ".join(f"{v}: {base[v]:.2e}" for v in vers),
             "# name  value probed  worst relative difference over the versions"]
    same, differ, unrun = [], [], []
    for k in range(1, len(cards)):
        name = names[k]
        if cards[k] is None or any(k not in new[ver] for ver in vers):
            unrun.append(name)
            continue
        a = ref[k]
        if any(not math.isfinite(x) for x in a):
            unrun.append(name)
            continue
        ds = [diff(a, new[ver][k]) for ver in vers]
        ok = all(d <= 1.5 * base[ver] + 1e-6 for d, ver in zip(ds, vers))
        (same if ok else differ).append(name)
        print(f"{cards[k]}: {'same' if ok else 'DIFFERS'} {max(ds):.2e}", file=sys.stderr)
        if ok:
            lines.append(f"{name}  {cards[k].split('=')[1]}  {max(ds):.2e}")
    lines.append(f"# differ ({len(differ)}): " + " ".join(differ))
    lines.append(f"# not run by every code, or not finite ({len(unrun)}): " + " ".join(unrun))
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, args.out)
    print(f"same {len(same)}, differ {len(differ)}, not finite {len(unrun)}", file=sys.stderr)


if __name__ == "__main__":
    main()
