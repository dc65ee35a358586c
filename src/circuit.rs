//! The flattened circuit: numbered unknowns, devices, analyses and options, and the
//! [`Signal`]s that name what a run records.

use crate::devices::Inst;
use crate::error::{Loc, Result};
use std::fmt;
use std::sync::Arc;

/// Simulator options (`.options`), with ngspice's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub reltol: f64,
    /// Current tolerance [A].
    pub abstol: f64,
    /// Voltage tolerance [V].
    pub vntol: f64,
    /// Charge tolerance [C].
    pub chgtol: f64,
    /// Junction shunt conductance [S].
    pub gmin: f64,
    /// Truncation error overestimation factor.
    pub trtol: f64,
    /// DC iteration limit.
    pub itl1: usize,
    /// Transient iteration limit per time point.
    pub itl4: usize,
    pub method: Method,
    /// Circuit temperature [C].
    pub temp: f64,
    /// Nominal (model) temperature [C].
    pub tnom: f64,
    /// `.option scale`: MOSFET lengths on instance lines are multiplied by it, areas by its
    /// square (model cards are not scaled).
    pub scale: f64,
    /// Device bypass in the transient (`.option bypass=0` or `nobypass` turns it off).
    pub bypass: bool,
    /// Multirate relaxation at supply rails in the transient (`analysis::multirate`;
    /// `.option nomultirate` or `multirate=0` turns it off).
    pub multirate: bool,
    /// Multirate relaxation at bias lines too (`multirate=2`; `analysis::multirate::tear_bias`).
    pub multirate_bias: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reltol: 1e-3,
            abstol: 1e-12,
            vntol: 1e-6,
            chgtol: 1e-14,
            gmin: 1e-12,
            trtol: 3.0,
            itl1: 100,
            itl4: 10,
            method: Method::Trap,
            temp: 27.0,
            tnom: 27.0,
            scale: 1.0,
            bypass: true,
            multirate: true,
            multirate_bias: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Trap,
    Gear,
}

/// What a `.dc` sweep varies.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepTarget {
    /// An independent source, by device index.
    Source(usize),
    /// A global `.param`.
    Param(String),
    /// The temperature.
    Temp,
}

#[derive(Debug, Clone)]
pub struct Sweep {
    /// Lowercase name used as the CSV column (`v1`, `rload`, `temp`).
    pub name: String,
    pub target: SweepTarget,
    /// The swept quantity is a current (a current source's value).
    pub current: bool,
    pub start: f64,
    pub stop: f64,
    pub step: f64,
}

impl Sweep {
    /// The sweep values, start to stop inclusive (ngspice stops when it passes `stop`).
    pub fn values(&self) -> Vec<f64> {
        let n = self.points() as usize;
        (0..n).map(|k| self.start + k as f64 * self.step).collect()
    }

    /// How many values [`Sweep::values`] has, as a float: a step typo makes it
    /// astronomically large, and the budget check must see that before anything is allocated.
    pub fn points(&self) -> f64 {
        let n = ((self.stop - self.start) / self.step + 1e-9).floor();
        if n.is_finite() && n >= 0.0 {
            n + 1.0
        } else {
            1.0
        }
    }
}

/// How an `.ac` analysis spaces its frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcSpacing {
    /// `DEC n`: n points per decade.
    Dec,
    /// `OCT n`: n points per octave.
    Oct,
    /// `LIN n`: n points in all.
    Lin,
}

/// `.ac DEC|OCT|LIN n fstart fstop`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcSweep {
    pub spacing: AcSpacing,
    pub n: usize,
    pub fstart: f64,
    pub fstop: f64,
}

/// Most frequencies one `.ac` analysis may hold.
pub const AC_MAX_POINTS: usize = 10_000_000;

