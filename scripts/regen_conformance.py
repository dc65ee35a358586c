#!/usr/bin/env python3
"""Regenerate the ngspice-39 reference outputs of the conformance suite.

For every deck tests/conformance/<deck>.cir this runs `ngspice -b` on the deck,
unchanged, with a fresh temporary directory as the working directory (so
`wrdata`, `write` and `print ... > file` write there, and `.include` paths
resolve relative to the deck, as ngspice does), and stores what ngspice
produced under tests/conformance/golden/<deck>/:

  stdout.txt   what ngspice printed, with its own chatter removed (see NOISE)
  stderr.txt   ngspice's warnings and errors (for reading only, never compared)
  <file>       every file the deck's manifest declares with `*@ file NAME`,
               as ngspice wrote it (raw files: only the Date: line is blanked,
               so regenerating gives identical bytes)

and tests/conformance/golden/NGSPICE_VERSION. The decks are never modified.

Usage:
  python3 scripts/regen_conformance.py [DECK...]     regenerate (all or some)
  python3 scripts/regen_conformance.py --check [DECK...]
      rerun ngspice with reltol/10 (and every tran's TMAX at a quarter of what
      it was) and report how far ngspice itself moves from the committed
      goldens, in units of the deck's tolerance. A tolerance is only
      meaningful if this is well below 1.

The per-deck manifest (lines beginning with `*@` in the deck) and the
comparison rules are described in docs/conformance.md; tests/conformance.rs
implements the same rules in Rust. This file also serves scripts/thirdparty.py
(parsing ngspice's stdout, wrdata and raw files, and comparing them).

Plain python3 (no numpy), so it runs wherever ngspice does.
"""

import bisect
import fnmatch
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(ROOT, "tests", "conformance")
GOLDEN = os.path.join(SUITE, "golden")
TIMEOUT = 300

# ---------------------------------------------------------------------------
# Manifest


class Tol:
    def __init__(self, pattern, rel, abs_):
        self.pattern, self.rel, self.abs = pattern, rel, abs_


# Built-in defaults, consulted after the deck's own `*@ tol` lines:
# voltages down to ngspice's VNTOL (1 uV), everything else (currents, times,
# plain numbers) down to ABSTOL (1 pA); 0.1 % relative.
DEFAULT_TOLS = [
    Tol("v(*", 1e-3, 1e-6),
    Tol("vdb(*", 1e-3, 1e-6),
    Tol("vp(*", 1e-3, 1e-6),
    Tol("vm(*", 1e-3, 1e-6),
    Tol("vr(*", 1e-3, 1e-6),
    Tol("vi(*", 1e-3, 1e-6),
    Tol("*", 1e-3, 1e-12),
]
DEFAULT_WINDOW = 2e-4


class Manifest:
    def __init__(self):
        self.files = []  # (name, x_is_time)
        self.tols = []
        self.window = DEFAULT_WINDOW
        self.exit = 0
        self.why = []
        self.count_only = []  # quantities compared by count, not value (random draws, phases)

    def is_count_only(self, name):
        return any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in self.count_only)

    def tol(self, name):
        """The first tolerance whose pattern matches `name` (case-insensitive)."""
        n = name.lower()
        for t in self.tols + DEFAULT_TOLS:
            if fnmatch.fnmatchcase(n, t.pattern.lower()):
                return t
        raise AssertionError("the default tolerance list ends with '*'")


def parse_manifest(text, where="deck"):
    m = Manifest()
    for no, line in enumerate(text.splitlines(), 1):
        if not line.startswith("*@"):
            continue
        toks = line[2:].split()
        if not toks:
            continue
        key, args = toks[0].lower(), toks[1:]
        try:
            if key == "file":
                extra = [a.lower() for a in args[1:]]
                if any(a != "x=time" for a in extra):
                    raise ValueError("expected `*@ file NAME [x=time]`")
                m.files.append((args[0], "x=time" in extra))
            elif key == "tol":
                kv = dict(a.split("=", 1) for a in args[1:3])
                m.tols.append(Tol(args[0], float(kv["rel"]), float(kv["abs"])))
            elif key == "window":
                m.window = float(args[0])
            elif key == "exit":
                m.exit = int(args[0])
            elif key == "count-only":
                if not args:
                    raise ValueError("expected `*@ count-only PATTERN...`")
                m.count_only += args
            elif key == "why":
                m.why.append(" ".join(args))
            else:
                raise ValueError(f"unknown manifest key {key!r}")
        except (ValueError, KeyError, IndexError) as e:
            raise SystemExit(f"{where}:{no}: bad manifest line {line!r}: {e}")
    return m


