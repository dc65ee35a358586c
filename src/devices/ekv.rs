//! EKV-SC: a charge-based 28nm-class MOSFET compact model (netlist `level=28`).
//!
//! ngspice has no level 28; neurospice uses it for this model because the fitted
//! parameter set is the project's 28nm-class proxy (PTM 32nm LP, Zhao & Cao, IEEE TED
//! 53(11), 2006, see `models/cmos28.lib` and `docs/ekv.md`).
//!
//! # Drain current
//! All quantities below are magnitudes in the n-channel frame (a p-channel device has
//! every terminal voltage and every output negated), source-referenced with Vds >= 0.
//! For Vds < 0 source and drain are exchanged, which makes the model symmetric.
//!
//! ```text
//! Leff = L - dl,  Weff = W - 2 dw,  Ln = Leff / 100 nm,  UT = k T / q
//! VT0(L) = vt0 + dvt_l / Ln + tcv (T - Tnom) + dVT0(mismatch)
//! n0(L)  = n0 + dn_l / Ln,   sigma(L) = sig2 / Ln^2 + sig0,   lambda(L) = lam1 / Ln
//! mu(L)  = mu0 / (1 + lmu / Leff) * (T / Tnom)^bex * (1 + dbeta(mismatch)),  lc = lsat / Leff
//! n   = 1 + (n0(L) - 1) sqrt(phi / (phi + Vsb))
//! VT  = VT0(L) + gamma (sqrt(phi + Vsb) - sqrt(phi)) - sigma(L) Vds
//! vp  = (Vgs - VT) / n
//! sf  = ln(1 + exp(vp / 2UT)),   sr = ln(1 + exp((vp - Vds) / 2UT))
//! Ispec = 2 n mu Cox (Weff / Leff) UT^2,   Vdsat = 2 UT sf / (1 + lc sf) + 4 UT
//! Id = M Ispec (sf^2 - sr^2) / [(1 + lc (sf - sr)) (1 + theta UT (sf + sr))]
//!        * [1 + lambda 2 UT ln(1 + exp((Vds - Vdsat) / 2UT))]
//! ```
//!
//! # Charges
//! The intrinsic charges are the EKV 2.6 quasi-static charges (Ward-Dutton partition),
//! written in the normalised forward and reverse currents i_f = sf^2, i_r = sr^2:
//!
//! ```text
//! x_f = sqrt(1/4 + i_f),  x_r = sqrt(1/4 + i_r),   C = M Cox Weff Leff,  Q0 = C n0(L) UT
//! Q_D = -Q0 [4/15 (3x_r^3 + 6x_r^2 x_f + 4x_r x_f^2 + 2x_f^3) / (x_f + x_r)^2 - 1/2]
//! Q_S = -Q0 [4/15 (3x_f^3 + 6x_f^2 x_r + 4x_f x_r^2 + 2x_r^3) / (x_f + x_r)^2 - 1/2]
//! Q_G = -(Q_D + Q_S) / n0(L) + C [(n0(L) - 1)/n0(L) u - (2UT/n0(L)) ln(1 + exp(-u/2UT))]
//!       with u = Vgb - VFB, VFB = VT0(L) - phi - gamma sqrt(phi)
//! Q_B = -(Q_D + Q_S + Q_G)
//! ```
//!
//! The forward variable is the current's `vp`; the reverse one is the same expression
//! taken from the drain (`vp` with d and s exchanged), so the charges are symmetric in d
//! and s without a swap and smooth through Vds = 0. DIBL enters both through a smoothed
//! |Vds|. The gate term is the depletion charge linearised with slope (n0-1)/n0, which
//! turns into the accumulation charge C u for u << 0; with it Cgg -> C in strong
//! inversion and in accumulation. Overlap charges `cgso Weff (Vg-Vs)`, `cgdo Weff
//! (Vg-Vd)`, `cgbo Leff (Vg-Vb)` and the SPICE depletion charges of the drain-bulk and
//! source-bulk junctions are added on top. The junctions carry no DC current (a
//! reverse-biased junction leaks femtoamperes; the engine's gmin dominates that).
//!
//! Exact derivatives come from forward-mode dual numbers (module `dual`), so [`MosEval`]
//! carries d id / dv and dq / dv for the Newton loop. Nothing here allocates.

