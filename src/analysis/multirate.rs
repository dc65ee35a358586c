//! Multirate by waveform relaxation at supply rails (issue 13, item 3).
//!
//! A *rail* is a node that low-ohm wiring (resistors of at most [`RAIL_OHMS`]) joins to an
//! ideal grounded voltage source's node or to ground, possibly through other rail nodes: a
//! supply rail with its wiring resistance. Every other device on a rail node is a *load*.
//! The rail nodes are torn out of the circuit: the loads see each rail node's voltage as an
//! input waveform (a "ghost" ideal source, so `part::split` cuts there and every group of loads
//! becomes its own part with its own time steps and events), and the *hub* block (the rail
//! nodes, their wiring and the sources it reaches) sees the loads as the current they drew
//! from the rail. The hub has no charge, so it is solved exactly at every time point of the
//! union of the parts' grids.
//!
//! The two are coupled by Gauss-Seidel waveform relaxation over the whole run as one window
//! (Lelarasmee, Ruehli, Sangiovanni-Vincentelli 1982; White et al., "Relaxation techniques
//! for the simulation of VLSI circuits", 1987): sweep 0 takes the unloaded rail; sweep k runs
//! every part against the rail of sweep k-1 and solves the hub with the currents they drew.
//! The sweeps stop when no rail voltage moved by more than reltol·|v| + vntol at any time
//! point of the new grid (the run's own Newton tolerance); each part's solution is then
//! that of its own step control against a rail within the Newton tolerance of the fixed
//! point. The contraction factor is about the rail resistance times the loads' conductance
//! (1 ohm and some microsiemens on the `rail` array), so two or three sweeps suffice where
//! the rule applies. Safeguards: at most [`MAX_SWEEPS`] sweeps, and from the third on the
//! change must at least halve per sweep; otherwise (and when a part fails to converge
//! against a rail waveform) the transient is rerun as the single coupled solve.
//! `.options nomultirate` (or `multirate=0`) turns the tearing off.

use super::part::{Part, held_sources};
use crate::circuit::Circuit;
use crate::devices::sources::{ISource, VSource};
use crate::devices::waveform::Wave;
use crate::devices::{Device, DeviceOps, Inst};
use std::sync::Arc;

/// The largest resistance that counts as rail wiring [ohm].
pub(super) const RAIL_OHMS: f64 = 100.0;
/// How many Newton tolerances a rail may move pointwise between converged sweeps (its means
/// over the run's largest step must stay within one).
pub(super) const POINT_SLACK: f64 = 10.0;
/// The most relaxation sweeps before falling back to the coupled solve.
pub(super) const MAX_SWEEPS: usize = 8;

/// A circuit torn at its rails: the loads' circuit (rail nodes held by ghost sources) and
/// the hub block.
pub(super) struct Torn {
    /// The loads: the original circuit without the rail wiring, each rail node held by a
    /// ghost source (its branch unknowns numbered after the original ones).
    pub loads: Circuit,
    /// Per rail: its node (the same index in the original circuit and in `loads`) and the
    /// name of its ghost source.
    pub rails: Vec<(usize, String)>,
    /// The hub's current source per rail drawing what the loads drew (a device index of the
    /// hub part's circuit; the hub part is returned beside the `Torn`).
    pub load_dev: Vec<usize>,
    /// Per rail, its local unknown in the hub.
    pub hub_node: Vec<usize>,
}

/// The ghost source's name for rail node `name` (no netlist device can be named so).
fn ghost_name(name: &str) -> String {
    format!("(rail {name})")
}

