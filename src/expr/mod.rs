//! Expressions: `{...}`, `'...'`, `.param` right-hand sides and B-source `V=`/`I=`.
//!
//! Parameter expressions are evaluated once to numbers. B-source expressions are compiled to a
//! tape whose reverse sweep gives exact partial derivatives for Newton, and whose comparisons
//! are reported as event functions so the time stepper can land on their switching instants.

use crate::error::{Error, Loc, Result};
use std::fmt;
use std::sync::Arc;

pub mod number;
pub mod table;
pub mod tape;
pub mod user;

pub use table::Table;
pub use user::UserFunc;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnOp {
    Neg,
    Not,
}

/// Built-in functions. Random functions (`gauss` ...) evaluate to their nominal value unless
/// a Monte Carlo environment draws them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sqrt,
    Exp,
    Ln,
    Log10,
    Pow,
    Pwr,
    Abs,
    Sgn,
    Min,
    Max,
    Tanh,
    Sinh,
    Cosh,
    Atan,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Floor,
    Ceil,
    Limit,
    U,
    Uramp,
    Atan2,
    Gauss,
    Agauss,
    Unif,
    Aunif,
    Asinh,
    Acosh,
    Atanh,
    /// Round to the nearest integer, halves to even (ngspice's `nearbyint`).
    Nint,
    /// Truncate toward zero.
    Int,
    Cbrt,
    Hypot,
    /// `x * x` (ngspice's `.param` function; also in B sources here).
    Sqr,
    /// ngspice's `u2`: 0 below 0, x on [0, 1], 1 above.
    U2,
    /// ngspice's `eq0` ... `le0`: 1 where `x op 0` holds, else 0.
    Eq0,
    Ne0,
    Gt0,
    Lt0,
    Ge0,
    Le0,
    /// Time derivative of the argument (B sources in a transient; 0 in DC).
    Ddt,
    /// Time integral of the argument from t = 0, plus an optional initial value (B sources).
    Idt,
}

