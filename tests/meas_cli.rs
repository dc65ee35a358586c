//! The `.meas` command-line contract: `name = value` lines on stdout, failed measures reported
//! with a reason and exit status 0 (1 with `--strict`), `--meas-json` with full precision,
//! errors in .meas cards at file:line:col with a caret, and measure signals saved even when
//! `--save` leaves them out (without adding them to the output file).

mod common;

use common::run_neurospice;
use std::path::Path;

/// An RC charging curve: v(out) = 1 - exp(-(t - 5.5n)/1u) after the 1 ns step edge.
const RC: &str = "rc meas
V1 in 0 PULSE(0 1 5n 1n 1n 1 2)
R1 in out 1k
C1 out 0 1n
.options reltol=1e-6
.tran 10n 3u 0 10n
";

fn run_in(dir: &Path, netlist: &str, args: &[&str]) -> common::RunOutput {
    std::fs::write(dir.join("t.cir"), netlist).unwrap();
    let mut a = vec!["run", "t.cir"];
    a.extend_from_slice(args);
    run_neurospice(&a, dir, Some(std::time::Duration::from_secs(600)))
}

#[test]
fn values_failures_and_strict() {
    let d = tempfile::tempdir().unwrap();
    let net = format!(
        "{RC}.meas tran thalf WHEN v(out)=0.5\n.meas tran never WHEN v(out)=2\n.meas tran late FIND v(out) AT=5u\n.end\n"
    );
    let out = run_in(d.path(), &net, &["--meas-json", "m.json"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    // tau*ln 2 after the middle of the step edge
    let t = 1e-6 * std::f64::consts::LN_2 + 5.5e-9;
    assert!(
        lines[0].starts_with("thalf               =  6.98"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("never               =  failed (WHEN: 0 crossing(s)"));
    assert!(lines[2].contains("failed (FIND AT=5.000000e-06 is outside the run"));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("m.json")).unwrap()).unwrap();
    let v = j["thalf"].as_f64().unwrap();
    assert!((v - t).abs() / t < 1e-4, "{v} vs {t}");
    assert!(j["never"]["failed"].as_str().unwrap().contains("crossing"));
    assert!(j["late"]["failed"].is_string());

    let strict = run_in(d.path(), &net, &["--strict"]);
    assert_eq!(strict.code, Some(1));
    assert!(
        strict.stderr.contains("2 measure(s) could not be taken"),
        "{}",
        strict.stderr
    );
    assert_eq!(strict.stdout.lines().count(), 3);
}

#[test]
fn syntax_error_points_at_the_token() {
    let d = tempfile::tempdir().unwrap();
    let net = format!("{RC}.meas tran bad WHEN v(out)=0.5 RIZE=1\n.end\n");
    let out = run_in(d.path(), &net, &[]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("'RIZE=' is not allowed here"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--> t.cir:7:32"), "{}", out.stderr);
    assert!(out.stderr.contains("^^^^"), "{}", out.stderr);
}

#[test]
fn unknown_node_is_an_error_at_the_signal() {
    let d = tempfile::tempdir().unwrap();
    let net = format!("{RC}.meas tran m MAX v(nowhere)\n.end\n");
    let out = run_in(d.path(), &net, &[]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("no node 'v(nowhere)'"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("t.cir:7"), "{}", out.stderr);
}

#[test]
fn measure_without_its_analysis_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let net = format!("{RC}.meas dc m MAX v(out)\n.end\n");
    let out = run_in(d.path(), &net, &[]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("no .dc analysis"), "{}", out.stderr);
}

#[test]
fn measures_see_signals_that_save_leaves_out() {
    let d = tempfile::tempdir().unwrap();
    let net =
        format!("{RC}.meas tran vin FIND v(in) AT=1u\n.meas tran vo FIND v(out) AT=1u\n.end\n");
    let out = run_in(d.path(), &net, &["--save", "v(out)", "-o", "o.csv"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("vin                 =  1.000000e+00"),
        "{}",
        out.stdout
    );
    let csv = std::fs::read_to_string(d.path().join("o.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("time,v(out)"));
    let none = run_in(d.path(), &net, &["--save", "none"]);
    assert_eq!(none.code, Some(0), "{}", none.describe());
    assert!(none.stdout.contains("vo "), "{}", none.stdout);
}

#[test]
fn ascii_needs_a_raw_output() {
    let d = tempfile::tempdir().unwrap();
    let out = run_in(
        d.path(),
        &format!("{RC}.end\n"),
        &["-o", "x.csv", "--ascii"],
    );
    assert_eq!(out.code, Some(2), "contradicting options are a usage error");
    assert!(
        out.stderr.contains("--ascii applies to a raw file"),
        "{}",
        out.stderr
    );
}
