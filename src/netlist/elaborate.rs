//! From cards to a flat circuit: subcircuits expanded, parameters evaluated in their scopes,
//! models resolved, nodes and branch currents numbered, structural errors found.

use super::element::{self, kv_pairs};
use super::lexer::{Card, Lexed, Tok, TokKind, join_tokens, loc_at};
use crate::circuit::{Analysis, Circuit, Method, Options, Sweep, SweepTarget};
use crate::devices::{DeviceOps, Inst};
use crate::error::{Error, Loc, Result};
use crate::expr::number::parse_number;
use crate::expr::tape::{Input, Tape};
use crate::expr::{self, Env, Expr, Func};
use std::collections::HashMap;

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
    pub subckts: Vec<Scope>,
    pub loc: Option<Loc>,
    /// Parameters declared with `.param_run` / `.param_inst` (Monte Carlo draw policy).
    pub param_modes: HashMap<String, ParamMode>,
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
    pub warnings: Vec<String>,
}

impl Netlist {
    /// Builds the scope tree from lexed cards.
    pub fn parse(lexed: &Lexed) -> Result<Netlist> {
        let mut stack: Vec<Scope> = vec![Scope::default()];
        let mut controls = Vec::new();
        let mut globals = Vec::new();
        let mut warnings = lexed.warnings.clone();
        for card in &lexed.cards {
            let name = card.name().to_string();
            if let Some(dot) = name.strip_prefix('.') {
                match dot {
                    "subckt" => {
                        let Some(n) = card.toks.get(1) else {
                            return Err(Error::netlist(".subckt needs a name", Some(&card.loc)));
                        };
                        let mut sc = Scope {
                            name: n.text.clone(),
                            loc: Some(card.loc.clone()),
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
                        let defs = split_param_defs(&card.toks[1..], card)?;
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
                            s.models.push(card.clone());
                        }
                    }
                    "global" => globals.extend(card.toks[1..].iter().map(|t| t.text.clone())),
                    "end" => break,
                    "print" | "plot" | "save" | "probe" | "width" => {
                        warnings.push(format!(
                            "{}:{}: {} skipped (use --save and -o)",
                            card.loc.file, card.loc.line, name
                        ));
                    }
                    "op" | "dc" | "tran" | "ic" | "options" | "option" | "opt" | "temp"
                    | "nodeset" | "meas" | "measure" | "func" => controls.push(card.clone()),
                    _ => {
                        return Err(Error::netlist(
                            format!("unsupported card '{}'", name),
                            Some(&card.toks[0].loc),
                        ));
                    }
                }
            } else if let Some(s) = stack.last_mut() {
                s.elements.push(card.clone());
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
            title: lexed.title.clone(),
            title_loc: lexed.title_loc.clone(),
            top,
            controls,
            globals,
            warnings,
        })
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

/// Parses expression tokens (as joined text) into an `Expr`, errors pointing at the token.
fn parse_expr_toks(toks: &[Tok]) -> Result<Expr> {
    let (s, map) = join_tokens(toks);
    expr::parse(&s, |offset, len| {
        loc_at(&map, offset, len).unwrap_or_else(|| toks[0].loc.clone())
    })
}

fn parse_expr_tok(t: &Tok) -> Result<Expr> {
    parse_expr_toks(std::slice::from_ref(t))
}

#[derive(Debug, Clone)]
enum Def {
    Value(f64),
    Expr(Expr, Loc, usize),
}

#[derive(Debug, Default)]
struct Frame {
    parent: Option<usize>,
    defs: HashMap<String, Def>,
    cache: HashMap<String, f64>,
    /// Parameters not evaluated once per frame (random ones); absent = once per frame.
    modes: HashMap<String, ParamMode>,
    /// Instance path of the subcircuit this frame belongs to (`x1.`; empty at top level).
    prefix: String,
}

/// Parameter frames with lazy, cycle-checked evaluation.
struct Params<'r> {
    frames: Vec<Frame>,
    evaluating: Vec<(usize, String)>,
    random: Option<&'r mut dyn Sampler>,
    temp: f64,
    /// The element (instance path) whose line is being evaluated; empty outside elements.
    element: String,
    /// Values of `.param_inst` parameters for the current element.
    inst_cache: HashMap<(usize, String), f64>,
    /// Random draws made so far (to tell which parameters depend on them).
    draws: u64,
}

struct FrameEnv<'a, 'r> {
    p: &'a mut Params<'r>,
    frame: usize,
}

impl Env for FrameEnv<'_, '_> {
    fn name(&mut self, name: &str) -> Result<f64> {
        if name == "temper" {
            return Ok(self.p.temp);
        }
        match self.p.lookup(self.frame, name)? {
            Some(v) => Ok(v),
            None => Err(Error::netlist(
                format!("undefined parameter '{name}'"),
                None,
            )),
        }
    }
    fn random(&mut self, f: Func, args: &[f64]) -> Result<f64> {
        if self.p.random.is_none() {
            return Ok(args[0]);
        }
        let site = self.p.site();
        self.p.draws += 1;
        match self.p.random.as_mut() {
            Some(r) => r
                .draw(&Draw {
                    func: f,
                    args,
                    site: &site,
                    local: false,
                })
                .map_err(|m| Error::netlist(m, None)),
            None => Ok(args[0]),
        }
    }
}

impl<'r> Params<'r> {
    fn new_frame(&mut self, parent: Option<usize>) -> usize {
        self.frames.push(Frame {
            parent,
            ..Default::default()
        });
        self.frames.len() - 1
    }

