//! `neurospice capmin`: MAC-level histograms, CapMin level selection and CapMin-V protection.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use neurospice::error::{Error, Result};
use neurospice::io::atomic::write_bytes;
use neurospice::neuro::capmin::study::{self, ProtectOptions, Setup, Target};
use neurospice::neuro::capmin::{self, Physics, Rule};
use neurospice::neuro::snn::model::level_histograms;
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
    fn physics(&self) -> Result<Physics> {
        let p = Physics {
            i_unit_a: self.i_unit,
            v_th_v: self.v_th,
            t_clk_s: self.t_clk,
            guard_s: self.guard,
        };
        p.validate()?;
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
pub fn run(a: CapminArgs) -> Result<()> {
    match a.command {
        CapminCommand::Hist(h) => run_hist(h),
        CapminCommand::Select(s) => run_select(s),
        CapminCommand::Protect(p) => run_protect(p),
    }
}

fn setup(c: &Common) -> Result<Setup> {
    study::setup(&c.model, &c.data, c.labels.as_deref())
}

fn run_hist(a: HistArgs) -> Result<()> {
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

fn run_select(a: SelectArgs) -> Result<()> {
    let phys = a.physics.physics()?;
    let s = setup(&a.common)?;
    let n = s.net.array_size;
    let freq = s.frequencies();
    let target = match a.keep {
        Some(k) => Target::Keep(k),
        None => Target::MaxLoss(a.max_loss.unwrap_or(0.01)),
    };
    let sel = study::select(&s, &freq, &phys, target)?;
    if let Some(p) = &a.sweep_k {
        let csv = study::sweep_k_csv(&s, &freq, &phys)?;
        write_bytes(p, csv.as_bytes())?;
    }
    one_shot(
        &a.common,
        neurospice::plot::Kind::CapminSweep,
        a.sweep_k.as_deref(),
        "--sweep-k",
    )?;
    let (base_c, base_acc) = (sel.baseline_capacitance_f, sel.baseline_accuracy);
    let main = sel.of(Rule::from(a.rule));
    if a.common.json {
        let rules: serde_json::Map<String, Value> = sel
            .chosen
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
        for c in &sel.chosen {
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

fn run_protect(a: ProtectArgs) -> Result<()> {
    let phys = a.physics.physics()?;
    let s = setup(&a.common)?;
    let freq = s.frequencies();
    let o = ProtectOptions {
        sigmas: a.sigma.clone(),
        target_error: a.target_error,
        max_loss: a.max_loss,
        repeats: a.repeats,
        seed: a.seed,
    };
    let json = a.common.json;
    let rows = study::protect(&s, &freq, &phys, &o, &mut |r| {
        if !json {
            println!(
                "sigma {:.1}%: all levels {:.3} fF {:.2}% | CapMin {:?} {:.3} fF {:.2}% | \
                 CapMin-V {:?} {:.3} fF {:.2}%",
                100.0 * r.sigma,
                r.baseline.capacitance_f * 1e15,
                100.0 * r.baseline.accuracy,
                r.capmin.levels,
                r.capmin.capacitance_f * 1e15,
                100.0 * r.capmin.accuracy,
                r.capmin_v.levels,
                r.capmin_v.capacitance_f * 1e15,
                100.0 * r.capmin_v.accuracy
            );
        }
    })?;
    write_table(
        &a.common,
        a.output.as_deref(),
        &study::protect_csv(&rows),
        neurospice::plot::Kind::CapminV,
    )?;
    if json {
        let mut out: Vec<Value> = rows
            .iter()
            .map(|r| {
                let base_c = r.baseline.capacitance_f;
                json!({"sigma": r.sigma, "target_error": a.target_error,
                    "baseline_capacitance_f": base_c, "baseline_accuracy": r.baseline.accuracy,
                    "capmin": r.capmin.json(), "capmin_v": r.capmin_v.json(),
                    "reduction": base_c / r.capmin.capacitance_f,
                    "reduction_v": base_c / r.capmin_v.capacitance_f})
            })
            .collect();
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
) -> Result<()> {
    if let Some(p) = out {
        write_bytes(p, csv.as_bytes())?;
    }
    one_shot(c, kind, out, "-o")
}

/// `--plot FIG`: draws `kind` from the table the command wrote (given by `flag`).
fn one_shot(
    c: &Common,
    kind: neurospice::plot::Kind,
    table: Option<&std::path::Path>,
    flag: &str,
) -> Result<()> {
    let Some(fig) = &c.plot else { return Ok(()) };
    let Some(t) = table else {
        return Err(Error::usage(format!(
            "--plot draws the table written by {flag}: give {flag} FILE"
        )));
    };
    super::one_shot_plot(kind, t, None, fig)
}
