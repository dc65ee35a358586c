//! The time of the next event (gnucap's `tr_review` event half): source breakpoints, and the
//! threshold crossings of event functions (device events: a switch's threshold, a B-source
//! comparison; spike probes: a node crossing a voltage). A crossing predicted from an event
//! function that has been a straight line is landed on directly; one found only after a step
//! crossed it is located by inverse quadratic interpolation and landed on by rejecting the
//! step. The step lands just before the crossing and a step of the event tolerance goes
//! across; a probe's landing leaves the integration undisturbed.

use super::system::System;
use crate::circuit::Options;
use crate::devices::DeviceOps;

/// Source corners and the start and end of the output, in order.
pub(super) struct Breakpoints {
    bps: Vec<f64>,
    /// The first breakpoint after the present time.
    next: usize,
    /// Times this close to a breakpoint are on it.
    pub t_tol: f64,
}

impl Breakpoints {
    pub fn new(sys: &System, tstep: f64, tstart: f64, tstop: f64) -> Breakpoints {
        let mut bps = Vec::new();
        for d in &sys.devs {
            d.dev.breakpoints(0.0, tstop, tstep, tstop, &mut bps);
        }
        bps.push(tstop);
        if tstart > 0.0 {
            bps.push(tstart);
        }
        bps.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        bps.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * tstop);
        Breakpoints {
            bps,
            next: 0,
            t_tol: 1e-9 * tstop,
        }
    }

    /// How many breakpoints there are (each costs a time point).
    pub fn count(&self) -> usize {
        self.bps.len()
    }

    /// The first breakpoint after `t` (or `tstop`).
    fn after(&mut self, t: f64, tstop: f64) -> f64 {
        while self.next < self.bps.len() && self.bps[self.next] <= t + self.t_tol {
            self.next += 1;
        }
        self.bps.get(self.next).copied().unwrap_or(tstop)
    }

    /// The step `h` from `t` cut to land on the next breakpoint, and whether it does: a step
    /// reaching it (or within a sliver of it) ends on it; one that would leave a sliver
    /// before it takes half of what remains.
    pub fn clamp(&mut self, t: f64, h: f64, hmin: f64, tstop: f64) -> (f64, bool) {
        let next = self.after(t, tstop);
        if t + h >= next - self.t_tol || t + h > next - 0.1 * hmin {
            (next - t, true)
        } else if t + 2.0 * h > next {
            (0.5 * (next - t), false)
        } else {
            (h, false)
        }
    }

    /// The gap from `t` to the next breakpoint after it (from the one `after` last gave).
    pub fn gap(&self, t: f64, tstop: f64) -> f64 {
        self.bps[self.next..]
            .iter()
            .find(|&&b| b > t + self.t_tol)
            .map(|b| b - t)
            .unwrap_or(tstop - t)
    }

    /// The gap from t = 0 to the first breakpoint after it.
    pub fn first_gap(&self, tstop: f64) -> f64 {
        self.bps
            .iter()
            .find(|&&b| b > self.t_tol)
            .copied()
            .unwrap_or(tstop)
    }
}

/// What the prediction of a straight event function decided for the coming step.
pub(super) enum Prediction {
    /// Nothing within the step.
    None,
    /// A probe crosses inside the step at the time given, within the tolerance given: the
    /// step takes it and the spike time is interpolated.
    Probe(f64, f64),
    /// Land just before a crossing: the step is cut to the length given.
    Land(f64),
}

/// What the event functions say about an attempted step.
pub(super) enum Detection {
    /// Reject it and land before the crossing found in it: retry with the step given.
    Land(f64),
    /// Reject it: the crossing lies within the event tolerance of its start, so it is located
    /// already; retry with the short step across it given (`true`: a device changes state
    /// there, so the step across restarts the integration).
    Cross(f64, bool),
    /// Accept it; `t_event` is the earliest crossing in it (infinite: none), `device`
    /// whether a device changes state there.
    Accept { t_event: f64, device: bool },
}

