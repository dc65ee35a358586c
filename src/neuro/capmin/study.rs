//! CapMin's selection policy on a trained network: which kept sets are candidates, which one is
//! chosen (the smallest capacitor within an accuracy loss, or the best set of at most K
//! levels), and how CapMin and CapMin-V compare under current variation.
//!
//! The network's training split gives the level frequencies, its held-out split the accuracies
//! (the split is recomputed from the seed and fraction the model records, and data other than
//! the training file is refused), so no setting is chosen on the digits it is judged on.

use super::{
    Physics, Protection, Rule, Windows, accumulate, capacitance_f, cost_aware_frontier,
    expected_error, most_frequent, nearest_map, windows,
};
use crate::error::{Error, Result};
use crate::neuro::snn::data::{self, Dataset, stratified_split};
use crate::neuro::snn::model::{Network, evaluate, level_histograms};
use crate::neuro::snn::neuron::Confusion;
use serde_json::{Value, json};
use std::path::Path;

/// The network with its training split (histograms) and held-out split (accuracy).
pub struct Setup {
    pub net: Network,
    pub train: Dataset,
    pub test: Dataset,
}

/// Loads the model and the data it was trained on and splits the data as the model records.
pub fn setup(model: &Path, data_file: &Path, labels: Option<&Path>) -> Result<Setup> {
    let net = Network::load(model)?;
    let d = data::load(data_file, labels)?;
    let Some(t) = &net.training else {
        return Err(Error::usage(format!(
            "{}: the model records no training split, so CapMin cannot tell training digits \
             (histogram) from held-out ones (accuracy)",
            model.display()
        )));
    };
    if d.fingerprint() != t.data_fingerprint {
        return Err(Error::usage(format!(
            "{}: differs from the file the model was trained on ({})",
            data_file.display(),
            t.data
        )));
    }
    let (tr, te) = stratified_split(&d.labels, t.test_fraction, t.split_seed);
    Ok(Setup {
        train: d.subset(&tr),
        test: d.subset(&te),
        net,
    })
}

impl Setup {
    /// Level frequencies of every chunked layer summed, over the training split.
    pub fn frequencies(&self) -> Vec<u64> {
        accumulate(
            &level_histograms(&self.net, &self.train),
            self.net.array_size,
        )
    }
}

/// One evaluated kept set.
#[derive(Debug, Clone)]
pub struct Choice {
    /// `frequent`, `cost_aware` or `all`.
    pub rule: &'static str,
    pub levels: Vec<u32>,
    pub capacitance_f: f64,
    pub accuracy: f64,
    /// Whether the nominal accuracy is within the allowed loss.
    pub meets_loss: bool,
}

impl Choice {
    /// The JSON object `capmin select|protect --json` prints for this set.
    pub fn json(&self) -> Value {
        json!({"rule": self.rule, "levels": self.levels,
               "capacitance_f": self.capacitance_f, "accuracy": self.accuracy,
               "meets_loss": self.meets_loss})
    }
}

/// Held-out accuracy when every level is read as its nearest kept level.
pub fn lut_accuracy(s: &Setup, kept: &[u32]) -> Result<f64> {
    let lut = nearest_map(kept, s.net.array_size)?;
    Ok(evaluate(&s.net, &s.test, &lut, 1, 0)?.accuracy)
}

/// Candidate kept sets of a rule, by increasing capacitor (frequent: by K).
pub fn candidates(rule: Rule, freq: &[u64], p: Protection) -> Vec<Vec<u32>> {
    match rule {
        Rule::Frequent => (1..=freq.len()).map(|k| most_frequent(freq, k)).collect(),
        Rule::CostAware => cost_aware_frontier(freq, p),
    }
}

