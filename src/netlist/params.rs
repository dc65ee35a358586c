//! `.param` evaluation, the one evaluator: parameter frames (the top level and one per
//! subcircuit instance) with lazy, cycle-checked evaluation, ngspice's random functions drawn
//! through a [`Sampler`] (Monte Carlo), and the global values `.meas` expressions read
//! ([`global_values`]).

use super::element::kv_pairs;
use super::lexer::{Card, Tok, TokKind};
use super::scope::{Netlist, ParamMode, Scope, expand_toks};
use crate::circuit::{Method, Options};
use crate::error::{Error, Loc, Result};
use crate::expr::number::{out_of_range, parse_number};
use crate::expr::tape::Tape;
use crate::expr::{self, Env, Expr, Func, UserFunc};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Def<'n> {
    Value(f64),
    /// An expression, evaluated in frame `.2`.
    Expr(Arc<Expr>, Loc, usize),
    /// A `.param` of `scope` not parsed yet: a library defines thousands, a circuit uses a
    /// few (its syntax was checked when the netlist was parsed).
    Lazy(&'n Scope, &'n [Tok], &'n Loc, usize),
}

#[derive(Debug, Default)]
struct Frame<'n> {
    parent: Option<usize>,
    defs: HashMap<String, Def<'n>>,
    cache: HashMap<String, f64>,
    /// Parameters not evaluated once per frame (random ones); absent = once per frame.
    modes: HashMap<String, ParamMode>,
    /// Instance path of the subcircuit this frame belongs to (`x1.`; empty at top level).
    prefix: String,
    /// The user functions (`.func`) of the frame's scope.
    funcs: Vec<Arc<UserFunc>>,
}

/// Parameter frames with lazy, cycle-checked evaluation.
pub(super) struct Params<'n, 'r> {
    frames: Vec<Frame<'n>>,
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

struct FrameEnv<'a, 'n, 'r> {
    p: &'a mut Params<'n, 'r>,
    frame: usize,
}

impl Env for FrameEnv<'_, '_, '_> {
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
            Some(r) => r.draw(&Draw {
                func: f,
                args,
                site: &site,
                local: false,
            }),
            None => Ok(args[0]),
        }
    }
}

impl<'n, 'r> Params<'n, 'r> {
    /// The top-level frame (frame 0) of `nl`: its `.param`s with `overrides` replacing
    /// definitions (an override of a name that is not a `.param` is an error), and the
    /// `.options` / `.temp` the parameters are evaluated under (`temper`).
    pub(super) fn top(
        nl: &'n Netlist,
        overrides: &[(String, f64)],
        random: Option<&'r mut dyn Sampler>,
    ) -> Result<(Params<'n, 'r>, Options)> {
        let mut p = Params {
            frames: vec![],
            evaluating: vec![],
            random,
            temp: 27.0,
            element: String::new(),
            inst_cache: HashMap::new(),
            draws: 0,
        };
        let global = p.new_frame(None);
        p.frames[global].funcs = nl.top.funcs.clone();
        for (name, toks, loc) in &nl.top.params {
            p.define(global, &nl.top, name, toks, loc)?;
        }
        for (name, v) in overrides {
            if !p.frames[global].defs.contains_key(name) {
                return Err(Error::usage(format!(
                    "unknown sweep parameter '{name}': the netlist has no .param {name}"
                )));
            }
            p.frames[global].defs.insert(name.clone(), Def::Value(*v));
            p.frames[global].modes.remove(name);
        }
        // options and temperature first: they do not depend on parameters except through values
        let mut options = Options::default();
        for card in &nl.controls {
            match card.name() {
                ".options" | ".option" | ".opt" => p.options(card, &mut options, global)?,
                ".temp" => {
                    let t = card.toks.get(1).ok_or_else(|| {
                        Error::netlist(".temp needs a temperature", Some(&card.loc))
                    })?;
                    options.temp = p.value(t, global)?;
                }
                _ => {}
            }
        }
        p.temp = options.temp;
        Ok((p, options))
    }

