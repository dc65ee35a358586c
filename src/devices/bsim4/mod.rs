//! BSIM4 (version 4.5, ngspice `level=14`/`54`): the Berkeley short-channel MOSFET model
//! that foundry PDKs such as SkyWater sky130 ship, written from the BSIM4 technical
//! manual's equations with exact derivatives from dual numbers (`dual.rs`).
//!
//! # Layout
//! * `params.rs` — the model-card and instance parameter tables (name, unit, default,
//!   doc), binning variants generated from the same table, switch validation.
//! * `setup.rs` — everything bias-independent: effective sizes, binning, temperature,
//!   stress and well-proximity effects, parasitic resistances, junction constants.
//! * `channel.rs` — the intrinsic device: currents and charges of drain', gate, source',
//!   body' as dual numbers.
//! * `junction.rs` — source/drain junction diodes and their depletion charges.
//! * `geo.rs` — diffusion areas, perimeters and resistances from the layout (`geomod`).
//! * `device.rs` — the circuit device ([`Bsim4`]): node bookkeeping, Newton voltage
//!   limiting, stamping through matrix slots.
//!
//! # Nodes
//! A BSIM4 instance has four terminals and up to five internal nodes: drain' and source'
//! behind the diffusion resistances (when `rsh * nrd > 0`, `rsh * nrs > 0` or `rdsmod = 1`),
//! and the body network's drain-side, intrinsic and source-side body nodes
//! (`rbodymod = 1, 2`). [`Instance::eval`] takes the voltages of all nine logical nodes
//! ([`D`] ... [`SB`]); an internal node that does not exist carries its terminal's
//! voltage and its currents are folded onto that terminal. [`Instance::terminal_eval`]
//! eliminates the internal nodes (Newton on their KCL) for a four-terminal view.

mod channel;
pub mod device;
pub(crate) mod dual;
mod geo;
mod junction;
pub mod params;
mod setup;

pub use device::Bsim4;
pub use params::{
    Binned, Card, INSTANCE_PARAMS, InstanceParams, N_PARAMS, PARAMS, ParamSpec, Polarity,
};
pub use setup::Instance;

use dual::D3;

/// Logical node index of the drain terminal.
pub const D: usize = 0;
/// Gate terminal.
pub const G: usize = 1;
/// Source terminal.
pub const S: usize = 2;
/// Bulk terminal.
pub const B: usize = 3;
/// Internal drain behind the drain diffusion resistance.
pub const DP: usize = 4;
/// Internal source behind the source diffusion resistance.
pub const SP: usize = 5;
/// Intrinsic body node (body network).
pub const BP: usize = 6;
/// Drain-side body node (body network).
pub const DB: usize = 7;
/// Source-side body node (body network).
pub const SB: usize = 8;
/// Number of logical nodes.
pub const N_NODES: usize = 9;

/// Names of the internal nodes, in the order [`Instance::internal_nodes`] lists them
/// (ngspice names them `<device>#drain`, `#source`, `#body`, `#dbody`, `#sbody`).
pub const INTERNAL_NAMES: [&str; 5] = ["drain", "source", "body", "dbody", "sbody"];

/// Operating-point quantities of the intrinsic device, as ngspice reports them
/// (`@m[gm]` ...): n-channel frame, source and drain exchanged when Vds < 0.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpInfo {
    /// Channel current (drain' to source', real sign) \[A\].
    pub ids: f64,
    /// d ids / d (vg, vd, vb) at fixed source \[S\].
    pub gm: f64,
    pub gds: f64,
    pub gmbs: f64,
    /// Threshold and saturation voltages \[V\].
    pub vth: f64,
    pub vdsat: f64,
    /// Substrate (impact ionisation) current \[A\].
    pub isub: f64,
    /// Intrinsic capacitances c\[x\]\[y\] = d Q_x / d V_y over (gate, drain', source',
    /// body') \[F\] (overlaps and junctions excluded, like ngspice's `cgg` ... `cbb`).
    pub cint: [[f64; 4]; 4],
    /// Terminal charges (gate, drain', source', body') with overlaps, n-channel frame \[C\].
    pub q: [f64; 4],
    /// Intrinsic charges (gate, drain', source', body'), n-channel frame, like ngspice's
    /// `qg`, `qd`, `qs`, `qb` \[C\].
    pub qi: [f64; 4],
    /// Drain-body and source-body junction currents (body to diffusion) \[A\] and
    /// capacitances \[F\].
    pub ibd: f64,
    pub ibs: f64,
    pub capbd: f64,
    pub capbs: f64,
}

