//! What a study measures in each run. [`Measures`] is the seam: the netlist's `.meas` cards
//! and the command line's `--measure NAME=KIND(SIGNAL[,VALUE])` ([`NetlistMeasures`]), and
//! any implementation in tests. Crossings and values between points are read by
//! [`crate::meas::wave`], the same as `.meas`: `cross` is any crossing, `rise` a rising and
//! `fall` a falling one, with ngspice's rules.
use crate::analysis::{RunResult, Table};
use crate::circuit::Circuit;
use crate::error::{Error, Result};
use crate::meas::wave::{self, Edge, Nth};
use crate::meas::{Failed, Outcome};

/// Measurements of one run. Implementations must be deterministic.
pub trait Measures: Sync + Send {
    /// Measure names (the runs.csv columns, in order).
    fn names(&self) -> Vec<String>;
    /// One value per name, or why it could not be measured (the run is then `failed`).
    fn measure(&self, circuit: &Circuit, res: &RunResult) -> Vec<Outcome>;
    /// Checks, before the first run, that the measures can be taken on this (nominal)
    /// circuit: the signals they read exist and the analyses they read are run. A study
    /// refuses to start otherwise, instead of failing every run for the same reason.
    fn check(&self, _circuit: &Circuit) -> Result<()> {
        Ok(())
    }
}

/// The signals a run of `c` stores in its tables and operating point (`v(node)`,
/// `i(source)`, ngspice's names), what a measure may read.
pub fn circuit_signals(c: &Circuit) -> Vec<String> {
    crate::analysis::saved_unknowns(c, &crate::analysis::Save::All)
        .map(|ks| {
            ks.into_iter()
                .map(|k| crate::analysis::signal_name(c, k))
                .collect()
        })
        .unwrap_or_default()
}

/// What a simple measure computes from the transient table (or the DC sweep table).
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Time of the first rising crossing of the value (linear interpolation).
    Rise(f64),
    /// Time of the first falling crossing of the value.
    Fall(f64),
    /// Time of the first crossing of the value, either way.
    Cross(f64),
    /// Last value.
    Final,
    Max,
    Min,
    /// Operating-point value (`.op`, or the initial point of `.tran`).
    Op,
    /// Value at a time (or sweep value), by linear interpolation.
    At(f64),
}

/// One `NAME=KIND(SIGNAL[,VALUE])` measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Simple {
    pub name: String,
    pub signal: String,
    pub kind: Kind,
}

impl Simple {
    /// Parses `tspike=rise(v(mem),0.5)`, `iout=op(i(vout))`, `vmax=max(v(out))`,
    /// `v1u=at(v(out),1u)`; kinds: rise, fall, cross, final, max, min, op, at. A bad measure
    /// is a usage error.
    pub fn parse(text: &str) -> Result<Simple> {
        let t = text.trim().to_ascii_lowercase();
        let bad = || {
            Error::usage(format!(
                "measure '{text}': expected NAME=KIND(SIGNAL[,VALUE]) with KIND one of rise, fall, cross, final, max, min, op, at"
            ))
        };
        let (name, rest) = t.split_once('=').ok_or_else(bad)?;
        let (kind, args) = rest.split_once('(').ok_or_else(bad)?;
        let args = args.strip_suffix(')').ok_or_else(bad)?;
        // the signal itself has parentheses: split at the last comma outside them
        let mut depth = 0i32;
        let mut split = None;
        for (i, c) in args.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => split = Some(i),
                _ => {}
            }
        }
        let (signal, value) = match split {
            Some(i) => (&args[..i], Some(&args[i + 1..])),
            None => (args, None),
        };
        let val = || -> Result<f64> {
            let v = value
                .ok_or_else(|| Error::usage(format!("measure '{text}': {kind}() needs a value")))?;
            crate::expr::number::parse_number(v.trim()).ok_or_else(|| {
                Error::usage(format!("measure '{text}': '{}' is not a number", v.trim()))
            })
        };
        let kind = match kind.trim() {
            "rise" => Kind::Rise(val()?),
            "fall" => Kind::Fall(val()?),
            "cross" => Kind::Cross(val()?),
            "at" => Kind::At(val()?),
            k @ ("final" | "max" | "min" | "op") => {
                if value.is_some() {
                    return Err(Error::usage(format!(
                        "measure '{text}': {k}() takes only a signal"
                    )));
                }
                match k {
                    "final" => Kind::Final,
                    "max" => Kind::Max,
                    "min" => Kind::Min,
                    _ => Kind::Op,
                }
            }
            _ => return Err(bad()),
        };
        let name = name.trim();
        if name.is_empty() || signal.trim().is_empty() {
            return Err(bad());
        }
        Ok(Simple {
            name: name.to_string(),
            signal: signal.trim().replace(' ', ""),
            kind,
        })
    }

    /// Whether this measure can be taken on `c`: its signal is one of the circuit's and the
    /// circuit runs an analysis it reads (`op`: .op or .tran; the others: .tran or .dc).
    pub fn check(&self, c: &Circuit) -> Result<()> {
        use crate::circuit::Analysis;
        let has = |f: &dyn Fn(&Analysis) -> bool| c.analyses.iter().any(|(a, _)| f(a));
        let (ok, needs) = if self.kind == Kind::Op {
            (
                has(&|a| matches!(a, Analysis::Op | Analysis::Tran { .. })),
                ".op or .tran",
            )
        } else {
            (
                has(&|a| matches!(a, Analysis::Tran { .. } | Analysis::Dc(_))),
                ".tran or .dc",
            )
        };
        if !ok {
            return Err(Error::usage(format!(
                "measure '{}': the netlist has no {needs} analysis for it to read",
                self.name
            )));
        }
        let signals = circuit_signals(c);
        if !signals.contains(&self.signal) {
            let mut e = Error::usage(format!(
                "measure '{}': no signal '{}' in the circuit",
                self.name, self.signal
            ));
            if !signals.is_empty() {
                let shown: Vec<&str> = signals.iter().take(12).map(|s| s.as_str()).collect();
                let more = if signals.len() > shown.len() {
                    format!(", ... ({} in all)", signals.len())
                } else {
                    String::new()
                };
                e = e.with_note(format!("signals: {}{more}", shown.join(", ")));
            }
            return Err(e);
        }
        Ok(())
    }

    fn eval(&self, res: &RunResult) -> Outcome {
        let failed = |m: String| Failed(m);
        if self.kind == Kind::Op {
            let op = res.op.as_ref().ok_or_else(|| {
                failed("no operating point (the netlist has no .op or .tran)".into())
            })?;
            return op
                .iter()
                .find(|(n, _)| *n == self.signal)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    failed(format!(
                        "no signal '{}' in the operating point",
                        self.signal
                    ))
                });
        }
        let table: &Table = res
            .tran
            .as_ref()
            .or(res.dc.as_ref())
            .ok_or_else(|| failed("no .tran or .dc result to measure".into()))?;
        let y = table
            .column(&self.signal)
            .ok_or_else(|| failed(format!("no signal '{}'", self.signal)))?;
        let x: Vec<f64> = table.rows.iter().map(|r| r[0]).collect();
        let first = |edge: Edge, v: f64, how: &str| {
            wave::crossing(&x, &y, v, edge, Nth::N(1))
                .ok_or_else(|| failed(format!("{} never {how} {v}", self.signal)))
        };
        match self.kind {
            Kind::Final => y
                .last()
                .copied()
                .ok_or_else(|| failed("empty result".into())),
            Kind::Max => Ok(y.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            Kind::Min => Ok(y.iter().copied().fold(f64::INFINITY, f64::min)),
            Kind::Rise(v) => first(Edge::Rise, v, "rises to"),
            Kind::Fall(v) => first(Edge::Fall, v, "falls to"),
            Kind::Cross(v) => first(Edge::Cross, v, "crosses"),
            Kind::At(t) => wave::value_at(&x, &y, t)
                .ok_or_else(|| failed(format!("{t} is outside the simulated range"))),
            Kind::Op => Err(failed("op measure on a table".into())),
        }
    }
}

