//! Neuron characterisation (`neurospice chara`): the transfer curve from input level to
//! spike time and to membrane voltage after a fixed window, and its integral nonlinearity.
//!
//! The netlist's analyses are re-run for every level through the sweep machinery (a
//! `.param`, `level` by default, parsed once, run in parallel). From each transient the
//! membrane waveform gives two numbers: the membrane voltage at `t_membrane` and the first
//! time the membrane rises through `v_th` (the spike time of an ideal comparator on the
//! membrane; a real comparator adds its delay). Both are interpolated linearly between the
//! stored time points, which the step control keeps at most `tmax` apart, by the crate's one
//! crossing and value-at implementation (`meas::wave`, ngspice's `.meas` rules: a membrane
//! that starts at or above `v_th` has not risen through it).
//!
//! Nonlinearity: INL = max |y - line| / |y_last - y_first| * 100 %, with the line through the
//! first and last finite points, the definition `neurospice plot transfer` prints. For the
//! membrane voltage y is v(t_membrane) against the level (ideally proportional); for spike
//! times y is the spike rate 1/t (ideally proportional to the current m*I_u, since an ideal
//! IF neuron fires at t_m = C*V_th/(m*I_u)).

use crate::analysis::{RunOptions, Save};
use crate::error::{Error, Result};
use crate::io::atomic::{write_atomic, write_bytes};
use crate::meas::wave::{self, Edge, Nth, value_at};
use crate::netlist::Netlist;
use crate::neuro::snn::neuron::CircuitCurve;
use crate::sweep::SweepSpec;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct CharaOptions {
    /// Name written into the result (`neuron` field).
    pub neuron: String,
    /// The `.param` that sets the input level.
    pub param: String,
    /// Levels to simulate; for the `snn` consumer exactly 0..=array_size.
    pub levels: Vec<u32>,
    /// The membrane node (as in `v(NODE)`).
    pub membrane: String,
    /// Spike threshold on the membrane, V.
    pub v_th: f64,
    /// Time at which the membrane voltage is read, s.
    pub t_membrane: f64,
    /// End of the spike read-out window, s; `None` = the end of the transient.
    pub t_window: Option<f64>,
    /// Relative sigma of the charging current from device mismatch, if estimated (e.g. from
    /// the Pelgrom coefficients of the mirror pair): the spike-time sigma is then
    /// `sigma_rel * t_m` (t = C*V_th/I, so dt/t = -dI/I to first order); `None` writes 0.
    pub sigma_rel: Option<f64>,
    /// How `sigma_rel` was obtained, written into the JSON.
    pub sigma_note: Option<String>,
    /// Per-level Monte Carlo instead of `sigma_rel` (see [`McSpread`]); `None`: nominal only.
    pub mc: Option<McSpread>,
    /// Global `.param` values set for every run (`--set name=value`), besides the level.
    pub set: Vec<(String, f64)>,
}

/// The per-level Monte Carlo of the spike time: at every level, `runs` runs with every source
/// of variation (`both`: the cell's transistor mismatch from the model cards, the netlist's
/// random functions — the input cells' mismatch — and its `TRNOISE` sources, which are drawn
/// in every run) and `runs` runs without the transistor mismatch (`global`: input cells and
/// noise). Run r at every level is the same physical neuron (the same mismatch draws; the
/// crate's counter-based keys), different noise and input cells are drawn per level.
///
/// The spread is split into what a physical neuron carries to every read (its transistor
/// mismatch: `sigma_device² = var(both) − var(global)`, floored at 0; shared by all levels of
/// one neuron in `snn`) and what changes from read to read (which input cells are active,
/// and the noise: `sigma_read² = var(global)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McSpread {
    pub runs: u64,
    pub seed: u64,
}

