//! Runs a circuit's analyses: structural checks, splitting into decoupled parts (each with its
//! own time steps), operating point, DC sweeps and transient, collected into tables.

use crate::circuit::{Analysis, Circuit, SweepTarget};
use crate::devices::DeviceOps;
use crate::error::{Error, Result};
use crate::netlist::{ElabOptions, Netlist};
use crate::solver::op::operating_point;
use crate::solver::system::{Stats, System};
use crate::solver::tran::{Recorder, TranSpec, transient};
use rayon::prelude::*;

/// A result table: named columns (the first is the independent variable) and rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub names: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.names.iter().position(|n| n == name)?;
        Some(self.rows.iter().map(|r| r[k]).collect())
    }
}

/// Everything a run produces.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Operating point (of .op or the transient's initial point): (signal, value).
    pub op: Option<Vec<(String, f64)>>,
    pub dc: Option<Table>,
    pub tran: Option<Table>,
    pub stats: Stats,
    pub parts: usize,
    /// Spike trains of the probed nodes (transient only), in the order they were asked for.
    pub spikes: Vec<SpikeTrain>,
}

/// Rising threshold crossings of one node, located by the event machinery.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SpikeTrain {
    /// Signal name, `v(node)`.
    pub node: String,
    /// Threshold [V].
    pub threshold: f64,
    /// Crossing times [s].
    pub times: Vec<f64>,
}

impl SpikeTrain {
    /// (count, first spike, mean inter-spike interval, its standard deviation); NaN where
    /// undefined.
    pub fn stats(&self) -> (usize, f64, f64, f64) {
        let n = self.times.len();
        let first = self.times.first().copied().unwrap_or(f64::NAN);
        if n < 2 {
            return (n, first, f64::NAN, f64::NAN);
        }
        let isi: Vec<f64> = self.times.windows(2).map(|w| w[1] - w[0]).collect();
        let m = isi.iter().sum::<f64>() / isi.len() as f64;
        let var = if isi.len() > 1 {
            isi.iter().map(|d| (d - m) * (d - m)).sum::<f64>() / (isi.len() - 1) as f64
        } else {
            0.0
        };
        (n, first, m, var.sqrt())
    }
}

/// What to keep from a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub save: Save,
    /// Nodes to record spikes on, with their thresholds [V].
    pub spikes: Vec<(String, f64)>,
}

/// Solver state kept between runs of circuits with the same structure (sweep points, Monte
/// Carlo runs): one system per decoupled part, whose symbolic factorisation new runs share.
#[derive(Default)]
pub struct PartCache {
    systems: Vec<Option<System>>,
}

/// Which signals to keep.
#[derive(Debug, Clone)]
pub enum Save {
    All,
    List(Vec<String>),
}

/// Disjoint sets over unknowns (connectivity checks and partitioning).
struct Uf {
    p: Vec<usize>,
}

impl Uf {
    fn new(n: usize) -> Self {
        Uf {
            p: (0..n).collect(),
        }
    }
    fn find(&mut self, mut k: usize) -> usize {
        while self.p[k] != k {
            self.p[k] = self.p[self.p[k]];
            k = self.p[k];
        }
        k
    }
    /// Joins the sets of a and b; false if they were already joined.
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.p[ra.max(rb)] = ra.min(rb);
        true
    }
}

