//! From cards to a flat circuit: subcircuits expanded, parameters evaluated in their scopes,
//! models resolved, nodes and branch currents numbered, structural errors found.

use super::lexer::{Card, Lexed, Tok, TokKind, join_tokens, loc_at};
use crate::circuit::{Analysis, Circuit, Method, Options, Sweep, SweepTarget};
use crate::devices::behavioral::Behavioral;
use crate::devices::capacitor::Capacitor;
use crate::devices::controlled::{Cccs, Ccvs, Vccs, Vcvs};
use crate::devices::diode::{Diode, DiodeModel};
use crate::devices::ekv::{EkvModel, MosGeom, Polarity};
use crate::devices::inductor::Inductor;
use crate::devices::mos1::{Mos1, Mos1Model};
use crate::devices::mos28::Mos28;
use crate::devices::resistor::Resistor;
use crate::devices::sources::{ISource, VSource};
use crate::devices::switch::{Switch, SwitchModel};
use crate::devices::waveform::Wave;
use crate::devices::{Device, Inst};
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

enum MosModel {
    Level1(Mos1Model),
    Ekv(Box<EkvModel>),
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
    pending_branch_refs: Vec<(usize, String, Loc)>,
    b_inputs: Vec<(usize, Vec<Input>, Loc)>,
    temp: f64,
    tnom: f64,
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
        pending_branch_refs: vec![],
        b_inputs: vec![],
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
        if d.dev.has_branch() {
            e.names.push(d.name.clone());
            d.dev.set_branch(e.names.len() - 1);
        }
    }
    // resolve current-controlled references to the controlling source's branch
    let branch_of: HashMap<String, usize> = e
        .devices
        .iter()
        .filter_map(|d| d.dev.branch().map(|b| (d.name.clone(), b)))
        .collect();
    for (di, ctrl, loc) in std::mem::take(&mut e.pending_branch_refs) {
        let Some(&b) = branch_of.get(&ctrl) else {
            return Err(Error::netlist(
                format!(
                    "controlling source '{ctrl}' not found (it must be a voltage source, inductor or E/H/B-V source)"
                ),
                Some(&loc),
            ));
        };
        match &mut e.devices[di].dev {
            Device::F(d) => d.cb = b,
            Device::H(d) => d.cb = b,
            _ => {}
        }
    }
    for (di, inputs, loc) in std::mem::take(&mut e.b_inputs) {
        let mut ix = Vec::new();
        for inp in inputs {
            match inp {
                Input::V(a, b) => {
                    let na = e.node_ref(&a, &loc)?;
                    let nb = match b {
                        Some(b) => e.node_ref(&b, &loc)?,
                        None => 0,
                    };
                    ix.push((na, nb));
                }
                Input::I(s) => {
                    let Some(&b) = branch_of.get(&s) else {
                        return Err(Error::netlist(
                            format!("controlling source '{s}' of i({s}) not found"),
                            Some(&loc),
                        ));
                    };
                    ix.push((b, 0));
                }
            }
        }
        if let Device::B(b) = &mut e.devices[di].dev {
            b.set_inputs(ix);
        }
    }
    let _ = n_nodes;
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

