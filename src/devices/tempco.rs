//! Temperature dependence of the passives' values, as ngspice computes it: with
//! dT = T - TNOM (T the instance's `temp=` if given, else the circuit's plus `dtemp=`),
//! the value is multiplied by 1 + tc1 dT + tc2 dT^2, or, for a resistor with `tce=`, by
//! 1.01^(tce dT).

use super::T0;

/// A passive's temperature coefficients and instance temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct TempCo {
    pub tc1: f64,
    pub tc2: f64,
    /// Exponential coefficient [%/K] (resistors); replaces tc1/tc2 when given.
    pub tce: Option<f64>,
    /// Nominal temperature [K].
    pub tnom: f64,
    /// Instance temperature [K], if given (`temp=`).
    pub temp: Option<f64>,
    /// Offset from the circuit temperature [K] (`dtemp=`).
    pub dtemp: f64,
}

impl TempCo {
    /// The coefficients of an instance, `None` when they change nothing at any temperature.
    /// Temperatures in C as written on the card.
    pub fn new(
        tc1: f64,
        tc2: f64,
        tce: Option<f64>,
        tnom_c: f64,
        temp_c: Option<f64>,
        dtemp: f64,
    ) -> Option<TempCo> {
        let flat = tc1 == 0.0 && tc2 == 0.0 && tce.is_none_or(|t| t == 0.0);
        (!flat).then(|| TempCo {
            tc1,
            tc2,
            tce,
            tnom: tnom_c + T0,
            temp: temp_c.map(|t| t + T0),
            dtemp,
        })
    }

    /// The factor at circuit temperature `t` [K].
    pub fn factor(&self, t: f64) -> f64 {
        let dt = self.temp.unwrap_or(t + self.dtemp) - self.tnom;
        match self.tce {
            Some(tce) => 1.01f64.powf(tce * dt),
            None => 1.0 + self.tc1 * dt + self.tc2 * dt * dt,
        }
    }
}

/// The factor of an optional [`TempCo`] at `t`, cached: (temperature, factor) of the last
/// evaluation.
pub fn factor_cached(tc: &Option<Box<TempCo>>, cache: &mut (f64, f64), t: f64) -> f64 {
    match tc {
        None => 1.0,
        Some(tc) => {
            if cache.0 != t {
                *cache = (t, tc.factor(t));
            }
            cache.1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ngspice_formulas() {
        let tc = TempCo::new(0.01, 1e-4, None, 27.0, None, 0.0).unwrap();
        assert!((tc.factor(77.0 + T0) - 1.75).abs() < 1e-12);
        let tc = TempCo::new(0.0, 0.0, Some(2.0), 27.0, None, 10.0).unwrap();
        assert!((tc.factor(27.0 + T0) - 1.01f64.powf(20.0)).abs() < 1e-12);
        let tc = TempCo::new(0.01, 0.0, None, 27.0, Some(127.0), 0.0).unwrap();
        assert!((tc.factor(-50.0 + T0) - 2.0).abs() < 1e-12);
        assert!(TempCo::new(0.0, 0.0, None, 27.0, Some(50.0), 3.0).is_none());
    }
}
