//! Level-1 MOSFET (Shichman-Hodges) as ngspice's mos1: VTO KP GAMMA PHI LAMBDA, overlap and
//! junction capacitances, and Meyer gate capacitances when TOX is given. The device shell here
//! (limiting, bulk junctions, Meyer and overlap capacitances, drain and source series
//! resistances, stamps, bypass) also runs levels 2 and 3, whose channel is `mos23.rs`.
//!
//! The Meyer capacitances are not derived from a charge, so (as in ngspice) the gate charges are
//! accumulated from the last accepted time point: q = q_old + (C(v) + C(v_old))/2 * (v - v_old),
//! with ngspice's "half capacitance" bookkeeping.
use super::limit::{depletion, fetlim, limvds, pnjlim};
use super::mos23::{Chan23, Derived23, MosCommon};
use super::ops::{DeviceOps, K_OVER_Q, K_OVER_Q_NGSPICE, Load, Setup, remap_all, req2, stamp2};
use super::params::{Given, apply, param_table};
use crate::error::Result;

param_table! {
    /// A level-1 MOSFET model card (`.model NAME nmos|pmos level=1 (...)`).
    pub struct Mos1Model {
        [sign: f64, "+1 for NMOS, -1 for PMOS."]
        vto | vt0: num = 0.0, "V", "Zero-bias threshold.";
        kp: num = 2e-5, "A/V^2", "Transconductance parameter (from UO and TOX when not given).";
        gamma: num = 0.0, "V^0.5", "Body-effect coefficient.";
        phi: num = 0.6, "V", "Surface potential.";
        lambda: num = 0.0, "1/V", "Channel-length modulation.";
        tox: opt = None, "m", "Oxide thickness (none: no Meyer capacitances).";
        uo | u0: num = 600.0, "cm^2/(V*s)", "Surface mobility: KP = UO EPS_OX / TOX when KP is not given.";
        cgso: num = 0.0, "F/m", "Gate-source overlap capacitance per width.";
        cgdo: num = 0.0, "F/m", "Gate-drain overlap capacitance per width.";
        cgbo: num = 0.0, "F/m", "Gate-bulk overlap capacitance per length.";
        cbd: num = 0.0, "F", "Zero-bias bulk-drain junction capacitance.";
        cbs: num = 0.0, "F", "Zero-bias bulk-source junction capacitance.";
        cj: num = 0.0, "F/m^2", "Bottom junction capacitance per area.";
        cjsw: num = 0.0, "F/m", "Sidewall junction capacitance per perimeter.";
        mjsw: num = 0.5, "-", "Sidewall grading coefficient.";
        pb: num = 0.8, "V", "Junction potential.";
        mj: num = 0.5, "-", "Bottom grading coefficient.";
        fc: num = 0.5, "-", "Forward-bias depletion capacitance coefficient.";
        is: num = 1e-14, "A", "Bulk junction saturation current.";
        ld: num = 0.0, "m", "Lateral diffusion.";
        l: opt = None, "m", "Default channel length of instances that do not give l= (ngspice 39 reads it from a level-1 card).";
        w: opt = None, "m", "Default channel width of instances that do not give w=.";
        kf: num = 0.0, "-", "Flicker-noise coefficient (noise analyses only: no effect on op, dc, tran).";
        af: num = 1.0, "-", "Flicker-noise exponent (noise analyses only: no effect on op, dc, tran).";
    }
}

impl Default for Mos1Model {
    fn default() -> Self {
        Mos1Model::table_defaults(1.0)
    }
}

impl Mos1Model {
    /// Reads a model card (its `level`, 1, is the caller's); `name` is the model's name.
    pub fn from_card(pmos: bool, given: &[Given], name: &str) -> Result<Mos1Model> {
        let mut m = Mos1Model::table_defaults(if pmos { -1.0 } else { 1.0 });
        apply(
            &mut m,
            given,
            "model",
            &format!("level-1 MOSFET model '{name}'"),
            &["level"],
        )?;
        if !given.iter().any(|g| g.name == "kp")
            && let Some(tox) = m.tox
        {
            m.kp = m.uo * 1e-4 * 3.9 * 8.854214871e-12 / tox;
        }
        Ok(m)
    }
}

