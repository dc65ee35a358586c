//! The BSIM4 parameter tables: every model-card and instance parameter ngspice's BSIM4.5
//! (`level=14`/`54`, `version=4.5`) accepts, declared once with unit, default and a
//! one-line doc (the shape of `ekv_params!`: name, unit, default, doc).
//!
//! Binnable parameters are declared with their three binning variants; the effective value
//! of such a parameter for an instance of effective length and width Leff, Weff is
//!
//! ```text
//! P = P0 + lP / Leff + wP / Weff + pP / (Leff Weff)          (binunit != 1, metres)
//! P = P0 + lP um / Leff + wP um / Weff + pP um^2 / (Leff Weff)  (binunit = 1, microns)
//! ```
//!
//! A default of NaN means the default is derived from other parameters or from the
//! channel type; the doc line says how ([`Card::resolve`] computes it). Parameters that only
//! feed analyses neurospice does not run (noise) or ngspice's safe-operating-area warnings
//! are accepted and stored without effect, as ngspice accepts them; switches that select a
//! sub-model neurospice does not implement are refused by [`Card::from_params`] with an
//! error naming the parameter and its value.

use crate::error::{Error, Loc, Result};

/// Channel type (shared with the EKV model; BSIM4's `type` is its sign).
pub use crate::devices::ekv::Polarity;

pub use crate::devices::params::ParamSpec;

