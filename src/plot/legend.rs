//! Legends: where they go (a free corner, a corner made free by widening the y range, or
//! outside the plotting area, right of it or below it in columns) and drawing them.
//!
//! Every figure lists its entries ([`Entry`]: label and sample) and the points where it
//! draws something (in data units) before laying out its axes; [`plan`] chooses the
//! placement that leaves the data the largest share of the page, and [`draw`] draws the
//! legend there. The choice is recorded in docs/plot.md (Layout).

use super::figure::{Axes, Style, draw_err, label_areas, plot_area_size};
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How an entry's series looks, drawn in the legend's sample area.
#[derive(Debug, Clone, Copy)]
pub enum Sample {
    /// A solid line.
    Line(ShapeStyle),
    /// A line with a dot in the middle (series drawn with markers).
    LineDot(ShapeStyle, f64),
    /// A dashed line.
    Dashed(ShapeStyle),
    /// A filled box (bars, bands).
    Bar(ShapeStyle),
    /// A dot of the given radius, pixels.
    Dot(ShapeStyle, f64),
    /// A triangle marker of the given size, pixels.
    Triangle(ShapeStyle, f64),
}

/// One legend entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The text.
    pub label: String,
    /// The sample drawn before it.
    pub sample: Sample,
}

impl Entry {
    /// An entry of `label` with `sample`.
    pub fn new(label: impl Into<String>, sample: Sample) -> Entry {
        Entry {
            label: label.into(),
            sample,
        }
    }
}

/// A corner of the plotting area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    /// Upper left.
    UpperLeft,
    /// Upper right.
    UpperRight,
    /// Lower left.
    LowerLeft,
    /// Lower right.
    LowerRight,
}

impl Corner {
    const ALL: [Corner; 4] = [
        Corner::UpperRight,
        Corner::UpperLeft,
        Corner::LowerRight,
        Corner::LowerLeft,
    ];

    fn upper(self) -> bool {
        matches!(self, Corner::UpperLeft | Corner::UpperRight)
    }

    fn left(self) -> bool {
        matches!(self, Corner::UpperLeft | Corner::LowerLeft)
    }
}

/// Where the legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Inside the plotting area, in a corner.
    Inside(Corner),
    /// Right of the plotting area, one column, top aligned with it.
    Right,
    /// Below the x axis label, in `cols` columns, centred on the plotting area.
    Below(usize),
}

/// Legend text size, points.
pub const LEGEND_PT: f64 = 6.5;

/// A placement that shrinks the data to less than this share of what it had is not taken
/// while another exists (a legend that squeezes the data into a fifth is worse than none).
const LEAST_SHARE: f64 = 0.2;

/// Outside placements are taken only when they leave the data clearly more room than the
/// best inside one: a legend inside keeps the figure compact and is what a reader expects.
const OUTSIDE_PENALTY: f64 = 0.95;

/// The chosen placement, the y range to draw with, and the entries.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where.
    pub place: Place,
    /// The y range to draw with: the given one, or wider so that a corner is free.
    pub y: (f64, f64),
    /// The entries.
    pub entries: Vec<Entry>,
}

impl Plan {
    /// Room the axes must leave outside the plotting area for the legend, pixels
    /// (right, below); zero for a legend inside.
    pub fn outside(&self, st: &Style) -> (f64, f64) {
        let (w, h) = size(st, &self.entries, self.cols());
        match self.place {
            Place::Inside(_) => (0.0, 0.0),
            Place::Right => (w + pad(st), 0.0),
            Place::Below(_) => (0.0, h + pad(st)),
        }
    }

    fn cols(&self) -> usize {
        match self.place {
            Place::Below(c) => c,
            _ => 1,
        }
    }
}

/// Gap between the legend and the axes, pixels.
fn pad(st: &Style) -> f64 {
    st.px(3.0)
}

/// Inner margin of the legend box, pixels.
fn margin(st: &Style) -> f64 {
    st.px(2.0)
}

/// Width of the sample area before each label, pixels.
fn sample_w(st: &Style) -> f64 {
    st.px(14.0)
}

/// Gap between columns, pixels.
fn col_gap(st: &Style) -> f64 {
    st.px(6.0)
}

fn line_h(st: &Style) -> f64 {
    st.px(LEGEND_PT) * 1.24 * 1.25
}

fn text_w(st: &Style, entries: &[Entry]) -> f64 {
    let font = st.font(LEGEND_PT);
    entries
        .iter()
        .map(|e| {
            font.font
                .box_size(&e.label)
                .map_or(0.0, |(w, _)| f64::from(w))
        })
        .fold(0.0, f64::max)
}

