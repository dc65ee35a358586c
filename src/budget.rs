//! Resource budgets: the most DC sweep points, elaborated elements and transient time points
//! one analysis may have. Each is checked before the work (and the memory) it bounds is
//! spent, so a step typo (`.dc V1 0 1 1e-12`, `.tran 1n 1e30`) or a runaway hierarchy is a
//! clear error instead of hours of computing or an out-of-memory abort.
//!
//! The limits are process-wide: the command line sets them once (`--max-dc-points`,
//! `--max-elements`, `--max-points`, `--max-control-steps`) before any netlist is read; library users may call
//! [`set`]. Defaults ([`Budgets::default`]) sit far above what a hand-written or generated
//! deck of this domain needs and far below what exhausts a workstation.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Points of one `.dc` analysis (the product of both sweeps' points), and frequencies of one
    /// `.ac` analysis.
    pub dc_points: u64,
    /// Devices a netlist elaborates to, subcircuits expanded.
    pub elements: u64,
    /// Time points one transient may accept: estimated before the run from
    /// (tstop - tstart) / max step, and counted while it runs.
    pub time_points: u64,
    /// Statements one `.control` block may execute (each loop pass counts its statements):
    /// ngspice runs `while 1` forever; here it stops with a message.
    pub control_steps: u64,
    /// Work one analysis (one `.tran`, `.dc` or `.ac`, all its parts together) may do, in
    /// [work units](Work): about 10^8 per second of one core. 0 = no limit.
    pub work: u64,
}

/// Default `.dc` points: a million (a 1 mV sweep over 1 kV).
pub const DEFAULT_DC_POINTS: u64 = 1_000_000;
/// Default elaborated elements: two million (ngspice needs minutes and gigabytes for ten).
pub const DEFAULT_ELEMENTS: u64 = 2_000_000;
/// Default transient time points: fifty million (`.tran 1n 10m` takes ten million).
pub const DEFAULT_TIME_POINTS: u64 = 50_000_000;
/// Default `.control` statements: five million (about 3.5 s of `let`s on one core; a
/// `repeat 1000000` of one or two statements fits).
pub const DEFAULT_CONTROL_STEPS: u64 = 5_000_000;
/// Default work of one analysis: 10^9 units, about twelve seconds of one core. The guard must
/// stop a typo or a hostile deck within 20 s, and must not refuse the heavy runs this tool
/// exists for (a 1000-neuron array, a transistor-level neuron over microseconds): a run
/// projected far beyond the limit stops within a fraction of a second, one in the band between
/// one and two times it stops at the limit, after about 12 s of one core. (A 10 ms transient of
/// an integrate-and-fire neuron at 1 ns steps takes a tenth of it, a 17-stage ring oscillator
/// over 10 us at 1 ns steps twice it.) Measured on the 2-core development machine: 11 to 14 ns
/// of CPU per unit for an RC mesh, the neuron and the oscillator.
pub const DEFAULT_WORK: u64 = 1_000_000_000;

/// Highest limit the default work budget scales up to for a large run the deck asks for
/// (about two minutes of one core): see [`Work::for_transient`].
pub const WORK_SCALE_CAP: u64 = 10_000_000_000;
/// Newton iterations per smallest requested time step a transient's default budget allows
/// for (see [`Work::for_transient`]).
pub const WORK_ITERATIONS_PER_POINT: f64 = 20.0;

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            dc_points: DEFAULT_DC_POINTS,
            elements: DEFAULT_ELEMENTS,
            time_points: DEFAULT_TIME_POINTS,
            control_steps: DEFAULT_CONTROL_STEPS,
            work: DEFAULT_WORK,
        }
    }
}

