//! Neuron models: how the analog neuron of one crossbar chunk reports its MAC level.
//!
//! Every chunk of `array_size` binary inputs produces a true level `m` in `0..=full_scale`
//! (the popcount of the chunk's read-out for binary weights, `full_scale = array_size`; for
//! K-bit weights the code-weighted count, `full_scale = array_size·(2^K - 1)`, see
//! `model::Readout`); a neuron model turns it into the level the hardware reports. Models have
//! two kinds of randomness, kept apart so results do not depend on thread count:
//! - device-to-device: [`NeuronModel::sample_devices`] draws, once per repeat, the state of
//!   every physical neuron (a crossbar column of one chunk of one layer, see [`SiteLayout`]);
//!   that state is fixed for all images of the repeat;
//! - per read (cycle-to-cycle): [`NeuronModel::read`] gets a generator seeded per
//!   (seed, repeat, image).

use std::path::{Path, PathBuf};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};

/// Where the physical neurons of a network are: one per (chunked layer, output neuron, chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteLayout {
    /// Crossbar rows per chunk.
    pub array_size: usize,
    /// For each chunked layer: (network layer index, output neurons, chunks per neuron).
    pub layers: Vec<(usize, usize, usize)>,
}

impl SiteLayout {
    /// Total number of physical neurons.
    pub fn len(&self) -> usize {
        self.layers.iter().map(|&(_, o, c)| o * c).sum()
    }

    /// True when the network has no chunked layer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A neuron model, as seen by the network evaluation.
pub trait NeuronModel: Sync {
    /// Per-repeat state of all physical neurons (device-to-device variation).
    type Devices: Sync;

    /// Short name for tables and reports.
    fn name(&self) -> String;

    /// Whether two repeats (or two reads of the same level) can differ; deterministic models
    /// are evaluated once whatever `--repeats` says.
    fn stochastic(&self) -> bool;

    /// Checks the model fits a network whose full chunks read levels `0..=full_scale`
    /// (`model::Network::full_scale`: the array size for binary weights).
    fn check(&self, full_scale: usize) -> Result<()>;

    /// Draws the state of every physical neuron for one repeat.
    fn sample_devices(&self, layout: &SiteLayout, rng: &mut ChaCha8Rng) -> Self::Devices;

    /// The level reported for true level `level` (0..=chunk_len) by physical neuron `site`
    /// (flat index in `layout` order); `chunk_len` is the chunk's full scale: its number of
    /// inputs (the array size except for a layer's last, partial chunk) times 2^K - 1. The
    /// caller clamps the result to `chunk_len`.
    fn read(
        &self,
        devices: &Self::Devices,
        site: usize,
        level: u32,
        chunk_len: u32,
        rng: &mut ChaCha8Rng,
    ) -> u32;
}

/// The ideal neuron: reports the true level.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ideal;

impl NeuronModel for Ideal {
    type Devices = ();
    fn name(&self) -> String {
        "ideal".into()
    }
    fn stochastic(&self) -> bool {
        false
    }
    fn check(&self, _: usize) -> Result<()> {
        Ok(())
    }
    fn sample_devices(&self, _: &SiteLayout, _: &mut ChaCha8Rng) {}
    #[inline]
    fn read(&self, _: &(), _: usize, level: u32, _: u32, _: &mut ChaCha8Rng) -> u32 {
        level
    }
}

/// A fixed level-to-level map (CapMin's merged levels, a measured nonlinearity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lut {
    /// `mapped[m]` is the level reported for true level m, for m in 0..=array_size.
    pub mapped: Vec<u32>,
}

impl Lut {
    /// The identity map for chunks of `array_size`.
    pub fn identity(array_size: usize) -> Lut {
        Lut {
            mapped: (0..=array_size as u32).collect(),
        }
    }

    /// Reads a CSV file of `level,mapped` rows (an optional header line, `#` comments) or a
    /// JSON file holding an array of mapped levels or `{"mapped": [...]}`.
    pub fn from_file(path: &Path) -> Result<Lut> {
        let text = crate::io::input::read_text(path)?;
        if text.trim_start().starts_with(['[', '{']) {
            #[derive(serde::Deserialize)]
            #[serde(untagged)]
            enum J {
                Plain(Vec<u32>),
                Obj { mapped: Vec<u32> },
            }
            let j: J = serde_json::from_str(&text).map_err(|e| {
                Error::format(
                    path,
                    format!("line {} column {}", e.line(), e.column()),
                    format!("expected a JSON array of levels or {{\"mapped\": [...]}}: {e}"),
                )
            })?;
            let mapped = match j {
                J::Plain(v) | J::Obj { mapped: v } => v,
            };
            return Ok(Lut { mapped });
        }
        let mut mapped = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if mapped.is_empty() && f.first().is_some_and(|s| s.parse::<u32>().is_err()) {
                continue; // header
            }
            let loc = format!("line {}", i + 1);
            if f.len() != 2 {
                return Err(Error::format(
                    path,
                    loc,
                    format!("expected 2 columns `level,mapped`, found {}", f.len()),
                ));
            }
            let level: u32 = f[0].parse().map_err(|_| {
                Error::format(path, &loc, format!("expected a level, found {:?}", f[0]))
            })?;
            let m: u32 = f[1].parse().map_err(|_| {
                Error::format(
                    path,
                    &loc,
                    format!("expected a mapped level, found {:?}", f[1]),
                )
            })?;
            if level as usize != mapped.len() {
                return Err(Error::format(
                    path,
                    loc,
                    format!(
                        "levels must be listed in order 0,1,2,...; expected {}, found {level}",
                        mapped.len()
                    ),
                ));
            }
            mapped.push(m);
        }
        Ok(Lut { mapped })
    }
}

