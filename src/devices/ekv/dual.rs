//! Forward-mode dual numbers with four partials (one per MOSFET terminal).
//!
//! A hand-written type rather than the `num-dual` crate: the model needs exactly four
//! partials, a handful of elementary functions and no allocation, and a fixed-size
//! `[f64; 4]` keeps every evaluation on the stack and lets the compiler vectorise.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// The arithmetic the model equations are written in: `f64` for plain values,
/// [`D4`] for values with exact terminal-voltage derivatives.
pub(crate) trait Scalar:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    fn val(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn recip(self) -> Self;
    /// ln(1 + e^x), evaluated without overflow for large x.
    fn softplus(self) -> Self;
    /// self^p for self > 0.
    fn powf(self, p: f64) -> Self {
        (self.ln() * p).exp()
    }
}

impl Scalar for f64 {
    #[inline]
    fn val(self) -> f64 {
        self
    }
    #[inline]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline]
    fn recip(self) -> Self {
        1.0 / self
    }
    #[inline]
    fn softplus(self) -> Self {
        softplus_f64(self)
    }
    #[inline]
    fn powf(self, p: f64) -> Self {
        f64::powf(self, p)
    }
}

#[inline]
fn softplus_f64(x: f64) -> f64 {
    // Beyond 40, ln(1 + e^-x) < 5e-18 is below half an ulp of x: skip the exp and log.
    if x > 40.0 {
        x
    } else if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Logistic function 1/(1 + e^-x), the derivative of softplus.
#[inline]
fn logistic(x: f64) -> f64 {
    if x > 40.0 {
        1.0
    } else if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A value and its partial derivatives with respect to (vd, vg, vs, vb).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct D4 {
    pub v: f64,
    pub d: [f64; 4],
}

impl D4 {
    #[inline]
    pub fn cst(v: f64) -> Self {
        D4 { v, d: [0.0; 4] }
    }

    /// An independent variable: value `v`, d(self)/d(terminal `i`) = `seed`.
    #[inline]
    pub fn var(v: f64, i: usize, seed: f64) -> Self {
        let mut d = [0.0; 4];
        d[i] = seed;
        D4 { v, d }
    }

    /// Chain rule for a scalar function with value `f` and derivative `df` at self.v.
    #[inline]
    fn chain(self, f: f64, df: f64) -> Self {
        D4 {
            v: f,
            d: [
                df * self.d[0],
                df * self.d[1],
                df * self.d[2],
                df * self.d[3],
            ],
        }
    }
}

impl Add for D4 {
    type Output = D4;
    #[inline]
    fn add(self, o: D4) -> D4 {
        D4 {
            v: self.v + o.v,
            d: [
                self.d[0] + o.d[0],
                self.d[1] + o.d[1],
                self.d[2] + o.d[2],
                self.d[3] + o.d[3],
            ],
        }
    }
}

impl Sub for D4 {
    type Output = D4;
    #[inline]
    fn sub(self, o: D4) -> D4 {
        D4 {
            v: self.v - o.v,
            d: [
                self.d[0] - o.d[0],
                self.d[1] - o.d[1],
                self.d[2] - o.d[2],
                self.d[3] - o.d[3],
            ],
        }
    }
}

impl Mul for D4 {
    type Output = D4;
    #[inline]
    fn mul(self, o: D4) -> D4 {
        D4 {
            v: self.v * o.v,
            d: [
                self.d[0] * o.v + self.v * o.d[0],
                self.d[1] * o.v + self.v * o.d[1],
                self.d[2] * o.v + self.v * o.d[2],
                self.d[3] * o.v + self.v * o.d[3],
            ],
        }
    }
}

impl Div for D4 {
    type Output = D4;
    #[inline]
    fn div(self, o: D4) -> D4 {
        let inv = 1.0 / o.v;
        let q = self.v * inv;
        D4 {
            v: q,
            d: [
                (self.d[0] - q * o.d[0]) * inv,
                (self.d[1] - q * o.d[1]) * inv,
                (self.d[2] - q * o.d[2]) * inv,
                (self.d[3] - q * o.d[3]) * inv,
            ],
        }
    }
}

impl Neg for D4 {
    type Output = D4;
    #[inline]
    fn neg(self) -> D4 {
        self * -1.0
    }
}

impl Add<f64> for D4 {
    type Output = D4;
    #[inline]
    fn add(self, o: f64) -> D4 {
        D4 {
            v: self.v + o,
            d: self.d,
        }
    }
}

impl Sub<f64> for D4 {
    type Output = D4;
    #[inline]
    fn sub(self, o: f64) -> D4 {
        D4 {
            v: self.v - o,
            d: self.d,
        }
    }
}

impl Mul<f64> for D4 {
    type Output = D4;
    #[inline]
    fn mul(self, o: f64) -> D4 {
        D4 {
            v: self.v * o,
            d: [self.d[0] * o, self.d[1] * o, self.d[2] * o, self.d[3] * o],
        }
    }
}

impl Div<f64> for D4 {
    type Output = D4;
    #[inline]
    fn div(self, o: f64) -> D4 {
        self * (1.0 / o)
    }
}

impl Scalar for D4 {
    #[inline]
    fn val(self) -> f64 {
        self.v
    }
    #[inline]
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    #[inline]
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    #[inline]
    fn sqrt(self) -> Self {
        let s = self.v.sqrt();
        self.chain(s, 0.5 / s)
    }
    #[inline]
    fn recip(self) -> Self {
        let r = 1.0 / self.v;
        self.chain(r, -r * r)
    }
    #[inline]
    fn softplus(self) -> Self {
        self.chain(softplus_f64(self.v), logistic(self.v))
    }
    #[inline]
    fn powf(self, p: f64) -> Self {
        let f = self.v.powf(p);
        self.chain(f, p * f / self.v)
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
            let d = D4::var(x, 2, 1.0);
            let cases: [(D4, f64); 6] = [
                (d.exp(), fd(f64::exp, x)),
                (d.ln(), fd(f64::ln, x)),
                (d.sqrt(), fd(f64::sqrt, x)),
                (d.softplus(), fd(softplus_f64, x)),
                (d.powf(0.67), fd(|y| y.powf(0.67), x)),
                (
                    (d * d + 1.0) / (d - 7.0),
                    fd(|y| (y * y + 1.0) / (y - 7.0), x),
                ),
            ];
            for (got, want) in cases {
                assert!((got.d[2] - want).abs() <= 1e-7 * (1.0 + want.abs()));
                assert_eq!(got.d[0], 0.0);
            }
        }
    }

    #[test]
    fn softplus_is_finite_far_out() {
        assert_eq!(softplus_f64(-800.0), 0.0);
        assert_eq!(softplus_f64(800.0), 800.0);
        let d = D4::var(800.0, 0, 1.0).softplus();
        assert_eq!(d.d[0], 1.0);
        let d = D4::var(-800.0, 0, 1.0).softplus();
        assert_eq!(d.d[0], 0.0);
    }
}
