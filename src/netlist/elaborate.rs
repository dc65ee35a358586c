//! From the scope tree to a flat circuit: subcircuits expanded with their parameter frames,
//! elements built (`element.rs`), nodes and branch currents numbered, what devices read
//! resolved, analyses, `.ic` and options read.

use super::element::{self, kv_pairs};
use super::lexer::{Card, Tok, TokKind};
use super::models::{BOUND_DEFAULTS, BOUND_NAMES, Built, CardId, ModelKey};
use super::params::{Params, Sampler};
use super::scope::{Netlist, Scope};
use crate::circuit::{Analysis, Circuit, Rebuild, Sweep, SweepTarget};
use crate::devices::params::bin_contains;
use crate::devices::{DeviceOps, Inst};
use crate::error::{Error, Loc, Result};
use crate::expr::Expr;
use crate::expr::number::parse_number;
use crate::expr::tape::{Input, Tape};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Deepest nesting of subcircuit instances (an instance inside a subcircuit inside ...):
/// far beyond any hierarchy drawn by hand or generated, and bounded because elaboration
/// descends it recursively.
pub const MAX_SUBCKT_DEPTH: usize = 1000;

/// Work units charged per device elaborated (`crate::budget::Work`).
pub const ELABORATION_COST: f64 = 200.0;

/// The shortest transient: a femtosecond, far below any circuit's time constant and far above
/// the range where a step of a billionth of it underflows.
pub const MIN_TSTOP: f64 = 1e-15;

/// How to evaluate random functions during elaboration (Monte Carlo) and which global
/// parameters to override (sweeps).
#[derive(Default)]
pub struct ElabOptions<'r> {
    pub overrides: Vec<(String, f64)>,
    /// Draws the random functions and mismatch; `None` = nominal values.
    pub random: Option<&'r mut dyn Sampler>,
}

struct Elab<'n, 'r> {
    nl: &'n Netlist,
    p: Params<'n, 'r>,
    names: Vec<String>,
    /// Per unknown: a node an element made for itself.
    internal: Vec<bool>,
    node_ix: HashMap<String, usize>,
    node_loc: Vec<Option<Loc>>,
    devices: Vec<Inst>,
    /// Circuit quantities devices read besides their terminals, resolved once every device
    /// exists (see [`element::Ctx::reads`]).
    pending_reads: Vec<PendingReads>,
    temp: f64,
    tnom: f64,
    /// `.option scale`.
    scale: f64,
    /// Warnings about elements (each once).
    warnings: Vec<String>,
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
    elaborate_with(nl, opts, None)
}

/// [`elaborate`]; a circuit whose `.dc` sweeps a `.param` gets a [`Rebuild`] that elaborates
/// `nl` again (shared with later rebuilds) with the same overrides and the swept ones.
fn elaborate_with(
    nl: &Netlist,
    opts: ElabOptions,
    shared: Option<&Arc<Netlist>>,
) -> Result<Circuit> {
    let base = opts.overrides.clone();
    let mut c = build(nl, opts)?;
    let sweeps_param = c.analyses.iter().any(|(a, _)| {
        matches!(a, Analysis::Dc(s) if s.iter().any(|s| matches!(s.target, SweepTarget::Param(_))))
    });
    if sweeps_param {
        let nl = shared.cloned().unwrap_or_else(|| Arc::new(nl.clone()));
        c.rebuild = Some(Rebuild(Arc::new(move |swept: &[(String, f64)]| {
            let mut overrides = base.clone();
            for (k, v) in swept {
                match overrides.iter_mut().find(|(n, _)| n == k) {
                    Some(o) => o.1 = *v,
                    None => overrides.push((k.clone(), *v)),
                }
            }
            let opts = ElabOptions {
                overrides,
                random: None,
            };
            elaborate_with(&nl, opts, Some(&nl))
        })));
    }
    Ok(c)
}

