//! The BSIM4 circuit device: node bookkeeping, Newton voltage limiting (ngspice's fetlim on
//! Vgs/Vgd, limvds on Vds, pnjlim on the junctions), stamping through matrix slots, and
//! bypass (a quiet device restamps the linearisation of its last evaluation).
//!
//! The front end builds an [`Instance`] first, asks [`Instance::internal_nodes`] which of
//! the five internal nodes exist, numbers those as unknowns (like a diode's internal
//! anode) and then constructs [`Bsim4`] with all node numbers.

use std::sync::Arc;

use super::params::{Card, InstanceParams};
use super::setup::Instance;
use super::{B, BP, Branches, D, DB, DP, G, N_NODES, S, SB, SP, Sink};
use crate::devices::limit::{fetlim, limvds, pnjlim};
use crate::devices::{DeviceOps, Load, Setup};
use crate::error::Result;

/// Thermal voltage at 27 C used by SPICE's junction limiting (CONSTvt0) \[V\].
const VT0: f64 = 1.38064852e-23 * 300.15 / 1.6021766208e-19;

/// Marks a (row, col) pair of logical nodes the device never writes.
const UNUSED: usize = usize::MAX;

/// Voltages of the last Newton iterate after limiting (n-channel frame).
#[derive(Clone, Copy, Debug, Default)]
struct Limits {
    vds: f64,
    vgs: f64,
    vbs: f64,
    /// Drain-side / source-side body node against source' (the network's junction ends).
    vdbs: f64,
    vsbs: f64,
    von: f64,
    valid: bool,
}

/// A BSIM4 MOSFET in the circuit.
#[derive(Clone, Debug)]
pub struct Bsim4 {
    /// Unknown of each logical node (drain, gate, source, bulk, drain', source', body',
    /// drain-side body, source-side body); a missing internal node has its terminal's.
    pub nodes: [usize; N_NODES],
    card: Arc<Card>,
    params: InstanceParams,
    inst: Instance,
    temp_k: f64,
    /// Start the operating-point search with the device off (`off` on the instance line).
    off: bool,
    /// Matrix slot of each (row, col) pair of logical nodes the device touches.
    slots: [usize; N_NODES * N_NODES],
    lim: Limits,
    /// The stamps of the last full evaluation, for bypass.
    byp: Bypass,
}

/// What the device stamped at its last full evaluation (real polarity, multiplier
/// included, by logical node after collapsing): the node voltages, currents and charges and
/// both Jacobians. A bypassed load stamps the linearisation f0 + Jf (x - x0),
/// q0 + Jq (x - x0), the model the Newton step of that evaluation solved already.
#[derive(Clone, Debug)]
struct Bypass {
    valid: bool,
    x: [f64; N_NODES],
    f: [f64; N_NODES],
    q: [f64; N_NODES],
    jf: [f64; N_NODES * N_NODES],
    jq: [f64; N_NODES * N_NODES],
}

impl Default for Bypass {
    fn default() -> Self {
        Bypass {
            valid: false,
            x: [0.0; N_NODES],
            f: [0.0; N_NODES],
            q: [0.0; N_NODES],
            jf: [0.0; N_NODES * N_NODES],
            jq: [0.0; N_NODES * N_NODES],
        }
    }
}

impl Bypass {
    /// Whether node voltages `xv` (real polarity) are close enough to the evaluation's for
    /// its stamps to stand (ngspice's BSIM4 bypass test): every branch voltage of the model
    /// (Vds, Vgs, Vbs of the intrinsic device, both junctions) within reltol of its size
    /// plus vntol, and the drain and bulk terminal currents the linearisation predicts
    /// within reltol plus abstol of the evaluated ones. The series and body resistances are
    /// linear, so their stamps are exact at any voltage.
    fn holds(&self, inst: &Instance, xv: &[f64; N_NODES], dx: &[f64; N_NODES], l: &Load) -> bool {
        if !self.valid {
            return false;
        }
        let (b0, b1) = (inst.branches(&self.x), inst.branches(xv));
        let tol = &l.bypass;
        for (v0, v1) in [
            (b0.vds, b1.vds),
            (b0.vgs, b1.vgs),
            (b0.vbs, b1.vbs),
            (b0.vbd_j, b1.vbd_j),
            (b0.vbs_j, b1.vbs_j),
        ] {
            if (v1 - v0).abs() > tol.reltol * v0.abs().max(v1.abs()) + tol.vntol {
                return false;
            }
        }
        for r in [D, B] {
            let df: f64 = (0..N_NODES).map(|c| self.jf[r * N_NODES + c] * dx[c]).sum();
            let f0 = self.f[r];
            if df.abs() > tol.reltol * f0.abs().max((f0 + df).abs()) + tol.abstol {
                return false;
            }
        }
        true
    }
}

