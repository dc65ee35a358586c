//! The device contract: what a device declares (`setup`), loads (`load`) and answers
//! ([`DeviceOps`] verbs), what it sees during a load ([`Load`]), and the stamp helpers the
//! devices share ([`Pair`], [`Branch`]). Every device file builds on this; the enum of all
//! devices (`mod.rs`) stands above them.

use super::params::MismatchDraw;
use crate::error::Result;

/// Boltzmann constant over electron charge [V/K].
pub const K_OVER_Q: f64 = 1.380649e-23 / 1.602176634e-19;
/// Boltzmann constant over electron charge as ngspice 39 has it (CODATA 2014: 1.38064852e-23
/// J/K over 1.6021766208e-19 C) [V/K]: 3.5e-7 below [`K_OVER_Q`], which moves a BJT's
/// collector current at a fixed Vbe by ~1e-5 (relative); the BJT and JFET use it.
pub const K_OVER_Q_NGSPICE: f64 = 1.380_648_52e-23 / 1.602_176_620_8e-19;
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
    /// True in .op/.dc and the transient's initial point (charges ignored, switches follow
    /// their control).
    pub dc: bool,
    /// The transient's initial operating point (ngspice's MODETRANOP): independent sources
    /// take their waveform's value at t = 0, not their `DC` value, which only `.op` and `.dc`
    /// use.
    pub tran_op: bool,
    /// First Newton iteration of an analysis point from a cold start: junctions start at a
    /// critical voltage instead of the (zero) guess.
    pub init_junctions: bool,
    /// The operating point's first solve (ngspice's MODEINITFIX): devices marked `off` hold
    /// their junction voltages at zero and do not report non-convergence, so the circuit
    /// settles with them off; the solve that follows (MODEINITFLOAT) releases them.
    pub init_fix: bool,
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
    /// Device bypass: its switch, tolerances and count (`Default`: off).
    pub bypass: BypassCtl,
}

/// Whether devices may reuse the stamps of their last full evaluation when their terminal
/// voltages moved less than the tolerances since (ngspice's bypass; transient only), the
/// Newton tolerances the test uses, and how many loads did.
#[derive(Debug, Clone, Copy, Default)]
pub struct BypassCtl {
    pub on: bool,
    pub reltol: f64,
    pub vntol: f64,
    pub abstol: f64,
    /// Devices that reused their stamps in this load.
    pub count: usize,
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
    /// Maps every unknown index through `m` (a decoupled part gets its own numbering).
    fn renumber(&mut self, m: &[usize]);

