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
    /// The unit of each measure (`"s"`, `"V"`), where it has one; recorded in the sidecar
    /// so that `plot hist` can label `ns` rather than a bare power of ten.
    pub measure_units: Vec<Option<String>>,
    /// Sampled-parameter columns of runs.csv (from the nominal elaboration).
    pub param_names: Vec<String>,
    /// The files the netlist was read from, with content hashes (empty for a netlist given
    /// as a parsed tree): recorded in the sidecar so `--resume` notices an edit.
    pub sources: Vec<crate::netlist::lexer::Source>,
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
        let nominal = crate::netlist::elaborate(
            &nl,
            ElabOptions {
                overrides: vec![],
                random: Some(&mut s),
            },
        )?;
        // a measure of a signal the circuit does not have would fail every run: refuse now
        measures.check(&nominal)?;
        let mut measure_names = measures.names();
        for m in measure_names.iter_mut() {
            *m = m.to_ascii_lowercase();
        }
        for (i, m) in measure_names.iter().enumerate() {
            if measure_names[..i].contains(m) {
                return Err(Error::usage(format!("measure '{m}' is defined twice")));
            }
        }
        let measure_units = measures.units(&nominal);
        Ok(Study {
            nl: Arc::new(nl),
            measures,
            measure_names,
            measure_units,
            param_names: s.params.into_iter().map(|(n, _)| n).collect(),
            sources: vec![],
        })
    }

    /// The runs this process computes: all of 1..=runs, or the shard's contiguous block.
    pub fn runs_of(&self, cfg: &Config) -> Vec<u64> {
        let (lo, hi) = match cfg.shard {
            // in 128 bits: runs x shard index overflows 64 for a shard count like 10^15
            Some((i, m)) if m > 0 => {
                let at = |k: u64| (cfg.runs as u128 * k as u128 / m as u128) as u64;
                (at(i), at(i + 1))
            }
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

    /// One run, with the timeout and the wave file applied (a wave that cannot be written
    /// fails the run).
    pub fn run_one(self: &Arc<Self>, cfg: &Config, run: u64) -> Record {
        let (rec, res) = self.compute(cfg, run);
        if let Some(Err(e)) = self.save_wave(&io::Disk, cfg, run, res.as_ref()) {
            let mut rec = rec;
            rec.ok = false;
            rec.reason = reason_of(&e);
            return rec;
        }
        rec
    }

    /// Writes run `run`'s waveform when `cfg` asks for it; `None` when it does not.
    fn save_wave(
        &self,
        store: &dyn io::Store,
        cfg: &Config,
        run: u64,
        res: Option<&RunResult>,
    ) -> Option<Result<()>> {
        if run > cfg.save_waves {
            return None;
        }
        let t = res?.tran.as_ref().or(res?.dc.as_ref())?;
        let dir = cfg.waves_dir.as_ref()?;
        Some(write_wave_in(store, dir, &format!("run_{run:05}.csv"), t))
    }

    /// One run with the timeout applied: its record, and its result when it has one.
    fn compute(self: &Arc<Self>, cfg: &Config, run: u64) -> (Record, Option<RunResult>) {
        match cfg.timeout {
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
        }
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
        self.execute_with(
            cfg,
            runs,
            &|| stop.load(Ordering::Relaxed),
            &|r| Some(self.run_one(cfg, r)),
            done,
        )
    }

    /// [`Study::execute`] with the run itself given (`one` returns `None` for a run that is
    /// not to be kept) and stopping when `stop()` says so.
    fn execute_with(
        self: &Arc<Self>,
        cfg: &Config,
        runs: &[u64],
        stop: &(dyn Fn() -> bool + Sync),
        one: &(dyn Fn(u64) -> Option<Record> + Sync),
        done: &(dyn Fn(&[Record]) + Sync),
    ) -> Vec<Record> {
        let work = || {
            let chunk = (rayon::current_num_threads() * 16).max(16);
            let mut out: Vec<Record> = Vec::with_capacity(runs.len());
            for part in runs.chunks(chunk) {
                if stop() {
                    break;
                }
                let recs: Vec<Option<Record>> = part
                    .par_iter()
                    .map(|&r| if stop() { None } else { one(r) })
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
    write_wave_in(&io::Disk, dir, name, t)
}

/// [`write_wave`] through a store.
pub fn write_wave_in(store: &dyn io::Store, dir: &Path, name: &str, t: &Table) -> Result<()> {
    store.write(&dir.join(name), &mut |w| crate::io::csv::write_table(w, t))
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
        let mut study = Study::new(deck.netlist, Arc::new(measures))?;
        study.sources = deck.sources;
        Ok(study)
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
#[derive(Clone)]
pub struct Output<'a> {
    /// The netlist path as given (recorded in the sidecar).
    pub netlist: &'a Path,
    /// runs.csv; its sidecar `runs.csv.meta.json` records the settings.
    pub runs_csv: &'a Path,
    /// Keep the runs already in `runs_csv` (computed with the same settings) and do the rest.
    pub resume: bool,
    /// Where the files go: [`io::Disk`], or in tests a store that fails.
    pub store: &'a dyn io::Store,
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
/// (after checking that its sidecar records the same settings and the same netlist and
/// included files, by content); the file is rewritten at most once a second while runs
/// finish (so Ctrl-C or a crash loses at most a second of work) and once at the end. `stop`
/// ends the study between runs; `progress(done, todo, failed)` is called as chunks of runs
/// finish (runs done and failed in this process, of `todo` left to do when it started; for a
/// progress bar). With `save_waves`, the nominal run's waveform is written first.
///
/// The first write that fails (a full disk) stops the study: runs already started finish,
/// no new one starts, every finished run is written once more if the store takes it, and
/// the error says how many runs the file holds, which `--resume` then keeps. A run whose
/// wave could not be written is not kept, so resuming computes it again with its wave.
pub fn run_to_file(
    study: &Arc<Study>,
    cfg: &Config,
    out: &Output,
    stop: &AtomicBool,
    progress: &(dyn Fn(usize, usize, usize) + Sync),
) -> Result<Outcome> {
    let store = out.store;
    let mut meta = Meta::new(
        out.netlist,
        cfg,
        &study.measure_names,
        &study.param_names,
        &study.sources,
    );
    meta.units = io::unit_map(&study.measure_names, &study.measure_units);
    let mut done: Vec<Record> = Vec::new();
    if out.resume && out.runs_csv.exists() {
        match io::read_meta(out.runs_csv)? {
            Some(m) => {
                let diff = m.differences(&meta, io::Scope::Resume);
                if !diff.is_empty() {
                    return Err(Error::usage(format!(
                        "--resume: '{}' was computed with different settings: {}; use the same options and files, or a new output",
                        out.runs_csv.display(),
                        diff.join("; ")
                    )));
                }
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
    } else {
        // the file and its sidecar agree from the start: no rows yet, then the settings
        io::write_runs_in(
            store,
            out.runs_csv,
            &study.measure_names,
            &study.param_names,
            &[],
        )?;
    }
    io::write_meta_in(store, out.runs_csv, &meta)?;
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
            write_wave_in(store, dir, "nominal.csv", t)?;
        }
    }
    // the first write error, and whether one happened (read by every worker between runs)
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let halted = AtomicBool::new(false);
    let fail = |e: Error| {
        if let Ok(mut f) = failure.lock()
            && f.is_none()
        {
            *f = Some(e);
        }
        halted.store(true, Ordering::SeqCst);
    };
    let merge = |new: &[Record]| -> Vec<Record> {
        let mut all = done.clone();
        all.extend_from_slice(new);
        all.sort_by_key(|r| r.run);
        all
    };
    let write = |recs: &[Record]| {
        io::write_runs_in(
            store,
            out.runs_csv,
            &study.measure_names,
            &study.param_names,
            recs,
        )
    };
    // rewriting and syncing the file after every chunk would cost more than the runs of a
    // small cell; once a second bounds what Ctrl-C or a crash can lose. The second number is
    // how many runs the file on disk holds.
    let last_write = Mutex::new((Instant::now(), done.len()));
    let checkpoint = |new: &[Record]| {
        progress(new.len(), todo.len(), new.iter().filter(|r| !r.ok).count());
        if halted.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut last) = last_write.lock() else {
            return;
        };
        if last.0.elapsed() < Duration::from_secs(1) {
            return;
        }
        last.0 = Instant::now();
        let recs = merge(new);
        match write(&recs) {
            Ok(()) => last.1 = recs.len(),
            Err(e) => fail(e),
        }
    };
    let one = |r: u64| -> Option<Record> {
        let (rec, res) = study.compute(cfg, r);
        match study.save_wave(store, cfg, r, res.as_ref()) {
            Some(Err(e)) => {
                fail(e);
                None
            }
            _ => Some(rec),
        }
    };
    let stopped = || stop.load(Ordering::Relaxed) || halted.load(Ordering::Relaxed);
    let new = study.execute_with(cfg, &todo, &stopped, &one, &checkpoint);
    let records = merge(&new);
    let first = failure.lock().ok().and_then(|mut f| f.take());
    if let Some(e) = first {
        // keep what was computed if the store takes it now, else the last file written stays
        let kept = match write(&records) {
            Ok(()) => records.len(),
            Err(_) => last_write.lock().map(|l| l.1).unwrap_or(0),
        };
        return Err(e.with_note(format!(
            "the study stopped at this first write error: '{}' holds {kept} finished runs of {}; make room and continue with the same command and --resume",
            out.runs_csv.display(),
            all.len()
        )));
    }
    write(&records)?;
    Ok(Outcome {
        records,
        planned: all.len(),
        interrupted: stop.load(Ordering::SeqCst),
    })
}

/// Merges the runs.csv files of a sharded study into `output` (with its sidecar): every part
/// must come from the same study (seed, runs, variation, columns and netlist content), no run
/// may appear twice and none may be missing. Returns the study's settings and the records in
/// run order. [`merge_with`] can accept a partial study.
pub fn merge(parts: &[PathBuf], output: &Path) -> Result<(Meta, Vec<Record>)> {
    let m = merge_with(parts, output, false)?;
    Ok((m.meta, m.records))
}

/// A merged study.
#[derive(Debug, Clone)]
pub struct Merged {
    pub meta: Meta,
    /// The runs the parts hold, in run order.
    pub records: Vec<Record>,
    /// Runs of the study that no part holds, as inclusive ranges (empty when complete).
    pub missing: Vec<(u64, u64)>,
}

impl Merged {
    /// What the summary records about a partial study (`None` when complete).
    pub fn partial(&self) -> Option<io::Partial> {
        if self.missing.is_empty() {
            return None;
        }
        Some(io::Partial {
            expected_runs: self.meta.runs,
            missing_runs: self.missing.iter().map(|(a, b)| b - a + 1).sum(),
            missing: ranges_text(&self.missing),
        })
    }
}

/// `1-12, 25, 30-31`.
fn ranges_text(r: &[(u64, u64)]) -> String {
    let mut parts: Vec<String> = r
        .iter()
        .take(20)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if r.len() > 20 {
        parts.push(format!("... ({} ranges in all)", r.len()));
    }
    parts.join(", ")
}

/// The runs in `lo..=hi` that `present` (sorted) lacks, as ranges.
fn gaps(present: &[u64], lo: u64, hi: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut next = lo;
    for &r in present.iter().filter(|&&r| r >= lo && r <= hi) {
        if r > next {
            out.push((next, r - 1));
        }
        next = r + 1;
    }
    if next <= hi {
        out.push((next, hi));
    }
    out
}

/// The 1-based runs `lo..=hi` of shard `i` of `m` of a study of `n` runs.
fn shard_range(n: u64, i: u64, m: u64) -> (u64, u64) {
    (n * i / m + 1, n * (i + 1) / m)
}

fn parse_shard_text(s: &str) -> Option<(u64, u64)> {
    let (i, m) = s.split_once('/')?;
    let (i, m) = (i.parse().ok()?, m.parse().ok()?);
    (m > 0 && i < m).then_some((i, m))
}

/// [`merge`], and with `allow_partial` a study some of whose runs no part holds (a shard that
/// was lost or stopped early): it is merged and [`Merged::missing`] names what is missing.
/// Without it a missing run is an error naming the shards and runs.
pub fn merge_with(parts: &[PathBuf], output: &Path, allow_partial: bool) -> Result<Merged> {
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
        let diff = m.differences(first, io::Scope::Merge);
        if !diff.is_empty() {
            return Err(Error::usage(format!(
                "'{}' belongs to another study than '{}': {}",
                p.display(),
                parts[0].display(),
                diff.join("; ")
            )));
        }
    }
    let n = first.runs;
    let mut recs: Vec<Record> = Vec::new();
    // per part: its shard's runs, and the runs it holds
    let mut held: Vec<(Option<(u64, u64)>, Vec<u64>)> = Vec::new();
    for (p, m) in parts.iter().zip(&metas) {
        let r = io::read_runs(p, first.measures.len())?.records;
        if let Some(bad) = r.iter().find(|x| x.run == 0 || x.run > n) {
            return Err(Error::data(format!(
                "'{}': run {} is outside the study's runs 1..{n}",
                p.display(),
                bad.run
            )));
        }
        let shard = m.shard.as_deref().and_then(parse_shard_text);
        held.push((shard, r.iter().map(|x| x.run).collect()));
        recs.extend(r);
    }
    recs.sort_by_key(|r| r.run);
    if let Some(w) = recs.windows(2).find(|w| w[0].run == w[1].run) {
        return Err(Error::usage(format!(
            "run {} appears in more than one part",
            w[0].run
        )));
    }
    let present: Vec<u64> = recs.iter().map(|r| r.run).collect();
    let missing = gaps(&present, 1, n);
    if !missing.is_empty() && !allow_partial {
        let mut why = Vec::new();
        // parts whose own shard is incomplete
        for ((shard, runs), p) in held.iter().zip(parts) {
            let (lo, hi) = match shard {
                Some((i, m)) => shard_range(n, *i, *m),
                None => (1, n),
            };
            let g = gaps(runs, lo, hi);
            if !g.is_empty() {
                let name = shard
                    .map(|(i, m)| format!("shard {i}/{m}"))
                    .unwrap_or("the study".into());
                why.push(format!(
                    "{name} ('{}') holds {} of its {} runs (missing {})",
                    p.display(),
                    runs.len(),
                    hi + 1 - lo,
                    ranges_text(&g)
                ));
            }
        }
        // shards with no part: named when the parts agree on the number of shards
        let ms: Vec<u64> = held.iter().filter_map(|(s, _)| s.map(|x| x.1)).collect();
        if let Some(&m) = ms.first()
            && ms.len() == held.len()
            && ms.iter().all(|&x| x == m)
        {
            for i in 0..m {
                if !held.iter().any(|(s, _)| *s == Some((i, m))) {
                    let (lo, hi) = shard_range(n, i, m);
                    if lo <= hi {
                        why.push(format!("shard {i}/{m} (runs {lo}-{hi}) has no part"));
                    }
                }
            }
        } else {
            why.push(format!("no part holds runs {}", ranges_text(&missing)));
        }
        return Err(Error::data(format!(
            "mc-merge: the parts hold {} of the study's {n} runs: {}",
            recs.len(),
            why.join("; ")
        ))
        .with_note("merge what there is with --allow-partial (the summary then says it is partial), or compute the missing runs: `mc --resume` on the merged file fills them in"));
    }
    io::write_runs(output, &first.measures, &first.params, &recs)?;
    let meta = Meta {
        shard: None,
        ..first.clone()
    };
    io::write_meta(output, &meta)?;
    Ok(Merged {
        meta,
        records: recs,
        missing,
    })
}
