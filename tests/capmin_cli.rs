//! `neurospice capmin` end to end on the committed model: totals against the network's shape,
//! the all-levels selection against the model's recorded accuracy, errors instead of panics.

use std::process::Command;

fn neurospice(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

const MODEL: &str = "models/bnn_mnist.json";
const DATA: &str = "data/mnist_4k.csv.gz";

#[test]
fn hist_counts_every_chunk_read_of_the_training_split() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hist.csv");
    let o = neurospice(&[
        "capmin",
        "hist",
        "--model",
        MODEL,
        "--data",
        DATA,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(&out).unwrap();
    let total: u64 = csv
        .lines()
        .filter(|l| l.starts_with("all,"))
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    // 784-512-512-10, chunks of 32: 512·25 + 512·16 + 10·16 reads per digit, 3,200 training digits
    assert_eq!(total, 3200 * (512 * 25 + 512 * 16 + 10 * 16));
}

#[test]
fn keeping_every_level_is_the_trained_network() {
    let o = neurospice(&[
        "capmin", "select", "--model", MODEL, "--data", DATA, "--keep", "33", "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let model: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/{MODEL}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    let recorded = model["training"]["test_accuracy"].as_f64().unwrap();
    assert_eq!(j["capmin"]["levels"].as_array().unwrap().len(), 33);
    assert!((j["capmin"]["accuracy"].as_f64().unwrap() - recorded).abs() < 1e-12);
    assert!((j["reduction"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    // 31·32 · 1 ns · 10 nA / 0.5 V
    assert!((j["baseline_capacitance_f"].as_f64().unwrap() - 19.84e-15).abs() < 1e-20);
}

#[test]
fn foreign_data_and_bad_options_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let row: Vec<String> = (0..785)
        // a first pixel of 100 leaves no doubt that the label is the last column
        .map(|i| match i {
            0 => "100".into(),
            784 => "3".into(),
            _ => "0".into(),
        })
        .collect();
    std::fs::write(&csv, row.join(",") + "\n").unwrap();
    let o = neurospice(&[
        "capmin",
        "hist",
        "--model",
        MODEL,
        "--data",
        csv.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("differs from the file"));
    let o = neurospice(&[
        "capmin",
        "protect",
        "--model",
        MODEL,
        "--data",
        DATA,
        "--sigma",
        "0.01",
        "--target-error",
        "0.7",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("target error"));
    let o = neurospice(&[
        "capmin", "select", "--model", MODEL, "--data", DATA, "--t-clk", "-1",
    ]);
    assert!(!o.status.success());
}
