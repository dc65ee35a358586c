#!/usr/bin/env python3
"""Times neurospice and ngspice-39 on the same generated array netlists (scripts/gen_arrays.py:
independent IF neurons (slow and fast reset), IF neurons sharing an ideal supply or a resistive rail, an IF array
charged from an ideal source with TMAX 1 ns, level-1 current mirrors on a shared VDD ramp,
transistor-level axon-hillock neurons, a 32-input crossbar layer) and checks their spike times.

For every family and size the two simulators run interleaved (neurospice, ngspice, neurospice,
...), best of --repeat CPU times (a run longer than --once-above seconds is not repeated), with
peak memory and CPU time (user + system) from /usr/bin/time. On a shared machine the CPU time
is the comparable figure (the ratio column uses it); wall times are printed beside it. An ngspice run that needs
more than --ng-timeout CPU seconds (default 180, the issue's 3 minutes) is stopped (RLIMIT_CPU)
and reported as such, and so is a family's ngspice at the larger sizes; neurospice gets
--ns-timeout. Both evaluate the netlist's own `.meas` statements (the first
three spike times of neurons 1, N/2, N); they are compared against
  - the closed-form spike times of each neuron for the `indep` and `indep_fast` families;
  - otherwise a tightly converged ngspice reference of the same netlist (reltol 1e-5,
    TMAX --ref-tmax, default 10 ps), run for N <= --ref-max.
The worst relative error over the measured spikes is printed ("miss" when a spike the
reference has is absent). Prints a Markdown table, and with --json FILE the raw rows.

usage: compare_ngspice.py [--families indep,ideal,...] [--sizes 10,100,1000,3000]
       [--repeat 3] [--once-above 30] [--ng-timeout 180] [--ns-timeout 600]
       [--ref-max 100] [--ref-tmax 10p] [--bin PATH] [--old PATH] [--json FILE] [--keep DIR]
       [--ns-options "multirate=2"]
--ns-options adds a `.options` line to neurospice's copy of each netlist only (ngspice runs
the netlist as generated), e.g. `multirate=2` to tear bias lines too.
Needs ngspice on PATH and /usr/bin/time.
"""
import argparse, json, math, os, re, resource, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen_arrays  # noqa: E402

TH = 0.45


def timed(cmd, cwd, timeout):
    """(wall s, cpu s, peak MB, stdout, stderr, status) with status 'ok', 'timeout' or
    'failed'; cpu is user + system time of the child."""
    t0 = time.perf_counter()
    lim = int(timeout) + 1

    def cpu_limit():
        resource.setrlimit(resource.RLIMIT_CPU, (lim, lim + 5))

    try:
        p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M CPU %U %S"] + cmd, cwd=cwd,
                           capture_output=True, text=True, timeout=8 * timeout,
                           preexec_fn=cpu_limit)
    except subprocess.TimeoutExpired:
        return timeout, timeout, None, "", "", "timeout"
    wall = time.perf_counter() - t0
    if "signal 24" in p.stderr or "signal 9" in p.stderr:
        return wall, timeout, None, "", "", "timeout"
    stat = [l.split() for l in p.stderr.splitlines() if l.startswith("MAXRSS")]
    mb = int(stat[-1][1]) / 1024.0 if stat else None
    cpu = float(stat[-1][3]) + float(stat[-1][4]) if stat else None
    return wall, cpu, mb, p.stdout, p.stderr, "ok" if p.returncode == 0 else "failed"


def si(s):
    m = re.fullmatch(r"([-+0-9.eE]+)([a-zA-Z]*)", s)
    scale = {"": 1, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "meg": 1e6, "g": 1e9}
    return float(m.group(1)) * scale[m.group(2).lower()]


