//! The bias-dependent intrinsic device (BSIM4 manual chapters 2-7): threshold voltage with
//! short-channel, narrow-width, DIBL and pocket effects, the effective gate overdrive with
//! moderate-inversion smoothing, mobility, velocity saturation, the unified drain current
//! with CLM, DIBL, DITS and SCBE output conductance, source-end velocity limit, substrate
//! current, GIDL/GISL, the intrinsic charges of capmod 0, 1, 2 and the overlap charges.
//!
//! Everything is written in the n-channel frame with forward-mode dual numbers over
//! (Vds, Vgs, Vbs) of the intrinsic terminals (drain', gate, source', body'); for Vds < 0
//! the equations are evaluated with source and drain exchanged, as BSIM4 prescribes, and
//! the duals carry the derivatives back to the real terminals.

use super::dual::{BS, D3, DS, GS};
use super::setup::{EPSSI, EXP_THRESHOLD, Instance, MAX_EXP, MIN_EXP};

/// Elementary charge of the poly-depletion equation (SPICE's CHARGE) \[C\].
const CHARGE: f64 = 1.6021766208e-19;
const DELTA_1: f64 = 0.02;
const DELTA_3: f64 = 0.02;
const DELTA_4: f64 = 0.02;
/// ln(1 + MIN_EXP) evaluated in double precision (1 + MIN_EXP rounds to 1 + 8 ulp), the
/// floor of the smoothed overdrive.
const LN_1P_MIN_EXP: f64 = 1.7763568394002489e-15;

/// Intrinsic device at one bias: currents between the intrinsic nodes and the terminal
/// charges, all in the n-channel frame, before the multiplier m.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Channel {
    /// Vds >= 0 (normal mode) or source and drain exchanged.
    pub forward: bool,
    /// Channel current from drain' to source' \[A\].
    pub ids: D3,
    /// Current from drain' into body' (impact ionisation in normal mode, GIDL) \[A\].
    pub idb: D3,
    /// Current from source' into body' (impact ionisation in reverse mode, GISL) \[A\].
    pub isb: D3,
    /// Terminal charges (gate, drain', source', body'), overlaps included \[C\].
    pub q: [D3; 4],
    /// Intrinsic charges only (gate, drain', source', body'), for the small-signal
    /// capacitances ngspice reports \[C\].
    pub qi: [D3; 4],
    /// Threshold voltage \[V\], saturation voltage \[V\] (mode frame).
    pub vth: f64,
    pub vdsat: f64,
    /// Substrate current alone \[A\].
    pub isub: f64,
    /// Bias-dependent drain and source series conductances (rdsmod = 1) \[S\].
    pub gdtot: D3,
    pub gstot: D3,
}

#[inline(always)]
fn c(v: f64) -> D3 {
    D3::c(v)
}

/// Poly-gate depletion: the effective gate voltage for gate doping `ngate`.
#[inline(always)]
fn poly_depletion(phi: f64, ngate: f64, coxe: f64, vgs: D3) -> D3 {
    if ngate > 1.0e18 && ngate < 1.0e25 && vgs.v > phi {
        let t1 = 1.0e6 * CHARGE * EPSSI * ngate / (coxe * coxe);
        let t8 = vgs - phi;
        let t4 = (1.0 + 2.0 * t8 / t1).sqrt();
        let t2 = 2.0 * t8 / (t4 + 1.0);
        let t3 = 0.5 * t2 * t2 / t1;
        let t7 = 1.12 - t3 - 0.05;
        let t6 = (t7 * t7 + 0.224).sqrt();
        let t5 = 1.12 - 0.5 * (t7 + t6);
        vgs - t5
    } else {
        vgs
    }
}