fn check_len(what: &str, len: usize, array_size: usize) -> Result<()> {
    if len != array_size + 1 {
        return Err(Error::usage(format!(
            "{what} covers levels 0..{} but the network's chunks have levels 0..{array_size}",
            len.saturating_sub(1)
        )));
    }
    Ok(())
}

impl NeuronModel for Lut {
    type Devices = ();
    fn name(&self) -> String {
        "lut".into()
    }
    fn stochastic(&self) -> bool {
        false
    }
    fn check(&self, array_size: usize) -> Result<()> {
        check_len("the lut", self.mapped.len(), array_size)?;
        if let Some(m) = self.mapped.iter().find(|&&m| m as usize > array_size) {
            return Err(Error::usage(format!(
                "the lut maps to level {m}, above the array size {array_size}"
            )));
        }
        Ok(())
    }
    fn sample_devices(&self, _: &SiteLayout, _: &mut ChaCha8Rng) {}
    #[inline]
    fn read(&self, _: &(), _: usize, level: u32, _: u32, _: &mut ChaCha8Rng) -> u32 {
        self.mapped[level as usize]
    }
}

/// A confusion matrix: for each true level, probabilities over reported levels, sampled per MAC.
#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    /// Cumulative probabilities per true level; the last entry of each row is exactly 1.
    cdf: Vec<Vec<f64>>,
    /// The reported level when a row is a delta (no random draw needed).
    delta: Vec<Option<u32>>,
}

/// How far a confusion-matrix row may sum from 1 before it is rejected.
pub const ROW_SUM_TOLERANCE: f64 = 1e-6;

impl Confusion {
    /// Builds from a square matrix `p[true][reported]`; rows must be non-negative and sum to 1
    /// within [`ROW_SUM_TOLERANCE`] (then renormalised exactly). `source` names the file in errors.
    pub fn new(p: &[Vec<f64>], source: &Path) -> Result<Confusion> {
        let n = p.len();
        let mut cdf = Vec::with_capacity(n);
        let mut delta = Vec::with_capacity(n);
        for (i, row) in p.iter().enumerate() {
            let loc = format!("row {i} (true level {i})");
            if row.len() != n {
                return Err(Error::format(
                    source,
                    loc,
                    format!(
                        "expected {n} columns (a square matrix), found {}",
                        row.len()
                    ),
                ));
            }
            if let Some(v) = row.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                return Err(Error::format(
                    source,
                    loc,
                    format!("probability {v} is not a finite non-negative number"),
                ));
            }
            let sum: f64 = row.iter().sum();
            if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
                return Err(Error::format(
                    source,
                    loc,
                    format!("row sums to {sum}, expected 1 (rows must be normalised)"),
                ));
            }
            let mut acc = 0.0;
            let mut c: Vec<f64> = row
                .iter()
                .map(|v| {
                    acc += v / sum;
                    acc
                })
                .collect();
            // The last non-zero entry closes the row at exactly 1 so u < 1 always finds a level.
            let last = row.iter().rposition(|&v| v > 0.0).unwrap_or(n - 1);
            for x in &mut c[last..] {
                *x = 1.0;
            }
            let nonzero = row.iter().filter(|&&v| v > 0.0).count();
            delta.push((nonzero == 1).then_some(last as u32));
            cdf.push(c);
        }
        Ok(Confusion { cdf, delta })
    }

    /// Reads a CSV matrix (rows = true level, columns = reported level, `#` comments) or a
    /// JSON array of rows / `{"matrix": [[...]]}`.
    pub fn from_file(path: &Path) -> Result<Confusion> {
        let text = crate::io::input::read_text(path)?;
        let rows: Vec<Vec<f64>> = if text.trim_start().starts_with(['[', '{']) {
            #[derive(serde::Deserialize)]
            #[serde(untagged)]
            enum J {
                Plain(Vec<Vec<f64>>),
                Obj { matrix: Vec<Vec<f64>> },
            }
            let j: J = serde_json::from_str(&text).map_err(|e| {
                Error::format(
                    path,
                    format!("line {} column {}", e.line(), e.column()),
                    format!("expected a JSON array of rows or {{\"matrix\": [[...]]}}: {e}"),
                )
            })?;
            match j {
                J::Plain(v) | J::Obj { matrix: v } => v,
            }
        } else {
            let mut rows = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let row = line
                    .split(',')
                    .map(|f| {
                        f.trim().parse::<f64>().map_err(|_| {
                            Error::format(
                                path,
                                format!("line {}", i + 1),
                                format!("expected a probability, found {:?}", f.trim()),
                            )
                        })
                    })
                    .collect::<std::result::Result<Vec<f64>, _>>()?;
                rows.push(row);
            }
            rows
        };
        Confusion::new(&rows, path)
    }

    /// Number of levels (array size + 1).
    pub fn levels(&self) -> usize {
        self.cdf.len()
    }
}

impl NeuronModel for Confusion {
    type Devices = ();
    fn name(&self) -> String {
        "confusion".into()
    }
    fn stochastic(&self) -> bool {
        self.delta.iter().any(Option::is_none)
    }
    fn check(&self, array_size: usize) -> Result<()> {
        check_len("the confusion matrix", self.cdf.len(), array_size)
    }
    fn sample_devices(&self, _: &SiteLayout, _: &mut ChaCha8Rng) {}
    #[inline]
    fn read(&self, _: &(), _: usize, level: u32, _: u32, rng: &mut ChaCha8Rng) -> u32 {
        let l = level as usize;
        if let Some(d) = self.delta[l] {
            return d;
        }
        // 53 random bits -> u in [0, 1).
        let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let row = &self.cdf[l];
        row.partition_point(|&c| c <= u) as u32
    }
}