/// The event functions (devices' then probes') at the last accepted points, and the landing
/// under way.
pub(super) struct Events {
    /// Spike probes: (unknown, threshold [V]).
    probes: Vec<(usize, f64)>,
    n_dev: usize,
    n: usize,
    g_prev: Vec<f64>,
    /// The values at the accepted point before g_prev's, `h_pp` before it, when both were
    /// taken with the same thresholds (no device event between them).
    g_pp: Vec<f64>,
    h_pp: f64,
    pp_valid: bool,
    /// And the point before that, for predicting crossings of straight event functions.
    g_ppp: Vec<f64>,
    h_ppp: f64,
    ppp_valid: bool,
    g_new: Vec<f64>,
    /// The smallest step [s].
    hmin: f64,
    /// The relative and voltage tolerances event functions are located to.
    reltol: f64,
    vntol: f64,
    ev_tol_max: f64,
    /// The time tolerance of the crossing being landed on.
    pub ev_tol: f64,
    /// The next step crosses a crossing landed just before.
    pub cross_next: bool,
    /// The landing under way is for a spike probe only (no device changes state there): the
    /// integration goes on undisturbed and resumes its step `h_resume` after the crossing.
    pub probe_landing: bool,
    pub h_resume: f64,
    /// The step just landed before a probe's crossing: the next step may take the crossing
    /// within the event tolerance of its start, so no separate short step across is needed.
    pub probe_armed: bool,
    /// The present attempt is the short step across a crossing landed just before: it is
    /// accepted wherever in it the crossing lies (its length is the event tolerance).
    pub crossing_step: bool,
    pub crossing_tries: usize,
    /// Event-function values of the rejected attempts from the present t: (function, step,
    /// value) for the earliest crossing event, so a repeated landing can interpolate through
    /// three points.
    tries: Vec<(usize, f64, f64)>,
}

impl Events {
    /// Events of `sys` and the spike `probes`, located to within `ev_tol_max` [s] at most
    /// and steps of `hmin` at least.
    pub fn new(
        sys: &System,
        probes: &[(usize, f64)],
        ev_tol_max: f64,
        hmin: f64,
        o: &Options,
    ) -> Events {
        let n_dev = sys.n_ev;
        let n = n_dev + probes.len();
        Events {
            probes: probes.to_vec(),
            n_dev,
            n,
            g_prev: vec![0.0; n],
            g_pp: vec![0.0; n],
            h_pp: 0.0,
            pp_valid: false,
            g_ppp: vec![0.0; n],
            h_ppp: 0.0,
            ppp_valid: false,
            g_new: vec![0.0; n],
            hmin,
            reltol: o.reltol,
            vntol: o.vntol,
            ev_tol_max,
            ev_tol: ev_tol_max,
            cross_next: false,
            probe_landing: false,
            h_resume: 0.0,
            probe_armed: false,
            crossing_step: false,
            crossing_tries: 0,
            tries: Vec::new(),
        }
    }

    fn eval(&self, sys: &mut System, x: &[f64], t: f64, g: &mut [f64]) {
        sys.events(x, t, &mut g[..self.n_dev]);
        for (k, &(u, th)) in self.probes.iter().enumerate() {
            g[self.n_dev + k] = x[u] - th;
        }
    }

    /// The event functions at the accepted point `x` at `t` (the start, or after a device
    /// event changed the thresholds).
    pub fn reset(&mut self, sys: &mut System, x: &[f64], t: f64) {
        let mut g = std::mem::take(&mut self.g_prev);
        self.eval(sys, x, t, &mut g);
        self.g_prev = g;
    }

