//! A circuit (or one decoupled part of it) prepared for solution: pattern, slots, work
//! vectors, and Newton-Raphson on F(x) + a0 Q(x) + hist = 0.

use super::copy_small;
use super::linear::{DENSE_MAX, LinearSolver, Pattern};
use crate::circuit::{Circuit, Options};
use crate::devices::{BypassCtl, DeviceOps, Inst, Load, Setup, T0};
use crate::error::{Error, Result};

/// Counters reported by `--stats` and pinned by regression tests.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub newton_iterations: usize,
    pub factorizations: usize,
    pub accepted_steps: usize,
    pub rejected_steps: usize,
    pub events: usize,
    /// The shortest accepted transient step [s] (0: none taken).
    pub min_step: f64,
    /// Device loads that reused the stamps of the device's last evaluation (bypass).
    pub bypassed: usize,
    /// Multirate relaxation (`analysis::multirate`): sweeps over the torn parts, hub (rail)
    /// solves, and transients that fell back to the coupled solve.
    pub relax_sweeps: usize,
    pub hub_solves: usize,
    pub relax_fallbacks: usize,
}

impl Stats {
    /// Adds the counters of `o` (another part's, or another run's).
    pub fn add(&mut self, o: &Stats) {
        self.newton_iterations += o.newton_iterations;
        self.factorizations += o.factorizations;
        self.accepted_steps += o.accepted_steps;
        self.rejected_steps += o.rejected_steps;
        self.events += o.events;
        self.bypassed += o.bypassed;
        self.relax_sweeps += o.relax_sweeps;
        self.hub_solves += o.hub_solves;
        self.relax_fallbacks += o.relax_fallbacks;
        self.note_step(o.min_step);
    }

    /// Records an accepted step of `h` seconds (0 is ignored).
    pub fn note_step(&mut self, h: f64) {
        if h > 0.0 && (self.min_step == 0.0 || h < self.min_step) {
            self.min_step = h;
        }
    }
}

pub struct System {
    /// Unknown names (0 = ground), as in `Circuit::names`.
    pub names: Vec<String>,
    pub n_nodes: usize,
    pub devs: Vec<Inst>,
    pub opts: Options,
    /// Transient step and stop (source defaults); set by the transient analysis.
    pub tstep: f64,
    pub tstop: f64,
    /// Whether device loads may be bypassed (set by the transient once every device has been
    /// evaluated in full at its start, when `opts.bypass` allows it).
    pub bypass: bool,
    lin: LinearSolver,
    pat: Pattern,
    diag: Vec<usize>,
    nnz: usize,
    pub jf: Vec<f64>,
    pub jq: Vec<f64>,
    jac: Vec<f64>,
    pub f: Vec<f64>,
    pub q: Vec<f64>,
    rhs: Vec<f64>,
    /// Per-row magnitude of the residual's terms (the Newton test's rounding floor).
    mag: Vec<f64>,
    /// Event function offsets per device.
    pub ev_off: Vec<usize>,
    /// The devices with event functions, and those whose `accept` holds state.
    ev_devs: Vec<usize>,
    stateful: Vec<usize>,
    pub n_ev: usize,
    pub stats: Stats,
    /// Nodes held at a voltage through a conductance: (node, volts, siemens) (`.ic` during the OP).
    pub pins: Vec<(usize, f64, f64)>,
    /// Set while the transient solves its initial operating point: sources take their value
    /// at t = 0 instead of their `DC` value (see `Load::tran_op`).
    pub tran_op: bool,
    /// Every device is linear in x (switches are, between accepted points): one Newton step is
    /// the exact solution, so no confirming second iteration is needed.
    linear: bool,
    /// `q` holds the charges at the point the last successful Newton solve returned (set for
    /// linear systems, whose charges follow from the update without another device load).
    pub q_at_solution: bool,
    /// Linear systems in the transient: the load of every device but the sources, as the
    /// affine map F = F0 + Jf x, Q = Q0 + Jq x, taken once and reused until a device changes
    /// state at an accepted point; only the (time-dependent) sources are loaded per call.
    fixed_load: FixedLoad,
    fixed_valid: bool,
    /// The last load was the affine one (its charges are `fixed_load.q_rows`: the independent
    /// sources, loaded on top, hold no charge).
    last_affine: bool,
    /// The independent sources (loaded every time) and the other devices.
    sources: Vec<usize>,
    fixed: Vec<usize>,
    /// Grounded voltage sources taken out of the matrix the LU factors (see `Elim`); `lin`
    /// is then over the remaining unknowns.
    elim: Option<Elim>,
}

