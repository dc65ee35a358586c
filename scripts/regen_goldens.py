#!/usr/bin/env python3
"""Regenerate the ngspice reference outputs of tests/golden/*.cir.

For each golden netlist this runs ngspice in batch mode on a temporary copy
(in a temporary directory holding copies of the include files too), with a
.control block appended that writes every vector at full precision, and
converts the result to the CSV / JSON layout of the neurospice CLI contract:

  tests/golden/<name>.ngspice.csv      transient (or DC sweep) waveforms
  tests/golden/<name>.ngspice.op.json  operating point of a .op card

The netlists themselves are never modified and stay valid for both ngspice and
neurospice; everything ngspice-specific lives in the temporary copy.

A .dc sweep of a .param (which ngspice 39 cannot do) is emulated by one
ngspice .op run per sweep value with the parameter's .param line replaced.

  --check   instead of writing, rerun ngspice with reltol/10 and TMAX/4 and
            report how far ngspice moves from the committed goldens, in units
            of the tolerance tests/golden.rs applies. Goldens are only useful
            if this is well below 1.

Plain python3 (no numpy), so it runs wherever ngspice does.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_DIR = os.path.join(ROOT, "tests", "golden")
OUTPUT_SUFFIXES = (".ngspice.csv", ".ngspice.op.json")

SI = [
    ("meg", 1e6),
    ("mil", 25.4e-6),
    ("f", 1e-15),
    ("p", 1e-12),
    ("n", 1e-9),
    ("u", 1e-6),
    ("m", 1e-3),
    ("k", 1e3),
    ("g", 1e9),
    ("t", 1e12),
]


def parse_number(tok):
    """SPICE number with SI suffix and trailing units ignored."""
    m = re.match(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$", tok)
    if not m:
        raise ValueError(f"not a number: {tok!r}")
    value = float(m.group(1))
    suffix = m.group(2).lower()
    for name, scale in SI:
        if suffix.startswith(name):
            return value * scale
    return value


def logical_lines(text):
    """(first physical line index, joined text) with + continuations folded in."""
    out = []
    for i, raw in enumerate(text.splitlines()):
        line = raw.rstrip()
        if line.startswith("+") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line[1:])
        else:
            out.append((i, line))
    return out


def sweep_values(start, stop, step):
    """Sweep points the way ngspice's DC loop produces them (stop included)."""
    n = int(math.floor((stop - start) / step * (1 + 1e-12) + 1e-9)) + 1
    return [start + k * step for k in range(n)]


class Netlist:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)[: -len(".cir")]
        with open(path) as f:
            self.text = f.read()
        self.lines = logical_lines(self.text)
        self.has_op = False
        self.tran = None
        self.dc = None
        elements = set()
        params = set()
        for _, line in self.lines[1:]:
            toks = line.split()
            if not toks or toks[0].startswith("*"):
                continue
            head = toks[0].lower()
            if head == ".op":
                self.has_op = True
            elif head == ".tran":
                self.tran = toks[1:]
            elif head == ".dc":
                self.dc = toks[1:]
            elif head == ".param":
                for m in re.finditer(r"([A-Za-z_]\w*)\s*=", line[len(".param"):]):
                    params.add(m.group(1).lower())
            elif not head.startswith("."):
                elements.add(head)
        self.param_sweep = False
        if self.dc is not None:
            var = self.dc[0].lower()
            if var == "param":
                self.dc = self.dc[1:]
                var = self.dc[0].lower()
            self.param_sweep = var not in elements
            if self.param_sweep and var not in params:
                raise SystemExit(f"{path}: .dc variable {var} is neither an element nor a .param")


def with_control(text, control):
    """The netlist text with a .control block inserted before its .end card."""
    lines = text.splitlines()
    end = None
    for i in range(len(lines) - 1, 0, -1):
        if lines[i].strip().lower() == ".end":
            end = i
            break
    # quit: otherwise batch mode runs every analysis a second time after the block.
    block = [".control"] + control + ["quit", ".endc"]
    if end is None:
        lines += block + [".end"]
    else:
        lines[end:end] = block
    return "\n".join(lines) + "\n"


OUTSIDE_INCLUDE = re.compile(r"""^(\s*\.(?:lib|include|inc)\s+)(["']?)(\.\.[^"'\s]*)\2""", re.I | re.M)


def absolute_outside_paths(text):
    """The netlist text with `.lib` / `.include` paths that leave tests/golden/ (the sky130
    decks' `../../pdk/sky130/sky130.lib.spice`) made absolute: the temporary copy runs
    elsewhere."""

    def repl(m):
        target = os.path.realpath(os.path.join(GOLDEN_DIR, m.group(3)))
        return f'{m.group(1)}"{target}"'

    return OUTSIDE_INCLUDE.sub(repl, text)


