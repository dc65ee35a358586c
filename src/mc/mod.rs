//! Monte Carlo variation studies (`neurospice mc`).
//!
//! A study parses the netlist once and, for each run k = 1..N, elaborates it with a
//! [`rng::RunSampler`] that draws every random function and mismatch value from
//! (seed, k, site, index) alone, runs the analyses, and measures the result. So run k is the
//! same whatever the thread count, the number of runs or the shard that computes it, and a
//! study can be split over a cluster and merged ([`io`]).
//!
//! ```
//! use neurospice::mc::{Config, Study, measure::{Simple, SimpleMeasures}};
//! use std::sync::Arc;
//! let text = "div\n.param r2 = agauss(1k, 10, 1)\nV1 in 0 1\nR1 in out 1k\nR2 out 0 {r2}\n.op\n.end\n";
//! let lexed = neurospice::netlist::lexer::lex_str(text, "div.cir").unwrap();
//! let nl = neurospice::netlist::Netlist::parse(&lexed).unwrap();
//! let m = SimpleMeasures(vec![Simple::parse("vout=op(v(out))").unwrap()]);
//! let study = Study::new(nl, Arc::new(m)).unwrap().shared();
//! let cfg = Config { runs: 100, seed: 1, ..Config::default() };
//! let recs = study.execute(&cfg, &study.runs_of(&cfg), &Default::default(), &|_| {});
//! assert_eq!(recs.len(), 100);
//! assert!(recs.iter().all(|r| r.ok && (r.measures[0].unwrap() - 0.5).abs() < 0.02));
//! ```
pub mod io;
pub mod measure;
pub mod rng;
pub mod spec;

use crate::analysis::{self, RunResult, Save, Table};
use crate::error::{Error, Result};
use crate::netlist::{ElabOptions, Netlist};
use io::Meta;
use measure::{Measures, NetlistMeasures, SimpleMeasures};
use rayon::prelude::*;
use rng::{RunSampler, Variation};
use spec::Spec;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a study runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Runs of the whole study (over all shards).
    pub runs: u64,
    pub seed: u64,
    pub variation: Variation,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// This process computes shard `i` of `m` (0-based): a contiguous block of runs.
    pub shard: Option<(u64, u64)>,
    /// Wall-clock limit per run.
    pub timeout: Option<Duration>,
    /// Keep the waveforms of runs 1..=K as CSV in `waves_dir`.
    pub save_waves: u64,
    pub waves_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            runs: 100,
            seed: 1,
            variation: Variation::Both,
            jobs: 0,
            shard: None,
            timeout: None,
            save_waves: 0,
            waves_dir: None,
        }
    }
}

/// The outcome of one run: a row of runs.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based run number.
    pub run: u64,
    pub ok: bool,
    /// Why the run failed (empty when ok).
    pub reason: String,
    /// One per measure name; `None` when not measured.
    pub measures: Vec<Option<f64>>,
    /// One per sampled parameter name.
    pub params: Vec<Option<f64>>,
}

/// A parsed netlist with its measures, ready to run any number of samples.
pub struct Study {
    nl: Arc<Netlist>,
    measures: Arc<dyn Measures>,
    /// Measure columns of runs.csv.
    pub measure_names: Vec<String>,
    /// Sampled-parameter columns of runs.csv (from the nominal elaboration).
    pub param_names: Vec<String>,
}

/// A failure as one line: the message and where.
pub fn reason_of(e: &Error) -> String {
    let mut s = e.msg.replace(['\n', '\r'], " ");
    if let Some(l) = &e.loc {
        s.push_str(&format!(" ({}:{})", l.file, l.line));
    }
    s
}

impl Study {
    /// Prepares a study; elaborates the nominal circuit once to check the netlist and find
    /// the random parameters.
    pub fn new(nl: Netlist, measures: Arc<dyn Measures>) -> Result<Study> {
        let mut s = RunSampler::nominal();
        crate::netlist::elaborate(
            &nl,
            ElabOptions {
                overrides: vec![],
                random: Some(&mut s),
            },
        )?;
        let mut measure_names = measures.names();
        for m in measure_names.iter_mut() {
            *m = m.to_ascii_lowercase();
        }
        for (i, m) in measure_names.iter().enumerate() {
            if measure_names[..i].contains(m) {
                return Err(Error::usage(format!("measure '{m}' is defined twice")));
            }
        }
        Ok(Study {
            nl: Arc::new(nl),
            measures,
            measure_names,
            param_names: s.params.into_iter().map(|(n, _)| n).collect(),
        })
    }

