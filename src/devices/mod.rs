//! Devices. Each loads its resistive currents F(x), its charges Q(x) and both Jacobians
//! dF/dx, dQ/dx through matrix slots it declared once in `setup`; none of them knows the
//! integration formula (Xyce's F + dQ/dt split). Unknown 0 is ground: its row and column are a
//! trash slot that devices may write to unconditionally and the solver ignores.

pub mod behavioral;
pub mod bsim4;
pub mod capacitor;
pub mod controlled;
pub mod diode;
pub mod ekv;
pub mod inductor;
pub mod mos1;
pub mod mos28;
pub mod resistor;
pub mod sources;
pub mod switch;
pub mod waveform;

use crate::error::Loc;

/// Boltzmann constant over electron charge [V/K].
pub const K_OVER_Q: f64 = 1.380649e-23 / 1.602176634e-19;
/// 0 degrees Celsius in kelvin.
pub const T0: f64 = 273.15;

/// Collects the matrix entries and branch unknowns devices ask for during setup.
pub struct Setup {
    /// Requested (row, col) pairs; request k is remapped to a value slot after setup.
    pub requests: Vec<(usize, usize)>,
}

impl Setup {
    /// Declares entry (row, col); returns a request id for `remap`.
    pub fn entry(&mut self, r: usize, c: usize) -> usize {
        self.requests.push((r, c));
        self.requests.len() - 1
    }
}

/// Everything a device sees and writes during one load.
pub struct Load<'a> {
    /// Solution estimate, index 0 = ground (always 0).
    pub x: &'a [f64],
    /// Time [s] (0 in DC analyses).
    pub time: f64,
    /// Source scaling for source stepping (1 normally).
    pub src_fact: f64,
    /// Conductance added across junctions [S].
    pub gmin: f64,
    /// True in .op/.dc (and the transient's initial point): sources use their DC value where given.
    pub dc: bool,
    /// First Newton iteration of an analysis point from a cold start: junctions start at a
    /// critical voltage instead of the (zero) guess.
    pub init_junctions: bool,
    /// Device temperature [K].
    pub temp: f64,
    /// Transient step and stop time, needed by source defaults.
    pub tstep: f64,
    pub tstop: f64,
    /// Residual currents (KCL rows) and branch equations.
    pub f: &'a mut [f64],
    /// Charges (node rows) and fluxes (branch rows).
    pub q: &'a mut [f64],
    /// dF/dx values, by slot.
    pub jf: &'a mut [f64],
    /// dQ/dx values, by slot.
    pub jq: &'a mut [f64],
    /// Set by a device that limited its junction voltages this iteration (not yet converged).
    pub noncon: bool,
}

/// The lifecycle verbs of a device (ngspice's setup/load/accept/trunc, Xyce's loadDAE*).
pub trait DeviceOps {
    /// Declares branches and matrix entries.
    fn setup(&mut self, s: &mut Setup);
    /// Rewrites request ids into value slots.
    fn remap(&mut self, map: &[usize]);
    /// Loads F, Q and their Jacobians at `l.x`.
    fn load(&mut self, l: &mut Load);
    /// Called once a time point is accepted, with its solution; state-holding devices update.
    /// Returns whether the device's loads may have changed (a switch that flipped).
    fn accept(&mut self, _x: &[f64], _time: f64) -> bool {
        false
    }
    /// Whether `accept` does anything (the solver calls it only on such devices).
    fn stateful(&self) -> bool {
        false
    }
    /// Times in (t0, t1] where the device's inputs have corners (breakpoints).
    fn breakpoints(&self, _t0: f64, _t1: f64, _tstep: f64, _tstop: f64, _out: &mut Vec<f64>) {}
    /// Number of event functions (threshold crossings that change the device's behaviour).
    fn n_events(&self) -> usize {
        0
    }
    /// Event function values at solution `x` (a sign change between accepted points is an event).
    fn events(&mut self, _x: &[f64], _time: f64, _out: &mut [f64]) {}
    /// Every unknown the device reads or writes (for partitioning and connectivity checks).
    fn terminals(&self, out: &mut Vec<usize>);
}

/// A device with its instance name and where it was defined.
#[derive(Debug, Clone)]
pub struct Inst {
    /// Full (flattened) name, lowercase, e.g. `x1.r2`.
    pub name: String,
    pub loc: Loc,
    pub dev: Device,
}

/// All device kinds (an enum, not `Box<dyn>`, so the hot loop is a match).
#[derive(Debug, Clone)]
pub enum Device {
    R(resistor::Resistor),
    C(capacitor::Capacitor),
    L(inductor::Inductor),
    V(sources::VSource),
    I(sources::ISource),
    E(controlled::Vcvs),
    G(controlled::Vccs),
    F(controlled::Cccs),
    H(controlled::Ccvs),
    D(diode::Diode),
    M1(mos1::Mos1),
    M28(mos28::Mos28),
    S(switch::Switch),
    B(behavioral::Behavioral),
}

