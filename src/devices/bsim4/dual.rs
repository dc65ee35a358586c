//! Forward-mode dual numbers with three partials: d/dVds, d/dVgs, d/dVbs of the intrinsic
//! device (drain', gate, source', bulk' in the polarity-normalised frame).
//!
//! The channel, the intrinsic charges and the bias-dependent series resistances depend on
//! the terminal voltages only through these three differences (a common shift of all
//! terminals changes nothing), so three partials carry the full 4x4 Jacobian: the source
//! column is minus the sum of the other three. That is a quarter less arithmetic than
//! differentiating by four node voltages. The EKV model has its own four-partial type
//! (`ekv/dual.rs`); the relayout may merge the two into one generic `devices/dual.rs`.

use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A value and its partial derivatives by (Vds, Vgs, Vbs).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct D3 {
    /// Value.
    pub v: f64,
    /// Partials by Vds, Vgs, Vbs.
    pub d: [f64; 3],
}

/// Index of d/dVds in [`D3::d`].
pub const DS: usize = 0;
/// Index of d/dVgs in [`D3::d`].
pub const GS: usize = 1;
/// Index of d/dVbs in [`D3::d`].
pub const BS: usize = 2;

impl D3 {
    /// A constant.
    #[inline(always)]
    pub const fn c(v: f64) -> D3 {
        D3 { v, d: [0.0; 3] }
    }

    /// An independent variable `i` (0 = Vds, 1 = Vgs, 2 = Vbs) with value `v`.
    #[inline(always)]
    pub fn var(v: f64, i: usize) -> D3 {
        let mut d = [0.0; 3];
        d[i] = 1.0;
        D3 { v, d }
    }

    /// f(self) for a scalar function with value `f` and slope `df` at `self.v`.
    #[inline(always)]
    pub fn chain(self, f: f64, df: f64) -> D3 {
        D3 {
            v: f,
            d: [df * self.d[0], df * self.d[1], df * self.d[2]],
        }
    }

    #[inline(always)]
    pub fn exp(self) -> D3 {
        let e = self.v.exp();
        self.chain(e, e)
    }

    #[inline(always)]
    pub fn ln(self) -> D3 {
        self.chain(self.v.ln(), 1.0 / self.v)
    }

    #[inline(always)]
    pub fn sqrt(self) -> D3 {
        let s = self.v.sqrt();
        self.chain(s, 0.5 / s)
    }

    #[inline(always)]
    pub fn recip(self) -> D3 {
        let r = 1.0 / self.v;
        self.chain(r, -r * r)
    }

    /// self^p for self > 0.
    #[inline(always)]
    pub fn powf(self, p: f64) -> D3 {
        let f = self.v.powf(p);
        self.chain(f, p * f / self.v)
    }

    #[inline(always)]
    pub fn sq(self) -> D3 {
        self * self
    }

    /// Drops the derivatives' dependence on everything but the value: a constant.
    #[inline(always)]
    pub fn value_only(self) -> D3 {
        D3::c(self.v)
    }
}

impl Add for D3 {
    type Output = D3;
    #[inline(always)]
    fn add(self, o: D3) -> D3 {
        D3 {
            v: self.v + o.v,
            d: [self.d[0] + o.d[0], self.d[1] + o.d[1], self.d[2] + o.d[2]],
        }
    }
}

impl Sub for D3 {
    type Output = D3;
    #[inline(always)]
    fn sub(self, o: D3) -> D3 {
        D3 {
            v: self.v - o.v,
            d: [self.d[0] - o.d[0], self.d[1] - o.d[1], self.d[2] - o.d[2]],
        }
    }
}

impl Mul for D3 {
    type Output = D3;
    #[inline(always)]
    fn mul(self, o: D3) -> D3 {
        D3 {
            v: self.v * o.v,
            d: [
                self.d[0] * o.v + self.v * o.d[0],
                self.d[1] * o.v + self.v * o.d[1],
                self.d[2] * o.v + self.v * o.d[2],
            ],
        }
    }
}

