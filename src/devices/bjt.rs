//! Bipolar junction transistor: ngspice's Gummel-Poon model (level 1, `.model NAME npn|pnp`).
//!
//! The equations are SPICE's (ngspice bjtload.c/bjttemp.c): transport current with the
//! base charge qb = q1 (1 + (1 + 4 q2)^NKF) / 2 (Early effect in q1, high injection in q2),
//! non-ideal base-emitter and base-collector leakage, the current-dependent base resistance
//! (RB, RBM, IRB), emitter and collector resistances, depletion charges with the FC
//! linearisation, the forward diffusion charge with its transit-time modulation (XTF, VTF,
//! ITF), the reverse diffusion charge (TR), the base-collector capacitance split by XCJC,
//! the substrate junction (vertical for npn, lateral for pnp by default, `SUBS`), and the
//! temperature scaling of IS, ISE, ISC, BF, BR and the junction potentials and capacitances.
//!
//! Differences from ngspice, by decision:
//! - the Jacobian is exact: the base resistance's dependence on qb or on the base current is
//!   differentiated (ngspice treats the base resistance as constant within an iteration), so
//!   Newton converges to the same point and `.ac` sees the full linearisation;
//! - excess phase (`PTF`) is not modelled: a card that gives a nonzero PTF is accepted with
//!   a warning (it only changes transient and AC responses near 1/TF);
//! - `ic=vbe,vce` on the instance line is accepted with a warning and not used (ngspice uses
//!   it only with `uic`).
use super::limit::pnjlim;
use super::ops::{
    Block, DeviceOps, K_OVER_Q_NGSPICE as K_OVER_Q, Load, Setup, T0, block_verbs, remap_all,
    req_block,
};
use super::params::{Given, ParamTable, apply, param_table, without_ignored};
use super::semi::{SemiParams, junction_t};
use crate::error::{Error, Result};

param_table! {
    /// A BJT model card (`.model NAME npn|pnp (...)`), SPICE Gummel-Poon.
    pub struct BjtModel {
        [ty: f64, "+1 for NPN, -1 for PNP."]
        is: num = 1e-16, "A", "Transport saturation current.";
        iss: num = 0.0, "A", "Substrate junction saturation current.";
        bf: num = 100.0, "-", "Ideal maximum forward beta.";
        nf: num = 1.0, "-", "Forward current emission coefficient.";
        vaf | va: num = 0.0, "V", "Forward Early voltage (0: infinite).";
        ikf | ik: num = 0.0, "A", "Corner of forward beta high-current roll-off (0: infinite).";
        nkf: num = 0.5, "-", "High-injection roll-off exponent.";
        ise: opt = None, "A", "B-E leakage saturation current.";
        c2: num = 0.0, "-", "B-E leakage saturation current as a multiple of IS (when ISE is not given).";
        ne: num = 1.5, "-", "B-E leakage emission coefficient.";
        br: num = 1.0, "-", "Ideal maximum reverse beta.";
        nr: num = 1.0, "-", "Reverse current emission coefficient.";
        var | vb: num = 0.0, "V", "Reverse Early voltage (0: infinite).";
        ikr: num = 0.0, "A", "Corner of reverse beta high-current roll-off (0: infinite).";
        isc: opt = None, "A", "B-C leakage saturation current.";
        c4: num = 0.0, "-", "B-C leakage saturation current as a multiple of IS (when ISC is not given).";
        nc: num = 2.0, "-", "B-C leakage emission coefficient.";
        rb: num = 0.0, "Ohm", "Zero-bias base resistance.";
        irb: num = 0.0, "A", "Current where the base resistance falls halfway to RBM (0: infinite).";
        rbm: opt = None, "Ohm", "Minimum base resistance at high current (default RB).";
        re: num = 0.0, "Ohm", "Emitter resistance.";
        rc: num = 0.0, "Ohm", "Collector resistance.";
        cje: num = 0.0, "F", "B-E zero-bias depletion capacitance.";
        vje | pe: num = 0.75, "V", "B-E built-in potential.";
        mje | me: num = 0.33, "-", "B-E junction grading coefficient.";
        tf: num = 0.0, "s", "Ideal forward transit time.";
        xtf: num = 0.0, "-", "Coefficient of the bias dependence of TF.";
        vtf: num = 0.0, "V", "Voltage describing the VBC dependence of TF (0: none).";
        itf: num = 0.0, "A", "High-current parameter of the TF dependence.";
        ptf: num = 0.0, "deg", "Excess phase at 1/(2 pi TF) Hz (not modelled: a warning when nonzero).";
        cjc: num = 0.0, "F", "B-C zero-bias depletion capacitance.";
        vjc | pc: num = 0.75, "V", "B-C built-in potential.";
        mjc | mc: num = 0.33, "-", "B-C junction grading coefficient.";
        xcjc: num = 1.0, "-", "Fraction of the B-C depletion capacitance connected to the internal base.";
        tr: num = 0.0, "s", "Ideal reverse transit time.";
        cjs | ccs | csub: num = 0.0, "F", "Zero-bias substrate capacitance.";
        vjs | ps | psub: num = 0.75, "V", "Substrate junction built-in potential.";
        mjs | ms | msub: num = 0.0, "-", "Substrate junction grading coefficient.";
        ns: num = 1.0, "-", "Substrate junction emission coefficient.";
        subs: opt = None, "-", "Substrate connection: 1 vertical (to the collector), -1 lateral (to the base); default 1 for NPN, -1 for PNP.";
        xtb: num = 0.0, "-", "Forward and reverse beta temperature exponent.";
        eg: num = 1.11, "eV", "Energy gap for the temperature dependence of IS.";
        xti: num = 3.0, "-", "Temperature exponent of IS.";
        fc: num = 0.5, "-", "Forward-bias depletion capacitance coefficient.";
        tnom | tref: num = 300.15, "K", "Nominal temperature of the parameters (written in C on the card).";
        kf: num = 0.0, "-", "Flicker-noise coefficient (noise analyses only: no effect on op, dc, tran, ac).";
        af: num = 1.0, "-", "Flicker-noise exponent (noise analyses only: no effect on op, dc, tran, ac).";
        vbe_max: opt = None, "V", "Safe-operating-area limit (accepted, not checked).";
        vbc_max: opt = None, "V", "Safe-operating-area limit (accepted, not checked).";
        vce_max: opt = None, "V", "Safe-operating-area limit (accepted, not checked).";
    }
}