# ---------------------------------------------------------------------------
# ngspice's stdout: noise filter and items

NOISE = [
    r"^\s*$",
    "^\f",
    r"^-{10,}\s*$",
    r"^Note: ",
    r"^Warning: ",
    r"^warning: ",
    r"^Circuit: ",
    r"^Doing analysis at TEMP",
    r"^No\. of Data Rows : ",
    r"^\s*Measurements for .*Analysis\s*$",
    r"^ngspice-\d+ done\s*$",
    r"^Reset re-loads circuit ",
    r"^Reducing trtol to ",
    r"^Using transient initial conditions",
    r"^Total analysis time \(seconds\)",
    r"^Total elapsed time \(seconds\)",
    r"^Total DRAM available",
    r"^DRAM currently available",
    r"^Maximum ngspice program size",
    r"^Current ngspice program size",
    r"^Shared ngspice pages",
    r"^Text \(code\) pages",
    r"^Stack = ",
    r"^Library pages",
    r'^(binary|ASCII) raw file "',
]
NOISE_RE = re.compile("|".join(f"(?:{p})" for p in NOISE))
# The second line of a print table's page header: the plot name and the date.
PAGE_HEADER_RE = re.compile(
    r"^\s*(Transient Analysis|DC transfer characteristic|AC Analysis|Operating Point"
    r"|Noise Spectral Density Curves|Integrated Noise|Transfer Function)\b"
    r"|\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\s+(?:[A-Z]{3,4}\s+)?\d{4}\s*$"
)
DASHES_RE = re.compile(r"^-{10,}\s*$")


def filter_stdout(text):
    """Lines of ngspice (or neurospice) stdout that carry what the deck asked for.

    Drops ngspice's chatter (banner notes, "Doing analysis", row counts, page
    headers of print tables, the initial transient solution, timing and memory
    statistics). Applied to both sides, so neither has to print the chatter.
    """
    out = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.strip() == "Initial Transient Solution":
            # header, dashes, blank, "Node Voltage", dashes, rows, blank
            i += 1
            seen_rows = False
            while i < len(lines):
                s = lines[i].strip()
                if s.startswith("Node") or s.startswith("----") or s.startswith("Source"):
                    i += 1
                    continue
                if not s:
                    if seen_rows:
                        break
                    i += 1
                    continue
                seen_rows = True
                i += 1
            continue
        if DASHES_RE.match(line) and i + 1 < len(lines) and lines[i + 1].startswith("Index"):
            # a print table's page header (title, then plot name and date) precedes this
            if out and PAGE_HEADER_RE.search(out[-1]):
                out.pop()
                if out:
                    out.pop()
        if not NOISE_RE.search(line):
            out.append(line)
        i += 1
    return out


NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
NUM_RE = re.compile(NUM)
SCALAR_RE = re.compile(rf"^\s*(?P<name>[^=\s][^=]*?)\s*=\s*(?P<rest>({NUM})(\s*,\s*{NUM})?(\s.*)?)$")
EXTRA_RE = re.compile(rf"(\w+)\s*=\s*({NUM})")
FAILED_NG_RE = re.compile(r"^\s*\.?meas\w*\s+\w+\s+(\S+)\s.*failed!\s*$", re.I)
FAILED_NS_RE = re.compile(r"^\s*(\S+)\s*=\s*failed\b", re.I)
INDEX_RE = re.compile(r"^Index\s+(.*)$")
ROW_RE = re.compile(r"^(\d+)\t(.*)$")


def split_names(text):
    """Column names of a print-table header; names may hold spaces inside ()."""
    names, cur, depth = [], "", 0
    for tok in text.split():
        cur = f"{cur} {tok}" if cur else tok
        depth += tok.count("(") - tok.count(")")
        if depth <= 0:
            names.append(cur.lower())
            cur, depth = "", 0
    if cur:
        names.append(cur.lower())
    return names


