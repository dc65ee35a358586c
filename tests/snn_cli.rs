//! `neurospice snn` end to end: JSON output, the sweep table, errors and exit codes.

use std::process::Command;

fn neurospice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neurospice"))
}

#[test]
fn eval_json_reports_the_stored_test_accuracy() {
    let out = neurospice()
        .args([
            "snn",
            "eval",
            "--model",
            "models/bnn_mnist.json",
            "--data",
            "data/mnist_4k.csv.gz",
            "--neuron",
            "ideal",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string("models/bnn_mnist.json").unwrap();
    let model: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["accuracy"], model["training"]["test_accuracy"]);
    assert_eq!(j["n"], 800);
    assert_eq!(j["repeats"], 1);
    assert_eq!(j["accuracy_std"], 0.0);
}

#[test]
fn sweep_writes_the_plot_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sweep.csv");
    let status = neurospice()
        .args([
            "snn",
            "sweep",
            "--model",
            "models/bnn_mnist.json",
            "--data",
            "data/mnist_4k.csv.gz",
            "--neuron-kind",
            "current-sigma",
            "--param",
            "sigma",
            "--values",
            "0,0.1",
            "--repeats",
            "2",
            "-o",
        ])
        .arg(&csv)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "neuron,param,value,accuracy,accuracy_std,accuracy_lo,accuracy_hi,n,repeats"
    );
    assert_eq!(lines.len(), 3);
    let row = |i: usize| -> Vec<String> { lines[i].split(',').map(String::from).collect() };
    assert_eq!(row(1)[..3], ["current-sigma", "sigma", "0"]);
    assert_eq!(row(1)[8], "2");
    let acc0: f64 = row(1)[3].parse().unwrap();
    let acc1: f64 = row(2)[3].parse().unwrap();
    // 10% current spread misreads many levels; the ideal neuron's accuracy must drop.
    assert!(acc1 < acc0, "{acc0} vs {acc1}");
}

#[test]
fn errors_exit_with_code_1_and_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "1,2,3\n").unwrap();
    let out = neurospice()
        .args(["snn", "eval", "--model", "models/bnn_mnist.json", "--data"])
        .arg(&bad)
        .args(["--split", "all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("bad.csv") && err.contains("line 1"),
        "{err}"
    );
    // A test split of data the model was not trained on is refused.
    let other = dir.path().join("other.csv");
    let row = format!("{},4\n", vec!["0"; 784].join(","));
    std::fs::write(&other, row).unwrap();
    let out = neurospice()
        .args(["snn", "eval", "--model", "models/bnn_mnist.json", "--data"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a split the data cannot give is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--split all"));
}