/// Parameters of vendors' and other simulators' BJT cards (LTspice's `vceo`, `icrating`,
/// `mfg`) that ngspice 39 ignores with a warning: ignored here too, with a warning.
pub const IGNORED: &[&str] = &["vceo", "icrating", "mfg", "iave", "vpk"];

impl BjtModel {
    /// Reads a model card; `pnp` selects the polarity, `tnom_c` is the circuit's nominal
    /// temperature [C] (`.options tnom`; the card's own `tnom` is in C too). Parameters in
    /// [`IGNORED`] and a nonzero PTF give warnings.
    pub fn from_card(
        pnp: bool,
        given: &[Given],
        tnom_c: f64,
        name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<BjtModel> {
        let what = format!("BJT model '{name}'");
        let mut m = BjtModel {
            tnom: tnom_c + T0,
            ..BjtModel::table_defaults(if pnp { -1.0 } else { 1.0 })
        };
        if let Some(g) = given.iter().rfind(|g| g.name == "level")
            && g.value != 1.0
        {
            return Err(g.error(format!(
                "unsupported BJT level {} in model '{name}' (supported: 1 = Gummel-Poon)",
                g.value
            )));
        }
        let rest = without_ignored(given, IGNORED, &what, warnings);
        apply(&mut m, &rest, "model", &what, &["level"])?;
        if let Some(g) = rest.iter().rfind(|g| g.name == "tnom" || g.name == "tref") {
            m.tnom = g.value + T0;
        }
        let located =
            |canonical: &str, msg: String| match rest.iter().rfind(|g| is_alias(g.name, canonical))
            {
                Some(g) => g.error(msg),
                None => Error::netlist(msg, None),
            };
        for (n, v) in [
            ("bf", m.bf),
            ("br", m.br),
            ("nf", m.nf),
            ("nr", m.nr),
            ("ne", m.ne),
            ("nc", m.nc),
            ("ns", m.ns),
            ("vje", m.vje),
            ("vjc", m.vjc),
            ("vjs", m.vjs),
        ] {
            if v.is_nan() || v <= 0.0 {
                return Err(located(
                    n,
                    format!("{} of {what} must be positive, found {v}", n.to_uppercase()),
                ));
            }
        }
        for (n, v) in [
            ("rb", m.rb),
            ("re", m.re),
            ("rc", m.rc),
            ("rbm", m.rbm.unwrap_or(0.0)),
        ] {
            if v < 0.0 {
                return Err(located(
                    n,
                    format!(
                        "{} of {what} must not be negative, found {v}",
                        n.to_uppercase()
                    ),
                ));
            }
        }
        if let Some(g) = rest.iter().rfind(|g| g.name == "subs")
            && g.value != 1.0
            && g.value != -1.0
        {
            return Err(g.error(format!(
                "SUBS of {what} must be 1 (vertical) or -1 (lateral), found {}",
                g.value
            )));
        }
        if m.ptf != 0.0 {
            warnings.push(format!(
                "{what}: excess phase PTF = {} is not modelled (ignored)",
                m.ptf
            ));
        }
        m.fc = m.fc.min(0.9999);
        Ok(m)
    }

    fn vertical(&self) -> bool {
        self.subs.unwrap_or(self.ty) > 0.0
    }
}

fn is_alias(name: &str, canonical: &str) -> bool {
    BjtModel::PARAMS
        .iter()
        .any(|p| p.name == canonical && p.is(name))
}

/// Instance parameters of a BJT line (`Q1 c b e [s] model [area] [off] [area=] [m=]
/// [temp=] [dtemp=] [ic=vbe,vce]`).
pub type BjtParams = SemiParams;

/// Temperature-dependent values of one instance (ngspice bjttemp.c), area included.
#[derive(Debug, Clone, Default)]
struct Tv {
    temp: f64,
    vt: f64,
    csat: f64,
    c2: f64,
    c4: f64,
    csubsat: f64,
    bf: f64,
    br: f64,
    cje: f64,
    pe: f64,
    cjc: f64,
    pc: f64,
    cjs: f64,
    ps: f64,
    vcrit: f64,
    subvcrit: f64,
}

impl Tv {
    fn at(m: &BjtModel, area: f64, t: f64) -> Tv {
        let vt = K_OVER_Q * t;
        let ratlog = (t / m.tnom).ln();
        let ratio1 = t / m.tnom - 1.0;
        let factlog = ratio1 * m.eg / vt + m.xti * ratlog;
        let factor = factlog.exp();
        let bfactor = (ratlog * m.xtb).exp();
        let ise = m.ise.unwrap_or(m.c2 * m.is);
        let isc = m.isc.unwrap_or(m.c4 * m.is);
        let (cje, pe) = junction_t(m.cje, m.vje, m.mje, m.tnom, t);
        let (cjc, pc) = junction_t(m.cjc, m.vjc, m.mjc, m.tnom, t);
        let (cjs, ps) = junction_t(m.cjs, m.vjs, m.mjs, m.tnom, t);
        let csat = m.is * factor * area;
        let csubsat = m.iss * (factlog / m.ns).exp() * area;
        let vcrit = |is: f64| {
            if is > 0.0 {
                vt * (vt / (std::f64::consts::SQRT_2 * is)).ln()
            } else {
                f64::INFINITY
            }
        };
        Tv {
            temp: t,
            vt,
            csat,
            c2: ise * (factlog / m.ne).exp() / bfactor * area,
            c4: isc * (factlog / m.nc).exp() / bfactor * area,
            csubsat,
            bf: m.bf * bfactor,
            br: m.br * bfactor,
            cje: cje * area,
            pe,
            cjc: cjc * area,
            pc,
            cjs: cjs * area,
            ps,
            vcrit: vcrit(csat),
            subvcrit: vcrit(csubsat),
        }
    }
}

/// A diode-like junction current and its conductance: `c (exp(v/vtn) - 1)` above -3 vtn,
/// SPICE's cubic reverse tail below.
fn junction(c: f64, v: f64, vtn: f64) -> (f64, f64) {
    if c == 0.0 {
        return (0.0, 0.0);
    }
    if v >= -3.0 * vtn {
        let e = (v / vtn).min(700.0).exp();
        (c * (e - 1.0), c * e / vtn)
    } else {
        let a = 3.0 * vtn / (v * std::f64::consts::E);
        let a3 = a * a * a;
        (-c * (1.0 + a3), c * 3.0 * a3 / v)
    }
}

/// Depletion charge and capacitance with the FC linearisation (q, dq/dv).
fn depl(v: f64, cj: f64, pot: f64, mj: f64, fc: f64) -> (f64, f64) {
    super::limit::depletion(v, cj, pot, mj, fc)
}

/// The IRB base-resistance function: 3 (tan z - z) / (z tan^2 z) and its derivative.
fn irb_h(z: f64) -> (f64, f64) {
    if z < 1e-3 {
        return (1.0 / 3.0 - 4.0 * z * z / 45.0, -8.0 * z / 45.0);
    }
    let t = z.tan();
    let h = (t - z) / (z * t * t);
    let num = t.powi(4) * z - (t - z) * (t * t + 2.0 * z * t * (1.0 + t * t));
    (h, num / (z * t * t).powi(2))
}

/// Local terminal indices: external C B E S, internal C' B' E'.
const C: usize = 0;
const B: usize = 1;
const E: usize = 2;
const S: usize = 3;
const CI: usize = 4;
const BI: usize = 5;
const EI: usize = 6;
const NT: usize = 7;

#[derive(Debug, Clone)]
pub struct Bjt {
    /// Unknowns of C B E S C' B' E' (an internal node equals its terminal when the
    /// resistance is 0; S is ground when the line gives three nodes).
    pub nodes: [usize; NT],
    pub model: BjtModel,
    pub p: BjtParams,
    tv: Tv,
    /// Limited vbe, vbc, vsub of the last load (polarity-normalised).
    vold: [f64; 3],
    /// The base resistance current's derivatives by vbe and vbc (through qb or the base
    /// current) at the last load, which the small-signal model leaves out.
    rb_bias: [f64; 2],
    slots: [usize; NT * NT],
}

impl Bjt {
    pub fn new(nodes: [usize; NT], model: BjtModel, p: BjtParams) -> Bjt {
        Bjt {
            nodes,
            model,
            p,
            tv: Tv::default(),
            vold: [0.0; 3],
            rb_bias: [0.0; 2],
            slots: [0; NT * NT],
        }
    }