    fn lookup(&mut self, frame: usize, name: &str) -> Result<Option<f64>> {
        let mut f = Some(frame);
        while let Some(fi) = f {
            if let Some(v) = self.frames[fi].cache.get(name) {
                return Ok(Some(*v));
            }
            let mode = self.frames[fi].modes.get(name).copied();
            if mode == Some(ParamMode::PerInstance)
                && let Some(v) = self.inst_cache.get(&(fi, name.to_string()))
            {
                return Ok(Some(*v));
            }
            if let Some(def) = self.frames[fi].defs.get(name).cloned() {
                let draws_before = self.draws;
                let v = match def {
                    Def::Value(v) => v,
                    Def::Expr(e, loc, eval_frame) => {
                        if let Some(pos) = self
                            .evaluating
                            .iter()
                            .position(|(ff, n)| *ff == fi && n == name)
                        {
                            let chain: Vec<String> = self.evaluating[pos..]
                                .iter()
                                .map(|(_, n)| n.clone())
                                .chain([name.to_string()])
                                .collect();
                            return Err(Error::netlist(
                                format!("circular parameter definition: {}", chain.join(" -> ")),
                                Some(&loc),
                            ));
                        }
                        self.evaluating.push((fi, name.to_string()));
                        let r = self.eval(&e, eval_frame, &loc);
                        self.evaluating.pop();
                        r?
                    }
                };
                match mode {
                    Some(ParamMode::PerUse) => {}
                    Some(ParamMode::PerInstance) => {
                        self.inst_cache.insert((fi, name.to_string()), v);
                    }
                    Some(ParamMode::PerRun) | None => {
                        self.frames[fi].cache.insert(name.to_string(), v);
                    }
                }
                if fi == 0 && self.draws != draws_before {
                    let label = match mode {
                        Some(ParamMode::PerUse | ParamMode::PerInstance) => {
                            format!("{name}@{}", self.site_base())
                        }
                        _ => name.to_string(),
                    };
                    if let Some(r) = self.random.as_mut() {
                        r.param_value(&label, v);
                    }
                }
                return Ok(Some(v));
            }
            f = self.frames[fi].parent;
        }
        Ok(None)
    }

    /// Where a random draw is made, stable across runs: the innermost parameter evaluated
    /// once per frame (qualified by its instance path), else the current element, followed by
    /// the re-drawn parameters in between (`r1/x`: parameter x drawn anew for element r1).
    fn site(&self) -> String {
        let mut s = self.site_base();
        let start = self.frozen_depth().map(|k| k + 1).unwrap_or(0);
        for (_, n) in &self.evaluating[start..] {
            s.push('/');
            s.push_str(n);
        }
        s
    }

    fn frozen_depth(&self) -> Option<usize> {
        self.evaluating.iter().rposition(|(fi, n)| {
            matches!(
                self.frames[*fi].modes.get(n),
                None | Some(ParamMode::PerRun)
            )
        })
    }

    fn site_base(&self) -> String {
        match self.frozen_depth() {
            Some(k) => {
                let (fi, n) = &self.evaluating[k];
                format!("{}{n}", self.frames[*fi].prefix)
            }
            None => self.element.clone(),
        }
    }

    /// A local (mismatch) draw for the current element: the sampler's value, or `nominal`
    /// without a sampler.
    fn local_draw(
        &mut self,
        func: Func,
        args: &[f64],
        what: &str,
    ) -> std::result::Result<f64, String> {
        let site = format!("{}#{what}", self.element);
        match self.random.as_mut() {
            Some(r) => r.draw(&Draw {
                func,
                args,
                site: &site,
                local: true,
            }),
            None => Ok(args[0]),
        }
    }