impl Instance {
    /// Evaluates the intrinsic device at n-frame intrinsic voltages `vds`, `vgs`, `vbs` \[V\]
    /// (drain', gate and body' against source').
    pub(crate) fn channel(&self, vds: f64, vgs: f64, vbs: f64) -> Channel {
        let p = &self.b;
        let vds_p = D3::var(vds, DS);
        let vgs_p = D3::var(vgs, GS);
        let vbs_p = D3::var(vbs, BS);
        let forward = vds >= 0.0;
        let (vds_m, _vgs_m, vbs_m) = if forward {
            (vds_p, vgs_p, vbs_p)
        } else {
            (-vds_p, vgs_p - vds_p, vbs_p - vds_p)
        };
        let vtm = self.vtm;
        let leff = self.leff;

        // --- effective body bias ---
        let vbsc = self.vbsc;
        let t0 = vbs_m - vbsc - 0.001;
        let t1 = (t0 * t0 - 0.004 * vbsc).sqrt();
        let mut vbseff = if t0.v >= 0.0 {
            vbsc + 0.5 * (t0 + t1)
        } else {
            vbsc * (1.0 - 0.002 / (t1 - t0))
        };
        // limit forward body bias
        let t9 = 0.95 * self.phi;
        let t0 = t9 - vbseff - 0.001;
        let t1 = (t0 * t0 + 0.004 * t9).sqrt();
        vbseff = t9 - 0.5 * (t0 + t1);
        let phis = self.phi - vbseff;
        let sqrt_phis = phis.sqrt();
        let xdep = sqrt_phis * (self.xdep0 / self.sqrt_phi);

        // --- threshold voltage ---
        let t3 = xdep.sqrt();
        let v0 = self.vbi - self.phi;
        let dvt2_term = |dvt2: f64| {
            let t0 = vbseff * dvt2;
            if t0.v >= -0.5 {
                1.0 + t0
            } else {
                (1.0 + 3.0 * t0) / (3.0 + 8.0 * t0)
            }
        };
        let lt1 = t3 * dvt2_term(p.dvt2) * self.factor1;
        let ltw = t3 * dvt2_term(p.dvt2w) * self.factor1;
        let theta0 = theta(leff * p.dvt1 / lt1);
        let delt_vth = theta0 * (p.dvt0 * v0);
        let t2 = theta(p.dvt1w * self.weff * leff / ltw) * (p.dvt0w * v0);
        let temp_ratio = self.temp_ratio;
        let t1 = self.k.vth_lpe0_kt1 + vbseff * (p.kt2 * temp_ratio);
        let vth_narrow_w = self.k.vth_narrow_w;
        let mut t3 = self.eta0 + vbseff * p.etab;
        if t3.v < 1.0e-4 {
            t3 = (2.0e-4 - t3) / (3.0 - 2.0e4 * t3);
        }
        let dibl_sft = t3 * self.theta0vb0 * vds_m;
        let lpe_vb = self.k.lpe_vb;
        let mut vth = self.sign * self.vth0
            + (sqrt_phis * self.k1ox - self.k1 * self.sqrt_phi) * lpe_vb
            - vbseff * self.k2ox
            - delt_vth
            - t2
            + (p.k3 + vbseff * p.k3b) * vth_narrow_w
            + t1
            - dibl_sft;

        // --- subthreshold swing ---
        let tmp1 = EPSSI / xdep;
        let tmp2 = tmp1 * p.nfactor;
        let tmp3 = p.cdsc + vbseff * p.cdscb + vds_m * p.cdscd;
        let tmp4 = (tmp2 + tmp3 * theta0 + p.cit) / self.coxe;
        let n = if tmp4.v >= -0.5 {
            1.0 + tmp4
        } else {
            (1.0 + 3.0 * tmp4) / (3.0 + 8.0 * tmp4)
        };

        // --- pocket implant (drain-induced threshold shift) ---
        if p.dvtp0 > 0.0 {
            let t0 = vds_m * -p.dvtp1;
            let t2 = if t0.v < -EXP_THRESHOLD {
                c(MIN_EXP)
            } else {
                t0.exp()
            };
            let t3 = leff + p.dvtp0 * (1.0 + t2);
            let vt = if self.tempmod < 2 { vtm } else { self.vtm0 };
            let t4 = (leff / t3).ln() * vt;
            vth -= n * t4;
        }

        // --- poly depletion ---
        let vgs_eff_phys = poly_depletion(self.vfb + self.phi, p.ngate, self.coxe, vgs_p);
        let vgd_eff_phys = poly_depletion(self.vfb + self.phi, p.ngate, self.coxe, vgs_p - vds_p);
        let vgs_eff = if forward { vgs_eff_phys } else { vgd_eff_phys };
        let vgst = vgs_eff - vth;

        // --- effective gate overdrive with moderate-inversion smoothing ---
        let nvtm = n * vtm;
        let t1 = vgst * self.mstar;
        let t2 = t1 / nvtm;
        let t10 = if t2.v > EXP_THRESHOLD {
            t1
        } else if t2.v < -EXP_THRESHOLD {
            n * (vtm * LN_1P_MIN_EXP)
        } else {
            nvtm * t2.exp().ln1p_d()
        };
        let t1 = self.voffcbn - (1.0 - self.mstar) * vgst;
        let t2 = t1 / nvtm;
        let cox_cdep = self.coxe / self.cdep0;
        let t9 = if t2.v < -EXP_THRESHOLD {
            self.mstar + n * (cox_cdep * MIN_EXP)
        } else if t2.v > EXP_THRESHOLD {
            self.mstar + n * (cox_cdep * MAX_EXP)
        } else {
            self.mstar + n * t2.exp() * cox_cdep
        };
        let vgsteff = t10 / t9;

        // --- effective width ---
        let t9 = sqrt_phis - self.sqrt_phi;
        let mut weff = if p.dwg == 0.0 && p.dwb == 0.0 {
            c(self.weff)
        } else {
            self.weff - 2.0 * (vgsteff * p.dwg + t9 * p.dwb)
        };
        if weff.v < 2.0e-8 {
            let t0 = 1.0 / (6.0e-8 - 2.0 * weff);
            weff = 2.0e-8 * (4.0e-8 - weff) * t0;
        }

        // --- series resistance inside the I-V (rdsmod = 0) ---
        let rds = if self.rdsmod == 1 {
            c(0.0)
        } else {
            let t0 = 1.0 + vgsteff * p.prwg;
            let t1 = t9 * p.prwb;
            let t2 = 1.0 / t0 + t1;
            let t3 = t2 + (t2 * t2 + 0.01).sqrt();
            self.rdswmin + t3 * (self.rds0 * 0.5)
        };

        // --- bulk charge factor ---
        let t9 = 0.5 * self.k1ox * lpe_vb / sqrt_phis;
        let t1 = t9 + self.k2ox - p.k3b * vth_narrow_w;
        let t9 = (xdep * p.xj).sqrt();
        let tmp1 = leff + 2.0 * t9;
        let t5 = leff / tmp1;
        let tmp2 = t5 * p.a0;
        let tmp4 = self.k.abulk_b0;
        let t2 = tmp2 + tmp4;
        let t7 = t5 * t5 * t5;
        let mut abulk0 = 1.0 + t1 * t2;
        let t8 = t7 * (p.ags * p.a0);
        let mut abulk = abulk0 - t1 * t8 * vgsteff;
        if abulk0.v < 0.1 {
            abulk0 = (0.2 - abulk0) / (3.0 - 20.0 * abulk0);
        }
        if abulk.v < 0.1 {
            abulk = (0.2 - abulk) / (3.0 - 20.0 * abulk);
        }
        let t2 = vbseff * p.keta;
        let t0 = if t2.v >= -0.9 {
            1.0 / (1.0 + t2)
        } else {
            (17.0 + 20.0 * t2) / (0.8 + t2)
        };
        abulk *= t0;
        abulk0 *= t0;

        // --- mobility ---
        let t5 = match self.mobmod {
            0 => {
                let t0 = vgsteff + vth + vth;
                let t2 = p.ua + vbseff * p.uc;
                let t3 = t0 / self.toxe;
                let t6 = p.ud / (t3 * t3) * vth * vth;
                t3 * (t2 + t3 * p.ub) + t6
            }
            1 => {
                let t0 = vgsteff + vth + vth;
                let t2 = 1.0 + vbseff * p.uc;
                let t3 = t0 / self.toxe;
                let t4 = t3 * (p.ua + t3 * p.ub);
                let t6 = p.ud / (t3 * t3) * vth * vth;
                t4 * t2 + t6
            }
            _ => {
                let t0 = (vgsteff + self.vtfbphi1) / self.toxe;
                let t1 = (t0.ln() * p.eu).exp();
                let t2 = p.ua + vbseff * p.uc;
                let t3 = t0 / self.toxe;
                let t6 = p.ud / (t3 * t3) * vth * vth;
                t1 * t2 + t6
            }
        };
        let denomi = if t5.v >= -0.8 {
            1.0 + t5
        } else {
            (0.6 + t5) / (7.0 + 10.0 * t5)
        };
        let ueff = self.u0temp / denomi;

        // --- saturation voltage ---
        let wvcox = weff * (self.vsattemp * self.coxe);
        let wvcox_rds = wvcox * rds;
        let esat = 2.0 * self.vsattemp / ueff;
        let mut esat_l = esat * leff;
        let lambda = if p.a1 == 0.0 {
            c(p.a2)
        } else if p.a1 > 0.0 {
            let t0 = 1.0 - p.a2;
            let t1 = t0 - vgsteff * p.a1 - 0.0001;
            let t2 = (t1 * t1 + 0.0004 * t0).sqrt();
            p.a2 + t0 - 0.5 * (t1 + t2)
        } else {
            let t1 = p.a2 + vgsteff * p.a1 - 0.0001;
            let t2 = (t1 * t1 + 0.0004 * p.a2).sqrt();
            0.5 * (t1 + t2)
        };
        let vgst2vtm = vgsteff + 2.0 * vtm;
        let vdsat = if rds.v == 0.0 && lambda.v == 1.0 {
            esat_l * vgst2vtm / (abulk * esat_l + vgst2vtm)
        } else {
            let t9 = abulk * wvcox_rds;
            let t7 = vgst2vtm * t9;
            let t6 = vgst2vtm * wvcox_rds;
            let inv_lambda = 1.0 / lambda;
            let t0 = 2.0 * abulk * (t9 - 1.0 + inv_lambda);
            let t1 = vgst2vtm * (2.0 * inv_lambda - 1.0) + abulk * esat_l + 3.0 * t7;
            let t2 = vgst2vtm * (esat_l + 2.0 * t6);
            let t3 = (t1 * t1 - 2.0 * t0 * t2).sqrt();
            (t1 - t3) / t0
        };

        // --- effective Vds ---
        let mut vdseff = smooth_vdseff(vdsat, vds_m, p.delta);
        if vdseff.v > vds_m.v {
            vdseff = vds_m;
        }
        let diff_vds = vds_m - vdseff;

        // --- velocity overshoot ---
        if self.lambda_on {
            let t1 = ueff * leff;
            let t2 = p.lambda / t1;
            let t5 = 1.0 / (esat * self.litl);
            let t6 = 1.0 + diff_vds * t5;
            let t7 = 2.0 / (t6 * t6 + 1.0);
            let t8 = 1.0 - t7;
            let t10 = 1.0 + t2 * t8;
            esat_l *= t10;
        }

        // --- Vasat ---
        let tmp4 = 1.0 - 0.5 * abulk * vdsat / vgst2vtm;
        let t9 = wvcox_rds * vgsteff;
        let t0 = esat_l + vdsat + 2.0 * t9 * tmp4;
        let t1 = 2.0 / lambda - 1.0 + wvcox_rds * abulk;
        let vasat = t0 / t1;

        // --- linear-region current with quantum-mechanical Cox ---
        let t0 = (vgsteff + self.vtfbphi2) / (2.0e8 * self.toxp);
        let tmp3 = t0.powf(0.7);
        let tcen = 1.9e-9 / (1.0 + tmp3);
        let coxeff = EPSSI * self.coxp / (EPSSI + self.coxp * tcen);
        let coxeff_wovl = coxeff * weff / leff;
        let beta = ueff * coxeff_wovl;
        let abov_vgst2vtm = abulk / vgst2vtm;
        let fgche1 = vgsteff * (1.0 - 0.5 * vdseff * abov_vgst2vtm);
        let fgche2 = 1.0 + vdseff / esat_l;
        let gche = beta * fgche1 / fgche2;
        let idl = gche / (1.0 + gche * rds);

        // --- output resistance: CLM, DIBL, DITS, SCBE ---
        let (fp, _fp_on) = if p.fprout <= 0.0 {
            (c(1.0), false)
        } else {
            let t9 = self.k.fprout_sqrt_l / vgst2vtm;
            (1.0 / (1.0 + t9), true)
        };
        let pvag_term = if p.pvag == 0.0 {
            c(1.0)
        } else {
            let t9 = p.pvag / esat_l * vgsteff;
            if t9.v > -0.9 {
                1.0 + t9
            } else {
                (0.8 + t9) / (17.0 + 20.0 * t9)
            }
        };
        let (vaclm, cclm) = if p.pclm > MIN_EXP && diff_vds.v > 1.0e-10 {
            let t0 = 1.0 + rds * idl;
            let t2 = vdsat / esat;
            let t1 = leff + t2;
            let cclm = fp * pvag_term * t0 * t1 / (p.pclm * self.litl);
            (cclm * diff_vds, cclm)
        } else {
            (c(MAX_EXP), c(MAX_EXP))
        };
        let vadibl = if self.theta_rout > MIN_EXP {
            let t8 = abulk * vdsat;
            let t0 = vgst2vtm * t8;
            let t1 = vgst2vtm + t8;
            let mut vadibl = (vgst2vtm - t0 / t1) / self.theta_rout;
            let t7 = vbseff * p.pdiblcb;
            if t7.v >= -0.9 {
                vadibl = vadibl / (1.0 + t7);
            } else {
                vadibl *= (17.0 + 20.0 * t7) / (0.8 + t7);
            }
            vadibl * pvag_term
        } else {
            c(MAX_EXP)
        };
        let va = vasat + vaclm;
        let t0 = vds_m * p.pditsd;
        let t1 = if t0.v > EXP_THRESHOLD {
            c(MAX_EXP)
        } else {
            t0.exp()
        };
        let vadits = if p.pdits > MIN_EXP {
            let t2 = 1.0 + self.pditsl * leff;
            (1.0 + t2 * t1) / p.pdits * fp
        } else {
            c(MAX_EXP)
        };
        let vascbe = if p.pscbe2 > 0.0 {
            if diff_vds.v > p.pscbe1 * self.litl / EXP_THRESHOLD {
                let t0 = p.pscbe1 * self.litl / diff_vds;
                leff * t0.exp() / p.pscbe2
            } else {
                c(MAX_EXP * leff / p.pscbe2)
            }
        } else {
            c(MAX_EXP)
        };
        let mut idsa = idl * (1.0 + diff_vds / vadibl);
        idsa *= 1.0 + diff_vds / vadits;
        idsa *= 1.0 + (va / vasat).ln() / cclm;

        // --- substrate current (impact ionisation) ---
        let tmp = p.alpha0 + p.alpha1 * leff;
        let isub = if tmp <= 0.0 || p.beta0 <= 0.0 {
            c(0.0)
        } else {
            let t2 = tmp / leff;
            let t1 = if diff_vds.v > p.beta0 / EXP_THRESHOLD {
                let t0 = -p.beta0 / diff_vds;
                t2 * diff_vds * t0.exp()
            } else {
                t2 * MIN_EXP * diff_vds
            };
            t1 * idsa * vdseff
        };

        let ids = idsa * (1.0 + diff_vds / vascbe);
        let mut cdrain = ids * vdseff;

        // --- source-end velocity limit ---
        if self.vtl_on {
            let vs = cdrain / (leff * coxeff_wovl * vgsteff);
            let t1 = vs / (p.vtl * self.tfactor);
            if t1.v > 0.0 {
                let t2 = 1.0 + t1.powf(6.0);
                cdrain *= t2.powf(-1.0 / 6.0);
            }
        }
        let nf = self.nf;
        cdrain *= nf;
        let isub = isub * nf;

        // --- gate-induced drain / source leakage (terminal frame, not exchanged) ---
        let t0 = 3.0 * self.toxe;
        let vbd_p = vbs_p - vds_p;
        let gidl = |v: D3, vgx_eff: D3, vbx: D3| -> D3 {
            let t1 = (v - vgx_eff - p.egidl) / t0;
            if p.agidl <= 0.0 || p.bgidl <= 0.0 || t1.v <= 0.0 || p.cgidl <= 0.0 || vbx.v > 0.0 {
                return c(0.0);
            }
            let t2 = p.bgidl / t1;
            let i = if t2.v < 100.0 {
                p.agidl * self.weff_cj * t1 * (-t2).exp()
            } else {
                p.agidl * self.weff_cj * 3.720075976e-44 * t1
            };
            let t5 = -(vbx * vbx * vbx);
            i * (t5 / (p.cgidl + t5)) * nf
        };
        let igidl = gidl(vds_p, vgs_eff_phys, vbd_p);
        let igisl = gidl(-vds_p, vgd_eff_phys, vbs_p);

        let (idb, isb) = if forward {
            (isub + igidl, igisl)
        } else {
            (igidl, isub + igisl)
        };
        let ids_phys = if forward { cdrain } else { -cdrain };

        // --- charges ---
        let mut ch = Channel {
            forward,
            ids: ids_phys,
            idb,
            isb,
            vth: vth.v,
            vdsat: vdsat.v,
            isub: isub.v,
            ..Default::default()
        };
        let cv = Cv {
            vds: vds_m,
            vbs: vbs_m,
            vbseff,
            phis,
            sqrt_phis,
            vgs_eff,
            vgst,
            n,
            abulk0,
        };
        let qi = self.intrinsic_charges(&cv);
        // to the terminal frame: in reverse mode the "drain" charge is the source's
        ch.qi = if forward {
            qi
        } else {
            [qi[0], qi[2], qi[1], qi[3]]
        };
        let (qgso, qgdo) = self.overlap_charges(vgs_p, vgs_p - vds_p);
        let qgb = (vgs_p - vbs_p) * self.cgbo;
        ch.q = [
            ch.qi[0] + qgdo + qgso + qgb,
            ch.qi[1] - qgdo,
            ch.qi[2] - qgso,
            ch.qi[3] - qgb,
        ];

        // --- bias-dependent external source/drain resistances (rdsmod = 1) ---
        if self.rdsmod != 0 {
            let r = |vgx: D3, vbx: D3, r0: f64, rmin: f64| -> D3 {
                let t0 = vgx - self.vfbsd;
                let t1 = (t0 * t0 + 1.0e-4).sqrt();
                let vg_eff = 0.5 * (t0 + t1);
                let t0 = 1.0 + vg_eff * p.prwg;
                let t1 = vbx * -p.prwb;
                let t2 = 1.0 / t0 + t1;
                let t3 = t2 + (t2 * t2 + 0.01).sqrt();
                rmin + t3 * (r0 * 0.5)
            };
            let rs = r(vgs_p, vbs_p, self.rs0, self.rswmin);
            let rd = r(vgs_p - vds_p, vbd_p, self.rd0, self.rdwmin);
            ch.gstot = self.gs / (1.0 + self.gs * rs);
            ch.gdtot = self.gd / (1.0 + self.gd * rd);
        } else {
            ch.gstot = c(self.gs);
            ch.gdtot = c(self.gd);
        }
        ch
    }

