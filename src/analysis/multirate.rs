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

use super::check::Uf;
use super::part::{Part, held_sources};
use crate::circuit::Circuit;
use crate::devices::capacitor::Capacitor;
use crate::devices::sources::{ISource, VSource};
use crate::devices::waveform::Wave;
use crate::devices::{Device, DeviceOps, Inst};
use crate::error::Loc;
use std::sync::Arc;

/// The largest resistance that counts as rail wiring [ohm].
pub(super) const RAIL_OHMS: f64 = 100.0;
/// How many Newton tolerances a rail may move pointwise between converged sweeps (its means
/// over the run's largest step must stay within one).
pub(super) const POINT_SLACK: f64 = 10.0;
/// The most relaxation sweeps before falling back to the coupled solve.
pub(super) const MAX_SWEEPS: usize = 8;
/// From the third sweep on, the change must shrink at least by this factor per sweep (a
/// coupling the sweeps do not contract is left to the coupled solve early).
pub(super) const MIN_CONTRACTION: f64 = 0.75;
/// The change (in Newton tolerances) at which a bias hub's sweeps have converged: the loads'
/// currents follow a bias line with the gain of a square law (a millivolt moves a mirror's
/// current by percents), so the line is held ten times tighter than a rail.
pub(super) const BIAS_TOL: f64 = 0.1;
/// The fewest separate blocks that must couple into a bias hub.
pub(super) const MIN_FANOUT: usize = 4;
/// The most devices of a bias hub block (the hub is solved as one small circuit).
pub(super) const MAX_HUB_DEVICES: usize = 200;
/// The smallest companion capacitance [F] (a node whose loads hold no charge on it).
pub(super) const COMPANION_FLOOR: f64 = 1e-15;

/// A circuit torn at its rails or bias lines: the loads' circuit (torn nodes held by ghost
/// sources) and the hub block.
pub(super) struct Torn {
    /// The loads: the original circuit without the hub's devices, each torn node the loads
    /// touch held by a ghost source (its branch unknowns numbered after the original ones).
    pub loads: Circuit,
    /// Per torn node: its node (the same index in the original circuit and in `loads`) and
    /// the name of its ghost source.
    pub rails: Vec<(usize, String)>,
    /// Per torn node, the hub's current source drawing what the loads drew (rails) or their
    /// current at t = 0 (bias lines): a device index of the hub part's circuit (the hub part
    /// is returned beside the `Torn`).
    pub load_dev: Vec<usize>,
    /// Per torn node, its local unknown in the hub.
    pub hub_node: Vec<usize>,
    /// Bias lines (`tear_bias`): per torn node, the hub's companion devices; the hub is then
    /// integrated over the run like any part. `None`: charge-free rails, solved pointwise.
    pub companion: Option<Vec<Companion>>,
}

/// The companion of a torn bias node in the hub (see `tear_bias`): a capacitor `cap` from the
/// node to a node held by the source `wave`, whose waveform carries the previous sweep's node
/// voltage and the charge the loads drew.
#[derive(Clone, Copy)]
pub(super) struct Companion {
    pub cap: usize,
    pub wave: usize,
}

/// The ghost source's name for torn node `name` (no netlist device can be named so).
fn ghost_name(name: &str) -> String {
    format!("(rail {name})")
}

