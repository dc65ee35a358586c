//! CapMin designs a clocked read-out can build, and their selection on validation digits.
//!
//! A design is the membrane capacitor `c` (in units of T_clk·I_u/V_th), the clock cycle every
//! level spikes in (`floor(c/m)`, [`Clocked::cycle`]) and the level each cycle reports (the
//! decoder). Levels that share a cycle cannot be told apart; the decoder reports, per cycle,
//! the frequency-weighted median of its levels on the training split (the level that
//! minimises the expected absolute level error, hence MAC error, there).
//!
//! The search scans capacitors on a fine grid, keeps those whose every nominal spike time
//! (levels 1..=full scale) lies at least `guard` clock periods from a clock edge (so rounding
//! never decides how a level reads), reduces them to the designs that lower the expected
//! level error on the training split as the capacitor grows (a Pareto front), and scores
//! them, smallest capacitor first, with the same decoder on the validation digits: the
//! held-out split of the training file, never a test file. The first whose paired accuracy
//! loss against the ideal neuron is within the budget is chosen.

use rayon::prelude::*;
use serde_json::{Value, json};

use super::study::Setup;
use crate::error::{Error, Result};
use crate::neuro::snn::data::Dataset;
use crate::neuro::snn::model::{Network, stream};
use crate::neuro::snn::neuron::{Clocked, Ideal, NeuronModel};

/// Format tag of a design file.
pub const FORMAT: &str = "neurospice-capmin-design/1";

/// The all-levels capacitor of full scale `n` in units of T_clk·I_u/V_th: the closest pair
/// (n - 1, n) one clock period apart, `(n - 1)·n` (this project's baseline; the paper's is not
/// public).
pub fn baseline_units(full_scale: u32) -> f64 {
    let n = f64::from(full_scale);
    (n - 1.0).max(1.0) * n
}

/// Distance of level `m`'s nominal spike from the nearest clock edge, clock periods.
pub fn edge_distance(c: f64, m: u32) -> f64 {
    let t = c / f64::from(m);
    let f = t - t.floor();
    f.min(1.0 - f)
}

/// Whether every level 1..=full_scale spikes at least `guard` periods from a clock edge.
pub fn clears_edges(c: f64, full_scale: u32, guard: f64) -> bool {
    (1..=full_scale).all(|m| edge_distance(c, m) >= guard)
}

/// The design of capacitor `c`: cycles of levels 1..=full_scale, each cycle reporting the
/// frequency-weighted median of its levels (`freq[m]`: training-split count of level m; a
/// cycle of unseen levels reports its middle level). Level 0 never spikes: silent level 0.
pub fn design_at(c: f64, freq: &[u64], full_scale: u32) -> Clocked {
    let window = Clocked::cycle(c, 1.0).map_or(1, |k| k as usize + 1);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); window];
    for m in 1..=full_scale {
        if let Some(k) = Clocked::cycle(c, f64::from(m)) {
            members[k as usize].push(m);
        }
    }
    let mut decoder = vec![0u32; window];
    for (k, ms) in members.iter().enumerate() {
        if ms.is_empty() {
            continue;
        }
        // members of a cycle are consecutive levels, descending in time order
        let f = |m: u32| freq.get(m as usize).copied().unwrap_or(0);
        let total: u64 = ms.iter().map(|&m| f(m)).sum();
        decoder[k] = if total == 0 {
            ms[ms.len() / 2]
        } else {
            let mut sorted = ms.clone();
            sorted.sort_unstable();
            let mut acc = 0;
            let mut med = sorted[0];
            for &m in &sorted {
                acc += f(m);
                if 2 * acc >= total {
                    med = m;
                    break;
                }
            }
            med
        };
    }
    // fill empty cycles with the neighbour's level (never reached nominally)
    for k in 1..window {
        if members[k].is_empty() {
            decoder[k] = decoder[k - 1];
        }
    }
    Clocked {
        capacitance_units: c,
        full_scale,
        decoder,
        silent_level: 0,
        sigma: 0.0,
        device_sigma: Vec::new(),
        read_sigma: Vec::new(),
    }
}

/// A circuit's relative spike-time spread per level 0..=full scale (CapMin-V from the
/// circuit): `device[m]` carried by a physical neuron to every read (transistor mismatch),
/// `read[m]` drawn at every read (input cells, noise); both are sigma/t of a `chara
/// --mc-runs` curve. Applied to the clocked read-out as `t = (c/m)·(1 + device·z + read·w)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub device: Vec<f64>,
    pub read: Vec<f64>,
    /// The file it came from.
    pub source: String,
}