/// Per-MAC Gaussian level noise (cycle-to-cycle): reports `round(m + sigma * z)` clamped to
/// `0..=array_size`, with z standard normal; level 0 (no current) is reported exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelNoise {
    /// Standard deviation, in levels.
    pub sigma: f64,
    /// Highest level.
    pub array_size: u32,
}

impl NeuronModel for LevelNoise {
    type Devices = ();
    fn name(&self) -> String {
        "level-noise".into()
    }
    fn stochastic(&self) -> bool {
        self.sigma > 0.0
    }
    fn check(&self, array_size: usize) -> Result<()> {
        if self.array_size as usize != array_size || self.sigma.is_nan() || self.sigma < 0.0 {
            return Err(Error::usage(format!(
                "level-noise: sigma must be >= 0 (got {}) and the array size {array_size}",
                self.sigma
            )));
        }
        Ok(())
    }
    fn sample_devices(&self, _: &SiteLayout, _: &mut ChaCha8Rng) {}
    #[inline]
    fn read(&self, _: &(), _: usize, level: u32, _: u32, rng: &mut ChaCha8Rng) -> u32 {
        if level == 0 || self.sigma == 0.0 {
            return level;
        }
        let z: f64 = StandardNormal.sample(rng);
        (level as f64 + self.sigma * z)
            .round()
            .clamp(0.0, self.array_size as f64) as u32
    }
}

/// One sampled level-to-level table per physical neuron, `array_size + 1` entries each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTables {
    /// Levels per table.
    pub stride: usize,
    /// `tables[site * stride + m]` is the level site reports for true level m.
    pub tables: Vec<u8>,
}

/// The ideal integrate-and-fire neuron of CapMin with device-to-device variation of its
/// charging current: physical neuron k charges with I = m * I_u * (1 + eps_k),
/// eps_k ~ N(0, sigma), fixed for all images. Its spike time t = C*V_th/I is read against
/// windows centred on the nominal spike times; the boundary between levels m and m+1 lies at
/// the mid-point in time, which in current units is m_b = 2m(m+1)/(2m+1); the boundary
/// between level 0 (never fires) and level 1 is the window end 2*C*V_th/I_u (m_b = 1/2).
/// C, V_th, I_u and the clock cancel out for an ideally placed, infinitely fine readout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrentSigma {
    /// Relative standard deviation of the charging current (e.g. 0.03 for 3%).
    pub sigma: f64,
    /// Highest level.
    pub array_size: u32,
}

/// The level read back from an effective current `x = m * (1 + eps)` (in units of I_u).
pub fn level_from_current(x: f64, array_size: u32) -> u32 {
    if x.is_nan() || x < 0.5 {
        return 0;
    }
    // Boundary m_b(m) = 2m(m+1)/(2m+1) lies in (m, m+1): start at floor(x) and adjust.
    let mut m = (x.floor() as u32).min(array_size);
    let b = |m: u32| {
        let m = m as f64;
        2.0 * m * (m + 1.0) / (2.0 * m + 1.0)
    };
    if m >= 1 && x < b(m - 1) {
        m -= 1;
    } else if m < array_size && x >= b(m) {
        m += 1;
    }
    m.clamp(1, array_size)
}

impl NeuronModel for CurrentSigma {
    type Devices = DeviceTables;
    fn name(&self) -> String {
        "current-sigma".into()
    }
    fn stochastic(&self) -> bool {
        self.sigma > 0.0
    }
    fn check(&self, array_size: usize) -> Result<()> {
        if self.array_size as usize != array_size
            || self.sigma.is_nan()
            || self.sigma < 0.0
            || array_size > 255
        {
            return Err(Error::usage(format!(
                "current-sigma: sigma must be >= 0 (got {}) and the chunk full scale <= 255 \
                 (got {array_size}; K-bit weights multiply it by 2^K - 1)",
                self.sigma
            )));
        }
        Ok(())
    }
    fn sample_devices(&self, layout: &SiteLayout, rng: &mut ChaCha8Rng) -> DeviceTables {
        let stride = self.array_size as usize + 1;
        let mut tables = Vec::with_capacity(layout.len() * stride);
        for _ in 0..layout.len() {
            let z: f64 = StandardNormal.sample(rng);
            let gain = 1.0 + self.sigma * z;
            for m in 0..stride {
                tables.push(level_from_current(m as f64 * gain, self.array_size) as u8);
            }
        }
        DeviceTables { stride, tables }
    }
    #[inline]
    fn read(&self, d: &DeviceTables, site: usize, level: u32, _: u32, _: &mut ChaCha8Rng) -> u32 {
        u32::from(d.tables[site * d.stride + level as usize])
    }
}

