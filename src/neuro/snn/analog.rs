//! The C-2C accelerator's analog column (issue 18): K-bit C-2C ladder synapses whose realised
//! weights come from a circuit Monte Carlo (`c2c:FILE`), integrated by an op-amp integrator
//! neuron whose level-to-membrane transfer comes from `chara` (`opamp:FILE`).
//!
//! The column (docs/c2c.md). A weight is the offset code c in 0..=M (M = 2^K - 1, weight
//! w = 2c - M, as in [`super::model`]); the code sets the ladder's bit switches, an input
//! spike (x = 1) drives the ladder's input with v_in, a silent input (x = 0) leaves it at 0.
//! Every ladder of one chunk of one output neuron delivers its charge into one op-amp
//! integrator, so the integrated charge is p = Σ x_i·r_i in units of one ideal code step,
//! r_i the realised weight of ladder i (ideal: r_i = c_i) — the `And` read-out of
//! [`super::model::Readout`]. The membrane voltage is digitised against the design's ideal
//! line (v = v0 + p·dv) and rounded to the nearest level p' in 0..=L·M (an ideal ADC at the
//! level resolution, so that the ideal column reproduces the integer network exactly), and
//! the chunk's MAC follows digitally from the known active count and nominal code sum:
//! MAC = 4p' + L·M - 2M·Σx - 2Σc.
//!
//! Randomness: the realised weight of every physical ladder (layer, neuron, input) is drawn
//! once per repeat, r = mean[c] + std[c]·z, and so is every integrator's z (its offset spread
//! moves the membrane by sigma(p)·z); nothing is re-drawn per image. Draws come from the
//! network's device stream (seed, repeat), ladders layer by layer in row-major order, then
//! the integrators in [`Network::layout`] order, so results never depend on the thread count.

use std::path::{Path, PathBuf};

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Deserialize;

use super::data::Dataset;
use super::model::{EvalResult, LayerInput, Network, argmax, fire, stream, summarise};
use super::neuron::Ideal;
use crate::error::{Error, Result};

/// Realised-weight distribution of a K-bit C-2C ladder per code, from `neurospice mc` on the
/// bench of `neurospice gen c2c-bench` (its summary.json: measures `w0..w<M>`, each in units
/// of one ideal code step).
#[derive(Debug, Clone, PartialEq)]
pub struct C2cSynapse {
    /// Weight bits K.
    pub bits: u32,
    /// Mean realised weight per code (mean - code = INL, in code steps).
    pub mean: Vec<f64>,
    /// Standard deviation of the realised weight per code, code steps.
    pub std: Vec<f64>,
    /// Where it came from.
    pub source: PathBuf,
}

#[derive(Deserialize)]
struct SummaryMeasure {
    mean: Option<f64>,
    std: Option<f64>,
    n: Option<u64>,
}

#[derive(Deserialize)]
struct Summary {
    measures: std::collections::BTreeMap<String, SummaryMeasure>,
}

impl C2cSynapse {
    /// The ideal ladder: every code realised exactly.
    pub fn ideal(bits: u32) -> C2cSynapse {
        let n = 1usize << bits;
        C2cSynapse {
            bits,
            mean: (0..n).map(|c| c as f64).collect(),
            std: vec![0.0; n],
            source: PathBuf::from("ideal"),
        }
    }