param_table! {
    /// Instance parameters of a MOSFET line (`M1 d g s b model [off] [w= l= m= ad= as= pd=
    /// ps=]`), every level.
    pub struct MosParams {
        w: num = 100e-6, "m", "Drawn channel width.";
        l: num = 100e-6, "m", "Drawn channel length.";
        m: num = 1.0, "-", "Number of parallel devices.";
        ad: opt = None, "m^2", "Drain junction area (default: the model's).";
        as_ ["as"]: opt = None, "m^2", "Source junction area (default: the model's).";
        pd: opt = None, "m", "Drain junction perimeter (default: the model's).";
        ps: opt = None, "m", "Source junction perimeter (default: the model's).";
        nrd: num = 1.0, "-", "Drain diffusion squares (levels 2, 3: with the model's RSH).";
        nrs: num = 1.0, "-", "Source diffusion squares (levels 2, 3: with the model's RSH).";
    }
}

/// The channel of a MOSFET: level 1's square law, or levels 2 and 3.
#[derive(Debug, Clone)]
pub enum Channel {
    /// Level 1 (polarity-normalised threshold, beta = KP W m / Leff).
    One {
        beta: f64,
        vto: f64,
        gamma: f64,
        phi: f64,
        lambda: f64,
    },
    /// Levels 2 and 3.
    Upper(Box<Chan23>),
}

#[derive(Debug, Clone)]
pub struct Mos1 {
    /// External terminals.
    pub d: usize,
    pub g: usize,
    pub s: usize,
    pub b: usize,
    /// Intrinsic drain and source (the terminals themselves without series resistance).
    pub dp: usize,
    pub sp: usize,
    pub com: MosCommon,
    pub chan: Channel,
    pub off: bool,
    // limiting state: vbs, vgs, vds of the last iteration (polarity-normalised), and von
    vold: [f64; 3],
    von_old: f64,
    // Meyer state at the last accepted point: half capacitances gs, gd, gb, voltages, charges
    acc_half: [f64; 3],
    acc_v: [f64; 3],
    acc_q: [f64; 3],
    acc_valid: bool,
    // values at the present iterate, made permanent in accept()
    cur_half: [f64; 3],
    cur_v: [f64; 3],
    cur_q: [f64; 3],
    slots: [usize; 16],
    /// The series resistances' 2x2 blocks (d, dp) and (s, sp).
    rslots: [[usize; 4]; 2],
    /// `vcrit` of the bulk junctions and the (temperature, IS) it was computed for.
    vcrit: f64,
    vcrit_key: [f64; 2],
    /// The stamps of the last full evaluation, for bypass.
    byp: Bypass,
}

/// What a MOSFET stamped at its last full evaluation (real polarity): terminal voltages,
/// currents and charges into d, g, s, b and both Jacobians. A bypassed load stamps the
/// linearisation f0 + Jf (x - x0), q0 + Jq (x - x0), which is the model the Newton step of
/// that evaluation solved already.
#[derive(Debug, Clone, Default)]
struct Bypass {
    valid: bool,
    x: [f64; 4],
    f: [f64; 4],
    q: [f64; 4],
    jf: [[f64; 4]; 4],
    jq: [[f64; 4]; 4],
}

impl Bypass {
    /// Whether terminal voltages `xv` are close enough to the evaluation's for its stamps to
    /// stand (ngspice's MOS1 bypass test): every junction voltage (vbs, vgs, vds, vbd) within
    /// reltol of its size plus vntol, and the drain and bulk currents the linearisation
    /// predicts within reltol plus abstol of the evaluated ones.
    fn holds(&self, xv: &[f64; 4], dx: &[f64; 4], l: &Load) -> bool {
        if !self.valid {
            return false;
        }
        const PAIRS: [(usize, usize); 4] = [(3, 2), (1, 2), (0, 2), (3, 0)];
        for (a, b) in PAIRS {
            let v0 = self.x[a] - self.x[b];
            let v1 = xv[a] - xv[b];
            if (v1 - v0).abs() > l.bypass.reltol * v0.abs().max(v1.abs()) + l.bypass.vntol {
                return false;
            }
        }
        for r in [0, 3] {
            let df: f64 = (0..4).map(|c| self.jf[r][c] * dx[c]).sum();
            let f0 = self.f[r];
            if df.abs() > l.bypass.reltol * f0.abs().max((f0 + df).abs()) + l.bypass.abstol {
                return false;
            }
        }
        true
    }
}