fn kv_pairs(toks: &[Tok]) -> Result<(Vec<&Tok>, Vec<(&Tok, &Tok)>)> {
    // positional tokens first, then name = value pairs
    let mut pos = Vec::new();
    let mut kv = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks
            .get(i + 1)
            .map(|t| t.kind == TokKind::Eq)
            .unwrap_or(false)
        {
            let Some(v) = toks.get(i + 2) else {
                return Err(Error::syntax(
                    format!("missing value after '{} ='", toks[i].raw),
                    &toks[i + 1].loc,
                ));
            };
            kv.push((&toks[i], v));
            i += 3;
        } else {
            if toks[i].kind == TokKind::Eq {
                return Err(Error::syntax("unexpected '='", &toks[i].loc));
            }
            pos.push(&toks[i]);
            i += 1;
        }
    }
    Ok((pos, kv))
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
            let map_node = |me: &mut Self, t: &Tok| -> usize {
                let n = &t.text;
                if n == "0" || n == "gnd" {
                    return 0;
                }
                let global = me.nl.globals.iter().any(|g| g == n);
                let name = if let Some(m) = portmap.get(n) {
                    m.clone()
                } else if global || prefix.is_empty() {
                    n.clone()
                } else {
                    format!("{prefix}{n}")
                };
                me.node(&name, &t.loc)
            };
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
                    let k = map_node(self, nt);
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
            let dev = self.element(card, &chain, frame, &full, &map_node)?;
            let di = self.devices.len();
            if !prefix.is_empty() && matches!(dev, Device::B(_)) {
                // a B source's v(...) and i(...) name nodes and sources of this scope: map
                // them as its terminals are (ports to the instance's nodes, locals prefixed)
                let globals = &self.nl.globals;
                let scoped = |n: &str| -> String {
                    if n == "0" || n == "gnd" || globals.iter().any(|g| g == n) {
                        n.to_string()
                    } else if let Some(m) = portmap.get(n) {
                        m.clone()
                    } else {
                        format!("{prefix}{n}")
                    }
                };
                if let Some((_, inputs, _)) = self.b_inputs.iter_mut().find(|(d, _, _)| *d == di) {
                    for inp in inputs.iter_mut() {
                        match inp {
                            Input::V(a, b) => {
                                *a = scoped(a);
                                if let Some(b) = b {
                                    *b = scoped(b);
                                }
                            }
                            Input::I(s) => *s = format!("{prefix}{s}"),
                        }
                    }
                }
            }
            match &dev {
                Device::F(d) => self.pending_branch_refs.push((
                    di,
                    format!("{prefix}{}", d.ctrl),
                    card.toks[3].loc.clone(),
                )),
                Device::H(d) => self.pending_branch_refs.push((
                    di,
                    format!("{prefix}{}", d.ctrl),
                    card.toks[3].loc.clone(),
                )),
                _ => {}
            }
            self.devices.push(Inst {
                name: full,
                loc: t0.loc.clone(),
                dev,
            });
        }
        Ok(())
    }

    fn expect_nodes<'t>(
        &self,
        card: &'t Card,
        pos: &[&'t Tok],
        n: usize,
        what: &str,
    ) -> Result<()> {
        if pos.len() < n {
            let t = pos.last().copied().unwrap_or(&card.toks[0]);
            return Err(Error::netlist(
                format!(
                    "{what} '{}' expects {n} nodes{}",
                    card.toks[0].raw,
                    if pos.is_empty() {
                        "".to_string()
                    } else {
                        format!(", found {}", pos.len().min(n))
                    }
                ),
                Some(&t.loc),
            ));
        }
        Ok(())
    }

    fn element(
        &mut self,
        card: &Card,
        chain: &[&Scope],
        frame: usize,
        full: &str,
        map_node: &dyn Fn(&mut Self, &Tok) -> usize,
    ) -> Result<Device> {
        let t0 = &card.toks[0];
        let kind = t0.text.chars().next().unwrap_or(' ');
        let toks = &card.toks[1..];
        match kind {
            'r' | 'c' | 'l' => {
                let (pos, kv) = kv_pairs(toks)?;
                let what = match kind {
                    'r' => "resistor",
                    'c' => "capacitor",
                    _ => "inductor",
                };
                self.expect_nodes(card, &pos, 2, what)?;
                let a = map_node(self, pos[0]);
                let b = map_node(self, pos[1]);
                let mut val = match pos.get(2) {
                    Some(t) => Some(self.value(t, frame)?),
                    None => None,
                };
                let cap_model = match (kind, pos.get(3)) {
                    ('c', Some(t)) if pos.len() == 4 && parse_number(&t.text).is_none() => {
                        Some(self.model_card(chain, t, &["c"])?)
                    }
                    _ => None,
                };
                if pos.len() > 3 && cap_model.is_none() {
                    return Err(Error::syntax(
                        format!(
                            "unexpected '{}' after the value of {what} '{}'",
                            pos[3].raw, t0.raw
                        ),
                        &pos[3].loc,
                    ));
                }
                let mut ic = None;
                let mut m = 1.0;
                for (k, v) in kv {
                    match (kind, k.text.as_str()) {
                        ('r', "r") | ('c', "c") | ('l', "l") => val = Some(self.value(v, frame)?),
                        ('c', "ic") | ('l', "ic") => ic = Some(self.value(v, frame)?),
                        (_, "m") => m = self.value(v, frame)?,
                        _ => {
                            return Err(Error::netlist(
                                format!(
                                    "unknown instance parameter '{}' for {what} '{}'",
                                    k.raw, t0.raw
                                ),
                                Some(&k.loc),
                            ));
                        }
                    }
                }
                let Some(v) = val else {
                    return Err(Error::netlist(
                        format!("missing value for {what} '{}'", t0.raw),
                        Some(&t0.loc),
                    ));
                };
                Ok(match kind {
                    'r' => {
                        if v == 0.0 {
                            return Err(Error::netlist(
                                format!(
                                    "zero resistance in resistor '{}' (use a voltage source of 0 V for a short)",
                                    t0.raw
                                ),
                                Some(pos.get(2).map(|t| &t.loc).unwrap_or(&t0.loc)),
                            ));
                        }
                        Device::R(Resistor::new(a, b, v / m))
                    }
                    'c' => {
                        let v = match cap_model {
                            Some(mc) => self.cap_mismatch(mc, frame, v, m, t0)?,
                            None => v,
                        };
                        Device::C(Capacitor::new(a, b, v * m, ic))
                    }
                    _ => {
                        if v == 0.0 {
                            return Err(Error::netlist(
                                format!("zero inductance in inductor '{}'", t0.raw),
                                Some(&t0.loc),
                            ));
                        }
                        Device::L(Inductor::new(full, a, b, v / m, ic))
                    }
                })
            }
            'v' | 'i' => {
                if toks.len() < 2 {
                    return Err(Error::netlist(
                        format!("source '{}' expects 2 nodes", t0.raw),
                        Some(toks.last().map(|t| &t.loc).unwrap_or(&t0.loc)),
                    ));
                }
                let p = map_node(self, &toks[0]);
                let n = map_node(self, &toks[1]);
                let (dc, wave) = self.source_spec(&toks[2..], frame, t0)?;
                Ok(if kind == 'v' {
                    Device::V(VSource::new(full, p, n, dc, wave))
                } else {
                    Device::I(ISource { p, n, dc, wave })
                })
            }
            'e' | 'g' => {
                let (pos, kv) = kv_pairs(toks)?;
                if let Some((k, v)) = kv.iter().find(|(k, _)| k.text == "value") {
                    let _ = k;
                    self.expect_nodes(card, &pos, 2, if kind == 'e' { "VCVS" } else { "VCCS" })?;
                    let p = map_node(self, pos[0]);
                    let n = map_node(self, pos[1]);
                    return self.behavioral(p, n, kind == 'e', std::slice::from_ref(*v), frame, t0);
                }
                self.expect_nodes(card, &pos, 4, if kind == 'e' { "VCVS" } else { "VCCS" })?;
                let Some(gt) = pos.get(4) else {
                    return Err(Error::netlist(
                        format!("missing gain of '{}'", t0.raw),
                        Some(&t0.loc),
                    ));
                };
                let gain = self.value(gt, frame)?;
                let (p, n, cp, cn) = (
                    map_node(self, pos[0]),
                    map_node(self, pos[1]),
                    map_node(self, pos[2]),
                    map_node(self, pos[3]),
                );
                Ok(if kind == 'e' {
                    Device::E(Vcvs::new(full, p, n, cp, cn, gain))
                } else {
                    Device::G(Vccs::new(p, n, cp, cn, gain))
                })
            }
            'f' | 'h' => {
                let (pos, _kv) = kv_pairs(toks)?;
                self.expect_nodes(card, &pos, 2, if kind == 'f' { "CCCS" } else { "CCVS" })?;
                let (Some(ctrl), Some(gt)) = (pos.get(2), pos.get(3)) else {
                    return Err(Error::netlist(
                        format!("'{}' expects: nodes, controlling source, gain", t0.raw),
                        Some(&t0.loc),
                    ));
                };
                let gain = self.value(gt, frame)?;
                let p = map_node(self, pos[0]);
                let n = map_node(self, pos[1]);
                Ok(if kind == 'f' {
                    Device::F(Cccs::new(p, n, &ctrl.text, gain))
                } else {
                    Device::H(Ccvs::new(full, p, n, &ctrl.text, gain))
                })
            }
            'b' => {
                let (pos, _) = kv_pairs(&toks[..toks.len().min(2)])?;
                self.expect_nodes(card, &pos, 2, "behavioral source")?;
                let p = map_node(self, pos[0]);
                let n = map_node(self, pos[1]);
                let rest = &toks[2..];
                let is_v = rest.first().map(|t| t.is_word("v")).unwrap_or(false);
                let is_i = rest.first().map(|t| t.is_word("i")).unwrap_or(false);
                if !(is_v || is_i)
                    || rest.get(1).map(|t| t.kind != TokKind::Eq).unwrap_or(true)
                    || rest.len() < 3
                {
                    return Err(Error::netlist(
                        format!(
                            "behavioral source '{}' needs V= or I= followed by an expression",
                            t0.raw
                        ),
                        Some(rest.first().map(|t| &t.loc).unwrap_or(&t0.loc)),
                    ));
                }
                self.behavioral(p, n, is_v, &rest[2..], frame, t0)
            }
            'd' => {
                let (pos, kv) = kv_pairs(toks)?;
                self.expect_nodes(card, &pos, 2, "diode")?;
                let Some(mt) = pos.get(2) else {
                    return Err(Error::netlist(
                        format!("diode '{}' expects a model name after its 2 nodes", t0.raw),
                        Some(&t0.loc),
                    ));
                };
                let mc = self.model_card(chain, mt, &["d"])?;
                let model = self.diode_model(mc, frame)?;
                let mut area = 1.0;
                let mut off = false;
                for t in &pos[3..] {
                    if t.is_word("off") {
                        off = true;
                    } else {
                        area = self.value(t, frame)?;
                    }
                }
                for (k, v) in kv {
                    match k.text.as_str() {
                        "area" => area = self.value(v, frame)?,
                        "m" => area *= self.value(v, frame)?,
                        _ => {
                            return Err(Error::netlist(
                                format!(
                                    "unknown instance parameter '{}' for diode '{}'",
                                    k.raw, t0.raw
                                ),
                                Some(&k.loc),
                            ));
                        }
                    }
                }
                let a = map_node(self, pos[0]);
                let k = map_node(self, pos[1]);
                let ai = if model.rs > 0.0 {
                    self.node(&format!("{full}#anode"), &t0.loc)
                } else {
                    a
                };
                Ok(Device::D(Diode::new(a, ai, k, model, area, off)))
            }
            'm' => {
                let (pos, kv) = kv_pairs(toks)?;
                self.expect_nodes(card, &pos, 4, "MOSFET")?;
                let Some(mt) = pos.get(4) else {
                    return Err(Error::netlist(
                        format!("MOSFET '{}' expects a model name after its 4 nodes", t0.raw),
                        Some(&t0.loc),
                    ));
                };
                let mc = self.model_card(chain, mt, &["nmos", "pmos"])?;
                let model = self.mos_model(mc, frame)?;
                let mut w = 100e-6;
                let mut l = 100e-6;
                let mut m = 1.0;
                let mut geo: [Option<f64>; 4] = [None; 4];
                let mut off = false;
                for t in &pos[5..] {
                    if t.is_word("off") {
                        off = true;
                    } else {
                        return Err(Error::syntax(
                            format!("unexpected '{}' on MOSFET '{}'", t.raw, t0.raw),
                            &t.loc,
                        ));
                    }
                }
                for (k, v) in kv {
                    let val = self.value(v, frame)?;
                    match k.text.as_str() {
                        "w" => w = val,
                        "l" => l = val,
                        "m" => m = val,
                        "ad" => geo[0] = Some(val),
                        "as" => geo[1] = Some(val),
                        "pd" => geo[2] = Some(val),
                        "ps" => geo[3] = Some(val),
                        _ => {
                            return Err(Error::netlist(
                                format!(
                                    "unknown instance parameter '{}' for MOSFET '{}'",
                                    k.raw, t0.raw
                                ),
                                Some(&k.loc),
                            ));
                        }
                    }
                }
                let term = [
                    map_node(self, pos[0]),
                    map_node(self, pos[1]),
                    map_node(self, pos[2]),
                    map_node(self, pos[3]),
                ];
                match model {
                    MosModel::Level1(model) => {
                        if l - 2.0 * model.ld <= 0.0 || w <= 0.0 {
                            return Err(Error::netlist(
                                format!("MOSFET '{}' has a non-positive effective W or L", t0.raw),
                                Some(&t0.loc),
                            ));
                        }
                        let g = geo.map(|v| v.unwrap_or(0.0));
                        Ok(Device::M1(Mos1::new(
                            term[0], term[1], term[2], term[3], model, w, l, m, g, off,
                        )))
                    }
                    MosModel::Ekv(model) => {
                        let mut g = MosGeom::new(&model, w, l);
                        g.m = m;
                        g.temp_k = self.temp + crate::devices::T0;
                        g.ad = geo[0].unwrap_or(g.ad);
                        g.as_ = geo[1].unwrap_or(g.as_);
                        g.pd = geo[2].unwrap_or(g.pd);
                        g.ps = geo[3].unwrap_or(g.ps);
                        if self.p.random.is_some() {
                            let (s_vt, s_beta) = model.pelgrom_sigmas(g.w, g.l, g.m);
                            let mis = |e: &mut Self, what: &str, sd: f64| {
                                e.p.local_draw(Func::Agauss, &[0.0, sd, 1.0], what)
                                    .map_err(|m| Error::netlist(m, Some(&t0.loc)))
                            };
                            g.dvt0 = mis(self, "dvt0", s_vt)?;
                            g.dbeta_rel = mis(self, "dbeta", s_beta)?;
                        }
                        let dev = Mos28::new(term, *model, g).map_err(|e| {
                            Error::netlist(format!("MOSFET '{}': {e}", t0.raw), Some(&t0.loc))
                        })?;
                        Ok(Device::M28(dev))
                    }
                }
            }
            's' => {
                let (pos, _kv) = kv_pairs(toks)?;
                self.expect_nodes(card, &pos, 4, "switch")?;
                let Some(mt) = pos.get(4) else {
                    return Err(Error::netlist(
                        format!("switch '{}' needs a model name after its 4 nodes", t0.raw),
                        Some(&t0.loc),
                    ));
                };
                let mc = self.model_card(chain, mt, &["sw"])?;
                let mut sm = SwitchModel {
                    vt: 0.0,
                    vh: 0.0,
                    ron: 1.0,
                    roff: 1e12,
                };
                for (k, v, _) in self.model_params(mc, frame)? {
                    match k.as_str() {
                        "vt" => sm.vt = v,
                        "vh" => sm.vh = v,
                        "ron" => sm.ron = v,
                        "roff" => sm.roff = v,
                        _ => {
                            return Err(Error::netlist(
                                format!(
                                    "unknown model parameter '{k}' for switch model '{}'",
                                    mt.raw
                                ),
                                Some(&mc.loc),
                            ));
                        }
                    }
                }
                let on = pos.get(5).map(|t| t.is_word("on")).unwrap_or(false);
                let (a, b, cp, cn) = (
                    map_node(self, pos[0]),
                    map_node(self, pos[1]),
                    map_node(self, pos[2]),
                    map_node(self, pos[3]),
                );
                Ok(Device::S(Switch::new(a, b, cp, cn, sm, on)))
            }
            _ => Err(Error::syntax(
                format!(
                    "unknown element type '{}' (supported: R C L V I E G F H D M S B X)",
                    t0.raw.chars().next().unwrap_or(' ')
                ),
                &Loc {
                    len: 1,
                    ..t0.loc.clone()
                },
            )),
        }
    }

    fn behavioral(
        &mut self,
        p: usize,
        n: usize,
        voltage: bool,
        toks: &[Tok],
        frame: usize,
        t0: &Tok,
    ) -> Result<Device> {
        let ex = parse_expr_toks(toks)?;
        let mut env = FrameEnv {
            p: &mut self.p,
            frame,
        };
        let tape = Tape::compile(&ex, &mut env).map_err(|e| e.with_loc(Some(&toks[0].loc)))?;
        let di = self.devices.len();
        self.b_inputs
            .push((di, tape.inputs.clone(), t0.loc.clone()));
        Ok(Device::B(Behavioral::new(p, n, voltage, tape, vec![])))
    }

    fn model_card<'s>(&self, chain: &[&'s Scope], t: &Tok, kinds: &[&str]) -> Result<&'s Card> {
        let Some(mc) = self.find_model(chain, &t.text) else {
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
        Ok(mc)
    }

    /// The `name=value` pairs of a `.model` card, evaluated.
    fn model_params(&mut self, mc: &Card, frame: usize) -> Result<Vec<(String, f64, Loc)>> {
        let toks: Vec<Tok> = mc.toks[3..]
            .iter()
            .filter(|t| !matches!(t.kind, TokKind::LParen | TokKind::RParen))
            .cloned()
            .collect();
        let (pos, kv) = kv_pairs(&toks)?;
        if let Some(p) = pos.first() {
            return Err(Error::syntax(
                format!("expected name=value in .model, found '{}'", p.raw),
                &p.loc,
            ));
        }
        let mut out = Vec::new();
        for (k, v) in kv {
            out.push((k.text.clone(), self.value(v, frame)?, k.loc.clone()));
        }
        Ok(out)
    }

    /// A capacitor's value with its local mismatch drawn: `.model NAME c (ac=.. cunit=..)` gives
    /// sigma(dC/C) = ac / sqrt(C / cunit) (ac = relative sigma of one unit capacitor), and
    /// `.model NAME c (ac=.. cdens=..)` gives sigma(dC/C) = ac / sqrt(C / cdens) (ac [m], cdens
    /// [F/m^2], C / cdens = area). C is the total capacitance (value times m).
    fn cap_mismatch(&mut self, mc: &Card, frame: usize, c: f64, m: f64, t0: &Tok) -> Result<f64> {
        let (mut ac, mut unit, mut dens) = (None, None, None);
        for (k, v, loc) in self.model_params(mc, frame)? {
            let slot = match k.as_str() {
                "ac" => &mut ac,
                "cunit" => &mut unit,
                "cdens" => &mut dens,
                _ => {
                    return Err(Error::netlist(
                        format!(
                            "unknown model parameter '{k}' for capacitor model '{}' (expected ac, cunit or cdens)",
                            mc.toks[1].raw
                        ),
                        Some(&loc),
                    ));
                }
            };
            if !(v > 0.0 || (k == "ac" && v == 0.0)) {
                return Err(Error::netlist(
                    format!("capacitor model parameter '{k}' must be positive, got {v}"),
                    Some(&loc),
                ));
            }
            *slot = Some(v);
        }
        let per = match (unit, dens) {
            (Some(u), None) => u,
            (None, Some(d)) => d,
            _ => {
                return Err(Error::netlist(
                    format!(
                        "capacitor model '{}' needs exactly one of cunit (unit capacitance [F]) or cdens (capacitance per area [F/m^2])",
                        mc.toks[1].raw
                    ),
                    Some(&mc.loc),
                ));
            }
        };
        let total = c * m;
        let ac = ac.unwrap_or(0.0);
        if ac == 0.0 || self.p.random.is_none() {
            return Ok(c);
        }
        if total <= 0.0 {
            return Err(Error::netlist(
                format!(
                    "capacitor '{}' with a mismatch model needs a positive value",
                    t0.raw
                ),
                Some(&t0.loc),
            ));
        }
        let sigma = ac / (total / per).sqrt();
        self.p
            .local_draw(Func::Gauss, &[c, sigma, 1.0], "dc")
            .map_err(|m| Error::netlist(m, Some(&t0.loc)))
    }

    fn diode_model(&mut self, mc: &Card, frame: usize) -> Result<DiodeModel> {
        let mut m = DiodeModel {
            tnom: self.tnom + crate::devices::T0,
            ..Default::default()
        };
        for (k, v, loc) in self.model_params(mc, frame)? {
            match k.as_str() {
                "is" => m.is = v,
                "n" => m.n = v,
                "rs" => m.rs = v,
                "cjo" | "cj0" | "cj" => m.cjo = v,
                "vj" | "pb" => m.vj = v,
                "m" | "mj" => m.m = v,
                "fc" => m.fc = v,
                "tt" => m.tt = v,
                "bv" => m.bv = Some(v),
                "ibv" => m.ibv = v,
                "eg" => m.eg = v,
                "xti" => m.xti = v,
                "tnom" => m.tnom = v + crate::devices::T0,
                "level" if v == 1.0 => {}
                _ => {
                    return Err(Error::netlist(
                        format!(
                            "unknown model parameter '{k}' for diode model '{}'",
                            mc.toks[1].raw
                        ),
                        Some(&loc),
                    ));
                }
            }
        }
        Ok(m)
    }

    fn mos_model(&mut self, mc: &Card, frame: usize) -> Result<MosModel> {
        let params = self.model_params(mc, frame)?;
        let level = params
            .iter()
            .find(|p| p.0 == "level")
            .map(|p| p.1)
            .unwrap_or(1.0);
        let pmos = mc.toks[2].text == "pmos";
        if level == 28.0 {
            let kv: Vec<(String, f64)> = params.iter().map(|(k, v, _)| (k.clone(), *v)).collect();
            let pol = if pmos { Polarity::P } else { Polarity::N };
            return EkvModel::from_card(pol, &kv)
                .map(|m| MosModel::Ekv(Box::new(m)))
                .map_err(|e| {
                    let loc = params
                        .iter()
                        .find(|(k, _, _)| e.contains(&format!("'{k}'")))
                        .map(|p| p.2.clone())
                        .unwrap_or(mc.loc.clone());
                    Error::netlist(format!("{e} (model '{}')", mc.toks[1].raw), Some(&loc))
                });
        }
        if level != 1.0 {
            return Err(Error::netlist(
                format!(
                    "unsupported MOSFET level {level} in model '{}' (supported: 1 = Shichman-Hodges, 28 = EKV-SC)",
                    mc.toks[1].raw
                ),
                Some(&mc.loc),
            ));
        }
        let mut m = Mos1Model {
            sign: if mc.toks[2].text == "pmos" { -1.0 } else { 1.0 },
            ..Default::default()
        };
        let mut kp_given = false;
        let mut uo = 600.0;
        for (k, v, loc) in params {
            match k.as_str() {
                "level" => {}
                "vto" | "vt0" => m.vto = v,
                "kp" => {
                    m.kp = v;
                    kp_given = true;
                }
                "gamma" => m.gamma = v,
                "phi" => m.phi = v,
                "lambda" => m.lambda = v,
                "tox" => m.tox = Some(v),
                "uo" | "u0" => uo = v,
                "cgso" => m.cgso = v,
                "cgdo" => m.cgdo = v,
                "cgbo" => m.cgbo = v,
                "cbd" => m.cbd = v,
                "cbs" => m.cbs = v,
                "cj" => m.cj = v,
                "cjsw" => m.cjsw = v,
                "mjsw" => m.mjsw = v,
                "pb" => m.pb = v,
                "mj" => m.mj = v,
                "fc" => m.fc = v,
                "is" => m.is = v,
                "ld" => m.ld = v,
                _ => {
                    return Err(Error::netlist(
                        format!(
                            "unknown model parameter '{k}' for level-1 MOSFET model '{}'",
                            mc.toks[1].raw
                        ),
                        Some(&loc),
                    ));
                }
            }
        }
        if !kp_given && let Some(tox) = m.tox {
            m.kp = uo * 1e-4 * 3.9 * 8.854214871e-12 / tox;
        }
        Ok(MosModel::Level1(m))
    }

    /// `[DC] v [AC ...] [PULSE(...)|SIN(...)|EXP(...)|PWL(...)]`
    fn source_spec(&mut self, toks: &[Tok], frame: usize, t0: &Tok) -> Result<(Option<f64>, Wave)> {
        let mut dc = None;
        let mut wave = None;
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            match t.text.as_str() {
                "dc" if t.kind == TokKind::Word => {
                    let Some(v) = toks.get(i + 1) else {
                        return Err(Error::syntax("missing value after DC", &t.loc));
                    };
                    dc = Some(self.value(v, frame)?);
                    i += 2;
                }
                "ac" if t.kind == TokKind::Word => {
                    // AC magnitude/phase: no AC analysis here; skip its numbers
                    i += 1;
                    while i < toks.len()
                        && (parse_number(&toks[i].text).is_some() || toks[i].kind == TokKind::Expr)
                    {
                        i += 1;
                    }
                }
                "pulse" | "sin" | "exp" | "pwl" if t.kind == TokKind::Word => {
                    let fname = t.text.clone();
                    let mut j = i + 1;
                    let paren = toks
                        .get(j)
                        .map(|x| x.kind == TokKind::LParen)
                        .unwrap_or(false);
                    if paren {
                        j += 1;
                    }
                    let mut args = Vec::new();
                    while j < toks.len() && toks[j].kind != TokKind::RParen {
                        if paren
                            || toks[j].kind == TokKind::Expr
                            || parse_number(&toks[j].text).is_some()
                        {
                            args.push(&toks[j]);
                            j += 1;
                        } else {
                            break;
                        }
                    }
                    if paren {
                        if j >= toks.len() {
                            return Err(Error::syntax(
                                format!("unbalanced '(' in {}", fname.to_uppercase()),
                                &t.loc,
                            ));
                        }
                        j += 1;
                    }
                    let mut vals = Vec::new();
                    for a in &args {
                        vals.push(self.value(a, frame)?);
                    }
                    wave = Some(make_wave(&fname, &vals, t)?);
                    i = j;
                }
                _ => {
                    if dc.is_none()
                        && wave.is_none()
                        && matches!(t.kind, TokKind::Word | TokKind::Expr)
                    {
                        dc = Some(self.value(t, frame)?);
                        i += 1;
                    } else {
                        return Err(Error::syntax(
                            format!("unexpected '{}' in source '{}'", t.raw, t0.raw),
                            &t.loc,
                        ));
                    }
                }
            }
        }
        let wave = wave.unwrap_or(Wave::Dc(dc.unwrap_or(0.0)));
        Ok((dc, wave))
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
                .position(|d| d.name == name.text && matches!(d.dev, Device::V(_) | Device::I(_)))
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

