//! The scope tree of a netlist: `.subckt` definitions with their ports, defaults, local
//! `.param`s, elements and models, parsed once from the lexed cards ([`Netlist::parse`]) so it
//! can be elaborated many times (sweep points, Monte Carlo runs) without re-reading files.

use super::lexer::{Card, Lexed, Tok, TokKind, join_tokens, loc_at};
use crate::error::{Error, Loc, Result};
use crate::expr::{self, Expr, UserFunc};
use std::collections::HashMap;
use std::sync::Arc;

/// A `.subckt` definition (or the top level).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub name: String,
    pub ports: Vec<String>,
    /// Default parameters of the definition (`params:` or `name=value` on the .subckt line).
    pub defaults: Vec<(String, Tok)>,
    pub params: Vec<(String, Vec<Tok>, Loc)>,
    pub elements: Vec<Card>,
    pub models: Vec<Card>,
    /// Index into `models` by model name (the first card of a name wins), and by the base
    /// name of binned cards (`nshort_model` for `nshort_model.1`, `.2`, ..., in card order).
    pub model_ix: HashMap<String, usize>,
    pub bins: HashMap<String, Vec<usize>>,
    pub subckts: Vec<Scope>,
    /// Unique within the netlist (0 = the top level): with a model's index, names the card
    /// for the device-model cache.
    pub id: usize,
    pub loc: Option<Loc>,
    /// Parameters declared with `.param_run` / `.param_inst` (Monte Carlo draw policy).
    pub param_modes: HashMap<String, ParamMode>,
    /// User functions (`.func`) defined in this scope, in the order written (a later
    /// definition of a name replaces an earlier one).
    pub funcs: Vec<Arc<UserFunc>>,
}

impl Scope {
    /// The user function `name` of this scope itself.
    pub fn func(&self, name: &str) -> Option<&Arc<UserFunc>> {
        self.funcs.iter().rev().find(|f| f.name == name)
    }
}

/// A parsed netlist: the scope tree and the control cards, ready to be elaborated (possibly
/// several times with different parameter values, without re-reading files).
#[derive(Debug, Clone)]
pub struct Netlist {
    pub title: String,
    /// Where the title line is (errors about the netlist as a whole point here).
    pub title_loc: Loc,
    pub top: Scope,
    pub controls: Vec<Card>,
    pub globals: Vec<String>,
    /// `.csparam name = expr`: values the control language sees as vectors.
    pub csparams: Vec<(String, Vec<Tok>, Loc)>,
    pub warnings: Vec<String>,
    /// Device models built from this netlist's cards, shared by every elaboration (and by
    /// clones of the netlist, which have the same cards).
    pub model_cache: super::models::ModelCache,
    /// The element cards were dropped ([`Netlist::release_elements`]): elaborating again is
    /// refused.
    pub released: bool,
}

impl Netlist {
    /// Builds the scope tree from lexed cards. `.subckt` definitions may nest up to
    /// [`MAX_DEFINITION_DEPTH`] levels (the tree is walked recursively).
    pub fn parse(lexed: &Lexed) -> Result<Netlist> {
        Netlist::parse_owned(lexed.clone())
    }

