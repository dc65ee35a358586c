//! The `neurospice` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli_snn;

/// SPICE-style analog circuit simulator for spiking-neural-network hardware.
#[derive(Debug, Parser)]
#[command(name = "neurospice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Binary-weight IF-SNN on MNIST: train, evaluate under neuron models, sweep variation.
    Snn(cli_snn::SnnArgs),
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Snn(a) => cli_snn::run(a).map_err(|e| e.to_string()),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