    fn eval(&mut self, e: &Expr, frame: usize, loc: &Loc) -> Result<f64> {
        let mut env = FrameEnv { p: self, frame };
        expr::eval_const(e, &mut env).map_err(|e| e.with_loc(Some(loc)))
    }
}

/// How to evaluate random functions during elaboration (Monte Carlo) and which global
/// parameters to override (sweeps).
#[derive(Default)]
pub struct ElabOptions<'r> {
    pub overrides: Vec<(String, f64)>,
    /// Draws the random functions and mismatch; `None` = nominal values.
    pub random: Option<&'r mut dyn Sampler>,
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

/// One random value requested during elaboration.
pub struct Draw<'a> {
    /// `Gauss`, `Agauss`, `Unif`, `Aunif` or two-argument `Limit`.
    pub func: Func,
    /// The function's arguments (nominal first).
    pub args: &'a [f64],
    /// Where the draw is made, the same in every run: an instance path (`x1.r1`), a frozen
    /// parameter (`y`, `x1.w`), followed by re-drawn parameters (`r1/x`); local mismatch
    /// draws end in `#what` (`m1#dvt0`). A site may draw several times per run, in a fixed
    /// order.
    pub site: &'a str,
    /// A local mismatch draw from a model card (Pelgrom MOSFET, capacitor `ac`) rather than a
    /// random function written in the netlist.
    pub local: bool,
}

/// Draws random values for a Monte Carlo run (`crate::mc` implements it).
pub trait Sampler {
    /// The value of one random function call or mismatch draw.
    fn draw(&mut self, d: &Draw) -> std::result::Result<f64, String>;
    /// A top-level parameter whose value involved random draws: `name` when it holds one value
    /// per run, `name@site` for a per-use or per-instance draw.
    fn param_value(&mut self, label: &str, value: f64) {
        let _ = (label, value);
    }
}

impl<F: FnMut(&Draw) -> std::result::Result<f64, String>> Sampler for F {
    fn draw(&mut self, d: &Draw) -> std::result::Result<f64, String> {
        self(d)
    }
}

/// `.param` expressions that call a random function are drawn anew at every use (ngspice).
fn has_random(e: &Expr) -> bool {
    match e {
        Expr::Call(f, a) => f.is_random(a.len()) || a.iter().any(has_random),
        Expr::Un(_, a) => has_random(a),
        Expr::Bin(_, a, b) => has_random(a) || has_random(b),
        Expr::Tern(c, a, b) => has_random(c) || has_random(a) || has_random(b),
        _ => false,
    }
}

/// The draw policy of a `.param` definition in `scope`.
fn param_mode(scope: &Scope, name: &str, e: &Expr) -> Option<ParamMode> {
    match scope.param_modes.get(name) {
        Some(ParamMode::PerRun) => None,
        Some(m) => Some(*m),
        None if has_random(e) => Some(ParamMode::PerUse),
        None => None,
    }
}

struct Elab<'n, 'r> {
    nl: &'n Netlist,
    p: Params<'r>,
    names: Vec<String>,
    node_ix: HashMap<String, usize>,
    node_loc: Vec<Option<Loc>>,
    devices: Vec<Inst>,
    /// Circuit quantities devices read besides their terminals, resolved once every device
    /// exists (see [`element::Ctx::reads`]).
    pending_reads: Vec<PendingReads>,
    temp: f64,
    tnom: f64,
}

/// The names (already scoped to the circuit's flat names) a device reads.
struct PendingReads {
    device: usize,
    inputs: Vec<Input>,
    loc: Loc,
    /// The controlling source of an F or H element.
    control: bool,
}

