//! Figures for papers: waveforms, Monte Carlo overlays and histograms, transfer curves,
//! network accuracy and CapMin plots, written as SVG or PNG.
//!
//! Two ways in. From files, as `neurospice plot` does:
//!
//! ```no_run
//! use neurospice::plot::{self, FigureOptions, Kind, Selection};
//! use std::path::PathBuf;
//! let sel = Selection { signals: vec!["v(mem)".into()], ..Selection::default() };
//! plot::render(Kind::Wave, &[PathBuf::from("out.csv")], &sel, &FigureOptions::default(),
//!              "fig.svg".as_ref())?;
//! # Ok::<(), neurospice::error::Error>(())
//! ```
//!
//! From memory, as an analysis with `--plot FIG` does: build the figure's data type
//! ([`HistPlot`], [`OverlayPlot`], [`WavePlot`], [`LineFigure`], ...) and call [`save`].
//!
//! Every figure is drawn at the page size of [`FigureOptions`] (3.5 in x 2.6 in by default,
//! one column of a two-column paper) with text in points, so SVG and PNG look alike.
//! The input formats are described in docs/plot.md.

pub mod capmin;
pub mod curves;
pub mod decimate;
pub mod figure;
pub mod legend;
pub mod lines;
pub mod png;
pub mod raw;
pub mod stats;
pub mod units;
pub mod wave;

pub use crate::io::levels::LevelCounts;
pub use figure::{Figure, FigureOptions, Format, Length, render_bytes, save};
pub use lines::{LineFigure, Panel};
pub use stats::{HistPlot, Runs, ScatterPlot};
pub use wave::{OverlayPlot, Spike, Trace, WavePlot, Waveforms};

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend};
use std::path::{Path, PathBuf};

/// The kinds of figure `neurospice plot` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Waveforms from a CSV or raw file, in panels sharing the time axis.
    Wave,
    /// Monte Carlo waveforms of one signal overlaid, nominal highlighted.
    McOverlay,
    /// Histogram of a Monte Carlo measure with mean, ±σ and the fitted normal.
    Hist,
    /// A Monte Carlo measure against a sampled parameter.
    Scatter,
    /// Transfer curves against their ideal straight line, with INL.
    Transfer,
    /// Network accuracy against variation, one line per neuron type, 95% bands.
    Accuracy,
    /// MAC-level histogram, log-scale counts.
    CapminHist,
    /// Capacitor and accuracy against kept levels K.
    CapminSweep,
    /// Baseline, CapMin and CapMin-V against current variation.
    CapminV,
}

impl Kind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [Kind; 9] = [
        Kind::Wave,
        Kind::McOverlay,
        Kind::Hist,
        Kind::Scatter,
        Kind::Transfer,
        Kind::Accuracy,
        Kind::CapminHist,
        Kind::CapminSweep,
        Kind::CapminV,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Wave => "wave",
            Kind::McOverlay => "mc-overlay",
            Kind::Hist => "hist",
            Kind::Scatter => "scatter",
            Kind::Transfer => "transfer",
            Kind::Accuracy => "accuracy",
            Kind::CapminHist => "capmin-hist",
            Kind::CapminSweep => "capmin-sweep",
            Kind::CapminV => "capmin-v",
        }
    }

    /// One line on what the kind draws (the command line's help).
    pub fn about(self) -> &'static str {
        match self {
            Kind::Wave => "Waveforms from CSV or ngspice raw",
            Kind::McOverlay => "Monte Carlo waveform overlay",
            Kind::Hist => "Histogram of a Monte Carlo measure",
            Kind::Scatter => "Measure against sampled parameter",
            Kind::Transfer => "Transfer curve with ideal line and INL",
            Kind::Accuracy => "Accuracy against variation",
            Kind::CapminHist => "MAC-level histogram",
            Kind::CapminSweep => "Capacitor and accuracy against kept levels",
            Kind::CapminV => "CapMin against CapMin-V against variation",
        }
    }
}

/// What to take from the inputs; each kind reads the fields it needs and ignores the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// `wave`: signals in one panel; `transfer`: y columns (all when empty).
    pub signals: Vec<String>,
    /// `wave`: signals per panel, top to bottom (overrides `signals`).
    pub panels: Vec<Vec<String>>,
    /// `wave`: time window (from, to), seconds; either end open.
    pub window: (Option<f64>, Option<f64>),
    /// `wave`: spikes CSV (`node,index,time`) drawn as markers.
    pub spikes: Option<PathBuf>,
    /// `mc-overlay`: the signal to overlay (default: first signal of the first file).
    pub signal: Option<String>,
    /// `mc-overlay`: the nominal run's file.
    pub nominal: Option<PathBuf>,
    /// `hist`: the column (default: first measure after `reason`).
    pub column: Option<String>,
    /// `hist`: number of bins.
    pub bins: Option<usize>,
    /// `scatter`: x column (sampled parameter).
    pub x: Option<String>,
    /// `scatter`: y column (measure).
    pub y: Option<String>,
    /// `accuracy`: which `param` when the file has several.
    pub param: Option<String>,
    /// `capmin-hist`: layers to draw (default `all`, else every layer).
    pub layers: Vec<String>,
}

