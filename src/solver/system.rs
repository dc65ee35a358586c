//! A circuit (or one decoupled part of it) prepared for solution: pattern, slots, work
//! vectors, and Newton-Raphson on F(x) + a0 Q(x) + hist = 0.

use super::linear::{LinearSolver, Pattern};
use crate::circuit::{Circuit, Options};
use crate::devices::{Device, DeviceOps, Inst, Load, Setup, T0};
use crate::error::{Error, Result};

/// Counters reported by `--stats` and pinned by regression tests.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub newton_iterations: usize,
    pub factorizations: usize,
    pub accepted_steps: usize,
    pub rejected_steps: usize,
    pub events: usize,
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
    /// Event function offsets per device.
    pub ev_off: Vec<usize>,
    pub n_ev: usize,
    pub stats: Stats,
    /// Nodes held at a voltage through a conductance: (node, volts, siemens) (`.ic` during the OP).
    pub pins: Vec<(usize, f64, f64)>,
    /// Every device is linear in x (switches are, between accepted points): one Newton step is
    /// the exact solution, so no confirming second iteration is needed.
    linear: bool,
    /// `q` holds the charges at the point the last successful Newton solve returned (set for
    /// linear systems, whose charges follow from the update without another device load).
    pub q_at_solution: bool,
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
        let lin = match base {
            Some(b) if b.pat.col_ptr == pat.col_ptr && b.pat.row_idx == pat.row_idx => {
                b.lin.fresh_clone()
            }
            _ => LinearSolver::new(pat.clone()).map_err(Error::numeric)?,
        };
        let linear = devs.iter().all(|d| {
            !matches!(
                d.dev,
                Device::D(_) | Device::M1(_) | Device::M28(_) | Device::B(_)
            )
        });
        let mut ev_off = Vec::with_capacity(devs.len() + 1);
        let mut n_ev = 0;
        for d in &devs {
            ev_off.push(n_ev);
            n_ev += d.dev.n_events();
        }
        ev_off.push(n_ev);
        Ok(System {
            names: c.names.clone(),
            n_nodes: c.n_nodes,
            devs,
            opts: c.options.clone(),
            tstep: 0.0,
            tstop: 0.0,
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
            ev_off,
            n_ev,
            stats: Stats::default(),
            pins: vec![],
            linear,
            q_at_solution: false,
        })
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
        self.f.iter_mut().for_each(|v| *v = 0.0);
        self.q.iter_mut().for_each(|v| *v = 0.0);
        self.jf.iter_mut().for_each(|v| *v = 0.0);
        self.jq.iter_mut().for_each(|v| *v = 0.0);
        let mut l = Load {
            x,
            time,
            src_fact,
            gmin: self.opts.gmin,
            dc,
            init_junctions,
            temp: self.opts.temp + T0,
            tstep: self.tstep,
            tstop: self.tstop,
            f: &mut self.f,
            q: &mut self.q,
            jf: &mut self.jf,
            jq: &mut self.jq,
            noncon: false,
        };
        for d in self.devs.iter_mut() {
            d.dev.load(&mut l);
        }
        l.noncon
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
            for k in 1..=self.nnz {
                self.jac[k] = self.jf[k] + ctx.a0 * self.jq[k];
            }
            for i in 1..=n {
                let mut r = self.f[i];
                if let Some(h) = ctx.hist {
                    r += ctx.a0 * self.q[i] + h[i];
                }
                if i <= self.n_nodes && ctx.gshunt > 0.0 {
                    r += ctx.gshunt * x[i];
                }
                self.rhs[i] = -r;
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
            let solved = self.lin.solve(&self.jac, &mut self.rhs);
            self.stats.factorizations = self.lin.factorizations;
            if let Err(s) = solved {
                return Err(NewtonFail::Singular(s.unknown));
            }
            // a linear system is solved exactly by one Newton step (the Jacobian is exact), so
            // its update needs no confirming iteration, whatever the rounding in dx
            let exact = self.linear && !noncon;
            let mut conv = exact || (!noncon && it > 0);
            let mut worst: Vec<(usize, f64, f64)> = Vec::new();
            for i in 1..=n {
                let dx = self.rhs[i];
                let xn = x[i] + dx;
                let tol = reltol * xn.abs().max(x[i].abs())
                    + if i <= self.n_nodes { vntol } else { abstol };
                if !dx.is_finite() || (!exact && dx.abs() > tol) {
                    conv = false;
                }
                if it + 1 == ctx.max_iter.max(1) {
                    worst.push((i, dx, self.f[i]));
                }
                x[i] = xn;
            }
            if conv {
                if exact {
                    // Q is linear in x too: bring the loaded charges to the solution
                    // (q += dQ/dx dx), so the caller need not load the devices again
                    for c in 0..n {
                        let dx = self.rhs[c + 1];
                        if dx != 0.0 {
                            for k in self.pat.col_ptr[c]..self.pat.col_ptr[c + 1] {
                                self.q[self.pat.row_idx[k] + 1] += self.jq[k + 1] * dx;
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
        for d in self.devs.iter_mut() {
            d.dev.accept(x, time);
        }
    }

    /// Event function values at x.
    pub fn events(&mut self, x: &[f64], time: f64, out: &mut [f64]) {
        for (i, d) in self.devs.iter_mut().enumerate() {
            let (a, b) = (self.ev_off[i], self.ev_off[i + 1]);
            if b > a {
                d.dev.events(x, time, &mut out[a..b]);
            }
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

    pub fn lin_factorizations(&self) -> usize {
        self.lin.factorizations
    }
}
