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
    // A test split of data the model was not trained on is refused when asked for.
    let other = dir.path().join("other.csv");
    // (a first pixel of 100: the label is unambiguously the last column)
    let row = format!("100,{},4\n", vec!["0"; 783].join(","));
    std::fs::write(&other, row).unwrap();
    let out = neurospice()
        .args(["snn", "eval", "--model", "models/bnn_mnist.json", "--data"])
        .arg(&other)
        .args(["--split", "test"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a split the data cannot give is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--split all"));
}

#[test]
fn eval_on_another_file_evaluates_all_of_it_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.csv");
    // Three blank digits labelled 4, 4 and 7.
    let blank = vec!["0"; 784].join(",");
    std::fs::write(&other, format!("{blank},4\n{blank},4\n{blank},7\n")).unwrap();
    let out = neurospice()
        .args([
            "snn",
            "eval",
            "--model",
            "models/bnn_mnist.json",
            "--json",
            "--data",
        ])
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not the file the model was trained on") && err.contains("all 3 images"),
        "{err}"
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["n"], 3);
    // Identical images: all right or all wrong, except the two labels differ.
    let acc = j["accuracy"].as_f64().unwrap();
    assert!(
        [0.0, 2.0 / 3.0, 1.0 / 3.0]
            .iter()
            .any(|a| (a - acc).abs() < 1e-12)
    );
    // On its own training file the default stays the held-out split.
    let out = neurospice()
        .args(["snn", "eval", "--model", "models/bnn_mnist.json", "--json"])
        .args(["--data", "data/mnist_4k.csv.gz"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["n"], 800);
}

#[test]
fn eval_reports_a_wilson_interval_and_both_readouts_agree_for_the_ideal_neuron() {
    let run = |readout: &str| -> serde_json::Value {
        let out = neurospice()
            .args(["snn", "eval", "--model", "models/bnn_mnist.json", "--json"])
            .args(["--data", "data/mnist_4k.csv.gz", "--readout", readout])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (x, a) = (run("xnor"), run("and"));
    assert_eq!(x["accuracy"], a["accuracy"]);
    assert_eq!(
        (x["readout"].as_str(), a["readout"].as_str()),
        (Some("xnor"), Some("and"))
    );
    // Wilson score interval of 760/800 = 0.95: 0.9326..0.9631 (the score interval formula, computed independently).
    let acc = x["accuracy"].as_f64().unwrap();
    assert_eq!(acc, 0.95);
    assert!(
        (x["binomial_lo"].as_f64().unwrap() - 0.932_630).abs() < 1e-5,
        "{x}"
    );
    assert!(
        (x["binomial_hi"].as_f64().unwrap() - 0.963_069).abs() < 1e-5,
        "{x}"
    );
}

#[test]
fn train_with_nothing_held_out_writes_a_model_eval_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let out = neurospice()
        .args([
            "snn",
            "train",
            "--data",
            "data/mnist_4k.csv.gz",
            "--test-fraction",
            "0",
        ])
        .args([
            "--hidden",
            "32",
            "--epochs",
            "1",
            "--weight-bits",
            "2",
            "-o",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing held out"));
    let eval = |split: &str| {
        neurospice()
            .args(["snn", "eval", "--model"])
            .arg(&model)
            .args(["--data", "data/mnist_4k.csv.gz", "--json", "--split", split])
            .output()
            .unwrap()
    };
    let out = eval("train");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["n"], 4000);
    let out = eval("test");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a split the model cannot give is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds out no digits"));
}
