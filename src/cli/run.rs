//! `neurospice run`: the analyses of one netlist, or a `--sweep` of a `.param`, with their
//! waveforms, operating point, measures and spikes written where the flags say.
use super::one_shot_plot;
use neurospice::analysis::{self, Save};
use neurospice::control;
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
    /// markers), or with --sweep every .meas and spike statistic against the swept value, one
    /// panel per unit (log x with --sweep-log).
    #[arg(long, value_name = "FIG")]
    plot: Option<PathBuf>,
    /// Skip the netlist's `.control` block and run its dot-card analyses with the flags above
    /// (without this, a deck with a `.control` block runs as `ngspice -b` runs it).
    #[arg(long)]
    no_control: bool,
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

fn print_spike_stats(prefix: &str, res: &analysis::RunResult) -> Result<()> {
    let mut out = String::new();
    spike_stats(&mut out, prefix, res);
    out!("{out}");
    Ok(())
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
    c: &neurospice::circuit::Circuit,
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
    out!("{stats}");
    if let Some(p) = &a.meas_csv {
        let mut names = vec![sw.name.clone()];
        names.extend(measures.iter().map(|m| m.name.clone()));
        names.extend(spike_columns(&ro.spikes));
        let table = analysis::Table { names, rows };
        csv::write_csv(p, &table)?;
        rows = table.rows;
    }
    if let Some(p) = &a.spikes_out {
        csv::write_spikes(p, Some(&sw.name), &spikes)?;
    }
    if let Some(fig) = &a.plot {
        sweep_plot(c, measures, &ro.spikes, &sw.name, a.sweep_log, &rows, fig)?;
    }
    if failed > 0 {
        return Err(Error::numeric(format!(
            "{failed} of {} sweep points failed (their rows hold NaN)",
            results.len()
        )));
    }
    Ok(())
}

