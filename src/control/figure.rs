//! `plot`, `gnuplot` and `hardcopy`: the vectors drawn into an SVG with the project's plot
//! module (ngspice opens a window or runs gnuplot; a batch run gets a file instead).

use super::expr::Val;
use super::vector::{VType, Vector};
use crate::plot::lines::{Line, Panel};
use crate::plot::{FigureOptions, LineFigure};
use std::path::Path;

type R<T> = super::CResult<T>;

/// A plot command's options and expressions.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// The words of the expressions to draw, in groups: each group's expressions are drawn
    /// against the group's `vs` vector, or their plots' scales (`plot a b vs x c vs y d`:
    /// a and b against x, c against y, d against its scale).
    pub groups: Vec<(Vec<String>, Option<String>)>,
    pub xlimit: Option<(f64, f64)>,
    pub ylimit: Option<(f64, f64)>,
    pub xlog: bool,
    pub ylog: bool,
    pub title: Option<String>,
    pub xlabel: Option<String>,
    pub ylabel: Option<String>,
}

/// Style keywords ngspice's plot accepts that do not change what is drawn here.
const STYLE: &[&str] = &[
    "linear",
    "nogrid",
    "combplot",
    "pointplot",
    "linplot",
    "retraceplot",
    "noretraceplot",
    "nointerp",
    "samep",
    "polar",
    "smith",
    "smithgrid",
];

/// Splits a plot command's words into options and expressions, as ngspice does (options
/// may stand anywhere).
pub fn parse_args(words: &[String]) -> R<Spec> {
    let mut s = Spec::default();
    let mut i = 0;
    let num = |w: Option<&String>, what: &str| -> R<f64> {
        w.and_then(|w| super::vars::numparse(w))
            .map(|(v, _)| v)
            .ok_or_else(|| cerr!("{what} needs two numbers"))
    };
    let mut cur: Vec<String> = Vec::new();
    while i < words.len() {
        let w = words[i].to_ascii_lowercase();
        match w.as_str() {
            "xlimit" | "ylimit" => {
                let lim = (num(words.get(i + 1), &w)?, num(words.get(i + 2), &w)?);
                if w == "xlimit" {
                    s.xlimit = Some(lim);
                } else {
                    s.ylimit = Some(lim);
                }
                i += 3;
            }
            "xlog" => (s.xlog, i) = (true, i + 1),
            "ylog" => (s.ylog, i) = (true, i + 1),
            "loglog" => (s.xlog, s.ylog, i) = (true, true, i + 1),
            "title" | "xlabel" | "ylabel" => {
                let t = words
                    .get(i + 1)
                    .map(|t| super::source::unquote(t))
                    .ok_or_else(|| format!("{w} needs a text"))?;
                match w.as_str() {
                    "title" => s.title = Some(t),
                    "xlabel" => s.xlabel = Some(t),
                    _ => s.ylabel = Some(t),
                }
                i += 2;
            }
            "xdelta" | "ydelta" | "xcompress" => i += 2,
            "xindices" => i += 3,
            "vs" => {
                let Some(x) = words.get(i + 1) else {
                    return Err("'vs' needs a vector after it".into());
                };
                if cur.is_empty() {
                    return Err(cerr!("'vs {x}' has no vector to draw before it"));
                }
                s.groups.push((std::mem::take(&mut cur), Some(x.clone())));
                i += 2;
            }
            _ if STYLE.contains(&w.as_str()) => i += 1,
            _ => {
                cur.push(words[i].clone());
                i += 1;
            }
        }
    }
    if !cur.is_empty() {
        s.groups.push((cur, None));
    }
    Ok(s)
}

fn unit_of(v: &Vector) -> Option<String> {
    match v.vtype {
        VType::Time => Some("s".into()),
        VType::Frequency => Some("Hz".into()),
        VType::Voltage => Some("V".into()),
        VType::Current => Some("A".into()),
        _ => None,
    }
}

