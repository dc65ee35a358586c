//! Junction diode (SPICE level 1): IS N RS CJO VJ M FC TT BV IBV.
use super::limit::{depletion, pnjlim};
use super::ops::{DeviceOps, K_OVER_Q, Load, Setup, T0, remap_all, req2, stamp2};
use super::params::{Given, ParamTable, apply, param_table, without_ignored};
use crate::error::Result;

param_table! {
    /// A diode model card (`.model NAME d (...)`), SPICE level 1.
    pub struct DiodeModel {
        is: num = 1e-14, "A", "Saturation current.";
        n: num = 1.0, "-", "Emission coefficient.";
        rs: num = 0.0, "Ohm", "Series resistance.";
        cjo | cj0 | cj: num = 0.0, "F", "Zero-bias junction capacitance.";
        vj | pb: num = 1.0, "V", "Junction potential.";
        m | mj: num = 0.5, "-", "Grading coefficient.";
        fc: num = 0.5, "-", "Forward-bias depletion capacitance coefficient.";
        tt: num = 0.0, "s", "Transit time.";
        bv: opt = None, "V", "Reverse breakdown voltage (none: no breakdown).";
        ibv: num = 1e-3, "A", "Current at the breakdown voltage.";
        eg: num = 1.11, "eV", "Band gap for the temperature dependence of IS.";
        xti: num = 3.0, "-", "Saturation-current temperature exponent.";
        tnom: num = 300.15, "K", "Nominal temperature of the parameters (written in C on the card).";
        kf: num = 0.0, "-", "Flicker-noise coefficient (noise analyses only: no effect on op, dc, tran).";
        af: num = 1.0, "-", "Flicker-noise exponent (noise analyses only: no effect on op, dc, tran).";
    }
}

/// Parameters of other simulators' diode models (LTspice's idealised diode) that ngspice 39
/// ignores with a warning: ignored here too, with a warning.
pub const IGNORED: &[&str] = &[
    "ron",
    "roff",
    "vfwd",
    "vrev",
    "rrev",
    "ilimit",
    "revilimit",
    "epsilon",
    "revepsilon",
];

impl Default for DiodeModel {
    fn default() -> Self {
        DiodeModel::table_defaults()
    }
}

impl DiodeModel {
    /// Reads a model card; `tnom_c` is the circuit's nominal temperature [C] (`.options
    /// tnom`), the card's own `tnom` is in C too. `name` is the model's name as written.
    /// Parameters in [`IGNORED`] are left out with a warning pushed to `warnings`.
    pub fn from_card(
        given: &[Given],
        tnom_c: f64,
        name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<DiodeModel> {
        let mut m = DiodeModel {
            tnom: tnom_c + T0,
            ..Default::default()
        };
        let level_1 = |g: &&Given| g.name == "level" && g.value == 1.0;
        let rest: Vec<Given> = given.iter().filter(|g| !level_1(g)).copied().collect();
        let rest = without_ignored(&rest, IGNORED, &format!("diode model '{name}'"), warnings);
        apply(
            &mut m,
            &rest,
            "model",
            &format!("diode model '{name}'"),
            &[],
        )?;
        if let Some(g) = rest.iter().rfind(|g| g.name == "tnom") {
            m.tnom = g.value + T0;
        }
        Ok(m)
    }
}

/// Instance parameters of a diode line (`D1 a k model [area] [off] [area=] [m=]`).
#[derive(Debug, Clone)]
pub struct DiodeParams {
    /// Area factor [-].
    pub area: f64,
    /// Start the operating point with the junction off.
    pub off: bool,
}

param_table! {
    /// The `name=value` instance parameters of a diode.
    pub struct DiodeKv {
        area: num = 1.0, "-", "Area factor (also the number after the model name).";
        m: num = 1.0, "-", "Parallel multiplier: multiplies the area.";
    }
}

impl DiodeParams {
    /// `area` is the number after the model name (if any).
    pub fn parse(area: Option<f64>, off: bool, given: &[Given], what: &str) -> Result<DiodeParams> {
        // in the order written: `area=` sets the area, `m=` multiplies what it is so far
        let mut area = area.unwrap_or(1.0);
        for g in given {
            if !DiodeKv::PARAMS.iter().any(|p| p.is(g.name)) {
                return Err(g.error(format!("unknown instance parameter '{}' for {what}", g.raw)));
            }
            if g.name == "area" {
                area = g.value;
            } else {
                area *= g.value;
            }
        }
        Ok(DiodeParams { area, off })
    }
}

#[derive(Debug, Clone)]
pub struct Diode {
    /// Anode, internal anode (after RS; equals `a` without RS), cathode.
    pub a: usize,
    pub ai: usize,
    pub k: usize,
    pub model: DiodeModel,
    pub area: f64,
    pub off: bool,
    vd_old: f64,
    slots: [usize; 8],
    /// The junction's stamps at its last full evaluation, for bypass: (valid, voltage,
    /// current, conductance, charge, capacitance).
    byp: (bool, [f64; 5]),
}

impl Diode {
    pub fn new(a: usize, ai: usize, k: usize, model: DiodeModel, p: DiodeParams) -> Self {
        Diode {
            a,
            ai,
            k,
            model,
            area: p.area,
            off: p.off,
            vd_old: 0.0,
            slots: [0; 8],
            byp: (false, [0.0; 5]),
        }
    }