/// The legend box (width, height) in pixels with `cols` columns.
pub fn size(st: &Style, entries: &[Entry], cols: usize) -> (f64, f64) {
    let cols = cols.clamp(1, entries.len().max(1));
    let rows = entries.len().div_ceil(cols);
    let col_w = sample_w(st) + text_w(st, entries);
    (
        cols as f64 * col_w + (cols - 1) as f64 * col_gap(st) + 2.0 * margin(st),
        rows as f64 * line_h(st) + 2.0 * margin(st),
    )
}

/// Choose where the legend of `entries` goes on axes `a` drawn in an area of `dim` pixels,
/// given the points in data units where the figure draws something (lines sampled densely
/// along their segments, areas filled with points). `outside` allows placements outside
/// the plotting area (single panels; stacked panels keep their plotting areas aligned).
///
/// Each placement is scored by the share of the page the data keeps: a free corner
/// (tried upper right, upper left, lower right, lower left) keeps it all; a corner freed by
/// raising the top or lowering the bottom of the y range keeps the old span over the new
/// one (the bottom never goes below zero for data that are never negative); a legend
/// right of or below the plotting area keeps the width or height it leaves. The highest
/// score wins, outside placements discounted by 5 %.
pub fn plan(
    dim: (u32, u32),
    st: &Style,
    a: &Axes,
    entries: &[Entry],
    occupied: &[(f64, f64)],
    outside: bool,
) -> Plan {
    let make = |place, y| Plan {
        place,
        y,
        entries: entries.to_vec(),
    };
    if entries.is_empty() {
        return make(Place::Inside(Corner::UpperRight), a.y);
    }
    let (pw, ph) = plot_area_size(dim, st, a);
    let (lw, lh) = size(st, entries, 1);
    // The legend box as fractions of the plotting area, from its corner, with the pad and
    // a little air around it.
    let air = st.px(1.5);
    let fw = ((lw + pad(st) + air) / pw).min(1.0);
    let fh = ((lh + pad(st) + air) / ph).min(1.0);
    let (x0, x1) = a.x;
    let (y0, y1) = a.y;
    let fx = |x: f64| (x - x0) / (x1 - x0);
    let fy = |y: f64| (y - y0) / (y1 - y0);
    let under = |c: Corner, x: f64| {
        let u = fx(x);
        if c.left() { u <= fw } else { u >= 1.0 - fw }
    };
    let visible: Vec<(f64, f64)> = occupied
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .filter(|p| (0.0..=1.0).contains(&fx(p.0)) && (0.0..=1.0).contains(&fy(p.1)))
        .collect();
    let non_negative = visible.iter().all(|p| p.1 >= 0.0);
    // (score, place, y range)
    let mut options: Vec<(f64, Place, (f64, f64))> = Vec::new();
    for c in Corner::ALL {
        let col: Vec<f64> = visible
            .iter()
            .filter(|p| under(c, p.0))
            .map(|p| p.1)
            .collect();
        let free = !col.iter().any(|&y| {
            let v = fy(y);
            if c.upper() { v >= 1.0 - fh } else { v <= fh }
        });
        if free {
            options.push((1.0, Place::Inside(c), a.y));
            break;
        }
        if fh >= 1.0 - LEAST_SHARE {
            continue;
        }
        // The range in which the box sits beyond every point under it.
        let y = if c.upper() {
            let top = col.iter().copied().fold(y0, f64::max);
            (y0, (y0 + (top - y0) / (1.0 - fh)).max(y1))
        } else {
            let bottom = col.iter().copied().fold(y1, f64::min);
            let b = ((bottom - fh * y1) / (1.0 - fh)).min(y0);
            if non_negative && b < y0.min(0.0) {
                continue;
            }
            (b, y1)
        };
        let share = (y1 - y0) / (y.1 - y.0);
        if share >= LEAST_SHARE {
            options.push((share, Place::Inside(c), y));
        }
    }
    if outside {
        if lw + pad(st) < 0.5 * pw && lh <= ph {
            options.push((
                OUTSIDE_PENALTY * (pw - lw - pad(st)) / pw,
                Place::Right,
                a.y,
            ));
        }
        // as many columns as fit under the plotting area, then rows balanced
        let n = entries.len();
        let cols = (1..=n)
            .rev()
            .find(|&c| size(st, entries, c).0 <= pw)
            .unwrap_or(1);
        let cols = n.div_ceil(n.div_ceil(cols));
        let (bw, bh) = size(st, entries, cols);
        if bw <= pw && bh + pad(st) < 0.5 * ph {
            options.push((
                OUTSIDE_PENALTY * (ph - bh - pad(st)) / ph,
                Place::Below(cols),
                a.y,
            ));
        }
    }
    // The best; the first of equals (corners in the order tried).
    let best = options
        .into_iter()
        .fold(None::<(f64, Place, (f64, f64))>, |acc, o| match acc {
            Some(b) if b.0 >= o.0 => Some(b),
            _ => Some(o),
        });
    match best {
        Some((_, place, y)) => make(place, y),
        // Nothing fits anywhere: upper right over the data rather than no legend.
        None => make(Place::Inside(Corner::UpperRight), a.y),
    }
}