mod dual;

use super::params::{Given, ParamSpec, ParamTable, apply, param_table};
use crate::error::{Error, Result};
use dual::{D4, Scalar};

/// Netlist model level that selects this model (`.model nch nmos level=28 ...`).
pub const LEVEL: f64 = 28.0;

/// Boltzmann constant over elementary charge, exact in SI since 2019 \[V/K\].
pub const K_OVER_Q: f64 = 1.380649e-23 / 1.602176634e-19;

/// Offset between degrees Celsius and kelvin \[K\].
pub const CELSIUS_TO_KELVIN: f64 = 273.15;

/// Terminal index of the drain in [`MosEval`] arrays.
pub const D: usize = 0;
/// Terminal index of the gate in [`MosEval`] arrays.
pub const G: usize = 1;
/// Terminal index of the source in [`MosEval`] arrays.
pub const S: usize = 2;
/// Terminal index of the bulk in [`MosEval`] arrays.
pub const B: usize = 3;

/// Channel type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    /// n-channel (`nmos`).
    N,
    /// p-channel (`pmos`).
    P,
}

impl Polarity {
    /// +1 for n-channel, -1 for p-channel: the factor between terminal voltages and
    /// currents and the n-channel frame the equations are written in.
    pub fn sign(self) -> f64 {
        match self {
            Polarity::N => 1.0,
            Polarity::P => -1.0,
        }
    }
}

param_table! {
    /// Model-card parameters of an EKV-SC MOSFET, SI units except `tnom` (degrees C,
    /// the SPICE convention). Defaults are the PTM-32LP fit of `docs/ekv.md` (see
    /// [`PARAMS`] for units and meaning).
    pub struct EkvModel {
        [polarity: Polarity, "Channel type."]
        cox: num = 0.0215816; 0.0213152, "F/m^2", "Gate-oxide capacitance per unit area.";
        dw: num = 5e-9; 5e-9, "m", "Width reduction per side: Weff = W - 2 dw.";
        dl: num = 0.0; 0.0, "m", "Length reduction: Leff = L - dl.";
        vt0: num = 0.662947; 0.652691, "V", "Long-channel threshold voltage (magnitude).";
        dvt_l: num = -0.00965526; -0.00529022, "V", "Threshold roll-off: VT0(L) = vt0 + dvt_l / (Leff / 100 nm).";
        n0: num = 1.50735; 1.48377, "-", "Long-channel slope factor at Vsb = 0.";
        dn_l: num = -0.00880344; -0.00380169, "-", "Slope-factor length term: n0(L) = n0 + dn_l / (Leff / 100 nm).";
        sig2: num = 0.00938297; 0.0108806, "V/V", "DIBL coefficient scaling as (100 nm / Leff)^2.";
        sig0: num = 0.00119745; 0.00169274, "V/V", "Length-independent DIBL coefficient.";
        lam1: num = 0.0226822; 0.103778, "1/V", "Channel-length modulation at Leff = 100 nm, scaling as 1/Leff.";
        mu0: num = 0.0602748; 0.0269367, "m^2/(V*s)", "Low-field mobility of a long channel at tnom.";
        lmu: num = 2.47923e-8; 1.02464e-8, "m", "Mobility length scaling: mu(L) = mu0 / (1 + lmu / Leff).";
        theta: num = 12.2709; 17.706, "1/V", "Vertical-field mobility degradation (per UT of inversion).";
        lsat: num = 1.9278e-10; 6.02309e-23, "m", "Velocity saturation: lambda_c = lsat / Leff.";
        gamma: num = 0.538663; 0.505544, "V^0.5", "Body-effect coefficient.";
        phi: num = 1.69087; 1.80454, "V", "Surface potential in the body-effect term (2 phi_F plus offset).";
        tnom: num = 26.85; 26.85, "C", "Temperature at which the card holds; 26.85 C = 300.00 K, the UT = 25.852 mV of the fit.";
        tcv: num = -0.7e-3; -0.7e-3, "V/K", "Threshold temperature coefficient d|VT0|/dT (28nm HKMG: -0.5 .. -1 mV/K).";
        bex: num = -1.5; -1.5, "-", "Mobility temperature exponent: mu ~ (T / Tnom)^bex (phonon scattering).";
        cgso: num = 3.0e-10; 3.0e-10, "F/m", "Gate-source overlap and fringe capacitance per unit width.";
        cgdo: num = 3.0e-10; 3.0e-10, "F/m", "Gate-drain overlap and fringe capacitance per unit width.";
        cgbo: num = 2.56e-11; 2.56e-11, "F/m", "Gate-bulk overlap capacitance per unit length.";
        cj: num = 5.0e-4; 5.0e-4, "F/m^2", "Zero-bias bottom junction capacitance per unit area.";
        mj: num = 0.5; 0.5, "-", "Bottom junction grading coefficient (< 1).";
        pb: num = 1.0; 1.0, "V", "Junction built-in potential (bottom and sidewall).";
        cjsw: num = 5.0e-10; 5.0e-10, "F/m", "Zero-bias sidewall junction capacitance per unit perimeter.";
        mjsw: num = 0.33; 0.33, "-", "Sidewall junction grading coefficient (< 1).";
        fc: num = 0.5; 0.5, "-", "Forward-bias fraction of pb beyond which junction capacitance is linearised.";
        hdif: num = 6.0e-8; 6.0e-8, "m", "Source/drain diffusion length used when AD/AS/PD/PS are not given.";
        avt: num = 1.5e-9; 1.5e-9, "V*m", "Pelgrom threshold mismatch of a pair: sigma(dVT) = avt / sqrt(W L) (Pelgrom JSSC 1989).", mismatch "dvt0 ~ N(0, avt / sqrt(2 m W L)): vt0 + dvt0";
        abeta: num = 1.0e-8; 1.0e-8, "m", "Pelgrom current-factor mismatch of a pair: sigma(dbeta/beta) = abeta / sqrt(W L) (Kinget JSSC 2005).", mismatch "dbeta ~ N(0, abeta / sqrt(2 m W L)): mu0 (1 + dbeta)";
    }
}

