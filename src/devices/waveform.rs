//! Time functions of independent sources, with ngspice's defaults and semantics.

use crate::error::{Error, Result};
use std::sync::atomic::Ordering;

/// A source waveform. Parameters that ngspice defaults from the analysis (`tstep`, `tstop`)
/// are `None` here and resolved at evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Wave {
    Dc(f64),
    /// PULSE(V1 V2 TD TR TF PW PER): TR/TF default to tstep, PW/PER to tstop.
    Pulse {
        v1: f64,
        v2: f64,
        td: f64,
        tr: Option<f64>,
        tf: Option<f64>,
        pw: Option<f64>,
        per: Option<f64>,
    },
    /// SIN(VO VA FREQ TD THETA PHASE): value VO + VA sin(phase) before TD.
    Sin {
        vo: f64,
        va: f64,
        freq: Option<f64>,
        td: f64,
        theta: f64,
        phase_deg: f64,
    },
    /// EXP(V1 V2 TD1 TAU1 TD2 TAU2): TD2 is measured from t = 0.
    Exp {
        v1: f64,
        v2: f64,
        td1: f64,
        tau1: Option<f64>,
        td2: Option<f64>,
        tau2: Option<f64>,
    },
    /// PWL(t1 v1 t2 v2 ...): holds the first value before t1 and the last after tn, or
    /// with `repeat = Some(k)` (ngspice's `r=` equal to the time of point k) repeats the
    /// points k..n for ever after tn, period tn - tk.
    Pwl {
        pts: Vec<(f64, f64)>,
        repeat: Option<usize>,
    },
    /// A waveform sampled by the simulator itself (multirate relaxation: a torn rail node's
    /// voltage from the last sweep, fed to the parts that draw from it): linear between the
    /// points like PWL, shared (not copied) by every part, and without corners, so a part
    /// that reads it keeps its own time steps.
    Sampled(std::sync::Arc<Vec<(f64, f64)>>, Cursor),
    /// TRNOISE(NA NT NALPHA NAMP RTSAM RTSCAPT RTSEMT): white Gaussian noise of standard
    /// deviation `na`, a new independent sample every `nt`, linear between samples, added to
    /// the source's DC value `offset`. Sample k (at t = k·nt) is drawn from the counter-based
    /// stream [`noise_sample`] keyed by `key` (the run's seed and the source's instance path,
    /// set by the elaborator); sample 0 is 0, so operating points and DC analyses are
    /// noise-free. `nt = 0` or `na = 0`: no noise. The 1/f and random-telegraph parts are
    /// refused when nonzero (not supported).
    TrNoise {
        na: f64,
        nt: f64,
        offset: f64,
        /// `None`: silent (a nominal run, see [`crate::netlist::Sampler::noise_key`]).
        key: Option<u64>,
    },
}

/// Where the last evaluation of a sampled waveform fell (a transient reads it at increasing
/// times, so the next one is almost always in the same or the next interval): a hint only,
/// equal to any other for comparisons.
#[derive(Debug, Default)]
pub struct Cursor(std::sync::atomic::AtomicUsize);

impl Clone for Cursor {
    fn clone(&self) -> Self {
        Cursor(std::sync::atomic::AtomicUsize::new(
            self.0.load(Ordering::Relaxed),
        ))
    }
}