/// See `System::fixed_load`.
struct FixedLoad {
    zero: Vec<f64>,
    f0: Vec<f64>,
    q0: Vec<f64>,
    jf: Vec<f64>,
    jq: Vec<f64>,
    /// The nonzeros of `jf` and `jq` row by row (columns ascending, as the column walk adds
    /// them, so the sums are the same to the bit): each row's F and Q accumulate in a register
    /// and the zeros (a resistor has no charge, a source row no conductance) are skipped.
    f_rows: RowMap,
    q_rows: RowMap,
}

/// A sparse matrix by rows: row r's (column, value) pairs are `ent[ptr[r - 1]..ptr[r]]`.
#[derive(Default)]
struct RowMap {
    ptr: Vec<usize>,
    ent: Vec<(usize, f64)>,
}

impl RowMap {
    /// The nonzeros of `vals` (slot order over `pat`) by rows.
    fn take(&mut self, pat: &Pattern, vals: &[f64]) {
        let n = pat.n;
        self.ptr.clear();
        self.ptr.resize(n + 1, 0);
        for (k, &r) in pat.row_idx.iter().enumerate() {
            if vals[k + 1] != 0.0 {
                self.ptr[r + 1] += 1;
            }
        }
        for r in 0..n {
            self.ptr[r + 1] += self.ptr[r];
        }
        self.ent.clear();
        self.ent.resize(self.ptr[n], (0, 0.0));
        let mut next = self.ptr[..n].to_vec();
        for c in 0..n {
            for k in pat.col_ptr[c]..pat.col_ptr[c + 1] {
                let v = vals[k + 1];
                if v != 0.0 {
                    let r = pat.row_idx[k];
                    self.ent[next[r]] = (c + 1, v);
                    next[r] += 1;
                }
            }
        }
    }

    /// out[r] = base[r] + sum of this row's entries times x (rows 1..=n).
    #[inline]
    fn apply(&self, base: &[f64], x: &[f64], out: &mut [f64]) {
        for (r, o) in out[1..].iter_mut().enumerate() {
            let mut v = base[r + 1];
            for &(c, a) in &self.ent[self.ptr[r]..self.ptr[r + 1]] {
                v += a * x[c];
            }
            *o = v;
        }
    }

    /// out[r] += this row's entries times x (rows 1..=n).
    #[inline]
    fn apply_add(&self, x: &[f64], out: &mut [f64]) {
        for (r, o) in out[1..].iter_mut().enumerate() {
            let mut v = *o;
            for &(c, a) in &self.ent[self.ptr[r]..self.ptr[r + 1]] {
                v += a * x[c];
            }
            *o = v;
        }
    }
}

/// One Newton solve's settings.
#[derive(Clone, Copy)]
pub struct NewtonCtx<'a> {
    pub time: f64,
    pub dc: bool,
    /// Integration: dQ/dt ~ a0 Q + hist (a0 = 0 in DC).
    pub a0: f64,
    pub hist: Option<&'a [f64]>,
    /// Extra conductance from every node to ground (gmin stepping) [S].
    pub gshunt: f64,
    pub src_fact: f64,
    /// Start junctions at their critical voltage on the first iteration.
    pub init_junctions: bool,
    pub max_iter: usize,
}

impl NewtonCtx<'_> {
    /// A DC solve (operating point, `.dc` point) of at most `max_iter` iterations; junctions
    /// start at their critical voltages when `init_junctions`.
    pub fn dc(max_iter: usize, init_junctions: bool) -> NewtonCtx<'static> {
        NewtonCtx {
            time: 0.0,
            dc: true,
            a0: 0.0,
            hist: None,
            gshunt: 0.0,
            src_fact: 1.0,
            init_junctions,
            max_iter,
        }
    }

    /// A transient step to `time` with the integration coefficient `a0` and history term
    /// `hist`.
    pub fn tran(time: f64, a0: f64, hist: &[f64], max_iter: usize) -> NewtonCtx<'_> {
        NewtonCtx {
            time,
            dc: false,
            a0,
            hist: Some(hist),
            gshunt: 0.0,
            src_fact: 1.0,
            init_junctions: false,
            max_iter,
        }
    }
}

/// Why Newton stopped without a solution.
#[derive(Debug, Clone)]
pub enum NewtonFail {
    Singular(Option<usize>),
    NoConvergence { worst: Vec<(usize, f64, f64)> },
}

impl System {
    pub fn new(c: &Circuit) -> Result<System> {
        Self::build(c, None)
    }

