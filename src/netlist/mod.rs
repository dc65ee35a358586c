//! The ngspice-dialect front end: lexing, expressions, elaboration.
pub mod elaborate;
pub mod expr;
pub mod lexer;
pub mod number;

pub use elaborate::{ElabOptions, Netlist, elaborate};

use crate::circuit::Circuit;
use crate::error::Result;
use std::path::Path;

/// Reads, parses and elaborates a netlist file with nominal parameter values.
pub fn load(path: &Path) -> Result<Circuit> {
    let lexed = lexer::lex_file(path)?;
    let nl = Netlist::parse(&lexed)?;
    elaborate(&nl, ElabOptions::default())
}
