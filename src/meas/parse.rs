//! The `.meas` card parser: one card's tokens to a [`Measure`], every error at a token.

use super::wave::{Edge, Nth};
use crate::circuit::Signal;
use crate::error::{Error, Loc, Result};
use crate::expr::number::parse_number;
use crate::expr::{self, Expr};
use crate::netlist::lexer::{Tok, TokKind, join_tokens, loc_at};

/// Which table a measure reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// `.meas tran`: the scale is time [s].
    Tran,
    /// `.meas dc`: the scale is the (inner) sweep variable.
    Dc,
}

/// A waveform: an expression over node voltages and branch currents.
#[derive(Debug, Clone)]
pub(super) struct SignalExpr {
    /// As written, for messages.
    pub text: String,
    pub expr: Expr,
    /// The circuit quantities the expression reads (see [`input_of`]), each once, in order.
    pub inputs: Vec<Signal>,
    pub loc: Loc,
}

/// `sig = VAL` or `sig = sig2`, with the crossing to pick and the search window.
#[derive(Debug, Clone)]
pub(super) struct Cond {
    pub sig: SignalExpr,
    pub rhs: Rhs,
    pub edge: Edge,
    pub nth: Nth,
    pub td: Option<Expr>,
    pub from: Option<Expr>,
    pub to: Option<Expr>,
}

#[derive(Debug, Clone)]
pub(super) enum Rhs {
    Val(Expr),
    Sig(SignalExpr),
}

