//! Training of the network: latent float weights, K-bit quantisation (sign() for K = 1) in
//! the forward pass, straight-through estimator in the backward pass (gradient passes where
//! the latent weight is inside [-1, 1] and, for activations, inside the hardtanh window),
//! batch normalisation, Adam with cosine learning-rate decay, random-shift augmentation;
//! hardware-aware fine-tuning with the neuron model in the forward pass; export to the
//! integer network (codes and thresholds) by exact integer forward passes.
//!
//! Determinism: every matrix product is cut into fixed blocks of rows (independent of the
//! thread count), each block computed sequentially (faer `Par::Seq`) and the blocks run in
//! parallel with rayon; statistics are exact integer sums; every random draw comes from a
//! ChaCha generator seeded by the training seed (per sample where samples run in parallel).
//! So a seed gives the same model on a given machine and build whatever the thread count.

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rand::RngExt;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::data::{CLASSES, Dataset, PIXELS, SIDE, stratified_split};
use super::model::{
    Layer, LayerInput, MAX_WEIGHT_BITS, Network, Readout, TrainingInfo, evaluate, fire, stream,
};
use super::neuron::{AnyDevices, AnyNeuron, Ideal, NeuronModel, SiteLayout};
use crate::error::{Error, Result};

/// Tag of the hardware-aware training reads (the last part of their [`crate::seed::chained`]
/// key).
const HW_TAG: u64 = 0x6877_7374_6570;

const BN_EPS: f32 = 1e-5;
const ADAM_B1: f32 = 0.9;
const ADAM_B2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;

/// Rows per block of the parallel matrix products (fixed, so results do not depend on the
/// thread count).
const MM_BLOCK: usize = 32;

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Epochs over the training split.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Initial Adam learning rate.
    pub learning_rate: f64,
    /// Seed of initialisation, batch order and augmentation.
    pub seed: u64,
    /// Seed of the stratified train/held-out split.
    pub split_seed: u64,
    /// Fraction of each class held out (the validation split of a training file).
    pub test_fraction: f64,
    /// Input pixel bits (1 = thresholded, chunked first layer; 2..=8 digital first layer).
    pub input_bits: u32,
    /// Crossbar rows per chunk.
    pub array_size: usize,
    /// Maximum random shift of training images, pixels.
    pub augment_shift: usize,
    /// Bits per weight, K (1 = binary ±1; K > 1: codes 0..2^K-1 for weights 2c - (2^K - 1)).
    pub weight_bits: u32,
    /// Crossbar read-out in the forward pass of hardware-aware training.
    pub readout: Readout,
    /// Name of the data file, recorded in the model.
    pub data_name: String,
}

impl Default for TrainConfig {
    /// The settings chosen on the validation split of the 60,000 MNIST training digits for
    /// the binary network (docs/snn.md), except the data name.
    fn default() -> Self {
        TrainConfig {
            hidden: vec![512, 512],
            epochs: 40,
            batch_size: 100,
            learning_rate: 0.005,
            seed: 1,
            split_seed: 1,
            test_fraction: 0.2,
            input_bits: 1,
            array_size: 32,
            augment_shift: 2,
            weight_bits: 1,
            readout: Readout::Xnor,
            data_name: String::new(),
        }
    }
}

/// Hardware-aware options of [`train_with`].
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Start from this model (and its file name): its widths, input bits, array size and
    /// weight width replace the configuration's; its codes seed the latent weights and its
    /// thresholds stay fixed while the weights train (unless `refit_thresholds`).
    pub init: Option<(Network, String)>,
    /// Non-ideal neuron in the forward pass (and its spec text). Every chunked MAC is replaced
    /// by the value the neuron reports (read in the configured read-out, corrected
    /// digitally), blended in progressively: z = z_ideal + lambda * (z_hw - z_ideal), lambda
    /// rising linearly from 0 to 1 over the first half of the epochs (after arXiv
    /// 2211.02167); the backward pass is straight-through. Devices are re-sampled every
    /// epoch, so the network learns the distribution, not one chip.
    pub neuron: Option<(AnyNeuron, String)>,
    /// With `init`: before the weights train, refit every hidden threshold of the init model
    /// to the MAC statistics under the neuron (keeping each neuron's threshold at the same
    /// number of standard deviations from its mean as under the ideal neuron); the weights
    /// then train against the refitted thresholds.
    pub refit_thresholds: bool,
    /// With `init` and binary weights: magnitude of the latent weights given to the init
    /// model's signs ([`DEFAULT_INIT_LATENT`] when `None`). A K-bit code c starts at the
    /// centre of its quantisation bin, (2c - M)/M, half a bin (1/M) from the next code.
    pub init_latent: Option<f64>,
}

/// Latent magnitude of an init model's binary weights: a weight flips once Adam has moved it
/// this far against its sign (chosen on validation, docs/snn.md).
pub const DEFAULT_INIT_LATENT: f64 = 0.05;

/// Device samples pooled when folding or refitting thresholds for a stochastic neuron:
/// thresholds are shared by every chip, so they must fit the distribution over chips.
const EXPORT_DEVICE_SAMPLES: u64 = 4;

struct Param {
    v: Vec<f32>,
    m: Vec<f32>,
    s: Vec<f32>,
}

impl Param {
    fn new(v: Vec<f32>) -> Param {
        let n = v.len();
        Param {
            v,
            m: vec![0.0; n],
            s: vec![0.0; n],
        }
    }