    /// [`Netlist::parse`] taking the cards over instead of copying them: the netlist's cards
    /// are the lexer's, so a million-element deck is held once, not twice, while it is parsed.
    pub fn parse_owned(lexed: Lexed) -> Result<Netlist> {
        let mut stack: Vec<Scope> = vec![Scope::default()];
        let mut controls = Vec::new();
        let mut globals = Vec::new();
        let mut csparams = Vec::new();
        let mut title = (lexed.title, lexed.title_loc);
        let mut warnings = lexed.warnings;
        let mut scopes = 0usize;
        for card in lexed.cards {
            let name = card.name().to_string();
            if let Some(dot) = name.strip_prefix('.') {
                match dot {
                    "subckt" => {
                        let Some(n) = card.toks.get(1) else {
                            return Err(Error::netlist(".subckt needs a name", Some(&card.loc)));
                        };
                        scopes += 1;
                        let mut sc = Scope {
                            name: n.text.clone(),
                            loc: Some(card.loc.clone()),
                            id: scopes,
                            ..Default::default()
                        };
                        let rest = &card.toks[2..];
                        let mut i = 0;
                        while i < rest.len() {
                            let t = &rest[i];
                            if t.is_word("params:") {
                                i += 1;
                                continue;
                            }
                            if rest
                                .get(i + 1)
                                .map(|x| x.kind == TokKind::Eq)
                                .unwrap_or(false)
                            {
                                let Some(v) = rest.get(i + 2) else {
                                    return Err(Error::syntax(
                                        format!(
                                            "missing value for subcircuit parameter '{}'",
                                            t.text
                                        ),
                                        &t.loc,
                                    ));
                                };
                                sc.defaults.push((t.text.clone(), v.clone()));
                                i += 3;
                                continue;
                            }
                            if t.text.starts_with("params:") {
                                i += 1;
                                continue;
                            }
                            if !sc.defaults.is_empty() {
                                return Err(Error::syntax(
                                    format!("unexpected '{}' after subcircuit parameters", t.raw),
                                    &t.loc,
                                ));
                            }
                            sc.ports.push(t.text.clone());
                            i += 1;
                        }
                        if stack.len() > MAX_DEFINITION_DEPTH {
                            return Err(Error::netlist(
                                format!(
                                    ".subckt definitions nested deeper than \
                                     {MAX_DEFINITION_DEPTH} levels (a missing .ends?)"
                                ),
                                Some(&card.loc),
                            ));
                        }
                        stack.push(sc);
                    }
                    "ends" => {
                        if stack.len() < 2 {
                            return Err(Error::netlist(
                                ".ends without a matching .subckt",
                                Some(&card.loc),
                            ));
                        }
                        let sc = stack.pop().unwrap_or_default();
                        if let Some(n) = card.toks.get(1)
                            && n.text != sc.name
                        {
                            return Err(Error::netlist(
                                format!(
                                    ".ends {} does not match the open .subckt {}",
                                    n.text, sc.name
                                ),
                                Some(&n.loc),
                            ));
                        }
                        if let Some(top) = stack.last_mut() {
                            top.subckts.push(sc);
                        }
                    }
                    "param" | "param_run" | "param_inst" => {
                        let defs = split_param_defs(&card.toks[1..], &card)?;
                        // syntax errors now; the elaborator parses them again when used
                        for (_, toks, _) in &defs {
                            parse_expr_toks(toks)?;
                        }
                        if let Some(s) = stack.last_mut() {
                            let mode = match dot {
                                "param_run" => Some(ParamMode::PerRun),
                                "param_inst" => Some(ParamMode::PerInstance),
                                _ => None,
                            };
                            for (n, _, _) in &defs {
                                match mode {
                                    Some(m) => s.param_modes.insert(n.clone(), m),
                                    None => s.param_modes.remove(n),
                                };
                            }
                            s.params.extend(defs);
                        }
                    }
                    "model" => {
                        if let Some(s) = stack.last_mut() {
                            s.add_model(card);
                        }
                    }
                    "global" => {
                        for t in &card.toks[1..] {
                            if t.kind != TokKind::Word {
                                return Err(Error::syntax(
                                    format!("expected a node name in .global, found '{}'", t.raw),
                                    &t.loc,
                                ));
                            }
                            if !globals.contains(&t.text) {
                                globals.push(t.text.clone());
                            }
                        }
                    }
                    "func" => {
                        let f = parse_func(&card)?;
                        if let Some(s) = stack.last_mut() {
                            s.funcs.push(Arc::new(f));
                        }
                    }
                    "csparam" => {
                        csparams.extend(split_param_defs(&card.toks[1..], &card)?);
                    }
                    "title" => {
                        let text = card.toks.get(1).map(|t| t.raw.clone()).unwrap_or_default();
                        title = (text, card.loc.clone());
                    }
                    "end" => break,
                    "print" | "plot" | "save" | "probe" | "width" => {
                        // kept for a deck run as ngspice runs it (`.print` tables after the
                        // analyses, cli/run.rs); the dot-card path skips them
                        warnings.push(format!(
                            "{}:{}: {} skipped (use --save and -o)",
                            card.loc.file, card.loc.line, name
                        ));
                        if dot == "print" {
                            controls.push(card);
                        }
                    }
                    "four" | "fourier" => {
                        // ngspice's `fourier` on the last transient, run by cli/run.rs after
                        // the analyses as ngspice -b runs it; the dot-card path skips it
                        warnings.push(format!(
                            "{}:{}: {} skipped (its table is printed when the deck runs as ngspice runs it)",
                            card.loc.file, card.loc.line, name
                        ));
                        controls.push(card);
                    }
                    "op" | "dc" | "tran" | "ac" | "ic" | "options" | "option" | "opt" | "temp"
                    | "nodeset" | "meas" | "measure" => controls.push(card),
                    _ => {
                        return Err(Error::netlist(
                            format!("unsupported card '{}'", name),
                            Some(&card.toks[0].loc),
                        ));
                    }
                }
            } else if let Some(s) = stack.last_mut() {
                s.elements.push(card);
            }
        }
        if stack.len() > 1 {
            let sc = stack.pop().unwrap_or_default();
            return Err(Error::netlist(
                format!("missing .ends for subcircuit '{}'", sc.name),
                sc.loc.as_ref(),
            ));
        }
        let top = stack.pop().unwrap_or_default();
        Ok(Netlist {
            title: title.0,
            title_loc: title.1,
            top,
            controls,
            globals,
            csparams,
            warnings,
            model_cache: Default::default(),
            released: false,
        })
    }
}