impl Bsim4 {
    /// A device of `card` with instance parameters `params` at `temp_k` \[K\]; `terminals`
    /// are the unknowns of drain, gate, source, bulk and `internal` those of drain',
    /// source', body', drain-side and source-side body node, in the order of
    /// [`Instance::internal_nodes`] (entries for nodes that do not exist are ignored).
    pub fn new(
        terminals: [usize; 4],
        internal: [usize; 5],
        card: Arc<Card>,
        params: InstanceParams,
        temp_k: f64,
    ) -> Result<Bsim4> {
        let inst = Instance::new(&card, &params, temp_k)?;
        Ok(Bsim4::with_instance(
            terminals, internal, card, params, inst, temp_k,
        ))
    }

    /// [`Bsim4::new`] with the instance already built from `card` and `params` at
    /// `temp_k` (the front end builds it first to learn which internal nodes exist).
    pub fn with_instance(
        terminals: [usize; 4],
        internal: [usize; 5],
        card: Arc<Card>,
        params: InstanceParams,
        inst: Instance,
        temp_k: f64,
    ) -> Bsim4 {
        let mut nodes = [0; N_NODES];
        nodes[..4].copy_from_slice(&terminals);
        for (k, exists) in inst.internal_nodes().into_iter().enumerate() {
            let n = DP + k;
            nodes[n] = if exists {
                internal[k]
            } else {
                nodes[inst.collapse(n)]
            };
        }
        let off = params.off != 0.0;
        Bsim4 {
            nodes,
            card,
            params,
            inst,
            temp_k,
            off,
            slots: [UNUSED; N_NODES * N_NODES],
            lim: Limits::default(),
            byp: Bypass::default(),
        }
    }

    /// Stamps the linearisation of the last full evaluation at node voltages differing by
    /// `dx` from its own (see [`Bypass`]).
    fn stamp_bypass(&self, dx: &[f64; N_NODES], l: &mut Load) {
        let c = &self.byp;
        for r in 0..N_NODES {
            let (mut f, mut q) = (c.f[r], c.q[r]);
            for (k, d) in dx.iter().enumerate() {
                let slot = self.slots[r * N_NODES + k];
                if slot == UNUSED {
                    continue;
                }
                let (gf, gq) = (c.jf[r * N_NODES + k], c.jq[r * N_NODES + k]);
                f += gf * d;
                q += gq * d;
                l.jf[slot] += gf;
                l.jq[slot] += gq;
            }
            l.f[self.nodes[r]] += f;
            l.q[self.nodes[r]] += q;
        }
    }

    /// The precomputed instance (for evaluation outside a circuit).
    pub fn instance(&self) -> &Instance {
        &self.inst
    }

    /// The instance parameters the device was built with (after the netlist's expressions and
    /// any mismatch draws: what ngspice's `show m : delvto` prints).
    pub fn params(&self) -> &InstanceParams {
        &self.params
    }

    /// The model card the device uses (after bin selection).
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// Every (row, col) pair of logical nodes a load writes, before collapsing.
    fn pairs(&self) -> Vec<(usize, usize)> {
        let mut p = Vec::with_capacity(64);
        let ch = [DP, G, SP, BP];
        for r in ch {
            for c in ch {
                p.push((r, c));
            }
        }
        for (a, b) in [(DB, DP), (SB, SP)] {
            p.extend([(a, a), (a, b), (b, a), (b, b)]);
        }
        for (ext, int) in [(D, DP), (S, SP)] {
            for r in [ext, int] {
                p.extend([(r, ext), (r, int)]);
                if self.inst.rdsmod != 0 {
                    p.extend([(r, DP), (r, G), (r, SP), (r, BP)]);
                }
            }
        }
        if self.inst.rbodymod != 0 {
            for (a, b) in [(BP, DB), (BP, SB), (BP, B), (DB, B), (SB, B)] {
                p.extend([(a, a), (a, b), (b, a), (b, b)]);
            }
        }
        p
    }

