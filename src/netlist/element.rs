//! One element card to one device: the card's syntax (which positions are nodes, values,
//! model names, flags) per first letter. What the parameters mean, their defaults and
//! their checks are the device's own (its parameter tables in `devices/`); values, nodes,
//! models and expressions come from the elaborator through the small [`Ctx`] trait, so this
//! file knows nothing of scopes, parameter frames or numbering.
//!
//! A new device adds its card syntax here as one arm of [`build`].

use super::lexer::{Card, Tok, TokKind};
use super::models::{Built, ModelKey};
use crate::devices::T0;
use crate::devices::behavioral::Behavioral;
use crate::devices::bjt::{Bjt, BjtModel, BjtParams};
use crate::devices::bsim4::{self, Bsim4, INTERNAL_NAMES, InstanceParams};
use crate::devices::capacitor::{CapModel, Capacitor, CapacitorParams};
use crate::devices::controlled::{Cccs, Ccvs, Vccs, Vcvs};
use crate::devices::diode::{Diode, DiodeModel, DiodeParams};
use crate::devices::ekv::{EkvModel, Polarity};
use crate::devices::inductor::{Inductor, InductorParams};
use crate::devices::jfet::{Jfet, JfetModel, JfetParams};
use crate::devices::mos1::{Mos1, Mos1Model, MosParams};
use crate::devices::mos23::{Geometry, Mos23Model};
use crate::devices::mos28::{Mos28, geometry};
use crate::devices::params::{self, Given};
use crate::devices::resistor::{Resistor, ResistorParams};
use crate::devices::sources::{ISource, VSource};
use crate::devices::switch::{Switch, SwitchModel};
use crate::devices::waveform::Wave;
use crate::devices::{Device, DeviceOps};
use crate::error::{Error, Loc, Result};
use crate::expr::number::parse_number;
use crate::expr::tape::{Input, Tape};
use crate::expr::{Expr, Table};
use std::sync::Arc;

/// A parameter evaluated from a card, owned (see [`Given`]).
#[derive(Debug, Clone)]
pub(super) struct Evaluated {
    pub name: String,
    pub raw: String,
    pub value: f64,
    pub loc: Loc,
}

/// The parameters as the device tables take them.
pub(super) fn given(v: &[Evaluated]) -> Vec<Given<'_>> {
    v.iter()
        .map(|e| Given {
            name: &e.name,
            raw: &e.raw,
            value: e.value,
            loc: Some(&e.loc),
        })
        .collect()
}

/// A `.model` card found for an element, its parameters evaluated.
pub(super) struct Model {
    /// The model's name as its card writes it.
    pub name: String,
    /// Its type (`d`, `nmos`, ...), lowercase.
    pub kind: String,
    pub loc: Loc,
    pub params: Vec<Evaluated>,
    /// The card and its values: names the device model built from it (see
    /// [`Ctx::built_model`]).
    pub key: ModelKey,
}

/// What building a device needs from the elaborator, in the element's scope.
pub(super) trait Ctx {
    /// The value of a token: a number, a parameter or an expression.
    fn value(&mut self, t: &Tok) -> Result<f64>;
    /// The unknown a node token names (mapped through the subcircuit's ports; created on
    /// first use).
    fn node(&mut self, t: &Tok) -> usize;
    /// A node private to the element (`name#what`), e.g. a diode's internal anode.
    fn internal_node(&mut self, what: &str, loc: &Loc) -> usize;
    /// Whether a `.model` card (or a family of binned cards) of this name is in scope.
    fn has_model(&self, name: &str) -> bool;
    /// The model card `t` names, which must be of one of `kinds`, its parameters evaluated.
    fn model(&mut self, t: &Tok, kinds: &[&str]) -> Result<Model>;
    /// [`Ctx::model`] for a device of length `l` and width (per finger) `w` \[m\]: a name
    /// that is not a card but the base of binned cards `name.1`, `name.2`, ... selects the
    /// first of them (in card order) whose `lmin..lmax`, `wmin..wmax` contains the size.
    fn binned_model(&mut self, t: &Tok, kinds: &[&str], l: f64, w: f64) -> Result<Model>;
    /// The device model built from a card with `build`, the first time one with the same
    /// key (card and values) is asked for; later calls (other instances, other runs) share it.
    fn built_model(
        &mut self,
        key: &ModelKey,
        build: &mut dyn FnMut() -> Result<Built>,
    ) -> Result<Built>;
    /// `.option scale`: MOSFET lengths on instance lines are multiplied by it.
    fn scale(&self) -> f64;
    /// The instance multiplier: the product of the `m=` of the `X` lines the element is
    /// inside. ngspice multiplies every element that takes an `m` by it.
    fn multiplier(&self) -> f64;
    /// Circuit temperature and nominal temperature [C].
    fn temps(&self) -> (f64, f64);
    /// Parses an expression written as `toks` in the element's scope (user functions
    /// expanded).
    fn parse(&mut self, toks: &[Tok]) -> Result<Expr>;
    /// Compiles a B-source expression (parameters resolved now, circuit quantities later);
    /// errors at `loc`.
    fn compile(&mut self, e: &Expr, loc: &Loc) -> Result<Tape>;
    /// A warning about the element (printed, not an error).
    fn warn(&mut self, msg: String);
    /// Circuit quantities the device reads besides its terminals, resolved once every device
    /// exists and passed to its `set_reads` in this order. `control`: the controlling source
    /// of an F or H element (errors name it so).
    fn reads(&mut self, inputs: Vec<Input>, loc: &Loc, control: bool);
}

