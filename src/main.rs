//! The `neurospice` binary: main -> cli::run -> ExitCode. Only main turns an error into an
//! exit code (its kind's, see `error::Kind::exit_code` and the table in README.md);
//! everything else returns it.
use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{e}");
            ExitCode::from(e.kind.exit_code())
        }
    }
}
