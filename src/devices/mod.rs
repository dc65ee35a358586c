//! Devices. Each loads its resistive currents F(x), its charges Q(x) and both Jacobians
//! dF/dx, dQ/dx through matrix slots it declared once in `setup`; none of them knows the
//! integration formula (Xyce's F + dQ/dt split). Unknown 0 is ground: its row and column are a
//! trash slot that devices may write to unconditionally and the solver ignores.
//!
//! A device is one file: its struct, its parameter tables (`params.rs`: model card and
//! instance line, with units, defaults, docs and mismatch), and its [`DeviceOps`] verbs. The
//! structural facts the analyses need are verbs too (DC path, voltage branch, branch current,
//! `.ic` state, renumbering, what it reads besides its terminals, mismatch draws), so no
//! analysis or solver matches on the device kind. Adding a device: its file, one variant of
//! [`Device`] (and its arm in `dispatch!`), and its card syntax in `netlist/element.rs`.

pub mod behavioral;
pub mod bjt;
pub mod bsim4;
pub mod capacitor;
pub mod controlled;
pub mod diode;
pub mod ekv;
pub mod inductor;
pub mod jfet;
pub mod limit;
pub mod mos1;
pub mod mos23;
pub mod mos28;
pub mod params;
pub mod resistor;
pub mod semi;
pub mod sources;
pub mod switch;
pub mod tempco;
pub mod waveform;

pub mod ops;

pub use ops::{
    Branch, BypassCtl, DeviceOps, K_OVER_Q, Load, Pair, Setup, T0, remap_all, req2, stamp2,
};

use crate::error::{Loc, Result};
use params::MismatchDraw;

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
    /// Boxed, like every variant above 200 bytes: a `Device` is the size of its largest
    /// variant, and a flat netlist of a million resistors must not pay a MOSFET's size each.
    D(Box<diode::Diode>),
    /// Gummel-Poon BJT.
    Q(Box<bjt::Bjt>),
    /// Level-1 JFET.
    J(Box<jfet::Jfet>),
    M1(Box<mos1::Mos1>),
    M28(Box<mos28::Mos28>),
    /// BSIM4 (boxed: its instance data is a few kB, the other variants are small).
    B4(Box<bsim4::Bsim4>),
    S(switch::Switch),
    B(Box<behavioral::Behavioral>),
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
            Device::Q($d) => $e,
            Device::J($d) => $e,
            Device::M1($d) => $e,
            Device::M28($d) => $e,
            Device::B4($d) => $e,
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
    fn renumber(&mut self, m: &[usize]) {
        dispatch!(self, d => d.renumber(m))
    }
    fn dc_path(&self, out: &mut Vec<usize>) {
        dispatch!(self, d => d.dc_path(out))
    }
    fn voltage_branch(&self) -> Option<(usize, usize)> {
        dispatch!(self, d => d.voltage_branch())
    }
    fn wants_branch(&self) -> bool {
        dispatch!(self, d => d.wants_branch())
    }
    fn set_branch(&mut self, k: usize) {
        dispatch!(self, d => d.set_branch(k))
    }
    fn branch(&self) -> Option<usize> {
        dispatch!(self, d => d.branch())
    }
    fn n_states(&self) -> usize {
        dispatch!(self, d => d.n_states())
    }
    fn set_states(&mut self, first: usize) {
        dispatch!(self, d => d.set_states(first))
    }
    fn set_reads(&mut self, ix: &[(usize, usize)]) {
        dispatch!(self, d => d.set_reads(ix))
    }
    fn initial_state(&self, x: &mut [f64]) {
        dispatch!(self, d => d.initial_state(x))
    }
    fn linear(&self) -> bool {
        dispatch!(self, d => d.linear())
    }
    fn independent_source(&self) -> bool {
        dispatch!(self, d => d.independent_source())
    }
    fn off(&self) -> bool {
        dispatch!(self, d => d.off())
    }
    fn drives_current(&self) -> bool {
        dispatch!(self, d => d.drives_current())
    }
    fn set_dc(&mut self, v: f64) {
        dispatch!(self, d => d.set_dc(v))
    }
    fn ac_rhs(&self, b: &mut [(f64, f64)]) {
        dispatch!(self, d => d.ac_rhs(b))
    }
    fn ac_linearise(&self, jf: &mut [f64], jq: &mut [f64]) {
        dispatch!(self, d => d.ac_linearise(jf, jq))
    }
    fn mismatch(&self, out: &mut Vec<MismatchDraw>) -> Result<()> {
        dispatch!(self, d => d.mismatch(out))
    }
    fn set_mismatch(&mut self, v: &[f64]) -> Result<()> {
        dispatch!(self, d => d.set_mismatch(v))
    }
    fn noise_key(&mut self) -> Option<&mut Option<u64>> {
        dispatch!(self, d => d.noise_key())
    }
}

/// The work ([`crate::budget::Work`] units) of one Newton iteration on a circuit: every device evaluated (a linear element 1,
/// a diode, BJT, JFET, level-1 or EKV MOSFET, switch or behavioural source 4, a BSIM4
/// transistor 40: their measured costs relative to a resistor's, bypass included) plus the
/// matrix entries factored and the unknowns solved. One unit is 10 to 15 ns of one core; the
/// weights need only be right within a factor of two or so, as the limit is a guard, not a
/// prediction.
pub fn iteration_cost(devs: &[Inst], unknowns: usize, entries: usize) -> f64 {
    let devices: f64 = devs
        .iter()
        .map(|d| match d.dev {
            Device::B4(_) => 40.0,
            Device::D(_)
            | Device::Q(_)
            | Device::J(_)
            | Device::M1(_)
            | Device::M28(_)
            | Device::S(_)
            | Device::B(_) => 4.0,
            _ => 1.0,
        })
        .sum();
    devices + unknowns as f64 + entries as f64
}
