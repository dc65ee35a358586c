#!/usr/bin/env python3
"""Third-party yardstick: run decks nobody here wrote, as published, with ngspice and neurospice.

  python3 scripts/thirdparty.py DIR [--neurospice BIN] [--ngspice-timeout 10]
                                    [--timeout 120] [--list-skipped] [--markdown FILE]

Every *.cir, *.sp, *.net and *.spi file under DIR is a candidate. A deck is skipped
(and counted, with the reason) when

  - it uses an element or model neurospice does not plan to support (anything but
    R C L V I E F G H B D S X, Gummel-Poon BJTs (level 1), level-1 JFETs and MOSFETs of
    the levels in MOS_LEVELS: BJT and JFET levels other than 1, MESFET, transmission
    lines, coupled inductors, current-controlled switches, XSPICE A devices, CIDER
    numerical devices, OSDI/ADMS N devices, other MOSFET levels), found by reading the
    deck and the files it .includes / .lib's;
  - it asks for an analysis outside op, dc, tran and ac (noise, pz, sens, disto,
    pss, sp, tf);
  - ngspice itself fails on it (or runs no simulation: "no simulations run"), or needs
    more than --ngspice-timeout seconds in batch
    mode.

Each remaining deck is run twice by each simulator, in a fresh temporary copy of the
deck's directory (so include files and data files resolve as published):

  ngspice -b DECK              and   neurospice run DECK              (stdout, files)
  ngspice -b -r ng.raw DECK    and   neurospice run DECK --no-control -o ns.raw
                                                                   (the dot-card analyses)

and classified:

  pass          neurospice exits 0, and every number both produced (print tables, scalars
                and measures by name, files of the same name, raw vectors by name)
                agrees within 1e-3 relative (waveforms: 1e-3 of the range, in a 2e-4
                time window; absolute floors 1 uV / 1 pA), and every text line ngspice
                printed whose first word is a word of one of the deck's `echo` commands
                appears in order among ours with the same words and numbers, with at
                least one thing compared;
                "full" when neurospice also produced everything ngspice did
  mismatch      neurospice exits 0 but a number differs (the worst is shown)
  no-data       neurospice exits 0 but there was nothing to compare (e.g. plots only)
  fails-to-run  neurospice exits non-zero, crashes or times out (its first error line)

The table and a frequency list of neurospice's first error lines (file, line and column
removed) are printed; the list is what blocks most decks. The comparison rules are those
of scripts/regen_conformance.py (whose parsers this script imports).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import regen_conformance as rc  # noqa: E402

ROOT = rc.ROOT
EXTS = (".cir", ".sp", ".net", ".spi")

ELEMENT_BLOCKERS = {
    "z": "MESFET (Z)",
    "t": "transmission line (T)",
    "o": "lossy transmission line (O)",
    "u": "RC line (U)",
    "y": "transmission line (Y)",
    "p": "coupled transmission line (P)",
    "k": "coupled inductors (K)",
    "w": "current-controlled switch (W)",
    "a": "XSPICE code model (A)",
    "n": "OSDI/ADMS device (N)",
}
MODEL_BLOCKERS = {
    "nmf": "MESFET model",
    "pmf": "MESFET model",
    "ltra": "transmission-line model",
    "urc": "RC-line model",
    "txl": "transmission-line model",
    "cpl": "transmission-line model",
    "csw": "current-switch model",
    "numd": "CIDER device",
    "nbjt": "CIDER device",
    "numos": "CIDER device",
    "numd2": "CIDER device",
    "nbjt2": "CIDER device",
}
# MOSFET levels neurospice simulates: 1 (Shichman-Hodges), 2 and 3 (SPICE2 MOS2, MOS3), 14 and 54 (BSIM4)
MOS_LEVELS = (1.0, 2.0, 3.0, 14.0, 54.0)
# the fft, spec, fourier and linearize commands and the .four card run; psd does not
ANALYSIS_BLOCKERS = ("noise", "pz", "sens", "disto", "pss", "sp", "tf", "psd")


def logical_lines(text):
    out = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("+") and out:
            out[-1] = out[-1] + " " + line[1:]
        else:
            out.append(line)
    return out


def scan(path, seen=None, depth=0):
    """(reasons to skip, set of names of models used by M devices, {model: (type, level)})."""
    seen = seen if seen is not None else set()
    reasons, mos_models, models = [], set(), {}
    real = os.path.realpath(path)
    if real in seen or depth > 8:
        return reasons, mos_models, models
    seen.add(real)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return [f"cannot read {os.path.basename(path)}"], mos_models, models
    lines = logical_lines(text)
    in_control = False
    first = depth == 0
    for line in lines:
        if first:  # the title line
            first = False
            continue
        s = line.strip()
        if not s or s.startswith("*"):
            continue
        low = s.lower()
        toks = low.split()
        head = toks[0]
        if head == ".control":
            in_control = True
            continue
        if head == ".endc":
            in_control = False
            continue
        if in_control:
            if head in ANALYSIS_BLOCKERS:
                reasons.append(f"analysis {head}")
            continue
        if head.startswith("."):
            card = head[1:]
            if card in ANALYSIS_BLOCKERS:
                reasons.append(f"analysis .{card}")
            elif card in ("include", "inc", "lib") and len(toks) > 1:
                name = s.split()[1].strip("'\"")
                inc = os.path.join(os.path.dirname(path), name)
                if os.path.isfile(inc):
                    r, m, mod = scan(inc, seen, depth + 1)
                    reasons += r
                    mos_models |= m
                    models.update(mod)
            elif card == "model" and len(toks) > 2:
                mtype = re.split(r"[\s(]", toks[2])[0]
                level = re.search(r"\blevel\s*=\s*([\d.]+)", low)
                models[toks[1]] = (mtype, float(level.group(1)) if level else 1.0)
            continue
        letter = head[0]
        if letter in ELEMENT_BLOCKERS:
            reasons.append(ELEMENT_BLOCKERS[letter])
        elif letter == "m" and len(toks) > 5:
            mos_models.add(toks[5])
    return reasons, mos_models, models


def skip_reasons(path):
    reasons, mos_models, models = scan(path)
    for name, (mtype, level) in models.items():
        if mtype in MODEL_BLOCKERS:
            reasons.append(MODEL_BLOCKERS[mtype])
        # neurospice has the Gummel-Poon BJT (level 1) and the level-1 JFET
        if mtype in ("npn", "pnp") and level != 1.0:
            reasons.append(f"BJT level {level:g}")
        if mtype in ("njf", "pjf") and level != 1.0:
            reasons.append(f"JFET level {level:g}")
        if mtype in ("nmos", "pmos") and level not in MOS_LEVELS and name in mos_models:
            reasons.append(f"MOSFET level {level:g}")
    for m in mos_models:
        if m in models or "{" in m:
            continue
        # binned models: nch.1, nch.2, ... stand for nch
        bins = [v for k, v in models.items() if k.startswith(m + ".")]
        levels = sorted({lvl for t, lvl in bins if t in ("nmos", "pmos")})
        if levels and any(l not in MOS_LEVELS for l in levels):
            reasons.append("MOSFET level " + "/".join(f"{l:g}" for l in levels) + " (binned)")
        elif not bins:
            reasons.append("MOSFET model not found in the deck")
    return sorted(set(reasons))


def neurospice_binary(arg):
    if arg:
        return arg
    if os.environ.get("NEUROSPICE_BIN"):
        return os.environ["NEUROSPICE_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "neurospice")


def run(cmd, cwd, timeout):
    before = set(os.listdir(cwd))
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        code, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        code, out, err = None, e.stdout or b"", e.stderr or b""
    dt = time.monotonic() - t0
    files = rc.new_files(cwd, before)
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), files, dt


def in_copy(deck, fn):
    """Run fn(copied deck path, workdir) in a temporary copy of the deck's directory."""
    src = os.path.dirname(deck)
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "d")
        shutil.copytree(src, work, symlinks=False, ignore=shutil.ignore_patterns(".git"))
        return fn(os.path.join(work, os.path.basename(deck)), work)