/// A scale position: given, or where a condition is met.
#[derive(Debug, Clone)]
pub(super) enum Point {
    At(Expr),
    When(Cond),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stat {
    Avg,
    Rms,
    Min,
    Max,
    MinAt,
    MaxAt,
    Pp,
    Integ,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Delay {
        trig: Point,
        targ: Point,
    },
    When(Cond),
    Find {
        sig: SignalExpr,
        at: Point,
    },
    Deriv {
        sig: SignalExpr,
        at: Point,
    },
    Stat {
        op: Stat,
        sig: SignalExpr,
        from: Option<Expr>,
        to: Option<Expr>,
        td: Option<Expr>,
    },
    Param(Expr),
}

/// One parsed `.meas` card.
#[derive(Debug, Clone)]
pub struct Measure {
    /// Result name (lowercase).
    pub name: String,
    /// The table it reads (`.meas tran` or `.meas dc`).
    pub domain: Domain,
    /// The card, for messages.
    pub loc: Loc,
    pub(super) kind: Kind,
}

impl Measure {
    /// True for `PARAM=` measures, which are evaluated after all the others.
    pub fn is_param(&self) -> bool {
        matches!(self.kind, Kind::Param(_))
    }
}

fn is_ground(n: &str) -> bool {
    n == "0" || n == "gnd"
}

/// The circuit quantity a `v(...)` or `i(...)` reads and whether its value is negated
/// (`v(0,b)` is -v(b)); `None` for one that is always 0 (`v(0)`) or not a quantity.
pub(super) fn input_of(e: &Expr) -> Option<(Signal, bool)> {
    match e {
        Expr::V(a, b) => {
            let b = b.as_ref().filter(|b| !is_ground(b));
            match (is_ground(a), b) {
                (true, None) => None,
                (true, Some(b)) => Some((Signal::V(b.clone()), true)),
                (false, None) => Some((Signal::V(a.clone()), false)),
                (false, Some(b)) => Some((Signal::V2(a.clone(), b.clone()), false)),
            }
        }
        Expr::I(s) => Some((Signal::current(s), false)),
        _ => None,
    }
}

/// The quantities `e` reads, in the order they appear, each once.
fn collect(e: &Expr, out: &mut Vec<Signal>) {
    match e {
        Expr::V(..) | Expr::I(..) => {
            if let Some((s, _)) = input_of(e)
                && !out.contains(&s)
            {
                out.push(s);
            }
        }
        Expr::Un(_, a) => collect(a, out),
        Expr::Bin(_, a, b) => {
            collect(a, out);
            collect(b, out);
        }
        Expr::Tern(c, a, b) => {
            collect(c, out);
            collect(a, out);
            collect(b, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| collect(a, out)),
        _ => {}
    }
}

fn mentions_circuit(e: &Expr) -> bool {
    match e {
        Expr::V(..) | Expr::I(..) => true,
        Expr::Un(_, a) => mentions_circuit(a),
        Expr::Bin(_, a, b) => mentions_circuit(a) || mentions_circuit(b),
        Expr::Tern(c, a, b) => mentions_circuit(c) || mentions_circuit(a) || mentions_circuit(b),
        Expr::Call(_, args) => args.iter().any(mentions_circuit),
        _ => false,
    }
}

/// Parses expression text that starts at `loc` (a syntax error points into it).
fn parse_at(text: &str, loc: &Loc) -> Result<Expr> {
    expr::parse(text, |offset, len| {
        let mut l = loc.clone();
        l.col += text[..offset.min(text.len())].chars().count();
        l.len = len.max(1);
        l
    })
}

/// Tokens of one card with a cursor; every error points at a token.
struct Cur<'a> {
    t: &'a [Tok],
    i: usize,
    card: &'a Loc,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.t.get(self.i)
    }
    fn peek_at(&self, k: usize) -> Option<&'a Tok> {
        self.t.get(self.i + k)
    }
    fn next(&mut self, what: &str) -> Result<&'a Tok> {
        match self.t.get(self.i) {
            Some(t) => {
                self.i += 1;
                Ok(t)
            }
            None => Err(self.end_err(what)),
        }
    }
    fn end_err(&self, what: &str) -> Error {
        let loc = match self.t.last() {
            Some(t) => {
                let mut l = t.loc.clone();
                l.col += l.len;
                l.len = 1;
                l
            }
            None => self.card.clone(),
        };
        Error::syntax(format!("the .meas card ends here, expected {what}"), &loc)
    }
    fn is_word(&self, w: &str) -> bool {
        self.peek().is_some_and(|t| t.is_word(w))
    }
    /// A `key = value` qualifier at the cursor, if there is one.
    fn qualifier(&self) -> Option<&'a str> {
        let t = self.peek()?;
        let eq = self.peek_at(1)?;
        (t.kind == TokKind::Word && eq.kind == TokKind::Eq).then_some(t.text.as_str())
    }

    /// A signal or a value: `v(..)`, `i(..)`, `par('..')`, `'expr'`, `{expr}`, a number or a
    /// parameter name.
    fn operand(&mut self, what: &str) -> Result<(Expr, String, Loc)> {
        let t = self.next(what)?;
        match t.kind {
            TokKind::Expr => Ok((parse_at(&t.text, &t.loc)?, t.raw.clone(), t.loc.clone())),
            TokKind::Word if self.peek().is_some_and(|p| p.kind == TokKind::LParen) => {
                self.i += 1;
                let mut inner = Vec::new();
                loop {
                    let a = self.next("')'")?;
                    match a.kind {
                        TokKind::RParen => break,
                        TokKind::Word | TokKind::Expr => inner.push(a),
                        _ => {
                            return Err(Error::syntax(
                                format!("unexpected '{}' inside {}(...)", a.raw, t.raw),
                                &a.loc,
                            ));
                        }
                    }
                }
                match t.text.as_str() {
                    "v" | "i" => {
                        let args: Vec<&str> = inner.iter().map(|a| a.text.as_str()).collect();
                        let text = format!("{}({})", t.text, args.join(","));
                        let e = parse_at(&text, &t.loc).map_err(|mut e| {
                            if let Some(l) = &mut e.loc {
                                *l = t.loc.clone();
                            }
                            e
                        })?;
                        Ok((e, text, t.loc.clone()))
                    }
                    "par" => match inner.as_slice() {
                        [x] if x.kind == TokKind::Expr => {
                            Ok((parse_at(&x.text, &x.loc)?, x.raw.clone(), x.loc.clone()))
                        }
                        _ => Err(Error::syntax(
                            "par() takes one quoted expression: par('v(a)*v(b)')",
                            &t.loc,
                        )),
                    },
                    w if w.starts_with('v') && w.len() <= 3 => Err(Error::netlist(
                        format!(
                            "'{}(...)' is an AC quantity; only v() and i() of .tran and .dc can be measured",
                            t.raw
                        ),
                        Some(&t.loc),
                    )),
                    _ => Err(Error::syntax(
                        format!(
                            "expected {what}: v(node), v(a,b), i(source), par('expr') or a value, found '{}('",
                            t.raw
                        ),
                        &t.loc,
                    )),
                }
            }
            TokKind::Word => {
                let e = match parse_number(&t.text) {
                    Some(v) => Expr::Num(v),
                    None => parse_at(&t.text, &t.loc)?,
                };
                Ok((e, t.raw.clone(), t.loc.clone()))
            }
            _ => Err(Error::syntax(
                format!("expected {what}, found '{}'", t.raw),
                &t.loc,
            )),
        }
    }

    fn signal(&mut self, what: &str) -> Result<SignalExpr> {
        let (e, text, loc) = self.operand(what)?;
        if !mentions_circuit(&e) {
            return Err(Error::syntax(
                format!(
                    "expected {what} (v(node), i(source) or an expression of them), found '{text}'"
                ),
                &loc,
            ));
        }
        Ok(to_signal(&e, text, loc))
    }

    /// The value after `key =`.
    fn value(&mut self, key: &Tok) -> Result<Expr> {
        self.i += 1; // '='
        let (e, text, loc) = self.operand(&format!("a value after {}=", key.raw))?;
        if mentions_circuit(&e) {
            return Err(Error::syntax(
                format!(
                    "{}= takes a number or parameter expression, not a signal ('{text}')",
                    key.raw
                ),
                &loc,
            ));
        }
        Ok(e)
    }

    /// `RISE=n|LAST` and friends.
    fn count(&mut self, key: &Tok) -> Result<Nth> {
        self.i += 1; // '='
        let t = self.next(&format!("a count after {}=", key.raw))?;
        if t.is_word("last") {
            return Ok(Nth::Last);
        }
        match parse_number(&t.text) {
            Some(v) if v >= 1.0 && v.fract() == 0.0 && v < 1e9 => Ok(Nth::N(v as u32)),
            _ => Err(Error::syntax(
                format!(
                    "{}= takes a count 1, 2, ... or LAST, found '{}'",
                    key.raw, t.raw
                ),
                &t.loc,
            )),
        }
    }
}