/// Declares the model parameters once: the [`Card`] fields, the binned [`Binned`] set, the
/// [`PARAMS`] table and the name lookup are generated from the same lists. A binned entry
/// also declares its three binning variants `l<name>`, `w<name>`, `p<name>`.
macro_rules! bsim4_params {
    (
        binned { $( $b:ident $(| $ba:ident)?, $bu:literal, $bd:expr, $bdoc:literal; )* }
        plain { $( $n:ident, $u:literal, $d:expr, $doc:literal; )* }
    ) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
        #[derive(Clone, Copy, Debug)]
        enum Bx { $( $b, )* End }
        #[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
        #[derive(Clone, Copy, Debug)]
        enum Px { $( $n, )* End }

        /// Number of binnable parameters.
        const N_BINNED: usize = Bx::End as usize;
        /// Number of model parameters (binning variants included).
        pub const N_PARAMS: usize = 4 * N_BINNED + Px::End as usize;
        const GIVEN_WORDS: usize = N_PARAMS.div_ceil(64);

        /// Every model-card parameter a BSIM4 card accepts (besides `level`, `nmos`,
        /// `pmos`): each binnable parameter followed by its three binning variants, then the
        /// others.
        pub const PARAMS: &[ParamSpec] = &[
            $(
                ParamSpec { name: stringify!($b), aliases: &[$(stringify!($ba))?], unit: $bu,
                    default_n: $bd, default_p: $bd, doc: $bdoc, mismatch: None },
                ParamSpec { name: concat!("l", stringify!($b)), aliases: &[$(concat!("l", stringify!($ba)))?],
                    unit: concat!($bu, "*m"), default_n: 0.0, default_p: 0.0,
                    doc: concat!("Length dependence of ", stringify!($b), " (binning, see the module doc)."),
                    mismatch: None },
                ParamSpec { name: concat!("w", stringify!($b)), aliases: &[$(concat!("w", stringify!($ba)))?],
                    unit: concat!($bu, "*m"), default_n: 0.0, default_p: 0.0,
                    doc: concat!("Width dependence of ", stringify!($b), " (binning, see the module doc)."),
                    mismatch: None },
                ParamSpec { name: concat!("p", stringify!($b)), aliases: &[$(concat!("p", stringify!($ba)))?],
                    unit: concat!($bu, "*m^2"), default_n: 0.0, default_p: 0.0,
                    doc: concat!("Length-width cross term of ", stringify!($b), " (binning, see the module doc)."),
                    mismatch: None },
            )*
            $( ParamSpec { name: stringify!($n), aliases: &[], unit: $u, default_n: $d, default_p: $d,
                doc: $doc, mismatch: None }, )*
        ];

        const BINNED_NAMES: [&str; N_BINNED] = [ $( stringify!($b), )* ];

        /// A BSIM4 model card: every parameter's value (given or default) and which were given.
        /// Values are SI except `tnom` (degrees C, the SPICE convention) and the dopings
        /// (cm^-3, BSIM4's convention).
        #[derive(Clone, Debug, PartialEq)]
        pub struct Card {
            /// Channel type.
            pub polarity: Polarity,
            $( #[doc = $bdoc] pub $b: f64, )*
            $( #[doc = $doc] pub $n: f64, )*
            /// Binning variants (l, w, p) of each binnable parameter, in table order.
            bin_lwp: [[f64; 3]; N_BINNED],
            given: [u64; GIVEN_WORDS],
        }

        /// The binnable parameters of one instance size: `P0 + lP/Leff + wP/Weff + pP/(Leff Weff)`.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct Binned {
            $( #[doc = $bdoc] pub $b: f64, )*
        }

        impl Card {
            /// A card with every parameter at its table default (derived defaults still NaN;
            /// [`Card::resolve`] fills them).
            fn table_defaults(polarity: Polarity) -> Card {
                Card {
                    polarity,
                    $( $b: $bd, )*
                    $( $n: $d, )*
                    bin_lwp: [[0.0; 3]; N_BINNED],
                    given: [0; GIVEN_WORDS],
                }
            }

            /// The value slot and [`PARAMS`] index of the parameter called `name`
            /// (lowercase, aliases already mapped).
            fn slot(&mut self, name: &str) -> Option<(usize, &mut f64)> {
                match name {
                    $( stringify!($b) => return Some((4 * Bx::$b as usize, &mut self.$b)), )*
                    $( stringify!($n) => return Some((4 * N_BINNED + Px::$n as usize, &mut self.$n)), )*
                    _ => {}
                }
                let (variant, base) = match name.as_bytes().first() {
                    Some(b'l') => (0, &name[1..]),
                    Some(b'w') => (1, &name[1..]),
                    Some(b'p') => (2, &name[1..]),
                    _ => return None,
                };
                let k = BINNED_NAMES.iter().position(|b| *b == base)?;
                Some((4 * k + 1 + variant, &mut self.bin_lwp[k][variant]))
            }

            /// Value of the parameter called `name` (lowercase), if there is one.
            pub fn get(&self, name: &str) -> Option<f64> {
                let mut copy = self.clone();
                copy.slot(canonical(name)).map(|(_, v)| *v)
            }

            /// The binned parameters for inverse effective sizes `il = 1/Leff`, `iw = 1/Weff`,
            /// `ilw = 1/(Leff Weff)` (already scaled for `binunit`).
            pub fn bin(&self, il: f64, iw: f64, ilw: f64) -> Binned {
                let v = |k: usize, p: f64| {
                    let [l, w, x] = self.bin_lwp[k];
                    p + l * il + w * iw + x * ilw
                };
                Binned { $( $b: v(Bx::$b as usize, self.$b), )* }
            }
        }
    };
}

/// The table name of `name` (lowercase): itself, or the parameter it is an alias of
/// (ngspice's `vtho` for `vth0`, with its binning variants).
fn canonical(name: &str) -> &str {
    PARAMS
        .iter()
        .find(|p| p.aliases.contains(&name))
        .map_or(name, |p| p.name)
}

bsim4_params! {
    binned {
        cdsc, "F/m^2", 0.00024, "Source/drain-to-channel coupling capacitance (subthreshold swing).";
        cdscb, "F/(V*m^2)", 0.0, "Body-bias dependence of cdsc.";
        cdscd, "F/(V*m^2)", 0.0, "Drain-bias dependence of cdsc.";
        cit, "F/m^2", 0.0, "Interface state capacitance.";
        nfactor, "-", 1.0, "Subthreshold swing factor.";
        xj, "m", 1.5e-07, "Source/drain junction depth.";
        vsat, "m/s", 80000.0, "Saturation velocity at tnom.";
        at, "m/s", 33000.0, "Temperature coefficient of vsat.";
        a0, "-", 1.0, "Non-uniform depletion width effect coefficient.";
        ags, "1/V", 0.0, "Gate-bias coefficient of Abulk.";
        a1, "1/V", 0.0, "Non-saturation effect coefficient.";
        a2, "-", 1.0, "Non-saturation effect coefficient.";
        keta, "1/V", -0.047, "Body-bias coefficient of non-uniform depletion width effect.";
        nsub, "cm^-3", 6e+16, "Substrate doping concentration.";
        ndep, "cm^-3", 1.7e+17, "Channel doping concentration at the depletion edge.";
        nsd, "cm^-3", 1e+20, "S/D doping concentration.";
        phin, "V", 0.0, "Adjusting parameter for surface potential due to non-uniform vertical doping.";
        ngate, "cm^-3", 0.0, "Poly-gate doping concentration.";
        gamma1, "V^0.5", 0.0, "Vth body coefficient.";
        gamma2, "V^0.5", 0.0, "Vth body coefficient.";
        vbx, "V", 0.0, "Vth transition body Voltage.";
        vbm, "V", -3.0, "Maximum body voltage.";
        xt, "m", 1.55e-07, "Doping depth.";
        k1, "V^0.5", f64::NAN, "First-order body-effect coefficient. Default: from gamma1, gamma2, vbx, vbm (or 0.53 when only k2 is given).";
        kt1, "V", -0.11, "Temperature coefficient of Vth.";
        kt1l, "V*m", 0.0, "Temperature coefficient of Vth.";
        kt2, "-", 0.022, "Body-coefficient of kt1.";
        k2, "-", f64::NAN, "Second-order body-effect coefficient. Default: from gamma1, gamma2, vbx, vbm (or -0.0186 when only k1 is given).";
        k3, "-", 80.0, "Narrow width effect coefficient.";
        k3b, "1/V", 0.0, "Body effect coefficient of k3.";
        w0, "m", 2.5e-06, "Narrow width effect parameter.";
        dvtp0, "m", 0.0, "First parameter for Vth shift due to pocket.";
        dvtp1, "1/V", 0.0, "Second parameter for Vth shift due to pocket.";
        lpe0, "m", 1.74e-07, "Equivalent length of pocket region at zero bias.";
        lpeb, "m", 0.0, "Equivalent length of pocket region accounting for body bias.";
        dvt0, "-", 2.2, "Short-channel effect coefficient 0.";
        dvt1, "-", 0.53, "Short-channel effect coefficient 1.";
        dvt2, "1/V", -0.032, "Short-channel effect coefficient 2 (body bias).";
        dvt0w, "-", 0.0, "Narrow-width effect coefficient 0.";
        dvt1w, "1/m", 5300000.0, "Narrow-width effect coefficient 1.";
        dvt2w, "1/V", -0.032, "Narrow-width effect coefficient 2 (body bias).";
        drout, "-", 0.56, "DIBL coefficient of output resistance.";
        dsub, "-", f64::NAN, "DIBL coefficient exponent in subthreshold. Default: drout.";
        vth0 | vtho, "V", f64::NAN, "Long-channel zero-bias threshold voltage (negative for p-channel). Default: 0.7 V (n), -0.7 V (p), or from vfb when vfb is given.";
        ua, "m/V", f64::NAN, "First-order mobility degradation coefficient. Default: 1e-9 m/V (mobmod 0, 1), 1e-15 (mobmod 2).";
        ua1, "m/V", 1e-09, "Temperature coefficient of ua.";
        ub, "(m/V)^2", 1e-19, "Quadratic gate dependence of mobility.";
        ub1, "(m/V)^2", -1e-18, "Temperature coefficient of ub.";
        uc, "m/V^2", f64::NAN, "Body-effect mobility degradation coefficient. Default: -0.0465 1/V (mobmod 1), -0.0465e-9 m/V^2 (otherwise).";
        uc1, "m/V^2", f64::NAN, "Temperature coefficient of uc. Default: -0.056 1/V (mobmod 1), -0.056e-9 m/V^2 (otherwise).";
        ud, "1/m^2", 100000000000000.0, "Coulomb scattering factor of mobility.";
        ud1, "-", 0.0, "Temperature coefficient of ud.";
        up, "-", 0.0, "Channel length linear factor of mobility.";
        lp, "m", 1e-08, "Channel length exponential factor of mobility.";
        u0, "m^2/(V*s)", f64::NAN, "Low-field mobility at tnom (values above 1 are read as cm^2/(V*s)). Default: 0.067 (n), 0.025 (p).";
        eu, "-", f64::NAN, "Exponent of mobmod 2. Default: 1.67 (n), 1.0 (p).";
        ute, "-", -1.5, "Temperature coefficient of mobility.";
        voff, "V", -0.08, "Threshold voltage offset.";
        minv, "-", 0.0, "Moderate-inversion fitting parameter of Vgsteff.";
        delta, "-", 0.01, "Effective Vds parameter.";
        rdsw, "ohm*um^wr", 200.0, "Source-drain resistance per width.";
        rsw, "ohm*um^wr", 100.0, "Source resistance per width.";
        rdw, "ohm*um^wr", 100.0, "Drain resistance per width.";
        prwg, "1/V", 1.0, "Gate-bias effect on parasitic resistance.";
        prwb, "V^-0.5", 0.0, "Body-effect on parasitic resistance.";
        prt, "ohm*um", 0.0, "Temperature coefficient of parasitic resistance.";
        eta0, "-", 0.08, "Subthreshold region DIBL coefficient.";
        etab, "1/V", -0.07, "Subthreshold region DIBL coefficient.";
        pclm, "-", 1.3, "Channel-length modulation coefficient.";
        pdiblc1, "-", 0.39, "Drain-induced barrier lowering coefficient.";
        pdiblc2, "-", 0.0086, "Drain-induced barrier lowering coefficient.";
        pdiblcb, "1/V", 0.0, "Body-effect on drain-induced barrier lowering.";
        fprout, "-", 0.0, "Rout degradation coefficient for pocket devices.";
        pdits, "-", 0.0, "Coefficient for drain-induced Vth shifts.";
        pditsd, "1/V", 0.0, "Vds dependence of drain-induced Vth shifts.";
        pscbe1, "V/m", 424000000.0, "Substrate current body-effect coefficient.";
        pscbe2, "m/V", 1e-05, "Substrate current body-effect coefficient.";
        pvag, "-", 0.0, "Gate dependence of output resistance parameter.";
        vfbcv, "V", -1.0, "Flat-band voltage of the capmod 0 charge model.";
        vfb, "V", f64::NAN, "Flat-band voltage. Default: from vth0 when vth0 is given, else -1 V.";
        acde, "-", 1.0, "Exponential coefficient for finite charge thickness.";
        moin, "-", 15.0, "Coefficient for gate-bias dependent surface potential.";
        noff, "-", 1.0, "C-V turn-on/off parameter.";
        voffcv, "V", 0.0, "C-V lateral-shift parameter.";
        xrcrg1, "-", 12.0, "Bias-dependent gate resistance parameter 1 (only for rgatemod > 1 / NQS, which are refused).";
        xrcrg2, "-", 1.0, "Bias-dependent gate resistance parameter 2 (only for rgatemod > 1 / NQS, which are refused).";
        lambda, "m", 0.0, "Velocity overshoot parameter.";
        vtl, "m/s", 200000.0, "Thermal velocity.";
        xn, "-", 3.0, "Back scattering parameter.";
        vfbsdoff, "V", 0.0, "S/D flatband voltage offset.";
        tvfbsdoff, "1/K", 0.0, "Temperature parameter for vfbsdoff.";
        tvoff, "1/K", 0.0, "Temperature parameter for voff.";
        wr, "-", 1.0, "Width dependence of rds.";
        dwg, "m/V", 0.0, "Width reduction parameter.";
        dwb, "m/V^0.5", 0.0, "Width reduction parameter.";
        b0, "m", 0.0, "Abulk narrow width parameter.";
        b1, "m", 0.0, "Abulk narrow width parameter.";
        cgsl, "F/m", 0.0, "Light-doped overlap capacitance per width (bias-dependent overlap).";
        cgdl, "F/m", 0.0, "Light-doped overlap capacitance per width (bias-dependent overlap).";
        ckappas, "-", 0.6, "S/G overlap C-V parameter.";
        ckappad, "-", f64::NAN, "D/G overlap C-V parameter. Default: ckappas.";
        cf, "F/m", f64::NAN, "Fringing field capacitance per width. Default: 2 epsrox eps0 / pi ln(1 + 0.4e-6 / toxe).";
        clc, "m", 1e-07, "Vdsat parameter for C-V model.";
        cle, "-", 0.6, "Vdsat parameter for C-V model.";
        alpha0, "A*m/V", 0.0, "Substrate current model parameter.";
        alpha1, "-", 0.0, "Substrate current model parameter.";
        beta0, "V", 0.0, "Substrate current model parameter.";
        agidl, "1/ohm", 0.0, "Pre-exponential constant for GIDL.";
        bgidl, "V/m", 2300000000.0, "Exponential constant for GIDL.";
        cgidl, "V^3", 0.5, "Parameter for body-bias dependence of GIDL.";
        egidl, "V", 0.8, "Fitting parameter for Bandbending.";
        aigc, "(F*s^2/g)^0.5/m", f64::NAN, "Igc parameter (gate tunnelling is refused, igcmod must be 0). Default: 1.36e-2 (n), 9.8e-3 (p).";
        bigc, "(F*s^2/g)^0.5/(m*V)", f64::NAN, "Igc parameter (gate tunnelling is refused). Default: 1.71e-3 (n), 7.59e-4 (p).";
        cigc, "1/V", f64::NAN, "Igc parameter (gate tunnelling is refused). Default: 0.075 (n), 0.03 (p).";
        aigsd, "(F*s^2/g)^0.5/m", f64::NAN, "Igs/Igd parameter (gate tunnelling is refused). Default: 1.36e-2 (n), 9.8e-3 (p).";
        bigsd, "(F*s^2/g)^0.5/(m*V)", f64::NAN, "Igs/Igd parameter (gate tunnelling is refused). Default: 1.71e-3 (n), 7.59e-4 (p).";
        cigsd, "1/V", f64::NAN, "Igs/Igd parameter (gate tunnelling is refused). Default: 0.075 (n), 0.03 (p).";
        aigbacc, "(F*s^2/g)^0.5/m", 0.0136, "Parameter for Igb.";
        bigbacc, "(F*s^2/g)^0.5/(m*V)", 0.00171, "Parameter for Igb.";
        cigbacc, "1/V", 0.075, "Parameter for Igb.";
        aigbinv, "(F*s^2/g)^0.5/m", 0.0111, "Parameter for Igb.";
        bigbinv, "(F*s^2/g)^0.5/(m*V)", 0.000949, "Parameter for Igb.";
        cigbinv, "1/V", 0.006, "Parameter for Igb.";
        nigc, "-", 1.0, "Parameter for Igc slope.";
        nigbinv, "-", 3.0, "Parameter for Igbinv slope.";
        nigbacc, "-", 1.0, "Parameter for Igbacc slope.";
        ntox, "-", 1.0, "Exponent for Tox ratio.";
        eigbinv, "V", 1.1, "Parameter for the Si bandgap for Igbinv.";
        pigcd, "-", 1.0, "Parameter for Igc partition.";
        poxedge, "-", 1.0, "Factor for the gate edge Tox.";
        kvth0we, "V", 0.0, "Threshold shift factor for well proximity effect.";
        k2we, "-", 0.0, "K2 shift factor for well proximity effect.";
        ku0we, "-", 0.0, "Mobility degradation factor for well proximity effect.";
    }
    plain {
        capmod, "-", 2.0, "Charge model: 0 (piecewise), 1 (smooth), 2 (charge-thickness); all implemented.";
        diomod, "-", 1.0, "Junction diode I-V: 0 (resistance-free), 1 (with forward limiting), 2 (with breakdown); all implemented.";
        rdsmod, "-", 0.0, "S/D resistance: 0 (rdsw inside the I-V), 1 (bias-dependent external rd, rs); both implemented.";
        trnqsmod, "-", 0.0, "Transient non-quasi-static model; only 0 is implemented (1 is refused).";
        acnqsmod, "-", 0.0, "AC non-quasi-static model; only 0 is implemented (1 is refused).";
        mobmod, "-", 0.0, "Mobility degradation form: 0, 1, 2; all implemented.";
        rbodymod, "-", 0.0, "Body resistance network: 0 (none), 1 (five resistors), 2 (scalable resistors); all implemented.";
        rgatemod, "-", 0.0, "Gate resistance model; only 0 is implemented (1, 2, 3 are refused).";
        permod, "-", 1.0, "1: pd/ps include the gate-edge perimeter (which is then subtracted), 0: they do not.";
        geomod, "-", 0.0, "Layout of the S/D diffusions (0..10) for areas and perimeters when ad/as/pd/ps are not given.";
        rgeomod, "-", 0.0, "1: S/D resistance from the diffusion geometry when nrd/nrs are not given; 0: none.";
        fnoimod, "-", 1.0, "Flicker noise model (accepted; noise is not simulated).";
        tnoimod, "-", 0.0, "Thermal noise model (accepted; noise is not simulated).";
        igcmod, "-", 0.0, "Gate-to-channel tunnelling current; only 0 is implemented (1, 2 are refused).";
        igbmod, "-", 0.0, "Gate-to-body tunnelling current; only 0 is implemented (1 is refused).";
        tempmod, "-", 0.0, "Temperature dependence form: 0, 1, 2; all implemented.";
        paramchk, "-", 1.0, "Parameter checking (accepted; fatal checks always run, warnings are not printed).";
        binunit, "-", 1.0, "1: binning coefficients are in microns, otherwise metres.";
        version, "-", f64::NAN, "Model version; 4.0 to 4.5 accepted (ngspice runs these with its BSIM4.5 code); 4.6 and later are refused.";
        toxe, "m", 3e-09, "Electrical gate-oxide thickness.";
        toxp, "m", f64::NAN, "Physical gate-oxide thickness. Default: toxe - dtox.";
        toxm, "m", f64::NAN, "Oxide thickness at which k1, k2 were extracted. Default: toxe.";
        toxref, "m", 3e-09, "Reference oxide thickness of the tunnelling model.";
        dtox, "m", 0.0, "toxe - toxp.";
        epsrox, "-", 3.9, "Relative permittivity of the gate oxide.";
        voffl, "V", 0.0, "Length dependence of voff: voff + voffl / Leff.";
        tnom, "C", f64::NAN, "Temperature at which the parameters hold. Default: 27 C.";
        cgso, "F/m", f64::NAN, "Non-LDD gate-source overlap capacitance per width. Default: dlc*Cox - cgsl if dlc > 0 is given, else 0.6 xj Cox.";
        cgdo, "F/m", f64::NAN, "Non-LDD gate-drain overlap capacitance per width. Default: dlc*Cox - cgdl if dlc > 0 is given, else 0.6 xj Cox.";
        cgbo, "F/m", f64::NAN, "Gate-bulk overlap capacitance per length. Default: 2 dwc Cox.";
        xpart, "-", 0.0, "Charge partition: 0 (40/60), 0.5 (50/50), 1 (0/100); negative: no intrinsic charge.";
        rsh, "ohm/sq", 0.0, "Source-drain sheet resistance.";
        rdswmin, "ohm*um^wr", 0.0, "Source-drain resistance per width at high Vg.";
        rdwmin, "ohm*um^wr", 0.0, "Drain resistance per width at high Vg.";
        rswmin, "ohm*um^wr", 0.0, "Source resistance per width at high Vg.";
        pditsl, "1/m", 0.0, "Length dependence of drain-induced Vth shifts.";
        jss, "A/m^2", 0.0001, "Bottom source junction reverse saturation current density.";
        jsws, "A/m", 0.0, "Isolation edge sidewall source junction reverse saturation current density.";
        jswgs, "A/m", 0.0, "Gate edge source junction reverse saturation current density.";
        pbs, "V", 1.0, "Source junction built-in potential.";
        njs, "-", 1.0, "Source junction emission coefficient.";
        xtis, "-", 3.0, "Source junction current temperature exponent.";
        mjs, "-", 0.5, "Source bottom junction capacitance grading coefficient.";
        pbsws, "V", 1.0, "Source sidewall junction capacitance built in potential.";
        mjsws, "-", 0.33, "Source sidewall junction capacitance grading coefficient.";
        pbswgs, "V", f64::NAN, "Source (gate side) sidewall junction capacitance built in potential. Default: pbsws.";
        mjswgs, "-", f64::NAN, "Source (gate side) sidewall junction capacitance grading coefficient. Default: mjsws.";
        cjs, "F/m^2", 0.0005, "Source bottom junction capacitance per unit area.";
        cjsws, "F/m", 5e-10, "Source sidewall junction capacitance per unit periphery.";
        cjswgs, "F/m", f64::NAN, "Source (gate side) sidewall junction capacitance per unit width. Default: cjsws.";
        jsd, "A/m^2", f64::NAN, "Bottom drain junction reverse saturation current density. Default: jss.";
        jswd, "A/m", f64::NAN, "Isolation edge sidewall drain junction reverse saturation current density. Default: jsws.";
        jswgd, "A/m", f64::NAN, "Gate edge drain junction reverse saturation current density. Default: jswgs.";
        pbd, "V", f64::NAN, "Drain junction built-in potential. Default: pbs.";
        njd, "-", f64::NAN, "Drain junction emission coefficient. Default: njs.";
        xtid, "-", f64::NAN, "Drain junction current temperature exponent. Default: xtis.";
        mjd, "-", f64::NAN, "Drain bottom junction capacitance grading coefficient. Default: mjs.";
        pbswd, "V", f64::NAN, "Drain sidewall junction capacitance built in potential. Default: pbsws.";
        mjswd, "-", f64::NAN, "Drain sidewall junction capacitance grading coefficient. Default: mjsws.";
        pbswgd, "V", f64::NAN, "Drain (gate side) sidewall junction capacitance built in potential. Default: pbswgs.";
        mjswgd, "-", f64::NAN, "Drain (gate side) sidewall junction capacitance grading coefficient. Default: mjswgs.";
        cjd, "F/m^2", f64::NAN, "Drain bottom junction capacitance per unit area. Default: cjs.";
        cjswd, "F/m", f64::NAN, "Drain sidewall junction capacitance per unit periphery. Default: cjsws.";
        cjswgd, "F/m", f64::NAN, "Drain (gate side) sidewall junction capacitance per unit width. Default: cjswgs.";
        tpb, "V/K", 0.0, "Temperature coefficient of pb.";
        tcj, "1/K", 0.0, "Temperature coefficient of cj.";
        tpbsw, "V/K", 0.0, "Temperature coefficient of pbsw.";
        tcjsw, "1/K", 0.0, "Temperature coefficient of cjsw.";
        tpbswg, "V/K", 0.0, "Temperature coefficient of pbswg.";
        tcjswg, "1/K", 0.0, "Temperature coefficient of cjswg.";
        dmcg, "m", 0.0, "Distance of Mid-Contact to Gate edge.";
        dmci, "m", f64::NAN, "Distance of Mid-Contact to Isolation. Default: dmcg.";
        dmdg, "m", 0.0, "Distance of Mid-Diffusion to Gate edge.";
        dmcgt, "m", 0.0, "Distance of Mid-Contact to Gate edge in Test structures.";
        xgw, "m", 0.0, "Distance from gate contact center to device edge.";
        xgl, "m", 0.0, "Variation in Ldrawn.";
        rshg, "ohm/sq", 0.1, "Gate sheet resistance.";
        ngcon, "-", 1.0, "Number of gate contacts.";
        lc, "m", 5e-09, "Back scattering parameter.";
        lintnoi, "m", 0.0, "Lint offset for noise calculation.";
        lint, "m", 0.0, "Length reduction parameter.";
        ll, "m^lln", 0.0, "Length reduction parameter.";
        llc, "m^lln", f64::NAN, "Length reduction parameter for CV. Default: ll.";
        lln, "-", 1.0, "Length reduction parameter.";
        lw, "m^lwn", 0.0, "Length reduction parameter.";
        lwc, "m^lwn", f64::NAN, "Length reduction parameter for CV. Default: lw.";
        lwn, "-", 1.0, "Length reduction parameter.";
        lwl, "m^(lln+lwn)", 0.0, "Length reduction parameter.";
        lwlc, "m^(lln+lwn)", f64::NAN, "Length reduction parameter for CV. Default: lwl.";
        lmin, "m", 0.0, "Minimum length for the model.";
        lmax, "m", 1.0, "Maximum length for the model.";
        wint, "m", 0.0, "Width reduction parameter.";
        wl, "m^wln", 0.0, "Width reduction parameter.";
        wlc, "m^wln", f64::NAN, "Width reduction parameter for CV. Default: wl.";
        wln, "-", 1.0, "Width reduction parameter.";
        ww, "m^wwn", 0.0, "Width reduction parameter.";
        wwc, "m^wwn", f64::NAN, "Width reduction parameter for CV. Default: ww.";
        wwn, "-", 1.0, "Width reduction parameter.";
        wwl, "m^(wln+wwn)", 0.0, "Width reduction parameter.";
        wwlc, "m^(wln+wwn)", f64::NAN, "Width reduction parameter for CV. Default: wwl.";
        wmin, "m", 0.0, "Minimum width for the model.";
        wmax, "m", 1.0, "Maximum width for the model.";
        dwc, "m", f64::NAN, "Delta W for C-V model. Default: wint.";
        dlc, "m", f64::NAN, "Delta L for C-V model. Default: lint.";
        xw, "m", 0.0, "W offset for channel width due to mask/etch effect.";
        xl, "m", 0.0, "L offset for channel length due to mask/etch effect.";
        dlcig, "m", f64::NAN, "Delta L for Ig model. Default: lint.";
        dwj, "m", f64::NAN, "Delta W for S/D junctions. Default: dwc.";
        ijthdfwd, "A", f64::NAN, "Forward drain diode forward limiting current. Default: ijthsfwd.";
        ijthsfwd, "A", 0.1, "Forward source diode forward limiting current.";
        ijthdrev, "A", f64::NAN, "Reverse drain diode forward limiting current. Default: ijthsrev.";
        ijthsrev, "A", 0.1, "Reverse source diode forward limiting current.";
        xjbvd, "-", f64::NAN, "Fitting parameter for drain diode breakdown current. Default: xjbvs.";
        xjbvs, "-", 1.0, "Fitting parameter for source diode breakdown current.";
        bvd, "V", f64::NAN, "Drain diode breakdown voltage. Default: bvs.";
        bvs, "V", 10.0, "Source diode breakdown voltage.";
        jtss, "A/m^2", 0.0, "Source bottom trap-assisted saturation current density.";
        jtsd, "A/m^2", f64::NAN, "Drain bottom trap-assisted saturation current density. Default: jtss.";
        jtssws, "A/m", 0.0, "Source STI sidewall trap-assisted saturation current density.";
        jtsswd, "A/m", f64::NAN, "Drain STI sidewall trap-assisted saturation current density. Default: jtssws.";
        jtsswgs, "A/m", 0.0, "Source gate-edge sidewall trap-assisted saturation current density.";
        jtsswgd, "A/m", f64::NAN, "Drain gate-edge sidewall trap-assisted saturation current density. Default: jtsswgs.";
        njts, "-", 20.0, "Non-ideality factor for bottom junction.";
        njtssw, "-", 20.0, "Non-ideality factor for STI sidewall junction.";
        njtsswg, "-", 20.0, "Non-ideality factor for gate-edge sidewall junction.";
        xtss, "-", 0.02, "Power dependence of JTSS on temperature.";
        xtsd, "-", f64::NAN, "Power dependence of JTSD on temperature. Default: xtss.";
        xtssws, "-", 0.02, "Power dependence of JTSSWS on temperature.";
        xtsswd, "-", f64::NAN, "Power dependence of JTSSWD on temperature. Default: xtssws.";
        xtsswgs, "-", 0.02, "Power dependence of JTSSWGS on temperature.";
        xtsswgd, "-", f64::NAN, "Power dependence of JTSSWGD on temperature. Default: xtsswgs.";
        tnjts, "1/K", 0.0, "Temperature coefficient for NJTS.";
        tnjtssw, "1/K", 0.0, "Temperature coefficient for NJTSSW.";
        tnjtsswg, "1/K", 0.0, "Temperature coefficient for NJTSSWG.";
        vtss, "V", 10.0, "Source bottom trap-assisted voltage dependent parameter.";
        vtsd, "V", f64::NAN, "Drain bottom trap-assisted voltage dependent parameter. Default: vtss.";
        vtssws, "V", 10.0, "Source STI sidewall trap-assisted voltage dependent parameter.";
        vtsswd, "V", f64::NAN, "Drain STI sidewall trap-assisted voltage dependent parameter. Default: vtssws.";
        vtsswgs, "V", 10.0, "Source gate-edge sidewall trap-assisted voltage dependent parameter.";
        vtsswgd, "V", f64::NAN, "Drain gate-edge sidewall trap-assisted voltage dependent parameter. Default: vtsswgs.";
        gbmin, "S", 1e-12, "Minimum body conductance.";
        rbdb, "ohm", 50.0, "Body resistance between the bulk terminal and the drain-side body node.";
        rbpb, "ohm", 50.0, "Body resistance between the intrinsic body node and the bulk terminal.";
        rbsb, "ohm", 50.0, "Body resistance between the bulk terminal and the source-side body node.";
        rbps, "ohm", 50.0, "Body resistance between the intrinsic body node and the source-side body node.";
        rbpd, "ohm", 50.0, "Body resistance between the intrinsic body node and the drain-side body node.";
        rbps0, "ohm", 50.0, "Body resistance RBPS scaling.";
        rbpsl, "-", 0.0, "Body resistance RBPS L scaling.";
        rbpsw, "-", 0.0, "Body resistance RBPS W scaling.";
        rbpsnf, "-", 0.0, "Body resistance RBPS NF scaling.";
        rbpd0, "ohm", 50.0, "Body resistance RBPD scaling.";
        rbpdl, "-", 0.0, "Body resistance RBPD L scaling.";
        rbpdw, "-", 0.0, "Body resistance RBPD W scaling.";
        rbpdnf, "-", 0.0, "Body resistance RBPD NF scaling.";
        rbpbx0, "ohm", 100.0, "Body resistance RBPBX  scaling.";
        rbpbxl, "-", 0.0, "Body resistance RBPBX L scaling.";
        rbpbxw, "-", 0.0, "Body resistance RBPBX W scaling.";
        rbpbxnf, "-", 0.0, "Body resistance RBPBX NF scaling.";
        rbpby0, "ohm", 100.0, "Body resistance RBPBY  scaling.";
        rbpbyl, "-", 0.0, "Body resistance RBPBY L scaling.";
        rbpbyw, "-", 0.0, "Body resistance RBPBY W scaling.";
        rbpbynf, "-", 0.0, "Body resistance RBPBY NF scaling.";
        rbsbx0, "ohm", 100.0, "Body resistance RBSBX  scaling.";
        rbsby0, "ohm", 100.0, "Body resistance RBSBY  scaling.";
        rbdbx0, "ohm", 100.0, "Body resistance RBDBX  scaling.";
        rbdby0, "ohm", 100.0, "Body resistance RBDBY  scaling.";
        rbsdbxl, "-", 0.0, "Body resistance RBSDBX L scaling.";
        rbsdbxw, "-", 0.0, "Body resistance RBSDBX W scaling.";
        rbsdbxnf, "-", 0.0, "Body resistance RBSDBX NF scaling.";
        rbsdbyl, "-", 0.0, "Body resistance RBSDBY L scaling.";
        rbsdbyw, "-", 0.0, "Body resistance RBSDBY W scaling.";
        rbsdbynf, "-", 0.0, "Body resistance RBSDBY NF scaling.";
        saref, "m", 1e-06, "Reference distance between OD edge to poly of one side.";
        sbref, "m", 1e-06, "Reference distance between OD edge to poly of the other side.";
        wlod, "m", 0.0, "Width parameter for stress effect.";
        ku0, "m", 0.0, "Mobility degradation/enhancement coefficient for LOD.";
        kvsat, "m", 0.0, "Saturation velocity degradation/enhancement parameter for LOD.";
        kvth0, "V*m", 0.0, "Stress (LOD) threshold shift coefficient.";
        tku0, "1/K", 0.0, "Temperature coefficient of KU0.";
        llodku0, "-", 0.0, "Length parameter for u0 LOD effect.";
        wlodku0, "-", 0.0, "Width parameter for u0 LOD effect.";
        llodvth, "-", 0.0, "Length parameter for vth LOD effect.";
        wlodvth, "-", 0.0, "Width parameter for vth LOD effect.";
        lku0, "m^llodku0", 0.0, "Length dependence of ku0.";
        wku0, "m^wlodku0", 0.0, "Width dependence of ku0.";
        pku0, "m^(llodku0+wlodku0)", 0.0, "Cross-term dependence of ku0.";
        lkvth0, "m^llodvth", 0.0, "Length dependence of kvth0.";
        wkvth0, "m^wlodvth", 0.0, "Width dependence of kvth0.";
        pkvth0, "m^(llodvth+wlodvth)", 0.0, "Cross-term dependence of kvth0.";
        stk2, "m", 0.0, "K2 shift factor related to stress effect on vth.";
        lodk2, "-", 1.0, "K2 shift modification factor for stress effect.";
        steta0, "m", 0.0, "Eta0 shift factor related to stress effect on vth.";
        lodeta0, "-", 1.0, "Eta0 shift modification factor for stress effect.";
        web, "-", 0.0, "Coefficient for SCB.";
        wec, "-", 0.0, "Coefficient for SCC.";
        scref, "m", 1e-06, "Reference distance to calculate SCA, SCB and SCC.";
        wpemod, "-", 0.0, "Flag for WPE model (WPEMOD=1 to activate this model).";
        noia, "1/(V*m^3)", f64::NAN, "Flicker noise parameter A (accepted, noise not simulated). Default: 6.25e41 (n), 6.188e40 (p).";
        noib, "1/(V*m)", f64::NAN, "Flicker noise parameter B (accepted, noise not simulated). Default: 3.125e26 (n), 1.5e25 (p).";
        noic, "m/V", 8750000000.0, "Flicker noise parameter.";
        tnoia, "-", 1.5, "Thermal noise parameter.";
        tnoib, "-", 3.5, "Thermal noise parameter.";
        rnoia, "-", 0.577, "Thermal noise coefficient.";
        rnoib, "-", 0.5164, "Thermal noise coefficient.";
        ntnoi, "-", 1.0, "Thermal noise parameter.";
        em, "V/m", 41000000.0, "Flicker noise parameter.";
        ef, "-", 1.0, "Flicker noise frequency exponent.";
        af, "-", 1.0, "Flicker noise exponent.";
        kf, "A^(2-af)*s^(1-ef)*F", 0.0, "Flicker noise coefficient.";
        vgs_max, "V", 1e+99, "Maximum voltage G-S branch.";
        vgd_max, "V", 1e+99, "Maximum voltage G-D branch.";
        vgb_max, "V", 1e+99, "Maximum voltage G-B branch.";
        vds_max, "V", 1e+99, "Maximum voltage D-S branch.";
        vbs_max, "V", 1e+99, "Maximum voltage B-S branch.";
        vbd_max, "V", 1e+99, "Maximum voltage B-D branch.";
        vgsr_max, "V", 1e+99, "Maximum voltage G-S branch.";
        vgdr_max, "V", 1e+99, "Maximum voltage G-D branch.";
        vgbr_max, "V", 1e+99, "Maximum voltage G-B branch.";
        vbsr_max, "V", 1e+99, "Maximum voltage B-S branch.";
        vbdr_max, "V", 1e+99, "Maximum voltage B-D branch.";
    }
}

/// Model parameters that change how other parameters' values are read (mpar's unit
/// conventions): dopings above these bounds are taken as m^-3 and converted to cm^-3.
fn doping_in_m3(name: &str, v: f64) -> f64 {
    let bound = match name {
        "ndep" | "lndep" | "wndep" | "pndep" => 1.0e20,
        "nsd" | "ngate" => 1.000001e24,
        "lnsd" | "wnsd" | "pnsd" | "lngate" | "wngate" | "pngate" => 1.0e23,
        _ => return v,
    };
    if v > bound { v * 1.0e-6 } else { v }
}

/// A switch: the values the model accepts, and those it knows but refuses.
struct Switch {
    name: &'static str,
    implemented: &'static [i64],
    refused: &'static [(i64, &'static str)],
}