/// The first candidate (smallest capacitor) whose nominal accuracy is within `max_loss` of
/// `base`. When none is (protection against a large sigma can forbid the dense middle levels),
/// the candidate with the best nominal accuracy, flagged as missing the target.
pub fn first_within(
    s: &Setup,
    rule: Rule,
    cands: &[Vec<u32>],
    base: f64,
    max_loss: f64,
    p: Protection,
    phys: &Physics,
) -> Result<Choice> {
    let choice = |kept: &Vec<u32>, acc: f64, met: bool| Choice {
        rule: rule.name(),
        levels: kept.clone(),
        capacitance_f: capacitance_f(kept, p, phys),
        accuracy: acc,
        meets_loss: met,
    };
    let mut best: Option<(f64, &Vec<u32>)> = None;
    for kept in cands {
        let acc = lut_accuracy(s, kept)?;
        if acc >= base - max_loss - 1e-12 {
            return Ok(choice(kept, acc, true));
        }
        if best.is_none_or(|(b, _)| acc > b) {
            best = Some((acc, kept));
        }
    }
    best.map(|(acc, kept)| choice(kept, acc, false))
        .ok_or_else(|| Error::usage(format!("no {} level set is possible", rule.name())))
}

/// Every level 0..=array_size (the unreduced neuron).
pub fn all_levels(array_size: usize) -> Vec<u32> {
    (0..=array_size as u32).collect()
}

/// What `select` keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// At most K levels (cost-aware: the set of smallest expected level error among them).
    Keep(usize),
    /// The smallest capacitor whose held-out accuracy is at most this far (fraction) below the
    /// all-levels network.
    MaxLoss(f64),
}

/// The result of `select`: the all-levels baseline and one choice per rule.
#[derive(Debug, Clone)]
pub struct Selection {
    pub baseline_capacitance_f: f64,
    pub baseline_accuracy: f64,
    /// Frequent, then cost-aware.
    pub chosen: Vec<Choice>,
}

impl Selection {
    /// The choice of `rule` (the first one if the rule was not computed).
    pub fn of(&self, rule: Rule) -> &Choice {
        self.chosen
            .iter()
            .find(|c| c.rule == rule.name())
            .unwrap_or(&self.chosen[0])
    }
}

/// CapMin: both rules' kept sets for `target`, sized and evaluated on the held-out split.
pub fn select(s: &Setup, freq: &[u64], phys: &Physics, target: Target) -> Result<Selection> {
    let base_levels = all_levels(s.net.array_size);
    let baseline_capacitance_f = capacitance_f(&base_levels, Protection::NONE, phys);
    let baseline_accuracy = lut_accuracy(s, &base_levels)?;
    let mut chosen = Vec::new();
    for rule in [Rule::Frequent, Rule::CostAware] {
        let cands = candidates(rule, freq, Protection::NONE);
        let c = match target {
            Target::Keep(k) => {
                let kept = cands
                    .iter()
                    .filter(|c| c.len() <= k)
                    .min_by(|x, y| expected_error(x, freq).total_cmp(&expected_error(y, freq)))
                    .ok_or_else(|| Error::usage(format!("no level set with {k} levels")))?
                    .clone();
                Choice {
                    rule: rule.name(),
                    capacitance_f: capacitance_f(&kept, Protection::NONE, phys),
                    accuracy: lut_accuracy(s, &kept)?,
                    meets_loss: true,
                    levels: kept,
                }
            }
            Target::MaxLoss(max_loss) => first_within(
                s,
                rule,
                &cands,
                baseline_accuracy,
                max_loss,
                Protection::NONE,
                phys,
            )?,
        };
        chosen.push(c);
    }
    Ok(Selection {
        baseline_capacitance_f,
        baseline_accuracy,
        chosen,
    })
}

/// CSV `rule,k,capacitance_f,accuracy` of every candidate of both rules (every K for the
/// frequent rule, every distinct budget's set for the cost-aware one).
pub fn sweep_k_csv(s: &Setup, freq: &[u64], phys: &Physics) -> Result<String> {
    let mut csv = String::from("rule,k,capacitance_f,accuracy\n");
    for rule in [Rule::Frequent, Rule::CostAware] {
        for kept in candidates(rule, freq, Protection::NONE) {
            csv.push_str(&format!(
                "{},{},{:e},{}\n",
                rule.name(),
                kept.len(),
                capacitance_f(&kept, Protection::NONE, phys),
                lut_accuracy(s, &kept)?
            ));
        }
    }
    Ok(csv)
}

