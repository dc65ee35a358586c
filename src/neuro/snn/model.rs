//! The trained network in its hardware form (bit-packed weight codes, integer thresholds),
//! its JSON file, the crossbar read-out of each chunk, and chunked inference with a
//! pluggable neuron model.
//!
//! Weights are K-bit codes `c` in `0..=M`, `M = 2^K - 1`, standing for the odd integer
//! weight `w = 2c - M` (K = 1: the binary ±1 network). Activations are ±1 spikes. A layer's
//! fan-in is cut into chunks of `array_size` inputs; each chunk of each neuron is one
//! physical column whose neuron reads one integer *level* (see [`Readout`]); the exact MAC
//! of the chunk follows from that level and digitally known counts.

use std::path::Path;

use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::{CLASSES, Dataset, PIXELS};
use super::neuron::{NeuronModel, SiteLayout};
use crate::error::{Error, Result};

/// Model file format tag.
pub const FORMAT: &str = "neurospice-bnn/1";

/// Largest supported weight width, bits.
pub const MAX_WEIGHT_BITS: u32 = 8;

/// How a crossbar column turns one chunk of ±1 inputs and weight codes into the level its
/// neuron reads. Write x_i = 1 for an input spike (+1), 0 for -1; c_i the cell's code,
/// M = 2^K - 1, L the chunk length.
///
/// - `Xnor`: a differential (complementary) cell conducts the code when the input is 1 and
///   its complement `M - c` when the input is 0; for K = 1 it conducts iff x = w (XNOR).
///   Level `q = Σ (x_i ? c_i : M - c_i)`, 0..=L·M; MAC = 2q - L·M.
/// - `And`: a single-ended column: only active inputs drive their cell. Level
///   `p = Σ x_i·c_i` (K = 1: #(x = 1 ∧ w = +1)), 0..=Σc; the exact MAC is recovered digitally
///   from the known active-input count Σx and code sum Σc:
///   MAC = 4p + L·M - 2M·Σx - 2Σc (K = 1: 4p + L - 2Σx - 2Σw, Σw the +1 cells).
///
/// Both levels decompose over the bit planes of the codes, `level = Σ_b 2^b level_b`, with
/// `level_b` the same read-out of the one-bit plane b: a C-2C ladder column integrates the
/// weighted sum in one analog quantity, a bit-sliced array reads each `level_b` on its own
/// column (see docs/snn.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// Differential XNOR cell: level = Σ (x ? c : M - c).
    #[default]
    Xnor,
    /// Single-ended column: level = Σ x·c, MAC corrected digitally.
    And,
}

impl Readout {
    /// `xnor` or `and`.
    pub fn name(self) -> &'static str {
        match self {
            Readout::Xnor => "xnor",
            Readout::And => "and",
        }
    }
}

impl std::fmt::Display for Readout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Readout {
    type Err = Error;
    fn from_str(s: &str) -> Result<Readout> {
        match s {
            "xnor" => Ok(Readout::Xnor),
            "and" => Ok(Readout::And),
            _ => Err(Error::usage(format!(
                "read-out {s:?}: expected xnor or and"
            ))),
        }
    }
}

/// The digitally known side of one chunk of one column: what the periphery needs, besides the
/// level the neuron reads, to recover the exact MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSums {
    /// Inputs in the chunk, L.
    pub len: u32,
    /// Largest code, M = 2^K - 1.
    pub code_max: u32,
    /// Active inputs (x = 1), Σx.
    pub active: u32,
    /// Sum of the column's codes over the chunk, Σc.
    pub code_sum: u32,
}

impl ChunkSums {
    /// Highest level the column can produce in this read-out mode: L·M (xnor) or Σc (and).
    pub fn max_level(&self, readout: Readout) -> u32 {
        match readout {
            Readout::Xnor => self.len * self.code_max,
            Readout::And => self.code_sum,
        }
    }

    /// Full scale of the neuron reading this chunk: L·M in both modes (a neuron is designed
    /// for the longest chunk and the largest codes, not for one column's weights).
    pub fn full_scale(&self) -> u32 {
        self.len * self.code_max
    }