    /// Builds the system of `c`; when `base` has the same matrix pattern its symbolic
    /// factorisation is shared instead of recomputed.
    fn build(c: &Circuit, base: Option<&System>) -> Result<System> {
        let n = c.n();
        let mut devs = c.devices.clone();
        let mut s = Setup { requests: vec![] };
        for d in devs.iter_mut() {
            d.dev.setup(&mut s);
        }
        let (pat, map, diag) = Pattern::build(n, &s.requests);
        for d in devs.iter_mut() {
            d.dev.remap(&map);
        }
        let nnz = pat.nnz();
        let (elim, lpat) = match Elim::find(n, c.n_nodes, &s.requests, &pat) {
            Some((e, rpat)) => (Some(e), rpat),
            None => (None, pat.clone()),
        };
        let lin = match base {
            Some(b)
                if b.pat.col_ptr == pat.col_ptr
                    && b.pat.row_idx == pat.row_idx
                    && b.elim_pairs() == elim.as_ref().map(|e| &e.pairs[..]) =>
            {
                b.lin.fresh_clone()
            }
            _ => LinearSolver::new(lpat)?,
        };
        let linear = devs.iter().all(|d| d.dev.linear());
        let mut ev_off = Vec::with_capacity(devs.len() + 1);
        let mut n_ev = 0;
        for d in &devs {
            ev_off.push(n_ev);
            n_ev += d.dev.n_events();
        }
        ev_off.push(n_ev);
        let ev_devs = (0..devs.len())
            .filter(|&i| ev_off[i + 1] > ev_off[i])
            .collect();
        let stateful = (0..devs.len())
            .filter(|&i| devs[i].dev.stateful())
            .collect();
        let (sources, fixed): (Vec<usize>, Vec<usize>) =
            (0..devs.len()).partition(|&i| devs[i].dev.independent_source());
        Ok(System {
            names: c.names.clone(),
            n_nodes: c.n_nodes,
            devs,
            opts: c.options.clone(),
            tstep: 0.0,
            tstop: 0.0,
            bypass: false,
            lin,
            pat,
            diag,
            nnz,
            jf: vec![0.0; nnz + 1],
            jq: vec![0.0; nnz + 1],
            jac: vec![0.0; nnz + 1],
            f: vec![0.0; n + 1],
            q: vec![0.0; n + 1],
            rhs: vec![0.0; n + 1],
            mag: vec![0.0; n + 1],
            ev_off,
            ev_devs,
            stateful,
            n_ev,
            stats: Stats::default(),
            pins: vec![],
            tran_op: false,
            linear,
            q_at_solution: false,
            fixed_load: FixedLoad {
                zero: vec![0.0; n + 1],
                f0: vec![0.0; n + 1],
                q0: vec![0.0; n + 1],
                jf: vec![0.0; nnz + 1],
                jq: vec![0.0; nnz + 1],
                f_rows: RowMap::default(),
                q_rows: RowMap::default(),
            },
            fixed_valid: false,
            last_affine: false,
            sources,
            fixed,
            elim,
        })
    }

    /// The eliminated (node, branch) pairs' structure, for comparing two systems.
    fn elim_pairs(&self) -> Option<&[(usize, usize, usize, usize)]> {
        self.elim.as_ref().map(|e| &e.pairs[..])
    }

    /// Turns this system into the system of `c` in place when `c` has the same structure
    /// (devices of the same kinds in the same order, the same matrix pattern): its buffers and
    /// factorisation workspace are kept, which saves a sweep point or Monte Carlo run the
    /// set-up. Returns false, leaving `self` unchanged, otherwise.
    pub fn reuse_for(&mut self, c: &Circuit) -> bool {
        let n = c.n();
        if n != self.n() || c.n_nodes != self.n_nodes || c.devices.len() != self.devs.len() {
            return false;
        }
        let same_kinds = c.devices.iter().zip(&self.devs).all(|(a, b)| {
            std::mem::discriminant(&a.dev) == std::mem::discriminant(&b.dev)
                && a.dev.n_events() == b.dev.n_events()
        });
        if !same_kinds {
            return false;
        }
        let mut devs = c.devices.clone();
        let mut s = Setup { requests: vec![] };
        for d in devs.iter_mut() {
            d.dev.setup(&mut s);
        }
        let (pat, map, _) = Pattern::build(n, &s.requests);
        if pat.col_ptr != self.pat.col_ptr || pat.row_idx != self.pat.row_idx {
            return false;
        }
        let elim = Elim::find(n, c.n_nodes, &s.requests, &pat).map(|(e, _)| e);
        if elim.as_ref().map(|e| &e.pairs[..]) != self.elim_pairs() {
            return false;
        }
        for d in devs.iter_mut() {
            d.dev.remap(&map);
        }
        // the device index lists (events, state, sources) depend only on the kinds: still valid
        self.devs = devs;
        if self.names != c.names {
            self.names = c.names.clone();
        }
        self.opts = c.options.clone();
        self.tstep = 0.0;
        self.tstop = 0.0;
        self.stats = Stats::default();
        self.pins.clear();
        self.q_at_solution = false;
        self.fixed_valid = false;
        // the held factorisation is reused only for a bit-identical matrix, so it may stay
        self.lin.factorizations = 0;
        true
    }

