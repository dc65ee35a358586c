//! Waveforms (`wave`) and Monte Carlo waveform overlays (`mc-overlay`).

use super::decimate::min_max_per_column;
use super::figure::{
    Axes, Chart, Figure, Style, axes, color, densify, draw_err, draw_line, finite_range, padded,
};
use super::legend::{self, Entry, Sample};
use super::raw;
use super::units::{quantity_of, unit_of};
use crate::error::{Error, Result};
use crate::io::csv::{CsvTable, find_name};
use crate::meas::wave::value_at;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Signals sampled on one shared x axis (time, or the swept source of a DC sweep).
#[derive(Debug, Clone, PartialEq)]
pub struct Waveforms {
    /// Where the data came from, for error messages.
    pub source: String,
    /// Name of the x variable (`time` in transients).
    pub x_name: String,
    /// x samples, non-decreasing, SI units (seconds for time).
    pub x: Vec<f64>,
    /// The signals, each as long as `x`.
    pub signals: Vec<Signal>,
}

/// One named signal, SI units (volts for `v(...)`, amperes for `i(...)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Name as in the file header: `v(mem)`, `i(v1)`.
    pub name: String,
    /// Samples, one per x sample.
    pub values: Vec<f64>,
}

impl Waveforms {
    /// Read a CSV (`time,v(a),...`; first column is x) or an ngspice raw file (`.raw`).
    pub fn read(path: &Path) -> Result<Waveforms> {
        let is_raw = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("raw"));
        if is_raw {
            let bytes = crate::io::input::read_limited(path, crate::io::input::MAX_DATA_BYTES)?;
            let p = raw::parse(&path.display().to_string(), &bytes)?;
            return Waveforms::from_columns(&path.display().to_string(), p.names, p.columns);
        }
        let t = CsvTable::read(path)?;
        let columns = (0..t.headers.len())
            .map(|c| t.numbers(c))
            .collect::<Result<Vec<_>>>()?;
        Waveforms::from_columns(&t.source, t.headers, columns)
    }

    /// Build from named columns; the first is x.
    pub fn from_columns(
        source: &str,
        names: Vec<String>,
        mut columns: Vec<Vec<f64>>,
    ) -> Result<Waveforms> {
        if names.len() < 2 || columns.len() != names.len() {
            return Err(Error::data_in(
                source,
                "expected an x column (time) and at least one signal column",
            ));
        }
        let x = columns.remove(0);
        if x.is_empty() {
            return Err(Error::data_in(source, "no data rows"));
        }
        if x.windows(2).any(|w| w[1] < w[0]) {
            return Err(Error::data_in(
                source,
                format!("column `{}` must not decrease", names[0]),
            ));
        }
        let mut names = names.into_iter();
        let x_name = names.next().unwrap_or_default();
        let signals = names
            .zip(columns)
            .map(|(name, values)| Signal { name, values })
            .collect();
        Ok(Waveforms {
            source: source.to_string(),
            x_name,
            x,
            signals,
        })
    }

    /// Index of a signal by the column rules of [`find_name`], or an error listing the rest.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        let names: Vec<&str> = self.signals.iter().map(|s| s.name.as_str()).collect();
        find_name(&names, name).ok_or_else(|| {
            Error::missing_column(self.source.clone(), name.to_string(), names.join(", "))
        })
    }
}

/// One spike as written by `--spikes`: node, spike number on that node, time (s).
#[derive(Debug, Clone, PartialEq)]
pub struct Spike {
    /// Node name (`mem`, or `v(mem)`).
    pub node: String,
    /// 0-based spike count on that node.
    pub index: u64,
    /// Firing time, seconds.
    pub time: f64,
}

/// Read a spikes CSV with columns `node,index,time`.
pub fn read_spikes(path: &Path) -> Result<Vec<Spike>> {
    let t = CsvTable::read(path)?;
    let (cn, ci, ct) = (
        t.column_index("node")?,
        t.column_index("index")?,
        t.column_index("time")?,
    );
    t.rows
        .iter()
        .map(|(line, f)| {
            let index = CsvTable::text_at(f, ci).parse::<u64>().map_err(|_| {
                Error::at_line(&t.source, *line, "column `index`: expected a whole number")
            })?;
            Ok(Spike {
                node: CsvTable::text_at(f, cn).to_string(),
                index,
                time: t.number_at(*line, f, ct)?,
            })
        })
        .collect()
}

