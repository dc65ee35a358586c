//! MOSFET levels 2 and 3 (SPICE2's Grove-Frohman MOS2 and semi-empirical short-channel MOS3,
//! as ngspice's mos2 and mos3 have them): the model card, its process and temperature
//! derivation, and the drain current in normal mode (vds >= 0). The device shell they run
//! in (limiting, bulk junctions, Meyer gate capacitances, series resistances, stamps) is
//! level 1's (`mos1.rs`).
//!
//! The current is written once, in forward-mode dual numbers over (vds, vgs, vbs), so gm,
//! gds and gmbs are the exact derivatives of the current that is stamped (ngspice's
//! hand-derived ones leave out some terms; the operating point does not depend on them, the
//! small-signal gains may differ slightly where they do).
use super::bsim4::dual::D3;
use super::ops::{K_OVER_Q_NGSPICE, T0};
use super::params::{Given, apply, param_table, without_ignored};
use super::semi::{REFTEMP, pbfact};
use crate::error::{Error, Result};

const CHARGE: f64 = 1.602_176_620_8e-19;
const EPS0: f64 = 8.854214871e-12;
const EPSOX: f64 = 3.9 * EPS0;
const EPSSIL: f64 = 11.7 * EPS0;

param_table! {
    /// A level-2 or level-3 MOSFET model card (`.model NAME nmos|pmos level=2|3 (...)`).
    pub struct Mos23Model {
        [sign: f64, "+1 for NMOS, -1 for PMOS."]
        [level: u8, "2 (Grove-Frohman) or 3 (semi-empirical short-channel)."]
        vto | vt0: opt = None, "V", "Zero-bias threshold (from NSUB, NSS, TPG when not given, else 0).";
        kp: opt = None, "A/V^2", "Transconductance parameter (UO EPS_OX / TOX when not given).";
        gamma: opt = None, "V^0.5", "Body-effect coefficient (from NSUB when not given, else 0).";
        phi: opt = None, "V", "Surface potential (from NSUB when not given, else 0.6).";
        lambda: num = 0.0, "1/V", "Channel-length modulation (level 2; none: from NSUB).";
        rd: num = 0.0, "Ohm", "Drain ohmic resistance.";
        rs: num = 0.0, "Ohm", "Source ohmic resistance.";
        cbd: opt = None, "F", "Zero-bias bulk-drain junction capacitance (none: CJ AD).";
        cbs: opt = None, "F", "Zero-bias bulk-source junction capacitance (none: CJ AS).";
        is: num = 1e-14, "A", "Bulk junction saturation current.";
        pb: num = 0.8, "V", "Bulk junction potential.";
        cgso: num = 0.0, "F/m", "Gate-source overlap capacitance per width.";
        cgdo: num = 0.0, "F/m", "Gate-drain overlap capacitance per width.";
        cgbo: num = 0.0, "F/m", "Gate-bulk overlap capacitance per length.";
        rsh: num = 0.0, "Ohm/sq", "Drain and source diffusion sheet resistance (with NRD, NRS).";
        cj: num = 0.0, "F/m^2", "Bottom junction capacitance per area.";
        mj: num = 0.5, "-", "Bottom junction grading coefficient.";
        cjsw: num = 0.0, "F/m", "Sidewall junction capacitance per perimeter.";
        mjsw: num = 0.33, "-", "Sidewall junction grading coefficient.";
        js: num = 0.0, "A/m^2", "Bulk junction saturation current per area (with AD, AS).";
        tox: num = 1e-7, "m", "Oxide thickness.";
        nsub: opt = None, "1/cm^3", "Substrate doping.";
        nss: num = 0.0, "1/cm^2", "Surface state density.";
        nfs: num = 0.0, "1/cm^2", "Fast surface state density (subthreshold conduction when > 0).";
        tpg: opt = None, "-", "Gate type: +1 opposite to substrate, -1 same, 0 aluminium (default 1).";
        xj: num = 0.0, "m", "Metallurgical junction depth.";
        ld: num = 0.0, "m", "Lateral diffusion.";
        xl: num = 0.0, "m", "Length adjustment (level 3).";
        wd: num = 0.0, "m", "Width narrowing per side (level 3).";
        xw: num = 0.0, "m", "Width adjustment (level 3).";
        uo | u0: num = 600.0, "cm^2/(V*s)", "Surface mobility.";
        ucrit: num = 1e4, "V/cm", "Critical field for mobility degradation (level 2).";
        uexp: num = 0.0, "-", "Critical field exponent of mobility degradation (level 2).";
        vmax: num = 0.0, "m/s", "Maximum carrier drift velocity (0: none).";
        neff: num = 1.0, "-", "Total channel charge coefficient (level 2, with VMAX).";
        kf: num = 0.0, "-", "Flicker-noise coefficient (noise analyses only: no effect on op, dc, tran, ac).";
        af: num = 1.0, "-", "Flicker-noise exponent (noise analyses only).";
        fc: num = 0.5, "-", "Forward-bias depletion capacitance coefficient.";
        delta: num = 0.0, "-", "Width effect on threshold.";
        theta: num = 0.0, "1/V", "Mobility modulation by the gate (level 3).";
        eta: num = 0.0, "-", "Static feedback on threshold (level 3).";
        kappa: num = 0.2, "-", "Saturation field factor (level 3).";
        tnom: opt = None, "C", "Temperature of the parameters (default: .options tnom, 27 C).";
    }
}