    fn adam(&mut self, g: &[f32], lr: f32, t: i32) {
        let c1 = 1.0 - ADAM_B1.powi(t);
        let c2 = 1.0 - ADAM_B2.powi(t);
        for ((v, m), (s, &g)) in self
            .v
            .iter_mut()
            .zip(self.m.iter_mut())
            .zip(self.s.iter_mut().zip(g))
        {
            *m = ADAM_B1 * *m + (1.0 - ADAM_B1) * g;
            *s = ADAM_B2 * *s + (1.0 - ADAM_B2) * g * g;
            *v -= lr * (*m / c1) / ((*s / c2).sqrt() + ADAM_EPS);
        }
    }
}

/// Fixed normalisation of a fine-tuned hidden layer: y = (z - centre) / scale, the centre
/// half a MAC step below the integer threshold, the scale the MAC's standard deviation (the
/// width of the straight-through window).
struct Frozen {
    centre: Vec<f32>,
    scale: Vec<f32>,
}

struct Dense {
    inputs: usize,
    outputs: usize,
    w: Param,
    /// BN scale and shift; unused (empty) on the output layer.
    gamma: Param,
    beta: Param,
    /// Fine-tuning: the init model's thresholds instead of batch norm.
    frozen: Option<Frozen>,
}

/// Forward caches of one layer for one batch.
#[derive(Default)]
struct Cache {
    x: Vec<f32>,
    z: Vec<f32>,
    xhat: Vec<f32>,
    y: Vec<f32>,
    inv_std: Vec<f32>,
}

/// Code of latent weight `w` for largest code `m`: the nearest of the levels (2c - m)/m
/// (sign for m = 1, sign(0) = +1).
fn code_of(w: f32, m: u32) -> u8 {
    if m == 1 {
        u8::from(w >= 0.0)
    } else {
        (m as f32 * (w + 1.0) / 2.0).round().clamp(0.0, m as f32) as u8
    }
}

fn codes(w: &[f32], m: u32) -> Vec<u8> {
    w.iter().map(|&v| code_of(v, m)).collect()
}

/// Forward weights: the level (2c - m)/m of every latent weight.
fn quantise(w: &[f32], m: u32) -> Vec<f32> {
    let mf = m as f32;
    w.iter()
        .map(|&v| (2.0 * f32::from(code_of(v, m)) - mf) / mf)
        .collect()
}

/// out (rows x n) = lhs (rows x k, row-major) * rhs (k x n), in parallel over fixed blocks
/// of rows.
fn mm_rows(lhs: &[f32], k: usize, rhs: MatRef<'_, f32>, out: &mut [f32]) {
    let n = rhs.ncols();
    out.par_chunks_mut(MM_BLOCK * n)
        .zip(lhs.par_chunks(MM_BLOCK * k))
        .for_each(|(d, l)| {
            let rows = l.len() / k;
            let dst = MatMut::from_row_major_slice_mut(d, rows, n);
            let lr = MatRef::from_row_major_slice(l, rows, k);
            matmul(dst, Accum::Replace, lr, rhs, 1.0f32, Par::Seq);
        });
}

/// out (b x o) = x (b x i) * w^T, w (o x i) row-major.
fn mm_xwt(x: &[f32], w: &[f32], i: usize, o: usize, out: &mut [f32]) {
    mm_rows(x, i, MatRef::from_row_major_slice(w, o, i).transpose(), out);
}

/// out (b x i) = dz (b x o) * w (o x i).
fn mm_dz_w(dz: &[f32], w: &[f32], o: usize, i: usize, out: &mut [f32]) {
    mm_rows(dz, o, MatRef::from_row_major_slice(w, o, i), out);
}

/// out (o x i) = dz^T (o x b) * x (b x i), in parallel over fixed blocks of output rows.
fn mm_dzt_x(dz: &[f32], x: &[f32], b: usize, o: usize, i: usize, out: &mut [f32]) {
    let dzr = MatRef::from_row_major_slice(dz, b, o);
    let xr = MatRef::from_row_major_slice(x, b, i);
    out.par_chunks_mut(MM_BLOCK * i)
        .enumerate()
        .for_each(|(k, d)| {
            let rows = d.len() / i;
            let dst = MatMut::from_row_major_slice_mut(d, rows, i);
            let lhs = dzr.subcols(k * MM_BLOCK, rows).transpose();
            matmul(dst, Accum::Replace, lhs, xr, 1.0f32, Par::Seq);
        });
}

fn encode(img: &[u8], input_bits: u32, out: &mut [f32]) {
    if input_bits == 1 {
        for (o, &p) in out.iter_mut().zip(img) {
            *o = if p >= 128 { 1.0 } else { -1.0 };
        }
    } else {
        let max = ((1u32 << input_bits) - 1) as f32;
        for (o, &p) in out.iter_mut().zip(img) {
            *o = (p >> (8 - input_bits)) as f32 / max;
        }
    }
}

fn shift(img: &[u8], dx: i32, dy: i32, out: &mut [u8]) {
    out.fill(0);
    for y in 0..SIDE as i32 {
        let sy = y - dy;
        if !(0..SIDE as i32).contains(&sy) {
            continue;
        }
        for x in 0..SIDE as i32 {
            let sx = x - dx;
            if (0..SIDE as i32).contains(&sx) {
                out[(y as usize) * SIDE + x as usize] = img[(sy as usize) * SIDE + sx as usize];
            }
        }
    }
}

/// Trains a network on the training part of `data` and returns it with its train and
/// held-out accuracies (ideal neuron, exported integer network). `progress(epoch, mean_loss)`
/// is called after each epoch.
pub fn train(
    data: &Dataset,
    cfg: &TrainConfig,
    progress: impl FnMut(usize, f64),
) -> Result<Network> {
    train_with(data, cfg, &Tuning::default(), progress)
}