    /// Reads a Monte Carlo summary (`neurospice mc --summary`) of a `gen c2c-bench` netlist.
    pub fn from_file(path: &Path) -> Result<C2cSynapse> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let s: Summary = serde_json::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!(
                    "expected the summary.json of `neurospice mc` on a `gen c2c-bench` netlist \
                     ({{\"measures\": {{\"w0\": {{\"mean\", \"std\"}}, ...}}}}): {e}"
                ),
            )
        })?;
        let codes = s
            .measures
            .keys()
            .filter(|k| {
                k.strip_prefix('w')
                    .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            })
            .count();
        let bits = codes.trailing_zeros();
        if codes < 2 || !codes.is_power_of_two() || bits > super::model::MAX_WEIGHT_BITS {
            return Err(Error::format(
                path,
                "measures",
                format!(
                    "found {codes} measures w<code>; a K-bit ladder bench has 2^K of them, \
                     w0..w<2^K-1>, K in 1..=8"
                ),
            ));
        }
        let mut mean = Vec::with_capacity(codes);
        let mut std = Vec::with_capacity(codes);
        for c in 0..codes {
            let key = format!("w{c}");
            let m = s.measures.get(&key).ok_or_else(|| {
                Error::format(
                    path,
                    "measures",
                    format!("no measure `{key}` (codes must be 0..{})", codes - 1),
                )
            })?;
            match (m.mean, m.std, m.n) {
                (Some(mu), Some(sd), _) if mu.is_finite() && sd.is_finite() && sd >= 0.0 => {
                    mean.push(mu);
                    // the std of identical runs (no mismatch) is rounding noise, not spread
                    std.push(if sd <= 1e-12 * mu.abs().max(1.0) {
                        0.0
                    } else {
                        sd
                    });
                }
                (Some(mu), None, Some(1)) if mu.is_finite() => {
                    mean.push(mu);
                    std.push(0.0);
                }
                _ => {
                    return Err(Error::format(
                        path,
                        format!("measure {key}"),
                        "needs a finite mean and std (did every Monte Carlo run fail?)",
                    ));
                }
            }
        }
        Ok(C2cSynapse {
            bits,
            mean,
            std,
            source: path.to_path_buf(),
        })
    }

    /// Integral nonlinearity: the largest |mean - code|, in code steps.
    pub fn inl(&self) -> f64 {
        self.mean
            .iter()
            .enumerate()
            .map(|(c, m)| (m - c as f64).abs())
            .fold(0.0, f64::max)
    }

    /// Whether any code varies from device to device.
    pub fn stochastic(&self) -> bool {
        self.std.iter().any(|&s| s > 0.0)
    }
}

/// The op-amp integrator neuron characterised by `chara` on a `gen opamp-neuron` bench:
/// membrane voltage per column level (linear between characterised levels), its
/// device-to-device sigma, and the design read-out line v = v0 + p·dv.
#[derive(Debug, Clone, PartialEq)]
pub struct OpampNeuron {
    /// Characterised levels, increasing, the first 0.
    pub levels: Vec<f64>,
    /// Nominal membrane voltage per level, V.
    pub membrane_v: Vec<f64>,
    /// Device-to-device sigma of the membrane per level, V (one z per physical neuron).
    pub sigma_v: Vec<f64>,
    /// Read-out line: membrane at level 0, V.
    pub v0: f64,
    /// Read-out line: volts per level (negative for the inverting integrator).
    pub dv: f64,
    /// Name for messages.
    pub name: String,
}

#[derive(Deserialize)]
struct CharaFile {
    neuron: Option<String>,
    levels: Vec<f64>,
    membrane_v: Vec<f64>,
    membrane_sigma_v: Option<Vec<f64>>,
    readout_v0_v: Option<f64>,
    readout_v_per_level: Option<f64>,
}

impl OpampNeuron {
    /// The ideal integrator: the read-out line itself, no spread.
    pub fn ideal(full_scale: usize) -> OpampNeuron {
        OpampNeuron {
            levels: vec![0.0, full_scale as f64],
            membrane_v: vec![0.0, full_scale as f64],
            sigma_v: vec![0.0, 0.0],
            v0: 0.0,
            dv: 1.0,
            name: "ideal integrator".into(),
        }
    }

    /// Reads the JSON `neurospice chara --readout-line V0,DV [--membrane-sigma V]` writes.
    pub fn from_file(path: &Path) -> Result<OpampNeuron> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let f: CharaFile = serde_json::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("expected a `neurospice chara` JSON (levels, membrane_v, ...): {e}"),
            )
        })?;
        let (Some(v0), Some(dv)) = (f.readout_v0_v, f.readout_v_per_level) else {
            return Err(Error::format(
                path,
                "readout_v0_v / readout_v_per_level",
                "missing: characterise with `chara --readout-line V0,DV` (the design's ideal \
                 line, printed by `gen opamp-neuron`)",
            ));
        };
        let n = f.levels.len();
        let sigma_v = f.membrane_sigma_v.unwrap_or_else(|| vec![0.0; n]);
        if n < 2 || f.membrane_v.len() != n || sigma_v.len() != n {
            return Err(Error::format(
                path,
                "levels",
                format!(
                    "need >= 2 levels and as many membrane_v (got {} levels, {} membrane_v, {} \
                     membrane_sigma_v)",
                    n,
                    f.membrane_v.len(),
                    sigma_v.len()
                ),
            ));
        }
        if f.levels[0] != 0.0 || f.levels.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::format(
                path,
                "levels",
                "must start at 0 and increase",
            ));
        }
        if !(dv != 0.0 && dv.is_finite() && v0.is_finite())
            || f.membrane_v.iter().chain(&sigma_v).any(|v| !v.is_finite())
            || sigma_v.iter().any(|&s| s < 0.0)
        {
            return Err(Error::format(
                path,
                "membrane_v",
                "read-out line, membrane voltages and sigmas must be finite (dv != 0, sigma >= 0)",
            ));
        }
        Ok(OpampNeuron {
            levels: f.levels,
            membrane_v: f.membrane_v,
            sigma_v,
            v0,
            dv,
            name: f.neuron.unwrap_or_else(|| path.display().to_string()),
        })
    }

    /// Whether any level varies from device to device.
    pub fn stochastic(&self) -> bool {
        self.sigma_v.iter().any(|&s| s > 0.0)
    }

    /// Highest characterised level.
    pub fn max_level(&self) -> f64 {
        self.levels.last().copied().unwrap_or(0.0)
    }

    /// Linear interpolation of `y` over the levels at p (clamped to the characterised range).
    fn interp(&self, y: &[f64], p: f64) -> f64 {
        let l = &self.levels;
        if p <= l[0] {
            return y[0];
        }
        let k = l.partition_point(|&x| x <= p);
        if k >= l.len() {
            return y[l.len() - 1];
        }
        let (x0, x1) = (l[k - 1], l[k]);
        y[k - 1] + (y[k] - y[k - 1]) * (p - x0) / (x1 - x0)
    }

    /// The level read from a column that integrated p, for a neuron whose draw is z.
    pub fn read(&self, p: f64, z: f64, max: u32) -> u32 {
        let v = self.interp(&self.membrane_v, p) + z * self.interp(&self.sigma_v, p);
        round_level((v - self.v0) / self.dv, max)
    }
}