def parse_value(tok):
    """A number or a complex 're,im' pair (a tuple)."""
    if "," in tok:
        re_, im = tok.split(",", 1)
        return (float(re_), float(im))
    return float(tok)


def split_row(text):
    """Values of one print-table row; complex values print as 're,<tab>im'."""
    toks = text.split()
    vals, i = [], 0
    while i < len(toks):
        t = toks[i]
        if t.endswith(",") and i + 1 < len(toks):
            vals.append((float(t[:-1]), float(toks[i + 1])))
            i += 2
        else:
            vals.append(parse_value(t))
            i += 1
    return vals


def text_tokens(line):
    """A text line as alternating words and numbers: ('w', str) / ('n', float)."""
    out, pos = [], 0
    for m in NUM_RE.finditer(line):
        word = line[pos : m.start()].split()
        if word:
            out.append(("w", " ".join(word)))
        out.append(("n", float(m.group(0))))
        pos = m.end()
    word = line[pos:].split()
    if word:
        out.append(("w", " ".join(word)))
    return out


def parse_items(lines):
    """Items of filtered stdout: tables, scalars, failed measures, text lines.

    table:  ('table', names, rows)   names[0] is the scale; rows are lists of values
    scalar: ('scalar', name, value, extras)   extras: {key: number}
    failed: ('failed', name)
    text:   ('text', tokens, line)
    """
    items = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = INDEX_RE.match(line)
        if m:
            names = split_names(m.group(1))
            rows, idx = [], []
            i += 1
            while i < len(lines):
                r = ROW_RE.match(lines[i])
                if r:
                    try:
                        rows.append(split_row(r.group(2)))
                        idx.append(int(r.group(1)))
                        i += 1
                        continue
                    except ValueError:
                        break
                m2 = INDEX_RE.match(lines[i])
                # a page break repeats the header and continues the index
                if m2 and split_names(m2.group(1)) == names and i + 1 < len(lines):
                    r2 = ROW_RE.match(lines[i + 1])
                    if r2 and idx and int(r2.group(1)) == idx[-1] + 1:
                        i += 1
                        continue
                break
            items.append(("table", names, rows))
            continue
        f = FAILED_NG_RE.match(line) or FAILED_NS_RE.match(line)
        if f:
            items.append(("failed", f.group(1).lower()))
            i += 1
            continue
        s = SCALAR_RE.match(line)
        if s:
            rest = s.group("rest")
            first = re.match(rf"({NUM})(\s*,\s*({NUM}))?", rest)
            value = float(first.group(1))
            if first.group(3) is not None:
                value = (value, float(first.group(3)))
            extras = {k.lower(): float(v) for k, v in EXTRA_RE.findall(rest[first.end() :])}
            items.append(("scalar", s.group("name").strip().lower(), value, extras))
            i += 1
            continue
        items.append(("text", text_tokens(line), line.strip()))
        i += 1
    return items


def item_keys(items):
    """Items keyed by (kind, name, occurrence), so that order only matters among
    items of the same name (ngspice prints failed measures before good ones)."""
    seen, keyed = {}, {}
    for it in items:
        if it[0] == "table":
            base = ("table", " ".join(it[1]))
        elif it[0] == "text":
            base = ("text", "")
        else:
            base = (it[0] if it[0] != "failed" else "scalar", it[1])
        k = seen.get(base, 0)
        seen[base] = k + 1
        keyed[base + (k,)] = it
    return keyed


# ---------------------------------------------------------------------------
# Files: wrdata tables and raw files