    /// Whether the card gives the device an internal collector, base and emitter node.
    pub fn internal(m: &BjtModel) -> [bool; 3] {
        [m.rc > 0.0, m.rb > 0.0, m.re > 0.0]
    }

    /// Substrate junction (anode, cathode) in local indices.
    fn sub_nodes(&self) -> (usize, usize) {
        if self.model.vertical() {
            (S, CI)
        } else {
            (BI, S)
        }
    }
}

impl DeviceOps for Bjt {
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
        let (sa, sk) = self.sub_nodes();
        let (vbe_x, vbc_x, vsub_x, vbx) = (v(BI, EI), v(BI, CI), v(sa, sk), v(B, CI));
        let vt = tv.vt;
        let (vbe, vbc, vsub) = if l.init_fix && self.p.off {
            (0.0, 0.0, 0.0)
        } else if l.init_junctions {
            if self.p.off {
                (0.0, 0.0, 0.0)
            } else {
                (tv.vcrit, 0.0, 0.0)
            }
        } else {
            let [be0, bc0, sub0] = self.vold;
            let (vbe, l1) = pnjlim(vbe_x, be0, vt, tv.vcrit);
            let (vbc, l2) = pnjlim(vbc_x, bc0, vt, tv.vcrit);
            let (vsub, l3) = pnjlim(vsub_x, sub0, vt, tv.subvcrit);
            if l1 || l2 || l3 {
                l.noncon = true;
            }
            (vbe, vbc, vsub)
        };
        self.vold = [vbe, vbc, vsub];
        let (dbe, dbc, dsub) = (vbe_x - vbe, vbc_x - vbc, vsub_x - vsub);