/// Float pre-activation per integer MAC of layer `l`: inputs are ±1 except a multi-bit first
/// layer (levels / (2^bits - 1)); weights are levels (2c - M)/M.
fn mac_unit(l: usize, cfg: &TrainConfig) -> f64 {
    let m = ((1u32 << cfg.weight_bits) - 1) as f64;
    let input = if l == 0 && cfg.input_bits > 1 {
        ((1u32 << cfg.input_bits) - 1) as f64
    } else {
        1.0
    };
    1.0 / (m * input)
}

fn check_config(cfg: &TrainConfig, tuning: &Tuning) -> Result<()> {
    if !(0.0..1.0).contains(&cfg.test_fraction) {
        return Err(Error::usage(format!(
            "--test-fraction {} is not in [0, 1)",
            cfg.test_fraction
        )));
    }
    if cfg.hidden.is_empty() || cfg.hidden.contains(&0) || cfg.hidden.iter().any(|&h| h > 1 << 16) {
        return Err(Error::usage(
            "--hidden needs at least one layer width, each in 1..=65536",
        ));
    }
    if cfg.batch_size == 0 || !(1..=8).contains(&cfg.input_bits) {
        return Err(Error::usage(
            "--batch must be > 0 and --input-bits in 1..=8",
        ));
    }
    if !(1..=255).contains(&cfg.array_size) {
        return Err(Error::usage("--array-size must be in 1..=255"));
    }
    if !(1..=MAX_WEIGHT_BITS).contains(&cfg.weight_bits) {
        return Err(Error::usage(format!(
            "--weight-bits {} is not in 1..={MAX_WEIGHT_BITS}",
            cfg.weight_bits
        )));
    }
    if !(cfg.learning_rate.is_finite() && cfg.learning_rate >= 0.0) {
        return Err(Error::usage(format!(
            "--lr {} must be finite and >= 0",
            cfg.learning_rate
        )));
    }
    if tuning.init.is_none() && (tuning.refit_thresholds || tuning.init_latent.is_some()) {
        return Err(Error::usage(
            "--refit-thresholds and --init-latent apply to fine-tuning (--init MODEL); from \
             scratch the thresholds are always fitted by folding the batch norms",
        ));
    }
    if tuning.refit_thresholds && tuning.neuron.is_none() {
        return Err(Error::usage(
            "--refit-thresholds needs the --neuron whose statistics the thresholds are \
             refitted to",
        ));
    }
    if let Some(l) = tuning.init_latent
        && !(l.is_finite() && l > 0.0 && l <= 1.0)
    {
        return Err(Error::usage(format!("--init-latent {l} must be in (0, 1]")));
    }
    Ok(())
}

