//! Linear resistor: i = (v(a) - v(b)) / R, R = r scale / m times its temperature factor.
use super::ops::{DeviceOps, Load, Pair, Setup, pair_verbs};
use super::params::param_table;
use super::tempco::{TempCo, factor_cached};

param_table! {
    /// Instance parameters of a resistor line (`R1 a b 1k [r=] [m=] [ac=] [scale=] [tc1=]
    /// [tc2=] [tce=] [temp=] [dtemp=] [noisy=]`), as ngspice reads them.
    pub struct ResistorParams {
        r | resistance: opt = None, "Ohm", "Resistance (also the value after the nodes).";
        m: num = 1.0, "-", "Parallel multiplier: the conductance is m / r.";
        ac: opt = None, "Ohm", "Resistance in the AC analysis (default: r); DC and transient use r.";
        scale: num = 1.0, "-", "Multiplies the resistance.";
        tc1: num = 0.0, "1/K", "First-order temperature coefficient: r (1 + tc1 dT + tc2 dT^2), dT = T - TNOM.";
        tc2: num = 0.0, "1/K^2", "Second-order temperature coefficient.";
        tce: opt = None, "%/K", "Exponential temperature coefficient: r 1.01^(tce dT), replacing tc1 and tc2.";
        temp: opt = None, "C", "Instance temperature (default: the circuit's plus dtemp).";
        dtemp: num = 0.0, "K", "Instance temperature offset from the circuit's.";
        noisy: num = 1.0, "-", "Whether the resistor makes thermal noise (noise analyses only: no effect on op, dc, tran).";
    }
}

#[derive(Debug, Clone)]
pub struct Resistor {
    pub t: Pair,
    /// Conductance [S] (at the circuit temperature the resistor was built for).
    pub g: f64,
    /// Resistance before the temperature factor (r scale / m) [Ohm].
    r0: f64,
    /// AC resistance before the temperature factor (ac scale / m), if given [Ohm].
    r0_ac: Option<f64>,
    tc: Option<Box<TempCo>>,
    /// (temperature, factor) of the last load.
    cache: (f64, f64),
}

impl Resistor {
    pub fn new(a: usize, b: usize, r: f64) -> Self {
        Resistor {
            t: Pair::new(a, b),
            g: 1.0 / r,
            r0: r,
            r0_ac: None,
            tc: None,
            cache: (f64::NAN, 1.0),
        }
    }

    /// A resistor from its instance parameters (`r` given), with its temperature
    /// coefficients against `tnom` [C], built at circuit temperature `temp` [C].
    pub fn from_params(
        a: usize,
        b: usize,
        r: f64,
        p: &ResistorParams,
        tnom: f64,
        temp: f64,
    ) -> Self {
        let mut res = Resistor::new(a, b, r * p.scale / p.m);
        res.r0_ac = p.ac.map(|ac| ac * p.scale / p.m);
        res.tc = TempCo::new(p.tc1, p.tc2, p.tce, tnom, p.temp, p.dtemp).map(Box::new);
        res.g = 1.0 / (res.r0 * factor_cached(&res.tc, &mut res.cache, temp + super::T0));
        res
    }

    /// The conductance at circuit temperature `t` [K].
    pub fn conductance(&mut self, t: f64) -> f64 {
        if self.tc.is_none() {
            return self.g;
        }
        1.0 / (self.r0 * factor_cached(&self.tc, &mut self.cache, t))
    }

    /// The conductance the AC analysis uses at circuit temperature `t` [K]: from `ac=` when
    /// given, else the DC one.
    pub fn ac_conductance(&mut self, t: f64) -> f64 {
        match self.r0_ac {
            Some(r) => 1.0 / (r * factor_cached(&self.tc, &mut self.cache, t)),
            None => self.conductance(t),
        }
    }
}

impl DeviceOps for Resistor {
    pair_verbs!(t);
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let g = self.conductance(l.temp);
        let i = g * self.t.v(l.x);
        self.t.stamp(l.f, l.jf, i, g);
    }
    fn dc_path(&self, out: &mut Vec<usize>) {
        out.extend([self.t.a, self.t.b]);
    }
    fn ac_linearise(&self, jf: &mut [f64], _jq: &mut [f64]) {
        // `ac=`: the AC analysis sees that resistance instead (ngspice's RESacResist), with
        // the temperature factor of the operating point's load
        if let Some(r_ac) = self.r0_ac {
            let g = if self.tc.is_none() {
                self.g
            } else {
                1.0 / (self.r0 * self.cache.1)
            };
            self.t.stamp_j(jf, g * self.r0 / r_ac - g);
        }
    }
}
