//! Behavioral sources `B... V=expr` / `I=expr`: the expression is a compiled tape with exact
//! reverse-mode derivatives, and its comparisons are event functions.
use super::ops::{Branch, DeviceOps, Load, Setup, remap_all};
use crate::expr::tape::Tape;

#[derive(Debug, Clone)]
pub struct Behavioral {
    /// The output: for a voltage source its branch, for a current source p and n.
    pub br: Branch,
    /// Voltage source (with a branch) or current source.
    voltage: bool,
    tape: Tape,
    /// For each tape input, the unknowns it reads: (plus, minus) for v(a,b), (branch, 0) for i().
    pub input_ix: Vec<(usize, usize)>,
    xin: Vec<f64>,
    grad: Vec<f64>,
    slots: Vec<usize>,
}

impl Behavioral {
    pub fn new(
        p: usize,
        n: usize,
        voltage: bool,
        tape: Tape,
        input_ix: Vec<(usize, usize)>,
    ) -> Self {
        let k = input_ix.len();
        Behavioral {
            br: Branch::new(p, n),
            voltage,
            tape,
            input_ix,
            xin: vec![0.0; k],
            grad: vec![0.0; k],
            slots: vec![],
        }
    }
    pub fn is_voltage(&self) -> bool {
        self.voltage
    }
    /// Sets the unknowns each tape input reads (resolved after all branches are numbered).
    pub fn set_inputs(&mut self, ix: Vec<(usize, usize)>) {
        self.xin = vec![0.0; ix.len()];
        self.grad = vec![0.0; ix.len()];
        self.input_ix = ix;
    }
    fn gather(&mut self, x: &[f64]) {
        for (k, &(a, b)) in self.input_ix.iter().enumerate() {
            self.xin[k] = x[a] - x[b];
        }
    }
}

impl DeviceOps for Behavioral {
    fn setup(&mut self, s: &mut Setup) {
        self.slots.clear();
        let (p, n, k) = (self.br.p, self.br.n, self.br.k);
        let rows: Vec<usize> = if self.voltage { vec![k] } else { vec![p, n] };
        if self.voltage {
            self.br.setup(s);
        }
        for &r in &rows {
            for &(a, b) in &self.input_ix {
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
        let val = self.tape.eval(&self.xin, l.time, &mut self.grad);
        let k = self.input_ix.len();
        // a derivative that is infinite at an isolated point (sqrt at 0) must not poison the matrix
        for g in self.grad.iter_mut() {
            if !g.is_finite() {
                *g = 0.0;
            }
        }
        if self.voltage {
            self.br.load(l, val);
            for j in 0..k {
                l.jf[self.slots[2 * j]] -= self.grad[j];
                l.jf[self.slots[2 * j + 1]] += self.grad[j];
            }
        } else {
            l.f[self.br.p] += val;
            l.f[self.br.n] -= val;
            for j in 0..k {
                l.jf[self.slots[2 * j]] += self.grad[j];
                l.jf[self.slots[2 * j + 1]] -= self.grad[j];
                l.jf[self.slots[2 * k + 2 * j]] -= self.grad[j];
                l.jf[self.slots[2 * k + 2 * j + 1]] += self.grad[j];
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
    }
    fn renumber(&mut self, m: &[usize]) {
        self.br.renumber(m);
        for (a, b) in self.input_ix.iter_mut() {
            *a = m[*a];
            *b = m[*b];
        }
    }
    fn dc_path(&self, out: &mut Vec<usize>) {
        if self.voltage {
            out.extend([self.br.p, self.br.n]);
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
    /// The unknowns of the tape's inputs, in its order.
    fn set_reads(&mut self, ix: &[(usize, usize)]) {
        self.set_inputs(ix.to_vec());
    }
    fn linear(&self) -> bool {
        false
    }
}