/// [`train`] with an initial model and/or a non-ideal neuron in the forward pass.
pub fn train_with(
    data: &Dataset,
    cfg: &TrainConfig,
    tuning: &Tuning,
    mut progress: impl FnMut(usize, f64),
) -> Result<Network> {
    let mut cfg = cfg.clone();
    if let Some((init, _)) = &tuning.init {
        cfg.hidden = init.layers[..init.layers.len() - 1]
            .iter()
            .map(|l| l.outputs)
            .collect();
        cfg.input_bits = init.input_bits;
        cfg.array_size = init.array_size;
        cfg.weight_bits = init.weight_bits();
    }
    let cfg = &cfg;
    check_config(cfg, tuning)?;
    let full_scale = cfg.array_size * ((1usize << cfg.weight_bits) - 1);
    if let Some((n, _)) = &tuning.neuron {
        n.check(full_scale)?;
    }
    let start = Instant::now();
    let (train_idx, test_idx) = stratified_split(&data.labels, cfg.test_fraction, cfg.split_seed);
    if train_idx.is_empty() {
        return Err(Error::usage("no training images after the split"));
    }
    let m = (1u32 << cfg.weight_bits) - 1;
    let mut rng = crate::seed::sequential(cfg.seed);
    let mut widths = vec![PIXELS];
    widths.extend_from_slice(&cfg.hidden);
    widths.push(CLASSES);
    let nl = widths.len() - 1;
    let mut layers: Vec<Dense> = (0..nl)
        .map(|l| {
            let (i, o) = (widths[l], widths[l + 1]);
            // Binary: Glorot-uniform (only the sign is used). K-bit: uniform over the whole
            // quantiser range [-1, 1], so every code is in use from the start (a Glorot range
            // would put every weight in the two middle codes, a binary network in disguise).
            let a = if m == 1 {
                (6.0 / (i + o) as f32).sqrt()
            } else {
                1.0
            };
            let w = (0..i * o).map(|_| rng.random_range(-a..a)).collect();
            let hidden = l + 1 < nl;
            Dense {
                inputs: i,
                outputs: o,
                w: Param::new(w),
                gamma: Param::new(if hidden { vec![1.0; o] } else { vec![] }),
                beta: Param::new(if hidden { vec![0.0; o] } else { vec![] }),
                frozen: None,
            }
        })
        .collect();
    let mut alpha = Param::new(vec![1.0 / (widths[nl - 1] as f32).sqrt()]);
    let ideal = AnyNeuron::Ideal(Ideal);
    let init_latent = tuning.init_latent.unwrap_or(DEFAULT_INIT_LATENT) as f32;
    let hw = tuning.neuron.as_ref().map(|(n, _)| n);
    let forward_neuron = hw.unwrap_or(&ideal);
    let layout = site_layout(&widths, cfg);
    // The init model, its thresholds refitted to the neuron first when asked: the weights then
    // train against the thresholds the hardware will use.
    let start_net = tuning.init.as_ref().map(|(init, _)| {
        let mut net = init.clone();
        net.readout = cfg.readout;
        if tuning.refit_thresholds {
            refit(&mut net, data, &train_idx, cfg, forward_neuron, &layout);
        }
        net
    });
    if let Some(init) = &start_net {
        load_init(&mut layers, init, data, &train_idx, cfg, init_latent);
    }

    let bs = cfg.batch_size;
    let steps_per_epoch = train_idx.len().div_ceil(bs);
    let total_steps = (steps_per_epoch * cfg.epochs).max(1);
    let mut step = 0usize;
    let mut order = train_idx.clone();
    let mut shifted = vec![0u8; PIXELS];
    let s = cfg.augment_shift as i32;
    for epoch in 0..cfg.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0f64;
        let lambda = (2.0 * (epoch + 1) as f32 / cfg.epochs.max(1) as f32).min(1.0);
        let devices = hw.map(|n| {
            let mut r = stream(cfg.seed, epoch as u64, u64::MAX);
            n.sample_devices(&layout, &mut r)
        });
        for (bi, batch) in order.chunks(bs).enumerate() {
            let b = batch.len();
            let mut x0 = vec![0f32; b * PIXELS];
            let mut labels = Vec::with_capacity(b);
            for (k, &i) in batch.iter().enumerate() {
                let img = data.image(i);
                let (dx, dy) = if s > 0 {
                    (rng.random_range(-s..=s), rng.random_range(-s..=s))
                } else {
                    (0, 0)
                };
                shift(img, dx, dy, &mut shifted);
                encode(
                    &shifted,
                    cfg.input_bits,
                    &mut x0[k * PIXELS..(k + 1) * PIXELS],
                );
                labels.push(usize::from(data.labels[i]));
            }
            let lr = (cfg.learning_rate
                * 0.5
                * (1.0 + (std::f64::consts::PI * step as f64 / total_steps as f64).cos()))
                as f32;
            step += 1;
            let hw_step = match (hw, &devices) {
                (Some(model), Some(devices)) => Some(HwStep {
                    model,
                    devices,
                    lambda,
                    cfg,
                    seed: cfg.seed,
                    epoch: epoch as u64,
                    first: (bi * bs) as u64,
                }),
                _ => None,
            };
            loss_sum += train_step(
                &mut layers,
                &mut alpha,
                x0,
                &labels,
                lr,
                step as i32,
                m,
                hw_step,
            ) * b as f64;
        }
        progress(epoch + 1, loss_sum / train_idx.len() as f64);
    }

    let mut net = match &start_net {
        None => export(&layers, data, &train_idx, cfg, forward_neuron, &layout)?,
        Some(init) => assemble(&layers, cfg, |l| init.layers[l].thresholds.clone()),
    };
    net.validate()?;
    let train_acc = evaluate(&net, &data.subset(&train_idx), &Ideal, 1, 0)?.accuracy;
    let test_acc = if test_idx.is_empty() {
        None
    } else {
        Some(evaluate(&net, &data.subset(&test_idx), &Ideal, 1, 0)?.accuracy)
    };
    let neuron_test_accuracy = match (hw, test_idx.is_empty()) {
        (Some(n), false) => Some(evaluate(&net, &data.subset(&test_idx), n, 5, 0)?.accuracy),
        _ => None,
    };
    let changes = tuning
        .init
        .as_ref()
        .map(|(init, _)| Changes::between(init, &net));
    net.training = Some(TrainingInfo {
        neuron_test_accuracy,
        data: cfg.data_name.clone(),
        data_fingerprint: data.fingerprint(),
        n_images: data.len(),
        split_seed: cfg.split_seed,
        test_fraction: cfg.test_fraction,
        n_train: train_idx.len(),
        n_test: test_idx.len(),
        seed: cfg.seed,
        hidden: cfg.hidden.clone(),
        epochs: cfg.epochs,
        batch_size: cfg.batch_size,
        learning_rate: cfg.learning_rate,
        augment_shift: cfg.augment_shift,
        weight_bits: cfg.weight_bits,
        readout: cfg.readout,
        init: tuning.init.as_ref().map(|(_, name)| name.clone()),
        init_latent: (tuning.init.is_some() && cfg.weight_bits == 1)
            .then_some(f64::from(init_latent)),
        refit_thresholds: tuning.refit_thresholds,
        weights_changed: changes.as_ref().map(|c| c.weights.clone()),
        bits_flipped: changes.as_ref().map(|c| c.bits),
        thresholds_changed: changes.as_ref().map(|c| c.thresholds),
        neuron: tuning
            .neuron
            .as_ref()
            .map_or_else(|| "ideal".to_string(), |(_, spec)| spec.clone()),
        train_accuracy: train_acc,
        test_accuracy: test_acc,
        train_seconds: start.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
    });
    Ok(net)
}

/// What fine-tuning changed in a network.
struct Changes {
    weights: Vec<usize>,
    bits: usize,
    thresholds: usize,
}

impl Changes {
    fn between(a: &Network, b: &Network) -> Changes {
        let mut weights = Vec::with_capacity(a.layers.len());
        let mut bits = 0;
        let mut thresholds = 0;
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            let (ca, cb) = (la.codes(), lb.codes());
            weights.push(ca.iter().zip(&cb).filter(|(x, y)| x != y).count());
            bits += ca
                .iter()
                .zip(&cb)
                .map(|(x, y)| (x ^ y).count_ones() as usize)
                .sum::<usize>();
            if let (Some(ta), Some(tb)) = (&la.thresholds, &lb.thresholds) {
                thresholds += ta.iter().zip(tb).filter(|(x, y)| x != y).count();
            }
        }
        Changes {
            weights,
            bits,
            thresholds,
        }
    }
}