/// A waveform figure: panels stacked on one time axis.
#[derive(Debug, Clone)]
pub struct WavePlot {
    /// The data.
    pub waves: Waveforms,
    /// Signal indices per panel, top to bottom.
    pub panels: Vec<Vec<usize>>,
    /// x window (from, to) in seconds, if narrower than the data.
    pub window: Option<(f64, f64)>,
    /// Spikes drawn as markers.
    pub spikes: Vec<Spike>,
}

impl WavePlot {
    /// Choose panels by signal name; empty `panels` puts every signal in one panel. A panel
    /// whose signals have different units (`v(out)` and `i(vdd)`) becomes one panel per
    /// unit, stacked in the order the units first appear: one y axis never mixes volts and
    /// amperes.
    pub fn new(
        waves: Waveforms,
        panels: &[Vec<String>],
        window: Option<(f64, f64)>,
        spikes: Vec<Spike>,
    ) -> Result<WavePlot> {
        let panels = if panels.is_empty() {
            vec![(0..waves.signals.len()).collect()]
        } else {
            panels
                .iter()
                .map(|p| p.iter().map(|n| waves.index_of(n)).collect())
                .collect::<Result<Vec<Vec<usize>>>>()?
        };
        let panels = panels
            .into_iter()
            .flat_map(|p| split_by_unit(&waves, p))
            .collect();
        if let Some((a, b)) = window
            && (a >= b || a.is_nan() || b.is_nan())
        {
            return Err(Error::usage(format!(
                "time window from {a:e} s to {b:e} s is empty"
            )));
        }
        Ok(WavePlot {
            waves,
            panels,
            window,
            spikes,
        })
    }
}

/// The signals of one panel grouped by unit, groups in the order their units first appear.
fn split_by_unit(waves: &Waveforms, panel: Vec<usize>) -> Vec<Vec<usize>> {
    let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for k in panel {
        let u = unit_of(&waves.signals[k].name);
        match groups.iter_mut().find(|g| g.0 == u) {
            Some(g) => g.1.push(k),
            None => groups.push((u, vec![k])),
        }
    }
    groups.into_iter().map(|g| g.1).collect()
}

/// The colour of spike markers on the `j`-th signal of a panel (off the line's colour).
fn spike_color(j: usize) -> RGBColor {
    if j == 1 { color(6) } else { color(1) }
}

/// The unit of a waveform file's x column: `time` is seconds; the swept source of a DC
/// sweep is named as in the netlist, so by SPICE's naming a `V...` source is swept in volts
/// and an `I...` source in amperes; `temp` in °C.
fn x_unit_of(name: &str) -> Option<&'static str> {
    let n = name.trim().to_ascii_lowercase();
    // words that start like a source name but are not one
    const WORDS: [&str; 5] = ["index", "iteration", "input", "value", "voltage"];
    if WORDS.contains(&n.as_str()) {
        return unit_of(&n);
    }
    unit_of(&n).or(match n.chars().next() {
        _ if n == "temp" || n == "temper" => Some("°C"),
        Some('v') if n.chars().all(|c| c.is_alphanumeric() || c == '_') => Some("V"),
        Some('i') if n.chars().all(|c| c.is_alphanumeric() || c == '_') => Some("A"),
        _ => None,
    })
}

/// The y unit shared by all `names`, if they agree.
fn common_unit<'a>(mut names: impl Iterator<Item = &'a str>) -> Option<&'static str> {
    let first = unit_of(names.next()?)?;
    names.all(|n| unit_of(n) == Some(first)).then_some(first)
}

/// The y name of a panel: the signal itself, or the quantity its signals share.
fn panel_name(names: &[&str]) -> String {
    match names {
        [one] => one.to_string(),
        _ => common_unit(names.iter().copied())
            .map(|u| quantity_of(u).to_string())
            .unwrap_or_else(|| "value".to_string()),
    }
}

/// Pixel columns of a chart's plotting area.
fn columns_of<DB: DrawingBackend>(chart: &Chart<'_, DB>) -> usize {
    chart.plotting_area().dim_in_pixel().0.max(1) as usize
}