/// A characterised neuron: the `circuit:FILE` format of `snn eval` (docs/snn.md) plus the
/// membrane transfer and the nonlinearity figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// What `snn eval --neuron circuit:FILE` reads: name, levels, spike time per level and its
    /// sigma, read-out window (one definition of the format, shared with `snn`).
    #[serde(flatten)]
    pub curve: CircuitCurve,
    /// 1/spike time per level, Hz (proportional to the charging current for an ideal neuron).
    pub spike_rate_hz: Vec<Option<f64>>,
    /// Membrane voltage at `t_membrane_s` per level, V.
    pub membrane_v: Vec<f64>,
    /// Spike threshold on the membrane, V.
    pub v_th_v: f64,
    /// When the membrane voltage was read, s.
    pub t_membrane_s: f64,
    /// INL of `membrane_v` against the level, % of full scale.
    pub inl_membrane_pct: f64,
    /// INL of `spike_rate_hz` against the level, % of full scale (firing levels only).
    pub inl_spike_rate_pct: Option<f64>,
    /// Netlist the curve came from.
    pub netlist: String,
    /// How `spike_time_sigma_s` was obtained.
    pub sigma_note: String,
    /// Device-to-device sigma of `membrane_v` per level, V (`chara --membrane-sigma`, e.g. an
    /// integrator's offset spread from `neurospice mc`); what `snn eval --neuron opamp:FILE`
    /// draws per physical neuron.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membrane_sigma_v: Option<Vec<f64>>,
    /// The design's read-out line: membrane at level 0, V (`chara --readout-line V0,DV`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readout_v0_v: Option<f64>,
    /// The design's read-out line: volts per level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readout_v_per_level: Option<f64>,
    /// Per-read spike-time sigma per level, s (input cells and noise; `snn eval
    /// --neuron circuit:FILE` draws it at every read); empty without Monte Carlo.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spike_time_read_sigma_s: Vec<f64>,
    /// Monte Carlo runs per level and variation set (0: no Monte Carlo).
    #[serde(default)]
    pub mc_runs: u64,
    /// Monte Carlo runs per level whose neuron did not spike in the window or failed
    /// (excluded from the spread).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mc_failed: Vec<u64>,
}

impl std::ops::Deref for Transfer {
    type Target = CircuitCurve;
    fn deref(&self) -> &CircuitCurve {
        &self.curve
    }
}

/// The spike time: the first rising crossing of `th`, by the crate's one crossing rule
/// ([`wave::crossing`], ngspice's `RISE=1`).
fn spike_time(t: &[f64], v: &[f64], th: f64) -> Option<f64> {
    wave::crossing(t, v, th, Edge::Rise, Nth::N(1))
}

/// INL in % of full scale against the straight line through the first and last finite
/// points; `None` with fewer than two finite points or a zero full scale.
pub fn inl_percent(x: &[f64], y: &[Option<f64>]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter_map(|(&a, b)| b.filter(|v| v.is_finite()).map(|v| (a, v)))
        .collect();
    let (&(x0, y0), &(x1, y1)) = (pts.first()?, pts.last()?);
    let fs = y1 - y0;
    if pts.len() < 2 || fs == 0.0 || x1 == x0 {
        return None;
    }
    let worst = pts
        .iter()
        .map(|&(a, b)| (b - (y0 + fs * (a - x0) / (x1 - x0))).abs())
        .fold(0.0, f64::max);
    Some(worst / fs.abs() * 100.0)
}

/// Parses `A:B` (inclusive) or a comma list into levels.
pub fn parse_levels(s: &str) -> Result<Vec<u32>> {
    let bad = || {
        Error::usage(format!(
            "--levels '{s}': expected FIRST:LAST (e.g. 0:32), FIRST:LAST:STEP or a,b,c"
        ))
    };
    let levels: Vec<u32> = if let Some((a, rest)) = s.split_once(':') {
        // FIRST:LAST or FIRST:LAST:STEP (LAST is always included)
        let (b, step) = match rest.split_once(':') {
            Some((b, st)) => (b, st.trim().parse::<u32>().map_err(|_| bad())?),
            None => (rest, 1),
        };
        let a: u32 = a.trim().parse().map_err(|_| bad())?;
        let b: u32 = b.trim().parse().map_err(|_| bad())?;
        if b < a || step == 0 || (b - a) / step > 4096 {
            return Err(bad());
        }
        let mut v: Vec<u32> = (a..=b).step_by(step as usize).collect();
        if v.last() != Some(&b) {
            v.push(b);
        }
        v
    } else {
        s.split(',')
            .map(|t| t.trim().parse().map_err(|_| bad()))
            .collect::<Result<_>>()?
    };
    if levels.is_empty() {
        return Err(bad());
    }
    Ok(levels)
}

