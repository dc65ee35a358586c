//! What a run produces and keeps: result tables, spike trains, the run options (which
//! signals to save, which nodes to probe), and the signals' output names.

use crate::circuit::{Circuit, Signal};
use crate::error::{Error, Result};
use crate::solver::system::Stats;

/// A result table: named columns (the first is the independent variable) and rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub names: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.names.iter().position(|n| n == name)?;
        Some(self.rows.iter().map(|r| r[k]).collect())
    }
}

/// Everything a run produces.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Operating point (of .op or the transient's initial point): (signal, value).
    pub op: Option<Vec<(String, f64)>>,
    pub dc: Option<Table>,
    pub tran: Option<Table>,
    pub stats: Stats,
    pub parts: usize,
    /// Spike trains of the probed nodes (transient only), in the order they were asked for.
    pub spikes: Vec<SpikeTrain>,
}

/// Rising threshold crossings of one node, located by the event machinery.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SpikeTrain {
    /// Signal name, `v(node)`.
    pub node: String,
    /// Threshold [V].
    pub threshold: f64,
    /// Crossing times [s].
    pub times: Vec<f64>,
}

impl SpikeTrain {
    /// (count, first spike, mean inter-spike interval, its standard deviation); NaN where
    /// undefined.
    pub fn stats(&self) -> (usize, f64, f64, f64) {
        let n = self.times.len();
        let first = self.times.first().copied().unwrap_or(f64::NAN);
        if n < 2 {
            return (n, first, f64::NAN, f64::NAN);
        }
        let isi: Vec<f64> = self.times.windows(2).map(|w| w[1] - w[0]).collect();
        let m = isi.iter().sum::<f64>() / isi.len() as f64;
        let var = if isi.len() > 1 {
            isi.iter().map(|d| (d - m) * (d - m)).sum::<f64>() / (isi.len() - 1) as f64
        } else {
            0.0
        };
        (n, first, m, var.sqrt())
    }
}

/// Where a streamed transient's rows go as the points are accepted ([`crate::analysis::run_streaming`]):
/// the output file, so a long run's waveforms never sit in memory. `io` implements it for CSV
/// and raw files.
pub trait RowSink: Send {
    /// The column names (`time` first), once, before any row.
    fn header(&mut self, names: &[String]) -> Result<()>;
    /// One accepted time point: the time, then one value per column.
    fn row(&mut self, row: &[f64]) -> Result<()>;
}

/// What to keep from a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub save: Save,
    /// Nodes to record spikes on, with their thresholds [V].
    pub spikes: Vec<(String, f64)>,
}

/// Which signals to keep.
#[derive(Debug, Clone)]
pub enum Save {
    All,
    List(Vec<String>),
}

/// The output name of global unknown k (ngspice's naming: `v(x1.n)`, `i(v1)`, `i(v.x1.v1)`);
/// internal nodes keep their own name (`v(d1#anode)`).
pub fn signal_name(c: &Circuit, k: usize) -> String {
    match c.signal(k) {
        Some(s) => s.to_string(),
        None if k <= c.n_nodes => Signal::V(c.names[k].clone()).to_string(),
        None => Signal::I(c.names[k].clone()).to_string(),
    }
}

/// The unknowns to write, in output order: every node and branch (not the internal nodes)
/// for `Save::All`, else the listed signals (`v(node)`, `i(source)`), each of which must
/// exist.
pub fn saved_unknowns(c: &Circuit, save: &Save) -> Result<Vec<usize>> {
    match save {
        Save::All => Ok((1..=c.n()).filter(|&k| !c.internal[k]).collect()),
        Save::List(list) => {
            let mut out = Vec::new();
            for s in list {
                let s = s.trim().to_ascii_lowercase();
                if s.is_empty() || s == "none" {
                    continue;
                }
                match Signal::parse(&s).and_then(|sig| c.unknown(&sig)) {
                    Some(k) => out.push(k),
                    None => {
                        return Err(Error::usage(format!(
                            "--save: no signal '{s}' in the circuit (signals look like v(node) or i(vsource))"
                        )));
                    }
                }
            }
            Ok(out)
        }
    }
}