/// Positional tokens first, then `name = value` pairs.
pub(super) fn kv_pairs(toks: &[Tok]) -> Result<(Vec<&Tok>, Vec<(&Tok, &Tok)>)> {
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

/// The `name=value` pairs of an instance line, evaluated in the order written, with the
/// instance multiplier of the enclosing subcircuits applied to `m` (for elements that take
/// one: `multiplied`).
fn instance_params(
    c: &mut dyn Ctx,
    kv: &[(&Tok, &Tok)],
    multiplied: bool,
    t0: &Tok,
) -> Result<Vec<Evaluated>> {
    let mut out = Vec::with_capacity(kv.len() + 1);
    for (k, v) in kv {
        out.push(Evaluated {
            name: k.text.clone(),
            raw: k.raw.clone(),
            value: c.value(v)?,
            loc: k.loc.clone(),
        });
    }
    let mult = c.multiplier();
    if multiplied && mult != 1.0 {
        match out.iter_mut().rfind(|e| e.name == "m") {
            Some(e) => e.value *= mult,
            None => out.push(Evaluated {
                name: "m".into(),
                raw: "m".into(),
                value: mult,
                loc: t0.loc.clone(),
            }),
        }
    }
    Ok(out)
}

/// `.option scale` on a MOSFET line: lengths times `scale`, areas times its square (as
/// ngspice, after the parameters' expressions are evaluated).
fn scale_mos(params: &mut [Evaluated], scale: f64) {
    if scale == 1.0 {
        return;
    }
    for p in params {
        match p.name.as_str() {
            "l" | "w" | "pd" | "ps" | "sa" | "sb" | "sd" | "sc" => p.value *= scale,
            "ad" | "as" => p.value *= scale * scale,
            _ => {}
        }
    }
}

fn expect_nodes(card: &Card, pos: &[&Tok], n: usize, what: &str) -> Result<()> {
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

/// What kind of device an element letter makes, for messages.
pub(super) fn kind_word(letter: char) -> &'static str {
    match letter {
        'r' => "resistor",
        'c' => "capacitor",
        'l' => "inductor",
        'v' | 'i' => "source",
        'e' => "VCVS",
        'g' => "VCCS",
        'f' => "CCCS",
        'h' => "CCVS",
        'b' => "behavioral source",
        'd' => "diode",
        'q' => "BJT",
        'j' => "JFET",
        'm' => "MOSFET",
        's' => "switch",
        _ => "element",
    }
}

/// Builds the device of an element card (not `X`: subcircuit instances are the
/// elaborator's).
pub(super) fn build(c: &mut dyn Ctx, card: &Card) -> Result<Device> {
    let t0 = &card.toks[0];
    let kind = t0.text.chars().next().unwrap_or(' ');
    let toks = &card.toks[1..];
    match kind {
        'r' | 'c' | 'l' => passive(c, card, kind),
        'v' | 'i' => {
            if toks.len() < 2 {
                return Err(Error::netlist(
                    format!("source '{}' expects 2 nodes", t0.raw),
                    Some(toks.last().map(|t| &t.loc).unwrap_or(&t0.loc)),
                ));
            }
            let p = c.node(&toks[0]);
            let n = c.node(&toks[1]);
            let (dc, wave, ac) = source_spec(c, &toks[2..], t0)?;
            Ok(if kind == 'v' {
                Device::V(VSource::new(p, n, dc, wave).with_ac(ac))
            } else {
                Device::I(ISource::new(p, n, dc, wave).with_ac(ac))
            })
        }
        'e' | 'g' => controlled(c, card, kind == 'e'),
        'f' | 'h' => {
            let (pos, _kv) = kv_pairs(toks)?;
            expect_nodes(card, &pos, 2, kind_word(kind))?;
            if pos.get(2).is_some_and(|t| t.is_word("poly")) {
                return poly(c, card, kind == 'f', false);
            }
            let (Some(ctrl), Some(gt)) = (pos.get(2), pos.get(3)) else {
                return Err(Error::netlist(
                    format!("'{}' expects: nodes, controlling source, gain", t0.raw),
                    Some(&t0.loc),
                ));
            };
            let gain = c.value(gt)?;
            let p = c.node(pos[0]);
            let n = c.node(pos[1]);
            c.reads(vec![Input::I(ctrl.text.clone())], &ctrl.loc, true);
            Ok(if kind == 'f' {
                Device::F(Cccs::new(p, n, gain))
            } else {
                Device::H(Ccvs::new(p, n, gain))
            })
        }
        'b' => {
            let (pos, _) = kv_pairs(&toks[..toks.len().min(2)])?;
            expect_nodes(card, &pos, 2, kind_word(kind))?;
            let p = c.node(pos[0]);
            let n = c.node(pos[1]);
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
            behavioral(c, p, n, is_v, &rest[2..], t0)
        }
        'd' => diode(c, card),
        'q' => bjt(c, card),
        'j' => jfet(c, card),
        'm' => mosfet(c, card),
        's' => {
            let (pos, _kv) = kv_pairs(toks)?;
            expect_nodes(card, &pos, 4, kind_word(kind))?;
            let Some(mt) = pos.get(4) else {
                return Err(Error::netlist(
                    format!("switch '{}' needs a model name after its 4 nodes", t0.raw),
                    Some(&t0.loc),
                ));
            };
            let mc = c.model(mt, &["sw"])?;
            let model = SwitchModel::from_card(&given(&mc.params), &mt.raw)?;
            let on = pos.get(5).map(|t| t.is_word("on")).unwrap_or(false);
            let (a, b, cp, cn) = (
                c.node(pos[0]),
                c.node(pos[1]),
                c.node(pos[2]),
                c.node(pos[3]),
            );
            Ok(Device::S(Switch::new(a, b, cp, cn, model, on)))
        }
        _ => Err(Error::syntax(
            format!(
                "unknown element type '{}' (supported: R C L V I E G F H D Q J M S B X)",
                t0.raw.chars().next().unwrap_or(' ')
            ),
            &Loc {
                len: 1,
                ..t0.loc.clone()
            },
        )),
    }
}

/// `R1 a b value [r=] [m=]`, `C1 a b value [model] [ic=] [m=]`, `L1 a b value [ic=] [m=]`.
fn passive(c: &mut dyn Ctx, card: &Card, kind: char) -> Result<Device> {
    let t0 = &card.toks[0];
    let rest = if kind == 'r' {
        resistor_tc(&card.toks[1..])
    } else {
        std::borrow::Cow::Borrowed(&card.toks[1..])
    };
    let (pos, kv) = kv_pairs(&rest)?;
    let what = kind_word(kind);
    expect_nodes(card, &pos, 2, what)?;
    if kind == 'r' {
        // `R1 a b {expr}` / `r={expr}` of node voltages or currents: ngspice makes it the B
        // source I = v(a, b) / expr
        let vt = pos
            .get(2)
            .copied()
            .or_else(|| kv.iter().find(|(k, _)| k.is_word("r")).map(|(_, v)| *v));
        if let Some(vt) = vt.filter(|t| t.kind == TokKind::Expr) {
            let e = c.parse(std::slice::from_ref(vt))?;
            if mentions_circuit(&e) {
                return behavioral_resistor(c, card, &pos, e, vt);
            }
        }
    }
    let a = c.node(pos[0]);
    let b = c.node(pos[1]);
    let word = |t: &Tok| t.kind == TokKind::Word && parse_number(&t.text).is_none();
    // `R1 a b [value] model [l= w=]`: a word after the value, or in its place when a model
    // of that name is in scope (ngspice's semiconductor resistor)
    let res_model = match (kind, pos.len()) {
        ('r', 4) if word(pos[3]) => Some(pos[3]),
        ('r', 3) if word(pos[2]) && c.has_model(&pos[2].text) => Some(pos[2]),
        _ => None,
    };
    let val = match pos.get(2) {
        Some(t) if !res_model.is_some_and(|m| std::ptr::eq(m, *t)) => Some(c.value(t)?),
        _ => None,
    };
    let cap_model = match (kind, pos.get(3)) {
        ('c', Some(t)) if pos.len() == 4 && parse_number(&t.text).is_none() => Some(*t),
        _ => None,
    };
    if let Some(mt) = res_model {
        return model_resistor(c, t0, a, b, val, mt, &kv);
    }
    if pos.len() > 3 && cap_model.is_none() {
        return Err(Error::syntax(
            format!(
                "unexpected '{}' after the value of {what} '{}'",
                pos[3].raw, t0.raw
            ),
            &pos[3].loc,
        ));
    }
    let params = instance_params(c, &kv, true, t0)?;
    let given = given(&params);
    let me = format!("{what} '{}'", t0.raw);
    let missing = || Error::netlist(format!("missing value for {me}"), Some(&t0.loc));
    match kind {
        'r' => {
            let p = params::instance(ResistorParams::table_defaults(), "r", val, &given, &me)?;
            let v = p.r.ok_or_else(missing)?;
            if v * p.scale == 0.0 {
                return Err(Error::netlist(
                    format!(
                        "zero resistance in resistor '{}' (use a voltage source of 0 V for a short)",
                        t0.raw
                    ),
                    Some(pos.get(2).map(|t| &t.loc).unwrap_or(&t0.loc)),
                ));
            }
            let (temp, tnom) = c.temps();
            Ok(Device::R(Resistor::from_params(a, b, v, &p, tnom, temp)))
        }
        'c' => {
            let p = params::instance(CapacitorParams::table_defaults(), "c", val, &given, &me)?;
            let v = p.c.ok_or_else(missing)?;
            let tnom = c.temps().1;
            let Some(mt) = cap_model else {
                return Ok(Device::C(
                    Capacitor::new(a, b, v * p.m, p.ic).with_params(&p, tnom),
                ));
            };
            let mc = c.model(mt, &["c"])?;
            let model = CapModel::from_card(&super::element::given(&mc.params), &mc.name)?;
            let Some(per) = model.per() else {
                return Err(Error::netlist(
                    format!(
                        "capacitor model '{}' needs exactly one of cunit (unit capacitance [F]) or cdens (capacitance per area [F/m^2])",
                        mc.name
                    ),
                    Some(&mc.loc),
                ));
            };
            Ok(Device::C(
                Capacitor::with_model(a, b, v, p.m, p.ic, &model, per).with_params(&p, tnom),
            ))
        }
        _ => {
            let p = params::instance(InductorParams::table_defaults(), "l", val, &given, &me)?;
            let v = p.l.ok_or_else(missing)?;
            if v * p.scale == 0.0 {
                return Err(Error::netlist(
                    format!("zero inductance in inductor '{}'", t0.raw),
                    Some(&t0.loc),
                ));
            }
            Ok(Device::L(Inductor::from_params(a, b, v, &p, c.temps().1)))
        }
    }
}

/// A resistor's `tc=a [,] [b]` (ngspice: `tc` is `tc1`, and a second number after it is
/// `tc2`) rewritten as `tc1=a tc2=b`; the tokens unchanged when there is no `tc=`.
fn resistor_tc(toks: &[Tok]) -> std::borrow::Cow<'_, [Tok]> {
    if !toks.iter().any(|t| t.is_word("tc")) {
        return std::borrow::Cow::Borrowed(toks);
    }
    let numeric = |t: &Tok| t.kind == TokKind::Expr || parse_number(&t.text).is_some();
    let renamed = |t: &Tok, name: &str| Tok {
        kind: TokKind::Word,
        text: name.to_string(),
        raw: name.to_uppercase(),
        loc: t.loc.clone(),
    };
    let eq = |t: &Tok| Tok {
        kind: TokKind::Eq,
        text: "=".into(),
        raw: "=".into(),
        loc: t.loc.clone(),
    };
    let mut out = Vec::with_capacity(toks.len() + 2);
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let is_kw = t.is_word("tc") && toks.get(i + 1).is_some_and(|e| e.kind == TokKind::Eq);
        if !is_kw || toks.get(i + 2).is_none() {
            out.push(t.clone());
            i += 1;
            continue;
        }
        out.extend([renamed(t, "tc1"), toks[i + 1].clone(), toks[i + 2].clone()]);
        i += 3;
        // a second number, not itself a keyword's name, is tc2
        if let Some(b) = toks
            .get(i)
            .filter(|b| numeric(b) && !toks.get(i + 1).is_some_and(|e| e.kind == TokKind::Eq))
        {
            out.extend([renamed(b, "tc2"), eq(b), b.clone()]);
            i += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Sheet-resistance model parameters: (r, rsh, narrow, short, defw, tc1, tc2, tce, tnom).
struct ResModel {
    r: Option<f64>,
    rsh: Option<f64>,
    narrow: f64,
    short: f64,
    defw: f64,
    tc1: Option<f64>,
    tc2: Option<f64>,
    tce: Option<f64>,
    tnom: Option<f64>,
}

/// Length of a model resistor that gives no `l=` (ngspice 39) \[m\].
const RES_DEFAULT_L: f64 = 10e-6;

/// A resistor with a `.model NAME R (...)` card, as ngspice 39: the instance value if given,
/// else `rsh (l - 2 short) / (w - 2 narrow)` when the card has a non-zero `rsh` (`l` default
/// 10 um, `w` default `defw` = 10 um), else the card's `r` (`res`), else 1 mOhm with
/// ngspice's warning. The card's `tc1`, `tc2`, `tce`, `tnom` apply unless the instance
/// gives them; noise parameters (`kf af lf wf ef`) and `bv_max` have no effect.
fn model_resistor(
    c: &mut dyn Ctx,
    t0: &Tok,
    a: usize,
    b: usize,
    val: Option<f64>,
    mt: &Tok,
    kv: &[(&Tok, &Tok)],
) -> Result<Device> {
    let mc = c.model(mt, &["r", "res"])?;
    let mut m = ResModel {
        r: None,
        rsh: None,
        narrow: 0.0,
        short: 0.0,
        defw: 10e-6,
        tc1: None,
        tc2: None,
        tce: None,
        tnom: None,
    };
    for p in &mc.params {
        let v = p.value;
        match p.name.as_str() {
            "r" | "res" => m.r = Some(v),
            "rsh" => m.rsh = Some(v),
            "narrow" => m.narrow = v,
            "short" => m.short = v,
            "defw" => m.defw = v,
            "tc1" => m.tc1 = Some(v),
            "tc2" => m.tc2 = Some(v),
            "tce" => m.tce = Some(v),
            "tnom" => m.tnom = Some(v),
            "kf" | "af" | "lf" | "wf" | "ef" | "bv_max" => {}
            _ => {
                return Err(Error::netlist(
                    format!(
                        "unknown parameter '{}' of resistor model '{}' (expected r, rsh, narrow, short, defw, tc1, tc2, tce, tnom, kf, af, lf, wf, ef, bv_max)",
                        p.raw, mc.name
                    ),
                    Some(&p.loc),
                ));
            }
        }
    }
    // the instance's l= and w= select the sheet resistance; the rest are resistor parameters
    let (mut l, mut w) = (None, None);
    let mut rest = Vec::with_capacity(kv.len());
    for &(k, v) in kv {
        match k.text.as_str() {
            "l" => l = Some(c.value(v)?),
            "w" => w = Some(c.value(v)?),
            _ => rest.push((k, v)),
        }
    }
    let params = instance_params(c, &rest, true, t0)?;
    let given = given(&params);
    let me = format!("resistor '{}'", t0.raw);
    let mut p = params::instance(ResistorParams::table_defaults(), "r", val, &given, &me)?;
    let gave = |n: &str| params.iter().any(|g| g.name == n);
    if !gave("tc1") {
        p.tc1 = m.tc1.unwrap_or(p.tc1);
    }
    if !gave("tc2") {
        p.tc2 = m.tc2.unwrap_or(p.tc2);
    }
    if !gave("tce") && p.tce.is_none() {
        p.tce = m.tce;
    }
    let v = match (p.r, m.rsh) {
        (Some(r), _) => r,
        (None, Some(rsh)) if rsh != 0.0 => {
            let (l, w) = (l.unwrap_or(RES_DEFAULT_L), w.unwrap_or(m.defw));
            let (le, we) = (l - 2.0 * m.short, w - 2.0 * m.narrow);
            if le <= 0.0 || we <= 0.0 {
                return Err(Error::netlist(
                    format!(
                        "{me}: effective length {le:e} m or width {we:e} m is not positive (l - 2 short, w - 2 narrow of model '{}')",
                        mc.name
                    ),
                    Some(&t0.loc),
                ));
            }
            rsh * le / we
        }
        _ => match m.r {
            Some(r) => r,
            None => {
                c.warn(format!(
                    "{me}: model '{}' gives neither r nor rsh: resistance set to 1 mOhm (as ngspice)",
                    mc.name
                ));
                1e-3
            }
        },
    };
    if v * p.scale == 0.0 {
        return Err(Error::netlist(
            format!(
                "zero resistance in resistor '{}' (use a voltage source of 0 V for a short)",
                t0.raw
            ),
            Some(&t0.loc),
        ));
    }
    let (temp, tnom) = c.temps();
    let tnom = m.tnom.unwrap_or(tnom);
    Ok(Device::R(Resistor::from_params(a, b, v, &p, tnom, temp)))
}

/// Whether an expression reads circuit quantities (`v()`, `i()`, `time`): iterative, `e` may
/// be deep.
fn mentions_circuit(e: &Expr) -> bool {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::V(..) | Expr::I(..) => return true,
            Expr::Name(n, _) if n == "time" => return true,
            Expr::Un(_, a) | Expr::Table(a, _) => stack.push(a),
            Expr::Bin(_, a, b) => stack.extend([&**a, &**b]),
            Expr::Tern(x, a, b) => stack.extend([&**x, &**a, &**b]),
            Expr::Call(_, a) | Expr::User(_, a, _) => stack.extend(a.iter()),
            Expr::Num(_) | Expr::Name(..) => {}
        }
    }
    false
}