def run_ngspice(workdir, cir_text, control):
    path = os.path.join(workdir, "_golden_run.cir")
    if "sky130" in cir_text:
        # the PDK's spinit: W per finger in binning (hsa), no model checks
        with open(os.path.join(workdir, ".spiceinit"), "w") as f:
            f.write("set ngbehavior=hsa\nset ng_nomodcheck\n")
    with open(path, "w") as f:
        f.write(with_control(absolute_outside_paths(cir_text), control))
    proc = subprocess.run(
        ["ngspice", "-b", path], cwd=workdir, capture_output=True, text=True, timeout=600
    )
    log = proc.stdout + proc.stderr
    bad = [
        l
        for l in log.splitlines()
        if re.search(r"error|too small|singular|abort|fail", l, re.I)
        and "No compatibility mode" not in l
    ]
    if proc.returncode != 0 or bad:
        raise RuntimeError("ngspice failed:\n" + "\n".join(bad or log.splitlines()[-20:]))
    return log


def read_wrdata(path):
    """Header names and rows of floats from a wrdata file with wr_vecnames."""
    with open(path) as f:
        lines = [l.split() for l in f if l.strip()]
    return lines[0], [[float(x) for x in row] for row in lines[1:]]


def map_name(raw):
    """ngspice vector name -> contract column name, or None to leave it out.

    Branch currents of elements inside subcircuits (v.x1.v1#branch) and of
    E/H/B sources, and device-internal nodes (d1#body), are not part of the
    CLI contract, so they are not compared.
    """
    n = raw.lower()
    if n.endswith("#branch"):
        base = n[: -len("#branch")]
        if "." in base or base[0] not in "vl":
            return None
        return f"i({base})"
    if "#" in n:
        return None
    return f"v({n})"


def convert(names, rows, scale_names):
    """Columns (name, values) in contract order: x columns first, then v(), then i()."""
    seen = {}
    for j, raw in enumerate(names):
        if raw.lower() in scale_names:
            continue
        col = map_name(raw)
        if col is not None and col not in seen:
            seen[col] = [r[j] for r in rows]
    volts = sorted(k for k in seen if k.startswith("v("))
    amps = sorted(k for k in seen if k.startswith("i("))
    return [(k, seen[k]) for k in volts + amps]


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def csv_text(columns):
    header = ",".join(name for name, _ in columns)
    n = len(columns[0][1])
    body = [",".join(repr(col[i]) for _, col in columns) for i in range(n)]
    return header + "\n" + "\n".join(body) + "\n"


CONTROL_HEAD = ["set wr_singlescale", "set wr_vecnames", "set numdgt=15", "option numdgt=15", "run"]


def simulate(net, text, workdir):
    """Run ngspice on `text` (netlist source of `net`); returns (waveform columns, op dict)."""
    control = list(CONTROL_HEAD)
    if net.tran is not None:
        control += ["setplot tran1", "wrdata tran.txt all"]
    if net.dc is not None and not net.param_sweep:
        control += ["setplot dc1", "wrdata dc.txt all"]
    if net.has_op:
        control += ["setplot op1", "wrdata op.txt all"]
    if net.param_sweep:
        # ngspice cannot sweep a .param; param_sweep() does it run by run.
        text = "\n".join(l for l in text.splitlines() if not re.match(r"^\s*\.dc\b", l, re.I))
    run_ngspice(workdir, text, control)

    wave = None
    if net.tran is not None:
        names, rows = read_wrdata(os.path.join(workdir, "tran.txt"))
        wave = [("time", [r[0] for r in rows])] + convert(names, rows, {"time"})
    elif net.dc is not None and net.param_sweep:
        wave = param_sweep(net, text, workdir)
    elif net.dc is not None:
        wave = source_sweep(net, workdir)

    op = None
    if net.has_op:
        names, rows = read_wrdata(os.path.join(workdir, "op.txt"))
        # wr_singlescale puts the plot's scale (the first node) first as well.
        cols = convert(names[1:], [r[1:] for r in rows], set())
        op = {k: v[0] for k, v in cols}
    return wave, op


