//! The inputs that are not netlists (docs/fuzzing.md, `examples/fuzz_files.rs`): every file of
//! the committed corpus `fuzz/corpus/files/<target>/` and every finding of
//! `fuzz/crashes-files/` is read by its target's command (`fuzz/files/targets.txt`) and must end
//! with a result or a clear error (exit 0-4, no panic) well within the fuzzer's 20 s; and the
//! findings have tests of their own, named after them, that fail on the code before the fix.

mod common;

use common::{root, run_neurospice};
use std::path::PathBuf;
use std::time::Duration;

const GUARD: Option<Duration> = Some(Duration::from_secs(60));
/// The folder the base files' Monte Carlo sidecars name (fuzz/files/make_mc_base.sh).
const SCRATCH: &str = "/tmp/neurospice-fuzz-files";

struct Target {
    name: String,
    file: String,
    copies: Vec<String>,
    args: Vec<String>,
}

fn targets() -> Vec<Target> {
    let text = std::fs::read_to_string(root().join("fuzz/files/targets.txt")).expect("targets");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (head, args) = l.split_once(" -- ").expect("` -- ` in a target line");
            let mut w = head.split_whitespace().map(String::from);
            Target {
                name: w.next().expect("name"),
                file: w.next().expect("file"),
                copies: w.collect(),
                args: args.split_whitespace().map(String::from).collect(),
            }
        })
        .collect()
}

/// `data` as the target's file in a fresh folder (the sidecars' folder name replaced by it),
/// with the target's other files beside it; the command's exit code and stderr.
fn run_target(t: &Target, data: &[u8]) -> common::RunOutput {
    let dir = tempfile::tempdir().expect("temp dir");
    let here = dir.path().to_string_lossy().to_string();
    let relocate = |b: &[u8]| -> Vec<u8> {
        match std::str::from_utf8(b) {
            Ok(s) => s.replace(SCRATCH, &here).into_bytes(),
            Err(_) => b.to_vec(),
        }
    };
    let base = root().join("fuzz/files/base");
    for c in &t.copies {
        let b = std::fs::read(base.join(c)).expect("base file");
        std::fs::write(dir.path().join(c), relocate(&b)).expect("copy");
    }
    std::fs::write(dir.path().join(&t.file), relocate(data)).expect("input");
    let args: Vec<&str> = t.args.iter().map(String::as_str).collect();
    run_neurospice(&args, dir.path(), GUARD)
}

fn target(name: &str) -> Target {
    targets()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

fn base(name: &str) -> Vec<u8> {
    std::fs::read(root().join("fuzz/files/base").join(name)).expect("base file")
}

fn assert_clear(what: &str, r: &common::RunOutput) {
    assert!(
        !r.timed_out && matches!(r.code, Some(0..=4)) && !r.stderr.contains("panicked"),
        "{what}: {}",
        r.describe()
    );
}

#[test]
fn base_files_are_accepted() {
    // the unmutated inputs are valid: every target's command succeeds on them
    for t in targets() {
        let r = run_target(&t, &base(&t.file));
        assert_eq!(r.code, Some(0), "{}: {}", t.name, r.describe());
    }
}

/// Every corpus input and every finding: a result or a clear error, in time.
#[test]
fn fuzz_files_corpus_replay() {
    let ts = targets();
    let mut inputs: Vec<(String, PathBuf)> = Vec::new();
    let corpus = root().join("fuzz/corpus/files");
    for e in std::fs::read_dir(&corpus)
        .expect("fuzz/corpus/files")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        for f in std::fs::read_dir(e.path())
            .expect("target folder")
            .flatten()
        {
            inputs.push((name.clone(), f.path()));
        }
    }
    if let Ok(rd) = std::fs::read_dir(root().join("fuzz/crashes-files")) {
        for f in rd.flatten() {
            let n = f.file_name().to_string_lossy().to_string();
            let head = n.split_once("--").map_or(n.as_str(), |x| x.0);
            let name = head.split_once('-').map_or(head, |x| x.1);
            inputs.push((name.to_string(), f.path()));
        }
    }
    assert!(inputs.len() > 100, "{} inputs", inputs.len());
    for (name, p) in inputs {
        let t = ts
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{}: no target {name}", p.display()));
        let r = run_target(t, &std::fs::read(&p).expect("input"));
        assert_clear(&p.display().to_string(), &r);
    }
}

fn replace(data: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = String::from_utf8(data.to_vec()).expect("text");
    assert!(s.contains(from), "{from}");
    s.replacen(from, to, 1).into_bytes()
}

