//! Linear capacitor: q = C (v(a) - v(b)).
use super::{DeviceOps, Load, Setup, remap_all, req2, stamp2};

#[derive(Debug, Clone)]
pub struct Capacitor {
    pub a: usize,
    pub b: usize,
    /// Capacitance [F].
    pub c: f64,
    /// Initial voltage for `uic` [V].
    pub ic: Option<f64>,
    slots: [usize; 4],
}

impl Capacitor {
    pub fn new(a: usize, b: usize, c: f64, ic: Option<f64>) -> Self {
        Capacitor {
            a,
            b,
            c,
            ic,
            slots: [0; 4],
        }
    }
}

impl DeviceOps for Capacitor {
    fn setup(&mut self, s: &mut Setup) {
        self.slots = req2(s, self.a, self.b);
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let q = self.c * (l.x[self.a] - l.x[self.b]);
        l.q[self.a] += q;
        l.q[self.b] -= q;
        stamp2(l.jq, &self.slots, self.c);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.a, self.b]);
    }
}
