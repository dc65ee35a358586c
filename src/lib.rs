//! neurospice: a SPICE-style analog circuit simulator for spiking-neural-network hardware.
//!
//! # Tutorial
//! ```
//! use neurospice::{netlist, analysis};
//! let text = "rc step\nV1 in 0 PULSE(0 1 0 1n)\nR1 in out 1k\nC1 out 0 1n\n.tran 10n 5u\n.end\n";
//! let lexed = netlist::lexer::lex_str(text, "rc.cir").unwrap();
//! let nl = netlist::Netlist::parse(&lexed).unwrap();
//! let circuit = netlist::elaborate(&nl, Default::default()).unwrap();
//! let res = analysis::run(&circuit, &analysis::Save::All).unwrap();
//! let tran = res.tran.unwrap();
//! let v = tran.column("v(out)").unwrap();
//! // after 5 time constants the capacitor is charged to within 1%
//! assert!((v.last().unwrap() - 1.0).abs() < 0.01);
//! ```
//! The layers: `netlist` (lexing, expressions, elaboration into a flat `circuit::Circuit`),
//! `devices` (each loads F, Q and their Jacobians), `solver` (linear solver, Newton, operating
//! point, transient), `analysis` (checks, decoupled parts, tables), `io` (files), `mc` (Monte
//! Carlo studies), `neuro` (the network, CapMin, characterisation), `plot` (figures); beside
//! them `error` (the one error type), `stats` and `seed` (the one seeding scheme).
// Index loops read better than iterator chains over matrix rows and columns; device enums are
// stored by value on purpose (one Vec, no boxing on the hot path).
#![allow(
    clippy::needless_range_loop,
    clippy::large_enum_variant,
    clippy::type_complexity
)]
pub mod analysis;
pub mod budget;
pub mod circuit;
pub mod control;
pub mod devices;
pub mod error;
pub mod expr;
pub mod io;
pub mod mc;
pub mod meas;
pub mod netlist;
pub mod neuro;
pub mod plot;
pub mod seed;
pub mod solver;
pub mod stats;
pub mod sweep;
