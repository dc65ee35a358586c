//! Text output in ngspice's layouts: `print` (columns with `Index`, pages, or `name = value`
//! lines), `wrdata` files, `display` and the `setplot` list.

use super::cfmt;
use super::expr::Val;
use super::vector::{Data, Plots, VType, Vector};
use std::fmt::Write as _;

/// The variables that shape `print`'s output.
#[derive(Debug, Clone)]
pub struct PrintOpts {
    /// `set width`: line width (at least 40; 80 by default).
    pub width: usize,
    /// `set height`: lines per page (at least 20; ngspice's batch mode breaks pages every 60).
    pub height: usize,
    /// `set nobreak` or `set nopage`: no page breaks.
    pub nobreak: bool,
    /// `set noprintscale`: no scale column.
    pub noprintscale: bool,
    /// `set numdgt`: significant digits after the point (6).
    pub numdgt: usize,
}

impl Default for PrintOpts {
    fn default() -> Self {
        PrintOpts {
            width: 80,
            height: 60,
            nobreak: false,
            noprintscale: false,
            numdgt: 6,
        }
    }
}

/// ngspice's `printnum`: `%.*e` with one digit less for a negative number (so columns line up).
pub fn num(v: f64, numdgt: usize) -> String {
    let n = if v < 0.0 { numdgt - 1 } else { numdgt };
    cfmt::e(v, n, false)
}

/// A vector's name as `print line` shows it: lower case and trimmed (ngspice's
/// `vec_basename`, whose plot-prefix test never matches a prefixed name, so `const.pi`
/// stays `const.pi`).
fn basename(v: &Val) -> String {
    v.vec.name.trim().to_ascii_lowercase()
}

/// `print`: in columns when any vector has more than one value (or `col` is asked), else
/// as `name = value` lines. `col`: `Some(true)` for `print col`, `Some(false)` for `print line`.
pub fn print(vals: &[Val], col: Option<bool>, plots: &Plots, o: &PrintOpts) -> String {
    let mut out = String::new();
    if vals.is_empty() {
        return out;
    }
    let col = col.unwrap_or_else(|| vals.iter().any(|v| v.vec.len() > 1));
    if !col {
        let plotnames = vals.iter().any(|v| v.plot != vals[0].plot);
        for v in vals {
            let base = basename(v);
            let name = if plotnames {
                let t = plots.by_id(v.plot).map_or("", |p| p.typename.as_str());
                format!("{t}.{base}")
            } else {
                base
            };
            line(&mut out, &name, &v.vec.data, o);
        }
        return out;
    }
    columns(&mut out, vals, plots, o);
    out
}

fn line(out: &mut String, name: &str, d: &Data, o: &PrintOpts) {
    let n = d.len();
    if n == 1 {
        match d {
            Data::Real(x) => {
                let _ = writeln!(out, "{name} = {}", num(x[0], o.numdgt));
            }
            Data::Complex(z) => {
                let _ = writeln!(
                    out,
                    "{name} = {},{}",
                    num(z[0].re, o.numdgt),
                    num(z[0].im, o.numdgt)
                );
            }
        }
        return;
    }
    let _ = write!(out, "{name} = (  ");
    let mut ll = 10usize;
    for i in 0..n {
        let s = match d {
            Data::Real(x) => num(x[i], o.numdgt),
            Data::Complex(z) => format!("{},{}", num(z[i].re, o.numdgt), num(z[i].im, o.numdgt)),
        };
        out.push_str(&s);
        ll += s.len();
        ll = ll.div_ceil(8) * 8 + 1;
        if ll > o.width {
            out.push_str("\n\t");
            ll = 9;
        } else {
            out.push('\t');
        }
    }
    out.push_str(")\n");
}

/// Whether `v` is the scale `s` of its plot (same plot, same base name).
fn is_scale(v: &Val, scale: &Vector) -> bool {
    basename(v).eq_ignore_ascii_case(scale.name.trim())
}

fn is_freq(v: &Vector) -> bool {
    v.name == "frequency"
}

