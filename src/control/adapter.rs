//! The control language's [`Engine`] over today's netlist and analysis modules.
//!
//! The parsed netlist is kept; an analysis command elaborates it with that one analysis card
//! (a few microseconds for small circuits) and runs it with a [`PartCache`] kept across runs,
//! so a loop of analyses shares the sparse pattern and symbolic LU. `alter` and `altermod`
//! edit the parsed cards (the value token of an instance, a `param = value` of a model card),
//! so the next elaboration sees them; `reset` goes back to the cards as read.
//!
//! Limits of this adapter (the engine rework of issue 12 replaces it): `ac` is not
//! available, `@dev[param]` cannot be read, `alter` reaches top-level R, C, L, V, I
//! instances and any instance parameter written as `name=value`, not instances inside
//! subcircuits; the netlist's random functions take their nominal values.

use super::engine::{Alter, Analysis, AnalysisKind, Engine};
use super::vector::{NewPlot, VType, Vector};
use crate::analysis::{PartCache, RunOptions, RunResult, Save};
use crate::circuit::Circuit;
use crate::error::{Error, Loc, Result};
use crate::netlist::lexer::{Card, Tok, TokKind, lex_str};
use crate::netlist::{ElabOptions, Netlist, elaborate};

/// The netlist engine.
pub struct NetlistEngine {
    /// The netlist as read (`reset` returns to it).
    base: Netlist,
    /// The netlist with every alter applied.
    nl: Netlist,
    save: Save,
    cache: PartCache,
}

const ANALYSES: &[&str] = &[".op", ".dc", ".tran", ".ac"];

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

impl NetlistEngine {
    /// An engine for a parsed netlist.
    pub fn new(nl: Netlist) -> NetlistEngine {
        NetlistEngine {
            base: nl.clone(),
            nl,
            save: Save::All,
            cache: PartCache::default(),
        }
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

    fn plots(c: &Circuit, res: &RunResult) -> Vec<NewPlot> {
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
                        .map(|(n, v)| {
                            let (name, vtype) = internal(n);
                            Vector::real(name, vtype, vec![*v])
                        })
                        .collect(),
                    has_scale: false,
                });
            }
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
            AnalysisKind::Ac => {
                return Err(Error::netlist(
                    "ac: this engine has no AC analysis yet",
                    Some(a.loc),
                ));
            }
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
        Ok(Self::plots(&c, &res))
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
        let Some(card) = self
            .nl
            .top
            .elements
            .iter_mut()
            .find(|c| c.toks[0].text == a.name)
        else {
            return Err(Error::netlist(
                format!(
                    "alter: no device {} at the top level of the netlist (devices inside subcircuits cannot be altered by this engine yet)",
                    a.name
                ),
                Some(a.loc),
            ));
        };
        let kind = a.name.chars().next().unwrap_or(' ');
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

    fn device_param(&mut self, dev: &str, _: Option<&str>) -> Result<Vec<f64>> {
        Err(Error::netlist(
            format!("@{dev}[...]: device parameters cannot be read by this engine yet"),
            None,
        ))
    }

    fn seed(&mut self, _: u64) {}

    fn params(&self) -> Vec<(String, f64)> {
        crate::meas::global_params(&self.nl, &[]).unwrap_or_default()
    }

    fn dot_meas(&self) -> Vec<(String, Loc)> {
        self.nl
            .controls
            .iter()
            .filter(|c| matches!(c.name(), ".meas" | ".measure"))
            .map(|c| {
                // an expression token has lost its quotes or braces: braces give it back
                let words: Vec<String> = c.toks[1..]
                    .iter()
                    .map(|t| match t.kind {
                        TokKind::Expr => format!("{{{}}}", t.raw),
                        _ => t.raw.clone(),
                    })
                    .collect();
                (format!("meas {}", words.join(" ")), c.loc.clone())
            })
            .collect()
    }
}
