//! The `neurospice` command line: main -> run -> ExitCode; only main turns errors into codes.
use clap::{Parser, Subcommand};
use neurospice::analysis::{self, Save};
use neurospice::error::{Error, Result};
use neurospice::{netlist, output};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli_mc;
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
    /// Monte Carlo variation study: N runs, measures, statistics, yields.
    Mc(cli_mc::McArgs),
    /// Merge the runs.csv files of a sharded Monte Carlo study.
    McMerge(cli_mc::MergeArgs),
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
}

fn run_cmd(a: &RunArgs) -> Result<()> {
    let lexed = netlist::lexer::lex_file(&a.netlist)?;
    let nl = netlist::Netlist::parse(&lexed)?;
    let c = netlist::elaborate(&nl, Default::default())?;
    if !a.quiet {
        for w in c.warnings.iter() {
            eprintln!("warning: {w}");
        }
    }
    let save = match &a.save {
        None => Save::All,
        Some(s) => Save::List(s.split(',').map(|x| x.to_string()).collect()),
    };
    let res = analysis::run(&c, &save, Some(&nl))?;
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
        let table = res.tran.as_ref().or(res.dc.as_ref());
        match table {
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
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Run(a) => run_cmd(a),
        Cmd::Plot(a) => cli_plot::run(a).map_err(|e| Error::data(e.to_string())),
        Cmd::Mc(a) => cli_mc::run_mc(a),
        Cmd::McMerge(a) => cli_mc::run_merge(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{e}");
            ExitCode::from(1)
        }
    }
}