NG_FAIL = re.compile(r"fatal error|simulation interrupted|aborted|timestep too small|"
                     r"no such function|can't find model|unknown subckt|too few nodes|"
                     r"could not find include file|singular matrix", re.I)


def first_error(stderr, stdout):
    for text in (stderr, stdout):
        for line in text.splitlines():
            if re.search(r"\berror\b|panicked", line, re.I):
                return line.strip()
    for line in stderr.splitlines():
        if line.strip() and not line.lower().startswith("warning"):
            return line.strip()
    return (stderr.strip().splitlines() or ["(no message)"])[0]


def normalise_error(line):
    line = re.sub(r"^(error|warning):\s*", "", line.strip(), flags=re.I)
    line = re.sub(r"\S+\.(cir|sp|net|spi|lib|inc|mod)\b(:\d+)*(:)?", "FILE:", line, flags=re.I)
    line = re.sub(r"\b(line|col(umn)?)\s+\d+", r"\1 N", line)
    return line.strip()


def echo_words_of(path):
    """Lower-cased words (quotes removed) of the deck's `echo` commands."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = logical_lines(f.read())
    except OSError:
        return set()
    words = set()
    for l in lines:
        t = l.strip().split()
        if t and t[0].lower() == "echo":
            words.update(w.strip("'\"").lower() for w in t[1:])
    return words


def compare(ng_out, ng_files, ng_raw, ns_out, ns_files, ns_raw, echo_words=frozenset()):
    """(compared, produced-by-ngspice, Report) over what both produced."""
    man = rc.Manifest()
    rep = rc.Report()
    gi = rc.item_keys(rc.parse_items(rc.filter_stdout(ng_out)))
    oi = rc.item_keys(rc.parse_items(rc.filter_stdout(ns_out)))
    compared = produced = 0
    missing = []
    # text (echo) lines: every line ngspice printed whose first word is a word of one of the
    # deck's `echo` commands must appear, in order, among ours with the same words (numbers
    # compared with the default tolerance); self-checking decks (ngspice's tests/regression)
    # report only through such lines. Other text (.plot's line-printer plots, page headers,
    # echoed random draws) is not compared.
    gtext = [it for it in rc.parse_items(rc.filter_stdout(ng_out))
             if it[0] == "text" and it[2].split() and it[2].split()[0].lower() in echo_words]
    otext = [it for it in rc.parse_items(rc.filter_stdout(ns_out)) if it[0] == "text"]
    words = lambda it: [v if k == "w" else "#" for k, v in it[1]]
    j = 0
    for g in gtext:
        produced += 1
        k = next((k for k in range(j, len(otext)) if words(otext[k]) == words(g)), None)
        if k is None:
            rep.problem(f"stdout: text line {g[2]!r} is not in our output")
            continue
        compared += 1
        rc.compare_items(rep, man, [g], [otext[k]], "stdout")
        j = k + 1
    for key, g in gi.items():
        if g[0] == "text":
            continue
        produced += 1
        o = oi.get(key)
        if o is None or o[0] != g[0]:
            missing.append(rc.describe(g).split(" = ")[0])
            continue
        compared += 1
        rc.compare_items(rep, man, [g], [o], "stdout")
    for name, data in ng_files.items():
        if name == "ng.raw":
            continue
        produced += 1
        if name not in ns_files:
            missing.append(f"file {name}")
            continue
        compared += 1
        rc.compare_file(rep, man, name, False, data, ns_files[name])
    if ng_raw is not None:
        try:
            gplots = rc.parse_raw(ng_raw)
        except (ValueError, KeyError):
            gplots = []
        try:
            oplots = rc.parse_raw(ns_raw) if ns_raw is not None else []
        except (ValueError, KeyError):
            oplots = []
        for gp in gplots:
            op = next((p for p in oplots if p["plotname"].lower() == gp["plotname"].lower()), None)
            for j, name in enumerate(gp["names"]):
                if j == 0:
                    continue
                if "#" in name or "_int" in name:
                    continue  # ngspice-internal nodes of devices (d1#body, g12_int1)
                if name.startswith("i(") and name[2:3] not in ("v", "l"):
                    continue  # branch currents of B/E/H sources: not part of neurospice's output
                produced += 1
                if op is None or name not in op["names"] or op["names"][0] != gp["names"][0]:
                    missing.append(f"{gp['plotname'].split()[0].lower()} {name}")
                    continue
                compared += 1
                k = op["names"].index(name)
                # a waveform's tolerance scales with its range; a transient of one point
                # (ngspice -b -r stops a deck with `.option autostop` after its first point)
                # has none, so it is compared as a point, relative to its value
                wave = gp["names"][0] == "time" and len(gp["columns"][0]) > 1
                gx, ox = gp["columns"][0], op["columns"][0]
                if gp["names"][0] == "time" and not wave:
                    ox = [ox[0]] if ox else ox
                    oc = [op["columns"][k][0]] if op["columns"][k] else []
                else:
                    oc = op["columns"][k]
                rc.compare_columns(rep, man, [gp["names"][0], name], [gx, gp["columns"][j]],
                                   [ox, oc], wave, f" of raw {gp['plotname']}")
    return compared, produced, missing, rep


def control_alters(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any(l.strip().lower().split()[:1] in (["alter"], ["altermod"]) for l in f)
    except OSError:
        return False


def has_control(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any(l.strip().lower().startswith(".control") for l in f)
    except OSError:
        return False


def has_dot_analysis(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = logical_lines(f.read())
    except OSError:
        return False
    in_control = False
    for l in lines[1:]:
        t = l.strip().lower().split()
        if not t:
            continue
        if t[0] == ".control":
            in_control = True
        elif t[0] == ".endc":
            in_control = False
        elif not in_control and t[0] in (".tran", ".dc", ".ac", ".op"):
            return True
    return False


def evaluate(deck, args, ns_bin):
    """Result dict for one deck."""
    reasons = skip_reasons(deck)
    if reasons:
        return {"status": "skipped", "why": "; ".join(reasons)}

    ng = in_copy(deck, lambda d, w: run(["ngspice", "-b", d], w, args.ngspice_timeout))
    code, out, err, files, dt = ng
    if code is None:
        return {"status": "skipped", "why": f"ngspice needs more than {args.ngspice_timeout:g} s"}
    bad = [l for l in (err + out).splitlines() if NG_FAIL.search(l)]
    # a deck without analyses anywhere: ngspice runs nothing ("no simulations run")
    if "no simulations run" in (err + out) and not has_control(deck) and not has_dot_analysis(deck):
        bad.append("no simulations run")
    if bad:
        return {"status": "skipped", "why": "ngspice fails: " + bad[0].strip()[:80]}
    # the raw of the dot-card analyses is compared unless the control block changes the
    # circuit they run on afterwards (alter, altermod): ngspice runs them after the block
    dot = has_dot_analysis(deck) and not control_alters(deck)
    ng_raw = None
    if dot:
        r = in_copy(deck, lambda d, w: run(["ngspice", "-b", "-r", "ng.raw", d], w, args.ngspice_timeout))
        ng_raw = r[3].get("ng.raw")

    ns = in_copy(deck, lambda d, w: run([ns_bin, "run", d], w, args.timeout))
    ncode, nout, nerr, nfiles, ndt = ns
    result = {"ng_time": dt, "ns_time": ndt}
    if ncode != 0:
        why = "timed out" if ncode is None else first_error(nerr, nout)
        if ncode is not None and ncode > 1:
            why = f"exit {ncode}: {why}"
        result.update(status="fails-to-run", why=why)
        return result
    ns_raw = None
    if dot:
        # the dot-card analyses only (ngspice's -r raw holds those): without the block
        r = in_copy(deck, lambda d, w: run([ns_bin, "run", d, "--no-control", "-o", "ns.raw"], w,
                                           args.timeout))
        ns_raw = r[3].get("ns.raw") if r[0] == 0 else None
    nfiles = {k: v for k, v in nfiles.items() if k != "ns.raw"}
    compared, produced, missing, rep = compare(out, files, ng_raw, nout, nfiles, ns_raw,
                                               echo_words_of(deck))
    fails = rep.failures()
    if compared == 0:
        result.update(status="no-data", why=f"nothing to compare (ngspice produced {produced})")
    elif fails:
        result.update(status="mismatch", why=fails[0][:160], compared=compared, produced=produced)
    else:
        full = "full" if compared == produced else "partial"
        lacking = f"; lacks {', '.join(missing[:4])}" if missing else ""
        result.update(status="pass", why=f"{full}: {compared}/{produced} compared{lacking}",
                      compared=compared, produced=produced)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--neurospice", help="binary (default: $NEUROSPICE_BIN, else "
                    "$CARGO_TARGET_DIR/release/neurospice or target/release/neurospice)")
    ap.add_argument("--ngspice-timeout", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=120.0, help="neurospice time limit per run")
    ap.add_argument("--list-skipped", action="store_true")
    ap.add_argument("--markdown", help="also write the table as markdown to this file")
    args = ap.parse_args()
    ns_bin = neurospice_binary(args.neurospice)
    if not os.access(ns_bin, os.X_OK):
        sys.exit(f"no neurospice binary at {ns_bin} (build it or pass --neurospice)")

    decks = []
    for base, dirs, names in os.walk(args.dir):
        dirs.sort()
        for n in sorted(names):
            if n.lower().endswith(EXTS):
                decks.append(os.path.join(base, n))
    results = {}
    for d in decks:
        rel = os.path.relpath(d, args.dir)
        results[rel] = evaluate(d, args, ns_bin)
        r = results[rel]
        if r["status"] != "skipped" or args.list_skipped:
            print(f"{r['status']:<13} {rel:<55} {r['why'][:110]}", flush=True)

    run_ = {k: v for k, v in results.items() if v["status"] != "skipped"}
    counts = Counter(v["status"] for v in run_.values())
    full = sum(1 for v in run_.values() if v["status"] == "pass" and v["why"].startswith("full"))
    skipped = Counter(v["why"].split(":")[0] if v["why"].startswith("ngspice") else v["why"]
                      for v in results.values() if v["status"] == "skipped")
    print()
    print(f"{len(decks)} decks: {len(decks) - len(run_)} skipped, {len(run_)} run")
    for s in ("pass", "mismatch", "no-data", "fails-to-run"):
        extra = f" ({full} full)" if s == "pass" else ""
        print(f"  {s:<13} {counts.get(s, 0)}{extra}")
    print("\nskipped, by reason:")
    for why, n in skipped.most_common():
        print(f"  {n:>3}  {why}")
    errors = Counter(normalise_error(v["why"]) for v in run_.values() if v["status"] == "fails-to-run")
    print("\nneurospice's first error, by frequency (what blocks most decks):")
    for why, n in errors.most_common():
        print(f"  {n:>3}  {why}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| deck | status | detail |\n|---|---|---|\n")
            for rel, v in results.items():
                if v["status"] != "skipped":
                    detail = v["why"].replace("|", "\\|")[:140]
                    f.write(f"| {rel} | {v['status']} | {detail} |\n")


if __name__ == "__main__":
    main()
