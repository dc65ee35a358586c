//! Monte Carlo statistics: histogram of a measure (`hist`) and a measure against a sampled
//! parameter (`scatter`), both from a runs.csv.

use super::figure::{
    Axes, Figure, Style, axes, color, densify, draw_err, draw_line, finite_range, padded,
};
use super::legend::{self, Entry, Sample};
use super::units::{AxisScale, unit_of};
use crate::error::{Error, Result};
use crate::io::csv::CsvTable;
use crate::stats::{linear_fit, mean_sigma};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The successful runs of a Monte Carlo runs.csv (`run,status,reason,<measures>,<params>`).
#[derive(Debug, Clone)]
pub struct Runs {
    table: CsvTable,
    ok: Vec<usize>,
    units: std::collections::BTreeMap<String, String>,
}

impl Runs {
    /// Read a runs.csv and keep the rows whose `status` is `ok`.
    pub fn read(path: &Path) -> Result<Runs> {
        let mut runs = Runs::from_table(CsvTable::read(path)?)?;
        // A sidecar that cannot be read only costs the units, not the figure.
        if let Ok(Some(meta)) = crate::mc::io::read_meta(path) {
            runs.units = meta.units;
        }
        Ok(runs)
    }

    /// Keep the rows of `table` whose `status` is `ok`.
    pub fn from_table(table: CsvTable) -> Result<Runs> {
        let status = table.column_index("status")?;
        let ok: Vec<usize> = (0..table.rows.len())
            .filter(|&r| CsvTable::text_at(&table.rows[r].1, status).eq_ignore_ascii_case("ok"))
            .collect();
        if ok.is_empty() {
            return Err(Error::data_in(
                &table.source,
                format!("none of {} runs has status ok", table.rows.len()),
            ));
        }
        Ok(Runs {
            table,
            ok,
            units: Default::default(),
        })
    }

    /// Values of column `name` in the successful runs (NaN where a field is empty).
    pub fn column(&self, name: &str) -> Result<Vec<f64>> {
        let c = self.table.column_index(name)?;
        self.ok
            .iter()
            .map(|&r| {
                let (line, fields) = &self.table.rows[r];
                self.table.number_at(*line, fields, c)
            })
            .collect()
    }

    /// Name of the first measure column (the one after `reason`), the default for `hist`.
    pub fn first_measure(&self) -> Option<&str> {
        let h = &self.table.headers;
        let after = h.iter().position(|n| n == "reason").map_or(3, |i| i + 1);
        h.get(after).map(String::as_str)
    }

    /// Where the runs came from.
    pub fn source(&self) -> &str {
        &self.table.source
    }

    /// The unit of column `name`: as `mc` recorded it for its measures in the sidecar
    /// `runs.csv.meta.json` (from the measure's kind and signal), else by the naming
    /// convention of [`unit_of`].
    pub fn unit(&self, name: &str) -> Option<String> {
        self.units
            .get(&name.to_ascii_lowercase())
            .cloned()
            .or_else(|| unit_of(name).map(str::to_string))
    }
}

/// Histogram of one measure over the Monte Carlo runs, with mean, ±σ and the fitted normal.
#[derive(Debug, Clone)]
pub struct HistPlot {
    /// Measure name.
    pub name: String,
    /// Its unit (`"s"`), if it has one.
    pub unit: Option<String>,
    /// One value per run; non-finite values are left out.
    pub values: Vec<f64>,
    /// Number of bins; by default Rice's rule 2·n^(1/3), within 5..60.
    pub bins: Option<usize>,
}

impl HistPlot {
    /// Bin edges (count + 1) and counts.
    pub fn binned(&self) -> Option<(Vec<f64>, Vec<u64>)> {
        let v: Vec<f64> = self
            .values
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        let (lo, hi) = finite_range(&v)?;
        let bins = self
            .bins
            .unwrap_or_else(|| ((2.0 * (v.len() as f64).cbrt()).round() as usize).clamp(5, 60))
            .max(1);
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            padded(lo, hi, 0.0)
        };
        let w = (hi - lo) / bins as f64;
        let edges: Vec<f64> = (0..=bins).map(|i| lo + w * i as f64).collect();
        let mut counts = vec![0u64; bins];
        for x in v {
            let b = (((x - lo) / w) as usize).min(bins - 1);
            counts[b] += 1;
        }
        Some((edges, counts))
    }
}