/// Measures given on the command line.
#[derive(Debug, Clone, Default)]
pub struct SimpleMeasures(pub Vec<Simple>);

impl Measures for SimpleMeasures {
    fn names(&self) -> Vec<String> {
        self.0.iter().map(|m| m.name.clone()).collect()
    }
    fn measure(&self, _c: &Circuit, res: &RunResult) -> Vec<Outcome> {
        self.0.iter().map(|m| m.eval(res)).collect()
    }
    fn check(&self, c: &Circuit) -> Result<()> {
        self.0.iter().try_for_each(|m| m.check(c))
    }
}

/// The netlist's own `.meas` cards (evaluated with the nominal `.param` values in `PARAM=`
/// expressions), followed by any `--measure` options.
pub struct NetlistMeasures {
    pub cards: Vec<crate::meas::Measure>,
    pub params: Vec<(String, f64)>,
    pub extra: SimpleMeasures,
}

impl Measures for NetlistMeasures {
    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.cards.iter().map(|m| m.name.clone()).collect();
        n.extend(self.extra.names());
        n
    }
    fn measure(&self, circuit: &Circuit, res: &RunResult) -> Vec<Outcome> {
        let mut v: Vec<Outcome> = crate::meas::evaluate(&self.cards, res, &self.params)
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        v.extend(self.extra.measure(circuit, res));
        v
    }
    fn check(&self, c: &Circuit) -> Result<()> {
        crate::meas::check_signals(&self.cards, c)?;
        self.extra.check(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_measure() {
        let m = Simple::parse("t1 = rise(v(mem), 0.5)").unwrap();
        assert_eq!(m.signal, "v(mem)");
        assert_eq!(m.kind, Kind::Rise(0.5));
        assert_eq!(Simple::parse("i=op(i(vout))").unwrap().kind, Kind::Op);
        assert!(Simple::parse("x=rise(v(a))").is_err());
        assert!(Simple::parse("x=bogus(v(a))").is_err());
        let res = RunResult {
            tran: Some(Table {
                names: vec!["time".into(), "v(mem)".into()],
                rows: vec![vec![0.0, 0.0], vec![1.0, 1.0], vec![2.0, 0.0]],
            }),
            ..Default::default()
        };
        assert_eq!(m.eval(&res), Ok(0.5));
        let f = Simple::parse("t=fall(v(mem),0.25)").unwrap();
        assert_eq!(f.eval(&res), Ok(1.75));
        let a = Simple::parse("t=at(v(mem),1.5)").unwrap();
        assert_eq!(a.eval(&res), Ok(0.5));
        assert!(
            Simple::parse("t=rise(v(mem),2)")
                .unwrap()
                .eval(&res)
                .is_err()
        );
    }
}
