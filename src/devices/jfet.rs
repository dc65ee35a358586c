//! Junction FET: ngspice's level 1 (Shichman-Hodges with the Parker-Skellern doping-tail
//! parameter B), `.model NAME njf|pjf`.
//!
//! Drain current (normal mode, vds >= 0, vgst = vgs - VTO, Bf = (1 - B)/(PB - VTO)):
//! saturation (vgst < vds) Id = BETA (1 + LAMBDA vds) vgst^2 (B + Bf vgst); linear
//! Id = BETA (1 + LAMBDA vds) vds (vds (Bf vds - B) + vgst (2B + 3Bf (vgst - vds))); off for
//! vgst <= 0; inverse mode by symmetry (drain and source swapped). B = 1 is the square law.
//! Gate-source and gate-drain junctions are diodes (IS) with gmin, their depletion charges
//! have grading 1/2 and the FC linearisation; RD and RS add internal nodes. Temperature
//! scales IS (EG, and XTI when given: ngspice leaves it out otherwise), PB and the capacitances as ngspice jfettemp.c, VTO by TCV and BETA
//! by BEX. The Jacobian is exact.
use super::limit::{depletion, fetlim, pnjlim};
use super::ops::{
    Block, DeviceOps, K_OVER_Q_NGSPICE as K_OVER_Q, Load, Setup, T0, block_verbs, remap_all,
    req_block,
};
use super::params::{Given, ParamTable, apply, param_table};
use super::semi::{SemiParams, junction_t};
use crate::error::{Error, Result};

param_table! {
    /// A JFET model card (`.model NAME njf|pjf (...)`), level 1.
    pub struct JfetModel {
        [ty: f64, "+1 for N-channel, -1 for P-channel."]
        vto | vt0: num = -2.0, "V", "Threshold (pinch-off) voltage.";
        beta: num = 1e-4, "A/V^2", "Transconductance parameter.";
        lambda: num = 0.0, "1/V", "Channel-length modulation.";
        rd: num = 0.0, "Ohm", "Drain ohmic resistance.";
        rs: num = 0.0, "Ohm", "Source ohmic resistance.";
        cgs: num = 0.0, "F", "Zero-bias gate-source junction capacitance.";
        cgd: num = 0.0, "F", "Zero-bias gate-drain junction capacitance.";
        pb: num = 1.0, "V", "Gate junction potential.";
        is: num = 1e-14, "A", "Gate junction saturation current.";
        b: num = 1.0, "-", "Doping-tail parameter (Parker-Skellern; 1: square law).";
        fc: num = 0.5, "-", "Forward-bias depletion capacitance coefficient.";
        tcv | vtotc: num = 0.0, "V/K", "Threshold temperature coefficient.";
        bex | betatce: num = 0.0, "-", "Exponent of the temperature dependence of BETA.";
        xti: opt = None, "-", "Temperature exponent of IS (not given: none, as ngspice).";
        eg: num = 1.11, "eV", "Energy gap for the temperature dependence of IS.";
        tnom: num = 300.15, "K", "Nominal temperature of the parameters (written in C on the card).";
        kf: num = 0.0, "-", "Flicker-noise coefficient (noise analyses only: no effect on op, dc, tran, ac).";
        af: num = 1.0, "-", "Flicker-noise exponent (noise analyses only: no effect on op, dc, tran, ac).";
        nlev: num = 2.0, "-", "Noise equation selector (noise analyses only).";
        gdsnoi: num = 1.0, "-", "Channel noise coefficient (noise analyses only).";
    }
}

