//! Figures ready for a paper (issue 15): SVG coordinates keep their fractions, legends sit
//! where there is no data, text stays inside the canvas, measures carry units, and
//! `run --sweep --plot` separates quantities of different units.
//! The SVGs are parsed with roxmltree; expectations are computed here from the inputs.

use neurospice::plot::{self, FigureOptions, Kind, Selection};
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/plot")
        .join(name)
}

fn render(kind: Kind, inputs: &[PathBuf], sel: &Selection, opts: &FigureOptions) -> String {
    let plot = plot::load(kind, inputs, sel).unwrap();
    let bytes = plot::render_bytes(&plot, opts, plot::Format::Svg).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn points(attr: &str) -> Vec<(f64, f64)> {
    attr.split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn num(n: &roxmltree::Node, a: &str) -> f64 {
    n.attribute(a).unwrap().parse().unwrap()
}

/// A straight ramp drawn through 2,001 samples: every vertex of the SVG polyline must lie
/// on the ramp's line to within the rounding of two decimals. With whole-pixel coordinates
/// (the old behaviour) vertices stray up to half a pixel and the line looks wobbly.
#[test]
fn svg_coordinates_are_not_rounded() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ramp.csv");
    let mut text = String::from("time,v(out)\n");
    for k in 0..=2000 {
        let t = f64::from(k) * 1e-9;
        // 0.37 V/µs: a slope that puts few vertices on whole pixels.
        text.push_str(&format!("{t:e},{:e}\n", 0.37e6 * t));
    }
    std::fs::write(&csv, text).unwrap();
    let svg = render(
        Kind::Wave,
        &[csv],
        &Selection::default(),
        &FigureOptions::default(),
    );
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let ramp = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some("#0072B2"))
        .map(|n| points(n.attribute("points").unwrap()))
        .max_by_key(Vec::len)
        .unwrap();
    assert!(ramp.len() > 100, "{} vertices", ramp.len());
    let (a, b) = (ramp[0], ramp[ramp.len() - 1]);
    let worst = ramp
        .iter()
        .map(|p| {
            // distance from the line through a and b
            ((b.0 - a.0) * (a.1 - p.1) - (a.0 - p.0) * (b.1 - a.1)).abs()
                / (b.0 - a.0).hypot(b.1 - a.1)
        })
        .fold(0.0, f64::max);
    // Two decimals of a 1/10 grid: within 0.15 units (whole units strayed up to 0.7).
    assert!(worst < 0.15, "a vertex is {worst} user units off the ramp");
    let fractional = ramp.iter().filter(|p| p.1.fract() != 0.0).count();
    assert!(fractional * 2 > ramp.len(), "coordinates look rounded");
    // Stroke widths are no longer whole user units either: 0.9 pt at 300 dpi is 3.75.
    assert!(svg.contains("stroke-width=\"3.8\""), "line width rounded");
}

/// The legend's background box (white at 85 % opacity).
fn legend_box(doc: &roxmltree::Document) -> (f64, f64, f64, f64) {
    let r = doc
        .descendants()
        .find(|n| n.has_tag_name("rect") && n.attribute("opacity") == Some("0.85"))
        .expect("a legend box");
    let (x, y) = (num(&r, "x"), num(&r, "y"));
    (x, y, x + num(&r, "width"), y + num(&r, "height"))
}

fn inside(b: (f64, f64, f64, f64), p: (f64, f64)) -> bool {
    p.0 > b.0 && p.0 < b.2 && p.1 > b.1 && p.1 < b.3
}

/// Data drawn as polylines of more than two vertices (legend samples have two).
fn data_vertices(doc: &roxmltree::Document) -> Vec<(f64, f64)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| points(n.attribute("points").unwrap()))
        .filter(|p| p.len() > 2)
        .flatten()
        .collect()
}

