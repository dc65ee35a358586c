//! The `neurospice` binary: main -> cli::run -> ExitCode. Only main turns an error into an
//! exit code (its kind's, see `error::Kind::exit_code` and the table in README.md);
//! everything else returns it.
use clap::Parser;
use std::process::ExitCode;

/// `println!` for results on standard output: a reader that went away (`neurospice run ... |
/// head`) ends the program quietly with exit 0, as the programs it is piped into expect;
/// any other failure to write is an error (exit 4), never a panic.
macro_rules! outln {
    ($($t:tt)*) => {
        crate::cli::write_stdout(format_args!("{}\n", format_args!($($t)*)))?
    };
}

/// `print!` with the same rules as [`outln!`].
macro_rules! out {
    ($($t:tt)*) => {
        crate::cli::write_stdout(format_args!($($t)*))?
    };
}

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
