#!/usr/bin/env python3
"""Writes the array benchmarks of issue 13: N neurons that share a supply, a bias or input
lines, as ngspice-dialect netlists that neurospice and ngspice-39 both run.

usage: gen_arrays.py FAMILY N OUT.cir [--tstop 2u] [--tmax T|none] [--reltol R]
       gen_arrays.py --list

Families (every neuron k = 1..N gets a slightly different drive so spikes do not line up):
  indep     IF neurons sharing only ground: current source into 1 pF, a self-resetting switch
            to ground (RON 10k, TMAX 0.05 ns): issue 2's array (scripts/gen_if_array.py).
  indep_fast  the same with RON = 10 ohm (a 10 ps reset) and no TMAX: issue 2's benchmark as
            the README's first table quotes it.
  ideal     IF neurons whose fire switches draw from one ideal 1 V source: the fire switch
            connects vdd to the neuron's spike node (100k || 10 fF) when the membrane passes
            0.5 V, and the spike node closes a reset switch that discharges the membrane.
  rail      the same, with the supply reaching vdd through a 1 ohm rail resistor.
  ideal_r   IF neurons charged from one ideal 1 V source through their input resistors
            (0.5..0.75 Mohm), a self-resetting switch to ground, TMAX 1 ns.
  mirror    level-1 NMOS current mirrors sinking from membrane caps hung from a shared VDD
            ramp (0 to 1.8 V in 1 ns), a shared bias (1 uA into a diode-connected M0), reset
            switches across the caps: the issue's 4-mirror deck for any N (widths 2u..3u).
  mirror2   the mirror array on two bias lines (odd neurons on vb1, even on vb2, each line
            its own Iref into a diode-connected transistor).
  mirror_rail  the mirror array whose VDD ramp reaches the caps and the reference through a
            1 ohm rail (a rail and a bias line together).
  hillock   Mead's axon-hillock neuron in level-1 MOS: inverter pair with capacitive feedback
            (cmem 100 fF, cfb 20 fF), reset transistor limited by a shared bias vrf, one shared
            1.8 V supply, input currents 200..300 nA.
  crossbar  a layer of N (= M) neurons, each integrating the currents of 32 shared input lines
            (PULSE voltage sources) through resistive weight cells (2, 4 or 8 Mohm, about
            half the cells absent, fixed pseudo-random pattern) onto a 1 pF membrane with a
            self-resetting switch.

Each netlist measures the first three rising crossings of the spike threshold (after 5 ns) of
neurons 1, N/2 and N with `.meas tran` (names s<k>_<j>), which both simulators evaluate; the header line
`* spikes: node:threshold ...` lists the nodes and thresholds for `--spikes`.
--tmax and --reltol override the family's settings (the tight references use them).
"""
import sys

FAMILIES = ["indep", "indep_fast", "ideal", "rail", "ideal_r", "mirror", "mirror2", "mirror_rail",
            "hillock", "crossbar"]


