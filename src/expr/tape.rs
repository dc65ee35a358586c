//! A compiled B-source expression: forward values, reverse-mode derivatives for Newton, and
//! its comparisons as event functions so the time stepper can land on their switching
//! instants. Devices use it (`devices::behavioral`); the netlist compiles it.

use super::{BinOp, Env, Expr, Func, UnOp, bin, call, eval_const, un};
use crate::error::Result;

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
        };
        t.emit(e, env)?;
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
                if matches!(f, Func::U | Func::Sgn) {
                    self.events.push((ix[0], None));
                }
                self.push(Op::Call(*f, ix, args.len() as u8))
            }
        })
    }

    /// Evaluates with the input values `x` (same order as `inputs`) at `time`; fills `grad`
    /// (len = inputs.len()) with d value / d input. No allocation.
    pub fn eval(&mut self, x: &[f64], time: f64, grad: &mut [f64]) -> f64 {
        let n = self.ops.len();
        for k in 0..n {
            let v = match &self.ops[k] {
                Op::Const(c) => *c,
                Op::In(j) => x[*j],
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
        for g in grad.iter_mut() {
            *g = 0.0;
        }
        self.adj.iter_mut().for_each(|a| *a = 0.0);
        if n == 0 {
            return 0.0;
        }
        self.adj[n - 1] = 1.0;
        for k in (0..n).rev() {
            let w = self.adj[k];
            if w == 0.0 {
                continue;
            }
            match &self.ops[k] {
                Op::Const(_) | Op::Time => {}
                Op::In(j) => grad[*j] += w,
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
        self.vals[n - 1]
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
