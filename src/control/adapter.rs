//! The control language's [`Engine`] over today's netlist and analysis modules.
//!
//! The parsed netlist is kept; an analysis command elaborates it with that one analysis card
//! (a few microseconds for small circuits) and runs it with a [`PartCache`] kept across runs,
//! so a loop of analyses shares the sparse pattern and symbolic LU. `alter` and `altermod`
//! edit the parsed cards (the value token of an instance, a `param = value` of a model card),
//! so the next elaboration sees them; `reset` goes back to the cards as read.
//!
//! `alter` of a device inside a subcircuit instance (`alter r.x1.rs1 = 1e12`, `alter
//! @m.x1.m1[w] = 2u`) gives that instance's definition a copy of its own (the instance path
//! names it), so that only this instance changes, as in ngspice. `@dev[param]` reads the
//! value on the (altered) card: the principal value, `name = value`, a source's `dc`, `ac`
//! and waveform values, a top-level model's parameter; parameters a card does not give
//! (device defaults) and operating-point quantities (`@m1[id]`) are errors. The netlist's
//! random functions take their nominal values.

use super::cx::C;
use super::engine::{Alter, Analysis, AnalysisKind, Engine};
use super::vector::{Data, NewPlot, VType, Vector};
use crate::analysis::{PartCache, RunOptions, RunResult, Save};
use crate::circuit::Circuit;
use crate::error::{Error, Loc, Result};
use crate::netlist::lexer::{Card, Tok, TokKind, lex_str};
use crate::netlist::scope::Scope;
use crate::netlist::{ElabOptions, Netlist, elaborate};
use std::fmt::Write as _;

/// The netlist engine.
pub struct NetlistEngine {
    /// The netlist as read (`reset` returns to it).
    base: Netlist,
    /// The netlist with every alter applied.
    nl: Netlist,
    save: Save,
    cache: PartCache,
    /// `(tstart, tstop, tstep)` of the last analysis run, if it had a transient.
    last_tran: Option<(f64, f64, f64)>,
    /// Elaboration warnings already handed out, and those not yet.
    warned: std::collections::HashSet<String>,
    warnings: Vec<String>,
    /// Whether [`Engine::take_warnings`] hands them out (`run --quiet` turns this off).
    report: bool,
}

const ANALYSES: &[&str] = &[".op", ".dc", ".tran", ".ac"];

/// A card's tokens as control-language text, each after a blank except where tokens touched
/// in the deck (`v(out)=0.5` stays one word); expressions get their braces back.
pub fn card_words(toks: &[Tok]) -> String {
    let mut text = String::new();
    let mut prev: Option<&Tok> = None;
    for t in toks {
        let touching = prev.is_some_and(|p| {
            p.kind != TokKind::Expr
                && t.kind != TokKind::Expr
                && p.loc.line == t.loc.line
                && p.loc.file == t.loc.file
                && p.loc.col + p.raw.chars().count() == t.loc.col
        });
        if !touching {
            text.push(' ');
        }
        match t.kind {
            TokKind::Expr => {
                let _ = write!(text, "{{{}}}", t.raw);
            }
            _ => text.push_str(&t.raw),
        }
        prev = Some(t);
    }
    text
}

/// An engine's vector name and type for a table column (`v(out)` -> `out`, `i(v1)` ->
/// `v1#branch`, `time`, sweep scales).
fn internal(name: &str) -> (String, VType) {
    if name == "time" {
        return ("time".into(), VType::Time);
    }
    if let Some(x) = name.strip_prefix("v(").and_then(|r| r.strip_suffix(')')) {
        return (x.to_string(), VType::Voltage);
    }
    if let Some(x) = name.strip_prefix("i(").and_then(|r| r.strip_suffix(')')) {
        if x.ends_with("-sweep") {
            return (x.to_string(), VType::Current);
        }
        return (format!("{x}#branch"), VType::Current);
    }
    (name.to_string(), VType::NoType)
}

fn number_tok(v: f64, like: &Tok) -> Tok {
    let text = format!("{v:e}");
    Tok {
        kind: TokKind::Word,
        raw: text.clone(),
        text,
        loc: like.loc.clone(),
    }
}

