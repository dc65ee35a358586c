//! `--plot FIG` on `run` (waveforms, sweep rows), `mc` (histogram), `snn sweep` (accuracy) and
//! `capmin` (its table): the figure is written and carries the expected labels.
use std::process::Command;

fn ns(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .args(args)
        .output()
        .expect("run neurospice");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn svg_text(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).expect("figure written");
    let doc = roxmltree::Document::parse(&text).expect("valid SVG");
    doc.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn run_and_mc_draw_one_shot_figures() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_string_lossy().into_owned();
    ns(&[
        "run",
        "netlists/if_neuron.cir",
        "-o",
        &p("if.csv"),
        "--spikes",
        "mem:0.45",
        "--spikes-out",
        &p("s.csv"),
        "--plot",
        &p("if.svg"),
        "-q",
    ]);
    let t = svg_text(&d.path().join("if.svg"));
    assert!(t.contains("v(mem)") && t.contains("time"), "{t}");
    ns(&[
        "run",
        "netlists/if_neuron.cir",
        "--save",
        "none",
        "--spikes",
        "mem:0.45",
        "--sweep",
        "iin=0.5u:2u:5",
        "--meas-csv",
        &p("m.csv"),
        "--plot",
        &p("sw.svg"),
    ]);
    assert!(svg_text(&d.path().join("sw.svg")).contains("mem_count"));
    ns(&[
        "mc",
        "netlists/mc_if_neuron.cir",
        "--runs",
        "50",
        "-m",
        "tcross=rise(v(mem),0.45)",
        "-o",
        &p("runs.csv"),
        "--plot",
        &p("h.svg"),
        "-q",
    ]);
    assert!(svg_text(&d.path().join("h.svg")).contains("tcross"));
    let m = [
        "--model",
        "models/bnn_mnist.json",
        "--data",
        "data/mnist_4k.csv.gz",
    ];
    let (acc_csv, acc_svg, hist_csv, hist_svg) =
        (p("acc.csv"), p("acc.svg"), p("hist.csv"), p("hist.svg"));
    let mut args = vec!["snn", "sweep"];
    args.extend(m);
    args.extend([
        "--neuron-kind",
        "current-sigma",
        "--values",
        "0,0.05",
        "--repeats",
        "1",
        "-o",
        &acc_csv,
        "--plot",
        &acc_svg,
    ]);
    ns(&args);
    assert!(svg_text(&d.path().join("acc.svg")).contains("current-sigma"));
    let mut args = vec!["capmin", "hist"];
    args.extend(m);
    args.extend(["-o", &hist_csv, "--plot", &hist_svg]);
    ns(&args);
    assert!(svg_text(&d.path().join("hist.svg")).contains("level"));
}
