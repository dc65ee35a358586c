//! The physical unit of a measure's result, so that tables and figures can say `ns` or `µA`
//! instead of a bare power of ten.
//!
//! A measure's unit follows from its kind and what it reads: a position on the scale
//! (`TRIG/TARG`, `WHEN`, `MIN_AT`, `MAX_AT`) has the scale's unit (seconds in `.meas tran`,
//! the swept source's volts or amperes in `.meas dc`); a value of a signal (`FIND`, `AVG`,
//! `RMS`, `MIN`, `MAX`, `PP`) has the signal's; `DERIV` is signal per scale and `INTEG`
//! signal times scale. A signal's unit comes from its expression: `v()` volts, `i()`
//! amperes, sums and differences of one unit keep it, scaling by a number keeps it, `v·i` is
//! watts and `v/i` ohms; anything else (a `PARAM=` result, `v(a)^2`) has no unit we claim.

use super::parse::{Kind, SignalExpr, Stat};
use super::{Domain, Measure};
use crate::circuit::{Analysis, Circuit, SweepTarget};
use crate::expr::{BinOp, Expr, Func, UnOp};

/// What an expression's value is, dimensionally.
#[derive(Debug, Clone, PartialEq)]
enum Dim {
    /// A plain number (a literal or a `.param`): scaling by it keeps a unit.
    Number,
    /// A value with this unit.
    Unit(String),
    /// Not a unit we can name.
    Unknown,
}

fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Un(_, a) => vec![a],
        Expr::Bin(_, a, b) => vec![a, b],
        Expr::Tern(c, a, b) => vec![c, a, b],
        Expr::Call(_, args) => args.iter().collect(),
        _ => Vec::new(),
    }
}

fn combine(e: &Expr, args: Vec<Dim>) -> Dim {
    use Dim::*;
    let same = |a: &Dim, b: &Dim| match (a, b) {
        (Number, x) | (x, Number) => x.clone(),
        (Unit(u), Unit(v)) if u == v => Unit(u.clone()),
        _ => Unknown,
    };
    match (e, args.as_slice()) {
        (Expr::Num(_), _) => Number,
        (Expr::Name(n, _), _) if n == "time" => Unit("s".into()),
        (Expr::Name(..), _) => Number,
        (Expr::V(..), _) => Unit("V".into()),
        (Expr::I(_), _) => Unit("A".into()),
        (Expr::Un(UnOp::Neg, _), [a]) => a.clone(),
        (Expr::Bin(BinOp::Add | BinOp::Sub, ..), [a, b]) => same(a, b),
        (Expr::Bin(BinOp::Mul, ..), [a, b]) => match (a, b) {
            (Number, x) | (x, Number) => x.clone(),
            (Unit(u), Unit(v)) if (u == "V" && v == "A") || (u == "A" && v == "V") => {
                Unit("W".into())
            }
            _ => Unknown,
        },
        (Expr::Bin(BinOp::Div, ..), [a, b]) => match (a, b) {
            (x, Number) => x.clone(),
            (Unit(u), Unit(v)) if u == v => Number,
            (Unit(u), Unit(v)) if u == "V" && v == "A" => Unit("Ω".into()),
            _ => Unknown,
        },
        (Expr::Tern(..), [_, a, b]) => match (a, b) {
            (Unit(u), Unit(v)) if u == v => Unit(u.clone()),
            (Number, Number) => Number,
            _ => Unknown,
        },
        (Expr::Call(Func::Abs, _), [a]) => a.clone(),
        (Expr::Call(Func::Min | Func::Max, _), [a, b]) => same(a, b),
        _ => Unknown,
    }
}

/// The dimension of `e`, evaluated without recursion (an expression from a netlist may be
/// nested as deeply as its author likes).
fn dim_of(e: &Expr) -> Dim {
    enum Step<'a> {
        Visit(&'a Expr),
        Combine(&'a Expr, usize),
    }
    let mut todo = vec![Step::Visit(e)];
    let mut done: Vec<Dim> = Vec::new();
    while let Some(step) = todo.pop() {
        match step {
            Step::Visit(e) => {
                let kids = children(e);
                todo.push(Step::Combine(e, kids.len()));
                todo.extend(kids.into_iter().rev().map(Step::Visit));
            }
            Step::Combine(e, n) => {
                let args = done.split_off(done.len().saturating_sub(n));
                done.push(combine(e, args));
            }
        }
    }
    done.pop().unwrap_or(Dim::Unknown)
}

/// The unit of an expression over `v()` and `i()`, if it has one we can name.
pub fn of_expr(e: &Expr) -> Option<String> {
    match dim_of(e) {
        Dim::Unit(u) => Some(u),
        _ => None,
    }
}

/// The unit of a signal written as text: `v(...)` volts, `i(...)` amperes.
pub fn of_signal(text: &str) -> Option<&'static str> {
    let t = text.trim().to_ascii_lowercase();
    if t.starts_with("v(") {
        Some("V")
    } else if t.starts_with("i(") {
        Some("A")
    } else {
        None
    }
}