/// Currents into, and charges on, every logical node with their Jacobians (real
/// polarity, multiplier included).
#[derive(Clone, Debug, PartialEq)]
pub struct Eval {
    /// Current flowing into the device at each logical node \[A\].
    pub i: [f64; N_NODES],
    /// Charge on each logical node \[C\].
    pub q: [f64; N_NODES],
    /// di\[r\]\[c\] = d i_r / d v_c \[S\].
    pub di: [[f64; N_NODES]; N_NODES],
    /// dq\[r\]\[c\] = d q_r / d v_c \[F\].
    pub dq: [[f64; N_NODES]; N_NODES],
    /// The intrinsic device's operating point.
    pub op: OpInfo,
}

/// Where the stamped values go: a dense matrix for [`Instance::eval`] or matrix slots in
/// the circuit device.
pub(crate) trait Sink {
    fn i(&mut self, n: usize, v: f64);
    fn q(&mut self, n: usize, v: f64);
    fn gi(&mut self, r: usize, c: usize, v: f64);
    fn cq(&mut self, r: usize, c: usize, v: f64);
}

/// Intrinsic-node columns of the channel duals: (drain', gate, body') carry d/dVds,
/// d/dVgs, d/dVbs; source' carries minus their sum.
const CH_NODES: [usize; 3] = [DP, G, BP];

/// Branch voltages (n-channel frame) at which the model is evaluated: the Newton
/// iterate, or the voltages after limiting.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Branches {
    pub vds: f64,
    pub vgs: f64,
    pub vbs: f64,
    /// Drain-side and source-side junction forward biases.
    pub vbd_j: f64,
    pub vbs_j: f64,
}

impl Instance {
    /// Which internal nodes exist: drain', source', and the three body-network nodes.
    pub fn internal_nodes(&self) -> [bool; 5] {
        let body = self.rbodymod != 0;
        [self.has_dp, self.has_sp, body, body, body]
    }

    /// The logical node an internal node stands for when it does not exist.
    pub fn collapse(&self, n: usize) -> usize {
        self.cmap[n]
    }

    /// The collapse map of all logical nodes.
    pub(crate) fn collapse_map(has_dp: bool, has_sp: bool, body: bool) -> [usize; N_NODES] {
        [
            D,
            G,
            S,
            B,
            if has_dp { DP } else { D },
            if has_sp { SP } else { S },
            if body { BP } else { B },
            if body { DB } else { B },
            if body { SB } else { B },
        ]
    }

    /// Branch voltages of logical node voltages `v` (n-channel frame).
    pub(crate) fn branches(&self, v: &[f64; N_NODES]) -> Branches {
        let n = |k: usize| v[self.cmap[k]];
        Branches {
            vds: n(DP) - n(SP),
            vgs: n(G) - n(SP),
            vbs: n(BP) - n(SP),
            vbd_j: n(DB) - n(DP),
            vbs_j: n(SB) - n(SP),
        }
    }