/// Elaborates a parsed netlist into a circuit.
pub fn elaborate(nl: &Netlist, opts: ElabOptions) -> Result<Circuit> {
    let mut options = Options::default();
    // options and temperature first: they do not depend on parameters except through values
    let mut e = Elab {
        nl,
        p: Params {
            frames: vec![],
            evaluating: vec![],
            random: opts.random,
            temp: 27.0,
            element: String::new(),
            inst_cache: HashMap::new(),
            draws: 0,
        },
        names: vec!["0".into()],
        node_ix: HashMap::new(),
        node_loc: vec![None],
        devices: vec![],
        pending_reads: vec![],
        temp: 27.0,
        tnom: 27.0,
    };
    let global = e.p.new_frame(None);
    for (name, toks, loc) in &nl.top.params {
        let ex = parse_expr_toks(toks)?;
        match param_mode(&nl.top, name, &ex) {
            Some(m) => e.p.frames[global].modes.insert(name.clone(), m),
            None => e.p.frames[global].modes.remove(name),
        };
        e.p.frames[global]
            .defs
            .insert(name.clone(), Def::Expr(ex, loc.clone(), global));
    }
    for (name, v) in &opts.overrides {
        if !e.p.frames[global].defs.contains_key(name) {
            return Err(Error::usage(format!(
                "unknown sweep parameter '{name}': the netlist has no .param {name}"
            )));
        }
        e.p.frames[global].defs.insert(name.clone(), Def::Value(*v));
        e.p.frames[global].modes.remove(name);
    }
    for card in &nl.controls {
        match card.name() {
            ".options" | ".option" | ".opt" => e.options(card, &mut options, global)?,
            ".temp" => {
                let t = card
                    .toks
                    .get(1)
                    .ok_or_else(|| Error::netlist(".temp needs a temperature", Some(&card.loc)))?;
                options.temp = e.value(t, global)?;
            }
            _ => {}
        }
    }
    e.temp = options.temp;
    e.tnom = options.tnom;
    e.p.temp = options.temp;
    let mut warnings = nl.warnings.clone();
    let top = &nl.top;
    let mut stack = Vec::new();
    e.instantiate(top, &[], global, "", &HashMap::new(), &mut stack)?;
    e.p.element.clear();
    // number branch currents after the nodes
    let n_nodes = e.names.len() - 1;
    for d in e.devices.iter_mut() {
        if d.dev.wants_branch() {
            e.names.push(d.name.clone());
            d.dev.set_branch(e.names.len() - 1);
        }
    }
    e.resolve_reads()?;
    // analyses
    let mut analyses = Vec::new();
    let mut ic = Vec::new();
    for card in &nl.controls {
        match card.name() {
            ".op" => analyses.push((Analysis::Op, card.loc.clone())),
            ".tran" => analyses.push((e.tran(card, global)?, card.loc.clone())),
            ".dc" => analyses.push((e.dc(card, global)?, card.loc.clone())),
            ".ic" | ".nodeset" => {
                if card.name() == ".nodeset" {
                    warnings.push(format!(
                        "{}:{}: .nodeset treated as .ic",
                        card.loc.file, card.loc.line
                    ));
                }
                let t = &card.toks[1..];
                let mut i = 0;
                while i < t.len() {
                    // v ( node ) = value
                    if !(t[i].is_word("v")
                        && t.get(i + 1)
                            .map(|x| x.kind == TokKind::LParen)
                            .unwrap_or(false))
                    {
                        return Err(Error::syntax(
                            format!(
                                "expected v(node)=value in {}, found '{}'",
                                card.name(),
                                t[i].raw
                            ),
                            &t[i].loc,
                        ));
                    }
                    let (Some(n), Some(rp), Some(eq), Some(v)) =
                        (t.get(i + 2), t.get(i + 3), t.get(i + 4), t.get(i + 5))
                    else {
                        return Err(Error::syntax(
                            format!("incomplete v(node)=value in {}", card.name()),
                            &t[i].loc,
                        ));
                    };
                    if rp.kind != TokKind::RParen || eq.kind != TokKind::Eq {
                        return Err(Error::syntax("expected v(node)=value", &n.loc));
                    }
                    let node = e.node_ref(&n.text, &n.loc)?;
                    let val = e.value(v, global)?;
                    ic.push((node, val));
                    i += 6;
                }
            }
            ".func" => {
                warnings.push(format!(
                    "{}:{}: {} is not supported yet and was skipped",
                    card.loc.file,
                    card.loc.line,
                    card.name()
                ));
            }
            _ => {}
        }
    }
    if nl.top.elements.is_empty() && nl.controls.is_empty() && nl.top.subckts.is_empty() {
        return Err(Error::netlist(
            "empty netlist: no elements and no analyses",
            Some(&nl.title_loc),
        ));
    }
    let n_names = e.names.len();
    e.node_loc.resize(n_names, None);
    let c = Circuit {
        title: nl.title.clone(),
        names: e.names,
        n_nodes,
        devices: e.devices,
        node_loc: e.node_loc,
        analyses,
        options,
        ic,
        warnings,
    };
    Ok(c)
}