    /// The matrix pattern (slot k is CSC position k - 1).
    pub fn pattern(&self) -> &Pattern {
        &self.pat
    }

    /// Number of unknowns.
    pub fn n(&self) -> usize {
        self.names.len() - 1
    }

    /// A copy sharing the symbolic factorisation, with the devices of `c` (same structure).
    /// A system for `c` that shares this one's symbolic factorisation when the structure is the
    /// same (sweep points, Monte Carlo runs); otherwise it is analysed afresh.
    pub fn with_devices(&self, c: &Circuit) -> Result<System> {
        Self::build(c, Some(self))
    }

    /// Loads every device at `x` into f, q, jf, jq. Returns whether any device limited.
    pub fn load(
        &mut self,
        x: &[f64],
        time: f64,
        dc: bool,
        src_fact: f64,
        init_junctions: bool,
    ) -> bool {
        self.q_at_solution = false;
        // a switch follows its control in DC, so the affine shortcut is for the transient only
        let affine = self.linear && !dc && !init_junctions;
        self.last_affine = affine;
        if affine && !self.fixed_valid {
            self.take_fixed_load(time);
        }
        let (devices, full) = if affine {
            let fl = &self.fixed_load;
            copy_small(&mut self.jf, &fl.jf);
            copy_small(&mut self.jq, &fl.jq);
            self.f[0] = fl.f0[0];
            self.q[0] = fl.q0[0];
            fl.f_rows.apply(&fl.f0, x, &mut self.f);
            fl.q_rows.apply(&fl.q0, x, &mut self.q);
            (&self.sources, false)
        } else {
            self.f.fill(0.0);
            self.q.fill(0.0);
            self.jf.fill(0.0);
            self.jq.fill(0.0);
            (&self.fixed, true)
        };
        let mut l = Load {
            x,
            time,
            src_fact,
            gmin: self.opts.gmin,
            dc,
            tran_op: dc && self.tran_op,
            init_junctions,
            temp: self.opts.temp + T0,
            tstep: self.tstep,
            tstop: self.tstop,
            f: &mut self.f,
            q: &mut self.q,
            jf: &mut self.jf,
            jq: &mut self.jq,
            noncon: false,
            bypass: BypassCtl {
                on: self.bypass && !dc,
                reltol: self.opts.reltol,
                vntol: self.opts.vntol,
                abstol: self.opts.abstol,
                count: 0,
            },
        };
        for &i in devices {
            self.devs[i].dev.load(&mut l);
        }
        if full {
            for &i in &self.sources {
                self.devs[i].dev.load(&mut l);
            }
        }
        self.stats.bypassed += l.bypass.count;
        l.noncon
    }

    /// The affine load of the non-source devices of a linear system (see `fixed_load`): their
    /// loads at x = 0 and their (constant) Jacobians.
    fn take_fixed_load(&mut self, time: f64) {
        let fl = &mut self.fixed_load;
        fl.f0.fill(0.0);
        fl.q0.fill(0.0);
        fl.jf.fill(0.0);
        fl.jq.fill(0.0);
        // the loads at x = 0
        let mut l = Load {
            x: &fl.zero,
            time,
            src_fact: 1.0,
            gmin: self.opts.gmin,
            dc: false,
            tran_op: false,
            init_junctions: false,
            temp: self.opts.temp + T0,
            tstep: self.tstep,
            tstop: self.tstop,
            f: &mut fl.f0,
            q: &mut fl.q0,
            jf: &mut fl.jf,
            jq: &mut fl.jq,
            noncon: false,
            bypass: BypassCtl::default(),
        };
        for &i in &self.fixed {
            self.devs[i].dev.load(&mut l);
        }
        fl.f_rows.take(&self.pat, &fl.jf);
        fl.q_rows.take(&self.pat, &fl.jq);
        self.fixed_valid = true;
    }