    /// Stores the (limited) voltages of this iterate and returns the branch voltages to
    /// evaluate at (without a body network the junctions sit between body and source' /
    /// drain').
    fn keep(&mut self, vds: f64, vgs: f64, vbs: f64, vdbs: f64, vsbs: f64, von: f64) -> Branches {
        self.lim = Limits {
            vds,
            vgs,
            vbs,
            vdbs,
            vsbs,
            von,
            valid: true,
        };
        if self.inst.rbodymod != 0 {
            Branches {
                vds,
                vgs,
                vbs,
                vbd_j: vdbs - vds,
                vbs_j: vsbs,
            }
        } else {
            Branches {
                vds,
                vgs,
                vbs,
                vbd_j: vbs - vds,
                vbs_j: vbs,
            }
        }
    }

    /// Newton limiting of the branch voltages `act` (n-channel frame) against the last
    /// iterate; returns the voltages to evaluate at and whether any was changed.
    fn limit(&mut self, act: &Branches, init: bool) -> (Branches, bool) {
        let inst = &self.inst;
        let (mut vds, mut vgs, mut vbs);
        let (mut vdbs, mut vsbs);
        let body = inst.rbodymod != 0;
        if init || !self.lim.valid {
            if self.off {
                (vds, vgs, vbs, vdbs, vsbs) = (0.0, 0.0, 0.0, 0.0, 0.0);
            } else {
                vds = 0.1;
                vgs = inst.sign * inst.vth0 + 0.1;
                (vbs, vdbs, vsbs) = (0.0, 0.0, 0.0);
            }
            let at = self.keep(vds, vgs, vbs, vdbs, vsbs, self.lim.von);
            return (at, true);
        }
        let old = self.lim;
        vds = act.vds;
        vgs = act.vgs;
        vbs = act.vbs;
        let vgd = vgs - vds;
        // the network's junction ends against source'
        vdbs = act.vbd_j + act.vds;
        vsbs = act.vbs_j;
        let von = old.von;
        if old.vds >= 0.0 {
            vgs = fetlim(vgs, old.vgs, von);
            vds = vgs - vgd;
            vds = limvds(vds, old.vds);
        } else {
            let vgd = fetlim(vgd, old.vgs - old.vds, von);
            vds = vgs - vgd;
            vds = -limvds(-vds, -old.vds);
            vgs = vgd + vds;
        }
        let vcrit = VT0 * (VT0 / (std::f64::consts::SQRT_2 * 1.0e-14)).ln();
        let mut changed;
        if vds >= 0.0 {
            let (v, c) = pnjlim(vbs, old.vbs, VT0, vcrit);
            vbs = v;
            changed = c;
            if body {
                let (v1, c1) = pnjlim(vdbs, old.vdbs, VT0, vcrit);
                let (v2, c2) = pnjlim(vsbs, old.vsbs, VT0, vcrit);
                vdbs = v1;
                vsbs = v2;
                changed = c1 || c2;
            }
        } else {
            let (vbd, c) = pnjlim(vbs - vds, old.vbs - old.vds, VT0, vcrit);
            vbs = vbd + vds;
            changed = c;
            if body {
                let (vdbd, c1) = pnjlim(vdbs - vds, old.vdbs - old.vds, VT0, vcrit);
                vdbs = vdbd + vds;
                let (vsbd, c2) = pnjlim(vsbs - vds, old.vsbs - old.vds, VT0, vcrit);
                vsbs = vsbd + vds;
                changed = c1 || c2;
            }
        }
        let moved = (vgs - act.vgs).abs() > 1e-12
            || (vds - act.vds).abs() > 1e-12
            || (vbs - act.vbs).abs() > 1e-12;
        let at = self.keep(vds, vgs, vbs, vdbs, vsbs, von);
        (at, changed || moved)
    }
}

struct SlotSink<'a, 'b> {
    l: &'a mut Load<'b>,
    nodes: &'a [usize; N_NODES],
    slots: &'a [usize; N_NODES * N_NODES],
}

impl Sink for SlotSink<'_, '_> {
    #[inline(always)]
    fn i(&mut self, n: usize, v: f64) {
        self.l.f[self.nodes[n]] += v;
    }
    #[inline(always)]
    fn q(&mut self, n: usize, v: f64) {
        self.l.q[self.nodes[n]] += v;
    }
    #[inline(always)]
    fn gi(&mut self, r: usize, c: usize, v: f64) {
        self.l.jf[self.slots[r * N_NODES + c]] += v;
    }
    #[inline(always)]
    fn cq(&mut self, r: usize, c: usize, v: f64) {
        self.l.jq[self.slots[r * N_NODES + c]] += v;
    }
}