const EPS_OX: f64 = 3.9 * 8.854214871e-12;

impl Mos1 {
    /// A level-1 device at terminals `t` = (d, g, s, b); junction sizes not given are 0.
    pub fn new(t: [usize; 4], model: Mos1Model, p: &MosParams, off: bool) -> Self {
        let md = &model;
        let m = p.m;
        let leff = p.l - 2.0 * md.ld;
        let (ad, as_) = (p.ad.unwrap_or(0.0), p.as_.unwrap_or(0.0));
        let (pd, ps) = (p.pd.unwrap_or(0.0), p.ps.unwrap_or(0.0));
        let (czbd, czbs) = if md.cbd != 0.0 || md.cbs != 0.0 {
            (md.cbd * m, md.cbs * m)
        } else {
            (md.cj * ad * m, md.cj * as_ * m)
        };
        let com = MosCommon {
            sign: md.sign,
            vto: md.vto * md.sign,
            phi: md.phi,
            cox: md.tox.map(|t| EPS_OX / t * leff * p.w * m).unwrap_or(0.0),
            overlap: [md.cgso * p.w * m, md.cgdo * p.w * m, md.cgbo * leff * m],
            isat: [md.is * m, md.is * m],
            cz: [czbd, czbs, md.cjsw * pd * m, md.cjsw * ps * m],
            pb: md.pb,
            mj: md.mj,
            mjsw: md.mjsw,
            fc: md.fc,
            gdr: 0.0,
            gsr: 0.0,
        };
        let chan = Channel::One {
            beta: md.kp * p.w * m / leff,
            vto: md.vto * md.sign,
            gamma: md.gamma,
            phi: md.phi,
            lambda: md.lambda,
        };
        Self::with([t[0], t[1], t[2], t[3], t[0], t[2]], com, chan, off)
    }

    /// A level-2 or level-3 device at terminals `t` = (d, g, s, b, d', s'): d' and s' are
    /// the intrinsic drain and source, internal nodes when the instance has series
    /// resistances (else d and s).
    pub fn upper(t: [usize; 6], d: Derived23, off: bool) -> Self {
        Self::with(t, d.com, Channel::Upper(Box::new(d.chan)), off)
    }

    fn with(t: [usize; 6], com: MosCommon, chan: Channel, off: bool) -> Self {
        Mos1 {
            d: t[0],
            g: t[1],
            s: t[2],
            b: t[3],
            dp: t[4],
            sp: t[5],
            von_old: com.vto,
            com,
            chan,
            off,
            vold: [0.0; 3],
            acc_half: [0.0; 3],
            acc_v: [0.0; 3],
            acc_q: [0.0; 3],
            acc_valid: false,
            cur_half: [0.0; 3],
            cur_v: [0.0; 3],
            cur_q: [0.0; 3],
            slots: [0; 16],
            rslots: [[0; 4]; 2],
            vcrit: 0.0,
            vcrit_key: [f64::NAN; 2],
            byp: Bypass::default(),
        }
    }

    /// Stamps the linearisation of the last full evaluation at `xv` (see `Bypass`).
    fn stamp_bypass(&self, xv: &[f64; 4], l: &mut Load) {
        let c = &self.byp;
        let dx = [
            xv[0] - c.x[0],
            xv[1] - c.x[1],
            xv[2] - c.x[2],
            xv[3] - c.x[3],
        ];
        let nodes = [self.dp, self.g, self.sp, self.b];
        for r in 0..4 {
            let (mut f, mut q) = (c.f[r], c.q[r]);
            for k in 0..4 {
                f += c.jf[r][k] * dx[k];
                q += c.jq[r][k] * dx[k];
                l.jf[self.slots[ix(r, k)]] += c.jf[r][k];
                l.jq[self.slots[ix(r, k)]] += c.jq[r][k];
            }
            l.f[nodes[r]] += f;
            l.q[nodes[r]] += q;
        }
    }