/// Parameters ngspice's mos2 does not have: it ignores them with a warning.
const NOT_IN_LEVEL2: [&str; 7] = ["theta", "eta", "kappa", "utra", "xl", "wd", "xw"];
/// Parameters ngspice's mos3 does not have: it ignores them with a warning.
const NOT_IN_LEVEL3: [&str; 5] = ["lambda", "ucrit", "uexp", "utra", "neff"];

impl Mos23Model {
    /// Reads a model card of `level` 2 or 3 (the caller handles `level`); `name` is the
    /// model's name. Parameters the level does not have are dropped with a warning, as
    /// ngspice does; any other unknown parameter is an error naming it.
    pub fn from_card(
        level: u8,
        pmos: bool,
        given: &[Given],
        name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Mos23Model> {
        let what = format!("level-{level} MOSFET model '{name}'");
        let ignored: &[&str] = if level == 2 {
            &NOT_IN_LEVEL2
        } else {
            &NOT_IN_LEVEL3
        };
        let kept = without_ignored(given, ignored, &what, warnings);
        let mut m = Mos23Model::table_defaults(if pmos { -1.0 } else { 1.0 }, level);
        apply(&mut m, &kept, "model", &what, &["level"])?;
        let bad = |n: &str, msg: &str| -> Error {
            let loc = kept.iter().find(|g| g.name == n).and_then(|g| g.loc);
            Error::netlist(format!("{what}: {msg}"), loc)
        };
        if m.tox.is_nan() || m.tox <= 0.0 {
            return Err(bad("tox", "TOX must be positive"));
        }
        if let Some(n) = m.nsub
            && (n.is_nan() || n * 1e6 <= 1.45e16)
        {
            return Err(bad(
                "nsub",
                "NSUB must exceed the intrinsic carrier density 1.45e10 /cm^3",
            ));
        }
        if m.pb.is_nan() || m.pb <= 0.0 {
            return Err(bad("pb", "PB must be positive"));
        }
        if m.phi.is_some_and(|p| p.is_nan() || p <= 0.0) {
            return Err(bad("phi", "PHI must be positive"));
        }
        if m.fc.is_nan() || m.fc >= 1.0 || m.fc < 0.0 {
            return Err(bad("fc", "FC must be in [0, 1)"));
        }
        if m.neff.is_nan() || m.neff <= 0.0 {
            return Err(bad("neff", "NEFF must be positive"));
        }
        Ok(m)
    }
}

/// What the level-2/3 current needs of one instance, at its temperature and size, in the
/// polarity-normalised frame.
#[derive(Debug, Clone)]
pub struct Chan23 {
    pub level: u8,
    /// Built-in potential (ngspice's tVbi times the type) [V].
    vbi: f64,
    /// Surface potential at temperature [V].
    pub phi: f64,
    gamma: f64,
    /// KP W m / L at temperature [A/V^2].
    beta: f64,
    /// Surface mobility at temperature [m^2/(V s)].
    uo: f64,
    /// Oxide capacitance per area [F/m^2].
    coxf: f64,
    leff: f64,
    weff: f64,
    lambda: f64,
    /// Depletion width coefficient sqrt(2 eps_si / (q NSUB)) (0 without NSUB) [m/V^0.5].
    xd: f64,
    has_nsub: bool,
    xj: f64,
    ld: f64,
    ucrit: f64,
    uexp: f64,
    vmax: f64,
    neff: f64,
    nfs: f64,
    /// Bulk junction potential at temperature [V].
    pb: f64,
    /// Level 2: narrow-width factor delta pi eps_si / (4 Cox W); level 3: delta pi eps_si /
    /// (2 Cox') (divided by W where used).
    narrow: f64,
    theta: f64,
    /// Level 3: static feedback ETA 8.15e-22 / (Cox' L^3).
    eta3: f64,
    kappa: f64,
    /// Level 3: 2 eps_si / (q NSUB) (0 without NSUB) [m^2/V].
    alpha: f64,
}

/// A level-2/3 instance: its channel and what the shell (`mos1.rs`) needs of it.
#[derive(Debug, Clone)]
pub struct Derived23 {
    pub chan: Chan23,
    pub com: MosCommon,
}

/// What the shell needs of an instance of any level, at its temperature and size.
#[derive(Debug, Clone)]
pub struct MosCommon {
    /// +1 for NMOS, -1 for PMOS.
    pub sign: f64,
    /// Threshold (polarity-normalised): the first iterate's vgs [V].
    pub vto: f64,
    /// Surface potential of the Meyer capacitances [V].
    pub phi: f64,
    /// Total oxide capacitance (0: no Meyer capacitances) [F].
    pub cox: f64,
    /// Overlap capacitances gs, gd, gb [F].
    pub overlap: [f64; 3],
    /// Junction saturation currents (drain, source) [A].
    pub isat: [f64; 2],
    /// Zero-bias junction capacitances: bottom d, bottom s, sidewall d, sidewall s [F].
    pub cz: [f64; 4],
    pub pb: f64,
    pub mj: f64,
    pub mjsw: f64,
    pub fc: f64,
    /// Drain and source series conductances (0: none, no internal node) [S].
    pub gdr: f64,
    pub gsr: f64,
}

/// An instance's size and junctions (after defaults).
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub w: f64,
    pub l: f64,
    pub m: f64,
    pub ad: f64,
    pub as_: f64,
    pub pd: f64,
    pub ps: f64,
    pub nrd: f64,
    pub nrs: f64,
}