def analytic_spikes(text, k, th=TH):
    """Closed-form th crossings of neuron k of an `indep` netlist: a PULSE current (0 to I over
    TR = 1 ns, then constant) into C, a switch (VT, VH, RON, ROFF) from the membrane to ground
    that closes above VT+VH and opens below VT-VH. Between switchings the membrane is a
    first-order RC: v(t) = v_inf + (v0 - v_inf) exp(-t / tau)."""
    mdl = dict(re.findall(r"(\w+)=(\S+)", re.search(r"\.model rst sw (.*)", text).group(1)))
    vt, vh, ron, roff = si(mdl["vt"]), si(mdl["vh"]), si(mdl["ron"]), si(mdl["roff"])
    cur = si(re.search(rf"^I{k} 0 m{k} PULSE\(0 (\S+) 0 1n\)", text, re.M).group(1))
    c = si(re.search(rf"^C{k} m{k} 0 (\S+)", text, re.M).group(1))
    tstop = si(re.search(r"^\.tran \S+ (\S+)", text, re.M).group(1))
    tr = 1e-9

    def time_to(v0, target, g):
        vinf, tau = cur / g, c / g
        return tau * math.log((v0 - vinf) / (target - vinf))

    t, v = tr, cur * tr / (2 * c)
    out = []
    while True:
        goff = 1 / roff
        t_sp = t + time_to(v, th, goff)
        if t_sp > tstop:
            return out
        out.append(t_sp)
        t += time_to(v, vt + vh, goff)
        t += time_to(vt + vh, vt - vh, 1 / ron + goff)
        v = vt - vh


def meas_names(text):
    return re.findall(r"^\.meas tran (\S+) ", text, re.M)


def parse_ng_meas(stdout, names):
    got = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\S+)\s*=\s*([-+0-9.eE]+)", line.strip())
        if m and m.group(1).lower() in names:
            got[m.group(1).lower()] = float(m.group(2))
    return got


def parse_ns_meas(path):
    try:
        d = json.load(open(path))
    except (OSError, ValueError):
        return {}
    return {k.lower(): v for k, v in d.items() if isinstance(v, (int, float))}


def worst_err(got, ref):
    """Worst relative error of `got` against `ref` over the reference's spikes; 'miss' when a
    spike is absent; None without a reference."""
    if not ref:
        return None
    e = 0.0
    for k, r in ref.items():
        if k not in got:
            return "miss"
        e = max(e, abs(got[k] - r) / r)
    return e


def fmt_err(e):
    if e is None:
        return "–"
    if e == "miss":
        return "spike missing"
    return f"{e * 100:.3f} %"


def fmt_run(r):
    if r["status"] == "timeout":
        return f"> {r['cpu']:.0f} (stopped)", "–"
    if r["status"] == "failed":
        return "fails" + (f": {r['why']}" if r.get("why") else ""), "–"
    return f"{r['cpu']:.2f} ({r['wall']:.2f})", (f"{r['mb']:.0f}" if r["mb"] else "?")