fn build(nl: &Netlist, opts: ElabOptions) -> Result<Circuit> {
    if nl.released {
        return Err(Error::netlist(
            "internal: this netlist's element cards were released after its elaboration",
            Some(&nl.title_loc),
        ));
    }
    let (p, options) = Params::top(nl, &opts.overrides, opts.random)?;
    let global = 0;
    let mut e = Elab {
        nl,
        p,
        names: vec!["0".into()],
        internal: vec![false],
        node_ix: HashMap::new(),
        node_loc: vec![None],
        devices: vec![],
        pending_reads: vec![],
        temp: options.temp,
        tnom: options.tnom,
        scale: options.scale,
        warnings: vec![],
    };
    let mut warnings = nl.warnings.clone();
    let top = &nl.top;
    let elements = e.expanded_count(top, &[], &mut HashMap::new(), 0);
    crate::budget::check(
        elements,
        crate::budget::get().elements,
        "elements after expanding the subcircuits",
        "--max-elements",
    )?;
    // building a device costs about 200 work units (2 us): charged so that a `.control` loop
    // re-elaborating a large deck meets its session's work limit (alone, the element budget
    // binds first: 2,000,000 elements are 4e8 units, the default work limit)
    crate::budget::Work::default().charge(
        &mut Default::default(),
        elements * ELABORATION_COST,
        1.0,
        "elaboration",
    )?;
    // the device list sized once, from the count just checked (doubling would leave up to
    // half of it empty); a count the allocator refuses is left to grow as before
    let _ = e.devices.try_reserve_exact(elements as usize);
    let mut stack = Vec::new();
    let at = Where {
        frame: global,
        prefix: "",
        portmap: &HashMap::new(),
        mult: 1.0,
        given: &HashSet::new(),
    };
    e.instantiate(top, &[], &at, &mut stack)?;
    e.p.leave_element();
    // number branch currents after the nodes
    let n_nodes = e.names.len() - 1;
    for d in e.devices.iter_mut() {
        if d.dev.wants_branch() {
            e.names.push(d.name.clone());
            e.internal.push(false);
            d.dev.set_branch(e.names.len() - 1);
        }
    }
    // then the state unknowns of devices that have them (a B source's ddt()/idt())
    for d in e.devices.iter_mut() {
        let k = d.dev.n_states();
        if k > 0 {
            let first = e.names.len();
            for j in 0..k {
                e.names.push(format!("{}#state{j}", d.name));
                e.internal.push(true);
            }
            d.dev.set_states(first);
        }
    }
    e.resolve_reads()?;
    warnings.append(&mut e.warnings);
    // analyses
    let mut analyses = Vec::new();
    let mut ic = Vec::new();
    let mut nodeset = Vec::new();
    for card in &nl.controls {
        match card.name() {
            ".op" => analyses.push((Analysis::Op, card.loc.clone())),
            ".tran" => analyses.push((e.tran(card, global)?, card.loc.clone())),
            ".dc" => analyses.push((e.dc(card, global)?, card.loc.clone())),
            ".ac" => analyses.push((e.ac(card, global)?, card.loc.clone())),
            ".ic" | ".nodeset" => {
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
                    let val = e.p.value(v, global)?;
                    if card.name() == ".nodeset" {
                        nodeset.push((node, val));
                    } else {
                        ic.push((node, val));
                    }
                    i += 6;
                }
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
        title_loc: Some(nl.title_loc.clone()),
        names: e.names,
        internal: e.internal,
        n_nodes,
        devices: e.devices,
        node_loc: e.node_loc,
        analyses,
        options,
        ic,
        nodeset,
        warnings,
        rebuild: None,
    };
    Ok(c)
}

impl<'n> Elab<'n, '_> {
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
        self.internal.push(false);
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

    /// How many devices `scope` expands to (a float: a hierarchy may multiply to
    /// astronomical counts), counted before anything is built. Instances whose subcircuit is
    /// unknown, recursive or nested too deep count nothing: `instantiate` reports them.
    fn expanded_count<'s>(
        &self,
        scope: &'s Scope,
        chain: &[&'s Scope],
        memo: &mut HashMap<*const Scope, f64>,
        depth: usize,
    ) -> f64 {
        let key = scope as *const Scope;
        if let Some(&n) = memo.get(&key) {
            return n;
        }
        if depth > MAX_SUBCKT_DEPTH {
            return 0.0;
        }
        memo.insert(key, 0.0); // a recursive instance counts nothing
        let mut chain: Vec<&Scope> = chain.to_vec();
        chain.push(scope);
        let mut n = 0.0;
        for card in &scope.elements {
            let is_instance = card.toks[0].text.starts_with('x');
            let def = is_instance
                .then(|| kv_pairs(&card.toks[1..]).ok())
                .flatten()
                .and_then(|(pos, _)| pos.last().and_then(|s| self.find_subckt(&chain, &s.text)));
            n += match (is_instance, def) {
                (false, _) => 1.0,
                (true, Some(def)) => self.expanded_count(def, &chain, memo, depth + 1),
                (true, None) => 0.0,
            };
        }
        memo.insert(key, n);
        n
    }

    fn instantiate(
        &mut self,
        scope: &'n Scope,
        chain: &[&'n Scope],
        at: &Where,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        let (frame, prefix, portmap) = (at.frame, at.prefix, at.portmap);
        let mut chain: Vec<&'n Scope> = chain.to_vec();
        chain.push(scope);
        // local .param definitions (ngspice makes them parameters of the subcircuit: a value
        // the instance line gives replaces the definition)
        for (name, toks, loc) in &scope.params {
            if prefix.is_empty() || at.given.contains(name) {
                continue; // globals were registered up front
            }
            self.p.define(frame, scope, name, toks, loc)?;
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
            self.p.enter_element(&full);
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
                if stack.contains(&def.name) {
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
                if stack.len() >= MAX_SUBCKT_DEPTH {
                    return Err(Error::netlist(
                        format!(
                            "subcircuit instances nested deeper than {MAX_SUBCKT_DEPTH} levels \
                             (the limit of neurospice; {} -> ... -> {} -> {})",
                            stack[0],
                            stack[stack.len() - 1],
                            def.name
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
                let child = self.p.instance_frame(frame, &format!("{full}."), def);
                for (k, v) in &def.defaults {
                    self.p.define_default(child, k, v)?;
                }
                let mut mult = at.mult;
                let mut given = HashSet::new();
                for (k, v) in kv {
                    let declared = def.defaults.iter().any(|(n, _)| *n == k.text)
                        || def.params.iter().any(|(n, _, _)| *n == k.text);
                    if k.text == "m" && !declared {
                        // the instance multiplier: every element inside that takes an `m`
                        let m = self.p.value(v, frame)?;
                        if !(m > 0.0 && m.is_finite()) {
                            return Err(Error::netlist(
                                format!("instance multiplier m must be positive, got {m}"),
                                Some(&v.loc),
                            ));
                        }
                        mult *= m;
                        continue;
                    }
                    if !declared {
                        return Err(Error::netlist(
                            format!(
                                "unknown instance parameter '{}' for subcircuit '{}'",
                                k.raw, def.name
                            ),
                            Some(&k.loc),
                        ));
                    }
                    let val = self.p.value(v, frame)?;
                    self.p.set(child, &k.text, val);
                    given.insert(k.text.clone());
                }
                stack.push(def.name.clone());
                let sub = Where {
                    frame: child,
                    prefix: &format!("{full}."),
                    portmap: &pm,
                    mult,
                    given: &given,
                };
                let r = self.instantiate(def, &chain, &sub, stack);
                stack.pop();
                r?;
                continue;
            }
            self.element(card, &chain, frame, prefix, portmap, at.mult, full)?;
        }
        Ok(())
    }

    /// Builds one element card into a device. Kept out of [`Elab::instantiate`] so the
    /// frame that recursion nests per subcircuit level stays small.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn element(
        &mut self,
        card: &Card,
        chain: &[&Scope],
        frame: usize,
        prefix: &str,
        portmap: &HashMap<String, String>,
        mult: f64,
        full: String,
    ) -> Result<()> {
        let t0 = &card.toks[0];
        {
            let mut cx = ElementCtx {
                e: self,
                chain,
                frame,
                prefix,
                portmap,
                mult,
                full: &full,
                reads: vec![],
            };
            let mut dev = element::build(&mut cx, card)?;
            let reads = std::mem::take(&mut cx.reads);
            if let Some(key) = dev.noise_key() {
                *key = self.p.noise_key(&full);
            }
            if self.p.sampling() {
                let p = &mut self.p;
                element::draw_mismatch(&mut dev, t0, &mut |d| {
                    p.local_draw(d.func, &d.args, d.what)
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

    /// `.ac DEC|OCT|LIN n fstart fstop`.
    fn ac(&mut self, card: &Card, frame: usize) -> Result<Analysis> {
        use crate::circuit::{AC_MAX_POINTS, AcSpacing, AcSweep};
        let t = &card.toks[1..];
        let usage = || Error::netlist(".ac expects DEC|OCT|LIN n fstart fstop", Some(&card.loc));
        if t.len() != 4 {
            return Err(usage());
        }
        let spacing = match t[0].text.as_str() {
            "dec" => AcSpacing::Dec,
            "oct" => AcSpacing::Oct,
            "lin" => AcSpacing::Lin,
            _ => {
                return Err(Error::netlist(
                    format!(".ac: expected DEC, OCT or LIN, found '{}'", t[0].raw),
                    Some(&t[0].loc),
                ));
            }
        };
        let n = self.p.value(&t[1], frame)?;
        if !(n >= 1.0 && n <= AC_MAX_POINTS as f64) || n.fract() != 0.0 {
            return Err(Error::netlist(
                format!(
                    ".ac: the number of points must be a whole number from 1 to {AC_MAX_POINTS}, got {n}"
                ),
                Some(&t[1].loc),
            ));
        }
        let fstart = self.p.value(&t[2], frame)?;
        let fstop = self.p.value(&t[3], frame)?;
        if !(fstart > 0.0 || (spacing == AcSpacing::Lin && fstart >= 0.0)) || !fstart.is_finite() {
            return Err(Error::netlist(
                format!(".ac: fstart must be positive, got {fstart}"),
                Some(&t[2].loc),
            ));
        }
        if fstop.is_nan() || fstop < fstart || !fstop.is_finite() {
            return Err(Error::netlist(
                format!(".ac: fstop ({fstop}) must not be below fstart ({fstart})"),
                Some(&t[3].loc),
            ));
        }
        let sw = AcSweep {
            spacing,
            n: n as usize,
            fstart,
            fstop,
        };
        // each frequency is a complex solve: counted before any is made
        let points = match spacing {
            AcSpacing::Dec => n * (fstop / fstart).log10() + 1.0,
            AcSpacing::Oct => n * (fstop / fstart).log2() + 1.0,
            AcSpacing::Lin => n,
        };
        crate::budget::check(
            points,
            crate::budget::get().dc_points,
            ".ac frequency points",
            "--max-dc-points",
        )
        .map_err(|e| e.with_loc(Some(&card.loc)))?;
        if sw.freqs(1e-3).len() >= AC_MAX_POINTS {
            return Err(Error::netlist(
                format!(".ac: more than {AC_MAX_POINTS} frequencies"),
                Some(&card.loc),
            ));
        }
        Ok(Analysis::Ac(sw))
    }

    fn tran(&mut self, card: &Card, frame: usize) -> Result<Analysis> {
        let mut vals = Vec::new();
        let mut uic = false;
        for t in &card.toks[1..] {
            if t.is_word("uic") {
                uic = true;
            } else {
                vals.push(self.p.value(t, frame)?);
            }
        }
        if vals.len() < 2 {
            return Err(Error::netlist(
                ".tran expects tstep tstop [tstart [tmax]] [uic]",
                Some(&card.loc),
            ));
        }
        let (tstep, tstop) = (vals[0], vals[1]);
        if tstop < MIN_TSTOP {
            return Err(Error::netlist(
                format!(".tran tstop must be at least {MIN_TSTOP:e} s, got {tstop:e}"),
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
            } else if self.p.defines(frame, &name.text) {
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
            let start = self.p.value(&chunk[1], frame)?;
            let stop = self.p.value(&chunk[2], frame)?;
            let step = self.p.value(&chunk[3], frame)?;
            if step == 0.0 || (stop - start) * step < 0.0 {
                return Err(Error::netlist(
                    format!(".dc step {step} does not lead from {start} to {stop}"),
                    Some(&chunk[3].loc),
                ));
            }
            let current =
                matches!(target, SweepTarget::Source(k) if self.devices[k].dev.drives_current());
            sweeps.push(Sweep {
                name: name.text.clone(),
                target,
                current,
                start,
                stop,
                step,
            });
        }
        let points: f64 = sweeps.iter().map(|s| s.points()).product();
        crate::budget::check(
            points,
            crate::budget::get().dc_points,
            ".dc sweep points",
            "--max-dc-points",
        )
        .map_err(|e| e.with_loc(Some(&card.loc)))?;
        Ok(Analysis::Dc(sweeps))
    }
}

/// Where a scope is being instantiated: its parameter frame, instance path (`x1.`), port
/// map, instance multiplier (the product of the `m=` of the enclosing `X` lines) and the
/// parameters its `X` line gave.
struct Where<'a> {
    frame: usize,
    prefix: &'a str,
    portmap: &'a HashMap<String, String>,
    mult: f64,
    given: &'a HashSet<String>,
}

/// What building one element needs from the elaborator (see [`element::Ctx`]).
struct ElementCtx<'a, 'n, 'r, 's> {
    e: &'a mut Elab<'n, 'r>,
    chain: &'a [&'s Scope],
    frame: usize,
    prefix: &'a str,
    portmap: &'a HashMap<String, String>,
    mult: f64,
    full: &'a str,
    reads: Vec<(Vec<Input>, Loc, bool)>,
}

/// A model name found in the scope chain: one card, or the cards `name.1`, `name.2`, ... of
/// a binned family (indices into the scope's models, in card order).
enum Found<'s> {
    Card(CardId, &'s Card),
    Bins(&'s Scope, &'s [usize]),
}

/// The innermost scope's model of that name, or its binned family.
fn lookup_model<'s>(chain: &[&'s Scope], name: &str) -> Option<Found<'s>> {
    for s in chain.iter().rev() {
        if let Some(&k) = s.model_ix.get(name) {
            return Some(Found::Card((s.id, k), &s.models[k]));
        }
        if let Some(b) = s.bins.get(name) {
            return Some(Found::Bins(s, b));
        }
    }
    None
}

/// The number of a model card's `version = 4.5.0` (ngspice accepts dotted release strings):
/// major.minor.
fn version_number(text: &str) -> Option<f64> {
    let mut it = text.split('.');
    let major = it.next()?;
    let minor = it.next().unwrap_or("0");
    format!("{major}.{minor}").parse().ok()
}

impl ElementCtx<'_, '_, '_, '_> {
    /// Evaluates the parameters of model card `mc` (named by `t`, which must be one of
    /// `kinds`).
    fn eval_model(
        &mut self,
        id: CardId,
        mc: &Card,
        t: &Tok,
        kinds: &[&str],
    ) -> Result<element::Model> {
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
        let mut values = Vec::with_capacity(kv.len() + 1);
        for (k, v) in kv {
            let value = match version_number(&v.text) {
                Some(x) if k.text == "version" && v.kind == TokKind::Word => x,
                _ => self.e.p.value(v, self.frame)?,
            };
            values.push(value.to_bits());
            params.push(element::Evaluated {
                name: k.text.clone(),
                raw: k.text.clone(),
                value,
                loc: k.loc.clone(),
            });
        }
        // what a device takes from the circuit besides the card
        values.push(self.e.tnom.to_bits());
        Ok(element::Model {
            name: mc.toks[1].raw.clone(),
            kind: kind.to_string(),
            loc: mc.loc.clone(),
            params,
            key: ModelKey { card: id, values },
        })
    }

    /// The bin bounds `[lmin, lmax, wmin, wmax]` of a card (defaults where not given).
    fn bounds(&mut self, id: CardId, mc: &Card) -> Result<[f64; 4]> {
        let cache = &self.e.nl.model_cache;
        if let Some(b) = cache.bounds(id) {
            return Ok(b);
        }
        let mut b = BOUND_DEFAULTS;
        let mut literal = true;
        let toks = &mc.toks;
        for i in 3..toks.len().saturating_sub(2) {
            let (k, eq, v) = (&toks[i], &toks[i + 1], &toks[i + 2]);
            if eq.kind != TokKind::Eq || k.kind != TokKind::Word {
                continue;
            }
            if let Some(j) = BOUND_NAMES.iter().position(|n| *n == k.text) {
                literal &= v.kind == TokKind::Word && parse_number(&v.text).is_some();
                b[j] = self.e.p.value(v, self.frame)?;
            }
        }
        if literal {
            cache.set_bounds(id, b);
        }
        Ok(b)
    }
}

impl element::Ctx for ElementCtx<'_, '_, '_, '_> {
    fn value(&mut self, t: &Tok) -> Result<f64> {
        self.e.p.value(t, self.frame)
    }

    fn node(&mut self, t: &Tok) -> usize {
        self.e.map_node(t, self.prefix, self.portmap)
    }

    fn internal_node(&mut self, what: &str, loc: &Loc) -> usize {
        let k = self.e.node(&format!("{}#{what}", self.full), loc);
        self.e.internal[k] = true;
        k
    }

    fn has_model(&self, name: &str) -> bool {
        lookup_model(self.chain, name).is_some()
    }

    fn model(&mut self, t: &Tok, kinds: &[&str]) -> Result<element::Model> {
        match lookup_model(self.chain, &t.text) {
            Some(Found::Card(id, mc)) => self.eval_model(id, mc, t, kinds),
            Some(Found::Bins(..)) => Err(Error::netlist(
                format!(
                    "model '{}' is a family of binned cards ({}.1, {}.2, ...), which only a MOSFET selects from by its size",
                    t.raw, t.raw, t.raw
                ),
                Some(&t.loc),
            )),
            None => Err(Error::netlist(
                format!("undefined model '{}'", t.raw),
                Some(&t.loc),
            )),
        }
    }

    fn binned_model(&mut self, t: &Tok, kinds: &[&str], l: f64, w: f64) -> Result<element::Model> {
        let (scope, bins) = match lookup_model(self.chain, &t.text) {
            Some(Found::Card(id, mc)) => return self.eval_model(id, mc, t, kinds),
            Some(Found::Bins(scope, bins)) => (scope, bins),
            None => return self.model(t, kinds),
        };
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for &k in bins {
            let mc = &scope.models[k];
            let b = self.bounds((scope.id, k), mc)?;
            if bin_contains(l, w, b) {
                return self.eval_model((scope.id, k), mc, t, kinds);
            }
            (lo[0], hi[0]) = (lo[0].min(b[0]), hi[0].max(b[1]));
            (lo[1], hi[1]) = (lo[1].min(b[2]), hi[1].max(b[3]));
        }
        Err(Error::netlist(
            format!(
                "no bin of model '{}' ({} cards {}.1 ...) contains L = {:.4} um, W = {:.4} um (per finger) of '{}'",
                t.raw,
                bins.len(),
                t.raw,
                l * 1e6,
                w * 1e6,
                self.full
            ),
            Some(&t.loc),
        )
        .with_note(format!(
            "the bins span L = {:.4} .. {:.4} um and W = {:.4} .. {:.4} um (with gaps between them possible)",
            lo[0] * 1e6,
            hi[0] * 1e6,
            lo[1] * 1e6,
            hi[1] * 1e6
        )))
    }

    fn built_model(
        &mut self,
        key: &ModelKey,
        build: &mut dyn FnMut() -> Result<Built>,
    ) -> Result<Built> {
        self.e.nl.model_cache.get_or_build(key, build)
    }

    fn scale(&self) -> f64 {
        self.e.scale
    }

    fn multiplier(&self) -> f64 {
        self.mult
    }

    fn temps(&self) -> (f64, f64) {
        (self.e.temp, self.e.tnom)
    }

    fn parse(&mut self, toks: &[Tok]) -> Result<Expr> {
        self.e.p.parse(toks, self.frame)
    }

    fn compile(&mut self, e: &Expr, loc: &Loc) -> Result<Tape> {
        self.e.p.compile(e, self.frame, loc)
    }

    fn warn(&mut self, msg: String) {
        if !self.e.warnings.contains(&msg) {
            self.e.warnings.push(msg);
        }
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
