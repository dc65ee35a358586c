//! `neurospice snn`: train, evaluate and sweep the binary-activation MNIST network (binary
//! or K-bit weights).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use neurospice::error::Result;
use neurospice::io::atomic::write_bytes;
use neurospice::neuro::snn::analog::{C2cSynapse, Column, OpampNeuron};
use neurospice::neuro::snn::data::{self, Dataset, Split};
use neurospice::neuro::snn::model::{EvalResult, Network, Readout, evaluate};
use neurospice::neuro::snn::neuron::{AnyNeuron, Clocked, Ideal, SpecContext};
use neurospice::neuro::snn::study;
use neurospice::neuro::snn::train::{TrainConfig, Tuning, train_with};

/// Arguments of `neurospice snn`.
#[derive(Debug, Args)]
pub struct SnnArgs {
    #[command(subcommand)]
    command: SnnCommand,
}

#[derive(Debug, Subcommand)]
enum SnnCommand {
    /// Train a network (binary or K-bit weights, ±1 spikes) and write it as JSON.
    Train(TrainArgs),
    /// Accuracy of a model under a neuron model.
    Eval(EvalArgs),
    /// Accuracy against a variation parameter, written as CSV.
    Sweep(SweepArgs),
}

#[derive(Debug, Args)]
struct DataArgs {
    /// MNIST data: CSV(.gz) with 784 pixels then the label per line, or IDX images (.gz ok).
    #[arg(long)]
    data: PathBuf,
    /// IDX label file (default: derived from the image file name).
    #[arg(long)]
    labels: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Output model JSON.
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Hidden layer widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "512,512")]
    hidden: Vec<usize>,
    /// Epochs.
    #[arg(long, default_value_t = 40)]
    epochs: usize,
    /// Seed of initialisation, batch order and augmentation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of each class of the data file held out (on a training file: the validation
    /// split; `snn eval` on the same file evaluates it by default). 0 holds out nothing.
    #[arg(long, visible_alias = "val-fraction", default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the held-out split (kept apart from --seed so models share a test set).
    #[arg(long, default_value_t = 1)]
    split_seed: u64,
    /// Mini-batch size.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Initial Adam learning rate (cosine decay to 0).
    #[arg(long, default_value_t = 0.005)]
    lr: f64,
    /// Input pixel bits: 1 = thresholded (first layer chunked), 2..8 = digital first layer.
    #[arg(long, default_value_t = 1)]
    input_bits: u32,
    /// Crossbar rows per chunk.
    #[arg(long, default_value_t = 32)]
    array_size: usize,
    /// Maximum random shift of training images, pixels (0 = no augmentation).
    #[arg(long, default_value_t = 2)]
    augment_shift: usize,
    /// Bits per weight: 1 = binary ±1; K = 2..8: codes c = 0..2^K-1 standing for the odd
    /// weights 2c - (2^K - 1), trained with quantisation-aware training.
    #[arg(long, default_value_t = 1)]
    weight_bits: u32,
    /// Fine-tune this model (its widths, input bits, array size and weight bits override the
    /// options; its thresholds stay fixed unless --refit-thresholds).
    #[arg(long)]
    init: Option<PathBuf>,
    /// Non-ideal neuron in the forward pass (hardware-aware training); same specs as eval.
    #[arg(long)]
    neuron: Option<String>,
    /// Crossbar read-out the neuron sees during hardware-aware training (default: the --init
    /// model's, else xnor).
    #[arg(long, value_enum)]
    readout: Option<ReadoutArg>,
    /// With --init and --neuron: refit every hidden threshold of the init model to the MAC
    /// statistics under the neuron, before the weights train (--epochs 0: refit only).
    #[arg(long)]
    refit_thresholds: bool,
    /// With --init of a binary model: latent weight magnitude given to its signs (how far
    /// Adam must move a weight to flip it).
    #[arg(long)]
    init_latent: Option<f64>,
    /// Read-out clock period for circuit neurons, s.
    #[arg(long)]
    t_clk: Option<f64>,
    /// Multiplier of a circuit neuron's characterised spike-time spread.
    #[arg(long, default_value_t = 1.0)]
    sigma_scale: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SplitArg {
    /// The digits the model held out (its validation split on a training file).
    #[value(alias = "val", alias = "held-out")]
    Test,
    /// The digits the model was trained on.
    Train,
    /// Every digit of the file.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReadoutArg {
    /// Differential XNOR cell: level = Σ (x ? c : M - c) (binary: popcount of XNOR).
    Xnor,
    /// Single-ended column: level = Σ x·c (binary: #(x = 1 and w = +1)), MAC corrected
    /// digitally.
    And,
}