#[test]
fn legend_boxes_do_not_cover_data() {
    // The IF neuron's sawtooth reaches the top of the panel; its spike markers sit on it.
    let wave = Selection {
        signals: vec!["v(mem)".into()],
        spikes: Some(data("if_neuron_spikes.csv")),
        ..Selection::default()
    };
    let runs: Vec<PathBuf> = (1..=20)
        .map(|r| data(&format!("waves/run_{r:04}.csv")))
        .collect();
    let overlay = Selection {
        signal: Some("v(mem)".into()),
        nominal: Some(data("waves/nominal.csv")),
        ..Selection::default()
    };
    let hist = Selection {
        column: Some("t_spike_s".into()),
        ..Selection::default()
    };
    let cases: [(&str, Kind, Vec<PathBuf>, Selection); 3] = [
        ("if_neuron", Kind::Wave, vec![data("if_neuron.csv")], wave),
        ("mc_overlay", Kind::McOverlay, runs, overlay),
        ("mc_hist", Kind::Hist, vec![data("runs.csv")], hist),
    ];
    for (name, kind, inputs, sel) in cases {
        let svg = render(kind, &inputs, &sel, &FigureOptions::default());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let b = legend_box(&doc);
        let covered: Vec<_> = data_vertices(&doc)
            .into_iter()
            .filter(|&p| inside(b, p))
            .collect();
        assert!(
            covered.is_empty(),
            "{name}: legend {b:?} covers {covered:?}"
        );
        // Markers (triangles) and histogram bars are data too.
        for n in doc.descendants() {
            if n.has_tag_name("polygon") && n.attribute("fill") == Some("#D55E00") {
                let tri = points(n.attribute("points").unwrap());
                let c = (
                    tri.iter().map(|p| p.0).sum::<f64>() / 3.0,
                    tri.iter().map(|p| p.1).sum::<f64>() / 3.0,
                );
                // the legend's own sample triangle is inside the box by design
                let sample = c.0 < b.0 + (b.2 - b.0) * 0.25;
                assert!(
                    !inside(b, c) || sample,
                    "{name}: a spike marker under the legend"
                );
            }
            if n.has_tag_name("rect")
                && n.attribute("fill") == Some("#0072B2")
                && num(&n, "height") > 0.0
                && num(&n, "width") > 30.0
            {
                let (x, y) = (num(&n, "x"), num(&n, "y"));
                let bar = (x, y, x + num(&n, "width"), y + num(&n, "height"));
                // the legend's own sample box lies wholly inside it
                if bar.0 >= b.0 && bar.2 <= b.2 && bar.1 >= b.1 && bar.3 <= b.3 {
                    continue;
                }
                let overlap = bar.0 < b.2 && bar.2 > b.0 && bar.1 < b.3 && bar.3 > b.1;
                assert!(!overlap, "{name}: a bar {bar:?} under the legend {b:?}");
            }
        }
    }
}

/// DejaVu Sans: ascent 0.93 em, descent 0.24 em, and no glyph of our labels wider than
/// a digit (0.64 em) on average.
fn text_box(n: &roxmltree::Node) -> (f64, f64, f64, f64) {
    let size = num(n, "font-size");
    let (x, y) = (num(n, "x"), num(n, "y"));
    let chars = n.text().unwrap_or("").trim().chars().count() as f64;
    let w = chars * 0.64 * size;
    // plotters writes dy = 0.76em (top anchor), 0.5ex (centre) or -0.5ex (bottom)
    let baseline = match n.attribute("dy") {
        Some("0.76em") => y + 0.76 * size,
        Some("0.5ex") => y + 0.25 * size,
        Some("-0.5ex") => y - 0.25 * size,
        _ => y,
    };
    let (top, bottom) = (baseline - 0.93 * size, baseline + 0.24 * size);
    let (left, right) = match n.attribute("text-anchor") {
        Some("middle") => (x - w / 2.0, x + w / 2.0),
        Some("end") => (x - w, x),
        _ => (x, x + w),
    };
    if n.attribute("transform")
        .is_some_and(|t| t.starts_with("rotate(270"))
    {
        // rotated about (x, y): horizontal extent becomes vertical
        let (dl, dr) = (left - x, right - x);
        let (dt, db) = (top - y, bottom - y);
        return (x + dt, y - dr, x + db, y - dl);
    }
    (left, top, right, bottom)
}

