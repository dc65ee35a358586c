//! The trained binary network in its hardware form (bit-packed ±1 weights, integer
//! thresholds), its JSON file, and chunked inference with a pluggable neuron model.

use std::path::Path;

use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::{CLASSES, Dataset, PIXELS};
use super::neuron::{NeuronModel, SiteLayout};
use crate::error::{Error, Result};

/// Model file format tag.
pub const FORMAT: &str = "neurospice-bnn/1";

/// One fully connected layer with weights in {-1, +1}.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Fan-in.
    pub inputs: usize,
    /// Neurons.
    pub outputs: usize,
    words_per_row: usize,
    /// Row-major sign bits, bit i of row j set when w[j][i] = +1 (LSB-first per u64).
    bits: Vec<u64>,
    /// Hidden layers: neuron j fires (+1) iff its MAC >= `thresholds[j]`. `None` for the output
    /// layer, whose MACs are the class scores.
    pub thresholds: Option<Vec<i64>>,
}

impl Layer {
    /// Builds a layer from ±1 weights given as signs (`true` = +1), row-major `outputs x inputs`.
    pub fn from_signs(
        inputs: usize,
        outputs: usize,
        plus: &[bool],
        thresholds: Option<Vec<i64>>,
    ) -> Layer {
        let wpr = inputs.div_ceil(64);
        let mut bits = vec![0u64; wpr * outputs];
        for j in 0..outputs {
            for i in 0..inputs {
                if plus[j * inputs + i] {
                    bits[j * wpr + i / 64] |= 1 << (i % 64);
                }
            }
        }
        Layer {
            inputs,
            outputs,
            words_per_row: wpr,
            bits,
            thresholds,
        }
    }

    /// Sign bits of row j.
    pub fn row(&self, j: usize) -> &[u64] {
        &self.bits[j * self.words_per_row..(j + 1) * self.words_per_row]
    }

    /// Weight `w[j][i]` as ±1.
    pub fn weight(&self, j: usize, i: usize) -> i32 {
        if self.row(j)[i / 64] >> (i % 64) & 1 == 1 {
            1
        } else {
            -1
        }
    }
}

/// How a network was trained; stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Data file name the model was trained on.
    pub data: String,
    /// [`Dataset::fingerprint`] of that file.
    pub data_fingerprint: String,
    /// Images in the file.
    pub n_images: usize,
    /// Seed of the stratified train/test split.
    pub split_seed: u64,
    /// Fraction of each class held out for testing.
    pub test_fraction: f64,
    /// Training images.
    pub n_train: usize,
    /// Held-out test images.
    pub n_test: usize,
    /// Seed of weight initialisation, batch order and augmentation.
    pub seed: u64,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Initial Adam learning rate (cosine-decayed to 0).
    pub learning_rate: f64,
    /// Maximum random shift of training images, pixels (0 = no augmentation).
    pub augment_shift: usize,
    /// Model this one was fine-tuned from, if any.
    pub init: Option<String>,
    /// Neuron spec in the forward pass of (fine-)tuning.
    pub neuron: String,
    /// Accuracy on the training images (ideal neuron, exported integer network).
    pub train_accuracy: f64,
    /// Accuracy on the held-out images (ideal neuron, exported integer network).
    pub test_accuracy: f64,
    /// Mean accuracy on the held-out images under the tuning neuron (5 repeats, seed 0),
    /// when trained with a non-ideal neuron.
    #[serde(default)]
    pub neuron_test_accuracy: Option<f64>,
    /// Wall time of training, s.
    pub train_seconds: f64,
    /// Threads rayon used (results do not depend on it).
    pub threads: usize,
}

/// A binarized network run as an IF-SNN.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Input pixel bits: 1 = thresholded to ±1 (pixel >= 128 is +1) and the first layer is
    /// chunked like the others; 2..=8 = pixel >> (8 - bits), an unsigned level, and the
    /// first layer's MAC is computed digitally (exactly).
    pub input_bits: u32,
    /// Crossbar rows per chunk.
    pub array_size: usize,
    /// Layers, first to output.
    pub layers: Vec<Layer>,
    /// Provenance, when trained by neurospice.
    pub training: Option<TrainingInfo>,
}

#[derive(Serialize, Deserialize)]
struct LayerFile {
    inputs: usize,
    outputs: usize,
    /// Per row, the sign bits as hex, bit i = +1 weight, byte b holds inputs 8b..8b+7 LSB-first.
    weights: Vec<String>,
    thresholds: Option<Vec<i64>>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    input_bits: u32,
    array_size: usize,
    layers: Vec<LayerFile>,
    training: Option<TrainingInfo>,
}