        // junction currents
        let (cbe, gbe) = junction(tv.csat, vbe, vt * m.nf);
        let (mut cben, mut gben) = junction(tv.c2, vbe, vt * m.ne);
        cben += l.gmin * vbe;
        gben += l.gmin;
        let (cbc, gbc) = junction(tv.csat, vbc, vt * m.nr);
        let (mut cbcn, mut gbcn) = junction(tv.c4, vbc, vt * m.nc);
        cbcn += l.gmin * vbc;
        gbcn += l.gmin;
        let (mut csub, mut gsub) = junction(tv.csubsat, vsub, vt * m.ns);
        csub += l.gmin * vsub;
        gsub += l.gmin;

        // base charge
        let area = self.p.area;
        let inv = |v: f64| if v != 0.0 { 1.0 / v } else { 0.0 };
        let (ivaf, ivar) = (inv(m.vaf), inv(m.var));
        let (oik, oikr) = (inv(m.ikf * area), inv(m.ikr * area));
        let q1 = 1.0 / (1.0 - ivaf * vbc - ivar * vbe);
        let (dq1e, dq1c) = (q1 * q1 * ivar, q1 * q1 * ivaf);
        let (qb, dqbdve, dqbdvc) = if oik == 0.0 && oikr == 0.0 {
            (q1, dq1e, dq1c)
        } else {
            let q2 = oik * cbe + oikr * cbc;
            let arg = (1.0 + 4.0 * q2).max(0.0);
            let (sq, dsq) = if arg == 0.0 {
                (0.0, 0.0)
            } else if m.nkf == 0.5 {
                let s = arg.sqrt();
                (s, 0.5 / s)
            } else {
                let s = arg.powf(m.nkf);
                (s, m.nkf * s / arg)
            };
            // ngspice: sqarg is 1 when arg is 0 (q2 <= -1/4, never reached with positive IS)
            let sq = if arg == 0.0 { 1.0 } else { sq };
            let qb = q1 * (1.0 + sq) / 2.0;
            let ds = |g: f64, o: f64| if arg > 0.0 { dsq * 4.0 * o * g } else { 0.0 };
            (
                qb,
                dq1e * (1.0 + sq) / 2.0 + q1 * ds(gbe, oik) / 2.0,
                dq1c * (1.0 + sq) / 2.0 + q1 * ds(gbc, oikr) / 2.0,
            )
        };