/// Every parameter a level-28 card accepts (besides `level` itself).
pub const PARAMS: &[ParamSpec] = <EkvModel as ParamTable>::PARAMS;

impl EkvModel {
    /// The fitted 28nm-class proxy card for the given channel type.
    pub fn defaults(polarity: Polarity) -> EkvModel {
        match polarity {
            Polarity::N => EkvModel::table_defaults(polarity),
            Polarity::P => EkvModel::table_defaults_p(polarity),
        }
    }

    /// Value of the parameter called `name` (lowercase), if there is one.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.value(name)
    }

    /// Builds a model from a `.model` card's parameters (names lowercase, values SI).
    /// Unset parameters take the fitted defaults of `polarity`; `level`, if present,
    /// must be 28.
    pub fn from_card(polarity: Polarity, params: &[(String, f64)]) -> Result<EkvModel> {
        EkvModel::from_given(polarity, &Given::list(params))
    }

    /// [`EkvModel::from_card`] with the parameters as the netlist wrote them: an error
    /// points at the parameter it is about.
    pub fn from_given(polarity: Polarity, given: &[Given]) -> Result<EkvModel> {
        let mut model = EkvModel::defaults(polarity);
        for g in given.iter().filter(|g| g.name == "level") {
            if g.value != LEVEL {
                return Err(g.error(format!(
                    "EKV-SC MOSFET is level 28, the card says level={}",
                    g.value
                )));
            }
        }
        apply(
            &mut model,
            given,
            "model",
            "level-28 (EKV-SC) MOSFET",
            &["level"],
        )?;
        for g in given.iter().filter(|g| g.name != "level") {
            if !g.value.is_finite() {
                return Err(g.error(format!(
                    "model parameter '{}' must be a finite number, got {}",
                    g.name, g.value
                )));
            }
        }
        model.check().map_err(|(name, msg)| {
            // at the parameter when the card gave it, else at the card
            match given.iter().rfind(|g| g.name == name) {
                Some(g) => g.error(msg),
                None => Error::netlist(msg, None),
            }
        })?;
        Ok(model)
    }

    /// Checks the ranges the equations need (positive oxide capacitance, grading
    /// coefficients below 1, ...).
    pub fn validate(&self) -> Result<()> {
        self.check().map_err(|(_, msg)| Error::netlist(msg, None))
    }

    /// The first parameter out of range, and why.
    fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        let positive = [
            ("cox", self.cox),
            ("mu0", self.mu0),
            ("phi", self.phi),
            ("pb", self.pb),
            ("n0", self.n0),
        ];
        for (name, v) in positive {
            if v.is_nan() || v <= 0.0 {
                return Err((
                    name,
                    format!("model parameter '{name}' must be > 0, got {v}"),
                ));
            }
        }
        let non_negative = [
            ("gamma", self.gamma),
            ("theta", self.theta),
            ("lsat", self.lsat),
            ("lmu", self.lmu),
            ("cgso", self.cgso),
            ("cgdo", self.cgdo),
            ("cgbo", self.cgbo),
            ("cj", self.cj),
            ("cjsw", self.cjsw),
            ("hdif", self.hdif),
            ("avt", self.avt),
            ("abeta", self.abeta),
        ];
        for (name, v) in non_negative {
            if v.is_nan() || v < 0.0 {
                return Err((
                    name,
                    format!("model parameter '{name}' must be >= 0, got {v}"),
                ));
            }
        }
        let unit_interval = [("mj", self.mj), ("mjsw", self.mjsw), ("fc", self.fc)];
        for (name, v) in unit_interval {
            if !(0.0..1.0).contains(&v) {
                return Err((
                    name,
                    format!("model parameter '{name}' must be in [0, 1), got {v}"),
                ));
            }
        }
        if self.tnom + CELSIUS_TO_KELVIN <= 0.0 {
            return Err((
                "tnom",
                format!(
                    "model parameter 'tnom' must be above absolute zero, got {} C",
                    self.tnom
                ),
            ));
        }
        Ok(())
    }

    /// Junction area \[m^2\] and perimeter \[m\] of a drain or source of drawn width `w` \[m\]
    /// when the instance gives no AD/AS/PD/PS: a `hdif`-long diffusion on both sides of
    /// the contact, `area = 2 hdif w`, `perimeter = 2 w + 4 hdif` (the BSIM4 default
    /// geometry with the gate edge included).
    pub fn default_junction(&self, w: f64) -> (f64, f64) {
        (2.0 * self.hdif * w, 2.0 * w + 4.0 * self.hdif)
    }

    /// Pelgrom standard deviations of one device's threshold shift \[V\] and relative
    /// current-factor shift \[-\], for drawn `w`, `l` \[m\] and multiplier `m`:
    /// sigma = A / sqrt(2 m W L). `avt`, `abeta` describe the difference of a matched
    /// pair, hence the factor 2 for a single device (Pelgrom, Duinmaijer, Welbers, IEEE
    /// JSSC 24(5), 1989; Kinget, IEEE JSSC 40(6), 2005).
    pub fn pelgrom_sigmas(&self, w: f64, l: f64, m: f64) -> (f64, f64) {
        let root = (2.0 * m * w * l).sqrt();
        (self.avt / root, self.abeta / root)
    }

    /// Absolute nominal temperature \[K\].
    pub fn tnom_kelvin(&self) -> f64 {
        self.tnom + CELSIUS_TO_KELVIN
    }
}

