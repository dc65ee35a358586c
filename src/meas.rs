//! `.meas` / `.measure` cards with ngspice semantics, evaluated on the tables of a run.
//!
//! ```text
//! .meas tran tdel TRIG v(in) VAL=0.5 RISE=1 TARG v(out) VAL=0.5 RISE=1
//! .meas tran tx   WHEN v(out)=0.3 CROSS=LAST TD=1u
//! .meas tran vx   FIND v(out) AT=1.3u          (or FIND v(a) WHEN v(b)=v(c) FALL=2)
//! .meas tran sl   DERIV v(out) AT=1.2u         (or DERIV ... WHEN ...)
//! .meas tran av   AVG v(out) FROM=1u TO=2u     (RMS MIN MAX PP INTEG MIN_AT MAX_AT)
//! .meas tran p    PARAM='av*2'                 (over other measures and .params)
//! .meas dc   vth  WHEN v(out)=0.5              (the sweep variable is the scale)
//! ```
//! A signal is `v(a)`, `v(a,b)`, `i(vx)`, `par('expr')` or a quoted expression of them.
//!
//! Use: [`Deck::load`] (or [`parse_measures`]) once per netlist, then [`evaluate`] per run (it
//! allocates only the signal vectors it reads, so it is cheap enough for every Monte Carlo run
//! or sweep point). A measure that cannot be taken (no such crossing, window wholly outside the run)
//! yields `Err(Failed(reason))`, never a number.
//!
//! The rooms: `parse.rs` (a card's tokens to a [`Measure`]), `eval.rs` (taking it on a run's
//! tables), `wave.rs` (the one crossing and value-at implementation, which Monte Carlo
//! measures, characterisation and plots use too).
//!
//! Differences from ngspice 39, all documented in `docs/meas.md`: windows (`FROM`/`TO`/`TD`)
//! are cut exactly by linear interpolation for every function (ngspice interpolates them only
//! for RMS and INTEG, and ignores FROM/TO in WHEN); a window reaching outside the run is cut
//! to it (as ngspice); INTEG and RMS use the trapezoidal rule on every
//! interval (ngspice switches to Simpson's rule on runs of equal steps); DERIV (which ngspice
//! 39 refuses) differentiates the parabola through the three nearest points; a signal that
//! only touches the threshold does not cross it (ngspice counts a touch from below as a rise
//! and a fall), and a crossing in the first interval of the window counts (ngspice skips it).

use crate::analysis::{Save, Table};
use crate::circuit::{Circuit, Signal};
use crate::error::{Error, Result};
use crate::netlist::Netlist;

mod eval;
mod parse;
pub mod unit;
pub mod wave;

pub use eval::{Failed, Outcome, evaluate, fmt_e};
use parse::parse_card;
pub use parse::{Domain, Measure};

/// A netlist file read for running: the parsed netlist and its `.meas` cards. The one load
/// path every command shares (read, lex, parse, measures); the circuit is elaborated from
/// `netlist` as often as needed (sweep points, Monte Carlo runs).
#[derive(Debug, Clone)]
pub struct Deck {
    pub netlist: Netlist,
    pub measures: Vec<Measure>,
    /// The files it was read from (the netlist, then its includes), with content hashes.
    pub sources: Vec<crate::netlist::lexer::Source>,
}

impl Deck {
    /// Reads the netlist at `path` (following `.include` and `.lib`).
    pub fn load(path: &std::path::Path) -> Result<Deck> {
        Deck::from_lexed(crate::netlist::lexer::lex_file(path)?)
    }

    /// A netlist given as text; `name` stands for its file in messages.
    pub fn from_text(text: &str, name: &str) -> Result<Deck> {
        Deck::from_lexed(crate::netlist::lexer::lex_str(text, name)?)
    }

    /// A netlist already lexed; its cards are taken over, not copied.
    pub fn from_lexed(lexed: crate::netlist::lexer::Lexed) -> Result<Deck> {
        let sources = lexed.sources.clone();
        Deck::from_netlist(Netlist::parse_owned(lexed)?, sources)
    }

