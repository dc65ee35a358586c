//! Transient analysis: trapezoidal or Gear-2 on the charges Q, variable steps from the local
//! truncation error of the charge history, breakpoints at source corners, and events (switch
//! thresholds, B-source comparisons) located in time.

use super::copy_small;
use super::op::operating_point;
use super::system::{NewtonCtx, System};
use crate::circuit::Method;
use crate::devices::DeviceOps;
use crate::error::{Error, Result};

/// Transient settings.
#[derive(Debug, Clone)]
pub struct TranSpec {
    pub tstep: f64,
    pub tstop: f64,
    pub tstart: f64,
    pub tmax: Option<f64>,
    pub uic: bool,
    /// `.ic` node voltages.
    pub ic: Vec<(usize, f64)>,
    /// Spike probes: (unknown, threshold [V]); rising crossings are located like events and
    /// reported through `Recorder::spike`, without disturbing the integration.
    pub probes: Vec<(usize, f64)>,
}

/// Receives accepted time points.
pub trait Recorder {
    fn point(&mut self, t: f64, x: &[f64]);
    /// The operating point the transient started from.
    fn initial(&mut self, _x: &[f64]) {}
    /// Probe `k` crossed its threshold rising at time `t`.
    fn spike(&mut self, _k: usize, _t: f64) {}
}

/// The largest factor a step may grow by (right after a device event; 2 otherwise).
const MAX_GROWTH: f64 = 1e4;

/// Conductance that pins `.ic` nodes during the initial operating point [S].
const IC_PIN: f64 = 1e3;

