#!/usr/bin/env python3
"""Prints the closing tables of issue 16 (CapMin / CapMin-V under the circuit spread, and the
neuron comparison) from the JSON files scripts/capmin_circuit.sh and scripts/capmin_v.sh write.
Missing files are listed as not run."""
import json, os, sys

R = os.path.join(os.path.dirname(__file__), "..", "results", "capmin")


def load(p):
    p = os.path.join(R, p)
    if not (os.path.exists(p) and os.path.getsize(p) > 0):
        return None
    text = open(p).read()
    # some result files begin with the evaluator's stderr note
    return json.loads(text[text.index("{"):]) if "{" in text else None


def pct(x):
    return f"{100 * x:.2f}%"


print("| method | input-cell sigma | reduction | capacitor | validation loss | test8k accuracy | test8k loss, paired (95%) |")
print("|---|---|---|---|---|---|---|")
d, t = load("mnist/design_and.json"), load("mnist/design_and.test8k.json")
print(f"| CapMin, nominal | 0 | {d['reduction']:.2f}x | {d['capacitance_f']*1e15:.3f} fF | "
      f"{pct(d['selection']['loss'])} | {pct(t['accuracy'])} | {pct(t['paired_loss']['loss'])} "
      f"({pct(t['paired_loss']['lo'])}..{pct(t['paired_loss']['hi'])}) |")
for sc in (1, 3, 5):
    for name, label in (("capmin", "CapMin"), ("capminv", "CapMin-V")):
        d = load(f"circuit/{name}_and_sc{sc}.json")
        t = load(f"circuit/{name}_and_sc{sc}.test8k.json")
        if d is None:
            print(f"| {label} | {sc}% | not run | | | | |")
            continue
        s = d["selection"]
        val = pct(s["loss"]) + ("" if s["meets_loss"] else " (over budget)")
        test = "not run"
        acc = ""
        if t is not None:
            pl = t["paired_loss"]
            test = f"{pct(pl['loss'])} ({pct(pl['lo'])}..{pct(pl['hi'])})"
            acc = pct(t["accuracy"])
        print(f"| {label} | {sc}% | {d['reduction']:.2f}x | {d['capacitance_f']*1e15:.3f} fF | {val} | {acc} | {test} |")

print()
ideal = load("mnist/test8k_ideal.json")["accuracy"]
print(f"Ideal neuron on test8k: {pct(ideal)} (error {pct(1 - ideal)}).")
print()
print("| neuron (mirror W/L, gate area per device) | device spread L1/L16/L32 | per-read spread L16 | test8k accuracy, 10 device samples (95% over samples) | error | loss vs ideal (95%) | paired loss, one sample (95%) |")
print("|---|---|---|---|---|---|---|")
errs = {}
for n, label in (("td_4u1u_sc1", "time-domain 4u/1u (4 um2)"), ("cm_4u1u_sc1", "current-mirror 4u/1u (4 um2)"),
                 ("td_1u100n_sc1", "time-domain 1u/100n (0.1 um2)"), ("cm_1u100n_sc1", "current-mirror 1u/100n (0.1 um2)")):
    c = load(f"circuit/{n}.json")
    t = load(f"compare/{n}.test8k.json")
    sp = "/".join(f"{100*c['spike_time_sigma_s'][m]/c['spike_time_s'][m]:.1f}%" for m in (1, 16, 32)) if c else ""
    rd = f"{100*c['spike_time_read_sigma_s'][16]/c['spike_time_s'][16]:.2f}%" if c else ""
    if t is None:
        print(f"| {label} | {sp} | {rd} | not finished | | | |")
        continue
    pl = t["paired_loss"]
    errs[n] = 1 - t["accuracy"]
    print(f"| {label} | {sp} | {rd} | {pct(t['accuracy'])} ({pct(t['accuracy_lo'])}..{pct(t['accuracy_hi'])}) | "
          f"{pct(1 - t['accuracy'])} | {pct(ideal - t['accuracy'])} ({pct(ideal - t['accuracy_hi'])}..{pct(ideal - t['accuracy_lo'])}) | "
          f"{pct(pl['loss'])} ({pct(pl['lo'])}..{pct(pl['hi'])}) |")
print()
for a, b, what in (("cm_4u1u_sc1", "td_4u1u_sc1", "equal area 4 um2"), ("cm_1u100n_sc1", "td_1u100n_sc1", "equal area 0.1 um2"),
                   ("cm_1u100n_sc1", "td_4u1u_sc1", "library defaults (cm 1u/100n, td 4u/1u)")):
    if a in errs and b in errs:
        print(f"- error ratio current-mirror / time-domain, {what}: {errs[a] / errs[b]:.2f}x")
