//! User functions (`.func name(a, b) {body}`): a call is replaced by the function's body with
//! the arguments put in for the parameters' bare names (not for names inside `v()`/`i()`,
//! which stay node and source names), as ngspice's numparam does. Names in the body that are
//! not parameters are resolved where the call is, like the rest of that expression.
//!
//! A function that calls itself, directly or through others, is an error naming the chain;
//! expansion is bounded in nesting, in the depth of the result and in its size, so no input
//! can make it (or the evaluators after it) recurse without limit or exhaust memory.

use super::{Expr, Table};
use std::sync::Arc;

/// A `.func` definition.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFunc {
    /// Lowercase name.
    pub name: String,
    /// Lowercase parameter names, in order.
    pub params: Vec<String>,
    pub body: Expr,
}

/// Why an expansion failed, at a byte range of the expression that was expanded.
#[derive(Debug, Clone)]
pub struct ExpandError {
    pub msg: String,
    pub offset: usize,
    pub len: usize,
}

/// Deepest chain of nested user-function calls.
const MAX_CALL_NESTING: usize = 64;
/// Deepest expression tree an expansion may produce (the evaluators recurse on it).
const MAX_DEPTH: usize = 1000;
/// Most nodes an expansion may produce.
const MAX_NODES: usize = 1_000_000;

/// Whether `e` calls a user function (iterative: `e` may be deep).
pub fn has_user(e: &Expr) -> bool {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::User(..) => return true,
            Expr::Un(_, a) | Expr::Table(a, _) => stack.push(a),
            Expr::Bin(_, a, b) => stack.extend([&**a, &**b]),
            Expr::Tern(c, a, b) => stack.extend([&**c, &**a, &**b]),
            Expr::Call(_, args) => stack.extend(args.iter()),
            Expr::Num(_) | Expr::Name(..) | Expr::V(..) | Expr::I(..) => {}
        }
    }
    false
}

/// Replaces every user-function call in `e` by its body; `lookup` finds a function by name
/// (in the scope of the expression). `e` is returned unchanged when it calls none.
pub fn expand(
    e: &Expr,
    lookup: &mut dyn FnMut(&str) -> Option<Arc<UserFunc>>,
) -> Result<Expr, ExpandError> {
    if !has_user(e) {
        return Ok(e.clone());
    }
    let mut x = Expander {
        lookup,
        active: Vec::new(),
        nodes: 0,
    };
    x.go(e, &[], None, 0).map(|(e, _)| e)
}

/// An argument put in for a parameter: its expression and that expression's depth.
struct Arg {
    name: String,
    expr: Expr,
    depth: usize,
    nodes: usize,
}

struct Expander<'a> {
    lookup: &'a mut dyn FnMut(&str) -> Option<Arc<UserFunc>>,
    /// The functions being expanded, outermost first.
    active: Vec<String>,
    nodes: usize,
}