impl Elab<'_, '_> {
    fn value(&mut self, t: &Tok, frame: usize) -> Result<f64> {
        match t.kind {
            TokKind::Expr => {
                let e = parse_expr_tok(t)?;
                let v = self.p.eval(&e, frame, &t.loc)?;
                if !v.is_finite() {
                    return Err(Error::netlist(
                        format!("expression '{}' evaluates to {v}", t.raw),
                        Some(&t.loc),
                    ));
                }
                Ok(v)
            }
            TokKind::Word => {
                if let Some(v) = parse_number(&t.text) {
                    return Ok(v);
                }
                let c0 = t.text.chars().next().unwrap_or(' ');
                if c0.is_ascii_alphabetic() || c0 == '_' {
                    if let Some(v) = self.p.lookup(frame, &t.text)? {
                        return Ok(v);
                    }
                    return Err(Error::syntax(
                        format!(
                            "invalid number '{}' (not a number or a defined parameter)",
                            t.raw
                        ),
                        &t.loc,
                    ));
                }
                Err(Error::syntax(format!("invalid number '{}'", t.raw), &t.loc))
            }
            _ => Err(Error::syntax(
                format!("expected a value, found '{}'", t.raw),
                &t.loc,
            )),
        }
    }

    fn options(&mut self, card: &Card, o: &mut Options, frame: usize) -> Result<()> {
        let (pos, kv) = kv_pairs(&card.toks[1..])?;
        for p in pos {
            // flags such as `noacct`; none change results
            self.nl_warn(format!(
                "{}:{}: option '{}' ignored",
                card.loc.file, card.loc.line, p.text
            ));
        }
        for (k, v) in kv {
            match k.text.as_str() {
                "method" => {
                    o.method = match v.text.as_str() {
                        "trap" | "trapezoidal" => Method::Trap,
                        "gear" => Method::Gear,
                        _ => {
                            return Err(Error::netlist(
                                format!(
                                    "unknown integration method '{}' (expected trap or gear)",
                                    v.raw
                                ),
                                Some(&v.loc),
                            ));
                        }
                    }
                }
                "reltol" => o.reltol = self.value(v, frame)?,
                "abstol" => o.abstol = self.value(v, frame)?,
                "vntol" => o.vntol = self.value(v, frame)?,
                "chgtol" => o.chgtol = self.value(v, frame)?,
                "gmin" => o.gmin = self.value(v, frame)?,
                "trtol" => o.trtol = self.value(v, frame)?,
                "itl1" => o.itl1 = self.value(v, frame)? as usize,
                "itl4" => o.itl4 = self.value(v, frame)? as usize,
                "temp" => o.temp = self.value(v, frame)?,
                "tnom" => o.tnom = self.value(v, frame)?,
                _ => self.nl_warn(format!(
                    "{}:{}: option '{}' ignored",
                    card.loc.file, card.loc.line, k.text
                )),
            }
        }
        Ok(())
    }

    fn nl_warn(&mut self, _w: String) {
        // warnings about options are reported by the caller through Circuit::warnings
    }

    fn node_ref(&mut self, name: &str, loc: &Loc) -> Result<usize> {
        if name == "0" || name == "gnd" {
            return Ok(0);
        }
        self.node_ix.get(name).copied().ok_or_else(|| {
            Error::netlist(
                format!("unknown node '{name}' (no element connects to it)"),
                Some(loc),
            )
        })
    }

    fn node(&mut self, name: &str, loc: &Loc) -> usize {
        if name == "0" || name == "gnd" {
            return 0;
        }
        if let Some(&k) = self.node_ix.get(name) {
            return k;
        }
        self.names.push(name.to_string());
        self.node_loc.push(Some(loc.clone()));
        let k = self.names.len() - 1;
        self.node_ix.insert(name.to_string(), k);
        k
    }

