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
pub mod stats;

use crate::analysis::{self, RunResult, Save, Table};
use crate::error::{Error, Result};
use crate::netlist::{ElabOptions, Netlist};
use measure::Measures;
use rayon::prelude::*;
use rng::{RunSampler, Variation};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
                        let _ = tx.send(me.simulate(&c, run));
                    });
                match spawned {
                    Err(e) => (
                        self.failed(run, format!("cannot start a thread: {e}")),
                        None,
                    ),
                    Ok(_) => match rx.recv_timeout(limit) {
                        Ok(x) => x,
                        Err(_) => (
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
        .map_err(|e| Error::io(format!("cannot create '{}': {e}", dir.display())))?;
    crate::output::write_csv(&dir.join(name), t)
}