/// Finds nodes without a DC path to ground and loops of voltage sources/inductors.
pub fn check_structure(c: &Circuit, need_dc_path: bool) -> Result<()> {
    let nn = c.n_nodes + 1;
    let mut vloop = Uf::new(nn);
    for d in &c.devices {
        if let Some((a, b)) = d.dev.voltage_branch()
            && !vloop.union(a, b)
        {
            return Err(Error::netlist(format!("'{}' closes a loop of voltage sources and/or inductors between nodes '{}' and '{}' (the loop current is undetermined)", d.name, c.names[a], c.names[b]), Some(&d.loc)).with_note("a loop of voltage sources makes the matrix singular; add a small series resistance"));
        }
    }
    if !need_dc_path {
        return Ok(());
    }
    let mut uf = Uf::new(nn);
    let mut t = Vec::new();
    for d in &c.devices {
        t.clear();
        d.dev.dc_path(&mut t);
        for w in t.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    for k in 1..nn {
        if uf.find(k) != uf.find(0) {
            return Err(Error::netlist(format!("node '{}' has no DC path to ground", c.names[k]), c.node_loc.get(k).and_then(|l| l.as_ref())).with_note("every node needs a DC path to ground (a capacitor or current source alone is not one); add a large resistor to ground"));
        }
    }
    Ok(())
}

/// A decoupled part of a circuit: its own numbering and the global index of each unknown.
pub struct Part {
    pub circuit: Circuit,
    pub global: Vec<usize>,
}

/// Splits a circuit into parts that share no unknown (ground excluded).
pub fn split(c: &Circuit) -> Vec<Part> {
    let n = c.n();
    let mut uf = Uf::new(n + 1);
    let mut t = Vec::new();
    for d in &c.devices {
        t.clear();
        d.dev.terminals(&mut t);
        t.retain(|&k| k != 0);
        for w in t.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    let mut comp_of = vec![usize::MAX; n + 1];
    let mut parts: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (unknowns, devices)
    for k in 1..=n {
        let r = uf.find(k);
        if comp_of[r] == usize::MAX {
            comp_of[r] = parts.len();
            parts.push((vec![], vec![]));
        }
        parts[comp_of[r]].0.push(k);
    }
    let mut orphan = Vec::new();
    for (i, d) in c.devices.iter().enumerate() {
        t.clear();
        d.dev.terminals(&mut t);
        match t.iter().find(|&&k| k != 0) {
            Some(&k) => parts[comp_of[uf.find(k)]].1.push(i),
            None => orphan.push(i),
        }
    }
    if parts.is_empty() {
        parts.push((vec![], vec![]));
    }
    let mut out = Vec::new();
    for (unknowns, devs) in parts {
        // nodes first, then branches, keeping the global order
        let mut local = vec![0usize; n + 1];
        let mut global = vec![0usize];
        let mut names = vec!["0".to_string()];
        let mut node_loc = vec![None];
        let mut n_nodes = 0;
        for &k in unknowns.iter().filter(|&&k| k <= c.n_nodes) {
            global.push(k);
            local[k] = global.len() - 1;
            names.push(c.names[k].clone());
            node_loc.push(c.node_loc.get(k).cloned().flatten());
            n_nodes += 1;
        }
        for &k in unknowns.iter().filter(|&&k| k > c.n_nodes) {
            global.push(k);
            local[k] = global.len() - 1;
            names.push(c.names[k].clone());
            node_loc.push(None);
        }
        let mut devices = Vec::new();
        for &i in &devs {
            let mut d = c.devices[i].clone();
            d.dev.renumber(&local);
            devices.push(d);
        }
        let ic =
            c.ic.iter()
                .filter(|(k, _)| local[*k] != 0)
                .map(|&(k, v)| (local[k], v))
                .collect();
        let circuit = Circuit {
            title: c.title.clone(),
            names,
            n_nodes,
            devices,
            node_loc,
            analyses: vec![],
            options: c.options.clone(),
            ic,
            warnings: vec![],
        };
        out.push(Part { circuit, global });
    }
    let _ = orphan;
    out
}

/// The output name of global unknown k (ngspice's naming: `v(x1.n)`, `i(v1)`, `i(v.x1.v1)`).
pub fn signal_name(c: &Circuit, k: usize) -> String {
    if k <= c.n_nodes {
        return format!("v({})", c.names[k]);
    }
    let n = &c.names[k];
    match n.rsplit_once('.') {
        Some((_, last)) => format!("i({}.{})", last.chars().next().unwrap_or('v'), n),
        None => format!("i({n})"),
    }
}

/// The unknowns to write, in output order.
pub fn saved_unknowns(c: &Circuit, save: &Save) -> Result<Vec<usize>> {
    let all: Vec<usize> = (1..=c.n()).filter(|&k| !c.names[k].contains('#')).collect();
    match save {
        Save::All => Ok(all),
        Save::List(list) => {
            let mut out = Vec::new();
            for s in list {
                let s = s.trim().to_ascii_lowercase();
                if s.is_empty() || s == "none" {
                    continue;
                }
                match (1..=c.n()).find(|&k| {
                    signal_name(c, k) == s || (k > c.n_nodes && format!("i({})", c.names[k]) == s)
                }) {
                    Some(k) => out.push(k),
                    None => {
                        return Err(Error::usage(format!(
                            "--save: no signal '{s}' in the circuit (signals look like v(node) or i(vsource))"
                        )));
                    }
                }
            }
            Ok(out)
        }
    }
}

struct PartRec {
    cols: Vec<usize>,
    times: Vec<f64>,
    vals: Vec<f64>,
    init: Vec<f64>,
    spikes: Vec<Vec<f64>>,
}

impl Recorder for PartRec {
    fn point(&mut self, t: f64, x: &[f64]) {
        // a part with no saved signal keeps nothing (its time points would only cost memory)
        if self.cols.is_empty() {
            return;
        }
        self.times.push(t);
        self.vals.extend(self.cols.iter().map(|&k| x[k]));
    }
    fn initial(&mut self, x: &[f64]) {
        self.init = x.to_vec();
    }
    fn spike(&mut self, k: usize, t: f64) {
        self.spikes[k].push(t);
    }
}

/// Runs every analysis of the circuit. `nl` (the parsed netlist the circuit came from) is
/// needed only for `.dc` sweeps of a `.param`, which re-elaborate the values per point.
pub fn run(c: &Circuit, save: &Save, nl: Option<&Netlist>) -> Result<RunResult> {
    run_with(
        c,
        &RunOptions {
            save: save.clone(),
            spikes: vec![],
        },
        nl,
        &mut PartCache::default(),
    )
}

/// `run` with spike probes and a cache of solver structure shared between runs.
pub fn run_with(
    c: &Circuit,
    ro: &RunOptions,
    nl: Option<&Netlist>,
    cache: &mut PartCache,
) -> Result<RunResult> {
    let save = &ro.save;
    if c.analyses.is_empty() {
        return Err(Error::netlist(
            "no analysis in the netlist: add .op, .dc or .tran",
            nl.map(|n| &n.title_loc),
        ));
    }
    let uic_only = c
        .analyses
        .iter()
        .all(|(a, _)| matches!(a, Analysis::Tran { uic: true, .. }));
    check_structure(c, !uic_only)?;
    let saved = saved_unknowns(c, save)?;
    let mut res = RunResult::default();
    let parts = split(c);
    res.parts = parts.len();
    for (a, loc) in &c.analyses {
        let r = match a {
            Analysis::Op => run_op(c, &parts).map(|op| res.op = Some(op)),
            Analysis::Dc(_) => run_dc(c, a, &saved, nl).map(|t| res.dc = Some(t)),
            Analysis::Tran {
                tstep,
                tstop,
                tstart,
                tmax,
                uic,
            } => {
                let spec = TranSpec {
                    tstep: *tstep,
                    tstop: *tstop,
                    tstart: *tstart,
                    tmax: *tmax,
                    uic: *uic,
                    ic: vec![],
                    probes: vec![],
                };
                run_tran(c, &parts, &spec, &saved, &ro.spikes, cache, &mut res)
            }
        };
        r.map_err(|e| e.with_loc(Some(&loc.line_only())))?;
    }
    Ok(res)
}

fn op_pairs(c: &Circuit, x: &[f64]) -> Vec<(String, f64)> {
    (1..=c.n())
        .filter(|&k| !c.names[k].contains('#'))
        .map(|k| (signal_name(c, k), x[k]))
        .collect()
}

fn run_op(c: &Circuit, parts: &[Part]) -> Result<Vec<(String, f64)>> {
    let mut xg = vec![0.0; c.n() + 1];
    for p in parts {
        let mut sys = System::new(&p.circuit)?;
        let mut x = vec![0.0; p.circuit.n() + 1];
        operating_point(&mut sys, &mut x, ".op")?;
        for (l, &g) in p.global.iter().enumerate().skip(1) {
            xg[g] = x[l];
        }
    }
    Ok(op_pairs(c, &xg))
}

fn run_dc(c: &Circuit, a: &Analysis, saved: &[usize], nl: Option<&Netlist>) -> Result<Table> {
    let Analysis::Dc(sweeps) = a else {
        return Ok(Table::default());
    };
    let mut names: Vec<String> = sweeps.iter().map(|s| s.name.clone()).collect();
    names.extend(saved.iter().map(|&k| signal_name(c, k)));
    let mut rows = Vec::new();
    let inner = sweeps[0].values();
    let outer = sweeps
        .get(1)
        .map(|s| s.values())
        .unwrap_or_else(|| vec![f64::NAN]);
    let base = System::new(c)?;
    let mut sys = System::new(c)?;
    let mut x = vec![0.0; c.n() + 1];
    let mut first = true;
    for &vo in &outer {
        for &vi in &inner {
            let overrides: Vec<(String, f64)> = sweeps
                .iter()
                .zip([vi, vo])
                .filter_map(|(s, v)| match &s.target {
                    SweepTarget::Param(p) if !v.is_nan() => Some((p.clone(), v)),
                    _ => None,
                })
                .collect();
            if !overrides.is_empty() {
                let Some(nl) = nl else {
                    return Err(Error::netlist(
                        ".dc over a parameter needs the parsed netlist".to_string(),
                        None,
                    ));
                };
                let pc = crate::netlist::elaborate(
                    nl,
                    ElabOptions {
                        overrides,
                        random: None,
                    },
                )?;
                let temp = sys.opts.temp;
                sys = base.with_devices(&pc)?;
                sys.opts.temp = temp;
            }
            for (s, v) in sweeps.iter().zip([vi, vo]) {
                if v.is_nan() {
                    continue;
                }
                match &s.target {
                    SweepTarget::Source(k) => sys.devs[*k].dev.set_dc(v),
                    SweepTarget::Temp => sys.opts.temp = v,
                    SweepTarget::Param(_) => {}
                }
            }
            // continuation from the previous point, as ngspice does
            if first {
                operating_point(&mut sys, &mut x, ".dc")?;
                first = false;
            } else {
                let ctx = crate::solver::system::NewtonCtx {
                    time: 0.0,
                    dc: true,
                    a0: 0.0,
                    hist: None,
                    gshunt: 0.0,
                    src_fact: 1.0,
                    init_junctions: false,
                    max_iter: c.options.itl1,
                };
                if sys.newton(&mut x, &ctx).is_err() {
                    operating_point(&mut sys, &mut x, ".dc")?;
                }
            }
            let mut row = vec![vi];
            if !vo.is_nan() {
                row.push(vo);
            }
            row.extend(saved.iter().map(|&k| x[k]));
            rows.push(row);
        }
    }
    Ok(Table { names, rows })
}

fn run_tran(
    c: &Circuit,
    parts: &[Part],
    spec: &TranSpec,
    saved: &[usize],
    spikes: &[(String, f64)],
    cache: &mut PartCache,
    res: &mut RunResult,
) -> Result<()> {
    // which saved unknowns live in which part
    let mut owner = vec![(usize::MAX, 0usize); c.n() + 1];
    for (pi, p) in parts.iter().enumerate() {
        for (l, &g) in p.global.iter().enumerate().skip(1) {
            owner[g] = (pi, l);
        }
    }
    // spike probes: node -> (part, local unknown)
    let mut probes = Vec::new();
    for (name, th) in spikes {
        let n = name.trim().to_ascii_lowercase();
        let node = n
            .strip_prefix("v(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(&n)
            .to_string();
        match c.node(&node) {
            Some(k) if k > 0 => probes.push((owner[k].0, owner[k].1, format!("v({node})"), *th)),
            _ => {
                return Err(Error::usage(format!(
                    "--spikes: no node '{node}' in the circuit"
                )));
            }
        }
    }
    if cache.systems.len() != parts.len() {
        cache.systems = (0..parts.len()).map(|_| None).collect();
    }
    let cached: Vec<Option<System>> = std::mem::take(&mut cache.systems);
    let one_part =
        |(pi, (p, base)): (usize, (&Part, Option<System>))| -> Result<(PartRec, Stats, System)> {
            let cols: Vec<usize> = saved
                .iter()
                .filter(|&&g| owner[g].0 == pi)
                .map(|&g| owner[g].1)
                .collect();
            let mut sys = match base {
                Some(mut b) => {
                    if b.reuse_for(&p.circuit) {
                        b
                    } else {
                        b.with_devices(&p.circuit)?
                    }
                }
                None => System::new(&p.circuit)?,
            };
            let mine: Vec<(usize, f64)> = probes
                .iter()
                .filter(|pr| pr.0 == pi)
                .map(|pr| (pr.1, pr.3))
                .collect();
            let mut rec = PartRec {
                cols,
                times: vec![],
                vals: vec![],
                init: vec![],
                spikes: vec![vec![]; mine.len()],
            };
            let spec = TranSpec {
                ic: p.circuit.ic.clone(),
                probes: mine,
                ..spec.clone()
            };
            transient(&mut sys, &spec, &mut rec)?;
            let st = sys.stats.clone();
            Ok((rec, st, sys))
        };
    // one part runs on the calling thread (a sweep point or Monte Carlo run is already one task
    // of a parallel loop, and a lone circuit gains nothing from the pool)
    let results: Vec<Result<(PartRec, Stats, System)>> = if parts.len() == 1 {
        parts.iter().zip(cached).enumerate().map(one_part).collect()
    } else {
        parts
            .par_iter()
            .zip(cached.into_par_iter())
            .enumerate()
            .map(one_part)
            .collect()
    };
    let mut recs = Vec::new();
    let mut xg = vec![0.0; c.n() + 1];
    let mut bases = Vec::with_capacity(parts.len());
    for (pi, r) in results.into_iter().enumerate() {
        let (rec, st, base) = r?;
        bases.push(Some(base));
        res.stats.newton_iterations += st.newton_iterations;
        res.stats.factorizations += st.factorizations;
        res.stats.accepted_steps += st.accepted_steps;
        res.stats.rejected_steps += st.rejected_steps;
        res.stats.events += st.events;
        for (l, &g) in parts[pi].global.iter().enumerate().skip(1) {
            if l < rec.init.len() {
                xg[g] = rec.init[l];
            }
        }
        recs.push(rec);
    }
    cache.systems = bases;
    // spike trains, in the order asked
    let mut seen = vec![0usize; parts.len()];
    for (pi, _, name, th) in &probes {
        let k = seen[*pi];
        seen[*pi] += 1;
        res.spikes.push(SpikeTrain {
            node: name.clone(),
            threshold: *th,
            times: recs[*pi].spikes[k].clone(),
        });
    }
    if res.op.is_none() {
        res.op = Some(op_pairs(c, &xg));
    }
    // merge onto the union of the time grids of parts that hold saved signals
    let active: Vec<usize> = (0..recs.len())
        .filter(|&i| !recs[i].cols.is_empty())
        .collect();
    let mut grid: Vec<f64> = if active.len() == 1 {
        recs[active[0]].times.clone()
    } else {
        active
            .iter()
            .flat_map(|&i| recs[i].times.iter().copied())
            .collect()
    };
    grid.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    grid.dedup();
    let mut names = vec!["time".to_string()];
    names.extend(saved.iter().map(|&k| signal_name(c, k)));
    let mut rows: Vec<Vec<f64>> = grid
        .iter()
        .map(|&t| {
            let mut r = Vec::with_capacity(saved.len() + 1);
            r.push(t);
            r
        })
        .collect();
    // column position of each saved unknown
    for &g in saved {
        let (pi, l) = owner[g];
        let rec = &recs[pi];
        let j = rec.cols.iter().position(|&x| x == l).unwrap_or(0);
        let w = rec.cols.len();
        let mut seg = 0usize;
        for (ri, &t) in grid.iter().enumerate() {
            while seg + 1 < rec.times.len() && rec.times[seg + 1] < t {
                seg += 1;
            }
            let v = if rec.times.is_empty() {
                0.0
            } else if seg + 1 >= rec.times.len() || t <= rec.times[seg] {
                rec.vals[seg * w + j]
            } else {
                let (t0, t1) = (rec.times[seg], rec.times[seg + 1]);
                let (v0, v1) = (rec.vals[seg * w + j], rec.vals[(seg + 1) * w + j]);
                if t1 == t0 {
                    v1
                } else {
                    v0 + (v1 - v0) * (t - t0) / (t1 - t0)
                }
            };
            rows[ri].push(v);
        }
    }
    res.tran = Some(Table { names, rows });
    Ok(())
}
