//! Resource budgets: the most DC sweep points, elaborated elements and transient time points
//! one analysis may have. Each is checked before the work (and the memory) it bounds is
//! spent, so a step typo (`.dc V1 0 1 1e-12`, `.tran 1n 1e30`) or a runaway hierarchy is a
//! clear error instead of hours of computing or an out-of-memory abort.
//!
//! The limits are process-wide: the command line sets them once (`--max-dc-points`,
//! `--max-elements`, `--max-points`) before any netlist is read; library users may call
//! [`set`]. Defaults ([`Budgets::default`]) sit far above what a hand-written or generated
//! deck of this domain needs and far below what exhausts a workstation.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Points of one `.dc` analysis (the product of both sweeps' points).
    pub dc_points: u64,
    /// Devices a netlist elaborates to, subcircuits expanded.
    pub elements: u64,
    /// Time points one transient may accept: estimated before the run from
    /// (tstop - tstart) / max step, and counted while it runs.
    pub time_points: u64,
}

/// Default `.dc` points: a million (a 1 mV sweep over 1 kV).
pub const DEFAULT_DC_POINTS: u64 = 1_000_000;
/// Default elaborated elements: two million (ngspice needs minutes and gigabytes for ten).
pub const DEFAULT_ELEMENTS: u64 = 2_000_000;
/// Default transient time points: fifty million (`.tran 1n 10m` takes ten million).
pub const DEFAULT_TIME_POINTS: u64 = 50_000_000;

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            dc_points: DEFAULT_DC_POINTS,
            elements: DEFAULT_ELEMENTS,
            time_points: DEFAULT_TIME_POINTS,
        }
    }
}

static DC_POINTS: AtomicU64 = AtomicU64::new(DEFAULT_DC_POINTS);
static ELEMENTS: AtomicU64 = AtomicU64::new(DEFAULT_ELEMENTS);
static TIME_POINTS: AtomicU64 = AtomicU64::new(DEFAULT_TIME_POINTS);

/// Sets the process-wide limits.
pub fn set(b: Budgets) {
    DC_POINTS.store(b.dc_points, Ordering::Relaxed);
    ELEMENTS.store(b.elements, Ordering::Relaxed);
    TIME_POINTS.store(b.time_points, Ordering::Relaxed);
}

/// The process-wide limits.
pub fn get() -> Budgets {
    Budgets {
        dc_points: DC_POINTS.load(Ordering::Relaxed),
        elements: ELEMENTS.load(Ordering::Relaxed),
        time_points: TIME_POINTS.load(Ordering::Relaxed),
    }
}

/// An error unless `need` (a count that may be astronomically large, hence a float) fits in
/// `limit`; `what` names the quantity, `flag` the option that raises the limit.
pub fn check(need: f64, limit: u64, what: &str, flag: &str) -> Result<()> {
    if need.is_nan() || need > limit as f64 {
        return Err(Error::netlist(
            format!(
                "{what}: {need:.3e} exceeds the limit of {limit} (raise it with {flag} N if this \
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
}
