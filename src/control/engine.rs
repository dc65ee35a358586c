//! The simulator as the control language sees it: a narrow trait, so the interpreter does
//! not depend on how circuits are parsed, elaborated or solved.
//!
//! The contract that makes an ngspice Monte Carlo deck fast: the engine keeps the circuit it
//! elaborated and its solver structure (sparse pattern, symbolic LU, per-part systems)
//! between [`Engine::analyze`] calls, and re-elaborates only when [`Engine::alter`],
//! [`Engine::reset`] or [`Engine::option`] changed something since the last analysis. A
//! `repeat` of `alter` + `tran` + `meas` then costs one re-elaboration and one numeric run
//! per turn, the structure being reused.

use super::vector::NewPlot;
use crate::error::{Loc, Result};

/// The analysis a control command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisKind {
    /// `op`
    Op,
    /// `dc src start stop step [src2 start2 stop2 step2]`
    Dc,
    /// `tran tstep tstop [tstart [tmax]] [uic]`
    Tran,
    /// `ac dec|oct|lin n fstart fstop`
    Ac,
    /// `run`: the analyses of the netlist's own dot cards, in order.
    Run,
}

impl AnalysisKind {
    pub fn name(self) -> &'static str {
        match self {
            AnalysisKind::Op => "op",
            AnalysisKind::Dc => "dc",
            AnalysisKind::Tran => "tran",
            AnalysisKind::Ac => "ac",
            AnalysisKind::Run => "run",
        }
    }
}

/// An analysis command. `args` are the words after the command, after variable
/// substitution: ngspice runs `tran 1n 10u` exactly as it would run the card `.tran 1n 10u`,
/// so the engine reads them with its dot-card parser.
#[derive(Debug, Clone, Copy)]
pub struct Analysis<'a> {
    pub kind: AnalysisKind,
    pub args: &'a [String],
    /// The control line, for errors.
    pub loc: &'a Loc,
}

/// An `alter` (instance) or `altermod` (model) request: `alter r1 = 2k`,
/// `alter m1 w = 2u`, `alter @v1[pulse] = [ 0 1 1n 1n 1n 5n 10n ]`, `altermod nch vth0 = 0.4`.
#[derive(Debug, Clone, Copy)]
pub struct Alter<'a> {
    /// Device (`r1`, `x1.m2`) or model name, lowercase.
    pub name: &'a str,
    /// The parameter; `None` for a device's principal value (`alter r1 = 2k`).
    pub param: Option<&'a str>,
    /// `altermod`: `name` is a model.
    pub model: bool,
    /// The new value (several for a vector parameter such as `pulse`).
    pub value: &'a [f64],
    pub loc: &'a Loc,
}

/// What the interpreter needs from a simulator.
pub trait Engine {
    /// The circuit's title (the title of the plots its analyses make).
    fn title(&self) -> String;

    /// Runs an analysis and returns the plots it produced, in order (one per analysis;
    /// `run` may produce several). Vectors are named as ngspice names them inside a plot:
    /// node voltages by the node (`out`, `x1.n3`), branch currents `vname#branch`, the scale
    /// `time`, `frequency`, `v-sweep`/`i-sweep`/`temp-sweep`/`<param>-sweep`; the scale
    /// comes first. An operating point has no scale (`has_scale: false`), one value per
    /// vector. AC results are complex.
    fn analyze(&mut self, a: &Analysis) -> Result<Vec<NewPlot>>;

    /// Changes a device or model parameter for the following analyses.
    fn alter(&mut self, a: &Alter) -> Result<()>;

    /// `reset`: back to the circuit as read (every alter undone, options as in the netlist).
    fn reset(&mut self, loc: &Loc) -> Result<()>;

    /// `option name=value ...`: the words as the engine reads a `.options` card.
    fn option(&mut self, args: &[String], loc: &Loc) -> Result<()>;

    /// `save v(out) i(v1) ...` / `save all`: which vectors the next analyses keep.
    fn save(&mut self, args: &[String], loc: &Loc) -> Result<()>;

    /// `@dev[param]` in an expression: the current value of a device (or model) parameter.
    fn device_param(&mut self, dev: &str, param: Option<&str>) -> Result<Vec<f64>>;

    /// `setseed n`: the seed of the engine's own random draws (netlist random functions),
    /// for the analyses that follow.
    fn seed(&mut self, seed: u64);

    /// The netlist's `.meas` cards, as `meas tran name ...` text with their locations.
    /// ngspice takes them after every analysis of their kind (`run`, `tran`, ... in the
    /// control block), printed under `Measurements for <analysis>` and kept as vectors.
    fn dot_meas(&self) -> Vec<(String, Loc)> {
        Vec::new()
    }

    /// Whether the netlist sets `.option autostop` (stop a transient once its `.meas` cards
    /// are all taken).
    fn autostop(&self) -> bool {
        false
    }

    /// The netlist's global `.param` values, which `meas ... param=` expressions may use.
    fn params(&self) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// `(tstart, tstop, tstep)` of the transient analysis of the last `tran` or `run`, if it
    /// had one (`linearize` resamples onto this grid, as ngspice's).
    fn tran_params(&self) -> Option<(f64, f64, f64)> {
        None
    }

    /// Warnings about the circuit found since the last call (elaborating it: ignored model
    /// parameters, ...), each reported once however often the circuit is re-elaborated;
    /// the interpreter prints them after the analysis that found them, as ngspice prints
    /// them when it reads the circuit.
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// The netlist's `.csparam` values: vectors of the `const` plot when the block starts.
    fn csparams(&self) -> Result<Vec<(String, f64)>> {
        Ok(Vec::new())
    }
}

/// An engine with no circuit: every request fails with a message naming the command. For
/// decks whose control blocks only compute and print, and for tests of the language.
#[derive(Debug, Clone, Default)]
pub struct NoCircuit;

fn none(what: &str, loc: &Loc) -> crate::error::Error {
    crate::error::Error::netlist(
        format!("{what}: there is no circuit to simulate"),
        Some(loc),
    )
}

impl Engine for NoCircuit {
    fn title(&self) -> String {
        String::new()
    }
    fn analyze(&mut self, a: &Analysis) -> Result<Vec<NewPlot>> {
        Err(none(a.kind.name(), a.loc))
    }
    fn alter(&mut self, a: &Alter) -> Result<()> {
        Err(none(if a.model { "altermod" } else { "alter" }, a.loc))
    }
    fn reset(&mut self, loc: &Loc) -> Result<()> {
        Err(none("reset", loc))
    }
    fn option(&mut self, _: &[String], loc: &Loc) -> Result<()> {
        Err(none("option", loc))
    }
    fn save(&mut self, _: &[String], loc: &Loc) -> Result<()> {
        Err(none("save", loc))
    }
    fn device_param(&mut self, dev: &str, _: Option<&str>) -> Result<Vec<f64>> {
        Err(crate::error::Error::netlist(
            format!("@{dev}: there is no circuit"),
            None,
        ))
    }
    fn seed(&mut self, _: u64) {}
}