/// A resistor whose value reads the circuit: the current source v(a, b) / r(x) between its
/// nodes, as ngspice 39 turns it into a B source (no other instance parameters then).
fn behavioral_resistor(
    c: &mut dyn Ctx,
    card: &Card,
    pos: &[&Tok],
    r: Expr,
    vt: &Tok,
) -> Result<Device> {
    let t0 = &card.toks[0];
    if let Some(extra) = card.toks[1..]
        .iter()
        .skip(2)
        .find(|t| !std::ptr::eq(*t, vt) && !t.is_word("r") && t.kind != TokKind::Eq)
    {
        return Err(Error::syntax(
            format!(
                "unexpected '{}' on resistor '{}' whose value reads the circuit (only the value is allowed)",
                extra.raw, t0.raw
            ),
            &extra.loc,
        ));
    }
    let v = Expr::V(pos[0].text.clone(), Some(pos[1].text.clone()));
    let e = Expr::Bin(crate::expr::BinOp::Div, Box::new(v), Box::new(r));
    let tape = c.compile(&e, &vt.loc)?;
    let a = c.node(pos[0]);
    let b = c.node(pos[1]);
    Ok(behavioral_device(c, a, b, false, tape, t0))
}

/// `D1 a k model [area] [off] [area=] [m=]`.
fn diode(c: &mut dyn Ctx, card: &Card) -> Result<Device> {
    let t0 = &card.toks[0];
    let (pos, kv) = kv_pairs(&card.toks[1..])?;
    expect_nodes(card, &pos, 2, "diode")?;
    let Some(mt) = pos.get(2) else {
        return Err(Error::netlist(
            format!("diode '{}' expects a model name after its 2 nodes", t0.raw),
            Some(&t0.loc),
        ));
    };
    let mc = c.model(mt, &["d"])?;
    let mut warnings = Vec::new();
    let model = DiodeModel::from_card(&given(&mc.params), c.temps().1, &mc.name, &mut warnings)?;
    for w in warnings {
        c.warn(w);
    }
    let mut area = None;
    let mut off = false;
    for t in &pos[3..] {
        if t.is_word("off") {
            off = true;
        } else {
            area = Some(c.value(t)?);
        }
    }
    let params = instance_params(c, &kv, true, t0)?;
    let p = DiodeParams::parse(area, off, &given(&params), &format!("diode '{}'", t0.raw))?;
    let a = c.node(pos[0]);
    let k = c.node(pos[1]);
    let ai = if model.rs > 0.0 {
        c.internal_node("anode", &t0.loc)
    } else {
        a
    };
    Ok(Device::D(Box::new(Diode::new(a, ai, k, model, p))))
}