/// A [`SlotSink`] that also keeps what it stamps, for bypass.
struct RecordSink<'a, 'b> {
    out: SlotSink<'a, 'b>,
    rec: &'a mut Bypass,
}

impl Sink for RecordSink<'_, '_> {
    #[inline(always)]
    fn i(&mut self, n: usize, v: f64) {
        self.out.i(n, v);
        self.rec.f[n] += v;
    }
    #[inline(always)]
    fn q(&mut self, n: usize, v: f64) {
        self.out.q(n, v);
        self.rec.q[n] += v;
    }
    #[inline(always)]
    fn gi(&mut self, r: usize, c: usize, v: f64) {
        self.out.gi(r, c, v);
        self.rec.jf[r * N_NODES + c] += v;
    }
    #[inline(always)]
    fn cq(&mut self, r: usize, c: usize, v: f64) {
        self.out.cq(r, c, v);
        self.rec.jq[r * N_NODES + c] += v;
    }
}

impl DeviceOps for Bsim4 {
    fn setup(&mut self, s: &mut Setup) {
        self.slots = [UNUSED; N_NODES * N_NODES];
        for (r, c) in self.pairs() {
            let (r, c) = (self.inst.collapse(r), self.inst.collapse(c));
            let k = r * N_NODES + c;
            if self.slots[k] == UNUSED {
                self.slots[k] = s.entry(self.nodes[r], self.nodes[c]);
            }
        }
    }
    fn remap(&mut self, map: &[usize]) {
        for slot in self.slots.iter_mut().filter(|s| **s != UNUSED) {
            *slot = map[*slot];
        }
    }
    fn load(&mut self, l: &mut Load) {
        // a temperature sweep re-derives the instance; a temperature at which the card
        // cannot be evaluated (u0 or vsat not positive, ...) loads NaN so that the analysis
        // fails at that point instead of silently using another temperature
        if (l.temp - self.temp_k).abs() > 1e-9 {
            match Instance::new(&self.card, &self.params, l.temp) {
                Ok(inst) => {
                    self.inst = inst;
                    self.temp_k = l.temp;
                    self.byp.valid = false;
                }
                Err(_) => {
                    l.f[self.nodes[D]] = f64::NAN;
                    return;
                }
            }
        }
        let xv: [f64; N_NODES] = std::array::from_fn(|n| l.x[self.nodes[n]]);
        let bypass = l.bypass.on && !l.init_junctions;
        if bypass {
            let dx: [f64; N_NODES] = std::array::from_fn(|n| xv[n] - self.byp.x[n]);
            if self.byp.holds(&self.inst, &xv, &dx, l) {
                self.stamp_bypass(&dx, l);
                l.bypass.count += 1;
                return;
            }
        }
        let k = self.inst.sign;
        let v = xv.map(|x| k * x);
        let act = self.inst.branches(&v);
        let (at, changed) = self.limit(&act, l.init_junctions);
        if changed && !l.init_junctions {
            l.noncon = true;
        }
        let gmin = l.gmin;
        let inst = &self.inst;
        let nodes = &self.nodes;
        let slots = &self.slots;
        let mut out = SlotSink { l, nodes, slots };
        let op = if bypass {
            let rec = &mut self.byp;
            rec.f = [0.0; N_NODES];
            rec.q = [0.0; N_NODES];
            rec.jf = [0.0; N_NODES * N_NODES];
            rec.jq = [0.0; N_NODES * N_NODES];
            rec.x = xv;
            // a limited evaluation is not the device at these voltages
            rec.valid = !changed;
            inst.assemble(&v, &at, gmin, &mut RecordSink { out, rec })
        } else {
            self.byp.valid = false;
            inst.assemble(&v, &at, gmin, &mut out)
        };
        self.lim.von = op.vth;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend(self.nodes);
    }
    fn renumber(&mut self, m: &[usize]) {
        for n in &mut self.nodes {
            *n = m[*n];
        }
    }
    /// The channel, the series resistances, the body network and the junctions join every
    /// node but the gate.
    fn dc_path(&self, out: &mut Vec<usize>) {
        out.extend([D, DP, SP, S, B, BP, DB, SB].map(|k| self.nodes[k]));
    }
    fn linear(&self) -> bool {
        false
    }
}
