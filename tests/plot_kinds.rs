//! Every plot kind rendered to SVG (parsed as XML: series, axis labels, legend entries) and
//! to PNG (decoded: size, dpi, not blank). Waveform inputs come from ngspice
//! (tests/data/plot/make_wave.sh); the rest are synthetic inputs (make_synthetic.py).

use neurospice::plot::{self, FigureOptions, Kind, Selection, Waveforms};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/plot")
        .join(name)
}

/// An SVG rendered to a temporary directory, parsed.
struct Svg {
    text: String,
}

impl Svg {
    fn render(kind: Kind, inputs: &[PathBuf], sel: &Selection) -> Svg {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fig.svg");
        plot::render(kind, inputs, sel, &FigureOptions::default(), &out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        roxmltree::Document::parse(&text).expect("well-formed SVG");
        Svg { text }
    }

    fn doc(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.text).unwrap()
    }

    fn texts(&self) -> Vec<String> {
        self.doc()
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or("").trim().to_string())
            .collect()
    }

    fn has_text(&self, want: &str) -> bool {
        self.texts().iter().any(|t| t == want)
    }

    fn text_starting(&self, prefix: &str) -> Option<String> {
        self.texts().into_iter().find(|t| t.starts_with(prefix))
    }

    /// Elements `tag` whose `attr` is `value` (colours as plotters writes them, #RRGGBB).
    fn count(&self, tag: &str, attr: &str, value: &str) -> usize {
        self.doc()
            .descendants()
            .filter(|n| n.has_tag_name(tag) && n.attribute(attr) == Some(value))
            .count()
    }

    fn polyline_points(&self, stroke: &str) -> Vec<usize> {
        self.doc()
            .descendants()
            .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(stroke))
            .map(|n| {
                n.attribute("points")
                    .unwrap_or("")
                    .split_whitespace()
                    .count()
            })
            .collect()
    }
}

const BLUE: &str = "#0072B2";
const VERMILLION: &str = "#D55E00";
const GREEN: &str = "#009E73";
const BLACK: &str = "#000000";

fn assert_texts(svg: &Svg, want: &[&str]) {
    for w in want {
        assert!(svg.has_text(w), "missing text `{w}` in {:?}", svg.texts());
    }
}

/// Render to PNG and check it is the right size, records its dpi, and is not blank.
fn assert_png_drawn(kind: Kind, inputs: &[PathBuf], sel: &Selection) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig.png");
    let opts = FigureOptions::default();
    plot::render(kind, inputs, sel, &opts, &out).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        (1050, 780),
        "3.5 x 2.6 in at 300 dpi"
    );
    let dims = reader.info().pixel_dims.expect("pHYs chunk");
    assert_eq!(dims.xppu, 11811, "300 dpi in pixels per metre");
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let inked = bytes
        .chunks(channels)
        .filter(|p| p[..3].iter().any(|&c| c < 200))
        .count();
    let total = (info.width * info.height) as usize;
    // Axes, tick labels and data lines ink a few percent of the page at least.
    assert!(
        inked * 100 > total,
        "{kind:?}: only {inked} of {total} pixels drawn"
    );
}

fn wave_sel() -> Selection {
    Selection {
        panels: vec![vec!["v(mem)".into()], vec!["i(vs)".into()]],
        spikes: Some(data("if_neuron_spikes.csv")),
        ..Selection::default()
    }
}

#[test]
fn wave_panels_units_and_spikes() {
    let inputs = [data("if_neuron.csv")];
    let svg = Svg::render(Kind::Wave, &inputs, &wave_sel());
    assert_texts(
        &svg,
        &["v(mem) (V)", "i(vs) (mA)", "time (µs)", "spikes v(mem)"],
    );
    // One trace per panel (SVG keeps each as one polyline), plus no legend line sample
    // because each panel shows a single signal.
    assert_eq!(svg.polyline_points(BLUE).len(), 2);
    // Four resets in 3 µs, each a triangle, plus the legend's triangle.
    assert_eq!(svg.count("polygon", "fill", VERMILLION), 4 + 1);
    // Only the bottom panel labels its time axis.
    assert_eq!(
        svg.texts().iter().filter(|t| t.starts_with("time")).count(),
        1
    );
    assert_png_drawn(Kind::Wave, &inputs, &wave_sel());
}

