//! Training of the binarized network: latent float weights, sign() in the forward pass,
//! straight-through estimator (hardtanh window) in the backward pass, batch normalisation,
//! Adam with cosine learning-rate decay, random-shift augmentation.
//!
//! Determinism: all matrix products run sequentially (faer `Par::Seq`) and every random draw
//! comes from one ChaCha generator seeded by the training seed, so a seed gives the same
//! model on a given machine and build whatever the thread count.

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::data::{CLASSES, Dataset, PIXELS, SIDE, stratified_split};
use super::model::{Layer, Network, TrainingInfo, evaluate, stream, xnor_popcount};
use super::neuron::{AnyDevices, AnyNeuron, Ideal, NeuronModel, SiteLayout};
use crate::error::{Error, Result};

const BN_EPS: f32 = 1e-5;
const ADAM_B1: f32 = 0.9;
const ADAM_B2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;

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
    /// Seed of the stratified train/test split.
    pub split_seed: u64,
    /// Fraction of each class held out.
    pub test_fraction: f64,
    /// Input pixel bits (1 = thresholded, chunked first layer; 2..=8 digital first layer).
    pub input_bits: u32,
    /// Crossbar rows per chunk.
    pub array_size: usize,
    /// Maximum random shift of training images, pixels.
    pub augment_shift: usize,
    /// Name of the data file, recorded in the model.
    pub data_name: String,
}

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