    /// The value of a token in `frame`: a number, a parameter or an expression.
    pub(super) fn value(&mut self, t: &Tok, frame: usize) -> Result<f64> {
        match t.kind {
            TokKind::Expr => {
                let e = self.parse(std::slice::from_ref(t), frame)?;
                let v = self.eval(&e, frame, &t.loc)?;
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
                if let Some(msg) = out_of_range(&t.raw) {
                    return Err(Error::syntax(msg, &t.loc));
                }
                let c0 = t.text.chars().next().unwrap_or(' ');
                if c0.is_ascii_alphabetic() || c0 == '_' {
                    if let Some(v) = self.lookup(frame, &t.text)? {
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

    /// Reads an `.options` card into `o`; flags (`noacct`) and options that change nothing
    /// here are skipped.
    fn options(&mut self, card: &Card, o: &mut Options, frame: usize) -> Result<()> {
        let (flags, kv) = kv_pairs(&card.toks[1..])?;
        if flags.iter().any(|f| f.text == "nobypass") {
            o.bypass = false;
        }
        if flags.iter().any(|f| f.text == "nomultirate") {
            o.multirate = false;
            o.multirate_bias = false;
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
                "bypass" => o.bypass = self.value(v, frame)? != 0.0,
                "multirate" => {
                    let level = self.value(v, frame)?;
                    o.multirate = level != 0.0;
                    o.multirate_bias = level >= 2.0;
                }
                "itl1" => o.itl1 = self.value(v, frame)? as usize,
                "itl4" => o.itl4 = self.value(v, frame)? as usize,
                "temp" => o.temp = self.value(v, frame)?,
                "tnom" => o.tnom = self.value(v, frame)?,
                "scale" => {
                    o.scale = self.value(v, frame)?;
                    if !(o.scale > 0.0 && o.scale.is_finite()) {
                        return Err(Error::netlist(
                            format!("option scale must be positive, got {}", o.scale),
                            Some(&v.loc),
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Defines the `.param` `name = toks` of `scope` in `frame`, with its draw policy.
    pub(super) fn define(
        &mut self,
        frame: usize,
        scope: &'n Scope,
        name: &str,
        toks: &'n [Tok],
        loc: &'n Loc,
    ) -> Result<()> {
        let f = &mut self.frames[frame];
        // the draw policy is known once the expression is parsed (on first use)
        f.modes.remove(name);
        f.defs
            .insert(name.to_string(), Def::Lazy(scope, toks, loc, frame));
        Ok(())
    }

    /// Parses a lazily defined parameter of frame `fi` and sets its draw policy.
    fn parse_lazy(&mut self, fi: usize, name: &str) -> Result<()> {
        let Some(&Def::Lazy(scope, toks, loc, eval_frame)) = self.frames[fi].defs.get(name) else {
            return Ok(());
        };
        let ex = self.parse(toks, eval_frame)?;
        let f = &mut self.frames[fi];
        if let Some(m) = param_mode(scope, name, &ex) {
            f.modes.insert(name.to_string(), m);
        }
        f.defs.insert(
            name.to_string(),
            Def::Expr(Arc::new(ex), loc.clone(), eval_frame),
        );
        Ok(())
    }

    /// Defines a subcircuit's default parameter `name = t` in its instance frame.
    pub(super) fn define_default(&mut self, frame: usize, name: &str, t: &Tok) -> Result<()> {
        let ex = self.parse(std::slice::from_ref(t), frame)?;
        self.frames[frame].defs.insert(
            name.to_string(),
            Def::Expr(Arc::new(ex), t.loc.clone(), frame),
        );
        Ok(())
    }

    /// Sets `name` in `frame` to a value (an instance line's parameter).
    pub(super) fn set(&mut self, frame: usize, name: &str, v: f64) {
        self.frames[frame]
            .defs
            .insert(name.to_string(), Def::Value(v));
    }

    /// Whether `frame` itself defines `name`.
    pub(super) fn defines(&self, frame: usize, name: &str) -> bool {
        self.frames[frame].defs.contains_key(name)
    }

    /// A new frame for an instance of subcircuit `scope` whose path is `prefix` (`x1.`),
    /// inside `parent`.
    pub(super) fn instance_frame(&mut self, parent: usize, prefix: &str, scope: &Scope) -> usize {
        let f = self.new_frame(Some(parent));
        self.frames[f].prefix = prefix.to_string();
        self.frames[f].funcs = scope.funcs.clone();
        f
    }

    /// The user function `name` seen from `frame`: its own scope's, else an enclosing one's.
    fn func(&self, frame: usize, name: &str) -> Option<Arc<UserFunc>> {
        let mut f = Some(frame);
        while let Some(fi) = f {
            if let Some(u) = self.frames[fi].funcs.iter().rev().find(|u| u.name == name) {
                return Some(Arc::clone(u));
            }
            f = self.frames[fi].parent;
        }
        None
    }

    /// Parses expression tokens in `frame`, its user-function calls expanded.
    pub(super) fn parse(&self, toks: &[Tok], frame: usize) -> Result<Expr> {
        expand_toks(toks, &mut |n| self.func(frame, n))
    }

    /// Evaluations from now on are for the element at instance path `full` (random draws are
    /// sited there, `.param_inst` values are its own).
    pub(super) fn enter_element(&mut self, full: &str) {
        self.element.clear();
        self.element.push_str(full);
        self.inst_cache.clear();
    }

    /// Compiles a parsed B-source expression in `frame` (errors at `loc`).
    pub(super) fn compile(&mut self, ex: &Expr, frame: usize, loc: &Loc) -> Result<Tape> {
        let mut env = FrameEnv { p: self, frame };
        Tape::compile(ex, &mut env).map_err(|e| e.with_loc(Some(loc)))
    }

    /// Whether random functions and mismatch are drawn (a Monte Carlo run).
    pub(super) fn sampling(&self) -> bool {
        self.random.is_some()
    }

    /// Evaluations from now on belong to no element.
    pub(super) fn leave_element(&mut self) {
        self.element.clear();
    }

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
            self.parse_lazy(fi, name)?;
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
                    // parsed just above
                    Def::Lazy(..) => f64::NAN,
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
                        if self.evaluating.len() >= WARM_DEPTH {
                            if self.evaluating.len() >= MAX_PARAM_DEPTH {
                                return Err(Error::netlist(
                                    format!(
                                        "parameter '{name}' depends on a chain of more than \
                                         {MAX_PARAM_DEPTH} parameters evaluated anew at each use"
                                    ),
                                    Some(&loc),
                                ));
                            }
                            self.warm(eval_frame, &e)?;
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

    /// The frame whose value or definition of `name` a lookup from `frame` finds.
    fn defining_frame(&self, frame: usize, name: &str) -> Option<usize> {
        let mut f = Some(frame);
        while let Some(fi) = f {
            let fr = &self.frames[fi];
            if fr.cache.contains_key(name) || fr.defs.contains_key(name) {
                return Some(fi);
            }
            f = fr.parent;
        }
        None
    }

    /// Evaluates, without recursion, the parameters `e` (read in `frame`) depends on that are
    /// kept once evaluated, dependencies first, so a chain of 10,000 `.param`s costs no
    /// stack: when `lookup` then evaluates `e`, each name it reads is already a value. Cycles
    /// and undefined names are left to `lookup`, which reports them.
    fn warm(&mut self, frame: usize, e: &Expr) -> Result<()> {
        let mut stack: Vec<(usize, String, bool)> =
            names_in(e).into_iter().map(|n| (frame, n, false)).collect();
        let mut seen: std::collections::HashSet<(usize, String)> = Default::default();
        // expanded, dependencies not yet all evaluated: meeting one again is a cycle (every
        // name met meanwhile is one of its dependencies)
        let mut open: std::collections::HashSet<(usize, String)> = Default::default();
        while let Some((f, n, expanded)) = stack.pop() {
            let Some(fi) = self.defining_frame(f, &n) else {
                continue;
            };
            if self.frames[fi].cache.contains_key(&n) {
                continue;
            }
            // a definition parsed only when used (sky130's thousands of .params) is parsed
            // here, so its dependencies are warmed like any other's
            self.parse_lazy(fi, &n)?;
            if expanded {
                open.remove(&(fi, n.clone()));
                self.lookup(f, &n)?;
                continue;
            }
            let kept = matches!(
                self.frames[fi].modes.get(&n),
                None | Some(ParamMode::PerRun)
            );
            let Some(Def::Expr(de, loc, ef)) = self.frames[fi].defs.get(&n) else {
                continue;
            };
            if open.contains(&(fi, n.clone())) {
                return Err(Error::netlist(
                    format!("circular parameter definition through '{n}'"),
                    Some(loc),
                ));
            }
            if !kept || !seen.insert((fi, n.clone())) {
                continue;
            }
            open.insert((fi, n.clone()));
            let deps = names_in(de);
            let ef = *ef;
            stack.push((f, n, true));
            stack.extend(deps.into_iter().map(|m| (ef, m, false)));
        }
        Ok(())
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
    /// The transient-noise key of the element at `site` (see [`Sampler::noise_key`]).
    pub(super) fn noise_key(&mut self, site: &str) -> Option<u64> {
        match self.random.as_mut() {
            Some(r) => r.noise_key(site),
            None => Some(crate::seed::site(site)),
        }
    }

    pub(super) fn local_draw(&mut self, func: Func, args: &[f64], what: &str) -> Result<f64> {
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
    /// The value of one random function call or mismatch draw (an error has no location;
    /// the elaborator adds the element's).
    fn draw(&mut self, d: &Draw) -> Result<f64>;
    /// A top-level parameter whose value involved random draws: `name` when it holds one value
    /// per run, `name@site` for a per-use or per-instance draw.
    fn param_value(&mut self, label: &str, value: f64) {
        let _ = (label, value);
    }
    /// The key of the transient-noise stream of the source at `site` (its instance path):
    /// by default a function of the path alone; a Monte Carlo run keys it by its seed and
    /// run number too, so runs get independent, reproducible noise. `None` silences the
    /// source (a nominal run).
    fn noise_key(&mut self, site: &str) -> Option<u64> {
        Some(crate::seed::site(site))
    }
}

impl<F: FnMut(&Draw) -> Result<f64>> Sampler for F {
    fn draw(&mut self, d: &Draw) -> Result<f64> {
        self(d)
    }
}

/// `.param` expressions that call a random function are drawn anew at every use (ngspice).
/// Parameter evaluations nested this deep first evaluate their dependencies iteratively
/// ([`Params::warm`]).
const WARM_DEPTH: usize = 16;
/// Deepest nesting of parameter evaluations (reached only through parameters evaluated anew
/// at each use, which are not kept and so cannot be evaluated ahead).
const MAX_PARAM_DEPTH: usize = 500;

/// The names an expression reads, walked without recursion.
fn names_in(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Name(n, _) => out.push(n.clone()),
            Expr::Num(_) | Expr::V(..) | Expr::I(_) => {}
            Expr::Un(_, a) => stack.push(a),
            Expr::Bin(_, a, b) => stack.extend([&**a, &**b]),
            Expr::Tern(c, a, b) => stack.extend([&**c, &**a, &**b]),
            Expr::Call(_, args) | Expr::User(_, args, _) => stack.extend(args.iter()),
            Expr::Table(a, _) => stack.push(a),
        }
    }
    out
}

fn has_random(e: &Expr) -> bool {
    match e {
        Expr::Call(f, a) => f.is_random(a.len()) || a.iter().any(has_random),
        Expr::Un(_, a) => has_random(a),
        Expr::Bin(_, a, b) => has_random(a) || has_random(b),
        Expr::Tern(c, a, b) => has_random(c) || has_random(a) || has_random(b),
        Expr::User(_, a, _) => a.iter().any(has_random),
        Expr::Table(a, _) => has_random(a),
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

/// The values of the netlist's top-level `.param`s (nominal: random functions at their
/// nominal value), with `overrides` replacing definitions (a sweep point), followed by
/// `temper`: what `.meas` `PARAM=` and value expressions read.
pub fn global_values(nl: &Netlist, overrides: &[(String, f64)]) -> Result<Vec<(String, f64)>> {
    let (mut p, options) = Params::top(nl, overrides, None)?;
    let mut out: Vec<(String, f64)> = Vec::with_capacity(nl.top.params.len() + 1);
    for (name, _, loc) in &nl.top.params {
        if out.iter().any(|(n, _)| n == name) {
            continue;
        }
        match p.lookup(0, name)? {
            Some(v) => out.push((name.clone(), v)),
            None => {
                return Err(Error::netlist(
                    format!("undefined parameter '{name}'"),
                    Some(loc),
                ));
            }
        }
    }
    out.push(("temper".to_string(), options.temp));
    Ok(out)
}

/// The values of the netlist's `.csparam` cards (evaluated like top-level `.param`s, with
/// `overrides`), in the order written: what the control language sees as vectors.
pub fn csparam_values(nl: &Netlist, overrides: &[(String, f64)]) -> Result<Vec<(String, f64)>> {
    let (mut p, _) = Params::top(nl, overrides, None)?;
    let mut out = Vec::with_capacity(nl.csparams.len());
    for (name, toks, loc) in &nl.csparams {
        let e = p.parse(toks, 0)?;
        let v = p.eval(&e, 0, loc)?;
        match out.iter_mut().find(|(n, _): &&mut (String, f64)| n == name) {
            Some(slot) => slot.1 = v,
            None => out.push((name.clone(), v)),
        }
    }
    Ok(out)
}

/// A user function (`.func`) of the netlist's top level, for expressions evaluated outside
/// the circuit (`.meas`).
pub fn top_func(nl: &Netlist, name: &str) -> Option<Arc<UserFunc>> {
    nl.top.func(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlist::lexer::lex_str;

    fn netlist(text: &str) -> Netlist {
        Netlist::parse(&lex_str(text, "t.cir").unwrap()).unwrap()
    }

    /// `.meas` reads the same values the circuit is built with: the netlist's temperature
    /// for `temper`, the last of two definitions, overrides of a sweep point.
    #[test]
    fn global_values_are_the_circuits() {
        let nl = netlist(
            "t\n.param a = 1\n.param b = {a*2 + temper} a = 3\n.temp 50\nR1 x 0 {b}\nV1 x 0 1\n.op\n.end\n",
        );
        let v = global_values(&nl, &[]).unwrap();
        let get = |v: &[(String, f64)], n: &str| v.iter().find(|(k, _)| k == n).map(|p| p.1);
        assert_eq!(get(&v, "a"), Some(3.0));
        assert_eq!(get(&v, "b"), Some(56.0));
        assert_eq!(get(&v, "temper"), Some(50.0));
        let v = global_values(&nl, &[("a".into(), 10.0)]).unwrap();
        assert_eq!(get(&v, "b"), Some(70.0));
        assert!(global_values(&nl, &[("zz".into(), 1.0)]).is_err());
        let c = crate::netlist::elaborate(&nl, Default::default()).unwrap();
        let r = match &c.devices[0].dev {
            crate::devices::Device::R(r) => 1.0 / r.g,
            _ => f64::NAN,
        };
        assert_eq!(Some(r), get(&global_values(&nl, &[]).unwrap(), "b"));
    }
}
