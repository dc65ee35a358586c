//! The MAC-level histogram of CapMin (`capmin-hist`), log-scale counts.

use super::figure::{Figure, Style, box_sample, color, draw_err, house_mesh, legend, line_sample};
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
        // Counts of zero cannot sit on a log axis; they are simply absent from the plot.
        let x = (lmin as f64 - 0.7)..(lmax as f64 + 0.7);
        let y = (0.5f64..cmax * 3.0).log_scale();
        let mut chart = ChartBuilder::on(root)
            .margin(st.px(4.0))
            .x_label_area_size(st.px(20.0))
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
            .x_desc(st.xlabel.clone().unwrap_or_else(|| "MAC level".to_string()))
            .y_desc(st.ylabel(0).unwrap_or_else(|| "count".to_string()))
            .draw()
            .map_err(draw_err)?;
        let bars = self.layers.len() == 1;
        for (i, (name, counts)) in self.layers.iter().enumerate() {
            let c = if name == "all" && !bars {
                color(6)
            } else {
                color(i)
            };
            let pts: Vec<(f64, f64)> = counts
                .iter()
                .filter(|p| p.1 > 0)
                .map(|&(l, n)| (l as f64, n as f64))
                .collect();
            let label = format!("layer {name}");
            if bars {
                let fill = c.mix(0.7).filled();
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&(l, n)| Rectangle::new([(l - 0.4, 0.5), (l + 0.4, n)], fill)),
                    )
                    .map_err(draw_err)?
                    .label(label)
                    .legend(box_sample(st, fill));
            } else {
                let style = st.line(c, 0.9);
                chart
                    .draw_series(LineSeries::new(pts, style).point_size(st.px(1.3) as u32))
                    .map_err(draw_err)?
                    .label(label)
                    .legend(line_sample(st, style));
            }
        }
        legend(&mut chart, st, SeriesLabelPosition::UpperRight)
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
