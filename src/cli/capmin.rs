//! `neurospice capmin`: MAC-level histograms, CapMin level selection and CapMin-V protection.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use neurospice::error::{Error, Result};
use neurospice::io::atomic::write_bytes;
use neurospice::neuro::capmin::study::{self, ProtectOptions, Setup, Target};
use neurospice::neuro::capmin::{self, Physics, Rule, design};
use neurospice::neuro::snn::model::{Readout, column_histograms, level_histograms};
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
    /// Size the capacitor (CapMin). With --design: a clocked design (capacitor, cycle of
    /// every level, decoder) scored with the hardware's decoder on the validation digits;
    /// with --spread CURVE --protect: CapMin-V of a clocked design. Without --design: the
    /// issue-7 level sets (nearest-level look-up tables).
    Select(SelectArgs),
    /// Issue-7 level sets: widen the kept levels' windows against an analytic current
    /// sigma and evaluate. Not the clocked designs' decoder; for CapMin-V of a clocked
    /// design use `select --design FILE --spread CURVE --protect`.
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
    /// Crossbar read-out whose levels are histogrammed and merged (default: the model's):
    /// xnor = popcount of XNOR(x, w) per chunk; and = single-ended column,
    /// #(x = 1 and w = +1), MAC corrected digitally.
    #[arg(long, value_enum)]
    readout: Option<ReadoutArg>,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReadoutArg {
    Xnor,
    And,
}

#[derive(Debug, Args)]
struct HistArgs {
    #[command(flatten)]
    common: Common,
    /// Write CSV `layer,level,count` (layer `all` = every layer accumulated).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// Also write the histogram of every physical column (one chunk of one neuron) as CSV
    /// `layer,column,neuron,chunk,max_level,level,count` (non-zero counts only; `max_level`
    /// is the highest level the column can produce: L for xnor, its +1 cells for and).
    #[arg(long, value_name = "CSV")]
    per_column: Option<PathBuf>,
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
    /// Search clocked designs instead of level sets and write the chosen one (capacitor,
    /// cycle of every level, decoder) as JSON for `snn eval --neuron capmin:FILE`. Scored
    /// with exactly that decoder on the held-out (validation) split of the training file.
    #[arg(long, value_name = "JSON", conflicts_with = "keep")]
    design: Option<PathBuf>,
    /// Design search: minimum distance of every level's nominal spike from a clock edge,
    /// clock periods.
    #[arg(long, default_value_t = 0.05)]
    edge_guard: f64,
    /// Design search: capacitor grid step, units of T_clk·I_u/V_th.
    #[arg(long, default_value_t = 0.01)]
    grid_step: f64,
    /// Design search: largest reduction tried.
    #[arg(long, default_value_t = 40.0)]
    max_reduction: f64,
    /// Design search: folds of the validation digits the loss is also reported on.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Score designs under a circuit's per-level spike-time spread: a `neurospice chara
    /// --mc-runs` curve (device part per physical neuron, per-read part per read); the
    /// written design carries it, so `snn eval --neuron capmin:FILE` reads under it too.
    #[arg(long, value_name = "CURVE", requires = "design")]
    spread: Option<PathBuf>,
    /// CapMin-V: size each cycle's reported level (the guard margins) from the spread
    /// (decoder = per cycle, the frequency-weighted median of P(cycle | level)).
    #[arg(long, requires = "spread")]
    protect: bool,
    /// Do not search: score this design file (e.g. CapMin's, given --spread) on the
    /// validation digits and write it, with the spread, to --design.
    #[arg(
        long,
        value_name = "JSON",
        requires = "design",
        conflicts_with = "protect"
    )]
    evaluate: Option<PathBuf>,
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
    let mut s = study::setup(&c.model, &c.data, c.labels.as_deref())?;
    if let Some(r) = c.readout {
        s.net.readout = match r {
            ReadoutArg::Xnor => Readout::Xnor,
            ReadoutArg::And => Readout::And,
        };
    }
    if s.net.weight_bits() != 1 {
        return Err(Error::usage(format!(
            "{}: CapMin sizes binary-weight columns; this model has {}-bit weights",
            c.model.display(),
            s.net.weight_bits()
        )));
    }
    Ok(s)
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
    if let Some(p) = &a.per_column {
        let mut out = String::from("layer,column,neuron,chunk,max_level,level,count\n");
        for c in column_histograms(&s.net, &s.train)? {
            for col in 0..c.outputs * c.chunks {
                for (m, &n) in c.column(col).iter().enumerate() {
                    if n > 0 {
                        out.push_str(&format!(
                            "{},{col},{},{},{},{m},{n}\n",
                            c.layer,
                            col / c.chunks,
                            col % c.chunks,
                            c.max_level[col]
                        ));
                    }
                }
            }
        }
        write_bytes(p, out.as_bytes())?;
    }
    if a.common.json {
        let layers: Vec<Value> = h
            .iter()
            .map(|l| json!({"layer": l.layer, "counts": l.counts}))
            .collect();
        outln!(
            "{}",
            json!({"array_size": s.net.array_size, "readout": s.net.readout.name(),
                   "images": s.train.len(),
                   "layers": layers, "all": all})
        );
    } else if a.output.is_none() {
        out!("{csv}");
    }
    Ok(())
}