    /// The exact chunk MAC Σ a_i·w_i (a = 2x - 1, w = 2c - M) from a level read in `readout`.
    pub fn mac(&self, readout: Readout, level: u32) -> i64 {
        let (l, m) = (i64::from(self.len), i64::from(self.code_max));
        let level = i64::from(level);
        match readout {
            Readout::Xnor => 2 * level - l * m,
            Readout::And => {
                4 * level + l * m - 2 * m * i64::from(self.active) - 2 * i64::from(self.code_sum)
            }
        }
    }
}

/// One fully connected layer with K-bit weight codes (K = 1: signs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Fan-in.
    pub inputs: usize,
    /// Neurons.
    pub outputs: usize,
    weight_bits: u32,
    words_per_row: usize,
    /// Row-major bit planes: row j holds `weight_bits` planes of `words_per_row` words, plane b
    /// bit i set when bit b of code c[j][i] is set (LSB-first per u64).
    bits: Vec<u64>,
    /// Hidden layers: neuron j fires (+1) iff its MAC >= `thresholds[j]`. `None` for the output
    /// layer, whose MACs are the class scores.
    pub thresholds: Option<Vec<i64>>,
}

impl Layer {
    /// Builds a binary layer from ±1 weights given as signs (`true` = +1), row-major
    /// `outputs x inputs`.
    pub fn from_signs(
        inputs: usize,
        outputs: usize,
        plus: &[bool],
        thresholds: Option<Vec<i64>>,
    ) -> Layer {
        let codes: Vec<u8> = plus.iter().map(|&p| u8::from(p)).collect();
        Layer::from_codes(inputs, outputs, 1, &codes, thresholds)
    }

    /// Builds a layer from K-bit codes (`0..=2^K - 1`, row-major `outputs x inputs`); the
    /// weight of code c is `2c - (2^K - 1)`. Bits of a code above K are ignored.
    pub fn from_codes(
        inputs: usize,
        outputs: usize,
        weight_bits: u32,
        codes: &[u8],
        thresholds: Option<Vec<i64>>,
    ) -> Layer {
        let wpr = inputs.div_ceil(64);
        let k = weight_bits as usize;
        let mut bits = vec![0u64; wpr * k * outputs];
        for j in 0..outputs {
            for i in 0..inputs {
                let c = codes[j * inputs + i];
                for b in 0..k {
                    if c >> b & 1 == 1 {
                        bits[(j * k + b) * wpr + i / 64] |= 1 << (i % 64);
                    }
                }
            }
        }
        Layer {
            inputs,
            outputs,
            weight_bits,
            words_per_row: wpr,
            bits,
            thresholds,
        }
    }

    /// Bits per weight, K.
    pub fn weight_bits(&self) -> u32 {
        self.weight_bits
    }

    /// Largest code, M = 2^K - 1.
    pub fn code_max(&self) -> u32 {
        (1u32 << self.weight_bits) - 1
    }

    /// Every bit plane of row j, plane after plane (K = 1: the sign bits).
    pub fn row(&self, j: usize) -> &[u64] {
        let n = self.words_per_row * self.weight_bits as usize;
        &self.bits[j * n..(j + 1) * n]
    }

    /// Bit plane b of row j: bit i set when bit b of code c[j][i] is set.
    pub fn plane(&self, j: usize, b: u32) -> &[u64] {
        let w = self.words_per_row;
        let start = (j * self.weight_bits as usize + b as usize) * w;
        &self.bits[start..start + w]
    }

    /// Code c[j][i] in `0..=M`.
    pub fn code(&self, j: usize, i: usize) -> u32 {
        (0..self.weight_bits)
            .map(|b| ((self.plane(j, b)[i / 64] >> (i % 64) & 1) as u32) << b)
            .sum()
    }

    /// Integer weight `w[j][i] = 2c - M` (±1 for a binary layer).
    pub fn weight(&self, j: usize, i: usize) -> i32 {
        2 * self.code(j, i) as i32 - self.code_max() as i32
    }