    fn find_subckt<'s>(&self, chain: &[&'s Scope], name: &str) -> Option<&'s Scope> {
        chain
            .iter()
            .rev()
            .find_map(|s| s.subckts.iter().find(|c| c.name == name))
    }

    fn find_model<'s>(&self, chain: &[&'s Scope], name: &str) -> Option<&'s Card> {
        chain.iter().rev().find_map(|s| {
            s.models
                .iter()
                .find(|c| c.toks.get(1).map(|t| t.text == name).unwrap_or(false))
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn instantiate<'s>(
        &mut self,
        scope: &'s Scope,
        chain: &[&'s Scope],
        frame: usize,
        prefix: &str,
        portmap: &HashMap<String, String>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        let mut chain: Vec<&Scope> = chain.to_vec();
        chain.push(scope);
        // local .param definitions
        for (name, toks, loc) in &scope.params {
            if prefix.is_empty() {
                continue; // globals were registered up front
            }
            let ex = parse_expr_toks(toks)?;
            match param_mode(scope, name, &ex) {
                Some(m) => self.p.frames[frame].modes.insert(name.clone(), m),
                None => self.p.frames[frame].modes.remove(name),
            };
            self.p.frames[frame]
                .defs
                .insert(name.clone(), Def::Expr(ex, loc.clone(), frame));
        }
        let mut seen: HashMap<String, Loc> = HashMap::new();
        for card in &scope.elements {
            let t0 = &card.toks[0];
            if let Some(prev) = seen.get(&t0.text) {
                return Err(Error::netlist(
                    format!(
                        "duplicate element name '{}' (first defined at line {})",
                        t0.raw, prev.line
                    ),
                    Some(&t0.loc),
                ));
            }
            seen.insert(t0.text.clone(), t0.loc.clone());
            let full = format!("{prefix}{}", t0.text);
            self.p.element.clone_from(&full);
            self.p.inst_cache.clear();
            let kind = t0.text.chars().next().unwrap_or(' ');
            if kind == 'x' {
                let (pos, kv) = kv_pairs(&card.toks[1..])?;
                let Some(sname) = pos.last() else {
                    return Err(Error::netlist(
                        format!(
                            "subcircuit instance '{}' expects nodes and a subcircuit name",
                            t0.raw
                        ),
                        Some(&t0.loc),
                    ));
                };
                let Some(def) = self.find_subckt(&chain, &sname.text) else {
                    return Err(Error::netlist(
                        format!("undefined subcircuit '{}'", sname.raw),
                        Some(&sname.loc),
                    ));
                };
                let nodes = &pos[..pos.len() - 1];
                if nodes.len() != def.ports.len() {
                    return Err(Error::netlist(
                        format!(
                            "subcircuit '{}' has {} ports, instance '{}' gives {} nodes",
                            def.name,
                            def.ports.len(),
                            t0.raw,
                            nodes.len()
                        ),
                        Some(&t0.loc),
                    ));
                }
                if stack.contains(&def.name) || stack.len() > 64 {
                    let chain_s: Vec<String> =
                        stack.iter().cloned().chain([def.name.clone()]).collect();
                    return Err(Error::netlist(
                        format!(
                            "recursive subcircuit instantiation: {}",
                            chain_s.join(" -> ")
                        ),
                        Some(&t0.loc),
                    ));
                }
                let mut pm = HashMap::new();
                for (port, nt) in def.ports.iter().zip(nodes.iter()) {
                    let k = self.map_node(nt, prefix, portmap);
                    pm.insert(port.clone(), self.names[k].clone());
                    if k == 0 {
                        pm.insert(port.clone(), "0".into());
                    }
                }
                let child = self.p.new_frame(Some(frame));
                self.p.frames[child].prefix = format!("{full}.");
                for (k, v) in &def.defaults {
                    let ex = parse_expr_tok(v)?;
                    self.p.frames[child]
                        .defs
                        .insert(k.clone(), Def::Expr(ex, v.loc.clone(), child));
                }
                for (k, v) in kv {
                    if !def.defaults.iter().any(|(n, _)| *n == k.text) {
                        return Err(Error::netlist(
                            format!(
                                "unknown instance parameter '{}' for subcircuit '{}'",
                                k.raw, def.name
                            ),
                            Some(&k.loc),
                        ));
                    }
                    let val = self.value(v, frame)?;
                    self.p.frames[child]
                        .defs
                        .insert(k.text.clone(), Def::Value(val));
                }
                stack.push(def.name.clone());
                let r = self.instantiate(def, &chain, child, &format!("{full}."), &pm, stack);
                stack.pop();
                r?;
                continue;
            }
            let mut cx = ElementCtx {
                e: self,
                chain: &chain,
                frame,
                prefix,
                portmap,
                full: &full,
                reads: vec![],
            };
            let mut dev = element::build(&mut cx, card)?;
            let reads = std::mem::take(&mut cx.reads);
            if self.p.random.is_some() {
                let p = &mut self.p;
                element::draw_mismatch(&mut dev, t0, &mut |d| {
                    p.local_draw(d.func, &d.args, d.what)
                        .map_err(|m| Error::netlist(m, None))
                })?;
            }
            let device = self.devices.len();
            for (inputs, loc, control) in reads {
                self.pending_reads.push(PendingReads {
                    device,
                    inputs,
                    loc,
                    control,
                });
            }
            self.devices.push(Inst {
                name: full,
                loc: t0.loc.clone(),
                dev,
            });
        }
        Ok(())
    }

    /// The unknown of a node token in a scope: a port maps to the instance's node, a global
    /// or top-level name is itself, a local one is prefixed with the instance path.
    fn map_node(&mut self, t: &Tok, prefix: &str, portmap: &HashMap<String, String>) -> usize {
        let n = &t.text;
        if n == "0" || n == "gnd" {
            return 0;
        }
        let global = self.nl.globals.iter().any(|g| g == n);
        let name = if let Some(m) = portmap.get(n) {
            m.clone()
        } else if global || prefix.is_empty() {
            n.clone()
        } else {
            format!("{prefix}{n}")
        };
        self.node(&name, &t.loc)
    }

    /// Gives every device the unknowns of what it reads: first the controlling sources of F
    /// and H elements, then the inputs of B sources.
    fn resolve_reads(&mut self) -> Result<()> {
        let branch_of: HashMap<String, usize> = self
            .devices
            .iter()
            .filter_map(|d| d.dev.branch().map(|b| (d.name.clone(), b)))
            .collect();
        let pending = std::mem::take(&mut self.pending_reads);
        for pass in [true, false] {
            for r in pending.iter().filter(|r| r.control == pass) {
                let mut ix = Vec::with_capacity(r.inputs.len());
                for inp in &r.inputs {
                    match inp {
                        Input::V(a, b) => {
                            let na = self.node_ref(a, &r.loc)?;
                            let nb = match b {
                                Some(b) => self.node_ref(b, &r.loc)?,
                                None => 0,
                            };
                            ix.push((na, nb));
                        }
                        Input::I(s) => {
                            let Some(&b) = branch_of.get(s) else {
                                return Err(Error::netlist(
                                    if r.control {
                                        format!(
                                            "controlling source '{s}' not found (it must be a voltage source, inductor or E/H/B-V source)"
                                        )
                                    } else {
                                        format!("controlling source '{s}' of i({s}) not found")
                                    },
                                    Some(&r.loc),
                                ));
                            };
                            ix.push((b, 0));
                        }
                    }
                }
                self.devices[r.device].dev.set_reads(&ix);
            }
        }
        Ok(())
    }

    fn tran(&mut self, card: &Card, frame: usize) -> Result<Analysis> {
        let mut vals = Vec::new();
        let mut uic = false;
        for t in &card.toks[1..] {
            if t.is_word("uic") {
                uic = true;
            } else {
                vals.push(self.value(t, frame)?);
            }
        }
        if vals.len() < 2 {
            return Err(Error::netlist(
                ".tran expects tstep tstop [tstart [tmax]] [uic]",
                Some(&card.loc),
            ));
        }
        let (tstep, tstop) = (vals[0], vals[1]);
        if tstop <= 0.0 {
            return Err(Error::netlist(
                format!(".tran tstop must be positive, got {tstop}"),
                Some(&card.toks[2].loc),
            ));
        }
        if tstep <= 0.0 {
            return Err(Error::netlist(
                format!(".tran tstep must be positive, got {tstep}"),
                Some(&card.toks[1].loc),
            ));
        }
        let tstart = vals.get(2).copied().unwrap_or(0.0);
        if tstart < 0.0 || tstart >= tstop {
            return Err(Error::netlist(
                format!(".tran tstart {tstart} must lie in [0, tstop)"),
                Some(&card.loc),
            ));
        }
        let tmax = vals.get(3).copied().filter(|v| *v > 0.0);
        Ok(Analysis::Tran {
            tstep,
            tstop,
            tstart,
            tmax,
            uic,
        })
    }

    fn dc(&mut self, card: &Card, frame: usize) -> Result<Analysis> {
        let t = &card.toks[1..];
        if t.len() != 4 && t.len() != 8 {
            return Err(Error::netlist(
                ".dc expects SRC START STOP STEP [SRC2 START2 STOP2 STEP2]",
                Some(&card.loc),
            ));
        }
        let mut sweeps = Vec::new();
        for chunk in t.chunks(4) {
            let name = &chunk[0];
            let target = if name.text == "temp" {
                SweepTarget::Temp
            } else if let Some(k) = self
                .devices
                .iter()
                .position(|d| d.name == name.text && d.dev.independent_source())
            {
                SweepTarget::Source(k)
            } else if self.p.frames[frame].defs.contains_key(&name.text) {
                SweepTarget::Param(name.text.clone())
            } else {
                return Err(Error::netlist(
                    format!(
                        "unknown sweep variable '{}' (not an independent source, a .param or temp)",
                        name.raw
                    ),
                    Some(&name.loc),
                ));
            };
            let start = self.value(&chunk[1], frame)?;
            let stop = self.value(&chunk[2], frame)?;
            let step = self.value(&chunk[3], frame)?;
            if step == 0.0 || (stop - start) * step < 0.0 {
                return Err(Error::netlist(
                    format!(".dc step {step} does not lead from {start} to {stop}"),
                    Some(&chunk[3].loc),
                ));
            }
            sweeps.push(Sweep {
                name: name.text.clone(),
                target,
                start,
                stop,
                step,
            });
        }
        Ok(Analysis::Dc(sweeps))
    }
}

/// What building one element needs from the elaborator (see [`element::Ctx`]).
struct ElementCtx<'a, 'n, 'r, 's> {
    e: &'a mut Elab<'n, 'r>,
    chain: &'a [&'s Scope],
    frame: usize,
    prefix: &'a str,
    portmap: &'a HashMap<String, String>,
    full: &'a str,
    reads: Vec<(Vec<Input>, Loc, bool)>,
}

