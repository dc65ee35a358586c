//! Readers that turn result files into line figures: transfer curves (`transfer`),
//! accuracy against variation (`accuracy`), and the CapMin sweeps (`capmin-sweep`,
//! `capmin-v`).

use super::lines::{Line, LineFigure, Panel, Stroke};
use super::units::unit_of;
use crate::error::{Error, Result};
use crate::io::csv::CsvTable;
use std::path::Path;

/// Integral nonlinearity of a transfer curve: the largest distance of `y` from the straight
/// line through its first and last finite points, in percent of the full scale
/// `|y_last - y_first|`. `None` with fewer than three points or a flat curve.
pub fn inl_percent(x: &[f64], y: &[f64]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = finite_pairs(x, y);
    if pts.len() < 3 {
        return None;
    }
    let ((x0, y0), (x1, y1)) = (pts[0], pts[pts.len() - 1]);
    let full = (y1 - y0).abs();
    if full == 0.0 || x1 == x0 {
        return None;
    }
    let worst = pts
        .iter()
        .map(|&(x, y)| (y - (y0 + (y1 - y0) * (x - x0) / (x1 - x0))).abs())
        .fold(0.0, f64::max);
    Some(100.0 * worst / full)
}

fn finite_pairs(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .collect()
}

/// Named y columns against one x column.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    /// Where the data came from.
    pub source: String,
    /// x name.
    pub x_name: String,
    /// x values.
    pub x: Vec<f64>,
    /// (name, y values) per curve.
    pub ys: Vec<(String, Vec<f64>)>,
}

impl Curves {
    /// Read a CSV (first column x, the others y) or a JSON object (`.json`) whose `levels`
    /// array is x and whose other arrays of numbers (or null, for "did not fire") of the same
    /// length are y; other keys are metadata and ignored.
    pub fn read(path: &Path) -> Result<Curves> {
        let source = path.display().to_string();
        let is_json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if !is_json {
            let t = CsvTable::read(path)?;
            if t.headers.len() < 2 {
                return Err(Error::data_in(
                    &source,
                    "expected an x column and a y column",
                ));
            }
            let x = t.numbers(0)?;
            let ys = (1..t.headers.len())
                .map(|c| Ok((t.headers[c].clone(), t.numbers(c)?)))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Curves {
                source,
                x_name: t.headers[0].clone(),
                x,
                ys,
            });
        }
        let text = crate::io::input::read_text(path)?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::at_line(&source, e.line(), format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::data_in(&source, "expected a JSON object with `levels`"))?;
        let numbers = |key: &str, arr: &[serde_json::Value]| -> Result<Vec<f64>> {
            arr.iter()
                .map(|e| match e {
                    serde_json::Value::Null => Ok(f64::NAN),
                    _ => e.as_f64().ok_or_else(|| {
                        Error::data_in(&source, format!("`{key}`: expected numbers, found {e}"))
                    }),
                })
                .collect()
        };
        let levels = obj
            .get("levels")
            .and_then(|l| l.as_array())
            .ok_or_else(|| {
                Error::missing_column(
                    source.clone(),
                    "levels".to_string(),
                    obj.keys().cloned().collect::<Vec<_>>().join(", "),
                )
            })?;
        let x = numbers("levels", levels)?;
        let mut ys = Vec::new();
        for (key, val) in obj {
            let Some(arr) = val.as_array() else { continue };
            // an empty list (e.g. `mc_failed` of a characterisation without Monte Carlo) is
            // not a curve
            if key == "levels"
                || arr.is_empty()
                || !arr.iter().all(|e| e.is_number() || e.is_null())
            {
                continue;
            }
            if arr.len() != x.len() {
                return Err(Error::data_in(
                    &source,
                    format!(
                        "`{key}` has {} values but `levels` has {}",
                        arr.len(),
                        x.len()
                    ),
                ));
            }
            ys.push((key.clone(), numbers(key, arr)?));
        }
        Ok(Curves {
            source,
            x_name: "input level".to_string(),
            x,
            ys,
        })
    }

    /// Keep only the curves named in `names` (all when empty), in that order.
    pub fn select(mut self, names: &[String]) -> Result<Curves> {
        if names.is_empty() {
            return Ok(self);
        }
        let all: Vec<String> = self.ys.iter().map(|c| c.0.clone()).collect();
        let mut picked = Vec::new();
        for n in names {
            let k = crate::io::csv::find_name(&all, n).ok_or_else(|| {
                Error::missing_column(self.source.clone(), n.clone(), all.join(", "))
            })?;
            picked.push(self.ys[k].clone());
        }
        self.ys = picked;
        Ok(self)
    }

    /// Transfer curves against their ideal straight lines, INL in the legend.
    pub fn transfer_figure(&self) -> Result<LineFigure> {
        if self.ys.is_empty() {
            return Err(Error::data_in(&self.source, "no y columns to draw"));
        }
        let unit = self
            .ys
            .first()
            .and_then(|(n, _)| unit_of(n))
            .filter(|u| self.ys.iter().all(|(n, _)| unit_of(n) == Some(*u)));
        let mut lines = Vec::new();
        for (i, (name, y)) in self.ys.iter().enumerate() {
            let pts = finite_pairs(&self.x, y);
            let label = match inl_percent(&self.x, y) {
                Some(inl) => format!("{name} (INL {inl:.2} %)"),
                None => format!("{name} (INL n/a)"),
            };
            if let (Some(&a), Some(&b)) = (pts.first(), pts.last()) {
                lines.push(Line {
                    label: if i == 0 {
                        "ideal (end points)".to_string()
                    } else {
                        String::new()
                    },
                    points: vec![a, b],
                    color: 6,
                    stroke: Stroke::Dashed,
                    ..Line::default()
                });
            }
            lines.push(Line {
                label,
                points: pts,
                color: i,
                stroke: Stroke::Markers,
                ..Line::default()
            });
        }
        let y_name = match self.ys.as_slice() {
            [(one, _)] => one.clone(),
            _ => "output".to_string(),
        };
        Ok(LineFigure {
            source: self.source.clone(),
            x_name: self.x_name.clone(),
            x_unit: unit_of(&self.x_name).map(str::to_string),
            x_log: false,
            panels: vec![Panel {
                y_name,
                y_unit: unit.map(str::to_string),
                lines,
            }],
        })
    }
}