    /// Whether an event function that has been a straight line over the last two steps will
    /// cross within the step `h` from `t`: then land just before the crossing now instead of
    /// stepping past it and rejecting the step.
    pub fn predict(&mut self, t: f64, h: f64) -> Prediction {
        let hmin = self.hmin;
        if !(self.ppp_valid && !self.cross_next && !self.crossing_step && !self.probe_armed) {
            return Prediction::None;
        }
        let mut best: Option<(f64, f64, bool)> = None;
        for k in 0..self.n {
            let (g0, g1, g2) = (self.g_ppp[k], self.g_pp[k], self.g_prev[k]);
            let (s1, s2) = ((g1 - g0) / self.h_ppp, (g2 - g1) / self.h_pp);
            let probe = k >= self.n_dev;
            let heading = (g2 < 0.0 && s2 > 0.0) || (!probe && g2 > 0.0 && s2 < 0.0);
            if !heading || (s2 - s1).abs() > 1e-3 * s2.abs() {
                continue;
            }
            let s_c = -g2 / s2;
            if s_c < h && best.is_none_or(|b| s_c < b.0) {
                // the tolerance the detection would give this crossing
                let tol_g = self.reltol * (s2 * h).abs() + self.vntol;
                let tol = (tol_g / s2.abs()).clamp(10.0 * hmin, self.ev_tol_max);
                best = Some((s_c, tol, probe));
            }
        }
        if let Some((s_c, tol, true)) = best {
            // a probe crossing a straight line needs no landing: the step takes it and the
            // spike time is interpolated in it (exactly, for a line), provided the step
            // confirms the predicted instant
            return Prediction::Probe(t + s_c, tol);
        }
        if let Some((s_c, tol, probe)) = best
            && s_c - 0.5 * tol > 10.0 * hmin
        {
            self.h_resume = h;
            self.ev_tol = tol;
            self.cross_next = true;
            self.probe_landing = probe;
            return Prediction::Land(s_c - 0.5 * tol);
        }
        Prediction::None
    }

    /// The crossings in the attempted step `h` from `t` to `x_new`: either the step is
    /// accepted, or it crossed an event before its end by more than the event tolerance and
    /// is retried with a step landing just before that crossing.
    pub fn detect(
        &mut self,
        sys: &mut System,
        x_new: &[f64],
        t: f64,
        h: f64,
        predicted: &Prediction,
    ) -> Detection {
        let hmin = self.hmin;
        let mut t_event = f64::INFINITY;
        let mut device_event = false;
        if self.n == 0 {
            return Detection::Accept {
                t_event,
                device: device_event,
            };
        }
        let mut g_new = std::mem::take(&mut self.g_new);
        self.eval(sys, x_new, t + h, &mut g_new);
        self.g_new = g_new;
        let mut k_event = usize::MAX;
        for k in 0..self.n {
            let (a, b) = (self.g_prev[k], self.g_new[k]);
            let rising = a < 0.0 && b >= 0.0;
            if rising || (k < self.n_dev && a > 0.0 && b <= 0.0) {
                device_event |= k < self.n_dev;
                let tc = t + h * a / (a - b);
                if tc < t_event {
                    t_event = tc;
                    k_event = k;
                    if !self.crossing_step {
                        // the crossing is located to a tolerance on the event function (volts
                        // for a switch: the state after the event depends on how far past the
                        // threshold it fires), turned into time through the local slope: the
                        // Newton tolerance on the step's swing, reltol |dg| + vntol (see
                        // docs/speed.md: a tenth of it cost 11 % more steps on the rail
                        // arrays and no accuracy)
                        let slope = ((b - a) / h).abs();
                        let tol_g = self.reltol * (b - a).abs() + self.vntol;
                        self.ev_tol = (tol_g / slope).clamp(10.0 * hmin, self.ev_tol_max);
                    }
                }
            }
        }
        // a probe crossing right at the start of the step after its landing is located
        // already: the spike time is interpolated inside the step, within ev_tol
        let probe_at_start = self.probe_armed && !device_event && t_event <= t + self.ev_tol;
        let probe_as_predicted = !device_event
            && matches!(predicted, Prediction::Probe(tp, tol) if (t_event - tp).abs() <= *tol);
        if t_event < t + h - self.ev_tol
            && !self.crossing_step
            && !probe_at_start
            && !probe_as_predicted
        {
            // land just before the crossing, then step across it with a tiny step, so the
            // jump is bracketed by two points ev_tol apart
            sys.stats.rejected_steps += 1;
            let a = self.g_prev[k_event];
            let b = self.g_new[k_event];
            let mut s_c = t_event - t;
            // the chord of a curved event function aims past the root, so the crossing is
            // estimated by inverse quadratic interpolation through three points: the start,
            // this attempt, and either the previous attempt from the same start (a landing
            // that crossed again) or the accepted point before the start
            let third = match self.tries.last() {
                Some(&(k1, h1, b1)) if k1 == k_event => Some((h1, b1)),
                Some(_) => None,
                None if self.pp_valid => Some((-self.h_pp, self.g_pp[k_event])),
                None => None,
            };
            if let Some(s) = third.and_then(|p| inverse_quadratic_root([p, (0.0, a), (h, b)]))
                && s > 0.0
                && s < h.min(self.tries.last().map_or(h, |tr| tr.1))
            {
                s_c = s;
            }
            if self.tries.is_empty() {
                self.h_resume = h;
            }
            self.probe_landing = !device_event;
            let h_land = s_c - 0.5 * self.ev_tol;
            if h_land < 0.5 * self.ev_tol {
                // landing "just before" a crossing this close to the start would be a sliver
                // of a step (down to the minimum step, where the charges' rounding swamps the
                // Newton test on branch currents): the crossing is located, step across it
                self.tries.clear();
                self.crossing_step = true;
                return Detection::Cross((s_c + 0.5 * self.ev_tol).max(hmin), device_event);
            }
            self.tries.push((k_event, h, b));
            self.cross_next = true;
            return Detection::Land(h_land.max(hmin));
        }
        Detection::Accept {
            t_event,
            device: device_event,
        }
    }

