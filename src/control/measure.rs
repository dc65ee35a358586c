//! `meas` in a control block: the line is parsed and evaluated by the same code as a `.meas`
//! card (`crate::meas`), on the vectors of the current plot; the result becomes a vector of
//! that plot, as in ngspice.

use super::cx::C;
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
        // a `.meas` card's `par('expr')` comes back from the lexer as `par({expr})`
        let r = rest.trim_start();
        if r.starts_with('{')
            && let Some(close) = r.find('}')
        {
            out.push('\'');
            out.push_str(&r[1..close]);
            out.push('\'');
            rest = r[close + 1..].trim_start();
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

/// The quantities of a complex vector `meas ac` reads, as ngspice's measure reads them.
const AC_FUNCS: &[&str] = &[
    "vdb", "vm", "vp", "vr", "vi", "v", "idb", "im", "ip", "ir", "ii", "i",
];

/// Rewrites the AC quantities among `meas ac` words (`vdb(out)`, `vm(a,b)`, `v(out)` — a
/// plain complex value is measured by its real part, as ngspice 39 does) into `v(__acN)` of real
/// vectors computed from the plot; returns the words and those vectors.
fn ac_real_words(
    words: &[String],
    plot: &super::vector::Plot,
) -> super::CResult<(Vec<String>, Vec<Vector>)> {
    let mut vecs: Vec<Vector> = Vec::new();
    let mut out = Vec::with_capacity(words.len());
    for (k, w) in words.iter().enumerate() {
        if k < 2 {
            out.push(w.clone());
            continue;
        }
        let lw = w.to_ascii_lowercase();
        let mut res = String::new();
        let mut rest = lw.as_str();
        while !rest.is_empty() {
            // the next `name(` with a name of AC_FUNCS that starts a word
            let hit = rest.char_indices().find_map(|(i, _)| {
                let before_ok = i == 0
                    || !rest[..i]
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                if !before_ok {
                    return None;
                }
                AC_FUNCS
                    .iter()
                    .find(|f| rest[i..].starts_with(&format!("{f}(")))
                    .map(|f| (i, *f))
            });
            let Some((i, f)) = hit else {
                res.push_str(rest);
                break;
            };
            let open = i + f.len() + 1;
            let Some(close) = rest[open..].find(')') else {
                res.push_str(rest);
                break;
            };
            let args: Vec<&str> = rest[open..open + close].split(',').map(str::trim).collect();
            let get = |n: &str| -> super::CResult<Vec<C>> {
                let name = if f.starts_with('i') {
                    format!("{n}#branch")
                } else {
                    n.to_string()
                };
                let v = plot.get(&name).or_else(|| plot.get(n)).ok_or_else(|| {
                    format!("meas ac: no vector {n} in the plot {}", plot.typename)
                })?;
                Ok(v.data.to_complex())
            };
            let z: Vec<C> = match args.as_slice() {
                [a] => get(a)?,
                [a, b] if !f.starts_with('i') => {
                    let (a, b) = (get(a)?, get(b)?);
                    a.iter()
                        .zip(&b)
                        .map(|(x, y)| C::new(x.re - y.re, x.im - y.im))
                        .collect()
                }
                _ => return Err(cerr!("meas ac: cannot read {f}({})", args.join(","))),
            };
            let q = &f[1..];
            let vals: Vec<f64> = z
                .iter()
                .map(|c| match q {
                    "db" => 20.0 * c.abs().log10(),
                    "p" => c.arg(),
                    "r" => c.re,
                    "i" => c.im,
                    "m" => c.abs(),
                    // a plain v()/i() of a complex vector: ngspice 39 measures its real part
                    _ => c.re,
                })
                .collect();
            let name = format!("__ac{}", vecs.len());
            res.push_str(&rest[..i]);
            res.push_str(&format!("v({name})"));
            vecs.push(Vector::real(name, VType::NoType, vals));
            rest = &rest[open + close + 1..];
        }
        out.push(res);
    }
    if let Some(first) = out.first_mut() {
        *first = "tran".into();
    }
    Ok((out, vecs))
}

/// `meas ac`: ngspice 39 takes a `FROM=`/`TO=` frequency outside the sweep as the sweep's
/// end (`from=10 to=1g` over 1k..10meg measures 1k..10meg); a transient's window must lie
/// inside the run (docs/meas.md). Its AVG, MIN, MAX and PP of an AC sweep run over the
/// frequencies inside the window only (from the first at or above FROM to the last at or
/// below TO, AVG divided by their span), which on a logarithmic sweep is far from the
/// interpolated window (rc-meas-ac.sp: 0.1766 against 0.1592); the window is snapped to
/// those points so that the measure is ngspice's. Numbers only: an expression is left to
/// `crate::meas`.
fn clamp_ac_window(words: Vec<String>, plot: &super::vector::Plot) -> Vec<String> {
    let Some(scale) = plot.scale_vec() else {
        return words;
    };
    let n = scale.len();
    if n == 0 {
        return words;
    }
    let (a, b) = (scale.data.re(0), scale.data.re(n - 1));
    let (lo, hi) = (a.min(b), a.max(b));
    let snap = words.get(2).is_some_and(|w| {
        ["avg", "min", "max", "pp", "min_at", "max_at"].contains(&w.to_ascii_lowercase().as_str())
    });
    let xs: Vec<f64> = (0..n).map(|k| scale.data.re(k)).collect();
    let snapped = |key: &str, v: f64| -> f64 {
        if !snap {
            return v;
        }
        if key == "from" {
            xs.iter()
                .copied()
                .filter(|&x| x >= v)
                .fold(f64::INFINITY, f64::min)
        } else {
            xs.iter()
                .copied()
                .filter(|&x| x <= v)
                .fold(f64::NEG_INFINITY, f64::max)
        }
    };
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut k = 0;
    while k < words.len() {
        let w = &words[k];
        let lw = w.to_ascii_lowercase();
        // `from=x`, `from= x`, `from =x`, `from = x`
        let key = ["from", "to"]
            .into_iter()
            .find(|key| lw == *key || lw.starts_with(&format!("{key}=")));
        let Some(key) = key else {
            out.push(w.clone());
            k += 1;
            continue;
        };
        let mut rest = lw[key.len()..].to_string();
        let mut used = 1;
        if rest.is_empty() && words.get(k + 1).is_some_and(|x| x.starts_with('=')) {
            rest = words[k + 1].to_ascii_lowercase();
            used = 2;
        }
        let mut val = rest.strip_prefix('=').unwrap_or(&rest).to_string();
        if val.is_empty()
            && rest.starts_with('=')
            && let Some(x) = words.get(k + used)
        {
            val = x.clone();
            used += 1;
        }
        match super::vars::numparse(&val) {
            Some((v, m)) if m == val.len() => {
                let x = snapped(key, v.clamp(lo, hi));
                let x = if x.is_finite() { x } else { v.clamp(lo, hi) };
                out.push(format!("{key}={x:e}"));
            }
            _ => out.extend(words[k..k + used].iter().cloned()),
        }
        k += used;
    }
    out
}

/// ngspice's `meas` command first replaces the word after each `=` (`from=dfall`,
/// `from= dfall`, `from = dfall`, `when v(out)=level`) by its value when it names a real
/// vector of length 1 (one a `let` or an earlier `meas` made); any other word is left to the
/// measure's own grammar (a longer vector stays a signal).
fn substitute_scalars(args: &[String], plots: &Plots) -> Vec<String> {
    let scalar = |w: &str| -> Option<String> {
        if w.is_empty() || super::vars::numparse(w).is_some_and(|(_, m)| m == w.len()) {
            return None;
        }
        let found = super::lookup::vec_get(plots, w)?;
        match found.as_slice() {
            [v] if v.vec.len() == 1 && v.vec.is_real() => Some(format!("{:e}", v.vec.data.re(0))),
            _ => None,
        }
    };
    let mut out: Vec<String> = args.to_vec();
    let mut k = 2;
    while k < out.len() {
        if out[k].ends_with('=') {
            if let Some(v) = out.get(k + 1).and_then(|w| scalar(w)) {
                out[k + 1] = v;
            }
            k += 2;
            continue;
        }
        if let Some((l, r)) = out[k].split_once('=')
            && let Some(v) = scalar(r)
        {
            out[k] = format!("{l}={v}");
        }
        k += 1;
    }
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
/// and is not an error (as a `.meas` card); the result says whether every value was taken.
pub fn run(
    args: &[String],
    loc: &Loc,
    plots: &mut Plots,
    globals: &[(String, f64)],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool> {
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
    let args = &substitute_scalars(args, plots);
    // a bare vector name where a signal goes is read as ngspice does: that vector
    let words: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(k, w)| {
            let is_vec = |w: &str| {
                let lw = w.to_ascii_lowercase();
                !w.is_empty()
                    && !w.contains(['(', '=', '\'', '"', '{'])
                    && !KEYWORDS.contains(&lw.as_str())
                    && super::vars::numparse(w).is_none()
                    && plots.cur().get(w).is_some()
            };
            if k < 2 {
                return w.clone();
            }
            if is_vec(w) {
                return format!("v({w})");
            }
            // `when gain=-9.03`: the signal before '=' of WHEN
            match w.split_once('=') {
                Some((l, r)) if is_vec(l) => format!("v({l})={r}"),
                _ => w.clone(),
            }
        })
        .collect();
    // `meas ac`: the AC quantities (vdb(out), vm(a,b), v(out) = its real part, ...) become
    // real vectors measured against frequency as a transient's values against time
    let (words, ac_vecs) = if an == "ac" {
        ac_real_words(&words, plots.cur()).map_err(|e| e.at(loc))?
    } else {
        (words, Vec::new())
    };
    let words = if an == "ac" {
        clamp_ac_window(words, plots.cur())
    } else {
        words
    };
    let text = format!("*\n.tran\n.dc\n.meas {}\n", quote_par(&words.join(" ")));
    let relocate = |e: Error| Error {
        loc: Some(loc.clone()),
        ..e
    };
    // a measure ngspice cannot read fails by itself (reported, the block goes on), as one
    // it cannot take
    let parsed = crate::netlist::lexer::lex_str(&text, &loc.file)
        .and_then(|lexed| crate::netlist::Netlist::parse(&lexed))
        .and_then(|nl| crate::meas::parse_measures(&nl));
    let ms = match parsed {
        Ok(ms) => ms,
        Err(e) => {
            let e = relocate(e);
            writeln!(out, " meas {} failed!\n", args.join(" ")).map_err(io)?;
            writeln!(
                err,
                "warning: {}:{}: meas failed: {}",
                loc.file, loc.line, e.msg
            )
            .map_err(io)?;
            return Ok(false);
        }
    };
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
        let v = ac_vecs
            .iter()
            .find(|v| format!("v({})", v.name) == s)
            .or_else(|| find(plots, &s));
        let v = v.ok_or_else(|| {
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
        if !matches!(v.data, Data::Real(_)) && an != "ac" {
            return Err(Error::netlist(format!("meas: {s} is complex"), Some(loc)));
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
    let mut all = true;
    for (name, r) in crate::meas::evaluate(&ms, &res, &params) {
        match r {
            Ok(v) => {
                writeln!(out, "{}", crate::meas::result_line(&name, &Ok(v))).map_err(io)?;
                plots
                    .cur_mut()
                    .put(Vector::real(name, VType::NoType, vec![v]));
            }
            Err(why) => {
                all = false;
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
    Ok(all)
}

/// The plot with every vector as long as its scale cut to its first `k` points (a run that
/// stopped there).
pub fn truncated(plot: &super::vector::Plot, k: usize) -> super::vector::Plot {
    let mut p = plot.clone();
    let n = p.scale_vec().map_or(0, Vector::len);
    for v in &mut p.vecs {
        if v.len() == n && (1..n).contains(&k) {
            v.data = v.data.slice(0, k - 1);
        }
    }
    p
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
        assert_eq!(
            super::quote_par("find par( {v(2)*v(1)} ) at=1"),
            "find par('v(2)*v(1)') at=1"
        );
    }
}