impl Spread {
    /// Reads the relative spread of a circuit curve (`chara --mc-runs` JSON) for chunks of
    /// full scale `full_scale`.
    pub fn from_curve_file(path: &std::path::Path, full_scale: u32) -> Result<Spread> {
        #[derive(serde::Deserialize)]
        struct Curve {
            spike_time_s: Vec<Option<f64>>,
            spike_time_sigma_s: Vec<f64>,
            #[serde(default)]
            spike_time_read_sigma_s: Vec<f64>,
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let c: Curve = serde_json::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("expected a circuit curve (neurospice chara --mc-runs): {e}"),
            )
        })?;
        let n = full_scale as usize + 1;
        if c.spike_time_s.len() != n
            || c.spike_time_sigma_s.len() != n
            || !(c.spike_time_read_sigma_s.is_empty() || c.spike_time_read_sigma_s.len() == n)
        {
            return Err(Error::format(
                path,
                "circuit curve",
                format!("needs {n} levels (0..={full_scale}) to match the network's chunks"),
            ));
        }
        let rel = |s: &[f64], m: usize| match (c.spike_time_s[m], s.get(m)) {
            (Some(t), Some(&x)) if t > 0.0 && x.is_finite() && x >= 0.0 => Ok((x / t).min(0.99)),
            (_, None) | (None, _) => Ok(0.0),
            _ => Err(Error::format(
                path,
                "circuit curve",
                format!("level {m}: spike time and sigmas must be finite and >= 0"),
            )),
        };
        let device = (0..n)
            .map(|m| rel(&c.spike_time_sigma_s, m))
            .collect::<Result<_>>()?;
        let read = (0..n)
            .map(|m| rel(&c.spike_time_read_sigma_s, m))
            .collect::<Result<_>>()?;
        Ok(Spread {
            device,
            read,
            source: path.display().to_string(),
        })
    }

    /// Total relative spread of level m.
    pub fn total(&self, m: usize) -> f64 {
        let d = self.device.get(m).copied().unwrap_or(0.0);
        let r = self.read.get(m).copied().unwrap_or(0.0);
        (d * d + r * r).sqrt()
    }

    /// `d` with this spread attached (its reads then spread as the circuit's do).
    pub fn attach(&self, mut d: Clocked) -> Clocked {
        d.device_sigma = self.device.clone();
        d.read_sigma = self.read.clone();
        d
    }
}

/// The CapMin-V design of capacitor `c` under a circuit spread: the window extends past level
/// 1's nominal cycle by five of its sigmas, and each cycle k reports the frequency-weighted
/// median of the levels that land in it, weighted by `freq[m]·P(cycle k | m)` with the
/// spike time normal around `c/m` with sigma `spread.total(m)·c/m`. The boundaries between
/// reported levels (the guard margins) thus sit where the levels' spike-time distributions
/// trade places, sized by each level's own spread; with no spread it is [`design_at`].
pub fn design_at_spread(c: f64, freq: &[u64], full_scale: u32, spread: &Spread) -> Clocked {
    use crate::stats::normal_cdf;
    let nominal = design_at(c, freq, full_scale);
    let s1 = spread.total(1);
    let window = ((c * (1.0 + 5.0 * s1)).floor() as usize + 1).max(nominal.decoder.len());
    let window = window.min(crate::neuro::snn::neuron::MAX_WINDOW_CYCLES);
    let total: u64 = freq.iter().sum();
    let mut decoder = vec![0u32; window];
    for (k, slot) in decoder.iter_mut().enumerate() {
        let mut w: Vec<(u32, f64)> = Vec::new();
        for m in 1..=full_scale {
            let mu = c / f64::from(m);
            let sd = spread.total(m as usize) * mu;
            let p = if sd <= 0.0 {
                f64::from(u8::from(mu.floor() as usize == k))
            } else {
                normal_cdf((k as f64 + 1.0 - mu) / sd) - normal_cdf((k as f64 - mu) / sd)
            };
            // unseen levels weigh a little, so every cycle a level reaches has a report
            let f = freq.get(m as usize).copied().unwrap_or(0) as f64 + 1e-9 * total as f64;
            if p > 0.0 {
                w.push((m, f * p));
            }
        }
        let sum: f64 = w.iter().map(|x| x.1).sum();
        *slot = if sum <= 0.0 {
            nominal.decode(Some(k as u64))
        } else {
            // w is in increasing level order
            let mut acc = 0.0;
            let mut med = w[0].0;
            for &(m, x) in &w {
                acc += x;
                if 2.0 * acc >= sum {
                    med = m;
                    break;
                }
            }
            med
        };
    }
    spread.attach(Clocked { decoder, ..nominal })
}

/// Expected absolute level error of a design's nominal map under level counts `freq`.
pub fn expected_error(d: &Clocked, freq: &[u64]) -> f64 {
    let total: u64 = freq.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let map = d.nominal_map();
    let e: u64 = freq
        .iter()
        .zip(&map)
        .enumerate()
        .map(|(m, (&f, &r))| f * u64::from(r.abs_diff(m as u32)))
        .sum();
    e as f64 / total as f64
}