    /// A netlist already parsed (from the files `sources`): its measures are read.
    pub fn from_netlist(
        mut netlist: Netlist,
        sources: Vec<crate::netlist::lexer::Source>,
    ) -> Result<Deck> {
        let measures = parse_measures(&netlist)?;
        netlist.warnings.extend(duplicate_warnings(&measures));
        Ok(Deck {
            netlist,
            measures,
            sources,
        })
    }

    /// The global parameter values the measures read, with `overrides` (a sweep point).
    pub fn params(&self, overrides: &[(String, f64)]) -> Result<Vec<(String, f64)>> {
        global_params(&self.netlist, overrides)
    }
}

/// Parses every `.meas`/`.measure` card of a netlist, in file order.
///
/// Errors point at the offending token (syntax) or card: a measure of an analysis the netlist
/// does not run, an unknown function. A name defined twice is kept twice, as ngspice does:
/// both are taken and reported in deck order, and a `PARAM=` expression reads the later one
/// (see [`duplicate_warnings`]).
pub fn parse_measures(nl: &Netlist) -> Result<Vec<Measure>> {
    let has = |a: &str| nl.controls.iter().any(|c| c.name() == a);
    let mut out: Vec<Measure> = Vec::new();
    for card in nl
        .controls
        .iter()
        .filter(|c| matches!(c.name(), ".meas" | ".measure"))
    {
        let mut m = parse_card(&card.toks, &card.loc)?;
        // `.func` calls in PARAM= (ngspice substitutes the deck's functions there too); a
        // call that cannot be expanded stays, and fails that measure only when it is taken
        if let parse::Kind::Param(e) = &mut m.kind
            && crate::expr::user::has_user(e)
            && let Ok(x) = crate::expr::user::expand(e, &mut |n| crate::netlist::top_func(nl, n))
        {
            *e = x;
        }
        let (needed, what) = match m.domain {
            Domain::Tran => (".tran", "tran"),
            Domain::Dc => (".dc", "dc"),
        };
        if !has(needed) {
            return Err(Error::netlist(
                format!(
                    ".meas {what} {}: the netlist has no {needed} analysis to measure",
                    m.name
                ),
                card.toks.get(1).map(|t| &t.loc),
            ));
        }
        out.push(m);
    }
    Ok(out)
}

/// One warning per measure whose name an earlier measure already has (ngspice keeps both).
pub fn duplicate_warnings(ms: &[Measure]) -> Vec<String> {
    // the first measure of each name, by a map (a search of the earlier ones per measure was
    // quadratic: 100,000 .meas cards took minutes)
    let mut first_of: std::collections::HashMap<&str, usize> = Default::default();
    ms.iter()
        .enumerate()
        .filter_map(|(k, m)| {
            let first = &ms[*first_of.entry(m.name.as_str()).or_insert(k)];
            if std::ptr::eq(first, m) {
                return None;
            }
            Some(format!(
                "{}:{}: measure '{}' is defined again (first at line {}): both are taken and \
                 printed, a PARAM= reads this later one",
                m.loc.file, m.loc.line, m.name, first.loc.line
            ))
        })
        .collect()
}