impl Mos23Model {
    /// The instance of this card at `temp_c` with the circuit's nominal temperature
    /// `tnom_c` (the card's TNOM wins): ngspice's mos2/mos3 setup and temperature update.
    pub fn instance(&self, g: &Geometry, temp_c: f64, tnom_c: f64) -> Result<Derived23> {
        let md = self;
        let typ = md.sign;
        let tnom = md.tnom.unwrap_or(tnom_c) + T0;
        let temp = temp_c + T0;
        let coxf = EPSOX / md.tox;
        let vtnom = K_OVER_Q_NGSPICE * tnom;
        let egfet1 = 1.16 - (7.02e-4 * tnom * tnom) / (tnom + 1108.0);
        let fact1 = tnom / REFTEMP;
        let pbfact1 = pbfact(tnom);
        let kp = md.kp.unwrap_or(md.uo * coxf * 1e-4);
        let mut phi = md.phi.unwrap_or(0.6);
        let mut gamma = md.gamma.unwrap_or(0.0);
        let mut vt0 = md.vto.unwrap_or(0.0);
        let mut xd = 0.0;
        if let Some(nsub) = md.nsub {
            if md.phi.is_none() {
                // level 3 takes the intrinsic density at TNOM, level 2 at 300 K
                let ni = if md.level == 3 {
                    let r = tnom / 300.0;
                    1.45e16
                        * r
                        * r.sqrt()
                        * (0.5 * egfet1 * (1.0 / 300.0 - 1.0 / tnom) / K_OVER_Q_NGSPICE).exp()
                } else {
                    1.45e16
                };
                phi = (2.0 * vtnom * (nsub * 1e6 / ni).ln()).max(0.1);
            }
            let fermis = typ * 0.5 * phi;
            let tpg = md.tpg.unwrap_or(1.0);
            let wkfng = if tpg != 0.0 {
                let fermig = typ * tpg * 0.5 * egfet1;
                3.25 + 0.5 * egfet1 - fermig
            } else {
                3.2
            };
            let wkfngs = wkfng - (3.25 + 0.5 * egfet1 + fermis);
            if md.gamma.is_none() {
                gamma = (2.0 * EPSSIL * CHARGE * nsub * 1e6).sqrt() / coxf;
            }
            if md.vto.is_none() {
                let vfb = wkfngs - md.nss * 1e4 * CHARGE / coxf;
                vt0 = vfb + typ * (gamma * phi.sqrt() + phi);
            }
            xd = (2.0 * EPSSIL / (CHARGE * nsub * 1e6)).sqrt();
        }
        // temperature
        let ratio = temp / tnom;
        let fact2 = temp / REFTEMP;
        let egfet = 1.16 - (7.02e-4 * temp * temp) / (temp + 1108.0);
        let vt = K_OVER_Q_NGSPICE * temp;
        let pbf = pbfact(temp);
        let ratio4 = ratio * ratio.sqrt();
        let tkp = kp / ratio4;
        let tuo = md.uo / ratio4;
        let phio = (phi - pbfact1) / fact1;
        let tphi = fact2 * phio + pbf;
        let tvbi =
            vt0 - typ * gamma * phi.sqrt() + 0.5 * (egfet1 - egfet) + typ * 0.5 * (tphi - phi);
        let tvto = tvbi + typ * gamma * tphi.sqrt();
        let sat_fact = (-egfet / vt + egfet1 / vtnom).exp();
        let tis = md.is * sat_fact;
        let tjs = md.js * sat_fact;
        let pbo = (md.pb - pbfact1) / fact1;
        let gmaold = (md.pb - pbo) / pbo;
        let tpb = fact2 * pbo + pbf;
        let gmanew = (tpb - pbo) / pbo;
        let capt = |mj: f64| {
            (1.0 + mj * (4e-4 * (temp - REFTEMP) - gmanew))
                / (1.0 + mj * (4e-4 * (tnom - REFTEMP) - gmaold))
        };
        let (fb, fsw) = (capt(md.mj), capt(md.mjsw));
        if tphi.is_nan() || tphi <= 0.0 {
            return Err(Error::netlist(
                format!("surface potential at {temp_c} C is not positive ({tphi} V)"),
                None,
            ));
        }
        // size
        let (leff, weff) = if md.level == 2 {
            (g.l - 2.0 * md.ld, g.w)
        } else {
            (g.l - 2.0 * md.ld + md.xl, g.w - 2.0 * md.wd + md.xw)
        };
        if !(leff > 0.0 && weff > 0.0) {
            return Err(Error::netlist(
                format!("effective length {leff:e} m or width {weff:e} m is not positive"),
                None,
            ));
        }
        let m = g.m;
        let cox = coxf * leff * weff * m;
        let narrow = if md.level == 2 {
            md.delta * std::f64::consts::PI * EPSSIL / (4.0 * coxf * weff)
        } else {
            md.delta * 0.5 * std::f64::consts::PI * EPSSIL / coxf
        };
        let alpha = md.nsub.map_or(0.0, |n| 2.0 * EPSSIL / (CHARGE * n * 1e6));
        let chan = Chan23 {
            level: md.level,
            vbi: typ * tvbi,
            phi: tphi,
            gamma,
            beta: tkp * weff * m / leff,
            uo: tuo * 1e-4,
            coxf,
            leff,
            weff,
            lambda: md.lambda,
            xd,
            has_nsub: md.nsub.is_some(),
            xj: md.xj,
            ld: md.ld,
            ucrit: md.ucrit,
            uexp: md.uexp,
            vmax: md.vmax,
            neff: md.neff,
            nfs: md.nfs,
            pb: tpb,
            narrow,
            theta: md.theta,
            eta3: md.eta * 8.15e-22 / (coxf * leff * leff * leff),
            kappa: md.kappa,
            alpha,
        };
        let isat = if tjs == 0.0 || g.ad == 0.0 || g.as_ == 0.0 {
            [tis * m, tis * m]
        } else {
            [tjs * g.ad * m, tjs * g.as_ * m]
        };
        let cz = [
            md.cbd.unwrap_or(md.cj * g.ad) * fb * m,
            md.cbs.unwrap_or(md.cj * g.as_) * fb * m,
            md.cjsw * g.pd * fsw * m,
            md.cjsw * g.ps * fsw * m,
        ];
        let series = |r: f64, nr: f64| {
            if r != 0.0 {
                m / r
            } else if md.rsh != 0.0 && nr != 0.0 {
                m / (md.rsh * nr)
            } else {
                0.0
            }
        };
        Ok(Derived23 {
            chan,
            com: MosCommon {
                sign: typ,
                vto: typ * tvto,
                phi: tphi,
                cox,
                overlap: [md.cgso * weff * m, md.cgdo * weff * m, md.cgbo * leff * m],
                isat,
                cz,
                pb: tpb,
                mj: md.mj,
                mjsw: md.mjsw,
                fc: md.fc,
                gdr: series(md.rd, g.nrd),
                gsr: series(md.rs, g.nrs),
            },
        })
    }
}