/// The tokens of a BJT or JFET line after its name, without an `ic=v1,v2` (accepted with a
/// warning and not used: initial conditions come from `.ic` and `uic`).
fn without_ic(c: &mut dyn Ctx, card: &Card, what: &str) -> Vec<Tok> {
    let t0 = &card.toks[0];
    let mut toks: Vec<Tok> = Vec::with_capacity(card.toks.len());
    let mut i = 1;
    while i < card.toks.len() {
        let t = &card.toks[i];
        if t.is_word("ic") && card.toks.get(i + 1).is_some_and(|e| e.kind == TokKind::Eq) {
            c.warn(format!(
                "{}:{}: ic= of {what} '{}' is not used (initial conditions come from .ic and uic)",
                t.loc.file, t.loc.line, t0.raw
            ));
            i += 3;
            // the second value of `ic=v1,v2` (the comma is a separator)
            let value_like = |t: &Tok| {
                t.kind == TokKind::Expr
                    || (t.kind == TokKind::Word && parse_number(&t.text).is_some())
            };
            if card.toks.get(i).is_some_and(value_like)
                && card.toks.get(i + 1).is_none_or(|t| t.kind != TokKind::Eq)
            {
                i += 1;
            }
            continue;
        }
        toks.push(t.clone());
        i += 1;
    }
    toks
}