/// The clocked time-domain read-out a CapMin design builds (docs/capmin.md): an ideal IF
/// membrane of capacitance `capacitance_units` (in units of T_clk·I_u/V_th) charged by
/// `m·I_u` reaches V_th after `capacitance_units / m` clock periods; the spike is known only
/// by the clock cycle it falls in, `k = floor(capacitance_units / m)`, and a decoder table
/// maps each cycle of the read-out window to the level it reports. A neuron that does not
/// spike within the window (level 0 never does) reports `silent_level`.
///
/// With `sigma > 0` every physical neuron charges with `m·I_u·(1 + ε)`, ε ~ N(0, sigma) drawn
/// once per device and repeat (the charging-current mismatch CapMin-V protects against), and
/// its spike goes through the same decoder.
///
/// [`Clocked::cycle`] and [`Clocked::decode`] are the one decoder path: design search, the
/// evaluation of a design file and the transient check all go through them.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Clocked {
    /// Membrane capacitance in units of T_clk·I_u/V_th.
    pub capacitance_units: f64,
    /// Highest level of a full chunk (`Network::full_scale`).
    pub full_scale: u32,
    /// `decoder[k]`: the level reported for a spike in clock cycle k (0-based); the window is
    /// `decoder.len()` cycles long.
    pub decoder: Vec<u32>,
    /// Level reported without a spike in the window.
    pub silent_level: u32,
    /// Relative charging-current sigma per device (0: nominal).
    #[serde(default)]
    pub sigma: f64,
    /// Relative spike-time spread per level 0..=full_scale carried by a physical neuron to
    /// every read (its transistor mismatch, from a circuit Monte Carlo: `chara --mc-runs`):
    /// neuron k spikes at `(c/m)·(1 + device_sigma[m]·z_k + read_sigma[m]·w)`, z_k drawn
    /// once per device, w per read. Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_sigma: Vec<f64>,
    /// Relative spike-time spread per level drawn anew at every read (input-cell mismatch,
    /// noise). Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_sigma: Vec<f64>,
}

/// Level tables per physical neuron and, for per-read spread, each neuron's device draw.
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadTables {
    pub tables: DeviceTables,
    /// z_k of every physical neuron (empty when reads need no draw).
    pub z: Vec<f64>,
}

/// Relative spread `v[m]`, 0 past the end.
fn at_level(v: &[f64], m: u32) -> f64 {
    v.get(m as usize).copied().unwrap_or(0.0)
}

/// Longest decoder window accepted from a file, clock cycles.
pub const MAX_WINDOW_CYCLES: usize = 1 << 20;

impl Clocked {
    /// Clock cycle of the spike of a neuron charged by `x` unit currents (x may be fractional:
    /// a level times its mismatch), `None` when it does not charge (x <= 0).
    pub fn cycle(capacitance_units: f64, x: f64) -> Option<u64> {
        if x.is_nan() || x <= 0.0 {
            return None;
        }
        let t = capacitance_units / x;
        // a spike exactly on an edge belongs to the cycle that starts there
        (t.is_finite() && t < u64::MAX as f64).then(|| t.floor() as u64)
    }

    /// The level the decoder reports for a spike in cycle `k` (`None`: no spike).
    pub fn decode(&self, k: Option<u64>) -> u32 {
        match k {
            Some(k) if (k as usize) < self.decoder.len() => self.decoder[k as usize],
            _ => self.silent_level,
        }
    }

    /// The level reported for true level `m` by a neuron charging with gain `1 + ε`.
    pub fn report(&self, m: u32, gain: f64) -> u32 {
        self.decode(Self::cycle(self.capacitance_units, f64::from(m) * gain))
    }

    /// The level reported for true level `m` by a neuron whose spike comes `rel` (relative)
    /// later than nominal: the circuit's spike-time spread.
    pub fn report_time(&self, m: u32, rel: f64) -> u32 {
        if m == 0 {
            return self.decode(None);
        }
        let t = self.capacitance_units / f64::from(m) * (1.0 + rel);
        self.decode(Self::cycle(t, 1.0))
    }

    /// Whether the design carries a per-level spike-time spread.
    pub fn has_spread(&self) -> bool {
        self.device_sigma
            .iter()
            .chain(&self.read_sigma)
            .any(|&s| s > 0.0)
    }

    /// The nominal level map 0..=full_scale (no mismatch).
    pub fn nominal_map(&self) -> Vec<u32> {
        (0..=self.full_scale).map(|m| self.report(m, 1.0)).collect()
    }

    /// Reads a design JSON (`capmin select --design`); fields other than the decoder's
    /// (`model`, `readout`, `reduction`, ...) are read by [`Clocked::readout_of`] or ignored.
    pub fn from_file(path: &Path) -> Result<Clocked> {
        let text = crate::io::input::read_text(path)?;
        let c: Clocked = serde_json::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("expected a CapMin design (capacitance_units, full_scale, decoder, silent_level): {e}"),
            )
        })?;
        c.validate()
            .map_err(|e| Error::format(path, "design", e.msg))?;
        Ok(c)
    }

    /// The `readout` field of a design file, if any.
    pub fn readout_of(path: &Path) -> Result<Option<String>> {
        let text = crate::io::input::read_text(path)?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::format(path, format!("line {}", e.line()), format!("not JSON: {e}"))
        })?;
        Ok(v.get("readout")
            .and_then(|r| r.as_str())
            .map(str::to_string))
    }

    fn validate(&self) -> Result<()> {
        if !(self.capacitance_units.is_finite() && self.capacitance_units > 0.0) {
            return Err(Error::data(format!(
                "capacitance_units must be finite and > 0, got {}",
                self.capacitance_units
            )));
        }
        if self.decoder.is_empty() || self.decoder.len() > MAX_WINDOW_CYCLES {
            return Err(Error::data(format!(
                "the decoder needs 1..={MAX_WINDOW_CYCLES} cycles, got {}",
                self.decoder.len()
            )));
        }
        if let Some(l) = self
            .decoder
            .iter()
            .chain([&self.silent_level])
            .find(|&&l| l > self.full_scale)
        {
            return Err(Error::data(format!(
                "the decoder reports level {l}, above the full scale {}",
                self.full_scale
            )));
        }
        if !(self.sigma.is_finite() && (0.0..1.0).contains(&self.sigma)) {
            return Err(Error::data(format!(
                "sigma must be in [0, 1), got {}",
                self.sigma
            )));
        }
        for (name, v) in [
            ("device_sigma", &self.device_sigma),
            ("read_sigma", &self.read_sigma),
        ] {
            if !v.is_empty() && v.len() != self.full_scale as usize + 1 {
                return Err(Error::data(format!(
                    "{name} needs one entry per level 0..={}, got {}",
                    self.full_scale,
                    v.len()
                )));
            }
            if let Some(x) = v
                .iter()
                .find(|x| !(x.is_finite() && (0.0..1.0).contains(*x)))
            {
                return Err(Error::data(format!(
                    "{name} entries must be in [0, 1), got {x}"
                )));
            }
        }
        if self.sigma > 0.0 && self.has_spread() {
            return Err(Error::data(
                "give either sigma (current mismatch) or device_sigma/read_sigma (circuit spread)",
            ));
        }
        Ok(())
    }
}

