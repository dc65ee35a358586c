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
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::data::{CLASSES, Dataset, PIXELS, SIDE, stratified_split};
use super::error::SnnError;
use super::model::{Layer, Network, TrainingInfo, evaluate};
use super::neuron::Ideal;

const BN_EPS: f32 = 1e-5;
const ADAM_B1: f32 = 0.9;
const ADAM_B2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
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
    mut progress: impl FnMut(usize, f64),
) -> Result<Network, SnnError> {
    if !(0.0..1.0).contains(&cfg.test_fraction) {
        return Err(SnnError::Invalid(format!(
            "--test-fraction {} is not in [0, 1)",
            cfg.test_fraction
        )));
    }
    if cfg.hidden.is_empty() || cfg.hidden.contains(&0) {
        return Err(SnnError::Invalid(
            "--hidden needs at least one non-zero layer width".into(),
        ));
    }
    if cfg.batch_size == 0 || !(1..=8).contains(&cfg.input_bits) {
        return Err(SnnError::Invalid(
            "--batch must be > 0 and --input-bits in 1..=8".into(),
        ));
    }
    if !(1..=255).contains(&cfg.array_size) {
        return Err(SnnError::Invalid("--array-size must be in 1..=255".into()));
    }
    let start = Instant::now();
    let (train_idx, test_idx) = stratified_split(&data.labels, cfg.test_fraction, cfg.split_seed);
    if train_idx.is_empty() {
        return Err(SnnError::Invalid(
            "no training images after the split".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
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
            loss_sum +=
                train_step(&mut layers, &mut alpha, x0, &labels, lr, step as i32) * b as f64;
        }
        progress(epoch + 1, loss_sum / train_idx.len() as f64);
    }

    let mut net = export(&layers, data, &train_idx, cfg)?;
    let train_acc = evaluate(&net, &data.subset(&train_idx), &Ideal, 1, 0)?.accuracy;
    let test_acc = if test_idx.is_empty() {
        f64::NAN
    } else {
        evaluate(&net, &data.subset(&test_idx), &Ideal, 1, 0)?.accuracy
    };
    net.training = Some(TrainingInfo {
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
        init: None,
        neuron: "ideal".into(),
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

/// Folds the batch norms (population statistics over the un-augmented training images) into
/// integer thresholds and packs the weights.
fn export(
    layers: &[Dense],
    data: &Dataset,
    train_idx: &[usize],
    cfg: &TrainConfig,
) -> Result<Network, SnnError> {
    let n = train_idx.len();
    let mut x = vec![0f32; n * PIXELS];
    for (k, &i) in train_idx.iter().enumerate() {
        encode(
            data.image(i),
            cfg.input_bits,
            &mut x[k * PIXELS..(k + 1) * PIXELS],
        );
    }
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
        let mut z = vec![0f32; n * o];
        forward_mm(&x, &wb, n, i, o, &mut z);
        // Integer MAC = z / unit: inputs are ±1 except a multi-bit first layer (levels / max).
        let unit = if l == 0 && cfg.input_bits > 1 {
            1.0 / ((1u32 << cfg.input_bits) - 1) as f64
        } else {
            1.0
        };
        let max_mac = (i as f64 / unit).ceil() as i64 + 1;
        let mut thresholds = Vec::with_capacity(o);
        let mut a = vec![0f32; n * o];
        for j in 0..o {
            let mean = (0..n).map(|r| f64::from(z[r * o + j])).sum::<f64>() / n as f64;
            let var = (0..n)
                .map(|r| (f64::from(z[r * o + j]) - mean).powi(2))
                .sum::<f64>()
                / n as f64;
            let sd = (var + f64::from(BN_EPS)).sqrt();
            let gamma = f64::from(layer.gamma.v[j]);
            let beta = f64::from(layer.beta.v[j]);
            for r in 0..n {
                let y = gamma * (f64::from(z[r * o + j]) - mean) / sd + beta;
                a[r * o + j] = if y >= 0.0 { 1.0 } else { -1.0 };
            }
            // y >= 0  <=>  gamma * z >= gamma * theta, theta = mean - beta * sd / gamma.
            let t = if gamma == 0.0 {
                if beta >= 0.0 { -max_mac } else { max_mac }
            } else {
                let theta = (mean - beta * sd / gamma) / unit;
                if gamma < 0.0 {
                    // Fire iff MAC <= theta: negate the row so every neuron fires on ">=".
                    for p in &mut plus[j * i..(j + 1) * i] {
                        *p = !*p;
                    }
                    (-theta).ceil().clamp(-(max_mac as f64), max_mac as f64) as i64
                } else {
                    theta.ceil().clamp(-(max_mac as f64), max_mac as f64) as i64
                }
            };
            thresholds.push(t);
        }
        out.push(Layer::from_signs(i, o, &plus, Some(thresholds)));
        x = a;
    }
    let net = Network {
        input_bits: cfg.input_bits,
        array_size: cfg.array_size,
        layers: out,
        training: None,
    };
    net.validate().map_err(SnnError::Invalid)?;
    Ok(net)
}