fn round_level(x: f64, max: u32) -> u32 {
    if x.is_nan() || x <= 0.0 {
        0
    } else {
        (x.round() as u64).min(u64::from(max)) as u32
    }
}

/// One repeat's devices: realised weights per chunked layer and one z per integrator.
struct Devices {
    /// Input-major (inputs × outputs: `[i * outputs + j]`), so that an active input adds one
    /// contiguous row to every output's integrator; each weight rounded to f32 as drawn.
    weights: Vec<Vec<f64>>,
    neuron_z: Vec<f64>,
    /// Nominal code sum Σc per (neuron, chunk) of every chunked layer (digital correction).
    code_sums: Vec<Vec<i64>>,
}

/// The analog column: ladder synapses and integrator neuron (either ideal).
#[derive(Debug, Clone)]
pub struct Column {
    /// Ladder statistics per code.
    pub synapse: C2cSynapse,
    /// Integrator; `None` = ideal (the integrated level rounded).
    pub neuron: Option<OpampNeuron>,
}

impl Column {
    /// Checks the column against the network: same K, neuron characterised over every level.
    pub fn check(&self, net: &Network) -> Result<()> {
        if self.synapse.bits != net.weight_bits() {
            return Err(Error::usage(format!(
                "synapse file {} describes {}-bit ladders, the model has {}-bit weights",
                self.synapse.source.display(),
                self.synapse.bits,
                net.weight_bits()
            )));
        }
        if let Some(n) = &self.neuron
            && n.max_level() < net.full_scale() as f64
        {
            return Err(Error::usage(format!(
                "neuron {} is characterised up to level {}, the network's columns reach {} \
                 (array_size {} x (2^{} - 1))",
                n.name,
                n.max_level(),
                net.full_scale(),
                net.array_size,
                net.weight_bits()
            )));
        }
        Ok(())
    }

    fn stochastic(&self) -> bool {
        self.synapse.stochastic() || self.neuron.as_ref().is_some_and(OpampNeuron::stochastic)
    }