    /// Overlap charges (gate-source, gate-drain) for gate-source and gate-drain voltages.
    fn overlap_charges(&self, vgs: D3, vgd: D3) -> (D3, D3) {
        let p = &self.b;
        let nf = self.nf;
        if self.capmod == 0 {
            return (vgs * (self.cgso * nf), vgd * (self.cgdo * nf));
        }
        let ov = |v: D3, cgxo: f64, cgxl: f64, ckappa: f64| -> D3 {
            let t0 = v + DELTA_1;
            let t1 = (t0 * t0 + 4.0 * DELTA_1).sqrt();
            let t2 = 0.5 * (t0 - t1);
            let t3 = self.weff_cv * cgxl;
            let t4 = (1.0 - 4.0 * t2 / ckappa).sqrt();
            ((cgxo + t3) * v - t3 * (t2 + 0.5 * ckappa * (t4 - 1.0))) * nf
        };
        (
            ov(vgs, self.cgso, p.cgsl, p.ckappas),
            ov(vgd, self.cgdo, p.cgdl, p.ckappad),
        )
    }

    /// Intrinsic charges (gate, drain, source, body) in the mode frame.
    fn intrinsic_charges(&self, cv: &Cv) -> [D3; 4] {
        if self.xpart < 0.0 {
            return [c(0.0); 4];
        }
        let p = &self.b;
        let cox_wl = self.coxe * self.weff_cv * self.leff_cv * self.nf;
        let vds = cv.vds;
        let vtm = self.vtm;
        let (qgate, qbulk, qsrc);
        if self.capmod == 0 {
            let vbseff = if cv.vbseff.v < 0.0 {
                cv.vbs
            } else {
                self.phi - cv.phis
            };
            let vfb = p.vfbcv;
            let vth = vfb + self.phi + cv.sqrt_phis * self.k1ox;
            let vgst = cv.vgs_eff - vth;
            let arg1 = cv.vgs_eff - vbseff - vfb;
            let qdrn;
            if arg1.v <= 0.0 {
                qgate = cox_wl * arg1;
                qbulk = -qgate;
                qdrn = c(0.0);
            } else if vgst.v <= 0.0 {
                let t1 = 0.5 * self.k1ox;
                let t2 = (t1 * t1 + arg1).sqrt();
                qgate = cox_wl * self.k1ox * (t2 - t1);
                qbulk = -qgate;
                qdrn = c(0.0);
            } else {
                let abulk_cv = cv.abulk0 * self.abulk_cv_factor;
                let vdsat = vgst / abulk_cv;
                let base = cv.vgs_eff - vfb - self.phi;
                if vdsat.v <= vds.v {
                    qgate = cox_wl * (base - vdsat / 3.0);
                    let t2 = -2.0 / 3.0 * cox_wl * vgst;
                    qbulk = -(qgate + t2);
                    qdrn = if self.xpart > 0.5 {
                        c(0.0)
                    } else if self.xpart < 0.5 {
                        0.4 * t2
                    } else {
                        0.5 * t2
                    };
                } else {
                    let alphaz = vgst / vdsat;
                    let t1 = 2.0 * vdsat - vds;
                    let t2 = vds / (3.0 * t1);
                    let t3 = t2 * vds;
                    let t9 = 0.25 * cox_wl;
                    let t4 = t9 * alphaz;
                    qgate = cox_wl * (base - 0.5 * (vds - t3));
                    if self.xpart > 0.5 {
                        let t7 = 2.0 * vds - t1 - 3.0 * t3;
                        let t8 = t3 - t1 - 2.0 * vds;
                        qdrn = t4 * t7;
                        qbulk = -(qgate + qdrn + t4 * t8);
                    } else if self.xpart < 0.5 {
                        let t6 = 8.0 * vdsat * vdsat - 6.0 * vdsat * vds + 1.2 * vds * vds;
                        let t8 = t2 / t1;
                        qdrn = t4 * (vds - t1 - t8 * t6);
                        qbulk = -(qgate - t4 * (2.0 * (t1 + t3)));
                    } else {
                        qdrn = -t4 * (t1 + t3);
                        qbulk = -(qgate + qdrn + qdrn);
                    }
                }
            }
            qsrc = -(qgate + qbulk + qdrn);
            return [qgate, qdrn, qsrc, qbulk];
        }

        // capmod 1 and 2 share the smooth VgsteffCV and VdseffCV
        let vbseff_cv = cv.vbseff;
        let noff = cv.n * p.noff;
        let t0 = noff * vtm;
        let vgstnvt = (cv.vgst - p.voffcv) / t0;
        let vgsteff = if vgstnvt.v > EXP_THRESHOLD {
            cv.vgst - p.voffcv
        } else if vgstnvt.v < -EXP_THRESHOLD {
            t0 * LN_1P_MIN_EXP
        } else {
            t0 * vgstnvt.exp().ln1p_d()
        };
        let vfbeff_of = |vfb: f64| -> D3 {
            let v3 = vfb - cv.vgs_eff + vbseff_cv - DELTA_3;
            let t0 = if vfb <= 0.0 {
                (v3 * v3 - 4.0 * DELTA_3 * vfb).sqrt()
            } else {
                (v3 * v3 + 4.0 * DELTA_3 * vfb).sqrt()
            };
            vfb - 0.5 * (v3 + t0)
        };
        let qsub0_of = |scale: D3, vfbeff: D3| -> D3 {
            let t0 = 0.5 * self.k1ox;
            let t3 = cv.vgs_eff - vfbeff - vbseff_cv - vgsteff;
            let t1 = if self.k1ox == 0.0 {
                c(0.0)
            } else if t3.v < 0.0 {
                t0 + t3 / self.k1ox
            } else {
                (t0 * t0 + t3).sqrt()
            };
            scale * self.k1ox * (t1 - t0)
        };
        let vdseff_cv = |vdsat_cv: D3| smooth_vdseff(vdsat_cv, vds, DELTA_4);
        let abulk_cv = cv.abulk0 * self.abulk_cv_factor;

        let (qg, qb, qs, qac0, qsub0);
        if self.capmod == 1 {
            let vfb = self.vfbzb;
            let vfbeff = vfbeff_of(vfb);
            qac0 = cox_wl * (vfbeff - vfb);
            qsub0 = qsub0_of(c(cox_wl), vfbeff);
            let vdsat_cv = vgsteff / abulk_cv;
            let vdseff = vdseff_cv(vdsat_cv);
            let t0 = abulk_cv * vdseff;
            let t1 = 12.0 * (vgsteff - 0.5 * t0 + 1.0e-20);
            let t2 = vdseff / t1;
            let t3 = t0 * t2;
            qg = cox_wl * (vgsteff - 0.5 * vdseff + t3);
            qb = cox_wl * (1.0 - abulk_cv) * (0.5 * vdseff - t3);
            qs = if self.xpart > 0.5 {
                let t1 = t1 + t1;
                -cox_wl * (0.5 * vgsteff + 0.25 * t0 - t0 * t0 / t1)
            } else if self.xpart < 0.5 {
                source_charge_40_60(c(cox_wl), vgsteff, t0)
            } else {
                -0.5 * (qg + qb)
            };
            qgate = qg + qac0 + qsub0;
        } else {
            let vfbzb = self.vfbzb;
            let vfbeff = vfbeff_of(vfbzb);
            let cox = self.coxp;
            let tox = 1.0e8 * self.toxp;
            let t0 = (cv.vgs_eff - vbseff_cv - vfbzb) / tox;
            let tmp = t0 * p.acde;
            let tcen = if -EXP_THRESHOLD < tmp.v && tmp.v < EXP_THRESHOLD {
                tmp.exp() * self.ldeb
            } else if tmp.v <= -EXP_THRESHOLD {
                c(self.ldeb * MIN_EXP)
            } else {
                c(self.ldeb * MAX_EXP)
            };
            let link = 1.0e-3 * self.toxp;
            let v3 = self.ldeb - tcen - link;
            let v4 = (v3 * v3 + 4.0 * link * self.ldeb).sqrt();
            let tcen = self.ldeb - 0.5 * (v3 + v4);
            let ccen = EPSSI / tcen;
            let coxeff = cox / (cox + ccen) * ccen;
            let cox_wl_cen = coxeff * (cox_wl / self.coxe);
            qac0 = cox_wl_cen * (vfbeff - vfbzb);
            qsub0 = qsub0_of(cox_wl_cen, vfbeff);

            // gate-bias dependent surface-potential shift
            let (denomi, t0) = if self.k1ox <= 0.0 {
                (0.25 * p.moin * vtm, 0.5 * self.sqrt_phi)
            } else {
                (
                    p.moin * vtm * self.k1ox * self.k1ox,
                    self.k1ox * self.sqrt_phi,
                )
            };
            let t1 = 2.0 * t0 + vgsteff;
            let delta_phi = (1.0 + t1 * vgsteff / denomi).ln() * vtm;
            let t0 = vgsteff - delta_phi - 0.001;
            let t1 = (t0 * t0 + vgsteff * 0.004).sqrt();
            let vgdp = 0.5 * (t0 + t1);

            let t0 = (vgsteff + self.vtfbphi2) / (2.0 * tox);
            let tcen = 1.9e-9 / (1.0 + t0.powf(0.7));
            let ccen = EPSSI / tcen;
            let coxeff = cox / (cox + ccen) * ccen;
            let cox_wl_cen = coxeff * (cox_wl / self.coxe);

            let vdsat_cv = vgdp / abulk_cv;
            let vdseff = vdseff_cv(vdsat_cv);
            let t0 = abulk_cv * vdseff;
            let t1 = vgdp;
            let t2 = 12.0 * (t1 - 0.5 * t0 + 1.0e-20);
            let t3 = t0 / t2;
            qg = cox_wl_cen * (t1 - t0 * (0.5 - t3));
            qb = cox_wl_cen * (1.0 - abulk_cv) * (0.5 * vdseff - t0 * vdseff / t2);
            qs = if self.xpart > 0.5 {
                -cox_wl_cen * (t1 / 2.0 + t0 / 4.0 - 0.5 * t0 * t0 / t2)
            } else if self.xpart < 0.5 {
                source_charge_40_60(cox_wl_cen, t1, t0)
            } else {
                -0.5 * qg
            };
            qgate = qg + qac0 + qsub0 - qb;
        }
        qbulk = qb - (qac0 + qsub0);
        qsrc = qs;
        let qdrn = -(qgate + qbulk + qsrc);
        [qgate, qdrn, qsrc, qbulk]
    }
}