def source_sweep(net, workdir):
    names, rows = read_wrdata(os.path.join(workdir, "dc.txt"))
    inner = net.dc[0].lower()
    start, stop, step = (parse_number(t) for t in net.dc[1:4])
    n_inner = len(sweep_values(start, stop, step))
    xs = [r[0] for r in rows]
    columns = [(inner, xs)]
    if len(net.dc) >= 8:
        outer = net.dc[4].lower()
        ostart, ostop, ostep = (parse_number(t) for t in net.dc[5:8])
        outer_vals = sweep_values(ostart, ostop, ostep)
        if len(rows) != n_inner * len(outer_vals):
            raise RuntimeError(
                f"{net.name}: {len(rows)} rows, expected {n_inner} x {len(outer_vals)}"
            )
        columns.append((outer, [outer_vals[i // n_inner] for i in range(len(rows))]))
    elif len(rows) != n_inner:
        raise RuntimeError(f"{net.name}: {len(rows)} rows, expected {n_inner}")
    return columns + convert(names, rows, {"v-sweep", "i-sweep", "temp-sweep", "res-sweep"})


def param_sweep(net, text, workdir):
    """.dc of a .param, emulated by one .op run per value (ngspice 39 has no param sweep)."""
    var = net.dc[0].lower()
    start, stop, step = (parse_number(t) for t in net.dc[1:4])
    if len(net.dc) > 4:
        raise RuntimeError(f"{net.name}: nested .param sweeps are not emulated")
    pattern = re.compile(rf"^\s*\.param\s+{re.escape(var)}\s*=\s*\S+\s*$", re.I)
    lines = text.splitlines()
    hits = [i for i, l in enumerate(lines) if pattern.match(l)]
    if len(hits) != 1:
        raise RuntimeError(f"{net.name}: the swept param needs its own '.param {var}=...' line")
    xs = sweep_values(start, stop, step)
    cols = None
    for x in xs:
        variant = list(lines)
        variant[hits[0]] = f".param {var}={x!r}"
        variant = [l for l in variant if not re.match(r"^\s*\.(dc|op)\b", l, re.I)]
        end = max(i for i, l in enumerate(variant) if l.strip().lower() == ".end")
        variant.insert(end, ".op")
        run_ngspice(
            workdir, "\n".join(variant), CONTROL_HEAD + ["setplot op1", "wrdata op.txt all"]
        )
        names, rows = read_wrdata(os.path.join(workdir, "op.txt"))
        point = convert(names[1:], [r[1:] for r in rows], set())
        if cols is None:
            cols = [(k, []) for k, _ in point]
        for (k, acc), (k2, v) in zip(cols, point):
            assert k == k2
            acc.append(v[0])
    return [(var, xs)] + cols


def tightened(net):
    """Netlist text with reltol/10 and the transient TMAX/4, for --check."""
    lines = net.text.splitlines()
    reltol = 1e-3
    for _, l in net.lines:
        m = re.search(r"reltol\s*=\s*(\S+)", l, re.I)
        if l.lower().startswith(".option") and m:
            reltol = parse_number(m.group(1))
    out = []
    for l in lines:
        toks = l.split()
        if toks and toks[0].lower() == ".tran":
            nums = [t for t in toks[1:] if t.lower() != "uic"]
            uic = " uic" if len(nums) != len(toks) - 1 else ""
            tstep, tstop = nums[0], nums[1]
            tstart = nums[2] if len(nums) > 2 else "0"
            tmax = parse_number(nums[3]) if len(nums) > 3 else parse_number(tstep)
            l = f".tran {tstep} {tstop} {tstart} {tmax / 4!r}{uic}"
        out.append(l)
    end = max(i for i, l in enumerate(out) if l.strip().lower() == ".end")
    out.insert(end, f".options reltol={reltol / 10!r}")
    return "\n".join(out)


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [[float(x) for x in l.split(",")] for l in f if l.strip()]
    return header, [[r[j] for r in rows] for j in range(len(header))]


def check_against(net, wave, op):
    """Worst deviation of a rerun from the committed golden, in units of the test tolerance."""
    report = []
    csv_path = os.path.join(GOLDEN_DIR, net.name + ".ngspice.csv")
    if wave is not None and os.path.exists(csv_path):
        header, gold = read_csv(csv_path)
        new = dict(wave)
        n_x = sum(1 for name in header if "(" not in name)
        blocks_gold = blocks(gold[1] if n_x > 1 else [0.0] * len(gold[0]))
        blocks_new = blocks(new[header[1]] if n_x > 1 else [0.0] * len(new[header[0]]))
        if len(blocks_gold) != len(blocks_new):
            return [(math.inf, "outer sweep blocks differ")]
        for name, ref in zip(header, gold):
            if "(" not in name:
                continue
            tol = max(1e-3 * (max(ref) - min(ref)), 1e-3 if name.startswith("v(") else 1e-9)
            worst = 0.0
            for (g0, g1), (n0, n1) in zip(blocks_gold, blocks_new):
                xg, xn = gold[0][g0:g1], new[header[0]][n0:n1]
                dx = 2e-4 * (max(xg) - min(xg))
                for x, v in zip(xg, ref[g0:g1]):
                    worst = max(worst, window_error(xn, new[name][n0:n1], x, v, dx))
            report.append((worst / tol, name))
        spikes = re.search(r"^\*\s*spikes:\s*(\S+)\s+(\S+)", net.text, re.M | re.I)
        if spikes:
            name, level = spikes.group(1).lower(), float(spikes.group(2))
            a = crossings(gold[0], gold[header.index(name)], level)
            b = crossings(new["time"], new[name], level)
            if len(a) != len(b):
                report.append((math.inf, f"spike count {len(a)} vs {len(b)}"))
            else:
                worst = max(abs(p - q) / (2e-3 * p) for p, q in zip(a, b))
                report.append((worst, "spike times " + name))
    json_path = os.path.join(GOLDEN_DIR, net.name + ".ngspice.op.json")
    if op is not None and os.path.exists(json_path):
        with open(json_path) as f:
            gold = json.load(f)
        for k, v in gold.items():
            floor = 1e-9 if k.startswith("v(") else 1e-12
            report.append((abs(op[k] - v) / max(1e-6 * abs(v), floor), "op " + k))
    return sorted(report, reverse=True)


def blocks(outer):
    """[start, end) row ranges of constant outer-sweep value."""
    out, start = [], 0
    for i in range(1, len(outer) + 1):
        if i == len(outer) or outer[i] != outer[start]:
            out.append((start, i))
            start = i
    return out


def crossings(ts, vs, level):
    """Rising crossings of level, linearly interpolated."""
    return [
        ts[i] + (level - vs[i]) * (ts[i + 1] - ts[i]) / (vs[i + 1] - vs[i])
        for i in range(len(ts) - 1)
        if vs[i] < level <= vs[i + 1]
    ]


def window_error(xs, ys, x, v, dx):
    """Distance from v to the range of the piecewise-linear (xs, ys) over [x-dx, x+dx].

    The same measure as tests/golden.rs: an edge that is merely shifted by less
    than dx costs nothing.
    """
    lo_x, hi_x = x - dx, x + dx
    vals = []
    for i in range(len(xs) - 1):
        a, b = xs[i], xs[i + 1]
        if b < lo_x or a > hi_x or b <= a:
            continue
        for px in (max(a, lo_x), min(b, hi_x)):
            vals.append(ys[i] + (ys[i + 1] - ys[i]) * (px - a) / (b - a))
    if not vals:
        vals = [ys[min(range(len(xs)), key=lambda i: abs(xs[i] - x))]]
    lo, hi = min(vals), max(vals)
    return max(lo - v, v - hi, 0.0)


def main():
    check = "--check" in sys.argv[1:]
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    version = subprocess.run(["ngspice", "-v"], capture_output=True, text=True).stdout
    version_line = next(l for l in version.splitlines() if "ngspice-" in l).strip("* \n")
    cirs = sorted(f for f in os.listdir(GOLDEN_DIR) if f.endswith(".cir"))
    if only:
        cirs = [c for c in cirs if c[:-4] in only]
    failed = False
    for cir in cirs:
        net = Netlist(os.path.join(GOLDEN_DIR, cir))
        with tempfile.TemporaryDirectory() as work:
            for f in os.listdir(GOLDEN_DIR):
                if not f.endswith(OUTPUT_SUFFIXES) and os.path.isfile(os.path.join(GOLDEN_DIR, f)):
                    shutil.copy(os.path.join(GOLDEN_DIR, f), work)
            try:
                text = tightened(net) if check else net.text
                wave, op = simulate(net, text, work)
            except (RuntimeError, OSError, ValueError) as e:
                print(f"FAIL {net.name}: {e}")
                failed = True
                continue
        if check:
            report = check_against(net, wave, op)
            worst = ", ".join(f"{name} {ratio:.3f}" for ratio, name in report[:3])
            print(f"{net.name}: worst deviation / tolerance: {worst}")
            continue
        outputs = []
        if wave is not None:
            path = os.path.join(GOLDEN_DIR, net.name + ".ngspice.csv")
            write_atomic(path, csv_text(wave))
            outputs.append(f"{len(wave[0][1])} rows x {len(wave)} columns")
        if op is not None:
            path = os.path.join(GOLDEN_DIR, net.name + ".ngspice.op.json")
            write_atomic(path, json.dumps(op, indent=1, sort_keys=True) + "\n")
            outputs.append(f"op {len(op)} values")
        print(f"{net.name}: {', '.join(outputs)}")
    if not check:
        write_atomic(os.path.join(GOLDEN_DIR, "NGSPICE_VERSION"), version_line + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