/// Runs the netlist at every level and measures the transfer curve.
pub fn characterise(nl: &Netlist, netlist_name: &str, o: &CharaOptions) -> Result<Transfer> {
    if let Some(r) = o.sigma_rel
        && !(r >= 0.0 && r.is_finite())
    {
        return Err(Error::usage(format!(
            "--sigma-rel {r}: must be a ratio >= 0"
        )));
    }
    if !(o.t_membrane > 0.0 && o.t_membrane.is_finite()) {
        return Err(Error::usage(format!(
            "--t-membrane {}: must be a positive time in s",
            o.t_membrane
        )));
    }
    let node = o
        .membrane
        .trim()
        .trim_start_matches("v(")
        .trim_end_matches(')')
        .to_ascii_lowercase();
    let col = format!("v({node})");
    let sweep = SweepSpec {
        name: o.param.to_ascii_lowercase(),
        values: o.levels.iter().map(|&l| f64::from(l)).collect(),
    };
    let ro = RunOptions {
        save: Save::List(vec![col.clone()]),
        spikes: Vec::new(),
    };
    let mut spike_time_s = Vec::new();
    let mut membrane_v = Vec::new();
    let mut t_end = f64::INFINITY;
    for (v, r) in nominal_sweep(nl, &sweep, &o.set, &ro) {
        // keep the run's own error (its location and notes), saying which level failed
        let res = r.map_err(|mut e| {
            e.msg = format!("{netlist_name}: {}={v}: {}", sweep.name, e.msg);
            e
        })?;
        let tran = res
            .tran
            .as_ref()
            .ok_or_else(|| Error::usage(format!("{netlist_name}: chara needs a .tran analysis")))?;
        let (t, vm) = match (tran.column("time"), tran.column(&col)) {
            (Some(t), Some(vm)) => (t, vm),
            _ => {
                return Err(Error::usage(format!(
                    "{netlist_name}: no membrane node '{node}' in the transient"
                )));
            }
        };
        let last = t.last().copied().unwrap_or(0.0);
        t_end = t_end.min(last);
        let at = value_at(&t, &vm, o.t_membrane).ok_or_else(|| {
            Error::usage(format!(
                "{netlist_name}: --t-membrane {:e} s is after the transient's end {last:e} s",
                o.t_membrane
            ))
        })?;
        membrane_v.push(at);
        spike_time_s.push(spike_time(&t, &vm, o.v_th));
    }
    let t_window = o.t_window.unwrap_or(t_end);
    if !(t_window > 0.0 && t_window.is_finite()) {
        return Err(Error::usage(format!(
            "--t-window {t_window}: must be a positive time"
        )));
    }
    for s in spike_time_s.iter_mut() {
        if s.is_some_and(|t| t >= t_window) {
            *s = None;
        }
    }
    let (spike_time_sigma_s, read_sigma, mc_failed) = match o.mc {
        Some(mc) => mc_spread(nl, netlist_name, o, &col, &spike_time_s, t_window, mc)?,
        None => (
            spike_time_s
                .iter()
                .map(|t| t.map_or(0.0, |t| t * o.sigma_rel.unwrap_or(0.0)))
                .collect(),
            Vec::new(),
            Vec::new(),
        ),
    };
    let x: Vec<f64> = o.levels.iter().map(|&l| f64::from(l)).collect();
    let spike_rate_hz: Vec<Option<f64>> = spike_time_s
        .iter()
        .map(|s| s.filter(|&t| t > 0.0).map(|t| 1.0 / t))
        .collect();
    let mv: Vec<Option<f64>> = membrane_v.iter().map(|&v| Some(v)).collect();
    let inl_membrane_pct = inl_percent(&x, &mv).ok_or_else(|| {
        Error::numeric(format!(
            "{netlist_name}: the membrane voltage at {:e} s does not change with the level",
            o.t_membrane
        ))
    })?;
    Ok(Transfer {
        curve: CircuitCurve {
            neuron: o.neuron.clone(),
            array_size: o.levels.iter().copied().max().unwrap_or(0) as usize,
            levels: o.levels.clone(),
            spike_time_sigma_s,
            spike_time_s,
            t_window_s: t_window,
        },
        inl_spike_rate_pct: inl_percent(&x, &spike_rate_hz),
        spike_rate_hz,
        membrane_v,
        v_th_v: o.v_th,
        t_membrane_s: o.t_membrane,
        inl_membrane_pct,
        netlist: netlist_name.to_string(),
        spike_time_read_sigma_s: read_sigma,
        mc_runs: o.mc.map_or(0, |m| m.runs),
        mc_failed,
        sigma_note: match (o.sigma_rel, &o.sigma_note) {
            _ if o.mc.is_some() => format!(
                "per-level Monte Carlo, {} runs per level and set, seed {}: spike_time_sigma_s = \
                 device part (transistor mismatch, shared by the levels of one neuron), \
                 spike_time_read_sigma_s = per-read part (input cells, TRNOISE){}",
                o.mc.map_or(0, |m| m.runs),
                o.mc.map_or(0, |m| m.seed),
                o.sigma_note
                    .as_deref()
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default()
            ),
            (Some(r), Some(n)) => format!("{r} * spike time: {n}"),
            (Some(r), None) => format!("{r} * spike time (relative current sigma given to chara)"),
            (None, _) => "0: nominal only; chara runs no Monte Carlo".to_string(),
        },
        membrane_sigma_v: None,
        readout_v0_v: None,
        readout_v_per_level: None,
    })
}