macro_rules! dispatch {
    ($self:expr, $d:ident => $e:expr) => {
        match $self {
            Device::R($d) => $e,
            Device::C($d) => $e,
            Device::L($d) => $e,
            Device::V($d) => $e,
            Device::I($d) => $e,
            Device::E($d) => $e,
            Device::G($d) => $e,
            Device::F($d) => $e,
            Device::H($d) => $e,
            Device::D($d) => $e,
            Device::M1($d) => $e,
            Device::M28($d) => $e,
            Device::S($d) => $e,
            Device::B($d) => $e,
        }
    };
}

impl DeviceOps for Device {
    fn setup(&mut self, s: &mut Setup) {
        dispatch!(self, d => d.setup(s))
    }
    fn remap(&mut self, map: &[usize]) {
        dispatch!(self, d => d.remap(map))
    }
    #[inline]
    fn load(&mut self, l: &mut Load) {
        dispatch!(self, d => d.load(l))
    }
    fn accept(&mut self, x: &[f64], t: f64) -> bool {
        dispatch!(self, d => d.accept(x, t))
    }
    fn stateful(&self) -> bool {
        dispatch!(self, d => d.stateful())
    }
    fn breakpoints(&self, t0: f64, t1: f64, tstep: f64, tstop: f64, out: &mut Vec<f64>) {
        dispatch!(self, d => d.breakpoints(t0, t1, tstep, tstop, out))
    }
    fn n_events(&self) -> usize {
        dispatch!(self, d => d.n_events())
    }
    fn events(&mut self, x: &[f64], t: f64, out: &mut [f64]) {
        dispatch!(self, d => d.events(x, t, out))
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        dispatch!(self, d => d.terminals(out))
    }
}

impl Device {
    /// Gives a branch device its current unknown (numbered after the nodes by the elaborator).
    pub fn set_branch(&mut self, k: usize) {
        match self {
            Device::V(d) => d.br = k,
            Device::L(d) => d.br = k,
            Device::E(d) => d.br = k,
            Device::H(d) => d.br = k,
            Device::B(d) => d.set_branch(k),
            _ => {}
        }
    }
    /// Maps every unknown index through `m` (used when a decoupled part gets its own numbering).
    pub fn renumber(&mut self, m: &[usize]) {
        let r = |k: &mut usize| *k = m[*k];
        match self {
            Device::R(d) => [&mut d.a, &mut d.b].into_iter().for_each(r),
            Device::C(d) => [&mut d.a, &mut d.b].into_iter().for_each(r),
            Device::L(d) => [&mut d.a, &mut d.b, &mut d.br].into_iter().for_each(r),
            Device::V(d) => [&mut d.p, &mut d.n, &mut d.br].into_iter().for_each(r),
            Device::I(d) => [&mut d.p, &mut d.n].into_iter().for_each(r),
            Device::E(d) => [&mut d.p, &mut d.n, &mut d.cp, &mut d.cn, &mut d.br]
                .into_iter()
                .for_each(r),
            Device::G(d) => [&mut d.p, &mut d.n, &mut d.cp, &mut d.cn]
                .into_iter()
                .for_each(r),
            Device::F(d) => [&mut d.p, &mut d.n, &mut d.cb].into_iter().for_each(r),
            Device::H(d) => [&mut d.p, &mut d.n, &mut d.cb, &mut d.br]
                .into_iter()
                .for_each(r),
            Device::D(d) => [&mut d.a, &mut d.ai, &mut d.k].into_iter().for_each(r),
            Device::M1(d) => [&mut d.d, &mut d.g, &mut d.s, &mut d.b]
                .into_iter()
                .for_each(r),
            Device::M28(d) => [&mut d.d, &mut d.g, &mut d.s, &mut d.b]
                .into_iter()
                .for_each(r),
            Device::S(d) => [&mut d.a, &mut d.b, &mut d.cp, &mut d.cn]
                .into_iter()
                .for_each(r),
            Device::B(d) => d.renumber(m),
        }
    }
    /// Whether the device has a branch current unknown.
    pub fn has_branch(&self) -> bool {
        match self {
            Device::V(_) | Device::L(_) | Device::E(_) | Device::H(_) => true,
            Device::B(d) => d.is_voltage(),
            _ => false,
        }
    }
    /// The branch unknown of a voltage source, inductor, VCVS, CCVS or B voltage source.
    pub fn branch(&self) -> Option<usize> {
        match self {
            Device::V(d) => Some(d.br),
            Device::L(d) => Some(d.br),
            Device::E(d) => Some(d.br),
            Device::H(d) => Some(d.br),
            Device::B(d) => d.branch(),
            _ => None,
        }
    }
}

