//! `neurospice run`: the analyses of one netlist, or a `--sweep` of a `.param`, with their
//! waveforms, operating point, measures and spikes written where the flags say.
use super::one_shot_plot;
use neurospice::analysis::{self, Save};
use neurospice::error::{Error, Result};
use neurospice::io::{csv, json, raw};
use neurospice::{meas, netlist};
use std::path::PathBuf;

/// Arguments of `neurospice run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The netlist file.
    netlist: PathBuf,
    /// Write the transient (or, without one, the DC sweep) as CSV.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Signals to write, e.g. `v(out),i(v1)`; `none` for no waveforms. Default: all.
    #[arg(long)]
    save: Option<String>,
    /// Write the operating point as a flat JSON object.
    #[arg(long)]
    op_json: Option<PathBuf>,
    /// Print solver statistics (steps, rejections, Newton iterations) to stderr.
    #[arg(long)]
    stats: bool,
    /// Do not print warnings.
    #[arg(short, long)]
    quiet: bool,
    /// Record every rising crossing of NODE (threshold in volts, default 0.5), located in time
    /// by the event machinery. Repeatable.
    #[arg(long, value_name = "NODE[:THRESHOLD]")]
    spikes: Vec<String>,
    /// Write the recorded spikes as CSV (`node,index,time`; with --sweep the swept value first).
    #[arg(long, value_name = "FILE")]
    spikes_out: Option<PathBuf>,
    /// Re-run the analyses for each value of a .param: NAME=START:STOP:POINTS or NAME=list:a,b,c.
    #[arg(long, value_name = "SPEC")]
    sweep: Option<String>,
    /// Space the --sweep points logarithmically.
    #[arg(long)]
    sweep_log: bool,
    /// With --sweep: one row per point: the value, every .meas, then spike statistics of every
    /// --spikes node.
    #[arg(long, value_name = "FILE")]
    meas_csv: Option<PathBuf>,
    /// Write the .meas results as JSON: {"name": value} ({"failed": reason} if not taken).
    #[arg(long)]
    meas_json: Option<PathBuf>,
    /// Exit with status 1 if any .meas could not be taken.
    #[arg(long)]
    strict: bool,
    /// With `-o FILE.raw`: ngspice ASCII raw instead of binary.
    #[arg(long)]
    ascii: bool,
    /// Also draw a one-shot figure (.svg or .png): the waveforms of -o (with the --spikes
    /// markers), or with --sweep the --meas-csv columns against the swept value.
    #[arg(long, value_name = "FIG")]
    plot: Option<PathBuf>,
}

/// Parses `NODE[:THRESHOLD]`.
fn spike_spec(s: &str) -> Result<(String, f64)> {
    match s.rsplit_once(':') {
        Some((n, t)) => {
            let th = neurospice::expr::number::parse_number(t.trim()).ok_or_else(|| {
                Error::usage(format!("--spikes '{s}': '{t}' is not a threshold voltage"))
            })?;
            Ok((n.trim().to_string(), th))
        }
        None => Ok((s.trim().to_string(), 0.5)),
    }
}

fn print_spike_stats(prefix: &str, res: &analysis::RunResult) {
    let mut out = String::new();
    spike_stats(&mut out, prefix, res);
    print!("{out}");
}

/// The spike statistics lines of a run (count, first spike, mean and sd of the ISI per node).
fn spike_stats(out: &mut String, prefix: &str, res: &analysis::RunResult) {
    use std::fmt::Write as _;
    for sp in &res.spikes {
        let (n, first, isi, sd) = sp.stats();
        let _ = writeln!(
            out,
            "{prefix}{}: spikes = {n}, first = {first:.6e} s, mean ISI = {isi:.6e} s, ISI std = {sd:.6e} s",
            sp.node
        );
    }
}