impl Figure for HistPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()> {
        let (Some((edges, counts)), Some((mean, sigma, n))) =
            (self.binned(), mean_sigma(&self.values))
        else {
            return Err(Error::data_in(
                &self.name,
                "a histogram needs at least two finite values",
            ));
        };
        let w = edges[1] - edges[0];
        let normal = |x: f64| {
            n as f64 * w * (-(x - mean).powi(2) / (2.0 * sigma * sigma)).exp()
                / (sigma * (2.0 * std::f64::consts::PI).sqrt())
        };
        let peak = if sigma > 0.0 { normal(mean) } else { 0.0 };
        let ymax = counts.iter().copied().max().unwrap_or(1) as f64;
        let first = edges[0];
        let last = edges[edges.len() - 1];
        let unit = self.unit.as_deref();
        let mut a = Axes {
            x: padded(
                first.min(mean - 3.0 * sigma),
                last.max(mean + 3.0 * sigma),
                0.02,
            ),
            y: (0.0, ymax.max(peak) * 1.25),
            xname: st.xlabel.clone().unwrap_or_else(|| self.name.clone()),
            yname: st.ylabel(0).unwrap_or_else(|| "runs".to_string()),
            xunit: self.unit.clone(),
            yunit: None,
            show_x: true,
            x_log: false,
            y_area: 0.0,
            outside: (0.0, 0.0),
        };
        let fit_pts: Vec<(f64, f64)> = (0..=200)
            .map(|i| a.x.0 + (a.x.1 - a.x.0) * i as f64 / 200.0)
            .map(|x| (x, normal(x)))
            .collect();
        let bar = color(0).mix(0.55).filled();
        let mean_style = st.line(color(1), 1.0);
        let sigma_style = st.line(color(1), 0.6);
        let fit_style = st.line(color(6), 0.9);
        let mut entries = vec![
            Entry::new(format!("{n} runs"), Sample::Bar(bar)),
            Entry::new(
                format!("mean {}", AxisScale::format_value(mean, unit)),
                Sample::Line(mean_style),
            ),
            Entry::new(
                format!("±σ, σ = {}", AxisScale::format_value(sigma, unit)),
                Sample::Dashed(sigma_style),
            ),
        ];
        if sigma > 0.0 {
            entries.push(Entry::new("normal fit", Sample::Line(fit_style)));
        }
        // What the legend must not cover: the bars (filled), the mean and ±σ lines over the
        // full height, and the fitted curve.
        let mut occupied = Vec::new();
        for (i, &c) in counts.iter().enumerate() {
            for k in 0..=8 {
                let x = edges[i] + (edges[i + 1] - edges[i]) * f64::from(k) / 8.0;
                occupied.extend((0..=8).map(|j| (x, c as f64 * f64::from(j) / 8.0)));
            }
        }
        // The mean and ±σ lines reach a little above the tallest bar, not the top of the
        // axis, so that a legend raised above the data is not crossed by them.
        let y_top = ymax.max(peak) * 1.1;
        for x in [mean - sigma, mean, mean + sigma] {
            occupied.extend(densify(&[(x, a.y.0), (x, y_top)], 50));
        }
        if sigma > 0.0 {
            occupied.extend(&fit_pts);
        }
        let plan = legend::plan(root.dim_in_pixel(), st, &a, &entries, &occupied, true);
        a.y = plan.y;
        a.outside = plan.outside(st);
        let mut chart = axes(root, st, &a)?;
        chart
            .draw_series(
                counts.iter().enumerate().map(|(i, &c)| {
                    Rectangle::new([(edges[i], 0.0), (edges[i + 1], c as f64)], bar)
                }),
            )
            .map_err(draw_err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(mean, 0.0), (mean, y_top)],
                mean_style,
            )))
            .map_err(draw_err)?;
        let dash = st.px(2.0);
        for x in [mean - sigma, mean + sigma] {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x, 0.0), (x, y_top)],
                    dash,
                    dash,
                    sigma_style,
                ))
                .map_err(draw_err)?;
        }
        if sigma > 0.0 {
            draw_line(&mut chart, st, fit_pts, fit_style)?;
        }
        legend::draw(root, chart.plotting_area(), st, &a, &plan)
    }
}