impl Expander<'_> {
    /// Expands `e` with `args` put in for parameter names. `site` is where, in the expression
    /// being expanded, the outermost call being expanded is (errors inside a body point there).
    /// Returns the expression and its depth.
    fn go(
        &mut self,
        e: &Expr,
        args: &[Arg],
        site: Option<(usize, usize)>,
        level: usize,
    ) -> Result<(Expr, usize), ExpandError> {
        let err = |msg: String, at: (usize, usize)| {
            let (offset, len) = site.unwrap_or(at);
            ExpandError { msg, offset, len }
        };
        if level > MAX_DEPTH {
            return Err(err(
                format!(
                    "expression nested deeper than {MAX_DEPTH} levels once its .func calls are expanded"
                ),
                (0, 1),
            ));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(err(
                format!(
                    "expression grows beyond {MAX_NODES} terms once its .func calls are expanded"
                ),
                (0, 1),
            ));
        }
        let sub = |s: &mut Self, a: &Expr| s.go(a, args, site, level + 1);
        let out = match e {
            Expr::Name(n, _) => match args.iter().find(|a| a.name == *n) {
                Some(a) => {
                    self.nodes += a.nodes;
                    if self.nodes > MAX_NODES {
                        return Err(err(
                            format!(
                                "expression grows beyond {MAX_NODES} terms once its .func calls are expanded"
                            ),
                            (0, 1),
                        ));
                    }
                    return Ok((a.expr.clone(), a.depth));
                }
                None => (e.clone(), 1),
            },
            Expr::Num(_) | Expr::V(..) | Expr::I(..) => (e.clone(), 1),
            Expr::Un(op, a) => {
                let (a, d) = sub(self, a)?;
                (Expr::Un(*op, Box::new(a)), d + 1)
            }
            Expr::Bin(op, a, b) => {
                let (a, da) = sub(self, a)?;
                let (b, db) = sub(self, b)?;
                (Expr::Bin(*op, Box::new(a), Box::new(b)), da.max(db) + 1)
            }
            Expr::Tern(c, a, b) => {
                let (c, dc) = sub(self, c)?;
                let (a, da) = sub(self, a)?;
                let (b, db) = sub(self, b)?;
                (
                    Expr::Tern(Box::new(c), Box::new(a), Box::new(b)),
                    dc.max(da).max(db) + 1,
                )
            }
            Expr::Call(f, xs) => {
                let mut out = Vec::with_capacity(xs.len());
                let mut d = 0;
                for a in xs {
                    let (a, da) = sub(self, a)?;
                    d = d.max(da);
                    out.push(a);
                }
                (Expr::Call(*f, out), d + 1)
            }
            Expr::Table(a, t) => {
                let (a, d) = sub(self, a)?;
                (Expr::Table(Box::new(a), Arc::<Table>::clone(t)), d + 1)
            }
            Expr::User(name, xs, off) => {
                let at = (*off, name.len());
                let Some(f) = (self.lookup)(name) else {
                    return Err(err(
                        match &self.active.last() {
                            Some(outer) => format!("unknown function '{name}' (in .func {outer})"),
                            None => format!("unknown function '{name}'"),
                        },
                        at,
                    ));
                };
                if xs.len() != f.params.len() {
                    return Err(err(
                        format!(
                            "function '{name}' takes {} argument(s), got {}",
                            f.params.len(),
                            xs.len()
                        ),
                        at,
                    ));
                }
                if let Some(k) = self.active.iter().position(|a| a == name) {
                    let chain: Vec<&str> = self.active[k..]
                        .iter()
                        .map(String::as_str)
                        .chain([name.as_str()])
                        .collect();
                    return Err(err(
                        format!(
                            "recursive .func: {} (a function may not call itself)",
                            chain.join(" -> ")
                        ),
                        at,
                    ));
                }
                if self.active.len() >= MAX_CALL_NESTING {
                    return Err(err(
                        format!("user-function calls nested deeper than {MAX_CALL_NESTING} levels"),
                        at,
                    ));
                }
                let mut inner = Vec::with_capacity(xs.len());
                for (p, a) in f.params.iter().zip(xs) {
                    let before = self.nodes;
                    let (a, d) = sub(self, a)?;
                    inner.push(Arg {
                        name: p.clone(),
                        expr: a,
                        depth: d,
                        nodes: self.nodes - before,
                    });
                }
                self.active.push(name.clone());
                let r = self.go(&f.body, &inner, site.or(Some(at)), level + 1);
                self.active.pop();
                return r;
            }
        };
        if out.1 > MAX_DEPTH {
            return Err(err(
                format!(
                    "expression nested deeper than {MAX_DEPTH} levels once its .func calls are expanded"
                ),
                (0, 1),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{Env, eval_const, parse_text};

    struct Consts;
    impl Env for Consts {
        fn name(&mut self, n: &str) -> crate::error::Result<f64> {
            match n {
                "xoo" => Ok(100.0),
                _ => Err(crate::error::Error::netlist(
                    format!("undefined '{n}'"),
                    None,
                )),
            }
        }
    }

    fn funcs(defs: &[(&str, &[&str], &str)]) -> Vec<Arc<UserFunc>> {
        defs.iter()
            .map(|(n, p, b)| {
                Arc::new(UserFunc {
                    name: n.to_string(),
                    params: p.iter().map(|s| s.to_string()).collect(),
                    body: parse_text(b).unwrap(),
                })
            })
            .collect()
    }

    fn owned(defs: &[(String, Vec<&str>, String)]) -> Vec<Arc<UserFunc>> {
        let refs: Vec<(&str, &[&str], &str)> = defs
            .iter()
            .map(|(n, p, b)| (n.as_str(), p.as_slice(), b.as_str()))
            .collect();
        funcs(&refs)
    }

    fn run(fs: &[Arc<UserFunc>], s: &str) -> Result<Expr, ExpandError> {
        let e = parse_text(s).unwrap();
        expand(&e, &mut |n| fs.iter().find(|f| f.name == n).cloned())
    }

    /// The cases of ngspice's own tests/regression/func/func-1.cir that need no circuit.
    #[test]
    fn expands_like_numparam() {
        let fs = funcs(&[
            ("foo0", &[], "1013.0"),
            ("bar1", &["p"], "p"),
            ("baz3", &["x"], "x+x"),
            ("moo2", &["x", "p", "n"], "x<p?p:x>n?n:x"),
            ("fun1", &["a", "xoo"], "a*xoo"),
            ("sq", &["x"], "x*x"),
            ("lin", &["x", "a", "b"], "a*x + b"),
        ]);
        for (s, v) in [
            ("100*foo0()", 101300.0),
            ("2*bar1(117.0+2.0)", 238.0),
            ("17*baz3(100.0)", 3400.0),
            ("10*moo2(4,3,5)*100", 4000.0),
            ("10*moo2(6,3,5)*100", 5000.0),
            // arguments are put in simultaneously: fun1(xoo, 2) = xoo * 2
            ("fun1(xoo,2)", 200.0),
            ("lin(sq(3), 0.5, -1)", 3.5),
        ] {
            let e = run(&fs, s).unwrap();
            assert_eq!(eval_const(&e, &mut Consts).unwrap(), v, "{s}");
        }
        // v(p) in a body is node p, not the argument
        let fs = funcs(&[("bar2", &["p"], "v(p)+p")]);
        let e = run(&fs, "bar2(17.0)").unwrap();
        assert_eq!(
            e,
            Expr::Bin(
                crate::expr::BinOp::Add,
                Box::new(Expr::V("p".into(), None)),
                Box::new(Expr::Num(17.0))
            )
        );
    }

    #[test]
    fn recursion_arity_and_size_are_errors() {
        let fs = funcs(&[("f", &["x"], "g(x)+1"), ("g", &["x"], "f(x)*2")]);
        let e = run(&fs, "1 + f(2)").unwrap_err();
        assert!(e.msg.contains("recursive .func: f -> g -> f"), "{}", e.msg);
        assert_eq!((e.offset, e.len), (4, 1));
        let fs = funcs(&[("f", &["x"], "x")]);
        assert!(run(&fs, "f(1, 2)").unwrap_err().msg.contains("takes 1"));
        assert!(
            run(&fs, "h(1)")
                .unwrap_err()
                .msg
                .contains("unknown function 'h'")
        );
        // doubling at every level: 2^40 terms are refused, not built
        let mut defs: Vec<(String, Vec<&str>, String)> = vec![("d0".into(), vec!["x"], "x".into())];
        for k in 1..40 {
            defs.push((
                format!("d{k}"),
                vec!["x"],
                format!("d{}(x)+d{}(x)", k - 1, k - 1),
            ));
        }
        let fs = owned(&defs);
        assert!(run(&fs, "d39(1)").unwrap_err().msg.contains("terms"));
        assert!(run(&fs, "d5(1)").is_ok());
        // a long chain of nested calls is refused before it is deep
        let mut defs = vec![];
        for k in 0..100 {
            defs.push((format!("c{k}"), vec!["x"], format!("c{}(x)", k + 1)));
        }
        defs.push(("c100".into(), vec!["x"], "x".into()));
        let fs = owned(&defs);
        assert!(run(&fs, "c0(1)").unwrap_err().msg.contains("nested deeper"));
    }
}
