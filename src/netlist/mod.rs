//! The ngspice-dialect front end: lexing, elaboration.
pub mod elaborate;
mod element;
pub mod lexer;

// The expression language and the number grammar moved to `crate::expr`; these keep the old
// paths working for callers not yet switched.
pub use crate::expr;
pub use crate::expr::number;

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
