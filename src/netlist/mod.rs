//! The ngspice-dialect front end: lexing (`lexer`), the scope tree (`scope`), `.param`
//! evaluation (`params`), elaboration into a flat `circuit::Circuit` (`elaborate`, with one
//! card to one device in `element`).
pub mod elaborate;
mod element;
pub mod lexer;
pub mod models;
pub mod params;
pub mod scope;

// The expression language and the number grammar moved to `crate::expr`; these keep the old
// paths working for callers not yet switched.
pub use crate::expr;
pub use crate::expr::number;

pub use elaborate::{ElabOptions, elaborate};
pub use params::{Draw, Sampler, csparam_values, global_values, top_func};
pub use scope::{Netlist, ParamMode};