/// Geometry, operating temperature and mismatch of one MOSFET instance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MosGeom {
    /// Drawn channel width \[m\].
    pub w: f64,
    /// Drawn channel length \[m\].
    pub l: f64,
    /// Number of parallel devices (SPICE `M`) \[-\].
    pub m: f64,
    /// Drain junction area \[m^2\].
    pub ad: f64,
    /// Source junction area \[m^2\].
    pub as_: f64,
    /// Drain junction perimeter \[m\].
    pub pd: f64,
    /// Source junction perimeter \[m\].
    pub ps: f64,
    /// Threshold shift from mismatch, added to |VT0| \[V\].
    pub dvt0: f64,
    /// Relative current-factor shift from mismatch: mu0 -> mu0 (1 + dbeta_rel) \[-\].
    pub dbeta_rel: f64,
    /// Device temperature \[K\].
    pub temp_k: f64,
}

impl MosGeom {
    /// A single device of drawn `w` x `l` \[m\] at the model's nominal temperature, no
    /// mismatch, junctions from [`EkvModel::default_junction`].
    pub fn new(model: &EkvModel, w: f64, l: f64) -> MosGeom {
        let (area, perimeter) = model.default_junction(w);
        MosGeom {
            w,
            l,
            m: 1.0,
            ad: area,
            as_: area,
            pd: perimeter,
            ps: perimeter,
            dvt0: 0.0,
            dbeta_rel: 0.0,
            temp_k: model.tnom_kelvin(),
        }
    }
}