def parse_raw(data):
    """Plots of an ngspice raw file (binary or ASCII): list of dicts."""
    plots, pos = [], 0
    while pos < len(data):
        header = {}
        variables = []
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                raise ValueError("raw file: header does not end")
            line = data[pos:nl].decode("latin-1")
            pos = nl + 1
            if line.startswith("Binary:") or line.startswith("Values:"):
                kind = line[:-1]
                break
            if line.startswith("\t") or (line[:1].isdigit() and header.get("_vars")):
                parts = line.split()
                variables.append((parts[1].lower(), parts[2].lower() if len(parts) > 2 else ""))
                continue
            if ":" in line:
                k, v = line.split(":", 1)
                header[k.strip().lower()] = v.strip()
                if k.strip().lower() == "variables":
                    header["_vars"] = True
        nvar = int(header["no. variables"])
        npts = int(header["no. points"])
        cplx = "complex" in header.get("flags", "").lower()
        if len(variables) != nvar:
            raise ValueError(f"raw file: {len(variables)} variables listed, {nvar} declared")
        cols = [[] for _ in range(nvar)]
        if kind == "Binary":
            width = 16 if cplx else 8
            need = npts * nvar * width
            chunk = data[pos : pos + need]
            if len(chunk) != need:
                raise ValueError("raw file: binary data truncated")
            vals = struct.unpack(f"<{npts * nvar * (2 if cplx else 1)}d", chunk)
            pos += need
            for p in range(npts):
                for v in range(nvar):
                    if cplx:
                        k = 2 * (p * nvar + v)
                        cols[v].append((vals[k], vals[k + 1]))
                    else:
                        cols[v].append(vals[p * nvar + v])
        else:
            toks = []
            while len(toks) < npts * (nvar + 1):
                nl = data.find(b"\n", pos)
                if nl < 0:
                    nl = len(data)
                line = data[pos:nl].decode("latin-1")
                if line.startswith("Title:"):
                    break
                pos = nl + 1
                toks += line.split()
                if nl == len(data):
                    break
            if len(toks) < npts * (nvar + 1):
                raise ValueError("raw file: ASCII data truncated")
            for p in range(npts):
                row = toks[p * (nvar + 1) + 1 : (p + 1) * (nvar + 1)]
                for v in range(nvar):
                    cols[v].append(parse_value(row[v]))
            # skip blank lines before a following plot
            while pos < len(data) and data[pos : pos + 1] in (b"\n", b" ", b"\t", b"\r"):
                pos += 1
        plots.append(
            {
                "title": header.get("title", ""),
                "plotname": header.get("plotname", ""),
                "complex": cplx,
                "names": [n for n, _ in variables],
                "columns": cols,
            }
        )
    return plots


def parse_wrdata(text):
    """(names or None, columns) of a wrdata file: whitespace-separated numbers,
    an optional header line of names (set wr_vecnames)."""
    lines = [l.split() for l in text.splitlines() if l.strip()]
    names = None
    if lines and not NUM_RE.fullmatch(lines[0][0]):
        names = [n.lower() for n in lines[0]]
        lines = lines[1:]
    ncol = len(names) if names else (len(lines[0]) if lines else 0)
    cols = [[] for _ in range(ncol)]
    for n, row in enumerate(lines):
        if len(row) != ncol:
            raise ValueError(f"wrdata row {n + 1} has {len(row)} fields, expected {ncol}")
        for c, t in zip(cols, row):
            c.append(float(t))
    return names, cols


def file_kind(data):
    if data.startswith(b"Title:"):
        return "raw"
    try:
        text = data.decode("utf-8")
        # a print table redirected to a file (`print v(a) > f`) is read like stdout
        if any(INDEX_RE.match(l) for l in text.splitlines()):
            return "text"
        names, cols = parse_wrdata(text)
    except (UnicodeDecodeError, ValueError):
        return "text"
    return "wrdata" if cols and cols[0] else "text"


# ---------------------------------------------------------------------------
# Comparison (the same rules as tests/conformance.rs)


def mag(v):
    return math.hypot(v[0], v[1]) if isinstance(v, tuple) else abs(v)


