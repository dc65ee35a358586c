//! `meas` in a control block: the line is parsed and evaluated by the same code as a `.meas`
//! card (`crate::meas`), on the vectors of the current plot; the result becomes a vector of
//! that plot, as in ngspice.

use super::vector::{Data, Plots, VType, Vector, abbrev};
use crate::analysis::{RunResult, Table};
use crate::error::{Error, Loc, Result};
use std::io::Write;

/// Words of the `.meas` grammar that are never vector names.
const KEYWORDS: &[&str] = &[
    "trig",
    "targ",
    "when",
    "find",
    "at",
    "from",
    "to",
    "td",
    "val",
    "rise",
    "fall",
    "cross",
    "last",
    "deriv",
    "derivative",
    "avg",
    "rms",
    "min",
    "max",
    "min_at",
    "max_at",
    "pp",
    "integ",
    "integral",
    "param",
    "delay",
];

/// `par(expr)` with its quotes put back (a control line loses single quotes when it is split
/// into words; `crate::meas` reads `par('expr')`).
fn quote_par(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut rest = text;
    while let Some(k) = rest.to_ascii_lowercase().find("par(") {
        out.push_str(&rest[..k + 4]);
        rest = &rest[k + 4..];
        if rest.starts_with(['\'', '"']) {
            continue;
        }
        // the matching parenthesis
        let mut depth = 1;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push('\'');
        out.push_str(&rest[..end]);
        out.push('\'');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The column name `crate::meas` asks for (`v(out)`, `i(v1)`) as a vector of the plot.
fn find<'a>(plots: &'a Plots, col: &str) -> Option<&'a Vector> {
    let p = plots.cur();
    if let Some(inner) = col.strip_prefix("v(").and_then(|r| r.strip_suffix(')')) {
        return p.get(col).or_else(|| p.get(inner));
    }
    if let Some(inner) = col.strip_prefix("i(").and_then(|r| r.strip_suffix(')')) {
        return p.get(col).or_else(|| p.get(&format!("{inner}#branch")));
    }
    p.get(col)
}

/// Runs `meas ARGS` (the words after `meas`) on the current plot; prints the result line
/// to `out` (a failure goes to `err`) and stores the value as a vector. A measure that cannot be taken is reported
/// and is not an error (as a `.meas` card).
pub fn run(
    args: &[String],
    loc: &Loc,
    plots: &mut Plots,
    globals: &[(String, f64)],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let io = |e: std::io::Error| Error::io(format!("cannot write the output: {e}"));
    let Some(an) = args.first().map(|a| a.to_ascii_lowercase()) else {
        return Err(Error::netlist(
            "meas needs an analysis and a name",
            Some(loc),
        ));
    };
    let stem = abbrev(&plots.cur().name);
    if an != stem {
        return Err(Error::netlist(
            format!(
                "meas {an}: the current plot {} holds {} results",
                plots.cur().typename,
                if stem == "unknown" {
                    "no analysis"
                } else {
                    stem
                }
            ),
            Some(loc),
        ));
    }
    // a bare vector name where a signal goes is read as ngspice does: that vector
    let words: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(k, w)| {
            let lw = w.to_ascii_lowercase();
            let plain = !w.contains(['(', '=', '\'', '"', '{']);
            if k >= 2
                && plain
                && !KEYWORDS.contains(&lw.as_str())
                && super::vars::numparse(w).is_none()
                && plots.cur().get(w).is_some()
            {
                format!("v({w})")
            } else {
                w.clone()
            }
        })
        .collect();
    let text = format!("*\n.tran\n.dc\n.meas {}\n", quote_par(&words.join(" ")));
    let relocate = |e: Error| Error {
        loc: Some(loc.clone()),
        ..e
    };
    let lexed = crate::netlist::lexer::lex_str(&text, &loc.file).map_err(relocate)?;
    let nl = crate::netlist::Netlist::parse(&lexed).map_err(relocate)?;
    let ms = crate::meas::parse_measures(&nl).map_err(relocate)?;
    let p = plots.cur();
    let scale = p.scale_vec().ok_or_else(|| {
        Error::netlist(
            format!("meas: the plot {} has no scale", p.typename),
            Some(loc),
        )
    })?;
    let mut names = vec![scale.name.clone()];
    let mut cols: Vec<&Vector> = vec![scale];
    for s in crate::meas::signals(&ms) {
        let v = find(plots, &s).ok_or_else(|| {
            Error::netlist(
                format!("meas: no vector {s} in the plot {}", p.typename),
                Some(loc),
            )
        })?;
        if v.len() != scale.len() {
            return Err(Error::netlist(
                format!(
                    "meas: {s} has {} points, the scale {} has {}",
                    v.len(),
                    scale.name,
                    scale.len()
                ),
                Some(loc),
            ));
        }
        if !matches!(v.data, Data::Real(_)) {
            return Err(Error::netlist(
                format!("meas: {s} is complex; meas on AC results is not supported yet"),
                Some(loc),
            ));
        }
        names.push(s);
        cols.push(v);
    }
    let rows: Vec<Vec<f64>> = (0..scale.len())
        .map(|i| cols.iter().map(|v| v.data.re(i)).collect())
        .collect();
    let table = Some(Table { names, rows });
    let res = if an == "dc" {
        RunResult {
            dc: table,
            ..Default::default()
        }
    } else {
        RunResult {
            tran: table,
            ..Default::default()
        }
    };
    // PARAM= expressions read earlier results (scalars of the plot) and the netlist's .params
    let mut params: Vec<(String, f64)> = p
        .vecs
        .iter()
        .filter(|v| v.len() == 1 && v.is_real())
        .map(|v| (v.name.to_ascii_lowercase(), v.data.re(0)))
        .collect();
    params.extend(globals.iter().cloned());
    for (name, r) in crate::meas::evaluate(&ms, &res, &params) {
        match r {
            Ok(v) => {
                writeln!(out, "{}", crate::meas::result_line(&name, &Ok(v))).map_err(io)?;
                plots
                    .cur_mut()
                    .put(Vector::real(name, VType::NoType, vec![v]));
            }
            Err(why) => {
                writeln!(out, " meas {} failed!\n", args.join(" ")).map_err(io)?;
                writeln!(
                    err,
                    "warning: {}:{}: meas {name} failed: {why}",
                    loc.file, loc.line
                )
                .map_err(io)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn par_gets_its_quotes_back() {
        assert_eq!(
            super::quote_par("find par(v(2)*v(1)) at=1"),
            "find par('v(2)*v(1)') at=1"
        );
        assert_eq!(super::quote_par("find par('x') at=1"), "find par('x') at=1");
    }
}
