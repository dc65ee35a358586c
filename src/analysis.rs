//! Runs a circuit's analyses: structural checks (`check`), splitting into decoupled parts
//! with their own time steps (`part`), operating point, DC sweeps and transient, collected
//! into tables (`result`). The analyses see only the circuit: a `.dc` over a `.param` gets
//! each point's circuit from the circuit's own `Rebuild`.

mod check;
mod part;
mod result;

pub use check::check_structure;
pub use part::{Part, PartCache, split};
pub use result::{
    AcTable, RunOptions, RunResult, Save, SpikeTrain, Table, saved_unknowns, signal_name,
};

use crate::circuit::{Analysis, Circuit, Signal, SweepTarget};
use crate::devices::DeviceOps;
use crate::error::{Error, Result};
use crate::solver::op::operating_point;
use crate::solver::system::{Stats, System};
use crate::solver::tran::{Recorder, TranSpec, transient};
use rayon::prelude::*;

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

/// Runs every analysis of the circuit.
pub fn run(c: &Circuit, save: &Save) -> Result<RunResult> {
    run_with(
        c,
        &RunOptions {
            save: save.clone(),
            spikes: vec![],
        },
        &mut PartCache::default(),
    )
}

/// `run` with spike probes and a cache of solver structure shared between runs.
pub fn run_with(c: &Circuit, ro: &RunOptions, cache: &mut PartCache) -> Result<RunResult> {
    let save = &ro.save;
    if c.analyses.is_empty() {
        return Err(Error::netlist(
            "no analysis in the netlist: add .op, .dc, .tran or .ac",
            c.title_loc.as_ref(),
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
            Analysis::Dc(_) => run_dc(c, a, &saved).map(|t| res.dc = Some(t)),
            Analysis::Ac(sw) => run_ac(c, sw, &saved).map(|t| res.ac = Some(t)),
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
        .filter_map(|k| c.signal(k).map(|s| (s.to_string(), x[k])))
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

/// `.ac`: the operating point of the whole circuit, then the complex solves per frequency.
fn run_ac(c: &Circuit, sw: &crate::circuit::AcSweep, saved: &[usize]) -> Result<AcTable> {
    let mut sys = System::new(c)?;
    let mut x = vec![0.0; c.n() + 1];
    operating_point(&mut sys, &mut x, ".ac")?;
    let freqs = sw.freqs(c.options.reltol);
    let vals = crate::solver::ac::ac_sweep(&mut sys, &x, &freqs, saved)?;
    let mut names = vec!["frequency".to_string()];
    names.extend(saved.iter().map(|&k| signal_name(c, k)));
    Ok(AcTable { names, freqs, vals })
}

fn run_dc(c: &Circuit, a: &Analysis, saved: &[usize]) -> Result<Table> {
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
                let Some(rebuild) = &c.rebuild else {
                    return Err(Error::netlist(
                        ".dc over a parameter needs the circuit elaborated from its netlist"
                            .to_string(),
                        None,
                    ));
                };
                let pc = (rebuild.0)(&overrides)?;
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
                let ctx = crate::solver::system::NewtonCtx::dc(c.options.itl1, false);
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
        // `v(node)` or just the node's name
        let n = name.trim().to_ascii_lowercase();
        let node = match Signal::parse(&n) {
            Some(Signal::V(node)) => node,
            _ => n,
        };
        match c.node(&node) {
            Some(k) if k > 0 => {
                let name = Signal::V(node).to_string();
                probes.push((owner[k].0, owner[k].1, name, *th))
            }
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