impl PartialEq for Cursor {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Cursor {
    /// `pwl_value(pts, t)`, starting the search at the interval of the last call.
    fn value(&self, pts: &[(f64, f64)], t: f64) -> f64 {
        let k = self.0.load(Ordering::Relaxed);
        // the interval (pts[k-1], pts[k]] or the next one holds t: no search
        for k in [k, k + 1] {
            if k >= 1 && k < pts.len() && pts[k - 1].0 < t && t <= pts[k].0 {
                self.0.store(k, Ordering::Relaxed);
                let ((t0, v0), (t1, v1)) = (pts[k - 1], pts[k]);
                return if t == t1 {
                    v1
                } else {
                    v0 + (v1 - v0) * (t - t0) / (t1 - t0)
                };
            }
        }
        // gallop from the hint towards t, then bisect the bracket found
        let (mut lo, mut hi) = (0, pts.len());
        let k = k.min(pts.len());
        if k > 0 && pts[k - 1].0 < t {
            lo = k;
            let mut step = 1;
            while lo + step < pts.len() && pts[lo + step].0 < t {
                lo += step;
                step *= 2;
            }
            hi = (lo + step + 1).min(pts.len());
        }
        let k = lo + pts[lo..hi].partition_point(|p| p.0 < t);
        self.0.store(k, Ordering::Relaxed);
        pwl_value(pts, t)
    }
}

/// Linear interpolation between `pts` (ascending times), holding the first value before the
/// first point and the last after the last (0 without points).
fn pwl_value(pts: &[(f64, f64)], t: f64) -> f64 {
    if pts.is_empty() {
        return 0.0;
    }
    if t <= pts[0].0 {
        return pts[0].1;
    }
    let k = pts.partition_point(|p| p.0 <= t);
    if k >= pts.len() {
        return pts[pts.len() - 1].1;
    }
    let (t0, v0) = pts[k - 1];
    let (t1, v1) = pts[k];
    if t1 == t0 {
        v1
    } else {
        v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    }
}

/// The tag of transient-noise streams in [`crate::seed::chained`] keys ("trno").
const TRNOISE_TAG: u64 = 0x7472_6e6f;

/// Sample `k` of the white-noise stream `key`: N(0, 1), a pure function of (key, k) — the
/// crate's chained ChaCha8 layout, so samples are independent of evaluation order and
/// thread count; sample 0 is 0 (the noise starts at zero).
pub fn noise_sample(key: u64, k: u64) -> f64 {
    use rand::RngExt;
    if k == 0 {
        return 0.0;
    }
    let mut rng = crate::seed::chained(key, [k, 0, 0, TRNOISE_TAG]);
    rng.sample(rand_distr::StandardNormal)
}

impl Wave {
    /// The waveform `name` (`pulse`, `sin`, `exp` or `pwl`, lowercase) with its values as
    /// written, checked; an error has no location (the caller's is the function's name).
    pub fn from_args(name: &str, v: &[f64]) -> Result<Wave> {
        let g = |k: usize| v.get(k).copied();
        let need = |n: usize| -> Result<()> {
            if v.len() < n {
                Err(Error::netlist(
                    format!(
                        "{} expects at least {n} values, got {}",
                        name.to_uppercase(),
                        v.len()
                    ),
                    None,
                ))
            } else {
                Ok(())
            }
        };
        Ok(match name {
            "pulse" => {
                need(2)?;
                if v.len() > 8 {
                    return Err(Error::netlist(
                        format!("PULSE takes at most 8 values, got {}", v.len()),
                        None,
                    ));
                }
                Wave::Pulse {
                    v1: v[0],
                    v2: v[1],
                    td: g(2).unwrap_or(0.0),
                    tr: g(3),
                    tf: g(4),
                    pw: g(5),
                    per: g(6),
                }
            }
            "sin" => {
                need(2)?;
                Wave::Sin {
                    vo: v[0],
                    va: v[1],
                    freq: g(2),
                    td: g(3).unwrap_or(0.0),
                    theta: g(4).unwrap_or(0.0),
                    phase_deg: g(5).unwrap_or(0.0),
                }
            }
            "exp" => {
                need(2)?;
                Wave::Exp {
                    v1: v[0],
                    v2: v[1],
                    td1: g(2).unwrap_or(0.0),
                    tau1: g(3),
                    td2: g(4),
                    tau2: g(5),
                }
            }
            "trnoise" => {
                need(2)?;
                if v.len() > 7 {
                    return Err(Error::netlist(
                        format!("TRNOISE takes at most 7 values, got {}", v.len()),
                        None,
                    ));
                }
                let (na, nt) = (v[0], v[1]);
                if !(na.is_finite() && na >= 0.0) {
                    return Err(Error::netlist(
                        format!("TRNOISE amplitude NA must be 0 or more, got {na}"),
                        None,
                    ));
                }
                if !(nt.is_finite() && nt >= 0.0) {
                    return Err(Error::netlist(
                        format!("TRNOISE sample interval NT must be 0 or more, got {nt}"),
                        None,
                    ));
                }
                let nonzero = |k: usize| g(k).is_some_and(|x| x != 0.0);
                if nonzero(2) || nonzero(3) {
                    return Err(Error::netlist(
                        "TRNOISE: the 1/f part (NALPHA, NAMP) is not supported; write 0 0 \
                         for white noise only",
                        None,
                    ));
                }
                if nonzero(4) || nonzero(5) || nonzero(6) {
                    return Err(Error::netlist(
                        "TRNOISE: random telegraph noise (RTSAM, RTSCAPT, RTSEMT) is not \
                         supported; leave them out or write 0",
                        None,
                    ));
                }
                Wave::TrNoise {
                    na,
                    nt,
                    offset: 0.0,
                    key: Some(0),
                }
            }
            _ => {
                if v.len() < 2 || !v.len().is_multiple_of(2) {
                    return Err(Error::netlist(
                        format!("PWL expects time-value pairs, got {} values", v.len()),
                        None,
                    ));
                }
                let pts: Vec<(f64, f64)> = v.chunks(2).map(|c| (c[0], c[1])).collect();
                if pts.windows(2).any(|w| w[1].0 < w[0].0) {
                    return Err(Error::netlist("PWL times must not decrease", None));
                }
                Wave::Pwl { pts, repeat: None }
            }
        })
    }

