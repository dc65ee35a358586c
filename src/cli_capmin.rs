//! `neurospice capmin`: MAC-level histograms, CapMin level selection and CapMin-V protection.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use neurospice::capmin::{
    self, Physics, Protection, Rule, capacitance_f, cost_aware_frontier, most_frequent, nearest_map,
};
use neurospice::snn::SnnError;
use neurospice::snn::data::{self, Dataset, stratified_split};
use neurospice::snn::model::{Network, evaluate, level_histograms, write_atomic};
use neurospice::snn::neuron::Confusion;
use serde_json::{Value, json};

/// Arguments of `neurospice capmin`.
#[derive(Debug, Args)]
pub struct CapminArgs {
    #[command(subcommand)]
    command: CapminCommand,
}

#[derive(Debug, Subcommand)]
enum CapminCommand {
    /// Frequency of every MAC level per layer and accumulated, over the training split.
    Hist(HistArgs),
    /// Keep a subset of levels, size the capacitor, evaluate the network (CapMin).
    Select(SelectArgs),
    /// Widen the kept levels' windows against current mismatch and evaluate (CapMin-V).
    Protect(ProtectArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// Model JSON (the training split recorded in it is histogrammed, the held-out split
    /// evaluated).
    #[arg(long)]
    model: PathBuf,
    /// The data file the model was trained on (CSV(.gz) or IDX).
    #[arg(long)]
    data: PathBuf,
    /// IDX label file (default: derived from the image file name).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Also draw a one-shot figure (.svg or .png) of the table this command writes (hist: -o;
    /// select: --sweep-k; protect: -o).
    #[arg(long, value_name = "FIG")]
    plot: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PhysicsArgs {
    /// Charging current per active input, A.
    #[arg(long, default_value_t = 10e-9)]
    i_unit: f64,
    /// Firing threshold, V.
    #[arg(long, default_value_t = 0.5)]
    v_th: f64,
    /// Read-out clock period, s.
    #[arg(long, default_value_t = 1e-9)]
    t_clk: f64,
    /// Extra separation of neighbouring spikes on top of one clock period, s.
    #[arg(long, default_value_t = 0.0)]
    guard: f64,
}

impl PhysicsArgs {
    fn physics(&self) -> Result<Physics, SnnError> {
        let p = Physics {
            i_unit_a: self.i_unit,
            v_th_v: self.v_th,
            t_clk_s: self.t_clk,
            guard_s: self.guard,
        };
        p.validate().map_err(SnnError::Invalid)?;
        Ok(p)
    }
}

#[derive(Debug, Args)]
struct HistArgs {
    #[command(flatten)]
    common: Common,
    /// Write CSV `layer,level,count` (layer `all` = every layer accumulated).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RuleArg {
    /// The K most frequent levels.
    Frequent,
    /// Smallest expected level error within a capacitor budget.
    CostAware,
}

impl From<RuleArg> for Rule {
    fn from(r: RuleArg) -> Rule {
        match r {
            RuleArg::Frequent => Rule::Frequent,
            RuleArg::CostAware => Rule::CostAware,
        }
    }
}

#[derive(Debug, Args)]
struct SelectArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    physics: PhysicsArgs,
    /// Keep K levels (cost-aware: the best set with at most K levels).
    #[arg(long, conflicts_with = "max_loss")]
    keep: Option<usize>,
    /// Smallest capacitor whose accuracy is at most this far below the all-levels network
    /// (fraction; the default when --keep is not given is 0.01).
    #[arg(long)]
    max_loss: Option<f64>,
    /// Rule reported as `capmin` and used for `reduction` (both rules are computed).
    #[arg(long, value_enum, default_value_t = RuleArg::CostAware)]
    rule: RuleArg,
    /// Write CSV `rule,k,capacitance_f,accuracy` for every K (frequent) and every distinct
    /// budget's set (cost-aware).
    #[arg(long)]
    sweep_k: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ProtectArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    physics: PhysicsArgs,
    /// Relative sigma of the charging current, comma-separated for several.
    #[arg(long, value_delimiter = ',', required = true)]
    sigma: Vec<f64>,
    /// Probability of landing in one neighbour's window that the protection allows.
    #[arg(long, default_value_t = 0.01)]
    target_error: f64,
    /// Accuracy loss (without variation) allowed to CapMin and CapMin-V, fraction.
    #[arg(long, default_value_t = 0.01)]
    max_loss: f64,
    /// Repeats of the per-read sampling.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Seed of the per-read sampling.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write CSV `sigma,method,capacitance_f,accuracy`.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
}

/// Runs a `capmin` subcommand.
pub fn run(a: CapminArgs) -> Result<(), SnnError> {
    match a.command {
        CapminCommand::Hist(h) => run_hist(h),
        CapminCommand::Select(s) => run_select(s),
        CapminCommand::Protect(p) => run_protect(p),
    }
}

/// The network with its training split (histograms) and held-out split (accuracy).
struct Setup {
    net: Network,
    train: Dataset,
    test: Dataset,
}

fn setup(c: &Common) -> Result<Setup, SnnError> {
    let net = Network::load(&c.model)?;
    let d = data::load(&c.data, c.labels.as_deref())?;
    let Some(t) = &net.training else {
        return Err(SnnError::Invalid(format!(
            "{}: the model records no training split, so CapMin cannot tell training digits \
             (histogram) from held-out ones (accuracy)",
            c.model.display()
        )));
    };
    if d.fingerprint() != t.data_fingerprint {
        return Err(SnnError::Invalid(format!(
            "{}: differs from the file the model was trained on ({})",
            c.data.display(),
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

fn run_hist(a: HistArgs) -> Result<(), SnnError> {
    let s = setup(&a.common)?;
    let h = level_histograms(&s.net, &s.train);
    let all = capmin::accumulate(&h, s.net.array_size);
    let csv = capmin::hist_csv(&h, s.net.array_size);
    write_table(
        &a.common,
        a.output.as_deref(),
        &csv,
        neurospice::plot::Kind::CapminHist,
    )?;
    if a.common.json {
        let layers: Vec<Value> = h
            .iter()
            .map(|l| json!({"layer": l.layer, "counts": l.counts}))
            .collect();
        println!(
            "{}",
            json!({"array_size": s.net.array_size, "images": s.train.len(),
                   "layers": layers, "all": all})
        );
    } else if a.output.is_none() {
        print!("{csv}");
    }
    Ok(())
}

/// One evaluated kept set.
#[derive(Debug, Clone)]
struct Choice {
    rule: &'static str,
    levels: Vec<u32>,
    capacitance_f: f64,
    accuracy: f64,
    /// Whether the nominal accuracy is within the allowed loss.
    meets_loss: bool,
}

impl Choice {
    fn json(&self) -> Value {
        json!({"rule": self.rule, "levels": self.levels,
               "capacitance_f": self.capacitance_f, "accuracy": self.accuracy,
               "meets_loss": self.meets_loss})
    }
}

fn lut_accuracy(s: &Setup, kept: &[u32]) -> Result<f64, SnnError> {
    let lut = nearest_map(kept, s.net.array_size).map_err(SnnError::Invalid)?;
    Ok(evaluate(&s.net, &s.test, &lut, 1, 0)?.accuracy)
}

/// Candidate kept sets of a rule, by increasing capacitor (frequent: by K).
fn candidates(rule: Rule, freq: &[u64], p: Protection) -> Vec<Vec<u32>> {
    match rule {
        Rule::Frequent => (1..=freq.len()).map(|k| most_frequent(freq, k)).collect(),
        Rule::CostAware => cost_aware_frontier(freq, p),
    }
}

/// The first candidate (smallest capacitor) whose nominal accuracy is within `max_loss` of
/// `base`. When none is (protection against a large sigma can forbid the dense middle levels),
/// the candidate with the best nominal accuracy, flagged as missing the target.
fn first_within(
    s: &Setup,
    rule: Rule,
    cands: &[Vec<u32>],
    base: f64,
    max_loss: f64,
    p: Protection,
    phys: &Physics,
) -> Result<Choice, SnnError> {
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
        .ok_or_else(|| SnnError::Invalid(format!("no {} level set is possible", rule.name())))
}

fn all_levels(array_size: usize) -> Vec<u32> {
    (0..=array_size as u32).collect()
}

fn run_select(a: SelectArgs) -> Result<(), SnnError> {
    let phys = a.physics.physics()?;
    let s = setup(&a.common)?;
    let n = s.net.array_size;
    let freq = capmin::accumulate(&level_histograms(&s.net, &s.train), n);
    let base_levels = all_levels(n);
    let base_c = capacitance_f(&base_levels, Protection::NONE, &phys);
    let base_acc = lut_accuracy(&s, &base_levels)?;
    let mut chosen = Vec::new();
    for rule in [Rule::Frequent, Rule::CostAware] {
        let cands = candidates(rule, &freq, Protection::NONE);
        let c = match a.keep {
            Some(k) => {
                let kept = cands
                    .iter()
                    .filter(|c| c.len() <= k)
                    .min_by(|x, y| {
                        capmin::expected_error(x, &freq)
                            .total_cmp(&capmin::expected_error(y, &freq))
                    })
                    .ok_or_else(|| SnnError::Invalid(format!("no level set with {k} levels")))?
                    .clone();
                Choice {
                    rule: rule.name(),
                    capacitance_f: capacitance_f(&kept, Protection::NONE, &phys),
                    accuracy: lut_accuracy(&s, &kept)?,
                    meets_loss: true,
                    levels: kept,
                }
            }
            None => first_within(
                &s,
                rule,
                &cands,
                base_acc,
                a.max_loss.unwrap_or(0.01),
                Protection::NONE,
                &phys,
            )?,
        };
        chosen.push(c);
    }
    if let Some(p) = &a.sweep_k {
        let mut csv = String::from("rule,k,capacitance_f,accuracy\n");
        for rule in [Rule::Frequent, Rule::CostAware] {
            for kept in candidates(rule, &freq, Protection::NONE) {
                csv.push_str(&format!(
                    "{},{},{:e},{}\n",
                    rule.name(),
                    kept.len(),
                    capacitance_f(&kept, Protection::NONE, &phys),
                    lut_accuracy(&s, &kept)?
                ));
            }
        }
        write_atomic(p, csv.as_bytes())?;
    }
    one_shot(
        &a.common,
        neurospice::plot::Kind::CapminSweep,
        a.sweep_k.as_deref(),
        "--sweep-k",
    )?;
    let used = Rule::from(a.rule).name();
    let main = chosen.iter().find(|c| c.rule == used).unwrap_or(&chosen[0]);
    if a.common.json {
        let rules: serde_json::Map<String, Value> = chosen
            .iter()
            .map(|c| (c.rule.to_string(), c.json()))
            .collect();
        println!(
            "{}",
            json!({"baseline_capacitance_f": base_c, "baseline_accuracy": base_acc,
                   "capmin": main.json(), "rules": rules,
                   "reduction": base_c / main.capacitance_f})
        );
    } else {
        println!(
            "all {} levels: C = {:.3} fF, accuracy {:.2}%",
            n + 1,
            base_c * 1e15,
            100.0 * base_acc
        );
        for c in &chosen {
            println!(
                "{}: {} levels {:?}: C = {:.3} fF ({:.1}x smaller), accuracy {:.2}%",
                c.rule,
                c.levels.len(),
                c.levels,
                c.capacitance_f * 1e15,
                base_c / c.capacitance_f,
                100.0 * c.accuracy
            );
        }
    }
    Ok(())
}

/// Accuracy when every read goes through the decoder of `kept` at `c_f` under per-read current
/// sigma `sigma` (the confusion matrix the windows imply).
fn confusion_accuracy(
    s: &Setup,
    w: &capmin::Windows,
    sigma: f64,
    phys: &Physics,
    repeats: usize,
    seed: u64,
) -> Result<f64, SnnError> {
    let m = w.confusion(s.net.array_size, sigma, phys);
    let conf = Confusion::new(&m, Path::new("<capmin windows>"))?;
    Ok(evaluate(&s.net, &s.test, &conf, repeats, seed)?.accuracy)
}

fn run_protect(a: ProtectArgs) -> Result<(), SnnError> {
    let phys = a.physics.physics()?;
    let s = setup(&a.common)?;
    let n = s.net.array_size;
    let freq = capmin::accumulate(&level_histograms(&s.net, &s.train), n);
    let base_levels = all_levels(n);
    let base_c = capacitance_f(&base_levels, Protection::NONE, &phys);
    let base_acc = lut_accuracy(&s, &base_levels)?;
    let rule = Rule::CostAware;
    let capmin = first_within(
        &s,
        rule,
        &candidates(rule, &freq, Protection::NONE),
        base_acc,
        a.max_loss,
        Protection::NONE,
        &phys,
    )?;
    let mut csv = String::from("sigma,method,capacitance_f,accuracy\n");
    let mut out = Vec::new();
    for &sigma in &a.sigma {
        let prot = Protection::new(sigma, a.target_error).map_err(SnnError::Invalid)?;
        let cv = first_within(
            &s,
            rule,
            &candidates(rule, &freq, prot),
            base_acc,
            a.max_loss,
            prot,
            &phys,
        )?;
        let eval = |kept: &[u32], c_f: f64, p: Protection| {
            let w = capmin::windows(kept, c_f, p, &phys).map_err(SnnError::Invalid)?;
            confusion_accuracy(&s, &w, sigma, &phys, a.repeats, a.seed)
        };
        let b = Choice {
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
        let cv = Choice {
            accuracy: eval(&cv.levels, cv.capacitance_f, prot)?,
            ..cv
        };
        for (method, c) in [("baseline", &b), ("capmin", &c0), ("capmin_v", &cv)] {
            csv.push_str(&format!(
                "{sigma},{method},{:e},{}\n",
                c.capacitance_f, c.accuracy
            ));
        }
        if !a.common.json {
            println!(
                "sigma {:.1}%: all levels {:.3} fF {:.2}% | CapMin {:?} {:.3} fF {:.2}% | \
                 CapMin-V {:?} {:.3} fF {:.2}%",
                100.0 * sigma,
                base_c * 1e15,
                100.0 * b.accuracy,
                c0.levels,
                c0.capacitance_f * 1e15,
                100.0 * c0.accuracy,
                cv.levels,
                cv.capacitance_f * 1e15,
                100.0 * cv.accuracy
            );
        }
        out.push(json!({"sigma": sigma, "target_error": a.target_error,
            "baseline_capacitance_f": base_c, "baseline_accuracy": b.accuracy,
            "capmin": c0.json(), "capmin_v": cv.json(),
            "reduction": base_c / c0.capacitance_f,
            "reduction_v": base_c / cv.capacitance_f}));
    }
    write_table(
        &a.common,
        a.output.as_deref(),
        &csv,
        neurospice::plot::Kind::CapminV,
    )?;
    if a.common.json {
        let v = if out.len() == 1 {
            out.swap_remove(0)
        } else {
            Value::Array(out)
        };
        println!("{v}");
    }
    Ok(())
}

/// Writes the command's `-o` table (if asked) and its `--plot` figure from it.
fn write_table(
    c: &Common,
    out: Option<&std::path::Path>,
    csv: &str,
    kind: neurospice::plot::Kind,
) -> Result<(), SnnError> {
    if let Some(p) = out {
        write_atomic(p, csv.as_bytes())?;
    }
    one_shot(c, kind, out, "-o")
}

/// `--plot FIG`: draws `kind` from the table the command wrote (given by `flag`).
fn one_shot(
    c: &Common,
    kind: neurospice::plot::Kind,
    table: Option<&std::path::Path>,
    flag: &str,
) -> Result<(), SnnError> {
    let Some(fig) = &c.plot else { return Ok(()) };
    let Some(t) = table else {
        return Err(SnnError::Invalid(format!(
            "--plot draws the table written by {flag}: give {flag} FILE"
        )));
    };
    neurospice::plot::render(
        kind,
        &[t.to_path_buf()],
        &Default::default(),
        &Default::default(),
        fig,
    )
    .map_err(|e| SnnError::Invalid(format!("--plot: {e}")))
}