impl Figure for WavePlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()> {
        let w = &self.waves;
        let (x_lo, x_hi) = self
            .window
            .or_else(|| finite_range(&w.x).map(|(a, b)| padded_time(a, b)))
            .ok_or_else(|| Error::data_in(&w.source, "no finite time values"))?;
        let areas = root.split_evenly((self.panels.len(), 1));
        let n = self.panels.len();
        let mut placed = vec![false; self.spikes.len()];
        // Every panel's axes first, so that all get the widest y label area and their
        // plotting areas line up.
        let mut all_axes = Vec::with_capacity(n);
        for (i, panel) in self.panels.iter().enumerate() {
            let names: Vec<&str> = panel.iter().map(|&k| w.signals[k].name.as_str()).collect();
            // y range from what is visible in the window only.
            let lo_i = w.x.partition_point(|&t| t < x_lo);
            let hi_i = w.x.partition_point(|&t| t <= x_hi);
            let yr = finite_range(
                panel
                    .iter()
                    .flat_map(|&k| w.signals[k].values[lo_i..hi_i.max(lo_i)].iter()),
            )
            .ok_or_else(|| {
                Error::data_in(
                    &w.source,
                    format!(
                        "no finite values of {} in the time window",
                        names.join(", ")
                    ),
                )
            })?;
            let unit = common_unit(names.iter().copied());
            all_axes.push(Axes {
                x: (x_lo, x_hi),
                y: padded(yr.0, yr.1, 0.06),
                xname: st.xlabel.clone().unwrap_or_else(|| w.x_name.clone()),
                yname: st.ylabel(i).unwrap_or_else(|| panel_name(&names)),
                xunit: x_unit_of(&w.x_name).map(str::to_string),
                yunit: unit.map(str::to_string),
                show_x: i + 1 == n,
                x_log: false,
                y_area: 0.0,
                outside: (0.0, 0.0),
            });
        }
        let y_area = all_axes
            .iter()
            .map(|a| super::figure::label_areas(st, a).1)
            .fold(0.0, f64::max);
        for (i, ((panel, area), mut a)) in self.panels.iter().zip(&areas).zip(all_axes).enumerate()
        {
            let names: Vec<&str> = panel.iter().map(|&k| w.signals[k].name.as_str()).collect();
            a.y_area = y_area;
            // The legend's entries and what it must not cover, known before the axes are
            // laid out so that the y range can make room for it.
            let cols = plot_columns(area.dim_in_pixel(), st, &a);
            let traces: Vec<Vec<(f64, f64)>> = panel
                .iter()
                .map(|&k| min_max_per_column(&w.x, &w.signals[k].values, x_lo, x_hi, cols))
                .collect();
            let mut entries: Vec<Entry> = Vec::new();
            if names.len() > 1 {
                for (j, name) in names.iter().enumerate() {
                    entries.push(Entry::new(*name, Sample::Line(st.line(color(j), 0.9))));
                }
            }
            let mut occupied: Vec<(f64, f64)> = traces.iter().flat_map(|t| densify(t, 2)).collect();
            for (j, &k) in panel.iter().enumerate() {
                let s = &w.signals[k];
                let on: Vec<&Spike> = self
                    .spikes
                    .iter()
                    .filter(|sp| node_matches(&sp.node, &s.name))
                    .collect();
                if !on.is_empty() {
                    entries.push(Entry::new(
                        format!("spikes {}", s.name),
                        Sample::Triangle(spike_color(j).filled(), st.px(2.5)),
                    ));
                }
                occupied.extend(
                    on.iter()
                        .filter_map(|sp| Some((sp.time, value_at(&w.x, &s.values, sp.time)?))),
                );
            }
            if i == 0 {
                for (m, node) in self.unplaced_nodes().iter().enumerate() {
                    entries.push(Entry::new(
                        format!("spikes {node}"),
                        Sample::Line(st.line(color(m + 2), 0.8)),
                    ));
                }
            }
            let plan = legend::plan(area.dim_in_pixel(), st, &a, &entries, &occupied, n == 1);
            a.y = plan.y;
            a.outside = plan.outside(st);
            let mut chart = axes(area, st, &a)?;
            for ((j, &k), pts) in panel.iter().enumerate().zip(traces) {
                draw_line(&mut chart, st, pts, st.line(color(j), 0.9))?;
                self.draw_spikes(&mut chart, st, k, j, &mut placed)?;
            }
            if i == 0 {
                self.draw_unplaced_spikes(&mut chart, st, a.y)?;
            }
            legend::draw(area, chart.plotting_area(), st, &a, &plan)?;
        }
        Ok(())
    }
}

/// Pixel columns the plotting area of axes `a` will have in an area of `dim` pixels.
fn plot_columns(dim: (u32, u32), st: &Style, a: &Axes) -> usize {
    super::figure::plot_area_size(dim, st, a).0.max(1.0) as usize
}