impl NeuronModel for Clocked {
    type Devices = SpreadTables;
    fn name(&self) -> String {
        "capmin".into()
    }
    fn stochastic(&self) -> bool {
        self.sigma > 0.0 || self.has_spread()
    }
    fn check(&self, full_scale: usize) -> Result<()> {
        self.validate()?;
        if self.full_scale as usize != full_scale || full_scale > 255 {
            return Err(Error::usage(format!(
                "capmin: the design is for chunks of full scale {}, the network's is {full_scale}",
                self.full_scale
            )));
        }
        Ok(())
    }
    fn sample_devices(&self, layout: &SiteLayout, rng: &mut ChaCha8Rng) -> SpreadTables {
        let stride = self.full_scale as usize + 1;
        if !self.stochastic() {
            let tables = DeviceTables {
                stride,
                tables: self.nominal_map().into_iter().map(|l| l as u8).collect(),
            };
            return SpreadTables { tables, z: vec![] };
        }
        let mut tables = Vec::with_capacity(layout.len() * stride);
        let mut zs = Vec::new();
        for _ in 0..layout.len() {
            let z: f64 = StandardNormal.sample(rng);
            let gain = 1.0 + self.sigma * z;
            for m in 0..stride {
                let m = m as u32;
                tables.push(if self.has_spread() {
                    self.report_time(m, at_level(&self.device_sigma, m) * z) as u8
                } else {
                    self.report(m, gain) as u8
                });
            }
            if !self.read_sigma.is_empty() {
                zs.push(z);
            }
        }
        SpreadTables {
            tables: DeviceTables { stride, tables },
            z: zs,
        }
    }
    #[inline]
    fn read(&self, d: &SpreadTables, site: usize, level: u32, _: u32, rng: &mut ChaCha8Rng) -> u32 {
        if !d.z.is_empty() {
            let r = at_level(&self.read_sigma, level);
            if r > 0.0 {
                let w: f64 = StandardNormal.sample(rng);
                let rel = at_level(&self.device_sigma, level) * d.z[site] + r * w;
                return self.report_time(level, rel);
            }
        }
        // nominal designs share one table
        let site = if self.stochastic() { site } else { 0 };
        u32::from(d.tables.tables[site * d.tables.stride + level as usize])
    }
}

/// A neuron characterised by circuit simulation (file format in docs/snn.md):
/// nominal spike time per level and its Monte Carlo sigma, read by a clock of period `t_clk`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct CircuitCurve {
    /// Name of the neuron circuit.
    pub neuron: String,
    /// Crossbar rows per chunk; levels are 0..=array_size.
    pub array_size: usize,
    /// The levels characterised, exactly 0..=array_size.
    pub levels: Vec<u32>,
    /// Nominal spike time per level, s; `null` when the neuron does not fire.
    pub spike_time_s: Vec<Option<f64>>,
    /// Device-to-device standard deviation of the spike time per level, s.
    pub spike_time_sigma_s: Vec<f64>,
    /// End of the read-out window, s: later spikes count as no spike.
    pub t_window_s: f64,
}

/// A [`CircuitCurve`] read out by a clock: the spike of physical neuron k at level m is at
/// `t = nominal[m] + sigma[m] * sigma_scale * z_k` (one z_k per physical neuron, shared by
/// all levels, as a mismatch of its charging current or threshold would be), registered in
/// clock cycle `floor(t / t_clk)`; the decoder maps each cycle to the level whose nominal
/// spike falls in the cycle nearest to it (ties to the higher level); no spike inside the
/// window decodes to the lowest level that does not fire nominally (level 0 if all fire).
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitNeuron {
    /// The characterised curve.
    pub curve: CircuitCurve,
    /// Read-out clock period, s.
    pub t_clk: f64,
    /// Multiplies every spike-time sigma (the swept variation parameter; 1 = as characterised).
    pub sigma_scale: f64,
    /// Per-read spike-time sigma per level, s (the file's optional `spike_time_read_sigma_s`:
    /// input cells and noise, drawn anew at every read); empty: none.
    pub read_sigma_s: Vec<f64>,
    decode: Vec<u32>,
    silent_level: u32,
}