struct Dense {
    inputs: usize,
    outputs: usize,
    w: Param,
    /// BN scale and shift; unused (empty) on the output layer.
    gamma: Param,
    beta: Param,
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

fn signs(w: &[f32]) -> Vec<f32> {
    w.iter()
        .map(|&v| if v >= 0.0 { 1.0 } else { -1.0 })
        .collect()
}

/// out (b x o) = x (b x i) * wb^T, wb (o x i) row-major.
fn forward_mm(x: &[f32], wb: &[f32], b: usize, i: usize, o: usize, out: &mut [f32]) {
    let xr = MatRef::from_row_major_slice(x, b, i);
    let wr = MatRef::from_row_major_slice(wb, o, i);
    let dst = MatMut::from_row_major_slice_mut(out, b, o);
    matmul(dst, Accum::Replace, xr, wr.transpose(), 1.0f32, Par::Seq);
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

/// Trains a network on the training part of `data` and returns it with its train and test
/// accuracies (ideal neuron, exported integer network). `progress(epoch, mean_loss)` is
/// called after each epoch.
pub fn train(
    data: &Dataset,
    cfg: &TrainConfig,
    progress: impl FnMut(usize, f64),
) -> Result<Network> {
    train_with(data, cfg, &Tuning::default(), progress)
}

/// Hardware-aware options of [`train_with`].
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Start from this model (and its file name): its widths, input bits and array size
    /// replace the configuration's, its weights and thresholds seed the latent weights and
    /// batch norms.
    pub init: Option<(Network, String)>,
    /// Non-ideal neuron in the forward pass (and its spec text). Every chunked MAC is replaced
    /// by the value the neuron reports, blended in progressively: z = z_ideal +
    /// lambda * (z_hw - z_ideal), lambda rising linearly from 0 to 1 over the first half of
    /// the epochs (after arXiv 2211.02167); the backward pass is straight-through. Devices
    /// are re-sampled every epoch, so the network learns the distribution, not one chip.
    pub neuron: Option<(AnyNeuron, String)>,
}

/// Latent weight magnitude given to the signs of an `--init` model: small enough that Adam
/// can flip a weight within tens of steps, large enough that noise does not flip them all.
const INIT_LATENT: f32 = 0.1;

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
    }
    let cfg = &cfg;
    if let Some((n, _)) = &tuning.neuron {
        n.check(cfg.array_size)?;
    }
    if !(0.0..1.0).contains(&cfg.test_fraction) {
        return Err(Error::usage(format!(
            "--test-fraction {} is not in [0, 1)",
            cfg.test_fraction
        )));
    }
    if cfg.hidden.is_empty() || cfg.hidden.contains(&0) {
        return Err(Error::usage(
            "--hidden needs at least one non-zero layer width",
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
    let start = Instant::now();
    let (train_idx, test_idx) = stratified_split(&data.labels, cfg.test_fraction, cfg.split_seed);
    if train_idx.is_empty() {
        return Err(Error::usage("no training images after the split"));
    }
    let mut rng = crate::seed::sequential(cfg.seed);
    let mut widths = vec![PIXELS];
    widths.extend_from_slice(&cfg.hidden);
    widths.push(CLASSES);
    let nl = widths.len() - 1;
    let mut layers: Vec<Dense> = (0..nl)
        .map(|l| {
            let (i, o) = (widths[l], widths[l + 1]);
            let a = (6.0 / (i + o) as f32).sqrt();
            let w = (0..i * o).map(|_| rng.random_range(-a..a)).collect();
            let hidden = l + 1 < nl;
            Dense {
                inputs: i,
                outputs: o,
                w: Param::new(w),
                gamma: Param::new(if hidden { vec![1.0; o] } else { vec![] }),
                beta: Param::new(if hidden { vec![0.0; o] } else { vec![] }),
            }
        })
        .collect();
    let mut alpha = Param::new(vec![1.0 / (widths[nl - 1] as f32).sqrt()]);
    if let Some((init, _)) = &tuning.init {
        load_init(&mut layers, init, data, &train_idx, cfg);
    }
    let hw = tuning.neuron.as_ref().map(|(n, _)| n);
    let layout = site_layout(&widths, cfg);

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
        let mut hw_rng = stream(cfg.seed, epoch as u64, 1 << 62);
        for batch in order.chunks(bs) {
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
                    rng: &mut hw_rng,
                    lambda,
                    cfg,
                    layout: &layout,
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
                hw_step,
            ) * b as f64;
        }
        progress(epoch + 1, loss_sum / train_idx.len() as f64);
    }

    let mut net = export(&layers, data, &train_idx, cfg, hw, &layout)?;
    let train_acc = evaluate(&net, &data.subset(&train_idx), &Ideal, 1, 0)?.accuracy;
    let test_acc = if test_idx.is_empty() {
        f64::NAN
    } else {
        evaluate(&net, &data.subset(&test_idx), &Ideal, 1, 0)?.accuracy
    };
    let neuron_test_accuracy = match (hw, test_idx.is_empty()) {
        (Some(n), false) => Some(evaluate(&net, &data.subset(&test_idx), n, 5, 0)?.accuracy),
        _ => None,
    };
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
        init: tuning.init.as_ref().map(|(_, name)| name.clone()),
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

/// One Adam step on one batch; returns the mean cross-entropy.
fn train_step(
    layers: &mut [Dense],
    alpha: &mut Param,
    x0: Vec<f32>,
    labels: &[usize],
    lr: f32,
    t: i32,
    mut hw: Option<HwStep<'_>>,
) -> f64 {
    let b = labels.len();
    let nl = layers.len();
    let mut caches: Vec<Cache> = Vec::with_capacity(nl);
    let mut x = x0;
    let wbs: Vec<Vec<f32>> = layers.iter().map(|l| signs(&l.w.v)).collect();
    for (l, layer) in layers.iter().enumerate() {
        let (i, o) = (layer.inputs, layer.outputs);
        let mut z = vec![0f32; b * o];
        forward_mm(&x, &wbs[l], b, i, o, &mut z);
        if let Some(h) = hw.as_mut() {
            h.apply(l, &x, &wbs[l], b, i, o, &mut z);
        }
        let mut c = Cache {
            x: std::mem::take(&mut x),
            ..Cache::default()
        };
        if l + 1 < nl {
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
            let mut xhat = vec![0f32; b * o];
            let mut y = vec![0f32; b * o];
            let mut a = vec![0f32; b * o];
            for r in 0..b {
                for j in 0..o {
                    let k = r * o + j;
                    xhat[k] = (z[k] - mean[j]) * inv_std[j];
                    y[k] = layer.gamma.v[j] * xhat[k] + layer.beta.v[j];
                    a[k] = if y[k] >= 0.0 { 1.0 } else { -1.0 };
                }
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
            // dz currently holds d(activation); apply STE on y, then BN backward.
            let layer = &layers[l];
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
        // dW (o x i) = dz^T (o x b) * x (b x i)
        let mut dw = vec![0f32; o * i];
        {
            let dzr = MatRef::from_row_major_slice(&dz, b, o);
            let xr = MatRef::from_row_major_slice(&c.x, b, i);
            let dst = MatMut::from_row_major_slice_mut(&mut dw, o, i);
            matmul(dst, Accum::Replace, dzr.transpose(), xr, 1.0f32, Par::Seq);
        }
        let dx = if l > 0 {
            let mut dx = vec![0f32; b * i];
            let dzr = MatRef::from_row_major_slice(&dz, b, o);
            let wr = MatRef::from_row_major_slice(&wbs[l], o, i);
            let dst = MatMut::from_row_major_slice_mut(&mut dx, b, i);
            matmul(dst, Accum::Replace, dzr, wr, 1.0f32, Par::Seq);
            Some(dx)
        } else {
            None
        };
        // Straight-through: no gradient once the latent weight saturates at |w| = 1.
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

/// Device samples pooled when folding thresholds for a stochastic neuron: thresholds are
/// shared by every chip, so they must fit the distribution over chips, not one sample.
const EXPORT_DEVICE_SAMPLES: u64 = 8;

/// Mean and standard deviation (with the batch-norm epsilon) of column j of several
/// row-major n x o blocks pooled together.
fn column_stats(blocks: &[Vec<f32>], n: usize, o: usize, j: usize) -> (f64, f64) {
    let count = (n * blocks.len()) as f64;
    let col = || {
        blocks
            .iter()
            .flat_map(move |z| (0..n).map(move |r| f64::from(z[r * o + j])))
    };
    let mean = col().sum::<f64>() / count;
    let var = col().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
    (mean, (var + f64::from(BN_EPS)).sqrt())
}

/// Integer MAC per unit of the float pre-activation: inputs are ±1 except a multi-bit first
/// layer, whose inputs are levels / (2^bits - 1).
fn mac_unit(l: usize, cfg: &TrainConfig) -> f64 {
    if l == 0 && cfg.input_bits > 1 {
        1.0 / ((1u32 << cfg.input_bits) - 1) as f64
    } else {
        1.0
    }
}

/// The training images, encoded as first-layer inputs, row-major.
fn encode_all(data: &Dataset, idx: &[usize], cfg: &TrainConfig) -> Vec<f32> {
    let mut x = vec![0f32; idx.len() * PIXELS];
    for (k, &i) in idx.iter().enumerate() {
        encode(
            data.image(i),
            cfg.input_bits,
            &mut x[k * PIXELS..(k + 1) * PIXELS],
        );
    }
    x
}

/// Folds the batch norms (population statistics over the un-augmented training images,
/// under the tuning neuron if any) into integer thresholds and packs the weights.
fn export(
    layers: &[Dense],
    data: &Dataset,
    train_idx: &[usize],
    cfg: &TrainConfig,
    hw: Option<&AnyNeuron>,
    layout: &SiteLayout,
) -> Result<Network> {
    let n = train_idx.len();
    let samples = match hw {
        Some(m) if m.stochastic() => EXPORT_DEVICE_SAMPLES,
        _ => 1,
    };
    let devices: Vec<Option<AnyDevices>> = (0..samples)
        .map(|k| {
            hw.map(|m| {
                let mut r = stream(cfg.seed, u64::MAX - k, u64::MAX);
                m.sample_devices(layout, &mut r)
            })
        })
        .collect();
    let mut rngs: Vec<ChaCha8Rng> = (0..samples)
        .map(|k| stream(cfg.seed, u64::MAX - k, 1 << 62))
        .collect();
    let mut xs = vec![encode_all(data, train_idx, cfg); samples as usize];
    let nl = layers.len();
    let mut out = Vec::with_capacity(nl);
    for (l, layer) in layers.iter().enumerate() {
        let (i, o) = (layer.inputs, layer.outputs);
        let wb = signs(&layer.w.v);
        let mut plus: Vec<bool> = layer.w.v.iter().map(|&w| w >= 0.0).collect();
        if l + 1 == nl {
            out.push(Layer::from_signs(i, o, &plus, None));
            break;
        }
        let mut zs = Vec::with_capacity(xs.len());
        for ((x, dev), rng) in xs.iter().zip(&devices).zip(&mut rngs) {
            let mut z = vec![0f32; n * o];
            forward_mm(x, &wb, n, i, o, &mut z);
            if let (Some(model), Some(devices)) = (hw, dev) {
                let mut h = HwStep {
                    model,
                    devices,
                    rng,
                    lambda: 1.0,
                    cfg,
                    layout,
                };
                h.apply(l, x, &wb, n, i, o, &mut z);
            }
            zs.push(z);
        }
        let unit = mac_unit(l, cfg);
        let max_mac = (i as f64 / unit).ceil() as i64 + 1;
        let mut thresholds = Vec::with_capacity(o);
        let mut acts = vec![vec![0f32; n * o]; zs.len()];
        for j in 0..o {
            let (mean, sd) = column_stats(&zs, n, o, j);
            let gamma = f64::from(layer.gamma.v[j]);
            let beta = f64::from(layer.beta.v[j]);
            for (z, a) in zs.iter().zip(&mut acts) {
                for r in 0..n {
                    let y = gamma * (f64::from(z[r * o + j]) - mean) / sd + beta;
                    a[r * o + j] = if y >= 0.0 { 1.0 } else { -1.0 };
                }
            }
            // y >= 0  <=>  gamma * z >= gamma * theta, theta = mean - beta * sd / gamma.
            let t = if gamma == 0.0 {
                if beta >= 0.0 { -max_mac } else { max_mac }
            } else {
                let mut theta = (mean - beta * sd / gamma) / unit;
                if gamma < 0.0 {
                    // Fire iff MAC <= theta: negate the row so every neuron fires on ">=".
                    for p in &mut plus[j * i..(j + 1) * i] {
                        *p = !*p;
                    }
                    theta = -theta;
                }
                theta.ceil().clamp(-(max_mac as f64), max_mac as f64) as i64
            };
            thresholds.push(t);
        }
        out.push(Layer::from_signs(i, o, &plus, Some(thresholds)));
        xs = acts;
    }
    let net = Network {
        input_bits: cfg.input_bits,
        array_size: cfg.array_size,
        layers: out,
        training: None,
    };
    net.validate()?;
    Ok(net)
}

/// The non-ideal neuron in one forward pass.
struct HwStep<'a> {
    model: &'a AnyNeuron,
    devices: &'a AnyDevices,
    rng: &'a mut ChaCha8Rng,
    lambda: f32,
    cfg: &'a TrainConfig,
    layout: &'a SiteLayout,
}

impl HwStep<'_> {
    /// Replaces the ideal MACs `z` (b x o) of layer `l` by a blend with the chunked MACs the
    /// neuron reports; layers that are not chunked are left alone.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        l: usize,
        x: &[f32],
        wb: &[f32],
        b: usize,
        i: usize,
        o: usize,
        z: &mut [f32],
    ) {
        if l == 0 && self.cfg.input_bits > 1 {
            return;
        }
        let a = self.cfg.array_size;
        let chunks = i.div_ceil(a);
        let wpr = i.div_ceil(64);
        let pack = |v: &[f32]| {
            let mut w = vec![0u64; wpr];
            for (k, &s) in v.iter().enumerate() {
                if s >= 0.0 {
                    w[k / 64] |= 1 << (k % 64);
                }
            }
            w
        };
        let wrows: Vec<Vec<u64>> = (0..o).map(|j| pack(&wb[j * i..(j + 1) * i])).collect();
        let base: usize = self
            .layout
            .layers
            .iter()
            .take_while(|&&(k, _, _)| k < l)
            .map(|&(_, o, c)| o * c)
            .sum();
        for r in 0..b {
            let xr = pack(&x[r * i..(r + 1) * i]);
            for (j, wr) in wrows.iter().enumerate() {
                let mut mac = 0i64;
                for c in 0..chunks {
                    let lo = c * a;
                    let hi = (lo + a).min(i);
                    let level = xnor_popcount(&xr, wr, lo, hi);
                    let len = (hi - lo) as u32;
                    let got = self
                        .model
                        .read(self.devices, base + j * chunks + c, level, len, self.rng)
                        .min(len);
                    mac += 2 * i64::from(got) - i64::from(len);
                }
                let k = r * o + j;
                z[k] += self.lambda * (mac as f32 - z[k]);
            }
        }
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

/// Seeds the latent weights with the signs of `init` and the batch norms so that, with the
/// training set's statistics, each neuron starts at its stored threshold:
/// gamma = 1, beta = (mean - (T - 1/2) * unit) / sd.
fn load_init(
    layers: &mut [Dense],
    init: &Network,
    data: &Dataset,
    train_idx: &[usize],
    cfg: &TrainConfig,
) {
    let n = train_idx.len();
    let mut x = encode_all(data, train_idx, cfg);
    for (l, (dense, layer)) in layers.iter_mut().zip(&init.layers).enumerate() {
        let (i, o) = (dense.inputs, dense.outputs);
        for j in 0..o {
            for k in 0..i {
                dense.w.v[j * i + k] = INIT_LATENT * layer.weight(j, k) as f32;
            }
        }
        let Some(t) = &layer.thresholds else {
            break;
        };
        let wb = signs(&dense.w.v);
        let mut z = vec![0f32; n * o];
        forward_mm(&x, &wb, n, i, o, &mut z);
        let unit = mac_unit(l, cfg);
        let mut a = vec![0f32; n * o];
        let zs = [z];
        for j in 0..o {
            let (mean, sd) = column_stats(&zs, n, o, j);
            dense.gamma.v[j] = 1.0;
            // The boundary half a MAC step below T keeps MAC = T firing despite rounding.
            dense.beta.v[j] = ((mean - (t[j] as f64 - 0.5) * unit) / sd) as f32;
            for r in 0..n {
                let fire = (f64::from(zs[0][r * o + j]) / unit).round() as i64 >= t[j];
                a[r * o + j] = if fire { 1.0 } else { -1.0 };
            }
        }
        x = a;
    }
}