/// The table columns the measures read (`v(node)`, `i(source)`), each once: add them to the
/// signals a run saves.
pub fn signals(ms: &[Measure]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in columns(ms) {
        let n = n.to_string();
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// The table columns (node voltages and branch currents) the measures' signals read, in
/// order: a difference v(a,b) reads v(a) and v(b).
fn columns(ms: &[Measure]) -> Vec<Signal> {
    let mut out = Vec::new();
    for m in ms {
        for s in m.signal_refs() {
            for input in &s.inputs {
                match input {
                    Signal::V2(a, b) => {
                        out.push(Signal::V(a.clone()));
                        out.push(Signal::V(b.clone()));
                    }
                    other => out.push(other.clone()),
                }
            }
        }
    }
    out
}

/// What a run must save: `save` plus the signals the measures read.
pub fn save_for(save: &Save, ms: &[Measure]) -> Save {
    match save {
        Save::All => Save::All,
        Save::List(l) => {
            let mut l = l.clone();
            for s in signals(ms) {
                if !l.iter().any(|x| x.trim().eq_ignore_ascii_case(&s)) {
                    l.push(s);
                }
            }
            Save::List(l)
        }
    }
}

/// `t` without the columns that only the measures needed (those [`save_for`] added to the
/// user's `--save` list), so output files hold what the user asked for.
pub fn user_columns(t: &Table, c: &Circuit, user: &Save, ms: &[Measure]) -> Result<Table> {
    let keep: Vec<String> = crate::analysis::saved_unknowns(c, user)?
        .into_iter()
        .map(|k| crate::analysis::signal_name(c, k))
        .collect();
    let extra: Vec<String> = match user {
        Save::All => vec![],
        Save::List(_) => signals(ms)
            .into_iter()
            .filter(|s| !keep.contains(s))
            .collect(),
    };
    let cols: Vec<usize> = (0..t.names.len())
        .filter(|&k| k == 0 || !extra.contains(&t.names[k]))
        .collect();
    Ok(Table {
        names: cols.iter().map(|&k| t.names[k].clone()).collect(),
        rows: t
            .rows
            .iter()
            .map(|r| cols.iter().map(|&k| r[k]).collect())
            .collect(),
    })
}

/// Checks that every signal the measures read exists in the circuit (node or branch
/// current), so a typo is an error at the card rather than a failed measure.
pub fn check_signals(ms: &[Measure], c: &Circuit) -> Result<()> {
    for m in ms {
        for s in m.signal_refs() {
            for input in &s.inputs {
                let parts = match input {
                    Signal::V2(a, b) => vec![Signal::V(a.clone()), Signal::V(b.clone())],
                    other => vec![other.clone()],
                };
                for p in parts {
                    if c.unknown(&p).is_none() {
                        let what = match p {
                            Signal::I(_) => "no voltage source or inductor",
                            _ => "no node",
                        };
                        return Err(Error::netlist(
                            format!("measure '{}': {what} '{p}' in the circuit", m.name),
                            Some(&s.loc),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Values of global `.param`s (nominal, random functions at their mean) and `temper`, with
/// `overrides` replacing definitions (sweep points): what `PARAM=` measures and
/// parameter-valued qualifiers read. The netlist's one `.param` evaluator computes them.
pub fn global_params(nl: &Netlist, overrides: &[(String, f64)]) -> Result<Vec<(String, f64)>> {
    crate::netlist::global_values(nl, overrides)
}

/// The ngspice-style line for one result: `name = value`, or `name = failed (reason)`.
pub fn result_line(name: &str, r: &Outcome) -> String {
    match r {
        Ok(v) => format!("{name:<20}=  {}", fmt_e(*v)),
        Err(e) => format!("{name:<20}=  failed ({e})"),
    }
}

/// Writes `{"name": value, ...}` (full precision) with `{"failed": reason}` in place of the
/// value of a measure that could not be taken, completely or not at all.
pub fn write_json(path: &std::path::Path, results: &[(String, Outcome)]) -> Result<()> {
    let mut m = serde_json::Map::new();
    for (k, r) in results {
        let v = match r {
            Ok(v) => serde_json::Value::from(*v),
            Err(e) => serde_json::json!({ "failed": e.0 }),
        };
        m.insert(k.clone(), v);
    }
    let s = serde_json::to_string_pretty(&serde_json::Value::Object(m))
        .map_err(|e| Error::io(e.to_string()))?;
    crate::io::atomic::write_atomic(path, |w| w.write_all(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::RunResult;
    use crate::netlist::lexer::lex_str;

    fn measures(cards: &str) -> Result<Vec<Measure>> {
        let text = format!("t\nV1 a 0 1\nR1 a 0 1k\n.tran 1n 10n\n.dc v1 0 1 0.5\n{cards}\n.end\n");
        let nl = Netlist::parse(&lex_str(&text, "t.cir")?)?;
        parse_measures(&nl)
    }

    fn table(x: &[f64], y: &[f64]) -> Table {
        Table {
            names: vec!["time".into(), "v(a)".into(), "v(b)".into()],
            rows: x.iter().zip(y).map(|(&x, &y)| vec![x, y, 0.25]).collect(),
        }
    }

    fn eval(cards: &str, x: &[f64], y: &[f64]) -> Vec<Outcome> {
        let ms = measures(cards).unwrap();
        let res = RunResult {
            tran: Some(table(x, y)),
            ..Default::default()
        };
        evaluate(&ms, &res, &[("k".into(), 2.0)])
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    const X: [f64; 6] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    const Y: [f64; 6] = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0];

    #[test]
    fn crossings_count_as_ngspice() {
        let r = eval(
            ".meas tran a WHEN v(a)=0.5\n.meas tran b WHEN v(a)=0.5 FALL=2\n.meas tran c WHEN v(a)=0.5 CROSS=LAST\n.meas tran d WHEN v(a)=0.5 RISE=2 TD=1.2\n.meas tran e WHEN v(a)=v(b) RISE=3\n.meas tran f WHEN v(a)=0.5 RISE=4",
            &X,
            &Y,
        );
        assert_eq!(r[0], Ok(0.5));
        assert_eq!(r[1], Ok(3.5));
        assert_eq!(r[2], Ok(4.5));
        assert_eq!(r[3], Ok(4.5));
        assert_eq!(r[4], Ok(4.25));
        let e = r[5].clone().unwrap_err().0;
        assert!(e.contains("3 rising crossing(s)"), "{e}");
    }

    #[test]
    fn windows_are_cut_exactly() {
        let r = eval(
            ".meas tran a AVG v(a) FROM=0.5 TO=1.5\n.meas tran b INTEG v(a) TO=2\n.meas tran c MAX v(a) FROM=1.5 TO=2.5\n.meas tran d PP v(a)\n.meas tran e MIN_AT v(a) FROM=0.5\n.meas tran f AVG v(a) TO=6",
            &X,
            &Y,
        );
        assert_eq!(r[0], Ok(0.75));
        assert_eq!(r[1], Ok(1.0));
        assert_eq!(r[2], Ok(0.5));
        assert_eq!(r[3], Ok(1.0));
        assert_eq!(r[4], Ok(2.0));
        // a window reaching past the end is cut to the run, as ngspice does
        assert_eq!(r[5], Ok(0.5));
    }

    /// Wrong answer 2 of issue 14: a `uic` transient records from its first step (as ngspice
    /// does), and a window FROM=0 must still be inside the run; a window reaching before a
    /// TSTART is cut to the run, one wholly before it fails.
    #[test]
    fn uic_run_windows_from_zero() {
        let x = [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 1.0];
        let y = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let r = eval(
            ".meas tran a AVG v(a) FROM=0 TO=1\n.meas tran b MAX v(a) FROM=0 TO=0.5\n.meas tran c FIND v(a) AT=0\n.meas tran d AVG v(a) FROM=-1 TO=1",
            &x,
            &y,
        );
        assert_eq!(r[0], Ok(1.0));
        assert_eq!(r[1], Ok(1.0));
        assert!(r[2].clone().unwrap_err().0.contains("outside the run"));
        // windows reaching outside the run are cut to it (as ngspice); one wholly outside fails
        assert_eq!(r[3], Ok(1.0));
        let tstart = [0.5, 0.6, 0.7, 0.8];
        let r = eval(
            ".meas tran a AVG v(a) FROM=0 TO=0.8\n.meas tran b AVG v(a) FROM=0 TO=0.4",
            &tstart,
            &y[..4],
        );
        assert_eq!(r[0], Ok(1.0));
        assert!(r[1].clone().unwrap_err().0.contains("outside the run"));
    }

    #[test]
    fn find_deriv_param() {
        let x: Vec<f64> = (0..11).map(|k| k as f64 * 0.1).collect();
        let y: Vec<f64> = x.iter().map(|x| x * x).collect();
        let r = eval(
            ".meas tran a FIND v(a) AT=0.25\n.meas tran b DERIV v(a) AT=0.25\n.meas tran c PARAM='a*k+b'\n.meas tran d FIND par('v(a)-v(b)') WHEN v(a)=0.5\n.meas tran e FIND v(a,b) AT=2",
            &x,
            &y,
        );
        assert!((r[0].clone().unwrap() - 0.065).abs() < 1e-12);
        // a parabola is differentiated exactly
        assert!((r[1].clone().unwrap() - 0.5).abs() < 1e-12);
        assert!((r[2].clone().unwrap() - (0.13 + 0.5)).abs() < 1e-12);
        assert!((r[3].clone().unwrap() - 0.25).abs() < 1e-12);
        assert!(r[4].clone().unwrap_err().0.contains("outside the run"));
    }

    #[test]
    fn nested_dc_sweeps_restart_and_descending_scales_work() {
        let ms = measures(
            ".meas dc a WHEN v(a)=0.5 CROSS=2\n.meas dc b AVG v(a) FROM=2 TO=0\n.meas dc c FIND v(a) AT=1.5",
        )
        .unwrap();
        let dc = |x: &[f64], y: &[f64]| RunResult {
            dc: Some(table(x, y)),
            ..Default::default()
        };
        // two inner sweeps 0..2; v(a) jumps 1 -> 0 at the restart, which is not a crossing
        let r = evaluate(
            &ms,
            &dc(
                &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0],
                &[0.0, 1.0, 1.0, 0.0, 1.0, 0.0],
            ),
            &[],
        );
        assert_eq!(r[0].1, Ok(0.5));
        // the average over both sweeps: (0.5 + 1) + (0.5 + 0.5) over a width of 4
        assert_eq!(r[1].1, Ok(0.625));
        let r = evaluate(&ms, &dc(&[2.0, 1.0, 0.0], &[1.0, 0.0, 0.0]), &[]);
        assert!(r[0].1.is_err());
        assert_eq!(r[1].1, Ok(0.25));
        assert_eq!(r[2].1, Ok(0.5));
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let e = measures(".meas tran a WHEN v(a)=0.5 RIZE=1").unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Syntax);
        assert_eq!(e.loc.as_ref().map(|l| (l.line, l.col)), Some((6, 28)));
        let e = measures(".meas tran a TRIG v(a) VAL=0.5 TARG v(a) VAL=1 RISE=1").unwrap_err();
        assert!(e.msg.contains("RISE=, FALL= or CROSS="), "{}", e.msg);
        let e = measures(".meas tran a FIND par('v(a)*') AT=1").unwrap_err();
        assert_eq!(e.loc.as_ref().map(|l| l.col), Some(29));
        // a name defined twice is kept twice (ngspice), with a warning naming both lines
        let ms = measures(".meas tran a AVG v(a)\n.meas tran a MAX v(a)").unwrap();
        assert_eq!(ms.len(), 2);
        let w = duplicate_warnings(&ms);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("t.cir:7:") && w[0].contains("first at line 6"),
            "{}",
            w[0]
        );
        let e = measures(".meas ac a MAX v(a)").unwrap_err();
        assert!(e.msg.contains("only .meas tran and .meas dc"));
    }

    #[test]
    fn c_style_exponent() {
        assert_eq!(fmt_e(8.835575e-8), "8.835575e-08");
        assert_eq!(fmt_e(-1.5), "-1.500000e+00");
        assert_eq!(fmt_e(0.0), "0.000000e+00");
        assert_eq!(fmt_e(1e100), "1.000000e+100");
    }
}