impl Netlist {
    /// Drops the element cards of every scope (the bulk of a large netlist: a card of four
    /// tokens costs about 800 bytes) once the one circuit a run needs is elaborated; the
    /// parameters, models, functions and control cards stay for the measures. Elaborating
    /// this netlist again is an error.
    pub fn release_elements(&mut self) {
        let mut todo = vec![&mut self.top];
        while let Some(s) = todo.pop() {
            s.elements = Vec::new();
            todo.extend(s.subckts.iter_mut());
        }
        self.released = true;
    }
}

impl Scope {
    /// Adds a `.model` card and indexes it by name and, for `name.N`, by the bin family.
    fn add_model(&mut self, card: Card) {
        let k = self.models.len();
        if let Some(n) = card.toks.get(1) {
            let name = n.text.as_str();
            self.model_ix.entry(name.to_string()).or_insert(k);
            if let Some((base, num)) = name.rsplit_once('.')
                && !base.is_empty()
                && !num.is_empty()
                && num.bytes().all(|b| b.is_ascii_digit())
            {
                self.bins.entry(base.to_string()).or_default().push(k);
            }
        }
        self.models.push(card);
    }
}

/// `.param a = expr b = expr ...`: an expression runs until the next `name =`.
fn split_param_defs(toks: &[Tok], card: &Card) -> Result<Vec<(String, Vec<Tok>, Loc)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if toks
            .get(i + 1)
            .map(|x| x.kind != TokKind::Eq)
            .unwrap_or(true)
        {
            return Err(Error::syntax(
                format!("expected 'name = value' in .param, found '{}'", t.raw),
                &t.loc,
            ));
        }
        if t.kind != TokKind::Word
            || !t
                .text
                .chars()
                .next()
                .map(|c| c.is_ascii_alphabetic() || c == '_')
                .unwrap_or(false)
        {
            return Err(Error::syntax(
                format!("invalid parameter name '{}'", t.raw),
                &t.loc,
            ));
        }
        let mut j = i + 2;
        let start = j;
        while j < toks.len()
            && !(toks
                .get(j + 1)
                .map(|x| x.kind == TokKind::Eq)
                .unwrap_or(false)
                && toks[j].kind == TokKind::Word)
        {
            j += 1;
        }
        if j == start {
            return Err(Error::syntax(
                format!("missing value for parameter '{}'", t.text),
                &t.loc,
            ));
        }
        out.push((t.text.clone(), toks[start..j].to_vec(), t.loc.clone()));
        i = j;
    }
    let _ = card;
    Ok(out)
}