/// Terminal current, charges and their exact derivatives at one bias point.
/// Index order of every array is (drain, gate, source, bulk) = ([`D`], [`G`], [`S`], [`B`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MosEval {
    /// Current flowing into the drain terminal \[A\]; the source carries -id.
    pub id: f64,
    /// d id / d v_j for terminal voltages v_j \[S\].
    pub did: [f64; 4],
    /// Charge on each terminal \[C\]; they sum to zero.
    pub q: [f64; 4],
    /// dq\[i\]\[j\] = d q_i / d v_j \[F\].
    pub dq: [[f64; 4]; 4],
}

impl MosEval {
    /// Transconductance d id / d vg \[S\].
    pub fn gm(&self) -> f64 {
        self.did[G]
    }
    /// Output conductance d id / d vd \[S\].
    pub fn gds(&self) -> f64 {
        self.did[D]
    }
    /// Body transconductance d id / d vb \[S\].
    pub fn gmbs(&self) -> f64 {
        self.did[B]
    }
}

/// Below this |phi + Vsb| \[V\] the body-effect square roots are floored smoothly, so a
/// strongly forward-biased body during Newton iterations cannot produce NaN.
const PSI_MIN: f64 = 0.1;
/// Width of that floor \[V\]; for phi + Vsb >= 0.9 V the floor is exactly inactive, at
/// 0.7 V it moves phi + Vsb by 3e-15 V.
const PSI_SMOOTH: f64 = 0.02;

/// An instance with every geometry- and temperature-dependent quantity precomputed:
/// build it once per device (and per Monte Carlo sample), evaluate it per Newton step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EkvInstance {
    sign: f64,
    ut: f64,
    vt0: f64,
    n0: f64,
    sigma: f64,
    lambda: f64,
    lc: f64,
    theta_ut: f64,
    gamma: f64,
    phi: f64,
    sqrt_phi: f64,
    /// Ispec / n including the multiplier \[A\].
    beta_ut2: f64,
    /// M Cox Weff Leff \[F\].
    c_ox: f64,
    vfb: f64,
    cgs_ov: f64,
    cgd_ov: f64,
    cgb_ov: f64,
    cj_d: f64,
    cjsw_d: f64,
    cj_s: f64,
    cjsw_s: f64,
    mj: f64,
    mjsw: f64,
    pb: f64,
    fc: f64,
}