const SWITCHES: &[Switch] = &[
    Switch {
        name: "capmod",
        implemented: &[0, 1, 2],
        refused: &[],
    },
    Switch {
        name: "diomod",
        implemented: &[0, 1, 2],
        refused: &[],
    },
    Switch {
        name: "rdsmod",
        implemented: &[0, 1],
        refused: &[],
    },
    Switch {
        name: "mobmod",
        implemented: &[0, 1, 2],
        refused: &[],
    },
    Switch {
        name: "rbodymod",
        implemented: &[0, 1, 2],
        refused: &[],
    },
    Switch {
        name: "permod",
        implemented: &[0, 1],
        refused: &[],
    },
    Switch {
        name: "geomod",
        implemented: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        refused: &[],
    },
    Switch {
        name: "rgeomod",
        implemented: &[0, 1],
        refused: &[],
    },
    Switch {
        name: "tempmod",
        implemented: &[0, 1, 2],
        refused: &[],
    },
    Switch {
        name: "wpemod",
        implemented: &[0, 1],
        refused: &[],
    },
    Switch {
        name: "fnoimod",
        implemented: &[0, 1],
        refused: &[],
    },
    Switch {
        name: "tnoimod",
        implemented: &[0, 1],
        refused: &[],
    },
    Switch {
        name: "trnqsmod",
        implemented: &[0],
        refused: &[(
            1,
            "the transient non-quasi-static charge model is not supported",
        )],
    },
    Switch {
        name: "acnqsmod",
        implemented: &[0],
        refused: &[(1, "the AC non-quasi-static model is not supported")],
    },
    Switch {
        name: "rgatemod",
        implemented: &[0],
        refused: &[
            (1, "the gate electrode resistance is not supported"),
            (2, "the gate electrode resistance is not supported"),
            (3, "the gate electrode resistance is not supported"),
        ],
    },
    Switch {
        name: "igcmod",
        implemented: &[0],
        refused: &[
            (1, "gate-to-channel tunnelling current is not supported"),
            (2, "gate-to-channel tunnelling current is not supported"),
        ],
    },
    Switch {
        name: "igbmod",
        implemented: &[0],
        refused: &[(1, "gate-to-body tunnelling current is not supported")],
    },
];

