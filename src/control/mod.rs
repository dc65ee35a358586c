//! ngspice's control language: the `.control` ... `.endc` block of a deck.
//!
//! ```
//! use neurospice::control::{self, NoCircuit, Outcome};
//! let deck = "t\n.control\nlet x = vector(4) * 2\nlet y = x[3]\nif mean(x) gt 2\n  echo big $&y\nend\n.endc\n.end\n";
//! let script = control::compile_deck(deck, "t.cir").unwrap().unwrap();
//! let mut engine = NoCircuit;
//! let mut out = Vec::new();
//! let mut interp = control::Interp::new(&mut engine, "t.cir".as_ref(), &control::date_now());
//! let r = interp.run(&script, &mut out, &mut std::io::sink()).unwrap();
//! assert_eq!(r, Outcome::Finished);
//! assert_eq!(String::from_utf8(out).unwrap(), "big 6\n");
//! ```
//!
//! The pieces, in the order a deck goes through them: `source` (the control lines of a deck
//! and their words), `script` (blocks compiled once into a flat program with jumps),
//! `interp` (the commands, variables and plots), `expr` + `funcs` (vector expressions),
//! `print` (ngspice's text layouts), `measure` (`meas` through `crate::meas`), `figure`
//! (`plot` to SVG). The simulator is behind the [`Engine`] trait; [`NoCircuit`] runs decks
//! whose control blocks need no analysis, and `adapter` puts the current netlist and
//! analysis modules behind it.
//!
//! Design decisions and differences from ngspice are in docs/control.md.

/// A control error whose message is built with `format!`: `cerr!("no such vector {n}")`.
macro_rules! cerr {
    ($($t:tt)*) => {
        $crate::control::CtlError::Msg(format!($($t)*))
    };
}

pub mod adapter;
mod cfmt;
mod cx;
pub mod engine;
mod expr;
mod figure;
mod funcs;
pub mod interp;
pub mod lookup;
mod measure;
mod postproc;
mod print;
pub mod script;
pub mod source;
mod spectrum;
mod vars;
pub mod vector;

pub use engine::{Alter, Analysis, AnalysisKind, Engine, NoCircuit};
pub use interp::{Interp, Outcome};
pub use script::Script;
pub use vector::{Data, NewPlot, VType, Vector};

use crate::error::{Error, Result};

/// An error inside the interpreter, before the command that met it gives it a location:
/// the bare message of a command, an expression or a function (`no such vector x`), or a
/// crate error from the engine or a file. It displays as its message alone, so messages that
/// wrap one another (`mean(x): the vector is empty`) read as ngspice's do; crossing into the
/// rest of the crate it becomes an [`Error`] of kind `Netlist` (what the deck asked for is
/// not meaningful) unless it already is one.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CtlError {
    /// A message of the control language's own checks.
    #[error("{0}")]
    Msg(String),
    /// An error from the engine, the measure evaluator or the file system.
    #[error("{}", .0.msg)]
    Full(Error),
}

impl From<String> for CtlError {
    fn from(s: String) -> Self {
        CtlError::Msg(s)
    }
}

impl From<&str> for CtlError {
    fn from(s: &str) -> Self {
        CtlError::Msg(s.to_string())
    }
}

impl From<Error> for CtlError {
    fn from(e: Error) -> Self {
        CtlError::Full(e)
    }
}

impl From<CtlError> for Error {
    fn from(e: CtlError) -> Self {
        match e {
            CtlError::Msg(m) => Error::netlist(m, None),
            CtlError::Full(e) => e,
        }
    }
}

impl CtlError {
    /// The crate error, placed at `loc` unless it already has a place.
    pub fn at(self, loc: &crate::error::Loc) -> Error {
        Error::from(self).with_loc(Some(loc))
    }
}

/// What the control modules return inside the interpreter.
pub type CResult<T> = std::result::Result<T, CtlError>;

/// The control program of a deck: `None` if the deck has no `.control` block (nor `*#`
/// line). `file` names the deck in error locations.
pub fn compile_deck(text: &str, file: &str) -> Result<Option<Script>> {
    let lines = source::extract(text, file)?;
    if lines.is_empty() {
        return Ok(None);
    }
    // `pre_cmd` lines run before everything else (ngspice runs them before it reads the
    // circuit), as `cmd`
    let (mut pre, rest): (Vec<source::Line>, Vec<source::Line>) = lines
        .into_iter()
        .partition(|l| l.text.to_ascii_lowercase().starts_with("pre_"));
    for l in pre.iter_mut() {
        l.text = l.text[4..].to_string();
    }
    pre.extend(rest);
    script::compile(&pre).map(Some)
}

/// Now, in ngspice's `Date:` layout (UTC): `Sat Dec  5 14:55:05  2026`.
pub fn date_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    date_of(secs)
}

/// A Unix time in ngspice's `Date:` layout.
fn date_of(secs: i64) -> String {
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let t = secs.rem_euclid(86_400);
    // the proleptic Gregorian calendar walked year by year, then month by month
    let mut year = 1970i64;
    let mut d = days;
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    loop {
        let n = if leap(year) { 366 } else { 365 };
        if d < 0 {
            year -= 1;
            d += if leap(year) { 366 } else { 365 };
        } else if d >= n {
            d -= n;
            year += 1;
        } else {
            break;
        }
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while month < 11 && d >= lengths[month] {
        d -= lengths[month];
        month += 1;
    }
    format!(
        "{} {} {:2} {:02}:{:02}:{:02}  {year}",
        WD[days.rem_euclid(7) as usize],
        MON[month],
        d + 1,
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_in_ngspice_layout() {
        assert_eq!(super::date_of(0), "Thu Jan  1 00:00:00  1970");
        assert_eq!(super::date_of(1_796_482_505), "Sat Dec  5 14:55:05  2026");
        assert_eq!(super::date_of(951_782_400), "Tue Feb 29 00:00:00  2000");
    }
}