fn columns(out: &mut String, vals: &[Val], plots: &Plots, o: &PrintOpts) {
    let width = o.width.max(40);
    let height = o.height.max(20);
    let dashes = "-".repeat(width);
    let mut rest: Vec<Val> = vals.to_vec();
    loop {
        // the first vector of every page is the scale
        let mut page: Vec<Val> = rest.clone();
        if let Some(p) = plots.by_id(page[0].plot)
            && !o.noprintscale
            && p.analysis
            && let Some(s) = p.scale_vec()
            && !is_scale(&page[0], s)
        {
            page.insert(
                0,
                Val {
                    vec: s.clone(),
                    plot: p.id,
                },
            );
        }
        // how many vectors fit the width (at least two)
        let mut ll = 8;
        let mut take = page.len();
        for (k, v) in page.iter().enumerate() {
            ll += if v.vec.is_real() { 16 } else { 32 };
            if ll > width && k != 0 && k != 1 {
                take = k;
                break;
            }
        }
        let shown = &page[..take];
        let p = plots.by_id(shown[0].plot).unwrap_or(plots.cur());
        let pad = " ".repeat(width.saturating_sub(p.title.len()) / 2);
        let _ = writeln!(out, "{pad}{}", p.title);
        let _ = writeln!(out, "{pad}{}  {}", p.name, p.date);
        let _ = writeln!(out, "{dashes}");
        let mut head = String::from("Index   ");
        for v in shown {
            let wide = !(v.vec.is_real() || is_freq(&v.vec) && v.vec.data.c(0).im == 0.0);
            let name: String = v
                .vec
                .name
                .chars()
                .take(if wide { 31 } else { 15 })
                .collect();
            let _ = write!(head, "{name:<w$}", w = if wide { 32 } else { 16 });
        }
        let npoints = shown.iter().map(|v| v.vec.len()).max().unwrap_or(0);
        let mut lineno = 3;
        let mut j = 0;
        'page: loop {
            let _ = writeln!(out, "{head}");
            let _ = writeln!(out, "{dashes}");
            lineno += 2;
            loop {
                while j < npoints && lineno < height {
                    let _ = write!(out, "{j}\t");
                    for v in shown {
                        let d = &v.vec.data;
                        if d.len() <= j {
                            out.push_str(if d.is_real() { "\t\t" } else { "\t\t\t\t" });
                            continue;
                        }
                        match d {
                            Data::Real(x) => {
                                let _ = write!(out, "{}\t", num(x[j], o.numdgt));
                            }
                            Data::Complex(z) => {
                                if is_freq(&v.vec) && z[j].im == 0.0 {
                                    let _ = write!(out, "{}\t", num(z[j].re, o.numdgt));
                                } else {
                                    let _ = write!(
                                        out,
                                        "{},\t{}\t",
                                        num(z[j].re, o.numdgt),
                                        num(z[j].im, o.numdgt)
                                    );
                                }
                            }
                        }
                    }
                    out.push('\n');
                    j += 1;
                    lineno += 1;
                }
                if j >= npoints {
                    break 'page;
                }
                lineno = 0;
                if !o.nobreak {
                    out.push_str("\x0c\n");
                    continue 'page;
                }
            }
        }
        // the next page starts with the first vector not shown (a scale added to this page
        // was shown: it came first)
        if take >= page.len() {
            return;
        }
        rest = page.split_off(take);
        out.push_str("\x0c\n");
    }
}

/// `wrdata`: per vector, its scale and its values (real and imaginary part for complex) as
/// `% .8e ` fields; `singlescale` writes the scale once; `vecnames` adds a header line.
pub fn wrdata(
    vals: &[(Val, Option<Vector>)],
    singlescale: bool,
    vecnames: bool,
) -> super::CResult<String> {
    let mut out = String::new();
    for (v, s) in vals {
        if let Some(s) = s
            && s.len() != v.vec.len()
        {
            return Err(cerr!(
                "{} has {} points but its scale {} has {}",
                v.vec.name,
                v.vec.len(),
                s.name,
                s.len()
            ));
        }
    }
    if singlescale {
        let n0 = vals.first().map_or(0, |(v, _)| v.vec.len());
        if let Some((v, _)) = vals.iter().find(|(v, _)| v.vec.len() != n0) {
            return Err(cerr!(
                "with wr_singlescale every vector needs the same length ({} has {}, not {n0})",
                v.vec.name,
                v.vec.len()
            ));
        }
    }
    if vecnames {
        for (k, (v, s)) in vals.iter().enumerate() {
            if let Some(s) = s
                && (k == 0 || !singlescale)
            {
                let _ = write!(out, " {:<15}", s.name);
            }
            let _ = write!(out, " {:<15}", v.vec.name);
            if !v.vec.is_real() {
                let _ = write!(out, " {:<15}", v.vec.name);
            }
        }
        out.push('\n');
    }
    let npoints = vals.iter().map(|(v, _)| v.vec.len()).max().unwrap_or(0);
    for i in 0..npoints {
        for (k, (v, s)) in vals.iter().enumerate() {
            if let Some(s) = s
                && (k == 0 || !singlescale)
            {
                let _ = write!(out, "{} ", cfmt::e(s.data.re(i), 8, true));
            }
            match &v.vec.data {
                Data::Real(x) => {
                    let _ = write!(out, "{} ", cfmt::e(x[i], 8, true));
                }
                Data::Complex(z) => {
                    let _ = write!(
                        out,
                        "{} {} ",
                        cfmt::e(z[i].re, 8, true),
                        cfmt::e(z[i].im, 8, true)
                    );
                }
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// `display`: the vectors of the current plot.
pub fn display(plots: &Plots) -> String {
    let p = plots.cur();
    let mut out = String::from("Here are the vectors currently active:\n\n");
    let _ = writeln!(out, "Title: {}", p.title);
    let _ = writeln!(out, "Name: {} ({})", p.typename, p.name);
    let _ = writeln!(out, "Date: {}\n", p.date);
    for v in p.sorted() {
        let scale = p
            .scale
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(&v.name));
        let _ = writeln!(
            out,
            "    {:<20}: {}, {}, {} long{}",
            v.name,
            v.vtype.name(),
            if v.is_real() { "real" } else { "complex" },
            v.len(),
            if scale { " [default scale]" } else { "" }
        );
    }
    out
}

/// `setplot` without arguments: the plots, newest first, the current one marked.
pub fn plot_list(plots: &Plots) -> String {
    let mut out = String::from("List of plots available:\n\n");
    let cur = plots.cur().id;
    for p in plots.list.iter().rev() {
        let mark = if p.id == cur { "Current " } else { "\t" };
        let _ = writeln!(out, "{mark}{}\t{} ({})", p.typename, p.title, p.name);
    }
    out
}

/// The raw-file type name of a vector.
pub fn raw_type(v: &Vector) -> &'static str {
    match v.vtype {
        VType::NoType => "notype",
        t => t.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printnum_drops_a_digit_for_negatives() {
        assert_eq!(num(0.5, 6), "5.000000e-01");
        assert_eq!(num(-6.0206, 6), "-6.02060e+00");
        assert_eq!(num(-0.0, 6), "-0.000000e+00");
    }
}