fn word_tok(w: &str, like: &Tok) -> Tok {
    Tok {
        kind: TokKind::Word,
        text: w.to_string(),
        raw: w.to_string(),
        loc: like.loc.clone(),
    }
}

fn eq_tok(like: &Tok) -> Tok {
    Tok {
        kind: TokKind::Eq,
        text: "=".into(),
        raw: "=".into(),
        loc: like.loc.clone(),
    }
}

/// Sets `param = v` among a card's tokens from `from` on (replacing the value after an
/// existing `param =`, else inserting before a closing parenthesis or at the end).
fn set_pair(toks: &mut Vec<Tok>, from: usize, param: &str, v: f64) {
    for i in from..toks.len() {
        if toks[i].is_word(param)
            && toks.get(i + 1).is_some_and(|t| t.kind == TokKind::Eq)
            && i + 2 < toks.len()
        {
            toks[i + 2] = number_tok(v, &toks[i]);
            return;
        }
    }
    let like = toks[0].clone();
    let at = match toks.last() {
        Some(t) if t.kind == TokKind::RParen => toks.len() - 1,
        _ => toks.len(),
    };
    toks.splice(
        at..at,
        [word_tok(param, &like), eq_tok(&like), number_tok(v, &like)],
    );
}

/// A device name as the control language writes it, as its path of instance names:
/// ngspice's `r.x1.rs1` (the type letter first) and `x1.rs1` are both `[x1, rs1]`.
fn dev_path(name: &str) -> Vec<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let skip = match parts.as_slice() {
        [t, .., last] if parts.len() >= 3 && t.len() == 1 && last.starts_with(*t) => 1,
        _ => 0,
    };
    parts[skip..].iter().map(|p| p.to_string()).collect()
}

/// The index of the token naming the subcircuit of an `x` card: the last positional token
/// (not part of `name = value`, not `params:`), as the elaborator reads it.
fn subckt_tok(card: &Card) -> Option<usize> {
    let toks = &card.toks;
    let mut last = None;
    let mut i = 1;
    while i < toks.len() {
        if toks.get(i + 1).is_some_and(|t| t.kind == TokKind::Eq) {
            i += 3;
            continue;
        }
        if toks[i].kind != TokKind::Eq && !toks[i].text.starts_with("params:") {
            last = Some(i);
        }
        i += 1;
    }
    last
}

/// The scope at an index path (`[]` is the top level, `[2, 0]` the first subcircuit
/// defined inside the top level's third).
fn scope_at<'a>(top: &'a Scope, path: &[usize]) -> Option<&'a Scope> {
    let mut s = top;
    for &k in path {
        s = s.subckts.get(k)?;
    }
    Some(s)
}

fn scope_at_mut<'a>(top: &'a mut Scope, path: &[usize]) -> Option<&'a mut Scope> {
    let mut s = top;
    for &k in path {
        s = s.subckts.get_mut(k)?;
    }
    Some(s)
}

/// The definition an instance in `chain` (index paths of the scopes instantiated so far,
/// outermost first) names: searched from the innermost scope out, as the elaborator does.
/// Returns the definition's index path.
fn find_def(top: &Scope, chain: &[Vec<usize>], name: &str) -> Option<Vec<usize>> {
    chain.iter().rev().find_map(|p| {
        let s = scope_at(top, p)?;
        let k = s.subckts.iter().position(|c| c.name == name)?;
        let mut q = p.clone();
        q.push(k);
        Some(q)
    })
}

/// Marks the name of a definition copied for one instance path (so that an alter reaches
/// that instance only).
const SPECIAL: &str = "#alter:";

/// Where a device's card is: the index path of its scope and its index there.
struct CardAt {
    scope: Vec<usize>,
    index: usize,
}