    /// The nodes the device joins by a DC path, as a chain (each joined to the next): for the
    /// check that every node has a DC path to ground. Capacitors, current sources and
    /// current-output controlled sources join nothing.
    fn dc_path(&self, _out: &mut Vec<usize>) {}
    /// The two nodes whose voltage difference the device imposes at DC (voltage sources,
    /// inductors, E/H/B-V sources): a loop of them leaves its current undetermined.
    fn voltage_branch(&self) -> Option<(usize, usize)> {
        None
    }
    /// Whether the device needs a branch-current unknown (numbered after the nodes).
    fn wants_branch(&self) -> bool {
        false
    }
    /// Gives the device its branch-current unknown.
    fn set_branch(&mut self, _k: usize) {}
    /// Its branch-current unknown, once given (`i(name)` and current-controlled sources).
    fn branch(&self) -> Option<usize> {
        None
    }
    /// How many state unknowns the device needs besides its terminals and branch (a B
    /// source's `ddt()`/`idt()`), numbered after every branch.
    fn n_states(&self) -> usize {
        0
    }
    /// Gives the device its state unknowns `first .. first + n_states()`.
    fn set_states(&mut self, _first: usize) {}
    /// Resolves the circuit quantities the device reads besides its terminals, in the order
    /// its builder named them: (plus, minus) unknowns of `v(a,b)`, (branch, 0) of `i(x)`.
    fn set_reads(&mut self, _ix: &[(usize, usize)]) {}
    /// Writes the state the device starts from with `uic` (a capacitor's voltage, an
    /// inductor's current) into `x`.
    fn initial_state(&self, _x: &mut [f64]) {}
    /// Whether F and Q are linear in x (between accepted points): then one Newton step solves
    /// the system exactly.
    fn linear(&self) -> bool {
        true
    }
    /// Whether the instance line says `off` (see [`Load::init_fix`]).
    fn off(&self) -> bool {
        false
    }
    /// Independent sources are loaded at every time point even when the rest of a linear
    /// system is reused as an affine map.
    fn independent_source(&self) -> bool {
        false
    }
    /// Whether the device is an independent current source (a `.dc` over it sweeps a current).
    fn drives_current(&self) -> bool {
        false
    }
    /// Sets the DC value of an independent source (a `.dc` sweep point).
    fn set_dc(&mut self, _v: f64) {}
    /// Adds the device's small-signal excitation (`AC mag phase`) to the right-hand side of
    /// an `.ac` analysis, as (real, imaginary) per unknown; index 0 is ground.
    fn ac_rhs(&self, _b: &mut [(f64, f64)]) {}
    /// Turns the Jacobians just loaded at the operating point into the device's small-signal
    /// model for `.ac` where that differs from the exact linearisation (the BJT keeps its base
    /// resistance at the bias-point value, as SPICE's small-signal model does).
    fn ac_linearise(&self, _jf: &mut [f64], _jq: &mut [f64]) {}
    /// The local mismatch draws the device needs in a Monte Carlo run (none by default).
    fn mismatch(&self, _out: &mut Vec<MismatchDraw>) -> Result<()> {
        Ok(())
    }
    /// Takes the drawn values, in the order `mismatch` asked for them.
    fn set_mismatch(&mut self, _v: &[f64]) -> Result<()> {
        Ok(())
    }
    /// The key slot of the device's transient-noise stream (a `TRNOISE` source), which the
    /// elaborator fills from the run's seed and the instance path; none by default.
    fn noise_key(&mut self) -> Option<&mut Option<u64>> {
        None
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

/// A two-terminal element's matrix entries: the 2x2 block between `a` and `b`.
#[derive(Debug, Clone, Default)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    slots: [usize; 4],
}

impl Pair {
    pub fn new(a: usize, b: usize) -> Pair {
        Pair {
            a,
            b,
            slots: [0; 4],
        }
    }
    pub fn setup(&mut self, s: &mut Setup) {
        self.slots = req2(s, self.a, self.b);
    }
    pub fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    pub fn renumber(&mut self, m: &[usize]) {
        (self.a, self.b) = (m[self.a], m[self.b]);
    }
    /// v(a) - v(b).
    #[inline]
    pub fn v(&self, x: &[f64]) -> f64 {
        x[self.a] - x[self.b]
    }
    /// Adds `y` leaving `a` and entering `b` to the vector `r` (F or Q) and the conductance-like
    /// `g` to the block of the Jacobian `j`.
    #[inline]
    pub fn stamp(&self, r: &mut [f64], j: &mut [f64], y: f64, g: f64) {
        r[self.a] += y;
        r[self.b] -= y;
        stamp2(j, &self.slots, g);
    }
    /// Adds the conductance-like `g` to the block of the Jacobian `j` only.
    #[inline]
    pub fn stamp_j(&self, j: &mut [f64], g: f64) {
        stamp2(j, &self.slots, g);
    }
}

/// The verbs of a two-terminal device whose matrix entries are the [`Pair`] field `$f`: its
/// setup, remap, terminals and renumbering.
macro_rules! pair_verbs {
    ($f:ident) => {
        fn setup(&mut self, s: &mut Setup) {
            self.$f.setup(s);
        }
        fn remap(&mut self, map: &[usize]) {
            self.$f.remap(map);
        }
        fn terminals(&self, out: &mut Vec<usize>) {
            out.extend([self.$f.a, self.$f.b]);
        }
        fn renumber(&mut self, m: &[usize]) {
            self.$f.renumber(m);
        }
    };
}
pub(crate) use pair_verbs;

/// The structural verbs of a device whose output is the [`Branch`] field `$f`: a DC path and
/// an imposed voltage between its nodes, and a branch current.
macro_rules! branch_verbs {
    ($f:ident) => {
        fn dc_path(&self, out: &mut Vec<usize>) {
            out.extend([self.$f.p, self.$f.n]);
        }
        fn voltage_branch(&self) -> Option<(usize, usize)> {
            Some((self.$f.p, self.$f.n))
        }
        fn wants_branch(&self) -> bool {
            true
        }
        fn set_branch(&mut self, k: usize) {
            self.$f.k = k;
        }
        fn branch(&self) -> Option<usize> {
            Some(self.$f.k)
        }
    };
}
pub(crate) use branch_verbs;

/// A branch current `k` flowing from `p` through the device to `n`, and the branch equation
/// v(p) - v(n) - e = 0 in row `k`: the entries every voltage-defined device shares.
#[derive(Debug, Clone, Default)]
pub struct Branch {
    pub p: usize,
    pub n: usize,
    pub k: usize,
    slots: [usize; 4],
}

impl Branch {
    pub fn new(p: usize, n: usize) -> Branch {
        Branch {
            p,
            n,
            k: 0,
            slots: [0; 4],
        }
    }
    /// Declares (p,k), (n,k), (k,p), (k,n).
    pub fn setup(&mut self, s: &mut Setup) {
        let (p, n, k) = (self.p, self.n, self.k);
        self.slots = [s.entry(p, k), s.entry(n, k), s.entry(k, p), s.entry(k, n)];
    }
    pub fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    pub fn renumber(&mut self, m: &[usize]) {
        (self.p, self.n, self.k) = (m[self.p], m[self.n], m[self.k]);
    }
    /// Loads the branch current into the KCL rows and v(p) - v(n) - `e` into the branch row,
    /// with their unit Jacobian entries; `e` is the rest of the branch equation (its source
    /// value, controlled value, ...), whose derivatives the device adds itself.
    #[inline]
    pub fn load(&self, l: &mut Load, e: f64) {
        let i = l.x[self.k];
        l.f[self.p] += i;
        l.f[self.n] -= i;
        l.f[self.k] += l.x[self.p] - l.x[self.n] - e;
        l.jf[self.slots[0]] += 1.0;
        l.jf[self.slots[1]] -= 1.0;
        l.jf[self.slots[2]] += 1.0;
        l.jf[self.slots[3]] -= 1.0;
    }
}

/// Requests every entry of the dense block among a device's `nodes` into `slots`
/// (row-major, `nodes.len()^2` of them), for devices whose currents depend on several
/// terminal voltages (BJT, JFET); coinciding nodes share entries, ground entries are trash.
pub fn req_block(s: &mut Setup, nodes: &[usize], slots: &mut [usize]) {
    let n = nodes.len();
    for (r, &nr) in nodes.iter().enumerate() {
        for (c, &nc) in nodes.iter().enumerate() {
            slots[r * n + c] = s.entry(nr, nc);
        }
    }
}

/// The structural verbs of a device with a dense block (see [`req_block`]) over its node
/// array field `$nodes` with slots `$slots`: setup, remap, terminals, renumbering, a DC path
/// joining every node (gmin across each junction), and nonlinearity.
macro_rules! block_verbs {
    ($nodes:ident, $slots:ident) => {
        fn setup(&mut self, s: &mut Setup) {
            req_block(s, &self.$nodes, &mut self.$slots);
        }
        fn remap(&mut self, map: &[usize]) {
            remap_all(&mut self.$slots, map);
        }
        fn terminals(&self, out: &mut Vec<usize>) {
            out.extend(self.$nodes);
        }
        fn renumber(&mut self, m: &[usize]) {
            for n in self.$nodes.iter_mut() {
                *n = m[*n];
            }
        }
        fn dc_path(&self, out: &mut Vec<usize>) {
            out.extend(self.$nodes);
        }
        fn linear(&self) -> bool {
            false
        }
    };
}
pub(crate) use block_verbs;

/// Writes currents and charges through a device's dense block (see [`req_block`]); terminals
/// are local indices into `nodes`.
pub struct Block<'s, 'l, 'x> {
    pub l: &'l mut Load<'x>,
    pub nodes: &'s [usize],
    pub slots: &'s [usize],
}