    /// The series resistances' currents and conductances.
    fn stamp_series(&self, l: &mut Load) {
        for (k, (a, b, g)) in [
            (self.d, self.dp, self.com.gdr),
            (self.s, self.sp, self.com.gsr),
        ]
        .into_iter()
        .enumerate()
        {
            if g != 0.0 {
                let i = g * (l.x[a] - l.x[b]);
                l.f[a] += i;
                l.f[b] -= i;
                stamp2(l.jf, &self.rslots[k], g);
            }
        }
    }

    /// Drain current in normal mode (vds >= 0): (id, gm, gds, gmbs, von, vdsat).
    fn ids(&self, vgs: f64, vds: f64, vbs: f64, vt: f64) -> (f64, f64, f64, f64, f64, f64) {
        match &self.chan {
            Channel::One {
                beta,
                vto,
                gamma,
                phi,
                lambda,
            } => level1(*beta, *vto, *gamma, *phi, *lambda, vgs, vds, vbs),
            Channel::Upper(c) => {
                let (id, von, vdsat) = c.ids(vt, vgs, vds, vbs);
                (id.v, id.d[1], id.d[0], id.d[2], von, vdsat)
            }
        }
    }

    /// ngspice DEVqmeyer: half capacitances (gs, gd, gb).
    fn qmeyer(vgs: f64, vgd: f64, von: f64, vdsat: f64, phi: f64, cox: f64) -> [f64; 3] {
        let vgst = vgs - von;
        let vdsat = vdsat.max(0.0);
        if vgst <= -phi {
            [0.0, 0.0, cox / 2.0]
        } else if vgst <= -phi / 2.0 {
            [0.0, 0.0, -vgst * cox / (2.0 * phi)]
        } else if vgst <= 0.0 {
            [
                vgst * cox / (1.5 * phi) + cox / 3.0,
                0.0,
                -vgst * cox / (2.0 * phi),
            ]
        } else {
            let vds = vgs - vgd;
            if vdsat <= vds {
                [cox / 3.0, 0.0, 0.0]
            } else {
                let vddif = 2.0 * vdsat - vds;
                let vddif1 = vdsat - vds;
                let vddif2 = vddif * vddif;
                [
                    cox * (1.0 - vddif1 * vddif1 / vddif2) / 3.0,
                    cox * (1.0 - vdsat * vdsat / vddif2) / 3.0,
                    0.0,
                ]
            }
        }
    }
}

/// Level 1's drain current in normal mode (vds >= 0): (id, gm, gds, gmbs, von, vdsat).
#[allow(clippy::too_many_arguments)]
fn level1(
    beta: f64,
    vto: f64,
    gamma: f64,
    phi: f64,
    lambda: f64,
    vgs: f64,
    vds: f64,
    vbs: f64,
) -> (f64, f64, f64, f64, f64, f64) {
    let sphi = phi.sqrt();
    let sarg = if vbs <= 0.0 {
        (phi - vbs).sqrt()
    } else {
        (sphi - vbs / (2.0 * sphi)).max(0.0)
    };
    let von = vto + gamma * (sarg - sphi);
    let vgst = vgs - von;
    let vdsat = vgst.max(0.0);
    // d von / d vbs, exact on both branches of sarg (ngspice uses gamma/(2 sarg) on both,
    // which is slightly off for forward body bias)
    let arg = if sarg <= 0.0 {
        0.0
    } else if vbs <= 0.0 {
        gamma / (2.0 * sarg)
    } else {
        gamma / (2.0 * sphi)
    };
    if vgst <= 0.0 {
        return (0.0, 0.0, 0.0, 0.0, von, vdsat);
    }
    let betap = beta * (1.0 + lambda * vds);
    if vgst <= vds {
        let id = betap * vgst * vgst * 0.5;
        let gm = betap * vgst;
        let gds = lambda * beta * vgst * vgst * 0.5;
        (id, gm, gds, gm * arg, von, vdsat)
    } else {
        let id = betap * vds * (vgst - 0.5 * vds);
        let gm = betap * vds;
        let gds = betap * (vgst - vds) + lambda * beta * vds * (vgst - 0.5 * vds);
        (id, gm, gds, gm * arg, von, vdsat)
    }
}