fn hex_row(layer: &Layer, j: usize) -> String {
    let nbytes = layer.inputs.div_ceil(8);
    let row = layer.row(j);
    (0..nbytes)
        .map(|b| format!("{:02x}", (row[b / 8] >> ((b % 8) * 8)) as u8))
        .collect()
}

impl Network {
    /// Whether layer `l` is computed per crossbar chunk through the neuron model.
    pub fn is_chunked(&self, l: usize) -> bool {
        l > 0 || self.input_bits == 1
    }

    /// Physical-neuron layout of the chunked layers.
    pub fn layout(&self) -> SiteLayout {
        SiteLayout {
            array_size: self.array_size,
            layers: (0..self.layers.len())
                .filter(|&l| self.is_chunked(l))
                .map(|l| {
                    let layer = &self.layers[l];
                    (l, layer.outputs, layer.inputs.div_ceil(self.array_size))
                })
                .collect(),
        }
    }

    /// Checks shapes: 784 inputs, consistent widths, 10 outputs, thresholds on hidden layers.
    pub fn validate(&self) -> Result<()> {
        if !(1..=8).contains(&self.input_bits) {
            return Err(Error::data(format!(
                "input_bits {} is not in 1..=8",
                self.input_bits
            )));
        }
        if !(1..=255).contains(&self.array_size) {
            return Err(Error::data(format!(
                "array_size {} is not in 1..=255",
                self.array_size
            )));
        }
        let mut fan_in = PIXELS;
        for (l, layer) in self.layers.iter().enumerate() {
            if layer.inputs != fan_in {
                return Err(Error::data(format!(
                    "layer {l} has {} inputs, expected {fan_in}",
                    layer.inputs
                )));
            }
            let last = l + 1 == self.layers.len();
            match &layer.thresholds {
                Some(t) if !last && t.len() == layer.outputs => {}
                None if last => {}
                _ => {
                    return Err(Error::data(format!(
                        "layer {l}: hidden layers need one threshold per neuron, the output \
                         layer none"
                    )));
                }
            }
            fan_in = layer.outputs;
        }
        if fan_in != CLASSES || self.layers.is_empty() {
            return Err(Error::data(format!(
                "the last layer has {fan_in} outputs, expected 10"
            )));
        }
        Ok(())
    }

