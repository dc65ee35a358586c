//! Behavioral sources `B... V=expr` / `I=expr` (and the E/G/F/H forms built on them: VALUE=,
//! TABLE, POLY): the expression is a compiled tape with exact reverse-mode derivatives, and
//! its comparisons are event functions.
//!
//! Each `ddt(u)` and `idt(u[, ic])` of the expression is a state unknown of its own
//! (numbered after the branches), so the time derivative and integral go through the
//! integrator like any charge, with its truncation-error control and exact Jacobians:
//!
//! - `y = ddt(u)`: row y holds F = y, Q = -u, i.e. y = du/dt; in DC (Q ignored) y = 0;
//! - `z = idt(u, ic)`: row z holds Q = z and, in DC, F = z - ic (z = ic), in the transient
//!   F = -u (dz/dt = u).
use super::ops::{Branch, DeviceOps, Load, Setup, remap_all};
use crate::expr::tape::{StateKind, Tape};

#[derive(Debug, Clone)]
pub struct Behavioral {
    /// The output: for a voltage source its branch, for a current source p and n.
    pub br: Branch,
    /// Voltage source (with a branch) or current source.
    voltage: bool,
    tape: Tape,
    /// For each tape input, the unknowns it reads: (plus, minus) for v(a,b), (branch, 0) for i().
    pub input_ix: Vec<(usize, usize)>,
    /// The state unknowns of the tape's ddt()/idt(), in its order.
    states: Vec<usize>,
    /// The tape's variables: inputs, then states.
    xin: Vec<f64>,
    grad: Vec<f64>,
    /// Gradient of a state's argument (or initial value).
    gs: Vec<f64>,
    /// Jacobian slots: for each row (the output rows, then one per state), for each variable,
    /// the (row, plus) and (row, minus) entries.
    slots: Vec<usize>,
    /// The last finite value the expression took (0 before any): what the source loads, with
    /// no derivative, at an iterate where the expression is undefined (see `load`).
    last_val: f64,
}

impl Behavioral {
    pub fn new(
        p: usize,
        n: usize,
        voltage: bool,
        tape: Tape,
        input_ix: Vec<(usize, usize)>,
    ) -> Self {
        let ns = tape.states.len();
        let mut b = Behavioral {
            br: Branch::new(p, n),
            voltage,
            tape,
            input_ix: vec![],
            states: vec![0; ns],
            xin: vec![],
            grad: vec![],
            gs: vec![],
            slots: vec![],
            last_val: 0.0,
        };
        b.set_inputs(input_ix);
        b
    }
    pub fn is_voltage(&self) -> bool {
        self.voltage
    }
    /// Sets the unknowns each tape input reads (resolved after all branches are numbered).
    pub fn set_inputs(&mut self, ix: Vec<(usize, usize)>) {
        let nv = ix.len() + self.states.len();
        self.xin = vec![0.0; nv];
        self.grad = vec![0.0; nv];
        self.gs = vec![0.0; nv];
        self.input_ix = ix;
    }
    /// The (plus, minus) unknowns of tape variable `v`.
    fn var(&self, v: usize) -> (usize, usize) {
        let ni = self.input_ix.len();
        if v < ni {
            self.input_ix[v]
        } else {
            (self.states[v - ni], 0)
        }
    }
    fn gather(&mut self, x: &[f64]) {
        let ni = self.input_ix.len();
        for (k, &(a, b)) in self.input_ix.iter().enumerate() {
            self.xin[k] = x[a] - x[b];
        }
        for (j, &s) in self.states.iter().enumerate() {
            self.xin[ni + j] = x[s];
        }
    }
    /// The output rows: the branch row of a voltage source, p and n of a current source.
    fn n_out_rows(&self) -> usize {
        if self.voltage { 1 } else { 2 }
    }
}

/// Adds `w * g[v]` to the (row, plus) entry and `-w * g[v]` to the (row, minus) entry of
/// every variable v, `row` being the slot block of one row.
#[inline]
fn stamp_row(j: &mut [f64], row: &[usize], g: &[f64], w: f64) {
    for (v, &gv) in g.iter().enumerate() {
        if gv != 0.0 {
            j[row[2 * v]] += w * gv;
            j[row[2 * v + 1]] -= w * gv;
        }
    }
}