/// Finds the card of the device at `path` (instance names, outermost first). With
/// `specialise`, every subcircuit on the way gets a copy of its definition of its own (once),
/// so that editing the card changes this instance only, as ngspice's alter does.
fn locate(top: &mut Scope, path: &[String], specialise: bool) -> super::CResult<CardAt> {
    let Some((dev, insts)) = path.split_last() else {
        return Err("no device name".into());
    };
    let mut chain: Vec<Vec<usize>> = vec![vec![]];
    let mut done: Vec<&str> = Vec::new();
    for inst in insts {
        let cur = chain.last().cloned().unwrap_or_default();
        let scope = scope_at(top, &cur).ok_or("internal: lost scope")?;
        let Some(ci) = scope.elements.iter().position(|c| c.name() == inst) else {
            return Err(if done.is_empty() {
                cerr!("no subcircuit instance {inst} at the top level")
            } else {
                cerr!("no subcircuit instance {inst} in {}", done.join("."))
            });
        };
        let card = &scope.elements[ci];
        let Some(ti) = subckt_tok(card).filter(|_| inst.starts_with('x')) else {
            return Err(cerr!("{inst} is not a subcircuit instance"));
        };
        let sname = card.toks[ti].text.clone();
        let Some(def) = find_def(top, &chain, &sname) else {
            return Err(cerr!("undefined subcircuit {sname} of {inst}"));
        };
        let def = if specialise && !sname.contains(SPECIAL) {
            // copy the definition next to the original, under a name of this instance path
            let mut full: Vec<&str> = done.clone();
            full.push(inst);
            let new_name = format!("{sname}{SPECIAL}{}", full.join("."));
            let (_, parent) = def.split_last().ok_or("internal: top is no definition")?;
            let parent = parent.to_vec();
            let copy = {
                let d = scope_at(top, &def).ok_or("internal: lost definition")?;
                Scope {
                    name: new_name.clone(),
                    ..d.clone()
                }
            };
            let ps = scope_at_mut(top, &parent).ok_or("internal: lost scope")?;
            ps.subckts.push(copy);
            let mut q = parent;
            q.push(ps.subckts.len() - 1);
            let sc = scope_at_mut(top, &cur).ok_or("internal: lost scope")?;
            let t = &mut sc.elements[ci].toks[ti];
            t.text = new_name.clone();
            t.raw = new_name;
            q
        } else {
            def
        };
        chain.push(def);
        done.push(inst);
    }
    let cur = chain.last().cloned().unwrap_or_default();
    let scope = scope_at(top, &cur).ok_or("internal: lost scope")?;
    match scope.elements.iter().position(|c| c.name() == dev) {
        Some(index) => Ok(CardAt { scope: cur, index }),
        None if done.is_empty() => Err(cerr!("no device {dev} in the netlist")),
        None => Err(cerr!("no device {dev} in {}", done.join("."))),
    }
}

/// The tokens of a device card holding parameter `param` (lowercase; `None` for the
/// principal value): the value after `param =`, the value token of R, C, L, the `dc` value
/// of a source (its bare value after the nodes), the values of a source's `pulse(...)`,
/// `sin(...)`, `pwl(...)`, `exp(...)`, the magnitude after `ac`.
fn param_toks<'a>(card: &'a Card, param: Option<&str>) -> Option<Vec<&'a Tok>> {
    let toks = &card.toks;
    let kind = card.name().chars().next().unwrap_or(' ');
    let principal: &[&str] = match kind {
        'r' => &["resistance", "r"],
        'c' => &["capacitance", "c"],
        'l' => &["inductance", "l"],
        'v' | 'i' => &["dc"],
        _ => &[],
    };
    let pair = |key: &str| {
        (1..toks.len()).find_map(|i| {
            (toks[i].is_word(key) && toks.get(i + 1).is_some_and(|t| t.kind == TokKind::Eq))
                .then(|| toks.get(i + 2))
                .flatten()
        })
    };
    let is_principal = param.is_none_or(|p| principal.contains(&p));
    if !is_principal {
        let p = param?;
        if let Some(t) = pair(p) {
            return Some(vec![t]);
        }
        if matches!(kind, 'v' | 'i') {
            let k = (3..toks.len()).find(|&k| toks[k].is_word(p))?;
            if p == "ac" {
                return toks.get(k + 1).map(|t| vec![t]);
            }
            let (lo, close) = if toks.get(k + 1).is_some_and(|t| t.kind == TokKind::LParen) {
                (k + 2, true)
            } else {
                (k + 1, false)
            };
            let vals: Vec<&Tok> = toks[lo..]
                .iter()
                .take_while(|t| {
                    if close {
                        t.kind != TokKind::RParen
                    } else {
                        t.kind == TokKind::Expr
                            || crate::netlist::number::parse_number(&t.text).is_some()
                    }
                })
                .collect();
            return Some(vals);
        }
        return None;
    }
    match kind {
        'r' | 'c' | 'l' => pair(principal[1])
            .or_else(|| {
                toks.get(3).filter(|t| {
                    t.kind != TokKind::Eq && toks.get(4).is_none_or(|e| e.kind != TokKind::Eq)
                })
            })
            .map(|t| vec![t]),
        'v' | 'i' => {
            if let Some(t) = pair("dc") {
                return Some(vec![t]);
            }
            if let Some(k) = (3..toks.len()).find(|&k| toks[k].is_word("dc")) {
                return toks.get(k + 1).map(|t| vec![t]);
            }
            toks.get(3)
                .filter(|t| {
                    matches!(t.kind, TokKind::Word | TokKind::Expr)
                        && ![
                            "ac", "pulse", "sin", "exp", "pwl", "distof1", "distof2", "sffm", "am",
                        ]
                        .contains(&t.text.as_str())
                })
                .map(|t| vec![t])
        }
        _ => None,
    }
}

