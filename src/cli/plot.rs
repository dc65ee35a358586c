//! `neurospice plot`: command-line flags, checked once into the library's options.

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use neurospice::error::{Error, Result};
use neurospice::plot::{self, FigureOptions, Kind, Length, Selection};
use std::path::PathBuf;

/// Draw a figure from result files: `neurospice plot KIND INPUT... -o FIG.svg|FIG.png`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Kind of figure.
    #[arg(value_enum)]
    pub kind: KindArg,
    /// Input files (several for mc-overlay: one waveform CSV per run).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output figure; the extension (.svg or .png) chooses the format.
    #[arg(short, long)]
    pub output: PathBuf,
    /// wave: signals to draw in one panel; transfer: y columns. Comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub signals: Vec<String>,
    /// wave: panels sharing the time axis, `;` between panels, `,` between signals:
    /// "v(a),v(b);i(v1)".
    #[arg(long)]
    pub panels: Option<String>,
    /// wave: start of the time window (SPICE number: 10n, 1.5us, 2e-9).
    #[arg(long)]
    pub from: Option<String>,
    /// wave: end of the time window.
    #[arg(long)]
    pub to: Option<String>,
    /// wave: spikes CSV (node,index,time) drawn as markers.
    #[arg(long)]
    pub spikes: Option<PathBuf>,
    /// mc-overlay: signal to overlay (default: first signal of the first file).
    #[arg(long)]
    pub signal: Option<String>,
    /// mc-overlay: waveform file of the nominal run, drawn highlighted.
    #[arg(long)]
    pub nominal: Option<PathBuf>,
    /// hist: runs.csv column (default: first measure).
    #[arg(long)]
    pub column: Option<String>,
    /// hist: number of bins (default: 2·n^(1/3)).
    #[arg(long)]
    pub bins: Option<usize>,
    /// scatter: x column (sampled parameter).
    #[arg(long)]
    pub x: Option<String>,
    /// scatter: y column (measure).
    #[arg(long)]
    pub y: Option<String>,
    /// accuracy: which param to draw when the file holds several.
    #[arg(long)]
    pub param: Option<String>,
    /// capmin-hist: layers to draw, comma-separated (default: `all`, else every layer).
    #[arg(long, value_delimiter = ',')]
    pub layers: Vec<String>,
    /// Figure width: 3.5in, 800px (at --dpi), 8cm, 80mm.
    #[arg(long, default_value = "3.5in")]
    pub width: String,
    /// Figure height.
    #[arg(long, default_value = "2.6in")]
    pub height: String,
    /// Pixels per inch (PNG resolution; SVG user units per inch).
    #[arg(long, default_value_t = 300.0)]
    pub dpi: f64,
    /// Title above the plot.
    #[arg(long)]
    pub title: Option<String>,
    /// x-axis name (the unit is appended).
    #[arg(long)]
    pub xlabel: Option<String>,
    /// y-axis name (the unit is appended); `;` separates panels.
    #[arg(long)]
    pub ylabel: Option<String>,
}

/// A kind of figure as the command line names it ([`Kind::name`], help [`Kind::about`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindArg(Kind);

const KIND_ARGS: [KindArg; Kind::ALL.len()] = {
    let mut out = [KindArg(Kind::Wave); Kind::ALL.len()];
    let mut k = 0;
    while k < out.len() {
        out[k] = KindArg(Kind::ALL[k]);
        k += 1;
    }
    out
};

impl ValueEnum for KindArg {
    fn value_variants<'a>() -> &'a [Self] {
        &KIND_ARGS
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.about()))
    }
}

fn time_option(flag: &str, v: &Option<String>) -> Result<Option<f64>> {
    v.as_deref()
        .map(|t| {
            neurospice::expr::number::parse_number(t.trim()).ok_or_else(|| {
                Error::usage(format!(
                    "{flag} `{t}`: expected a time such as 10n or 1.5us"
                ))
            })
        })
        .transpose()
}

fn names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl PlotArgs {
    /// The validated selection and page options.
    pub fn config(&self) -> Result<(Selection, FigureOptions)> {
        let panels = match &self.panels {
            Some(p) => {
                let panels: Vec<Vec<String>> = p.split(';').map(names).collect();
                if panels.iter().any(Vec::is_empty) {
                    return Err(Error::usage(format!(
                        "--panels \"{p}\": every panel needs at least one signal"
                    )));
                }
                panels
            }
            None => Vec::new(),
        };
        if self.bins == Some(0) {
            return Err(Error::usage("--bins must be at least 1".to_string()));
        }
        let sel = Selection {
            signals: self.signals.iter().flat_map(|s| names(s)).collect(),
            panels,
            window: (
                time_option("--from", &self.from)?,
                time_option("--to", &self.to)?,
            ),
            spikes: self.spikes.clone(),
            signal: self.signal.clone(),
            nominal: self.nominal.clone(),
            column: self.column.clone(),
            bins: self.bins,
            x: self.x.clone(),
            y: self.y.clone(),
            param: self.param.clone(),
            layers: self.layers.iter().flat_map(|s| names(s)).collect(),
        };
        let opts = FigureOptions {
            width_in: Length::parse(&self.width)?.inches(self.dpi),
            height_in: Length::parse(&self.height)?.inches(self.dpi),
            dpi: self.dpi,
            title: self.title.clone(),
            xlabel: self.xlabel.clone(),
            ylabel: self.ylabel.clone(),
        };
        opts.validate()?;
        Ok((sel, opts))
    }
}

/// Run `neurospice plot`.
pub fn run(args: &PlotArgs) -> Result<()> {
    let (sel, opts) = args.config()?;
    plot::render(args.kind.0, &args.inputs, &sel, &opts, &args.output)
}