/// The netlist at every value of the swept parameter, in parallel, nominal: random functions
/// at their nominal values and `TRNOISE` sources silent (the nominal curve is noise-free;
/// the Monte Carlo adds the noise).
fn nominal_sweep(
    nl: &Netlist,
    sw: &SweepSpec,
    set: &[(String, f64)],
    ro: &RunOptions,
) -> Vec<(f64, Result<crate::analysis::RunResult>)> {
    use crate::analysis::{PartCache, run_with};
    use crate::mc::rng::RunSampler;
    use crate::netlist::{ElabOptions, elaborate};
    use rayon::prelude::*;
    sw.values
        .par_iter()
        .map_init(PartCache::default, |cache, &v| {
            let mut s = RunSampler::nominal();
            let mut overrides = set.to_vec();
            overrides.push((sw.name.clone(), v));
            let r = elaborate(
                nl,
                ElabOptions {
                    overrides,
                    random: Some(&mut s),
                },
            )
            .and_then(|c| run_with(&c, ro, cache));
            (v, r)
        })
        .collect()
}

/// Largest Monte Carlo run count per level and set.
pub const MAX_MC_RUNS: u64 = 100_000;

type Spread = (Vec<f64>, Vec<f64>, Vec<u64>);

/// The per-level spread of [`McSpread`]: (device sigma, per-read sigma, failed runs) per
/// level, s. Levels that do not spike nominally get 0.
fn mc_spread(
    nl: &Netlist,
    netlist_name: &str,
    o: &CharaOptions,
    col: &str,
    nominal: &[Option<f64>],
    t_window: f64,
    mc: McSpread,
) -> Result<Spread> {
    use crate::analysis::{PartCache, run_with};
    use crate::mc::rng::{RunSampler, Variation};
    use crate::netlist::{ElabOptions, elaborate};
    use rayon::prelude::*;
    if mc.runs < 2 || mc.runs > MAX_MC_RUNS {
        return Err(Error::usage(format!(
            "--mc-runs {}: must be 2..={MAX_MC_RUNS}",
            mc.runs
        )));
    }
    let ro = RunOptions {
        save: Save::List(vec![col.to_string()]),
        spikes: Vec::new(),
    };
    let name = o.param.to_ascii_lowercase();
    let jobs: Vec<(usize, u64, Variation)> = (0..o.levels.len())
        .filter(|&k| nominal[k].is_some())
        .flat_map(|k| {
            (1..=mc.runs).flat_map(move |r| [(k, r, Variation::Both), (k, r, Variation::Global)])
        })
        .collect();
    let times: Vec<Result<Option<f64>>> = jobs
        .par_iter()
        .map_init(PartCache::default, |cache, &(k, r, var)| {
            let mut s = RunSampler::new(mc.seed, r, var);
            let mut overrides = o.set.clone();
            overrides.push((name.clone(), f64::from(o.levels[k])));
            let c = elaborate(
                nl,
                ElabOptions {
                    overrides,
                    random: Some(&mut s),
                },
            )?;
            // a run the engine cannot finish is a failed run, not a failed study
            let Ok(res) = run_with(&c, &ro, cache) else {
                return Ok(None);
            };
            let tran = res.tran.as_ref();
            let t = tran.and_then(|t| t.column("time"));
            let v = tran.and_then(|t| t.column(col));
            Ok(match (t, v) {
                (Some(t), Some(v)) => spike_time(&t, &v, o.v_th).filter(|&t| t < t_window),
                _ => None,
            })
        })
        .collect();
    let n = o.levels.len();
    let mut both = vec![Vec::new(); n];
    let mut glob = vec![Vec::new(); n];
    let mut failed = vec![0u64; n];
    for (&(k, _, var), t) in jobs.iter().zip(times) {
        let t = t.map_err(|mut e| {
            e.msg = format!("{netlist_name}: {name}={}: {}", o.levels[k], e.msg);
            e
        })?;
        match t {
            Some(t) if var == Variation::Both => both[k].push(t),
            Some(t) => glob[k].push(t),
            None => failed[k] += 1,
        }
    }
    let var = |x: &[f64]| {
        if x.len() < 2 {
            return 0.0;
        }
        let m = x.iter().sum::<f64>() / x.len() as f64;
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64
    };
    let device = (0..n)
        .map(|k| (var(&both[k]) - var(&glob[k])).max(0.0).sqrt())
        .collect();
    let read = (0..n).map(|k| var(&glob[k]).sqrt()).collect();
    Ok((device, read, failed))
}