    /// The runs this process computes: all of 1..=runs, or the shard's contiguous block.
    pub fn runs_of(&self, cfg: &Config) -> Vec<u64> {
        let (lo, hi) = match cfg.shard {
            Some((i, m)) if m > 0 => (cfg.runs * i / m, cfg.runs * (i + 1) / m),
            _ => (0, cfg.runs),
        };
        (lo + 1..=hi).collect()
    }

    /// The nominal run (no variation), e.g. for `waves/nominal.csv`.
    pub fn nominal(&self) -> Result<RunResult> {
        let c = crate::netlist::elaborate(&self.nl, ElabOptions::default())?;
        analysis::run(&c, &Save::All)
    }

    fn simulate(&self, cfg: &Config, run: u64) -> (Record, Option<RunResult>) {
        let mut s = RunSampler::new(cfg.seed, run, cfg.variation);
        let elab = crate::netlist::elaborate(
            &self.nl,
            ElabOptions {
                overrides: vec![],
                random: Some(&mut s),
            },
        );
        let params: Vec<Option<f64>> = self
            .param_names
            .iter()
            .map(|n| s.params.iter().find(|(p, _)| p == n).map(|(_, v)| *v))
            .collect();
        let mut rec = Record {
            run,
            ok: false,
            reason: String::new(),
            measures: vec![None; self.measure_names.len()],
            params,
        };
        let res = elab.and_then(|c| {
            // each worker thread keeps the solver structure of its previous run, so runs share
            // the symbolic factorisation (values change between runs, structure does not)
            let ro = analysis::RunOptions {
                save: Save::All,
                spikes: vec![],
            };
            // (rayon may start another run on this thread while one waits inside run_with: that
            // run then works without the cache rather than borrowing it twice)
            let r = MC_CACHE.with(|cache| match cache.try_borrow_mut() {
                Ok(mut pc) => analysis::run_with(&c, &ro, &mut pc),
                Err(_) => analysis::run_with(&c, &ro, &mut analysis::PartCache::default()),
            })?;
            Ok((c, r))
        });
        let (c, res) = match res {
            Ok(x) => x,
            Err(e) => {
                rec.reason = reason_of(&e);
                return (rec, None);
            }
        };
        let mut failed = Vec::new();
        for (k, m) in self.measures.measure(&c, &res).into_iter().enumerate() {
            match m {
                Ok(v) if v.is_finite() => rec.measures[k] = Some(v),
                Ok(v) => failed.push(format!("{} = {v}", self.measure_names[k])),
                Err(e) => failed.push(format!("{}: {e}", self.measure_names[k])),
            }
        }
        rec.ok = failed.is_empty();
        rec.reason = failed.join("; ");
        (rec, Some(res))
    }

    /// One run, with the timeout and the wave file applied.
    pub fn run_one(self: &Arc<Self>, cfg: &Config, run: u64) -> Record {
        let (rec, res) = match cfg.timeout {
            None => self.simulate(cfg, run),
            Some(limit) => {
                // the engine has no cancellation point, so a run that exceeds its limit is
                // abandoned on its own thread (it ends with the process) and the study goes on
                let (tx, rx) = std::sync::mpsc::channel();
                let me = Arc::clone(self);
                let c = cfg.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("mc-run-{run}"))
                    .spawn(move || {
                        let start = Instant::now();
                        let r = me.simulate(&c, run);
                        let _ = tx.send((r, start.elapsed()));
                    });
                match spawned {
                    Err(e) => (
                        self.failed(run, format!("cannot start a thread: {e}")),
                        None,
                    ),
                    // a run that took longer than the limit fails even when its result arrives
                    // before the wait ends (the waiting thread may have been descheduled)
                    Ok(_) => match rx.recv_timeout(limit) {
                        Ok((x, took)) if took <= limit => x,
                        _ => (
                            self.failed(run, format!("timeout after {} s", limit.as_secs_f64())),
                            None,
                        ),
                    },
                }
            }
        };
        if run <= cfg.save_waves
            && let (Some(dir), Some(res)) = (&cfg.waves_dir, &res)
            && let Some(t) = res.tran.as_ref().or(res.dc.as_ref())
            && let Err(e) = write_wave(dir, &format!("run_{run:05}.csv"), t)
        {
            let mut rec = rec;
            rec.ok = false;
            rec.reason = reason_of(&e);
            return rec;
        }
        rec
    }

    fn failed(&self, run: u64, reason: String) -> Record {
        Record {
            run,
            ok: false,
            reason,
            measures: vec![None; self.measure_names.len()],
            params: vec![None; self.param_names.len()],
        }
    }

    /// Runs `runs` on `cfg.jobs` threads in order-preserving chunks; `done(n)` is called after
    /// each chunk with the records so far (for a checkpoint or a progress bar). Stops between
    /// runs when `stop` is set; the records returned are the finished runs, in run order.
    pub fn execute(
        self: &Arc<Self>,
        cfg: &Config,
        runs: &[u64],
        stop: &AtomicBool,
        done: &(dyn Fn(&[Record]) + Sync),
    ) -> Vec<Record> {
        let work = || {
            let chunk = (rayon::current_num_threads() * 16).max(16);
            let mut out: Vec<Record> = Vec::with_capacity(runs.len());
            for part in runs.chunks(chunk) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let recs: Vec<Option<Record>> = part
                    .par_iter()
                    .map(|&r| {
                        if stop.load(Ordering::Relaxed) {
                            None
                        } else {
                            Some(self.run_one(cfg, r))
                        }
                    })
                    .collect();
                out.extend(recs.into_iter().flatten());
                done(&out);
            }
            out
        };
        match rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.jobs)
            .build()
        {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        }
    }
}