    fn sample(&self, net: &Network, rng: &mut ChaCha8Rng) -> Devices {
        let syn_random = self.synapse.stochastic();
        let weights = net
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                if !net.is_chunked(l) {
                    return Vec::new();
                }
                // drawn in row-major (output, input) order, stored input-major
                let n_out = layer.outputs;
                let mut w = vec![0.0f64; layer.inputs * n_out];
                for j in 0..n_out {
                    for i in 0..layer.inputs {
                        let c = layer.code(j, i) as usize;
                        let mut r = self.synapse.mean[c];
                        if syn_random {
                            let z: f64 = StandardNormal.sample(rng);
                            r += self.synapse.std[c] * z;
                        }
                        w[i * n_out + j] = f64::from(r as f32);
                    }
                }
                w
            })
            .collect();
        let neuron_z = match &self.neuron {
            Some(n) if n.stochastic() => (0..net.layout().len())
                .map(|_| StandardNormal.sample(rng))
                .collect(),
            _ => Vec::new(),
        };
        let a = net.array_size;
        let code_sums = net
            .layers
            .iter()
            .map(|layer| {
                let chunks = layer.inputs.div_ceil(a);
                (0..layer.outputs * chunks)
                    .map(|k| {
                        let (j, c) = (k / chunks, k % chunks);
                        i64::from(layer.code_sum(j, c * a, (c * a + a).min(layer.inputs)))
                    })
                    .collect()
            })
            .collect();
        Devices {
            weights,
            neuron_z,
            code_sums,
        }
    }

    /// Reads one column that integrated `p` at integrator `site`, chunk full scale `max`.
    fn read(&self, d: &Devices, site: usize, p: f64, max: u32) -> u32 {
        match &self.neuron {
            None => round_level(p, max),
            Some(n) => n.read(p, d.neuron_z.get(site).copied().unwrap_or(0.0), max),
        }
    }

    /// Class scores of one image with one repeat's devices.
    fn scores(&self, net: &Network, d: &Devices, img: &[u8]) -> Vec<i64> {
        let mut x_bits = Vec::new();
        let mut x_levels = Vec::new();
        net.encode_input(img, &mut x_bits, &mut x_levels);
        let mut macs = Vec::new();
        let mut rng = stream(0, 0, 0); // unused by the ideal neuron of a digital layer
        let a = net.array_size;
        for (l, layer) in net.layers.iter().enumerate() {
            macs.clear();
            if !net.is_chunked(l) {
                net.layer_macs(
                    l,
                    LayerInput::Levels(&x_levels),
                    &Ideal,
                    &(),
                    &mut rng,
                    &mut |_, _| {},
                    &mut macs,
                );
            } else {
                let m = i64::from(layer.code_max());
                let chunks = layer.inputs.div_ceil(a);
                let base = net.site_base(l);
                let n_out = layer.outputs;
                let w = &d.weights[l];
                macs.resize(n_out, 0);
                // the charge of every output's integrator for this chunk, summed over the
                // chunk's active inputs in ascending order (as one column integrates them)
                let mut p = vec![0.0f64; n_out];
                for c in 0..chunks {
                    let lo = c * a;
                    let hi = (lo + a).min(layer.inputs);
                    let len = (hi - lo) as i64;
                    p.fill(0.0);
                    let mut n_active = 0i64;
                    for i in (lo..hi).filter(|&i| x_bits[i / 64] >> (i % 64) & 1 == 1) {
                        n_active += 1;
                        let row = &w[i * n_out..(i + 1) * n_out];
                        for (acc, &r) in p.iter_mut().zip(row) {
                            *acc += r;
                        }
                    }
                    let max = (len * m) as u32;
                    for (j, mac) in macs.iter_mut().enumerate() {
                        let got = i64::from(self.read(d, base + j * chunks + c, p[j], max));
                        let code_sum = d.code_sums[l][j * chunks + c];
                        *mac += 4 * got + len * m - 2 * m * n_active - 2 * code_sum;
                    }
                }
            }
            if let Some(t) = &layer.thresholds {
                x_bits = fire(&macs, t);
            }
        }
        macs
    }

    /// Predicted class of every image, for each repeat (devices drawn per repeat from the
    /// network's device stream of `seed`).
    pub fn predictions(
        &self,
        net: &Network,
        data: &Dataset,
        repeats: usize,
        seed: u64,
    ) -> Result<Vec<Vec<usize>>> {
        self.check(net)?;
        let runs = if self.stochastic() { repeats.max(1) } else { 1 };
        Ok((0..runs)
            .map(|r| {
                let mut drng = stream(seed, r as u64, u64::MAX);
                let d = self.sample(net, &mut drng);
                (0..data.len())
                    .into_par_iter()
                    .map(|i| argmax(&self.scores(net, &d, data.image(i))))
                    .collect()
            })
            .collect())
    }

    /// Accuracy over `repeats` device samples (a deterministic column is evaluated once).
    pub fn evaluate(
        &self,
        net: &Network,
        data: &Dataset,
        repeats: usize,
        seed: u64,
    ) -> Result<EvalResult> {
        if data.is_empty() {
            return Err(Error::usage("no images to evaluate"));
        }
        let preds = self.predictions(net, data, repeats, seed)?;
        let mut per_repeat: Vec<f64> = preds
            .iter()
            .map(|p| {
                let ok = p
                    .iter()
                    .zip(&data.labels)
                    .filter(|(p, l)| **p == usize::from(**l))
                    .count();
                ok as f64 / data.len() as f64
            })
            .collect();
        while per_repeat.len() < repeats.max(1) {
            per_repeat.push(per_repeat[0]);
        }
        Ok(summarise(per_repeat, data.len()))
    }
}