    /// All codes, row-major.
    pub fn codes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.inputs * self.outputs);
        for j in 0..self.outputs {
            out.extend((0..self.inputs).map(|i| self.code(j, i) as u8));
        }
        out
    }

    /// Level of the chunk `lo..hi` of row j for input bits `x` in `readout`, with the
    /// digitally known sums of the chunk.
    pub fn chunk(
        &self,
        readout: Readout,
        x: &[u64],
        j: usize,
        lo: usize,
        hi: usize,
    ) -> (u32, ChunkSums) {
        let sums = ChunkSums {
            len: (hi - lo) as u32,
            code_max: self.code_max(),
            active: masked_count(lo, hi, |w| word(x, w)),
            code_sum: self.code_sum(j, lo, hi),
        };
        (self.chunk_level(readout, x, j, lo, hi), sums)
    }

    /// Level of the chunk `lo..hi` of row j: Σ_b 2^b level_b over the bit planes, level_b the
    /// plane's XNOR or AND popcount.
    #[inline]
    pub fn chunk_level(&self, readout: Readout, x: &[u64], j: usize, lo: usize, hi: usize) -> u32 {
        let mut level = 0u32;
        for b in 0..self.weight_bits {
            let p = self.plane(j, b);
            let lb = match readout {
                Readout::Xnor => masked_count(lo, hi, |w| !(word(x, w) ^ word(p, w))),
                Readout::And => masked_count(lo, hi, |w| word(x, w) & word(p, w)),
            };
            level += lb << b;
        }
        level
    }

    /// Σc of row j over inputs `lo..hi`.
    #[inline]
    pub fn code_sum(&self, j: usize, lo: usize, hi: usize) -> u32 {
        (0..self.weight_bits)
            .map(|b| {
                let p = self.plane(j, b);
                masked_count(lo, hi, |w| word(p, w)) << b
            })
            .sum()
    }
}

#[inline]
fn word(v: &[u64], w: usize) -> u64 {
    v.get(w).copied().unwrap_or(0)
}

/// Popcount of `f(word)` over bit positions lo..hi, `f` giving the word at each index.
#[inline]
fn masked_count(lo: usize, hi: usize, f: impl Fn(usize) -> u64) -> u32 {
    let mut count = 0;
    let mut i = lo;
    while i < hi {
        let w = i / 64;
        let start = i % 64;
        let end = (hi - w * 64).min(64);
        let width = end - start;
        let mask = if width == 64 {
            u64::MAX
        } else {
            ((1u64 << width) - 1) << start
        };
        count += (f(w) & mask).count_ones();
        i = w * 64 + end;
    }
    count
}

/// Popcount of XNOR(a, w) over bit positions lo..hi: the number of +1 products, i.e. the
/// binary chunk's XNOR level. Bits beyond the vectors count as 0 in both.
pub fn xnor_popcount(a: &[u64], w: &[u64], lo: usize, hi: usize) -> u32 {
    masked_count(lo, hi, |k| !(word(a, k) ^ word(w, k)))
}