        // terminal currents of the intrinsic device
        let cc = (cbe - cbc) / qb - cbc / tv.br - cbcn;
        let gcc_e = (gbe - (cbe - cbc) * dqbdve / qb) / qb;
        let gcc_c = (-gbc - (cbe - cbc) * dqbdvc / qb) / qb - gbc / tv.br - gbcn;
        let cb = cbe / tv.bf + cben + cbc / tv.br + cbcn;
        let (gpi, gmu) = (gbe / tv.bf + gben, gbc / tv.br + gbcn);

        self.rb_bias = [0.0; 2];
        let mut st = Block {
            l,
            nodes: &self.nodes,
            slots: &self.slots,
        };
        let ic = cc + gcc_e * dbe + gcc_c * dbc;
        st.cur(CI, EI, ty * ic, &[(BI, EI, gcc_e), (BI, CI, gcc_c)]);
        let ib = cb + gpi * dbe + gmu * dbc;
        st.cur(BI, EI, ty * ib, &[(BI, EI, gpi), (BI, CI, gmu)]);
        st.cur(sa, sk, ty * (csub + gsub * dsub), &[(sa, sk, gsub)]);

        // parasitic resistances
        if nd[C] != nd[CI] {
            let g = area / m.rc;
            let i = g * (x[nd[C]] - x[nd[CI]]);
            st.cur(C, CI, i, &[(C, CI, g)]);
        }
        if nd[E] != nd[EI] {
            let g = area / m.re;
            let i = g * (x[nd[E]] - x[nd[EI]]);
            st.cur(E, EI, i, &[(E, EI, g)]);
        }
        if nd[B] != nd[BI] {
            let rbpr = m.rbm.unwrap_or(m.rb) / area;
            let rbpi = m.rb / area - rbpr;
            let xjrb = m.irb * area;
            let (gx, dgxe, dgxc) = if xjrb != 0.0 {
                let a = cb / xjrb;
                let (a, da) = if a > 1e-9 {
                    (a, 1.0 / xjrb)
                } else {
                    (1e-9, 0.0)
                };
                const K: f64 = 14.59025;
                const CC: f64 = 2.4317;
                let sa_ = a.sqrt();
                let r = (1.0 + K * a).sqrt();
                let z = (r - 1.0) / (CC * sa_);
                let dz = K / (2.0 * r) / (CC * sa_) - z / (2.0 * a);
                let (h, dh) = irb_h(z);
                let rbeff = rbpr + 3.0 * rbpi * h;
                let gx = 1.0 / rbeff;
                let dg = -gx * gx * 3.0 * rbpi * dh * dz * da;
                (gx, dg * gpi, dg * gmu)
            } else {
                let gx = 1.0 / (rbpr + rbpi / qb);
                let dg = gx * gx * rbpi / (qb * qb);
                (gx, dg * dqbdve, dg * dqbdvc)
            };
            let vbb = x[nd[B]] - x[nd[BI]];
            let g = gx + dgxe * dbe + dgxc * dbc;
            let bias = [ty * vbb * dgxe, ty * vbb * dgxc];
            st.cur(
                B,
                BI,
                g * vbb,
                &[(B, BI, g), (BI, EI, bias[0]), (BI, CI, bias[1])],
            );
            self.rb_bias = bias;
        }

