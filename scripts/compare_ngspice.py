#!/usr/bin/env python3
"""Times neurospice and ngspice on the same generated netlists: arrays of N independent
integrate-and-fire neurons (scripts/gen_if_array.py), and checks their spike times (rising
crossings of 0.45 V by the first and the last membrane) against the closed-form solution of
each neuron and against each other. Prints Markdown tables (wall time, peak memory, ratio,
worst spike-time error) for the README.

Two configurations of the same array, each run by both simulators on the same file:
  fast-reset  RON = 10 ohm (a 10 ps reset), no TMAX: the issue's benchmark. Every neuron's
              reset forces small time steps on ngspice's whole circuit (its cost grows like
              N^1.7: 0.03 / 1 / ~40 s at N = 10 / 100 / 1000, as the issue quotes), and ngspice,
              which flips a switch only at the first time point past its threshold, gets the
              spike times wrong by several percent.
  slow-reset  RON = 10 kohm (a 10 ns reset) with TMAX = 0.05 ns: the setting in which ngspice's
              own spike times are right to 0.2 %, so both simulators can be compared point for
              point; neurospice honours the TMAX (every part steps at most 0.05 ns).

usage: compare_ngspice.py [--sizes 10,100,1000,10000] [--ngspice-max 1000] [--bin PATH]
       [--configs fast-reset,slow-reset]
ngspice runs only up to --ngspice-max neurons. Needs ngspice on PATH and /usr/bin/time.
"""
import argparse, math, os, re, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TH = 0.45  # spike threshold of the comparison [V]
CONFIGS = {
    "fast-reset": ["--tmax", "none", "--ron", "10"],
    "slow-reset": ["--tmax", "0.05n", "--ron", "10k"],
}


def timed(cmd, cwd):
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    rss = [int(l.split()[1]) for l in p.stderr.splitlines() if l.startswith("MAXRSS")][-1]
    return wall, rss / 1024.0


def crossings(t, v, th=TH):
    return [t[i-1] + (th - v[i-1]) / (v[i] - v[i-1]) * (t[i] - t[i-1])
            for i in range(1, len(v)) if v[i-1] < th <= v[i]]


def read_csv(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
        cols = [[] for _ in head]
        for line in f:
            for c, x in zip(cols, line.split(",")):
                c.append(float(x))
    return dict(zip(head, cols))


def si(s):
    m = re.fullmatch(r"([-+0-9.eE]+)([a-zA-Z]*)", s)
    scale = {"": 1, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "meg": 1e6, "g": 1e9}
    return float(m.group(1)) * scale[m.group(2).lower()]


def analytic_spikes(cir, k):
    """Closed-form 0.45 V crossings of neuron k of a gen_if_array.py netlist: a PULSE current
    (0 to I over TR = 1 ns, then constant) into C, a switch (VT, VH, RON, ROFF) from the membrane
    to ground that closes above VT+VH and opens below VT-VH. Between switchings the membrane is
    a first-order RC: v(t) = v_inf + (v0 - v_inf) exp(-t / tau)."""
    text = open(cir).read()
    mdl = dict(re.findall(r"(\w+)=(\S+)", re.search(r"\.model rst sw (.*)", text).group(1)))
    vt, vh, ron, roff = si(mdl["vt"]), si(mdl["vh"]), si(mdl["ron"]), si(mdl["roff"])
    cur = si(re.search(rf"^I{k} 0 m{k} PULSE\(0 (\S+) 0 1n\)", text, re.M).group(1))
    c = si(re.search(rf"^C{k} m{k} 0 (\S+)", text, re.M).group(1))
    tstop = si(re.search(r"^\.tran \S+ (\S+)", text, re.M).group(1))
    tr = 1e-9

    def time_to(v0, th, g):
        vinf, tau = cur / g, c / g
        return tau * math.log((v0 - vinf) / (th - vinf))

    # the ramp: i = I t / TR; over 1 ns the ROFF leak (tau = 1 s) changes v by 1e-9 relative
    t, v = tr, cur * tr / (2 * c)
    out = []
    while True:
        goff = 1 / roff
        t_sp = t + time_to(v, TH, goff)
        if t_sp > tstop:
            return out
        out.append(t_sp)
        t += time_to(v, vt + vh, goff)          # switch closes
        t += time_to(vt + vh, vt - vh, 1 / ron + goff)  # and opens again
        v = vt - vh


def worst_error(got, ref):
    """Worst relative spike-time error over the spikes both have, and whether the counts differ
    (then the error is over the common prefix)."""
    e = max((abs(x - y) / y for x, y in zip(got, ref)), default=0.0)
    return (e, len(got) != len(ref))


def worst(pairs):
    errs = [worst_error(g, r) for g, r in pairs]
    return (max(e for e, _ in errs), any(c for _, c in errs))


def pct(e):
    err, count_differs = e
    return f"{err * 100:.3f} %" + (" (a spike missing or extra)" if count_differs else "")


def run_config(name, sizes, a, d):
    print(f"\n{name}: `gen_if_array.py N {' '.join(CONFIGS[name])}`\n")
    print("| N | neurospice [s] | mem [MB] | ngspice [s] | mem [MB] | speed-up | neurospice spike error | ngspice spike error | neurospice vs ngspice |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        cir = os.path.join(d, f"{name}_{n}.cir")
        subprocess.run([sys.executable, os.path.join(HERE, "gen_if_array.py"), str(n), cir] + CONFIGS[name], check=True)
        nodes = ["v(m1)", f"v(m{n})"]
        ref = [analytic_spikes(cir, 1), analytic_spikes(cir, n)]
        out = os.path.join(d, f"ns_{name}_{n}.csv")
        w1, m1 = timed([a.bin, "run", cir, "--save", ",".join(nodes), "-o", out, "-q"], d)
        ours = read_csv(out)
        ours_sp = [crossings(ours["time"], ours[x]) for x in nodes]
        e_ours = worst(zip(ours_sp, ref))
        row = f"| {n} | {w1:.3f} | {m1:.0f} |"
        if n <= a.ngspice_max:
            text = open(cir).read().replace(".end\n", f".save {' '.join(nodes)}\n.control\nrun\nset wr_singlescale\noption numdgt=12\nwrdata ng.txt {' '.join(nodes)}\nquit\n.endc\n.end\n")
            ncir = os.path.join(d, f"ng_{name}_{n}.cir")
            open(ncir, "w").write(text)
            w2, m2 = timed(["ngspice", "-b", ncir], d)
            t, vals = [], [[], []]
            for line in open(os.path.join(d, "ng.txt")):
                p = line.split()
                try:
                    nums = [float(x) for x in p]
                except ValueError:
                    continue
                if len(nums) >= 3:
                    t.append(nums[0]); vals[0].append(nums[1]); vals[1].append(nums[2])
            ng_sp = [crossings(t, v) for v in vals]
            e_ng = worst(zip(ng_sp, ref))
            e_x = worst(zip(ours_sp, ng_sp))
            row += f" {w2:.3f} | {m2:.0f} | {w2 / w1:.1f}x | {pct(e_ours)} | {pct(e_ng)} | {pct(e_x)} |"
        else:
            row += f" not run | | | {pct(e_ours)} | | |"
        print(row, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--ngspice-max", type=int, default=1000)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "neurospice"))
    ap.add_argument("--configs", default="fast-reset,slow-reset")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    with tempfile.TemporaryDirectory() as d:
        for name in a.configs.split(","):
            if name not in CONFIGS:
                sys.exit(f"unknown configuration '{name}' (have {', '.join(CONFIGS)})")
            run_config(name, sizes, a, d)


if __name__ == "__main__":
    main()