    /// Stamps the device at n-frame node voltages `v`, linearised around the (possibly
    /// limited) branch voltages `at`: every current and charge is its value at `at` plus
    /// its derivative times (actual - `at`). Values go out in real polarity with the
    /// multiplier applied. Returns the operating-point summary.
    pub(crate) fn assemble(
        &self,
        v: &[f64; N_NODES],
        at: &Branches,
        gmin: f64,
        sink: &mut impl Sink,
    ) -> OpInfo {
        let k = self.sign;
        let m = self.m;
        let act = self.branches(v);
        let ch = self.channel(at.vds, at.vgs, at.vbs);
        let dv = [act.vds - at.vds, act.vgs - at.vgs, act.vbs - at.vbs];
        let lin = |x: &D3| x.v + x.d[0] * dv[0] + x.d[1] * dv[1] + x.d[2] * dv[2];
        let cmap = self.cmap;
        let cn = |r: usize| cmap[r];

        // channel currents, summed per intrinsic row: into drain', source', body'
        let rows = [
            (DP, ch.ids + ch.idb),
            (SP, ch.isb - ch.ids),
            (BP, -(ch.idb + ch.isb)),
        ];
        for (node, x) in rows {
            let r = cn(node);
            sink.i(r, lin(&x) * k * m);
            stamp_d3(sink, r, &cmap, &x, m, false);
        }
        // charges on gate, drain', source', body'
        for (x, node) in ch.q.iter().zip([G, DP, SP, BP]) {
            let r = cn(node);
            sink.q(r, lin(x) * k * m);
            stamp_d3(sink, r, &cmap, x, m, true);
        }

        // junctions: body side (drain/source-side body node, the body itself without a
        // network) to the diffusion
        let (ibd, gbd) = self.jd.current(self.diomod, at.vbd_j, gmin);
        let (qbd, cbd) = self.jd.charge(at.vbd_j);
        let (ibs, gbs) = self.js.current(self.diomod, at.vbs_j, gmin);
        let (qbs, cbs) = self.js.charge(at.vbs_j);
        for (body, diff, i, g, q, c, dvj) in [
            (DB, DP, ibd, gbd, qbd, cbd, act.vbd_j - at.vbd_j),
            (SB, SP, ibs, gbs, qbs, cbs, act.vbs_j - at.vbs_j),
        ] {
            let (b, d) = (cn(body), cn(diff));
            let iv = (i + g * dvj) * k * m;
            let qv = (q + c * dvj) * k * m;
            sink.i(b, iv);
            sink.i(d, -iv);
            sink.q(b, qv);
            sink.q(d, -qv);
            let (g, c) = (g * m, c * m);
            sink.gi(b, b, g);
            sink.gi(b, d, -g);
            sink.gi(d, b, -g);
            sink.gi(d, d, g);
            sink.cq(b, b, c);
            sink.cq(b, d, -c);
            sink.cq(d, b, -c);
            sink.cq(d, d, c);
        }

        // diffusion resistances (bias-dependent with rdsmod = 1)
        for (ext, int, gx) in [(D, DP, &ch.gdtot), (S, SP, &ch.gstot)] {
            let (e, n) = (cn(ext), cn(int));
            if e == n {
                continue;
            }
            let vx = v[e] - v[n];
            let g = lin(gx);
            let iv = g * vx * k * m;
            sink.i(e, iv);
            sink.i(n, -iv);
            stamp_conductance(sink, e, n, g * m);
            if gx.d != [0.0; 3] {
                let dg = *gx * (vx * m);
                stamp_d3(sink, e, &cmap, &dg, 1.0, false);
                stamp_d3(sink, n, &cmap, &(-dg), 1.0, false);
            }
        }

        // body resistance network
        if self.rbodymod != 0 {
            for (a, b, g) in [
                (BP, DB, self.grbpd),
                (BP, SB, self.grbps),
                (BP, B, self.grbpb),
                (DB, B, self.grbdb),
                (SB, B, self.grbsb),
            ] {
                let iv = g * (v[a] - v[b]) * k * m;
                sink.i(a, iv);
                sink.i(b, -iv);
                stamp_conductance(sink, a, b, g * m);
            }
        }

        let mut cint = [[0.0; 4]; 4];
        for (r, x) in ch.qi.iter().enumerate() {
            // columns gate, drain', source', body'
            cint[r] = [x.d[1], x.d[0], -(x.d[0] + x.d[1] + x.d[2]), x.d[2]];
        }
        // ngspice reports gm, gds, gmbs in the exchanged frame for Vds < 0
        let (gm, gds, gmbs) = if ch.forward {
            (ch.ids.d[1], ch.ids.d[0], ch.ids.d[2])
        } else {
            let (dd, dg, db) = (ch.ids.d[0], ch.ids.d[1], ch.ids.d[2]);
            // ids = -f(vgd, -vds, vbd): df/dvgd = -dg, df/dvbd = -db, df/dvsd = dd + dg + db
            (-dg, dd + dg + db, -db)
        };
        OpInfo {
            ids: ch.ids.v * k * m,
            gm: gm * m,
            gds: gds * m,
            gmbs: gmbs * m,
            vth: ch.vth,
            vdsat: ch.vdsat,
            isub: ch.isub * m,
            cint: cint.map(|row| row.map(|c| c * m)),
            q: [ch.q[0].v, ch.q[1].v, ch.q[2].v, ch.q[3].v].map(|q| q * m),
            qi: [ch.qi[0].v, ch.qi[1].v, ch.qi[2].v, ch.qi[3].v].map(|q| q * m),
            ibd: ibd * m,
            ibs: ibs * m,
            capbd: cbd * m,
            capbs: cbs * m,
        }
    }

