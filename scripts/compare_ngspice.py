#!/usr/bin/env python3
"""Times neurospice and ngspice on the same generated netlists: arrays of N independent
integrate-and-fire neurons (scripts/gen_if_array.py), and checks that both give the same spike
times for the first and last neuron. Prints a Markdown table (wall time, peak memory, ratio,
worst spike-time difference) for the README.

usage: compare_ngspice.py [--sizes 10,100,1000,10000] [--ngspice-max 1000] [--bin PATH]
ngspice runs only up to --ngspice-max neurons (N = 10000 takes it about half an hour).
Needs ngspice on PATH and /usr/bin/time.
"""
import argparse, os, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

def timed(cmd, cwd):
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    rss = [int(l.split()[1]) for l in p.stderr.splitlines() if l.startswith("MAXRSS")][-1]
    return wall, rss / 1024.0

def crossings(t, v, th=0.45):
    return [t[i-1] + (th - v[i-1]) / (v[i] - v[i-1]) * (t[i] - t[i-1]) for i in range(1, len(v)) if v[i-1] < th <= v[i]]

def read_csv(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
        cols = [[] for _ in head]
        for line in f:
            for c, x in zip(cols, line.split(",")):
                c.append(float(x))
    return dict(zip(head, cols))

def read_wrdata(path, names):
    # wrdata without wr_singlescale: pairs (time, value) per vector
    t, vals = [], [[] for _ in names]
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            try:
                nums = [float(x) for x in parts]
            except ValueError:
                continue
            t.append(nums[0])
            for k in range(len(names)):
                vals[k].append(nums[2 * k + 1])
    return t, vals

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--ngspice-max", type=int, default=1000)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "neurospice"))
    a = ap.parse_args()
    print("| N | neurospice [s] | neurospice mem [MB] | ngspice [s] | ngspice mem [MB] | speed-up | worst spike diff | neurospice, no TMAX [s] | its speed-up | its worst spike diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for n in [int(x) for x in a.sizes.split(",")]:
            cir = os.path.join(d, f"if_{n}.cir")
            subprocess.run([sys.executable, os.path.join(HERE, "gen_if_array.py"), str(n), cir], check=True)
            out = os.path.join(d, f"ns_{n}.csv")
            nodes = [f"v(m1)", f"v(m{n})"]
            w1, m1 = timed([a.bin, "run", cir, "--save", ",".join(nodes), "-o", out, "-q"], d)
            ours = read_csv(out)
            # the same circuit without the TMAX that ngspice needs for accurate switch instants
            cir2 = os.path.join(d, f"if_{n}_notmax.cir")
            subprocess.run([sys.executable, os.path.join(HERE, "gen_if_array.py"), str(n), cir2, "--tmax", "none"], check=True)
            out2 = os.path.join(d, f"ns2_{n}.csv")
            w3, _ = timed([a.bin, "run", cir2, "--save", ",".join(nodes), "-o", out2, "-q"], d)
            ours2 = read_csv(out2)
            row = f"| {n} | {w1:.3f} | {m1:.0f} |"
            if n <= a.ngspice_max:
                text = open(cir).read().replace(".end\n", f".save {' '.join(nodes)}\n.control\nrun\nset wr_singlescale\noption numdgt=12\nwrdata ng.txt {' '.join(nodes)}\nquit\n.endc\n.end\n")
                ncir = os.path.join(d, f"ng_{n}.cir")
                open(ncir, "w").write(text)
                w2, m2 = timed(["ngspice", "-b", ncir], d)
                # wr_singlescale: one time column then the vectors
                t, vals = [], [[], []]
                for line in open(os.path.join(d, "ng.txt")):
                    p = line.split()
                    try:
                        nums = [float(x) for x in p]
                    except ValueError:
                        continue
                    if len(nums) >= 3:
                        t.append(nums[0]); vals[0].append(nums[1]); vals[1].append(nums[2])
                def worst_diff(res):
                    worst = 0.0
                    for k, name in enumerate(nodes):
                        a1 = crossings(res["time"], res[name])
                        b1 = crossings(t, vals[k])
                        if len(a1) != len(b1):
                            return float("inf")
                        for x, y in zip(a1, b1):
                            worst = max(worst, abs(x - y) / y)
                    return worst
                row += f" {w2:.3f} | {m2:.0f} | {w2 / w1:.1f}x | {worst_diff(ours) * 100:.3f}% | {w3:.3f} | {w2 / w3:.1f}x | {worst_diff(ours2) * 100:.3f}% |"
            else:
                row += f" not run | | | | {w3:.3f} | | |"
            print(row, flush=True)

if __name__ == "__main__":
    main()