fn make_wave(name: &str, v: &[f64], t: &Tok) -> Result<Wave> {
    let g = |k: usize| v.get(k).copied();
    let need = |n: usize| -> Result<()> {
        if v.len() < n {
            Err(Error::netlist(
                format!(
                    "{} expects at least {n} values, got {}",
                    name.to_uppercase(),
                    v.len()
                ),
                Some(&t.loc),
            ))
        } else {
            Ok(())
        }
    };
    Ok(match name {
        "pulse" => {
            need(2)?;
            if v.len() > 8 {
                return Err(Error::netlist(
                    format!("PULSE takes at most 8 values, got {}", v.len()),
                    Some(&t.loc),
                ));
            }
            Wave::Pulse {
                v1: v[0],
                v2: v[1],
                td: g(2).unwrap_or(0.0),
                tr: g(3),
                tf: g(4),
                pw: g(5),
                per: g(6),
            }
        }
        "sin" => {
            need(2)?;
            Wave::Sin {
                vo: v[0],
                va: v[1],
                freq: g(2),
                td: g(3).unwrap_or(0.0),
                theta: g(4).unwrap_or(0.0),
                phase_deg: g(5).unwrap_or(0.0),
            }
        }
        "exp" => {
            need(2)?;
            Wave::Exp {
                v1: v[0],
                v2: v[1],
                td1: g(2).unwrap_or(0.0),
                tau1: g(3),
                td2: g(4),
                tau2: g(5),
            }
        }
        _ => {
            if v.len() < 2 || !v.len().is_multiple_of(2) {
                return Err(Error::netlist(
                    format!("PWL expects time-value pairs, got {} values", v.len()),
                    Some(&t.loc),
                ));
            }
            let pts: Vec<(f64, f64)> = v.chunks(2).map(|c| (c[0], c[1])).collect();
            if pts.windows(2).any(|w| w[1].0 < w[0].0) {
                return Err(Error::netlist("PWL times must not decrease", Some(&t.loc)));
            }
            Wave::Pwl(pts)
        }
    })
}