impl Func {
    pub fn from_name(s: &str) -> Option<Func> {
        use Func::*;
        Some(match s {
            "sqrt" => Sqrt,
            "exp" => Exp,
            "ln" | "log" => Ln,
            "log10" => Log10,
            "pow" => Pow,
            "pwr" => Pwr,
            "abs" => Abs,
            "sgn" | "sign" => Sgn,
            "min" => Min,
            "max" => Max,
            "tanh" => Tanh,
            "sinh" => Sinh,
            "cosh" => Cosh,
            "atan" | "arctan" => Atan,
            "sin" => Sin,
            "cos" => Cos,
            "tan" => Tan,
            "asin" => Asin,
            "acos" => Acos,
            "floor" => Floor,
            "ceil" => Ceil,
            "limit" => Limit,
            "u" | "stp" => U,
            "uramp" => Uramp,
            "atan2" => Atan2,
            "gauss" => Gauss,
            "agauss" => Agauss,
            "unif" => Unif,
            "aunif" => Aunif,
            "asinh" => Asinh,
            "acosh" => Acosh,
            "atanh" => Atanh,
            "nint" => Nint,
            "int" => Int,
            "fabs" => Abs,
            "cbrt" => Cbrt,
            "hypot" => Hypot,
            "sqr" => Sqr,
            "u2" => U2,
            "eq0" => Eq0,
            "ne0" => Ne0,
            "gt0" => Gt0,
            "lt0" => Lt0,
            "ge0" => Ge0,
            "le0" => Le0,
            "ddt" => Ddt,
            "idt" | "sdt" => Idt,
            _ => return None,
        })
    }
    /// Allowed argument counts.
    fn arity(self) -> &'static [usize] {
        use Func::*;
        match self {
            Pow | Pwr | Atan2 | Unif | Aunif | Hypot => &[2],
            // one argument: the value itself (the maximum of one number)
            Min | Max => &[1, 2],
            Limit => &[2, 3],
            Idt => &[1, 2],
            Gauss | Agauss => &[2, 3],
            _ => &[1],
        }
    }
    pub fn is_random(self, nargs: usize) -> bool {
        matches!(self, Func::Gauss | Func::Agauss | Func::Unif | Func::Aunif)
            || (self == Func::Limit && nargs == 2)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    /// A parameter or one of `time`, `temper`, `pi`.
    Name(String, usize),
    V(String, Option<String>),
    I(String),
    Un(UnOp, Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Tern(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    /// A call of a user function (`.func`), by name, with the byte offset of the name in the
    /// expression text; [`user::expand`] replaces it by the function's body.
    User(String, Vec<Expr>, usize),
    /// The E/G `TABLE` transfer curve of its argument.
    Table(Box<Expr>, Arc<Table>),
}

/// A parse error at a byte offset of the expression text (turned into an [`Error`] located by
/// the caller's `locate`).
#[derive(Debug, Clone)]
struct ExprError {
    msg: String,
    offset: usize,
    len: usize,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

struct P<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    /// Nesting depth of parentheses, calls and unary operators: bounded so a hostile input
    /// cannot overflow the stack of this recursive-descent parser.
    depth: usize,
    /// Operators kept in the tree so far (constant operands are folded and not counted):
    /// bounded because the tree's height, which every walk over it recurses on, is at most
    /// this plus the nesting depth.
    ops: usize,
}

/// Deepest nesting an expression may have.
const MAX_DEPTH: usize = 200;

/// Most operators one expression may keep after folding constants (`1+2+...` folds to one
/// number whatever its length; `a+b+...` keeps one operator per term).
pub const MAX_OPS: usize = 2000;

/// Parses expression text. A syntax error is an [`Error`] of kind `Syntax` at
/// `locate(offset, len)`, the place of the offending byte range of `src` in the netlist.
pub fn parse(src: &str, locate: impl Fn(usize, usize) -> Loc) -> Result<Expr> {
    parse_text(src).map_err(|e| Error::syntax(e.msg, &locate(e.offset, e.len)))
}

fn parse_text(src: &str) -> std::result::Result<Expr, ExprError> {
    let mut p = P {
        s: src.as_bytes(),
        src,
        i: 0,
        depth: 0,
        ops: 0,
    };
    let e = p.ternary()?;
    p.ws();
    if p.i < p.s.len() {
        let c = p.s[p.i] as char;
        if c == ')' {
            return Err(p.err("unbalanced ')' in expression", 1));
        }
        return Err(p.err(format!("unexpected '{c}' in expression"), 1));
    }
    Ok(e)
}

impl P<'_> {
    fn err(&self, msg: impl Into<String>, len: usize) -> ExprError {
        ExprError {
            msg: msg.into(),
            offset: self.i.min(self.s.len()),
            len,
        }
    }
    /// `l op r`, folded to a number when both sides are numbers (evaluated as `eval_const`
    /// would, in the same order), else one more operator against [`MAX_OPS`].
    fn bin(&mut self, op: BinOp, l: Expr, r: Expr) -> std::result::Result<Expr, ExprError> {
        if let (Expr::Num(a), Expr::Num(b)) = (&l, &r) {
            return Ok(Expr::Num(bin(op, *a, *b)));
        }
        self.count_op()?;
        Ok(Expr::Bin(op, Box::new(l), Box::new(r)))
    }
    fn count_op(&mut self) -> std::result::Result<(), ExprError> {
        self.ops += 1;
        if self.ops > MAX_OPS {
            return Err(self.err(
                format!(
                    "expression has more than {MAX_OPS} operators on non-constant terms; \
                     split it into several .param definitions"
                ),
                1,
            ));
        }
        Ok(())
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, t: &str) -> bool {
        self.ws();
        if self.src[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn ternary(&mut self) -> std::result::Result<Expr, ExprError> {
        let c = self.or()?;
        if self.eat("?") {
            // a chain `c1 ? a : c2 ? b : ...` nests: it counts against the depth and operators
            self.count_op()?;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(self.err(
                    format!("expression nested deeper than {MAX_DEPTH} levels"),
                    1,
                ));
            }
            let a = self.ternary()?;
            if !self.eat(":") {
                return Err(self.err("expected ':' in 'cond ? a : b'", 1));
            }
            let b = self.ternary()?;
            self.depth -= 1;
            return Ok(Expr::Tern(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }
    fn or(&mut self) -> std::result::Result<Expr, ExprError> {
        let mut l = self.and()?;
        while self.eat("||") {
            let r = self.and()?;
            l = self.bin(BinOp::Or, l, r)?;
        }
        Ok(l)
    }
    fn and(&mut self) -> std::result::Result<Expr, ExprError> {
        let mut l = self.cmp()?;
        while self.eat("&&") {
            let r = self.cmp()?;
            l = self.bin(BinOp::And, l, r)?;
        }
        Ok(l)
    }
    fn cmp(&mut self) -> std::result::Result<Expr, ExprError> {
        let l = self.add()?;
        let ops = [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ];
        for (t, op) in ops {
            if self.eat(t) {
                let r = self.add()?;
                return self.bin(op, l, r);
            }
        }
        Ok(l)
    }
    fn add(&mut self) -> std::result::Result<Expr, ExprError> {
        let mut l = self.mul()?;
        loop {
            if self.eat("+") {
                let r = self.mul()?;
                l = self.bin(BinOp::Add, l, r)?;
            } else if self.peek_minus() {
                self.i += 1;
                let r = self.mul()?;
                l = self.bin(BinOp::Sub, l, r)?;
            } else {
                return Ok(l);
            }
        }
    }
    fn peek_minus(&mut self) -> bool {
        self.ws();
        self.i < self.s.len() && self.s[self.i] == b'-'
    }
    fn mul(&mut self) -> std::result::Result<Expr, ExprError> {
        let mut l = self.unary()?;
        loop {
            self.ws();
            if self.src[self.i..].starts_with("**") {
                return Ok(l);
            }
            if self.eat("*") {
                let r = self.unary()?;
                l = self.bin(BinOp::Mul, l, r)?;
            } else if self.eat("/") {
                let r = self.unary()?;
                l = self.bin(BinOp::Div, l, r)?;
            } else {
                return Ok(l);
            }
        }
    }
    fn unary(&mut self) -> std::result::Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(
                format!("expression nested deeper than {MAX_DEPTH} levels"),
                1,
            ));
        }
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }
    fn unary_inner(&mut self) -> std::result::Result<Expr, ExprError> {
        if self.eat("-") {
            let e = self.unary()?;
            return Ok(match e {
                Expr::Num(v) => Expr::Num(-v),
                e => Expr::Un(UnOp::Neg, Box::new(e)),
            });
        }
        if self.eat("+") {
            return self.unary();
        }
        if self.eat("!") {
            let e = self.unary()?;
            return Ok(Expr::Un(UnOp::Not, Box::new(e)));
        }
        self.pow()
    }
    fn pow(&mut self) -> std::result::Result<Expr, ExprError> {
        let b = self.atom()?;
        if self.eat("**") || self.eat("^") {
            let e = self.unary()?;
            return self.bin(BinOp::Pow, b, e);
        }
        Ok(b)
    }
    fn atom(&mut self) -> std::result::Result<Expr, ExprError> {
        self.ws();
        if self.i >= self.s.len() {
            return Err(self.err("expression ends too early (expected a value)", 1));
        }
        let c = self.s[self.i];
        // `{...}` inside an expression groups like parentheses: a `.meas` expression written
        // `par({v(a)*v(b)})` or `'{a}*2'` means what it says in ngspice too
        if c == b'(' || c == b'{' {
            let open = self.i;
            let close = if c == b'(' { ")" } else { "}" };
            self.i += 1;
            let e = self.ternary()?;
            if !self.eat(close) {
                return Err(ExprError {
                    msg: format!("unbalanced '{}' in expression", c as char),
                    offset: open,
                    len: 1,
                });
            }
            return Ok(e);
        }
        if c.is_ascii_digit() || c == b'.' {
            let start = self.i;
            let mut j = self.i;
            while j < self.s.len()
                && (self.s[j].is_ascii_alphanumeric()
                    || self.s[j] >= 0x80
                    || self.s[j] == b'.'
                    || ((self.s[j] == b'+' || self.s[j] == b'-')
                        && j > start
                        && (self.s[j - 1] == b'e' || self.s[j - 1] == b'E')
                        && self.s[start..j - 1]
                            .iter()
                            .all(|b| b.is_ascii_digit() || *b == b'.')))
            {
                j += 1;
            }
            let tok = &self.src[start..j];
            return match number::parse_number(tok) {
                Some(v) => {
                    self.i = j;
                    Ok(Expr::Num(v))
                }
                None => Err(ExprError {
                    msg: number::out_of_range(tok).unwrap_or(format!("invalid number '{tok}'")),
                    offset: start,
                    len: j - start,
                }),
            };
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = self.i;
            let mut j = self.i;
            while j < self.s.len()
                && (self.s[j].is_ascii_alphanumeric()
                    || self.s[j] == b'_'
                    || self.s[j] == b'.'
                    || self.s[j] == b'$')
            {
                j += 1;
            }
            let name = self.src[start..j].to_ascii_lowercase();
            self.i = j;
            self.ws();
            let call = self.i < self.s.len() && self.s[self.i] == b'(';
            if !call {
                return Ok(Expr::Name(name, start));
            }
            if name == "v" || name == "i" {
                self.i += 1;
                let args = self.raw_args()?;
                return match (name.as_str(), args.len()) {
                    ("v", 1) => Ok(Expr::V(args[0].clone(), None)),
                    ("v", 2) => Ok(Expr::V(args[0].clone(), Some(args[1].clone()))),
                    ("i", 1) => Ok(Expr::I(args[0].clone())),
                    _ => Err(ExprError {
                        msg: format!(
                            "{name}() takes {} node name(s)",
                            if name == "v" {
                                "one or two"
                            } else {
                                "one source"
                            }
                        ),
                        offset: start,
                        len: name.len(),
                    }),
                };
            }
            let f = Func::from_name(&name);
            self.i += 1;
            let mut args = Vec::new();
            if !self.eat(")") {
                loop {
                    args.push(self.ternary()?);
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat(")") {
                        break;
                    }
                    return Err(ExprError {
                        msg: format!("unbalanced '(' in call of {name}()"),
                        offset: start,
                        len: name.len(),
                    });
                }
            }
            let Some(f) = f else {
                if name == "pwl" {
                    return self.pwl(args, start);
                }
                if name == "ternary_fcn" {
                    if args.len() != 3 {
                        return Err(ExprError {
                            msg: format!("ternary_fcn() takes 3 arguments, got {}", args.len()),
                            offset: start,
                            len: name.len(),
                        });
                    }
                    let mut a = args.into_iter();
                    let (Some(c), Some(x), Some(y)) = (a.next(), a.next(), a.next()) else {
                        return Err(self.err("ternary_fcn() takes 3 arguments", 1));
                    };
                    return Ok(Expr::Tern(Box::new(c), Box::new(x), Box::new(y)));
                }
                // not built in: a user function (`.func`), resolved in its scope
                return Ok(Expr::User(name, args, start));
            };
            if !f.arity().contains(&args.len()) {
                return Err(ExprError {
                    msg: format!(
                        "{name}() takes {:?} argument(s), got {}",
                        f.arity(),
                        args.len()
                    ),
                    offset: start,
                    len: name.len(),
                });
            }
            return Ok(Expr::Call(f, args));
        }
        Err(self.err(format!("unexpected '{}' in expression", c as char), 1))
    }
    /// ngspice's B-source `pwl(x, x1, y1, x2, y2, ...)`: linear between the points, the end
    /// segments extended beyond them, as a chain of `x < xk ? segment : ...` (exact
    /// derivatives, and the corners are events the time stepper lands on).
    fn pwl(&mut self, args: Vec<Expr>, start: usize) -> std::result::Result<Expr, ExprError> {
        let bad = |msg: String| ExprError {
            msg,
            offset: start,
            len: 3,
        };
        if args.len() < 5 || args.len().is_multiple_of(2) {
            return Err(bad(format!(
                "pwl() takes the input and at least two (x, y) points: pwl(x, x1, y1, x2, y2, ...), got {} argument(s)",
                args.len()
            )));
        }
        let mut it = args.into_iter();
        let Some(x) = it.next() else {
            return Err(bad("pwl() needs an input".into()));
        };
        let pts: Vec<Expr> = it.collect();
        let m = pts.len() / 2;
        if m > MAX_DEPTH / 2 {
            return Err(bad(format!(
                "pwl() with more than {} points; use an E/G TABLE",
                MAX_DEPTH / 2
            )));
        }
        let seg = |p: &mut Self, k: usize| -> std::result::Result<Expr, ExprError> {
            let (x0, y0, x1, y1) = (
                pts[2 * k].clone(),
                pts[2 * k + 1].clone(),
                pts[2 * k + 2].clone(),
                pts[2 * k + 3].clone(),
            );
            let dy = p.bin(BinOp::Sub, y1, y0.clone())?;
            let dx = p.bin(BinOp::Sub, x1, x0.clone())?;
            let slope = p.bin(BinOp::Div, dy, dx)?;
            let off = p.bin(BinOp::Sub, x.clone(), x0)?;
            let lin = p.bin(BinOp::Mul, slope, off)?;
            p.bin(BinOp::Add, y0, lin)
        };
        let mut acc = seg(self, m - 2)?;
        for k in (0..m - 2).rev() {
            let cond = self.bin(BinOp::Lt, x.clone(), pts[2 * k + 2].clone())?;
            let here = seg(self, k)?;
            self.count_op()?;
            acc = Expr::Tern(Box::new(cond), Box::new(here), Box::new(acc));
        }
        Ok(acc)
    }
    /// Node names inside v(...) / i(...), comma separated, raw.
    fn raw_args(&mut self) -> std::result::Result<Vec<String>, ExprError> {
        let mut args = Vec::new();
        let mut cur = String::new();
        while self.i < self.s.len() {
            let c = self.s[self.i] as char;
            self.i += 1;
            match c {
                ')' => {
                    if !cur.trim().is_empty() {
                        args.push(cur.trim().to_ascii_lowercase());
                    }
                    return Ok(args);
                }
                ',' => {
                    args.push(cur.trim().to_ascii_lowercase());
                    cur.clear();
                }
                _ => cur.push(c),
            }
        }
        Err(self.err("unbalanced '(' in v()/i()", 1))
    }
}

/// What a constant expression may refer to.
pub trait Env {
    /// The value of a parameter (or `temper`...); an error (without a location: the caller
    /// knows where the expression is) if it is not defined.
    fn name(&mut self, name: &str) -> Result<f64>;
    /// A random function call; by default its nominal value.
    fn random(&mut self, f: Func, args: &[f64]) -> Result<f64> {
        let _ = f;
        Ok(args[0])
    }
    /// The value of a circuit quantity, `e` being an [`Expr::V`] or [`Expr::I`]: only
    /// expressions over waveforms (`.meas`) have one.
    fn circuit(&mut self, e: &Expr) -> Result<f64> {
        let _ = e;
        Err(Error::netlist(
            "v() and i() are only allowed in B-source expressions",
            None,
        ))
    }
}

/// Evaluates an expression that may not depend on circuit variables. Errors carry no location
/// unless `env` gave one; the caller adds the expression's.
pub fn eval_const(e: &Expr, env: &mut dyn Env) -> Result<f64> {
    Ok(match e {
        Expr::Num(v) => *v,
        Expr::Name(n, _) => match n.as_str() {
            "pi" => std::f64::consts::PI,
            _ => env.name(n)?,
        },
        Expr::V(..) | Expr::I(..) => env.circuit(e)?,
        Expr::Un(op, a) => un(*op, eval_const(a, env)?),
        Expr::Bin(op, a, b) => bin(*op, eval_const(a, env)?, eval_const(b, env)?),
        Expr::Tern(c, a, b) => {
            if eval_const(c, env)? != 0.0 {
                eval_const(a, env)?
            } else {
                eval_const(b, env)?
            }
        }
        Expr::Call(Func::Ddt | Func::Idt, _) => {
            return Err(Error::netlist(
                "ddt() and idt() are only allowed in B-source expressions (they need a transient)",
                None,
            ));
        }
        Expr::Call(f, args) => {
            let mut v = [0.0; 3];
            for (k, a) in args.iter().enumerate() {
                v[k] = eval_const(a, env)?;
            }
            if f.is_random(args.len()) {
                env.random(*f, &v[..args.len()])?
            } else {
                call(*f, &v[..args.len()]).0
            }
        }
        Expr::User(name, ..) => {
            return Err(Error::netlist(format!("unknown function '{name}'"), None));
        }
        Expr::Table(a, t) => t.eval(eval_const(a, env)?).0,
    })
}

pub(crate) fn un(op: UnOp, a: f64) -> f64 {
    match op {
        UnOp::Neg => -a,
        UnOp::Not => (a == 0.0) as i32 as f64,
    }
}

fn b2f(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// `x ** y`, `x ^ y` and `pow(x, y)` as ngspice 39 evaluates them: |x|^y (only `pwr` keeps
/// the sign of the base).
fn spice_pow(x: f64, y: f64) -> f64 {
    x.abs().powf(y)
}

pub(crate) fn bin(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Pow => spice_pow(a, b),
        BinOp::Lt => b2f(a < b),
        BinOp::Le => b2f(a <= b),
        BinOp::Gt => b2f(a > b),
        BinOp::Ge => b2f(a >= b),
        BinOp::Eq => b2f(a == b),
        BinOp::Ne => b2f(a != b),
        BinOp::And => b2f(a != 0.0 && b != 0.0),
        BinOp::Or => b2f(a != 0.0 || b != 0.0),
    }
}

/// Value and partial derivatives (up to three arguments) of a built-in function.
pub(crate) fn call(f: Func, a: &[f64]) -> (f64, [f64; 3]) {
    use Func::*;
    let x = a[0];
    let z = [0.0; 3];
    match f {
        Sqrt => {
            let v = x.sqrt();
            (v, [0.5 / v, 0.0, 0.0])
        }
        Exp => {
            let v = x.exp();
            (v, [v, 0.0, 0.0])
        }
        Ln => (x.ln(), [1.0 / x, 0.0, 0.0]),
        Log10 => (x.log10(), [1.0 / (x * std::f64::consts::LN_10), 0.0, 0.0]),
        Pow => {
            let y = a[1];
            let v = spice_pow(x, y);
            let dx = if y == 0.0 || x == 0.0 {
                0.0
            } else {
                y * x.abs().powf(y - 1.0) * x.signum()
            };
            let dy = if x == 0.0 { 0.0 } else { v * x.abs().ln() };
            (v, [dx, dy, 0.0])
        }
        Pwr => {
            let y = a[1];
            let v = x.signum() * x.abs().powf(y);
            let dx = if x == 0.0 && y < 1.0 {
                0.0
            } else {
                y * x.abs().powf(y - 1.0)
            };
            let dy = if x == 0.0 { 0.0 } else { v * x.abs().ln() };
            (v, [dx, dy, 0.0])
        }
        Abs => (x.abs(), [if x >= 0.0 { 1.0 } else { -1.0 }, 0.0, 0.0]),
        Sgn => (
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            },
            z,
        ),
        Min | Max if a.len() == 1 => (x, [1.0, 0.0, 0.0]),
        Min => {
            if x <= a[1] {
                (x, [1.0, 0.0, 0.0])
            } else {
                (a[1], [0.0, 1.0, 0.0])
            }
        }
        Max => {
            if x >= a[1] {
                (x, [1.0, 0.0, 0.0])
            } else {
                (a[1], [0.0, 1.0, 0.0])
            }
        }
        Tanh => {
            let v = x.tanh();
            (v, [1.0 - v * v, 0.0, 0.0])
        }
        Sinh => (x.sinh(), [x.cosh(), 0.0, 0.0]),
        Cosh => (x.cosh(), [x.sinh(), 0.0, 0.0]),
        Atan => (x.atan(), [1.0 / (1.0 + x * x), 0.0, 0.0]),
        Sin => (x.sin(), [x.cos(), 0.0, 0.0]),
        Cos => (x.cos(), [-x.sin(), 0.0, 0.0]),
        Tan => {
            let c = x.cos();
            (x.tan(), [1.0 / (c * c), 0.0, 0.0])
        }
        Asin => (x.asin(), [1.0 / (1.0 - x * x).sqrt(), 0.0, 0.0]),
        Acos => (x.acos(), [-1.0 / (1.0 - x * x).sqrt(), 0.0, 0.0]),
        Floor => (x.floor(), z),
        Ceil => (x.ceil(), z),
        Limit => {
            if a.len() == 2 {
                return (x, z); // the random limit(nom, abs) outside Monte Carlo
            }
            let (lo, hi) = if a[1] <= a[2] {
                (a[1], a[2])
            } else {
                (a[2], a[1])
            };
            if x < lo {
                (
                    lo,
                    [
                        0.0,
                        if a[1] <= a[2] { 1.0 } else { 0.0 },
                        if a[1] <= a[2] { 0.0 } else { 1.0 },
                    ],
                )
            } else if x > hi {
                (
                    hi,
                    [
                        0.0,
                        if a[1] <= a[2] { 0.0 } else { 1.0 },
                        if a[1] <= a[2] { 1.0 } else { 0.0 },
                    ],
                )
            } else {
                (x, [1.0, 0.0, 0.0])
            }
        }
        // ngspice: u(0) = 0.5
        U => (
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                0.0
            } else {
                0.5
            },
            z,
        ),
        Uramp => (x.max(0.0), [b2f(x > 0.0), 0.0, 0.0]),
        Atan2 => {
            let y = x;
            let xx = a[1];
            let d = xx * xx + y * y;
            (y.atan2(xx), [xx / d, -y / d, 0.0])
        }
        Gauss | Agauss | Unif | Aunif => (x, z),
        Asinh => (x.asinh(), [1.0 / (x * x + 1.0).sqrt(), 0.0, 0.0]),
        Acosh => (x.acosh(), [1.0 / (x * x - 1.0).sqrt(), 0.0, 0.0]),
        Atanh => (x.atanh(), [1.0 / (1.0 - x * x), 0.0, 0.0]),
        // ngspice (B sources and .param): nearbyint, halves to even
        Nint => (x.round_ties_even(), z),
        Int => (x.trunc(), z),
        Cbrt => {
            let v = x.cbrt();
            (v, [1.0 / (3.0 * v * v), 0.0, 0.0])
        }
        Hypot => {
            let v = x.hypot(a[1]);
            if v == 0.0 {
                (0.0, z)
            } else {
                (v, [x / v, a[1] / v, 0.0])
            }
        }
        Sqr => (x * x, [2.0 * x, 0.0, 0.0]),
        U2 => (x.clamp(0.0, 1.0), [b2f(x > 0.0 && x <= 1.0), 0.0, 0.0]),
        Eq0 => (b2f(x == 0.0), z),
        Ne0 => (b2f(x != 0.0), z),
        Gt0 => (b2f(x > 0.0), z),
        Lt0 => (b2f(x < 0.0), z),
        Ge0 => (b2f(x >= 0.0), z),
        Le0 => (b2f(x <= 0.0), z),
        // the tape gives these their meaning (state unknowns of the B source)
        Ddt | Idt => (x, z),
    }
}