    /// Newton-Raphson from `x` (updated in place). Ok(iterations) on convergence.
    pub fn newton(
        &mut self,
        x: &mut [f64],
        ctx: &NewtonCtx,
    ) -> std::result::Result<usize, NewtonFail> {
        let n = self.n();
        let (reltol, vntol, abstol) = (self.opts.reltol, self.opts.vntol, self.opts.abstol);
        for it in 0..ctx.max_iter.max(1) {
            self.stats.newton_iterations += 1;
            self.q_at_solution = false;
            x[0] = 0.0;
            let noncon = self.load(
                x,
                ctx.time,
                ctx.dc,
                ctx.src_fact,
                ctx.init_junctions && it == 0,
            );
            // residual and Jacobian
            let m = self.nnz + 1;
            for ((j, &f), &q) in self.jac[1..m]
                .iter_mut()
                .zip(&self.jf[1..m])
                .zip(&self.jq[1..m])
            {
                *j = f + ctx.a0 * q;
            }
            match ctx.hist {
                Some(h) => {
                    for (((r, &f), &q), &hi) in self.rhs[1..n + 1]
                        .iter_mut()
                        .zip(&self.f[1..n + 1])
                        .zip(&self.q[1..n + 1])
                        .zip(&h[1..n + 1])
                    {
                        *r = -(f + (ctx.a0 * q + hi));
                    }
                }
                None => {
                    for (r, &f) in self.rhs[1..n + 1].iter_mut().zip(&self.f[1..n + 1]) {
                        *r = -f;
                    }
                }
            }
            if ctx.gshunt > 0.0 {
                for i in 1..self.n_nodes + 1 {
                    self.rhs[i] -= ctx.gshunt * x[i];
                }
            }
            for &(k, v, g) in &self.pins {
                if k > 0 && k <= self.n_nodes {
                    self.rhs[k] -= g * (x[k] - v);
                    self.jac[self.diag[k - 1]] += g;
                }
            }
            if ctx.gshunt > 0.0 {
                for i in 0..self.n_nodes {
                    self.jac[self.diag[i]] += ctx.gshunt;
                }
            }
            let solved = match &mut self.elim {
                Some(e) => e.solve(&self.pat, &mut self.lin, &self.jac, &mut self.rhs),
                None => self
                    .lin
                    .solve(&self.jac, &mut self.rhs)
                    .map_err(|s| s.unknown),
            };
            self.stats.factorizations = self.lin.factorizations;
            if let Err(s) = solved {
                return Err(NewtonFail::Singular(s));
            }
            // a linear system is solved exactly by one Newton step (the Jacobian is exact), so
            // its update needs no confirming iteration, whatever the rounding in dx
            let exact = self.linear && !noncon;
            let mut conv = exact || (!noncon && it > 0);
            let mut worst: Vec<(usize, f64, f64)> = Vec::new();
            if exact {
                // (the linear solver has already refused a non-finite update)
                for (xi, &dx) in x[1..n + 1].iter_mut().zip(&self.rhs[1..n + 1]) {
                    *xi += dx;
                }
            } else {
                // the rounding floor of the branch currents is computed (once) only when a
                // branch update is all that stands in the way of convergence
                let mut floor_ready = false;
                for i in 1..n + 1 {
                    let dx = self.rhs[i];
                    let xn = x[i] + dx;
                    let tol = reltol * xn.abs().max(x[i].abs())
                        + if i <= self.n_nodes { vntol } else { abstol };
                    let within = dx.abs() <= tol
                        || (conv && i > self.n_nodes && dx.is_finite() && {
                            if !floor_ready {
                                self.row_magnitudes(x, ctx);
                                floor_ready = true;
                            }
                            dx.abs() <= tol + self.rounding_floor(i)
                        });
                    if !dx.is_finite() || !within {
                        conv = false;
                    }
                    if it + 1 == ctx.max_iter.max(1) {
                        worst.push((i, dx, self.f[i]));
                    }
                    x[i] = xn;
                }
            }
            if conv {
                if exact {
                    // Q is linear in x too: bring the loaded charges to the solution
                    // (q += dQ/dx dx), so the caller need not load the devices again
                    if self.last_affine {
                        let qr = &self.fixed_load.q_rows;
                        let q = &mut self.q;
                        qr.apply_add(&self.rhs, q);
                    } else {
                        for c in 0..n {
                            let dx = self.rhs[c + 1];
                            if dx != 0.0 {
                                for k in self.pat.col_ptr[c]..self.pat.col_ptr[c + 1] {
                                    self.q[self.pat.row_idx[k] + 1] += self.jq[k + 1] * dx;
                                }
                            }
                        }
                    }
                    self.q_at_solution = true;
                }
                return Ok(it + 1);
            }
            if it + 1 == ctx.max_iter.max(1) {
                worst.sort_by(|a, b| {
                    (b.1.abs())
                        .partial_cmp(&a.1.abs())
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                worst.truncate(3);
                return Err(NewtonFail::NoConvergence { worst });
            }
        }
        Err(NewtonFail::NoConvergence { worst: vec![] })
    }

    /// The magnitude of the terms summed in each residual row at `x` (into `mag`): |F| plus
    /// |J x| term by term and the charge terms |a0 Q| + |hist|, whose rounding is the noise
    /// floor of the row.
    fn row_magnitudes(&mut self, x: &[f64], ctx: &NewtonCtx) {
        let mag = &mut self.mag;
        for (i, m) in mag.iter_mut().enumerate() {
            *m = self.f[i].abs() + (ctx.a0 * self.q[i]).abs();
        }
        if let Some(h) = ctx.hist {
            for (m, &hi) in mag.iter_mut().zip(h) {
                *m += hi.abs();
            }
        }
        for c in 0..self.pat.n {
            let xc = x[c + 1].abs();
            if xc != 0.0 {
                for k in self.pat.col_ptr[c]..self.pat.col_ptr[c + 1] {
                    mag[self.pat.row_idx[k] + 1] += self.jac[k + 1].abs() * xc;
                }
            }
        }
    }

    /// The size of an update of branch unknown `i` that the rounding of the rows it enters
    /// can produce (see `row_magnitudes`): a branch current is read off the KCL rows of its
    /// nodes with a unit coefficient, so it inherits their rounding, which grows like C/h as
    /// the step shrinks (NIconvTest has the same blind spot; ngspice rarely steps that short).
    fn rounding_floor(&self, i: usize) -> f64 {
        let c = i - 1;
        let mut floor = f64::INFINITY;
        for k in self.pat.col_ptr[c]..self.pat.col_ptr[c + 1] {
            let j = self.jac[k + 1].abs();
            if j > 0.0 {
                floor = floor.min(self.mag[self.pat.row_idx[k] + 1] / j);
            }
        }
        if floor.is_finite() {
            64.0 * f64::EPSILON * floor
        } else {
            0.0
        }
    }

    /// Devices attached to unknown `k`, for messages.
    pub fn devices_at(&self, k: usize) -> Vec<String> {
        let mut t = Vec::new();
        let mut out = Vec::new();
        for d in &self.devs {
            t.clear();
            d.dev.terminals(&mut t);
            if t.contains(&k) {
                out.push(d.name.clone());
            }
        }
        out.truncate(6);
        out
    }

    /// Describes unknown k for a message: `node 'x' (devices r1, c1)` or `current of 'v1'`.
    pub fn describe(&self, k: usize) -> String {
        if k == 0 || k >= self.names.len() {
            return "an unknown".into();
        }
        if k <= self.n_nodes {
            format!(
                "node '{}' (attached: {})",
                self.names[k],
                self.devices_at(k).join(", ")
            )
        } else {
            format!("the current of '{}'", self.names[k])
        }
    }

    /// Turns a Newton failure into a user-facing error, located at the first device attached
    /// to the worst unknown.
    pub fn fail_error(&self, what: &str, f: &NewtonFail) -> Error {
        let worst = match f {
            NewtonFail::Singular(k) => *k,
            NewtonFail::NoConvergence { worst } => worst.first().map(|w| w.0),
        };
        let loc = worst.and_then(|k| {
            let mut t = Vec::new();
            self.devs
                .iter()
                .find(|d| {
                    t.clear();
                    d.dev.terminals(&mut t);
                    t.contains(&k)
                })
                .map(|d| d.loc.line_only())
        });
        let e = self.fail_error_at(what, f);
        e.with_loc(loc.as_ref())
    }

    fn fail_error_at(&self, what: &str, f: &NewtonFail) -> Error {
        match f {
            NewtonFail::Singular(k) => {
                let mut e = Error::numeric(format!(
                    "{what}: singular matrix{}",
                    k.map(|k| format!(" at {}", self.describe(k)))
                        .unwrap_or_default()
                ));
                e = e.with_note("a node with no DC path to ground, a loop of voltage sources or inductors, or a device with zero conductance makes the matrix singular");
                e
            }
            NewtonFail::NoConvergence { worst } => {
                let mut e = Error::numeric(format!("{what}: Newton iteration did not converge"));
                for (k, dx, r) in worst {
                    e = e.with_note(format!(
                        "largest update at {}: dx = {:.3e}, residual = {:.3e}",
                        self.describe(*k),
                        dx,
                        r
                    ));
                }
                e
            }
        }
    }

    /// Accepts a solution point: state-holding devices update.
    pub fn accept(&mut self, x: &[f64], time: f64) {
        for &i in &self.stateful {
            if self.devs[i].dev.accept(x, time) {
                self.fixed_valid = false;
            }
        }
    }

    /// Event function values at x.
    pub fn events(&mut self, x: &[f64], time: f64, out: &mut [f64]) {
        for &i in &self.ev_devs {
            let (a, b) = (self.ev_off[i], self.ev_off[i + 1]);
            self.devs[i].dev.events(x, time, &mut out[a..b]);
        }
    }

    /// Dense dF/dx and dQ/dx (row-major, n x n over unknowns 1..=n) as loaded at `x`, for
    /// Jacobian checks against finite differences.
    pub fn dense_jacobians(&mut self, x: &[f64], time: f64, dc: bool) -> (Vec<f64>, Vec<f64>) {
        self.load(x, time, dc, 1.0, false);
        let n = self.n();
        let mut jf = vec![0.0; n * n];
        let mut jq = vec![0.0; n * n];
        for c in 0..n {
            for k in self.pat.col_ptr[c]..self.pat.col_ptr[c + 1] {
                let r = self.pat.row_idx[k];
                jf[r * n + c] = self.jf[k + 1];
                jq[r * n + c] = self.jq[k + 1];
            }
        }
        (jf, jq)
    }

    /// How many unknowns the LU factors: all of them but the node and branch of every
    /// grounded voltage source taken out by block elimination (see `Elim`).
    pub fn factored_unknowns(&self) -> usize {
        self.lin.order()
    }

    pub fn lin_factorizations(&self) -> usize {
        self.lin.factorizations
    }
}

/// Grounded voltage sources eliminated from the matrix the LU sees (`System::elim`).
///
/// An ideal source between node k and ground with branch b makes a pair of unknowns whose
/// rows and columns meet nothing else: row b holds only column k (the source's equation
/// v(k) = V), column b only row k (its current enters k's KCL). Block elimination is then
/// exact: dx_k = rhs_b / J[b,k] from row b, column k moves to the right-hand side, the rest
/// is solved without k and b, and dx_b follows from row k. A part cut at a supply (issue 13:
/// a crossbar neuron holds 16 input lines, 33 unknowns for one membrane) then factors only
/// its own nodes, one unknown for an isolated membrane. Only where the pairs are at least a
/// quarter of the unknowns or leave at most `DENSE_MAX`: in a large coupled system a supply's
/// two unknowns cost the LU nothing. The pairs are found from the
/// devices' requested entries, so any device of that structure qualifies; a source whose
/// current another device reads (CCCS, CCVS) has more in column b and is kept.
struct Elim {
    /// (k, b, slot of (b, k), slot of (k, b)).
    pairs: Vec<(usize, usize, usize, usize)>,
    /// Row k of pair p over the kept columns: `row[row_off[p]..row_off[p + 1]]`, (slot, column).
    row: Vec<(usize, usize)>,
    row_off: Vec<usize>,
    /// Whether an unknown is an eliminated branch (its row is consumed by dx_k).
    branch: Vec<bool>,
    /// The full index of kept unknown j (1-based; index 0 = 0).
    full: Vec<usize>,
    /// The full slot of kept slot s (1-based; index 0 = 0).
    slot: Vec<usize>,
    vals: Vec<f64>,
    rhs: Vec<f64>,
    dxk: Vec<f64>,
}

impl Elim {
    /// The eliminable pairs of a system of `n` unknowns (`n_nodes` of them nodes) whose
    /// devices requested `requests`, with the full pattern `pat`; None when there are none.
    /// Returns the reduced pattern beside it.
    fn find(
        n: usize,
        n_nodes: usize,
        requests: &[(usize, usize)],
        pat: &Pattern,
    ) -> Option<(Elim, Pattern)> {
        // per branch: the distinct columns of its row and rows of its column (ground left out)
        let nb = n - n_nodes;
        if nb == 0 {
            return None;
        }
        const NONE: usize = 0;
        const MANY: usize = usize::MAX;
        let mut row_col = vec![NONE; nb];
        let mut col_row = vec![NONE; nb];
        let note = |v: &mut usize, x: usize| {
            if *v == NONE {
                *v = x;
            } else if *v != x {
                *v = MANY;
            }
        };
        for &(r, c) in requests {
            if r == 0 || c == 0 {
                continue;
            }
            if r > n_nodes {
                note(&mut row_col[r - n_nodes - 1], c);
            }
            if c > n_nodes {
                note(&mut col_row[c - n_nodes - 1], r);
            }
        }
        let mut gone = vec![false; n + 1];
        let mut branch = vec![false; n + 1];
        let mut pairs = vec![];
        for i in 0..nb {
            let (b, k) = (n_nodes + 1 + i, row_col[i]);
            if k != NONE && k != MANY && k <= n_nodes && col_row[i] == k && !gone[k] {
                gone[k] = true;
                gone[b] = true;
                branch[b] = true;
                pairs.push((k, b, slot_of(pat, b, k), slot_of(pat, k, b)));
            }
        }
        // worth it where the sources are a good part of the system (a part cut at its supply
        // or input lines) or where what remains takes the dense path; a large coupled system
        // with a supply or two keeps them (the LU orders a source's branch first anyway, and
        // its results stay those of the full factorisation)
        let kept = n - 2 * pairs.len();
        if pairs.is_empty() || (8 * pairs.len() < n && kept > DENSE_MAX) {
            return None;
        }
        let full: Vec<usize> = (0..=n).filter(|&i| i == 0 || !gone[i]).collect();
        let mut red = vec![0usize; n + 1];
        for (j, &f) in full.iter().enumerate() {
            red[f] = j;
        }
        let n_red = full.len() - 1;
        let reqs: Vec<(usize, usize)> = requests
            .iter()
            .filter(|&&(r, c)| r > 0 && c > 0 && !gone[r] && !gone[c])
            .map(|&(r, c)| (red[r], red[c]))
            .collect();
        let (rpat, _, _) = Pattern::build(n_red, &reqs);
        let mut slot = vec![0usize; rpat.nnz() + 1];
        for c in 0..n_red {
            for k in rpat.col_ptr[c]..rpat.col_ptr[c + 1] {
                slot[k + 1] = slot_of(pat, full[rpat.row_idx[k] + 1], full[c + 1]);
            }
        }
        let mut row = vec![];
        let mut row_off = vec![0];
        for &(k, ..) in &pairs {
            for c in 0..n {
                if gone[c + 1] {
                    continue;
                }
                let s = slot_of(pat, k, c + 1);
                if s != 0 {
                    row.push((s, c + 1));
                }
            }
            row_off.push(row.len());
        }
        let np = pairs.len();
        Some((
            Elim {
                pairs,
                row,
                row_off,
                branch,
                full,
                vals: vec![0.0; slot.len()],
                slot,
                rhs: vec![0.0; n_red + 1],
                dxk: vec![0.0; np],
            },
            rpat,
        ))
    }

    /// Solves the full system (values `jac`, right-hand side `rhs`, both full) through the
    /// kept unknowns; on return `rhs` holds the full update.
    fn solve(
        &mut self,
        pat: &Pattern,
        lin: &mut LinearSolver,
        jac: &[f64],
        rhs: &mut [f64],
    ) -> std::result::Result<(), Option<usize>> {
        for (p, &(k, b, s_bk, _)) in self.pairs.iter().enumerate() {
            let dk = rhs[b] / jac[s_bk];
            if !dk.is_finite() {
                return Err(Some(b));
            }
            self.dxk[p] = dk;
            if dk != 0.0 {
                let c = k - 1;
                for s in pat.col_ptr[c]..pat.col_ptr[c + 1] {
                    let r = pat.row_idx[s] + 1;
                    if !self.branch[r] {
                        rhs[r] -= jac[s + 1] * dk;
                    }
                }
            }
        }
        if self.full.len() > 1 {
            for (v, &s) in self.vals.iter_mut().zip(&self.slot).skip(1) {
                *v = jac[s];
            }
            for (r, &f) in self.rhs.iter_mut().zip(&self.full).skip(1) {
                *r = rhs[f];
            }
            lin.solve(&self.vals, &mut self.rhs)
                .map_err(|s| s.unknown.map(|j| self.full[j]))?;
            for (&r, &f) in self.rhs.iter().zip(&self.full).skip(1) {
                rhs[f] = r;
            }
        }
        for (p, &(k, b, _, s_kb)) in self.pairs.iter().enumerate() {
            let mut acc = rhs[k];
            for &(s, c) in &self.row[self.row_off[p]..self.row_off[p + 1]] {
                acc -= jac[s] * rhs[c];
            }
            let db = acc / jac[s_kb];
            if !db.is_finite() {
                return Err(Some(k));
            }
            rhs[b] = db;
        }
        for (p, &(k, ..)) in self.pairs.iter().enumerate() {
            rhs[k] = self.dxk[p];
        }
        Ok(())
    }
}

/// The slot of entry (r, c) of `pat` (1-based unknowns), 0 when absent.
fn slot_of(pat: &Pattern, r: usize, c: usize) -> usize {
    let (lo, hi) = (pat.col_ptr[c - 1], pat.col_ptr[c]);
    let rows = &pat.row_idx[lo..hi];
    match rows.binary_search(&(r - 1)) {
        Ok(i) => lo + i + 1,
        Err(_) => 0,
    }
}