/// A derivative that is infinite or undefined at an isolated point (sqrt at 0) must not
/// poison the matrix.
fn finite(g: &mut [f64]) {
    for v in g.iter_mut() {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
}

impl DeviceOps for Behavioral {
    fn setup(&mut self, s: &mut Setup) {
        self.slots.clear();
        let (p, n, k) = (self.br.p, self.br.n, self.br.k);
        let mut rows: Vec<usize> = if self.voltage { vec![k] } else { vec![p, n] };
        rows.extend(self.states.iter().copied());
        if self.voltage {
            self.br.setup(s);
        }
        let nv = self.input_ix.len() + self.states.len();
        for &r in &rows {
            for v in 0..nv {
                let (a, b) = self.var(v);
                self.slots.push(s.entry(r, a));
                self.slots.push(s.entry(r, b));
            }
        }
    }
    fn remap(&mut self, map: &[usize]) {
        if self.voltage {
            self.br.remap(map);
        }
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        self.gather(l.x);
        let mut val = self.tape.eval(&self.xin, l.time, &mut self.grad);
        if val.is_finite() {
            self.last_val = val;
        } else {
            // Undefined here (ln(v(a)) or 1/v(b) at the all-zero starting guess, a step that
            // leaves the expression's domain): load the last finite value as a constant and
            // keep Newton from converging on this iterate. The rest of the circuit moves the
            // inputs into the domain on the next iteration (ngspice converges on such decks
            // the same way); a transient step that stays outside is rejected and cut.
            val = self.last_val;
            self.grad.iter_mut().for_each(|g| *g = 0.0);
            l.noncon = true;
        }
        finite(&mut self.grad);
        let nv = self.xin.len();
        let block = 2 * nv;
        if self.voltage {
            self.br.load(l, val);
            stamp_row(l.jf, &self.slots[..block], &self.grad, -1.0);
        } else {
            l.f[self.br.p] += val;
            l.f[self.br.n] -= val;
            stamp_row(l.jf, &self.slots[..block], &self.grad, 1.0);
            stamp_row(l.jf, &self.slots[block..2 * block], &self.grad, -1.0);
        }
        let ni = self.input_ix.len();
        let first = self.n_out_rows() * block;
        for j in 0..self.states.len() {
            let s = self.states[j];
            let row = &self.slots[first + j * block..first + (j + 1) * block];
            let me = ni + j;
            let st = self.tape.states[j];
            // the state's own diagonal (its F or Q coefficient 1)
            let mut unit = std::mem::take(&mut self.gs);
            unit.iter_mut().for_each(|g| *g = 0.0);
            unit[me] = 1.0;
            match st.kind {
                StateKind::Ddt => {
                    l.f[s] += self.xin[me];
                    stamp_row(l.jf, row, &unit, 1.0);
                    self.gs = unit;
                    let u = self.tape.value_grad(st.arg, &mut self.gs);
                    finite(&mut self.gs);
                    l.q[s] -= u;
                    stamp_row(l.jq, row, &self.gs, -1.0);
                }
                StateKind::Idt => {
                    l.q[s] += self.xin[me];
                    stamp_row(l.jq, row, &unit, 1.0);
                    if l.dc {
                        l.f[s] += self.xin[me];
                        stamp_row(l.jf, row, &unit, 1.0);
                        self.gs = unit;
                        if let Some(ic) = st.ic {
                            let v = self.tape.value_grad(ic, &mut self.gs);
                            finite(&mut self.gs);
                            l.f[s] -= v;
                            stamp_row(l.jf, row, &self.gs, -1.0);
                        }
                    } else {
                        self.gs = unit;
                        let u = self.tape.value_grad(st.arg, &mut self.gs);
                        finite(&mut self.gs);
                        l.f[s] -= u;
                        stamp_row(l.jf, row, &self.gs, -1.0);
                    }
                }
            }
        }
    }
    fn n_events(&self) -> usize {
        self.tape.n_events()
    }
    fn events(&mut self, x: &[f64], time: f64, out: &mut [f64]) {
        self.gather(x);
        self.tape.eval(&self.xin, time, &mut self.grad);
        self.tape.event_values(out);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.br.p, self.br.n]);
        if self.voltage {
            out.push(self.br.k);
        }
        for &(a, b) in &self.input_ix {
            out.extend([a, b]);
        }
        out.extend(self.states.iter().copied());
    }
    fn renumber(&mut self, m: &[usize]) {
        self.br.renumber(m);
        for (a, b) in self.input_ix.iter_mut() {
            *a = m[*a];
            *b = m[*b];
        }
        for s in self.states.iter_mut() {
            *s = m[*s];
        }
    }
    /// A voltage source joins its nodes; so does a current source that reads the voltage
    /// across its own terminals (a behavioral resistor, I = v(a, b) / r).
    fn dc_path(&self, out: &mut Vec<usize>) {
        let (p, n) = (self.br.p, self.br.n);
        let across = self
            .input_ix
            .iter()
            .any(|&(a, b)| (a, b) == (p, n) || (a, b) == (n, p));
        if self.voltage || across {
            out.extend([p, n]);
        }
    }
    fn voltage_branch(&self) -> Option<(usize, usize)> {
        self.voltage.then_some((self.br.p, self.br.n))
    }
    fn wants_branch(&self) -> bool {
        self.voltage
    }
    fn set_branch(&mut self, k: usize) {
        self.br.k = k;
    }
    fn branch(&self) -> Option<usize> {
        self.voltage.then_some(self.br.k)
    }
    fn n_states(&self) -> usize {
        self.states.len()
    }
    fn set_states(&mut self, first: usize) {
        for (j, s) in self.states.iter_mut().enumerate() {
            *s = first + j;
        }
    }
    /// The unknowns of the tape's inputs, in its order.
    fn set_reads(&mut self, ix: &[(usize, usize)]) {
        self.set_inputs(ix.to_vec());
    }
    /// With `uic` an `idt()` starts at its initial value (evaluated at the initial state).
    fn initial_state(&self, x: &mut [f64]) {
        if self.tape.states.iter().all(|s| s.ic.is_none()) {
            return;
        }
        let mut me = self.clone();
        me.gather(x);
        let mut g = vec![0.0; me.xin.len()];
        me.tape.eval(&me.xin, 0.0, &mut g);
        for (j, st) in self.tape.states.iter().enumerate() {
            if let (StateKind::Idt, Some(ic)) = (st.kind, st.ic) {
                x[self.states[j]] = me.tape.value_grad(ic, &mut g);
            }
        }
    }
    fn linear(&self) -> bool {
        false
    }
}
