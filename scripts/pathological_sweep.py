#!/usr/bin/env python3
"""Pathological-but-legal inputs, generated and run one by one with a 20 s limit (issue 15:
"no panic, no abort, no run past 20 s"). Usage:

    nice -n 10 scripts/pathological_sweep.py [BINARY] [--only SUBSTRING]

BINARY defaults to target/release/neurospice (CARGO_TARGET_DIR respected). Each case is a
generated netlist (or data file) and a command; the result is the exit code, the wall and CPU
seconds, and a verdict: ok (exit 0-4, no "panicked", within 20 s), or PANIC / SIGNAL / EXIT n /
TIMEOUT. Prints one line per case and the maximum times; exit status 1 if any case failed.
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

LIMIT = 20.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ladder(n, analysis):
    rows = ["ladder", "V1 n0 0 1"]
    rows += [f"R{k} n{k} n{k + 1} 1" for k in range(n)]
    rows += [f"Rend n{n} 0 1", analysis, ".end"]
    return "\n".join(rows) + "\n"


def ring(stages, analysis):
    rows = ["ring", "VDD vdd 0 1.8", ".model nm nmos level=1 vto=0.5 kp=100u",
            ".model pm pmos level=1 vto=-0.5 kp=50u"]
    for k in range(stages):
        a, b = k, (k + 1) % stages
        rows += [f"MP{k} n{b} n{a} vdd vdd pm w=2u l=0.18u",
                 f"MN{k} n{b} n{a} 0 0 nm w=1u l=0.18u", f"C{k} n{b} 0 10f"]
    rows += [".ic v(n0)=0", analysis, ".end"]
    return "\n".join(rows) + "\n"


def mesh(m, analysis):
    rows = ["rc mesh", "V1 in 0 PULSE(0 1 0 1n 1n 50n 100n)", "R0 in m0_0 100"]
    for i in range(m):
        for j in range(m):
            if i + 1 < m:
                rows.append(f"RA{i}_{j} m{i}_{j} m{i + 1}_{j} 1k")
            if j + 1 < m:
                rows.append(f"RB{i}_{j} m{i}_{j} m{i}_{j + 1} 1k")
            rows.append(f"C{i}_{j} m{i}_{j} 0 10f")
    rows += [analysis, ".end"]
    return "\n".join(rows) + "\n"


def nested(levels, fan):
    rows = ["explode", ".subckt l0 a", "R1 a 0 1k", ".ends"]
    for k in range(1, levels + 1):
        rows.append(f".subckt l{k} a")
        rows += [f"X{j} a l{k - 1}" for j in range(fan)]
        rows.append(".ends")
    rows += ["V1 in 0 1", f"X1 in l{levels}", ".op", ".end"]
    return "\n".join(rows) + "\n"


def parts(n, analysis):
    rows = ["parts", "VS s 0 1"]
    for k in range(n):
        rows += [f"V{k} a{k} 0 1", f"R{k} a{k} b{k} 1k", f"C{k} b{k} 0 1p", f"RS{k} s b{k} 1meg"]
    rows += [analysis, ".end"]
    return "\n".join(rows) + "\n"


RC = "rc\nV1 in 0 PULSE(0 1 0 1n 1n 5u 10u)\nR1 in out 1k\nC1 out 0 1n\n"
IFN = open(os.path.join(ROOT, "netlists", "if_neuron.cir")).read()


def cases():
    """(name, files {name: text or callable writing bytes}, args)."""
    c = []
    net = lambda name, text, *extra: c.append((name, {"d.cir": text}, ["run", "d.cir", *extra]))
    net("ladder_1e5_op", ladder(100_000, ".op"))
    net("ladder_1e6_op", ladder(1_000_000, ".op"))
    net("ladder_2e6_op_over_element_budget", ladder(2_000_001, ".op"))
    net("nested_1e7_elements", nested(7, 10))
    net("nested_1e30_elements", nested(30, 10))
    net("subckt_1001_levels", nested(1001, 1))
    net("dc_step_1e_12", RC + ".dc V1 0 1 1e-12\n.end\n")
    net("dc_1e6_points_rc", RC + ".dc V1 0 1 1e-6\n.end\n")
    net("dc_1e5_points_ladder_2e4", ladder(20_000, ".dc V1 0 1 1e-5"))
    net("dc_nested_1000x1000", RC + ".dc V1 0 1 1e-3 R1 1 1k 1\n.end\n")
    net("dc_temp_1e6", RC + ".dc temp -50 150 2e-4\n.end\n")
    net("ac_dec_1meg", RC + ".ac dec 1meg 10 100k\n.end\n")
    net("ac_lin_1e6_ladder_2e4", ladder(20_000, ".ac lin 1000000 1 1meg"))
    net("ac_dec_1000_mesh_60", mesh(60, ".ac dec 1000 1 1g"))
    net("tran_1n_1e30", RC + ".tran 1n 1e30\n.end\n")
    net("tran_1e-320", RC + ".tran 1n 1e-320\n.end\n")
    net("tran_1ghz_sine_10m", "s\nV1 in 0 SIN(0 1 1G)\nR1 in out 1k\nC1 out 0 1p\n.tran 1n 10m\n.end\n")
    net("tran_ifneuron_1n_10m", IFN.replace(".tran 10n 5u", ".tran 1n 10m"))
    net("tran_ifneuron_1n_100m", IFN.replace(".tran 10n 5u", ".tran 1n 100m"))
    net("tran_ring17_1n_10u", ring(17, ".tran 1n 10u"))
    net("tran_ring101_1n_1u", ring(101, ".tran 1n 1u"))
    net("tran_mesh60_1n_2u", mesh(60, ".tran 1n 2u"))
    net("tran_mesh100_1n_10u", mesh(100, ".tran 1n 10u"))
    net("tran_ladder_1e5_1n_1u", ladder(100_000, ".tran 1n 1u").replace("Rend", "C1 n50000 0 1p\nRend"))
    net("tran_parts_5000", parts(5000, ".tran 1n 10u"))
    net("tran_pulse_period_1e-30", "p\nV1 a 0 PULSE(0 1 0 1e-31 1e-31 1e-31 1e-30)\nR1 a 0 1\n.tran 1n 1u\n.end\n")
    net("tran_pulse_delay_-9e18", "p\nV1 a 0 PULSE(0 1u -9e18 1n)\nR1 a 0 1\n.tran 1n 1u\n.end\n")
    net("tran_trnoise_1e-15", "n\nV1 a 0 TRNOISE(1m 1e-15 0 0)\nR1 a 0 1\n.tran 1n 10u\n.end\n")
    net("tran_sin_long", "s\nV1 a 0 SIN(0 1 1meg)\nR1 a b 1k\nC1 b 0 1n\n.tran 1n 1\n.end\n")
    pwl = " ".join(f"{k * 1e-9:e} {k * 1e-3:e}" for k in range(200_000))
    net("pwl_200000_points", f"p\nV1 a 0 PWL({pwl})\nR1 a 0 1k\n.tran 10n 1u\n.end\n")
    net("pwl_200000_points_full", f"p\nV1 a 0 PWL({pwl})\nR1 a b 1k\nC1 b 0 1p\n.tran 1n 200u\n.end\n")
    chain = "".join(f".param p{k} = {{p{k - 1} + 1}}\n" for k in range(1, 10_000))
    net("params_chained_10000", "c\n.param p0 = 0\n" + chain + "V1 a 0 {p9999}\nR1 a 0 1\n.op\n.end\n")
    net("expression_60000_terms", "e\n.param a = 1\nV1 x 0 {" + "+".join(["a"] * 60_000) + "}\nR1 x 0 1\n.op\n.end\n")
    net("subckt_5000_unclosed", "u\n" + ".subckt s a\n" * 5000 + ".op\n.end\n")
    net("long_line_10MB", "l\n* " + "x" * 10_000_000 + "\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n")
    net("continuation_100000", "c\nV1 a 0 1\nR1 a 0\n" + "+ \n" * 100_000 + "+ 1\n.op\n.end\n")
    net("comments_64MB", "c\n" + ("* " + "y" * 62 + "\n") * 1_000_000 + "V1 a 0 1\nR1 a 0 1\n.op\n.end\n")
    net("literal_1e999", "v\nV1 a 0 1e999\nR1 a 0 1\n.op\n.end\n")
    net("control_while_1", "w\nV1 a 0 1\nR1 a 0 1\n.control\nwhile 1\nend\n.endc\n.end\n")
    net("control_repeat_1e6", "r\nV1 a 0 1\nR1 a 0 1\n.control\nlet i = 0\nrepeat 1000000\nlet i = i + 1\nend\n.endc\n.end\n")
    net("control_repeat_tran", RC + ".control\nrepeat 100000\ntran 10n 10u\nend\n.endc\n.end\n")
    net("control_repeat_op_ladder", ladder(20_000, ".control\nrepeat 100000\nop\nend\n.endc"))
    net("control_dc_1e6", RC + ".control\ndc V1 0 1 1e-6\n.endc\n.end\n")
    net("control_ac_lin_1e6", ladder(20_000, ".control\nac lin 1000000 1 1meg\n.endc"))
    net("meas_100000", RC + ".tran 10n 10u\n" + "".join(f".meas tran m{k} max v(out)\n" for k in range(100_000)) + ".end\n")
    c.append(("mc_runs_1e6", {"d.cir": os.path.join(ROOT, "netlists", "mc_if_neuron.cir")},
              ["mc", "d.cir", "--runs", "1000000", "-m", "tcross=rise(v(mem),0.45)", "-o", "runs.csv", "-q"]))
    c.append(("mc_runs_1e12", {"d.cir": os.path.join(ROOT, "netlists", "mc_if_neuron.cir")},
              ["mc", "d.cir", "--runs", "1000000000000", "-m", "tcross=rise(v(mem),0.45)", "-o", "runs.csv", "-q"]))
    base = os.path.join(ROOT, "fuzz", "files", "base")
    small = open(os.path.join(base, "small.csv")).read().splitlines(True)
    big = small[:1] + small[1:] * (30_000 // max(1, len(small) - 1))
    tiny = os.path.join(base, "tiny.json")
    c.append(("snn_eval_csv_30000_rows", {"big.csv": "".join(big), "tiny.json": tiny},
              ["snn", "eval", "--model", "tiny.json", "--data", "big.csv", "--split", "all"]))
    c.append(("capmin_hist_csv_30000_rows", {"big.csv": "".join(big), "tiny.json": tiny},
              ["capmin", "hist", "--model", "tiny.json", "--data", "big.csv", "-o", "h.csv"]))
    c.append(("snn_train_csv_30000_rows", {"big.csv": "".join(big)},
              ["snn", "train", "--data", "big.csv", "--hidden", "64", "--epochs", "1", "-o", "m.json"]))
    return c


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.path.abspath(args[0]) if args else os.path.join(target, "release", "neurospice")
    failed = 0
    worst = (0.0, 0.0)
    print(f"{'case':40} {'exit':>5} {'wall':>7} {'cpu':>7}  verdict / first error line")
    for name, files, cmd in cases():
        if only and only not in name:
            continue
        d = tempfile.mkdtemp(prefix="ns-path-")
        try:
            for fname, content in files.items():
                path = os.path.join(d, fname)
                if os.path.isabs(content) and os.path.exists(content):
                    shutil.copy(content, path)
                else:
                    with open(path, "w") as f:
                        f.write(content)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            p = subprocess.Popen([binary, *cmd], cwd=d, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, errors="replace")
            try:
                _, err = p.communicate(timeout=LIMIT)
                code = p.returncode
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                code = None
            wall = time.monotonic() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        first = next((l for l in err.splitlines() if l.startswith("error")), "")[:110]
        if code is None:
            verdict = "TIMEOUT"
        elif "panicked" in err:
            verdict = "PANIC"
        elif code < 0:
            verdict = f"SIGNAL {-code}"
        elif code > 4:
            verdict = f"EXIT {code}"
        else:
            verdict = "ok"
        failed += verdict != "ok"
        worst = (max(worst[0], wall), max(worst[1], cpu))
        print(f"{name:40} {str(code):>5} {wall:7.2f} {cpu:7.2f}  {verdict} {first}", flush=True)
    print(f"max wall {worst[0]:.2f} s, max cpu {worst[1]:.2f} s, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
