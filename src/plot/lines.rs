//! Line charts with optional bands, markers and dashes, in one or more panels sharing x.
//! Transfer curves, accuracy against variation and the CapMin sweeps are all drawn by this.

use super::figure::{
    Axes, Figure, Style, axes, color, densify, draw_err, draw_line, finite_range, padded,
};
use super::legend::{self, Entry, Sample};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stroke {
    /// Solid line.
    #[default]
    Solid,
    /// Solid line with a dot at each point.
    Markers,
    /// Dashed line (reference lines such as an ideal transfer).
    Dashed,
}

/// One line of a panel.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// Legend text; empty for no legend entry.
    pub label: String,
    /// Points (x, y) in SI units, drawn in order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Optional shaded band (x, lo, hi), e.g. a 95% interval.
    pub band: Option<Vec<(f64, f64, f64)>>,
    /// Palette index of the colour.
    pub color: usize,
    /// Solid, with markers, or dashed.
    pub stroke: Stroke,
}

/// One panel: y axis description and its lines. Its legend (the lines with a label) is
/// placed where it covers no data (`legend::plan`).
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// y quantity name.
    pub y_name: String,
    /// y unit (`"F"`, `"%"`), if any.
    pub y_unit: Option<String>,
    /// The lines.
    pub lines: Vec<Line>,
}

/// A figure of stacked panels sharing one x axis.
#[derive(Debug, Clone, Default)]
pub struct LineFigure {
    /// Where the data came from, for error messages.
    pub source: String,
    /// x quantity name.
    pub x_name: String,
    /// x unit, if any.
    pub x_unit: Option<String>,
    /// Logarithmic x axis (points with x <= 0 cannot be drawn on it and are left out).
    pub x_log: bool,
    /// Panels, top to bottom.
    pub panels: Vec<Panel>,
}

impl Figure for LineFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()> {
        // On a log axis everything is drawn at log10(x); x <= 0 becomes NaN and is skipped.
        let fx = |x: f64| if self.x_log { x.log10() } else { x };
        let xs: Vec<f64> = self
            .panels
            .iter()
            .flat_map(|p| {
                p.lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|q| fx(q.0)))
            })
            .collect();
        let xr = finite_range(&xs)
            .ok_or_else(|| Error::data_in(&self.source, "no finite points to draw"))?;
        let x = padded(xr.0, xr.1, 0.03);
        let areas = root.split_evenly((self.panels.len(), 1));
        // Every panel's y label area as wide as the widest, so the x axes line up.
        let mut y_area: f64 = 0.0;
        for panel in &self.panels {
            let ys: Vec<f64> = panel
                .lines
                .iter()
                .flat_map(|l| l.points.iter().map(|q| q.1))
                .collect();
            if let Some(yr) = finite_range(&ys) {
                let a = Axes {
                    x,
                    y: padded(yr.0, yr.1, 0.08),
                    xname: String::new(),
                    yname: String::new(),
                    xunit: None,
                    yunit: panel.y_unit.clone(),
                    show_x: true,
                    x_log: self.x_log,
                    y_area: 0.0,
                    outside: (0.0, 0.0),
                };
                y_area = y_area.max(super::figure::label_areas(st, &a).1);
            }
        }
        for (i, (panel, area)) in self.panels.iter().zip(&areas).enumerate() {
            let ys = panel.lines.iter().flat_map(|l| {
                l.points.iter().map(|q| q.1).chain(
                    l.band
                        .iter()
                        .flat_map(|b| b.iter().flat_map(|q| [q.1, q.2])),
                )
            });
            let ys: Vec<f64> = ys.collect();
            let yr = finite_range(&ys).ok_or_else(|| {
                Error::data_in(&self.source, format!("no finite {} values", panel.y_name))
            })?;
            let mut a = Axes {
                x,
                y: padded(yr.0, yr.1, 0.08),
                xname: st.xlabel.clone().unwrap_or_else(|| self.x_name.clone()),
                yname: st.ylabel(i).unwrap_or_else(|| panel.y_name.clone()),
                xunit: self.x_unit.clone(),
                yunit: panel.y_unit.clone(),
                show_x: i + 1 == self.panels.len(),
                x_log: self.x_log,
                y_area,
                outside: (0.0, 0.0),
            };
            let entries: Vec<Entry> = panel
                .lines
                .iter()
                .filter(|l| !l.label.is_empty())
                .map(|l| Entry::new(l.label.clone(), sample(st, l)))
                .collect();
            let mut occupied = Vec::new();
            for l in &panel.lines {
                let pts: Vec<(f64, f64)> = l.points.iter().map(|q| (fx(q.0), q.1)).collect();
                occupied.extend(densify(&pts, 40));
                for q in l.band.iter().flatten() {
                    occupied.extend(densify(&[(fx(q.0), q.1), (fx(q.0), q.2)], 10));
                }
            }
            let single = self.panels.len() == 1;
            let plan = legend::plan(area.dim_in_pixel(), st, &a, &entries, &occupied, single);
            a.y = plan.y;
            a.outside = plan.outside(st);
            let mut chart = axes(area, st, &a)?;
            for l in &panel.lines {
                if let Some(band) = &l.band {
                    let fill = color(l.color).mix(0.2).filled();
                    let poly: Vec<(f64, f64)> = band
                        .iter()
                        .map(|q| (fx(q.0), q.1))
                        .filter(|q| q.0.is_finite() && q.1.is_finite())
                        .chain(
                            band.iter()
                                .rev()
                                .map(|q| (fx(q.0), q.2))
                                .filter(|q| q.0.is_finite() && q.1.is_finite()),
                        )
                        .collect();
                    chart
                        .draw_series(std::iter::once(Polygon::new(poly, fill)))
                        .map_err(draw_err)?;
                }
            }
            for l in &panel.lines {
                let style = st.line(
                    color(l.color),
                    if l.stroke == Stroke::Dashed { 0.7 } else { 1.0 },
                );
                let pts: Vec<(f64, f64)> = l
                    .points
                    .iter()
                    .map(|q| (fx(q.0), q.1))
                    .filter(|q| q.0.is_finite() && q.1.is_finite())
                    .collect();
                if l.stroke == Stroke::Markers {
                    let r = st.px(1.4) as i32;
                    let dot = color(l.color).filled();
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, r, dot)))
                        .map_err(draw_err)?;
                }
                if l.stroke == Stroke::Dashed {
                    let d = st.px(2.5);
                    chart
                        .draw_series(DashedLineSeries::new(pts, d, d, style))
                        .map_err(draw_err)?;
                } else {
                    draw_line(&mut chart, st, pts, style)?;
                }
            }
            legend::draw(area, chart.plotting_area(), st, &a, &plan)?;
        }
        Ok(())
    }
}

/// The legend sample of a line, as it is drawn.
fn sample(st: &Style, l: &Line) -> Sample {
    let style = st.line(
        color(l.color),
        if l.stroke == Stroke::Dashed { 0.7 } else { 1.0 },
    );
    match l.stroke {
        Stroke::Solid => Sample::Line(style),
        Stroke::Markers => Sample::LineDot(style, st.px(1.4)),
        Stroke::Dashed => Sample::Dashed(style),
    }
}