/// Stamps a conductance-like 2x2 block: +g on (a,a),(b,b), -g on (a,b),(b,a).
#[inline]
pub fn stamp2(j: &mut [f64], s: &[usize; 4], g: f64) {
    j[s[0]] += g;
    j[s[1]] -= g;
    j[s[2]] -= g;
    j[s[3]] += g;
}

/// Requests the four entries of a two-terminal block in the order used by `stamp2`.
pub fn req2(s: &mut Setup, a: usize, b: usize) -> [usize; 4] {
    [s.entry(a, a), s.entry(a, b), s.entry(b, a), s.entry(b, b)]
}

pub fn remap_all(slots: &mut [usize], map: &[usize]) {
    for s in slots.iter_mut() {
        *s = map[*s];
    }
}

/// ngspice's junction voltage limiting (pnjlim): keeps exp() in range during Newton.
pub fn pnjlim(vnew: f64, vold: f64, vt: f64, vcrit: f64) -> (f64, bool) {
    if vnew > vcrit && (vnew - vold).abs() > vt + vt {
        if vold > 0.0 {
            let arg = 1.0 + (vnew - vold) / vt;
            if arg > 0.0 {
                (vold + vt * arg.ln(), true)
            } else {
                (vcrit, true)
            }
        } else {
            (vt * (vnew / vt).ln(), true)
        }
    } else if vnew < 0.0 {
        let arg = if vold > 0.0 {
            -vold - 1.0
        } else {
            2.0 * vold - 1.0
        };
        if vnew < arg {
            (arg, true)
        } else {
            (vnew, false)
        }
    } else {
        (vnew, false)
    }
}

/// ngspice's FET gate voltage limiting (DEVfetlim).
pub fn fetlim(vnew: f64, vold: f64, vto: f64) -> f64 {
    let vtsthi = (2.0 * (vold - vto)).abs() + 2.0;
    let vtstlo = vtsthi / 2.0 + 2.0;
    let vtox = vto + 3.5;
    let delv = vnew - vold;
    let mut v = vnew;
    if vold >= vto {
        if vold >= vtox {
            if delv <= 0.0 {
                if vnew >= vtox {
                    if -delv > vtstlo {
                        v = vold - vtstlo;
                    }
                } else {
                    v = (vto + 2.0).max(vnew);
                }
            } else if delv >= vtsthi {
                v = vold + vtsthi;
            }
        } else if delv <= 0.0 {
            v = (vto - 0.5).max(vnew);
        } else {
            v = (vto + 4.0).min(vnew);
        }
    } else if delv <= 0.0 {
        if -delv > vtsthi {
            v = vold - vtsthi;
        }
    } else {
        let vtemp = vto + 0.5;
        if vnew <= vtemp {
            if delv > vtstlo {
                v = vold + vtstlo;
            }
        } else {
            v = vtemp;
        }
    }
    v
}

/// ngspice's drain-source voltage limiting (DEVlimvds).
pub fn limvds(vnew: f64, vold: f64) -> f64 {
    if vold >= 3.5 {
        if vnew > vold {
            vnew.min(3.0 * vold + 2.0)
        } else if vnew < 3.5 {
            vnew.max(2.0)
        } else {
            vnew
        }
    } else if vnew > vold {
        vnew.min(4.0)
    } else {
        vnew.max(-0.5)
    }
}

/// Depletion charge and capacitance of a junction (SPICE's with forward-bias linearisation
/// above fc*vj): returns (q [C], c [F]) for zero-bias capacitance `cj0`.
pub fn depletion(v: f64, cj0: f64, vj: f64, m: f64, fc: f64) -> (f64, f64) {
    if cj0 == 0.0 {
        return (0.0, 0.0);
    }
    let fcv = fc * vj;
    if v < fcv {
        let arg = 1.0 - v / vj;
        let sarg = if m == 0.5 {
            1.0 / arg.sqrt()
        } else {
            (-m * arg.ln()).exp()
        };
        (vj * cj0 * (1.0 - arg * sarg) / (1.0 - m), cj0 * sarg)
    } else {
        let f1 = vj * (1.0 - (1.0 - fc).powf(1.0 - m)) / (1.0 - m);
        let f2 = (1.0 - fc).powf(1.0 + m);
        let f3 = 1.0 - fc * (1.0 + m);
        let q = cj0 * f1 + cj0 / f2 * (f3 * (v - fcv) + m / (2.0 * vj) * (v * v - fcv * fcv));
        (q, cj0 / f2 * (f3 + m * v / vj))
    }
}
