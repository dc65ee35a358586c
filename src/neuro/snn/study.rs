//! What `snn eval` and `snn sweep` decide beyond one evaluation: which digits a split of a
//! data file is (refusing a model's train/test split on data it was not trained on, so
//! training digits can never be reported as held-out ones), and the accuracy-against-variation
//! sweep with its table (the input of `plot accuracy`).

use super::data::{Dataset, Split, stratified_split};
use super::model::{EvalResult, Network, evaluate};
use super::neuron::{AnyNeuron, NeuronModel, SpecContext};
use crate::error::{Error, Result};

/// The digits of `d` that `split` selects under the model's recorded split; `Split::All` is
/// the whole file. A train or test split of data whose fingerprint differs from the training
/// file's is refused.
pub fn select(net: &Network, d: Dataset, split: Split) -> Result<Dataset> {
    if split == Split::All {
        return Ok(d);
    }
    let Some(t) = &net.training else {
        return Err(Error::usage(
            "the model records no training split; use --split all",
        ));
    };
    if d.fingerprint() != t.data_fingerprint {
        return Err(Error::usage(format!(
            "the data differs from the file the model was trained on ({}); its train/test \
             split does not apply, use --split all",
            t.data
        )));
    }
    let (train_idx, test_idx) = stratified_split(&d.labels, t.test_fraction, t.split_seed);
    Ok(d.subset(if split == Split::Test {
        &test_idx
    } else {
        &train_idx
    }))
}

/// A variation sweep: a neuron kind evaluated at several values of its sigma.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// `level-noise`, `current-sigma`, `sense-amp-sigma` (the value is the sigma) or
    /// `circuit:FILE` (the value scales the characterised spike-time spread).
    pub neuron_kind: String,
    /// The swept parameter's name (only `sigma`).
    pub param: String,
    pub values: Vec<f64>,
    /// Read-out clock period for circuit neurons, s.
    pub t_clk: Option<f64>,
    /// Repeats with independent device samples, and their seed.
    pub repeats: usize,
    pub seed: u64,
}

impl Sweep {
    /// Checks what can be checked before any data is read (the swept parameter).
    pub fn check(&self) -> Result<()> {
        if self.param != "sigma" {
            return Err(Error::usage(format!(
                "--param {:?}: only `sigma` is supported",
                self.param
            )));
        }
        Ok(())
    }
}

/// Runs the sweep; `on_point(label, result)` sees each value's result as it is computed
/// (`label` is e.g. `current-sigma:0.05 sigma=0.05`). Returns the CSV
/// `neuron,param,value,accuracy,accuracy_std,accuracy_lo,accuracy_hi,n,repeats`.
pub fn sweep(
    net: &Network,
    d: &Dataset,
    s: &Sweep,
    on_point: &mut dyn FnMut(&str, &EvalResult),
) -> Result<String> {
    s.check()?;
    let mut csv = String::from(
        "neuron,param,value,accuracy,accuracy_std,accuracy_lo,accuracy_hi,n,repeats\n",
    );
    let (kind, file) = s
        .neuron_kind
        .split_once(':')
        .unwrap_or((&s.neuron_kind, ""));
    for &v in &s.values {
        let (spec, scale) = match kind {
            "level-noise" | "current-sigma" | "sense-amp-sigma" => (format!("{kind}:{v}"), 1.0),
            "circuit" => (format!("circuit:{file}"), v),
            _ => {
                return Err(Error::usage(format!(
                    "--neuron-kind {:?}: expected level-noise, current-sigma, sense-amp-sigma or circuit:FILE",
                    s.neuron_kind
                )));
            }
        };
        let neuron = AnyNeuron::parse(
            &spec,
            SpecContext {
                array_size: net.array_size,
                t_clk: s.t_clk,
                sigma_scale: scale,
            },
        )?;
        let r = evaluate(net, d, &neuron, s.repeats, s.seed)?;
        on_point(&format!("{} sigma={v}", neuron.name()), &r);
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            kind,
            s.param,
            v,
            r.accuracy,
            r.accuracy_std,
            r.accuracy_lo,
            r.accuracy_hi,
            r.n,
            r.repeats
        ));
    }
    Ok(csv)
}
