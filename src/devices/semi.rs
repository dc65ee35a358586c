//! What the BJT and the JFET share: the instance line's area, multiplier and temperature
//! (`area= m= temp= dtemp=`, `off`), and ngspice's band-gap law for a junction's potential and
//! zero-bias capacitance at a temperature (bjttemp.c, jfettemp.c).
use super::ops::{K_OVER_Q_NGSPICE as K_OVER_Q, T0};
use super::params::{Given, apply, param_table};
use crate::error::{Error, Result};

/// ngspice's reference temperature of the band-gap and junction-potential formulas [K].
pub const REFTEMP: f64 = 300.15;

param_table! {
    /// The `name=value` instance parameters of a BJT or JFET line.
    pub struct SemiKv {
        area: num = 1.0, "-", "Area factor (also the number after the model name).";
        m: num = 1.0, "-", "Parallel multiplier: multiplies the area.";
        temp: opt = None, "C", "Instance temperature (default: the circuit's).";
        dtemp: num = 0.0, "K", "Offset of the instance temperature from the circuit's.";
    }
}

/// The instance parameters of a BJT or JFET line.
#[derive(Debug, Clone)]
pub struct SemiParams {
    /// Area times the multiplier [-].
    pub area: f64,
    /// Start the operating point with the junctions off.
    pub off: bool,
    /// Instance temperature [C], if given.
    pub temp: Option<f64>,
    /// Offset from the circuit temperature [K].
    pub dtemp: f64,
}

impl SemiParams {
    /// `area` is the number after the model name (if any); `given` the `name=value` pairs
    /// in the order written (`area=` sets the area, `m=` multiplies it).
    pub fn parse(area: Option<f64>, off: bool, given: &[Given], what: &str) -> Result<SemiParams> {
        let mut kv = SemiKv::table_defaults();
        let mut area = area.unwrap_or(1.0);
        let mut m = 1.0;
        for g in given {
            match g.name {
                "area" => area = g.value,
                "m" => m *= g.value,
                _ => apply(&mut kv, std::slice::from_ref(g), "instance", what, &[])?,
            }
        }
        if (area * m).is_nan() || area * m <= 0.0 {
            return Err(Error::netlist(
                format!("{what}: area times m must be positive, found {}", area * m),
                given.first().and_then(|g| g.loc),
            ));
        }
        Ok(SemiParams {
            area: area * m,
            off,
            temp: kv.temp,
            dtemp: kv.dtemp,
        })
    }

    /// The device temperature [K] in a circuit at `circuit` [K].
    pub fn temperature(&self, circuit: f64) -> f64 {
        match self.temp {
            Some(t) => t + T0,
            None => circuit + self.dtemp,
        }
    }
}

/// Band-gap potential factor of the junction potentials at temperature `t` [K].
pub fn pbfact(t: f64) -> f64 {
    let vt = K_OVER_Q * t;
    let egfet = 1.16 - (7.02e-4 * t * t) / (t + 1108.0);
    let arg = -egfet / (2.0 * vt) + 1.1150877 / (2.0 * K_OVER_Q * REFTEMP);
    -2.0 * vt * (1.5 * (t / REFTEMP).ln() + arg)
}

/// A junction's zero-bias capacitance and potential at `t` [K] from their values `cj`, `vj`
/// at `tnom`, grading coefficient `mj`.
pub fn junction_t(cj: f64, vj: f64, mj: f64, tnom: f64, t: f64) -> (f64, f64) {
    let fact1 = tnom / REFTEMP;
    let fact2 = t / REFTEMP;
    let pbo = (vj - pbfact(tnom)) / fact1;
    let gmaold = (vj - pbo) / pbo;
    let cap = cj / (1.0 + mj * (4e-4 * (tnom - REFTEMP) - gmaold));
    let pot = fact2 * pbo + pbfact(t);
    let gmanew = (pot - pbo) / pbo;
    (cap * (1.0 + mj * (4e-4 * (t - REFTEMP) - gmanew)), pot)
}