/// The positional tokens after a BJT's or JFET's model: an area and `off`.
fn area_off(c: &mut dyn Ctx, rest: &[&Tok], t0: &Tok, what: &str) -> Result<(Option<f64>, bool)> {
    let mut area = None;
    let mut off = false;
    for t in rest {
        if t.is_word("off") {
            off = true;
        } else if area.is_none() {
            area = Some(c.value(t)?);
        } else {
            return Err(Error::syntax(
                format!("unexpected '{}' on {what} '{}'", t.raw, t0.raw),
                &t.loc,
            ));
        }
    }
    Ok((area, off))
}

/// `J1 d g s model [area] [off] [area=] [m=] [temp=] [dtemp=] [ic=vds,vgs]`.
fn jfet(c: &mut dyn Ctx, card: &Card) -> Result<Device> {
    let t0 = &card.toks[0];
    let toks = without_ic(c, card, "JFET");
    let (pos, kv) = kv_pairs(&toks)?;
    expect_nodes(card, &pos, 3, "JFET")?;
    let Some(mt) = pos.get(3) else {
        return Err(Error::netlist(
            format!("JFET '{}' expects a model name after its 3 nodes", t0.raw),
            Some(&t0.loc),
        ));
    };
    let mc = c.model(mt, &["njf", "pjf"])?;
    let model = JfetModel::from_card(mc.kind == "pjf", &given(&mc.params), c.temps().1, &mc.name)?;
    let (area, off) = area_off(c, &pos[4..], t0, "JFET")?;
    let params = instance_params(c, &kv, true, t0)?;
    let p = JfetParams::parse(area, off, &given(&params), &format!("JFET '{}'", t0.raw))?;
    let (d, g, s) = (c.node(pos[0]), c.node(pos[1]), c.node(pos[2]));
    let [rd, rs] = Jfet::internal(&model);
    let di = if rd {
        c.internal_node("drain", &t0.loc)
    } else {
        d
    };
    let si = if rs {
        c.internal_node("source", &t0.loc)
    } else {
        s
    };
    Ok(Device::J(Box::new(Jfet::new([d, g, s, di, si], model, p))))
}

/// `Q1 c b e [s] model [area] [off] [area=] [m=] [temp=] [dtemp=] [ic=vbe,vce]`: the
/// fourth token is the model when it names an `npn`/`pnp` card, else the substrate node.
fn bjt(c: &mut dyn Ctx, card: &Card) -> Result<Device> {
    let t0 = &card.toks[0];
    let toks = without_ic(c, card, "BJT");
    let (pos, kv) = kv_pairs(&toks)?;
    expect_nodes(card, &pos, 3, "BJT")?;
    let kinds = ["npn", "pnp"];
    let Some(t3) = pos.get(3) else {
        return Err(Error::netlist(
            format!("BJT '{}' expects a model name after its 3 nodes", t0.raw),
            Some(&t0.loc),
        ));
    };
    let (sub, mc, rest) = match c.model(t3, &kinds) {
        Ok(mc) => (None, mc, &pos[4..]),
        Err(e3) => match pos.get(4) {
            Some(t4)
                if t4.kind == TokKind::Word
                    && !t4.is_word("off")
                    && parse_number(&t4.text).is_none() =>
            {
                (Some(*t3), c.model(t4, &kinds)?, &pos[5..])
            }
            _ => return Err(e3),
        },
    };
    let mut warnings = Vec::new();
    let model = BjtModel::from_card(
        mc.kind == "pnp",
        &given(&mc.params),
        c.temps().1,
        &mc.name,
        &mut warnings,
    )?;
    for w in warnings {
        c.warn(w);
    }
    let (area, off) = area_off(c, rest, t0, "BJT")?;
    let params = instance_params(c, &kv, true, t0)?;
    let p = BjtParams::parse(area, off, &given(&params), &format!("BJT '{}'", t0.raw))?;
    let (col, base, emit) = (c.node(pos[0]), c.node(pos[1]), c.node(pos[2]));
    let s = sub.map_or(0, |t| c.node(t));
    let [ri, rb, re] = Bjt::internal(&model);
    let ci = if ri {
        c.internal_node("collector", &t0.loc)
    } else {
        col
    };
    let bi = if rb {
        c.internal_node("base", &t0.loc)
    } else {
        base
    };
    let ei = if re {
        c.internal_node("emitter", &t0.loc)
    } else {
        emit
    };
    Ok(Device::Q(Box::new(Bjt::new(
        [col, base, emit, s, ci, bi, ei],
        model,
        p,
    ))))
}