impl JfetModel {
    /// Reads a model card; `pchan` selects the polarity, `tnom_c` is the circuit's nominal
    /// temperature [C] (`.options tnom`; the card's `tnom` is in C too).
    pub fn from_card(pchan: bool, given: &[Given], tnom_c: f64, name: &str) -> Result<JfetModel> {
        let what = format!("JFET model '{name}'");
        let mut m = JfetModel {
            tnom: tnom_c + T0,
            ..JfetModel::table_defaults(if pchan { -1.0 } else { 1.0 })
        };
        if let Some(g) = given.iter().rfind(|g| g.name == "level")
            && g.value != 1.0
        {
            return Err(g.error(format!(
                "unsupported JFET level {} in model '{name}' (supported: 1 = Shichman-Hodges with B)",
                g.value
            )));
        }
        apply(&mut m, given, "model", &what, &["level"])?;
        if let Some(g) = given.iter().rfind(|g| g.name == "tnom") {
            m.tnom = g.value + T0;
        }
        let located = |canonical: &str, msg: String| match given.iter().rfind(|g| {
            JfetModel::PARAMS
                .iter()
                .any(|p| p.name == canonical && p.is(g.name))
        }) {
            Some(g) => g.error(msg),
            None => Error::netlist(msg, None),
        };
        if m.pb.is_nan() || m.pb <= 0.0 {
            return Err(located("pb", format!("PB of {what} must be positive")));
        }
        for (n, v) in [("rd", m.rd), ("rs", m.rs), ("beta", m.beta)] {
            if v < 0.0 {
                return Err(located(
                    n,
                    format!("{} of {what} must not be negative", n.to_uppercase()),
                ));
            }
        }
        m.fc = m.fc.min(0.9999);
        Ok(m)
    }
}

/// Instance parameters of a JFET line (`J1 d g s model [area] [off] [area=] [m=] [temp=]
/// [dtemp=] [ic=vds,vgs]`).
pub type JfetParams = SemiParams;

/// Temperature-dependent values (ngspice jfettemp.c), area included.
#[derive(Debug, Clone, Default)]
struct Tv {
    temp: f64,
    vt: f64,
    csat: f64,
    pb: f64,
    cgs: f64,
    cgd: f64,
    vto: f64,
    beta: f64,
    bfac: f64,
    vcrit: f64,
}

impl Tv {
    fn at(m: &JfetModel, area: f64, t: f64) -> Tv {
        let vt = K_OVER_Q * t;
        let ratio1 = t / m.tnom - 1.0;
        let xti = m.xti.unwrap_or(0.0);
        let csat = m.is * (ratio1 * m.eg / vt + xti * (t / m.tnom).ln()).exp() * area;
        let (cj1, pb) = junction_t(1.0, m.pb, 0.5, m.tnom, t);
        let vto = m.vto - m.tcv * (t - m.tnom);
        let vcrit = if csat > 0.0 {
            vt * (vt / (std::f64::consts::SQRT_2 * csat)).ln()
        } else {
            f64::INFINITY
        };
        Tv {
            temp: t,
            vt,
            csat,
            pb,
            cgs: m.cgs * cj1 * area,
            cgd: m.cgd * cj1 * area,
            vto,
            beta: m.beta * (t / m.tnom).powf(m.bex) * area,
            bfac: (1.0 - m.b) / (pb - vto),
            vcrit,
        }
    }
}

/// Gate junction current and conductance with gmin (ngspice's, no emission coefficient).
fn gate(csat: f64, v: f64, vt: f64, gmin: f64) -> (f64, f64) {
    if v < -3.0 * vt {
        let a = 3.0 * vt / (v * std::f64::consts::E);
        let a3 = a * a * a;
        (-csat * (1.0 + a3) + gmin * v, csat * 3.0 * a3 / v + gmin)
    } else {
        let e = (v / vt).min(700.0).exp();
        (csat * (e - 1.0) + gmin * v, csat * e / vt + gmin)
    }
}

/// Normal-mode channel current (vds >= 0) and its derivatives by vgs and vds.
fn channel(tv: &Tv, b: f64, lambda: f64, vgst: f64, vds: f64) -> (f64, f64, f64) {
    if vgst <= 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let bf = tv.bfac;
    let betap = tv.beta * (1.0 + lambda * vds);
    let (p, dpg, dpd) = if vgst >= vds {
        let apart = 2.0 * b + 3.0 * bf * (vgst - vds);
        let p = vds * (vds * (bf * vds - b) + vgst * apart);
        (p, vds * (apart + 3.0 * bf * vgst), (vgst - vds) * apart)
    } else {
        (
            vgst * vgst * (b + bf * vgst),
            vgst * (2.0 * b + 3.0 * bf * vgst),
            0.0,
        )
    };
    (betap * p, betap * dpg, betap * dpd + tv.beta * lambda * p)
}

/// Local terminals: D G S, internal D' S'.
const D: usize = 0;
const G: usize = 1;
const S: usize = 2;
const DI: usize = 3;
const SI: usize = 4;
const NT: usize = 5;