    /// `r=` of a PWL (ngspice): repeat from the point whose time is `r` (compared with the
    /// times as written, before any `td=` shift). `r` past the last time, between two
    /// points, or equal to the last time (a zero period) is an error, as in ngspice.
    pub fn pwl_repeat(self, r: f64) -> Result<Wave> {
        let Wave::Pwl { pts, .. } = self else {
            return Err(Error::netlist("r= (repeat) belongs to PWL only", None));
        };
        let last = pts.last().map_or(0.0, |p| p.0);
        if r > last {
            return Err(Error::netlist(
                format!("PWL repeat time r={r} is past the last time point {last}"),
                None,
            ));
        }
        let Some(k) = pts.iter().position(|p| p.0 == r) else {
            return Err(Error::netlist(
                format!("PWL repeat time r={r} is not one of the time points"),
                None,
            ));
        };
        if k + 1 == pts.len() || r == last {
            return Err(Error::netlist(
                format!("PWL repeat time r={r} is the last time point: nothing to repeat"),
                None,
            ));
        }
        Ok(Wave::Pwl {
            pts,
            repeat: Some(k),
        })
    }

    /// Shifts every time of a PWL by `td` (its `td=`).
    pub fn pwl_delay(&mut self, td: f64) {
        if let Wave::Pwl { pts, .. } = self {
            for p in pts.iter_mut() {
                p.0 += td;
            }
        }
    }

    /// (start time, period) of a repeating PWL.
    fn pwl_period(pts: &[(f64, f64)], repeat: Option<usize>) -> Option<(f64, f64)> {
        let tk = pts.get(repeat?)?.0;
        let per = pts.last()?.0 - tk;
        (per > 0.0).then_some((tk, per))
    }

    fn pulse_params(
        tr: Option<f64>,
        tf: Option<f64>,
        pw: Option<f64>,
        per: Option<f64>,
        tstep: f64,
        tstop: f64,
    ) -> (f64, f64, f64, f64) {
        let tr = tr.filter(|v| *v != 0.0).unwrap_or(tstep);
        let tf = tf.filter(|v| *v != 0.0).unwrap_or(tstep);
        let pw = pw.unwrap_or(tstop);
        let per = per.filter(|v| *v != 0.0).unwrap_or(tstop);
        (tr, tf, pw, per)
    }