/// Runs the transient; accepted points at t >= tstart go to `rec`.
pub fn transient(sys: &mut System, spec: &TranSpec, rec: &mut dyn Recorder) -> Result<()> {
    let n = sys.n();
    let tstop = spec.tstop;
    sys.tstep = spec.tstep;
    sys.tstop = tstop;
    let o = sys.opts.clone();
    let tmax = spec
        .tmax
        .unwrap_or_else(|| spec.tstep.min((tstop - spec.tstart) / 50.0))
        .min(tstop);
    let hmin = 1e-11 * tmax;
    let mut x = vec![0.0; n + 1];
    // initial point
    if spec.uic {
        for &(k, v) in &spec.ic {
            x[k] = v;
        }
        for d in &sys.devs {
            d.dev.initial_state(&mut x);
        }
    } else {
        // ngspice's .ic without uic: the nodes are held at their values during the operating point
        sys.pins = spec.ic.iter().map(|&(k, v)| (k, v, IC_PIN)).collect();
        let r = operating_point(sys, &mut x, "transient");
        sys.pins.clear();
        r?;
    }
    rec.initial(&x);
    sys.load(&x, 0.0, !spec.uic, 1.0, false);
    let mut qh: Vec<Vec<f64>> = vec![
        sys.q.clone(),
        vec![0.0; n + 1],
        vec![0.0; n + 1],
        vec![0.0; n + 1],
    ];
    // the accepted step sizes, most recent first (the time differences of the history)
    let mut hh = [0.0f64; 3];
    // reciprocal time differences of the divided-difference table for the key (need, h,
    // hh[0], hh[1]): recomputed only when a step size changes
    let mut rdt = [[0.0f64; 4]; 4];
    let mut rdt_key = (0usize, [f64::NAN; 3]);
    let mut nh = 1usize; // valid history entries since the last discontinuity
    let mut qdot = vec![0.0; n + 1];
    let mut hist = vec![0.0; n + 1];
    sys.accept(&x, 0.0);
    // with uic the initial vector is not a solution (ngspice does not write it either)
    if spec.tstart <= 0.0 && !spec.uic {
        rec.point(0.0, &x);
    }
    let n_dev_ev = sys.n_ev;
    let n_ev = n_dev_ev + spec.probes.len();
    let mut g_prev = vec![0.0; n_ev];
    // the event values at the accepted point before g_prev's, `h_pp` before it, when both
    // were taken with the same thresholds (no device event between them)
    let mut g_pp = vec![0.0; n_ev];
    let mut h_pp = 0.0;
    let mut pp_valid = false;
    // and the point before that, for predicting crossings of straight event functions
    let mut g_ppp = vec![0.0; n_ev];
    let mut h_ppp = 0.0;
    let mut ppp_valid = false;
    let mut g_new = vec![0.0; n_ev];
    let eval_events = |sys: &mut System, x: &[f64], t: f64, g: &mut [f64]| {
        sys.events(x, t, &mut g[..n_dev_ev]);
        for (k, &(u, th)) in spec.probes.iter().enumerate() {
            g[n_dev_ev + k] = x[u] - th;
        }
    };
    eval_events(sys, &x, 0.0, &mut g_prev);
    // breakpoints
    let mut bps = Vec::new();
    for d in &sys.devs {
        d.dev.breakpoints(0.0, tstop, spec.tstep, tstop, &mut bps);
    }
    bps.push(tstop);
    if spec.tstart > 0.0 {
        bps.push(spec.tstart);
    }
    bps.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    bps.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * tstop);
    let mut bi = 0usize;
    let t_tol = 1e-9 * tstop;
    let ev_tol_max = (1e-7 * tstop).max(hmin);
    let mut ev_tol = ev_tol_max;
    let mut t = 0.0f64;
    let mut h = spec.tstep.min(tmax).min(tstop / 100.0) / 10.0;
    // ngspice's start: t = 0 is a breakpoint (a tenth of the smaller of the step and the gap
    // to the next breakpoint), and the very first step is cut by another 10, so a source that
    // starts with a ramp is resolved rather than crossed by one backward-Euler step
    let gap0 = bps.iter().find(|&&b| b > t_tol).copied().unwrap_or(tstop);
    h = (0.1 * h.min(gap0)) / 10.0;
    let mut order = 1usize;
    let mut h_prev = h;
    let mut x_new = vec![0.0; n + 1];
    let mut cross_next = false;
    // the landing under way is for a spike probe only (no device changes state there): the
    // integration goes on undisturbed and resumes its step `h_resume` after the crossing
    let mut probe_landing = false;
    let mut h_resume = 0.0f64;
    // the step just landed before a probe's crossing: the next step may take the crossing
    // within the event tolerance of its start, so no separate short step across is needed
    let mut probe_armed = false;
    // the present attempt is the short step across a crossing landed just before: it is
    // accepted wherever in it the crossing lies (its length is the event tolerance)
    let mut crossing_step = false;
    let mut crossing_tries = 0;
    // event-function values of the rejected attempts from the present t: (step, value) for the
    // earliest crossing event, so a repeated landing can interpolate through three points
    let mut tries: Vec<(usize, f64, f64)> = Vec::new();
    // whether the integration restarted at a device event (not a source breakpoint): then the
    // first steps after it measure the new dynamics and may grow quickly
    let mut after_event = false;
    let gear = o.method == Method::Gear;
    while t < tstop - t_tol {
        while bi < bps.len() && bps[bi] <= t + t_tol {
            bi += 1;
        }
        let next_bp = bps.get(bi).copied().unwrap_or(tstop);
        let mut hit_bp = false;
        if t + h >= next_bp - t_tol || t + h > next_bp - 0.1 * hmin {
            h = next_bp - t;
            hit_bp = true;
        } else if t + 2.0 * h > next_bp {
            // avoid a sliver step before the breakpoint: split the remainder in two
            h = 0.5 * (next_bp - t);
        }
        let mut probe_pred: Option<(f64, f64)> = None;
        if ppp_valid && !cross_next && !crossing_step && !probe_armed {
            // an event function that has been a straight line over the last two steps and
            // will cross within this one: land just before the crossing now, instead of
            // stepping past it and rejecting the step
            let mut best: Option<(f64, f64, bool)> = None;
            for k in 0..n_ev {
                let (g0, g1, g2) = (g_ppp[k], g_pp[k], g_prev[k]);
                let (s1, s2) = ((g1 - g0) / h_ppp, (g2 - g1) / h_pp);
                let probe = k >= n_dev_ev;
                let heading = (g2 < 0.0 && s2 > 0.0) || (!probe && g2 > 0.0 && s2 < 0.0);
                if !heading || (s2 - s1).abs() > 1e-3 * s2.abs() {
                    continue;
                }
                let s_c = -g2 / s2;
                if s_c < h && best.is_none_or(|b| s_c < b.0) {
                    // the tolerance the detection would give this crossing
                    let tol_g = 0.1 * (o.reltol * (s2 * h).abs() + o.vntol);
                    let tol = (tol_g / s2.abs()).clamp(10.0 * hmin, ev_tol_max);
                    best = Some((s_c, tol, probe));
                }
            }
            if let Some((s_c, tol, true)) = best {
                // a probe crossing a straight line needs no landing: the step takes it and
                // the spike time is interpolated in it (exactly, for a line), provided the
                // step confirms the predicted instant
                probe_pred = Some((t + s_c, tol));
            } else if let Some((s_c, tol, probe)) = best
                && s_c - 0.5 * tol > 10.0 * hmin
            {
                h_resume = h;
                h = s_c - 0.5 * tol;
                ev_tol = tol;
                hit_bp = false;
                cross_next = true;
                probe_landing = probe;
            }
        }
        // integration coefficients: dQ/dt(t+h) = a0 Q(t+h) + hist
        let (a0, use_order) = if order == 1 || nh < 2 {
            let a0 = 1.0 / h;
            for (hi, &q0) in hist[1..].iter_mut().zip(&qh[0][1..]) {
                *hi = -q0 * a0;
            }
            (a0, 1)
        } else if gear {
            let h1 = h_prev;
            let a0 = (2.0 * h + h1) / (h * (h + h1));
            let a1 = -(h + h1) / (h * h1);
            let a2 = h / (h1 * (h + h1));
            for ((hi, &q0), &q1) in hist[1..].iter_mut().zip(&qh[0][1..]).zip(&qh[1][1..]) {
                *hi = a1 * q0 + a2 * q1;
            }
            (a0, 2)
        } else {
            let a0 = 2.0 / h;
            for ((hi, &q0), &qd) in hist[1..].iter_mut().zip(&qh[0][1..]).zip(&qdot[1..]) {
                *hi = -a0 * q0 - qd;
            }
            (a0, 2)
        };
        copy_small(&mut x_new, &x);
        let ctx = NewtonCtx {
            time: t + h,
            dc: false,
            a0,
            hist: Some(&hist),
            gshunt: 0.0,
            src_fact: 1.0,
            init_junctions: false,
            max_iter: o.itl4.max(10),
        };
        if let Err(f) = sys.newton(&mut x_new, &ctx) {
            sys.stats.rejected_steps += 1;
            h /= 8.0;
            order = 1;
            if h < hmin {
                let mut e = sys.fail_error(&format!("transient at t = {:.6e} s", t), &f);
                e.msg = format!(
                    "timestep too small at t = {:.6e} s (step {:.3e} s): {}",
                    t,
                    h * 8.0,
                    e.msg
                );
                return Err(e.with_note("tried: step cuts by 8x down to the minimum step, restarting with backward Euler"));
            }
            continue;
        }
        if !sys.q_at_solution {
            sys.load(&x_new, t + h, false, 1.0, false);
        }
        let q_new = &sys.q;
        // local truncation error from divided differences of the charge history
        let mut h_lte = f64::INFINITY;
        let need = use_order + 2;
        if nh + 1 >= need {
            let (fac, k) = if use_order == 1 {
                (0.5 * 2.0, 1)
            } else if gear {
                (2.0 / 9.0 * 6.0, 2)
            } else {
                (1.0 / 12.0 * 6.0, 2)
            };
            let key = (need, [h, hh[0], hh[1]]);
            if key.0 != rdt_key.0
                || key
                    .1
                    .iter()
                    .zip(&rdt_key.1)
                    .any(|(a, b)| a.to_bits() != b.to_bits())
            {
                // time differences from the step sizes: d[j] = t_j - t_{j+1}
                let d = [h, hh[0], hh[1]];
                for lvl in 1..need {
                    for j in 0..need - lvl {
                        let span: f64 = d[j..j + lvl].iter().sum();
                        rdt[lvl][j] = 1.0 / span;
                    }
                }
                rdt_key = key;
            }
            // the smallest allowed step over the rows, del = trtol tol / (fac |dd|), kept as
            // the fraction num / den and compared by cross-multiplication: no division per row
            let (mut num, mut den) = (f64::INFINITY, 1.0);
            let chg_floor = o.reltol * o.chgtol / h;
            for i in 1..n + 1 {
                let vals = [q_new[i], qh[0][i], qh[1][i], qh[2][i]];
                if vals[..need].iter().all(|v| *v == 0.0) {
                    continue;
                }
                let dd = divided_difference(&rdt, need, vals);
                if dd == 0.0 {
                    continue;
                }
                let qd_new = a0 * q_new[i] + hist[i];
                // ngspice's current tolerance on the row (its charge term, reltol*|q|/h, is left
                // out: it grows as the current crosses zero and lets oscillators drift)
                let tol = (o.reltol * qd_new.abs().max(qdot[i].abs()) + o.abstol).max(chg_floor);
                let (nu, de) = (o.trtol * tol, fac * dd.abs());
                if nu * den < num * de || num.is_infinite() {
                    (num, den) = (nu, de);
                }
            }
            // every use of h_lte is capped at MAX_GROWTH h (the fastest growth), so a bound
            // beyond it is as good as none and skips the division and square root
            let cap = MAX_GROWTH * h;
            let cap_k = if k == 1 { cap } else { cap * cap };
            h_lte = if num >= cap_k * den {
                f64::INFINITY
            } else if k == 1 {
                num / den
            } else {
                (num / den).sqrt()
            };
        }
        if h_lte < 0.9 * h && h > hmin {
            sys.stats.rejected_steps += 1;
            h = h_lte.max(h / 8.0).max(hmin);
            continue;
        }
        // events: a sign change since the last accepted point
        let mut t_event = f64::INFINITY;
        let mut device_event = false;
        if n_ev > 0 {
            eval_events(sys, &x_new, t + h, &mut g_new);
            let mut k_event = usize::MAX;
            for k in 0..n_ev {
                let (a, b) = (g_prev[k], g_new[k]);
                let rising = a < 0.0 && b >= 0.0;
                if rising || (k < n_dev_ev && a > 0.0 && b <= 0.0) {
                    device_event |= k < n_dev_ev;
                    let tc = t + h * a / (a - b);
                    if tc < t_event {
                        t_event = tc;
                        k_event = k;
                        if !crossing_step {
                            // the crossing is located to a tolerance on the event function
                            // (volts for a switch: the state after the event depends on how
                            // far past the threshold it fires), turned into time through the
                            // local slope
                            let slope = ((b - a) / h).abs();
                            let tol_g = 0.1 * (o.reltol * (b - a).abs() + o.vntol);
                            ev_tol = (tol_g / slope).clamp(10.0 * hmin, ev_tol_max);
                        }
                    }
                }
            }
            // a probe crossing right at the start of the step after its landing is located
            // already: the spike time is interpolated inside the step, within ev_tol
            let probe_at_start = probe_armed && !device_event && t_event <= t + ev_tol;
            let probe_as_predicted =
                !device_event && probe_pred.is_some_and(|(tp, tol)| (t_event - tp).abs() <= tol);
            if t_event < t + h - ev_tol && !crossing_step && !probe_at_start && !probe_as_predicted
            {
                // land just before the crossing, then step across it with a tiny step, so the
                // jump is bracketed by two points ev_tol apart
                sys.stats.rejected_steps += 1;
                let a = g_prev[k_event];
                let b = g_new[k_event];
                let mut s_c = t_event - t;
                // the chord of a curved event function aims past the root, so the crossing is
                // estimated by inverse quadratic interpolation through three points: the start,
                // this attempt, and either the previous attempt from the same start (a landing
                // that crossed again) or the accepted point before the start
                let third = match tries.last() {
                    Some(&(k1, h1, b1)) if k1 == k_event => Some((h1, b1)),
                    Some(_) => None,
                    None if pp_valid => Some((-h_pp, g_pp[k_event])),
                    None => None,
                };
                if let Some(s) = third.and_then(|p| inverse_quadratic_root([p, (0.0, a), (h, b)]))
                    && s > 0.0
                    && s < h.min(tries.last().map_or(h, |tr| tr.1))
                {
                    s_c = s;
                }
                tries.push((k_event, h, b));
                if tries.len() == 1 {
                    h_resume = h;
                }
                probe_landing = !device_event;
                h = (s_c - 0.5 * ev_tol).max(hmin);
                cross_next = true;
                continue;
            }
        }
        // accept
        tries.clear();
        // shift the history (swapping the vectors, not their contents)
        qh.swap(2, 3);
        qh.swap(1, 2);
        qh.swap(0, 1);
        copy_small(&mut qh[0], &sys.q);
        hh = [h, hh[0], hh[1]];
        for ((qd, &q0), &hi) in qdot[1..].iter_mut().zip(&qh[0][1..]).zip(&hist[1..]) {
            *qd = a0 * q0 + hi;
        }
        for (k, _) in spec.probes.iter().enumerate() {
            let (a, b) = (g_prev[n_dev_ev + k], g_new[n_dev_ev + k]);
            if a < 0.0 && b >= 0.0 {
                rec.spike(k, t + h * a / (a - b));
            }
        }
        t += h;
        std::mem::swap(&mut x, &mut x_new);
        sys.accept(&x, t);
        sys.stats.accepted_steps += 1;
        if t >= spec.tstart - t_tol {
            rec.point(t, &x);
        }
        // a probe crossing needs no restart of the integration, a device event does
        let event = t_event.is_finite() && device_event;
        if event {
            // a device changed state at accept: its event functions now test the other threshold
            eval_events(sys, &x, t, &mut g_prev);
            pp_valid = false;
            ppp_valid = false;
        } else {
            // nothing switched, so the values at the accepted point are those just computed
            std::mem::swap(&mut g_ppp, &mut g_pp);
            std::mem::swap(&mut g_pp, &mut g_prev);
            std::mem::swap(&mut g_prev, &mut g_new);
            (h_ppp, h_pp) = (h_pp, h);
            ppp_valid = pp_valid;
            pp_valid = true;
        }
        h_prev = h;
        nh = (nh + 1).min(4);
        let mut h_next = h_lte.min(2.0 * h).min(tmax);
        if after_event {
            // recovering from a device event, whose crossing was taken with a tiny step: grow
            // as fast as the solution allows, up to 10^4x per step, keeping node changes per
            // step near 10 V * reltol (10 mV at the default reltol) and within the truncation
            // error bound once it has the history for one (every step after the first one
            // past the event is checked against it, and retried shorter if it fails). Plain 2x
            // growth resumes as soon as the error bound, TMAX or the change budget holds the
            // step to 2x or less.
            let nn = sys.n_nodes + 1;
            let dv = x[1..nn]
                .iter()
                .zip(&x_new[1..nn])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            let budget = 10.0 * o.reltol;
            let grow = if dv > 0.0 {
                (budget / dv).clamp(1.0, MAX_GROWTH)
            } else {
                MAX_GROWTH
            };
            let h_fast = (h * grow).min(h_lte).min(tmax);
            if h_fast > 2.0 * h {
                h_next = h_fast;
            } else {
                after_event = false;
            }
        }
        if crossing_step && !t_event.is_finite() && crossing_tries < 4 {
            // the step across fell short of the crossing (the landing aimed a little early):
            // keep stepping by the event tolerance rather than overshooting it again
            h_next = ev_tol;
            crossing_tries += 1;
        } else {
            crossing_step = false;
            crossing_tries = 0;
        }
        probe_armed = false;
        if cross_next && !event {
            if probe_landing {
                // landed just before a probe's crossing: nothing changes there, so the
                // integration goes on undisturbed with the step the landing interrupted
                // (within the error bound and TMAX), taking the crossing at its start
                h_next = h_next.max(h_resume.min(h_lte).min(tmax));
                probe_armed = true;
            } else {
                // the next step crosses a device event: restart the history so the short
                // step across uses backward Euler
                h_next = ev_tol;
                nh = 1;
                crossing_step = true;
            }
        }
        cross_next = false;
        if hit_bp || event {
            if event {
                sys.stats.events += 1;
            }
            order = 1;
            nh = 1;
            after_event = event;
            qdot.iter_mut().for_each(|v| *v = 0.0);
            // ngspice's rule after a breakpoint: a tenth of the smaller of the last step and
            // the gap to the next breakpoint
            let gap = bps[bi..]
                .iter()
                .find(|&&b| b > t + t_tol)
                .map(|b| b - t)
                .unwrap_or(tstop - t);
            h_next = h_next.min(if event { ev_tol } else { 0.1 * h.min(gap) });
            h_next = h_next.max(hmin * 10.0);
        } else {
            order = 2;
        }
        h = h_next;
        if !h.is_finite() || h <= 0.0 {
            return Err(Error::numeric(format!(
                "transient: invalid step size at t = {t:e} s"
            )));
        }
    }
    Ok(())
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

/// The (k-1)-th divided difference of (t_i, v_i), i = 0..k, with `rdt[lvl][j]` = 1 / (t_j -
/// t_{j+lvl}).
fn divided_difference(rdt: &[[f64; 4]; 4], k: usize, v: [f64; 4]) -> f64 {
    let mut d = v;
    for lvl in 1..k {
        for i in 0..k - lvl {
            d[i] = (d[i] - d[i + 1]) * rdt[lvl][i];
        }
    }
    d[0]
}