impl EkvInstance {
    /// Precomputes an instance; fails on geometry the equations cannot take
    /// (non-positive effective width or length, negative junction sizes, ...).
    pub fn new(model: &EkvModel, g: &MosGeom) -> Result<EkvInstance> {
        let leff = g.l - model.dl;
        let weff = g.w - 2.0 * model.dw;
        if leff.is_nan() || leff <= 0.0 {
            return Err(Error::netlist(
                format!(
                    "MOSFET L = {} m leaves no channel (Leff = L - dl = {leff} m)",
                    g.l
                ),
                None,
            ));
        }
        if weff.is_nan() || weff <= 0.0 {
            return Err(Error::netlist(
                format!(
                    "MOSFET W = {} m leaves no channel (Weff = W - 2 dw = {weff} m)",
                    g.w
                ),
                None,
            ));
        }
        if g.m.is_nan() || g.m <= 0.0 {
            return Err(Error::netlist(
                format!("MOSFET multiplier M must be > 0, got {}", g.m),
                None,
            ));
        }
        for (name, v) in [("AD", g.ad), ("AS", g.as_), ("PD", g.pd), ("PS", g.ps)] {
            if v.is_nan() || v < 0.0 {
                return Err(Error::netlist(
                    format!("MOSFET {name} must be >= 0, got {v}"),
                    None,
                ));
            }
        }
        if g.temp_k.is_nan() || g.temp_k <= 0.0 {
            return Err(Error::netlist(
                format!("device temperature must be above 0 K, got {} K", g.temp_k),
                None,
            ));
        }
        if !g.dvt0.is_finite() || g.dbeta_rel.is_nan() || g.dbeta_rel <= -1.0 {
            return Err(Error::netlist(
                format!(
                    "mismatch sample out of range: dvt0 = {} V, dbeta_rel = {}",
                    g.dvt0, g.dbeta_rel
                ),
                None,
            ));
        }
        let tnom = model.tnom_kelvin();
        let ln = leff / 100e-9;
        let ut = K_OVER_Q * g.temp_k;
        let vt0 = model.vt0 + model.dvt_l / ln + model.tcv * (g.temp_k - tnom) + g.dvt0;
        let n0 = model.n0 + model.dn_l / ln;
        if n0 <= 1.0 {
            return Err(Error::netlist(
                format!(
                    "slope factor n0(L) = n0 + dn_l / Ln = {n0} must be > 1 at L = {} m",
                    g.l
                ),
                None,
            ));
        }
        let mu = model.mu0 / (1.0 + model.lmu / leff)
            * (g.temp_k / tnom).powf(model.bex)
            * (1.0 + g.dbeta_rel);
        let sqrt_phi = model.phi.sqrt();
        Ok(EkvInstance {
            sign: model.polarity.sign(),
            ut,
            vt0,
            n0,
            sigma: model.sig2 / (ln * ln) + model.sig0,
            lambda: model.lam1 / ln,
            lc: model.lsat / leff,
            theta_ut: model.theta * ut,
            gamma: model.gamma,
            phi: model.phi,
            sqrt_phi,
            beta_ut2: g.m * 2.0 * mu * model.cox * weff / leff * ut * ut,
            c_ox: g.m * model.cox * weff * leff,
            vfb: vt0 - model.phi - model.gamma * sqrt_phi,
            cgs_ov: g.m * model.cgso * weff,
            cgd_ov: g.m * model.cgdo * weff,
            cgb_ov: g.m * model.cgbo * leff,
            cj_d: g.m * model.cj * g.ad,
            cjsw_d: g.m * model.cjsw * g.pd,
            cj_s: g.m * model.cj * g.as_,
            cjsw_s: g.m * model.cjsw * g.ps,
            mj: model.mj,
            mjsw: model.mjsw,
            pb: model.pb,
            fc: model.fc,
        })
    }

    /// Thermal voltage kT/q at the device temperature \[V\].
    pub fn ut(&self) -> f64 {
        self.ut
    }

    /// Threshold |VT0(L)| at the device temperature, mismatch included \[V\].
    pub fn vt0(&self) -> f64 {
        self.vt0
    }

    /// sqrt(phi + vsb), floored smoothly at PSI_MIN.
    #[inline]
    fn sqrt_psi<T: Scalar>(&self, vsb: T) -> T {
        let psi = ((vsb + (self.phi - PSI_MIN)) / PSI_SMOOTH).softplus() * PSI_SMOOTH + PSI_MIN;
        psi.sqrt()
    }

    /// Slope factor n and source-referenced pinch-off voltage vp for a reference end
    /// with body bias `vxb` and a DIBL drain-source voltage `vds_dibl`.
    #[inline]
    fn pinch_off<T: Scalar>(&self, vgx: T, vxb: T, vds_dibl: T) -> (T, T) {
        let sq = self.sqrt_psi(vxb);
        let n = sq.recip() * (self.sqrt_phi * (self.n0 - 1.0)) + 1.0;
        let vt = (sq - self.sqrt_phi) * self.gamma + self.vt0 - vds_dibl * self.sigma;
        (n, (vgx - vt) / n)
    }

    /// Drain current of the n-frame device for vds >= 0 \[A\].
    #[inline]
    fn channel_current<T: Scalar>(&self, vgs: T, vds: T, vsb: T) -> T {
        let (n, vp) = self.pinch_off(vgs, vsb, vds);
        let two_ut = 2.0 * self.ut;
        let sf = (vp / two_ut).softplus();
        let sr = ((vp - vds) / two_ut).softplus();
        let vdsat = sf * two_ut / (sf * self.lc + 1.0) + 4.0 * self.ut;
        let clm = ((vds - vdsat) / two_ut).softplus() * (self.lambda * two_ut) + 1.0;
        n * self.beta_ut2 * (sf * sf - sr * sr)
            / (((sf - sr) * self.lc + 1.0) * ((sf + sr) * self.theta_ut + 1.0))
            * clm
    }