#[derive(Debug, Clone)]
pub struct Jfet {
    /// Unknowns of D G S D' S' (an internal node equals its terminal without RD/RS).
    pub nodes: [usize; NT],
    pub model: JfetModel,
    pub p: JfetParams,
    tv: Tv,
    /// Limited vgs, vgd of the last load (polarity-normalised).
    vold: [f64; 2],
    slots: [usize; NT * NT],
}

impl Jfet {
    pub fn new(nodes: [usize; NT], model: JfetModel, p: JfetParams) -> Jfet {
        Jfet {
            nodes,
            model,
            p,
            tv: Tv::default(),
            vold: [0.0; 2],
            slots: [0; NT * NT],
        }
    }
    /// Whether the card gives the device an internal drain and source node.
    pub fn internal(m: &JfetModel) -> [bool; 2] {
        [m.rd > 0.0, m.rs > 0.0]
    }
}

impl DeviceOps for Jfet {
    block_verbs!(nodes, slots);

    fn load(&mut self, l: &mut Load) {
        let temp = self.p.temperature(l.temp);
        if self.tv.temp != temp {
            self.tv = Tv::at(&self.model, self.p.area, temp);
        }
        let m = &self.model;
        let tv = &self.tv;
        let ty = m.ty;
        let nd = self.nodes;
        let x = l.x;
        let v = |a: usize, b: usize| ty * (x[nd[a]] - x[nd[b]]);
        let (vgs_x, vgd_x) = (v(G, SI), v(G, DI));
        let (vgs, vgd) = if l.init_fix && self.p.off {
            (0.0, 0.0)
        } else if l.init_junctions {
            if self.p.off { (0.0, 0.0) } else { (-1.0, -1.0) }
        } else {
            let [gs0, gd0] = self.vold;
            let (a, l1) = pnjlim(vgs_x, gs0, tv.vt, tv.vcrit);
            let (b, l2) = pnjlim(vgd_x, gd0, tv.vt, tv.vcrit);
            let a = fetlim(a, gs0, tv.vto);
            let b = fetlim(b, gd0, tv.vto);
            if l1 || l2 || a != vgs_x || b != vgd_x {
                l.noncon = true;
            }
            (a, b)
        };
        self.vold = [vgs, vgd];
        let (dgs, dgd) = (vgs_x - vgs, vgd_x - vgd);

        let (cg, ggs) = gate(tv.csat, vgs, tv.vt, l.gmin);
        let (cgd, ggd) = gate(tv.csat, vgd, tv.vt, l.gmin);
        let vds = vgs - vgd;
        // channel current drain -> source and its derivatives by vgs and vds
        let (id, gm, gds) = if vds >= 0.0 {
            channel(tv, m.b, m.lambda, vgs - tv.vto, vds)
        } else {
            let (i, g1, g2) = channel(tv, m.b, m.lambda, vgd - tv.vto, -vds);
            (-i, -g1, g1 + g2)
        };
        // by vgs and vgd: vds = vgs - vgd
        let (dids, didd) = (gm + gds, -gds);

        let mut st = Block {
            l,
            nodes: &self.nodes,
            slots: &self.slots,
        };
        st.cur(G, SI, ty * (cg + ggs * dgs), &[(G, SI, ggs)]);
        st.cur(G, DI, ty * (cgd + ggd * dgd), &[(G, DI, ggd)]);
        st.cur(
            DI,
            SI,
            ty * (id + dids * dgs + didd * dgd),
            &[(G, SI, dids), (G, DI, didd)],
        );
        if nd[D] != nd[DI] {
            let g = self.p.area / m.rd;
            st.cur(D, DI, g * (x[nd[D]] - x[nd[DI]]), &[(D, DI, g)]);
        }
        if nd[S] != nd[SI] {
            let g = self.p.area / m.rs;
            st.cur(S, SI, g * (x[nd[S]] - x[nd[SI]]), &[(S, SI, g)]);
        }
        let (qgs, cgs) = depletion(vgs, tv.cgs, tv.pb, 0.5, m.fc);
        let (qgd, cgdc) = depletion(vgd, tv.cgd, tv.pb, 0.5, m.fc);
        st.chg(G, SI, ty * (qgs + cgs * dgs), &[(G, SI, cgs)]);
        st.chg(G, DI, ty * (qgd + cgdc * dgd), &[(G, DI, cgdc)]);
    }
}