    /// Effective breakdown knee so the reverse current at -BV is IBV (ngspice diotemp.c).
    fn xbv(&self, nvt: f64, is: f64) -> Option<f64> {
        let bv = self.model.bv?;
        let cbv = self.model.ibv * self.area;
        if cbv < is * bv / nvt {
            return Some(bv);
        }
        let mut xbv = bv - nvt * (1.0 + cbv / is).ln();
        for _ in 0..25 {
            xbv = bv - nvt * (cbv / is + 1.0 - xbv / nvt).ln();
            let xcbv = is * ((bv - xbv) / nvt).exp() - is + is * xbv / nvt;
            if (xcbv - cbv).abs() <= 1e-3 * cbv {
                break;
            }
        }
        Some(xbv)
    }

    /// Saturation current at temperature `t` [K] (ngspice diotemp.c).
    pub fn is_t(&self, t: f64) -> f64 {
        let m = &self.model;
        let vte = m.n * K_OVER_Q * t;
        let ratio = t / m.tnom;
        m.is * self.area * ((ratio - 1.0) * m.eg / vte + m.xti / m.n * ratio.ln()).exp()
    }

    /// Junction current and conductance (without gmin) at vd, with saturation current `is`.
    pub fn iv(&self, vd: f64, nvt: f64, is: f64) -> (f64, f64) {
        if vd >= -3.0 * nvt {
            let e = (vd / nvt).min(700.0).exp();
            (is * (e - 1.0), is * e / nvt)
        } else {
            let xbv = self.xbv(nvt, is);
            match xbv {
                Some(xbv) if vd < -xbv => {
                    let e = (-(xbv + vd) / nvt).min(700.0).exp();
                    (-is * e, is * e / nvt)
                }
                _ => {
                    let arg = 3.0 * nvt / (vd * std::f64::consts::E);
                    let arg3 = arg * arg * arg;
                    (-is * (1.0 + arg3), is * 3.0 * arg3 / vd)
                }
            }
        }
    }
}

impl DeviceOps for Diode {
    fn setup(&mut self, s: &mut Setup) {
        let r = req2(s, self.ai, self.k);
        let rs = req2(s, self.a, self.ai);
        self.slots = [r[0], r[1], r[2], r[3], rs[0], rs[1], rs[2], rs[3]];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        let s = self.slots;
        if self.model.rs > 0.0 && self.a != self.ai {
            let grs = self.area / self.model.rs;
            let ir = grs * (l.x[self.a] - l.x[self.ai]);
            l.f[self.a] += ir;
            l.f[self.ai] -= ir;
            stamp2(l.jf, &[s[4], s[5], s[6], s[7]], grs);
        }
        let vx = l.x[self.ai] - l.x[self.k];
        if l.bypass.on && !l.init_junctions && self.byp.0 {
            // ngspice's diode bypass: the junction voltage and the current its linearisation
            // predicts moved less than the Newton tolerances since the last evaluation
            let [v0, i0, g, q0, c] = self.byp.1;
            let b = &l.bypass;
            let di = g * (vx - v0);
            if (vx - v0).abs() <= b.reltol * vx.abs().max(v0.abs()) + b.vntol
                && di.abs() <= b.reltol * i0.abs().max((i0 + di).abs()) + b.abstol
            {
                let (i, q) = (i0 + di, q0 + c * (vx - v0));
                l.f[self.ai] += i;
                l.f[self.k] -= i;
                stamp2(l.jf, &[s[0], s[1], s[2], s[3]], g);
                l.q[self.ai] += q;
                l.q[self.k] -= q;
                stamp2(l.jq, &[s[0], s[1], s[2], s[3]], c);
                l.bypass.count += 1;
                return;
            }
        }
        let nvt = self.model.n * K_OVER_Q * l.temp;
        let is = self.is_t(l.temp);
        let vcrit = nvt * (nvt / (std::f64::consts::SQRT_2 * is)).ln();
        let mut vd = l.x[self.ai] - l.x[self.k];
        if l.init_fix && self.off {
            vd = 0.0;
        } else if l.init_junctions {
            vd = if self.off { 0.0 } else { vcrit };
        } else {
            let (v, lim) = pnjlim(vd, self.vd_old, nvt, vcrit);
            if lim {
                l.noncon = true;
            }
            vd = v;
            // breakdown side: limit the reflected voltage the same way
            if let Some(xbv) = self.xbv(nvt, is)
                && vd < (-xbv).min(0.0) + 10.0 * nvt
                && vd < 0.0
            {
                let (vr, lim2) = pnjlim(-(vd + xbv), -(self.vd_old + xbv), nvt, vcrit);
                if lim2 {
                    l.noncon = true;
                }
                vd = -(vr + xbv);
            }
        }
        self.vd_old = vd;
        let (id, gd) = self.iv(vd, nvt, is);
        // Newton companion: the current at the actual x is linearised around the limited vd.
        let i = id + gd * (vx - vd) + l.gmin * vx;
        let g = gd + l.gmin;
        l.f[self.ai] += i;
        l.f[self.k] -= i;
        stamp2(l.jf, &[s[0], s[1], s[2], s[3]], g);
        let m = &self.model;
        let (qd, cd) = depletion(vd, m.cjo * self.area, m.vj, m.m, m.fc);
        let q = qd + m.tt * id + (cd + m.tt * gd) * (vx - vd);
        let c = cd + m.tt * gd;
        l.q[self.ai] += q;
        l.q[self.k] -= q;
        stamp2(l.jq, &[s[0], s[1], s[2], s[3]], c);
        self.byp = (true, [vx, i, g, q, c]);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.a, self.ai, self.k]);
    }
    fn renumber(&mut self, m: &[usize]) {
        (self.a, self.ai, self.k) = (m[self.a], m[self.ai], m[self.k]);
    }
    fn dc_path(&self, out: &mut Vec<usize>) {
        out.extend([self.a, self.ai, self.k]);
    }
    fn linear(&self) -> bool {
        false
    }
}
