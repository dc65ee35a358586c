//! Figures ready for a paper, part two (issue 15): PNG lines are anti-aliased, volts and
//! amperes never share a y axis, and legends with many entries cover no data without
//! stretching the axis past the data's own range. Everything is checked in figure
//! coordinates on the rendered file (SVG parsed with roxmltree, PNG decoded with `png`).

use neurospice::plot::{self, FigureOptions, Kind, Selection};
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/plot")
        .join(name)
}

fn svg(kind: Kind, inputs: &[PathBuf], sel: &Selection) -> String {
    let plot = plot::load(kind, inputs, sel).unwrap();
    let bytes = plot::render_bytes(&plot, &FigureOptions::default(), plot::Format::Svg).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn num(n: &roxmltree::Node, a: &str) -> f64 {
    n.attribute(a).unwrap().parse().unwrap()
}

fn points(attr: &str) -> Vec<(f64, f64)> {
    attr.split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

/// A ramp of 2,001 samples at a slope that puts few points on whole pixels.
fn ramp_csv(dir: &Path) -> PathBuf {
    let csv = dir.join("ramp.csv");
    let mut text = String::from("time,v(out)\n");
    for k in 0..=2000 {
        let t = f64::from(k) * 1e-9;
        text.push_str(&format!("{t:e},{:e}\n", 0.37e6 * t));
    }
    std::fs::write(&csv, text).unwrap();
    csv
}

/// Pixels of a decoded RGB image that are white blended with `c` by a coverage between
/// `lo` and `hi` (each channel consistent with one coverage, so grey grid lines and black
/// text do not count).
fn blended(rgb: &[u8], c: [u8; 3], lo: f64, hi: f64) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| {
            let a = (255.0 - f64::from(p[0])) / (255.0 - f64::from(c[0]));
            (lo..hi).contains(&a)
                && (1..3).all(|k| {
                    let want = 255.0 - a * (255.0 - f64::from(c[k]));
                    (f64::from(p[k]) - want).abs() <= 8.0
                })
        })
        .count()
}

/// plotters' bitmap backend draws lines on whole pixels with no partial coverage: a ramp
/// is a staircase of line-coloured pixels on white. Drawn anti-aliased, the ramp's edges
/// are pixels partly covered; a straight line ~4 px wide has about two of them per column.
#[test]
fn png_lines_are_anti_aliased() {
    let d = tempfile::tempdir().unwrap();
    let plot = plot::load(Kind::Wave, &[ramp_csv(d.path())], &Selection::default()).unwrap();
    let opts = FigureOptions::default();
    let png = plot::render_bytes(&plot, &opts, plot::Format::Png).unwrap();
    let mut r = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        opts.pixels(),
        "page size in pixels"
    );
    let blue = [0x00, 0x72, 0xB2];
    let partial = blended(&buf, blue, 0.1, 0.9);
    let inked = blended(&buf, blue, 0.1, 1.2);
    let cols = info.width as usize;
    assert!(
        inked > cols,
        "the ramp is drawn: {inked} line pixels in {cols} columns"
    );
    assert!(
        partial * 4 > inked && partial > cols / 2,
        "{partial} of {inked} line pixels partly covered: the line is aliased"
    );
}

/// Text is not blurred by the anti-aliasing: the tick labels' black ink keeps fully black
/// pixels (a blurred glyph would have none).
#[test]
fn png_text_stays_crisp() {
    let d = tempfile::tempdir().unwrap();
    let plot = plot::load(Kind::Wave, &[ramp_csv(d.path())], &Selection::default()).unwrap();
    let png = plot::render_bytes(&plot, &FigureOptions::default(), plot::Format::Png).unwrap();
    let mut r = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    r.next_frame(&mut buf).unwrap();
    let black = buf
        .chunks_exact(3)
        .filter(|p| p.iter().all(|&c| c < 40))
        .count();
    let grey = buf
        .chunks_exact(3)
        .filter(|p| p.iter().all(|&c| (40..200).contains(&c)) && p[0] == p[1] && p[1] == p[2])
        .count();
    assert!(
        black * 2 > grey,
        "{black} black against {grey} grey text pixels: text is blurred"
    );
}