/// Rows of `t` grouped by the text of column `col`, groups in order of first appearance.
fn groups(t: &CsvTable, col: usize) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (r, (_, fields)) in t.rows.iter().enumerate() {
        let key = CsvTable::text_at(fields, col);
        match out.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(r),
            None => out.push((key.to_string(), vec![r])),
        }
    }
    out
}

/// Fractions (every value within 0..1) become percent; anything else is taken as percent.
fn to_percent(columns: &mut [&mut Vec<f64>]) {
    let fraction = columns
        .iter()
        .flat_map(|c| c.iter())
        .filter(|v| v.is_finite())
        .all(|v| (0.0..=1.0).contains(v));
    if fraction {
        for c in columns.iter_mut() {
            c.iter_mut().for_each(|v| *v *= 100.0);
        }
    }
}

/// How a series name reads in a legend: `current_mirror` → `current-mirror`,
/// `capmin_v` → `CapMin-V`.
fn display_name(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "capmin" => "CapMin".to_string(),
        "capmin_v" | "capmin-v" => "CapMin-V".to_string(),
        _ => name.replace('_', "-"),
    }
}

/// Numbers of column `name` for the rows `rows` of `t`.
fn column_for(t: &CsvTable, name: &str, rows: &[usize]) -> Result<Vec<f64>> {
    let c = t.column_index(name)?;
    rows.iter()
        .map(|&r| t.number_at(t.rows[r].0, &t.rows[r].1, c))
        .collect()
}