/// Checks one switch value; `what` names where it was given ("model card", "instance").
pub(crate) fn check_switch(name: &str, v: f64, loc: Option<&Loc>) -> Result<()> {
    let Some(sw) = SWITCHES.iter().find(|s| s.name == name) else {
        return Ok(());
    };
    let int = v.round() as i64;
    if (v - int as f64).abs() > 1e-9 {
        return Err(Error::netlist(
            format!("BSIM4 switch {name} = {v} must be an integer"),
            loc,
        ));
    }
    if sw.implemented.contains(&int) {
        return Ok(());
    }
    if let Some((_, why)) = sw.refused.iter().find(|(k, _)| *k == int) {
        return Err(
            Error::netlist(format!("BSIM4 {name} = {int} is not supported: {why}"), loc).with_note(
                format!(
                    "neurospice implements {name} = {}",
                    sw.implemented
                        .iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        );
    }
    Err(Error::netlist(
        format!(
            "BSIM4 {name} = {int} is not a valid value (valid: {})",
            sw.implemented
                .iter()
                .chain(sw.refused.iter().map(|(k, _)| k))
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        loc,
    ))
}

impl Card {
    /// Whether an instance of length `l` and width per finger `w` \[m\] (after
    /// `.option scale`) falls into this card's bin: `lmin <= l <= lmax` and
    /// `wmin <= w <= wmax`, both ends inclusive within 1e-9 m, as ngspice selects among
    /// `name.1`, `name.2`, ... (the first card of the family, in library order, that
    /// contains the size is taken). In ngspice's HSPICE-compatible mode (`ngbehavior=hsa`,
    /// which the sky130 `spinit` sets) `w` is the instance `w / nf`, otherwise the instance `w`.
    pub fn bin_contains(&self, l: f64, w: f64) -> bool {
        crate::devices::params::bin_contains(l, w, [self.lmin, self.lmax, self.wmin, self.wmax])
    }

    /// Whether the card gave parameter `name` (not a default).
    pub fn given(&self, name: &str) -> bool {
        let name = canonical(name);
        PARAMS
            .iter()
            .position(|p| p.name == name)
            .is_some_and(|i| self.given[i / 64] >> (i % 64) & 1 == 1)
    }

    fn set_given(&mut self, i: usize) {
        self.given[i / 64] |= 1 << (i % 64);
    }

    /// The integer value of a switch parameter.
    pub(crate) fn switch(&self, name: &str) -> i64 {
        self.get(name).map_or(0, |v| v.round() as i64)
    }

    /// Builds a card from `.model` parameters (lowercase names, SI values as written on the
    /// card; `tnom` in degrees C), each with the location of its token for errors. `level`
    /// must be 14 or 54; `version` 4.0 to 4.5 (BSIM4.5, what ngspice runs such cards with).
    /// Unknown names, non-finite values and switch values that select a sub-model
    /// neurospice does not implement are errors naming the parameter.
    pub fn from_params<'a>(
        polarity: Polarity,
        params: impl IntoIterator<Item = (&'a str, f64, Option<&'a Loc>)>,
    ) -> Result<Card> {
        let mut card = Card::table_defaults(polarity);
        let mut seen: Vec<(&str, f64, Option<&Loc>)> = Vec::new();
        for (name, value, loc) in params {
            let name = canonical(name);
            seen.push((name, value, loc));
            if !value.is_finite() {
                return Err(Error::netlist(
                    format!("BSIM4 model parameter {name} must be a finite number, got {value}"),
                    loc,
                ));
            }
            if name == "level" {
                if value != 14.0 && value != 54.0 {
                    return Err(Error::netlist(
                        format!("BSIM4 is level 14 or 54, the card says level = {value}"),
                        loc,
                    ));
                }
                continue;
            }
            if name == "version" {
                check_version(value, loc)?;
            }
            check_switch(name, value, loc)?;
            let Some((i, slot)) = card.slot(name) else {
                return Err(
                    Error::netlist(format!("unknown BSIM4 model parameter '{name}'"), loc)
                        .with_note("docs/bsim4.md lists every accepted parameter"),
                );
            };
            *slot = doping_in_m3(name, value);
            card.set_given(i);
        }
        if card.given("version") && card.version >= 4.6 {
            check_newer_version(card.version, polarity, &seen)?;
        }
        card.resolve();
        Ok(card)
    }

    /// Fills the defaults that depend on other parameters or on the channel type, in the
    /// order the BSIM4 model setup takes them.
    fn resolve(&mut self) {
        let n = self.polarity == Polarity::N;
        let g = |c: &Card, name: &str| c.given(name);
        if !g(self, "tnom") {
            self.tnom = 27.0;
        }
        if !g(self, "version") {
            self.version = 4.5;
        }
        // oxide thicknesses (toxp from toxe and dtox when only toxe is given, and back)
        let (te, tp, dt) = (g(self, "toxe"), g(self, "toxp"), g(self, "dtox"));
        if !tp {
            self.toxp = self.toxe;
        }
        if !g(self, "toxm") {
            self.toxm = self.toxe;
        }
        // cf and toxm take toxe as given (or its default) before toxe is derived from toxp
        if !g(self, "cf") {
            self.cf =
                2.0 * self.epsrox * EPS0 / std::f64::consts::PI * (1.0 + 0.4e-6 / self.toxe).ln();
        }
        if te && tp && dt && self.toxe != self.toxp + self.dtox {
            // all three given and inconsistent: dtox is ignored
        } else if te && !tp {
            self.toxp = self.toxe - self.dtox;
        } else if !te && tp {
            self.toxe = self.toxp + self.dtox;
        }
        if !g(self, "dsub") {
            self.dsub = self.drout;
        }
        if !g(self, "vth0") {
            self.vth0 = if n { 0.7 } else { -0.7 };
        }
        if !g(self, "eu") {
            self.eu = if n { 1.67 } else { 1.0 };
        }
        let mobmod = self.switch("mobmod");
        if !g(self, "ua") {
            self.ua = if mobmod == 2 { 1.0e-15 } else { 1.0e-9 };
        }
        if !g(self, "uc") {
            self.uc = if mobmod == 1 { -0.0465 } else { -0.0465e-9 };
        }
        if !g(self, "uc1") {
            self.uc1 = if mobmod == 1 { -0.056 } else { -0.056e-9 };
        }
        if !g(self, "u0") {
            self.u0 = if n { 0.067 } else { 0.025 };
        }
        for (name, vn, vp) in [
            ("aigc", 1.36e-2, 9.80e-3),
            ("bigc", 1.71e-3, 7.59e-4),
            ("cigc", 0.075, 0.03),
            ("aigsd", 1.36e-2, 9.80e-3),
            ("bigsd", 1.71e-3, 7.59e-4),
            ("cigsd", 0.075, 0.03),
            ("noia", 6.25e41, 6.188e40),
            ("noib", 3.125e26, 1.5e25),
        ] {
            if !g(self, name)
                && let Some((_, s)) = self.slot(name)
            {
                *s = if n { vn } else { vp };
            }
        }
        // k1, k2, vfb, cgso, cgdo, cgbo depend on the size or on the oxide capacitance and
        // are derived in the instance set-up; NaN marks "not given" there.
        if !g(self, "k1") {
            self.k1 = 0.0;
        }
        if !g(self, "k2") {
            self.k2 = 0.0;
        }
        if !g(self, "vfb") {
            self.vfb = 0.0;
        }
        // defaults copied from other parameters, in dependency order
        const COPIES: &[(&str, &str)] = &[
            ("dmci", "dmcg"),
            ("llc", "ll"),
            ("lwc", "lw"),
            ("lwlc", "lwl"),
            ("wlc", "wl"),
            ("wwc", "ww"),
            ("wwlc", "wwl"),
            ("dwc", "wint"),
            ("dlc", "lint"),
            ("dlcig", "lint"),
            ("dwj", "dwc"),
            ("ckappad", "ckappas"),
            ("cjd", "cjs"),
            ("cjswd", "cjsws"),
            ("cjswgs", "cjsws"),
            ("cjswgd", "cjswgs"),
            ("jsd", "jss"),
            ("jswd", "jsws"),
            ("jswgd", "jswgs"),
            ("pbd", "pbs"),
            ("pbswd", "pbsws"),
            ("pbswgs", "pbsws"),
            ("pbswgd", "pbswgs"),
            ("mjd", "mjs"),
            ("mjswd", "mjsws"),
            ("mjswgs", "mjsws"),
            ("mjswgd", "mjswgs"),
            ("njd", "njs"),
            ("xtid", "xtis"),
            ("ijthdfwd", "ijthsfwd"),
            ("ijthdrev", "ijthsrev"),
            ("xjbvd", "xjbvs"),
            ("bvd", "bvs"),
            ("jtsd", "jtss"),
            ("jtsswd", "jtssws"),
            ("jtsswgd", "jtsswgs"),
            ("xtsd", "xtss"),
            ("xtsswd", "xtssws"),
            ("xtsswgd", "xtsswgs"),
            ("vtsd", "vtss"),
            ("vtsswd", "vtssws"),
            ("vtsswgd", "vtsswgs"),
        ];
        for (to, from) in COPIES {
            if !g(self, to) {
                let v = self.get(from).unwrap_or(f64::NAN);
                if let Some((_, s)) = self.slot(to) {
                    *s = v;
                }
            }
        }
    }
}

/// BSIM4 versions this implementation accepts: ngspice runs 4.0 ... 4.5 cards with its
/// BSIM4.5 code, which neurospice implements; 4.6, 4.7 and 4.8 select newer code, accepted
/// only for cards whose parameters that code computes as 4.5 does ([`check_newer_version`]).
fn check_version(v: f64, loc: Option<&Loc>) -> Result<()> {
    if (4.0..4.9).contains(&v) {
        Ok(())
    } else {
        Err(Error::netlist(
            format!("BSIM4 version = {v} is not supported: neurospice implements BSIM4.5"),
            loc,
        )
        .with_note("ngspice runs versions 4.0 to 4.5 with its BSIM4.5 equations; 4.6 to 4.8 cards are accepted when they only give parameters those versions compute the same way"))
    }
}

/// The parameters ngspice-39's BSIM4.6/4.7/4.8 code computes as its 4.5 code does, measured
/// by `scripts/bsim4_version_probe.py` (one parameter moved off its default at a time).
const VERSION_SAME: &str = include_str!("version_same.txt");

/// A `version = 4.6 ... 4.8` card: every parameter it gives must be one whose behaviour
/// those versions share with 4.5 (binning variants `l`/`w`/`p` follow their base), and a
/// switch may only be given at its default, `tnom` only as 27 C; anything else is refused
/// by name. With the default card the newer code differs from 4.5 by 1e-4 relative (the
/// probe's baseline; 6e-5 in the drain current of ngspice's mos-meas-dc example at 27 C
/// and at 80 C), below the 1e-3 the project compares at.
fn check_newer_version(
    version: f64,
    polarity: Polarity,
    seen: &[(&str, f64, Option<&Loc>)],
) -> Result<()> {
    let same = |n: &str| {
        VERSION_SAME
            .lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l.split_whitespace().next() == Some(n))
    };
    let defaults = Card::table_defaults(polarity);
    for &(name, value, loc) in seen {
        // tnom: the probe ran at the default 27 C (the elaborator passes the circuit's)
        if matches!(name, "level" | "version") || same(name) || (name == "tnom" && value == 27.0) {
            continue;
        }
        let base = name
            .strip_prefix(['l', 'w', 'p'])
            .filter(|b| BINNED_NAMES.contains(b) && same(b));
        if base.is_some() {
            continue;
        }
        if SWITCHES.iter().any(|s| s.name == name) && defaults.get(name) == Some(value) {
            continue;
        }
        return Err(Error::netlist(
            format!(
                "BSIM4 version = {version} with parameter {name}: ngspice computes {name} \
                 differently in its {version} code than in the BSIM4.5 code neurospice \
                 implements (or it was not verified)"
            ),
            loc,
        )
        .with_note(
            "write version = 4.5 to run the card with the BSIM4.5 equations; docs/bsim4.md lists the parameters a 4.6-4.8 card may give",
        ));
    }
    Ok(())
}

/// Permittivity of vacuum as the BSIM4 equations use it \[F/m\].
pub(crate) const EPS0: f64 = 8.85418e-12;

/// Declares the instance parameters once: [`InstanceParams`] fields, [`INSTANCE_PARAMS`]
/// and the name lookup.
macro_rules! bsim4_instance_params {
    ( $( $f:ident, $name:literal $(| $alias:literal)?, $u:literal, $d:expr, $doc:literal; )* ) => {
        #[allow(non_camel_case_types, dead_code)]
        #[derive(Clone, Copy)]
        enum Jx { $( $f, )* End }

        /// Every instance parameter a BSIM4 device line accepts.
        pub const INSTANCE_PARAMS: &[ParamSpec] = &[
            $( ParamSpec { name: $name, aliases: &[$($alias)?], unit: $u, default_n: $d, default_p: $d, doc: $doc,
                mismatch: None }, )*
        ];

        /// Instance parameters of one BSIM4 device (SI; lengths after `.option scale`).
        #[derive(Clone, Debug, PartialEq)]
        pub struct InstanceParams {
            $( #[doc = $doc] pub $f: f64, )*
            given: u64,
        }

        impl Default for InstanceParams {
            fn default() -> Self {
                InstanceParams { $( $f: $d, )* given: 0 }
            }
        }

        impl InstanceParams {
            fn slot(&mut self, name: &str) -> Option<(usize, &mut f64)> {
                match name {
                    $( $name => Some((Jx::$f as usize, &mut self.$f)), )*
                    _ => None,
                }
            }

            fn index(name: &str) -> Option<usize> {
                match name {
                    $( $name => Some(Jx::$f as usize), )*
                    _ => None,
                }
            }
        }
    };
}

bsim4_instance_params! {
    l, "l", "m", 5.0e-6, "Drawn channel length.";
    w, "w", "m", 5.0e-6, "Drawn channel width (all fingers together).";
    m, "m", "-", 1.0, "Parallel multiplier: every current, charge and conductance is scaled by m.";
    nf, "nf", "-", 1.0, "Number of fingers; the channel width per finger is w / nf.";
    sa, "sa", "m", 0.0, "Distance from the gate to the OD edge on one side (stress effect when sa, sb > 0).";
    sb, "sb", "m", 0.0, "Distance from the gate to the OD edge on the other side.";
    sd, "sd", "m", f64::NAN, "Distance between neighbouring fingers. Default: 2 dmcg.";
    sca, "sca", "-", 0.0, "Integral of the first well-proximity distribution function.";
    scb, "scb", "-", 0.0, "Integral of the second well-proximity distribution function.";
    scc, "scc", "-", 0.0, "Integral of the third well-proximity distribution function.";
    sc, "sc", "m", 0.0, "Distance to a single well edge (well proximity when sca, scb, scc are not given).";
    min, "min", "-", 0.0, "1: minimise the number of drain diffusions (geomod layouts with even nf), 0: of sources.";
    ad, "ad", "m^2", 0.0, "Drain diffusion area. Default: from geomod.";
    as_, "as", "m^2", 0.0, "Source diffusion area. Default: from geomod.";
    pd, "pd", "m", 0.0, "Drain diffusion perimeter. Default: from geomod.";
    ps, "ps", "m", 0.0, "Source diffusion perimeter. Default: from geomod.";
    nrd, "nrd", "-", 1.0, "Number of drain diffusion squares (times rsh gives the drain resistance).";
    nrs, "nrs", "-", 1.0, "Number of source diffusion squares.";
    off, "off", "-", 0.0, "Start the operating-point search with the device off.";
    rbdb, "rbdb", "ohm", f64::NAN, "Body resistance to the drain-side body node. Default: the card's rbdb.";
    rbsb, "rbsb", "ohm", f64::NAN, "Body resistance to the source-side body node. Default: the card's rbsb.";
    rbpb, "rbpb", "ohm", f64::NAN, "Body resistance from the intrinsic body node. Default: the card's rbpb.";
    rbps, "rbps", "ohm", f64::NAN, "Body resistance intrinsic to source-side body node. Default: the card's rbps.";
    rbpd, "rbpd", "ohm", f64::NAN, "Body resistance intrinsic to drain-side body node. Default: the card's rbpd.";
    delvto, "delvto" | "delvt0", "V", 0.0, "Threshold voltage shift added to vth0 (mismatch and corner models use it).";
    mulu0, "mulu0", "-", 1.0, "Low-field mobility multiplier.";
    xgw, "xgw", "m", f64::NAN, "Distance from the gate contact centre to the device edge. Default: the card's xgw.";
    ngcon, "ngcon", "-", f64::NAN, "Number of gate contacts. Default: the card's ngcon.";
    trnqsmod, "trnqsmod", "-", f64::NAN, "Per-instance trnqsmod. Default: the card's.";
    acnqsmod, "acnqsmod", "-", f64::NAN, "Per-instance acnqsmod. Default: the card's.";
    rbodymod, "rbodymod", "-", f64::NAN, "Per-instance rbodymod. Default: the card's.";
    rgatemod, "rgatemod", "-", f64::NAN, "Per-instance rgatemod. Default: the card's.";
    geomod, "geomod", "-", f64::NAN, "Per-instance geomod. Default: the card's.";
    rgeomod, "rgeomod", "-", f64::NAN, "Per-instance rgeomod. Default: the card's.";
}

impl InstanceParams {
    /// Whether the instance line gave parameter `name` (not a default).
    pub fn given(&self, name: &str) -> bool {
        InstanceParams::index(canonical_instance(name)).is_some_and(|i| self.given >> i & 1 == 1)
    }

    /// Sets parameter `name` (lowercase; `delvt0` is an alias of `delvto`) to `value`, with
    /// the location of its token for errors.
    pub fn set(&mut self, name: &str, value: f64, loc: Option<&Loc>) -> Result<()> {
        let name = canonical_instance(name);
        if !value.is_finite() {
            return Err(Error::netlist(
                format!("BSIM4 instance parameter {name} must be a finite number, got {value}"),
                loc,
            ));
        }
        check_switch(name, value, loc)?;
        let Some((i, slot)) = self.slot(name) else {
            return Err(Error::netlist(
                format!("unknown BSIM4 instance parameter '{name}'"),
                loc,
            ));
        };
        *slot = value;
        self.given |= 1 << i;
        Ok(())
    }

    /// A device of drawn width `w` and length `l` \[m\], everything else default.
    pub fn new(w: f64, l: f64) -> InstanceParams {
        InstanceParams {
            w,
            l,
            given: (1 << Jx::w as usize) | (1 << Jx::l as usize),
            ..InstanceParams::default()
        }
    }
}

fn canonical_instance(name: &str) -> &str {
    INSTANCE_PARAMS
        .iter()
        .find(|p| p.aliases.contains(&name))
        .map_or(name, |p| p.name)
}