/// `.func name(a, b, ...) [=] body`: the body is an expression (`{...}`, `'...'` or the
/// rest of the line); calls of other user functions in it are resolved where it is used.
fn parse_func(card: &Card) -> Result<UserFunc> {
    let t = &card.toks;
    let Some(name) = t.get(1).filter(|n| n.kind == TokKind::Word) else {
        return Err(Error::syntax(
            ".func needs a name: .func name(args) {expression}",
            t.get(1).map(|n| &n.loc).unwrap_or(&card.loc),
        ));
    };
    if !name
        .text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        || !name
            .text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::syntax(
            format!("invalid function name '{}'", name.raw),
            &name.loc,
        ));
    }
    if expr::Func::from_name(&name.text).is_some()
        || matches!(name.text.as_str(), "v" | "i" | "ternary_fcn")
    {
        return Err(Error::syntax(
            format!(
                "'{}' is a built-in function: a .func may not redefine it",
                name.raw
            ),
            &name.loc,
        ));
    }
    if t.get(2).map(|p| p.kind) != Some(TokKind::LParen) {
        return Err(Error::syntax(
            format!("expected '(' after .func {}", name.raw),
            t.get(2).map(|p| &p.loc).unwrap_or(&name.loc),
        ));
    }
    let mut params: Vec<String> = Vec::new();
    let mut i = 3;
    loop {
        let Some(p) = t.get(i) else {
            return Err(Error::syntax(
                format!("unbalanced '(' in .func {}", name.raw),
                &t[2].loc,
            ));
        };
        i += 1;
        match p.kind {
            TokKind::RParen => break,
            TokKind::Word
                if p.text
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_') =>
            {
                if params.contains(&p.text) {
                    return Err(Error::syntax(
                        format!("parameter '{}' named twice in .func {}", p.raw, name.raw),
                        &p.loc,
                    ));
                }
                params.push(p.text.clone());
            }
            _ => {
                return Err(Error::syntax(
                    format!(
                        "expected a parameter name in .func {}, found '{}'",
                        name.raw, p.raw
                    ),
                    &p.loc,
                ));
            }
        }
    }
    if t.get(i).map(|e| e.kind) == Some(TokKind::Eq) {
        i += 1;
    }
    if i >= t.len() {
        return Err(Error::syntax(
            format!("missing body of .func {}", name.raw),
            &t[i - 1].loc,
        ));
    }
    let body = parse_expr_toks(&t[i..])?;
    Ok(UserFunc {
        name: name.text.clone(),
        params,
        body,
    })
}

/// Parses expression tokens (as joined text) into an `Expr`, errors pointing at the token.
/// Deepest nesting of `.subckt` definitions inside `.subckt` definitions.
pub const MAX_DEFINITION_DEPTH: usize = 200;

/// Calls of user functions are left in it ([`expand_toks`] resolves them).
pub(super) fn parse_expr_toks(toks: &[Tok]) -> Result<Expr> {
    let (s, map) = join_tokens(toks);
    expr::parse(&s, |offset, len| {
        loc_at(&map, offset, len).unwrap_or_else(|| toks[0].loc.clone())
    })
}

/// Parses expression tokens and puts in the user functions `lookup` finds for their calls;
/// errors point at the token (for a call, at the function's name).
pub(super) fn expand_toks(
    toks: &[Tok],
    lookup: &mut dyn FnMut(&str) -> Option<Arc<UserFunc>>,
) -> Result<Expr> {
    let e = parse_expr_toks(toks)?;
    if !expr::user::has_user(&e) {
        return Ok(e);
    }
    expr::user::expand(&e, lookup).map_err(|x| {
        let (_, map) = join_tokens(toks);
        let loc = loc_at(&map, x.offset, x.len).unwrap_or_else(|| toks[0].loc.clone());
        Error::syntax(x.msg, &loc)
    })
}

/// When a random parameter is drawn (see docs/mc.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMode {
    /// `.param x = agauss(...)`: ngspice draws anew at every use of `x`.
    PerUse,
    /// `.param_run x = ...`: one draw per run (per subcircuit instance inside a `.subckt`),
    /// shared by every use.
    PerRun,
    /// `.param_inst x = ...`: one draw per element (instance line) that uses `x`.
    PerInstance,
}