#[test]
fn wave_from_raw_matches_csv() {
    let csv = Waveforms::read(&data("if_neuron.csv")).unwrap();
    for raw in ["if_neuron_bin.raw", "if_neuron_ascii.raw"] {
        let w = Waveforms::read(&data(raw)).unwrap();
        let names: Vec<&str> = w.signals.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["v(mem)", "i(vs)"], "{raw}");
        assert_eq!(w.x.len(), csv.x.len(), "{raw}");
        // wrdata prints 9 significant digits; the raw files hold full doubles.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * a.abs().max(b.abs()) + 1e-30;
        assert!(
            w.x.iter().zip(&csv.x).all(|(a, b)| close(*a, *b)),
            "{raw}: time"
        );
        for (s, c) in w.signals.iter().zip(&csv.signals) {
            assert!(
                s.values.iter().zip(&c.values).all(|(a, b)| close(*a, *b)),
                "{raw}: {}",
                s.name
            );
        }
        let svg = Svg::render(Kind::Wave, &[data(raw)], &wave_sel());
        assert_texts(&svg, &["v(mem) (V)", "i(vs) (mA)", "time (µs)"]);
    }
}

#[test]
fn wave_window_and_shared_panel() {
    let sel = Selection {
        signals: vec!["mem".into(), "i(vs)".into()],
        window: (Some(1.5e-6), Some(2.0e-6)),
        ..Selection::default()
    };
    let svg = Svg::render(Kind::Wave, &[data("if_neuron.csv")], &sel);
    // Mixed units: one panel per unit, each axis named after its signal and unit.
    assert_texts(&svg, &["v(mem) (V)", "i(vs) (µA)", "time (µs)"]);
    assert!(!svg.has_text("value"), "{:?}", svg.texts());
    let full = Waveforms::read(&data("if_neuron.csv")).unwrap();
    let in_window = full
        .x
        .iter()
        .filter(|&&t| (1.5e-6..=2.0e-6).contains(&t))
        .count();
    let drawn = svg.polyline_points(BLUE);
    // Both traces are blue (first of their panels); each holds the window and one sample
    // each side.
    assert_eq!(drawn.len(), 2);
    assert_eq!(drawn.iter().max().copied(), Some(in_window + 2));
}

#[test]
fn mc_overlay_runs_and_nominal() {
    let runs: Vec<PathBuf> = (1..=20)
        .map(|r| data(&format!("waves/run_{r:04}.csv")))
        .collect();
    let sel = Selection {
        signal: Some("v(mem)".into()),
        nominal: Some(data("waves/nominal.csv")),
        ..Selection::default()
    };
    let svg = Svg::render(Kind::McOverlay, &runs, &sel);
    assert_texts(&svg, &["20 runs", "nominal", "v(mem) (V)", "time (ns)"]);
    assert_eq!(
        svg.polyline_points(BLUE).len(),
        20 + 1,
        "runs + legend sample"
    );
    assert_eq!(
        svg.polyline_points(VERMILLION).len(),
        1 + 1,
        "nominal + legend sample"
    );
    assert_png_drawn(Kind::McOverlay, &runs, &sel);
}

