//! Linear resistor: i = (v(a) - v(b)) / R.
use super::{DeviceOps, Load, Setup, remap_all, req2, stamp2};

#[derive(Debug, Clone)]
pub struct Resistor {
    pub a: usize,
    pub b: usize,
    /// Conductance [S].
    pub g: f64,
    slots: [usize; 4],
}

impl Resistor {
    pub fn new(a: usize, b: usize, r: f64) -> Self {
        Resistor {
            a,
            b,
            g: 1.0 / r,
            slots: [0; 4],
        }
    }
}

impl DeviceOps for Resistor {
    fn setup(&mut self, s: &mut Setup) {
        self.slots = req2(s, self.a, self.b);
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let i = self.g * (l.x[self.a] - l.x[self.b]);
        l.f[self.a] += i;
        l.f[self.b] -= i;
        stamp2(l.jf, &self.slots, self.g);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.a, self.b]);
    }
}