/// An environment for tests: `a` = 2, nothing else defined.
#[cfg(test)]
pub(crate) struct NoEnv;

#[cfg(test)]
impl Env for NoEnv {
    fn name(&mut self, n: &str) -> Result<f64> {
        if n == "a" {
            Ok(2.0)
        } else {
            Err(Error::netlist(format!("undefined parameter '{n}'"), None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn parse(s: &str) -> std::result::Result<Expr, ExprError> {
        parse_text(s)
    }
    fn ev(s: &str) -> f64 {
        eval_const(&parse(s).unwrap(), &mut NoEnv).unwrap()
    }
    #[test]
    fn precedence() {
        assert_eq!(ev("1+2*3"), 7.0);
        assert_eq!(ev("2**3**2"), 512.0);
        assert_eq!(ev("-2^2"), -4.0); // power binds tighter than unary minus
        assert_eq!(ev("a*1k"), 2000.0);
        assert_eq!(ev("a > 1 ? 10 : 20"), 10.0);
        assert_eq!(ev("max(1, a) + min(3,4)"), 5.0);
        assert_eq!(ev("1e-3*2"), 2e-3);
        // an unknown function parses (it may be a .func resolved in its scope) and fails there
        assert!(eval_const(&parse("foo(1)").unwrap(), &mut NoEnv).is_err());
        assert_eq!(ev("ternary_fcn(a > 1, 3, 4) + nint(2.5) + int(-1.5)"), 4.0);
        assert_eq!(
            ev("asinh(0) + acosh(1) + atanh(0) + hypot(3, 4) + cbrt(8) + fabs(-1)"),
            8.0
        );
        assert_eq!(ev("max(a) + min(3)"), 5.0);
        assert_eq!(ev("sqr(a) + sqr(-3)"), 13.0);
        assert_eq!(ev("u2(-1) + u2(0.25) + u2(7)"), 1.25);
        assert_eq!(
            ev("eq0(0) + ne0(a) + gt0(-1) + lt0(-1) + ge0(0) + le0(a)"),
            4.0
        );
        assert!(parse("ternary_fcn(1, 2)").is_err());
        assert!(eval_const(&parse("ddt(a)").unwrap(), &mut NoEnv).is_err());
        assert_eq!(ev("2µ * 1e6"), 2.0);
        assert!(parse("(1+2").is_err());
        assert_eq!(ev("{a*2} + 1"), 5.0);
        // pwl: inside, between, and beyond both ends (the end segments extended)
        let p = |x: &str| ev(&format!("pwl({x}, 0, 0, 1, 1, 2, 4)"));
        assert_eq!(
            (p("-1"), p("0.5"), p("a-0.5"), p("3")),
            (-1.0, 0.5, 2.5, 7.0)
        );
        assert!(parse("pwl(a, 0, 1)").is_err());
        assert!(parse("pwl(a, 0, 1, 2)").is_err());
        assert!(parse("{1+2").is_err());
        assert!(parse("{1+2)").is_err());
        assert!(parse("1+2)").is_err());
    }
}

#[cfg(test)]
mod depth_tests {
    use super::parse_text as parse;
    /// Regression (found by fuzzing): thousands of nested parentheses or unary minus signs
    /// overflowed the stack; they are now a parse error.
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep).unwrap_err().msg.contains("nested deeper"));
        let minus = format!("{}1", "-".repeat(5000));
        assert!(parse(&minus).is_err());
        let calls = format!("{}1{}", "sin(".repeat(3000), ")".repeat(3000));
        assert!(parse(&calls).is_err());
        assert!(parse(&format!("{}1{}", "(".repeat(50), ")".repeat(50))).is_ok());
    }
}