def diff(a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        a = a if isinstance(a, tuple) else (a, 0.0)
        b = b if isinstance(b, tuple) else (b, 0.0)
        return math.hypot(a[0] - b[0], a[1] - b[1])
    return abs(a - b)


def window_error(xs, ys, x, v, dx):
    """Distance from v to the range of the piecewise-linear (xs, ys) over [x-dx, x+dx]."""
    lo_x, hi_x = x - dx, x + dx
    vals = []
    # segments [xs[i], xs[i+1]] that can meet the window (xs is non-decreasing)
    first = max(bisect.bisect_left(xs, lo_x) - 1, 0)
    last = min(bisect.bisect_right(xs, hi_x), len(xs) - 1)
    for i in range(first, last):
        a, b = xs[i], xs[i + 1]
        if b < lo_x or a > hi_x or b <= a:
            continue
        for px in (max(a, lo_x), min(b, hi_x)):
            vals.append(ys[i] + (ys[i + 1] - ys[i]) * (px - a) / (b - a))
    if len(xs) == 1 and abs(xs[0] - x) <= dx:
        vals.append(ys[0])
    if not vals:
        return math.inf
    return max(min(vals) - v, v - max(vals), 0.0)


class Report:
    """Worst deviation per quantity, in units of its tolerance, plus hard failures."""

    def __init__(self):
        self.worst = {}  # name -> (ratio, detail)
        self.problems = []

    def value(self, name, ratio, detail):
        if name not in self.worst or ratio > self.worst[name][0]:
            self.worst[name] = (ratio, detail)

    def problem(self, text):
        self.problems.append(text)

    def failures(self):
        bad = [f"{n}: {d} ({r:.3g} x tolerance)" for n, (r, d) in self.worst.items() if not r <= 1.0]
        return self.problems + bad


def compare_wave(rep, man, name, gx, gy, ox, oy):
    """A transient vector: ngspice's points against our interpolated waveform."""
    if any(isinstance(v, tuple) for v in gy):
        rep.problem(f"{name}: complex values on a time scale")
        return
    t = man.tol(name)
    span = (max(gx) - min(gx)) if gx else 0.0
    dx = man.window * span
    tol = t.abs + t.rel * (max(gy) - min(gy)) if gy else t.abs
    if not ox:
        rep.problem(f"{name}: no points")
        return
    if any(b < a for a, b in zip(ox, ox[1:])):
        rep.problem(f"{name}: our time points do not increase")
        return
    if ox[0] > gx[0] + dx or ox[-1] < gx[-1] - dx:
        rep.problem(
            f"{name}: time range [{ox[0]:.6g}, {ox[-1]:.6g}] does not cover ngspice's "
            f"[{gx[0]:.6g}, {gx[-1]:.6g}]"
        )
        return
    for x, v in zip(gx, gy):
        e = window_error(ox, oy, x, v, dx)
        rep.value(name, e / tol if tol > 0 else (0 if e == 0 else math.inf),
                  f"at time {x:.6g}: ngspice {v:.7g}, ours off by {e:.3g} (tol {tol:.3g})")


def compare_points(rep, man, name, gvals, ovals, where=""):
    """A vector on a fixed grid (dc sweep, ac frequencies, op, let vectors)."""
    t = man.tol(name)
    if len(gvals) != len(ovals):
        rep.problem(f"{name}{where}: {len(ovals)} values, ngspice has {len(gvals)}")
        return
    for k, (g, o) in enumerate(zip(gvals, ovals)):
        tol = t.abs + t.rel * mag(g)
        e = diff(g, o)
        rep.value(name, e / tol if tol > 0 else (0 if e == 0 else math.inf),
                  f"point {k}{where}: ngspice {fmt(g)}, ours {fmt(o)}")


def fmt(v):
    if isinstance(v, tuple):
        return f"({v[0]:.7g},{v[1]:.7g})"
    return f"{v:.7g}"


def compare_columns(rep, man, names, gcols, ocols, scale_is_time, label):
    """Named columns; column 0 is the scale."""
    if scale_is_time:
        for j in range(1, len(names)):
            compare_wave(rep, man, names[j], gcols[0], gcols[j], ocols[0], ocols[j])
    else:
        for j in range(len(names)):
            compare_points(rep, man, names[j], gcols[j], ocols[j], label)


def compare_items(rep, man, gitems, oitems, label="stdout"):
    g, o = item_keys(gitems), item_keys(oitems)
    for key, gi in g.items():
        oi = o.get(key)
        what = f"{label}: {describe(gi)}"
        if oi is None:
            rep.problem(f"{what}: missing from our output")
            continue
        if gi[0] != oi[0]:
            rep.problem(f"{what}: ours is {describe(oi)}")
            continue
        if gi[0] == "table":
            names = gi[1]
            if any(len(r) != len(names) for r in gi[2] + oi[2]):
                rep.problem(f"{what}: ragged rows (vectors of different lengths)")
                continue
            gcols = [[r[j] for r in gi[2]] for j in range(len(names))]
            ocols = [[r[j] for r in oi[2]] for j in range(len(names))]
            compare_columns(rep, man, names, gcols, ocols, names[0] == "time", f" of {label} table")
        elif gi[0] == "scalar":
            name = gi[1]
            if man.is_count_only(name):
                continue
            compare_points(rep, man, name, [gi[2]], [oi[2]], f" ({label})")
            # targ=/trig= are measured instants; at=/from=/to= only echo the time
            # points ngspice happened to sample, so they are not compared
            for k, v in gi[3].items():
                if k in ("targ", "trig") and k in oi[3]:
                    compare_points(rep, man, name, [v], [oi[3][k]], f" {k}= ({label})")
        elif gi[0] == "text":
            gt, ot = gi[1], oi[1]
            if [k for k, _ in gt] != [k for k, _ in ot] or any(
                a[0] == "w" and a[1] != b[1] for a, b in zip(gt, ot)
            ):
                rep.problem(f"{label}: text line {gi[2]!r}: ours {oi[2]!r}")
                continue
            nums_g = [v for k, v in gt if k == "n"]
            nums_o = [v for k, v in ot if k == "n"]
            compare_points(rep, man, "text", nums_g, nums_o, f" in {gi[2]!r}")
    for key, oi in o.items():
        # ngspice reports a failed .meas card on stderr, a failed `meas` command on stdout:
        # a failure we print where ngspice printed nothing is not held against us
        if key not in g and oi[0] != "failed":
            rep.problem(f"{label}: unexpected {describe(oi)}")


def describe(it):
    if it[0] == "table":
        return f"table [{', '.join(it[1])}] ({len(it[2])} rows)"
    if it[0] == "scalar":
        return f"{it[1]} = {fmt(it[2])}"
    if it[0] == "failed":
        return f"failed measure {it[1]}"
    return f"text {it[2]!r}"


def compare_file(rep, man, name, x_time, gdata, odata):
    kind = file_kind(gdata)
    if kind == "raw":
        try:
            gp, op = parse_raw(gdata), parse_raw(odata)
        except (ValueError, KeyError, struct.error) as e:
            rep.problem(f"{name}: cannot read our raw file: {e}")
            return
        if len(gp) != len(op):
            rep.problem(f"{name}: {len(op)} plots, ngspice wrote {len(gp)}")
            return
        for k, (a, b) in enumerate(zip(gp, op)):
            for field in ("title", "plotname"):
                if a[field].lower() != b[field].lower():
                    rep.problem(f"{name} plot {k}: {field} {b[field]!r}, ngspice {a[field]!r}")
            if a["names"] != b["names"]:
                rep.problem(f"{name} plot {k}: vectors {b['names']}, ngspice {a['names']}")
                continue
            compare_columns(rep, man, a["names"], a["columns"], b["columns"],
                            a["names"][0] == "time", f" of {name}")
    elif kind == "wrdata":
        try:
            gn, gc = parse_wrdata(gdata.decode())
            on, oc = parse_wrdata(odata.decode("utf-8", "replace"))
        except ValueError as e:
            rep.problem(f"{name}: {e}")
            return
        if gn != on or len(gc) != len(oc):
            rep.problem(f"{name}: columns {on or len(oc)}, ngspice {gn or len(gc)}")
            return
        names = gn or [f"{name}[{j}]" for j in range(len(gc))]
        x_time = x_time or (gn is not None and gn[0] == "time")
        if x_time:
            # each vector is preceded by its own copy of the scale unless wr_singlescale
            for j in range(1, len(gc)):
                if gn is not None and gn[j] == gn[0]:
                    continue
                if gn is None and gc[j] == gc[0]:
                    continue
                compare_wave(rep, man, names[j], gc[0], gc[j], oc[0], oc[j])
        else:
            for j in range(len(gc)):
                compare_points(rep, man, names[j], gc[j], oc[j], f" of {name}")
    else:
        gi = parse_items(filter_stdout(gdata.decode("utf-8", "replace")))
        oi = parse_items(filter_stdout(odata.decode("utf-8", "replace")))
        compare_items(rep, man, gi, oi, name)


# ---------------------------------------------------------------------------
# Running ngspice


def ngspice_version():
    out = subprocess.run(["ngspice", "-v"], capture_output=True, text=True).stdout
    return next(l for l in out.splitlines() if "ngspice-" in l).strip("* \n")


def new_files(workdir, before):
    """{name: bytes} of the files in workdir that are not in `before`."""
    files = {}
    for f in sorted(set(os.listdir(workdir)) - before):
        p = os.path.join(workdir, f)
        if os.path.isfile(p):
            with open(p, "rb") as fh:
                files[f] = fh.read()
    return files


def run_ngspice(deck, workdir, timeout=TIMEOUT, extra_args=()):
    """Runs `ngspice -b deck` in workdir; returns (rc, stdout, stderr, {file: bytes})."""
    before = set(os.listdir(workdir))
    proc = subprocess.run(
        ["ngspice", "-b", *extra_args, deck],
        cwd=workdir,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    files = new_files(workdir, before)
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        files,
    )


def normalise_file(data):
    """Raw files carry the date they were written; blank it so goldens are stable."""
    if data.startswith(b"Title:"):
        out, pos = [], 0
        while True:
            nl = data.find(b"\n", pos)
            line = data[pos : nl + 1]
            if line.startswith(b"Date:"):
                line = b"Date: (removed by regen_conformance.py)\n"
            out.append(line)
            pos = nl + 1
            if line.startswith(b"Binary:") or line.startswith(b"Values:") or nl < 0:
                break
        return b"".join(out) + data[pos:]
    if file_kind(data) == "text":
        text = data.decode("utf-8", "replace")
        return ("\n".join(filter_stdout(text)) + "\n").encode()
    return data


def decks(only):
    names = sorted(f[:-4] for f in os.listdir(SUITE) if f.endswith(".cir"))
    if only:
        missing = [o for o in only if o not in names]
        if missing:
            raise SystemExit(f"no such deck: {', '.join(missing)}")
        names = [n for n in names if n in only]
    return names


def tightened(text):
    """The deck with reltol/10 and each tran's TMAX at a quarter (for --check)."""
    reltol = 1e-3
    for line in text.splitlines():
        m = re.search(r"\breltol\s*=\s*(\S+)", line, re.I)
        if m and re.match(r"^\s*\.?options?\b", line, re.I):
            reltol = parse_number(m.group(1))
    out = []
    for line in text.splitlines():
        toks = line.split()
        if toks and toks[0].lower() in (".tran", "tran"):
            nums = [t for t in toks[1:] if t.lower() != "uic"]
            uic = " uic" if len(nums) != len(toks) - 1 else ""
            tstep, tstop = parse_number(nums[0]), parse_number(nums[1])
            tstart = parse_number(nums[2]) if len(nums) > 2 else 0.0
            tmax = parse_number(nums[3]) if len(nums) > 3 else min(tstep, (tstop - tstart) / 50)
            lead = line[: len(line) - len(line.lstrip())]
            line = f"{lead}{toks[0]} {nums[0]} {nums[1]} {tstart!r} {tmax / 4!r}{uic}"
        out.append(line)
    card = f".options reltol={reltol / 10!r}"
    for i in range(len(out) - 1, 0, -1):
        if out[i].strip().lower() == ".end":
            out.insert(i, card)
            break
    else:
        out.append(card)
    # a control-block `option reltol=` would override the card: tighten it too
    out = [
        re.sub(r"(\breltol\s*=\s*)(\S+)", lambda m: f"{m.group(1)}{reltol / 10!r}", l, flags=re.I)
        if re.match(r"^\s*option\b", l, re.I)
        else l
        for l in out
    ]
    return "\n".join(out) + "\n"


SI = [("meg", 1e6), ("mil", 25.4e-6), ("f", 1e-15), ("p", 1e-12), ("n", 1e-9), ("u", 1e-6),
      ("m", 1e-3), ("k", 1e3), ("g", 1e9), ("t", 1e12)]


def parse_number(tok):
    tok = tok.replace("\u00b5", "u")
    m = re.match(rf"^({NUM})([a-zA-Z]*)$", tok)
    if not m:
        raise ValueError(f"not a number: {tok!r}")
    value, suffix = float(m.group(1)), m.group(2).lower()
    for name, scale in SI:
        if suffix.startswith(name):
            return value * scale
    return value


def simulate(name, text=None):
    """ngspice's outputs for one deck: (rc, stdout, stderr, files)."""
    path = os.path.join(SUITE, name + ".cir")
    with tempfile.TemporaryDirectory() as work:
        if text is not None:
            # a modified copy next to the original, so relative includes still resolve
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".cir", dir=SUITE)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            try:
                return run_ngspice(tmp, work)
            finally:
                os.unlink(tmp)
        return run_ngspice(path, work)