fn to_signal(e: &Expr, text: String, loc: Loc) -> SignalExpr {
    let mut inputs: Vec<Signal> = Vec::new();
    collect(e, &mut inputs);
    SignalExpr {
        text,
        expr: e.clone(),
        inputs,
        loc,
    }
}

/// Qualifiers after a signal (or after `TRIG`/`TARG`).
#[derive(Default)]
struct Quals {
    val: Option<Expr>,
    at: Option<Expr>,
    td: Option<Expr>,
    from: Option<Expr>,
    to: Option<Expr>,
    edge: Option<(Edge, Nth)>,
}

/// Reads `key=value` qualifiers until a keyword that is not one (TARG, WHEN) or the end.
fn quals(c: &mut Cur, allowed: &[&str]) -> Result<Quals> {
    let mut q = Quals::default();
    while let Some(key) = c.qualifier() {
        let kt = c.next("a qualifier")?;
        if !allowed.contains(&key) {
            let list: Vec<String> = allowed.iter().map(|a| a.to_ascii_uppercase()).collect();
            return Err(Error::syntax(
                format!(
                    "'{}=' is not allowed here (expected {})",
                    kt.raw,
                    list.join("=, ") + "="
                ),
                &kt.loc,
            ));
        }
        match key {
            "val" => q.val = Some(c.value(kt)?),
            "at" => q.at = Some(c.value(kt)?),
            "td" => q.td = Some(c.value(kt)?),
            "from" => q.from = Some(c.value(kt)?),
            "to" => q.to = Some(c.value(kt)?),
            "rise" => q.edge = Some((Edge::Rise, c.count(kt)?)),
            "fall" => q.edge = Some((Edge::Fall, c.count(kt)?)),
            "cross" => q.edge = Some((Edge::Cross, c.count(kt)?)),
            _ => {}
        }
    }
    Ok(q)
}

const COND_QUALS: &[&str] = &["td", "rise", "fall", "cross", "from", "to"];

