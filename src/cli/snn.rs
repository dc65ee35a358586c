//! `neurospice snn`: train, evaluate and sweep the binarized MNIST network.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use neurospice::error::Result;
use neurospice::io::atomic::write_bytes;
use neurospice::neuro::snn::data::{self, Dataset, Split};
use neurospice::neuro::snn::model::{EvalResult, Network, evaluate};
use neurospice::neuro::snn::neuron::{AnyNeuron, SpecContext};
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
    /// Train a binarized network and write it as JSON.
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
    /// Fraction of each class held out for testing.
    #[arg(long, default_value_t = 0.2)]
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
    /// Fine-tune this model (its widths, input bits and array size override the options).
    #[arg(long)]
    init: Option<PathBuf>,
    /// Non-ideal neuron in the forward pass (hardware-aware training); same specs as eval.
    #[arg(long)]
    neuron: Option<String>,
    /// Read-out clock period for circuit neurons, s.
    #[arg(long)]
    t_clk: Option<f64>,
    /// Multiplier of a circuit neuron's characterised spike-time spread.
    #[arg(long, default_value_t = 1.0)]
    sigma_scale: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SplitArg {
    Test,
    Train,
    All,
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
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    split: SplitArg,
    /// Read-out clock period for circuit neurons, s.
    #[arg(long)]
    t_clk: Option<f64>,
}

#[derive(Debug, Args)]
struct EvalArgs {
    #[command(flatten)]
    common: EvalCommon,
    /// ideal | lut:FILE | confusion:FILE | level-noise:SIGMA | current-sigma:SIGMA |
    /// circuit:FILE | sense-amp:FILE | sense-amp-sigma:SIGMA
    #[arg(long, default_value = "ideal")]
    neuron: String,
    /// Multiplier of a circuit neuron's characterised spike-time spread.
    #[arg(long, default_value_t = 1.0)]
    sigma_scale: f64,
    /// Print {"accuracy", "accuracy_std", "n", "repeats"} as JSON.
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
        data_name: file_name(&a.data.data),
    };
    let init = match &a.init {
        Some(p) => Some((Network::load(p)?, file_name(p))),
        None => None,
    };
    let array_size = init.as_ref().map_or(a.array_size, |(n, _)| n.array_size);
    let neuron = match &a.neuron {
        Some(spec) => Some((
            AnyNeuron::parse(
                spec,
                SpecContext {
                    array_size,
                    t_clk: a.t_clk,
                    sigma_scale: a.sigma_scale,
                },
            )?,
            spec.clone(),
        )),
        None => None,
    };
    let tuning = Tuning { init, neuron };
    let bar = progress_bar(cfg.epochs as u64);
    let net = train_with(&d, &cfg, &tuning, |epoch, loss| {
        bar.set_position(epoch as u64);
        bar.set_message(format!("loss {loss:.4}"));
    })?;
    bar.finish_and_clear();
    net.save(&a.output)?;
    if let Some(t) = &net.training {
        println!(
            "trained {} on {} images in {:.1} s: train accuracy {:.2}%, test accuracy {:.2}% \
             ({} held-out images, split seed {})",
            a.output.display(),
            t.n_train,
            t.train_seconds,
            100.0 * t.train_accuracy,
            100.0 * t.test_accuracy,
            t.n_test,
            t.split_seed
        );
        if let Some(acc) = t.neuron_test_accuracy {
            println!(
                "test accuracy with neuron {}: {:.2}% (mean of 5 repeats)",
                t.neuron,
                100.0 * acc
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
    let net = Network::load(&c.model)?;
    let split = match c.split {
        SplitArg::Test => Split::Test,
        SplitArg::Train => Split::Train,
        SplitArg::All => Split::All,
    };
    let d = study::select(&net, load_data(&c.data)?, split)?;
    Ok((net, d))
}

fn run_eval(a: EvalArgs) -> Result<()> {
    let (net, d) = prepare(&a.common)?;
    let neuron = AnyNeuron::parse(
        &a.neuron,
        SpecContext {
            array_size: net.array_size,
            t_clk: a.common.t_clk,
            sigma_scale: a.sigma_scale,
        },
    )?;
    let r = evaluate(&net, &d, &neuron, a.common.repeats, a.common.seed)?;
    if a.json {
        let j = serde_json::json!({
            "accuracy": r.accuracy,
            "accuracy_std": r.accuracy_std,
            "n": r.n,
            "repeats": r.repeats,
        });
        println!("{j}");
    } else {
        println!("{}", describe(&a.neuron, &r));
    }
    Ok(())
}

fn describe(neuron: &str, r: &EvalResult) -> String {
    if r.repeats > 1 {
        format!(
            "neuron {neuron}: accuracy {:.2}% (95% interval {:.2}%..{:.2}%, std {:.2}%, over {} \
             repeats of {} images)",
            100.0 * r.accuracy,
            100.0 * r.accuracy_lo,
            100.0 * r.accuracy_hi,
            100.0 * r.accuracy_std,
            r.repeats,
            r.n
        )
    } else {
        format!(
            "neuron {neuron}: accuracy {:.2}% on {} images (one repeat: no interval)",
            100.0 * r.accuracy,
            r.n
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