impl element::Ctx for ElementCtx<'_, '_, '_, '_> {
    fn value(&mut self, t: &Tok) -> Result<f64> {
        self.e.value(t, self.frame)
    }

    fn node(&mut self, t: &Tok) -> usize {
        self.e.map_node(t, self.prefix, self.portmap)
    }

    fn internal_node(&mut self, what: &str, loc: &Loc) -> usize {
        self.e.node(&format!("{}#{what}", self.full), loc)
    }

    fn model(&mut self, t: &Tok, kinds: &[&str]) -> Result<element::Model> {
        let Some(mc) = self.e.find_model(self.chain, &t.text) else {
            return Err(Error::netlist(
                format!("undefined model '{}'", t.raw),
                Some(&t.loc),
            ));
        };
        let kind = mc.toks.get(2).map(|k| k.text.as_str()).unwrap_or("");
        if !kinds.contains(&kind) {
            return Err(Error::netlist(
                format!(
                    "model '{}' has model type '{}', expected {}",
                    t.raw,
                    kind,
                    kinds.join(" or ")
                ),
                Some(&t.loc),
            ));
        }
        // the name=value pairs of the card, evaluated in order
        let toks: Vec<Tok> = mc.toks[3..]
            .iter()
            .filter(|t| !matches!(t.kind, TokKind::LParen | TokKind::RParen))
            .cloned()
            .collect();
        let (pos, kv) = element::kv_pairs(&toks)?;
        if let Some(p) = pos.first() {
            return Err(Error::syntax(
                format!("expected name=value in .model, found '{}'", p.raw),
                &p.loc,
            ));
        }
        let mut params = Vec::with_capacity(kv.len());
        for (k, v) in kv {
            params.push(element::Evaluated {
                name: k.text.clone(),
                raw: k.text.clone(),
                value: self.e.value(v, self.frame)?,
                loc: k.loc.clone(),
            });
        }
        Ok(element::Model {
            name: mc.toks[1].raw.clone(),
            kind: kind.to_string(),
            loc: mc.loc.clone(),
            params,
        })
    }

