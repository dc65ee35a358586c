//! `neurospice mc` and `neurospice mc-merge`: raw flags, then a checked [`Config`].
use neurospice::error::{Error, Result};
use neurospice::mc::io;
use neurospice::mc::measure::{Simple, SimpleMeasures};
use neurospice::mc::rng::Variation;
use neurospice::mc::spec::Spec;
use neurospice::mc::{self, Config, Output, Study};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(clap::Args)]
pub struct McArgs {
    /// The netlist file (random functions, mismatch model cards).
    netlist: PathBuf,
    /// Number of runs of the whole study.
    #[arg(long, default_value_t = 100)]
    runs: u64,
    /// Seed: run k of seed S is the same on any machine, thread count or shard.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Where to write one row per run.
    #[arg(short, long)]
    output: PathBuf,
    /// Where to write the statistics as JSON.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// A measure, `NAME=KIND(SIGNAL[,VALUE])`, KIND in rise fall at final max min op,
    /// e.g. `tspike=rise(v(mem),0.5)`. Repeatable.
    #[arg(long = "measure", short = 'm')]
    measures: Vec<String>,
    /// A yield specification, `NAME<VALUE`, `NAME>VALUE` or `LO<NAME<HI`. Repeatable.
    #[arg(long = "spec")]
    specs: Vec<String>,
    /// Save the waveforms of runs 1..=K (and the nominal run) under `<output dir>/waves/`.
    #[arg(long, default_value_t = 0)]
    save_waves: u64,
    /// Compute shard i of M (0-based, a contiguous block of runs), e.g. `--shard 3/8`.
    #[arg(long)]
    shard: Option<String>,
    /// Continue an interrupted study: keep the runs already in the output file.
    #[arg(long)]
    resume: bool,
    /// Wall-clock limit per run [s]; a run over it is recorded as failed.
    #[arg(long)]
    timeout: Option<f64>,
    /// Which variation to sample: global (random functions), local (mismatch), both, none.
    #[arg(long, default_value = "both")]
    variation: String,
    /// Also draw a one-shot figure (.svg or .png): the histogram of the first measure.
    #[arg(long, value_name = "FIG")]
    plot: Option<PathBuf>,
    /// Do not print the summary table.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// runs.csv files of the shards.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// The merged runs.csv.
    #[arg(short, long)]
    output: PathBuf,
    /// The merged statistics.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Yield specifications, as for `mc`.
    #[arg(long = "spec")]
    specs: Vec<String>,
    /// Merge even when runs are missing (a lost or unfinished shard); the summary then says
    /// the study is partial. Without it a missing run is an error naming the shards.
    #[arg(long)]
    allow_partial: bool,
    #[arg(short, long)]
    quiet: bool,
}

fn parse_shard(s: &str) -> Result<(u64, u64)> {
    let bad = || Error::usage(format!("--shard '{s}': expected i/M with 0 <= i < M"));
    let (i, m) = s.split_once('/').ok_or_else(bad)?;
    let (i, m): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        m.trim().parse().map_err(|_| bad())?,
    );
    if m == 0 || i >= m {
        return Err(bad());
    }
    Ok((i, m))
}

/// Most runs of one study: ten million (the run numbers and each run's record are held in
/// memory).
const MAX_RUNS: u64 = 10_000_000;

fn config(a: &McArgs) -> Result<Config> {
    let variation = Variation::parse(&a.variation).ok_or_else(|| {
        Error::usage(format!(
            "--variation '{}': expected global, local, both or none",
            a.variation
        ))
    })?;
    if a.runs > MAX_RUNS {
        // the run numbers (and each run's record) are held in memory: 10^12 runs was an
        // allocation of 8 TB and an abort
        return Err(Error::usage(format!(
            "--runs {}: more than {MAX_RUNS} runs in one study; split it with --shard I/M \
             and mc-merge",
            a.runs
        )));
    }
    if a.runs == 0 {
        return Err(Error::usage("--runs must be at least 1"));
    }
    let timeout = match a.timeout {
        Some(t) if t > 0.0 && t.is_finite() => Some(Duration::from_secs_f64(t)),
        Some(t) => return Err(Error::usage(format!("--timeout {t}: expected seconds > 0"))),
        None => None,
    };
    let dir = a
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(Config {
        runs: a.runs,
        seed: a.seed,
        variation,
        jobs: a.jobs.unwrap_or(0),
        shard: a.shard.as_deref().map(parse_shard).transpose()?,
        timeout,
        save_waves: a.save_waves,
        waves_dir: Some(dir.join("waves")),
    })
}

fn parse_specs(specs: &[String]) -> Result<Vec<Spec>> {
    specs.iter().map(|s| Spec::parse(s)).collect()
}

pub fn run_mc(a: &McArgs) -> Result<()> {
    let cfg = config(a)?;
    let specs = parse_specs(&a.specs)?;
    let extra = SimpleMeasures(
        a.measures
            .iter()
            .map(|m| Simple::parse(m))
            .collect::<Result<_>>()?,
    );
    let study = Study::from_file(&a.netlist, extra)?.shared();
    study.check_specs(&specs)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = Arc::clone(&stop);
        // a second handler cannot be installed (e.g. in tests); Ctrl-C then just kills
        let _ = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst));
    }
    let todo = study.runs_of(&cfg).len() as u64;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(todo);
        if let Ok(st) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} runs  {per_sec}  eta {eta}  {msg}",
        ) {
            b.set_style(st);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let out = Output {
        netlist: &a.netlist,
        runs_csv: &a.output,
        resume: a.resume,
        store: &io::Disk,
    };
    let progress = |done: usize, todo: usize, failed: usize| {
        bar.set_length(todo as u64);
        bar.set_position(done as u64);
        if failed > 0 {
            bar.set_message(format!("{failed} failed"));
        }
    };
    let outcome = mc::run_to_file(&study, &cfg, &out, &stop, &progress)?;
    bar.finish_and_clear();
    let recs = &outcome.records;
    let summary = io::summarize_study(&study.measure_names, recs, Some(cfg.seed), &specs)?;
    if let Some(p) = &a.summary {
        io::write_summary(p, &summary)?;
    }
    if !a.quiet {
        out!(
            "{}",
            io::summary_table(&study.measure_names, recs, &summary)
        );
    }
    if outcome.interrupted {
        return Err(Error::usage(format!(
            "interrupted: {} of {} runs are in '{}'; continue with the same command and --resume",
            recs.len(),
            outcome.planned,
            a.output.display()
        )));
    }
    if let Some(fig) = &a.plot {
        super::one_shot_plot(neurospice::plot::Kind::Hist, &a.output, None, fig)?;
    }
    Ok(())
}

pub fn run_merge(a: &MergeArgs) -> Result<()> {
    let specs = parse_specs(&a.specs)?;
    let merged = mc::merge_with(&a.parts, &a.output, a.allow_partial)?;
    let (meta, recs) = (&merged.meta, &merged.records);
    let mut summary = io::summarize_study(&meta.measures, recs, Some(meta.seed), &specs)?;
    summary.partial = merged.partial();
    if let Some(p) = &summary.partial {
        // asked for with --allow-partial, but never silent (also with -q)
        eprintln!(
            "warning: partial study: {} of {} runs merged; missing runs {}",
            p.expected_runs - p.missing_runs,
            p.expected_runs,
            p.missing
        );
    }
    if let Some(p) = &a.summary {
        io::write_summary(p, &summary)?;
    }
    if !a.quiet {
        out!("{}", io::summary_table(&meta.measures, recs, &summary));
    }
    Ok(())
}
