//! Runs a circuit's analyses: structural checks (`check`), splitting into decoupled parts
//! with their own time steps (`part`), operating point, DC sweeps and transient, collected
//! into tables (`result`). The analyses see only the circuit: a `.dc` over a `.param` gets
//! each point's circuit from the circuit's own `Rebuild`.

mod check;
mod multirate;
mod part;
mod result;
mod stream;

pub use check::check_structure;
pub use part::{MAX_PARTS, Part, PartCache, split};
pub use result::{
    AcTable, RowSink, RunOptions, RunResult, Save, SpikeTrain, Table, saved_unknowns, signal_name,
};

use crate::circuit::{Analysis, Circuit, Signal, SweepTarget};
use crate::devices::Device;
use crate::devices::DeviceOps;
use crate::devices::waveform::Wave;
use crate::error::{Error, Result};
use crate::solver::op::operating_point;
use crate::solver::system::{NewtonCtx, Stats, System};
use crate::solver::tran::{Recorder, TranSpec, transient};
use multirate::Torn;
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Where a part sends the points of its streamed signals.
enum PartOut<'s, 'd> {
    None,
    /// The only part with streamed signals writes rows straight to the sink.
    Direct(&'s Mutex<&'s mut (dyn RowSink + 'd)>),
    /// Several parts: each spills to a file, merged when all are done.
    Spill(stream::Spill),
}

struct PartRec<'s, 'd> {
    /// Kept in memory (measures, the returned table).
    cols: Vec<usize>,
    times: Vec<f64>,
    vals: Vec<f64>,
    init: Vec<f64>,
    spikes: Vec<Vec<f64>>,
    /// Streamed to the output.
    scols: Vec<usize>,
    out: PartOut<'s, 'd>,
    row: Vec<f64>,
    /// The first error of the stream (the run goes on; it is reported at the end).
    err: Option<Error>,
    /// Multirate: the branches of the part's ghost rail sources (local unknown, rail) and
    /// their currents at every accepted point.
    ghost: Vec<(usize, usize)>,
    gtimes: Vec<f64>,
    gvals: Vec<f64>,
    /// Bias nodes: per ghost its node, and per accepted point and ghost the loads' DC-path
    /// current and charge on it.
    gnode: Vec<usize>,
    gq: Vec<f64>,
}

impl Recorder for PartRec<'_, '_> {
    fn point(&mut self, t: f64, x: &[f64]) {
        if !self.scols.is_empty() && self.err.is_none() {
            let r = match &mut self.out {
                PartOut::None => Ok(()),
                PartOut::Direct(sink) => {
                    self.row.clear();
                    self.row.push(t);
                    self.row.extend(self.scols.iter().map(|&k| x[k]));
                    let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                    s.row(&self.row)
                }
                PartOut::Spill(sp) => sp.push(t, self.scols.iter().map(|&k| x[k])),
            };
            self.err = r.err();
        }
        // a part with no kept signal keeps nothing (its time points would only cost memory)
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
    fn step(&mut self, t: f64, x: &[f64], f: &[f64], q: &[f64]) {
        if !self.ghost.is_empty() {
            self.gtimes.push(t);
            self.gvals.extend(self.ghost.iter().map(|&(k, _)| x[k]));
            // a bias node's loads: the current of their DC paths (the node's residual less
            // the ghost's own branch) and their charge on the node
            for (&node, &(k, _)) in self.gnode.iter().zip(&self.ghost) {
                self.gq.push(f[node] - x[k]);
                self.gq.push(q[node]);
            }
        }
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
    run_inner(c, ro, cache, None)
}

/// [`run_with`], streaming the transient's `stream` signals to `sink` as its points are
/// accepted (the last `.tran` of the netlist, if several), so a long run's waveforms never
/// sit in memory: the returned result's transient table holds only `ro.save`'s signals (what
/// the measures read). With several decoupled parts, each part's points go to a temporary
/// file and are merged onto the union of their time grids when all are done, exactly as the
/// in-memory table would be.
pub fn run_streaming(
    c: &Circuit,
    ro: &RunOptions,
    stream: &Save,
    sink: &mut dyn RowSink,
    cache: &mut PartCache,
) -> Result<RunResult> {
    run_inner(c, ro, cache, Some((stream, sink)))
}

fn run_inner(
    c: &Circuit,
    ro: &RunOptions,
    cache: &mut PartCache,
    mut stream: Option<(&Save, &mut dyn RowSink)>,
) -> Result<RunResult> {
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
    let streamed = match &stream {
        Some((s, _)) => saved_unknowns(c, s)?,
        None => vec![],
    };
    let last_tran = c
        .analyses
        .iter()
        .rposition(|(a, _)| matches!(a, Analysis::Tran { .. }));
    let mut res = RunResult::default();
    let parts = split(c);
    res.parts = parts.len();
    for (ai, (a, loc)) in c.analyses.iter().enumerate() {
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
                    nodeset: vec![],
                    probes: vec![],
                    work: tran_work(c, *tstep, *tstop, *tstart, *tmax),
                };
                let out = match (&mut stream, Some(ai) == last_tran) {
                    (Some((_, sink)), true) => Some((streamed.as_slice(), &mut **sink)),
                    _ => None,
                };
                run_tran_parts(c, &parts, &spec, &saved, &ro.spikes, cache, &mut res, out)
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

/// Conductance that holds `.nodeset` nodes during the first operating-point solve [S].
const NODESET_PIN: f64 = 1e3;

/// The operating point of `.op`, `.dc` and `.ac` from the circuit's `.nodeset` guess, as
/// ngspice: first solved with the nodeset nodes held at their values through a
/// conductance, then released and solved again from there by Newton, so that a
/// bistable circuit settles in the state the guess selects. Without a nodeset, the plain
/// operating point.
fn op_from_nodeset(sys: &mut System, c: &Circuit, x: &mut [f64], what: &str) -> Result<()> {
    if c.nodeset.is_empty() {
        return operating_point(sys, x, what);
    }
    let held = std::mem::take(&mut sys.pins);
    sys.pins = c
        .nodeset
        .iter()
        .map(|&(k, v)| (k, v, NODESET_PIN))
        .collect();
    let r = operating_point(sys, x, what);
    sys.pins = held;
    if r.is_ok() {
        // released: Newton from the held solution, the junctions as they are there
        let ctx = crate::solver::system::NewtonCtx::dc(c.options.itl1, false);
        if sys.newton(x, &ctx).is_ok() {
            return Ok(());
        }
    }
    // the guess did not lead to a solution: the plain operating point
    x.fill(0.0);
    operating_point(sys, x, what)
}

fn run_op(c: &Circuit, parts: &[Part]) -> Result<Vec<(String, f64)>> {
    let mut xg = vec![0.0; c.n() + 1];
    // an operating point's Newton iterations are bounded; its work is charged so that a
    // `.control` loop of `op`s meets the session's limit
    let work = crate::budget::Work::default();
    for p in parts {
        let mut sys = System::new(&p.circuit)?;
        let mut x = vec![0.0; p.circuit.n() + 1];
        op_from_nodeset(&mut sys, &p.circuit, &mut x, ".op")?;
        let cost = crate::devices::iteration_cost(&sys.devs, sys.names.len(), sys.jf.len());
        let units = (sys.stats.newton_iterations + 1) as f64 * cost;
        work.charge(&mut Default::default(), units, 1.0, ".op")?;
        for (l, &g) in p.global.iter().enumerate().skip(1) {
            if p.summed[l] {
                xg[g] += x[l];
            } else {
                xg[g] = x[l];
            }
        }
    }
    Ok(op_pairs(c, &xg))
}

/// `.ac`: the operating point of the whole circuit, then the complex solves per frequency.
fn run_ac(c: &Circuit, sw: &crate::circuit::AcSweep, saved: &[usize]) -> Result<AcTable> {
    let mut sys = System::new(c)?;
    let mut x = vec![0.0; c.n() + 1];
    op_from_nodeset(&mut sys, c, &mut x, ".ac")?;
    let freqs = sw.freqs(c.options.reltol);
    // each frequency is one complex factorization and solve (about four real ones): the
    // whole sweep's work is known before the first
    let cost = crate::devices::iteration_cost(&sys.devs, sys.names.len(), sys.jf.len());
    crate::budget::Work::default().charge(
        &mut Default::default(),
        4.0 * cost * freqs.len() as f64,
        1.0,
        ".ac",
    )?;
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
    let work = crate::budget::Work::default();
    let mut account = crate::budget::Account::default();
    let total = (inner.len() * outer.len()) as f64;
    let mut done = 0usize;
    let mut cost = crate::devices::iteration_cost(&sys.devs, sys.names.len(), sys.jf.len());
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
            let newton = sys.stats.newton_iterations;
            // continuation from the previous point, as ngspice does
            if first {
                op_from_nodeset(&mut sys, c, &mut x, ".dc")?;
                first = false;
            } else {
                let ctx = crate::solver::system::NewtonCtx::dc(c.options.itl1, false);
                if sys.newton(&mut x, &ctx).is_err() {
                    operating_point(&mut sys, &mut x, ".dc")?;
                }
            }
            done += 1;
            // a point's Newton iterations; a rebuilt circuit also costs its elaboration
            if !overrides.is_empty() {
                cost = crate::devices::iteration_cost(&sys.devs, sys.names.len(), sys.jf.len());
            }
            let iters = sys.stats.newton_iterations.saturating_sub(newton);
            let rebuilt = if overrides.is_empty() { 0.0 } else { 1.0 };
            work.charge(
                &mut account,
                (iters as f64 + rebuilt) * cost,
                done as f64 / total,
                ".dc",
            )?;
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

/// For each unknown of `unknowns`, the (source, column) pairs whose sum is its merged value:
/// its holder's column plus the other parts' shares of a held source's current. `sources`
/// lists the parts in the order their points go to `stream::merge`; `cols(part)` the local
/// unknowns that part recorded, in column order.
fn merge_picks<'a>(
    unknowns: &[usize],
    owner: &[(usize, usize)],
    shares: &[Vec<(usize, usize)>],
    sources: &[usize],
    cols: impl Fn(usize) -> &'a [usize],
) -> Vec<Vec<(usize, usize)>> {
    unknowns
        .iter()
        .map(|&g| {
            std::iter::once(owner[g])
                .chain(shares[g].iter().copied())
                .filter(|&(pi, _)| pi != usize::MAX)
                .filter_map(|(pi, l)| {
                    let p = sources.iter().position(|&q| q == pi)?;
                    let j = cols(pi).iter().position(|&x| x == l)?;
                    Some((p, j))
                })
                .collect()
        })
        .collect()
}

/// One part's transient: its record, counters and system (kept for the next run or sweep).
type PartRun<'s, 'd> = Result<(PartRec<'s, 'd>, Stats, System)>;

/// Runs the transient of `parts` (each on its own, as rayon tasks), or with `relax` the
/// multirate relaxation of a torn circuit: part 0 is then the hub, the others its loads.
/// `Ok(false)`: the relaxation gave up (see `multirate`); the caller runs the coupled solve.
#[allow(clippy::too_many_arguments)]
fn run_tran<'d>(
    c: &Circuit,
    parts: &[Part],
    spec: &TranSpec,
    saved: &[usize],
    spikes: &[(String, f64)],
    cache: &mut PartCache,
    res: &mut RunResult,
    stream: Option<(&[usize], &mut (dyn RowSink + 'd))>,
    relax: Option<&Torn>,
) -> Result<bool> {
    // unknowns of the parts (a torn circuit's ghost branches come after the circuit's own)
    let nu = parts
        .iter()
        .flat_map(|p| p.global.iter().copied())
        .max()
        .unwrap_or(0)
        .max(c.n());
    // which saved unknowns live in which part
    let mut owner = vec![(usize::MAX, 0usize); nu + 1];
    // the other parts' shares of a summed unknown (a held source's current)
    let mut shares: Vec<Vec<(usize, usize)>> = vec![vec![]; nu + 1];
    for (pi, p) in parts.iter().enumerate() {
        for (l, &g) in p.global.iter().enumerate().skip(1) {
            if owner[g].0 == usize::MAX {
                owner[g] = (pi, l);
            } else if p.summed[l] {
                shares[g].push((pi, l));
            }
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
    // the hub is solved point by point, without probes
    if relax.is_some() && probes.iter().any(|p| p.0 == 0) {
        return Ok(false);
    }
    // streamed signals: the header now, then rows from the one part that holds them all, or
    // spill files merged at the end
    let (streamed, sink): (&[usize], Option<Mutex<&mut (dyn RowSink + 'd)>>) = match stream {
        Some((st, sink)) => {
            // a relaxation that gives up leaves the sink untouched: its header is written
            // once the sweeps have converged
            if relax.is_none() {
                sink.header(&stream_header(c, st))?;
            }
            (st, Some(Mutex::new(sink)))
        }
        None => (&[], None),
    };
    let mut stream_parts: Vec<usize> = streamed
        .iter()
        .flat_map(|&g| std::iter::once(owner[g].0).chain(shares[g].iter().map(|s| s.0)))
        .filter(|&pi| pi != usize::MAX)
        .collect();
    stream_parts.sort_unstable();
    stream_parts.dedup();
    // a relaxation sweep may be discarded: its rows go to spill files, never to the sink
    let direct = stream_parts.len() == 1 && relax.is_none();
    let cached: Vec<Option<System>> = if relax.is_some() {
        (0..parts.len()).map(|_| None).collect()
    } else {
        if cache.systems.len() != parts.len() {
            cache.systems = (0..parts.len()).map(|_| None).collect();
        }
        std::mem::take(&mut cache.systems)
    };
    let sink_ref = sink.as_ref();
    let new_rec = |pi: usize| -> Result<PartRec> {
        let pick = |g: usize| {
            if owner[g].0 == pi {
                Some(owner[g].1)
            } else {
                shares[g].iter().find(|s| s.0 == pi).map(|s| s.1)
            }
        };
        let cols: Vec<usize> = saved.iter().filter_map(|&g| pick(g)).collect();
        let scols: Vec<usize> = streamed.iter().filter_map(|&g| pick(g)).collect();
        let out = match sink_ref {
            Some(s) if direct && !scols.is_empty() => PartOut::Direct(s),
            Some(_) if !scols.is_empty() => PartOut::Spill(stream::Spill::new(scols.len())?),
            _ => PartOut::None,
        };
        let n_probes = probes.iter().filter(|pr| pr.0 == pi).count();
        Ok(PartRec {
            cols,
            times: vec![],
            vals: vec![],
            init: vec![],
            spikes: vec![vec![]; n_probes],
            scols,
            out,
            row: vec![],
            err: None,
            ghost: vec![],
            gtimes: vec![],
            gvals: vec![],
            gnode: vec![],
            gq: vec![],
        })
    };
    let one_part =
        |pi: usize, p: &Part, base: Option<System>, waves: &[Arc<Vec<(f64, f64)>>]| -> PartRun {
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
            sys.stats = Stats::default();
            let mine: Vec<(usize, f64)> = probes
                .iter()
                .filter(|pr| pr.0 == pi)
                .map(|pr| (pr.1, pr.3))
                .collect();
            let mut rec = new_rec(pi)?;
            // a torn circuit's load part: its ghost rail sources follow the last sweep's rails
            if let Some(torn) = relax {
                for d in sys.devs.iter_mut() {
                    if let Device::V(v) = &mut d.dev
                        && let Some(j) = torn.rails.iter().position(|r| r.1 == d.name)
                    {
                        v.value.wave = Wave::Sampled(waves[j].clone(), Default::default());
                        rec.ghost.push((v.br.k, j));
                        if torn.companion.is_some() {
                            rec.gnode.push(v.br.p);
                        }
                    }
                }
            }
            let spec = TranSpec {
                ic: p.circuit.ic.clone(),
                nodeset: p.circuit.nodeset.clone(),
                probes: mine,
                ..spec.clone()
            };
            transient(&mut sys, &spec, &mut rec)?;
            let st = sys.stats.clone();
            Ok((rec, st, sys))
        };
    let results: Vec<PartRun> = match relax {
        Some(torn) => match relax_sweeps(torn, parts, spec, cached, res, &new_rec, &one_part)? {
            Some(r) => r,
            None => {
                res.stats.relax_fallbacks += 1;
                return Ok(false);
            }
        },
        // one part runs on the calling thread (a sweep point or Monte Carlo run is already
        // one task of a parallel loop, and a lone circuit gains nothing from the pool)
        None if parts.len() == 1 => parts
            .iter()
            .zip(cached)
            .enumerate()
            .map(|(pi, (p, b))| one_part(pi, p, b, &[]))
            .collect(),
        None => parts
            .par_iter()
            .zip(cached.into_par_iter())
            .enumerate()
            .map(|(pi, (p, b))| one_part(pi, p, b, &[]))
            .collect(),
    };
    let mut recs = Vec::new();
    let mut xg = vec![0.0; nu + 1];
    let mut bases = Vec::with_capacity(parts.len());
    for (pi, r) in results.into_iter().enumerate() {
        let (mut rec, st, base) = r?;
        if let Some(e) = rec.err.take() {
            return Err(e);
        }
        bases.push(Some(base));
        res.stats.add(&st);
        for (l, &g) in parts[pi].global.iter().enumerate().skip(1) {
            if l < rec.init.len() {
                if parts[pi].summed[l] {
                    xg[g] += rec.init[l];
                } else {
                    xg[g] = rec.init[l];
                }
            }
        }
        recs.push(rec);
    }
    xg.truncate(c.n() + 1);
    if relax.is_none() {
        cache.systems = bases;
    } else {
        res.parts = parts.len();
        if let Some(sink) = &sink {
            let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
            sink.header(&stream_header(c, streamed))?;
        }
    }
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
    // the streamed signals of several parts: their spill files merged onto one grid
    if !direct
        && !stream_parts.is_empty()
        && let Some(sink) = &sink
    {
        let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
        let mut srcs = Vec::new();
        for &pi in &stream_parts {
            let PartOut::Spill(sp) = &mut recs[pi].out else {
                continue;
            };
            sp.close()?;
            srcs.push((sp.reader()?, sp.reader()?));
        }
        let picks = merge_picks(streamed, &owner, &shares, &stream_parts, |pi| {
            &recs[pi].scols
        });
        stream::merge(srcs, &picks, &mut |row| sink.row(row))?;
    }
    // the kept signals: merged onto the union of the time grids of the parts that hold them
    let active: Vec<usize> = (0..recs.len())
        .filter(|&i| !recs[i].cols.is_empty())
        .collect();
    let mut names = vec!["time".to_string()];
    names.extend(saved.iter().map(|&k| signal_name(c, k)));
    let srcs: Vec<_> = active
        .iter()
        .map(|&i| {
            let r = &recs[i];
            let mem = || stream::Points::Mem {
                times: &r.times,
                vals: &r.vals,
                w: r.cols.len(),
                i: 0,
            };
            (mem(), mem())
        })
        .collect();
    // per saved unknown: its holder's column plus the other parts' shares of a held source's
    // current, summed (each interpolated on its own time points)
    let picks = merge_picks(saved, &owner, &shares, &active, |pi| &recs[pi].cols);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    stream::merge(srcs, &picks, &mut |row| {
        rows.push(row.to_vec());
        Ok(())
    })?;
    res.tran = Some(Table { names, rows });
    Ok(true)
}

/// The header of a streamed transient: `time`, then the streamed signals.
fn stream_header(c: &Circuit, streamed: &[usize]) -> Vec<String> {
    let mut names = vec!["time".to_string()];
    names.extend(streamed.iter().map(|&k| signal_name(c, k)));
    names
}

/// The transient of a circuit split into `parts`: with multirate on (`.options multirate`,
/// the default) and rails to tear (`multirate::tear`), first the relaxation of the torn
/// circuit; the coupled parts when there is nothing to tear or the relaxation gives up.
#[allow(clippy::too_many_arguments)]
fn run_tran_parts<'d>(
    c: &Circuit,
    parts: &[Part],
    spec: &TranSpec,
    saved: &[usize],
    spikes: &[(String, f64)],
    cache: &mut PartCache,
    res: &mut RunResult,
    mut out: Option<(&[usize], &mut (dyn RowSink + 'd))>,
) -> Result<()> {
    if c.options.multirate
        && let Some((torn, hub)) = multirate::tear(c).or_else(|| {
            c.options
                .multirate_bias
                .then(|| multirate::tear_bias(c))
                .flatten()
        })
    {
        let mut mr = vec![hub];
        mr.extend(split(&torn.loads));
        let reborrowed = out.as_mut().map(|(s, k)| (*s, &mut **k));
        if run_tran(
            c,
            &mr,
            spec,
            saved,
            spikes,
            cache,
            res,
            reborrowed,
            Some(&torn),
        )? {
            return Ok(());
        }
    }
    run_tran(c, parts, spec, saved, spikes, cache, res, out, None).map(|_| ())
}

/// The multirate sweeps (see `multirate`): part 0 of `parts` is the hub, the others the
/// loads. `Some(runs)` (hub first) once the rails have converged; `None` to fall back.
fn relax_sweeps<'s, 'd>(
    torn: &Torn,
    parts: &[Part],
    spec: &TranSpec,
    mut bases: Vec<Option<System>>,
    res: &mut RunResult,
    new_rec: &(dyn Fn(usize) -> Result<PartRec<'s, 'd>> + Sync),
    one_part: &(
         dyn Fn(usize, &Part, Option<System>, &[Arc<Vec<(f64, f64)>>]) -> PartRun<'s, 'd> + Sync
     ),
) -> Result<Option<Vec<PartRun<'s, 'd>>>> {
    let nr = torn.rails.len();
    let mut load_bases: Vec<Option<System>> = bases.drain(1..).collect();
    let mut hub_sys = match bases.pop().flatten() {
        Some(b) => b,
        None => System::new(&parts[0].circuit)?,
    };
    hub_sys.stats = Stats::default();
    hub_sys.tstep = spec.tstep;
    hub_sys.tstop = spec.tstop;
    let (reltol, vntol) = (hub_sys.opts.reltol, hub_sys.opts.vntol);
    // sweep 0: the unloaded rail, on the run's largest step and the sources' corners
    let tmax = spec
        .tmax
        .unwrap_or_else(|| spec.tstep.min((spec.tstop - spec.tstart) / 50.0))
        .min(spec.tstop);
    let steps = (spec.tstop / tmax).ceil().clamp(1.0, 1e6) as usize;
    let mut grid: Vec<f64> = (0..=steps)
        .map(|k| (k as f64 * tmax).min(spec.tstop))
        .collect();
    for d in &hub_sys.devs {
        d.dev
            .breakpoints(0.0, spec.tstop, spec.tstep, spec.tstop, &mut grid);
    }
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let coarse = grid.clone();
    let unloaded: Vec<_> = (0..nr).map(|_| Arc::new(vec![(0.0, 0.0)])).collect();
    let mut rec = new_rec(0)?;
    // a bias hub: sweep 0 is its transient without loads; the companions' capacitance is
    // the loads' own on each node, read from their systems after sweep 1
    let mut cest = vec![multirate::COMPANION_FLOOR; nr];
    let first = match &torn.companion {
        Some(_) => solve_bias_hub(
            torn,
            &parts[0],
            &unloaded,
            &vec![0.0; nr],
            &unloaded,
            &cest,
            &mut rec,
            spec,
        )
        .ok()
        .map(|r| r.0),
        None => solve_hub(torn, &mut hub_sys, &unloaded, &grid, &mut rec, spec),
    };
    let Some(mut waves) = first else {
        return Ok(None);
    };
    let mut last = f64::INFINITY;
    for sweep in 1..=multirate::MAX_SWEEPS {
        res.stats.relax_sweeps += 1;
        let runs: Vec<PartRun> = parts[1..]
            .par_iter()
            .zip(load_bases.into_par_iter())
            .enumerate()
            .map(|(i, (p, b))| one_part(i + 1, p, b, &waves))
            .collect();
        let mut done = Vec::with_capacity(runs.len());
        for r in runs {
            match r {
                Ok(x) => done.push(x),
                // a load that fails against a rail waveform: the coupled solve decides
                Err(_) => return Ok(None),
            }
        }
        // the current the loads drew from each rail, on the union of their time points
        let loads: Vec<Arc<Vec<(f64, f64)>>> = (0..nr)
            .map(|j| {
                let mut w: Vec<(&[f64], Vec<f64>)> = Vec::new();
                for (r, _, _) in &done {
                    let width = r.ghost.len();
                    for (m, g) in r.ghost.iter().enumerate() {
                        if g.1 != j {
                            continue;
                        }
                        if r.gnode.is_empty() {
                            let i: Vec<f64> =
                                r.gvals.iter().skip(m).step_by(width).map(|v| -v).collect();
                            w.push((&r.gtimes, i));
                        } else {
                            // a bias node: the charge the loads drew since t = 0
                            w.push((&r.gtimes, drawn_charge(&r.gq, m, width, &r.gtimes)));
                        }
                    }
                }
                Arc::new(multirate::sum_waves(&w))
            })
            .collect();
        // the loads' currents are summed: their records are no longer needed
        let i0: Vec<f64> = (0..nr)
            .map(|j| {
                done.iter()
                    .flat_map(|(r, _, _)| {
                        r.ghost
                            .iter()
                            .enumerate()
                            .filter(move |(m, g)| g.1 == j && 2 * m < r.gq.len())
                            .map(|(m, _)| r.gq[2 * m])
                    })
                    .sum()
            })
            .collect();
        for (r, _, _) in done.iter_mut() {
            r.gtimes = Vec::new();
            r.gvals = Vec::new();
            r.gq = Vec::new();
        }
        let mut rec = new_rec(0)?;
        let new = if torn.companion.is_some() {
            if sweep == 1 {
                cest = load_capacitance(torn, &done);
            }
            match solve_bias_hub(torn, &parts[0], &loads, &i0, &waves, &cest, &mut rec, spec) {
                Ok((w, st, sys)) => {
                    res.stats.hub_solves += st.accepted_steps;
                    hub_sys = sys;
                    w
                }
                Err(_) => return Ok(None),
            }
        } else {
            let mut grid: Vec<f64> = loads.iter().flat_map(|l| l.iter().map(|p| p.0)).collect();
            if nr > 1 {
                grid.sort_by(f64::total_cmp);
                grid.dedup();
            }
            let Some(new) = solve_hub(torn, &mut hub_sys, &loads, &grid, &mut rec, spec) else {
                return Ok(None);
            };
            res.stats.hub_solves += grid.len();
            new
        };
        // the change of the rails against the last sweep, in Newton tolerances: their means
        // over the intervals of the run's largest step, and pointwise (within the time
        // resolution of events) against ten times the tolerance, which lets a picosecond edge
        // of the current the loads draw move in time between sweeps
        let tau = crate::solver::tran::EV_TOL_MAX * spec.tstop;
        let change = new
            .iter()
            .zip(&waves)
            .map(|(w, old)| {
                let mean = multirate::mean_change(w, old, &coarse, reltol, vntol);
                let point = multirate::change(w, old, tau, reltol, vntol);
                mean.max(point / multirate::POINT_SLACK)
            })
            .fold(0.0, f64::max);
        // a bias line steers its loads' currents by its square-law gain: it converges to a
        // tenth of the tolerance
        let limit = if torn.companion.is_some() {
            multirate::BIAS_TOL
        } else {
            1.0
        };
        if change <= limit {
            let st = hub_sys.stats.clone();
            let mut out: Vec<PartRun> = vec![Ok((rec, st, hub_sys))];
            out.extend(done.into_iter().map(Ok));
            return Ok(Some(out));
        }
        // from the third sweep on the change must shrink by MIN_CONTRACTION each sweep
        if !change.is_finite() || (sweep >= 3 && change > multirate::MIN_CONTRACTION * last) {
            return Ok(None);
        }
        last = change;
        waves = new;
        load_bases = done
            .into_iter()
            .map(|(_, st, sys)| {
                res.stats.add(&st);
                Some(sys)
            })
            .collect();
    }
    Ok(None)
}

/// The capacitance the loads hold on each torn node (the diagonal of their charge Jacobian
/// at the ghost's node, as last loaded), at least `COMPANION_FLOOR`.
fn load_capacitance(torn: &Torn, done: &[(PartRec, Stats, System)]) -> Vec<f64> {
    let mut c = vec![0.0; torn.rails.len()];
    for (rec, _, sys) in done {
        for &(br, j) in &rec.ghost {
            let node = sys.devs.iter().find_map(|d| match &d.dev {
                Device::V(v) if v.br.k == br => Some(v.br.p),
                _ => None,
            });
            let Some(k) = node.filter(|&k| k >= 1 && k <= sys.n()) else {
                continue;
            };
            let pat = sys.pattern();
            for s in pat.col_ptr[k - 1]..pat.col_ptr[k] {
                if pat.row_idx[s] + 1 == k {
                    c[j] += sys.jq[s + 1];
                }
            }
        }
    }
    c.into_iter()
        .map(|x| {
            if x.is_finite() {
                x.max(multirate::COMPANION_FLOOR)
            } else {
                multirate::COMPANION_FLOOR
            }
        })
        .collect()
}

/// The charge a load part drew through its ghost `m` of `width` since t = 0 at each of its
/// points `times`, from its record `gq` (per point and ghost: the current of its DC paths
/// and its charge on the node): the change of the charge plus the integral of the current.
fn drawn_charge(gq: &[f64], m: usize, width: usize, times: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(times.len());
    let (mut acc, mut f_last, mut t_last) = (0.0, 0.0, 0.0);
    let mut q0 = 0.0;
    for (i, &t) in times.iter().enumerate() {
        let at = 2 * (i * width + m);
        let (f, q) = match (gq.get(at), gq.get(at + 1)) {
            (Some(&f), Some(&q)) => (f, q),
            _ => break,
        };
        if i == 0 {
            q0 = q;
        } else {
            acc += 0.5 * (f + f_last) * (t - t_last);
        }
        f_last = f;
        t_last = t;
        out.push(q - q0 + acc);
    }
    out
}

/// Integrates a bias hub over the run (see `multirate::tear_bias`): its companions set from
/// the charge `loads` the loads drew, their current `i0` at t = 0 and the last sweep's node
/// waveforms `prev` with capacitances `cest`, recording to `rec`; the torn nodes' new
/// waveforms at every accepted step.
#[allow(clippy::too_many_arguments)]
fn solve_bias_hub(
    torn: &Torn,
    hub: &Part,
    loads: &[Arc<Vec<(f64, f64)>>],
    i0: &[f64],
    prev: &[Arc<Vec<(f64, f64)>>],
    cest: &[f64],
    rec: &mut PartRec,
    spec: &TranSpec,
) -> Result<(Vec<Arc<Vec<(f64, f64)>>>, Stats, System)> {
    let mut c = hub.circuit.clone().into_owned();
    let comps = torn.companion.as_deref().unwrap_or(&[]);
    for (j, comp) in comps.iter().enumerate() {
        let w = multirate::companion_wave(&loads[j], i0[j], &prev[j], cest[j]);
        if let Device::I(s) = &mut c.devices[torn.load_dev[j]].dev {
            s.value.wave = Wave::Sampled(Arc::new(vec![(0.0, i0[j])]), Default::default());
        }
        if let Device::C(cap) = &mut c.devices[comp.cap].dev {
            cap.c = cest[j];
        }
        if let Device::V(v) = &mut c.devices[comp.wave].dev {
            v.value.wave = Wave::Sampled(Arc::new(w), Default::default());
        }
    }
    let mut sys = System::new(&c)?;
    rec.ghost = torn
        .hub_node
        .iter()
        .enumerate()
        .map(|(j, &k)| (k, j))
        .collect();
    let hs = TranSpec {
        ic: vec![],
        nodeset: vec![],
        probes: vec![],
        ..spec.clone()
    };
    transient(&mut sys, &hs, rec)?;
    let width = rec.ghost.len();
    let waves = (0..width)
        .map(|m| {
            let w: Vec<(f64, f64)> = rec
                .gtimes
                .iter()
                .zip(rec.gvals.iter().skip(m).step_by(width))
                .map(|(&t, &v)| (t, v))
                .collect();
            Arc::new(w)
        })
        .collect();
    rec.ghost.clear();
    rec.gtimes = Vec::new();
    rec.gvals = Vec::new();
    let st = sys.stats.clone();
    Ok((waves, st, sys))
}

/// Solves the hub at every time of `grid` with the loads' currents `loads` (one per rail),
/// recording to `rec`; the rails' voltages on the grid, or `None` if Newton fails.
fn solve_hub(
    torn: &Torn,
    sys: &mut System,
    loads: &[Arc<Vec<(f64, f64)>>],
    grid: &[f64],
    rec: &mut PartRec,
    spec: &TranSpec,
) -> Option<Vec<Arc<Vec<(f64, f64)>>>> {
    for (j, &i) in torn.load_dev.iter().enumerate() {
        if let Device::I(s) = &mut sys.devs[i].dev {
            s.value.wave = Wave::Sampled(loads[j].clone(), Default::default());
        }
    }
    let n = sys.n();
    let mut x = vec![0.0; n + 1];
    let hist = vec![0.0; n + 1];
    let itl = sys.opts.itl4.max(10);
    let t_tol = 1e-9 * spec.tstop;
    let mut waves = vec![Vec::with_capacity(grid.len()); torn.rails.len()];
    for (i, &t) in grid.iter().enumerate() {
        // the hub holds no charge: each time point is an exact resistive solve
        sys.newton(&mut x, &NewtonCtx::tran(t, 0.0, &hist, itl))
            .ok()?;
        if i == 0 {
            rec.initial(&x);
        }
        if t >= spec.tstart - t_tol {
            rec.point(t, &x);
        }
        for (w, &k) in waves.iter_mut().zip(&torn.hub_node) {
            w.push((t, x[k]));
        }
    }
    Some(waves.into_iter().map(Arc::new).collect())
}

/// The work meter of a transient: the default limit grows with the run the deck asks for (its
/// fewest time points, as the transient computes them, times the whole circuit's iteration
/// cost, matrix entries estimated as four per device); see `budget::Work::for_transient`.
fn tran_work(
    c: &Circuit,
    tstep: f64,
    tstop: f64,
    tstart: f64,
    tmax: Option<f64>,
) -> crate::budget::Work {
    let hmax = tmax
        .unwrap_or_else(|| tstep.min((tstop - tstart) / 50.0))
        .min(tstop);
    let points = if hmax > 0.0 { tstop / hmax } else { 0.0 };
    let cost = crate::devices::iteration_cost(&c.devices, c.names.len(), 4 * c.devices.len());
    crate::budget::Work::for_transient(points, cost)
}