/// Draw the legend `plan` placed, on `area` (the drawing area the axes were laid out in),
/// whose plotting area is `plotting` (from `chart.plotting_area()`), with axes `a`.
pub fn draw<DB: DrawingBackend, P: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, Shift>,
    plotting: &DrawingArea<DB, P>,
    st: &Style,
    a: &Axes,
    plan: &Plan,
) -> Result<()> {
    if plan.entries.is_empty() {
        return Ok(());
    }
    let (ax, ay) = area.get_base_pixel();
    let (px, py) = plotting.get_base_pixel();
    let (pl, pt) = (f64::from(px - ax), f64::from(py - ay));
    let (pw, ph) = plotting.dim_in_pixel();
    let (pw, ph) = (f64::from(pw), f64::from(ph));
    let cols = plan.cols();
    let (lw, lh) = size(st, &plan.entries, cols);
    let pad = pad(st);
    let (x, y) = match plan.place {
        Place::Inside(c) => (
            if c.left() {
                pl + pad
            } else {
                pl + pw - lw - pad
            },
            if c.upper() {
                pt + pad
            } else {
                pt + ph - lh - pad
            },
        ),
        Place::Right => (pl + pw + pad, pt),
        Place::Below(_) => (pl + (pw - lw) / 2.0, pt + ph + label_areas(st, a).0 + pad),
    };
    let r = |v: f64| v.round() as i32;
    area.draw(&Rectangle::new(
        [(r(x), r(y)), (r(x + lw), r(y + lh))],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(draw_err)?;
    area.draw(&Rectangle::new(
        [(r(x), r(y)), (r(x + lw), r(y + lh))],
        RGBColor(0xB0, 0xB0, 0xB0).stroke_width(st.ipx(0.3)),
    ))
    .map_err(draw_err)?;
    let rows = plan.entries.len().div_ceil(cols);
    let col_w = sample_w(st) + text_w(st, &plan.entries) + col_gap(st);
    let font = st.font(LEGEND_PT).pos(Pos::new(HPos::Left, VPos::Center));
    let len = st.px(10.0);
    for (i, e) in plan.entries.iter().enumerate() {
        // column-major, as a reader scans: down the first column, then the next
        let (c, row) = (i / rows, i % rows);
        let x0 = x + margin(st) + c as f64 * col_w;
        let yc = y + margin(st) + (row as f64 + 0.5) * line_h(st);
        let (s, m) = ((r(x0), r(yc)), (r(x0 + len / 2.0), r(yc)));
        let line = |style: ShapeStyle, from: f64, to: f64| {
            PathElement::new(vec![(r(x0 + from), r(yc)), (r(x0 + to), r(yc))], style)
        };
        match e.sample {
            Sample::Line(style) => area.draw(&line(style, 0.0, len)),
            Sample::LineDot(style, rad) => area
                .draw(&line(style, 0.0, len))
                .and_then(|_| area.draw(&Circle::new(m, r(rad), style.color.filled()))),
            Sample::Dashed(style) => area
                .draw(&line(style, 0.0, 0.4 * len))
                .and_then(|_| area.draw(&line(style, 0.6 * len, len))),
            Sample::Bar(style) => {
                let hh = st.px(3.0);
                area.draw(&Rectangle::new(
                    [(s.0, r(yc - hh)), (r(x0 + st.px(8.0)), r(yc + hh))],
                    style,
                ))
            }
            Sample::Dot(style, rad) => area.draw(&Circle::new(m, r(rad), style)),
            Sample::Triangle(style, size) => area.draw(&TriangleMarker::new(m, r(size), style)),
        }
        .map_err(draw_err)?;
        area.draw_text(&e.label, &font, (r(x0 + sample_w(st)), r(yc)))
            .map_err(draw_err)?;
    }
    Ok(())
}