impl Study {
    /// Wraps in an `Arc` (runs with a timeout need to outlive their caller).
    pub fn shared(self) -> Arc<Study> {
        Arc::new(self)
    }
}

thread_local! {
    static MC_CACHE: std::cell::RefCell<analysis::PartCache> = std::cell::RefCell::new(analysis::PartCache::default());
}

/// Writes one waveform table into `dir` (created if needed).
pub fn write_wave(dir: &std::path::Path, name: &str, t: &Table) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::output(format!("cannot create '{}': {e}", dir.display())))?;
    crate::io::csv::write_csv(&dir.join(name), t)
}

impl Study {
    /// Reads a netlist file and prepares its study: the `.meas` cards of the netlist (with its
    /// global parameters) and the `extra` command-line measures.
    pub fn from_file(netlist: &Path, extra: SimpleMeasures) -> Result<Study> {
        let deck = crate::meas::Deck::load(netlist)?;
        let measures = NetlistMeasures {
            params: deck.params(&[])?,
            cards: deck.measures,
            extra,
        };
        Study::new(deck.netlist, Arc::new(measures))
    }

    /// Checks that every yield specification names a measure of the study.
    pub fn check_specs(&self, specs: &[Spec]) -> Result<()> {
        for s in specs {
            if !self.measure_names.contains(&s.measure) {
                return Err(Error::usage(format!(
                    "--spec '{}': no measure '{}'",
                    s.text, s.measure
                )));
            }
        }
        Ok(())
    }
}

/// Where a study writes its rows, and whether it continues an interrupted one.
#[derive(Debug, Clone)]
pub struct Output<'a> {
    /// The netlist path as given (recorded in the sidecar).
    pub netlist: &'a Path,
    /// runs.csv; its sidecar `runs.csv.meta.json` records the settings.
    pub runs_csv: &'a Path,
    /// Keep the runs already in `runs_csv` (computed with the same settings) and do the rest.
    pub resume: bool,
}

/// What a study run to a file ended with.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every finished run (earlier ones of a resumed study included), in run order.
    pub records: Vec<Record>,
    /// Runs this process was to compute (the shard's, or all).
    pub planned: usize,
    /// Whether `stop` ended the study before every run was done.
    pub interrupted: bool,
}

