//! The one place waveforms are read between their points: threshold crossings with ngspice's
//! `.meas` semantics and values by linear interpolation. `.meas` (the rest of this module),
//! Monte Carlo measures, characterisation and plots all call these, so a crossing means the
//! same thing everywhere.
//!
//! ngspice's crossing rules (`com_measure2.c`), which [`Crossings`] follows:
//! - the signal is *above* or *below* the threshold; the state starts at the first point that
//!   is not exactly on it, so a waveform that starts on the threshold has not crossed it;
//! - a point exactly on the threshold keeps the state: touching the threshold and turning back
//!   is not a crossing (ngspice 39 counts a touch from below as a rise and a fall, a deliberate
//!   difference, see docs/meas.md);
//! - a change of state is a crossing, placed by linear interpolation in its interval: a *rise*
//!   when the signal ends above, a *fall* when it ends below; `CROSS` counts both;
//! - `RISE=n` / `FALL=n` / `CROSS=n` pick the n-th crossing of that kind, `LAST` the last one.

/// Which crossing direction counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// From below the threshold to above it.
    Rise,
    /// From above the threshold to below it.
    Fall,
    /// Either direction.
    Cross,
}

/// Which one of the counted crossings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nth {
    /// The n-th (1-based).
    N(u32),
    /// The last one in the window.
    Last,
}

/// Counts the crossings of a signal (given as its difference to the threshold) fed interval
/// by interval, and keeps the one asked for.
#[derive(Debug, Clone)]
pub struct Crossings {
    edge: Edge,
    nth: Nth,
    rise: u32,
    fall: u32,
    cross: u32,
    last: Option<f64>,
    found: Option<f64>,
    /// Above (true) or below the threshold; `None` until the first point off it.
    state: Option<bool>,
    /// Where the previous interval ended (an interval starting elsewhere restarts the state).
    end: Option<f64>,
}

impl Crossings {
    pub fn new(edge: Edge, nth: Nth) -> Crossings {
        Crossings {
            edge,
            nth,
            rise: 0,
            fall: 0,
            cross: 0,
            last: None,
            found: None,
            state: None,
            end: None,
        }
    }

    /// Feeds the interval from (`xa`, `da`) to (`xb`, `db`), where `d` is the signal minus the
    /// threshold. An interval that does not start where the previous one ended starts afresh
    /// (the first interval of a window, a DC sweep that restarts its scale).
    pub fn interval(&mut self, xa: f64, da: f64, xb: f64, db: f64) {
        if self.found.is_some() {
            return;
        }
        if self.end != Some(xa) || self.state.is_none() {
            self.state = (da != 0.0).then_some(da > 0.0);
        }
        self.end = Some(xb);
        if db == 0.0 {
            return;
        }
        let above_b = db > 0.0;
        let Some(above) = self.state else {
            self.state = Some(above_b);
            return;
        };
        if above == above_b {
            return;
        }
        self.state = Some(above_b);
        let t = crossing_in(xa, da, xb, db);
        let n = match (self.edge, above_b) {
            (Edge::Rise, true) => {
                self.rise += 1;
                self.rise
            }
            (Edge::Fall, false) => {
                self.fall += 1;
                self.fall
            }
            (Edge::Cross, _) => {
                self.cross += 1;
                self.cross
            }
            _ => return,
        };
        match self.nth {
            Nth::N(k) if k == n => self.found = Some(t),
            Nth::Last => self.last = Some(t),
            _ => {}
        }
    }

    /// The crossing asked for, once found (for `LAST`, the last one fed so far).
    pub fn result(&self) -> Option<f64> {
        self.found.or(self.last)
    }

    /// Whether the crossing asked for is found (no later interval can change it).
    pub fn done(&self) -> bool {
        self.found.is_some()
    }

    /// How many crossings of the asked kind were seen.
    pub fn count(&self) -> u32 {
        match self.edge {
            Edge::Rise => self.rise,
            Edge::Fall => self.fall,
            Edge::Cross => self.cross,
        }
    }
}

/// Where `d` passes zero in the interval (`xa`, `da`) to (`xb`, `db`), linearly; `xa` when it
/// starts on zero.
pub fn crossing_in(xa: f64, da: f64, xb: f64, db: f64) -> f64 {
    if da == 0.0 {
        xa
    } else {
        xa + (0.0 - da) * (xb - xa) / (db - da)
    }
}

