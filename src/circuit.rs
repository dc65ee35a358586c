//! The flattened circuit: numbered unknowns, devices, analyses and options.

use crate::devices::Inst;
use crate::error::Loc;

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
    pub start: f64,
    pub stop: f64,
    pub step: f64,
}

impl Sweep {
    /// The sweep values, start to stop inclusive (ngspice stops when it passes `stop`).
    pub fn values(&self) -> Vec<f64> {
        let n = ((self.stop - self.start) / self.step + 1e-9).floor();
        let n = if n.is_finite() && n >= 0.0 {
            n as usize
        } else {
            0
        };
        (0..=n).map(|k| self.start + k as f64 * self.step).collect()
    }
}

#[derive(Debug, Clone)]
pub enum Analysis {
    Op,
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

/// A flattened, numbered circuit ready for analysis.
#[derive(Debug, Clone)]
pub struct Circuit {
    pub title: String,
    /// Name of each unknown: index 0 is ground, 1..=n_nodes nodes, then branch currents.
    pub names: Vec<String>,
    pub n_nodes: usize,
    pub devices: Vec<Inst>,
    /// Where each node was first used (for messages).
    pub node_loc: Vec<Option<Loc>>,
    pub analyses: Vec<(Analysis, Loc)>,
    pub options: Options,
    /// `.ic` node voltages.
    pub ic: Vec<(usize, f64)>,
    pub warnings: Vec<String>,
}

impl Circuit {
    /// Total number of unknowns (ground excluded).
    pub fn n(&self) -> usize {
        self.names.len() - 1
    }
    /// Output name of unknown k: `v(node)` or `i(source)`.
    pub fn signal_name(&self, k: usize) -> String {
        if k <= self.n_nodes {
            format!("v({})", self.names[k])
        } else {
            format!("i({})", self.names[k])
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

    /// Whether device `d` is an independent current source (a `.dc` sweep of it is a current,
    /// which output formats name and type differently from a voltage).
    pub fn is_current_source(&self, d: usize) -> bool {
        matches!(
            self.devices.get(d).map(|i| &i.dev),
            Some(crate::devices::Device::I(_))
        )
    }
}
