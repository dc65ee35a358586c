//! The step proposal from the local truncation error (gnucap's `tr_review` error half): the
//! charge history of the accepted points, the integration coefficients it gives the next
//! step (backward Euler, trapezoidal, Gear-2: dQ/dt(t+h) = a0 Q(t+h) + hist), and the largest
//! step the divided differences of Q allow.

use super::copy_small;
use crate::circuit::Options;

/// The largest factor a step may grow by (right after a device event; 2 otherwise).
pub(super) const MAX_GROWTH: f64 = 1e4;

/// The charges at the last accepted points and what the integration formulas need of them.
pub(super) struct History {
    /// Q at the last four accepted points, most recent first.
    qh: Vec<Vec<f64>>,
    /// The accepted step sizes, most recent first (the time differences of the history).
    hh: [f64; 3],
    /// Reciprocal time differences of the divided-difference table for the key (need, h,
    /// hh[0], hh[1]): recomputed only when a step size changes.
    rdt: [[f64; 4]; 4],
    rdt_key: (usize, [f64; 3]),
    /// Valid history entries since the last discontinuity.
    pub nh: usize,
    /// dQ/dt at the last accepted point.
    qdot: Vec<f64>,
    /// The history term of the present attempt.
    pub hist: Vec<f64>,
}

impl History {
    /// A history that starts at charges `q0` (the initial point).
    pub fn new(q0: &[f64]) -> History {
        let n1 = q0.len();
        History {
            qh: vec![q0.to_vec(), vec![0.0; n1], vec![0.0; n1], vec![0.0; n1]],
            hh: [0.0; 3],
            rdt: [[0.0; 4]; 4],
            rdt_key: (0, [f64::NAN; 3]),
            nh: 1,
            qdot: vec![0.0; n1],
            hist: vec![0.0; n1],
        }
    }

    /// The coefficients of a step `h` (the previous one `h_prev`) of `order`: returns a0 and
    /// fills `hist`, with the order actually used (backward Euler until there is history).
    pub fn coefficients(&mut self, h: f64, h_prev: f64, order: usize, gear: bool) -> (f64, usize) {
        let (qh, hist) = (&self.qh, &mut self.hist);
        if order == 1 || self.nh < 2 {
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
            for ((hi, &q0), &qd) in hist[1..].iter_mut().zip(&qh[0][1..]).zip(&self.qdot[1..]) {
                *hi = -a0 * q0 - qd;
            }
            (a0, 2)
        }
    }

    /// The largest step the truncation error of the attempt (`h`, solved charges `q_new`,
    /// coefficient `a0`, order `use_order`) allows: ngspice's rule on divided differences of
    /// Q, capped at MAX_GROWTH h (beyond the cap: infinity). Infinity without the history
    /// the estimate needs.
    pub fn step_bound(
        &mut self,
        q_new: &[f64],
        h: f64,
        a0: f64,
        use_order: usize,
        gear: bool,
        o: &Options,
    ) -> f64 {
        let need = use_order + 2;
        if self.nh + 1 < need {
            return f64::INFINITY;
        }
        let (fac, k) = if use_order == 1 {
            (0.5 * 2.0, 1)
        } else if gear {
            (2.0 / 9.0 * 6.0, 2)
        } else {
            (1.0 / 12.0 * 6.0, 2)
        };
        let key = (need, [h, self.hh[0], self.hh[1]]);
        if key.0 != self.rdt_key.0
            || key
                .1
                .iter()
                .zip(&self.rdt_key.1)
                .any(|(a, b)| a.to_bits() != b.to_bits())
        {
            // time differences from the step sizes: d[j] = t_j - t_{j+1}
            let d = [h, self.hh[0], self.hh[1]];
            for lvl in 1..need {
                for j in 0..need - lvl {
                    let span: f64 = d[j..j + lvl].iter().sum();
                    self.rdt[lvl][j] = 1.0 / span;
                }
            }
            self.rdt_key = key;
        }
        // the smallest allowed step over the rows, del = trtol tol / (fac |dd|), kept as the
        // fraction num / den and compared by cross-multiplication: no division per row
        let qh = &self.qh;
        let (mut num, mut den) = (f64::INFINITY, 1.0);
        let chg_floor = o.reltol * o.chgtol / h;
        for i in 1..q_new.len() {
            let vals = [q_new[i], qh[0][i], qh[1][i], qh[2][i]];
            if vals[..need].iter().all(|v| *v == 0.0) {
                continue;
            }
            let dd = divided_difference(&self.rdt, need, vals);
            if dd == 0.0 {
                continue;
            }
            let qd_new = a0 * q_new[i] + self.hist[i];
            // ngspice's current tolerance on the row (its charge term, reltol*|q|/h, is left
            // out: it grows as the current crosses zero and lets oscillators drift)
            let tol = (o.reltol * qd_new.abs().max(self.qdot[i].abs()) + o.abstol).max(chg_floor);
            let (nu, de) = (o.trtol * tol, fac * dd.abs());
            if nu * den < num * de || num.is_infinite() {
                (num, den) = (nu, de);
            }
        }
        // every use of the bound is capped at MAX_GROWTH h (the fastest growth), so a bound
        // beyond it is as good as none and skips the division and square root
        let cap = MAX_GROWTH * h;
        let cap_k = if k == 1 { cap } else { cap * cap };
        if num >= cap_k * den {
            f64::INFINITY
        } else if k == 1 {
            num / den
        } else {
            (num / den).sqrt()
        }
    }

    /// Takes the accepted step `h` with charges `q` (coefficient `a0` of the step).
    pub fn accept(&mut self, q: &[f64], h: f64, a0: f64) {
        // shift the history (swapping the vectors, not their contents)
        self.qh.swap(2, 3);
        self.qh.swap(1, 2);
        self.qh.swap(0, 1);
        copy_small(&mut self.qh[0], q);
        self.hh = [h, self.hh[0], self.hh[1]];
        for ((qd, &q0), &hi) in self.qdot[1..]
            .iter_mut()
            .zip(&self.qh[0][1..])
            .zip(&self.hist[1..])
        {
            *qd = a0 * q0 + hi;
        }
    }

    /// One more valid history entry (up to the four kept).
    pub fn grow(&mut self) {
        self.nh = (self.nh + 1).min(4);
    }

    /// The next step starts the integration afresh (backward Euler), as after a
    /// discontinuity; `still`: the solution is smooth there, keep its derivative.
    pub fn restart(&mut self, still: bool) {
        self.nh = 1;
        if !still {
            self.qdot.iter_mut().for_each(|v| *v = 0.0);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The divided differences of a polynomial of degree k-1 are exact: a parabola's second
    /// divided difference is its leading coefficient at any spacing.
    #[test]
    fn divided_differences_of_a_parabola() {
        let t = [3.0, 2.5, 1.0, 0.25];
        let v = t.map(|t| 2.0 * t * t - t + 1.0);
        let mut rdt = [[0.0; 4]; 4];
        for lvl in 1..4 {
            for j in 0..4 - lvl {
                rdt[lvl][j] = 1.0 / (t[j] - t[j + lvl]);
            }
        }
        assert!((divided_difference(&rdt, 3, v) - 2.0).abs() < 1e-12);
        assert!(divided_difference(&rdt, 4, v).abs() < 1e-12);
    }
}