impl From<ReadoutArg> for Readout {
    fn from(r: ReadoutArg) -> Readout {
        match r {
            ReadoutArg::Xnor => Readout::Xnor,
            ReadoutArg::And => Readout::And,
        }
    }
}

#[derive(Debug, Args)]
struct EvalCommon {
    /// Model JSON.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Repeats with independent device samples.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Seed of device and per-MAC sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Which images: the model's held-out split, its training split, or the whole file.
    /// Default: the held-out split of the file the model was trained on; all of any other
    /// file.
    #[arg(long, value_enum)]
    split: Option<SplitArg>,
    /// Crossbar read-out of every chunked column (default: the model's).
    #[arg(long, value_enum)]
    readout: Option<ReadoutArg>,
    /// Read-out clock period for circuit neurons, s.
    #[arg(long)]
    t_clk: Option<f64>,
}

#[derive(Debug, Args)]
struct EvalArgs {
    #[command(flatten)]
    common: EvalCommon,
    /// ideal | lut:FILE | confusion:FILE | level-noise:SIGMA | current-sigma:SIGMA |
    /// circuit:FILE | sense-amp:FILE | sense-amp-sigma:SIGMA | capmin:FILE (a design written by
    /// `capmin select --design`; its read-out is applied)
    #[arg(long, default_value = "ideal")]
    neuron: String,
    /// Synapse model: ideal | c2c:FILE (a K-bit C-2C ladder's realised weight per code, the
    /// summary.json of `neurospice mc` on a `gen c2c-bench` netlist; drawn per physical
    /// synapse, once per repeat). With c2c:FILE, or --neuron opamp:FILE (an op-amp integrator
    /// characterised by `chara --readout-line`), the columns integrate analog charge and are
    /// digitised per chunk (docs/c2c.md); --neuron must then be ideal or opamp:FILE.
    #[arg(long, default_value = "ideal")]
    synapse: String,
    /// Also report the paired accuracy loss against the ideal neuron on the same digits (first
    /// repeat), with its 95% interval (normal approximation of the per-digit differences);
    /// JSON field "paired_loss": {"loss", "lo", "hi"}.
    #[arg(long)]
    paired: bool,
    /// Multiplier of a circuit neuron's characterised spike-time spread.
    #[arg(long, default_value_t = 1.0)]
    sigma_scale: f64,
    /// Print {"accuracy", "accuracy_std", "accuracy_lo", "accuracy_hi", "binomial_lo",
    /// "binomial_hi", "n", "repeats", "readout"} as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SweepArgs {
    #[command(flatten)]
    common: EvalCommon,
    /// level-noise | current-sigma | sense-amp-sigma | circuit:FILE (sigma scales its
    /// characterised spike-time spread).
    #[arg(long)]
    neuron_kind: String,
    /// Swept parameter.
    #[arg(long, default_value = "sigma")]
    param: String,
    /// Parameter values, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    values: Vec<f64>,
    /// Output CSV.
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Also draw a one-shot figure (.svg or .png): accuracy against the parameter.
    #[arg(long, value_name = "FIG")]
    plot: Option<PathBuf>,
}

/// Runs `neurospice snn ...`.
pub fn run(args: SnnArgs) -> Result<()> {
    match args.command {
        SnnCommand::Train(a) => run_train(a),
        SnnCommand::Eval(a) => run_eval(a),
        SnnCommand::Sweep(a) => run_sweep(a),
    }
}

fn load_data(a: &DataArgs) -> Result<Dataset> {
    data::load(&a.data, a.labels.as_deref())
}