/// The curve as CSV for `neurospice plot transfer`: `level,membrane_v,spike_rate_hz,spike_time_s`
/// (empty field where the neuron does not fire).
pub fn transfer_csv(t: &Transfer) -> String {
    let mut s = format!(
        "# neurospice chara {}: membrane at {:e} s, spike threshold {} V\nlevel,membrane_v,spike_rate_hz,spike_time_s\n",
        t.netlist, t.t_membrane_s, t.v_th_v
    );
    let opt = |v: Option<f64>| v.map(|x| format!("{x:e}")).unwrap_or_default();
    for k in 0..t.levels.len() {
        s.push_str(&format!(
            "{},{:e},{},{}\n",
            t.levels[k],
            t.membrane_v[k],
            opt(t.spike_rate_hz[k]),
            opt(t.spike_time_s[k])
        ));
    }
    s
}

/// The neuron name `chara` writes when none is given: the netlist's file stem.
pub fn default_name(netlist: &Path) -> String {
    netlist
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "neuron".into())
}

/// Writes the curve as JSON (the `circuit:FILE` format `snn eval` reads) and as CSV (for
/// `plot transfer`), each completely or not at all.
pub fn write_files(t: &Transfer, json_path: &Path, csv_path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(t)
        .map_err(|e| Error::output(format!("{}: {e}", json_path.display())))?;
    write_atomic(json_path, |w| writeln!(w, "{json}"))?;
    let text = transfer_csv(t);
    write_bytes(csv_path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_and_inl_by_hand() {
        let t = [0.0, 1.0, 2.0, 3.0];
        let v = [0.0, 0.2, 0.6, 0.9];
        assert!((spike_time(&t, &v, 0.4).unwrap() - 1.5).abs() < 1e-12);
        assert_eq!(spike_time(&t, &v, 1.0), None);
        assert!((value_at(&t, &v, 2.5).unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(value_at(&t, &v, 3.5), None);
        // y = x except 1 unit high at x = 2: line 0..4 over full scale 4, INL 25 %
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [Some(0.0), Some(1.0), Some(3.0), Some(3.0), Some(4.0)];
        assert!((inl_percent(&x, &y).unwrap() - 25.0).abs() < 1e-12);
        let y = [None, Some(1.0), Some(2.0), None, None];
        assert!(inl_percent(&x, &y).unwrap().abs() < 1e-12);
        assert_eq!(inl_percent(&x, &[None, None, Some(1.0), None, None]), None);
    }

    #[test]
    fn levels() {
        assert_eq!(parse_levels("0:3").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_levels("1,4").unwrap(), vec![1, 4]);
        assert_eq!(parse_levels("0:10:4").unwrap(), vec![0, 4, 8, 10]);
        assert_eq!(parse_levels("0:8:4").unwrap(), vec![0, 4, 8]);
        assert!(parse_levels("0:8:0").is_err());
        assert!(parse_levels("3:1").is_err());
        assert!(parse_levels("x").is_err());
    }
}