/// Sort `(x, ...)` tuples by x so lines run left to right.
fn sorted_by_x<T: Copy>(mut v: Vec<(f64, T)>) -> Vec<(f64, T)> {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// Accuracy against variation, one line per neuron type with its 95% band, from a CSV with
/// columns `neuron,param,value,accuracy,accuracy_std,accuracy_lo,accuracy_hi,n,repeats`.
/// With several `param`s in the file, `param` chooses one.
pub fn accuracy_figure(path: &Path, param: Option<&str>) -> Result<LineFigure> {
    let t = CsvTable::read(path)?;
    let pc = t.column_index("param")?;
    let params = groups(&t, pc);
    let chosen = match (param, params.as_slice()) {
        (Some(p), _) => params.iter().find(|g| g.0 == p).ok_or_else(|| {
            Error::missing_column(
                t.source.clone(),
                format!("param = {p}"),
                params
                    .iter()
                    .map(|g| g.0.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?,
        (None, [one]) => one,
        (None, []) => return Err(Error::data_in(&t.source, "no data rows")),
        (None, many) => {
            return Err(Error::usage(format!(
                "{}: several parameters ({}); choose one with --param",
                t.source,
                many.iter()
                    .map(|g| g.0.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let nc = t.column_index("neuron")?;
    let rows = &chosen.1;
    let mut acc = column_for(&t, "accuracy", rows)?;
    let mut lo = column_for(&t, "accuracy_lo", rows)?;
    let mut hi = column_for(&t, "accuracy_hi", rows)?;
    let x = column_for(&t, "value", rows)?;
    to_percent(&mut [&mut acc, &mut lo, &mut hi]);
    let mut neurons: Vec<(String, Vec<usize>)> = Vec::new();
    for (k, &r) in rows.iter().enumerate() {
        let key = CsvTable::text_at(&t.rows[r].1, nc);
        match neurons.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(k),
            None => neurons.push((key.to_string(), vec![k])),
        }
    }
    let lines = neurons
        .iter()
        .enumerate()
        .map(|(i, (name, ks))| {
            let pts = sorted_by_x(ks.iter().map(|&k| (x[k], (acc[k], lo[k], hi[k]))).collect());
            Line {
                label: display_name(name),
                points: pts.iter().map(|p| (p.0, p.1.0)).collect(),
                band: Some(pts.iter().map(|p| (p.0, p.1.1, p.1.2)).collect()),
                color: i,
                stroke: Stroke::Markers,
            }
        })
        .collect();
    // a parameter swept over decades (a unit-capacitor area) is drawn on a log axis
    let mut xs = x.clone();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    Ok(LineFigure {
        source: t.source.clone(),
        x_name: chosen.0.clone(),
        x_unit: unit_of(&chosen.0).map(str::to_string),
        x_log: is_geometric(&xs),
        panels: vec![Panel {
            y_name: "accuracy".to_string(),
            y_unit: Some("%".to_string()),
            lines,
        }],
    })
}

/// The two CapMin sweeps share a layout: capacitance and accuracy against an x column,
/// one line per group (rule or method).
struct SweepSpec<'a> {
    group: &'a str,
    x: &'a str,
    x_name: &'a str,
    accuracy_first: bool,
}

fn capmin_pair_figure(path: &Path, spec: &SweepSpec) -> Result<LineFigure> {
    let t = CsvTable::read(path)?;
    let gc = t.column_index(spec.group)?;
    let all: Vec<usize> = (0..t.rows.len()).collect();
    if all.is_empty() {
        return Err(Error::data_in(&t.source, "no data rows"));
    }
    let x = column_for(&t, spec.x, &all)?;
    let cap = column_for(&t, "capacitance_f", &all)?;
    let mut acc = column_for(&t, "accuracy", &all)?;
    to_percent(&mut [&mut acc]);
    let mut cap_lines = Vec::new();
    let mut acc_lines = Vec::new();
    for (i, (name, rows)) in groups(&t, gc).into_iter().enumerate() {
        let pts = sorted_by_x(rows.iter().map(|&r| (x[r], (cap[r], acc[r]))).collect());
        let label = display_name(&name);
        cap_lines.push(Line {
            label: label.clone(),
            points: pts.iter().map(|p| (p.0, p.1.0)).collect(),
            color: i,
            stroke: Stroke::Markers,
            ..Line::default()
        });
        acc_lines.push(Line {
            label,
            points: pts.iter().map(|p| (p.0, p.1.1)).collect(),
            color: i,
            stroke: Stroke::Markers,
            ..Line::default()
        });
    }
    let cap_panel = Panel {
        y_name: "capacitance".to_string(),
        y_unit: Some("F".to_string()),
        lines: cap_lines,
    };
    let acc_panel = Panel {
        y_name: "accuracy".to_string(),
        y_unit: Some("%".to_string()),
        lines: acc_lines,
    };
    // Both panels show the same groups in the same colours: one legend, in the top panel.
    let unlabelled = |mut p: Panel| {
        p.lines.iter_mut().for_each(|l| l.label.clear());
        p
    };
    let panels = if spec.accuracy_first {
        vec![acc_panel, unlabelled(cap_panel)]
    } else {
        vec![cap_panel, unlabelled(acc_panel)]
    };
    Ok(LineFigure {
        source: t.source.clone(),
        x_name: spec.x_name.to_string(),
        x_unit: None,
        x_log: false,
        panels,
    })
}

/// Capacitor and accuracy against the number of kept levels K, one line per rule, from a CSV
/// with columns `rule,k,capacitance_f,accuracy`.
pub fn capmin_sweep_figure(path: &Path) -> Result<LineFigure> {
    capmin_pair_figure(
        path,
        &SweepSpec {
            group: "rule",
            x: "k",
            x_name: "kept levels K",
            accuracy_first: false,
        },
    )
}

/// Accuracy and capacitor against current variation for baseline, CapMin and CapMin-V, from
/// a CSV with columns `sigma,method,capacitance_f,accuracy`.
pub fn capmin_v_figure(path: &Path) -> Result<LineFigure> {
    capmin_pair_figure(
        path,
        &SweepSpec {
            group: "method",
            x: "sigma",
            x_name: "current variation σ",
            accuracy_first: true,
        },
    )
}

/// True when `x` looks like a logarithmic sweep: at least three positive values spanning
/// two decades or more, each a constant ratio (within 1 %) from the one before.
pub fn is_geometric(x: &[f64]) -> bool {
    let v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if v.len() < 3 || v.iter().any(|&a| a <= 0.0) {
        return false;
    }
    let ratio = v[1] / v[0];
    let (lo, hi) = (v[0].min(v[v.len() - 1]), v[0].max(v[v.len() - 1]));
    hi / lo >= 100.0
        && v.windows(2)
            .all(|w| ((w[1] / w[0]) / ratio - 1.0).abs() < 0.01)
}

/// One result column of a sweep: its name, unit (`"s"`) if any, one value per point.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepColumn {
    /// Column name (`tfirst`, `mem_count`).
    pub name: String,
    /// Unit, if it has one; columns of one unit share a panel.
    pub unit: Option<String>,
    /// One value per sweep point (NaN where it could not be taken).
    pub values: Vec<f64>,
}

/// `run --sweep --plot`: every result column against the swept value. Quantities of
/// different units never share an axis: one panel per unit (dimensionless numbers such as
/// spike counts in their own), top to bottom in column order. No ideal line and no INL: a
/// sweep result is not a transfer curve. The x axis is logarithmic when `log_x` (the
/// `--sweep-log` flag) says so or the values are a geometric series over two decades.
pub fn sweep_figure(
    source: &str,
    x_name: &str,
    x_unit: Option<&str>,
    x: &[f64],
    columns: &[SweepColumn],
    log_x: bool,
) -> Result<LineFigure> {
    let mut panels: Vec<Panel> = Vec::new();
    let mut names: Vec<Vec<String>> = Vec::new();
    for c in columns {
        let pts = finite_pairs(x, &c.values);
        if pts.is_empty() {
            continue;
        }
        let k = match panels.iter().position(|p| p.y_unit == c.unit) {
            Some(k) => k,
            None => {
                panels.push(Panel {
                    y_unit: c.unit.clone(),
                    ..Panel::default()
                });
                names.push(Vec::new());
                panels.len() - 1
            }
        };
        let color = panels[k].lines.len();
        panels[k].lines.push(Line {
            label: c.name.clone(),
            points: pts,
            color,
            stroke: Stroke::Markers,
            band: None,
        });
        names[k].push(c.name.clone());
    }
    if panels.is_empty() {
        return Err(Error::data_in(
            source,
            "no sweep point has a finite result to draw",
        ));
    }
    for (p, n) in panels.iter_mut().zip(&names) {
        p.y_name = match n.as_slice() {
            [one] => one.clone(),
            _ => match &p.y_unit {
                Some(u) => super::units::quantity_of(u).to_string(),
                None => "value".to_string(),
            },
        };
        // A single line needs no legend: the axis names it.
        if n.len() == 1 {
            p.lines.iter_mut().for_each(|l| l.label.clear());
        }
    }
    Ok(LineFigure {
        source: source.to_string(),
        x_name: x_name.to_string(),
        x_unit: x_unit.map(str::to_string),
        x_log: (log_x || is_geometric(x)) && x.iter().any(|v| *v > 0.0),
        panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inl_of_a_bent_line() {
        // y = x^2 on 0..2: line through (0,0),(2,4) is y = 2x; max |x^2 - 2x| = 1 at x = 1;
        // full scale 4, so 25 %.
        let x = [0.0, 0.5, 1.0, 1.5, 2.0];
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        assert!((inl_percent(&x, &y).unwrap() - 25.0).abs() < 1e-12);
        let straight: Vec<f64> = x.iter().map(|v| 3.0 * v + 1.0).collect();
        assert!(inl_percent(&x, &straight).unwrap() < 1e-12);
        assert_eq!(inl_percent(&x, &[1.0; 5]), None);
    }

    #[test]
    fn percent_only_for_fractions() {
        let mut a = vec![0.9, 0.95];
        let mut b = vec![0.85, 1.0];
        to_percent(&mut [&mut a, &mut b]);
        assert_eq!(a, [90.0, 95.0]);
        let mut c = vec![90.0, 95.0];
        to_percent(&mut [&mut c]);
        assert_eq!(c, [90.0, 95.0]);
    }

    #[test]
    fn names_for_legends() {
        assert_eq!(display_name("capmin_v"), "CapMin-V");
        assert_eq!(display_name("current_mirror"), "current-mirror");
    }
}