fn run_select(a: SelectArgs) -> Result<()> {
    let phys = a.physics.physics()?;
    let s = setup(&a.common)?;
    let n = s.net.array_size;
    let freq = s.frequencies();
    if let Some(out) = &a.design {
        return run_design(&a, &s, &freq, &phys, out);
    }
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
        outln!(
            "{}",
            json!({"readout": s.net.readout.name(),
                   "baseline_capacitance_f": base_c, "baseline_accuracy": base_acc,
                   "capmin": main.json(), "rules": rules,
                   "reduction": base_c / main.capacitance_f})
        );
    } else {
        outln!(
            "all {} levels: C = {:.3} fF, accuracy {:.2}%",
            n + 1,
            base_c * 1e15,
            100.0 * base_acc
        );
        for c in &sel.chosen {
            outln!(
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

fn run_design(
    a: &SelectArgs,
    s: &Setup,
    freq: &[u64],
    phys: &Physics,
    out: &std::path::Path,
) -> Result<()> {
    let full = s.net.full_scale() as u32;
    let spread = a
        .spread
        .as_deref()
        .map(|p| design::Spread::from_curve_file(p, full))
        .transpose()?;
    let o = design::SearchOptions {
        max_loss: a.max_loss.unwrap_or(0.01),
        guard: a.edge_guard,
        step: a.grid_step,
        max_reduction: a.max_reduction,
        folds: a.folds,
        spread: spread.clone(),
        protect: a.protect,
    };
    let quiet = a.common.json;
    let ch = match &a.evaluate {
        Some(p) => {
            let d = neurospice::neuro::snn::neuron::Clocked::from_file(p)?;
            if d.full_scale != full {
                return Err(Error::usage(format!(
                    "{}: the design is for full scale {}, the network's is {full}",
                    p.display(),
                    d.full_scale
                )));
            }
            let d = match &spread {
                Some(sp) => sp.attach(d),
                None => d,
            };
            design::score(s, d, &o)?
        }
        None => design::search(s, freq, &o, &mut |c, r, loss| {
            if !quiet {
                eprintln!(
                    "  c = {c:.2} units ({r:.2}x): validation loss {:.2}%",
                    100.0 * loss
                );
            }
        })?,
    };
    let mut j = design::design_json(
        &ch,
        &a.common.model.display().to_string(),
        s.net.readout.name(),
        phys.t_clk_s,
        phys.i_unit_a,
        phys.v_th_v,
        o.guard,
        &a.common.data.display().to_string(),
    );
    j["spread"] = match &spread {
        Some(sp) => json!({"curve": sp.source, "protect": a.protect,
                           "evaluated_design": a.evaluate.as_ref().map(|p| p.display().to_string())}),
        None => Value::Null,
    };
    let text = serde_json::to_string_pretty(&j)
        .map_err(|e| Error::output(format!("cannot serialise the design: {e}")))?;
    write_bytes(out, text.as_bytes())?;
    if quiet {
        outln!("{j}");
    } else {
        outln!(
            "{} read-out: C = {:.3} units = {:.3} fF ({:.2}x below the all-levels {:.3} fF), \
             validation loss {:.2}% ({} digits, folds {:.2}..{:.2}%){}; written to {}",
            s.net.readout,
            ch.design.capacitance_units,
            ch.design.capacitance_units * phys.t_clk_s * phys.i_unit_a / phys.v_th_v * 1e15,
            ch.reduction,
            ch.baseline_units * phys.t_clk_s * phys.i_unit_a / phys.v_th_v * 1e15,
            100.0 * ch.loss,
            ch.validation_n,
            100.0 * ch.fold_losses.iter().copied().fold(f64::INFINITY, f64::min),
            100.0
                * ch.fold_losses
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max),
            if ch.meets_loss {
                ""
            } else {
                " (NO design met the loss budget; best shown)"
            },
            out.display()
        );
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
    let mut printing: Result<()> = Ok(());
    let rows = study::protect(&s, &freq, &phys, &o, &mut |r| {
        if !json && printing.is_ok() {
            printing = crate::cli::write_stdout(format_args!(
                "sigma {:.1}%: all levels {:.3} fF {:.2}% | CapMin {:?} {:.3} fF {:.2}% | \
                 CapMin-V {:?} {:.3} fF {:.2}%\n",
                100.0 * r.sigma,
                r.baseline.capacitance_f * 1e15,
                100.0 * r.baseline.accuracy,
                r.capmin.levels,
                r.capmin.capacitance_f * 1e15,
                100.0 * r.capmin.accuracy,
                r.capmin_v.levels,
                r.capmin_v.capacitance_f * 1e15,
                100.0 * r.capmin_v.accuracy
            ));
        }
    })?;
    printing?;
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
                       "readout": s.net.readout.name(),
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
        outln!("{v}");
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
