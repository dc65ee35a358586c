//! Linear inductor with a branch current: v(a) - v(b) = d(L i)/dt.
use super::ops::{Branch, DeviceOps, Load, Setup, branch_verbs, remap_all};
use super::params::param_table;

param_table! {
    /// Instance parameters of an inductor line (`L1 a b 1u [ic=] [m=]`).
    pub struct InductorParams {
        l: opt = None, "H", "Inductance (also the value after the nodes).";
        ic: opt = None, "A", "Initial current with `uic`.";
        m: num = 1.0, "-", "Parallel multiplier: the inductance is l / m.";
    }
}

#[derive(Debug, Clone)]
pub struct Inductor {
    pub br: Branch,
    /// Inductance [H].
    pub l: f64,
    /// Initial current for `uic` [A].
    pub ic: Option<f64>,
    slot_kk: usize,
}

impl Inductor {
    pub fn new(a: usize, b: usize, l: f64, ic: Option<f64>) -> Self {
        Inductor {
            br: Branch::new(a, b),
            l,
            ic,
            slot_kk: 0,
        }
    }
}

impl DeviceOps for Inductor {
    fn setup(&mut self, s: &mut Setup) {
        self.br.setup(s);
        self.slot_kk = s.entry(self.br.k, self.br.k);
    }
    fn remap(&mut self, map: &[usize]) {
        self.br.remap(map);
        remap_all(std::slice::from_mut(&mut self.slot_kk), map);
    }
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let i = l.x[self.br.k];
        self.br.load(l, 0.0);
        l.q[self.br.k] -= self.l * i;
        l.jq[self.slot_kk] -= self.l;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.br.p, self.br.n, self.br.k]);
    }
    fn renumber(&mut self, m: &[usize]) {
        self.br.renumber(m);
    }
    branch_verbs!(br);
    fn initial_state(&self, x: &mut [f64]) {
        if let Some(i) = self.ic {
            x[self.br.k] = i;
        }
    }
}
