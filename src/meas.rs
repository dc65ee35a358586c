//! `.meas` / `.measure` cards with ngspice semantics, evaluated on the tables of a run.
//!
//! ```text
//! .meas tran tdel TRIG v(in) VAL=0.5 RISE=1 TARG v(out) VAL=0.5 RISE=1
//! .meas tran tx   WHEN v(out)=0.3 CROSS=LAST TD=1u
//! .meas tran vx   FIND v(out) AT=1.3u          (or FIND v(a) WHEN v(b)=v(c) FALL=2)
//! .meas tran sl   DERIV v(out) AT=1.2u         (or DERIV ... WHEN ...)
//! .meas tran av   AVG v(out) FROM=1u TO=2u     (RMS MIN MAX PP INTEG MIN_AT MAX_AT)
//! .meas tran p    PARAM='av*2'                 (over other measures and .params)
//! .meas dc   vth  WHEN v(out)=0.5              (the sweep variable is the scale)
//! ```
//! A signal is `v(a)`, `v(a,b)`, `i(vx)`, `par('expr')` or a quoted expression of them.
//!
//! Use: [`parse_measures`] once per netlist, then [`evaluate`] per run (it allocates only the
//! signal vectors it reads, so it is cheap enough for every Monte Carlo run or sweep point).
//! A measure that cannot be taken (no such crossing, window outside the run) yields
//! `Err(reason)`, never a number.
//!
//! Differences from ngspice 39, all documented in `docs/meas.md`: windows (`FROM`/`TO`/`TD`)
//! are cut exactly by linear interpolation for every function (ngspice interpolates them only
//! for RMS and INTEG, and ignores FROM/TO in WHEN); a window reaching outside the run fails
//! instead of being silently shortened; INTEG and RMS use the trapezoidal rule on every
//! interval (ngspice switches to Simpson's rule on runs of equal steps); DERIV (which ngspice
//! 39 refuses) differentiates the parabola through the three nearest points; a signal that
//! only touches the threshold does not cross it (ngspice counts a touch from below as a rise
//! and a fall), and a crossing in the first interval of the window counts (ngspice skips it).

use crate::analysis::{RunResult, Save, Table};
use crate::circuit::Circuit;
use crate::error::{Error, Loc, Result};
use crate::expr::number::parse_number;
use crate::expr::{self, Env, Expr};
use crate::netlist::Netlist;
use crate::netlist::lexer::{Tok, TokKind, join_tokens, loc_at};

pub mod wave;

use wave::{Crossings, Edge, Nth};

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
struct Signal {
    /// As written, for messages.
    text: String,
    /// `v(a)` etc. replaced by input slots (see [`slot_name`]).
    expr: Expr,
    /// Each input: a table column name and, for `v(a,b)`, the column subtracted from it.
    inputs: Vec<(String, Option<String>)>,
    loc: Loc,
}

/// `sig = VAL` or `sig = sig2`, with the crossing to pick and the search window.
#[derive(Debug, Clone)]
struct Cond {
    sig: Signal,
    rhs: Rhs,
    edge: Edge,
    nth: Nth,
    td: Option<Expr>,
    from: Option<Expr>,
    to: Option<Expr>,
}

#[derive(Debug, Clone)]
enum Rhs {
    Val(Expr),
    Sig(Signal),
}