    /// Value at time `t` [s].
    pub fn value(&self, t: f64, tstep: f64, tstop: f64) -> f64 {
        match self {
            Wave::Dc(v) => *v,
            Wave::Pulse {
                v1,
                v2,
                td,
                tr,
                tf,
                pw,
                per,
            } => {
                let (tr, tf, pw, per) = Self::pulse_params(*tr, *tf, *pw, *per, tstep, tstop);
                let mut tt = t - td;
                if tt > per && per > 0.0 {
                    tt -= per * (tt / per).floor();
                }
                if tt <= 0.0 || tt >= tr + pw + tf {
                    *v1
                } else if tt >= tr && tt <= tr + pw {
                    *v2
                } else if tt < tr {
                    v1 + (v2 - v1) * tt / tr
                } else {
                    v2 + (v1 - v2) * (tt - tr - pw) / tf
                }
            }
            Wave::Sin {
                vo,
                va,
                freq,
                td,
                theta,
                phase_deg,
            } => {
                let f = freq.filter(|f| *f != 0.0).unwrap_or(1.0 / tstop);
                let ph = phase_deg.to_radians();
                let tt = t - td;
                if tt <= 0.0 {
                    vo + va * ph.sin()
                } else {
                    vo + va * (2.0 * std::f64::consts::PI * f * tt + ph).sin() * (-tt * theta).exp()
                }
            }
            Wave::Exp {
                v1,
                v2,
                td1,
                tau1,
                td2,
                tau2,
            } => {
                let tau1 = tau1.filter(|v| *v != 0.0).unwrap_or(tstep);
                let td2 = td2.filter(|v| *v != 0.0).unwrap_or(td1 + tstep);
                let tau2 = tau2.filter(|v| *v != 0.0).unwrap_or(tstep);
                if t <= *td1 {
                    *v1
                } else if t <= td2 {
                    v1 + (v2 - v1) * (1.0 - (-(t - td1) / tau1).exp())
                } else {
                    v1 + (v2 - v1) * (1.0 - (-(t - td1) / tau1).exp())
                        + (v1 - v2) * (1.0 - (-(t - td2) / tau2).exp())
                }
            }
            Wave::Pwl { pts, repeat } => {
                if pts.is_empty() {
                    return 0.0;
                }
                let t = match Self::pwl_period(pts, *repeat) {
                    Some((tk, per)) if t >= tk + per => tk + (t - tk).rem_euclid(per),
                    _ => t,
                };
                pwl_value(pts, t)
            }
            Wave::Sampled(pts, at) => at.value(pts, t),
            Wave::TrNoise {
                na,
                nt,
                offset,
                key,
            } => {
                let Some(key) = key else {
                    return *offset;
                };
                if *nt <= 0.0 || *na == 0.0 || t <= 0.0 {
                    return *offset;
                }
                let x = t / nt;
                let k = x.floor();
                let f = x - k;
                let k = k as u64;
                let a = noise_sample(*key, k);
                let n = if f == 0.0 {
                    a
                } else {
                    a + (noise_sample(*key, k + 1) - a) * f
                };
                offset + na * n
            }
        }
    }