fn run_train(a: TrainArgs) -> Result<()> {
    let d = load_data(&a.data)?;
    let cfg = TrainConfig {
        hidden: a.hidden,
        epochs: a.epochs,
        batch_size: a.batch,
        learning_rate: a.lr,
        seed: a.seed,
        split_seed: a.split_seed,
        test_fraction: a.test_fraction,
        input_bits: a.input_bits,
        array_size: a.array_size,
        augment_shift: a.augment_shift,
        weight_bits: a.weight_bits,
        readout: Readout::Xnor,
        data_name: file_name(&a.data.data),
    };
    let mut cfg = cfg;
    let init = match &a.init {
        Some(p) => Some((Network::load(p)?, file_name(p))),
        None => None,
    };
    cfg.readout = match (a.readout, &init) {
        (Some(r), _) => r.into(),
        (None, Some((n, _))) => n.readout,
        (None, None) => Readout::Xnor,
    };
    let full_scale = match &init {
        Some((n, _)) => n.full_scale(),
        None if (1..=8).contains(&a.weight_bits) => a.array_size * ((1 << a.weight_bits) - 1),
        None => a.array_size,
    };
    let neuron = match &a.neuron {
        Some(spec) => Some((
            AnyNeuron::parse(
                spec,
                SpecContext {
                    array_size: full_scale,
                    t_clk: a.t_clk,
                    sigma_scale: a.sigma_scale,
                },
            )?,
            spec.clone(),
        )),
        None => None,
    };
    let tuning = Tuning {
        init,
        neuron,
        refit_thresholds: a.refit_thresholds,
        init_latent: a.init_latent,
    };
    let bar = progress_bar(cfg.epochs as u64);
    let net = train_with(&d, &cfg, &tuning, |epoch, loss| {
        bar.set_position(epoch as u64);
        bar.set_message(format!("loss {loss:.4}"));
    })?;
    bar.finish_and_clear();
    net.save(&a.output)?;
    if let Some(t) = &net.training {
        let held_out = match t.test_accuracy {
            Some(acc) => format!(
                "held-out accuracy {:.2}% ({} images, split seed {})",
                100.0 * acc,
                t.n_test,
                t.split_seed
            ),
            None => "nothing held out".into(),
        };
        outln!(
            "trained {} on {} images in {:.1} s: train accuracy {:.2}%, {held_out}",
            a.output.display(),
            t.n_train,
            t.train_seconds,
            100.0 * t.train_accuracy,
        );
        if let Some(acc) = t.neuron_test_accuracy {
            outln!(
                "held-out accuracy with neuron {} ({} read-out): {:.2}% (mean of 5 repeats)",
                t.neuron,
                t.readout,
                100.0 * acc
            );
        }
        if let (Some(w), Some(b), Some(th)) =
            (&t.weights_changed, t.bits_flipped, t.thresholds_changed)
        {
            outln!(
                "changed from {}: {} weights (per layer {:?}), {b} code bits, {th} thresholds",
                t.init.as_deref().unwrap_or("the init model"),
                w.iter().sum::<usize>(),
                w
            );
        }
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} {elapsed}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}

fn prepare(c: &EvalCommon) -> Result<(Network, Dataset)> {
    let mut net = Network::load(&c.model)?;
    if let Some(r) = c.readout {
        net.readout = r.into();
    }
    let split = c.split.map(|s| match s {
        SplitArg::Test => Split::Test,
        SplitArg::Train => Split::Train,
        SplitArg::All => Split::All,
    });
    let sel = study::select(&net, load_data(&c.data)?, split)?;
    if sel.foreign_whole {
        eprintln!(
            "note: {} is not the file the model was trained on: evaluating all {} images",
            c.data.data.display(),
            sel.data.len()
        );
    }
    let d = sel.data;
    Ok((net, d))
}

/// The analog C-2C column of `--synapse`/`--neuron opamp:`, when either asks for it.
fn analog_column(a: &EvalArgs, net: &Network) -> Result<Option<Column>> {
    let opamp = a.neuron.strip_prefix("opamp:");
    let c2c = a.synapse.strip_prefix("c2c:");
    if opamp.is_none() && c2c.is_none() {
        if a.synapse != "ideal" {
            return Err(neurospice::error::Error::usage(format!(
                "--synapse {}: expected ideal or c2c:FILE",
                a.synapse
            )));
        }
        return Ok(None);
    }
    if a.synapse != "ideal" && c2c.is_none() {
        return Err(neurospice::error::Error::usage(format!(
            "--synapse {}: expected ideal or c2c:FILE",
            a.synapse
        )));
    }
    if opamp.is_none() && a.neuron != "ideal" {
        return Err(neurospice::error::Error::usage(format!(
            "--synapse c2c:FILE integrates analog charge: --neuron must be ideal or opamp:FILE, \
             not {}",
            a.neuron
        )));
    }
    let synapse = match c2c {
        Some(f) => C2cSynapse::from_file(Path::new(f))?,
        None => C2cSynapse::ideal(net.weight_bits()),
    };
    let neuron = opamp
        .map(|f| OpampNeuron::from_file(Path::new(f)))
        .transpose()?;
    Ok(Some(Column { synapse, neuron }))
}

