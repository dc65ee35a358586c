//! Transient analysis: trapezoidal or Gear-2 on the charges Q, the loop that combines a step
//! proposal from the local truncation error (`lte.rs`) with the time of the next event
//! (`events.rs`: source breakpoints, switch thresholds, B-source comparisons and spike
//! probes, located in time), as gnucap's `tr_review` does.

use super::copy_small;
use super::events::{Breakpoints, Detection, Events, Prediction};
use super::lte::{History, MAX_GROWTH};
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
    /// `.nodeset` node voltages: the initial operating point's first guess (held, then
    /// released), ngspice's nodeset for the transient. Not used with `uic`.
    pub nodeset: Vec<(usize, f64)>,
    /// Spike probes: (unknown, threshold [V]); rising crossings are located like events and
    /// reported through `Recorder::spike`, without disturbing the integration.
    pub probes: Vec<(usize, f64)>,
    /// The work meter of the analysis (`crate::budget::Work`): the parts of one transient
    /// share it through clones of the spec.
    pub work: crate::budget::Work,
}

/// Receives accepted time points.
pub trait Recorder {
    fn point(&mut self, t: f64, x: &[f64]);
    /// The operating point the transient started from.
    fn initial(&mut self, _x: &[f64]) {}
    /// Probe `k` crossed its threshold rising at time `t`.
    fn spike(&mut self, _k: usize, _t: f64) {}
    /// Every accepted time point, `t = 0` and points before `tstart` included, with the
    /// system's residual currents `f` and charges `q` at `x` (multirate relaxation reads the
    /// current and charge a part draws from a torn node at all of them).
    fn step(&mut self, _t: f64, _x: &[f64], _f: &[f64], _q: &[f64]) {}
}

/// The widest time tolerance an event crossing is located to, relative to the stop time
/// (tighter where the event function's slope asks for it).
pub const EV_TOL_MAX: f64 = 1e-6;

/// Conductance that pins `.ic` nodes during the initial operating point [S].
const IC_PIN: f64 = 1e3;

/// Runs the transient; accepted points at t >= tstart go to `rec`.
pub fn transient(sys: &mut System, spec: &TranSpec, rec: &mut dyn Recorder) -> Result<()> {
    let r = integrate(sys, spec, rec);
    // bypass holds only inside one transient: the next analysis starts from full loads
    sys.bypass = false;
    r
}

