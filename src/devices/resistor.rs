//! Linear resistor: i = (v(a) - v(b)) / R.
use super::ops::{DeviceOps, Load, Pair, Setup, pair_verbs};
use super::params::param_table;

param_table! {
    /// Instance parameters of a resistor line (`R1 a b 1k [r=] [m=]`).
    pub struct ResistorParams {
        r: opt = None, "Ohm", "Resistance (also the value after the nodes).";
        m: num = 1.0, "-", "Parallel multiplier: the conductance is m / r.";
    }
}

#[derive(Debug, Clone)]
pub struct Resistor {
    pub t: Pair,
    /// Conductance [S].
    pub g: f64,
}

impl Resistor {
    pub fn new(a: usize, b: usize, r: f64) -> Self {
        Resistor {
            t: Pair::new(a, b),
            g: 1.0 / r,
        }
    }
}

impl DeviceOps for Resistor {
    pair_verbs!(t);
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let i = self.g * self.t.v(l.x);
        self.t.stamp(l.f, l.jf, i, self.g);
    }
    fn dc_path(&self, out: &mut Vec<usize>) {
        out.extend([self.t.a, self.t.b]);
    }
}