/// A figure read from files, ready to draw.
#[derive(Debug, Clone)]
pub enum Plot {
    /// `wave`.
    Wave(WavePlot),
    /// `mc-overlay`.
    Overlay(OverlayPlot),
    /// `hist`.
    Hist(HistPlot),
    /// `scatter`.
    Scatter(ScatterPlot),
    /// `transfer`, `accuracy`, `capmin-sweep`, `capmin-v`.
    Lines(LineFigure),
    /// `capmin-hist`.
    Levels(LevelCounts),
}

impl Figure for Plot {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        st: &figure::Style,
    ) -> Result<()> {
        match self {
            Plot::Wave(p) => p.draw(root, st),
            Plot::Overlay(p) => p.draw(root, st),
            Plot::Hist(p) => p.draw(root, st),
            Plot::Scatter(p) => p.draw(root, st),
            Plot::Lines(p) => p.draw(root, st),
            Plot::Levels(p) => p.draw(root, st),
        }
    }
}

fn one_input(kind: Kind, inputs: &[PathBuf]) -> Result<&Path> {
    match inputs {
        [one] => Ok(one),
        _ => Err(Error::usage(format!(
            "`{}` takes one input file, got {}",
            kind.name(),
            inputs.len()
        ))),
    }
}

/// Read the inputs of a figure of kind `kind`.
pub fn load(kind: Kind, inputs: &[PathBuf], sel: &Selection) -> Result<Plot> {
    if inputs.is_empty() {
        return Err(Error::usage(format!(
            "`{}` needs an input file",
            kind.name()
        )));
    }
    Ok(match kind {
        Kind::Wave => {
            let waves = Waveforms::read(one_input(kind, inputs)?)?;
            let panels = if !sel.panels.is_empty() {
                sel.panels.clone()
            } else if !sel.signals.is_empty() {
                vec![sel.signals.clone()]
            } else {
                Vec::new()
            };
            let spikes = match &sel.spikes {
                Some(p) => wave::read_spikes(p)?,
                None => Vec::new(),
            };
            let window = match sel.window {
                (None, None) => None,
                (from, to) => {
                    let lo = waves.x.first().copied().unwrap_or(0.0);
                    let hi = waves.x.last().copied().unwrap_or(0.0);
                    Some((from.unwrap_or(lo), to.unwrap_or(hi)))
                }
            };
            Plot::Wave(WavePlot::new(waves, &panels, window, spikes)?)
        }
        Kind::McOverlay => {
            let signal = match &sel.signal {
                Some(s) => s.clone(),
                None => {
                    let w = Waveforms::read(&inputs[0])?;
                    w.signals
                        .first()
                        .map(|s| s.name.clone())
                        .ok_or_else(|| Error::data_in(&w.source, "no signal columns"))?
                }
            };
            let runs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
            Plot::Overlay(OverlayPlot::read(&runs, sel.nominal.as_deref(), &signal)?)
        }
        Kind::Hist => {
            let runs = Runs::read(one_input(kind, inputs)?)?;
            let name = match &sel.column {
                Some(c) => c.clone(),
                None => runs
                    .first_measure()
                    .map(str::to_string)
                    .ok_or_else(|| Error::data_in(runs.source(), "no measure columns"))?,
            };
            Plot::Hist(HistPlot {
                values: runs.column(&name)?,
                unit: runs.unit(&name),
                name,
                bins: sel.bins,
            })
        }
        Kind::Scatter => {
            let runs = Runs::read(one_input(kind, inputs)?)?;
            let need = |v: &Option<String>, flag: &str| {
                v.clone()
                    .ok_or_else(|| Error::usage(format!("`scatter` needs {flag} NAME")))
            };
            let (x_name, y_name) = (need(&sel.x, "--x")?, need(&sel.y, "--y")?);
            Plot::Scatter(ScatterPlot {
                x: runs.column(&x_name)?,
                y: runs.column(&y_name)?,
                x_unit: runs.unit(&x_name),
                y_unit: runs.unit(&y_name),
                x_name,
                y_name,
            })
        }
        Kind::Transfer => Plot::Lines(
            curves::Curves::read(one_input(kind, inputs)?)?
                .select(&sel.signals)?
                .transfer_figure()?,
        ),
        Kind::Accuracy => Plot::Lines(curves::accuracy_figure(
            one_input(kind, inputs)?,
            sel.param.as_deref(),
        )?),
        Kind::CapminHist => {
            Plot::Levels(LevelCounts::read(one_input(kind, inputs)?)?.select(&sel.layers)?)
        }
        Kind::CapminSweep => Plot::Lines(curves::capmin_sweep_figure(one_input(kind, inputs)?)?),
        Kind::CapminV => Plot::Lines(curves::capmin_v_figure(one_input(kind, inputs)?)?),
    })
}

/// Read the inputs and write the figure to `out` (`.svg` or `.png`), completely or not at all.
pub fn render(
    kind: Kind,
    inputs: &[PathBuf],
    sel: &Selection,
    opts: &FigureOptions,
    out: &Path,
) -> Result<()> {
    // Refuse a bad output name before reading possibly thousands of inputs.
    Format::of(out)?;
    opts.validate()?;
    let plot = load(kind, inputs, sel)?;
    save(&plot, opts, out).map_err(|e| {
        // a figure that cannot be drawn is drawn from data: name the files
        if e.kind == crate::error::Kind::Data {
            let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
            e.context(names.join(", "))
        } else {
            e
        }
    })
}