/// One Adam step on one batch; returns the mean cross-entropy.
#[allow(clippy::too_many_arguments)]
fn train_step(
    layers: &mut [Dense],
    alpha: &mut Param,
    x0: Vec<f32>,
    labels: &[usize],
    lr: f32,
    t: i32,
    m: u32,
    hw: Option<HwStep<'_>>,
) -> f64 {
    let b = labels.len();
    let nl = layers.len();
    let mut caches: Vec<Cache> = Vec::with_capacity(nl);
    let mut x = x0;
    let wqs: Vec<Vec<f32>> = layers.iter().map(|l| quantise(&l.w.v, m)).collect();
    let hw_net = hw.as_ref().map(|h| h.network(layers, m));
    for (l, layer) in layers.iter().enumerate() {
        let (i, o) = (layer.inputs, layer.outputs);
        let mut z = vec![0f32; b * o];
        mm_xwt(&x, &wqs[l], i, o, &mut z);
        if let (Some(h), Some(net)) = (hw.as_ref(), hw_net.as_ref()) {
            h.apply(net, l, &x, &mut z);
        }
        let mut c = Cache {
            x: std::mem::take(&mut x),
            ..Cache::default()
        };
        if l + 1 < nl {
            let mut xhat = vec![0f32; b * o];
            let mut y = vec![0f32; b * o];
            let mut a = vec![0f32; b * o];
            let inv_std = match &layer.frozen {
                Some(f) => {
                    for r in 0..b {
                        for j in 0..o {
                            let k = r * o + j;
                            xhat[k] = (z[k] - f.centre[j]) / f.scale[j];
                            y[k] = xhat[k];
                        }
                    }
                    f.scale.iter().map(|s| 1.0 / s).collect()
                }
                None => {
                    let mut mean = vec![0f32; o];
                    let mut var = vec![0f32; o];
                    for r in 0..b {
                        for j in 0..o {
                            mean[j] += z[r * o + j];
                        }
                    }
                    mean.iter_mut().for_each(|m| *m /= b as f32);
                    for r in 0..b {
                        for j in 0..o {
                            let d = z[r * o + j] - mean[j];
                            var[j] += d * d;
                        }
                    }
                    let inv_std: Vec<f32> = var
                        .iter()
                        .map(|v| 1.0 / (v / b as f32 + BN_EPS).sqrt())
                        .collect();
                    for r in 0..b {
                        for j in 0..o {
                            let k = r * o + j;
                            xhat[k] = (z[k] - mean[j]) * inv_std[j];
                            y[k] = layer.gamma.v[j] * xhat[k] + layer.beta.v[j];
                        }
                    }
                    inv_std
                }
            };
            for (a, &y) in a.iter_mut().zip(&y) {
                *a = if y >= 0.0 { 1.0 } else { -1.0 };
            }
            c.xhat = xhat;
            c.y = y;
            c.inv_std = inv_std;
            x = a;
        }
        c.z = z;
        caches.push(c);
    }
    // Softmax cross-entropy on alpha * z.
    let last = &caches[nl - 1];
    let scale = alpha.v[0];
    let mut dz = vec![0f32; b * CLASSES];
    let mut loss = 0.0f64;
    let mut dalpha = 0.0f32;
    for r in 0..b {
        let zr = &last.z[r * CLASSES..(r + 1) * CLASSES];
        let mx = zr.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(scale * v));
        let e: Vec<f32> = zr.iter().map(|&v| (scale * v - mx).exp()).collect();
        let sum: f32 = e.iter().sum();
        loss -= f64::from((e[labels[r]] / sum).max(1e-30).ln());
        for k in 0..CLASSES {
            let g = (e[k] / sum - if k == labels[r] { 1.0 } else { 0.0 }) / b as f32;
            dalpha += g * zr[k];
            dz[r * CLASSES + k] = g * scale;
        }
    }
    alpha.adam(&[dalpha], lr, t);

    for l in (0..nl).rev() {
        let (i, o) = (layers[l].inputs, layers[l].outputs);
        let c = &caches[l];
        if l + 1 < nl {
            // dz holds d(activation): straight-through on y (hardtanh window), then the
            // normalisation's backward.
            let layer = &layers[l];
            match &layer.frozen {
                Some(f) => {
                    for r in 0..b {
                        for j in 0..o {
                            let k = r * o + j;
                            let dy = if c.y[k].abs() <= 1.0 { dz[k] } else { 0.0 };
                            dz[k] = dy / f.scale[j];
                        }
                    }
                }
                None => {
                    let mut dgamma = vec![0f32; o];
                    let mut dbeta = vec![0f32; o];
                    let mut sum_dxhat = vec![0f32; o];
                    let mut sum_dxhat_xhat = vec![0f32; o];
                    for r in 0..b {
                        for j in 0..o {
                            let k = r * o + j;
                            let dy = if c.y[k].abs() <= 1.0 { dz[k] } else { 0.0 };
                            dgamma[j] += dy * c.xhat[k];
                            dbeta[j] += dy;
                            let dxh = dy * layer.gamma.v[j];
                            dz[k] = dxh;
                            sum_dxhat[j] += dxh;
                            sum_dxhat_xhat[j] += dxh * c.xhat[k];
                        }
                    }
                    let bf = b as f32;
                    for r in 0..b {
                        for j in 0..o {
                            let k = r * o + j;
                            dz[k] = c.inv_std[j] / bf
                                * (bf * dz[k] - sum_dxhat[j] - c.xhat[k] * sum_dxhat_xhat[j]);
                        }
                    }
                    layers[l].gamma.adam(&dgamma, lr, t);
                    layers[l].beta.adam(&dbeta, lr, t);
                }
            }
        }
        let mut dw = vec![0f32; o * i];
        mm_dzt_x(&dz, &c.x, b, o, i, &mut dw);
        let dx = if l > 0 {
            let mut dx = vec![0f32; b * i];
            mm_dz_w(&dz, &wqs[l], o, i, &mut dx);
            Some(dx)
        } else {
            None
        };
        // Straight-through: no gradient once the latent weight leaves [-1, 1].
        let layer = &mut layers[l];
        for (g, &w) in dw.iter_mut().zip(&layer.w.v) {
            if w.abs() > 1.0 {
                *g = 0.0;
            }
        }
        layer.w.adam(&dw, lr, t);
        layer.w.v.iter_mut().for_each(|w| *w = w.clamp(-1.0, 1.0));
        if let Some(dx) = dx {
            dz = dx;
        }
    }
    loss / b as f64
}

