//! Runs a circuit's analyses: structural checks (`check`), splitting into decoupled parts
//! with their own time steps (`part`), operating point, DC sweeps and transient, collected
//! into tables (`result`). The analyses see only the circuit: a `.dc` over a `.param` gets
//! each point's circuit from the circuit's own `Rebuild`.

mod check;
mod part;
mod result;
mod stream;

pub use check::check_structure;
pub use part::{MAX_PARTS, Part, PartCache, split};
pub use result::{
    AcTable, RowSink, RunOptions, RunResult, Save, SpikeTrain, Table, saved_unknowns, signal_name,
};

use crate::circuit::{Analysis, Circuit, Signal, SweepTarget};
use crate::devices::DeviceOps;
use crate::error::{Error, Result};
use crate::solver::op::operating_point;
use crate::solver::system::{Stats, System};
use crate::solver::tran::{Recorder, TranSpec, transient};
use rayon::prelude::*;
use std::sync::Mutex;

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
                    probes: vec![],
                };
                let out = match (&mut stream, Some(ai) == last_tran) {
                    (Some((_, sink)), true) => Some((streamed.as_slice(), &mut **sink)),
                    _ => None,
                };
                run_tran(c, &parts, &spec, &saved, &ro.spikes, cache, &mut res, out)
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
    for p in parts {
        let mut sys = System::new(&p.circuit)?;
        let mut x = vec![0.0; p.circuit.n() + 1];
        op_from_nodeset(&mut sys, &p.circuit, &mut x, ".op")?;
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
                op_from_nodeset(&mut sys, c, &mut x, ".dc")?;
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
) -> Result<()> {
    // which saved unknowns live in which part
    let mut owner = vec![(usize::MAX, 0usize); c.n() + 1];
    // the other parts' shares of a summed unknown (a held source's current)
    let mut shares: Vec<Vec<(usize, usize)>> = vec![vec![]; c.n() + 1];
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
    // streamed signals: the header now, then rows from the one part that holds them all, or
    // spill files merged at the end
    let (streamed, sink): (&[usize], Option<Mutex<&mut (dyn RowSink + 'd)>>) = match stream {
        Some((st, sink)) => {
            let mut names = vec!["time".to_string()];
            names.extend(st.iter().map(|&k| signal_name(c, k)));
            sink.header(&names)?;
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
    let direct = stream_parts.len() == 1;
    if cache.systems.len() != parts.len() {
        cache.systems = (0..parts.len()).map(|_| None).collect();
    }
    let cached: Vec<Option<System>> = std::mem::take(&mut cache.systems);
    let sink_ref = sink.as_ref();
    let one_part =
        |(pi, (p, base)): (usize, (&Part, Option<System>))| -> Result<(PartRec, Stats, System)> {
            let cols: Vec<usize> = saved
                .iter()
                .filter_map(|&g| {
                    if owner[g].0 == pi {
                        Some(owner[g].1)
                    } else {
                        shares[g].iter().find(|s| s.0 == pi).map(|s| s.1)
                    }
                })
                .collect();
            let scols: Vec<usize> = streamed
                .iter()
                .filter_map(|&g| {
                    if owner[g].0 == pi {
                        Some(owner[g].1)
                    } else {
                        shares[g].iter().find(|s| s.0 == pi).map(|s| s.1)
                    }
                })
                .collect();
            let out = match sink_ref {
                Some(s) if direct && !scols.is_empty() => PartOut::Direct(s),
                Some(_) if !scols.is_empty() => PartOut::Spill(stream::Spill::new(scols.len())?),
                _ => PartOut::None,
            };
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
                scols,
                out,
                row: vec![],
                err: None,
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
    Ok(())
}
