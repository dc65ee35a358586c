//! The `neurospice` command line: main -> run -> ExitCode; only main turns errors into codes.
use clap::{Parser, Subcommand};
use neurospice::analysis::{self, Save};
use neurospice::error::{Error, Result};
use neurospice::{meas, netlist, output, raw};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli_plot;

#[derive(Parser)]
#[command(
    name = "neurospice",
    version,
    about = "SPICE-style circuit simulator for analog spiking-neural-network hardware"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

// clap builds the command once per process; boxing the larger argument struct buys nothing
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Run the analyses of an ngspice-dialect netlist (.op, .dc, .tran).
    Run(RunArgs),
    /// Draw a figure (SVG or PNG) from result files.
    Plot(cli_plot::PlotArgs),
}

#[derive(clap::Args)]
struct RunArgs {
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
    /// Write the .meas results as JSON: {"name": value} ({"failed": reason} if not taken).
    #[arg(long)]
    meas_json: Option<PathBuf>,
    /// Exit with status 1 if any .meas could not be taken.
    #[arg(long)]
    strict: bool,
    /// With `-o FILE.raw`: ngspice ASCII raw instead of binary.
    #[arg(long)]
    ascii: bool,
}

fn run_cmd(a: &RunArgs) -> Result<()> {
    let raw_out = a
        .output
        .as_ref()
        .is_some_and(|o| o.extension().is_some_and(|e| e.eq_ignore_ascii_case("raw")));
    if a.ascii && !raw_out {
        return Err(Error::usage("--ascii applies to a raw file: -o FILE.raw"));
    }
    let lexed = netlist::lexer::lex_file(&a.netlist)?;
    let nl = netlist::Netlist::parse(&lexed)?;
    let measures = meas::parse_measures(&nl)?;
    let c = netlist::elaborate(&nl, Default::default())?;
    meas::check_signals(&measures, &c)?;
    if !a.quiet {
        for w in c.warnings.iter() {
            eprintln!("warning: {w}");
        }
    }
    let save = match &a.save {
        None => Save::All,
        Some(s) => Save::List(s.split(',').map(|x| x.to_string()).collect()),
    };
    let res = analysis::run(&c, &meas::save_for(&save, &measures), Some(&nl))?;
    let meas_failed = report_measures(a, &nl, &measures, &res)?;
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
            output::write_json_pairs(p, op)?;
        }
    } else if a.op_json.is_some() {
        return Err(Error::usage(
            "--op-json: the netlist has no .op and no .tran, so there is no operating point",
        ));
    }
    if let Some(o) = &a.output {
        let project = |t: &Option<analysis::Table>| {
            t.as_ref()
                .map(|t| meas::user_columns(t, &c, &save, &measures))
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
            Some(t) => output::write_csv(o, t)?,
            None => {
                return Err(Error::usage(
                    "-o: the netlist has no .tran or .dc analysis to write",
                ));
            }
        }
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
        return Err(Error::numeric(format!(
            "{meas_failed} measure(s) could not be taken (--strict)"
        )));
    }
    Ok(())
}

/// Prints `name = value` per measure (ngspice style) and writes `--meas-json`; returns how
/// many failed.
fn report_measures(
    a: &RunArgs,
    nl: &netlist::Netlist,
    ms: &[meas::Measure],
    res: &analysis::RunResult,
) -> Result<usize> {
    if ms.is_empty() {
        if a.meas_json.is_some() {
            return Err(Error::usage("--meas-json: the netlist has no .meas cards"));
        }
        return Ok(0);
    }
    let results = meas::evaluate(ms, res, &meas::global_params(nl, &[])?);
    for (name, r) in &results {
        println!("{}", meas::result_line(name, r));
    }
    if let Some(p) = &a.meas_json {
        meas::write_json(p, &results)?;
    }
    Ok(results.iter().filter(|(_, r)| r.is_err()).count())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Run(a) => run_cmd(a),
        Cmd::Plot(a) => cli_plot::run(a).map_err(|e| Error::data(e.to_string())),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{e}");
            ExitCode::from(1)
        }
    }
}