fn run_eval(a: EvalArgs) -> Result<()> {
    let (mut net, d) = prepare(&a.common)?;
    if let Some(col) = analog_column(&a, &net)? {
        if a.paired {
            return Err(neurospice::error::Error::usage(
                "--paired is not available with c2c:/opamp: columns",
            ));
        }
        let r = col.evaluate(&net, &d, a.common.repeats, a.common.seed)?;
        let label = format!("{} / synapse {}", a.neuron, a.synapse);
        if a.json {
            let j = serde_json::json!({
                "accuracy": r.accuracy,
                "accuracy_std": r.accuracy_std,
                "accuracy_lo": r.accuracy_lo,
                "accuracy_hi": r.accuracy_hi,
                "binomial_lo": r.binomial_lo,
                "binomial_hi": r.binomial_hi,
                "n": r.n,
                "repeats": r.repeats,
                "readout": "and",
                "synapse_inl": col.synapse.inl(),
            });
            outln!("{j}");
        } else {
            outln!(
                "{} [analog C-2C column, and read-out]",
                describe(&label, &r)
            );
        }
        return Ok(());
    }
    // A CapMin design is built for one read-out: its levels mean nothing in the other.
    if let Some(file) = a.neuron.strip_prefix("capmin:")
        && let Some(r) = Clocked::readout_of(Path::new(file))?
    {
        let r: Readout = r.parse()?;
        if a.common
            .readout
            .is_some_and(|given| Readout::from(given) != r)
        {
            return Err(neurospice::error::Error::usage(format!(
                "--readout {} contradicts the design {file}, made for the {r} read-out",
                net.readout
            )));
        }
        net.readout = r;
    }
    let neuron = AnyNeuron::parse(
        &a.neuron,
        SpecContext {
            array_size: net.full_scale(),
            t_clk: a.common.t_clk,
            sigma_scale: a.sigma_scale,
        },
    )?;
    let r = evaluate(&net, &d, &neuron, a.common.repeats, a.common.seed)?;
    let paired = if a.paired {
        let ideal = neurospice::neuro::capmin::design::correct(&net, &d, &Ideal)?;
        let got = neurospice::neuro::capmin::design::correct(&net, &d, &neuron)?;
        let n = ideal.len() as f64;
        let diffs: Vec<f64> = ideal
            .iter()
            .zip(&got)
            .map(|(&i, &g)| f64::from(u8::from(i)) - f64::from(u8::from(g)))
            .collect();
        let mean = diffs.iter().sum::<f64>() / n;
        let var = diffs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        let half = 1.959_964 * (var / n).sqrt();
        Some((mean, mean - half, mean + half))
    } else {
        None
    };
    if let Some((l, lo, hi)) = paired
        && !a.json
    {
        outln!(
            "paired loss against the ideal neuron: {:.2}% (95% interval {:.2}%..{:.2}%)",
            100.0 * l,
            100.0 * lo,
            100.0 * hi
        );
    }
    if a.json {
        let mut j = serde_json::json!({
            "accuracy": r.accuracy,
            "accuracy_std": r.accuracy_std,
            "accuracy_lo": r.accuracy_lo,
            "accuracy_hi": r.accuracy_hi,
            "binomial_lo": r.binomial_lo,
            "binomial_hi": r.binomial_hi,
            "n": r.n,
            "repeats": r.repeats,
            "readout": net.readout.name(),
        });
        if let Some((l, lo, hi)) = paired {
            j["paired_loss"] = serde_json::json!({"loss": l, "lo": lo, "hi": hi});
        }
        outln!("{j}");
    } else {
        outln!("{} [{} read-out]", describe(&a.neuron, &r), net.readout);
    }
    Ok(())
}

fn describe(neuron: &str, r: &EvalResult) -> String {
    let binomial = format!(
        "binomial 95% interval {:.2}%..{:.2}% (Wilson, {} images)",
        100.0 * r.binomial_lo,
        100.0 * r.binomial_hi,
        r.n
    );
    if r.repeats > 1 {
        format!(
            "neuron {neuron}: accuracy {:.2}% (95% interval over {} repeats {:.2}%..{:.2}%, std \
             {:.2}%; {binomial})",
            100.0 * r.accuracy,
            r.repeats,
            100.0 * r.accuracy_lo,
            100.0 * r.accuracy_hi,
            100.0 * r.accuracy_std,
        )
    } else {
        format!(
            "neuron {neuron}: accuracy {:.2}% ({binomial})",
            100.0 * r.accuracy
        )
    }
}

fn run_sweep(a: SweepArgs) -> Result<()> {
    let sweep = study::Sweep {
        neuron_kind: a.neuron_kind.clone(),
        param: a.param.clone(),
        values: a.values.clone(),
        t_clk: a.common.t_clk,
        repeats: a.common.repeats,
        seed: a.common.seed,
    };
    sweep.check()?;
    let (net, d) = prepare(&a.common)?;
    let csv = study::sweep(&net, &d, &sweep, &mut |label, r| {
        eprintln!("{}", describe(label, r))
    })?;
    write_bytes(&a.output, csv.as_bytes())?;
    if let Some(fig) = &a.plot {
        super::one_shot_plot(neurospice::plot::Kind::Accuracy, &a.output, None, fig)?;
    }
    Ok(())
}