/// Quantities the charge models take from the current model (mode frame).
struct Cv {
    vds: D3,
    vbs: D3,
    vbseff: D3,
    phis: D3,
    sqrt_phis: D3,
    vgs_eff: D3,
    vgst: D3,
    n: D3,
    abulk0: D3,
}

/// Source charge of the 40/60 partition for gate overdrive `vg` and Abulk Vdseff `t0`
/// (capmod 1 and 2): -C / (2 x^2) [vg (2/3 t0^2 + vg (vg - 4/3 t0)) - 2/15 t0^3] with
/// x = vg - t0/2.
#[inline(always)]
fn source_charge_40_60(cox_wl: D3, vg: D3, t0: D3) -> D3 {
    let x = vg - 0.5 * t0 + 1.0e-20;
    let t3 = vg * (2.0 * t0 * t0 / 3.0 + vg * (vg - 4.0 * t0 / 3.0)) - 2.0 * t0 * t0 * t0 / 15.0;
    -(0.5 * cox_wl / (x * x)) * t3
}

/// BSIM4's effective drain voltage: Vdsat - (T1 + sqrt(T1^2 + 4 delta Vdsat)) / 2 with
/// T1 = Vdsat - Vds - delta (the algebraically equal form for T1 < 0); exactly 0 at
/// Vds = 0 (where the gate and body partials vanish).
#[inline(always)]
fn smooth_vdseff(vdsat: D3, vds: D3, delta: f64) -> D3 {
    let t1 = vdsat - vds - delta;
    let t2 = (t1 * t1 + 4.0 * delta * vdsat).sqrt();
    let v = if t1.v >= 0.0 {
        vdsat - 0.5 * (t1 + t2)
    } else {
        vdsat * (1.0 - 2.0 * delta / (t2 - t1))
    };
    if vds.v == 0.0 {
        D3 {
            v: 0.0,
            d: [v.d[0], 0.0, 0.0],
        }
    } else {
        v
    }
}

/// The short-channel roll-off function 1 / (2 (cosh x - 1)), guarded like BSIM4.
#[inline(always)]
fn theta(x: D3) -> D3 {
    if x.v < EXP_THRESHOLD {
        let t1 = x.exp();
        let t2 = t1 - 1.0;
        t1 / (t2 * t2 + 2.0 * MIN_EXP * t1)
    } else {
        c(1.0 / (MAX_EXP - 2.0))
    }
}

trait Ln1p {
    fn ln1p_d(self) -> D3;
}

impl Ln1p for D3 {
    /// ln(1 + self) for the (positive) exponential argument.
    #[inline(always)]
    fn ln1p_d(self) -> D3 {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
}