impl NetlistEngine {
    /// An engine for a parsed netlist.
    pub fn new(nl: Netlist) -> NetlistEngine {
        let base_warnings = nl.warnings.iter().cloned().collect();
        NetlistEngine {
            base: nl.clone(),
            nl,
            save: Save::All,
            cache: PartCache::default(),
            last_tran: None,
            // the netlist's own warnings are the caller's to print (they are in every
            // circuit's warnings too)
            warned: base_warnings,
            warnings: Vec::new(),
            report: true,
        }
    }

    /// Whether the circuit's elaboration warnings reach the interpreter (on by default).
    pub fn report_warnings(&mut self, on: bool) {
        self.report = on;
    }

    /// Elaborates the netlist with its analysis cards replaced by `card` (or as written for
    /// `run`) and runs it.
    fn run_card(&mut self, card: Option<Card>) -> Result<(Circuit, RunResult)> {
        let saved = match card {
            Some(card) => {
                let mut controls: Vec<Card> = self
                    .nl
                    .controls
                    .iter()
                    .filter(|c| !ANALYSES.contains(&c.name()))
                    .cloned()
                    .collect();
                controls.push(card);
                Some(std::mem::replace(&mut self.nl.controls, controls))
            }
            None => None,
        };
        let c = elaborate(&self.nl, ElabOptions::default());
        if let Ok(c) = &c {
            for w in c.warnings.iter() {
                if self.warned.insert(w.to_string()) {
                    self.warnings.push(w.to_string());
                }
            }
        }
        let ro = RunOptions {
            save: self.save.clone(),
            spikes: vec![],
        };
        let res = c.and_then(|c| {
            let r = crate::analysis::run_with(&c, &ro, &mut self.cache)?;
            Ok((c, r))
        });
        if let Some(s) = saved {
            self.nl.controls = s;
        }
        res
    }