/// Popcount of AND(a, w) over bit positions lo..hi: the binary chunk's single-ended level
/// #(x = 1 ∧ w = +1).
pub fn and_popcount(a: &[u64], w: &[u64], lo: usize, hi: usize) -> u32 {
    masked_count(lo, hi, |k| word(a, k) & word(w, k))
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
    /// Seed of the stratified split of the file into training and held-out digits.
    pub split_seed: u64,
    /// Fraction of each class held out (the validation split when the file is a training set).
    pub test_fraction: f64,
    /// Training images.
    pub n_train: usize,
    /// Held-out images.
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
    /// Bits per weight (1 = binary).
    #[serde(default = "one")]
    pub weight_bits: u32,
    /// Crossbar read-out in the forward pass of (fine-)tuning (matters with a neuron only).
    #[serde(default)]
    pub readout: Readout,
    /// Model this one was fine-tuned from, if any.
    pub init: Option<String>,
    /// Latent weight magnitude given to the init model's binary weights.
    #[serde(default)]
    pub init_latent: Option<f64>,
    /// Whether thresholds were refitted to the statistics under the tuning neuron.
    #[serde(default)]
    pub refit_thresholds: bool,
    /// Per layer, weights whose code differs from the init model's.
    #[serde(default)]
    pub weights_changed: Option<Vec<usize>>,
    /// Code bits that differ from the init model's, over all layers.
    #[serde(default)]
    pub bits_flipped: Option<usize>,
    /// Hidden thresholds that differ from the init model's.
    #[serde(default)]
    pub thresholds_changed: Option<usize>,
    /// Neuron spec in the forward pass of (fine-)tuning.
    pub neuron: String,
    /// Accuracy on the training images (ideal neuron, exported integer network).
    pub train_accuracy: f64,
    /// Accuracy on the held-out images (ideal neuron, exported integer network); `null` when
    /// nothing is held out.
    pub test_accuracy: Option<f64>,
    /// Mean accuracy on the held-out images under the tuning neuron (5 repeats, seed 0),
    /// when trained with a non-ideal neuron.
    #[serde(default)]
    pub neuron_test_accuracy: Option<f64>,
    /// Wall time of training, s.
    pub train_seconds: f64,
    /// Threads rayon used (results do not depend on it).
    pub threads: usize,
}

fn one() -> u32 {
    1
}

/// A network of ±1 spiking neurons with K-bit weights, run as an IF-SNN.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Input pixel bits: 1 = thresholded to ±1 (pixel >= 128 is +1) and the first layer is
    /// chunked like the others; 2..=8 = pixel >> (8 - bits), an unsigned level, and the
    /// first layer's MAC is computed digitally (exactly).
    pub input_bits: u32,
    /// Crossbar rows per chunk.
    pub array_size: usize,
    /// How every chunked column is read (a property of the hardware, not of the weights; the
    /// file records the mode the model was tuned for, `--readout` overrides it).
    pub readout: Readout,
    /// Layers, first to output; all with the same weight width.
    pub layers: Vec<Layer>,
    /// Provenance, when trained by neurospice.
    pub training: Option<TrainingInfo>,
}