    /// Reads a model JSON file.
    pub fn load(path: &Path) -> Result<Network> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let f: ModelFile = serde_json::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("expected a neurospice model: {e}"),
            )
        })?;
        if f.format != FORMAT {
            return Err(Error::format(
                path,
                "format",
                format!("format {:?}, expected {FORMAT:?}", f.format),
            ));
        }
        let mut layers = Vec::with_capacity(f.layers.len());
        let mut fan_in = PIXELS;
        for (l, lf) in f.layers.into_iter().enumerate() {
            // Checked before allocating, so a corrupt size cannot request a huge buffer.
            if lf.inputs != fan_in {
                return Err(Error::format(
                    path,
                    format!("layer {l}"),
                    format!("{} inputs, expected {fan_in}", lf.inputs),
                ));
            }
            fan_in = lf.outputs;
            if lf.weights.len() != lf.outputs {
                return Err(Error::format(
                    path,
                    format!("layer {l}"),
                    format!("{} weight rows, expected {}", lf.weights.len(), lf.outputs),
                ));
            }
            let mut plus = Vec::with_capacity(lf.inputs * lf.outputs);
            for (j, hex) in lf.weights.iter().enumerate() {
                let nbytes = lf.inputs.div_ceil(8);
                let bytes: Option<Vec<u8>> = (hex.len() == 2 * nbytes)
                    .then(|| {
                        (0..nbytes)
                            .map(|b| {
                                hex.get(2 * b..2 * b + 2)
                                    .and_then(|s| u8::from_str_radix(s, 16).ok())
                            })
                            .collect()
                    })
                    .flatten();
                let Some(bytes) = bytes else {
                    return Err(Error::format(
                        path,
                        format!("layer {l} row {j}"),
                        format!("expected {} hex digits of sign bits", 2 * nbytes),
                    ));
                };
                plus.extend((0..lf.inputs).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1));
            }
            layers.push(Layer::from_signs(
                lf.inputs,
                lf.outputs,
                &plus,
                lf.thresholds,
            ));
        }
        let net = Network {
            input_bits: f.input_bits,
            array_size: f.array_size,
            layers,
            training: f.training,
        };
        net.validate()
            .map_err(|m| Error::format(path, "layers", m.msg))?;
        Ok(net)
    }

    /// Writes the model JSON atomically (temp file in the same directory, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let f = ModelFile {
            format: FORMAT.into(),
            input_bits: self.input_bits,
            array_size: self.array_size,
            layers: self
                .layers
                .iter()
                .map(|l| LayerFile {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weights: (0..l.outputs).map(|j| hex_row(l, j)).collect(),
                    thresholds: l.thresholds.clone(),
                })
                .collect(),
            training: self.training.clone(),
        };
        let text = serde_json::to_string_pretty(&f)
            .map_err(|e| Error::output(format!("cannot serialise the model: {e}")))?;
        crate::io::atomic::write_bytes(path, text.as_bytes())
    }

    /// Input vector of the first layer: sign bits (input_bits = 1) or unsigned levels.
    fn encode_input(&self, img: &[u8], bits: &mut Vec<u64>, levels: &mut Vec<u32>) {
        bits.clear();
        levels.clear();
        if self.input_bits == 1 {
            bits.resize(PIXELS.div_ceil(64), 0);
            for (i, &p) in img.iter().enumerate() {
                if p >= 128 {
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
        } else {
            levels.extend(img.iter().map(|&p| u32::from(p >> (8 - self.input_bits))));
        }
    }

    /// Runs one image; returns the predicted class (argmax of the integer scores, ties to the
    /// lowest class). When `hist` is given, counts every chunk's true level per chunked layer.
    pub fn classify<M: NeuronModel>(
        &self,
        img: &[u8],
        model: &M,
        devices: &M::Devices,
        rng: &mut ChaCha8Rng,
        mut hist: Option<&mut [Vec<u64>]>,
    ) -> usize {
        let a = self.array_size;
        let mut x_bits = Vec::new();
        let mut x_levels = Vec::new();
        self.encode_input(img, &mut x_bits, &mut x_levels);
        let mut site_base = 0usize;
        let mut chunked_index = 0usize;
        let mut scores = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            let mut macs = Vec::with_capacity(layer.outputs);
            if self.is_chunked(l) {
                let chunks = layer.inputs.div_ceil(a);
                for j in 0..layer.outputs {
                    let w = layer.row(j);
                    let mut mac = 0i64;
                    for c in 0..chunks {
                        let lo = c * a;
                        let hi = (lo + a).min(layer.inputs);
                        let level = xnor_popcount(&x_bits, w, lo, hi);
                        if let Some(h) = hist.as_deref_mut() {
                            h[chunked_index][level as usize] += 1;
                        }
                        let site = site_base + j * chunks + c;
                        let len = (hi - lo) as u32;
                        let got = model.read(devices, site, level, len, rng).min(len);
                        mac += 2 * i64::from(got) - i64::from(len);
                    }
                    macs.push(mac);
                }
                site_base += layer.outputs * chunks;
                chunked_index += 1;
            } else {
                let total: i64 = x_levels.iter().map(|&v| i64::from(v)).sum();
                for j in 0..layer.outputs {
                    let w = layer.row(j);
                    let plus: i64 = x_levels
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| w[i / 64] >> (i % 64) & 1 == 1)
                        .map(|(_, &v)| i64::from(v))
                        .sum();
                    macs.push(2 * plus - total);
                }
            }
            match &layer.thresholds {
                Some(t) => {
                    x_bits.clear();
                    x_bits.resize(layer.outputs.div_ceil(64), 0);
                    for (j, (&m, &th)) in macs.iter().zip(t).enumerate() {
                        if m >= th {
                            x_bits[j / 64] |= 1 << (j % 64);
                        }
                    }
                }
                None => scores = macs,
            }
        }
        let mut best = 0;
        for (k, &s) in scores.iter().enumerate() {
            if s > scores[best] {
                best = k;
            }
        }
        best
    }
}

/// Popcount of XNOR(a, w) over bit positions lo..hi: the number of +1 products, i.e. the
/// chunk's MAC level. Bits beyond the vectors count as 0 in both.
pub fn xnor_popcount(a: &[u64], w: &[u64], lo: usize, hi: usize) -> u32 {
    let mut count = 0;
    let mut i = lo;
    while i < hi {
        let word = i / 64;
        let start = i % 64;
        let end = (hi - word * 64).min(64);
        let width = end - start;
        let mask = if width == 64 {
            u64::MAX
        } else {
            ((1u64 << width) - 1) << start
        };
        let x = !(a.get(word).copied().unwrap_or(0) ^ w.get(word).copied().unwrap_or(0));
        count += (x & mask).count_ones();
        i = word * 64 + end;
    }
    count
}