/// `WHEN sig=val|sig2 [qualifiers]` after the `WHEN` keyword.
fn when_clause(c: &mut Cur) -> Result<Cond> {
    let sig = c.signal("the signal of WHEN")?;
    match c.peek() {
        Some(t) if t.kind == TokKind::Eq => c.i += 1,
        Some(t) => {
            return Err(Error::syntax(
                format!("expected '=' after the WHEN signal, found '{}'", t.raw),
                &t.loc,
            ));
        }
        None => return Err(c.end_err("'=' after the WHEN signal")),
    }
    let (e, text, loc) = c.operand("a value or signal after WHEN ... =")?;
    let rhs = if mentions_circuit(&e) {
        Rhs::Sig(to_signal(&e, text, loc))
    } else {
        Rhs::Val(e)
    };
    let q = quals(c, COND_QUALS)?;
    let (edge, nth) = q.edge.unwrap_or((Edge::Cross, Nth::N(1)));
    Ok(Cond {
        sig,
        rhs,
        edge,
        nth,
        td: q.td,
        from: q.from,
        to: q.to,
    })
}

/// `TRIG ...` / `TARG ...` after the keyword: `AT=x`, or a signal with `VAL=` and a crossing.
fn trig_targ(c: &mut Cur, which: &str, kw: &Tok) -> Result<Point> {
    if c.qualifier() == Some("at") {
        let q = quals(c, &["at"])?;
        return q
            .at
            .map(Point::At)
            .ok_or_else(|| Error::syntax(format!("{which} AT= needs a value"), &kw.loc));
    }
    let sig = c.signal(&format!("the signal of {which}"))?;
    let q = quals(c, &["val", "td", "rise", "fall", "cross", "at"])?;
    let Some(val) = q.val else {
        return Err(Error::syntax(
            format!("{which} {} needs VAL=", sig.text),
            &sig.loc,
        ));
    };
    // ngspice refuses a TRIG/TARG without a crossing count
    let Some((edge, nth)) = q.edge else {
        return Err(Error::syntax(
            format!("{which} {} needs RISE=, FALL= or CROSS=", sig.text),
            &sig.loc,
        ));
    };
    Ok(Point::When(Cond {
        sig,
        rhs: Rhs::Val(val),
        edge,
        nth,
        td: q.td,
        from: None,
        to: None,
    }))
}

/// `AT=x` or `WHEN ...` after FIND/DERIV's signal.
fn at_or_when(c: &mut Cur, func: &Tok) -> Result<Point> {
    if c.is_word("when") {
        c.i += 1;
        return Ok(Point::When(when_clause(c)?));
    }
    if c.qualifier() == Some("at") {
        let q = quals(c, &["at"])?;
        if let Some(at) = q.at {
            return Ok(Point::At(at));
        }
    }
    match c.peek() {
        Some(t) => Err(Error::syntax(
            format!("{} needs AT=value or WHEN ..., found '{}'", func.raw, t.raw),
            &t.loc,
        )),
        None => Err(c.end_err(&format!("AT= or WHEN after {}", func.raw))),
    }
}