    /// The step `h` from `t` is accepted: reports the probes it crossed rising to `spike`.
    pub fn accepted(&mut self, t: f64, h: f64, spike: &mut dyn FnMut(usize, f64)) {
        self.tries.clear();
        for k in 0..self.probes.len() {
            let (a, b) = (self.g_prev[self.n_dev + k], self.g_new[self.n_dev + k]);
            if a < 0.0 && b >= 0.0 {
                spike(k, t + h * a / (a - b));
            }
        }
    }

    /// After the accepted step `h` to `x` at `t`: a device event changed the thresholds, so
    /// the functions are taken afresh; otherwise the values just computed are the accepted
    /// point's and the history shifts.
    pub fn advance(&mut self, sys: &mut System, x: &[f64], t: f64, h: f64, device_event: bool) {
        if device_event {
            self.reset(sys, x, t);
            self.pp_valid = false;
            self.ppp_valid = false;
        } else {
            std::mem::swap(&mut self.g_ppp, &mut self.g_pp);
            std::mem::swap(&mut self.g_pp, &mut self.g_prev);
            std::mem::swap(&mut self.g_prev, &mut self.g_new);
            (self.h_ppp, self.h_pp) = (self.h_pp, h);
            self.ppp_valid = self.pp_valid;
            self.pp_valid = true;
        }
    }
}

/// The root (the s where g = 0) of the inverse quadratic through three (s, g) points, if the
/// g are distinct and the result finite.
fn inverse_quadratic_root(p: [(f64, f64); 3]) -> Option<f64> {
    let [(s0, g0), (s1, g1), (s2, g2)] = p;
    if g0 == g1 || g1 == g2 || g0 == g2 {
        return None;
    }
    let s = s0 * g1 * g2 / ((g0 - g1) * (g0 - g2))
        + s1 * g0 * g2 / ((g1 - g0) * (g1 - g2))
        + s2 * g0 * g1 / ((g2 - g0) * (g2 - g1));
    s.is_finite().then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inverse quadratic interpolation is exact when s is a quadratic function of g.
    #[test]
    fn inverse_quadratic_root_of_a_quadratic() {
        let s = |g: f64| 0.5 + 2.0 * g - 3.0 * g * g;
        let p = [-0.3, 0.1, 0.4].map(|g| (s(g), g));
        let r = inverse_quadratic_root(p).unwrap();
        assert!((r - 0.5).abs() < 1e-12, "{r}");
        assert_eq!(
            inverse_quadratic_root([(0.0, 1.0), (1.0, 1.0), (2.0, 3.0)]),
            None
        );
    }
}