impl Block<'_, '_, '_> {
    #[inline]
    fn stamp(
        j: &mut [f64],
        slots: &[usize],
        n: usize,
        p: usize,
        m: usize,
        d: &[(usize, usize, f64)],
    ) {
        for &(cp, cn, g) in d {
            j[slots[p * n + cp]] += g;
            j[slots[p * n + cn]] -= g;
            j[slots[m * n + cp]] -= g;
            j[slots[m * n + cn]] += g;
        }
    }
    /// Current `i` from local terminal `p` through the device to `m`, with its derivatives
    /// `(cp, cn, g)`: di / d(v(cp) - v(cn)) = g.
    #[inline]
    pub fn cur(&mut self, p: usize, m: usize, i: f64, d: &[(usize, usize, f64)]) {
        self.l.f[self.nodes[p]] += i;
        self.l.f[self.nodes[m]] -= i;
        Self::stamp(self.l.jf, self.slots, self.nodes.len(), p, m, d);
    }
    /// Charge `q` on local terminal `p` (and -q on `m`), with its derivatives as in `cur`.
    #[inline]
    pub fn chg(&mut self, p: usize, m: usize, q: f64, d: &[(usize, usize, f64)]) {
        self.l.q[self.nodes[p]] += q;
        self.l.q[self.nodes[m]] -= q;
        Self::stamp(self.l.jq, self.slots, self.nodes.len(), p, m, d);
    }
}
