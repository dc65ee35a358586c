//! `neurospice gen`: netlist generators.

use super::spice_number;
use clap::{Args, Subcommand};
use neurospice::error::Result;
use neurospice::io::atomic::write_bytes;
use neurospice::neuro::netgen::{C2cSpec, c2c_subckt};
use std::path::PathBuf;

/// Generate a netlist.
#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(subcommand)]
    pub what: GenWhat,
}

/// What `gen` writes.
#[derive(Debug, Subcommand)]
pub enum GenWhat {
    /// An n-bit C-2C ladder synapse subcircuit: v(out) = v(in) * code / 2^bits.
    C2c {
        /// Number of bits (1..16).
        #[arg(long)]
        bits: u32,
        /// Unit capacitance, F (SPICE number).
        #[arg(long, default_value = "10f")]
        cu: String,
        /// Node-to-ground parasitic capacitance as a fraction of the unit capacitance.
        #[arg(long, default_value = "0")]
        parasitic: String,
        /// Subcircuit name (default c2c<bits>).
        #[arg(long)]
        name: Option<String>,
        /// Output file (.lib to .include).
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Runs `gen`.
pub fn run(a: &GenArgs) -> Result<()> {
    match &a.what {
        GenWhat::C2c {
            bits,
            cu,
            parasitic,
            name,
            output,
        } => {
            let mut spec = C2cSpec::new(*bits);
            spec.cu = spice_number("--cu", cu)?;
            spec.parasitic = spice_number("--parasitic", parasitic)?;
            if let Some(n) = name {
                spec.name = n.clone();
            }
            let text = c2c_subckt(&spec)?;
            write_bytes(output, text.as_bytes())?;
            println!(
                "wrote {} ({}-bit C-2C ladder '{}')",
                output.display(),
                bits,
                spec.name
            );
            Ok(())
        }
    }
}