impl AcSweep {
    /// The frequencies, as ngspice steps them (repeated multiplication or addition, up to
    /// fstop plus a relative tolerance of `reltol` times the step).
    pub fn freqs(&self, reltol: f64) -> Vec<f64> {
        let n = self.n.max(1) as f64;
        let (delta, mul) = match self.spacing {
            AcSpacing::Dec => ((10f64.ln() / n).exp(), true),
            AcSpacing::Oct => ((2f64.ln() / n).exp(), true),
            AcSpacing::Lin if self.n > 1 => ((self.fstop - self.fstart) / (n - 1.0), false),
            AcSpacing::Lin => (0.0, false),
        };
        let mut out = Vec::new();
        let mut f = self.fstart;
        if !mul && delta == 0.0 {
            return vec![f];
        }
        let tol = if mul {
            delta * self.fstop * reltol
        } else {
            delta * reltol
        };
        while f <= self.fstop + tol && out.len() < AC_MAX_POINTS {
            out.push(f);
            if mul {
                f *= delta;
            } else {
                f += delta;
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub enum Analysis {
    Op,
    /// Small-signal frequency sweep at the operating point.
    Ac(AcSweep),
    /// One or two nested sweeps; the first is the inner (fast) one.
    Dc(Vec<Sweep>),
    Tran {
        tstep: f64,
        tstop: f64,
        tstart: f64,
        tmax: Option<f64>,
        uic: bool,
    },
}

/// A circuit quantity a run records or a measure reads. Text appears only where a user
/// writes or reads it (`--save`, `.meas`, table headers): [`Signal::parse`] and `Display`,
/// which uses ngspice's names (`v(x1.n)`, `i(v1)`, `i(v.x1.v1)` for a source inside a
/// subcircuit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Signal {
    /// A node voltage to ground (node name, flattened: `x1.n`).
    V(String),
    /// The voltage between two nodes.
    V2(String, String),
    /// The branch current of a device (voltage source, inductor, E/H/B-V source), by its
    /// flattened name: `v1`, `x1.v1`.
    I(String),
}

impl Signal {
    /// Reads `v(node)`, `v(a,b)`, `i(device)` (case-insensitive, blanks allowed); a device
    /// inside a subcircuit may be written as ngspice prints it (`i(v.x1.v1)`) or by its path
    /// (`i(x1.v1)`).
    pub fn parse(text: &str) -> Option<Signal> {
        let t = text.trim().to_ascii_lowercase();
        let (kind, rest) = t.split_at(t.find('(')?);
        let args = rest.strip_prefix('(')?.strip_suffix(')')?;
        let args: Vec<&str> = args.split(',').map(str::trim).collect();
        if args.iter().any(|a| a.is_empty()) {
            return None;
        }
        match (kind.trim(), args.as_slice()) {
            ("v", [a]) => Some(Signal::V(a.to_string())),
            ("v", [a, b]) => Some(Signal::V2(a.to_string(), b.to_string())),
            ("i", [d]) => Some(Signal::current(d)),
            _ => None,
        }
    }

    /// The branch current of the device written `d` (its path, or ngspice's name of a
    /// subcircuit's device, `v.x1.v1`).
    pub fn current(d: &str) -> Signal {
        Signal::I(unprefixed(d).to_string())
    }
}

/// A device path as ngspice prints a subcircuit's device (`v.x1.v1`: its type letter first)
/// without that letter.
fn unprefixed(d: &str) -> &str {
    let parts: Vec<&str> = d.split('.').collect();
    match parts.as_slice() {
        [t, .., last] if parts.len() >= 3 && t.len() == 1 && last.starts_with(*t) => &d[2..],
        _ => d,
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::V(n) => write!(f, "v({n})"),
            Signal::V2(a, b) => write!(f, "v({a},{b})"),
            Signal::I(d) => match d.rsplit_once('.') {
                Some((_, last)) => write!(f, "i({}.{d})", last.chars().next().unwrap_or('v')),
                None => write!(f, "i({d})"),
            },
        }
    }
}

/// Builds the circuit again with global `.param`s overridden: how a `.dc` over a parameter
/// gets the circuit of each point. The front end attaches one to a circuit whose `.dc`
/// sweeps a `.param` (it owns the parameters), so the analysis asks the circuit, never the
/// parser.
#[derive(Clone)]
pub struct Rebuild(pub Arc<dyn Fn(&[(String, f64)]) -> Result<Circuit> + Send + Sync>);

impl fmt::Debug for Rebuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rebuild")
    }
}