fn integrate(sys: &mut System, spec: &TranSpec, rec: &mut dyn Recorder) -> Result<()> {
    let tstop = spec.tstop;
    sys.tstep = spec.tstep;
    sys.tstop = tstop;
    let o = sys.opts.clone();
    let tmax = spec
        .tmax
        .unwrap_or_else(|| spec.tstep.min((tstop - spec.tstart) / 50.0))
        .min(tstop);
    let hmin = 1e-11 * tmax;
    // the fewest points the run can take: over the budget is an error before any work
    let max_points = crate::budget::get().time_points;
    crate::budget::check(
        tstop / tmax,
        max_points,
        "transient time points (at least tstop / max step)",
        "--max-points",
    )?;
    let mut accepted = 0u64;
    // the work meter: Newton iterations (of accepted and rejected steps) x the circuit's cost
    let cost = crate::devices::iteration_cost(&sys.devs, sys.names.len(), sys.jf.len());
    let mut account = crate::budget::Account::default();
    let mut x = initial_point(sys, spec)?;
    let mut charged = sys.stats.newton_iterations;
    rec.initial(&x);
    // with uic the initial vector is not a solution (ngspice does not write it either)
    if spec.tstart <= 0.0 && !spec.uic {
        rec.point(0.0, &x);
    }
    if !spec.uic {
        break_symmetry(sys, &mut x);
    }
    sys.bypass = false;
    sys.load(&x, 0.0, !spec.uic, 1.0, false);
    rec.step(0.0, &x, &sys.f, &sys.q);
    // every device has now been evaluated at the start: from here on a quiet one may reuse
    // its stamps
    sys.bypass = o.bypass;
    let mut hist = History::new(&sys.q);
    sys.accept(&x, 0.0);
    let mut ev = Events::new(sys, &spec.probes, (EV_TOL_MAX * tstop).max(hmin), hmin, &o);
    ev.reset(sys, &x, 0.0);
    let mut bps = Breakpoints::new(sys, spec.tstep, spec.tstart, tstop);
    // each source corner is a time point (TRNOISE samples can be many)
    crate::budget::check(
        bps.count() as f64,
        max_points,
        "transient time points (source breakpoints, e.g. TRNOISE samples)",
        "--max-points",
    )?;
    let t_tol = bps.t_tol;
    let mut t = 0.0f64;
    // ngspice's start: t = 0 is a breakpoint (a tenth of the smaller of the step and the gap
    // to the next breakpoint), and the very first step is cut by another 10, so a source that
    // starts with a ramp is resolved rather than crossed by one backward-Euler step
    let h0 = spec.tstep.min(tmax).min(tstop / 100.0) / 10.0;
    let mut h = (0.1 * h0.min(bps.first_gap(tstop))) / 10.0;
    let mut order = 1usize;
    let mut h_prev = h;
    let mut x_new = vec![0.0; x.len()];
    // whether the integration restarted at a device event (not a source breakpoint): then the
    // first steps after it measure the new dynamics and may grow quickly
    let mut after_event = false;
    let gear = o.method == Method::Gear;
    while t < tstop - t_tol {
        let mut hit_bp;
        (h, hit_bp) = bps.clamp(t, h, hmin, tstop);
        if t + h <= t {
            return Err(Error::numeric(format!(
                "transient: the step {h:e} s no longer advances the time t = {t:e} s"
            )));
        }
        let predicted = ev.predict(t, h);
        if let Prediction::Land(h_land) = predicted {
            h = h_land;
            hit_bp = false;
        }
        let (a0, use_order) = hist.coefficients(h, h_prev, order, gear);
        copy_small(&mut x_new, &x);
        let ctx = NewtonCtx::tran(t + h, a0, &hist.hist, o.itl4.max(10));
        if let Err(f) = sys.newton(&mut x_new, &ctx) {
            // retry with an eighth of the step, restarting with backward Euler
            sys.stats.rejected_steps += 1;
            h /= 8.0;
            order = 1;
            if h < hmin {
                return Err(too_small(sys, t, h * 8.0, &f));
            }
            continue;
        }
        if !sys.q_at_solution {
            sys.load(&x_new, t + h, false, 1.0, false);
        }
        let h_lte = hist.step_bound(&sys.q, h, a0, use_order, gear, &o);
        if h_lte < 0.9 * h && h > hmin {
            sys.stats.rejected_steps += 1;
            h = h_lte.max(h / 8.0).max(hmin);
            continue;
        }
        let (t_event, device_event) = match ev.detect(sys, &x_new, t, h, &predicted) {
            Detection::Land(h_land) => {
                h = h_land;
                continue;
            }
            Detection::Cross(h_cross, device) => {
                h = h_cross;
                if device {
                    hist.restart(true);
                }
                continue;
            }
            Detection::Accept { t_event, device } => (t_event, device),
        };
        // accept
        hist.accept(&sys.q, h, a0);
        ev.accepted(t, h, &mut |k, ts| rec.spike(k, ts));
        t += h;
        std::mem::swap(&mut x, &mut x_new);
        sys.accept(&x, t);
        sys.stats.accepted_steps += 1;
        sys.stats.note_step(h);
        accepted += 1;
        if accepted > max_points {
            return Err(Error::netlist(
                format!(
                    "transient: more than {max_points} time points by t = {t:e} s (raise the limit \
                 with --max-points N if this is intended)"
                ),
                None,
            ));
        }
        crate::budget::check_pace(accepted, t, tstop, max_points)?;
        let newton = sys.stats.newton_iterations;
        let units = newton.saturating_sub(charged) as f64 * cost;
        spec.work
            .charge(&mut account, units, t / tstop, "transient")?;
        charged = newton;
        rec.step(t, &x, &sys.f, &sys.q);
        if t >= spec.tstart - t_tol {
            rec.point(t, &x);
        }
        // a probe crossing needs no restart of the integration, a device event does
        let event = t_event.is_finite() && device_event;
        ev.advance(sys, &x, t, h, event);
        h_prev = h;
        hist.grow();
        // the next step: twice this one within the error bound and TMAX, faster right after
        // a device event, as a landing under way wants it, and restarting the integration
        // after a breakpoint or an event
        let mut h_next = h_lte.min(2.0 * h).min(tmax);
        if after_event {
            match fast_regrowth(sys, &x, &x_new, h, h_lte, tmax, o.reltol) {
                Some(h_fast) => h_next = h_fast,
                None => after_event = false,
            }
        }
        h_next = ev_step(&mut ev, &mut hist, h_next, h_lte, tmax, t_event, event);
        order = 2;
        if hit_bp || event {
            sys.stats.events += usize::from(event);
            order = 1;
            hist.restart(false);
            after_event = event;
            // ngspice's rule after a breakpoint: a tenth of the smaller of the last step and
            // the gap to the next breakpoint
            let after = if event {
                ev.ev_tol
            } else {
                0.1 * h.min(bps.gap(t, tstop))
            };
            h_next = h_next.min(after).max(hmin * 10.0);
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

/// Largest node-voltage offset `break_symmetry` adds [V]: a few units in the last place of a
/// volt, a billionth of VNTOL.
const SYMMETRY_KICK: f64 = 1e-15;

/// Offsets every node voltage of the operating point by a different amount of at most
/// `SYMMETRY_KICK` before the transient integrates from it (the recorded t = 0 row keeps the
/// operating point). An odd ring oscillator's only DC solution is its symmetric point, which
/// our Newton reaches exactly (every stage computes bit-identical values), so nothing would
/// ever leave it; ngspice leaves it because its operating point is not exact (issue 14, wrong
/// answer 4: `wa_ring17_cmos`). An unstable equilibrium amplifies the offset into the
/// oscillation within tens of stage delays; in a stable circuit it decays and stays a million
/// times below VNTOL. Nodes a device compares against a threshold (a B source's `? :` or
/// comparison, a switch's control: the devices with event functions) keep their exact value,
/// so a condition such as `v(b) != 0` reads the operating point as it is.
fn break_symmetry(sys: &System, x: &mut [f64]) {
    let n_nodes = sys.n_nodes;
    let mut exact = vec![false; n_nodes + 1];
    let mut t = Vec::new();
    for d in sys.devs.iter().filter(|d| d.dev.n_events() > 0) {
        t.clear();
        d.dev.terminals(&mut t);
        for &k in &t {
            if k <= n_nodes {
                exact[k] = true;
            }
        }
    }
    // a golden-ratio sequence: no two nodes get the same offset
    const PHI: f64 = 0.618_033_988_749_895;
    for (k, v) in x.iter_mut().enumerate().take(n_nodes + 1).skip(1) {
        if !exact[k] {
            let u = (k as f64 * PHI).fract() - 0.5;
            *v += 2.0 * SYMMETRY_KICK * u;
        }
    }
}

/// The state the transient starts from: with `uic` the `.ic` values and the devices' own
/// initial state, else the operating point with the `.ic` nodes held (ngspice's `.ic`
/// without `uic`).
fn initial_point(sys: &mut System, spec: &TranSpec) -> Result<Vec<f64>> {
    let mut x = vec![0.0; sys.n() + 1];
    if spec.uic {
        for &(k, v) in &spec.ic {
            x[k] = v;
        }
        for d in &sys.devs {
            d.dev.initial_state(&mut x);
        }
    } else {
        let ic_pins: Vec<_> = spec.ic.iter().map(|&(k, v)| (k, v, IC_PIN)).collect();
        // `.nodeset` nodes (not also `.ic` ones, which stay held) are held for a first
        // solve, then released and solved again by Newton from there (ngspice); if that
        // fails, the operating point without the guess
        let guess: Vec<_> = spec
            .nodeset
            .iter()
            .filter(|(k, _)| !spec.ic.iter().any(|(i, _)| i == k))
            .map(|&(k, v)| (k, v, IC_PIN))
            .collect();
        sys.tran_op = true;
        let mut done = false;
        if !guess.is_empty() {
            sys.pins = ic_pins.iter().chain(&guess).copied().collect();
            if operating_point(sys, &mut x, "transient").is_ok() {
                sys.pins = ic_pins.clone();
                let ctx = super::system::NewtonCtx::dc(sys.opts.itl1, false);
                done = sys.newton(&mut x, &ctx).is_ok();
            }
            if !done {
                x.fill(0.0);
            }
        }
        let mut r = Ok(());
        if !done {
            sys.pins = ic_pins;
            r = operating_point(sys, &mut x, "transient");
        }
        sys.tran_op = false;
        sys.pins.clear();
        r?;
    }
    Ok(x)
}

/// The step after one recovering from a device event, whose crossing was taken with a tiny
/// step: grow as fast as the solution allows, up to 10^4x per step, keeping node changes per
/// step near 10 V * reltol (10 mV at the default reltol) and within the truncation error
/// bound once it has the history for one (every step after the first one past the event is
/// checked against it, and retried shorter if it fails). `None`: plain 2x growth resumes, as
/// the error bound, TMAX or the change budget hold the step to 2x or less.
fn fast_regrowth(
    sys: &System,
    x: &[f64],
    x_prev: &[f64],
    h: f64,
    h_lte: f64,
    tmax: f64,
    reltol: f64,
) -> Option<f64> {
    let nn = sys.n_nodes + 1;
    let dv = x[1..nn]
        .iter()
        .zip(&x_prev[1..nn])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let budget = 10.0 * reltol;
    let grow = if dv > 0.0 {
        (budget / dv).clamp(1.0, MAX_GROWTH)
    } else {
        MAX_GROWTH
    };
    let h_fast = (h * grow).min(h_lte).min(tmax);
    (h_fast > 2.0 * h).then_some(h_fast)
}

/// The next step as a landing under way wants it: the short steps across a crossing, the
/// interrupted step resumed after a probe's landing.
fn ev_step(
    ev: &mut Events,
    hist: &mut History,
    mut h_next: f64,
    h_lte: f64,
    tmax: f64,
    t_event: f64,
    event: bool,
) -> f64 {
    if ev.crossing_step && !t_event.is_finite() && ev.crossing_tries < 4 {
        // the step across fell short of the crossing (the landing aimed a little early): keep
        // stepping by the event tolerance rather than overshooting it again
        h_next = ev.ev_tol;
        ev.crossing_tries += 1;
    } else {
        ev.crossing_step = false;
        ev.crossing_tries = 0;
    }
    ev.probe_armed = false;
    if ev.cross_next && !event {
        if ev.probe_landing {
            // landed just before a probe's crossing: nothing changes there, so the integration
            // goes on undisturbed with the step the landing interrupted (within the error
            // bound and TMAX), taking the crossing at its start
            h_next = h_next.max(ev.h_resume.min(h_lte).min(tmax));
            ev.probe_armed = true;
        } else {
            // the next step crosses a device event: restart the history so the short step
            // across uses backward Euler
            h_next = ev.ev_tol;
            hist.restart(true);
            ev.crossing_step = true;
        }
    }
    ev.cross_next = false;
    h_next
}

/// The error when Newton fails even at the minimum step.
fn too_small(sys: &System, t: f64, h: f64, f: &super::system::NewtonFail) -> Error {
    let mut e = sys.fail_error(&format!("transient at t = {t:.6e} s"), f);
    e.msg = format!(
        "timestep too small at t = {t:.6e} s (step {h:.3e} s): {}",
        e.msg
    );
    e.with_note("tried: step cuts by 8x down to the minimum step, restarting with backward Euler")
}