/// max by value (ties to `a`).
fn dmax(a: D3, b: D3) -> D3 {
    if b.v > a.v { b } else { a }
}
/// min by value (ties to `a`).
fn dmin(a: D3, b: D3) -> D3 {
    if b.v < a.v { b } else { a }
}
fn dcos(x: D3) -> D3 {
    x.chain(x.v.cos(), -x.v.sin())
}
fn datan(x: D3) -> D3 {
    x.chain(x.v.atan(), 1.0 / (1.0 + x.v * x.v))
}
fn dabs(x: D3) -> D3 {
    if x.v < 0.0 { -x } else { x }
}

impl Chan23 {
    /// Drain current (d -> s) in normal mode, vds >= 0, with its derivatives by (vds, vgs,
    /// vbs); also von and vdsat (for the Meyer capacitances and limiting).
    pub fn ids(&self, vt: f64, vgs: f64, vds: f64, vbs: f64) -> (D3, f64, f64) {
        let vds_d = D3::var(vds, 0);
        let vgs_d = D3::var(vgs, 1);
        let vbs_d = D3::var(vbs, 2);
        if self.level == 2 {
            self.ids2(vt, vgs_d, vds_d, vbs_d)
        } else {
            self.ids3(vt, vgs_d, vds_d, vbs_d)
        }
    }