/// A time axis exactly spanning the data (a single sample gets a small window of its own).
fn padded_time(a: f64, b: f64) -> (f64, f64) {
    if b > a { (a, b) } else { padded(a, b, 0.0) }
}

fn node_matches(spike_node: &str, signal: &str) -> bool {
    signal.eq_ignore_ascii_case(spike_node)
        || signal.eq_ignore_ascii_case(&format!("v({spike_node})"))
}

impl WavePlot {
    /// Spike markers on signal `k` (drawn in panel position `j`), each spike once.
    fn draw_spikes<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut Chart<'a, DB>,
        st: &Style,
        k: usize,
        j: usize,
        placed: &mut [bool],
    ) -> Result<()> {
        let s = &self.waves.signals[k];
        let xr = chart.x_range();
        let (lo, hi) = (xr.start, xr.end);
        let mut pts = Vec::new();
        for (sp, done) in self.spikes.iter().zip(placed.iter_mut()) {
            if *done || !node_matches(&sp.node, &s.name) {
                continue;
            }
            *done = true;
            if sp.time < lo || sp.time > hi {
                continue;
            }
            if let Some(v) = value_at(&self.waves.x, &s.values, sp.time) {
                pts.push((sp.time, v));
            }
        }
        let c = spike_color(j);
        let size = st.px(2.5) as i32;
        chart
            .draw_series(
                pts.into_iter()
                    .map(|p| TriangleMarker::new(p, size, c.filled())),
            )
            .map_err(draw_err)?;
        Ok(())
    }

    /// Nodes with spikes that no panel shows, in order of first spike.
    fn unplaced_nodes(&self) -> Vec<&str> {
        let shown: Vec<&str> = self
            .panels
            .iter()
            .flatten()
            .map(|&k| self.waves.signals[k].name.as_str())
            .collect();
        let mut nodes: Vec<&str> = Vec::new();
        for sp in &self.spikes {
            if !shown.iter().any(|s| node_matches(&sp.node, s))
                && !nodes.contains(&sp.node.as_str())
            {
                nodes.push(&sp.node);
            }
        }
        nodes
    }

    /// Spikes on nodes that no panel shows: a tick row along the top of the first panel.
    fn draw_unplaced_spikes<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut Chart<'a, DB>,
        st: &Style,
        y: (f64, f64),
    ) -> Result<()> {
        let nodes = self.unplaced_nodes();
        let xr = chart.x_range();
        let (lo, hi) = (xr.start, xr.end);
        let y_top = y.1;
        let y_tick = y.1 - (y.1 - y.0) * 0.06;
        for (m, node) in nodes.iter().enumerate() {
            let c = color(m + 2);
            let style = st.line(c, 0.8);
            let ticks: Vec<_> = self
                .spikes
                .iter()
                .filter(|sp| sp.node == *node && sp.time >= lo && sp.time <= hi)
                .map(|sp| PathElement::new(vec![(sp.time, y_tick), (sp.time, y_top)], style))
                .collect();
            chart.draw_series(ticks).map_err(draw_err)?;
        }
        Ok(())
    }
}

/// A time trace of one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Time samples, seconds, non-decreasing.
    pub time: Vec<f64>,
    /// Signal samples, SI units.
    pub values: Vec<f64>,
}

impl Trace {
    /// Signal `name` of a waveform file.
    pub fn read(path: &Path, name: &str) -> Result<Trace> {
        let mut w = Waveforms::read(path)?;
        let k = w.index_of(name)?;
        Ok(Trace {
            time: std::mem::take(&mut w.x),
            values: std::mem::take(&mut w.signals[k].values),
        })
    }
}

/// Monte Carlo runs of one signal drawn over each other, the nominal run on top.
#[derive(Debug, Clone)]
pub struct OverlayPlot {
    /// Signal name, for the y label and unit (`v(mem)`).
    pub signal: String,
    /// The Monte Carlo runs.
    pub runs: Vec<Trace>,
    /// The nominal (no variation) run, highlighted.
    pub nominal: Option<Trace>,
}

impl OverlayPlot {
    /// Read signal `signal` of every run file (and the nominal file, if given).
    pub fn read(runs: &[&Path], nominal: Option<&Path>, signal: &str) -> Result<OverlayPlot> {
        let runs = runs
            .iter()
            .map(|p| Trace::read(p, signal))
            .collect::<Result<Vec<_>>>()?;
        let nominal = nominal.map(|p| Trace::read(p, signal)).transpose()?;
        Ok(OverlayPlot {
            signal: signal.to_string(),
            runs,
            nominal,
        })
    }
}