fn spike_columns(spikes: &[(String, f64)]) -> Vec<String> {
    let mut cols = Vec::new();
    for (n, _) in spikes {
        let n = n.to_ascii_lowercase();
        let n = n
            .strip_prefix("v(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(&n)
            .to_string();
        for s in ["count", "first", "isi_mean", "isi_std"] {
            cols.push(format!("{n}_{s}"));
        }
    }
    cols
}

fn run_sweep_cmd(
    a: &RunArgs,
    deck: &meas::Deck,
    ro: &analysis::RunOptions,
    spec: &str,
) -> Result<()> {
    let (nl, measures) = (&deck.netlist, deck.measures.as_slice());
    let sw = neurospice::sweep::parse_sweep(spec, a.sweep_log)?;
    if a.output.is_some() || a.op_json.is_some() {
        return Err(Error::usage(
            "with --sweep, use --meas-csv and --spikes-out (one row / spike list per point) instead of -o/--op-json",
        ));
    }
    // a sweep writes no waveforms: keep only the signals the measures read
    let ro = &analysis::RunOptions {
        save: Save::List(meas::signals(measures)),
        spikes: ro.spikes.clone(),
    };
    let results = neurospice::sweep::run_sweep(nl, &sw, ro);
    let mut rows = Vec::new();
    let mut spikes = Vec::new();
    let mut failed = 0;
    // stdout is line-buffered: gather the per-point lines and write them at once
    let mut stats = String::new();
    for (v, r) in &results {
        match r {
            Ok(res) => {
                spike_stats(&mut stats, &format!("{}={v:e} ", sw.name), res);
                let mut row = vec![*v];
                let params = if measures.is_empty() {
                    vec![]
                } else {
                    deck.params(&[(sw.name.clone(), *v)])?
                };
                for (name, m) in meas::evaluate(measures, res, &params) {
                    match m {
                        Ok(x) => row.push(x),
                        Err(why) => {
                            eprintln!("point {}={v:e}: {name} = failed ({why})", sw.name);
                            row.push(f64::NAN);
                        }
                    }
                }
                for sp in &res.spikes {
                    let (n, first, isi, sd) = sp.stats();
                    row.extend([n as f64, first, isi, sd]);
                }
                spikes.push((*v, res.spikes.as_slice()));
                rows.push(row);
            }
            Err(e) => {
                failed += 1;
                eprint!("point {}={v:e} failed: {e}", sw.name);
                let mut row = vec![*v];
                row.extend(std::iter::repeat_n(
                    f64::NAN,
                    measures.len() + 4 * ro.spikes.len(),
                ));
                rows.push(row);
            }
        }
    }
    print!("{stats}");
    if let Some(p) = &a.meas_csv {
        let mut names = vec![sw.name.clone()];
        names.extend(measures.iter().map(|m| m.name.clone()));
        names.extend(spike_columns(&ro.spikes));
        csv::write_csv(p, &analysis::Table { names, rows })?;
    }
    if let Some(p) = &a.spikes_out {
        csv::write_spikes(p, Some(&sw.name), &spikes)?;
    }
    if let Some(fig) = &a.plot {
        let Some(p) = &a.meas_csv else {
            return Err(Error::usage(
                "--plot with --sweep draws the --meas-csv rows: give --meas-csv FILE",
            ));
        };
        one_shot_plot(neurospice::plot::Kind::Transfer, p, None, fig)?;
    }
    if failed > 0 {
        return Err(Error::numeric(format!(
            "{failed} of {} sweep points failed (their rows hold NaN)",
            results.len()
        )));
    }
    Ok(())
}

/// Runs `neurospice run`.
pub fn run(a: &RunArgs) -> Result<()> {
    let raw_out = a
        .output
        .as_ref()
        .is_some_and(|o| o.extension().is_some_and(|e| e.eq_ignore_ascii_case("raw")));
    if a.ascii && !raw_out {
        return Err(Error::usage("--ascii applies to a raw file: -o FILE.raw"));
    }
    let deck = meas::Deck::load(&a.netlist)?;
    let (nl, measures) = (&deck.netlist, &deck.measures);
    let c = netlist::elaborate(nl, Default::default())?;
    meas::check_signals(measures, &c)?;
    if !a.quiet {
        for w in c.warnings.iter() {
            eprintln!("warning: {w}");
        }
    }
    let save = match &a.save {
        None => Save::All,
        Some(s) => Save::List(s.split(',').map(|x| x.to_string()).collect()),
    };
    let spikes = a
        .spikes
        .iter()
        .map(|s| spike_spec(s))
        .collect::<Result<Vec<_>>>()?;
    let ro = analysis::RunOptions {
        save: meas::save_for(&save, measures),
        spikes,
    };
    if let Some(spec) = &a.sweep {
        return run_sweep_cmd(a, &deck, &ro, spec);
    }
    if a.meas_csv.is_some() {
        return Err(Error::usage("--meas-csv needs --sweep"));
    }
    // A transient written to -o streams there as it runs (a raw file also holding a .dc is
    // written from memory at the end); memory then holds only what the measures read, as it
    // does when nothing is written.
    let has =
        |f: fn(&neurospice::circuit::Analysis) -> bool| c.analyses.iter().any(|(an, _)| f(an));
    let has_tran = has(|an| matches!(an, neurospice::circuit::Analysis::Tran { .. }));
    let has_dc = has(|an| matches!(an, neurospice::circuit::Analysis::Dc(_)));
    let stream = a
        .output
        .as_ref()
        .filter(|_| has_tran && !(raw_out && has_dc));
    let kept = analysis::RunOptions {
        save: Save::List(meas::signals(measures)),
        spikes: ro.spikes.clone(),
    };
    let mut cache = analysis::PartCache::default();
    let res = match (stream, &a.output) {
        (Some(o), _) if raw_out => {
            let mut sink = neurospice::io::stream::RawSink::create(o, &c.title, a.ascii)?;
            let res = analysis::run_streaming(&c, &kept, &save, &mut sink, &mut cache)?;
            sink.finish()?;
            res
        }
        (Some(o), _) => {
            let mut sink = neurospice::io::stream::CsvSink::create(o)?;
            let res = analysis::run_streaming(&c, &kept, &save, &mut sink, &mut cache)?;
            sink.finish()?;
            res
        }
        (None, None) => analysis::run_with(&c, &kept, &mut cache)?,
        (None, Some(_)) => analysis::run_with(&c, &ro, &mut cache)?,
    };
    let meas_failed = report_measures(a, &deck, &res)?;
    print_spike_stats("", &res);
    if let Some(p) = &a.spikes_out {
        csv::write_spikes(p, None, &[(0.0, res.spikes.as_slice())])?;
    }
    if let Some(op) = &res.op {
        if c.analyses
            .iter()
            .any(|(an, _)| matches!(an, neurospice::circuit::Analysis::Op))
        {
            println!("Operating point ({}):", c.title);
            for (k, v) in op {
                println!("  {k:<24} {v:>14.6e}");
            }
        }
        if let Some(p) = &a.op_json {
            json::write_json_pairs(p, op)?;
        }
    } else if a.op_json.is_some() {
        return Err(Error::usage(
            "--op-json: the netlist has no .op and no .tran, so there is no operating point",
        ));
    }
    if let Some(o) = a.output.as_ref().filter(|_| stream.is_none()) {
        let project = |t: &Option<analysis::Table>| {
            t.as_ref()
                .map(|t| meas::user_columns(t, &c, &save, measures))
                .transpose()
        };
        let res = analysis::RunResult {
            tran: project(&res.tran)?,
            dc: project(&res.dc)?,
            ..Default::default()
        };
        let table = res.tran.as_ref().or(res.dc.as_ref());
        match table {
            Some(_) if raw_out => raw::write_run(o, &c, &res, a.ascii)?,
            Some(t) => csv::write_csv(o, t)?,
            None => {
                return Err(Error::usage(
                    "-o: the netlist has no .tran or .dc analysis to write",
                ));
            }
        }
    }
    if let Some(fig) = &a.plot {
        let Some(o) = &a.output else {
            return Err(Error::usage(
                "--plot draws the waveforms written by -o: give -o FILE.csv (or .raw)",
            ));
        };
        one_shot_plot(neurospice::plot::Kind::Wave, o, a.spikes_out.clone(), fig)?;
    }
    if a.stats {
        eprintln!(
            "stats: parts={} accepted={} rejected={} newton={} factorizations={} events={}",
            res.parts,
            res.stats.accepted_steps,
            res.stats.rejected_steps,
            res.stats.newton_iterations,
            res.stats.factorizations,
            res.stats.events
        );
    }
    if a.strict && meas_failed > 0 {
        // The run itself succeeded; what failed is a check the netlist asked for, so this is
        // the netlist's result being rejected (exit 1), not a numerical failure (exit 3).
        return Err(Error::netlist(
            format!("{meas_failed} measure(s) could not be taken (--strict)"),
            None,
        ));
    }
    Ok(())
}

/// Prints `name = value` per measure (ngspice style) and writes `--meas-json`; returns how
/// many failed.
fn report_measures(a: &RunArgs, deck: &meas::Deck, res: &analysis::RunResult) -> Result<usize> {
    let ms = &deck.measures;
    if ms.is_empty() {
        if a.meas_json.is_some() {
            return Err(Error::usage("--meas-json: the netlist has no .meas cards"));
        }
        return Ok(0);
    }
    let results = meas::evaluate(ms, res, &deck.params(&[])?);
    for (name, r) in &results {
        println!("{}", meas::result_line(name, r));
    }
    if let Some(p) = &a.meas_json {
        meas::write_json(p, &results)?;
    }
    Ok(results.iter().filter(|(_, r)| r.is_err()).count())
}