/// The `nth` crossing of `level` by `y` over the scale `x` in the direction `edge`, with the
/// rules above; `None` if there is no such crossing.
pub fn crossing(x: &[f64], y: &[f64], level: f64, edge: Edge, nth: Nth) -> Option<f64> {
    let mut c = Crossings::new(edge, nth);
    let n = x.len().min(y.len());
    for i in 1..n {
        c.interval(x[i - 1], y[i - 1] - level, x[i], y[i] - level);
        if c.done() {
            break;
        }
    }
    c.result()
}

/// The value at `at` on the straight line from (`xa`, `ya`) to (`xb`, `yb`); `yb` for an
/// interval of zero width.
pub fn lerp(xa: f64, ya: f64, xb: f64, yb: f64, at: f64) -> f64 {
    if xb == xa {
        yb
    } else {
        ya + (at - xa) * (yb - ya) / (xb - xa)
    }
}

/// The first interval (i-1, i) of `x` that holds `at` (in either direction) among those
/// `joined(i)` accepts, as ngspice picks it.
pub fn interval_of(x: &[f64], at: f64, joined: impl Fn(usize) -> bool) -> Option<usize> {
    (1..x.len()).find(|&i| {
        joined(i) && {
            let (a, b) = (x[i - 1], x[i]);
            a.min(b) <= at && at <= a.max(b)
        }
    })
}

/// `y` at `at` by linear interpolation over the scale `x` (increasing or decreasing); `None`
/// outside the waveform. A one-point waveform has a value only at its point.
pub fn value_at(x: &[f64], y: &[f64], at: f64) -> Option<f64> {
    let n = x.len().min(y.len());
    let x = &x[..n];
    if n == 1 && x[0] == at {
        return Some(y[0]);
    }
    let i = interval_of(x, at, |_| true)?;
    Some(lerp(x[i - 1], y[i - 1], x[i], y[i], at))
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: [f64; 6] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    const Y: [f64; 6] = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0];

    #[test]
    fn crossings_by_kind_and_number() {
        let c = |e, n| crossing(&X, &Y, 0.5, e, n);
        assert_eq!(c(Edge::Rise, Nth::N(1)), Some(0.5));
        assert_eq!(c(Edge::Rise, Nth::N(3)), Some(4.5));
        assert_eq!(c(Edge::Rise, Nth::N(4)), None);
        assert_eq!(c(Edge::Fall, Nth::N(2)), Some(3.5));
        assert_eq!(c(Edge::Cross, Nth::N(2)), Some(1.5));
        assert_eq!(c(Edge::Cross, Nth::Last), Some(4.5));
        assert_eq!(c(Edge::Fall, Nth::Last), Some(3.5));
    }

    #[test]
    fn touching_is_not_crossing() {
        // starts on the threshold, touches it from below at x = 2, rises through it at 3.5
        let y = [0.5, 0.0, 0.5, 0.0, 1.0, 1.0];
        assert_eq!(crossing(&X, &y, 0.5, Edge::Rise, Nth::N(1)), Some(3.5));
        assert_eq!(crossing(&X, &y, 0.5, Edge::Cross, Nth::N(1)), Some(3.5));
        assert_eq!(crossing(&X, &y, 0.5, Edge::Fall, Nth::N(1)), None);
        // reaching the threshold and going on counts at the point it was reached
        let y = [0.0, 0.5, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(crossing(&X, &y, 0.5, Edge::Rise, Nth::N(1)), Some(1.0));
    }

    #[test]
    fn values_between_points() {
        assert_eq!(value_at(&X, &Y, 0.25), Some(0.25));
        assert_eq!(value_at(&X, &Y, 5.0), Some(1.0));
        assert_eq!(value_at(&X, &Y, 5.5), None);
        assert_eq!(value_at(&[2.0, 1.0, 0.0], &[4.0, 2.0, 0.0], 0.5), Some(1.0));
        assert_eq!(value_at(&[1.0], &[3.0], 1.0), Some(3.0));
        assert_eq!(value_at(&[1.0, 1.0], &[3.0, 4.0], 1.0), Some(4.0));
    }
}