    /// Current into the drain for terminal voltages in the n-frame, any sign of Vds.
    #[inline]
    fn frame_current<T: Scalar>(&self, vd: T, vg: T, vs: T, vb: T) -> T {
        if vd.val() >= vs.val() {
            self.channel_current(vg - vs, vd - vs, vs - vb)
        } else {
            -self.channel_current(vg - vd, vs - vd, vd - vb)
        }
    }

    /// Drain-terminal current \[A\] for real terminal voltages \[V\], without derivatives.
    pub fn current(&self, vd: f64, vg: f64, vs: f64, vb: f64) -> f64 {
        let k = self.sign;
        k * self.frame_current(k * vd, k * vg, k * vs, k * vb)
    }

    /// Current, charges and all their derivatives at terminal voltages \[V\].
    pub fn eval(&self, vd: f64, vg: f64, vs: f64, vb: f64) -> MosEval {
        let k = self.sign;
        // Seeding with k makes every partial a derivative with respect to the real
        // terminal voltage, and the final multiplication by k maps values back.
        let d = D4::var(k * vd, D, k);
        let g = D4::var(k * vg, G, k);
        let s = D4::var(k * vs, S, k);
        let b = D4::var(k * vb, B, k);
        let id = self.frame_current(d, g, s, b) * k;
        let q = self.frame_charges(d, g, s, b);
        let mut out = MosEval {
            id: id.v,
            did: id.d,
            q: [0.0; 4],
            dq: [[0.0; 4]; 4],
        };
        for (i, qi) in q.iter().enumerate() {
            let qi = *qi * k;
            out.q[i] = qi.v;
            out.dq[i] = qi.d;
        }
        out
    }

    /// Terminal charges (d, g, s, b) in the n-frame.
    #[inline]
    fn frame_charges(&self, vd: D4, vg: D4, vs: D4, vb: D4) -> [D4; 4] {
        let ut = self.ut;
        let two_ut = 2.0 * ut;
        // DIBL acts on both ends through |Vds|, smoothed over ~UT so the capacitances stay
        // continuous through Vds = 0.
        let vds = vd - vs;
        let vds_abs = (vds * vds + ut * ut).sqrt() - ut;
        let (_, vf) = self.pinch_off(vg - vs, vs - vb, vds_abs);
        let (_, vr) = self.pinch_off(vg - vd, vd - vb, vds_abs);
        let sf = (vf / two_ut).softplus();
        let sr = (vr / two_ut).softplus();
        let xf = (sf * sf + 0.25).sqrt();
        let xr = (sr * sr + 0.25).sqrt();
        let (xf2, xr2) = (xf * xf, xr * xr);
        let sum = xf + xr;
        let den = sum * sum;
        let q0 = self.c_ox * self.n0 * ut;
        let four_15 = 4.0 / 15.0;
        let qd_int = -(((xr2 * xr * 3.0 + xr2 * xf * 6.0 + xr * xf2 * 4.0 + xf2 * xf * 2.0) / den)
            * four_15
            - 0.5)
            * q0;
        let qs_int = -(((xf2 * xf * 3.0 + xf2 * xr * 6.0 + xf * xr2 * 4.0 + xr2 * xr * 2.0) / den)
            * four_15
            - 0.5)
            * q0;
        let u = vg - vb - self.vfb;
        let accumulation = (-u / two_ut).softplus() * (-two_ut);
        let qg_int = -(qd_int + qs_int) / self.n0
            + (u * ((self.n0 - 1.0) / self.n0) + accumulation / self.n0) * self.c_ox;
        let qb_int = -(qd_int + qs_int + qg_int);

        let q_gs = (vg - vs) * self.cgs_ov;
        let q_gd = (vg - vd) * self.cgd_ov;
        let q_gb = (vg - vb) * self.cgb_ov;
        let q_bd = self.junction_charge(vb - vd, self.cj_d, self.cjsw_d);
        let q_bs = self.junction_charge(vb - vs, self.cj_s, self.cjsw_s);
        [
            qd_int - q_gd - q_bd,
            qg_int + q_gs + q_gd + q_gb,
            qs_int - q_gs - q_bs,
            qb_int - q_gb + q_bd + q_bs,
        ]
    }