impl CircuitNeuron {
    /// Validates the curve and builds the clock decoder.
    pub fn new(
        curve: CircuitCurve,
        t_clk: f64,
        sigma_scale: f64,
        source: &Path,
    ) -> Result<CircuitNeuron> {
        let n = curve.array_size + 1;
        let bad = |msg: String| Err(Error::format(source, "circuit curve", msg));
        if curve.levels.len() != n
            || curve
                .levels
                .iter()
                .enumerate()
                .any(|(i, &l)| l as usize != i)
        {
            return bad(format!("`levels` must be 0..={}", curve.array_size));
        }
        if curve.spike_time_s.len() != n || curve.spike_time_sigma_s.len() != n {
            return bad(format!(
                "`spike_time_s` and `spike_time_sigma_s` need {n} entries each"
            ));
        }
        if !(t_clk > 0.0 && t_clk.is_finite()) {
            return Err(Error::usage(format!(
                "--t-clk must be a positive time in s, got {t_clk}"
            )));
        }
        if !(curve.t_window_s > 0.0 && curve.t_window_s.is_finite()) {
            return bad("`t_window_s` must be positive".into());
        }
        if curve
            .spike_time_s
            .iter()
            .flatten()
            .chain(&curve.spike_time_sigma_s)
            .any(|v| !(v.is_finite() && *v >= 0.0))
        {
            return bad("spike times and sigmas must be finite and >= 0".into());
        }
        let cycles = (curve.t_window_s / t_clk).ceil() as usize;
        if cycles > 10_000_000 {
            return Err(Error::usage(format!(
                "window/clock = {cycles} cycles; choose a coarser --t-clk"
            )));
        }
        let silent_level = (0..n)
            .find(|&m| curve.spike_time_s[m].is_none_or(|t| t >= curve.t_window_s))
            .unwrap_or(0) as u32;
        let firing: Vec<(u32, f64)> = (0..n)
            .filter_map(|m| {
                curve.spike_time_s[m]
                    .filter(|&t| t < curve.t_window_s)
                    .map(|t| (m as u32, ((t / t_clk).floor() + 0.5) * t_clk))
            })
            .collect();
        let decode = (0..cycles)
            .map(|k| {
                let centre = (k as f64 + 0.5) * t_clk;
                firing
                    .iter()
                    .min_by(|a, b| {
                        let da = (a.1 - centre).abs();
                        let db = (b.1 - centre).abs();
                        da.total_cmp(&db).then(b.0.cmp(&a.0))
                    })
                    .map_or(silent_level, |&(m, _)| m)
            })
            .collect();
        Ok(CircuitNeuron {
            curve,
            t_clk,
            sigma_scale,
            read_sigma_s: Vec::new(),
            decode,
            silent_level,
        })
    }

    /// Reads the JSON curve file.
    pub fn from_file(path: &Path, t_clk: f64, sigma_scale: f64) -> Result<CircuitNeuron> {
        let text = crate::io::input::read_text(path)?;
        let curve: CircuitCurve = serde_json::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("expected a circuit curve JSON (see docs/snn.md): {e}"),
            )
        })?;
        let mut c = CircuitNeuron::new(curve, t_clk, sigma_scale, path)?;
        #[derive(serde::Deserialize)]
        struct ReadSigma {
            #[serde(default)]
            spike_time_read_sigma_s: Vec<f64>,
        }
        let r: ReadSigma = serde_json::from_str(&text)
            .map_err(|e| Error::format(path, "spike_time_read_sigma_s", e.to_string()))?;
        let v = r.spike_time_read_sigma_s;
        if !v.is_empty()
            && (v.len() != c.curve.array_size + 1
                || v.iter().any(|x| !(x.is_finite() && *x >= 0.0)))
        {
            return Err(Error::format(
                path,
                "spike_time_read_sigma_s",
                format!(
                    "needs {} finite entries >= 0, got {}",
                    c.curve.array_size + 1,
                    v.len()
                ),
            ));
        }
        c.read_sigma_s = v;
        Ok(c)
    }

    /// The level decoded from a spike at time `t` (s), or from no spike (`None`).
    pub fn decode_time(&self, t: Option<f64>) -> u32 {
        match t {
            Some(t) if t >= 0.0 && t < self.curve.t_window_s => {
                let k = (t / self.t_clk).floor() as usize;
                self.decode.get(k).copied().unwrap_or(self.silent_level)
            }
            Some(t) if t < 0.0 => self.decode.first().copied().unwrap_or(self.silent_level),
            _ => self.silent_level,
        }
    }
}

impl NeuronModel for CircuitNeuron {
    type Devices = SpreadTables;
    fn name(&self) -> String {
        format!("circuit:{}", self.curve.neuron)
    }
    fn stochastic(&self) -> bool {
        self.sigma_scale > 0.0
            && self
                .curve
                .spike_time_sigma_s
                .iter()
                .chain(&self.read_sigma_s)
                .any(|&s| s > 0.0)
    }
    fn check(&self, array_size: usize) -> Result<()> {
        check_len("the circuit curve", self.curve.array_size + 1, array_size)?;
        if array_size > 255 {
            return Err(Error::usage(format!(
                "circuit: the chunk full scale must be <= 255, got {array_size}"
            )));
        }
        Ok(())
    }
    fn sample_devices(&self, layout: &SiteLayout, rng: &mut ChaCha8Rng) -> SpreadTables {
        let stride = self.curve.array_size + 1;
        let mut tables = Vec::with_capacity(layout.len() * stride);
        let mut zs = Vec::new();
        for _ in 0..layout.len() {
            let z: f64 = StandardNormal.sample(rng);
            for m in 0..stride {
                let t = self.curve.spike_time_s[m]
                    .map(|t| t + self.curve.spike_time_sigma_s[m] * self.sigma_scale * z);
                tables.push(self.decode_time(t) as u8);
            }
            if !self.read_sigma_s.is_empty() {
                zs.push(z);
            }
        }
        SpreadTables {
            tables: DeviceTables { stride, tables },
            z: zs,
        }
    }
    #[inline]
    fn read(&self, d: &SpreadTables, site: usize, level: u32, _: u32, rng: &mut ChaCha8Rng) -> u32 {
        let m = level as usize;
        if !d.z.is_empty() {
            let r = self.read_sigma_s.get(m).copied().unwrap_or(0.0) * self.sigma_scale;
            if r > 0.0 {
                let w: f64 = StandardNormal.sample(rng);
                let dev = self.curve.spike_time_sigma_s[m] * self.sigma_scale * d.z[site];
                let t = self.curve.spike_time_s[m].map(|t| t + dev + r * w);
                return self.decode_time(t);
            }
        }
        u32::from(d.tables.tables[site * d.tables.stride + m])
    }
}