/// A measure against a sampled parameter, one point per run, with a least-squares line.
#[derive(Debug, Clone)]
pub struct ScatterPlot {
    /// x column name (a sampled parameter).
    pub x_name: String,
    /// y column name (a measure).
    pub y_name: String,
    /// x values, one per run.
    pub x: Vec<f64>,
    /// y values, one per run.
    pub y: Vec<f64>,
    /// x unit, if any.
    pub x_unit: Option<String>,
    /// y unit, if any.
    pub y_unit: Option<String>,
}

impl Figure for ScatterPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()> {
        let pts: Vec<(f64, f64)> = self
            .x
            .iter()
            .zip(&self.y)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (*a, *b))
            .collect();
        let (Some(xr), Some(yr)) = (
            finite_range(pts.iter().map(|p| &p.0)),
            finite_range(pts.iter().map(|p| &p.1)),
        ) else {
            return Err(Error::data_in(
                &self.y_name,
                format!("no run has finite {} and {}", self.x_name, self.y_name),
            ));
        };
        let mut a = Axes {
            x: padded(xr.0, xr.1, 0.05),
            y: padded(yr.0, yr.1, 0.08),
            xname: st.xlabel.clone().unwrap_or_else(|| self.x_name.clone()),
            yname: st.ylabel(0).unwrap_or_else(|| self.y_name.clone()),
            xunit: self.x_unit.clone(),
            yunit: self.y_unit.clone(),
            show_x: true,
            x_log: false,
            y_area: 0.0,
            outside: (0.0, 0.0),
        };
        let fit = linear_fit(&self.x, &self.y);
        let dot = color(0).mix(0.6).filled();
        let r = st.px(1.2);
        let fit_style = st.line(color(1), 0.9);
        let mut entries = vec![Entry::new(
            format!("{} runs", pts.len()),
            Sample::Dot(dot, r),
        )];
        let mut occupied = pts.clone();
        if let Some((c0, c1, rho)) = fit {
            entries.push(Entry::new(
                format!("least squares, r = {rho:.3}"),
                Sample::Line(fit_style),
            ));
            occupied.extend(densify(&[a.x.0, a.x.1].map(|x| (x, c0 + c1 * x)), 100));
        }
        let plan = legend::plan(root.dim_in_pixel(), st, &a, &entries, &occupied, true);
        a.y = plan.y;
        a.outside = plan.outside(st);
        let mut chart = axes(root, st, &a)?;
        let ri = r as i32;
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, ri, dot)))
            .map_err(draw_err)?;
        if let Some((c0, c1, _)) = fit {
            chart
                .draw_series(LineSeries::new(
                    [a.x.0, a.x.1].map(|x| (x, c0 + c1 * x)),
                    fit_style,
                ))
                .map_err(draw_err)?;
        }
        legend::draw(root, chart.plotting_area(), st, &a, &plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_hold_every_value() {
        let h = HistPlot {
            name: "t_s".into(),
            unit: Some("s".into()),
            values: (0..1000).map(|i| i as f64).collect(),
            bins: None,
        };
        let (edges, counts) = h.binned().unwrap();
        assert_eq!(counts.len(), 20);
        assert_eq!(edges.len(), 21);
        assert_eq!(counts.iter().sum::<u64>(), 1000);
        assert!(counts.iter().all(|&c| c == 50));
    }

    #[test]
    fn only_ok_rows() {
        let t = CsvTable::parse(
            "runs.csv",
            "run,status,reason,t_s,vth\n1,ok,,1e-9,0.3\n2,failed,no convergence,,0.4\n3,ok,,2e-9,0.35\n",
        )
        .unwrap();
        let r = Runs::from_table(t).unwrap();
        assert_eq!(r.column("t_s").unwrap(), [1e-9, 2e-9]);
        assert_eq!(r.first_measure(), Some("t_s"));
        assert!(
            r.column("nope")
                .unwrap_err()
                .to_string()
                .contains("no column `nope`")
        );
    }
}
