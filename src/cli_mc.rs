//! `neurospice mc` and `neurospice mc-merge`: raw flags, then a checked [`Config`].
use neurospice::error::{Error, Result};
use neurospice::mc::io::{self, Meta};
use neurospice::mc::measure::{NetlistMeasures, Simple, SimpleMeasures};
use neurospice::mc::rng::Variation;
use neurospice::mc::stats::Spec;
use neurospice::mc::{Config, Record, Study};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

fn config(a: &McArgs) -> Result<Config> {
    let variation = Variation::parse(&a.variation).ok_or_else(|| {
        Error::usage(format!(
            "--variation '{}': expected global, local, both or none",
            a.variation
        ))
    })?;
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
    specs
        .iter()
        .map(|s| Spec::parse(s).map_err(Error::usage))
        .collect()
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
    let lexed = neurospice::netlist::lexer::lex_file(&a.netlist)?;
    let nl = neurospice::netlist::Netlist::parse(&lexed)?;
    let cards = neurospice::meas::parse_measures(&nl)?;
    let params = neurospice::meas::global_params(&nl, &[])?;
    let measures = NetlistMeasures {
        cards,
        params,
        extra,
    };
    let study = Study::new(nl, Arc::new(measures))?.shared();
    for s in &specs {
        if !study.measure_names.contains(&s.measure) {
            return Err(Error::usage(format!(
                "--spec '{}': no measure '{}'",
                s.text, s.measure
            )));
        }
    }
    let meta = Meta::new(&a.netlist, &cfg, &study.measure_names, &study.param_names);
    let mut done: Vec<Record> = Vec::new();
    if a.resume && a.output.exists() {
        match io::read_meta(&a.output)? {
            Some(m) if m == meta => {}
            Some(m) => {
                return Err(Error::usage(format!(
                    "--resume: '{}' was computed with different settings (seed {}, runs {}, variation {}, shard {:?}, measures {:?}); use the same options or a new output",
                    a.output.display(),
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
                    a.output.display(),
                    io::meta_path(&a.output).display()
                )));
            }
        }
        done = io::read_runs(&a.output, study.measure_names.len())?.records;
    }
    io::write_meta(&a.output, &meta)?;
    let all = study.runs_of(&cfg);
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
            neurospice::mc::write_wave(dir, "nominal.csv", t)?;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = Arc::clone(&stop);
        // a second handler cannot be installed (e.g. in tests); Ctrl-C then just kills
        let _ = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst));
    }
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(todo.len() as u64);
        if let Ok(st) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} runs  {per_sec}  eta {eta}  {msg}",
        ) {
            b.set_style(st);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let previous = done.clone();
    let write_err: Mutex<Option<Error>> = Mutex::new(None);
    let merge = |new: &[Record]| -> Vec<Record> {
        let mut all = previous.clone();
        all.extend_from_slice(new);
        all.sort_by_key(|r| r.run);
        all
    };
    // rewriting and syncing the file after every chunk would cost more than the runs of a
    // small cell; once a second bounds what Ctrl-C or a crash can lose
    let last_write = Mutex::new(std::time::Instant::now());
    let checkpoint = |new: &[Record]| {
        bar.set_position(new.len() as u64);
        let failed = new.iter().filter(|r| !r.ok).count();
        if failed > 0 {
            bar.set_message(format!("{failed} failed"));
        }
        match last_write.lock() {
            Ok(mut t) if t.elapsed() >= Duration::from_secs(1) => *t = std::time::Instant::now(),
            _ => return,
        }
        let recs = merge(new);
        if let Err(e) = io::write_runs(&a.output, &study.measure_names, &study.param_names, &recs)
            && let Ok(mut w) = write_err.lock()
        {
            *w = Some(e);
        }
    };
    let new = study.execute(&cfg, &todo, &stop, &checkpoint);
    bar.finish_and_clear();
    if let Ok(mut w) = write_err.lock()
        && let Some(e) = w.take()
    {
        return Err(e);
    }
    let recs = merge(&new);
    io::write_runs(&a.output, &study.measure_names, &study.param_names, &recs)?;
    let summary = io::summarize_study(&study.measure_names, &recs, Some(cfg.seed), &specs)?;
    if let Some(p) = &a.summary {
        io::write_summary(p, &summary)?;
    }
    if !a.quiet {
        print!(
            "{}",
            io::summary_table(&study.measure_names, &recs, &summary)
        );
    }
    if stop.load(Ordering::SeqCst) {
        return Err(Error::usage(format!(
            "interrupted: {} of {} runs are in '{}'; continue with the same command and --resume",
            recs.len(),
            all.len(),
            a.output.display()
        )));
    }
    if let Some(fig) = &a.plot {
        neurospice::plot::render(
            neurospice::plot::Kind::Hist,
            std::slice::from_ref(&a.output),
            &Default::default(),
            &Default::default(),
            fig,
        )
        .map_err(|e| Error::data(format!("--plot: {e}")))?;
    }
    Ok(())
}

pub fn run_merge(a: &MergeArgs) -> Result<()> {
    let specs = parse_specs(&a.specs)?;
    let mut metas = Vec::new();
    for p in &a.parts {
        let m = io::read_meta(p)?.ok_or_else(|| {
            Error::usage(format!(
                "'{}' has no {} beside it (written by neurospice mc)",
                p.display(),
                io::meta_path(p).display()
            ))
        })?;
        metas.push(m);
    }
    let first = &metas[0];
    for (p, m) in a.parts.iter().zip(&metas).skip(1) {
        if m.seed != first.seed
            || m.runs != first.runs
            || m.variation != first.variation
            || m.measures != first.measures
            || m.params != first.params
        {
            return Err(Error::usage(format!(
                "'{}' belongs to another study than '{}' (seed, runs, variation or columns differ)",
                p.display(),
                a.parts[0].display()
            )));
        }
    }
    let mut recs: Vec<Record> = Vec::new();
    for p in &a.parts {
        recs.extend(io::read_runs(p, first.measures.len())?.records);
    }
    recs.sort_by_key(|r| r.run);
    if let Some(w) = recs.windows(2).find(|w| w[0].run == w[1].run) {
        return Err(Error::usage(format!(
            "run {} appears in more than one part",
            w[0].run
        )));
    }
    io::write_runs(&a.output, &first.measures, &first.params, &recs)?;
    let meta = Meta {
        shard: None,
        ..first.clone()
    };
    io::write_meta(&a.output, &meta)?;
    let summary = io::summarize_study(&first.measures, &recs, Some(first.seed), &specs)?;
    if let Some(p) = &a.summary {
        io::write_summary(p, &summary)?;
    }
    if !a.quiet {
        if (recs.len() as u64) < first.runs {
            eprintln!(
                "warning: {} of {} runs present; missing shards?",
                recs.len(),
                first.runs
            );
        }
        print!("{}", io::summary_table(&first.measures, &recs, &summary));
    }
    Ok(())
}
