//! Linear capacitor: q = C (v(a) - v(b)), with an optional mismatch model card.
use super::ops::{DeviceOps, Load, Pair, Setup, pair_verbs};
use super::params::{Given, MismatchDraw, apply, param_table};
use super::tempco::{TempCo, factor_cached};
use crate::error::{Error, Result};
use crate::expr::Func;

param_table! {
    /// Instance parameters of a capacitor line (`C1 a b 1p [model] [ic=] [m=] [scale=]
    /// [tc1=] [tc2=] [temp=] [dtemp=]`), as ngspice reads them.
    pub struct CapacitorParams {
        c | capacitance: opt = None, "F", "Capacitance (also the value after the nodes).";
        ic: opt = None, "V", "Initial voltage v(a) - v(b) with `uic`.";
        m: num = 1.0, "-", "Parallel multiplier: the capacitance is m c.";
        scale: num = 1.0, "-", "Multiplies the capacitance.";
        tc1: num = 0.0, "1/K", "First-order temperature coefficient: c (1 + tc1 dT + tc2 dT^2), dT = T - TNOM.";
        tc2: num = 0.0, "1/K^2", "Second-order temperature coefficient.";
        temp: opt = None, "C", "Instance temperature (default: the circuit's plus dtemp).";
        dtemp: num = 0.0, "K", "Instance temperature offset from the circuit's.";
    }
}

param_table! {
    /// A capacitor mismatch model (`.model NAME c (ac=.. cunit=..|cdens=..)`): local
    /// variation of every capacitor that names it, sigma(dC/C) = ac / sqrt(C / cunit) (unit
    /// capacitors) or ac / sqrt(C / cdens) (area), C being the total capacitance.
    pub struct CapModel {
        ac: num = 0.0, "- or m", "Mismatch coefficient: relative sigma of one unit capacitor (with cunit) or sigma times sqrt(area) (with cdens).", mismatch "sigma(dC/C) = ac / sqrt(C / cunit) or ac / sqrt(C / cdens)";
        cunit: opt = None, "F", "Capacitance of one unit capacitor.";
        cdens: opt = None, "F/m^2", "Capacitance per area.";
    }
}

impl CapModel {
    /// Reads a model card; `name` is the model's name as written (for messages).
    pub fn from_card(given: &[Given], name: &str) -> Result<CapModel> {
        let mut m = CapModel::table_defaults();
        apply(
            &mut m,
            given,
            "model",
            &format!("capacitor model '{name}' (expected ac, cunit or cdens)"),
            &[],
        )?;
        for g in given {
            if !(g.value > 0.0 || (g.name == "ac" && g.value == 0.0)) {
                return Err(g.error(format!(
                    "capacitor model parameter '{}' must be positive, got {}",
                    g.name, g.value
                )));
            }
        }
        Ok(m)
    }

    /// Capacitance per unit of "size" the sigma scales with: exactly one of cunit and cdens.
    pub fn per(&self) -> Option<f64> {
        match (self.cunit, self.cdens) {
            (Some(u), None) => Some(u),
            (None, Some(d)) => Some(d),
            _ => None,
        }
    }
}

/// A capacitor's mismatch: its value per multiplier, the multiplier and the model.
#[derive(Debug, Clone)]
struct Mismatch {
    nominal: f64,
    m: f64,
    sigma: f64,
}

#[derive(Debug, Clone)]
pub struct Capacitor {
    pub t: Pair,
    /// Capacitance [F].
    pub c: f64,
    /// Initial voltage for `uic` [V].
    pub ic: Option<f64>,
    mismatch: Option<Mismatch>,
    /// Temperature coefficients (the capacitance is `c` times their factor).
    tc: Option<Box<TempCo>>,
    /// (temperature, factor) of the last load.
    cache: (f64, f64),
}

impl Capacitor {
    pub fn new(a: usize, b: usize, c: f64, ic: Option<f64>) -> Self {
        Capacitor {
            t: Pair::new(a, b),
            c,
            ic,
            mismatch: None,
            tc: None,
            cache: (f64::NAN, 1.0),
        }
    }

    /// Applies an instance's `scale=` and temperature coefficients (against `tnom` [C]).
    pub fn with_params(mut self, p: &CapacitorParams, tnom: f64) -> Self {
        self.c *= p.scale;
        if let Some(mm) = &mut self.mismatch {
            mm.nominal *= p.scale;
        }
        self.tc = TempCo::new(p.tc1, p.tc2, None, tnom, p.temp, p.dtemp).map(Box::new);
        self
    }

    /// A capacitor of `m` parallel units of `c` whose value varies from run to run as its
    /// mismatch model says (when `ac` is not 0).
    pub fn with_model(
        a: usize,
        b: usize,
        c: f64,
        m: f64,
        ic: Option<f64>,
        model: &CapModel,
        per: f64,
    ) -> Self {
        let mut cap = Capacitor::new(a, b, c * m, ic);
        if model.ac != 0.0 {
            cap.mismatch = Some(Mismatch {
                nominal: c,
                m,
                sigma: model.ac / (c * m / per).sqrt(),
            });
        }
        cap
    }
}

impl DeviceOps for Capacitor {
    pair_verbs!(t);
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let c = self.c * factor_cached(&self.tc, &mut self.cache, l.temp);
        let q = c * self.t.v(l.x);
        self.t.stamp(l.q, l.jq, q, c);
    }
    fn initial_state(&self, x: &mut [f64]) {
        if let Some(v) = self.ic {
            if self.t.b == 0 {
                x[self.t.a] = v;
            } else if self.t.a == 0 {
                x[self.t.b] = -v;
            }
        }
    }
    fn mismatch(&self, out: &mut Vec<MismatchDraw>) -> Result<()> {
        let Some(mm) = &self.mismatch else {
            return Ok(());
        };
        if mm.nominal * mm.m <= 0.0 {
            return Err(Error::netlist(
                "a capacitor with a mismatch model needs a positive value",
                None,
            ));
        }
        out.push(MismatchDraw {
            what: "dc",
            func: Func::Gauss,
            args: [mm.nominal, mm.sigma, 1.0],
        });
        Ok(())
    }
    fn set_mismatch(&mut self, v: &[f64]) -> Result<()> {
        if let (Some(mm), Some(&c)) = (&self.mismatch, v.first()) {
            self.c = c * mm.m;
        }
        Ok(())
    }
}