/// The non-ideal neuron in one forward pass.
struct HwStep<'a> {
    model: &'a AnyNeuron,
    devices: &'a AnyDevices,
    lambda: f32,
    cfg: &'a TrainConfig,
    /// Training seed, epoch and first sample of the batch: sample r of layer l reads with
    /// [`crate::seed::chained`]`(seed, [epoch, first + r, l, HW_TAG])`.
    seed: u64,
    epoch: u64,
    first: u64,
}

impl HwStep<'_> {
    /// The integer network of the current latent weights (thresholds are not needed).
    fn network(&self, layers: &[Dense], m: u32) -> Network {
        Network {
            input_bits: self.cfg.input_bits,
            array_size: self.cfg.array_size,
            readout: self.cfg.readout,
            layers: layers
                .iter()
                .map(|d| {
                    let c = codes(&d.w.v, m);
                    Layer::from_codes(d.inputs, d.outputs, self.cfg.weight_bits, &c, None)
                })
                .collect(),
            training: None,
        }
    }

    /// Replaces the ideal pre-activations `z` (b x o) of layer `l` by a blend with the MACs
    /// the neuron reports, computed by the same code as inference
    /// ([`Network::layer_macs`]); layers that are not chunked are left alone.
    fn apply(&self, net: &Network, l: usize, x: &[f32], z: &mut [f32]) {
        if !net.is_chunked(l) {
            return;
        }
        let i = net.layers[l].inputs;
        let o = net.layers[l].outputs;
        let unit = mac_unit(l, self.cfg) as f32;
        z.par_chunks_mut(o).enumerate().for_each(|(r, zr)| {
            let mut bits = vec![0u64; i.div_ceil(64)];
            for (k, &v) in x[r * i..(r + 1) * i].iter().enumerate() {
                if v >= 0.0 {
                    bits[k / 64] |= 1 << (k % 64);
                }
            }
            let mut rng = crate::seed::chained(
                self.seed,
                [self.epoch, self.first + r as u64, l as u64, HW_TAG],
            );
            let mut macs = Vec::with_capacity(o);
            net.layer_macs(
                l,
                LayerInput::Bits(&bits),
                self.model,
                self.devices,
                &mut rng,
                &mut |_, _| {},
                &mut macs,
            );
            for (zk, &mac) in zr.iter_mut().zip(&macs) {
                *zk += self.lambda * (mac as f32 * unit - *zk);
            }
        });
    }
}

/// Physical-neuron layout of a network with these widths (same order as `Network::layout`).
fn site_layout(widths: &[usize], cfg: &TrainConfig) -> SiteLayout {
    SiteLayout {
        array_size: cfg.array_size,
        layers: (0..widths.len() - 1)
            .filter(|&l| l > 0 || cfg.input_bits == 1)
            .map(|l| (l, widths[l + 1], widths[l].div_ceil(cfg.array_size)))
            .collect(),
    }
}

/// The integer network of the latent weights with the given thresholds per layer.
fn assemble(
    layers: &[Dense],
    cfg: &TrainConfig,
    thresholds: impl Fn(usize) -> Option<Vec<i64>>,
) -> Network {
    let m = (1u32 << cfg.weight_bits) - 1;
    Network {
        input_bits: cfg.input_bits,
        array_size: cfg.array_size,
        readout: cfg.readout,
        layers: layers
            .iter()
            .enumerate()
            .map(|(l, d)| {
                Layer::from_codes(
                    d.inputs,
                    d.outputs,
                    cfg.weight_bits,
                    &codes(&d.w.v, m),
                    thresholds(l),
                )
            })
            .collect(),
        training: None,
    }
}

/// Spikes of one layer for every training image, packed `words` u64 per image.
struct Spikes {
    words: usize,
    bits: Vec<u64>,
}

/// One exact integer pass over the training images: the inputs of layer `l` (pixels for the
/// first layer, `prev` spikes otherwise), the layer's MACs through `neuron` with the devices
/// of sample `k`, handed to `each(image, macs)`; reads are seeded per (k, layer, image) so a
/// second pass repeats the first exactly.
struct Pass<'a> {
    data: &'a Dataset,
    idx: &'a [usize],
    neuron: &'a AnyNeuron,
    seed: u64,
}