/// The ok rows' column straight from the file, independent of the plot code.
fn ok_column(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(data("runs.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == name).unwrap();
    lines
        .filter(|l| l.split(',').nth(1) == Some("ok"))
        .map(|l| l.split(',').nth(c).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn hist_bins_mean_sigma_and_fit() {
    let sel = Selection {
        column: Some("t_spike_s".into()),
        bins: Some(12),
        ..Selection::default()
    };
    let svg = Svg::render(Kind::Hist, &[data("runs.csv")], &sel);
    let v = ok_column("t_spike_s");
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sigma = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert_texts(&svg, &["294 runs", "normal fit", "t_spike_s (ns)", "runs"]);
    let mean_text = svg.text_starting("mean ").unwrap();
    assert_eq!(mean_text, format!("mean {:.0} ns", mean * 1e9));
    let sigma_text = svg.text_starting("±σ").unwrap();
    assert_eq!(sigma_text, format!("±σ, σ = {:.1} ns", sigma * 1e9));
    // 12 bars (some may be empty and still drawn with zero height) + legend box.
    let bars = svg
        .doc()
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(BLUE))
        .count();
    assert_eq!(bars, 12 + 1);
    // The fit is drawn on 201 points; axes and the legend sample are short black lines.
    let fits = svg
        .polyline_points(BLACK)
        .into_iter()
        .filter(|&n| n == 201)
        .count();
    assert_eq!(fits, 1, "one normal fit");
    assert_png_drawn(Kind::Hist, &[data("runs.csv")], &sel);
}

#[test]
fn scatter_points_and_fit() {
    let sel = Selection {
        x: Some("vth_v".into()),
        y: Some("t_spike_s".into()),
        ..Selection::default()
    };
    let svg = Svg::render(Kind::Scatter, &[data("runs.csv")], &sel);
    assert_texts(&svg, &["294 runs", "vth_v (mV)", "t_spike_s (ns)"]);
    assert_eq!(svg.count("circle", "fill", BLUE), 294 + 1);
    // t = C·V/I grows with the threshold: the correlation must be clearly positive.
    let r: f64 = svg
        .text_starting("least squares, r = ")
        .unwrap()
        .trim_start_matches("least squares, r = ")
        .parse()
        .unwrap();
    assert!(r > 0.3 && r < 1.0, "r = {r}");
    assert_png_drawn(Kind::Scatter, &[data("runs.csv")], &sel);
}

#[test]
fn transfer_inl_against_closed_form() {
    let svg = Svg::render(
        Kind::Transfer,
        &[data("transfer.csv")],
        &Selection::default(),
    );
    // v = 0.9 (1 - e^(-m/20)) / (1 - e^(-1.6)) on m = 0..32 against the line through its
    // end points (0, 0) and (32, 0.9): INL = max |v - 0.9 m / 32| / 0.9.
    let k = 1.0 - (-1.6f64).exp();
    let inl = (0..=32)
        .map(|m| {
            let m = f64::from(m);
            ((1.0 - (-m / 20.0).exp()) / k - m / 32.0).abs()
        })
        .fold(0.0, f64::max)
        * 100.0;
    assert_texts(
        &svg,
        &[
            &format!("v_out_v (INL {inl:.2} %)"),
            "v_ideal_v (INL 0.00 %)",
            "ideal (end points)",
            "output (mV)",
            "level",
        ],
    );
    assert_png_drawn(
        Kind::Transfer,
        &[data("transfer.csv")],
        &Selection::default(),
    );

    let json = Svg::render(
        Kind::Transfer,
        &[data("transfer.json")],
        &Selection::default(),
    );
    // t = 5 µs / m on m = 1..32: the chord from (1, 5) to (32, 5/32) µs is furthest from
    // the hyperbola where its slope equals the chord's, m* = sqrt(32).
    let f = |m: f64| 5.0 / m;
    let chord = |m: f64| f(1.0) + (f(32.0) - f(1.0)) * (m - 1.0) / 31.0;
    let worst = (1..=32)
        .map(|m| (f(f64::from(m)) - chord(f64::from(m))).abs())
        .fold(0.0, f64::max);
    let inl = 100.0 * worst / (f(1.0) - f(32.0));
    assert_texts(
        &json,
        &[
            &format!("spike_time_s (INL {inl:.2} %)"),
            "spike_time_s (µs)",
            "input level",
        ],
    );
}

#[test]
fn accuracy_lines_and_bands() {
    let svg = Svg::render(
        Kind::Accuracy,
        &[data("accuracy.csv")],
        &Selection::default(),
    );
    assert_texts(
        &svg,
        &[
            "ideal",
            "current-mirror",
            "time-domain",
            "accuracy (%)",
            "sigma_vth_v (mV)",
        ],
    );
    // One translucent band per neuron type.
    assert_eq!(svg.count("polygon", "fill", BLUE), 1);
    assert_eq!(svg.count("polygon", "fill", VERMILLION), 1);
    assert_eq!(svg.count("polygon", "fill", GREEN), 1);
    // Six variation values per neuron: six markers each, and the legend sample's dot.
    assert_eq!(svg.count("circle", "fill", VERMILLION), 7);
    assert_png_drawn(
        Kind::Accuracy,
        &[data("accuracy.csv")],
        &Selection::default(),
    );
}

#[test]
fn capmin_hist_log_bars() {
    let svg = Svg::render(
        Kind::CapminHist,
        &[data("capmin_hist.csv")],
        &Selection::default(),
    );
    assert_texts(
        &svg,
        &[
            "layer all",
            "count",
            "MAC level",
            "1",
            "10",
            "100",
            "1k",
            "10k",
        ],
    );
    let text = std::fs::read_to_string(data("capmin_hist.csv")).unwrap();
    let nonzero = text
        .lines()
        .filter(|l| l.starts_with("all,") && !l.ends_with(",0"))
        .count();
    assert_eq!(
        svg.count("rect", "fill", BLUE),
        nonzero + 1,
        "bars + legend box"
    );
    let layers = Selection {
        layers: vec!["fc1".into(), "fc2".into()],
        ..Selection::default()
    };
    let svg = Svg::render(Kind::CapminHist, &[data("capmin_hist.csv")], &layers);
    assert_texts(&svg, &["layer fc1", "layer fc2"]);
    assert!(!svg.has_text("layer all"));
    assert_png_drawn(
        Kind::CapminHist,
        &[data("capmin_hist.csv")],
        &Selection::default(),
    );
}

#[test]
fn capmin_sweep_two_panels() {
    let svg = Svg::render(
        Kind::CapminSweep,
        &[data("capmin_sweep.csv")],
        &Selection::default(),
    );
    assert_texts(
        &svg,
        &[
            "capacitance (pF)",
            "accuracy (%)",
            "kept levels K",
            "frequency",
            "coverage",
        ],
    );
    // One line per rule per panel, plus one legend sample per rule (legend in the top panel).
    assert_eq!(svg.polyline_points(BLUE).len(), 2 + 1);
    assert_eq!(svg.polyline_points(VERMILLION).len(), 2 + 1);
    assert_png_drawn(
        Kind::CapminSweep,
        &[data("capmin_sweep.csv")],
        &Selection::default(),
    );
}

#[test]
fn capmin_v_methods() {
    let svg = Svg::render(
        Kind::CapminV,
        &[data("capmin_v.csv")],
        &Selection::default(),
    );
    assert_texts(
        &svg,
        &[
            "baseline",
            "CapMin",
            "CapMin-V",
            "accuracy (%)",
            "capacitance (pF)",
            "current variation σ",
        ],
    );
    assert_eq!(svg.polyline_points(GREEN).len(), 2 + 1);
    assert_png_drawn(
        Kind::CapminV,
        &[data("capmin_v.csv")],
        &Selection::default(),
    );
}

#[test]
fn svg_has_physical_size_and_labels_can_be_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig.svg");
    let opts = FigureOptions {
        width_in: 7.0,
        height_in: 3.0,
        title: Some("IF neuron".into()),
        xlabel: Some("t".into()),
        ylabel: Some("membrane".into()),
        ..FigureOptions::default()
    };
    let sel = Selection {
        signals: vec!["v(mem)".into()],
        ..Selection::default()
    };
    plot::render(Kind::Wave, &[data("if_neuron.csv")], &sel, &opts, &out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("width"), Some("7.0000in"));
    assert_eq!(root.attribute("height"), Some("3.0000in"));
    assert_eq!(root.attribute("viewBox"), Some("0 0 2100 900"));
    let svg = Svg { text };
    assert_texts(&svg, &["IF neuron", "t (µs)", "membrane (V)"]);
}

#[test]
fn embedded_font_draws_text_into_png() {
    // Text in a PNG can only come from the font compiled into the binary (plotters' ab_glyph
    // backend never looks at system fonts), so a title must ink the band above the plot.
    let render = |title: Option<&str>| {
        let opts = FigureOptions {
            title: title.map(str::to_string),
            ..FigureOptions::default()
        };
        let plot = plot::load(Kind::Hist, &[data("runs.csv")], &Selection::default()).unwrap();
        let png = plot::render_bytes(&plot, &opts, plot::Format::Png).unwrap();
        let mut r = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        let band = (info.width * 3 * 40) as usize;
        buf[..band].iter().filter(|&&c| c < 128).count()
    };
    let plain = render(None);
    let titled = render(Some("Spike time over 300 runs"));
    assert!(
        titled > plain + 500,
        "title inked {titled} vs {plain} bytes"
    );
}