    /// Depletion charge of a bulk-diffusion junction at forward bias `v` \[V\] (SPICE
    /// form: C = C0 / (1 - v/pb)^m, linearised beyond fc pb).
    #[inline]
    fn junction_charge(&self, v: D4, c_area: f64, c_perim: f64) -> D4 {
        let mut q = D4::cst(0.0);
        for (c0, m) in [(c_area, self.mj), (c_perim, self.mjsw)] {
            if c0 == 0.0 {
                continue;
            }
            let pb = self.pb;
            let v_lin = self.fc * pb;
            let part = if v.v < v_lin {
                (-((-v / pb + 1.0).powf(1.0 - m)) + 1.0) * (pb / (1.0 - m))
            } else {
                let f1 = pb / (1.0 - m) * (1.0 - (1.0 - self.fc).powf(1.0 - m));
                let f2 = (1.0 - self.fc).powf(1.0 + m);
                let f3 = 1.0 - self.fc * (1.0 + m);
                ((v - v_lin) * f3 + (v * v - v_lin * v_lin) * (m / (2.0 * pb))) / f2 + f1
            };
            q = q + part * c0;
        }
        q
    }
}

/// Current, charges and derivatives of one device at terminal voltages \[V\]; a
/// convenience that precomputes the instance on every call. The engine should build an
/// [`EkvInstance`] once and call [`EkvInstance::eval`]. Geometry the model rejects
/// ([`EkvInstance::new`]) gives NaN everywhere.
pub fn eval(model: &EkvModel, g: &MosGeom, vd: f64, vg: f64, vs: f64, vb: f64) -> MosEval {
    match EkvInstance::new(model, g) {
        Ok(inst) => inst.eval(vd, vg, vs, vb),
        Err(_) => MosEval {
            id: f64::NAN,
            did: [f64::NAN; 4],
            q: [f64::NAN; 4],
            dq: [[f64::NAN; 4]; 4],
        },
    }
}

/// Drain current magnitude \[A\] in the README's form: n-frame magnitudes |Vgs|, |Vds|,
/// |Vsb| \[V\] (for a p-channel card: Vsg, Vsd, Vbs), drawn `w`, `l` \[m\], at the model's
/// nominal temperature, single device, no mismatch. Vds < 0 exchanges source and drain.
/// Geometry the model rejects gives NaN.
pub fn ids(model: &EkvModel, w: f64, l: f64, vgs: f64, vds: f64, vsb: f64) -> f64 {
    match EkvInstance::new(model, &MosGeom::new(model, w, l)) {
        Ok(inst) => inst.frame_current(vds, vgs, 0.0, -vsb),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Newton iterates can be far outside the supply range; the model must stay finite
    /// there instead of poisoning the matrix with NaN.
    #[test]
    fn finite_for_wild_voltages() {
        for pol in [Polarity::N, Polarity::P] {
            let model = EkvModel::defaults(pol);
            let inst = EkvInstance::new(&model, &MosGeom::new(&model, 1e-6, 30e-9)).unwrap();
            let vs = [-20.0, -3.0, -0.7, 0.0, 0.4, 1.0, 5.0, 20.0];
            for &vd in &vs {
                for &vg in &vs {
                    for &vsrc in &vs {
                        for &vb in &vs {
                            let e = inst.eval(vd, vg, vsrc, vb);
                            let all = std::iter::once(e.id)
                                .chain(e.did)
                                .chain(e.q)
                                .chain(e.dq.into_iter().flatten());
                            for x in all {
                                assert!(x.is_finite(), "{pol:?} {vd} {vg} {vsrc} {vb}: {e:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// The smooth floor on phi + Vsb leaves the README equations untouched wherever the
    /// body is not forward-biased beyond phi - 0.9 V.
    #[test]
    fn body_floor_is_inactive_in_normal_range() {
        let model = EkvModel::defaults(Polarity::N);
        let inst = EkvInstance::new(&model, &MosGeom::new(&model, 1e-6, 1e-6)).unwrap();
        for vsb in [-0.75, -0.5, 0.0, 0.4, 1.0] {
            let exact = (model.phi + vsb).sqrt();
            assert!((inst.sqrt_psi(vsb) - exact).abs() <= 4.0 * f64::EPSILON * exact);
        }
    }
}