/// Sense-amplifier (1-bit ADC) read-out of each chunk, the ADC-less mode of arXiv 2211.02167:
/// the sense amplifier of physical neuron k compares the chunk's level with
/// `reference * chunk_len / array_size + offset_k`, offset_k ~ N(0, offset_sigma) fixed per
/// device, and reports `chunk_len` (all +1) when the level is strictly above, 0 otherwise, so
/// each chunk contributes ±chunk_len to the MAC. File format: JSON
/// `{"offset_sigma": .., "reference": ..}`, both in levels of a full chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SenseAmp {
    /// Standard deviation of the input-referred comparator offset, levels.
    pub offset_sigma: f64,
    /// Comparison level for a full chunk (array_size / 2 compares the chunk MAC with 0).
    pub reference: f64,
    /// Inputs of a full chunk.
    pub array_size: u32,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SenseAmpFile {
    offset_sigma: f64,
    reference: f64,
}

impl SenseAmp {
    /// Reads the JSON file for chunks of `array_size` inputs.
    pub fn from_file(path: &Path, array_size: u32) -> Result<SenseAmp> {
        let text = crate::io::input::read_text(path)?;
        let f: SenseAmpFile = serde_json::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("expected {{\"offset_sigma\": .., \"reference\": ..}}: {e}"),
            )
        })?;
        // a reference outside the levels a chunk can produce, or a negative spread, is a
        // comparator that never (or always) fires: a corrupt file, not a model
        if !(0.0..=f64::from(array_size)).contains(&f.reference)
            || !(0.0..=f64::MAX).contains(&f.offset_sigma)
        {
            return Err(Error::format(
                path,
                "reference",
                format!(
                    "expected a reference level in 0..={array_size} (the array size) and \
                     offset_sigma >= 0, got reference {} and offset_sigma {}",
                    f.reference, f.offset_sigma
                ),
            ));
        }
        Ok(SenseAmp {
            offset_sigma: f.offset_sigma,
            reference: f.reference,
            array_size,
        })
    }
}

impl NeuronModel for SenseAmp {
    /// Offset of every physical neuron, levels.
    type Devices = Vec<f64>;
    fn name(&self) -> String {
        "sense-amp".into()
    }
    fn stochastic(&self) -> bool {
        self.offset_sigma > 0.0
    }
    fn check(&self, _: usize) -> Result<()> {
        if !(self.offset_sigma.is_finite()
            && self.offset_sigma >= 0.0
            && self.reference.is_finite())
        {
            return Err(Error::usage(format!(
                "sense-amp: offset_sigma must be finite and >= 0, reference finite (got {}, {})",
                self.offset_sigma, self.reference
            )));
        }
        Ok(())
    }
    fn sample_devices(&self, layout: &SiteLayout, rng: &mut ChaCha8Rng) -> Vec<f64> {
        (0..layout.len())
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                self.offset_sigma * z
            })
            .collect()
    }
    #[inline]
    fn read(
        &self,
        offsets: &Vec<f64>,
        site: usize,
        level: u32,
        len: u32,
        _: &mut ChaCha8Rng,
    ) -> u32 {
        let reference = self.reference * f64::from(len) / f64::from(self.array_size.max(1));
        if f64::from(level) > reference + offsets[site] {
            len
        } else {
            0
        }
    }
}

/// Any of the models above, chosen at run time from a `--neuron` spec.
#[derive(Debug, Clone)]
pub enum AnyNeuron {
    /// `ideal`
    Ideal(Ideal),
    /// `lut:FILE`
    Lut(Lut),
    /// `confusion:FILE`
    Confusion(Confusion),
    /// `level-noise:SIGMA`
    LevelNoise(LevelNoise),
    /// `current-sigma:SIGMA`
    CurrentSigma(CurrentSigma),
    /// `circuit:FILE`
    Circuit(CircuitNeuron),
    /// `sense-amp:FILE`, or `sense-amp-sigma:SIGMA` with the reference at half the array
    SenseAmp(SenseAmp),
    /// `capmin:FILE`: a CapMin design's clocked read-out
    Clocked(Clocked),
}

/// Per-repeat state of an [`AnyNeuron`].
#[derive(Debug, Clone)]
pub enum AnyDevices {
    /// Models without device-to-device state.
    None,
    /// One table per physical neuron.
    Tables(DeviceTables),
    /// One comparator offset per physical neuron, levels.
    Offsets(Vec<f64>),
    /// Tables and device draws of models with a per-read spread.
    Spread(SpreadTables),
}

/// Options a `--neuron` spec may need besides its own text.
#[derive(Debug, Clone, Copy)]
pub struct SpecContext {
    /// Full-scale level of a full chunk (`Network::full_scale`): the crossbar rows per chunk
    /// for binary weights, times 2^K - 1 for K-bit weights.
    pub array_size: usize,
    /// Read-out clock period for `circuit:`, s.
    pub t_clk: Option<f64>,
    /// Multiplier of the characterised spread for `circuit:`.
    pub sigma_scale: f64,
}