/// `M1 d g s b model [off] [w= l= m= ad= as= pd= ps= ...]`: level 1, 28 or BSIM4 (14, 54)
/// by the model card; a binned model name selects its card by the device's size.
fn mosfet(c: &mut dyn Ctx, card: &Card) -> Result<Device> {
    let t0 = &card.toks[0];
    let (pos, kv) = kv_pairs(&card.toks[1..])?;
    expect_nodes(card, &pos, 4, "MOSFET")?;
    let Some(mt) = pos.get(4) else {
        return Err(Error::netlist(
            format!("MOSFET '{}' expects a model name after its 4 nodes", t0.raw),
            Some(&t0.loc),
        ));
    };
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
    let mut params = instance_params(c, &kv, true, t0)?;
    scale_mos(&mut params, c.scale());
    // the size that selects a bin: L, and W per finger (ngspice's `hsa` mode, which the
    // sky130 PDK sets; docs/bsim4.md)
    let get = |n: &str, d: f64| params.iter().rfind(|p| p.name == n).map_or(d, |p| p.value);
    let dflt = InstanceParams::default();
    let (l, w, nf) = (get("l", dflt.l), get("w", dflt.w), get("nf", 1.0));
    let mc = c.binned_model(mt, &["nmos", "pmos"], l, w / nf.max(1.0))?;
    let pmos = mc.kind == "pmos";
    let level = mc
        .params
        .iter()
        .find(|p| p.name == "level")
        .map(|p| p.value)
        .unwrap_or(1.0);
    let term = |c: &mut dyn Ctx| {
        [
            c.node(pos[0]),
            c.node(pos[1]),
            c.node(pos[2]),
            c.node(pos[3]),
        ]
    };
    if level == 14.0 || level == 54.0 {
        return bsim4_mosfet(c, t0, mc, &params, off, term);
    }
    let model_given = given(&mc.params);
    enum Level {
        One(Mos1Model),
        Upper(Box<Mos23Model>),
        Ekv(Box<EkvModel>),
    }
    let model = if level == crate::devices::ekv::LEVEL {
        let pol = if pmos { Polarity::P } else { Polarity::N };
        let m = EkvModel::from_given(pol, &model_given).map_err(|e| {
            let loc = e.loc.clone().unwrap_or(mc.loc.clone());
            Error::netlist(format!("{} (model '{}')", e.msg, mc.name), Some(&loc))
        })?;
        Level::Ekv(Box::new(m))
    } else if level == 1.0 {
        Level::One(Mos1Model::from_card(pmos, &model_given, &mc.name)?)
    } else if level == 2.0 || level == 3.0 {
        let mut warnings = Vec::new();
        let m = Mos23Model::from_card(level as u8, pmos, &model_given, &mc.name, &mut warnings)?;
        for w in warnings {
            c.warn(w);
        }
        Level::Upper(Box::new(m))
    } else {
        return Err(Error::netlist(
            format!(
                "unsupported MOSFET level {level} in model '{}' (supported: 1 = Shichman-Hodges, 2 = Grove-Frohman, 3 = semi-empirical short-channel, 28 = EKV-SC, 14 and 54 = BSIM4.5)",
                mc.name
            ),
            Some(&mc.loc),
        ));
    };
    let mut p = params::instance(
        MosParams::table_defaults(),
        "w",
        None,
        &given(&params),
        &format!("MOSFET '{}'", t0.raw),
    )?;
    if let Level::One(m) = &model {
        // a level-1 card's l= and w= are the defaults of instances that do not give them
        let gave = |n: &str| params.iter().any(|g| g.name == n);
        if let (Some(l), false) = (m.l, gave("l")) {
            p.l = l;
        }
        if let (Some(w), false) = (m.w, gave("w")) {
            p.w = w;
        }
    }
    let term = term(c);
    match model {
        Level::One(model) => {
            if p.l - 2.0 * model.ld <= 0.0 || p.w <= 0.0 {
                return Err(Error::netlist(
                    format!("MOSFET '{}' has a non-positive effective W or L", t0.raw),
                    Some(&t0.loc),
                ));
            }
            Ok(Device::M1(Box::new(Mos1::new(term, model, &p, off))))
        }
        Level::Upper(model) => {
            let g = Geometry {
                w: p.w,
                l: p.l,
                m: p.m,
                ad: p.ad.unwrap_or(0.0),
                as_: p.as_.unwrap_or(0.0),
                pd: p.pd.unwrap_or(0.0),
                ps: p.ps.unwrap_or(0.0),
                nrd: p.nrd,
                nrs: p.nrs,
            };
            let (temp, tnom) = c.temps();
            let d = model.instance(&g, temp, tnom).map_err(|e| {
                Error::netlist(
                    format!("MOSFET '{}' (model '{}'): {}", t0.raw, mc.name, e.msg),
                    Some(&t0.loc),
                )
            })?;
            let dp = if d.com.gdr != 0.0 {
                c.internal_node("drain", &t0.loc)
            } else {
                term[0]
            };
            let sp = if d.com.gsr != 0.0 {
                c.internal_node("source", &t0.loc)
            } else {
                term[2]
            };
            Ok(Device::M1(Box::new(Mos1::upper(
                [term[0], term[1], term[2], term[3], dp, sp],
                d,
                off,
            ))))
        }
        Level::Ekv(model) => {
            let g = geometry(&model, &p, c.temps().0);
            let dev = Mos28::new(term, *model, g).map_err(|e| {
                Error::netlist(format!("MOSFET '{}': {}", t0.raw, e.msg), Some(&t0.loc))
            })?;
            Ok(Device::M28(Box::new(dev)))
        }
    }
}

/// A BSIM4 MOSFET: the card built once per distinct set of values (shared by every
/// instance and run that resolves it the same way), the instance at the circuit
/// temperature, and the internal nodes that instance has (`name#drain`, `#source`,
/// `#body`, `#dbody`, `#sbody`, as ngspice names them).
fn bsim4_mosfet(
    c: &mut dyn Ctx,
    t0: &Tok,
    mc: Model,
    params: &[Evaluated],
    off: bool,
    term: impl Fn(&mut dyn Ctx) -> [usize; 4],
) -> Result<Device> {
    let pol = if mc.kind == "pmos" {
        Polarity::P
    } else {
        Polarity::N
    };
    let tnom = c.temps().1;
    let built = c.built_model(&mc.key, &mut || {
        let tnom_default =
            (!mc.params.iter().any(|p| p.name == "tnom")).then_some(("tnom", tnom, None));
        let given = mc
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.value, Some(&p.loc)));
        let card =
            bsim4::Card::from_params(pol, tnom_default.into_iter().chain(given)).map_err(|e| {
                let loc = e.loc.clone().unwrap_or(mc.loc.clone());
                Error::netlist(format!("{} (model '{}')", e.msg, mc.name), Some(&loc))
            })?;
        Ok(Arc::new(card) as Built)
    })?;
    let card = built.downcast::<bsim4::Card>().map_err(|_| {
        Error::netlist(
            format!("model '{}' was built as another device's model", mc.name),
            Some(&mc.loc),
        )
    })?;
    let mut ip = InstanceParams::default();
    for p in params {
        ip.set(&p.name, p.value, Some(&p.loc))?;
    }
    if off {
        ip.set("off", 1.0, Some(&t0.loc))?;
    }
    let temp_k = c.temps().0 + T0;
    let inst = bsim4::Instance::new(&card, &ip, temp_k).map_err(|e| {
        Error::netlist(
            format!("MOSFET '{}' (model '{}'): {}", t0.raw, mc.name, e.msg),
            Some(&t0.loc),
        )
    })?;
    let term = term(c);
    let mut internal = [0; 5];
    for (k, exists) in inst.internal_nodes().into_iter().enumerate() {
        if exists {
            internal[k] = c.internal_node(INTERNAL_NAMES[k], &t0.loc);
        }
    }
    Ok(Device::B4(Box::new(Bsim4::with_instance(
        term, internal, card, ip, inst, temp_k,
    ))))
}

/// `B... V=expr` / `I=expr`, and `E`/`G` with `value=`.
fn behavioral(
    c: &mut dyn Ctx,
    p: usize,
    n: usize,
    voltage: bool,
    toks: &[Tok],
    t0: &Tok,
) -> Result<Device> {
    let e = c.parse(toks)?;
    let tape = c.compile(&e, &toks[0].loc)?;
    Ok(behavioral_device(c, p, n, voltage, tape, t0))
}

/// A behavioral source of a compiled tape.
fn behavioral_device(
    c: &mut dyn Ctx,
    p: usize,
    n: usize,
    voltage: bool,
    tape: Tape,
    t0: &Tok,
) -> Device {
    c.reads(tape.inputs.clone(), &t0.loc, false);
    Device::B(Box::new(Behavioral::new(p, n, voltage, tape, vec![])))
}