#[derive(Serialize, Deserialize)]
struct LayerFile {
    inputs: usize,
    outputs: usize,
    /// Binary layers: per row, the sign bits as hex, bit i = +1 weight, byte b holds inputs
    /// 8b..8b+7 LSB-first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights: Option<Vec<String>>,
    /// K-bit layers: per row, one code per input, ceil(K/4) hex digits each, input 0 first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    codes: Option<Vec<String>>,
    thresholds: Option<Vec<i64>>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    #[serde(default = "one")]
    weight_bits: u32,
    #[serde(default)]
    readout: Readout,
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

fn code_digits(bits: u32) -> usize {
    bits.div_ceil(4) as usize
}

fn hex_codes(layer: &Layer, j: usize) -> String {
    let d = code_digits(layer.weight_bits);
    (0..layer.inputs)
        .map(|i| format!("{:0d$x}", layer.code(j, i)))
        .collect()
}

/// One image's layer input: sign bits (binary activations) or unsigned pixel levels.
#[derive(Debug, Clone, Copy)]
pub enum LayerInput<'a> {
    /// Bit i set when input i is +1.
    Bits(&'a [u64]),
    /// Unsigned levels of a multi-bit first layer.
    Levels(&'a [u32]),
}

impl Network {
    /// Bits per weight, K (1 for a binary network).
    pub fn weight_bits(&self) -> u32 {
        self.layers.first().map_or(1, Layer::weight_bits)
    }

    /// Full-scale level of a full chunk: `array_size · (2^K - 1)`; neuron models cover levels
    /// `0..=full_scale()`.
    pub fn full_scale(&self) -> usize {
        self.array_size * ((1usize << self.weight_bits()) - 1)
    }

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

    /// Index of the first physical neuron of layer `l` in [`Network::layout`] order.
    pub fn site_base(&self, l: usize) -> usize {
        (0..l)
            .filter(|&k| self.is_chunked(k))
            .map(|k| self.layers[k].outputs * self.layers[k].inputs.div_ceil(self.array_size))
            .sum()
    }

    /// Checks shapes: 784 inputs, consistent widths, 10 outputs, thresholds on hidden layers,
    /// one weight width in 1..=8.
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
        let k = self.weight_bits();
        if !(1..=MAX_WEIGHT_BITS).contains(&k) {
            return Err(Error::data(format!(
                "weight_bits {k} is not in 1..={MAX_WEIGHT_BITS}"
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
            if layer.weight_bits != k {
                return Err(Error::data(format!(
                    "layer {l} has {}-bit weights, layer 0 {k}-bit",
                    layer.weight_bits
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
        let text = crate::io::input::read_text(path)?;
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
        let k = f.weight_bits;
        if !(1..=MAX_WEIGHT_BITS).contains(&k) {
            return Err(Error::format(
                path,
                "weight_bits",
                format!("{k} is not in 1..={MAX_WEIGHT_BITS}"),
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
            if lf.outputs == 0 || lf.outputs > 1 << 16 {
                return Err(Error::format(
                    path,
                    format!("layer {l}"),
                    format!("{} outputs, expected 1..=65536", lf.outputs),
                ));
            }
            fan_in = lf.outputs;
            let codes = match (k, lf.weights, lf.codes) {
                (1, Some(rows), None) => sign_codes(path, l, &rows, lf.inputs, lf.outputs)?,
                (k, None, Some(rows)) if k > 1 => {
                    hex_codes_parse(path, l, &rows, lf.inputs, lf.outputs, k)?
                }
                _ => {
                    return Err(Error::format(
                        path,
                        format!("layer {l}"),
                        format!(
                            "weight_bits {k} needs {}",
                            if k == 1 {
                                "`weights` (hex sign bits) and no `codes`"
                            } else {
                                "`codes` (hex codes) and no `weights`"
                            }
                        ),
                    ));
                }
            };
            layers.push(Layer::from_codes(
                lf.inputs,
                lf.outputs,
                k,
                &codes,
                lf.thresholds,
            ));
        }
        let net = Network {
            input_bits: f.input_bits,
            array_size: f.array_size,
            readout: f.readout,
            layers,
            training: f.training,
        };
        net.validate()
            .map_err(|m| Error::format(path, "layers", m.msg))?;
        Ok(net)
    }

    /// Writes the model JSON atomically (temp file in the same directory, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let k = self.weight_bits();
        let f = ModelFile {
            format: FORMAT.into(),
            weight_bits: k,
            readout: self.readout,
            input_bits: self.input_bits,
            array_size: self.array_size,
            layers: self
                .layers
                .iter()
                .map(|l| {
                    let rows = |f: fn(&Layer, usize) -> String| {
                        Some((0..l.outputs).map(|j| f(l, j)).collect())
                    };
                    LayerFile {
                        inputs: l.inputs,
                        outputs: l.outputs,
                        weights: if k == 1 { rows(hex_row) } else { None },
                        codes: if k > 1 { rows(hex_codes) } else { None },
                        thresholds: l.thresholds.clone(),
                    }
                })
                .collect(),
            training: self.training.clone(),
        };
        let text = serde_json::to_string_pretty(&f)
            .map_err(|e| Error::output(format!("cannot serialise the model: {e}")))?;
        crate::io::atomic::write_bytes(path, text.as_bytes())
    }

    /// Input vector of the first layer: sign bits (input_bits = 1) or unsigned levels.
    pub fn encode_input(&self, img: &[u8], bits: &mut Vec<u64>, levels: &mut Vec<u32>) {
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

    /// The MACs of layer `l` for one input, chunk by chunk through `model` when the layer is
    /// chunked (level read in `self.readout`, clamped to the chunk's full scale, MAC
    /// corrected digitally), exactly otherwise. `on_level(site, level)` sees every chunk's
    /// true level, `site` counted from [`Network::site_base`]`(l)`.
    #[allow(clippy::too_many_arguments)]
    pub fn layer_macs<M: NeuronModel>(
        &self,
        l: usize,
        input: LayerInput<'_>,
        model: &M,
        devices: &M::Devices,
        rng: &mut ChaCha8Rng,
        on_level: &mut impl FnMut(usize, u32),
        out: &mut Vec<i64>,
    ) {
        let layer = &self.layers[l];
        out.clear();
        match input {
            LayerInput::Bits(x) if self.is_chunked(l) => {
                let a = self.array_size;
                let chunks = layer.inputs.div_ceil(a);
                let base = self.site_base(l);
                let m = layer.code_max();
                // Active inputs per chunk, shared by every column.
                let active: Vec<u32> = (0..chunks)
                    .map(|c| masked_count(c * a, (c * a + a).min(layer.inputs), |w| word(x, w)))
                    .collect();
                for j in 0..layer.outputs {
                    let mut mac = 0i64;
                    for (c, &act) in active.iter().enumerate() {
                        let lo = c * a;
                        let hi = (lo + a).min(layer.inputs);
                        let level = layer.chunk_level(self.readout, x, j, lo, hi);
                        let site = base + j * chunks + c;
                        on_level(site, level);
                        let len = (hi - lo) as u32;
                        let full = len * m;
                        let got = model.read(devices, site, level, full, rng).min(full);
                        let code_sum = match self.readout {
                            Readout::Xnor => 0, // not needed: MAC = 2q - L·M
                            Readout::And => layer.code_sum(j, lo, hi),
                        };
                        let sums = ChunkSums {
                            len,
                            code_max: m,
                            active: act,
                            code_sum,
                        };
                        mac += sums.mac(self.readout, got);
                    }
                    out.push(mac);
                }
            }
            LayerInput::Bits(x) => {
                // An unchunked layer with binary inputs does not occur (only a multi-bit first
                // layer is digital); computed exactly for completeness.
                for j in 0..layer.outputs {
                    let (q, sums) = layer.chunk(Readout::Xnor, x, j, 0, layer.inputs);
                    out.push(sums.mac(Readout::Xnor, q));
                }
            }
            LayerInput::Levels(v) => {
                // Σ v_i (2c_i - M) = 2 Σ_b 2^b Σ_{bit b of c_i} v_i - M Σ v_i.
                let total: i64 = v.iter().map(|&x| i64::from(x)).sum();
                let m = i64::from(layer.code_max());
                for j in 0..layer.outputs {
                    let mut s = 0i64;
                    for b in 0..layer.weight_bits {
                        let mut sb = 0i64;
                        for (wi, &w) in layer.plane(j, b).iter().enumerate() {
                            let mut bitsleft = w;
                            while bitsleft != 0 {
                                let t = bitsleft.trailing_zeros() as usize;
                                sb += i64::from(v[wi * 64 + t]);
                                bitsleft &= bitsleft - 1;
                            }
                        }
                        s += sb << b;
                    }
                    out.push(2 * s - m * total);
                }
            }
        }
    }

    /// Runs one image through every layer and returns all MACs, layer by layer (the output
    /// layer's are the class scores). `on_level(chunked_layer, site, level)` sees every
    /// chunk's true level, `site` counted within that layer.
    pub fn forward<M: NeuronModel>(
        &self,
        img: &[u8],
        model: &M,
        devices: &M::Devices,
        rng: &mut ChaCha8Rng,
        on_level: &mut impl FnMut(usize, usize, u32),
    ) -> Vec<Vec<i64>> {
        let mut x_bits = Vec::new();
        let mut x_levels = Vec::new();
        self.encode_input(img, &mut x_bits, &mut x_levels);
        let mut all = Vec::with_capacity(self.layers.len());
        let mut chunked_index = 0usize;
        for (l, layer) in self.layers.iter().enumerate() {
            let mut macs = Vec::with_capacity(layer.outputs);
            let input = if l == 0 && self.input_bits > 1 {
                LayerInput::Levels(&x_levels)
            } else {
                LayerInput::Bits(&x_bits)
            };
            let base = self.site_base(l);
            let ci = chunked_index;
            self.layer_macs(
                l,
                input,
                model,
                devices,
                rng,
                &mut |site, level| on_level(ci, site - base, level),
                &mut macs,
            );
            if self.is_chunked(l) {
                chunked_index += 1;
            }
            if let Some(t) = &layer.thresholds {
                x_bits = fire(&macs, t);
            }
            all.push(macs);
        }
        all
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
        let macs = self.forward(img, model, devices, rng, &mut |layer, _, level| {
            if let Some(h) = hist.as_deref_mut() {
                h[layer][level as usize] += 1;
            }
        });
        argmax(macs.last().map_or(&[][..], |v| &v[..]))
    }
}

/// Spikes of a hidden layer: bit j set iff MAC_j >= T_j.
pub fn fire(macs: &[i64], thresholds: &[i64]) -> Vec<u64> {
    let mut bits = vec![0u64; macs.len().div_ceil(64)];
    for (j, (&m, &th)) in macs.iter().zip(thresholds).enumerate() {
        if m >= th {
            bits[j / 64] |= 1 << (j % 64);
        }
    }
    bits
}

/// Index of the largest score, ties to the lowest index (0 for no score).
pub fn argmax(scores: &[i64]) -> usize {
    let mut best = 0;
    for (k, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = k;
        }
    }
    best
}

fn sign_codes(
    path: &Path,
    l: usize,
    rows: &[String],
    inputs: usize,
    outputs: usize,
) -> Result<Vec<u8>> {
    if rows.len() != outputs {
        return Err(Error::format(
            path,
            format!("layer {l}"),
            format!("{} weight rows, expected {outputs}", rows.len()),
        ));
    }
    let nbytes = inputs.div_ceil(8);
    let mut codes = Vec::with_capacity(inputs * outputs);
    for (j, hex) in rows.iter().enumerate() {
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
        codes.extend((0..inputs).map(|i| bytes[i / 8] >> (i % 8) & 1));
    }
    Ok(codes)
}

fn hex_codes_parse(
    path: &Path,
    l: usize,
    rows: &[String],
    inputs: usize,
    outputs: usize,
    k: u32,
) -> Result<Vec<u8>> {
    if rows.len() != outputs {
        return Err(Error::format(
            path,
            format!("layer {l}"),
            format!("{} code rows, expected {outputs}", rows.len()),
        ));
    }
    let d = code_digits(k);
    let max = (1u32 << k) - 1;
    let mut codes = Vec::with_capacity(inputs * outputs);
    for (j, hex) in rows.iter().enumerate() {
        if hex.len() != d * inputs {
            return Err(Error::format(
                path,
                format!("layer {l} row {j}"),
                format!(
                    "expected {} hex digits ({d} per {k}-bit code), found {}",
                    d * inputs,
                    hex.len()
                ),
            ));
        }
        for i in 0..inputs {
            let c = hex
                .get(d * i..d * (i + 1))
                .and_then(|s| u32::from_str_radix(s, 16).ok());
            match c {
                Some(c) if c <= max => codes.push(c as u8),
                _ => {
                    return Err(Error::format(
                        path,
                        format!("layer {l} row {j} input {i}"),
                        format!(
                            "expected a {k}-bit code 0..={max} as {d} hex digits, found {:?}",
                            hex.get(d * i..d * (i + 1)).unwrap_or("")
                        ),
                    ));
                }
            }
        }
    }
    Ok(codes)
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
    /// Lower end of the Wilson score 95% interval of the accuracy as a binomial proportion
    /// over the `n` images (the sampling error of the finite test set).
    pub binomial_lo: f64,
    /// Upper end of that interval.
    pub binomial_hi: f64,
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
    model.check(net.full_scale())?;
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
    let (binomial_lo, binomial_hi) = crate::stats::wilson95_p(mean, n);
    EvalResult {
        binomial_lo,
        binomial_hi,
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
    /// The read-out whose level was counted.
    pub readout: Readout,
    /// `counts[m]`: how many chunk reads had level m, m in `0..=full_scale`
    /// (partial chunks included).
    pub counts: Vec<u64>,
}

/// Counts the true level of every chunk of every chunked layer over `data`, in the network's
/// read-out mode, for CapMin. Uses the ideal neuron, so activations are the ones the trained
/// network intends.
pub fn level_histograms(net: &Network, data: &Dataset) -> Vec<LevelHistogram> {
    let layout = net.layout();
    let nl = layout.layers.len();
    let levels = net.full_scale() + 1;
    let empty = || vec![vec![0u64; levels]; nl];
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
            array_size: net.array_size,
            readout: net.readout,
            counts,
        })
        .collect()
}

/// Level histogram of every physical column (one chunk of one neuron) of one chunked layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnHistogram {
    /// Network layer index.
    pub layer: usize,
    /// The read-out whose level was counted.
    pub readout: Readout,
    /// Neurons of the layer.
    pub outputs: usize,
    /// Chunks per neuron; column `j * chunks + c` is chunk c of neuron j.
    pub chunks: usize,
    /// Levels per column, `full_scale + 1`.
    pub levels: usize,
    /// Highest level each column can produce: L·M (xnor) or its code sum Σc (and), e.g. the
    /// number of +1 cells of a binary column.
    pub max_level: Vec<u32>,
    /// `counts[column * levels + m]`: reads of level m by that column.
    pub counts: Vec<u64>,
}

impl ColumnHistogram {
    /// Counts of one column, levels `0..levels`.
    pub fn column(&self, column: usize) -> &[u64] {
        &self.counts[column * self.levels..(column + 1) * self.levels]
    }
}

/// Largest number of (column, level) counters [`column_histograms`] allocates.
pub const COLUMN_HISTOGRAM_BUDGET: usize = 1 << 26;

/// Per-column level histograms of every chunked layer over `data` (ideal neuron, the
/// network's read-out), for CapMin designs that size each column (or group of columns) for
/// the levels it actually produces. Refuses networks whose counters would exceed
/// [`COLUMN_HISTOGRAM_BUDGET`].
pub fn column_histograms(net: &Network, data: &Dataset) -> Result<Vec<ColumnHistogram>> {
    let layout = net.layout();
    let levels = net.full_scale() + 1;
    let sites = layout.len();
    if sites.saturating_mul(levels) > COLUMN_HISTOGRAM_BUDGET {
        return Err(Error::usage(format!(
            "per-column histograms need {sites} columns x {levels} levels, more than {} \
             counters",
            COLUMN_HISTOGRAM_BUDGET
        )));
    }
    let bases: Vec<usize> = layout
        .layers
        .iter()
        .map(|&(l, _, _)| net.site_base(l))
        .collect();
    let empty = || vec![0u64; sites * levels];
    let counts = (0..data.len())
        .into_par_iter()
        .fold(empty, |mut h, i| {
            // the ideal neuron draws nothing; any stream serves
            let mut rng = stream(0, 0, 0);
            net.forward(
                data.image(i),
                &super::neuron::Ideal,
                &(),
                &mut rng,
                &mut |layer, site, level| {
                    h[(bases[layer] + site) * levels + level as usize] += 1;
                },
            );
            h
        })
        .reduce(empty, |mut x, y| {
            for (p, q) in x.iter_mut().zip(y) {
                *p += q;
            }
            x
        });
    Ok(layout
        .layers
        .iter()
        .zip(&bases)
        .map(|(&(l, outputs, chunks), &base)| {
            let layer = &net.layers[l];
            let a = net.array_size;
            let max_level = (0..outputs * chunks)
                .map(|s| {
                    let (j, c) = (s / chunks, s % chunks);
                    let (lo, hi) = (c * a, (c * a + a).min(layer.inputs));
                    let sums = ChunkSums {
                        len: (hi - lo) as u32,
                        code_max: layer.code_max(),
                        active: 0,
                        code_sum: layer.code_sum(j, lo, hi),
                    };
                    sums.max_level(net.readout)
                })
                .collect();
            ColumnHistogram {
                layer: l,
                readout: net.readout,
                outputs,
                chunks,
                levels,
                max_level,
                counts: counts[base * levels..(base + outputs * chunks) * levels].to_vec(),
            }
        })
        .collect())
}