/// Runs `study` into `out.runs_csv`: with `resume`, the runs already in the file are kept
/// (after checking that its sidecar records the same settings); the file is rewritten at most
/// once a second while runs finish (so Ctrl-C or a crash loses at most a second of work) and
/// once at the end. `stop` ends the study between runs; `progress(done, todo, failed)` is
/// called as chunks of runs finish (runs done and failed in this process, of `todo` left to
/// do when it started; for a progress bar). With `save_waves`, the nominal run's waveform
/// is written first.
pub fn run_to_file(
    study: &Arc<Study>,
    cfg: &Config,
    out: &Output,
    stop: &AtomicBool,
    progress: &(dyn Fn(usize, usize, usize) + Sync),
) -> Result<Outcome> {
    let meta = Meta::new(out.netlist, cfg, &study.measure_names, &study.param_names);
    let mut done: Vec<Record> = Vec::new();
    if out.resume && out.runs_csv.exists() {
        match io::read_meta(out.runs_csv)? {
            Some(m) if m == meta => {}
            Some(m) => {
                return Err(Error::usage(format!(
                    "--resume: '{}' was computed with different settings (seed {}, runs {}, variation {}, shard {:?}, measures {:?}); use the same options or a new output",
                    out.runs_csv.display(),
                    m.seed,
                    m.runs,
                    m.variation,
                    m.shard,
                    m.measures
                )));
            }
            None => {
                return Err(Error::usage(format!(
                    "--resume: '{}' has no {} beside it, so its settings are unknown",
                    out.runs_csv.display(),
                    io::meta_path(out.runs_csv).display()
                )));
            }
        }
        done = io::read_runs(out.runs_csv, study.measure_names.len())?.records;
    }
    io::write_meta(out.runs_csv, &meta)?;
    let all = study.runs_of(cfg);
    let todo: Vec<u64> = all
        .iter()
        .copied()
        .filter(|r| done.binary_search_by_key(r, |x| x.run).is_err())
        .collect();
    if cfg.save_waves > 0
        && let Some(dir) = &cfg.waves_dir
    {
        let nominal = study.nominal()?;
        if let Some(t) = nominal.tran.as_ref().or(nominal.dc.as_ref()) {
            write_wave(dir, "nominal.csv", t)?;
        }
    }
    let write_err: Mutex<Option<Error>> = Mutex::new(None);
    let merge = |new: &[Record]| -> Vec<Record> {
        let mut all = done.clone();
        all.extend_from_slice(new);
        all.sort_by_key(|r| r.run);
        all
    };
    // rewriting and syncing the file after every chunk would cost more than the runs of a
    // small cell; once a second bounds what Ctrl-C or a crash can lose
    let last_write = Mutex::new(Instant::now());
    let checkpoint = |new: &[Record]| {
        progress(new.len(), todo.len(), new.iter().filter(|r| !r.ok).count());
        match last_write.lock() {
            Ok(mut t) if t.elapsed() >= Duration::from_secs(1) => *t = Instant::now(),
            _ => return,
        }
        let recs = merge(new);
        if let Err(e) = io::write_runs(
            out.runs_csv,
            &study.measure_names,
            &study.param_names,
            &recs,
        ) && let Ok(mut w) = write_err.lock()
        {
            *w = Some(e);
        }
    };
    let new = study.execute(cfg, &todo, stop, &checkpoint);
    if let Ok(mut w) = write_err.lock()
        && let Some(e) = w.take()
    {
        return Err(e);
    }
    let records = merge(&new);
    io::write_runs(
        out.runs_csv,
        &study.measure_names,
        &study.param_names,
        &records,
    )?;
    Ok(Outcome {
        records,
        planned: all.len(),
        interrupted: stop.load(Ordering::SeqCst),
    })
}

/// Merges the runs.csv files of a sharded study into `output` (with its sidecar): every part
/// must come from the same study (seed, runs, variation and columns) and no run may appear
/// twice. Returns the study's settings and the records in run order.
pub fn merge(parts: &[PathBuf], output: &Path) -> Result<(Meta, Vec<Record>)> {
    let mut metas = Vec::new();
    for p in parts {
        let m = io::read_meta(p)?.ok_or_else(|| {
            Error::usage(format!(
                "'{}' has no {} beside it (written by neurospice mc)",
                p.display(),
                io::meta_path(p).display()
            ))
        })?;
        metas.push(m);
    }
    let Some(first) = metas.first() else {
        return Err(Error::usage("mc-merge needs at least one part"));
    };
    for (p, m) in parts.iter().zip(&metas).skip(1) {
        if m.seed != first.seed
            || m.runs != first.runs
            || m.variation != first.variation
            || m.measures != first.measures
            || m.params != first.params
        {
            return Err(Error::usage(format!(
                "'{}' belongs to another study than '{}' (seed, runs, variation or columns differ)",
                p.display(),
                parts[0].display()
            )));
        }
    }
    let mut recs: Vec<Record> = Vec::new();
    for p in parts {
        recs.extend(io::read_runs(p, first.measures.len())?.records);
    }
    recs.sort_by_key(|r| r.run);
    if let Some(w) = recs.windows(2).find(|w| w[0].run == w[1].run) {
        return Err(Error::usage(format!(
            "run {} appears in more than one part",
            w[0].run
        )));
    }
    io::write_runs(output, &first.measures, &first.params, &recs)?;
    let meta = Meta {
        shard: None,
        ..first.clone()
    };
    io::write_meta(output, &meta)?;
    Ok((meta, recs))
}