impl Figure for OverlayPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()> {
        let all = || self.runs.iter().chain(self.nominal.as_ref());
        let xr = finite_range(all().flat_map(|t| t.time.iter()));
        let yr = finite_range(all().flat_map(|t| t.values.iter()));
        let (Some(xr), Some(yr)) = (xr, yr) else {
            return Err(Error::data_in(
                &self.signal,
                "no finite samples in any run to overlay",
            ));
        };
        let mut a = Axes {
            x: padded_time(xr.0, xr.1),
            y: padded(yr.0, yr.1, 0.06),
            xname: st.xlabel.clone().unwrap_or_else(|| "time".to_string()),
            yname: st.ylabel(0).unwrap_or_else(|| self.signal.clone()),
            xunit: Some("s".to_string()),
            yunit: unit_of(&self.signal).map(str::to_string),
            show_x: true,
            x_log: false,
            y_area: 0.0,
            outside: (0.0, 0.0),
        };
        let cols = plot_columns(root.dim_in_pixel(), st, &a);
        let nominal_style = st.line(color(1), 1.2);
        let mut entries = vec![Entry::new(
            format!("{} runs", self.runs.len()),
            Sample::Line(color(0).stroke_width(st.ipx(0.8))),
        )];
        if self.nominal.is_some() {
            entries.push(Entry::new("nominal", Sample::Line(nominal_style)));
        }
        let occupied: Vec<(f64, f64)> = all()
            .flat_map(|t| {
                densify(
                    &min_max_per_column(&t.time, &t.values, a.x.0, a.x.1, cols),
                    2,
                )
            })
            .collect();
        let plan = legend::plan(root.dim_in_pixel(), st, &a, &entries, &occupied, true);
        a.y = plan.y;
        a.outside = plan.outside(st);
        let mut chart = axes(root, st, &a)?;
        let cols = columns_of(&chart);
        // Many runs: fainter lines, so that density shows where the runs bunch up.
        let alpha = (2.0 / (self.runs.len().max(1) as f64).sqrt()).clamp(0.06, 0.8);
        let run_style = color(0).mix(alpha).stroke_width(st.ipx(0.5));
        for t in &self.runs {
            let pts = min_max_per_column(&t.time, &t.values, a.x.0, a.x.1, cols);
            draw_line(&mut chart, st, pts, run_style)?;
        }
        if let Some(t) = &self.nominal {
            let pts = min_max_per_column(&t.time, &t.values, a.x.0, a.x.1, cols);
            draw_line(&mut chart, st, pts, nominal_style)?;
        }
        legend::draw(root, chart.plotting_area(), st, &a, &plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spike markers sit on the curve by the crate's one value-at ([`value_at`]).
    #[test]
    fn interpolation() {
        let x = [0.0, 1.0, 2.0];
        let y = [0.0, 10.0, 0.0];
        assert_eq!(value_at(&x, &y, 0.5), Some(5.0));
        assert_eq!(value_at(&x, &y, 0.0), Some(0.0));
        assert_eq!(value_at(&x, &y, 2.0), Some(0.0));
        assert_eq!(value_at(&x, &y, 3.0), None);
    }

    #[test]
    fn x_units() {
        assert_eq!(x_unit_of("time"), Some("s"));
        assert_eq!(x_unit_of("vout"), Some("V"));
        assert_eq!(x_unit_of("I1"), Some("A"));
        assert_eq!(x_unit_of("temp"), Some("°C"));
        assert_eq!(x_unit_of("index"), None);
        assert_eq!(x_unit_of("v(a)"), Some("V"));
    }

    #[test]
    fn panel_names() {
        assert_eq!(panel_name(&["v(a)"]), "v(a)");
        assert_eq!(panel_name(&["v(a)", "v(b)"]), "voltage");
        assert_eq!(panel_name(&["v(a)", "i(v1)"]), "value");
    }

    #[test]
    fn decreasing_time_is_refused() {
        let e = Waveforms::from_columns(
            "w.csv",
            vec!["time".into(), "v(a)".into()],
            vec![vec![0.0, 2.0, 1.0], vec![0.0; 3]],
        )
        .unwrap_err()
        .msg;
        assert_eq!(e, "w.csv: column `time` must not decrease");
    }
}