impl AnyNeuron {
    /// Parses `ideal`, `lut:FILE`, `confusion:FILE`, `level-noise:SIGMA`,
    /// `current-sigma:SIGMA` or `circuit:FILE`, and checks it against the network.
    pub fn parse(spec: &str, ctx: SpecContext) -> Result<AnyNeuron> {
        let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
        let sigma = || -> Result<f64> {
            arg.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "neuron spec {spec:?}: expected {kind}:SIGMA with SIGMA >= 0"
                    ))
                })
        };
        let file = || -> Result<PathBuf> {
            if arg.is_empty() {
                Err(Error::usage(format!(
                    "neuron spec {spec:?}: expected {kind}:FILE"
                )))
            } else {
                Ok(PathBuf::from(arg))
            }
        };
        let a = ctx.array_size as u32;
        let n = match kind {
            "ideal" if arg.is_empty() => AnyNeuron::Ideal(Ideal),
            "lut" => AnyNeuron::Lut(Lut::from_file(&file()?)?),
            "confusion" => AnyNeuron::Confusion(Confusion::from_file(&file()?)?),
            "level-noise" => AnyNeuron::LevelNoise(LevelNoise {
                sigma: sigma()?,
                array_size: a,
            }),
            "current-sigma" => AnyNeuron::CurrentSigma(CurrentSigma {
                sigma: sigma()?,
                array_size: a,
            }),
            "circuit" => {
                let t_clk = ctx
                    .t_clk
                    .ok_or_else(|| Error::usage("circuit: neurons need --t-clk SECONDS"))?;
                AnyNeuron::Circuit(CircuitNeuron::from_file(&file()?, t_clk, ctx.sigma_scale)?)
            }
            "sense-amp" => AnyNeuron::SenseAmp(SenseAmp::from_file(&file()?, a)?),
            "capmin" => AnyNeuron::Clocked(Clocked::from_file(&file()?)?),
            "sense-amp-sigma" => AnyNeuron::SenseAmp(SenseAmp {
                offset_sigma: sigma()?,
                reference: f64::from(a) / 2.0,
                array_size: a,
            }),
            _ => {
                return Err(Error::usage(format!(
                    "unknown neuron spec {spec:?}; expected ideal, lut:FILE, confusion:FILE, \
                     level-noise:SIGMA, current-sigma:SIGMA, circuit:FILE, sense-amp:FILE, \
                     sense-amp-sigma:SIGMA or capmin:FILE"
                )));
            }
        };
        n.check(ctx.array_size)?;
        Ok(n)
    }
}

macro_rules! each {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            AnyNeuron::Ideal($m) => $e,
            AnyNeuron::Lut($m) => $e,
            AnyNeuron::Confusion($m) => $e,
            AnyNeuron::LevelNoise($m) => $e,
            AnyNeuron::CurrentSigma($m) => $e,
            AnyNeuron::Circuit($m) => $e,
            AnyNeuron::SenseAmp($m) => $e,
            AnyNeuron::Clocked($m) => $e,
        }
    };
}

impl NeuronModel for AnyNeuron {
    type Devices = AnyDevices;
    fn name(&self) -> String {
        each!(self, m => m.name())
    }
    fn stochastic(&self) -> bool {
        each!(self, m => m.stochastic())
    }
    fn check(&self, array_size: usize) -> Result<()> {
        each!(self, m => m.check(array_size))
    }
    fn sample_devices(&self, layout: &SiteLayout, rng: &mut ChaCha8Rng) -> AnyDevices {
        match self {
            AnyNeuron::CurrentSigma(m) => AnyDevices::Tables(m.sample_devices(layout, rng)),
            AnyNeuron::Circuit(m) => AnyDevices::Spread(m.sample_devices(layout, rng)),
            AnyNeuron::SenseAmp(m) => AnyDevices::Offsets(m.sample_devices(layout, rng)),
            AnyNeuron::Clocked(m) => AnyDevices::Spread(m.sample_devices(layout, rng)),
            _ => AnyDevices::None,
        }
    }
    #[inline]
    fn read(&self, d: &AnyDevices, site: usize, level: u32, len: u32, rng: &mut ChaCha8Rng) -> u32 {
        match (self, d) {
            (AnyNeuron::Ideal(m), _) => m.read(&(), site, level, len, rng),
            (AnyNeuron::Lut(m), _) => m.read(&(), site, level, len, rng),
            (AnyNeuron::Confusion(m), _) => m.read(&(), site, level, len, rng),
            (AnyNeuron::LevelNoise(m), _) => m.read(&(), site, level, len, rng),
            (AnyNeuron::CurrentSigma(_), AnyDevices::Tables(t)) => {
                u32::from(t.tables[site * t.stride + level as usize])
            }
            (AnyNeuron::Circuit(m), AnyDevices::Spread(t)) => m.read(t, site, level, len, rng),
            (AnyNeuron::SenseAmp(m), AnyDevices::Offsets(o)) => m.read(o, site, level, len, rng),
            (AnyNeuron::Clocked(m), AnyDevices::Spread(t)) => m.read(t, site, level, len, rng),
            // sample_devices always pairs these models with their device state.
            (
                AnyNeuron::CurrentSigma(_)
                | AnyNeuron::Circuit(_)
                | AnyNeuron::SenseAmp(_)
                | AnyNeuron::Clocked(_),
                _,
            ) => level,
        }
    }
}