impl<'a> Pass<'a> {
    fn new(data: &'a Dataset, idx: &'a [usize], neuron: &'a AnyNeuron, seed: u64) -> Self {
        Pass {
            data,
            idx,
            neuron,
            seed,
        }
    }

    /// The device samples (one for a deterministic neuron, [`EXPORT_DEVICE_SAMPLES`]
    /// otherwise) and, for each, the first layer's input (the pixels: `None`).
    fn start(&self, layout: &SiteLayout) -> (Vec<AnyDevices>, Vec<Option<Spikes>>) {
        let samples = if self.neuron.stochastic() {
            EXPORT_DEVICE_SAMPLES
        } else {
            1
        };
        let devices = (0..samples)
            .map(|k| {
                let mut r = stream(self.seed, u64::MAX - k, u64::MAX);
                self.neuron.sample_devices(layout, &mut r)
            })
            .collect();
        (devices, (0..samples).map(|_| None).collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn macs(
        &self,
        net: &Network,
        l: usize,
        prev: Option<&Spikes>,
        devices: &AnyDevices,
        k: u64,
        n: usize,
        out: &mut Vec<i64>,
    ) {
        let mut rng = stream(self.seed, u64::MAX - k, ((l as u64) << 40) | n as u64);
        let mut bits = Vec::new();
        let mut levels = Vec::new();
        let input = match prev {
            Some(s) => LayerInput::Bits(&s.bits[n * s.words..(n + 1) * s.words]),
            None => {
                net.encode_input(self.data.image(self.idx[n]), &mut bits, &mut levels);
                if net.input_bits == 1 {
                    LayerInput::Bits(&bits)
                } else {
                    LayerInput::Levels(&levels)
                }
            }
        };
        net.layer_macs(
            l,
            input,
            self.neuron,
            devices,
            &mut rng,
            &mut |_, _| {},
            out,
        );
    }

    /// Mean and variance (population) of every neuron's MAC of layer `l`, pooled over the
    /// device samples; exact integer sums, so independent of the thread count.
    fn moments(
        &self,
        net: &Network,
        l: usize,
        prev: &[Option<Spikes>],
        devices: &[AnyDevices],
    ) -> Vec<(f64, f64)> {
        let o = net.layers[l].outputs;
        let n = self.idx.len();
        let zero = || vec![(0i128, 0i128); o];
        let mut total = zero();
        for (k, (p, d)) in prev.iter().zip(devices).enumerate() {
            let s = (0..n)
                .into_par_iter()
                .fold(
                    || (zero(), Vec::new()),
                    |(mut acc, mut macs), i| {
                        self.macs(net, l, p.as_ref(), d, k as u64, i, &mut macs);
                        for (a, &v) in acc.iter_mut().zip(&macs) {
                            a.0 += i128::from(v);
                            a.1 += i128::from(v) * i128::from(v);
                        }
                        (acc, macs)
                    },
                )
                .map(|(acc, _)| acc)
                .reduce(zero, |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        x.0 += y.0;
                        x.1 += y.1;
                    }
                    a
                });
            for (t, v) in total.iter_mut().zip(s) {
                t.0 += v.0;
                t.1 += v.1;
            }
        }
        let count = (n * prev.len()) as f64;
        total
            .iter()
            .map(|&(s1, s2)| {
                let mean = s1 as f64 / count;
                let var = (s2 as f64 / count - mean * mean).max(0.0);
                (mean, var)
            })
            .collect()
    }

    /// Spikes of layer `l` (thresholds set) for every image and device sample.
    fn spikes(
        &self,
        net: &Network,
        l: usize,
        prev: &[Option<Spikes>],
        devices: &[AnyDevices],
    ) -> Vec<Option<Spikes>> {
        let layer = &net.layers[l];
        let t = layer.thresholds.as_deref().unwrap_or(&[]);
        let words = layer.outputs.div_ceil(64);
        prev.iter()
            .zip(devices)
            .enumerate()
            .map(|(k, (p, d))| {
                let mut bits = vec![0u64; self.idx.len() * words];
                bits.par_chunks_mut(words)
                    .enumerate()
                    .for_each_init(Vec::new, |macs, (i, out)| {
                        self.macs(net, l, p.as_ref(), d, k as u64, i, macs);
                        out.copy_from_slice(&fire(macs, t));
                    });
                Some(Spikes { words, bits })
            })
            .collect()
    }
}

/// Standard deviation of a MAC in units of the float pre-activation, with the batch-norm
/// epsilon.
fn float_sd(var_mac: f64, unit: f64) -> f64 {
    (var_mac * unit * unit + f64::from(BN_EPS)).sqrt()
}