    /// Currents, charges and their exact Jacobians at logical node voltages `v` \[V\] (real
    /// polarity; internal nodes that do not exist are ignored and take their terminal's
    /// voltage), with `gmin` \[S\] across the junctions as SPICE adds it.
    pub fn eval(&self, v: &[f64; N_NODES], gmin: f64) -> Eval {
        let k = self.sign;
        let vn = v.map(|x| x * k);
        let mut e = Eval {
            i: [0.0; N_NODES],
            q: [0.0; N_NODES],
            di: [[0.0; N_NODES]; N_NODES],
            dq: [[0.0; N_NODES]; N_NODES],
            op: OpInfo::default(),
        };
        let at = self.branches(&vn);
        e.op = self.assemble(&vn, &at, gmin, &mut DenseSink(&mut e));
        e
    }

    /// The four-terminal view: currents into (drain, gate, source, bulk) at terminal
    /// voltages \[V\], with the internal nodes solved for their DC KCL (Newton), and the
    /// conductance matrix of the terminals (the Schur complement of the internal rows).
    /// Returns `None` if the internal nodes do not converge.
    pub fn terminal_eval(
        &self,
        vd: f64,
        vg: f64,
        vs: f64,
        vb: f64,
        gmin: f64,
    ) -> Option<TerminalEval> {
        let ext = [vd, vg, vs, vb];
        let mut v = [vd, vg, vs, vb, vd, vs, vb, vb, vb];
        let internal: Vec<usize> = (DP..N_NODES).filter(|&n| self.collapse(n) == n).collect();
        let ni = internal.len();
        // a missing internal node carries its terminal's voltage
        let fold = |v: &mut [f64; N_NODES]| {
            for n in DP..N_NODES {
                v[n] = v[self.collapse(n)];
            }
        };
        for _ in 0..100 {
            fold(&mut v);
            let e = self.eval(&v, gmin);
            // Newton on the internal rows
            let mut a = internal_block(&e, &internal);
            let mut r: Vec<f64> = internal.iter().map(|&n| -e.i[n]).collect();
            let dx = solve_dense(&mut a, &mut r, ni)?;
            let mut maxd: f64 = 0.0;
            for (ii, &n) in internal.iter().enumerate() {
                let step = dx[ii].clamp(-0.5, 0.5);
                v[n] += step;
                maxd = maxd.max(step.abs());
            }
            if maxd < 1e-13 {
                break;
            }
        }
        fold(&mut v);
        let e = self.eval(&v, gmin);
        // residual check on the internal rows
        // (a node's residual cannot go below its conductances times the voltages' rounding)
        let scale: f64 = e.i.iter().map(|x| x.abs()).fold(1e-15, f64::max);
        let vmax = v.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        if internal.iter().any(|&n| {
            let gsum: f64 = e.di[n].iter().map(|g| g.abs()).sum();
            e.i[n].abs() > 1e-9 * scale + 16.0 * f64::EPSILON * vmax * gsum
        }) {
            return None;
        }
        // Schur complement for the terminal conductances
        let mut g = [[0.0; 4]; 4];
        for r in 0..4 {
            for c in 0..4 {
                g[r][c] = e.di[r][c];
            }
        }
        if ni > 0 {
            for c in 0..4 {
                let mut a = internal_block(&e, &internal);
                let mut rhs: Vec<f64> = internal.iter().map(|&n| -e.di[n][c]).collect();
                let dvi = solve_dense(&mut a, &mut rhs, ni)?;
                for r in 0..4 {
                    for (ii, &n) in internal.iter().enumerate() {
                        g[r][c] += e.di[r][n] * dvi[ii];
                    }
                }
            }
        }
        Some(TerminalEval {
            i: [e.i[D], e.i[G], e.i[S], e.i[B]],
            g,
            v_internal: v,
            terminals: ext,
            op: e.op,
        })
    }
}