/// The unit of the scale a measure of `domain` runs along in `circuit`: seconds for a
/// transient; for a DC sweep the (inner) swept quantity: volts or amperes for a source,
/// degrees Celsius for the temperature, none for a `.param`.
pub fn scale_of(domain: Domain, circuit: &Circuit) -> Option<&'static str> {
    match domain {
        Domain::Tran => Some("s"),
        Domain::Dc => {
            let sweep = circuit.analyses.iter().find_map(|(a, _)| match a {
                Analysis::Dc(sweeps) => sweeps.first(),
                _ => None,
            })?;
            match &sweep.target {
                SweepTarget::Source(_) if sweep.current => Some("A"),
                SweepTarget::Source(_) => Some("V"),
                SweepTarget::Temp => Some("°C"),
                SweepTarget::Param(_) => None,
            }
        }
    }
}

/// `a` and `b` joined as a product or quotient (`V·s`, `V/s`); an ampere-second is a coulomb.
fn compound(a: &str, op: char, b: &str) -> String {
    match (a, op, b) {
        ("A", '·', "s") => "C".to_string(),
        _ => format!("{a}{op}{b}"),
    }
}

impl Measure {
    /// The unit of this measure's result, given the unit of its scale (see [`scale_of`]);
    /// `None` when it has none we can name.
    pub fn unit(&self, scale: Option<&str>) -> Option<String> {
        let sig = |s: &SignalExpr| of_expr(&s.expr);
        match &self.kind {
            Kind::Delay { .. } | Kind::When(_) => scale.map(str::to_string),
            Kind::Find { sig: s, .. } => sig(s),
            Kind::Deriv { sig: s, .. } => Some(compound(&sig(s)?, '/', scale?)),
            Kind::Stat { op, sig: s, .. } => match op {
                Stat::MinAt | Stat::MaxAt => scale.map(str::to_string),
                Stat::Integ => Some(compound(&sig(s)?, '·', scale?)),
                Stat::Avg | Stat::Rms | Stat::Min | Stat::Max | Stat::Pp => sig(s),
            },
            Kind::Param(_) => None,
        }
    }

    /// The unit of this measure's result on `circuit` (its scale from the circuit's analyses).
    pub fn unit_in(&self, circuit: &Circuit) -> Option<String> {
        self.unit(scale_of(self.domain, circuit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(card: &str) -> Option<String> {
        let deck = crate::meas::Deck::from_text(
            &format!("t\nv1 a 0 1\nr1 a b 1k\nr2 b 0 1k\n.tran 1n 10n\n{card}\n.end\n"),
            "u.cir",
        )
        .unwrap();
        deck.measures[0].unit(Some("s"))
    }

    #[test]
    fn units_by_kind_and_signal() {
        let cases = [
            (".meas tran t1 WHEN v(a)=0.5", Some("s")),
            (
                ".meas tran d TRIG v(a) VAL=0.1 RISE=1 TARG v(b) VAL=0.1 RISE=1",
                Some("s"),
            ),
            (".meas tran m MAX_AT v(b)", Some("s")),
            (".meas tran v FIND v(b) AT=2n", Some("V")),
            (".meas tran i AVG i(v1)", Some("A")),
            (".meas tran p PP v(a,b)", Some("V")),
            (".meas tran s DERIV v(b) AT=2n", Some("V/s")),
            (".meas tran q INTEG i(v1)", Some("C")),
            (".meas tran w AVG par('v(a)*i(v1)')", Some("W")),
            (".meas tran r FIND par('v(a)/i(v1)') AT=2n", Some("Ω")),
            (".meas tran h FIND par('2*v(a)-v(b)/3') AT=2n", Some("V")),
            (".meas tran x FIND par('v(a)*v(b)') AT=2n", None),
            (".meas tran y FIND par('v(a)+i(v1)') AT=2n", None),
            (".meas tran k FIND par('v(a)/v(b)') AT=2n", None),
            (".meas tran z PARAM='2*3'", None),
        ];
        for (card, want) in cases {
            assert_eq!(unit(card).as_deref(), want, "{card}");
        }
    }

    #[test]
    fn deep_expression_has_no_recursion() {
        let mut e = Expr::V("a".into(), None);
        for _ in 0..200_000 {
            e = Expr::Un(UnOp::Neg, Box::new(e));
        }
        assert_eq!(of_expr(&e).as_deref(), Some("V"));
        // Dropping a deep Box chain recurses in std; unwind it by hand.
        while let Expr::Un(_, inner) = e {
            e = *inner;
        }
    }

    #[test]
    fn signal_text() {
        assert_eq!(of_signal("V(mem)"), Some("V"));
        assert_eq!(of_signal("i(vdd)"), Some("A"));
        assert_eq!(of_signal("mem"), None);
    }
}