/// Candidate designs by increasing capacitor: every `step` units from `lo` to `hi`, those
/// clearing the edges by `guard`, kept only when they lower the expected level error of all
/// smaller ones (the smallest capacitor of each such design).
pub fn candidates(
    freq: &[u64],
    full_scale: u32,
    lo: f64,
    hi: f64,
    step: f64,
    guard: f64,
) -> Vec<Clocked> {
    let mut out: Vec<Clocked> = Vec::new();
    let mut best = f64::INFINITY;
    let n = ((hi - lo) / step).ceil().max(0.0) as usize;
    for i in 0..=n {
        let c = lo + i as f64 * step;
        if !clears_edges(c, full_scale, guard) {
            continue;
        }
        let d = design_at(c, freq, full_scale);
        let e = expected_error(&d, freq);
        if e < best - 1e-12 {
            best = e;
            out.push(d);
        }
    }
    out
}

/// Per-image correctness of `net` on `data` under `model` (one repeat, seed 0).
pub fn correct<M: NeuronModel>(net: &Network, data: &Dataset, model: &M) -> Result<Vec<bool>> {
    model.check(net.full_scale())?;
    let mut drng = stream(0, 0, u64::MAX);
    let devices = model.sample_devices(&net.layout(), &mut drng);
    Ok((0..data.len())
        .into_par_iter()
        .map(|i| {
            let mut rng = stream(0, 0, i as u64);
            net.classify(data.image(i), model, &devices, &mut rng, None)
                == usize::from(data.labels[i])
        })
        .collect())
}

/// Paired accuracy loss of `design` against `ideal` (per-image correctness), overall and per
/// fold (image i in fold i mod k).
pub fn paired_loss(ideal: &[bool], design: &[bool], folds: usize) -> (f64, Vec<f64>) {
    let n = ideal.len().max(1);
    let diff = |i: usize| f64::from(u8::from(ideal[i])) - f64::from(u8::from(design[i]));
    let all = (0..ideal.len()).map(diff).sum::<f64>() / n as f64;
    let k = folds.max(1);
    let per = (0..k)
        .map(|f| {
            let idx: Vec<usize> = (f..ideal.len()).step_by(k).collect();
            idx.iter().map(|&i| diff(i)).sum::<f64>() / idx.len().max(1) as f64
        })
        .collect();
    (all, per)
}

/// Settings of the design search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// Allowed paired accuracy loss on the validation digits, fraction.
    pub max_loss: f64,
    /// Minimum distance of every nominal spike from a clock edge, clock periods.
    pub guard: f64,
    /// Capacitor grid step, units of T_clk·I_u/V_th.
    pub step: f64,
    /// Largest reduction searched (the grid starts at baseline / this).
    pub max_reduction: f64,
    /// Folds the validation loss is also reported on.
    pub folds: usize,
    /// The circuit's spike-time spread the candidates are scored under (None: nominal).
    pub spread: Option<Spread>,
    /// CapMin-V: decoders sized from the spread ([`design_at_spread`]); otherwise the
    /// nominal decoder (CapMin) scored under the spread.
    pub protect: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            max_loss: 0.01,
            guard: 0.05,
            step: 0.01,
            max_reduction: 40.0,
            folds: 5,
            spread: None,
            protect: false,
        }
    }
}

/// The chosen design and how it was chosen.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub design: Clocked,
    pub baseline_units: f64,
    pub reduction: f64,
    pub validation_n: usize,
    pub ideal_accuracy: f64,
    pub accuracy: f64,
    pub loss: f64,
    pub fold_losses: Vec<f64>,
    /// Whether the loss is within the budget (false: no candidate was; the best one is given).
    pub meets_loss: bool,
    /// Candidates scored before this one (and it).
    pub scored: usize,
}