impl Div for D3 {
    type Output = D3;
    #[inline(always)]
    fn div(self, o: D3) -> D3 {
        let inv = 1.0 / o.v;
        let q = self.v * inv;
        D3 {
            v: q,
            d: [
                (self.d[0] - q * o.d[0]) * inv,
                (self.d[1] - q * o.d[1]) * inv,
                (self.d[2] - q * o.d[2]) * inv,
            ],
        }
    }
}

impl Neg for D3 {
    type Output = D3;
    #[inline(always)]
    fn neg(self) -> D3 {
        D3 {
            v: -self.v,
            d: [-self.d[0], -self.d[1], -self.d[2]],
        }
    }
}

impl Add<f64> for D3 {
    type Output = D3;
    #[inline(always)]
    fn add(self, o: f64) -> D3 {
        D3 {
            v: self.v + o,
            d: self.d,
        }
    }
}

impl Sub<f64> for D3 {
    type Output = D3;
    #[inline(always)]
    fn sub(self, o: f64) -> D3 {
        D3 {
            v: self.v - o,
            d: self.d,
        }
    }
}

impl Mul<f64> for D3 {
    type Output = D3;
    #[inline(always)]
    fn mul(self, o: f64) -> D3 {
        D3 {
            v: self.v * o,
            d: [self.d[0] * o, self.d[1] * o, self.d[2] * o],
        }
    }
}

impl Div<f64> for D3 {
    type Output = D3;
    #[inline(always)]
    fn div(self, o: f64) -> D3 {
        self * (1.0 / o)
    }
}

impl Add<D3> for f64 {
    type Output = D3;
    #[inline(always)]
    fn add(self, o: D3) -> D3 {
        o + self
    }
}

impl Sub<D3> for f64 {
    type Output = D3;
    #[inline(always)]
    fn sub(self, o: D3) -> D3 {
        D3 {
            v: self - o.v,
            d: [-o.d[0], -o.d[1], -o.d[2]],
        }
    }
}

impl Mul<D3> for f64 {
    type Output = D3;
    #[inline(always)]
    fn mul(self, o: D3) -> D3 {
        o * self
    }
}

impl Div<D3> for f64 {
    type Output = D3;
    #[inline(always)]
    #[allow(clippy::suspicious_arithmetic_impl)]
    fn div(self, o: D3) -> D3 {
        o.recip() * self
    }
}

impl AddAssign for D3 {
    #[inline(always)]
    fn add_assign(&mut self, o: D3) {
        *self = *self + o;
    }
}

impl SubAssign for D3 {
    #[inline(always)]
    fn sub_assign(&mut self, o: D3) {
        *self = *self - o;
    }
}

impl MulAssign for D3 {
    #[inline(always)]
    fn mul_assign(&mut self, o: D3) {
        *self = *self * o;
    }
}

impl MulAssign<f64> for D3 {
    #[inline(always)]
    fn mul_assign(&mut self, o: f64) {
        *self = *self * o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
        let h = 1e-6 * (1.0 + x.abs());
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn elementary_derivatives_match_finite_differences() {
        for &x in &[0.3, 1.7, 4.0] {
            let d = D3::var(x, GS);
            let cases: [(D3, f64); 6] = [
                (d.exp(), fd(f64::exp, x)),
                (d.ln(), fd(f64::ln, x)),
                (d.sqrt(), fd(f64::sqrt, x)),
                (d.powf(0.7), fd(|y| y.powf(0.7), x)),
                (1.0 / (d - 7.0), fd(|y| 1.0 / (y - 7.0), x)),
                (
                    (d * d + 1.0) / (2.0 - d),
                    fd(|y| (y * y + 1.0) / (2.0 - y), x),
                ),
            ];
            for (got, want) in cases {
                assert!((got.d[GS] - want).abs() <= 1e-7 * (1.0 + want.abs()));
                assert_eq!(got.d[DS], 0.0);
                assert_eq!(got.d[BS], 0.0);
            }
        }
    }
}