def stderr_summary(stderr):
    # ngspice prints an unstable " Reference value : ..." with some measures: left out so
    # that regenerating gives identical goldens
    keep = [l for l in stderr.splitlines() if l.strip() and "Reference value" not in l]
    return "\n".join(keep) + ("\n" if keep else "")


def regen(name, version):
    path = os.path.join(SUITE, name + ".cir")
    with open(path) as f:
        text = f.read()
    man = parse_manifest(text, path)
    rc, out, err, files = simulate(name)
    declared = [f for f, _ in man.files]
    extra = sorted(set(files) - set(declared))
    missing = sorted(set(declared) - set(files))
    if extra or missing:
        raise RuntimeError(
            f"files written but not declared with `*@ file`: {extra}; declared but not written: {missing}"
        )
    target = os.path.join(GOLDEN, name)
    staging = tempfile.mkdtemp(prefix=f".{name}.", dir=GOLDEN)
    try:
        with open(os.path.join(staging, "stdout.txt"), "w") as f:
            f.write("\n".join(filter_stdout(out)) + "\n")
        with open(os.path.join(staging, "stderr.txt"), "w") as f:
            f.write(f"# ngspice exit code {rc}; stderr (not compared):\n" + stderr_summary(err))
        for fname in declared:
            with open(os.path.join(staging, fname), "wb") as f:
                f.write(normalise_file(files[fname]))
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
    items = parse_items(filter_stdout(out))
    counts = {}
    for it in items:
        counts[it[0]] = counts.get(it[0], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no stdout items"
    errs = [l for l in err.splitlines() if re.search(r"error|abort|singular|too small", l, re.I)]
    note = f"; ngspice stderr: {errs[0].strip()!r}" + (f" (+{len(errs) - 1})" if len(errs) > 1 else "") if errs else ""
    print(f"{name}: rc {rc}, {summary}, {len(declared)} file(s){note}")


def check(name):
    path = os.path.join(SUITE, name + ".cir")
    with open(path) as f:
        text = f.read()
    man = parse_manifest(text, path)
    rc, out, err, files = simulate(name, tightened(text))
    rep = Report()
    gdir = os.path.join(GOLDEN, name)
    with open(os.path.join(gdir, "stdout.txt")) as f:
        gold = parse_items(filter_stdout(f.read()))
    compare_items(rep, man, gold, parse_items(filter_stdout(out)))
    for fname, x_time in man.files:
        with open(os.path.join(gdir, fname), "rb") as f:
            gdata = f.read()
        if fname not in files:
            rep.problem(f"{fname}: not written by the tightened run")
            continue
        compare_file(rep, man, fname, x_time, gdata, normalise_file(files[fname]))
    worst = sorted(rep.worst.items(), key=lambda kv: -kv[1][0])[:3]
    parts = [f"{n} {r:.3f}" for n, (r, _) in worst]
    print(f"{name}: worst deviation / tolerance: {', '.join(parts) or '-'}"
          + ("".join(f"\n    PROBLEM {p}" for p in rep.problems)))
    if worst and worst[0][1][0] > 0.5:
        print(f"    worst: {worst[0][0]}: {worst[0][1][1]}")
    return not rep.problems and all(r <= 0.5 for _, (r, _) in worst)


def main():
    args = sys.argv[1:]
    do_check = "--check" in args
    only = [a for a in args if not a.startswith("--")]
    version = ngspice_version()
    os.makedirs(GOLDEN, exist_ok=True)
    failed = False
    for name in decks(only):
        try:
            if do_check:
                failed |= not check(name)
            else:
                regen(name, version)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            print(f"FAIL {name}: {e}")
            failed = True
    if not do_check:
        with open(os.path.join(GOLDEN, "NGSPICE_VERSION"), "w") as f:
            f.write(version + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