/// Folds the batch norms into integer thresholds, layer by layer, with population statistics
/// of exact integer MACs over the un-augmented training images under the forward-pass neuron
/// (pooled over device samples for a stochastic one). A neuron with gamma < 0 fires for
/// MAC <= theta: its row is negated first (codes c -> M - c), so every neuron fires on
/// MAC >= T and its statistics are those of the negated row as the neuron reads it.
fn export(
    layers: &[Dense],
    data: &Dataset,
    train_idx: &[usize],
    cfg: &TrainConfig,
    neuron: &AnyNeuron,
    layout: &SiteLayout,
) -> Result<Network> {
    let m = (1u32 << cfg.weight_bits) - 1;
    let nl = layers.len();
    let mut net = assemble(layers, cfg, |_| None);
    // Negate the rows of gamma < 0 neurons.
    for (l, d) in layers.iter().enumerate().take(nl - 1) {
        let mut c = codes(&d.w.v, m);
        for (j, &g) in d.gamma.v.iter().enumerate() {
            if g < 0.0 {
                for v in &mut c[j * d.inputs..(j + 1) * d.inputs] {
                    *v = m as u8 - *v;
                }
            }
        }
        net.layers[l] = Layer::from_codes(d.inputs, d.outputs, cfg.weight_bits, &c, None);
    }
    let pass = Pass::new(data, train_idx, neuron, cfg.seed);
    let (devices, mut prev) = pass.start(layout);
    for (l, d) in layers.iter().enumerate().take(nl - 1) {
        let stats = pass.moments(&net, l, &prev, &devices);
        let unit = mac_unit(l, cfg);
        let max_mac = (d.inputs as f64 / unit).ceil() as i64 + 1;
        let thresholds = stats
            .iter()
            .enumerate()
            .map(|(j, &(mean, var))| {
                let gamma = f64::from(d.gamma.v[j]).abs();
                let beta = f64::from(d.beta.v[j]);
                if gamma == 0.0 {
                    return if beta >= 0.0 { -max_mac } else { max_mac };
                }
                // y >= 0  <=>  z >= mean - beta * sd / |gamma| (z in float units).
                let theta = mean - beta * float_sd(var, unit) / gamma / unit;
                theta.ceil().clamp(-(max_mac as f64), max_mac as f64) as i64
            })
            .collect();
        net.layers[l].thresholds = Some(thresholds);
        prev = pass.spikes(&net, l, &prev, &devices);
    }
    Ok(net)
}

/// Refits every hidden threshold to the MAC statistics under `neuron`: with (mu, sd) the
/// statistics of a neuron's MAC in the network as it is (ideal neuron, its thresholds) and
/// (mu', sd') those under `neuron` (previous layers already refitted), the boundary T - 1/2
/// moves to mu' + (T - 1/2 - mu) sd'/sd. Statistics are over the training images.
fn refit(
    net: &mut Network,
    data: &Dataset,
    train_idx: &[usize],
    cfg: &TrainConfig,
    neuron: &AnyNeuron,
    layout: &SiteLayout,
) {
    let ideal = AnyNeuron::Ideal(Ideal);
    let nl = net.layers.len();
    let ideal_pass = Pass::new(data, train_idx, &ideal, cfg.seed);
    let (devices, mut prev) = ideal_pass.start(layout);
    let mut ideal_stats = Vec::with_capacity(nl - 1);
    for l in 0..nl - 1 {
        ideal_stats.push(ideal_pass.moments(net, l, &prev, &devices));
        prev = ideal_pass.spikes(net, l, &prev, &devices);
    }
    let pass = Pass::new(data, train_idx, neuron, cfg.seed);
    let (devices, mut prev) = pass.start(layout);
    for (l, ideal_l) in ideal_stats.iter().enumerate() {
        let hw = pass.moments(net, l, &prev, &devices);
        let layer = &net.layers[l];
        let max_mac = (layer.inputs as f64 / mac_unit(l, cfg)).ceil() as i64 + 1;
        let old = layer.thresholds.clone().unwrap_or_default();
        let new: Vec<i64> = old
            .iter()
            .zip(ideal_l.iter().zip(&hw))
            .map(|(&t, (&(mu, var), &(mu_hw, var_hw)))| {
                let (sd, sd_hw) = (var.sqrt(), var_hw.sqrt());
                if sd == 0.0 || sd_hw == 0.0 {
                    return t;
                }
                let b = mu_hw + (t as f64 - 0.5 - mu) * sd_hw / sd;
                b.ceil().clamp(-(max_mac as f64), max_mac as f64) as i64
            })
            .collect();
        net.layers[l].thresholds = Some(new);
        prev = pass.spikes(net, l, &prev, &devices);
    }
}

/// Seeds the latent weights with the codes of `init` (binary: ±`latent`; K-bit: the centre
/// (2c - M)/M of the code's bin) and freezes each hidden layer's normalisation at the init
/// model's thresholds: centre (T - 1/2)·unit, scale the MAC's standard deviation over the
/// training images (ideal neuron).
fn load_init(
    layers: &mut [Dense],
    init: &Network,
    data: &Dataset,
    train_idx: &[usize],
    cfg: &TrainConfig,
    latent: f32,
) {
    let m = init.layers[0].code_max();
    let mf = m as f32;
    for (dense, layer) in layers.iter_mut().zip(&init.layers) {
        let (i, o) = (dense.inputs, dense.outputs);
        for j in 0..o {
            for k in 0..i {
                let c = layer.code(j, k) as f32;
                dense.w.v[j * i + k] = if m == 1 {
                    latent * (2.0 * c - 1.0)
                } else {
                    (2.0 * c - mf) / mf
                };
            }
        }
    }
    let ideal = AnyNeuron::Ideal(Ideal);
    let pass = Pass::new(data, train_idx, &ideal, cfg.seed);
    let (devices, mut prev) = pass.start(&init.layout());
    for (l, dense) in layers.iter_mut().enumerate() {
        let Some(t) = &init.layers[l].thresholds else {
            break;
        };
        let unit = mac_unit(l, cfg);
        let stats = pass.moments(init, l, &prev, &devices);
        dense.frozen = Some(Frozen {
            centre: t
                .iter()
                .map(|&t| ((t as f64 - 0.5) * unit) as f32)
                .collect(),
            scale: stats
                .iter()
                .map(|&(_, var)| float_sd(var, unit) as f32)
                .collect(),
        });
        prev = pass.spikes(init, l, &prev, &devices);
    }
}