def watched(n):
    return sorted({1, max(1, n // 2), n})


def meas_lines(nodes, th, rises=3):
    out = []
    for k, node in nodes:
        for j in range(1, rises + 1):
            out.append(f".meas tran s{k}_{j} when v({node})={th} td=5n rise={j}")
    return out


def lcg(seed):
    s = seed
    while True:
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield (s >> 11) / float(1 << 53)


def gen(family, n, tstop="2u", tmax=None, reltol=None):
    """Returns the netlist text of FAMILY at size n."""
    L = []
    th = 0.45
    spike_node = "m{k}"
    default_tmax = None
    if family in ("indep", "indep_fast"):
        ron = "10k" if family == "indep" else "10"
        L += [f"Array of {n} independent integrate-and-fire neurons (sharing only ground)",
              f".model rst sw vt=0.35 vh=0.15 ron={ron} roff=1e12"]
        for k in range(1, n + 1):
            i = 1e-6 * (1 + 0.5 * k / n)
            L += [f"I{k} 0 m{k} PULSE(0 {i:.9e} 0 1n)", f"C{k} m{k} 0 1p", f"S{k} m{k} 0 m{k} 0 rst"]
        default_tmax = "0.05n" if family == "indep" else None
    elif family in ("ideal", "rail"):
        what = "one ideal 1 V source" if family == "ideal" else "a 1 ohm rail from a 1 V source"
        L += [f"Array of {n} IF neurons whose fire switches draw from {what}",
              ".model fire sw vt=0.35 vh=0.15 ron=1k roff=1e12",
              ".model rst sw vt=0.5 vh=0.1 ron=10k roff=1e12"]
        if family == "ideal":
            L += ["Vdd vdd 0 1"]
        else:
            L += ["Vdd vsup 0 1", "Rrail vsup vdd 1"]
        for k in range(1, n + 1):
            i = 1e-6 * (1 + 0.5 * k / n)
            L += [f"I{k} 0 m{k} PULSE(0 {i:.9e} 0 1n)", f"C{k} m{k} 0 1p",
                  f"Sf{k} vdd s{k} m{k} 0 fire", f"Rl{k} s{k} 0 100k", f"Cs{k} s{k} 0 10f",
                  f"Sr{k} m{k} 0 s{k} 0 rst"]
    elif family == "ideal_r":
        L += [f"Array of {n} IF neurons charged through resistors from one ideal 1 V source",
              ".model rst sw vt=0.35 vh=0.15 ron=10k roff=1e12",
              "Vdd vdd 0 PULSE(0 1 0 1n)"]
        for k in range(1, n + 1):
            r = 0.5e6 * (1 + 0.5 * k / n)
            L += [f"R{k} vdd m{k} {r:.6e}", f"C{k} m{k} 0 1p", f"S{k} m{k} 0 m{k} 0 rst"]
        default_tmax = "1n"
    elif family in ("mirror", "mirror2", "mirror_rail"):
        shape = {"mirror": "shared bias", "mirror2": "two bias lines",
                 "mirror_rail": "shared bias, supply through a 1 ohm rail"}[family]
        L += [f"Array of {n} level-1 NMOS current mirrors charging membrane caps with reset switches ({shape})",
              ".model nch NMOS (LEVEL=1 VTO=0.5 KP=200u LAMBDA=0.1 GAMMA=0.4 PHI=0.8 TOX=10n CGSO=0.3n CGDO=0.3n CGBO=0.03n)",
              ".model rst sw vt=0.6 vh=0.4 ron=10k roff=1e12"]
        if family == "mirror_rail":
            L += ["Vdd vsup 0 PULSE(0 1.8 0 1n)", "Rrail vsup vdd 1"]
        else:
            L += ["Vdd vdd 0 PULSE(0 1.8 0 1n)"]
        if family == "mirror2":
            L += ["Iref1 vdd vb1 DC 1u", "M01 vb1 vb1 0 0 nch W=2u L=1u",
                  "Iref2 vdd vb2 DC 1.2u", "M02 vb2 vb2 0 0 nch W=2u L=1u"]
        else:
            L += ["Iref vdd vb DC 1u", "M0 vb vb 0 0 nch W=2u L=1u"]
        for k in range(1, n + 1):
            w = 2.0 * (1 + 0.5 * k / n)
            vb = f"vb{2 - k % 2}" if family == "mirror2" else "vb"
            L += [f"M{k} mem{k} {vb} 0 0 nch W={w:.6g}u L=1u", f"C{k} vdd mem{k} 0.5p",
                  f"S{k} vdd mem{k} vdd mem{k} rst"]
        th = 1.3  # the membrane falls from vdd and jumps back at the reset
        spike_node = "mem{k}"
        default_tmax = "0.2n"
    elif family == "hillock":
        L += [f"Array of {n} axon-hillock neurons (level-1 MOS) on one shared supply",
              ".model nch NMOS (LEVEL=1 VTO=0.5 KP=200u LAMBDA=0.05 GAMMA=0.4 PHI=0.8 TOX=10n CGSO=0.3n CGDO=0.3n CGBO=0.03n)",
              ".model pch PMOS (LEVEL=1 VTO=-0.5 KP=80u LAMBDA=0.05 GAMMA=0.4 PHI=0.8 TOX=10n CGSO=0.3n CGDO=0.3n CGBO=0.03n)",
              "Vdd vdd 0 1.8", "Vrf vrf 0 0.7"]
        for k in range(1, n + 1):
            i = 200e-9 * (1 + 0.5 * k / n)
            L += [f"I{k} 0 m{k} PULSE(0 {i:.9e} 0 1n)", f"Cm{k} m{k} 0 100f", f"Cf{k} m{k} o{k} 20f",
                  f"Mp1_{k} a{k} m{k} vdd vdd pch W=1u L=0.5u", f"Mn1_{k} a{k} m{k} 0 0 nch W=1u L=0.5u",
                  f"Mp2_{k} o{k} a{k} vdd vdd pch W=1u L=0.5u", f"Mn2_{k} o{k} a{k} 0 0 nch W=1u L=0.5u",
                  f"Mr{k} m{k} o{k} r{k} 0 nch W=1u L=0.5u", f"Mrf{k} r{k} vrf 0 0 nch W=1u L=1u"]
        th = 0.9
        spike_node = "o{k}"
    elif family == "crossbar":
        L += [f"Crossbar layer: {n} IF neurons integrating 32 shared input lines through resistive weight cells",
              ".model rst sw vt=0.35 vh=0.15 ron=10k roff=1e12"]
        for j in range(1, 33):
            per = 100e-9 * (1 + (j * 7) % 11)
            L += [f"Vin{j} in{j} 0 PULSE(0 1 {(j % 5) * 10}n 1n 1n {per / 2 - 1e-9:.4e} {per:.4e})"]
        rnd = lcg(12345)
        for k in range(1, n + 1):
            cells = 0
            for j in range(1, 33):
                u = next(rnd)
                if u < 0.5 and not (cells == 0 and j == 32):
                    continue
                r = (2e6, 4e6, 8e6)[int(next(rnd) * 3) % 3]
                L.append(f"R{k}_{j} in{j} m{k} {r:.3e}")
                cells += 1
            L += [f"C{k} m{k} 0 1p", f"S{k} m{k} 0 m{k} 0 rst"]
    else:
        raise SystemExit(f"unknown family '{family}' (have {', '.join(FAMILIES)})")
    nodes = [(k, spike_node.format(k=k)) for k in watched(n)]
    L.insert(1, "* spikes: " + " ".join(f"{nd}:{th}" for _, nd in nodes))
    L += meas_lines(nodes, th)
    tm = tmax if tmax is not None else default_tmax
    if reltol:
        L.append(f".options reltol={reltol}")
    L += [f".tran 1n {tstop}" + ("" if tm in (None, "none") else f" 0 {tm}"), ".end"]
    return "\n".join(L) + "\n"


def main():
    a = sys.argv[1:]
    if "--list" in a:
        print("\n".join(FAMILIES))
        return
    opt = {}
    for key in ("--tstop", "--tmax", "--reltol"):
        if key in a:
            i = a.index(key)
            opt[key[2:]] = a[i + 1]
            del a[i:i + 2]
    if len(a) != 3:
        sys.exit(__doc__)
    text = gen(a[0], int(a[1]), opt.get("tstop", "2u"), opt.get("tmax"), opt.get("reltol"))
    with open(a[2], "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