/// Searches designs for the network of `s` (in its read-out) and chooses on `s.test`, the
/// held-out split of the training file. `on_candidate(c, reduction, loss)` sees every score.
pub fn search(
    s: &Setup,
    freq: &[u64],
    o: &SearchOptions,
    on_candidate: &mut dyn FnMut(f64, f64, f64),
) -> Result<Chosen> {
    if !(o.guard >= 0.0 && o.guard < 0.5 && o.step > 0.0 && o.max_reduction > 1.0) {
        return Err(Error::usage(format!(
            "design search: guard must be in [0, 0.5) periods, step > 0 and max reduction > 1 \
             (got {}, {}, {})",
            o.guard, o.step, o.max_reduction
        )));
    }
    let full = s.net.full_scale() as u32;
    let base = baseline_units(full);
    let ideal = correct(&s.net, &s.test, &Ideal)?;
    let ideal_acc = ideal.iter().filter(|&&b| b).count() as f64 / ideal.len().max(1) as f64;
    let cands = candidates(
        freq,
        full,
        base / o.max_reduction,
        base * 1.05,
        o.step,
        o.guard,
    );
    let mut best: Option<Chosen> = None;
    for (i, d) in cands.into_iter().enumerate() {
        let d = match (&o.spread, o.protect) {
            (Some(sp), true) => design_at_spread(d.capacitance_units, freq, full, sp),
            (Some(sp), false) => sp.attach(d),
            (None, _) => d,
        };
        let got = correct(&s.net, &s.test, &d)?;
        let chosen = Chosen::scored(base, &ideal, ideal_acc, &got, d, o, i + 1);
        on_candidate(
            chosen.design.capacitance_units,
            chosen.reduction,
            chosen.loss,
        );
        let loss = chosen.loss;
        if chosen.meets_loss {
            return Ok(chosen);
        }
        if best.as_ref().is_none_or(|b| loss < b.loss) {
            best = Some(chosen);
        }
    }
    best.ok_or_else(|| Error::usage("no capacitor in the searched range clears the clock edges"))
}

/// Scores a given design (e.g. one chosen without variation, then given a circuit spread)
/// on the validation digits of `s`, as [`search`] scores a candidate.
pub fn score(s: &Setup, design: Clocked, o: &SearchOptions) -> Result<Chosen> {
    let full = s.net.full_scale() as u32;
    let base = baseline_units(full);
    let ideal = correct(&s.net, &s.test, &Ideal)?;
    let ideal_acc = ideal.iter().filter(|&&b| b).count() as f64 / ideal.len().max(1) as f64;
    let got = correct(&s.net, &s.test, &design)?;
    Ok(Chosen::scored(base, &ideal, ideal_acc, &got, design, o, 1))
}

impl Chosen {
    /// A design's record from its per-digit results `got` against the ideal neuron's, the
    /// `scored`-th design tried: the one rule [`search`] and [`score`] share.
    fn scored(
        base: f64,
        ideal: &[bool],
        ideal_acc: f64,
        got: &[bool],
        design: Clocked,
        o: &SearchOptions,
        scored: usize,
    ) -> Chosen {
        let (loss, fold_losses) = paired_loss(ideal, got, o.folds);
        Chosen {
            reduction: base / design.capacitance_units,
            baseline_units: base,
            validation_n: got.len(),
            ideal_accuracy: ideal_acc,
            accuracy: ideal_acc - loss,
            loss,
            fold_losses,
            meets_loss: loss <= o.max_loss + 1e-12,
            scored,
            design,
        }
    }
}

/// The design file: the decoder (read by `snn eval --neuron capmin:FILE`) and its provenance.
#[allow(clippy::too_many_arguments)]
pub fn design_json(
    ch: &Chosen,
    model: &str,
    readout: &str,
    t_clk_s: f64,
    i_unit_a: f64,
    v_th_v: f64,
    guard: f64,
    data: &str,
) -> Value {
    let d = &ch.design;
    let unit_f = t_clk_s * i_unit_a / v_th_v;
    let levels: Vec<Value> = (0..=d.full_scale)
        .map(|m| {
            let k = Clocked::cycle(d.capacitance_units, f64::from(m));
            json!({"level": m, "cycle": k, "reports": d.decode(k),
                   "edge_distance": if m == 0 { Value::Null } else { json!(edge_distance(d.capacitance_units, m)) }})
        })
        .collect();
    json!({
        "format": FORMAT,
        "model": model,
        "readout": readout,
        "reduction": ch.reduction,
        "capacitance_units": d.capacitance_units,
        "capacitance_f": d.capacitance_units * unit_f,
        "baseline_units": ch.baseline_units,
        "baseline_f": ch.baseline_units * unit_f,
        "physics": {"t_clk_s": t_clk_s, "i_unit_a": i_unit_a, "v_th_v": v_th_v},
        "guard_cycles": guard,
        "full_scale": d.full_scale,
        "window_cycles": d.decoder.len(),
        "silent_level": d.silent_level,
        "decoder": d.decoder,
        "device_sigma": d.device_sigma,
        "read_sigma": d.read_sigma,
        "levels": levels,
        "selection": {
            "data": data,
            "split": "held-out (validation) split of the training file",
            "validation_n": ch.validation_n,
            "ideal_accuracy": ch.ideal_accuracy,
            "accuracy": ch.accuracy,
            "loss": ch.loss,
            "fold_losses": ch.fold_losses,
            "meets_loss": ch.meets_loss,
            "candidates_scored": ch.scored,
        },
    })
}