/// A scale position: given, or where a condition is met.
#[derive(Debug, Clone)]
enum Point {
    At(Expr),
    When(Cond),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stat {
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
enum Kind {
    Delay {
        trig: Point,
        targ: Point,
    },
    When(Cond),
    Find {
        sig: Signal,
        at: Point,
    },
    Deriv {
        sig: Signal,
        at: Point,
    },
    Stat {
        op: Stat,
        sig: Signal,
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
    kind: Kind,
}

impl Measure {
    /// True for `PARAM=` measures, which are evaluated after all the others.
    pub fn is_param(&self) -> bool {
        matches!(self.kind, Kind::Param(_))
    }
}

/// The name an input slot takes inside a rewritten signal expression; `\u{1}` cannot occur in
/// a netlist name, so slots never shadow parameters.
fn slot_name(k: usize) -> String {
    format!("\u{1}{k}")
}

fn is_ground(n: &str) -> bool {
    n == "0" || n == "gnd"
}

/// Replaces `v()`/`i()` by input slots; returns whether any was found.
fn rewrite(e: &Expr, inputs: &mut Vec<(String, Option<String>)>) -> Expr {
    let mut slot = |a: String, b: Option<String>| {
        let key = (a, b);
        let k = match inputs.iter().position(|x| *x == key) {
            Some(k) => k,
            None => {
                inputs.push(key);
                inputs.len() - 1
            }
        };
        Expr::Name(slot_name(k), 0)
    };
    match e {
        Expr::V(a, b) => {
            let b = b
                .clone()
                .filter(|b| !is_ground(b))
                .map(|b| format!("v({b})"));
            if is_ground(a) {
                return match b {
                    Some(b) => Expr::Un(expr::UnOp::Neg, Box::new(slot(b, None))),
                    None => Expr::Num(0.0),
                };
            }
            slot(format!("v({a})"), b)
        }
        Expr::I(s) => slot(format!("i({s})"), None),
        Expr::Un(op, a) => Expr::Un(*op, Box::new(rewrite(a, inputs))),
        Expr::Bin(op, a, b) => Expr::Bin(
            *op,
            Box::new(rewrite(a, inputs)),
            Box::new(rewrite(b, inputs)),
        ),
        Expr::Tern(c, a, b) => Expr::Tern(
            Box::new(rewrite(c, inputs)),
            Box::new(rewrite(a, inputs)),
            Box::new(rewrite(b, inputs)),
        ),
        Expr::Call(f, args) => Expr::Call(*f, args.iter().map(|a| rewrite(a, inputs)).collect()),
        other => other.clone(),
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

    fn signal(&mut self, what: &str) -> Result<Signal> {
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

fn to_signal(e: &Expr, text: String, loc: Loc) -> Signal {
    let mut inputs = Vec::new();
    let expr = rewrite(e, &mut inputs);
    Signal {
        text,
        expr,
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
fn parse_card(toks: &[Tok], card: &Loc) -> Result<Measure> {
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

/// A netlist file read for running: the parsed netlist and its `.meas` cards. The one load
/// path every command shares (read, lex, parse, measures); the circuit is elaborated from
/// `netlist` as often as needed (sweep points, Monte Carlo runs).
#[derive(Debug, Clone)]
pub struct Deck {
    pub netlist: Netlist,
    pub measures: Vec<Measure>,
}

impl Deck {
    /// Reads the netlist at `path` (following `.include` and `.lib`).
    pub fn load(path: &std::path::Path) -> Result<Deck> {
        Deck::from_lexed(&crate::netlist::lexer::lex_file(path)?)
    }

    /// A netlist given as text; `name` stands for its file in messages.
    pub fn from_text(text: &str, name: &str) -> Result<Deck> {
        Deck::from_lexed(&crate::netlist::lexer::lex_str(text, name)?)
    }

    fn from_lexed(lexed: &crate::netlist::lexer::Lexed) -> Result<Deck> {
        let netlist = Netlist::parse(lexed)?;
        let measures = parse_measures(&netlist)?;
        Ok(Deck { netlist, measures })
    }

    /// The global parameter values the measures read, with `overrides` (a sweep point).
    pub fn params(&self, overrides: &[(String, f64)]) -> Result<Vec<(String, f64)>> {
        global_params(&self.netlist, overrides)
    }
}

/// Parses every `.meas`/`.measure` card of a netlist, in file order.
///
/// Errors point at the offending token (syntax) or card: a measure of an analysis the netlist
/// does not run, a duplicated name, an unknown function.
pub fn parse_measures(nl: &Netlist) -> Result<Vec<Measure>> {
    let has = |a: &str| nl.controls.iter().any(|c| c.name() == a);
    let mut out: Vec<Measure> = Vec::new();
    for card in nl
        .controls
        .iter()
        .filter(|c| matches!(c.name(), ".meas" | ".measure"))
    {
        let m = parse_card(&card.toks, &card.loc)?;
        let (needed, what) = match m.domain {
            Domain::Tran => (".tran", "tran"),
            Domain::Dc => (".dc", "dc"),
        };
        if !has(needed) {
            return Err(Error::netlist(
                format!(
                    ".meas {what} {}: the netlist has no {needed} analysis to measure",
                    m.name
                ),
                card.toks.get(1).map(|t| &t.loc),
            ));
        }
        if out.iter().any(|o| o.name == m.name) {
            return Err(Error::netlist(
                format!("measure '{}' is defined twice", m.name),
                card.toks.get(2).map(|t| &t.loc),
            ));
        }
        out.push(m);
    }
    Ok(out)
}

fn cond_signals<'a>(c: &'a Cond, out: &mut Vec<&'a Signal>) {
    out.push(&c.sig);
    if let Rhs::Sig(s) = &c.rhs {
        out.push(s);
    }
}

fn point_signals<'a>(p: &'a Point, out: &mut Vec<&'a Signal>) {
    if let Point::When(c) = p {
        cond_signals(c, out);
    }
}

impl Measure {
    fn signal_refs(&self) -> Vec<&Signal> {
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

/// The table columns the measures read (`v(node)`, `i(source)`), each once: add them to the
/// signals a run saves.
pub fn signals(ms: &[Measure]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in ms {
        for s in m.signal_refs() {
            for (a, b) in &s.inputs {
                for n in std::iter::once(a).chain(b) {
                    if !out.contains(n) {
                        out.push(n.clone());
                    }
                }
            }
        }
    }
    out
}

/// What a run must save: `save` plus the signals the measures read.
pub fn save_for(save: &Save, ms: &[Measure]) -> Save {
    match save {
        Save::All => Save::All,
        Save::List(l) => {
            let mut l = l.clone();
            for s in signals(ms) {
                if !l.iter().any(|x| x.trim().eq_ignore_ascii_case(&s)) {
                    l.push(s);
                }
            }
            Save::List(l)
        }
    }
}

/// `t` without the columns that only the measures needed (those [`save_for`] added to the
/// user's `--save` list), so output files hold what the user asked for.
pub fn user_columns(t: &Table, c: &Circuit, user: &Save, ms: &[Measure]) -> Result<Table> {
    let keep: Vec<String> = crate::analysis::saved_unknowns(c, user)?
        .into_iter()
        .map(|k| crate::analysis::signal_name(c, k))
        .collect();
    let extra: Vec<String> = match user {
        Save::All => vec![],
        Save::List(_) => signals(ms)
            .into_iter()
            .filter(|s| !keep.contains(s))
            .collect(),
    };
    let cols: Vec<usize> = (0..t.names.len())
        .filter(|&k| k == 0 || !extra.contains(&t.names[k]))
        .collect();
    Ok(Table {
        names: cols.iter().map(|&k| t.names[k].clone()).collect(),
        rows: t
            .rows
            .iter()
            .map(|r| cols.iter().map(|&k| r[k]).collect())
            .collect(),
    })
}

/// Checks that every signal the measures read exists in the circuit (node or branch
/// current), so a typo is an error at the card rather than a failed measure.
pub fn check_signals(ms: &[Measure], c: &Circuit) -> Result<()> {
    let known: Vec<String> = (1..=c.n())
        .flat_map(|k| {
            let mut v = vec![crate::analysis::signal_name(c, k)];
            if k > c.n_nodes {
                v.push(format!("i({})", c.names[k]));
            }
            v
        })
        .collect();
    for m in ms {
        for s in m.signal_refs() {
            for (a, b) in &s.inputs {
                for n in std::iter::once(a).chain(b) {
                    if !known.contains(n) {
                        let what = if n.starts_with("i(") {
                            "no voltage source or inductor"
                        } else {
                            "no node"
                        };
                        return Err(Error::netlist(
                            format!("measure '{}': {what} '{n}' in the circuit", m.name),
                            Some(&s.loc),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Values of global `.param`s (nominal, random functions at their mean) and `temper`, with
/// `overrides` replacing definitions (sweep points): what `PARAM=` measures and
/// parameter-valued qualifiers read. The netlist's one `.param` evaluator computes them.
pub fn global_params(nl: &Netlist, overrides: &[(String, f64)]) -> Result<Vec<(String, f64)>> {
    crate::netlist::global_values(nl, overrides)
}

/// What a measure's value expressions may refer to: parameters and measures already taken.
struct MEnv<'a> {
    params: &'a [(String, f64)],
    done: &'a [(String, std::result::Result<f64, String>)],
}

impl Env for MEnv<'_> {
    fn name(&mut self, n: &str) -> Result<f64> {
        if let Some((_, r)) = self.done.iter().find(|(k, _)| k == n) {
            return r
                .clone()
                .map_err(|e| Error::numeric(format!("measure '{n}' failed ({e})")));
        }
        if let Some((_, v)) = self.params.iter().find(|(k, _)| k == n) {
            return Ok(*v);
        }
        if n == "temper" {
            return Ok(27.0);
        }
        Err(Error::netlist(
            format!("'{n}' is neither a parameter nor an earlier measure"),
            None,
        ))
    }
}

/// A constant expression's value for a measure, or why it has none.
fn value(e: &Expr, env: &MEnv) -> std::result::Result<f64, String> {
    expr::eval_const(e, &mut copy_env(env)).map_err(|e| e.msg)
}

/// Per-row values of a signal expression's inputs.
struct RowEnv<'a> {
    base: MEnv<'a>,
    row: &'a [f64],
}

impl Env for RowEnv<'_> {
    fn name(&mut self, n: &str) -> Result<f64> {
        if let Some(k) = n.strip_prefix('\u{1}') {
            return k
                .parse::<usize>()
                .ok()
                .and_then(|k| self.row.get(k).copied())
                .ok_or_else(|| Error::numeric(format!("internal: bad input slot {k}")));
        }
        self.base.name(n)
    }
}

/// A table to measure on: its scale and where the scale restarts (nested DC sweeps).
struct Data<'a> {
    t: &'a Table,
    x: Vec<f64>,
    domain: Domain,
}

impl Data<'_> {
    /// Segment (i-1, i) joins two points of the same sweep: a nested DC sweep restarts its
    /// inner scale at the first value, and ngspice does not look for crossings across that.
    fn joined(&self, i: usize) -> bool {
        !(self.domain == Domain::Dc && i > 0 && self.x[i] == self.x[0])
    }

    fn column(&self, name: &str) -> std::result::Result<usize, String> {
        self.t.names.iter().position(|n| n == name).ok_or_else(|| {
            format!("signal '{name}' is not in the results (was it excluded by --save?)")
        })
    }

    /// The signal's value at every point.
    fn series(&self, s: &Signal, env: &MEnv) -> std::result::Result<Vec<f64>, String> {
        let mut cols = Vec::with_capacity(s.inputs.len());
        for (a, b) in &s.inputs {
            let ca = self.column(a)?;
            let cb = match b {
                Some(b) => Some(self.column(b)?),
                None => None,
            };
            cols.push((ca, cb));
        }
        let val = |r: &[f64], (a, b): (usize, Option<usize>)| r[a] - b.map(|b| r[b]).unwrap_or(0.0);
        // plain v(a), v(a,b), i(x): no expression to evaluate per row
        if let (Expr::Name(n, _), [c]) = (&s.expr, cols.as_slice())
            && n.starts_with('\u{1}')
        {
            return Ok(self.t.rows.iter().map(|r| val(r, *c)).collect());
        }
        let mut ins = vec![0.0; cols.len()];
        let mut out = Vec::with_capacity(self.t.rows.len());
        for r in &self.t.rows {
            for (k, c) in cols.iter().enumerate() {
                ins[k] = val(r, *c);
            }
            let mut re = RowEnv {
                base: MEnv {
                    params: env.params,
                    done: env.done,
                },
                row: &ins,
            };
            out.push(
                expr::eval_const(&s.expr, &mut re).map_err(|e| format!("{}: {}", s.text, e.msg))?,
            );
        }
        Ok(out)
    }

    fn range(&self) -> (f64, f64) {
        let lo = self.x.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }

    /// The window [lo, hi] from FROM/TO/TD, checked against the run.
    fn window(
        &self,
        from: Option<f64>,
        to: Option<f64>,
        td: Option<f64>,
    ) -> std::result::Result<(f64, f64), String> {
        let (x0, x1) = self.range();
        let (mut lo, mut hi) = (from.unwrap_or(x0), to.unwrap_or(x1));
        if self.domain == Domain::Dc && lo > hi {
            std::mem::swap(&mut lo, &mut hi);
        }
        if let Some(td) = td {
            lo = lo.max(td);
        }
        let slack = 1e-9 * (x1 - x0).abs();
        let unit = if self.domain == Domain::Tran {
            " s"
        } else {
            ""
        };
        if lo > hi {
            return Err(format!(
                "empty window: from {} to {}{unit}",
                fmt_e(lo),
                fmt_e(hi)
            ));
        }
        if lo < x0 - slack || hi > x1 + slack {
            return Err(format!(
                "window [{}, {}]{unit} reaches outside the run [{}, {}]{unit}",
                fmt_e(lo),
                fmt_e(hi),
                fmt_e(x0),
                fmt_e(x1)
            ));
        }
        Ok((lo.max(x0), hi.min(x1)))
    }

    /// Calls `f(xa, ya, xb, yb)` for each interval cut to [lo, hi] (both ends interpolated).
    fn clipped(&self, y: &[f64], lo: f64, hi: f64, mut f: impl FnMut(f64, f64, f64, f64)) {
        for i in 1..self.x.len() {
            if !self.joined(i) {
                continue;
            }
            let (xa, xb, ya, yb) = (self.x[i - 1], self.x[i], y[i - 1], y[i]);
            let (s0, s1) = if xb > xa {
                ((lo - xa) / (xb - xa), (hi - xa) / (xb - xa))
            } else if xb < xa {
                ((hi - xa) / (xb - xa), (lo - xa) / (xb - xa))
            } else if lo <= xa && xa <= hi {
                (0.0, 1.0)
            } else {
                continue;
            };
            if s0 > 1.0 || s1 < 0.0 || s0 > s1 {
                continue;
            }
            let at = |s: f64| {
                if s <= 0.0 {
                    (xa, ya)
                } else if s >= 1.0 {
                    (xb, yb)
                } else {
                    (xa + s * (xb - xa), ya + s * (yb - ya))
                }
            };
            let (pa, pb) = (at(s0), at(s1));
            f(pa.0, pa.1, pb.0, pb.1);
        }
    }

    /// Where `d` (signal minus threshold) crosses zero as `cond` asks, with its interval.
    fn crossing(
        &self,
        d: &[f64],
        cond: &Cond,
        lo: f64,
        hi: f64,
        what: &str,
    ) -> std::result::Result<f64, String> {
        let mut c = Crossings::new(cond.edge, cond.nth);
        self.clipped(d, lo, hi, |xa, da, xb, db| c.interval(xa, da, xb, db));
        if let Some(t) = c.result() {
            return Ok(t);
        }
        let count = c.count();
        let dir = match cond.edge {
            Edge::Rise => "rising ",
            Edge::Fall => "falling ",
            Edge::Cross => "",
        };
        let want = match cond.nth {
            Nth::N(k) => format!("crossing number {k}"),
            Nth::Last => "the last crossing".to_string(),
        };
        Err(format!(
            "{what}: {count} {dir}crossing(s) of {} in [{}, {}], {want} was asked",
            self.cond_text(cond),
            fmt_e(lo),
            fmt_e(hi)
        ))
    }

    fn cond_text(&self, c: &Cond) -> String {
        match &c.rhs {
            Rhs::Sig(s) => format!("{}={}", c.sig.text, s.text),
            Rhs::Val(_) => c.sig.text.clone(),
        }
    }

    /// The scale value where `cond` holds.
    fn when(&self, c: &Cond, env: &MEnv, what: &str) -> std::result::Result<f64, String> {
        let y = self.series(&c.sig, env)?;
        let d: Vec<f64> = match &c.rhs {
            Rhs::Val(v) => {
                let v = value(v, env)?;
                y.iter().map(|y| y - v).collect()
            }
            Rhs::Sig(s) => {
                let y2 = self.series(s, env)?;
                y.iter().zip(&y2).map(|(a, b)| a - b).collect()
            }
        };
        let num = |e: &Option<Expr>| -> std::result::Result<Option<f64>, String> {
            e.as_ref().map(|e| value(e, env)).transpose()
        };
        let (lo, hi) = self.window(num(&c.from)?, num(&c.to)?, num(&c.td)?)?;
        self.crossing(&d, c, lo, hi, what)
    }

    fn point(&self, p: &Point, env: &MEnv, what: &str) -> std::result::Result<f64, String> {
        match p {
            Point::At(e) => {
                let at = value(e, env)?;
                let (x0, x1) = self.range();
                let slack = 1e-9 * (x1 - x0).abs();
                if at < x0 - slack || at > x1 + slack {
                    return Err(format!(
                        "{what} AT={} is outside the run [{}, {}]",
                        fmt_e(at),
                        fmt_e(x0),
                        fmt_e(x1)
                    ));
                }
                Ok(at.clamp(x0, x1))
            }
            Point::When(c) => self.when(c, env, what),
        }
    }

    /// The interval (i-1, i) holding `at` (the first one, as ngspice).
    fn interval(&self, at: f64) -> Option<usize> {
        wave::interval_of(&self.x, at, |i| self.joined(i))
    }

    fn value_at(&self, y: &[f64], at: f64) -> std::result::Result<f64, String> {
        if self.x.len() == 1 && self.x[0] == at {
            return Ok(y[0]);
        }
        let i = self
            .interval(at)
            .ok_or_else(|| format!("{} is outside the run", fmt_e(at)))?;
        Ok(wave::lerp(self.x[i - 1], y[i - 1], self.x[i], y[i], at))
    }

    /// dy/dx at `at` from the parabola through the interval's ends and the nearer neighbour.
    fn deriv_at(&self, y: &[f64], at: f64) -> std::result::Result<f64, String> {
        let i = self
            .interval(at)
            .ok_or_else(|| format!("{} is outside the run", fmt_e(at)))?;
        let n = self.x.len();
        let before = (i >= 2 && self.joined(i - 1)).then(|| i - 2);
        let after = (i + 1 < n && self.joined(i + 1)).then_some(i + 1);
        let third = match (before, after) {
            (Some(b), Some(a)) => Some(if self.x[a] - at <= at - self.x[b] {
                a
            } else {
                b
            }),
            (b, a) => a.or(b),
        };
        let (xa, xb) = (self.x[i - 1], self.x[i]);
        if xb == xa {
            return Err(format!("zero-width interval at {}", fmt_e(at)));
        }
        let slope = (y[i] - y[i - 1]) / (xb - xa);
        let Some(k) = third else {
            return Ok(slope);
        };
        // Newton form: p(x) = y0 + s01 (x - x0) + c (x - x0)(x - x1)
        let (x2, y2) = (self.x[k], y[k]);
        let (p0, p1) = if k < i {
            ((x2, y2), (xa, y[i - 1]))
        } else {
            ((xa, y[i - 1]), (xb, y[i]))
        };
        let p2 = if k < i { (xb, y[i]) } else { (x2, y2) };
        let s01 = (p1.1 - p0.1) / (p1.0 - p0.0);
        let s12 = (p2.1 - p1.1) / (p2.0 - p1.0);
        let c = (s12 - s01) / (p2.0 - p0.0);
        let d = s01 + c * ((at - p0.0) + (at - p1.0));
        Ok(if d.is_finite() { d } else { slope })
    }

    fn stat(&self, op: Stat, y: &[f64], lo: f64, hi: f64) -> std::result::Result<f64, String> {
        let (mut integ, mut integ2, mut span) = (0.0, 0.0, 0.0);
        let (mut min, mut max) = ((f64::INFINITY, 0.0), (f64::NEG_INFINITY, 0.0));
        let mut any = false;
        self.clipped(y, lo, hi, |xa, ya, xb, yb| {
            any = true;
            let dx = xb - xa;
            integ += 0.5 * (ya + yb) * dx;
            integ2 += 0.5 * (ya * ya + yb * yb) * dx;
            span += dx;
            for (x, v) in [(xa, ya), (xb, yb)] {
                if v < min.0 {
                    min = (v, x);
                }
                if v > max.0 {
                    max = (v, x);
                }
            }
        });
        if !any {
            // a single point (DC sweep of one value, or a zero-width window on a point)
            if let Some(k) = (0..self.x.len()).find(|&k| lo <= self.x[k] && self.x[k] <= hi) {
                return Ok(match op {
                    Stat::Avg | Stat::Min | Stat::Max => y[k],
                    Stat::Rms => y[k].abs(),
                    Stat::MinAt | Stat::MaxAt => self.x[k],
                    Stat::Pp | Stat::Integ => 0.0,
                });
            }
            return Err(format!("no points in [{}, {}]", fmt_e(lo), fmt_e(hi)));
        }
        let need_span = || {
            if span == 0.0 {
                Err(format!("zero-width window at {}", fmt_e(lo)))
            } else {
                Ok(span)
            }
        };
        Ok(match op {
            Stat::Avg => integ / need_span()?,
            Stat::Rms => (integ2 / need_span()?).sqrt(),
            Stat::Min => min.0,
            Stat::Max => max.0,
            Stat::MinAt => min.1,
            Stat::MaxAt => max.1,
            Stat::Pp => max.0 - min.0,
            Stat::Integ => integ,
        })
    }

    fn measure(&self, m: &Measure, env: &MEnv) -> std::result::Result<f64, String> {
        let num = |e: &Option<Expr>| -> std::result::Result<Option<f64>, String> {
            e.as_ref().map(|e| value(e, env)).transpose()
        };
        match &m.kind {
            Kind::Delay { trig, targ } => {
                let t0 = self.point(trig, env, "TRIG")?;
                let t1 = self.point(targ, env, "TARG")?;
                Ok(t1 - t0)
            }
            Kind::When(c) => self.when(c, env, "WHEN"),
            Kind::Find { sig, at } => {
                let t = self.point(at, env, "FIND")?;
                let y = self.series(sig, env)?;
                self.value_at(&y, t)
            }
            Kind::Deriv { sig, at } => {
                let t = self.point(at, env, "DERIV")?;
                let y = self.series(sig, env)?;
                self.deriv_at(&y, t)
            }
            Kind::Stat {
                op,
                sig,
                from,
                to,
                td,
            } => {
                let (lo, hi) = self.window(num(from)?, num(to)?, num(td)?)?;
                let y = self.series(sig, env)?;
                self.stat(*op, &y, lo, hi)
            }
            Kind::Param(e) => value(e, env),
        }
    }
}

fn copy_env<'a>(e: &MEnv<'a>) -> MEnv<'a> {
    MEnv {
        params: e.params,
        done: e.done,
    }
}

/// Takes every measure on a run's tables. `params` are the global parameter values of the run
/// (see [`global_params`]). Measures are taken in file order, `PARAM=` ones after all others
/// (as ngspice), each able to use the results before it. The result lists every measure in
/// file order with its value or the reason it could not be taken.
pub fn evaluate(
    ms: &[Measure],
    res: &RunResult,
    params: &[(String, f64)],
) -> Vec<(String, std::result::Result<f64, String>)> {
    fn mk(t: Option<&Table>, domain: Domain) -> Option<Data<'_>> {
        t.filter(|t| !t.rows.is_empty()).map(|t| Data {
            t,
            x: t.rows.iter().map(|r| r[0]).collect(),
            domain,
        })
    }
    let tran = mk(res.tran.as_ref(), Domain::Tran);
    let dc = mk(res.dc.as_ref(), Domain::Dc);
    let mut done: Vec<(String, std::result::Result<f64, String>)> = Vec::with_capacity(ms.len());
    let mut order: Vec<usize> = (0..ms.len()).filter(|&k| !ms[k].is_param()).collect();
    order.extend((0..ms.len()).filter(|&k| ms[k].is_param()));
    let mut slot = vec![usize::MAX; ms.len()];
    for k in order {
        let m = &ms[k];
        let env = MEnv {
            params,
            done: &done,
        };
        let r = if m.is_param() {
            // PARAM reads no table, so it works whichever analysis ran
            tran.as_ref()
                .or(dc.as_ref())
                .map(|d| d.measure(m, &env))
                .unwrap_or_else(|| match &m.kind {
                    Kind::Param(e) => value(e, &env),
                    _ => Err(String::new()),
                })
        } else {
            let data = match m.domain {
                Domain::Tran => tran.as_ref(),
                Domain::Dc => dc.as_ref(),
            };
            match data {
                Some(d) => d.measure(m, &env),
                None => Err(format!(
                    "no {} results in this run",
                    if m.domain == Domain::Tran {
                        ".tran"
                    } else {
                        ".dc"
                    }
                )),
            }
        };
        let r = r.and_then(|v| {
            if v.is_finite() {
                Ok(v)
            } else {
                Err(format!("the result is {v}"))
            }
        });
        slot[k] = done.len();
        done.push((m.name.clone(), r));
    }
    let mut out: Vec<Option<(String, std::result::Result<f64, String>)>> =
        done.into_iter().map(Some).collect();
    slot.iter()
        .filter_map(|&s| out.get_mut(s).and_then(Option::take))
        .collect()
}

/// `%e` as C prints it (six decimals, exponent sign and at least two digits), as ngspice's
/// measure lines do.
pub fn fmt_e(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = format!("{v:.6e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let e: i32 = e.parse().unwrap_or(0);
            format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
        }
        None => s,
    }
}

/// The ngspice-style line for one result: `name = value`, or `name = failed (reason)`.
pub fn result_line(name: &str, r: &std::result::Result<f64, String>) -> String {
    match r {
        Ok(v) => format!("{name:<20}=  {}", fmt_e(*v)),
        Err(e) => format!("{name:<20}=  failed ({e})"),
    }
}

/// Writes `{"name": value, ...}` (full precision) with `{"failed": reason}` in place of the
/// value of a measure that could not be taken, completely or not at all.
pub fn write_json(
    path: &std::path::Path,
    results: &[(String, std::result::Result<f64, String>)],
) -> Result<()> {
    let mut m = serde_json::Map::new();
    for (k, r) in results {
        let v = match r {
            Ok(v) => serde_json::Value::from(*v),
            Err(e) => serde_json::json!({ "failed": e }),
        };
        m.insert(k.clone(), v);
    }
    let s = serde_json::to_string_pretty(&serde_json::Value::Object(m))
        .map_err(|e| Error::io(e.to_string()))?;
    crate::output::write_atomic(path, |w| w.write_all(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlist::lexer::lex_str;

    fn measures(cards: &str) -> Result<Vec<Measure>> {
        let text = format!("t\nV1 a 0 1\nR1 a 0 1k\n.tran 1n 10n\n.dc v1 0 1 0.5\n{cards}\n.end\n");
        let nl = Netlist::parse(&lex_str(&text, "t.cir")?)?;
        parse_measures(&nl)
    }

    fn table(x: &[f64], y: &[f64]) -> Table {
        Table {
            names: vec!["time".into(), "v(a)".into(), "v(b)".into()],
            rows: x.iter().zip(y).map(|(&x, &y)| vec![x, y, 0.25]).collect(),
        }
    }

    fn eval(cards: &str, x: &[f64], y: &[f64]) -> Vec<std::result::Result<f64, String>> {
        let ms = measures(cards).unwrap();
        let res = RunResult {
            tran: Some(table(x, y)),
            ..Default::default()
        };
        evaluate(&ms, &res, &[("k".into(), 2.0)])
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    const X: [f64; 6] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    const Y: [f64; 6] = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0];

    #[test]
    fn crossings_count_as_ngspice() {
        let r = eval(
            ".meas tran a WHEN v(a)=0.5\n.meas tran b WHEN v(a)=0.5 FALL=2\n.meas tran c WHEN v(a)=0.5 CROSS=LAST\n.meas tran d WHEN v(a)=0.5 RISE=2 TD=1.2\n.meas tran e WHEN v(a)=v(b) RISE=3\n.meas tran f WHEN v(a)=0.5 RISE=4",
            &X,
            &Y,
        );
        assert_eq!(r[0], Ok(0.5));
        assert_eq!(r[1], Ok(3.5));
        assert_eq!(r[2], Ok(4.5));
        assert_eq!(r[3], Ok(4.5));
        assert_eq!(r[4], Ok(4.25));
        let e = r[5].clone().unwrap_err();
        assert!(e.contains("3 rising crossing(s)"), "{e}");
    }

    #[test]
    fn windows_are_cut_exactly() {
        let r = eval(
            ".meas tran a AVG v(a) FROM=0.5 TO=1.5\n.meas tran b INTEG v(a) TO=2\n.meas tran c MAX v(a) FROM=1.5 TO=2.5\n.meas tran d PP v(a)\n.meas tran e MIN_AT v(a) FROM=0.5\n.meas tran f AVG v(a) TO=6",
            &X,
            &Y,
        );
        assert_eq!(r[0], Ok(0.75));
        assert_eq!(r[1], Ok(1.0));
        assert_eq!(r[2], Ok(0.5));
        assert_eq!(r[3], Ok(1.0));
        assert_eq!(r[4], Ok(2.0));
        assert!(r[5].clone().unwrap_err().contains("outside the run"));
    }

    #[test]
    fn find_deriv_param() {
        let x: Vec<f64> = (0..11).map(|k| k as f64 * 0.1).collect();
        let y: Vec<f64> = x.iter().map(|x| x * x).collect();
        let r = eval(
            ".meas tran a FIND v(a) AT=0.25\n.meas tran b DERIV v(a) AT=0.25\n.meas tran c PARAM='a*k+b'\n.meas tran d FIND par('v(a)-v(b)') WHEN v(a)=0.5\n.meas tran e FIND v(a,b) AT=2",
            &x,
            &y,
        );
        assert!((r[0].clone().unwrap() - 0.065).abs() < 1e-12);
        // a parabola is differentiated exactly
        assert!((r[1].clone().unwrap() - 0.5).abs() < 1e-12);
        assert!((r[2].clone().unwrap() - (0.13 + 0.5)).abs() < 1e-12);
        assert!((r[3].clone().unwrap() - 0.25).abs() < 1e-12);
        assert!(r[4].clone().unwrap_err().contains("outside the run"));
    }

    #[test]
    fn nested_dc_sweeps_restart_and_descending_scales_work() {
        let ms = measures(
            ".meas dc a WHEN v(a)=0.5 CROSS=2\n.meas dc b AVG v(a) FROM=2 TO=0\n.meas dc c FIND v(a) AT=1.5",
        )
        .unwrap();
        let dc = |x: &[f64], y: &[f64]| RunResult {
            dc: Some(table(x, y)),
            ..Default::default()
        };
        // two inner sweeps 0..2; v(a) jumps 1 -> 0 at the restart, which is not a crossing
        let r = evaluate(
            &ms,
            &dc(
                &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0],
                &[0.0, 1.0, 1.0, 0.0, 1.0, 0.0],
            ),
            &[],
        );
        assert_eq!(r[0].1, Ok(0.5));
        // the average over both sweeps: (0.5 + 1) + (0.5 + 0.5) over a width of 4
        assert_eq!(r[1].1, Ok(0.625));
        let r = evaluate(&ms, &dc(&[2.0, 1.0, 0.0], &[1.0, 0.0, 0.0]), &[]);
        assert!(r[0].1.is_err());
        assert_eq!(r[1].1, Ok(0.25));
        assert_eq!(r[2].1, Ok(0.5));
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let e = measures(".meas tran a WHEN v(a)=0.5 RIZE=1").unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Syntax);
        assert_eq!(e.loc.as_ref().map(|l| (l.line, l.col)), Some((6, 28)));
        let e = measures(".meas tran a TRIG v(a) VAL=0.5 TARG v(a) VAL=1 RISE=1").unwrap_err();
        assert!(e.msg.contains("RISE=, FALL= or CROSS="), "{}", e.msg);
        let e = measures(".meas tran a FIND par('v(a)*') AT=1").unwrap_err();
        assert_eq!(e.loc.as_ref().map(|l| l.col), Some(29));
        let e = measures(".meas tran a AVG v(a)\n.meas tran a MAX v(a)").unwrap_err();
        assert!(e.msg.contains("twice"));
        let e = measures(".meas ac a MAX v(a)").unwrap_err();
        assert!(e.msg.contains("only .meas tran and .meas dc"));
    }

    #[test]
    fn c_style_exponent() {
        assert_eq!(fmt_e(8.835575e-8), "8.835575e-08");
        assert_eq!(fmt_e(-1.5), "-1.500000e+00");
        assert_eq!(fmt_e(0.0), "0.000000e+00");
        assert_eq!(fmt_e(1e100), "1.000000e+100");
    }
}