// slot layout: 4x4 over (d, g, s, b)
fn ix(r: usize, c: usize) -> usize {
    r * 4 + c
}

impl DeviceOps for Mos1 {
    fn setup(&mut self, s: &mut Setup) {
        let t = [self.dp, self.g, self.sp, self.b];
        for r in 0..4 {
            for c in 0..4 {
                self.slots[ix(r, c)] = s.entry(t[r], t[c]);
            }
        }
        self.rslots = [req2(s, self.d, self.dp), req2(s, self.s, self.sp)];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
        for r in self.rslots.iter_mut() {
            remap_all(r, map);
        }
    }
    fn load(&mut self, l: &mut Load) {
        self.stamp_series(l);
        let x = l.x;
        let xv = [x[self.dp], x[self.g], x[self.sp], x[self.b]];
        if l.bypass.on && !l.init_junctions {
            let c = &self.byp;
            let dx = [
                xv[0] - c.x[0],
                xv[1] - c.x[1],
                xv[2] - c.x[2],
                xv[3] - c.x[3],
            ];
            if c.holds(&xv, &dx, l) {
                self.stamp_bypass(&xv, l);
                l.bypass.count += 1;
                return;
            }
        }
        let vt = match self.chan {
            Channel::One { .. } => K_OVER_Q,
            Channel::Upper(_) => K_OVER_Q_NGSPICE,
        } * l.temp;
        let is_max = self.com.isat[0].max(self.com.isat[1]);
        if self.vcrit_key != [l.temp, is_max] {
            self.vcrit = vt * (vt / (std::f64::consts::SQRT_2 * is_max.max(1e-30))).ln();
            self.vcrit_key = [l.temp, is_max];
        }
        let vcrit = self.vcrit;
        let sg = self.com.sign;
        // polarity-normalised terminal voltages
        let (xd, xg, xs, xb) = (
            sg * x[self.dp],
            sg * x[self.g],
            sg * x[self.sp],
            sg * x[self.b],
        );
        let mut vbs = xb - xs;
        let mut vgs = xg - xs;
        let mut vds: f64;
        if l.init_fix && self.off && !l.init_junctions {
            // MODEINITFIX: held off until the first solve converges
            vbs = 0.0;
            vgs = 0.0;
            vds = 0.0;
        } else if l.init_junctions {
            if self.off {
                vbs = 0.0;
                vgs = 0.0;
                vds = 0.0;
            } else {
                vbs = -1.0;
                vgs = self.com.vto;
                vds = 0.0;
            }
        } else {
            let [vbs0, vgs0, vds0] = self.vold;
            let vgd0 = vgs0 - vds0;
            let von = match self.chan {
                Channel::One { .. } => self.com.vto,
                Channel::Upper(_) => self.von_old,
            };
            if vds0 >= 0.0 {
                vgs = fetlim(vgs, vgs0, von);
                vds = vgs - (xg - xd);
                vds = limvds(vds, vds0);
            } else {
                let vgd = fetlim(xg - xd, vgd0, von);
                vds = vgs - vgd;
                vds = -limvds(-vds, -vds0);
                vgs = vgd + vds;
            }
            let (v, lim) = if vds >= 0.0 {
                pnjlim(vbs, vbs0, vt, vcrit)
            } else {
                let (vbd, lim) = pnjlim(vbs - vds, vbs0 - vds0, vt, vcrit);
                (vbd + vds, lim)
            };
            vbs = v;
            let changed = lim || (vgs - (xg - xs)).abs() > 1e-12 || (vds - (xd - xs)).abs() > 1e-12;
            if changed {
                l.noncon = true;
            }
        }
        self.vold = [vbs, vgs, vds];
        let vbd = vbs - vds;
        let vgd = vgs - vds;
        // channel current, with source/drain exchanged for vds < 0
        let (mode, id, gm, gds, gmbs, von, vdsat) = if vds >= 0.0 {
            let (id, gm, gds, gmbs, von, vdsat) = self.ids(vgs, vds, vbs, vt);
            (1.0, id, gm, gds, gmbs, von, vdsat)
        } else {
            let (id, gm, gds, gmbs, von, vdsat) = self.ids(vgd, -vds, vbd, vt);
            (-1.0, -id, gm, gds, gmbs, von, vdsat)
        };
        // bulk junction diodes (with gmin)
        self.von_old = von;
        let [sat_d, sat_s] = self.com.isat;
        let diode = |v: f64, is: f64| -> (f64, f64) {
            if v <= -3.0 * vt {
                (l.gmin * v - is, l.gmin)
            } else {
                let e = (v / vt).min(700.0).exp();
                (is * (e - 1.0) + l.gmin * v, is * e / vt + l.gmin)
            }
        };
        let (cbs, gbs) = diode(vbs, sat_s);
        let (cbd, gbd) = diode(vbd, sat_d);

        // Currents into each terminal (normalised polarity), linearised at the limited voltages
        // and evaluated at the true iterate (so the residual matches the Jacobian).
        let dvbs = (xb - xs) - vbs;
        let dvgs = (xg - xs) - vgs;
        let dvds = (xd - xs) - vds;
        let dvbd = dvbs - dvds;
        // drain current id flows d -> s. Partials wrt (vgs, vds, vbs) in each mode:
        let (did_vgs, did_vds, did_vbs) = if mode > 0.0 {
            (gm, gds, gmbs)
        } else {
            (-gm, gm + gds + gmbs, -gmbs)
        };
        // in reverse mode id = -f(vgd, -vds, vbd): d/dvgs = -gm; d/dvds = gm + gds + gmbs; d/dvbs = -gmbs
        let id_x = id + did_vgs * dvgs + did_vds * dvds + did_vbs * dvbs;
        let ibs = cbs + gbs * dvbs; // current b -> s through the junction
        let ibd = cbd + gbd * dvbd; // current b -> d
        // KCL residuals (current leaving node into the device), back to real polarity
        let fd = id_x - ibd;
        let fs = -id_x - ibs;
        let fb = ibs + ibd;
        l.f[self.dp] += sg * fd;
        l.f[self.sp] += sg * fs;
        l.f[self.b] += sg * fb;
        self.byp.x = xv;
        self.byp.f = [sg * fd, 0.0, sg * fs, sg * fb];
        // Jacobian in terms of (vd, vg, vs, vb): vgs = vg - vs, vds = vd - vs, vbs = vb - vs.
        // d(fd)/d(vd, vg, vs, vb)
        let jd = [
            did_vds + gbd,
            did_vgs,
            -(did_vgs + did_vds + did_vbs) - 0.0,
            did_vbs - gbd,
        ];
        let jd = [jd[0], jd[1], jd[2], jd[3]];
        let js_ = [
            -did_vds,
            -did_vgs,
            did_vgs + did_vds + did_vbs + gbs,
            -did_vbs - gbs,
        ];
        let jb = [-gbd, 0.0, -gbs, gbs + gbd];
        // jd: d(id)/dvd = did_vds; d(-ibd)/dvd: ibd depends on vbd = vb - vd => d(-ibd)/dvd = gbd
        // d(-ibd)/dvb = -gbd; d(-ibd)/dvs = 0
        for c in 0..4 {
            l.jf[self.slots[ix(0, c)]] += jd[c];
            l.jf[self.slots[ix(2, c)]] += js_[c];
            l.jf[self.slots[ix(3, c)]] += jb[c];
        }
        self.byp.jf = [jd, [0.0; 4], js_, jb];
        // (polarity: f and x both flip sign for PMOS, so the Jacobian is unchanged)

        // ---- charges ----
        let com = &self.com;
        // junction depletion charges (bulk-drain, bulk-source)
        let [czbd, czbs, czbdsw, czbssw] = com.cz;
        let vbd_x = xb - xd;
        let vbs_x = xb - xs;
        let (qbd1, cbd1) = depletion(vbd, czbd, com.pb, com.mj, com.fc);
        let (qbd2, cbd2) = depletion(vbd, czbdsw, com.pb, com.mjsw, com.fc);
        let (qbs1, cbs1) = depletion(vbs, czbs, com.pb, com.mj, com.fc);
        let (qbs2, cbs2) = depletion(vbs, czbssw, com.pb, com.mjsw, com.fc);
        let cbdt = cbd1 + cbd2;
        let cbst = cbs1 + cbs2;
        let qbd = qbd1 + qbd2 + cbdt * (vbd_x - vbd);
        let qbs = qbs1 + qbs2 + cbst * (vbs_x - vbs);
        // gate: Meyer (incremental) plus overlap
        let vgs_x = xg - xs;
        let vgd_x = xg - xd;
        let vgb_x = xg - xb;
        let cox = com.cox;
        let half = if cox > 0.0 {
            let h = Self::qmeyer(
                if mode > 0.0 { vgs } else { vgd },
                if mode > 0.0 { vgd } else { vgs },
                von,
                vdsat,
                com.phi,
                cox,
            );
            if mode > 0.0 { h } else { [h[1], h[0], h[2]] }
        } else {
            [0.0; 3]
        };
        let v = [vgs_x, vgd_x, vgb_x];
        let over = com.overlap;
        let mut qg3 = [0.0; 3];
        let mut cg3 = [0.0; 3];
        for k in 0..3 {
            if self.acc_valid {
                let c = half[k] + self.acc_half[k] + over[k];
                qg3[k] = self.acc_q[k] + c * (v[k] - self.acc_v[k]);
                cg3[k] = c;
            } else {
                // no history yet (operating point): charge of the present capacitance
                let c = 2.0 * half[k] + over[k];
                qg3[k] = c * v[k];
                cg3[k] = c;
            }
        }
        self.cur_half = half;
        self.cur_v = v;
        self.cur_q = qg3;
        let qg = qg3[0] + qg3[1] + qg3[2];
        let qd = -qg3[1] - qbd;
        let qs = -qg3[0] - qbs;
        let qb = -qg3[2] + qbd + qbs;
        l.q[self.dp] += sg * qd;
        l.q[self.g] += sg * qg;
        l.q[self.sp] += sg * qs;
        l.q[self.b] += sg * qb;
        self.byp.q = [sg * qd, sg * qg, sg * qs, sg * qb];
        let (cgs, cgd, cgb) = (cg3[0], cg3[1], cg3[2]);
        // rows d, g, s, b; columns d, g, s, b
        let jq = [
            [cgd + cbdt, -cgd, 0.0, -cbdt],
            [-cgd, cgs + cgd + cgb, -cgs, -cgb],
            [0.0, -cgs, cgs + cbst, -cbst],
            [-cbdt, -cgb, -cbst, cgb + cbdt + cbst],
        ];
        for r in 0..4 {
            for c in 0..4 {
                l.jq[self.slots[ix(r, c)]] += jq[r][c];
            }
        }
        self.byp.jq = jq;
        self.byp.valid = true;
    }
    fn stateful(&self) -> bool {
        true
    }
    fn off(&self) -> bool {
        self.off
    }
    fn accept(&mut self, _x: &[f64], _t: f64) -> bool {
        self.acc_half = self.cur_half;
        self.acc_v = self.cur_v;
        self.acc_q = self.cur_q;
        self.acc_valid = true;
        true
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.d, self.g, self.s, self.b]);
        if self.dp != self.d {
            out.push(self.dp);
        }
        if self.sp != self.s {
            out.push(self.sp);
        }
    }
    fn renumber(&mut self, m: &[usize]) {
        (self.d, self.g, self.s, self.b) = (m[self.d], m[self.g], m[self.s], m[self.b]);
        (self.dp, self.sp) = (m[self.dp], m[self.sp]);
    }
    /// The series resistances, the channel and the bulk junctions.
    fn dc_path(&self, out: &mut Vec<usize>) {
        out.extend([self.d, self.dp, self.sp, self.s]);
        out.extend([self.sp, self.b]);
    }
    fn linear(&self) -> bool {
        false
    }
}
