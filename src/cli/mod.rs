//! The command line: one file per command. Each parses and checks its flags into the library's
//! options (ripgrep's raw flags -> checked configuration), calls the library, and prints or
//! writes what it returns; the policy of every command lives in the library, where tests call
//! it. A new command is a file here, a variant of [`Cmd`] and an arm of [`run`].
use clap::{Parser, Subcommand};
use neurospice::error::{Error, Result};

mod capmin;
mod chara;
mod r#gen; // `gen` is a reserved word in Rust 2024
mod mc;
mod plot;
mod run;
mod snn;

/// Writes a command's printed results to standard output (the `outln!`/`out!` macros of
/// main.rs). A closed pipe ends the process with exit 0 and nothing more printed: the reader
/// has what it wanted, and the files a command writes are complete before it prints about them.
pub fn write_stdout(args: std::fmt::Arguments) -> Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    match o.write_fmt(args).and_then(|()| o.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::of(
            neurospice::error::Kind::Output,
            format!("could not write to standard output: {e}"),
        )),
    }
}

/// `neurospice COMMAND ...`.
#[derive(Parser)]
#[command(
    name = "neurospice",
    version,
    about = "SPICE-style circuit simulator for analog spiking-neural-network hardware"
)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    #[command(flatten)]
    budgets: BudgetArgs,
}

/// Resource budgets (src/budget.rs), checked before the work they bound; given before or
/// after the command.
#[derive(clap::Args)]
struct BudgetArgs {
    /// Most points one .dc analysis (or frequencies one .ac analysis) may have.
    #[arg(long, global = true, value_name = "N", default_value_t = neurospice::budget::DEFAULT_DC_POINTS)]
    max_dc_points: u64,
    /// Most devices a netlist may expand to (subcircuits expanded).
    #[arg(long, global = true, value_name = "N", default_value_t = neurospice::budget::DEFAULT_ELEMENTS)]
    max_elements: u64,
    /// Most time points one transient may take (estimated from tstop / max step before the
    /// run, and counted during it).
    #[arg(long, global = true, value_name = "N", default_value_t = neurospice::budget::DEFAULT_TIME_POINTS)]
    max_points: u64,
    /// Most statements one .control block may execute, loop passes counted (ngspice would run
    /// `while 1` forever).
    #[arg(long, global = true, value_name = "N", default_value_t = neurospice::budget::DEFAULT_CONTROL_STEPS)]
    max_control_steps: u64,
    /// Most work one analysis (.tran, .dc, .ac) may do, in units of 10-15 ns of one core
    /// (Newton iterations x devices and matrix entries). Not given: 1e9 (about 12 s), and a
    /// transient's limit grows with the run its deck asks for (20 iterations per smallest
    /// requested step, up to 1e10). A run projected to need more than twice its limit stops
    /// early; 0 = no limit.
    #[arg(long, global = true, value_name = "N")]
    max_work: Option<u64>,
}

// clap builds the command once per process; boxing the larger argument struct buys nothing
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Run the analyses of an ngspice-dialect netlist (.op, .dc, .tran).
    Run(run::RunArgs),
    /// Draw a figure (SVG or PNG) from result files.
    Plot(plot::PlotArgs),
    /// Binary-weight IF-SNN on MNIST: train, evaluate under neuron models, sweep variation.
    Snn(snn::SnnArgs),
    /// CapMin: MAC-level histograms, membrane-capacitor sizing, CapMin-V variation guard.
    Capmin(capmin::CapminArgs),
    /// Monte Carlo variation study: N runs, measures, statistics, yields.
    Mc(mc::McArgs),
    /// Merge the runs.csv files of a sharded Monte Carlo study.
    McMerge(mc::MergeArgs),
    /// Characterise a neuron: input level -> spike time and membrane voltage, INL.
    Chara(chara::CharaArgs),
    /// Generate netlists (C-2C ladder synapse).
    Gen(r#gen::GenArgs),
}

/// Runs the command the arguments name.
pub fn run(cli: Cli) -> Result<()> {
    neurospice::budget::set(neurospice::budget::Budgets {
        dc_points: cli.budgets.max_dc_points,
        elements: cli.budgets.max_elements,
        time_points: cli.budgets.max_points,
        control_steps: cli.budgets.max_control_steps,
        work: cli
            .budgets
            .max_work
            .unwrap_or(neurospice::budget::DEFAULT_WORK),
    });
    neurospice::budget::set_work_scales(cli.budgets.max_work.is_none());
    match cli.cmd {
        Cmd::Run(a) => run::run(&a),
        Cmd::Plot(a) => plot::run(&a),
        Cmd::Snn(a) => snn::run(a),
        Cmd::Capmin(a) => capmin::run(a),
        Cmd::Mc(a) => mc::run_mc(&a),
        Cmd::McMerge(a) => mc::run_merge(&a),
        Cmd::Chara(a) => chara::run(&a),
        Cmd::Gen(a) => r#gen::run(&a),
    }
}

/// `--plot FIG` of a command: draws `kind` from the file the command wrote (`spikes`: the
/// `run --spikes-out` markers), with the defaults of `neurospice plot`.
fn one_shot_plot(
    kind: neurospice::plot::Kind,
    input: &std::path::Path,
    spikes: Option<std::path::PathBuf>,
    fig: &std::path::Path,
) -> Result<()> {
    let sel = neurospice::plot::Selection {
        spikes,
        ..Default::default()
    };
    neurospice::plot::render(kind, &[input.to_path_buf()], &sel, &Default::default(), fig)
        .map_err(|e| e.context("--plot"))
}

/// A flag's SPICE number (`156.25n`, `10f`), or a usage error naming the flag.
fn spice_number(flag: &str, s: &str) -> Result<f64> {
    neurospice::expr::number::parse_number(s.trim())
        .ok_or_else(|| Error::usage(format!("{flag} '{s}': not a number (e.g. 156.25n)")))
}