#[test]
fn text_stays_inside_the_canvas() {
    let inputs_hist = [data("runs.csv")];
    let runs: Vec<PathBuf> = (1..=20)
        .map(|r| data(&format!("waves/run_{r:04}.csv")))
        .collect();
    let opts = FigureOptions {
        title: Some("Águas jumping, 1000 runs".into()),
        ..FigureOptions::default()
    };
    let cases: [(Kind, &[PathBuf]); 3] = [
        (Kind::Hist, &inputs_hist),
        (Kind::McOverlay, &runs),
        (Kind::Transfer, &[data("transfer.csv")]),
    ];
    for (kind, inputs) in cases {
        let svg = render(kind, inputs, &Selection::default(), &opts);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let (w, h) = (1050.0, 780.0);
        for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
            let b = text_box(&n);
            let t = n.text().unwrap_or("").trim().to_string();
            assert!(
                b.0 >= 0.0 && b.1 >= 0.0 && b.2 <= w && b.3 <= h,
                "{kind:?}: `{t}` at {b:?} leaves the {w}x{h} canvas"
            );
        }
        // The PNG: text cut at the border would leave ink in the outermost pixels.
        let plot = plot::load(kind, inputs, &Selection::default()).unwrap();
        let png = plot::render_bytes(&plot, &opts, plot::Format::Png).unwrap();
        let mut r = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        let (pw, ph) = (info.width as usize, info.height as usize);
        let dark = |x: usize, y: usize| buf[(y * pw + x) * 3..][..3].iter().any(|&c| c < 160);
        for x in 0..pw {
            assert!(
                !dark(x, 0) && !dark(x, ph - 1),
                "{kind:?}: ink on the top/bottom edge at x={x}: {} {}",
                dark(x, 0),
                dark(x, ph - 1)
            );
        }
        for y in 0..ph {
            assert!(
                !dark(0, y) && !dark(pw - 1, y),
                "{kind:?}: ink on a side edge at y={y}"
            );
        }
    }
}

fn ns(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run neurospice");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn texts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("figure written");
    let doc = roxmltree::Document::parse(&text).expect("valid SVG");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

/// `mc -m tcross=rise(...)` measures a time: the histogram says ns, on the axis and in the
/// legend, never "×1e-9".
#[test]
fn mc_measures_carry_units() {
    let d = tempfile::tempdir().unwrap();
    let runs = d.path().join("runs.csv");
    let fig = d.path().join("h.svg");
    ns(&[
        "mc",
        "netlists/mc_if_neuron.cir",
        "--runs",
        "40",
        "-m",
        "tcross=rise(v(mem),0.45)",
        "-m",
        "vend=final(v(mem))",
        "-o",
        runs.to_str().unwrap(),
        "--plot",
        fig.to_str().unwrap(),
        "-q",
    ]);
    let t = texts(&fig);
    assert!(t.iter().any(|s| s == "tcross (ns)"), "{t:?}");
    assert!(
        t.iter()
            .any(|s| s.starts_with("mean ") && s.ends_with(" ns")),
        "{t:?}"
    );
    assert!(!t.iter().any(|s| s.contains("×1e")), "{t:?}");
    // The sidecar records both units; `plot hist` of the other column reads it back.
    let v = d.path().join("v.svg");
    ns(&[
        "plot",
        "hist",
        runs.to_str().unwrap(),
        "--column",
        "vend",
        "-o",
        v.to_str().unwrap(),
    ]);
    let t = texts(&v);
    assert!(
        t.iter().any(|s| s == "vend (mV)" || s == "vend (V)"),
        "{t:?}"
    );
}

/// `run --sweep --plot`: spike counts and times never share an axis, no INL legend, and
/// `--sweep-log` gives a log axis with decade labels.
#[test]
fn sweep_plot_separates_units_and_honours_log() {
    let d = tempfile::tempdir().unwrap();
    let fig = d.path().join("sw.svg");
    let csv = d.path().join("m.csv");
    ns(&[
        "run",
        "netlists/if_neuron.cir",
        "--save",
        "none",
        "--spikes",
        "mem:0.45",
        "--sweep",
        "iin=0.1u:10u:5",
        "--sweep-log",
        "--meas-csv",
        csv.to_str().unwrap(),
        "--plot",
        fig.to_str().unwrap(),
    ]);
    let t = texts(&fig);
    assert!(!t.iter().any(|s| s.contains("INL")), "{t:?}");
    // one panel for the count, one for the three times (a shared "time" axis in µs or ns)
    assert!(t.iter().any(|s| s == "mem_count"), "{t:?}");
    assert!(
        t.iter()
            .any(|s| s.starts_with("time (") && s.ends_with("s)")),
        "{t:?}"
    );
    // 0.1 µA to 10 µA on a log axis: the decades 100n, 1µ and 10µ are labelled.
    for dec in ["100n", "1µ", "10µ"] {
        assert!(t.iter().any(|s| s == dec), "no tick {dec} in {t:?}");
    }
    let text = std::fs::read_to_string(&fig).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let rotated = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("text")
                && n.attribute("transform")
                    .is_some_and(|t| t.starts_with("rotate(270"))
        })
        .count();
    assert_eq!(rotated, 2, "two y axes: count and time");
}
