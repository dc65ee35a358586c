//! `neurospice plot` from the command line: exit codes, error messages that name the file
//! and column, and outputs that are complete or absent.

use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/plot")
        .join(name)
}

/// Run `neurospice plot ARGS`; (exit code, stderr).
fn plot(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .arg("plot")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn draws_png_with_size_in_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.png");
    let csv = data("if_neuron.csv");
    let (code, err) = plot(&[
        "wave",
        csv.to_str().unwrap(),
        "--panels",
        "v(mem);i(vs)",
        "--from",
        "1us",
        "--to",
        "2.5u",
        "--width",
        "800px",
        "--height",
        "400px",
        "--dpi",
        "200",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    let r = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()))
        .read_info()
        .unwrap();
    assert_eq!((r.info().width, r.info().height), (800, 400));
    assert_eq!(
        files_in(dir.path()),
        ["w.png"],
        "no temporary file left behind"
    );
}

#[test]
fn missing_column_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.svg");
    let runs = data("runs.csv");
    let (code, err) = plot(&[
        "hist",
        runs.to_str().unwrap(),
        "--column",
        "t_fire",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("runs.csv: no column `t_fire`"), "{err}");
    assert!(
        err.contains("t_spike_s"),
        "lists the columns there are: {err}"
    );
    assert!(files_in(dir.path()).is_empty(), "nothing written on error");
}

#[test]
fn missing_file_and_bad_extension() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.svg");
    let (code, err) = plot(&["wave", "no/such/file.csv", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("no/such/file.csv"), "{err}");

    let pdf = dir.path().join("w.pdf");
    let csv = data("if_neuron.csv");
    let (code, err) = plot(&["wave", csv.to_str().unwrap(), "-o", pdf.to_str().unwrap()]);
    assert_eq!(code, 2, "an output format we cannot write is a usage error");
    assert!(
        err.contains("w.pdf: output must end in .svg or .png"),
        "{err}"
    );
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn bad_numbers_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "time,v(a)\n0,0.1\n1e-9,0.2\n2e-9,oops\n").unwrap();
    let out = dir.path().join("w.svg");
    let (code, err) = plot(&["wave", bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.csv:4: column `v(a)`: expected a number, found `oops`"),
        "{err}"
    );
    let (code, err) = plot(&[
        "wave",
        bad.to_str().unwrap(),
        "--from",
        "soon",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "a refused flag value is a usage error");
    assert!(err.contains("--from `soon`"), "{err}");
}

#[test]
fn option_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.svg");
    let o = out.to_str().unwrap();
    let runs = data("runs.csv");
    let r = runs.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["scatter", r, "--x", "vth_v", "-o", o],
            "`scatter` needs --y NAME",
        ),
        (
            &["hist", r, "--bins", "0", "-o", o],
            "--bins must be at least 1",
        ),
        (&["hist", r, "--width", "3.5", "-o", o], "bad length `3.5`"),
        (
            &["hist", r, r, "-o", o],
            "`hist` takes one input file, got 2",
        ),
    ];
    for (args, want) in cases {
        let (code, err) = plot(args);
        assert_eq!(code, 2, "{args:?}: a refused flag value is a usage error");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn failed_redraw_keeps_the_old_figure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.svg");
    let runs = data("runs.csv");
    let (code, _) = plot(&["hist", runs.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    let before = std::fs::read(&out).unwrap();
    let (code, _) = plot(&[
        "hist",
        runs.to_str().unwrap(),
        "--column",
        "status",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(files_in(dir.path()), ["h.svg"]);
}