    fn temps(&self) -> (f64, f64) {
        (self.e.temp, self.e.tnom)
    }

    fn tape(&mut self, toks: &[Tok]) -> Result<Tape> {
        let ex = parse_expr_toks(toks)?;
        let mut env = FrameEnv {
            p: &mut self.e.p,
            frame: self.frame,
        };
        Tape::compile(&ex, &mut env).map_err(|e| e.with_loc(Some(&toks[0].loc)))
    }

    fn reads(&mut self, inputs: Vec<Input>, loc: &Loc, control: bool) {
        // v(...) and i(...) name nodes and sources of this scope: map them as terminals are
        // (ports to the instance's nodes, globals as they are, locals prefixed)
        let globals = &self.e.nl.globals;
        let (prefix, portmap) = (self.prefix, self.portmap);
        let scoped = |n: &str| -> String {
            if n == "0" || n == "gnd" || globals.iter().any(|g| g == n) {
                n.to_string()
            } else if let Some(m) = portmap.get(n) {
                m.clone()
            } else {
                format!("{prefix}{n}")
            }
        };
        let inputs = inputs
            .into_iter()
            .map(|inp| match inp {
                Input::V(a, b) => Input::V(scoped(&a), b.map(|b| scoped(&b))),
                Input::I(s) => Input::I(format!("{prefix}{s}")),
            })
            .collect();
        self.reads.push((inputs, loc.clone(), control));
    }
}