/// Accuracy of a network over a data set under a neuron model, over repeats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalResult {
    /// Mean accuracy over repeats, 0..1.
    pub accuracy: f64,
    /// Sample standard deviation of the accuracy over repeats (0 for one repeat).
    pub accuracy_std: f64,
    /// Lower end of the 95% interval of the mean over repeats (Student t).
    pub accuracy_lo: f64,
    /// Upper end of that interval.
    pub accuracy_hi: f64,
    /// Images per repeat.
    pub n: usize,
    /// Repeats (independent device samples).
    pub repeats: usize,
    /// Accuracy of each repeat.
    pub per_repeat: Vec<f64>,
}

/// The generator of (seed, repeat, image): the crate's [`crate::seed::plain`] layout with the
/// network's tag; `u64::MAX` as image is the device draw.
pub fn stream(seed: u64, repeat: u64, image: u64) -> ChaCha8Rng {
    crate::seed::plain(seed, repeat, image, b"nspsnn01")
}

/// Evaluates `net` on every image of `data` under `model`, `repeats` times with independent
/// device samples. Results depend only on `seed`, never on the thread count: devices are drawn
/// from a generator seeded by (seed, repeat) and each image's reads from one seeded by
/// (seed, repeat, image). Deterministic models are evaluated once.
pub fn evaluate<M: NeuronModel>(
    net: &Network,
    data: &Dataset,
    model: &M,
    repeats: usize,
    seed: u64,
) -> Result<EvalResult> {
    model.check(net.array_size)?;
    if data.is_empty() {
        return Err(Error::usage("no images to evaluate"));
    }
    let repeats = repeats.max(1);
    let runs = if model.stochastic() { repeats } else { 1 };
    let layout = net.layout();
    let mut per_repeat = Vec::with_capacity(repeats);
    for r in 0..runs {
        let mut drng = stream(seed, r as u64, u64::MAX);
        let devices = model.sample_devices(&layout, &mut drng);
        let correct: usize = (0..data.len())
            .into_par_iter()
            .map(|i| {
                let mut rng = stream(seed, r as u64, i as u64);
                let p = net.classify(data.image(i), model, &devices, &mut rng, None);
                usize::from(p == usize::from(data.labels[i]))
            })
            .sum();
        per_repeat.push(correct as f64 / data.len() as f64);
    }
    while per_repeat.len() < repeats {
        per_repeat.push(per_repeat[0]);
    }
    Ok(summarise(per_repeat, data.len()))
}

/// Mean, standard deviation and 95% interval of per-repeat accuracies.
pub fn summarise(per_repeat: Vec<f64>, n: usize) -> EvalResult {
    let r = per_repeat.len();
    let mean = per_repeat.iter().sum::<f64>() / r as f64;
    let std = if r > 1 {
        (per_repeat.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (r - 1) as f64).sqrt()
    } else {
        0.0
    };
    let half = if r > 1 && std > 0.0 {
        crate::stats::t_975(r - 1) * std / (r as f64).sqrt()
    } else {
        0.0
    };
    EvalResult {
        accuracy: mean,
        accuracy_std: std,
        accuracy_lo: (mean - half).max(0.0),
        accuracy_hi: (mean + half).min(1.0),
        n,
        repeats: r,
        per_repeat,
    }
}

/// MAC-level histogram of one chunked layer (ideal neuron).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelHistogram {
    /// Network layer index (0 = first layer).
    pub layer: usize,
    /// Chunk length of full chunks (the array size).
    pub array_size: usize,
    /// `counts[m]`: how many chunk reads had level m (partial chunks included).
    pub counts: Vec<u64>,
}

/// Counts the true MAC level of every chunk of every chunked layer over `data`, for CapMin.
/// Uses the ideal neuron, so activations are the ones the trained network intends.
pub fn level_histograms(net: &Network, data: &Dataset) -> Vec<LevelHistogram> {
    let layout = net.layout();
    let nl = layout.layers.len();
    let a = net.array_size;
    let empty = || vec![vec![0u64; a + 1]; nl];
    let hist = (0..data.len())
        .into_par_iter()
        .fold(empty, |mut h, i| {
            // the ideal neuron draws nothing; any stream serves
            let mut rng = stream(0, 0, 0);
            net.classify(
                data.image(i),
                &super::neuron::Ideal,
                &(),
                &mut rng,
                Some(&mut h),
            );
            h
        })
        .reduce(empty, |mut x, y| {
            for (a, b) in x.iter_mut().zip(y) {
                for (p, q) in a.iter_mut().zip(b) {
                    *p += q;
                }
            }
            x
        });
    layout
        .layers
        .iter()
        .zip(hist)
        .map(|(&(layer, _, _), counts)| LevelHistogram {
            layer,
            array_size: a,
            counts,
        })
        .collect()
}