    fn plots(c: &Circuit, res: &RunResult, save: &Save) -> Vec<NewPlot> {
        let mut out = Vec::new();
        for (a, _) in &c.analyses {
            if let crate::circuit::Analysis::Op = a
                && let Some(op) = &res.op
            {
                out.push(NewPlot {
                    name: "Operating Point".into(),
                    title: c.title.to_lowercase(),
                    date: String::new(),
                    vecs: op
                        .iter()
                        // the run keeps every operating-point value; `save` names those shown
                        .filter(|(n, _)| match save {
                            Save::All => true,
                            Save::List(l) => l.iter().any(|s| s.eq_ignore_ascii_case(n)),
                        })
                        .map(|(n, v)| {
                            let (name, vtype) = internal(n);
                            Vector::real(name, vtype, vec![*v])
                        })
                        .collect(),
                    has_scale: false,
                });
            }
        }
        if let Some(ac) = &res.ac {
            let mut vecs = vec![Vector {
                name: "frequency".into(),
                vtype: VType::Frequency,
                data: Data::Complex(ac.freqs.iter().map(|&f| C::new(f, 0.0)).collect()),
            }];
            for (n, col) in ac.names.iter().skip(1).zip(&ac.vals) {
                let (name, vtype) = internal(n);
                vecs.push(Vector {
                    name,
                    vtype,
                    data: Data::Complex(col.iter().map(|&(re, im)| C::new(re, im)).collect()),
                });
            }
            out.push(NewPlot {
                name: "AC Analysis".into(),
                title: c.title.to_lowercase(),
                date: super::date_now(),
                vecs,
                has_scale: true,
            });
        }
        for rp in crate::io::raw::plots(c, res) {
            let vecs = rp
                .names
                .iter()
                .enumerate()
                .map(|(k, n)| {
                    let (name, mut vtype) = internal(n);
                    if k == 0 && rp.types[0] == "voltage" {
                        vtype = VType::Voltage;
                    }
                    Vector::real(name, vtype, rp.column(k))
                })
                .collect();
            let np = NewPlot {
                name: rp.plotname.clone(),
                // ngspice folds the title line to lower case, as every other card
                title: rp.title.to_lowercase(),
                date: rp.date.clone(),
                vecs,
                has_scale: true,
            };
            // the raw module lists .dc before .tran; keep the order the analyses ran in
            out.push(np);
        }
        out
    }
}

impl Engine for NetlistEngine {
    fn title(&self) -> String {
        self.nl.title.to_lowercase()
    }

