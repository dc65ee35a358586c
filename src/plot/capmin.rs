//! The MAC-level histogram of CapMin (`capmin-hist`), log-scale counts.

use super::figure::{Axes, Figure, Style, color, densify, draw_err, house_mesh};
use super::legend::{self, Entry, Sample};
use crate::error::{Error, Result};
use crate::io::levels::LevelCounts;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Count axis tick text: 1, 10, 100, 1k, 10k, 1M.
fn count_text(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

impl Figure for LevelCounts {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()> {
        let all = || self.layers.iter().flat_map(|l| l.1.iter());
        let (Some(lmin), Some(lmax)) = (all().map(|p| p.0).min(), all().map(|p| p.0).max()) else {
            return Err(Error::data_in(&self.source, "no levels to draw"));
        };
        let cmax = all().map(|p| p.1).max().unwrap_or(1).max(1) as f64;
        let bars = self.layers.len() == 1;
        // Counts of zero cannot sit on a log axis; they are simply absent from the plot.
        let layers: Vec<(String, RGBColor, Vec<(f64, f64)>)> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, (name, counts))| {
                let c = if name == "all" && !bars {
                    color(6)
                } else {
                    color(i)
                };
                let pts = counts
                    .iter()
                    .filter(|p| p.1 > 0)
                    .map(|&(l, n)| (l as f64, n as f64))
                    .collect();
                (format!("layer {name}"), c, pts)
            })
            .collect();
        let line_style = |c: RGBColor| st.line(c, 0.9);
        let entries: Vec<Entry> = layers
            .iter()
            .map(|(label, c, _)| {
                let sample = if bars {
                    Sample::Bar(c.mix(0.7).filled())
                } else {
                    Sample::LineDot(line_style(*c), st.px(1.3))
                };
                Entry::new(label.clone(), sample)
            })
            .collect();
        // The legend is placed on the axes in log10 of the count, where the bars and lines
        // are drawn straight.
        let floor = 0.5f64.log10();
        let mut occupied = Vec::new();
        for (_, _, pts) in &layers {
            if bars {
                for &(l, n) in pts {
                    for i in 0..=4 {
                        let x = l - 0.4 + 0.2 * f64::from(i);
                        let top = n.log10();
                        occupied.extend(
                            (0..=8).map(|j| (x, floor + (top - floor) * f64::from(j) / 8.0)),
                        );
                    }
                }
            } else {
                let logs: Vec<(f64, f64)> = pts.iter().map(|&(l, n)| (l, n.log10())).collect();
                occupied.extend(densify(&logs, 20));
            }
        }
        let mut a = Axes {
            x: (lmin as f64 - 0.7, lmax as f64 + 0.7),
            y: (floor, (cmax * 3.0).log10()),
            xname: st.xlabel.clone().unwrap_or_else(|| "MAC level".to_string()),
            yname: st.ylabel(0).unwrap_or_else(|| "count".to_string()),
            xunit: None,
            yunit: None,
            show_x: true,
            x_log: false,
            y_area: st.px(30.0),
            outside: (0.0, 0.0),
        };
        let plan = legend::plan(root.dim_in_pixel(), st, &a, &entries, &occupied, true);
        a.outside = plan.outside(st);
        let x = a.x.0..a.x.1;
        let y = (10f64.powf(plan.y.0)..10f64.powf(plan.y.1)).log_scale();
        let mut chart = ChartBuilder::on(root)
            .margin(st.px(4.0))
            .margin_right(st.px(4.0) + a.outside.0)
            .margin_bottom(st.px(4.0) + a.outside.1)
            .x_label_area_size(super::figure::label_areas(st, &a).0)
            .y_label_area_size(st.px(30.0))
            .build_cartesian_2d(x, y)
            .map_err(draw_err)?;
        let xfmt = |v: &f64| {
            if (v - v.round()).abs() < 1e-9 {
                format!("{}", v.round() as i64)
            } else {
                String::new()
            }
        };
        let yfmt = |v: &f64| count_text(*v);
        let mut mesh = chart.configure_mesh();
        house_mesh(&mut mesh, st);
        mesh.x_labels(((lmax - lmin) as usize + 1).min(12))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .x_desc(a.xname.clone())
            .y_desc(a.yname.clone())
            .draw()
            .map_err(draw_err)?;
        for (_, c, pts) in layers {
            if bars {
                let fill = c.mix(0.7).filled();
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&(l, n)| Rectangle::new([(l - 0.4, 0.5), (l + 0.4, n)], fill)),
                    )
                    .map_err(draw_err)?;
            } else {
                chart
                    .draw_series(LineSeries::new(pts, line_style(c)).point_size(st.px(1.3) as u32))
                    .map_err(draw_err)?;
            }
        }
        legend::draw(root, chart.plotting_area(), st, &a, &plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_ticks() {
        assert_eq!(count_text(1.0), "1");
        assert_eq!(count_text(100.0), "100");
        assert_eq!(count_text(10000.0), "10k");
        assert_eq!(count_text(1e6), "1M");
    }
}
