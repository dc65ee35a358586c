//! Taking measures on a run's tables: the signals' values per point, windows, crossings
//! (through [`super::wave`]), values at a point, statistics, and `PARAM=` expressions over
//! parameters and earlier measures.

use super::parse::{Cond, Domain, Kind, Measure, Point, Rhs, SignalExpr, Stat, input_of};
use super::wave::{self, Crossings, Edge, Nth};
use crate::analysis::{RunResult, Table};
use crate::circuit::Signal;
use crate::error::{Error, Result};
use crate::expr::{self, Env, Expr};
use std::fmt;

/// Why a measure could not be taken: not an error of the run but its result, printed as
/// `name = failed (reason)` and written as `{"failed": reason}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed(pub String);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A measure's value, or why there is none.
pub type Outcome = std::result::Result<f64, Failed>;

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

/// What a measure's value expressions may refer to: parameters and measures already taken.
struct MEnv<'a> {
    params: &'a [(String, f64)],
    done: &'a [(String, Outcome)],
}

impl Env for MEnv<'_> {
    fn name(&mut self, n: &str) -> Result<f64> {
        // a name defined twice: the later measure, as in ngspice
        if let Some((_, r)) = self.done.iter().rev().find(|(k, _)| k == n) {
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
fn value(e: &Expr, env: &MEnv) -> std::result::Result<f64, Failed> {
    expr::eval_const(e, &mut copy_env(env)).map_err(|e| Failed(e.msg))
}

/// The values of a signal expression's inputs at one point.
struct RowEnv<'a> {
    base: MEnv<'a>,
    inputs: &'a [Signal],
    row: &'a [f64],
}

impl Env for RowEnv<'_> {
    fn name(&mut self, n: &str) -> Result<f64> {
        self.base.name(n)
    }
    fn circuit(&mut self, e: &Expr) -> Result<f64> {
        let Some((s, negate)) = input_of(e) else {
            return Ok(0.0);
        };
        let k = self
            .inputs
            .iter()
            .position(|x| *x == s)
            .ok_or_else(|| Error::numeric(format!("internal: {s} is not an input")))?;
        Ok(if negate { -self.row[k] } else { self.row[k] })
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

    fn column(&self, s: &Signal) -> std::result::Result<usize, Failed> {
        let name = s.to_string();
        self.t.names.iter().position(|n| *n == name).ok_or_else(|| {
            Failed(format!(
                "signal '{name}' is not in the results (was it excluded by --save?)"
            ))
        })
    }

    /// The signal's value at every point.
    fn series(&self, s: &SignalExpr, env: &MEnv) -> std::result::Result<Vec<f64>, Failed> {
        let mut cols = Vec::with_capacity(s.inputs.len());
        for input in &s.inputs {
            cols.push(match input {
                Signal::V2(a, b) => (
                    self.column(&Signal::V(a.clone()))?,
                    Some(self.column(&Signal::V(b.clone()))?),
                ),
                other => (self.column(other)?, None),
            });
        }
        let val = |r: &[f64], (a, b): (usize, Option<usize>)| r[a] - b.map(|b| r[b]).unwrap_or(0.0);
        // plain v(a), v(a,b), i(x): no expression to evaluate per row
        if let (Some((_, false)), [c]) = (input_of(&s.expr), cols.as_slice()) {
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
                inputs: &s.inputs,
                row: &ins,
            };
            out.push(
                expr::eval_const(&s.expr, &mut re)
                    .map_err(|e| Failed(format!("{}: {}", s.text, e.msg)))?,
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
    ) -> std::result::Result<(f64, f64), Failed> {
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
            return Err(Failed(format!(
                "empty window: from {} to {}{unit}",
                fmt_e(lo),
                fmt_e(hi)
            )));
        }
        // a window reaching outside the run is cut to it, as ngspice does (`from=10
        // to=1G` on a 1k..10MEG sweep means "all of it"); one wholly outside fails
        if hi < x0 - slack || lo > x1 + slack {
            return Err(Failed(format!(
                "window [{}, {}]{unit} lies outside the run [{}, {}]{unit}",
                fmt_e(lo),
                fmt_e(hi),
                fmt_e(x0),
                fmt_e(x1)
            )));
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
    ) -> std::result::Result<f64, Failed> {
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
        Err(Failed(format!(
            "{what}: {count} {dir}crossing(s) of {} in [{}, {}], {want} was asked",
            self.cond_text(cond),
            fmt_e(lo),
            fmt_e(hi)
        )))
    }

    fn cond_text(&self, c: &Cond) -> String {
        match &c.rhs {
            Rhs::Sig(s) => format!("{}={}", c.sig.text, s.text),
            Rhs::Val(_) => c.sig.text.clone(),
        }
    }

    /// The scale value where `cond` holds.
    fn when(&self, c: &Cond, env: &MEnv, what: &str) -> std::result::Result<f64, Failed> {
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
        let num = |e: &Option<Expr>| -> std::result::Result<Option<f64>, Failed> {
            e.as_ref().map(|e| value(e, env)).transpose()
        };
        let (lo, hi) = self.window(num(&c.from)?, num(&c.to)?, num(&c.td)?)?;
        self.crossing(&d, c, lo, hi, what)
    }

    fn point(&self, p: &Point, env: &MEnv, what: &str) -> std::result::Result<f64, Failed> {
        match p {
            Point::At(e) => {
                let at = value(e, env)?;
                let (x0, x1) = self.range();
                let slack = 1e-9 * (x1 - x0).abs();
                if at < x0 - slack || at > x1 + slack {
                    return Err(Failed(format!(
                        "{what} AT={} is outside the run [{}, {}]",
                        fmt_e(at),
                        fmt_e(x0),
                        fmt_e(x1)
                    )));
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

    fn value_at(&self, y: &[f64], at: f64) -> std::result::Result<f64, Failed> {
        if self.x.len() == 1 && self.x[0] == at {
            return Ok(y[0]);
        }
        let i = self
            .interval(at)
            .ok_or_else(|| Failed(format!("{} is outside the run", fmt_e(at))))?;
        Ok(wave::lerp(self.x[i - 1], y[i - 1], self.x[i], y[i], at))
    }

    /// dy/dx at `at` from the parabola through the interval's ends and the nearer neighbour.
    fn deriv_at(&self, y: &[f64], at: f64) -> std::result::Result<f64, Failed> {
        let i = self
            .interval(at)
            .ok_or_else(|| Failed(format!("{} is outside the run", fmt_e(at))))?;
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
            return Err(Failed(format!("zero-width interval at {}", fmt_e(at))));
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

    fn stat(&self, op: Stat, y: &[f64], lo: f64, hi: f64) -> std::result::Result<f64, Failed> {
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
            return Err(Failed(format!(
                "no points in [{}, {}]",
                fmt_e(lo),
                fmt_e(hi)
            )));
        }
        let need_span = || {
            if span == 0.0 {
                Err(Failed(format!("zero-width window at {}", fmt_e(lo))))
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

    fn measure(&self, m: &Measure, env: &MEnv) -> std::result::Result<f64, Failed> {
        let num = |e: &Option<Expr>| -> std::result::Result<Option<f64>, Failed> {
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
/// (see [`super::global_params`]). Measures are taken in file order, `PARAM=` ones after all others
/// (as ngspice), each able to use the results before it. The result lists every measure in
/// file order with its value or the reason it could not be taken.
pub fn evaluate(
    ms: &[Measure],
    res: &RunResult,
    params: &[(String, f64)],
) -> Vec<(String, Outcome)> {
    fn mk(t: Option<&Table>, domain: Domain) -> Option<Data<'_>> {
        t.filter(|t| !t.rows.is_empty()).map(|t| Data {
            t,
            x: t.rows.iter().map(|r| r[0]).collect(),
            domain,
        })
    }
    let tran = mk(res.tran.as_ref(), Domain::Tran);
    let dc = mk(res.dc.as_ref(), Domain::Dc);
    let mut done: Vec<(String, Outcome)> = Vec::with_capacity(ms.len());
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
                    _ => Err(Failed(String::new())),
                })
        } else {
            let data = match m.domain {
                Domain::Tran => tran.as_ref(),
                Domain::Dc => dc.as_ref(),
            };
            match data {
                Some(d) => d.measure(m, &env),
                None => Err(Failed(format!(
                    "no {} results in this run",
                    if m.domain == Domain::Tran {
                        ".tran"
                    } else {
                        ".dc"
                    }
                ))),
            }
        };
        let r = r.and_then(|v| {
            if v.is_finite() {
                Ok(v)
            } else {
                Err(Failed(format!("the result is {v}")))
            }
        });
        slot[k] = done.len();
        done.push((m.name.clone(), r));
    }
    let mut out: Vec<Option<(String, Outcome)>> = done.into_iter().map(Some).collect();
    slot.iter()
        .filter_map(|&s| out.get_mut(s).and_then(Option::take))
        .collect()
}
