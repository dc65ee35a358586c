#!/usr/bin/env python3
"""Writes the synthetic inputs of the plot tests (standard library only, fixed seed).

These files exercise the input formats of `neurospice plot`; they are not results and must
not be shown as such. Shapes follow simple closed forms so a broken figure is easy to spot:
RC charging v = 1 - exp(-t/tau) for the overlays, t = C*V/I for spike times.
"""
import json, math, random

rng = random.Random(8)

# mc-overlay: 20 runs of an RC step with tau spread 10 %, and the nominal run.
def rc_run(path, tau):
    with open(path, "w") as f:
        f.write("time,v(in),v(mem)\n")
        for k in range(201):
            t = k * 25e-12
            f.write(f"{t:.6e},1,{1 - math.exp(-t / tau):.6e}\n")

for r in range(1, 21):
    rc_run(f"waves/run_{r:04d}.csv", 1e-9 * (1 + 0.1 * rng.gauss(0, 1)))
rc_run("waves/nominal.csv", 1e-9)

# hist / scatter: runs.csv with measures then sampled parameters; some runs fail.
with open("runs.csv", "w") as f:
    f.write("run,status,reason,t_spike_s,v_peak_v,vth_v,cm_f\n")
    for r in range(1, 301):
        vth = 0.5 + 0.02 * rng.gauss(0, 1)
        cm = 1e-12 * (1 + 0.05 * rng.gauss(0, 1))
        if r % 50 == 0:
            f.write(f'{r},failed,"no convergence, at t = 3 ns",,,{vth:.6e},{cm:.6e}\n')
            continue
        t = cm * vth / 1e-6
        f.write(f"{r},ok,,{t:.6e},{vth + 0.01:.6e},{vth:.6e},{cm:.6e}\n")

# transfer: a saturating current-mirror-like curve in CSV, spike times in JSON.
with open("transfer.csv", "w") as f:
    f.write("level,v_out_v,v_ideal_v\n")
    for m in range(33):
        f.write(f"{m},{0.9 * (1 - math.exp(-m / 20)) / (1 - math.exp(-32 / 20)):.6e},{0.9 * m / 32:.6e}\n")
levels = list(range(33))
with open("transfer.json", "w") as f:
    json.dump({"neuron": "time_domain", "levels": levels,
               "spike_time_s": [None] + [1e-12 * 0.5 / (m * 1e-7) for m in levels[1:]]}, f)

# accuracy: three neuron types against threshold variation, fractions with 95 % bands.
with open("accuracy.csv", "w") as f:
    f.write("neuron,param,value,accuracy,accuracy_std,accuracy_lo,accuracy_hi,n,repeats\n")
    for neuron, slope in [("ideal", 0.0), ("current_mirror", 1.2), ("time_domain", 0.3)]:
        for s in [0.0, 0.01, 0.02, 0.03, 0.04, 0.05]:
            acc = 0.97 - slope * s * s * 20
            std = 0.002 + 0.05 * s
            f.write(f"{neuron},sigma_vth_v,{s},{acc:.4f},{std:.4f},{acc - 1.96 * std:.4f},"
                    f"{acc + 1.96 * std:.4f},4000,10\n")

# capmin-hist: MAC levels 0..32 per layer, peaked at low levels, with empty levels.
with open("capmin_hist.csv", "w") as f:
    f.write("layer,level,count\n")
    total = [0] * 33
    for layer, centre in [("fc1", 6), ("fc2", 10)]:
        for m in range(33):
            c = int(50000 * math.exp(-((m - centre) / 4.0) ** 2)) if m < 28 else 0
            total[m] += c
            f.write(f"{layer},{m},{c}\n")
    for m in range(33):
        f.write(f"all,{m},{total[m]}\n")

# capmin-sweep: capacitor grows with the square of the highest kept level.
with open("capmin_sweep.csv", "w") as f:
    f.write("rule,k,capacitance_f,accuracy\n")
    for rule, loss in [("frequency", 0.02), ("coverage", 0.01)]:
        for k in [2, 4, 8, 12, 16, 24, 32]:
            f.write(f"{rule},{k},{10e-15 * k * (k + 1):.4e},{0.97 - loss * 8 / k:.4f}\n")

# capmin-v: accuracy against current variation for the three methods.
with open("capmin_v.csv", "w") as f:
    f.write("sigma,method,capacitance_f,accuracy\n")
    for method, cap, tol in [("baseline", 10.6e-12, 0.08), ("capmin", 0.7e-12, 0.02),
                             ("capmin_v", 1.1e-12, 0.06)]:
        for s in [0.0, 0.02, 0.04, 0.06, 0.08, 0.10]:
            f.write(f"{s},{method},{cap:.3e},{0.97 - 0.5 * max(0.0, s - tol) ** 1.0:.4f}\n")