/// Parses one `.meas` card.
pub(super) fn parse_card(toks: &[Tok], card: &Loc) -> Result<Measure> {
    let mut c = Cur {
        t: toks,
        i: 1,
        card,
    };
    let an = c.next("the analysis (tran or dc)")?;
    let domain = match an.text.as_str() {
        "tran" => Domain::Tran,
        "dc" => Domain::Dc,
        "ac" | "sp" | "noise" | "op" => {
            return Err(Error::netlist(
                format!(
                    ".meas {}: only .meas tran and .meas dc are supported",
                    an.raw
                ),
                Some(&an.loc),
            ));
        }
        _ => {
            return Err(Error::syntax(
                format!(
                    "expected the analysis after .meas (tran or dc), found '{}'",
                    an.raw
                ),
                &an.loc,
            ));
        }
    };
    let nt = c.next("the measure's name")?;
    if nt.kind != TokKind::Word || parse_number(&nt.text).is_some() {
        return Err(Error::syntax(
            format!("expected the measure's name, found '{}'", nt.raw),
            &nt.loc,
        ));
    }
    let name = nt.text.clone();
    let f = c.next("a function (TRIG, WHEN, FIND, AVG, ..., PARAM)")?;
    let kind = match f.text.as_str() {
        "trig" | "delay" => {
            let trig = trig_targ(&mut c, "TRIG", f)?;
            let kw = match c.next("TARG") {
                Ok(t) if t.is_word("targ") => t,
                Ok(t) => {
                    return Err(Error::syntax(
                        format!("expected TARG, found '{}'", t.raw),
                        &t.loc,
                    ));
                }
                Err(e) => return Err(e),
            };
            let targ = trig_targ(&mut c, "TARG", kw)?;
            Kind::Delay { trig, targ }
        }
        "when" => Kind::When(when_clause(&mut c)?),
        "find" => {
            let sig = c.signal("the signal of FIND")?;
            Kind::Find {
                sig,
                at: at_or_when(&mut c, f)?,
            }
        }
        "deriv" | "derivative" => {
            let sig = c.signal("the signal of DERIV")?;
            Kind::Deriv {
                sig,
                at: at_or_when(&mut c, f)?,
            }
        }
        "avg" | "rms" | "min" | "max" | "min_at" | "max_at" | "pp" | "integ" | "integral" => {
            let op = match f.text.as_str() {
                "avg" => Stat::Avg,
                "rms" => Stat::Rms,
                "min" => Stat::Min,
                "max" => Stat::Max,
                "min_at" => Stat::MinAt,
                "max_at" => Stat::MaxAt,
                "pp" => Stat::Pp,
                _ => Stat::Integ,
            };
            let sig = c.signal(&format!("the signal of {}", f.raw))?;
            let q = quals(&mut c, &["from", "to", "td"])?;
            Kind::Stat {
                op,
                sig,
                from: q.from,
                to: q.to,
                td: q.td,
            }
        }
        "param" => {
            if c.peek().is_some_and(|t| t.kind == TokKind::Eq) {
                c.i += 1;
            }
            let rest = &toks[c.i..];
            if rest.is_empty() {
                return Err(c.end_err("an expression after PARAM="));
            }
            c.i = toks.len();
            let (s, map) = join_tokens(rest);
            let e = expr::parse(&s, |offset, len| {
                loc_at(&map, offset, len).unwrap_or_else(|| rest[0].loc.clone())
            })?;
            if mentions_circuit(&e) {
                return Err(Error::syntax(
                    "PARAM= is evaluated over measures and parameters; use FIND ... AT= for a signal's value",
                    &rest[0].loc,
                ));
            }
            Kind::Param(e)
        }
        "err" | "err1" | "err2" | "err3" => {
            return Err(Error::netlist(
                format!(".meas function '{}' is not supported", f.raw),
                Some(&f.loc),
            ));
        }
        _ => {
            return Err(Error::syntax(
                format!(
                    "unknown .meas function '{}' (expected TRIG, WHEN, FIND, DERIV, AVG, RMS, MIN, MAX, MIN_AT, MAX_AT, PP, INTEG or PARAM)",
                    f.raw
                ),
                &f.loc,
            ));
        }
    };
    if let Some(t) = c.peek() {
        return Err(Error::syntax(
            format!("unexpected '{}' in .meas {name}", t.raw),
            &t.loc,
        ));
    }
    Ok(Measure {
        name,
        domain,
        loc: card.line_only(),
        kind,
    })
}

fn cond_signals<'a>(c: &'a Cond, out: &mut Vec<&'a SignalExpr>) {
    out.push(&c.sig);
    if let Rhs::Sig(s) = &c.rhs {
        out.push(s);
    }
}

fn point_signals<'a>(p: &'a Point, out: &mut Vec<&'a SignalExpr>) {
    if let Point::When(c) = p {
        cond_signals(c, out);
    }
}

impl Measure {
    pub(super) fn signal_refs(&self) -> Vec<&SignalExpr> {
        let mut out = Vec::new();
        match &self.kind {
            Kind::Delay { trig, targ } => {
                point_signals(trig, &mut out);
                point_signals(targ, &mut out);
            }
            Kind::When(c) => cond_signals(c, &mut out),
            Kind::Find { sig, at } | Kind::Deriv { sig, at } => {
                out.push(sig);
                point_signals(at, &mut out);
            }
            Kind::Stat { sig, .. } => out.push(sig),
            Kind::Param(_) => {}
        }
        out
    }
}