/// `v(in)` and `i(v1)` asked for in one panel: each unit gets its own panel on the shared
/// time axis, named with its unit; no axis reads "value".
#[test]
fn volts_and_amperes_get_their_own_panels() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("vi.csv");
    let mut text = String::from("time,v(in),v(out),i(v1)\n");
    for k in 0..=100 {
        let t = f64::from(k) * 1e-8;
        let v = 1.0 - (-t / 1e-6).exp();
        text.push_str(&format!("{t:e},1,{v:e},{:e}\n", -(1.0 - v) * 1e-3));
    }
    std::fs::write(&csv, text).unwrap();
    let sel = Selection {
        signals: vec!["v(in)".into(), "i(v1)".into(), "v(out)".into()],
        ..Selection::default()
    };
    let s = svg(Kind::Wave, &[csv], &sel);
    let doc = roxmltree::Document::parse(&s).unwrap();
    let t = texts(&doc);
    assert!(t.contains(&"voltage (V)".to_string()), "{t:?}");
    assert!(t.contains(&"i(v1) (mA)".to_string()), "{t:?}");
    assert!(!t.iter().any(|x| x.starts_with("value")), "{t:?}");
    // two panels: the x axis name once, two rotated y names
    let rotated = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter(|n| {
            n.attribute("transform")
                .is_some_and(|a| a.contains("rotate"))
        })
        .count();
    assert_eq!(rotated, 2, "{t:?}");
    assert_eq!(t.iter().filter(|x| x.starts_with("time")).count(), 1);
}

/// A control-language `plot v(in) v(out) i(v1)` draws volts and amperes in panels of
/// their own as well.
#[test]
fn control_plot_separates_units() {
    let d = tempfile::tempdir().unwrap();
    let deck = d.path().join("rc.cir");
    std::fs::write(
        &deck,
        "rc\nV1 in 0 PULSE(0 1 0 1n 1n 10u 20u)\nR1 in out 1k\nC1 out 0 1n\n.control\n\
         tran 10n 5u\nplot v(in) v(out) i(v1)\n.endc\n.end\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .args(["run", "rc.cir"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = std::fs::read_to_string(d.path().join("rc_plot1.svg")).unwrap();
    let doc = roxmltree::Document::parse(&s).unwrap();
    let t = texts(&doc);
    assert!(t.contains(&"voltage (V)".to_string()), "{t:?}");
    assert!(t.contains(&"i(v1) (mA)".to_string()), "{t:?}");
}

/// The legend box: the white rectangle at 85 % opacity.
fn legend_box(doc: &roxmltree::Document) -> (f64, f64, f64, f64) {
    let r = doc
        .descendants()
        .find(|n| n.has_tag_name("rect") && n.attribute("opacity") == Some("0.85"))
        .expect("a legend box");
    let (x, y) = (num(&r, "x"), num(&r, "y"));
    (x, y, x + num(&r, "width"), y + num(&r, "height"))
}

/// What a figure draws as data, in figure coordinates: vertices of polylines of more than
/// two points (legend samples have two), centres of markers, and bar rectangles.
fn data_marks(
    doc: &roxmltree::Document,
    legend: (f64, f64, f64, f64),
) -> Vec<(f64, f64, f64, f64)> {
    let within = |b: (f64, f64, f64, f64)| {
        b.0 >= legend.0 && b.2 <= legend.2 && b.1 >= legend.1 && b.3 <= legend.3
    };
    let mut marks = Vec::new();
    for n in doc.descendants() {
        if n.has_tag_name("polyline") {
            let p = points(n.attribute("points").unwrap());
            if p.len() > 2 {
                marks.extend(p.into_iter().map(|q| (q.0, q.1, q.0, q.1)));
            }
        } else if n.has_tag_name("circle") {
            let (x, y) = (num(&n, "cx"), num(&n, "cy"));
            let b = (x, y, x, y);
            // the legend's own sample dots lie inside it
            if !within(b) {
                marks.push(b);
            }
        } else if n.has_tag_name("rect")
            && n.attribute("opacity") != Some("0.85")
            && n.attribute("fill")
                .is_some_and(|f| f != "none" && f != "#FFFFFF")
        {
            let (x, y) = (num(&n, "x"), num(&n, "y"));
            let b = (x, y, x + num(&n, "width"), y + num(&n, "height"));
            if !within(b) {
                marks.push(b);
            }
        }
    }
    marks
}

fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.2 && a.2 > b.0 && a.1 < b.3 && a.3 > b.1
}