/// Tears `c` at its rails (see the module doc); `None` when it has none, or when tearing
/// them would not separate at least two groups of loads.
pub(super) fn tear(c: &Circuit) -> Option<(Torn, Part<'static>)> {
    let n = c.n();
    let nn = c.n_nodes;
    let held = held_sources(c);
    let anchor = |k: usize| k == 0 || (k <= nn && held[k].is_some());
    // rail wiring candidates: linear resistors of at most RAIL_OHMS between two nodes
    let wires: Vec<(usize, usize, usize)> = c
        .devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match &d.dev {
            Device::R(r) if r.g >= 1.0 / RAIL_OHMS && r.t.a != r.t.b => Some((i, r.t.a, r.t.b)),
            _ => None,
        })
        .filter(|&(_, a, b)| a <= nn && b <= nn)
        .collect();
    if wires.is_empty() {
        return None;
    }
    // rail nodes: reached from an anchor through wiring (a fixpoint: each pass adds a layer)
    let mut rail = vec![false; n + 1];
    loop {
        let mut grew = false;
        for &(_, a, b) in &wires {
            for (x, y) in [(a, b), (b, a)] {
                if !rail[y] && !anchor(y) && (anchor(x) || rail[x]) {
                    rail[y] = true;
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    let rail_nodes: Vec<usize> = (1..=nn).filter(|&k| rail[k]).collect();
    if rail_nodes.is_empty() || c.ic.iter().any(|&(k, _)| rail[k]) {
        return None;
    }
    // (the fixpoint made every non-anchor end of a wire on a rail a rail node)
    let wire_dev: Vec<usize> = wires
        .iter()
        .filter(|&&(_, a, b)| rail[a] || rail[b])
        .map(|w| w.0)
        .collect();
    let mut is_wire = vec![false; c.devices.len()];
    for &i in &wire_dev {
        is_wire[i] = true;
    }
    // a rail node whose current a device reads, or a wire another device's branch reads, is
    // not torn: every device must see only node voltages of the rail
    let mut t = Vec::new();
    for (i, d) in c.devices.iter().enumerate() {
        if is_wire[i] {
            continue;
        }
        t.clear();
        d.dev.terminals(&mut t);
        // an ideal voltage source or inductor from a rail node would make the ghost a loop
        if d.dev.voltage_branch().is_some() && t.iter().any(|&k| k <= nn && rail[k]) {
            return None;
        }
    }
    let loc = c.devices[wire_dev[0]].loc.clone();
    // the loads' circuit: no wiring, a ghost source on every rail node
    let mut loads = Circuit {
        title: c.title.clone(),
        title_loc: None,
        names: c.names.clone(),
        internal: c.internal.clone(),
        n_nodes: nn,
        devices: Vec::with_capacity(c.devices.len() + rail_nodes.len()),
        node_loc: c.node_loc.clone(),
        analyses: vec![],
        options: c.options.clone(),
        ic: c.ic.clone(),
        nodeset: c.nodeset.clone(),
        warnings: vec![],
        rebuild: None,
    };
    loads.devices.extend(
        c.devices
            .iter()
            .enumerate()
            .filter(|(i, _)| !is_wire[*i])
            .map(|(_, d)| d.clone()),
    );
    let mut rails = Vec::new();
    for &r in &rail_nodes {
        let name = ghost_name(&c.names[r]);
        let mut v = VSource::new(
            r,
            0,
            None,
            Wave::Sampled(Arc::new(vec![(0.0, 0.0)]), Default::default()),
        );
        loads.names.push(format!("{name}#branch"));
        loads.internal.push(false);
        v.br.k = loads.names.len() - 1;
        loads.devices.push(Inst {
            name: name.clone(),
            loc: loc.clone(),
            dev: Device::V(v),
        });
        rails.push((r, name));
    }
    // worth it only if the rails join at least two separate groups of loads
    let groups = super::split(&loads)
        .iter()
        .filter(|p| {
            p.circuit
                .devices
                .iter()
                .any(|d| d.name.starts_with("(rail ") && p.circuit.devices.len() > 1)
        })
        .count();
    if groups < 2 {
        return None;
    }
    // the hub: rail nodes, the anchors the wiring reaches and their sources
    let mut nodes: Vec<usize> = rail_nodes.clone();
    let mut devs: Vec<Inst> = wire_dev.iter().map(|&i| c.devices[i].clone()).collect();
    let mut branches = Vec::new();
    for &i in &wire_dev {
        t.clear();
        c.devices[i].dev.terminals(&mut t);
        for &k in &t {
            if k != 0
                && !rail[k]
                && !nodes.contains(&k)
                && let Some(s) = held[k]
            {
                nodes.push(k);
                devs.push(c.devices[s].clone());
                t.clear();
                c.devices[s].dev.terminals(&mut t);
                branches.extend(t.iter().copied().filter(|&b| b > nn));
                break;
            }
        }
    }
    nodes.sort_unstable();
    branches.sort_unstable();
    branches.dedup();
    let mut local = vec![0usize; n + 1];
    let mut global = vec![0usize];
    let mut names = vec!["0".to_string()];
    for &k in nodes.iter().chain(&branches) {
        global.push(k);
        local[k] = global.len() - 1;
        names.push(c.names[k].clone());
    }
    for d in devs.iter_mut() {
        d.dev.renumber(&local);
    }
    let mut load_dev = Vec::new();
    let mut hub_node = Vec::new();
    for (r, name) in &rails {
        load_dev.push(devs.len());
        hub_node.push(local[*r]);
        devs.push(Inst {
            name: format!("{name} load"),
            loc: loc.clone(),
            dev: Device::I(ISource::new(
                local[*r],
                0,
                None,
                Wave::Sampled(Arc::new(vec![(0.0, 0.0)]), Default::default()),
            )),
        });
    }
    let summed = global.iter().map(|&g| g > nn).collect();
    let hub_circuit = Circuit {
        title: c.title.clone(),
        title_loc: None,
        internal: vec![false; names.len()],
        node_loc: vec![None; nodes.len() + 1],
        names,
        n_nodes: nodes.len(),
        devices: devs,
        analyses: vec![],
        options: c.options.clone(),
        ic: vec![],
        nodeset: vec![],
        warnings: vec![],
        rebuild: None,
    };
    let hub = Part {
        circuit: std::borrow::Cow::Owned(hub_circuit),
        global,
        summed,
    };
    Some((
        Torn {
            loads,
            rails,
            load_dev,
            hub_node,
        },
        hub,
    ))
}

/// The sum of piecewise-linear waveforms (each a list of (t, value) with ascending times,
/// held before its first and after its last point) on the union of their time points.
pub(super) fn sum_waves(waves: &[(&[f64], Vec<f64>)]) -> Vec<(f64, f64)> {
    // per knot: the jump in value (a wave's first point) and the change of slope there
    let mut knots: Vec<(f64, f64, f64)> = Vec::new();
    for (ts, vs) in waves {
        let mut slope = 0.0;
        for (i, (&t, &v)) in ts.iter().zip(vs).enumerate() {
            let next = match (ts.get(i + 1), vs.get(i + 1)) {
                (Some(&t1), Some(&v1)) if t1 > t => (v1 - v) / (t1 - t),
                _ => 0.0,
            };
            let jump = if i == 0 { v } else { 0.0 };
            knots.push((t, jump, next - slope));
            slope = next;
        }
    }
    // (knots at equal times commute: an unstable sort needs no scratch copy)
    knots.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    let (mut value, mut slope, mut t_last) = (0.0f64, 0.0f64, f64::NEG_INFINITY);
    for (t, jump, ds) in knots {
        if t > t_last {
            if t_last.is_finite() {
                value += slope * (t - t_last);
            }
            out.push((t, value));
            t_last = t;
        }
        value += jump;
        slope += ds;
        if let Some(last) = out.last_mut() {
            last.1 = value;
        }
    }
    out
}

/// How far `new` strays from `old` (both piecewise linear, ascending times), in Newton
/// tolerances reltol·|v| + vntol: at each point of `new`, its distance from the range `old`
/// spans within `tau` of that time (the run locates events only to within `tau`, so a sharp
/// edge that moved by less than that has not changed); the largest over `new`'s points.
pub(super) fn change(
    new: &[(f64, f64)],
    old: &[(f64, f64)],
    tau: f64,
    reltol: f64,
    vntol: f64,
) -> f64 {
    let interp = |k: usize, t: f64| -> f64 {
        // old at t, with k the first point at or after t
        match (k.checked_sub(1).map(|j| old[j]), old.get(k)) {
            (Some((t0, v0)), Some(&(t1, v1))) if t1 > t0 => v0 + (v1 - v0) * (t - t0) / (t1 - t0),
            (_, Some(&(_, v1))) => v1,
            (Some((_, v0)), None) => v0,
            (None, None) => 0.0,
        }
    };
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut worst = 0.0f64;
    for &(t, v) in new {
        // old's points in [t - tau, t + tau] are old[lo..hi]
        while lo < old.len() && old[lo].0 < t - tau {
            lo += 1;
        }
        hi = hi.max(lo);
        while hi < old.len() && old[hi].0 <= t + tau {
            hi += 1;
        }
        let ends = [interp(lo, t - tau), interp(hi, t + tau)];
        let (mut a, mut b) = (ends[0].min(ends[1]), ends[0].max(ends[1]));
        for &(_, u) in &old[lo..hi] {
            a = a.min(u);
            b = b.max(u);
        }
        let d = if v < a {
            a - v
        } else if v > b {
            v - b
        } else {
            0.0
        };
        let scale = v.abs().max(a.abs()).max(b.abs());
        worst = worst.max(d / (reltol * scale + vntol));
    }
    worst
}

/// The integral of a piecewise-linear waveform from its first point to `t` (held flat
/// outside its points); `k` is the first point at or after `t` and `cum[k]` the integral up to
/// point k.
fn integral_to(w: &[(f64, f64)], cum: &[f64], t: f64) -> f64 {
    let k = w.partition_point(|p| p.0 < t);
    if k == 0 {
        return 0.0;
    }
    if k >= w.len() {
        let (tl, vl) = w[w.len() - 1];
        return cum[w.len() - 1] + vl * (t - tl);
    }
    let ((t0, v0), (t1, v1)) = (w[k - 1], w[k]);
    let vt = if t1 > t0 {
        v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    } else {
        v1
    };
    cum[k - 1] + 0.5 * (v0 + vt) * (t - t0)
}

/// How far the mean of `new` over each interval of `coarse` strays from the mean of `old`
/// over it, in Newton tolerances reltol·|mean| + vntol; the largest over the intervals.
pub(super) fn mean_change(
    new: &[(f64, f64)],
    old: &[(f64, f64)],
    coarse: &[f64],
    reltol: f64,
    vntol: f64,
) -> f64 {
    let cum = |w: &[(f64, f64)]| -> Vec<f64> {
        let mut c = Vec::with_capacity(w.len());
        let mut acc = 0.0;
        for (i, p) in w.iter().enumerate() {
            if i > 0 {
                let q = w[i - 1];
                acc += 0.5 * (p.1 + q.1) * (p.0 - q.0);
            }
            c.push(acc);
        }
        c
    };
    let (cn, co) = (cum(new), cum(old));
    let mut worst = 0.0f64;
    for g in coarse.windows(2) {
        let dt = g[1] - g[0];
        if dt <= 0.0 {
            continue;
        }
        let a = (integral_to(new, &cn, g[1]) - integral_to(new, &cn, g[0])) / dt;
        let b = (integral_to(old, &co, g[1]) - integral_to(old, &co, g[0])) / dt;
        worst = worst.max((a - b).abs() / (reltol * a.abs().max(b.abs()) + vntol));
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_measured_outside_the_time_tolerance() {
        let old = [(0.0, 1.0), (1.0, 1.0), (1.1, 0.0), (1.2, 1.0), (3.0, 1.0)];
        // the dip moved by 0.05: within tau = 0.1 no change, with tau = 0.01 a whole volt
        let new = [
            (0.0, 1.0),
            (1.05, 1.0),
            (1.15, 0.0),
            (1.25, 1.0),
            (3.0, 1.0),
        ];
        assert_eq!(change(&new, &old, 0.1, 1e-3, 0.0), 0.0);
        let c = change(&new, &old, 0.01, 1e-3, 0.0);
        assert!(c > 100.0, "{c}");
        // a level change counts in reltol units
        let up = [(0.0, 1.002), (3.0, 1.002)];
        let c = change(&up, &old[..2], 0.1, 1e-3, 0.0);
        assert!((c - 2.0 / 1.002).abs() < 1e-9, "{c}");
    }

    #[test]
    fn means_over_coarse_intervals() {
        let old = [(0.0, 1.0), (2.0, 1.0)];
        // a 1 V spike 0.01 wide: the mean over [0, 1] moves by 0.005
        let new = [
            (0.0, 1.0),
            (0.5, 1.0),
            (0.505, 2.0),
            (0.51, 1.0),
            (2.0, 1.0),
        ];
        let c = mean_change(&new, &old, &[0.0, 1.0, 2.0], 1e-3, 0.0);
        assert!((c - 0.005 / 1.005e-3).abs() < 1e-6, "{c}");
        assert_eq!(mean_change(&old, &old, &[0.0, 1.0, 2.0], 1e-3, 0.0), 0.0);
    }

    #[test]
    fn sums_on_the_union_grid() {
        let a = (&[0.0, 1.0, 3.0][..], vec![0.0, 2.0, 2.0]);
        let b = (&[0.0, 2.0][..], vec![1.0, 3.0]);
        let s = sum_waves(&[a, b]);
        let want = [(0.0, 1.0), (1.0, 4.0), (2.0, 5.0), (3.0, 5.0)];
        assert_eq!(s.len(), want.len());
        for (g, w) in s.iter().zip(want) {
            assert_eq!(g.0, w.0);
            assert!((g.1 - w.1).abs() < 1e-12, "{g:?} vs {w:?}");
        }
    }
}