    /// Level 2 (Grove-Frohman, SPICE2 MOS2).
    fn ids2(&self, vt: f64, vgs: D3, vds: D3, vbs: D3) -> (D3, f64, f64) {
        let phi = self.phi;
        let sphi = phi.sqrt();
        let sphi3 = phi * sphi;
        let zero = D3::c(0.0);
        let phi_min_vbs = phi - vbs;
        let (sarg, dsrgdb) = if vbs.v <= 0.0 {
            let s = phi_min_vbs.sqrt();
            (s, -0.5 / s)
        } else {
            let s = sphi / (1.0 + 0.5 * vbs / phi);
            (s, -0.5 * s * s / sphi3)
        };
        let (barg, dbrgdb) = if (vds - vbs).v >= 0.0 {
            let b = (phi + vds - vbs).sqrt();
            (b, -0.5 / b)
        } else {
            let b = sphi / (1.0 + 0.5 * (vbs - vds) / phi);
            (b, -0.5 * b * b / sphi3)
        };
        let factor = self.narrow;
        let eta = 1.0 + factor;
        let vbin = self.vbi + factor * phi_min_vbs;
        let leff = self.leff;
        let gamma = self.gamma;
        let (gamasd, dgddvb) = if gamma > 0.0 || self.has_nsub {
            let xd = self.xd;
            if self.xj > 0.0 {
                let xj = self.xj;
                let args = (1.0 + xd * sarg * (2.0 / xj)).sqrt();
                let argd = (1.0 + xd * barg * (2.0 / xj)).sqrt();
                let tmp = 0.5 * xj / leff;
                let g = gamma * (1.0 - tmp * (args - 1.0) - tmp * (argd - 1.0));
                let dbargs = (0.5 / leff) * xd * dsrgdb / args;
                let dbargd = (0.5 / leff) * xd * dbrgdb / argd;
                (g, -gamma * (dbargs + dbargd))
            } else {
                (D3::c(gamma), zero)
            }
        } else {
            (D3::c(gamma), zero)
        };
        let mut von = vbin + gamasd * sarg;
        let nfs_on = self.nfs != 0.0;
        let mut argg = zero;
        if nfs_on {
            let cfs = CHARGE * self.nfs * 1e4;
            let cdonco = -(gamasd * dsrgdb + dgddvb * sarg) + factor;
            let xn = 1.0 + cfs / self.coxf + cdonco;
            von += vt * xn;
            argg = (vt * xn).recip();
        } else if vgs.v <= von.v {
            return (zero, von.v, 0.0);
        }
        let vgst = vgs - von;
        // effective mobility
        let tmp = self.ucrit * 100.0 * EPSSIL / self.coxf;
        let (ufact, ueff) = if vgst.v <= tmp {
            (D3::c(1.0), D3::c(self.uo))
        } else {
            let u = (self.uexp * (tmp / vgst).ln()).exp();
            (u, self.uo * u)
        };
        // saturation voltage (Grove-Frohman)
        let vgsx = if nfs_on { dmax(vgs, von) } else { vgs };
        let gammad = gamasd / eta;
        let mut vdsat = if gammad.v > 0.0 {
            let gammd2 = gammad * gammad;
            let argv = (vgsx - vbin) / eta + phi_min_vbs;
            if argv.v <= 0.0 {
                zero
            } else {
                let arg = (1.0 + 4.0 * argv / gammd2).sqrt();
                dmax((vgsx - vbin) / eta + gammd2 * (1.0 - arg) / 2.0, zero)
            }
        } else {
            dmax((vgsx - vbin) / eta, zero)
        };
        if self.vmax > 0.0 {
            // Baum's scattering-velocity saturation: the smallest positive root of a quartic
            // in sqrt(vdsat + phi - vbs)
            let v1 = (vgsx - vbin) / eta + phi_min_vbs;
            let v2 = phi_min_vbs;
            let xv = self.vmax * leff / ueff;
            let a1 = gammad / 0.75;
            let b1 = -2.0 * (v1 + xv);
            let c1 = -2.0 * gammad * xv;
            let d1 = 2.0 * v1 * (v2 + xv) - v2 * v2 - 4.0 / 3.0 * gammad * sarg * sarg * sarg;
            let a = -b1;
            let b = a1 * c1 - 4.0 * d1;
            let c = -d1 * (a1 * a1 - 4.0 * b1) - c1 * c1;
            let r = -a * a / 3.0 + b;
            let s = 2.0 * a * a * a / 27.0 - a * b / 3.0 + c;
            let r3 = r * r * r;
            let s2 = s * s;
            let p = s2 / 4.0 + r3 / 27.0;
            let p0 = dabs(p);
            let p2 = p0.sqrt();
            let y3 = if p.v < 0.0 {
                let ro = ((s2 / 4.0 + p0).sqrt().ln() / 3.0).exp();
                let fi = datan(-2.0 * p2 / s);
                2.0 * ro * dcos(fi / 3.0) - a / 3.0
            } else {
                let p3 = (dabs(-s / 2.0 + p2).ln() / 3.0).exp();
                let p4 = (dabs(-s / 2.0 - p2).ln() / 3.0).exp();
                p3 + p4 - a / 3.0
            };
            let a3 = (a1 * a1 / 4.0 - b1 + y3).sqrt();
            let b3 = (y3 * y3 / 4.0 - d1).sqrt();
            let mut best: Option<D3> = None;
            for (s1, s2) in [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)] {
                let a4 = a1 / 2.0 + s1 * a3;
                let b4 = y3 / 2.0 + s2 * b3;
                let delta4 = a4 * a4 / 4.0 - b4;
                if delta4.v.is_nan() || delta4.v < 0.0 {
                    continue;
                }
                let t = delta4.sqrt();
                for x in [-a4 / 2.0 + t, -a4 / 2.0 - t] {
                    if x.v <= 0.0 {
                        continue;
                    }
                    let poly = x * x * x * x + a1 * x * x * x + b1 * x * x + c1 * x + d1;
                    if poly.v.abs() > 1e-6 {
                        continue;
                    }
                    if best.is_none_or(|b| x.v <= b.v) {
                        best = Some(x);
                    }
                }
            }
            if let Some(x) = best {
                vdsat = x * x - phi_min_vbs;
            }
        }
        // effective channel length
        let mut xlamda = D3::c(self.lambda);
        let mut bodys = zero;
        let sarg3 = sarg * sarg * sarg;
        if vds.v != 0.0 {
            let bsarg = if (vbs - vdsat).v <= 0.0 {
                (vdsat + phi_min_vbs).sqrt()
            } else {
                sphi / (1.0 + 0.5 * (vbs - vdsat) / phi)
            };
            bodys = bsarg * bsarg * bsarg - sarg3;
            let compute = self.has_nsub && self.lambda <= 0.0;
            if self.vmax <= 0.0 {
                if compute {
                    let argv = (vds - vdsat) / 4.0;
                    let sargv = (1.0 + argv * argv).sqrt();
                    let arg = (argv + sargv).sqrt();
                    xlamda = self.xd / (leff * vds) * arg;
                }
            } else if compute {
                let xdv = self.xd / self.neff.sqrt();
                let xlv = self.vmax * xdv / (2.0 * ueff);
                let argv = dmax(vds - vdsat, zero);
                let xls = (xlv * xlv + argv).sqrt();
                xlamda = xdv / (leff * vds) * (xls - xlv);
            }
        }
        // channel shortening limited at punch-through
        let mut xwb = self.xd * self.pb.sqrt();
        let xld = leff - xwb;
        let mut clfact = 1.0 - xlamda * vds;
        let xleff = leff * clfact;
        let deltal = xlamda * vds * leff;
        if !self.has_nsub {
            xwb = 0.25e-6;
        }
        if xleff.v < xwb {
            let xl2 = xwb / (1.0 + (deltal - xld) / xwb);
            clfact = xl2 / leff;
        }
        let beta1 = self.beta * ufact / clfact;
        let gammad = gamasd;
        let body = barg * barg * barg - sarg3;
        if vds.v <= 1e-10 {
            // ngspice: no current, only the output conductance
            let gds = if vgs.v <= von.v {
                if !nfs_on {
                    0.0
                } else {
                    (beta1 * (von - vbin - gammad * sarg) * (argg * (vgs - von)).exp()).v
                }
            } else {
                (beta1 * (vgs - vbin - gammad * sarg)).v
            };
            return (
                D3 {
                    v: 0.0,
                    d: [gds, 0.0, 0.0],
                },
                von.v,
                vdsat.v,
            );
        }
        let cdrain = if vgs.v > von.v {
            if vds.v <= vdsat.v {
                beta1 * ((vgs - vbin - eta * vds / 2.0) * vds - gammad * body / 1.5)
            } else {
                beta1 * ((vgs - vbin - eta * vdsat / 2.0) * vdsat - gammad * bodys / 1.5)
            }
        } else {
            // subthreshold (with NFS only: without it this is cut off above)
            if vdsat.v <= 0.0 {
                zero
            } else {
                let vdson = dmin(vdsat, vds);
                let bodyu = if vds.v > vdsat.v { bodys } else { body };
                let cdson =
                    beta1 * ((von - vbin - eta * vdson * 0.5) * vdson - gammad * bodyu / 1.5);
                cdson * (argg * (vgs - von)).exp()
            }
        };
        (cdrain, von.v, vdsat.v)
    }

    /// Level 3 (semi-empirical short-channel, SPICE2 MOS3).
    fn ids3(&self, vt: f64, vgs: D3, vds: D3, vbs: D3) -> (D3, f64, f64) {
        let phi = self.phi;
        let zero = D3::c(0.0);
        let leff = self.leff;
        let weff = self.weff;
        let (sqphbs, phibs) = if vbs.v <= 0.0 {
            let p = phi - vbs;
            (p.sqrt(), p)
        } else {
            let s = phi.sqrt() / (1.0 + vbs / (phi + phi));
            (s, s * s)
        };
        // short-channel effect on the body charge
        let cdlw = self.alpha.sqrt();
        let fshort = if self.xj != 0.0 && cdlw != 0.0 {
            const CA: f64 = 0.0631353;
            const CB: f64 = 0.8013292;
            const CC: f64 = -0.01110777;
            let xj = self.xj;
            let wps = cdlw * sqphbs;
            let xjonxl = xj / leff;
            let djonxj = self.ld / xj;
            let wponxj = wps / xj;
            let wconxj = CA + CB * wponxj + CC * wponxj * wponxj;
            let arga = wconxj + djonxj;
            let argc = wponxj / (1.0 + wponxj);
            let argb = (1.0 - argc * argc).sqrt();
            1.0 - xjonxl * (arga * argb - djonxj)
        } else {
            D3::c(1.0)
        };
        let gammas = self.gamma * fshort;
        let fbodys = 0.5 * gammas / (sqphbs + sqphbs);
        let fbody = fbodys + self.narrow / weff;
        let onfbdy = (1.0 + fbody).recip();
        let qbonco = gammas * sqphbs + self.narrow * phibs / weff;
        let vbix = self.vbi - self.eta3 * vds;
        let vth = vbix + qbonco;
        let mut von = vth;
        let mut xn = D3::c(1.0);
        let nfs_on = self.nfs != 0.0;
        if nfs_on {
            let csonco = CHARGE * self.nfs * 1e4 / self.coxf;
            let cdonco = qbonco / (phibs + phibs);
            xn = 1.0 + csonco + cdonco;
            von = vth + vt * xn;
        } else if vgs.v <= von.v {
            return (zero, von.v, 0.0);
        }
        let vgsx = dmax(vgs, von);
        let onfg = 1.0 + self.theta * (vgsx - vth);
        let fgate = onfg.recip();
        let us = self.uo * fgate;
        let mut vdsat = (vgsx - vth) * onfbdy;
        let mut vdsc = zero;
        if self.vmax > 0.0 {
            vdsc = leff * self.vmax / us;
            let arga = (vgsx - vth) * onfbdy;
            let argb = (arga * arga + vdsc * vdsc).sqrt();
            vdsat = arga + vdsc - argb;
        }
        let vdsx = dmin(vds, vdsat);
        let cdo = vgsx - vth - 0.5 * (1.0 + fbody) * vdsx;
        let cdnorm = cdo * vdsx;
        let beta = self.beta * fgate;
        let mut cdrain = beta * cdnorm;
        let mut fdrain = D3::c(1.0);
        if self.vmax > 0.0 {
            fdrain = (1.0 + vdsx / vdsc).recip();
            cdrain = fdrain * cdrain;
        }
        // channel-length modulation. Without VMAX over ngspice's smoothed excess of vds over
        // vdsat (vds - 7/8 vdsat above vdsat, vdsat/8 (vds/vdsat)^8 below it: continuous
        // with its slope), with VMAX over vds - vdsat in saturation only (ngspice 39)
        let excess = if self.vmax > 0.0 {
            if vds.v > vdsat.v { vds - vdsat } else { zero }
        } else if vds.v >= vdsat.v {
            vds - 0.875 * vdsat
        } else if vds.v > 0.0 && vdsat.v > 0.0 {
            let r = vds / vdsat;
            let r2 = r * r;
            let r4 = r2 * r2;
            vdsat * 0.125 * r4 * r4
        } else {
            zero
        };
        if excess.v > 0.0 && self.alpha * self.kappa != 0.0 {
            let mut delxl = if self.vmax <= 0.0 {
                (self.kappa * excess * self.alpha).sqrt()
            } else {
                let cdsat = cdrain;
                let gdsat = dmax(cdsat * (1.0 - fdrain) / vdsc, D3::c(1e-12));
                let emax = self.kappa * cdsat / leff / gdsat;
                let arga = 0.5 * emax * self.alpha;
                let argc = self.kappa * self.alpha;
                let argb = (arga * arga + argc * excess).sqrt();
                argb - arga
            };
            if delxl.v > 0.5 * leff {
                delxl = leff - leff * leff / (4.0 * delxl);
            }
            cdrain = cdrain / (1.0 - delxl / leff);
        }
        // weak inversion
        if nfs_on && vgs.v < von.v {
            cdrain *= ((vgs - von) / (vt * xn)).exp();
        }
        (cdrain, von.v, vdsat.v)
    }
}