/// Numbers written as y tick labels (right-anchored text).
fn y_ticks(doc: &roxmltree::Document) -> Vec<f64> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("end"))
        .filter_map(|n| n.text()?.trim().parse().ok())
        .collect()
}

/// Six legend entries on an accuracy figure whose lines fill every corner: the legend must
/// cover no data and the accuracy axis must stay within the data's range (the old layout
/// raised the top to 160 %, squeezing the data into half the plot).
#[test]
fn six_entry_legend_covers_no_data_and_keeps_the_axis() {
    let s = svg(
        Kind::Accuracy,
        &[data("accuracy_six.csv")],
        &Selection::default(),
    );
    let doc = roxmltree::Document::parse(&s).unwrap();
    let b = legend_box(&doc);
    let marks = data_marks(&doc, b);
    assert!(marks.len() > 50);
    let covered: Vec<_> = marks.iter().filter(|m| overlaps(b, **m)).collect();
    assert!(covered.is_empty(), "legend {b:?} covers {covered:?}");
    let top = y_ticks(&doc).into_iter().fold(f64::MIN, f64::max);
    assert!(top <= 100.0, "the accuracy axis reaches {top} %");
    assert!(
        b.0 >= 0.0 && b.1 >= 0.0 && b.2 <= 1050.0 && b.3 <= 780.0,
        "{b:?}"
    );
}

/// Every kind with a legend, drawn from the test data: the legend box covers none of the
/// figure's data marks, and stays on the page.
#[test]
fn legends_cover_no_data_in_any_kind() {
    let runs: Vec<PathBuf> = (1..=20)
        .map(|r| data(&format!("waves/run_{r:04}.csv")))
        .collect();
    let cases: Vec<(Kind, Vec<PathBuf>, Selection)> = vec![
        (
            Kind::Wave,
            vec![data("if_neuron.csv")],
            Selection {
                signals: vec!["v(mem)".into()],
                spikes: Some(data("if_neuron_spikes.csv")),
                ..Selection::default()
            },
        ),
        (
            Kind::McOverlay,
            runs,
            Selection {
                signal: Some("v(mem)".into()),
                nominal: Some(data("waves/nominal.csv")),
                ..Selection::default()
            },
        ),
        (
            Kind::Hist,
            vec![data("runs.csv")],
            Selection {
                column: Some("t_spike_s".into()),
                ..Selection::default()
            },
        ),
        (
            Kind::Transfer,
            vec![data("transfer.csv")],
            Selection::default(),
        ),
        (
            Kind::Accuracy,
            vec![data("accuracy.csv")],
            Selection::default(),
        ),
        (
            Kind::CapminHist,
            vec![data("capmin_hist.csv")],
            Selection::default(),
        ),
        (
            Kind::CapminSweep,
            vec![data("capmin_sweep.csv")],
            Selection::default(),
        ),
        (
            Kind::CapminV,
            vec![data("capmin_v.csv")],
            Selection::default(),
        ),
    ];
    for (kind, inputs, sel) in cases {
        let s = svg(kind, &inputs, &sel);
        let doc = roxmltree::Document::parse(&s).unwrap();
        if !s.contains("opacity=\"0.85\"") {
            continue;
        }
        let b = legend_box(&doc);
        let covered: Vec<_> = data_marks(&doc, b)
            .into_iter()
            .filter(|m| overlaps(b, *m))
            .collect();
        assert!(
            covered.is_empty(),
            "{kind:?}: legend {b:?} covers {covered:?}"
        );
        assert!(
            b.0 >= 0.0 && b.1 >= 0.0 && b.2 <= 1050.0 && b.3 <= 780.0,
            "{kind:?}: legend {b:?} off the page"
        );
    }
}