/// A flattened, numbered circuit ready for analysis.
#[derive(Debug, Clone)]
pub struct Circuit {
    pub title: String,
    /// Where the title line is (errors about the circuit as a whole point there).
    pub title_loc: Option<Loc>,
    /// Name of each unknown: index 0 is ground, 1..=n_nodes nodes, then branch currents
    /// (named by their device).
    pub names: Vec<String>,
    pub n_nodes: usize,
    /// Nodes a device made for itself (a diode's internal anode): not recorded unless asked
    /// for by name. Indexed like `names`.
    pub internal: Vec<bool>,
    pub devices: Vec<Inst>,
    /// Where each node was first used (for messages).
    pub node_loc: Vec<Option<Loc>>,
    pub analyses: Vec<(Analysis, Loc)>,
    pub options: Options,
    /// `.ic` node voltages.
    pub ic: Vec<(usize, f64)>,
    /// `.nodeset` node voltages: the initial guess of the `.op`, `.dc` and `.ac` operating
    /// point (held first, then released, as ngspice).
    pub nodeset: Vec<(usize, f64)>,
    pub warnings: Vec<String>,
    /// The circuit with `.param`s overridden, for a `.dc` over a parameter.
    pub rebuild: Option<Rebuild>,
}

impl Circuit {
    /// Total number of unknowns (ground excluded).
    pub fn n(&self) -> usize {
        self.names.len() - 1
    }
    /// What unknown k records: `V(node)` or `I(device)`; `None` for ground and for internal
    /// nodes.
    pub fn signal(&self, k: usize) -> Option<Signal> {
        if k == 0 || k > self.n() || self.internal.get(k).copied().unwrap_or(false) {
            return None;
        }
        Some(if k <= self.n_nodes {
            Signal::V(self.names[k].clone())
        } else {
            Signal::I(self.names[k].clone())
        })
    }
    /// The unknown a `V(node)` (internal nodes included) or `I(device)` signal reads; `None`
    /// for a difference of two nodes, ground or a name the circuit does not have.
    pub fn unknown(&self, s: &Signal) -> Option<usize> {
        match s {
            Signal::V(n) => self.node(n).filter(|&k| k > 0),
            Signal::I(d) => (self.n_nodes + 1..=self.n()).find(|&k| self.names[k] == *d),
            Signal::V2(..) => None,
        }
    }
    /// The unknowns a signal reads: its node or branch, or the two nodes of a difference.
    pub fn unknowns(&self, s: &Signal) -> Option<(usize, Option<usize>)> {
        match s {
            Signal::V2(a, b) => Some((self.node(a)?, Some(self.node(b)?))),
            _ => self.unknown(s).map(|k| (k, None)),
        }
    }
    /// The unknown index of a node name.
    pub fn node(&self, name: &str) -> Option<usize> {
        if name == "0" || name == "gnd" {
            return Some(0);
        }
        self.names[1..=self.n_nodes]
            .iter()
            .position(|n| n == name)
            .map(|k| k + 1)
    }
    /// Device index by (flattened, lowercase) name.
    pub fn device(&self, name: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_read_and_print_as_ngspice_names_them() {
        let cases = [
            ("v(out)", Signal::V("out".into()), "v(out)"),
            (
                "V( X1.n , 0 )",
                Signal::V2("x1.n".into(), "0".into()),
                "v(x1.n,0)",
            ),
            ("i(v1)", Signal::I("v1".into()), "i(v1)"),
            ("i(v.x1.v1)", Signal::I("x1.v1".into()), "i(v.x1.v1)"),
            ("i(x1.v1)", Signal::I("x1.v1".into()), "i(v.x1.v1)"),
            (
                "i(l.x1.x2.lb)",
                Signal::I("x1.x2.lb".into()),
                "i(l.x1.x2.lb)",
            ),
            // a one-letter instance name is not a type prefix
            ("i(x.v1)", Signal::I("x.v1".into()), "i(v.x.v1)"),
        ];
        for (text, sig, shown) in cases {
            assert_eq!(Signal::parse(text), Some(sig.clone()), "{text}");
            assert_eq!(sig.to_string(), shown);
        }
        for bad in ["v()", "v(a,)", "x(a)", "v(a,b,c)", "out", "i(a"] {
            assert_eq!(Signal::parse(bad), None, "{bad}");
        }
    }
}