/// `c` without the devices `is_hub` marks, each node of `torn` held by a ghost source (its
/// branch unknown numbered after `c`'s), and the (node, ghost name) pairs.
fn loads_circuit(
    c: &Circuit,
    is_hub: &[bool],
    torn: &[usize],
    loc: &Loc,
) -> (Circuit, Vec<(usize, String)>) {
    let mut loads = Circuit {
        title: c.title.clone(),
        title_loc: None,
        names: c.names.clone(),
        internal: c.internal.clone(),
        n_nodes: c.n_nodes,
        devices: Vec::with_capacity(c.devices.len() + torn.len()),
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
            .filter(|(i, _)| !is_hub[*i])
            .map(|(_, d)| d.clone()),
    );
    let mut rails = Vec::new();
    for &r in torn {
        let name = ghost_name(&c.names[r]);
        let mut v = VSource::new(r, 0, None, sampled(vec![(0.0, 0.0)]));
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
    (loads, rails)
}

/// A sampled waveform (linear between its points).
fn sampled(points: Vec<(f64, f64)>) -> Wave {
    Wave::Sampled(Arc::new(points), Default::default())
}

/// How many parts of the loads' circuit hold a ghost source and something else.
fn fanout(loads: &Circuit) -> usize {
    super::split(loads)
        .iter()
        .filter(|p| {
            p.circuit
                .devices
                .iter()
                .any(|d| d.name.starts_with("(rail ") && p.circuit.devices.len() > 1)
        })
        .count()
}

/// The hub part: the unknowns `own` (sorted; torn nodes, internal nodes and branches), the
/// devices `devs` of `c`, copies of the held sources they reach, per torn node of `rails` a
/// current source, and with `companion` the companions of bias nodes (their nodes and
/// branches numbered globally from `next`).
#[allow(clippy::too_many_arguments)]
fn hub_part(
    c: &Circuit,
    held: &[Option<usize>],
    own: &[usize],
    devs: &[usize],
    rails: &[(usize, String)],
    companion: bool,
    mut next: usize,
    loc: &Loc,
) -> (
    Part<'static>,
    Vec<usize>,
    Vec<usize>,
    Option<Vec<Companion>>,
) {
    let nn = c.n_nodes;
    let mut nodes: Vec<usize> = own.iter().copied().filter(|&k| k <= nn).collect();
    let mut branches: Vec<usize> = own.iter().copied().filter(|&k| k > nn).collect();
    let mut out: Vec<Inst> = devs.iter().map(|&i| c.devices[i].clone()).collect();
    let mut t = Vec::new();
    let mut u = Vec::new();
    for &i in devs {
        t.clear();
        c.devices[i].dev.terminals(&mut t);
        for &k in &t {
            if k != 0
                && k <= nn
                && !nodes.contains(&k)
                && let Some(s) = held[k]
            {
                nodes.push(k);
                out.push(c.devices[s].clone());
                u.clear();
                c.devices[s].dev.terminals(&mut u);
                branches.extend(u.iter().copied().filter(|&b| b > nn));
            }
        }
    }
    nodes.sort_unstable();
    branches.sort_unstable();
    branches.dedup();
    let n_nodes = nodes.len() + if companion { rails.len() } else { 0 };
    let mut local = vec![0usize; c.n() + 1];
    let mut global = vec![0usize];
    let mut names = vec!["0".to_string()];
    for &k in &nodes {
        global.push(k);
        local[k] = global.len() - 1;
        names.push(c.names[k].clone());
    }
    // a companion's node, then (after the circuit's branches) its source's branch
    let comp_node: Vec<usize> = if companion {
        rails
            .iter()
            .map(|(_, name)| {
                global.push(next);
                next += 1;
                names.push(format!("{name} companion"));
                global.len() - 1
            })
            .collect()
    } else {
        vec![]
    };
    for &k in &branches {
        global.push(k);
        local[k] = global.len() - 1;
        names.push(c.names[k].clone());
    }
    for d in out.iter_mut() {
        d.dev.renumber(&local);
    }
    let mut load_dev = Vec::new();
    let mut hub_node = Vec::new();
    let mut comps = Vec::new();
    for (j, (r, name)) in rails.iter().enumerate() {
        load_dev.push(out.len());
        hub_node.push(local[*r]);
        out.push(Inst {
            name: format!("{name} load"),
            loc: loc.clone(),
            dev: Device::I(ISource::new(local[*r], 0, None, sampled(vec![(0.0, 0.0)]))),
        });
        if companion {
            let mut v = VSource::new(comp_node[j], 0, None, sampled(vec![(0.0, 0.0)]));
            global.push(next);
            next += 1;
            names.push(format!("{name} companion#branch"));
            v.br.k = global.len() - 1;
            comps.push(Companion {
                cap: out.len(),
                wave: out.len() + 1,
            });
            out.push(Inst {
                name: format!("{name} companion C"),
                loc: loc.clone(),
                dev: Device::C(Capacitor::new(
                    local[*r],
                    comp_node[j],
                    COMPANION_FLOOR,
                    None,
                )),
            });

            out.push(Inst {
                name: format!("{name} companion"),
                loc: loc.clone(),
                dev: Device::V(v),
            });
        }
    }
    let summed = global
        .iter()
        .enumerate()
        .map(|(l, &g)| l > n_nodes && g > nn && g <= c.n() && held[g].is_some())
        .collect();
    let hub_circuit = Circuit {
        title: c.title.clone(),
        title_loc: None,
        internal: vec![false; names.len()],
        node_loc: vec![None; n_nodes + 1],
        names,
        n_nodes,
        devices: out,
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
    (hub, load_dev, hub_node, companion.then_some(comps))
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
    torn_at(
        c,
        &held,
        &rail_nodes,
        &wire_dev,
        &is_wire,
        &rail_nodes,
        false,
    )
}

/// The torn circuit with the hub of unknowns `own` and devices `devs` (`is_hub` marks them),
/// the loads holding the nodes `torn` by ghosts; `None` unless that separates at least two
/// groups of loads. `bias`: the hub gets companions and is integrated (see `tear_bias`).
fn torn_at(
    c: &Circuit,
    held: &[Option<usize>],
    own: &[usize],
    devs: &[usize],
    is_hub: &[bool],
    torn: &[usize],
    bias: bool,
) -> Option<(Torn, Part<'static>)> {
    let loc = c.devices[*devs.first()?].loc.clone();
    let (loads, rails) = loads_circuit(c, is_hub, torn, &loc);
    // worth it only if the torn nodes join at least two separate groups of loads
    if fanout(&loads) < 2 {
        return None;
    }
    let next = loads.n() + 1;
    let (hub, load_dev, hub_node, companion) =
        hub_part(c, held, own, devs, &rails, bias, next, &loc);
    Some((
        Torn {
            loads,
            rails,
            load_dev,
            hub_node,
            companion,
        },
        hub,
    ))
}

/// Tears `c` at its bias lines: nodes that no source holds but many otherwise separate
/// blocks reach only through terminals without a DC path (MOSFET gates, capacitors, the
/// controlling inputs of switches and controlled sources, current sources).
///
/// The blocks are the channel-connected components: unknowns joined through the DC paths of
/// devices (`DeviceOps::dc_path`: resistors, switches, drain-source-bulk, diodes, sources),
/// cut at ground and at held nodes. A device belongs to the block its free terminals lie in;
/// one whose terminals lie in several (a MOSFET gated by another block's node, a coupling
/// capacitor) couples them weakly. A block is a **hub** when at least [`MIN_FANOUT`] other
/// blocks couple into it, it holds at most [`MAX_HUB_DEVICES`] devices and no more than
/// the devices that couple into it, and its own devices see no other block's nodes except
/// other hubs' (the hub circuit reads only its own and held nodes). `None` when no block
/// qualifies, a hub node carries an `.ic`, or tearing would not separate at least two
/// groups of loads.
pub(super) fn tear_bias(c: &Circuit) -> Option<(Torn, Part<'static>)> {
    let n = c.n();
    let nn = c.n_nodes;
    let held = held_sources(c);
    let free = |k: usize| k != 0 && held[k].is_none();
    let mut uf = Uf::new(n + 1);
    let mut t = Vec::new();
    for d in &c.devices {
        t.clear();
        d.dev.dc_path(&mut t);
        t.retain(|&k| free(k));
        for w in t.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    // per device: the blocks of its free terminals (home: the first; a device has DC paths
    // into one block at most, by construction)
    let mut blocks: Vec<Vec<usize>> = Vec::with_capacity(c.devices.len());
    let mut own = vec![0usize; n + 1]; // devices whose home block is this root
    let mut fanin = vec![0usize; n + 1]; // devices that couple into this root from another
    for d in &c.devices {
        t.clear();
        d.dev.dc_path(&mut t);
        let home = t.iter().find(|&&k| free(k)).map(|&k| uf.find(k));
        t.clear();
        d.dev.terminals(&mut t);
        let mut b: Vec<usize> = t
            .iter()
            .filter(|&&k| free(k))
            .map(|&k| uf.find(k))
            .collect();
        b.sort_unstable();
        b.dedup();
        if let Some(h) = home
            && let Some(p) = b.iter().position(|&x| x == h)
        {
            b.swap(0, p);
        }
        if let Some(&h) = b.first() {
            own[h] += 1;
            for &x in &b[1..] {
                fanin[x] += 1;
            }
        }
        blocks.push(b);
    }
    // distinct blocks coupling into each root
    let mut sources_in: Vec<Vec<usize>> = vec![vec![]; n + 1];
    for b in &blocks {
        if let Some(&h) = b.first() {
            for &x in &b[1..] {
                if fanin[x] >= MIN_FANOUT {
                    sources_in[x].push(h);
                }
            }
        }
    }
    let mut hub = vec![false; n + 1];
    for r in 1..=n {
        if fanin[r] >= MIN_FANOUT && own[r] <= MAX_HUB_DEVICES && own[r] <= fanin[r] {
            let s = &mut sources_in[r];
            s.sort_unstable();
            s.dedup();
            hub[r] = s.len() >= MIN_FANOUT;
        }
    }
    // a hub whose devices read another block's node is not a hub (to a fixpoint: dropping
    // one may disqualify another that read it)
    loop {
        let mut dropped = false;
        for b in &blocks {
            if let Some(&h) = b.first()
                && hub[h]
                && b[1..].iter().any(|&x| !hub[x])
            {
                hub[h] = false;
                dropped = true;
            }
        }
        if !dropped {
            break;
        }
    }
    let member: Vec<bool> = (0..=n).map(|k| free(k) && hub[uf.find(k)]).collect();
    let in_hub = |k: usize| member[k];
    let own_unknowns: Vec<usize> = (1..=n).filter(|&k| in_hub(k)).collect();
    if own_unknowns.is_empty() || c.ic.iter().any(|&(k, _)| in_hub(k)) {
        return None;
    }
    let mut is_hub = vec![false; c.devices.len()];
    let mut devs = Vec::new();
    let mut torn: Vec<usize> = Vec::new();
    for (i, (d, b)) in c.devices.iter().zip(&blocks).enumerate() {
        match b.first() {
            Some(&h) if hub[h] => {
                is_hub[i] = true;
                devs.push(i);
            }
            _ => {
                // a load: it may touch hub nodes, not a hub's branch, nor impose a voltage
                t.clear();
                d.dev.terminals(&mut t);
                for &k in &t {
                    if in_hub(k) {
                        if k > nn || d.dev.voltage_branch().is_some() {
                            return None;
                        }
                        torn.push(k);
                    }
                }
            }
        }
    }
    torn.sort_unstable();
    torn.dedup();
    torn_at(c, &held, &own_unknowns, &devs, &is_hub, &torn, true)
}

/// The companion waveform of a bias node (see `Torn::companion`): with the loads having
/// drawn the charge `charge(t)` since t = 0 (piecewise linear), `i0` their current at t = 0
/// (drawn by the hub's DC current source) and the node at `prev` in the last sweep, the hub's
/// capacitor `c` from the node to a source of waveform w(t) = prev(t) - (Q(t) - i0 t) / c
/// carries c d(v - prev)/dt + dQ/dt - i0: at the fixed point (v = prev) the hub sees exactly
/// what the loads drew, while between sweeps the capacitor stands in for the loads' own
/// capacitance on the node (the contraction factor becomes the error of that estimate
/// instead of the ratio of the loads' capacitance to the hub's). The charge enters exactly
/// at whatever steps the hub takes. Returns w on the union of both grids.
pub(super) fn companion_wave(
    charge: &[(f64, f64)],
    i0: f64,
    prev: &[(f64, f64)],
    c: f64,
) -> Vec<(f64, f64)> {
    let mut ts: Vec<f64> = Vec::with_capacity(charge.len() + prev.len());
    let (mut a, mut b) = (0, 0);
    loop {
        let x = match (charge.get(a), prev.get(b)) {
            (Some(p), Some(q)) if p.0 <= q.0 => {
                a += 1;
                p.0
            }
            (_, Some(q)) => {
                b += 1;
                q.0
            }
            (Some(p), None) => {
                a += 1;
                p.0
            }
            (None, None) => break,
        };
        if ts.last().is_none_or(|&l| x > l) {
            ts.push(x);
        }
    }
    let (mut kq, mut kp) = (0usize, 0usize);
    ts.iter()
        .map(|&t| {
            let q = at(charge, &mut kq, t);
            (t, at(prev, &mut kp, t) - (q - i0 * t) / c)
        })
        .collect()
}

/// The value at `t` of a piecewise-linear waveform (held outside its points); `k` is a
/// cursor for ascending `t`.
fn at(w: &[(f64, f64)], k: &mut usize, t: f64) -> f64 {
    while *k < w.len() && w[*k].0 < t {
        *k += 1;
    }
    match (k.checked_sub(1).and_then(|j| w.get(j)), w.get(*k)) {
        (Some(&(t0, v0)), Some(&(t1, v1))) if t1 > t0 => v0 + (v1 - v0) * (t - t0) / (t1 - t0),
        (_, Some(&(_, v1))) => v1,
        (Some(&(_, v0)), None) => v0,
        (None, None) => 0.0,
    }
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
