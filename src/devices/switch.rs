//! Voltage-controlled switch with hysteresis (ngspice `S`, `.model SW VT VH RON ROFF`).
//!
//! The switch's state changes only at accepted time points; the crossing of VT +- VH is an
//! event the time stepper locates, so the state flips at the crossing instant instead of at
//! whatever time point happens to follow it.
use super::ops::{DeviceOps, Load, Pair, Setup};
use super::params::{Given, apply, param_table};
use crate::error::Result;

param_table! {
    /// A switch model card (`.model NAME sw (...)`).
    pub struct SwitchModel {
        vt: num = 0.0, "V", "Threshold of the control voltage.";
        vh: num = 0.0, "V", "Hysteresis: closes above VT + VH, opens below VT - VH.";
        ron: num = 1.0, "Ohm", "Resistance when closed.";
        roff: num = 1e12, "Ohm", "Resistance when open.";
    }
}

impl SwitchModel {
    /// Reads a model card; `name` is the model's name as written.
    pub fn from_card(given: &[Given], name: &str) -> Result<SwitchModel> {
        let mut m = SwitchModel::table_defaults();
        apply(
            &mut m,
            given,
            "model",
            &format!("switch model '{name}'"),
            &[],
        )?;
        Ok(m)
    }
}

#[derive(Debug, Clone)]
pub struct Switch {
    pub t: Pair,
    pub cp: usize,
    pub cn: usize,
    pub model: SwitchModel,
    /// Current state (held between accepted points).
    pub on: bool,
    /// Initial state from the instance (`ON`/`OFF`) when the control sits inside the hysteresis band.
    pub init_on: bool,
    /// Whether the state has been set from an operating point yet.
    started: bool,
}

impl Switch {
    pub fn new(
        a: usize,
        b: usize,
        cp: usize,
        cn: usize,
        model: SwitchModel,
        init_on: bool,
    ) -> Self {
        Switch {
            t: Pair::new(a, b),
            cp,
            cn,
            model,
            on: init_on,
            init_on,
            started: false,
        }
    }
    fn decide(&self, vc: f64, was_on: bool) -> bool {
        let m = &self.model;
        if vc > m.vt + m.vh {
            true
        } else if vc < m.vt - m.vh {
            false
        } else {
            was_on
        }
    }
}

impl DeviceOps for Switch {
    fn setup(&mut self, s: &mut Setup) {
        self.t.setup(s);
    }
    fn remap(&mut self, map: &[usize]) {
        self.t.remap(map);
    }
    fn load(&mut self, l: &mut Load) {
        let vc = l.x[self.cp] - l.x[self.cn];
        // In DC analyses the state follows the control (with hysteresis from the held state).
        let on = if l.dc {
            self.decide(vc, if self.started { self.on } else { self.init_on })
        } else {
            self.on
        };
        let g = if on {
            1.0 / self.model.ron
        } else {
            1.0 / self.model.roff
        };
        let i = g * self.t.v(l.x);
        self.t.stamp(l.f, l.jf, i, g);
    }
    fn stateful(&self) -> bool {
        true
    }
    fn accept(&mut self, x: &[f64], _t: f64) -> bool {
        let vc = x[self.cp] - x[self.cn];
        let was = self.on;
        self.on = self.decide(vc, if self.started { self.on } else { self.init_on });
        self.started = true;
        self.on != was
    }
    fn n_events(&self) -> usize {
        1
    }
    fn events(&mut self, x: &[f64], _t: f64, out: &mut [f64]) {
        let vc = x[self.cp] - x[self.cn];
        // the threshold that would flip the present state
        out[0] = if self.on {
            vc - (self.model.vt - self.model.vh)
        } else {
            vc - (self.model.vt + self.model.vh)
        };
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.t.a, self.t.b, self.cp, self.cn]);
    }
    fn renumber(&mut self, m: &[usize]) {
        self.t.renumber(m);
        (self.cp, self.cn) = (m[self.cp], m[self.cn]);
    }
    fn dc_path(&self, out: &mut Vec<usize>) {
        out.extend([self.t.a, self.t.b]);
    }
}