def first_error(stderr):
    for line in stderr.splitlines():
        if "error" in line.lower() or "too small" in line.lower():
            return line.strip()[:90].replace("|", "/")
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default=",".join(gen_arrays.FAMILIES))
    ap.add_argument("--sizes", default="10,100,1000,3000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--once-above", type=float, default=30.0)
    ap.add_argument("--ng-timeout", type=float, default=180.0)
    ap.add_argument("--ns-timeout", type=float, default=600.0)
    ap.add_argument("--ref-max", type=int, default=100)
    ap.add_argument("--ref-tmax", default="10p")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "neurospice"))
    ap.add_argument("--old", help="a second neurospice binary (e.g. before a change), timed in the same loop")
    ap.add_argument("--json")
    ap.add_argument("--keep")
    ap.add_argument("--ns-options", help="a .options line's settings for neurospice's copy only")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    fams = a.families.split(",")
    for f in fams:
        if f not in gen_arrays.FAMILIES:
            sys.exit(f"unknown family '{f}' (have {', '.join(gen_arrays.FAMILIES)})")
    d = a.keep or tempfile.mkdtemp()
    os.makedirs(d, exist_ok=True)
    rows = []
    old_head = " old neurospice cpu (wall) [s] | mem [MB] | Newton its | old err |" if a.old else ""
    print("| family | N | neurospice cpu (wall) [s] | mem [MB] | Newton its | ngspice cpu (wall) [s] | mem [MB] | ngspice/neurospice (cpu) | neurospice err | ngspice err | reference |" + old_head)
    print("|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" * 4 if a.old else ""))
    for fam in fams:
        skip_ng = skip_ns = skip_old = False
        for n in sizes:
            text = gen_arrays.gen(fam, n)
            names = meas_names(text)
            cir = os.path.join(d, f"{fam}_{n}.cir")
            open(cir, "w").write(text)
            mj = os.path.join(d, f"{fam}_{n}.json")
            ns_cir = cir
            if a.ns_options:
                ns_cir = os.path.join(d, f"{fam}_{n}_ns.cir")
                open(ns_cir, "w").write(text.replace("\n.tran", f"\n.options {a.ns_options}\n.tran", 1))
            ns_cmd = [a.bin, "run", ns_cir, "--save", "none", "-q", "--stats", "--meas-json", mj]
            ng_cmd = ["ngspice", "-b", cir]
            best = {"ns": None, "ng": None, "old": None}
            runs = [("ns", ns_cmd, a.ns_timeout, skip_ns), ("ng", ng_cmd, a.ng_timeout, skip_ng)]
            if a.old:
                runs.append(("old", [a.old] + ns_cmd[1:], a.ns_timeout, skip_old))
            for rep in range(a.repeat):
                for who, cmd, tmo, skip in runs:
                    if skip:
                        best[who] = {"status": "timeout", "wall": tmo, "cpu": tmo, "mb": None, "skipped": True}
                        continue
                    b = best[who]
                    if b is not None and (b["status"] != "ok" or b["cpu"] > a.once_above):
                        continue
                    wall, cpu, mb, out, err, st = timed(cmd, d, tmo)
                    r = {"status": st, "wall": wall, "cpu": cpu, "mb": mb}
                    if st == "failed":
                        r["why"] = first_error(err + out)
                    if st == "ok":
                        r["meas"] = parse_ng_meas(out, set(names)) if who == "ng" else parse_ns_meas(mj)
                        m = re.search(r"newton=(\d+)", err)
                        if m:
                            r["newton"] = int(m.group(1))
                        m = re.search(r"accepted=(\d+) rejected=(\d+)", err)
                        if m:
                            r["steps"] = int(m.group(1)) + int(m.group(2))
                    if b is None or (st == "ok" and (b["status"] != "ok" or cpu < b["cpu"])):
                        best[who] = r
            # a family that timed out at one size is not run at the larger ones
            skip_ns = skip_ns or best["ns"]["status"] == "timeout"
            skip_ng = skip_ng or best["ng"]["status"] == "timeout"
            skip_old = skip_old or (a.old and best["old"]["status"] == "timeout")
            ref, refname = None, "–"
            if fam in ("indep", "indep_fast"):
                ref = {}
                for nm in names:
                    k, j = (int(x) for x in re.fullmatch(r"s(\d+)_(\d+)", nm).groups())
                    sp = [t for t in analytic_spikes(text, k) if t > 5e-9]
                    if j <= len(sp):
                        ref[nm] = sp[j - 1]
                refname = "closed form"
            elif n <= a.ref_max:
                rcir = os.path.join(d, f"{fam}_{n}_ref.cir")
                open(rcir, "w").write(gen_arrays.gen(fam, n, tmax=a.ref_tmax, reltol="1e-5"))
                wall, _, _, out, _, st = timed(["ngspice", "-b", rcir], d, 20 * a.ng_timeout)
                if st == "ok":
                    ref = parse_ng_meas(out, set(names))
                    refname = f"ngspice reltol 1e-5 TMAX {a.ref_tmax} ({wall:.0f} s)"
                else:
                    refname = f"reference {st}"
            ns, ng = best["ns"], best["ng"]
            e_ns = worst_err(ns.get("meas", {}), ref) if ns["status"] == "ok" else None
            e_ng = worst_err(ng.get("meas", {}), ref) if ng["status"] == "ok" else None
            t1, m1 = fmt_run(ns)
            t2, m2 = fmt_run(ng)
            ratio = f"{ng['cpu'] / max(ns['cpu'], 1e-3):.2f}" if ns["status"] == "ok" and ng["status"] == "ok" else "–"
            its = ns.get("newton", "–")
            old = ""
            if a.old:
                o = best["old"]
                t3, m3 = fmt_run(o)
                e_old = worst_err(o.get("meas", {}), ref) if o["status"] == "ok" else None
                old = f" {t3} | {m3} | {o.get('newton', '–')} | {fmt_err(e_old)} |"
            print(f"| {fam} | {n} | {t1} | {m1} | {its} | {t2} | {m2} | {ratio} | {fmt_err(e_ns)} | {fmt_err(e_ng)} | {refname} |{old}", flush=True)
            rows.append({"family": fam, "n": n, "neurospice": ns, "ngspice": ng, "old": best["old"], "reference": ref,
                         "ref_name": refname, "err_ns": e_ns, "err_ng": e_ng})
            if a.json:
                tmp = a.json + ".tmp"
                json.dump(rows, open(tmp, "w"), indent=1)
                os.replace(tmp, a.json)


if __name__ == "__main__":
    main()