/// Found by the file fuzzer: a capmin-v table with a value of -1e308 made plotters step
/// from tick to tick forever (each step below the rounding of the values).
#[test]
fn plot_value_1e308_hang() {
    let t = target("plot-capmin-v");
    let data = replace(&base("capmin_v.csv"), "0.04,baseline", "-1e308,baseline");
    let r = run_target(&t, &data);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("capmin_v.csv: cannot draw the axis"),
        "{}",
        r.stderr
    );
    // a constant far from zero is drawn (the axis is widened about it), not looped on
    let t = target("plot-wave");
    let text = String::from_utf8(base("if_neuron.csv")).expect("text");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for l in lines {
        let (time, rest) = l.split_once(',').expect("a row");
        let n = rest.split(',').count();
        out.push_str(&format!("{time}{}\n", ",1e20".repeat(n)));
    }
    let r = run_target(&t, out.as_bytes());
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

/// Found by the file fuzzer: `1e999` (or `inf`) in a data table was read as infinity and
/// drawn or averaged; now it is refused naming the line and the column.
#[test]
fn csv_value_1e999_refused() {
    let t = target("plot-accuracy");
    let text = String::from_utf8(base("accuracy.csv")).expect("text");
    let line2 = text.lines().nth(1).expect("a row").to_string();
    let mut f: Vec<&str> = line2.split(',').collect();
    f[3] = "1e999";
    let r = run_target(&t, text.replacen(&line2, &f.join(","), 1).as_bytes());
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr
            .contains("accuracy.csv:2: column `accuracy`: expected a finite number"),
        "{}",
        r.stderr
    );
}

/// Found by the file fuzzer: a shard of a Monte Carlo study holding `-1e999` merged into a
/// summary of infinities (exit 0).
#[test]
fn mc_merge_shard_value_inf_refused() {
    let t = target("mc-merge");
    let text = String::from_utf8(base("p0.csv")).expect("text");
    let row = text.lines().nth(2).expect("a run").to_string();
    let mut f: Vec<&str> = row.split(',').collect();
    let n = f.len();
    f[n - 1] = "-1e999";
    let r = run_target(&t, text.replacen(&row, &f.join(","), 1).as_bytes());
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr
            .contains("p0.csv:3: '-1e999' is not a finite number"),
        "{}",
        r.stderr
    );
}

/// Found by the file fuzzer: a sense-amplifier reference far outside the chunk's levels was
/// accepted (every neuron always or never fires: chance accuracy, exit 0).
#[test]
fn sense_amp_reference_out_of_range_refused() {
    let t = target("sense-amp");
    for bad in [
        r#"{"offset_sigma": 1.0, "reference": 99999999999999999999999999}"#,
        r#"{"offset_sigma": 1.0, "reference": -5}"#,
        r#"{"offset_sigma": -1.0, "reference": 16}"#,
    ] {
        let r = run_target(&t, bad.as_bytes());
        assert_eq!(r.code, Some(1), "{bad}: {}", r.describe());
        assert!(
            r.stderr
                .contains("sense_amp.json: reference: expected a reference level in 0..=32"),
            "{}",
            r.stderr
        );
    }
}

/// A raw file announcing points for no variables (no bytes to check the count against) made
/// the reader allocate them all; an ASCII one announcing 10^15 points reserved room for them.
#[test]
fn raw_huge_point_count_refused() {
    let t = target("plot-ascii");
    let text = String::from_utf8(base("if_neuron_ascii.raw")).expect("text");
    let line = text
        .lines()
        .find(|l| l.starts_with("No. Points:"))
        .expect("point count")
        .to_string();
    let r = run_target(
        &t,
        text.replacen(&line, "No. Points: 1000000000000000", 1)
            .as_bytes(),
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.stderr.contains("if_neuron_ascii.raw:"), "{}", r.stderr);
    let raw = "Title: t\nDate: d\nPlotname: Transient Analysis\nFlags: real\nNo. Variables: 0\n\
               No. Points: 1000000000000000\nVariables:\nBinary:\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("z.raw");
    std::fs::write(&p, raw).expect("write");
    let e = neurospice::io::raw::read_raw(&p).expect_err("refused");
    assert!(
        e.msg
            .contains("points announced for a plot without variables"),
        "{e}"
    );
}

/// A gzip data file that inflates beyond the data limit (a "zip bomb") is refused when the
/// limit is reached, not read until memory runs out; so is a device given as a model.
#[test]
fn gzip_bomb_and_device_refused() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("bomb-images-idx3-ubyte.gz");
    {
        let f = std::fs::File::create(&p).expect("create");
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1100 {
            gz.write_all(&zeros).expect("write");
        }
        gz.finish().expect("finish");
    }
    let model = root().join("fuzz/files/base/tiny.json");
    let (m, d) = (model.to_string_lossy(), p.to_string_lossy());
    let r = run_neurospice(
        &["snn", "eval", "--model", &m, "--data", &d],
        &root(),
        GUARD,
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr
            .contains("decompressed, it holds more than 1073741824 bytes"),
        "{}",
        r.stderr
    );
    let data = root().join("fuzz/files/base/small.csv");
    let r = run_neurospice(
        &[
            "snn",
            "eval",
            "--model",
            "/dev/zero",
            "--data",
            &data.to_string_lossy(),
        ],
        &root(),
        GUARD,
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("/dev/zero: size: more than"),
        "{}",
        r.stderr
    );
}