/// `E`/`G` sources: `n+ n- nc+ nc- gain` (optionally after `VCVS`/`VCCS`), `n+ n-
/// VALUE={expr}` (also `VOL=`/`CUR=`), `n+ n- TABLE {expr} = (x,y) ...` and `n+ n- POLY(n)
/// nc1+ nc1- ... p0 p1 ...`.
fn controlled(c: &mut dyn Ctx, card: &Card, voltage: bool) -> Result<Device> {
    let t0 = &card.toks[0];
    let toks = &card.toks[1..];
    let what = kind_word(if voltage { 'e' } else { 'g' });
    let nodes: Vec<&Tok> = toks.iter().take(2).collect();
    if nodes.len() < 2 || nodes.iter().any(|t| t.kind != TokKind::Word) {
        let (pos, _) = kv_pairs(toks)?;
        expect_nodes(card, &pos, 2, what)?;
        return Err(Error::syntax(
            format!("{what} '{}' expects 2 nodes first", t0.raw),
            &t0.loc,
        ));
    }
    let rest = &toks[2..];
    let key = rest.first().filter(|t| t.kind == TokKind::Word);
    let eq_next = rest.get(1).is_some_and(|t| t.kind == TokKind::Eq);
    match key.map(|t| t.text.as_str()) {
        Some("value" | "vol" | "cur") if eq_next => {
            let Some(first) = rest.get(2) else {
                return Err(Error::syntax(
                    format!("missing expression after '{} ='", rest[0].raw),
                    &rest[1].loc,
                ));
            };
            let _ = first;
            let p = c.node(nodes[0]);
            let n = c.node(nodes[1]);
            return behavioral(c, p, n, voltage, &rest[2..], t0);
        }
        Some("table") => return table(c, card, voltage),
        Some("poly") => return poly(c, card, !voltage, true),
        _ => {}
    }
    let (pos, kv) = kv_pairs(toks)?;
    if let Some((_, v)) = kv
        .iter()
        .find(|(k, _)| matches!(k.text.as_str(), "value" | "vol" | "cur"))
    {
        expect_nodes(card, &pos, 2, what)?;
        let p = c.node(pos[0]);
        let n = c.node(pos[1]);
        return behavioral(c, p, n, voltage, std::slice::from_ref(*v), t0);
    }
    // `E1 p n VCVS cp cn gain`: ngspice drops the keyword
    let pos: Vec<&Tok> = pos
        .into_iter()
        .enumerate()
        .filter(|(k, t)| !(*k == 2 && (t.is_word("vcvs") || t.is_word("vccs"))))
        .map(|(_, t)| t)
        .collect();
    expect_nodes(card, &pos, 4, what)?;
    let Some(gt) = pos.get(4) else {
        return Err(Error::netlist(
            format!("missing gain of '{}'", t0.raw),
            Some(&t0.loc),
        ));
    };
    if let Some(extra) = pos.get(5) {
        return Err(Error::syntax(
            format!("unexpected '{}' after the gain of '{}'", extra.raw, t0.raw),
            &extra.loc,
        ));
    }
    let gain = c.value(gt)?;
    let (p, n, cp, cn) = (
        c.node(pos[0]),
        c.node(pos[1]),
        c.node(pos[2]),
        c.node(pos[3]),
    );
    Ok(if voltage {
        Device::E(Vcvs::new(p, n, cp, cn, gain))
    } else {
        Device::G(Vccs::new(p, n, cp, cn, gain))
    })
}

/// `E1 p n TABLE {expr} [=] (x1, y1) (x2, y2) ...`: the transfer curve ngspice 39 makes of it
/// (`expr::Table`).
fn table(c: &mut dyn Ctx, card: &Card, voltage: bool) -> Result<Device> {
    let t0 = &card.toks[0];
    let toks = &card.toks[1..];
    let kw = &toks[2];
    let rest = &toks[3..];
    let eq = rest.iter().position(|t| t.kind == TokKind::Eq);
    // the expression: up to the `=`, else the one token after TABLE
    let (ex_toks, pts) = match eq {
        Some(k) => (&rest[..k], &rest[k + 1..]),
        None => (&rest[..rest.len().min(1)], rest.get(1..).unwrap_or(&[])),
    };
    if ex_toks.is_empty() {
        return Err(Error::syntax(
            format!(
                "TABLE of '{}' needs an expression: TABLE {{expr}} = (x1, y1) (x2, y2) ...",
                t0.raw
            ),
            &kw.loc,
        ));
    }
    let mut vals = Vec::new();
    for t in pts {
        match t.kind {
            TokKind::LParen | TokKind::RParen => {}
            TokKind::Eq => return Err(Error::syntax("unexpected '=' in TABLE points", &t.loc)),
            _ => vals.push(c.value(t)?),
        }
    }
    if vals.len() % 2 != 0 {
        return Err(Error::syntax(
            format!(
                "TABLE of '{}' has {} numbers after its expression: expected (x, y) pairs",
                t0.raw,
                vals.len()
            ),
            &kw.loc,
        ));
    }
    let points: Vec<(f64, f64)> = vals.chunks(2).map(|p| (p[0], p[1])).collect();
    let tab = Table::new(points).map_err(|e| Error::syntax(e.msg, &kw.loc))?;
    let arg = c.parse(ex_toks)?;
    let e = Expr::Table(Box::new(arg), Arc::new(tab));
    let tape = c.compile(&e, &ex_toks[0].loc)?;
    let p = c.node(&toks[0]);
    let n = c.node(&toks[1]);
    Ok(behavioral_device(c, p, n, voltage, tape, t0))
}

/// `POLY(n)` on E, G (`vc`: controlled by n node pairs) and F, H (by n sources):
/// `E1 p n POLY(2) a 0 b 0 p0 p1 p2 ...`. `current`: the output is a current (G, F).
fn poly(c: &mut dyn Ctx, card: &Card, current: bool, vc: bool) -> Result<Device> {
    let t0 = &card.toks[0];
    let toks = &card.toks[1..];
    let kw = &toks[2];
    let dims_ok = toks.get(3).map(|t| t.kind) == Some(TokKind::LParen)
        && toks.get(5).map(|t| t.kind) == Some(TokKind::RParen);
    let dims = toks
        .get(4)
        .filter(|_| dims_ok)
        .and_then(|t| parse_number(&t.text));
    let Some(dims) = dims.filter(|d| *d >= 1.0 && d.fract() == 0.0 && *d <= 64.0) else {
        return Err(Error::syntax(
            format!(
                "expected POLY(n) with n = 1 .. 64 controlling inputs on '{}'",
                t0.raw
            ),
            &kw.loc,
        ));
    };
    let dims = dims as usize;
    // the controls, parentheses and commas around node pairs left out
    let rest: Vec<&Tok> = toks[6..]
        .iter()
        .filter(|t| !matches!(t.kind, TokKind::LParen | TokKind::RParen))
        .collect();
    let per = if vc { 2 } else { 1 };
    if rest.len() < dims * per + 1 {
        return Err(Error::netlist(
            format!(
                "POLY({dims}) of '{}' expects {} controlling {} and at least one coefficient",
                t0.raw,
                dims * per,
                if vc { "nodes" } else { "sources" }
            ),
            Some(&kw.loc),
        ));
    }
    let (ctl, coef) = rest.split_at(dims * per);
    let mut inputs = Vec::with_capacity(dims);
    for k in 0..dims {
        if vc {
            inputs.push(Input::V(
                ctl[2 * k].text.clone(),
                Some(ctl[2 * k + 1].text.clone()),
            ));
        } else {
            inputs.push(Input::I(ctl[k].text.clone()));
        }
    }
    let mut p = Vec::with_capacity(coef.len());
    for t in coef {
        if t.kind == TokKind::Eq {
            return Err(Error::syntax(
                "unexpected '=' among POLY coefficients",
                &t.loc,
            ));
        }
        p.push(c.value(t)?);
    }
    let tape = Tape::poly(inputs, &p).map_err(|e| e.with_loc(Some(&kw.loc)))?;
    let pn = c.node(&toks[0]);
    let nn = c.node(&toks[1]);
    Ok(behavioral_device(c, pn, nn, !current, tape, t0))
}