/// Draws the vectors `ys`, each against its `xs` vector (or its plot's scale in `scales`, or
/// its index) into `path` (SVG). Complex vectors are drawn by magnitude.
pub fn draw(
    spec: &Spec,
    ys: &[Val],
    xs: &[Option<Vector>],
    scales: &[Option<Vector>],
    path: &Path,
) -> R<()> {
    let log = |on: bool, v: f64| -> R<f64> {
        if !on {
            return Ok(v);
        }
        if v <= 0.0 {
            return Err(cerr!("a logarithmic axis cannot show {v}"));
        }
        Ok(v.log10())
    };
    let mut lines = Vec::new();
    let mut x_name = String::from("index");
    let mut x_unit = None;
    for (k, y) in ys.iter().enumerate() {
        let xv: Option<&Vector> = xs
            .get(k)
            .and_then(Option::as_ref)
            .or(scales.get(k).and_then(Option::as_ref));
        if let Some(xv) = xv {
            if xv.len() != y.vec.len() {
                return Err(cerr!(
                    "{} has {} points but {} has {}",
                    y.vec.name,
                    y.vec.len(),
                    xv.name,
                    xv.len()
                ));
            }
            x_name = xv.name.clone();
            x_unit = unit_of(xv);
        }
        let mut pts = Vec::with_capacity(y.vec.len());
        for i in 0..y.vec.len() {
            let xi = xv.map_or(i as f64, |v| v.data.re(i));
            let z = y.vec.data.c(i);
            let yi = if y.vec.is_real() { z.re } else { z.abs() };
            let (xi, yi) = (log(spec.xlog, xi)?, log(spec.ylog, yi)?);
            let inside = |v: f64, lim: Option<(f64, f64)>| {
                lim.is_none_or(|(a, b)| v >= a.min(b) && v <= a.max(b))
            };
            let xl = spec.xlimit.map(|(a, b)| {
                (
                    log(spec.xlog, a).unwrap_or(a),
                    log(spec.xlog, b).unwrap_or(b),
                )
            });
            let yl = spec.ylimit.map(|(a, b)| {
                (
                    log(spec.ylog, a).unwrap_or(a),
                    log(spec.ylog, b).unwrap_or(b),
                )
            });
            if inside(xi, xl) && inside(yi, yl) {
                pts.push((xi, yi));
            }
        }
        lines.push(Line {
            label: y.vec.name.clone(),
            points: pts,
            color: k,
            ..Default::default()
        });
    }
    if spec.xlog {
        x_name = format!("log10({x_name})");
        x_unit = None;
    }
    // One panel per unit, stacked on the shared x axis in the order the units first
    // appear: volts and amperes never share a y axis (ngspice's window would mix them).
    let mut panels: Vec<Panel> = Vec::new();
    for (y, line) in ys.iter().zip(lines) {
        let unit = if spec.ylog { None } else { unit_of(&y.vec) };
        match panels.iter_mut().find(|p| p.y_unit == unit) {
            Some(p) => p.lines.push(line),
            None => panels.push(Panel {
                y_name: String::new(),
                y_unit: unit,
                lines: vec![line],
            }),
        }
    }
    for p in &mut panels {
        p.y_name = match (spec.ylog, p.lines.as_slice(), p.y_unit.as_deref()) {
            (true, _, _) => "log10(value)".into(),
            (false, [one], _) => one.label.clone(),
            (false, _, Some(u)) => crate::plot::units::quantity_of(u).into(),
            (false, _, None) => "value".into(),
        };
        // a single line is named by its axis; a legend would repeat it
        if let [one] = p.lines.as_mut_slice()
            && !spec.ylog
        {
            one.label.clear();
        }
    }
    let fig = LineFigure {
        source: path.display().to_string(),
        x_name,
        x_unit,
        x_log: false,
        panels,
    };
    let opts = FigureOptions {
        title: spec.title.clone(),
        xlabel: spec.xlabel.clone(),
        ylabel: spec.ylabel.clone(),
        ..FigureOptions::default()
    };
    Ok(crate::plot::save(&fig, &opts, path)?)
}