static DC_POINTS: AtomicU64 = AtomicU64::new(DEFAULT_DC_POINTS);
static ELEMENTS: AtomicU64 = AtomicU64::new(DEFAULT_ELEMENTS);
static TIME_POINTS: AtomicU64 = AtomicU64::new(DEFAULT_TIME_POINTS);
static CONTROL_STEPS: AtomicU64 = AtomicU64::new(DEFAULT_CONTROL_STEPS);
static WORK: AtomicU64 = AtomicU64::new(DEFAULT_WORK);
/// True while the work limit is the default (no `--max-work` given): then a transient's limit
/// grows with the work its own deck asks for, up to [`WORK_SCALE_CAP`].
static WORK_SCALES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Whether the work limit may grow with the size of the run a deck asks for (true unless the
/// user gave `--max-work`, which is then exact).
pub fn set_work_scales(scales: bool) {
    WORK_SCALES.store(scales, Ordering::Relaxed);
}

/// Sets the process-wide limits.
pub fn set(b: Budgets) {
    DC_POINTS.store(b.dc_points, Ordering::Relaxed);
    ELEMENTS.store(b.elements, Ordering::Relaxed);
    TIME_POINTS.store(b.time_points, Ordering::Relaxed);
    CONTROL_STEPS.store(b.control_steps, Ordering::Relaxed);
    WORK.store(b.work, Ordering::Relaxed);
}

/// The process-wide limits.
pub fn get() -> Budgets {
    Budgets {
        dc_points: DC_POINTS.load(Ordering::Relaxed),
        elements: ELEMENTS.load(Ordering::Relaxed),
        time_points: TIME_POINTS.load(Ordering::Relaxed),
        control_steps: CONTROL_STEPS.load(Ordering::Relaxed),
        work: WORK.load(Ordering::Relaxed),
    }
}

/// An error unless `need` (a count that may be astronomically large, hence a float) fits in
/// `limit`; `what` names the quantity, `flag` the option that raises the limit.
pub fn check(need: f64, limit: u64, what: &str, flag: &str) -> Result<()> {
    if need.is_nan() || need > limit as f64 {
        // a count just over the limit reads as a count (1000001, not 1.000e6)
        let shown = if need.fract() == 0.0 && need < 1e15 {
            format!("{need:.0}")
        } else {
            format!("{need:.3e}")
        };
        return Err(Error::netlist(
            format!(
                "{what}: {shown} exceeds the limit of {limit} (raise it with {flag} N if this \
                 is intended)"
            ),
            None,
        ));
    }
    Ok(())
}

/// How often (in accepted points) a transient projects its length from its pace.
pub const PROJECT_EVERY: u64 = 1 << 20;

/// The projection a transient makes every [`PROJECT_EVERY`] accepted points: at the pace so
/// far (`accepted` points by time `t`, the run starting at 0), would it need more than
/// **twice** the `limit` of time points by `tstop`? Then it stops now, seconds in, instead of
/// minutes later at the limit. The factor two keeps a legitimate run whose points come
/// unevenly (dense at the start, quiet after) from being stopped by a projection that
/// overshoots; a run projected between one and two times the limit stops at the limit itself.
/// `.tran 1n 10m` of a 1 GHz sine (hundreds of millions of points) stops after a million;
/// `.tran 1n 10m` of a neuron (ten million) runs.
pub fn check_pace(accepted: u64, t: f64, tstop: f64, limit: u64) -> Result<()> {
    if accepted == 0 || !accepted.is_multiple_of(PROJECT_EVERY) || t <= 0.0 || t >= tstop {
        return Ok(());
    }
    let projected = accepted as f64 * (tstop / t);
    if projected > 2.0 * limit as f64 {
        return Err(Error::netlist(
            format!(
                "transient: {accepted} time points by t = {t:.3e} s; at this pace the run to \
                 {tstop:.3e} s needs about {projected:.2e}, more than twice the limit of \
                 {limit} (raise it with --max-points N if this is intended, or lengthen the \
                 step: a fast source over a long run)"
            ),
            None,
        ));
    }
    Ok(())
}

/// The work meter of one analysis: every part of it (and every sweep of a multirate run)
/// charges the same counter, so the limit bounds the analysis, not each of its pieces. A clone
/// shares the counter; [`Work::default`] is a fresh meter under the process-wide limit.
///
/// Two checks: the work spent may not exceed the limit, and, from a 64th of the limit on and
/// at every doubling, the work projected from the pace so far (work done / fraction of the
/// analysis done) may not exceed **twice** the limit. So a run that would take minutes stops
/// within a fraction of a second with a message naming `--max-work`, and no run goes on past
/// the limit. The factor two keeps a run whose work comes unevenly (a dense start, a quiet
/// tail) from being refused on a projection that overshoots.
#[derive(Debug, Clone)]
pub struct Work {
    spent: std::sync::Arc<AtomicU64>,
    limit: u64,
}

impl Default for Work {
    /// The meter of a new analysis: inside a [`Session`] (a `.control` block) the session's
    /// shared meter, else a fresh one under the process-wide limit.
    fn default() -> Self {
        SESSION
            .with(|s| s.borrow().clone())
            .unwrap_or_else(|| Work {
                spent: Default::default(),
                limit: get().work,
            })
    }
}

thread_local! {
    static SESSION: std::cell::RefCell<Option<Work>> = const { std::cell::RefCell::new(None) };
}

/// While it lives, every analysis started on this thread charges one shared meter: a
/// `.control` block's analyses together get the budget of one analysis, so a loop that runs
/// `tran` a hundred thousand times stops at the limit like one long transient. (Each pass is
/// short, so no projection catches the loop; the sum does.)
pub struct Session {
    outer: Option<Work>,
}

impl Session {
    /// Starts a session on this thread (ended when the guard drops; sessions nest).
    pub fn begin() -> Session {
        let fresh = Work {
            spent: Default::default(),
            limit: get().work,
        };
        Session {
            outer: SESSION.with(|s| s.borrow_mut().replace(fresh)),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let outer = self.outer.take();
        SESSION.with(|s| *s.borrow_mut() = outer);
    }
}

/// One piece's account with a [`Work`] meter (a part's transient, a sweep): what it has
/// charged and when it next projects.
#[derive(Debug, Clone, Default)]
pub struct Account {
    mine: f64,
    next_projection: f64,
}

impl Work {
    /// A meter with its own `limit` (0 = none), for tests and library users.
    pub fn with_limit(limit: u64) -> Work {
        Work {
            spent: Default::default(),
            limit,
        }
    }

    /// The meter of one transient that asks for at least `min_points` time points (tstop /
    /// max step) of a circuit whose Newton iteration costs `cost` units. Under the default
    /// limit, a large run the deck explicitly asks for (a 1000-neuron array over 10,000 steps)
    /// gets [`WORK_ITERATIONS_PER_POINT`] iterations per requested point, up to
    /// [`WORK_SCALE_CAP`]; a small circuit whose run explodes (a ring oscillator stepping far
    /// finer than asked, a typo) keeps the default. Inside a `.control` session, or with
    /// `--max-work` given, the limit is as set.
    pub fn for_transient(min_points: f64, cost: f64) -> Work {
        let mut w = Work::default();
        let in_session = SESSION.with(|s| s.borrow().is_some());
        if !in_session && WORK_SCALES.load(Ordering::Relaxed) && w.limit > 0 {
            let asked = WORK_ITERATIONS_PER_POINT * min_points * cost;
            if asked.is_finite() && asked > w.limit as f64 {
                w.limit = (asked as u64).min(WORK_SCALE_CAP.max(w.limit));
            }
        }
        w
    }

    /// Total work charged so far, every piece together.
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// Charges `units` more work to the piece `acc`, which has now done the fraction `done`
    /// (0..=1) of its extent; `what` names the analysis in the error.
    pub fn charge(&self, acc: &mut Account, units: f64, done: f64, what: &str) -> Result<()> {
        if self.limit == 0 || units.is_nan() || units <= 0.0 {
            return Ok(());
        }
        let add = units.min(1e18) as u64;
        let total = self
            .spent
            .fetch_add(add, Ordering::Relaxed)
            .saturating_add(add);
        acc.mine += units;
        let limit = self.limit as f64;
        if total as f64 > limit {
            return Err(work_error(what, format!("{total} work units"), self.limit));
        }
        if acc.next_projection == 0.0 {
            acc.next_projection = limit / 64.0;
        }
        if acc.mine >= acc.next_projection && done > 0.0 && done < 1.0 {
            acc.next_projection = 2.0 * acc.mine;
            // the others' work so far, and this piece's at its pace to its end
            let projected = total as f64 - acc.mine + acc.mine / done;
            if projected > 2.0 * limit {
                return Err(work_error(
                    what,
                    format!(
                        "{total} work units at {:.1} % of it; at this pace it needs about {projected:.2e}",
                        100.0 * done
                    ),
                    self.limit,
                ));
            }
        }
        Ok(())
    }
}

fn work_error(what: &str, need: String, limit: u64) -> Error {
    Error::netlist(
        format!(
            "{what}: {need}, more than the limit of {limit} (about {:.0} s of computing; raise it \
             with --max-work N, or 0 for no limit, if this long run is intended)",
            limit as f64 * 12e-9
        ),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_projection_stops_only_runs_well_over_the_limit() {
        // 1M points by 40 us of a 10 ms run: 250M projected against 50M
        assert!(check_pace(PROJECT_EVERY, 40e-6, 10e-3, 50_000_000).is_err());
        // a neuron's pace: 1M points by 1 ms of 10 ms (10M)
        assert!(check_pace(PROJECT_EVERY, 1e-3, 10e-3, 50_000_000).is_ok());
        // 1.5 times the limit: left to the count itself
        assert!(check_pace(PROJECT_EVERY, 10e-3 / 75.0, 10e-3, 50_000_000).is_ok());
        // only at the checkpoints
        assert!(check_pace(PROJECT_EVERY + 1, 40e-6, 10e-3, 50_000_000).is_ok());
    }

    #[test]
    fn transient_limit_grows_with_the_run_the_deck_asks_for() {
        // the process-wide default (no --max-work): scales
        let base = get().work;
        // a ring oscillator's request: 10^4 points of a 330-unit circuit is far below the
        // default, which stays
        assert_eq!(Work::for_transient(1e4, 330.0).limit, base);
        // a 1000-neuron array over 10^4 requested steps of a 26,000-unit circuit gets 20
        // iterations per point
        assert_eq!(Work::for_transient(1e4, 26_000.0).limit, 5_200_000_000);
        // never beyond the cap, whatever the deck asks for
        assert_eq!(Work::for_transient(1e12, 1e6).limit, WORK_SCALE_CAP);
        assert_eq!(Work::for_transient(f64::INFINITY, 1.0).limit, base);
    }

    #[test]
    fn work_meter_projects_and_stops_at_the_limit() {
        // steady pace, projected 100x the limit: stopped at the first projection (1/64)
        let w = Work::with_limit(1_000_000);
        let mut a = Account::default();
        let mut stopped = None;
        for k in 1..=100_000u64 {
            if let Err(e) = w.charge(&mut a, 1000.0, k as f64 / 100_000.0, "transient") {
                stopped = Some((k, e.to_string()));
                break;
            }
        }
        let (k, msg) = stopped.expect("stopped");
        assert_eq!(k, 16, "{msg}");
        assert!(msg.contains("--max-work"), "{msg}");
        // projected 1.5x: runs to the limit itself, not one charge beyond
        let w = Work::with_limit(1_000_000);
        let mut a = Account::default();
        let n = 1500u64;
        let stop = (1..=n)
            .find(|&k| w.charge(&mut a, 1000.0, k as f64 / n as f64, "dc").is_err())
            .expect("stopped at the limit");
        assert_eq!(stop, 1001);
        // within the limit: never stopped; no limit: never stopped
        for lim in [2_000_000, 0] {
            let w = Work::with_limit(lim);
            let mut a = Account::default();
            assert!((1..=n).all(|k| w.charge(&mut a, 1000.0, k as f64 / n as f64, "dc").is_ok()));
        }
        // parts share the counter: two pieces of 600 units each exceed a limit of 1000
        let w = Work::with_limit(1000);
        let w2 = w.clone();
        assert!(
            w.charge(&mut Account::default(), 600.0, 1.0, "tran")
                .is_ok()
        );
        assert!(
            w2.charge(&mut Account::default(), 600.0, 1.0, "tran")
                .is_err()
        );
    }
}