/// `[DC] v | DC=v`, `AC [mag [phase]] | AC=mag [phase]`, `DISTOF1/DISTOF2 [mag [phase]]`
/// (accepted, no distortion analysis) and a waveform `PULSE(...)|SIN(...)|EXP(...)|PWL(...)`.
fn source_spec(
    c: &mut dyn Ctx,
    toks: &[Tok],
    t0: &Tok,
) -> Result<(Option<f64>, Wave, Option<(f64, f64)>)> {
    let mut dc = None;
    let mut wave = None;
    let mut ac = None;
    let numeric = |t: &Tok| t.kind == TokKind::Expr || parse_number(&t.text).is_some();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let word = t.kind == TokKind::Word;
        let eq = toks.get(i + 1).is_some_and(|x| x.kind == TokKind::Eq);
        // the first value after a keyword (after its `=` if written so)
        let first = if eq { i + 2 } else { i + 1 };
        match t.text.as_str() {
            "dc" if word => {
                let Some(v) = toks.get(first) else {
                    return Err(Error::syntax("missing value after DC", &t.loc));
                };
                dc = Some(c.value(v)?);
                i = first + 1;
            }
            "ac" if word => {
                // `AC` alone is magnitude 1 (ngspice); a phase may follow the magnitude
                let (mut mag, mut phase) = (1.0, 0.0);
                let mut j = first;
                if eq && toks.get(j).is_none() {
                    return Err(Error::syntax("missing value after AC =", &t.loc));
                }
                if let Some(v) = toks.get(j).filter(|v| eq || numeric(v)) {
                    mag = c.value(v)?;
                    j += 1;
                    if let Some(ph) = toks.get(j).filter(|v| numeric(v)) {
                        phase = c.value(ph)?;
                        j += 1;
                    }
                }
                ac = Some((mag, phase));
                i = j;
            }
            "distof1" | "distof2" if word => {
                // distortion inputs: accepted, no distortion analysis here
                let mut j = first;
                for _ in 0..2 {
                    match toks.get(j) {
                        Some(v) if numeric(v) => {
                            c.value(v)?;
                            j += 1;
                        }
                        _ => break,
                    }
                }
                i = j;
            }
            "trrandom" if word => {
                return Err(Error::netlist(
                    format!(
                        "{} sources (transient noise) are not supported yet (source '{}')",
                        t.raw.to_uppercase(),
                        t0.raw
                    ),
                    Some(&t.loc),
                ));
            }
            "pulse" | "sin" | "exp" | "pwl" | "trnoise" if word => {
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
                    if paren || numeric(&toks[j]) {
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
                // PWL's keywords `td=` (a delay: every time point shifted) and `r=` (repeat),
                // inside the parentheses or after them
                let mut td = 0.0;
                let mut repeat = None;
                let mut kw = |k: &Tok, v: &Tok, c: &mut dyn Ctx| -> Result<()> {
                    match k.text.as_str() {
                        "td" if fname == "pwl" => td = c.value(v)?,
                        "r" if fname == "pwl" => repeat = Some((c.value(v)?, k.loc.clone())),
                        _ => {
                            return Err(Error::syntax(
                                format!(
                                    "unexpected '{}=' in {} of source '{}'",
                                    k.raw,
                                    fname.to_uppercase(),
                                    t0.raw
                                ),
                                &k.loc,
                            ));
                        }
                    }
                    Ok(())
                };
                let mut vals = Vec::new();
                let mut k = 0;
                while k < args.len() {
                    if args.get(k + 1).is_some_and(|e| e.kind == TokKind::Eq) {
                        let Some(v) = args.get(k + 2) else {
                            return Err(Error::syntax(
                                format!("missing value after '{} ='", args[k].raw),
                                &args[k].loc,
                            ));
                        };
                        kw(args[k], v, c)?;
                        k += 3;
                        continue;
                    }
                    vals.push(c.value(args[k])?);
                    k += 1;
                }
                while toks.get(j + 1).is_some_and(|e| e.kind == TokKind::Eq)
                    && toks
                        .get(j)
                        .is_some_and(|x| x.is_word("td") || x.is_word("r"))
                {
                    let Some(v) = toks.get(j + 2) else {
                        return Err(Error::syntax(
                            format!("missing value after '{} ='", toks[j].raw),
                            &toks[j].loc,
                        ));
                    };
                    kw(&toks[j], v, c)?;
                    j += 3;
                }
                let mut w = Wave::from_args(&fname, &vals).map_err(|e| e.with_loc(Some(&t.loc)))?;
                if let Some((r, loc)) = repeat {
                    // r= names a time point as written, before the td= shift (ngspice)
                    w = w.pwl_repeat(r).map_err(|e| {
                        Error::netlist(format!("source '{}': {}", t0.raw, e.msg), Some(&loc))
                    })?;
                }
                w.pwl_delay(td);
                wave = Some(w);
                i = j;
            }
            _ => {
                if dc.is_none() && wave.is_none() && matches!(t.kind, TokKind::Word | TokKind::Expr)
                {
                    dc = Some(c.value(t)?);
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
    let mut wave = wave.unwrap_or(Wave::Dc(dc.unwrap_or(0.0)));
    // transient noise rides on the source's DC value (ngspice)
    if let Wave::TrNoise { offset, .. } = &mut wave {
        *offset = dc.unwrap_or(0.0);
    }
    Ok((dc, wave, ac))
}

/// Draws the local mismatch the device asks for through `draw` (the Monte Carlo sampler at
/// the element's site) and gives the values back to it.
pub(super) fn draw_mismatch(
    dev: &mut Device,
    t0: &Tok,
    draw: &mut dyn FnMut(&crate::devices::params::MismatchDraw) -> Result<f64>,
) -> Result<()> {
    let at = |e: Error| {
        let kind = t0.text.chars().next().unwrap_or(' ');
        Error::netlist(
            format!("{} '{}': {}", kind_word(kind), t0.raw, e.msg),
            Some(&t0.loc),
        )
    };
    let mut draws = Vec::new();
    dev.mismatch(&mut draws).map_err(at)?;
    if draws.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(draws.len());
    for d in &draws {
        values.push(draw(d).map_err(|e| Error::netlist(e.msg, Some(&t0.loc)))?);
    }
    dev.set_mismatch(&values).map_err(at)
}
