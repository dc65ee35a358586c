//! Linear inductor with a branch current: v(a) - v(b) = d(L i)/dt.
use super::ops::{Branch, DeviceOps, Load, Setup, branch_verbs, remap_all};
use super::params::param_table;
use super::tempco::{TempCo, factor_cached};

param_table! {
    /// Instance parameters of an inductor line (`L1 a b 1u [ic=] [m=] [scale=] [tc1=] [tc2=]
    /// [temp=] [dtemp=]`), as ngspice reads them.
    pub struct InductorParams {
        l | inductance: opt = None, "H", "Inductance (also the value after the nodes).";
        ic: opt = None, "A", "Initial current with `uic`.";
        m: num = 1.0, "-", "Parallel multiplier: the inductance is l / m.";
        scale: num = 1.0, "-", "Multiplies the inductance.";
        tc1: num = 0.0, "1/K", "First-order temperature coefficient: l (1 + tc1 dT + tc2 dT^2), dT = T - TNOM.";
        tc2: num = 0.0, "1/K^2", "Second-order temperature coefficient.";
        temp: opt = None, "C", "Instance temperature (default: the circuit's plus dtemp).";
        dtemp: num = 0.0, "K", "Instance temperature offset from the circuit's.";
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
    tc: Option<Box<TempCo>>,
    /// (temperature, factor) of the last load.
    cache: (f64, f64),
}

impl Inductor {
    pub fn new(a: usize, b: usize, l: f64, ic: Option<f64>) -> Self {
        Inductor {
            br: Branch::new(a, b),
            l,
            ic,
            slot_kk: 0,
            tc: None,
            cache: (f64::NAN, 1.0),
        }
    }

    /// An inductor from its instance parameters (`l` given), with its temperature
    /// coefficients against `tnom` [C].
    pub fn from_params(a: usize, b: usize, l: f64, p: &InductorParams, tnom: f64) -> Self {
        let mut ind = Inductor::new(a, b, l * p.scale / p.m, p.ic);
        ind.tc = TempCo::new(p.tc1, p.tc2, None, tnom, p.temp, p.dtemp).map(Box::new);
        ind
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
        let ind = self.l * factor_cached(&self.tc, &mut self.cache, l.temp);
        self.br.load(l, 0.0);
        l.q[self.br.k] -= ind * i;
        l.jq[self.slot_kk] -= ind;
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
