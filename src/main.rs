//! The `neurospice` command line.

mod cli_plot;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// neurospice: SPICE-style simulation of analog spiking-neural-network hardware.
#[derive(Debug, Parser)]
#[command(name = "neurospice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Draw a figure (SVG or PNG) from result files.
    Plot(cli_plot::PlotArgs),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Plot(args) => cli_plot::run(&args)?,
    }
    Ok(())
}