/// `run --sweep --plot FIG`: the measures and spike statistics against the swept value, one
/// panel per unit (spike counts apart from times), drawn from memory.
fn sweep_plot(
    c: &neurospice::circuit::Circuit,
    measures: &[meas::Measure],
    spikes: &[(String, f64)],
    x_name: &str,
    log_x: bool,
    rows: &[Vec<f64>],
    fig: &std::path::Path,
) -> Result<()> {
    use neurospice::plot::curves::{SweepColumn, sweep_figure};
    let mut cols: Vec<(String, Option<String>)> = measures
        .iter()
        .map(|m| (m.name.clone(), m.unit_in(c)))
        .collect();
    for name in spike_columns(spikes) {
        let unit = (!name.ends_with("_count")).then(|| "s".to_string());
        cols.push((name, unit));
    }
    let x: Vec<f64> = rows.iter().map(|r| r[0]).collect();
    let columns: Vec<SweepColumn> = cols
        .into_iter()
        .enumerate()
        .map(|(k, (name, unit))| SweepColumn {
            name,
            unit,
            values: rows
                .iter()
                .map(|r| r.get(k + 1).copied().unwrap_or(f64::NAN))
                .collect(),
        })
        .collect();
    let source = format!("--sweep {x_name}");
    let figure = sweep_figure(&source, x_name, None, &x, &columns, log_x)
        .map_err(|e| e.context("--plot"))?;
    let panels = figure.panels.len() as f64;
    let opts = neurospice::plot::FigureOptions {
        height_in: (1.0 + 1.2 * panels).min(8.0),
        ..Default::default()
    };
    neurospice::plot::save(&figure, &opts, fig).map_err(|e| e.context("--plot"))
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
    // the netlist is read and lexed once: a million-element deck costs seconds per pass
    let mut deck = if a.no_control {
        meas::Deck::load(&a.netlist)?
    } else {
        let bytes = std::fs::read(&a.netlist).map_err(|e| {
            Error::io(format!(
                "cannot read netlist '{}': {e}",
                a.netlist.display()
            ))
        })?;
        let file = a.netlist.to_string_lossy();
        // decoded as the lexer decodes every file (UTF-8, else Latin-1 per line, as ngspice
        // reads bytes)
        let (text, warning) = netlist::lexer::decode(&bytes, &file);
        drop(bytes);
        let mut lexed = netlist::lexer::lex_str(&text, &file)?;
        lexed.warnings.extend(warning);
        let script = control::compile_deck(&text, &file)?;
        drop(text);
        let sources = lexed.sources.clone();
        let nl = netlist::Netlist::parse_owned(lexed)?;
        // a deck with .ac runs as ngspice runs it even without a block (the dot-card path
        // below has no complex results)
        let has_ac = nl.controls.iter().any(|c| c.name() == ".ac");
        // so does a deck with `.print` cards (ngspice -b prints their tables), unless a flag
        // asks for the dot-card path's own outputs
        let has_print = nl
            .controls
            .iter()
            .any(|c| matches!(c.name(), ".print" | ".four" | ".fourier"));
        // a flag that asks for the dot-card path's own outputs (-o, --meas-csv, ...) takes
        // a deck without a block there, .ac or not
        let flag = dot_card_flag(a);
        if script.is_some() || (flag.is_none() && (has_ac || has_print)) {
            let script = match script {
                Some(s) => s,
                None => control::script::compile(&[])?,
            };
            return run_control(a, nl, &script);
        }
        meas::Deck::from_netlist(nl, sources)?
    };
    let c = netlist::elaborate(&deck.netlist, Default::default())?;
    if a.sweep.is_none() {
        // nothing elaborates this netlist again (a `.dc` of a parameter holds its own
        // copy): its element cards need not be held while the circuit runs
        deck.netlist.release_elements();
    }
    let measures = &deck.measures;
    meas::check_signals(measures, &c)?;
    if !a.quiet {
        for w in c.warnings.iter() {
            eprintln!("warning: {w}");
        }
        if let Some(f) = dot_card_flag(a)
            && c.analyses
                .iter()
                .any(|(an, _)| matches!(an, neurospice::circuit::Analysis::Ac(_)))
        {
            eprintln!(
                "warning: {f} takes the .op, .dc and .tran results; the .ac results are printed \
                 only without dot-card flags (or written by `write` in a .control block)"
            );
        }
    }
    let save = match &a.save {
        // nothing writes waveforms: keep only what the measures read (a run of many parts
        // would otherwise merge every signal onto the union of all parts' time points)
        None if a.output.is_none() => Save::List(vec!["none".into()]),
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
        return run_sweep_cmd(a, &c, &deck, &ro, spec);
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
    print_spike_stats("", &res)?;
    if let Some(p) = &a.spikes_out {
        csv::write_spikes(p, None, &[(0.0, res.spikes.as_slice())])?;
    }
    if let Some(op) = &res.op {
        if c.analyses
            .iter()
            .any(|(an, _)| matches!(an, neurospice::circuit::Analysis::Op))
        {
            outln!("Operating point ({}):", c.title);
            for (k, v) in op {
                outln!("  {k:<24} {v:>14.6e}");
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
            "stats: parts={} accepted={} rejected={} newton={} factorizations={} events={} bypassed={} min_step={:.3e} relax_sweeps={} hub_solves={} relax_fallbacks={}",
            res.parts,
            res.stats.accepted_steps,
            res.stats.rejected_steps,
            res.stats.newton_iterations,
            res.stats.factorizations,
            res.stats.events,
            res.stats.bypassed,
            res.stats.min_step,
            res.stats.relax_sweeps,
            res.stats.hub_solves,
            res.stats.relax_fallbacks
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
    let params = deck.params(&[])?;
    // `.option autostop`: the measures are taken on the run up to where all succeed first
    let cut;
    let res = match meas::autostop(&deck.netlist)
        .then(|| meas::autostop_rows(ms, res, &params))
        .flatten()
    {
        Some(k) => {
            cut = analysis::RunResult {
                tran: res.tran.as_ref().map(|t| analysis::Table {
                    names: t.names.clone(),
                    rows: t.rows[..k].to_vec(),
                }),
                dc: res.dc.clone(),
                ..Default::default()
            };
            &cut
        }
        None => res,
    };
    let results = meas::evaluate(ms, res, &params);
    for (name, r) in &results {
        outln!("{}", meas::result_line(name, r));
    }
    if let Some(p) = &a.meas_json {
        meas::write_json(p, &results)?;
    }
    Ok(results.iter().filter(|(_, r)| r.is_err()).count())
}

/// A deck with a `.control` block, run as `ngspice -b` runs it (checked against ngspice 39,
/// docs/control.md): the block first; then, unless it ended with `quit`, the netlist's own
/// analysis cards once more (as a `run`, with their `.meas`), and the `.print` cards as
/// tables of every plot of their analysis.
/// The first flag given that only the dot-card path serves (its outputs), if any.
fn dot_card_flag(a: &RunArgs) -> Option<&'static str> {
    let flags = [
        (a.output.is_some(), "-o"),
        (a.op_json.is_some(), "--op-json"),
        (a.sweep.is_some(), "--sweep"),
        (a.meas_csv.is_some(), "--meas-csv"),
        (a.meas_json.is_some(), "--meas-json"),
        (!a.spikes.is_empty(), "--spikes"),
        (a.spikes_out.is_some(), "--spikes-out"),
        (a.plot.is_some(), "--plot"),
        (a.save.is_some(), "--save"),
        (a.strict, "--strict"),
        (a.ascii, "--ascii"),
    ];
    flags.iter().find(|(on, _)| *on).map(|(_, f)| *f)
}

fn run_control(a: &RunArgs, nl: netlist::Netlist, script: &control::Script) -> Result<()> {
    // the block's analyses share one work budget (a loop of short runs is bounded as one
    // long run is)
    let _work = neurospice::budget::Session::begin();
    if let Some(f) = dot_card_flag(a) {
        return Err(Error::usage(format!(
            "{f} applies to the netlist's dot-card analyses, but this deck has a .control \
             block that writes its own outputs; add --no-control to skip the block"
        )));
    }
    if !a.quiet {
        let ran_here = |w: &String| {
            w.contains(".control block")
                || w.contains("print skipped")
                || w.contains("four skipped")
                || w.contains("fourier skipped")
        };
        for w in nl.warnings.iter().filter(|w| !ran_here(w)) {
            eprintln!("warning: {w}");
        }
    }
    let prints = print_cards(&nl);
    let has_analysis = nl
        .controls
        .iter()
        .any(|c| matches!(c.name(), ".op" | ".dc" | ".tran" | ".ac"));
    let title_loc = nl.title_loc.clone();
    // a deck without elements still simulates (ngspice runs op, tran and ac on the empty
    // circuit: tests/regression/misc/empty-1.cir)
    let mut netlist_engine = control::adapter::NetlistEngine::new(nl);
    netlist_engine.report_warnings(!a.quiet);
    let engine: &mut dyn control::Engine = &mut netlist_engine;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let mut it = control::Interp::new(engine, &a.netlist, &control::date_now());
    it.set_step_limit(neurospice::budget::get().control_steps);
    let outcome = it.run(script, &mut out, &mut err)?;
    if outcome == control::Outcome::Quit || !has_analysis {
        return Ok(());
    }
    let loc = script
        .stmts
        .last()
        .map_or_else(|| title_loc.clone(), |s| s.loc.line_only());
    let after = control::script::compile(&[control::source::Line {
        text: "run".into(),
        loc: loc.clone(),
    }])?;
    it.run(&after, &mut out, &mut err)?;
    // the plots exist only now: list them after the run
    let mut tail = Vec::new();
    for (kind, words) in &prints {
        if kind == "four" {
            // ngspice's `.four`: `fourier` on the newest transient plot, if there is one
            match it
                .plots
                .list
                .iter()
                .rev()
                .find(|p| p.typename.starts_with("tran"))
            {
                Some(p) => {
                    tail.push(control::source::Line {
                        text: format!("setplot {}", p.typename),
                        loc: loc.clone(),
                    });
                    tail.push(control::source::Line {
                        text: format!("fourier {words}"),
                        loc: loc.clone(),
                    });
                }
                None if !a.quiet => {
                    eprintln!("warning: .four {words}: no transient analysis ran, no table")
                }
                None => {}
            }
            continue;
        }
        // an operating point's plot has no scale; ngspice still prints its .print card as a
        // table (index 0), which `print col` gives
        let op = kind == "op";
        for p in it.plots.list.iter().filter(|p| p.analysis || op) {
            if p.typename.starts_with(kind.as_str()) {
                // a vector the plot does not have is dropped with a warning, as ngspice does
                // (words only when each stands alone: an expression written with spaces is
                // left whole to `print`)
                let balanced = |w: &&str| w.matches('(').count() == w.matches(')').count();
                let split: Vec<&str> = words.split_whitespace().collect();
                let alone = split.iter().all(balanced);
                let mut kept = Vec::new();
                for w in split {
                    if !alone || control::lookup::print_word_found(&it.plots, p.id, w) {
                        kept.push(w);
                    } else if !a.quiet {
                        eprintln!(
                            "warning: .print {kind}: no vector {w} in {}: ignored",
                            p.typename
                        );
                    }
                }
                if kept.is_empty() {
                    continue;
                }
                tail.push(control::source::Line {
                    text: format!("setplot {}", p.typename),
                    loc: loc.clone(),
                });
                tail.push(control::source::Line {
                    text: format!("print{} {}", if op { " col" } else { "" }, kept.join(" ")),
                    loc: loc.clone(),
                });
            }
        }
    }
    if !tail.is_empty() {
        let sc = control::script::compile(&tail)?;
        it.run(&sc, &mut out, &mut err)?;
    }
    Ok(())
}

/// `i(vx)` on a `.print` card as ngspice 39 prints it: the vector `vx#branch` (a `print`
/// command keeps `i(vx)`).
fn branch_names(words: &str) -> String {
    words
        .split_whitespace()
        .map(|w| {
            let lw = w.to_ascii_lowercase();
            match lw.strip_prefix("i(").and_then(|r| r.strip_suffix(')')) {
                Some(dev) if !dev.is_empty() && !dev.contains([',', '(', ')']) => {
                    format!("{dev}#branch")
                }
                _ => w.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The netlist's `.print KIND v(a) v(b) ...` cards as (kind, the vectors as control words);
/// a card without a kind prints for the transient, as ngspice's. `.four f v(a) ...` cards
/// come as (`four`, their words), in the deck's order among the `.print` cards.
fn print_cards(nl: &netlist::Netlist) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in nl.controls.iter() {
        if matches!(c.name(), ".four" | ".fourier") {
            let words = control::adapter::card_words(&c.toks[1..]);
            out.push(("four".to_string(), words.trim().to_ascii_lowercase()));
            continue;
        }
        if c.name() != ".print" {
            continue;
        }
        let toks = &c.toks[1..];
        let (kind, rest) = match toks.first().map(|t| t.text.as_str()) {
            Some(k) if ["tran", "dc", "ac", "op"].contains(&k) => (k.to_string(), &toks[1..]),
            _ => ("tran".to_string(), toks),
        };
        if !rest.is_empty() {
            let words = control::adapter::card_words(rest);
            out.push((kind, branch_names(words.trim()).to_ascii_lowercase()));
        }
    }
    out
}
