//! The transfer curve of an E/G `TABLE` source, as ngspice 39 evaluates it.
//!
//! ngspice turns `E1 p n TABLE {expr} = (x1,y1) (x2,y2) ...` into its XSPICE `pwl` code model
//! with `input_domain=0.1 fraction=TRUE`, the table extended flat beyond both ends. The curve
//! is therefore the straight segments through the points, held at the first and last `y`
//! outside the table, with every corner (the two end points included) replaced by the parabola
//! tangent to both adjacent lines over `x_i ± d_i`, `d_i` = 0.1 times the shorter adjacent
//! segment (the end points: 0.1 times their one segment). At a corner the curve departs from
//! the lines by (slope change)·d_i/4. Checked against ngspice 39 in
//! `tests/conformance/dia_etable*`.

use crate::error::{Error, Result};

/// A piecewise-linear table with rounded corners, flat beyond its ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    x: Vec<f64>,
    y: Vec<f64>,
}

/// The half-width of the rounding at a corner, as a fraction of the shorter adjacent segment.
const DOMAIN: f64 = 0.1;

impl Table {
    /// A table through `points`; at least two, with strictly increasing finite `x`. An error
    /// has no location (the caller's is the table's).
    pub fn new(points: Vec<(f64, f64)>) -> Result<Table> {
        if points.len() < 2 {
            return Err(Error::netlist(
                format!("TABLE needs at least 2 points, got {}", points.len()),
                None,
            ));
        }
        for w in points.windows(2) {
            if w[1].0 <= w[0].0 || !w[1].0.is_finite() || !w[0].0.is_finite() {
                return Err(Error::netlist(
                    format!(
                        "TABLE inputs must increase strictly: ({}, {}) is followed by ({}, {})",
                        w[0].0, w[0].1, w[1].0, w[1].1
                    ),
                    None,
                ));
            }
        }
        let (x, y) = points.into_iter().unzip();
        Ok(Table { x, y })
    }

    /// Slope of segment `i` (from point i to i + 1); 0 beyond the ends.
    fn slope(&self, i: isize) -> f64 {
        let n = self.x.len() as isize;
        if i < 0 || i >= n - 1 {
            return 0.0;
        }
        let i = i as usize;
        (self.y[i + 1] - self.y[i]) / (self.x[i + 1] - self.x[i])
    }

    /// Half-width of the rounding at point `i`.
    fn half_width(&self, i: usize) -> f64 {
        let n = self.x.len();
        let lower = (i > 0).then(|| self.x[i] - self.x[i - 1]);
        let upper = (i + 1 < n).then(|| self.x[i + 1] - self.x[i]);
        let seg = match (lower, upper) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => 0.0,
        };
        DOMAIN * seg
    }

    /// The parabola tangent to both lines at corner `i`, at `u` (within its half-width).
    fn corner(&self, i: usize, u: f64) -> (f64, f64) {
        let d = self.half_width(i);
        let (s1, s2) = (self.slope(i as isize - 1), self.slope(i as isize));
        let r = u - self.x[i] + d;
        let y = self.y[i] + s1 * (u - self.x[i]) + (s2 - s1) * r * r / (4.0 * d);
        (y, s1 + (s2 - s1) * r / (2.0 * d))
    }

    /// Value and derivative at `u`.
    pub fn eval(&self, u: f64) -> (f64, f64) {
        let n = self.x.len();
        if u.is_nan() {
            return (f64::NAN, 0.0);
        }
        // the point at or below u (the first one when u is below the table)
        let k = self.x.partition_point(|&xi| xi <= u).saturating_sub(1);
        // the corner u may be rounded by: k, or k + 1 when u lies in its lower half-width
        for c in [k, k + 1] {
            if c < n && (u - self.x[c]).abs() < self.half_width(c) {
                return self.corner(c, u);
            }
        }
        if u <= self.x[0] {
            return (self.y[0], 0.0);
        }
        if u >= self.x[n - 1] {
            return (self.y[n - 1], 0.0);
        }
        let s = self.slope(k as isize);
        (self.y[k] + s * (u - self.x[k]), s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dia_etable golden (ngspice 39): corners rounded by 0.1 of the shorter segment.
    #[test]
    fn matches_ngspice_corners() {
        let e = Table::new(vec![(-1.0, -1.0), (-0.5, -1.0), (0.5, 1.0), (1.0, 1.0)]).unwrap();
        for (u, y) in [
            (-2.0, -1.0),
            (-0.75, -1.0),
            (-0.5, -0.975),
            (-0.25, -0.5),
            (0.0, 0.0),
            (0.5, 0.975),
            (3.0, 1.0),
        ] {
            assert!((e.eval(u).0 - y).abs() < 1e-12, "{u}: {:?}", e.eval(u));
        }
        let g = Table::new(vec![(0.0, 0.0), (2.0, 2e-3), (3.0, 2e-3)]).unwrap();
        // v(g) = 1k * table(v(in) + 0.5) of the golden
        for (u, y) in [
            (-1.5, 0.0),
            (0.0, 5e-5),
            (0.25, 2.5e-4),
            (2.0, 1.975e-3),
            (2.5, 2e-3),
        ] {
            assert!((g.eval(u).0 - y).abs() < 1e-15, "{u}: {:?}", g.eval(u));
        }
    }

    #[test]
    fn derivative_is_exact_and_curve_continuous() {
        let t = Table::new(vec![(0.0, 0.0), (1.0, 1.0), (2.0, 1.0), (30.0, 2.0)]).unwrap();
        let mut u = -1.0;
        while u < 32.0 {
            let h = 1e-7;
            let fd = (t.eval(u + h).0 - t.eval(u - h).0) / (2.0 * h);
            assert!((fd - t.eval(u).1).abs() < 1e-6, "{u}");
            assert!((t.eval(u + 1e-12).0 - t.eval(u).0).abs() < 1e-9, "{u}");
            u += 0.0123;
        }
        // ngspice 39 at 1.925 and 2.0 (a corner from slope 0 to 1/28, d = 0.1)
        assert!((t.eval(1.925).0 - 1.000056).abs() < 1e-6);
        assert!((t.eval(2.0).0 - 1.000893).abs() < 1e-6);
        assert!(Table::new(vec![(0.0, 1.0)]).is_err());
        assert!(Table::new(vec![(0.0, 1.0), (0.0, 2.0)]).is_err());
    }
}
