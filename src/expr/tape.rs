//! A compiled B-source expression: forward values, reverse-mode derivatives for Newton, and
//! its comparisons as event functions so the time stepper can land on their switching
//! instants. Devices use it (`devices::behavioral`); the netlist compiles it.

use super::{BinOp, Env, Expr, Func, Table, UnOp, bin, call, eval_const, un};
use crate::error::{Error, Result};
use std::sync::Arc;

/// A circuit quantity a B-source expression reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    V(String, Option<String>),
    I(String),
}

#[derive(Debug, Clone)]
enum Op {
    Const(f64),
    In(usize),
    Time,
    Un(UnOp, usize),
    Bin(BinOp, usize, usize),
    Tern(usize, usize, usize),
    Call(Func, [usize; 3], u8),
    /// The state unknown of `ddt()`/`idt()` number j.
    State(usize),
    Table(usize, Arc<Table>),
}

/// What a state unknown of the expression is (see [`Tape::states`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StateKind {
    /// y = d/dt arg: the device loads y into F and -arg into Q, so the integrator
    /// differentiates; y = 0 in DC.
    Ddt,
    /// z = ic + integral of arg from t = 0: z - ic = 0 in DC, then -arg into F and z into Q.
    Idt,
}

/// A `ddt()` or `idt()` of the expression: its kind and the tape positions of its argument
/// and initial value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub kind: StateKind,
    pub arg: usize,
    pub ic: Option<usize>,
}

/// A compiled B-source expression: forward values, reverse-mode derivatives, event functions.
#[derive(Debug, Clone)]
pub struct Tape {
    ops: Vec<Op>,
    /// The distinct circuit quantities read, in the order of the gradient.
    pub inputs: Vec<Input>,
    vals: Vec<f64>,
    adj: Vec<f64>,
    /// Tape positions whose sign change is a discontinuity: (left, right) of comparisons,
    /// arguments of u()/sgn(), conditions of `?:` that are not comparisons.
    events: Vec<(usize, Option<usize>)>,
    /// The `ddt()`/`idt()` of the expression; their unknowns follow the inputs in the vector
    /// `eval` takes.
    pub states: Vec<State>,
}

impl Tape {
    /// Compiles `e`; parameter names are resolved to numbers by `env` now.
    pub fn compile(e: &Expr, env: &mut dyn Env) -> Result<Tape> {
        let mut t = Tape {
            ops: vec![],
            inputs: vec![],
            vals: vec![],
            adj: vec![],
            events: vec![],
            states: vec![],
        };
        t.emit(e, env)?;
        t.vals = vec![0.0; t.ops.len()];
        t.adj = vec![0.0; t.ops.len()];
        Ok(t)
    }

    /// The SPICE2 polynomial of `inputs` (`POLY(n)` of E, F, G, H sources) with
    /// coefficients `p` in SPICE2's order: p0, then the linear terms x1..xn, then the
    /// products of degree 2 (x1², x1x2, ..., x1xn, x2², ...), then degree 3, each degree's
    /// index tuples nondecreasing in lexicographic order. A single coefficient is p0 (a
    /// constant), as ngspice 39 reads it (SPICE2 took it for the linear gain).
    pub fn poly(inputs: Vec<Input>, p: &[f64]) -> Result<Tape> {
        let n = inputs.len();
        let mut t = Tape {
            ops: vec![],
            inputs,
            vals: vec![],
            adj: vec![],
            events: vec![],
            states: vec![],
        };
        let x: Vec<usize> = (0..n).map(|k| t.push(Op::In(k))).collect();
        let mut acc = t.push(Op::Const(p.first().copied().unwrap_or(0.0)));
        let mut term: Vec<usize> = Vec::new();
        let mut k = 1;
        let mut degree = 1;
        // a polynomial's tape grows with the square of its coefficients in one dimension
        const MAX_OPS: usize = 1_000_000;
        while k < p.len() && n > 0 {
            term.clear();
            term.resize(degree, 0);
            loop {
                if k >= p.len() {
                    break;
                }
                if p[k] != 0.0 {
                    if t.ops.len() + degree + 2 > MAX_OPS {
                        return Err(Error::netlist(
                            format!("POLY with {} coefficients is too large", p.len()),
                            None,
                        ));
                    }
                    let mut prod = x[term[0]];
                    for &j in &term[1..] {
                        prod = t.push(Op::Bin(BinOp::Mul, prod, x[j]));
                    }
                    let c = t.push(Op::Const(p[k]));
                    let m = t.push(Op::Bin(BinOp::Mul, c, prod));
                    acc = t.push(Op::Bin(BinOp::Add, acc, m));
                }
                k += 1;
                // the next nondecreasing tuple of this degree
                match term.iter().rposition(|&j| j + 1 < n) {
                    Some(i) => {
                        let v = term[i] + 1;
                        term[i..].iter_mut().for_each(|j| *j = v);
                    }
                    None => break,
                }
            }
            degree += 1;
        }
        // the result is the last op
        if t.ops.last().is_some() && acc + 1 != t.ops.len() {
            let z = t.push(Op::Const(0.0));
            t.push(Op::Bin(BinOp::Add, acc, z));
        }
        t.vals = vec![0.0; t.ops.len()];
        t.adj = vec![0.0; t.ops.len()];
        Ok(t)
    }

