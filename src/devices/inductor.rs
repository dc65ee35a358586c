//! Linear inductor with a branch current: v(a) - v(b) = d(L i)/dt.
use super::{DeviceOps, Load, Setup, remap_all};

#[derive(Debug, Clone)]
pub struct Inductor {
    pub name: String,
    pub a: usize,
    pub b: usize,
    /// Inductance [H].
    pub l: f64,
    /// Initial current for `uic` [A].
    pub ic: Option<f64>,
    pub br: usize,
    slots: [usize; 5],
}

impl Inductor {
    pub fn new(name: &str, a: usize, b: usize, l: f64, ic: Option<f64>) -> Self {
        Inductor {
            name: name.to_string(),
            a,
            b,
            l,
            ic,
            br: 0,
            slots: [0; 5],
        }
    }
}

impl DeviceOps for Inductor {
    fn setup(&mut self, s: &mut Setup) {
        let (a, b, k) = (self.a, self.b, self.br);
        self.slots = [
            s.entry(a, k),
            s.entry(b, k),
            s.entry(k, a),
            s.entry(k, b),
            s.entry(k, k),
        ];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let i = l.x[self.br];
        l.f[self.a] += i;
        l.f[self.b] -= i;
        l.f[self.br] += l.x[self.a] - l.x[self.b];
        l.q[self.br] -= self.l * i;
        l.jf[self.slots[0]] += 1.0;
        l.jf[self.slots[1]] -= 1.0;
        l.jf[self.slots[2]] += 1.0;
        l.jf[self.slots[3]] -= 1.0;
        l.jq[self.slots[4]] -= self.l;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.a, self.b, self.br]);
    }
}