    fn analyze(&mut self, a: &Analysis) -> Result<Vec<NewPlot>> {
        let card = match a.kind {
            AnalysisKind::Run => None,
            k => {
                let line = format!(".{} {}", k.name(), a.args.join(" "));
                let lexed = lex_str(&format!("*\n{line}\n"), &a.loc.file)?;
                let mut card = lexed
                    .cards
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::netlist("empty analysis", Some(a.loc)))?;
                // errors about the card point at the control line
                for t in card.toks.iter_mut() {
                    t.loc = Loc {
                        col: 1,
                        len: 0,
                        ..a.loc.clone()
                    };
                }
                card.loc = a.loc.clone();
                Some(card)
            }
        };
        let (c, res) = self.run_card(card)?;
        self.last_tran = c.analyses.iter().find_map(|(a, _)| match a {
            crate::circuit::Analysis::Tran {
                tstep,
                tstop,
                tstart,
                ..
            } => Some((*tstart, *tstop, *tstep)),
            _ => None,
        });
        Ok(Self::plots(&c, &res, &self.save))
    }

    fn alter(&mut self, a: &Alter) -> Result<()> {
        let value = *a
            .value
            .first()
            .ok_or_else(|| Error::netlist(format!("alter {}: no value", a.name), Some(a.loc)))?;
        if a.model {
            let Some(card) = self
                .nl
                .top
                .models
                .iter_mut()
                .find(|c| c.toks.get(1).is_some_and(|t| t.text == a.name))
            else {
                return Err(Error::netlist(
                    format!(
                        "altermod: no model {} at the top level of the netlist",
                        a.name
                    ),
                    Some(a.loc),
                ));
            };
            let Some(p) = a.param else {
                return Err(Error::netlist(
                    format!("altermod {}: which parameter?", a.name),
                    Some(a.loc),
                ));
            };
            set_pair(&mut card.toks, 3, p, value);
            return Ok(());
        }
        let at = locate(&mut self.nl.top, &dev_path(a.name), true)
            .map_err(|e| Error::netlist(format!("alter {}: {e}", a.name), Some(a.loc)))?;
        let Some(card) =
            scope_at_mut(&mut self.nl.top, &at.scope).and_then(|s| s.elements.get_mut(at.index))
        else {
            return Err(Error::netlist(
                format!("alter {}: the device's card was lost", a.name),
                Some(a.loc),
            ));
        };
        let kind = card.name().chars().next().unwrap_or(' ');
        let principal = match kind {
            'r' => ["resistance", "r"].as_slice(),
            'c' => &["capacitance", "c"],
            'l' => &["inductance", "l"],
            'v' | 'i' => &["dc"],
            _ => &[],
        };
        let param = a.param.map(str::to_ascii_lowercase);
        let is_principal = param.as_deref().is_none_or(|p| principal.contains(&p));
        match (kind, is_principal) {
            ('r' | 'c' | 'l', true) => {
                let key = &principal[1..2][0];
                let has_kv = card.toks.iter().enumerate().any(|(i, t)| {
                    t.is_word(key) && card.toks.get(i + 1).is_some_and(|e| e.kind == TokKind::Eq)
                });
                if has_kv || card.toks.len() < 4 || card.toks[3].kind == TokKind::Eq {
                    set_pair(&mut card.toks, 3, key, value);
                } else {
                    card.toks[3] = number_tok(value, &card.toks[3]);
                }
            }
            ('v' | 'i', true) => {
                let toks = &mut card.toks;
                if let Some(k) = (3..toks.len()).find(|&k| toks[k].is_word("dc")) {
                    if k + 1 < toks.len() {
                        toks[k + 1] = number_tok(value, &toks[k]);
                    } else {
                        let t = number_tok(value, &toks[k]);
                        toks.push(t);
                    }
                } else if toks.len() > 3
                    && matches!(toks[3].kind, TokKind::Word | TokKind::Expr)
                    && !["ac", "pulse", "sin", "exp", "pwl", "distof1", "distof2"]
                        .contains(&toks[3].text.as_str())
                {
                    toks[3] = number_tok(value, &toks[3]);
                } else {
                    let like = toks[0].clone();
                    let at = 3.min(toks.len());
                    toks.splice(at..at, [word_tok("dc", &like), number_tok(value, &like)]);
                }
            }
            ('v' | 'i', false) => {
                let Some(p) = param.as_deref() else {
                    return Ok(());
                };
                if !["pulse", "sin", "exp", "pwl"].contains(&p) {
                    return Err(Error::netlist(
                        format!("alter {}: unknown parameter {p}", a.name),
                        Some(a.loc),
                    ));
                }
                let toks = &mut card.toks;
                let Some(k) = (3..toks.len()).find(|&k| toks[k].is_word(p)) else {
                    return Err(Error::netlist(
                        format!("alter {}: the source has no {p}(...) to change", a.name),
                        Some(a.loc),
                    ));
                };
                let (lo, hi) = if toks.get(k + 1).is_some_and(|t| t.kind == TokKind::LParen) {
                    let hi = (k + 2..toks.len())
                        .find(|&j| toks[j].kind == TokKind::RParen)
                        .unwrap_or(toks.len());
                    (k + 2, hi)
                } else {
                    let hi = (k + 1..toks.len())
                        .find(|&j| crate::netlist::number::parse_number(&toks[j].text).is_none())
                        .unwrap_or(toks.len());
                    (k + 1, hi)
                };
                let like = toks[k].clone();
                let new: Vec<Tok> = a.value.iter().map(|v| number_tok(*v, &like)).collect();
                toks.splice(lo..hi, new);
            }
            (_, _) => {
                let Some(p) = param.as_deref() else {
                    return Err(Error::netlist(
                        format!("alter {}: which parameter of this device?", a.name),
                        Some(a.loc),
                    ));
                };
                set_pair(&mut card.toks, 1, p, value);
            }
        }
        Ok(())
    }

    fn reset(&mut self, _: &Loc) -> Result<()> {
        self.nl = self.base.clone();
        Ok(())
    }

    fn option(&mut self, args: &[String], loc: &Loc) -> Result<()> {
        let lexed = lex_str(&format!("*\n.options {}\n", args.join(" ")), &loc.file)?;
        for mut card in lexed.cards {
            card.loc = loc.clone();
            self.nl.controls.push(card);
        }
        Ok(())
    }

    fn save(&mut self, args: &[String], _: &Loc) -> Result<()> {
        if args.iter().any(|a| a.eq_ignore_ascii_case("all")) || args.is_empty() {
            self.save = Save::All;
            return Ok(());
        }
        let list = args
            .iter()
            .map(|a| {
                let a = a.to_ascii_lowercase();
                if let Some(d) = a.strip_suffix("#branch") {
                    format!("i({d})")
                } else if a.starts_with("v(") || a.starts_with("i(") {
                    a
                } else {
                    format!("v({a})")
                }
            })
            .collect();
        self.save = Save::List(list);
        Ok(())
    }

    fn device_param(&mut self, dev: &str, param: Option<&str>) -> Result<Vec<f64>> {
        let param = param.map(str::to_ascii_lowercase);
        let shown = match &param {
            Some(p) => format!("@{dev}[{p}]"),
            None => format!("@{dev}"),
        };
        let toks: Vec<Tok> = if let Some(card) = self
            .nl
            .top
            .models
            .iter()
            .find(|c| c.toks.get(1).is_some_and(|t| t.text == dev))
        {
            // a model parameter (`@nch[vth0]`): its `name = value` on the card
            let Some(p) = param.as_deref() else {
                return Err(Error::netlist(
                    format!("{shown}: which parameter of the model?"),
                    None,
                ));
            };
            let toks = &card.toks;
            let hit = (2..toks.len()).find_map(|i| {
                (toks[i].is_word(p) && toks.get(i + 1).is_some_and(|t| t.kind == TokKind::Eq))
                    .then(|| toks.get(i + 2))
                    .flatten()
            });
            match hit {
                Some(t) => vec![t.clone()],
                None => {
                    return Err(Error::netlist(
                        format!("{shown}: the model card of {dev} does not give {p}"),
                        None,
                    ));
                }
            }
        } else {
            let at = locate(&mut self.nl.top, &dev_path(dev), false)
                .map_err(|e| Error::netlist(format!("{shown}: {e}"), None))?;
            let card = scope_at(&self.nl.top, &at.scope)
                .and_then(|s| s.elements.get(at.index))
                .ok_or_else(|| Error::netlist(format!("{shown}: the card was lost"), None))?;
            match param_toks(card, param.as_deref()) {
                Some(t) if !t.is_empty() => t.into_iter().cloned().collect(),
                _ => {
                    return Err(Error::netlist(
                        format!(
                            "{shown}: the card of {dev} does not give {} (neurospice reads parameters from the cards, not the devices' defaults or operating-point values)",
                            param.as_deref().unwrap_or("a value")
                        ),
                        None,
                    ));
                }
            }
        };
        let mut out = Vec::with_capacity(toks.len());
        for t in toks {
            if t.kind != TokKind::Expr
                && let Some(v) = crate::netlist::number::parse_number(&t.text)
            {
                out.push(v);
                continue;
            }
            // a parameter or an expression: evaluated as a `.csparam` would be
            let loc = t.loc.clone();
            self.nl
                .csparams
                .push(("__neurospice_query".into(), vec![t], loc));
            let r = crate::netlist::csparam_values(&self.nl, &[]);
            self.nl.csparams.pop();
            let v = r?
                .into_iter()
                .rev()
                .find(|(n, _)| n == "__neurospice_query")
                .map(|(_, v)| v)
                .ok_or_else(|| Error::netlist(format!("{shown}: cannot evaluate"), None))?;
            out.push(v);
        }
        Ok(out)
    }

    fn seed(&mut self, _: u64) {}

    fn take_warnings(&mut self) -> Vec<String> {
        let w = std::mem::take(&mut self.warnings);
        if self.report { w } else { Vec::new() }
    }

    fn tran_params(&self) -> Option<(f64, f64, f64)> {
        self.last_tran
    }

    fn csparams(&self) -> Result<Vec<(String, f64)>> {
        crate::netlist::csparam_values(&self.nl, &[])
    }

    fn params(&self) -> Vec<(String, f64)> {
        crate::meas::global_params(&self.nl, &[]).unwrap_or_default()
    }

    fn autostop(&self) -> bool {
        crate::meas::autostop(&self.nl)
    }

    fn dot_meas(&self) -> Vec<(String, Loc)> {
        self.nl
            .controls
            .iter()
            .filter(|c| matches!(c.name(), ".meas" | ".measure"))
            .map(|c| {
                // an expression token has lost its quotes or braces: braces give it back
                let text = format!("meas{}", card_words(&c.toks[1..]));
                (text, c.loc.clone())
            })
            .collect()
    }
}
