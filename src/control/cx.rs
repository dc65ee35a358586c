//! A small complex number for vector arithmetic (AC results, `j()`, `sqrt` of negatives).

use std::ops::{Add, Div, Mul, Neg, Sub};

/// A complex number `re + j im`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct C {
    pub re: f64,
    pub im: f64,
}

impl C {
    pub const fn new(re: f64, im: f64) -> C {
        C { re, im }
    }
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
    /// The argument in radians, in (-pi, pi].
    pub fn arg(self) -> f64 {
        self.im.atan2(self.re)
    }
    pub fn is_zero(self) -> bool {
        self.re == 0.0 && self.im == 0.0
    }
    pub fn exp(self) -> C {
        let m = self.re.exp();
        C::new(m * self.im.cos(), m * self.im.sin())
    }
    /// The principal logarithm.
    pub fn ln(self) -> C {
        C::new(self.abs().ln(), self.arg())
    }
    /// The principal square root.
    pub fn sqrt(self) -> C {
        let m = self.abs();
        if m == 0.0 {
            return C::default();
        }
        let re = ((m + self.re) / 2.0).sqrt();
        let im = ((m - self.re) / 2.0).sqrt();
        C::new(re, if self.im < 0.0 { -im } else { im })
    }
    /// `self ^ p` by the principal logarithm (`0 ^ p` is 0).
    pub fn pow(self, p: C) -> C {
        if self.is_zero() {
            return if p.is_zero() {
                C::new(1.0, 0.0)
            } else {
                C::default()
            };
        }
        (p * self.ln()).exp()
    }
    pub fn sin(self) -> C {
        C::new(
            self.re.sin() * self.im.cosh(),
            self.re.cos() * self.im.sinh(),
        )
    }
    pub fn cos(self) -> C {
        C::new(
            self.re.cos() * self.im.cosh(),
            -self.re.sin() * self.im.sinh(),
        )
    }
    pub fn tan(self) -> C {
        self.sin() / self.cos()
    }
    pub fn sinh(self) -> C {
        C::new(
            self.re.sinh() * self.im.cos(),
            self.re.cosh() * self.im.sin(),
        )
    }
    pub fn cosh(self) -> C {
        C::new(
            self.re.cosh() * self.im.cos(),
            self.re.sinh() * self.im.sin(),
        )
    }
    pub fn tanh(self) -> C {
        self.sinh() / self.cosh()
    }
    /// atan z = (j/2) ln((j + z) / (j - z)).
    pub fn atan(self) -> C {
        let j = C::new(0.0, 1.0);
        C::new(0.0, 0.5) * ((j + self) / (j - self)).ln()
    }
}

impl From<f64> for C {
    fn from(re: f64) -> C {
        C::new(re, 0.0)
    }
}

impl Add for C {
    type Output = C;
    fn add(self, o: C) -> C {
        C::new(self.re + o.re, self.im + o.im)
    }
}

impl Sub for C {
    type Output = C;
    fn sub(self, o: C) -> C {
        C::new(self.re - o.re, self.im - o.im)
    }
}

impl Mul for C {
    type Output = C;
    fn mul(self, o: C) -> C {
        C::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

impl Div for C {
    type Output = C;
    fn div(self, o: C) -> C {
        let d = o.re * o.re + o.im * o.im;
        C::new(
            (self.re * o.re + self.im * o.im) / d,
            (self.im * o.re - self.re * o.im) / d,
        )
    }
}

impl Neg for C {
    type Output = C;
    fn neg(self) -> C {
        C::new(-self.re, -self.im)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: C, b: C) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn identities() {
        let z = C::new(0.3, -1.2);
        assert!(close(z.sqrt() * z.sqrt(), z));
        assert!(close(z.ln().exp(), z));
        assert!(close(z.atan().tan(), z));
        assert!(close(
            z.sin() * z.sin() + z.cos() * z.cos(),
            C::new(1.0, 0.0)
        ));
        assert!(close(C::new(-4.0, 0.0).sqrt(), C::new(0.0, 2.0)));
        assert!(close(
            C::new(2.0, 0.0).pow(C::new(3.0, 0.0)),
            C::new(8.0, 0.0)
        ));
    }
}