    /// The noise stream's key slot of a transient-noise waveform (see [`Wave::TrNoise`]).
    pub fn noise_key(&mut self) -> Option<&mut Option<u64>> {
        match self {
            Wave::TrNoise { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Corners of the waveform in (t0, t1].
    pub fn breakpoints(&self, t0: f64, t1: f64, tstep: f64, tstop: f64, out: &mut Vec<f64>) {
        let mut push = |t: f64| {
            if t > t0 && t <= t1 {
                out.push(t);
            }
        };
        match self {
            Wave::Dc(_) => {}
            Wave::Pulse {
                td,
                tr,
                tf,
                pw,
                per,
                ..
            } => {
                let (tr, tf, pw, per) = Self::pulse_params(*tr, *tf, *pw, *per, tstep, tstop);
                let first = if t0 > *td && per > 0.0 {
                    ((t0 - td) / per).floor().max(0.0)
                } else {
                    0.0
                };
                let mut k = first;
                let mut periods = 0.0;
                loop {
                    let base = td + k * per;
                    if base > t1 {
                        break;
                    }
                    for c in [base, base + tr, base + tr + pw, base + tr + pw + tf] {
                        push(c);
                    }
                    k += 1.0;
                    periods += 1.0;
                    // periods the transient cannot resolve (the breakpoints merge closer than
                    // 1e-12 tstop) or could not afford (each costs a time point) stop here,
                    // and so does a period lost in rounding (a delay of -9e18 s: k + 1 == k)
                    let cap = (crate::budget::get().time_points as f64).min(1e7);
                    if per <= 1e-12 * tstop || periods > cap || td + k * per <= base {
                        break;
                    }
                }
            }
            Wave::Sin { td, .. } => push(*td),
            Wave::Exp { td1, td2, .. } => {
                push(*td1);
                push(td2.filter(|v| *v != 0.0).unwrap_or(td1 + tstep));
            }
            Wave::Pwl { pts, repeat } => {
                // the points in (t0, t1] only, found by bisection
                let from = pts.partition_point(|p| p.0 <= t0);
                for p in pts[from..].iter().take_while(|p| p.0 <= t1) {
                    push(p.0);
                }
                let Some((tk, per)) = Self::pwl_period(pts, *repeat) else {
                    return;
                };
                let Some(k) = *repeat else { return };
                // the repeated points tj + m·per (j >= k, m >= 1) in (t0, t1]; periods that
                // would cost more time points than the budget allows stop here
                let first = ((t0 - tk) / per).floor().max(1.0);
                let cap = (crate::budget::get().time_points as f64).min(1e7);
                let mut m = first;
                while tk + m * per <= t1 && m < first + cap {
                    for p in &pts[k + 1..] {
                        push(p.0 + m * per);
                    }
                    m += 1.0;
                }
            }
            // a sampled waveform follows the steps of whoever sampled it: no corners
            Wave::Sampled(..) => {}
            Wave::TrNoise { na, nt, key, .. } => {
                if *nt <= 0.0 || *na == 0.0 || key.is_none() {
                    return;
                }
                // every sample time is a corner; one more than the time-point budget at most
                // (each costs a time point: the transient refuses more before stepping)
                let cap = (crate::budget::get().time_points as f64 + 1.0).min(1e8);
                let first = (t0 / nt).floor().max(0.0) + 1.0;
                let mut k = first;
                while k * nt <= t1 && k < first + cap {
                    push(k * nt);
                    k += 1.0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn pulse_shape_and_defaults() {
        let w = Wave::Pulse {
            v1: 0.0,
            v2: 1.0,
            td: 1e-9,
            tr: None,
            tf: None,
            pw: Some(5e-9),
            per: Some(20e-9),
        };
        // TR/TF default to tstep = 1 ns
        assert_eq!(w.value(0.5e-9, 1e-9, 100e-9), 0.0);
        assert!((w.value(1.5e-9, 1e-9, 100e-9) - 0.5).abs() < 1e-12);
        assert_eq!(w.value(4e-9, 1e-9, 100e-9), 1.0);
        assert!((w.value(7.5e-9, 1e-9, 100e-9) - 0.5).abs() < 1e-12);
        assert!(
            (w.value(21.5e-9, 1e-9, 100e-9) - 0.5).abs() < 1e-9,
            "periodic"
        );
    }
    #[test]
    fn exp_td2_from_zero_and_pwl_hold() {
        let w = Wave::Exp {
            v1: 0.0,
            v2: 1.0,
            td1: 1.0,
            tau1: Some(1.0),
            td2: Some(3.0),
            tau2: Some(1.0),
        };
        let v3 = 1.0 - (-2.0f64).exp();
        assert!((w.value(3.0, 0.1, 10.0) - v3).abs() < 1e-12);
        let p = Wave::Pwl {
            pts: vec![(1.0, 2.0), (2.0, 4.0)],
            repeat: None,
        };
        assert_eq!(p.value(0.0, 0.1, 5.0), 2.0);
        assert_eq!(p.value(1.5, 0.1, 5.0), 3.0);
        assert_eq!(p.value(9.0, 0.1, 5.0), 4.0);
        // r=1: points 1..2 repeat with period 1 (2 -> 4, then back to 2 at t = 2: ngspice
        // takes the repeated point's value at the seam)
        let r = p.clone().pwl_repeat(1.0).unwrap();
        assert_eq!(r.value(1.999, 0.1, 5.0), 3.998);
        assert_eq!(r.value(2.0, 0.1, 5.0), 2.0);
        assert!((r.value(2.25, 0.1, 5.0) - 2.5).abs() < 1e-12);
        assert!((r.value(3.5, 0.1, 5.0) - 3.0).abs() < 1e-12);
        let mut bp = Vec::new();
        r.breakpoints(0.0, 3.5, 0.1, 5.0, &mut bp);
        assert_eq!(bp, vec![1.0, 2.0, 3.0]);
        assert!(p.clone().pwl_repeat(1.5).is_err(), "not a time point");
        assert!(p.clone().pwl_repeat(2.0).is_err(), "zero period");
        let s = Wave::Sin {
            vo: 1.0,
            va: 2.0,
            freq: Some(1.0),
            td: 1.0,
            theta: 0.0,
            phase_deg: 90.0,
        };
        assert!(
            (s.value(0.5, 0.1, 5.0) - 3.0).abs() < 1e-12,
            "sin before td holds vo + va sin(phase)"
        );
    }
}