        // charges
        let fc = m.fc;
        let (mut qbe, mut capbe, mut geqcb) = (m.tf * cbe, m.tf * gbe, 0.0);
        if m.tf != 0.0 && vbe > 0.0 {
            let ovtf = if m.vtf != 0.0 {
                1.0 / (1.44 * m.vtf)
            } else {
                0.0
            };
            let xjtf = m.itf * area;
            let (mut argtf, mut arg2, mut arg3) = (0.0, 0.0, 0.0);
            if m.xtf != 0.0 {
                argtf = m.xtf;
                if ovtf != 0.0 {
                    argtf *= (vbc * ovtf).exp();
                }
                arg2 = argtf;
                if xjtf != 0.0 {
                    let tmp = cbe / (cbe + xjtf);
                    argtf *= tmp * tmp;
                    arg2 = argtf * (3.0 - tmp - tmp);
                }
                arg3 = cbe * argtf * ovtf;
            }
            let cbem = cbe * (1.0 + argtf) / qb;
            let gbem = (gbe * (1.0 + arg2) - cbem * dqbdve) / qb;
            geqcb = m.tf * (arg3 - cbem * dqbdvc) / qb;
            qbe = m.tf * cbem;
            capbe = m.tf * gbem;
        }
        let (qd, cd) = depl(vbe, tv.cje, tv.pe, m.mje, fc);
        qbe += qd;
        capbe += cd;
        let czbc = tv.cjc * m.xcjc;
        let czbx = tv.cjc - czbc;
        let (qd, cd) = depl(vbc, czbc, tv.pc, m.mjc, fc);
        let (qbc, capbc) = (m.tr * cbc + qd, m.tr * gbc + cd);
        let (qbx, capbx) = depl(vbx, czbx, tv.pc, m.mjc, fc);
        let (qsub, capsub) = if tv.cjs == 0.0 {
            (0.0, 0.0)
        } else if vsub < 0.0 {
            let arg = 1.0 - vsub / tv.ps;
            let sarg = (-m.mjs * arg.ln()).exp();
            (
                tv.ps * tv.cjs * (1.0 - arg * sarg) / (1.0 - m.mjs),
                tv.cjs * sarg,
            )
        } else {
            (
                vsub * tv.cjs * (1.0 + m.mjs * vsub / (2.0 * tv.ps)),
                tv.cjs * (1.0 + m.mjs * vsub / tv.ps),
            )
        };
        let q = qbe + capbe * dbe + geqcb * dbc;
        st.chg(BI, EI, ty * q, &[(BI, EI, capbe), (BI, CI, geqcb)]);
        st.chg(BI, CI, ty * (qbc + capbc * dbc), &[(BI, CI, capbc)]);
        st.chg(B, CI, ty * qbx, &[(B, CI, capbx)]);
        st.chg(sa, sk, ty * (qsub + capsub * dsub), &[(sa, sk, capsub)]);
    }

    fn ac_linearise(&self, jf: &mut [f64], _jq: &mut [f64]) {
        // SPICE's small-signal BJT: the base resistance is a linear resistor at its
        // bias-point value (ngspice bjtacld.c), so the load's dRB/dv terms come out again
        let [a, b] = self.rb_bias;
        let s = &self.slots;
        for (cp, cn, g) in [(BI, EI, a), (BI, CI, b)] {
            jf[s[B * NT + cp]] -= g;
            jf[s[B * NT + cn]] += g;
            jf[s[BI * NT + cp]] += g;
            jf[s[BI * NT + cn]] -= g;
        }
    }
}