/// The four-terminal view of an instance (internal nodes eliminated).
#[derive(Clone, Debug, PartialEq)]
pub struct TerminalEval {
    /// Currents into drain, gate, source, bulk \[A\].
    pub i: [f64; 4],
    /// g\[r\]\[c\] = d i_r / d v_c over the terminals \[S\].
    pub g: [[f64; 4]; 4],
    /// Solved voltages of all nine logical nodes \[V\].
    pub v_internal: [f64; N_NODES],
    /// The terminal voltages asked for \[V\].
    pub terminals: [f64; 4],
    /// The intrinsic device's operating point.
    pub op: OpInfo,
}

/// The conductance block of the internal rows and columns of an evaluation.
fn internal_block(e: &Eval, internal: &[usize]) -> Vec<f64> {
    let n = internal.len();
    let mut a = vec![0.0; n * n];
    for (ii, &r) in internal.iter().enumerate() {
        for (jj, &c) in internal.iter().enumerate() {
            a[ii * n + jj] = e.di[r][c];
        }
    }
    a
}

/// Gaussian elimination with partial pivoting on a small dense system; None if singular.
fn solve_dense(a: &mut [f64], b: &mut [f64], n: usize) -> Option<Vec<f64>> {
    for col in 0..n {
        let piv =
            (col..n).max_by(|&x, &y| a[x * n + col].abs().total_cmp(&a[y * n + col].abs()))?;
        if a[piv * n + col] == 0.0 || !a[piv * n + col].is_finite() {
            return None;
        }
        if piv != col {
            for k in 0..n {
                a.swap(col * n + k, piv * n + k);
            }
            b.swap(col, piv);
        }
        for row in col + 1..n {
            let f = a[row * n + col] / a[col * n + col];
            for k in col..n {
                a[row * n + k] -= f * a[col * n + k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let mut s = b[row];
        for k in row + 1..n {
            s -= a[row * n + k] * x[k];
        }
        x[row] = s / a[row * n + row];
    }
    Some(x)
}

/// Stamps a conductance `g` between nodes `a` and `b` into dF/dx.
#[inline(always)]
fn stamp_conductance<S: Sink>(sink: &mut S, a: usize, b: usize, g: f64) {
    sink.gi(a, a, g);
    sink.gi(a, b, -g);
    sink.gi(b, a, -g);
    sink.gi(b, b, g);
}

/// Stamps the Jacobian row `r` of a dual-number quantity of the intrinsic device: its
/// partials by Vds, Vgs, Vbs go to the drain', gate, body' columns and minus their sum to
/// source' (`charge`: into dQ/dx instead of dF/dx), scaled by `m`.
#[inline(always)]
fn stamp_d3<S: Sink>(
    sink: &mut S,
    r: usize,
    cmap: &[usize; N_NODES],
    x: &D3,
    m: f64,
    charge: bool,
) {
    let s = -(x.d[0] + x.d[1] + x.d[2]) * m;
    let cols = [
        cmap[CH_NODES[0]],
        cmap[CH_NODES[1]],
        cmap[CH_NODES[2]],
        cmap[SP],
    ];
    let vals = [x.d[0] * m, x.d[1] * m, x.d[2] * m, s];
    for (c, v) in cols.into_iter().zip(vals) {
        if charge {
            sink.cq(r, c, v);
        } else {
            sink.gi(r, c, v);
        }
    }
}

struct DenseSink<'a>(&'a mut Eval);

impl Sink for DenseSink<'_> {
    fn i(&mut self, n: usize, v: f64) {
        self.0.i[n] += v;
    }
    fn q(&mut self, n: usize, v: f64) {
        self.0.q[n] += v;
    }
    fn gi(&mut self, r: usize, c: usize, v: f64) {
        self.0.di[r][c] += v;
    }
    fn cq(&mut self, r: usize, c: usize, v: f64) {
        self.0.dq[r][c] += v;
    }
}