/// Accuracy when every read goes through the decoder `w` under per-read current sigma `sigma`
/// (the confusion matrix the windows imply).
pub fn confusion_accuracy(
    s: &Setup,
    w: &Windows,
    sigma: f64,
    phys: &Physics,
    repeats: usize,
    seed: u64,
) -> Result<f64> {
    let m = w.confusion(s.net.array_size, sigma, phys);
    let conf = Confusion::new(&m, Path::new("<capmin windows>"))?;
    Ok(evaluate(&s.net, &s.test, &conf, repeats, seed)?.accuracy)
}

/// Settings of CapMin-V.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectOptions {
    /// Relative sigmas of the charging current to protect against and evaluate at.
    pub sigmas: Vec<f64>,
    /// Probability of landing in one neighbour's window that the protection allows.
    pub target_error: f64,
    /// Accuracy loss (without variation) allowed to CapMin and CapMin-V, fraction.
    pub max_loss: f64,
    /// Repeats of the per-read sampling.
    pub repeats: usize,
    /// Seed of the per-read sampling.
    pub seed: u64,
}

/// The three designs at one sigma, each with its accuracy under that sigma.
#[derive(Debug, Clone)]
pub struct ProtectRow {
    pub sigma: f64,
    /// All levels.
    pub baseline: Choice,
    /// Cost-aware CapMin chosen without variation.
    pub capmin: Choice,
    /// Cost-aware CapMin-V, protected against `sigma`.
    pub capmin_v: Choice,
}

/// CapMin-V: for every sigma, the all-levels design, unprotected CapMin and protected CapMin-V,
/// evaluated through the confusion matrices their decoders imply. `on_row` sees each row as
/// soon as it is computed (the evaluation takes seconds per sigma).
pub fn protect(
    s: &Setup,
    freq: &[u64],
    phys: &Physics,
    o: &ProtectOptions,
    on_row: &mut dyn FnMut(&ProtectRow),
) -> Result<Vec<ProtectRow>> {
    let base_levels = all_levels(s.net.array_size);
    let base_c = capacitance_f(&base_levels, Protection::NONE, phys);
    let base_acc = lut_accuracy(s, &base_levels)?;
    let rule = Rule::CostAware;
    let capmin = first_within(
        s,
        rule,
        &candidates(rule, freq, Protection::NONE),
        base_acc,
        o.max_loss,
        Protection::NONE,
        phys,
    )?;
    let mut rows = Vec::new();
    for &sigma in &o.sigmas {
        let prot = Protection::new(sigma, o.target_error)?;
        let cv = first_within(
            s,
            rule,
            &candidates(rule, freq, prot),
            base_acc,
            o.max_loss,
            prot,
            phys,
        )?;
        let eval = |kept: &[u32], c_f: f64, p: Protection| {
            let w = windows(kept, c_f, p, phys)?;
            confusion_accuracy(s, &w, sigma, phys, o.repeats, o.seed)
        };
        let baseline = Choice {
            rule: "all",
            levels: base_levels.clone(),
            capacitance_f: base_c,
            accuracy: eval(&base_levels, base_c, Protection::NONE)?,
            meets_loss: true,
        };
        let c0 = Choice {
            accuracy: eval(&capmin.levels, capmin.capacitance_f, Protection::NONE)?,
            ..capmin.clone()
        };
        let capmin_v = Choice {
            accuracy: eval(&cv.levels, cv.capacitance_f, prot)?,
            ..cv
        };
        let row = ProtectRow {
            sigma,
            baseline,
            capmin: c0,
            capmin_v,
        };
        on_row(&row);
        rows.push(row);
    }
    Ok(rows)
}

/// CSV `sigma,method,capacitance_f,accuracy` of CapMin-V rows (method `baseline`, `capmin`,
/// `capmin_v`), the input of `plot capmin-v`.
pub fn protect_csv(rows: &[ProtectRow]) -> String {
    let mut csv = String::from("sigma,method,capacitance_f,accuracy\n");
    for r in rows {
        for (method, c) in [
            ("baseline", &r.baseline),
            ("capmin", &r.capmin),
            ("capmin_v", &r.capmin_v),
        ] {
            csv.push_str(&format!(
                "{},{method},{:e},{}\n",
                r.sigma, c.capacitance_f, c.accuracy
            ));
        }
    }
    csv
}