    fn push(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.ops.len() - 1
    }

    fn input(&mut self, i: Input) -> usize {
        let k = match self.inputs.iter().position(|x| *x == i) {
            Some(k) => k,
            None => {
                self.inputs.push(i);
                self.inputs.len() - 1
            }
        };
        self.push(Op::In(k))
    }

    fn emit(&mut self, e: &Expr, env: &mut dyn Env) -> Result<usize> {
        Ok(match e {
            Expr::Num(v) => self.push(Op::Const(*v)),
            Expr::Name(n, _) => match n.as_str() {
                "time" => self.push(Op::Time),
                "pi" => self.push(Op::Const(std::f64::consts::PI)),
                _ => {
                    let v = env.name(n)?;
                    self.push(Op::Const(v))
                }
            },
            Expr::V(a, b) => self.input(Input::V(a.clone(), b.clone())),
            Expr::I(a) => self.input(Input::I(a.clone())),
            Expr::Un(op, a) => {
                let a = self.emit(a, env)?;
                self.push(Op::Un(*op, a))
            }
            Expr::Bin(op, a, b) => {
                let a = self.emit(a, env)?;
                let b = self.emit(b, env)?;
                if matches!(
                    op,
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
                ) {
                    self.events.push((a, Some(b)));
                }
                self.push(Op::Bin(*op, a, b))
            }
            Expr::Tern(c, a, b) => {
                let is_cmp = matches!(**c, Expr::Bin(op, ..) if matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne | BinOp::And | BinOp::Or));
                let c = self.emit(c, env)?;
                if !is_cmp {
                    self.events.push((c, None));
                }
                let a = self.emit(a, env)?;
                let b = self.emit(b, env)?;
                self.push(Op::Tern(c, a, b))
            }
            Expr::User(name, ..) => {
                return Err(Error::netlist(format!("unknown function '{name}'"), None));
            }
            Expr::Table(a, tab) => {
                let a = self.emit(a, env)?;
                self.push(Op::Table(a, Arc::clone(tab)))
            }
            Expr::Call(f @ (Func::Ddt | Func::Idt), args) => {
                let arg = self.emit(&args[0], env)?;
                let ic = match args.get(1) {
                    Some(a) => Some(self.emit(a, env)?),
                    None => None,
                };
                let kind = if *f == Func::Ddt {
                    StateKind::Ddt
                } else {
                    StateKind::Idt
                };
                self.states.push(State { kind, arg, ic });
                self.push(Op::State(self.states.len() - 1))
            }
            Expr::Call(f, args) => {
                if f.is_random(args.len()) {
                    let mut v = [0.0; 3];
                    for (k, a) in args.iter().enumerate() {
                        v[k] = eval_const(a, env)?;
                    }
                    let r = env.random(*f, &v[..args.len()])?;
                    return Ok(self.push(Op::Const(r)));
                }
                let mut ix = [0usize; 3];
                for (k, a) in args.iter().enumerate() {
                    ix[k] = self.emit(a, env)?;
                }
                if matches!(
                    f,
                    Func::U
                        | Func::Sgn
                        | Func::Eq0
                        | Func::Ne0
                        | Func::Gt0
                        | Func::Lt0
                        | Func::Ge0
                        | Func::Le0
                ) {
                    self.events.push((ix[0], None));
                }
                self.push(Op::Call(*f, ix, args.len() as u8))
            }
        })
    }

    /// Number of values `eval` takes: the inputs, then the state unknowns.
    pub fn n_vars(&self) -> usize {
        self.inputs.len() + self.states.len()
    }

    /// Evaluates with the input values `x` (the `inputs` in order, then the state unknowns)
    /// at `time`; fills `grad` (len = `n_vars()`) with d value / d x. No allocation.
    pub fn eval(&mut self, x: &[f64], time: f64, grad: &mut [f64]) -> f64 {
        let n = self.ops.len();
        let ni = self.inputs.len();
        for k in 0..n {
            let v = match &self.ops[k] {
                Op::Const(c) => *c,
                Op::In(j) => x[*j],
                Op::State(j) => x[ni + *j],
                Op::Table(a, t) => t.eval(self.vals[*a]).0,
                Op::Time => time,
                Op::Un(op, a) => un(*op, self.vals[*a]),
                Op::Bin(op, a, b) => bin(*op, self.vals[*a], self.vals[*b]),
                Op::Tern(c, a, b) => {
                    if self.vals[*c] != 0.0 {
                        self.vals[*a]
                    } else {
                        self.vals[*b]
                    }
                }
                Op::Call(f, ix, na) => {
                    let mut a = [0.0; 3];
                    for k in 0..*na as usize {
                        a[k] = self.vals[ix[k]];
                    }
                    call(*f, &a[..*na as usize]).0
                }
            };
            self.vals[k] = v;
        }
        if n == 0 {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return 0.0;
        }
        self.reverse(n - 1, grad)
    }

    /// After `eval`: the value at tape position `node` and its gradient (as `eval`'s).
    pub fn value_grad(&mut self, node: usize, grad: &mut [f64]) -> f64 {
        self.reverse(node, grad)
    }

    /// The reverse sweep from tape position `seed`: d vals[seed] / d x into `grad`.
    fn reverse(&mut self, seed: usize, grad: &mut [f64]) -> f64 {
        let ni = self.inputs.len();
        for g in grad.iter_mut() {
            *g = 0.0;
        }
        self.adj[..=seed].iter_mut().for_each(|a| *a = 0.0);
        self.adj[seed] = 1.0;
        for k in (0..=seed).rev() {
            let w = self.adj[k];
            if w == 0.0 {
                continue;
            }
            match &self.ops[k] {
                Op::Const(_) | Op::Time => {}
                Op::In(j) => grad[*j] += w,
                Op::State(j) => grad[ni + *j] += w,
                Op::Table(a, t) => {
                    let d = t.eval(self.vals[*a]).1;
                    self.adj[*a] += w * d;
                }
                Op::Un(UnOp::Neg, a) => self.adj[*a] -= w,
                Op::Un(UnOp::Not, _) => {}
                Op::Bin(op, a, b) => {
                    let (va, vb) = (self.vals[*a], self.vals[*b]);
                    let (da, db) = match op {
                        BinOp::Add => (1.0, 1.0),
                        BinOp::Sub => (1.0, -1.0),
                        BinOp::Mul => (vb, va),
                        BinOp::Div => (1.0 / vb, -va / (vb * vb)),
                        BinOp::Pow => {
                            let (_, d) = call(Func::Pow, &[va, vb]);
                            (d[0], d[1])
                        }
                        _ => (0.0, 0.0),
                    };
                    self.adj[*a] += w * da;
                    self.adj[*b] += w * db;
                }
                Op::Tern(c, a, b) => {
                    if self.vals[*c] != 0.0 {
                        self.adj[*a] += w;
                    } else {
                        self.adj[*b] += w;
                    }
                }
                Op::Call(f, ix, na) => {
                    let mut a = [0.0; 3];
                    for k in 0..*na as usize {
                        a[k] = self.vals[ix[k]];
                    }
                    let (_, d) = call(*f, &a[..*na as usize]);
                    for k in 0..*na as usize {
                        self.adj[ix[k]] += w * d[k];
                    }
                }
            }
        }
        self.vals[seed]
    }

    /// Number of event functions.
    pub fn n_events(&self) -> usize {
        self.events.len()
    }

    /// Event function values after the last `eval`: a sign change between two accepted time
    /// points means the expression switched between them.
    pub fn event_values(&self, out: &mut [f64]) {
        for (k, (a, b)) in self.events.iter().enumerate() {
            out[k] = match b {
                Some(b) => self.vals[*a] - self.vals[*b],
                None => self.vals[*a],
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn parse(s: &str) -> Result<Expr> {
        crate::expr::parse(s, |_, _| crate::error::Loc {
            file: "t".into(),
            line: 1,
            col: 1,
            len: 1,
            text: "".into(),
        })
    }
    use crate::expr::NoEnv;
    #[test]
    fn tape_gradients_match_finite_differences() {
        let exprs = [
            "v(a)*v(b) + sqrt(v(a))",
            "tanh(v(a,b)*3) - exp(v(b)/2)",
            "pwr(v(a),1.5)+pow(v(b),2)",
            "v(a)>0.5 ? v(b)**2 : ln(v(a)) + atan(v(b))",
            "limit(v(a)*4, -1, 1) + sinh(v(b))*cosh(v(a))",
            "log10(v(a))+abs(v(b)-1)+i(vx)*1k",
            "max(v(a), v(b)) / (1 + min(v(a), 2))",
        ];
        for s in exprs {
            let mut t = Tape::compile(&parse(s).unwrap(), &mut NoEnv).unwrap();
            let n = t.inputs.len();
            for &(x0, x1, x2) in &[(0.3, 0.7, 1e-3), (0.9, 1.4, -2e-3), (1.7, 0.2, 5e-4)] {
                let x = [x0, x1, x2];
                let mut g = vec![0.0; n];
                t.eval(&x[..n], 0.0, &mut g);
                for j in 0..n {
                    let h = 1e-6 * x[j].abs().max(1e-3);
                    let mut xp = x;
                    xp[j] += h;
                    let mut xm = x;
                    xm[j] -= h;
                    let mut d = vec![0.0; n];
                    let fp = t.eval(&xp[..n], 0.0, &mut d);
                    let fm = t.eval(&xm[..n], 0.0, &mut d);
                    let fd = (fp - fm) / (2.0 * h);
                    assert!(
                        (fd - g[j]).abs() <= 1e-5 * fd.abs().max(1.0),
                        "{s} d/dx{j}: {} vs fd {}",
                        g[j],
                        fd
                    );
                }
            }
        }
    }
}
