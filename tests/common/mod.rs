//! Helpers shared by `tests/golden.rs` and `tests/malformed.rs`: running the
//! `neurospice` binary through its CLI contract, and reading its CSV output.
//!
//! The tests only talk to the binary (never to the library), so they keep
//! working whatever the engine's internals look like.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The crate root; netlist paths are given to the binary relative to it, so
/// error messages name them the way a user typing the command would see them.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Exit code; `None` if the process was killed by a signal or by our hang guard.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// True if the hang guard had to kill the process.
    pub timed_out: bool,
}

impl RunOutput {
    /// A short description for failure messages.
    pub fn describe(&self) -> String {
        let code = match (self.timed_out, self.code) {
            (true, _) => "killed by the hang guard".to_string(),
            (false, Some(c)) => format!("exit code {c}"),
            (false, None) => "killed by a signal".to_string(),
        };
        format!("{code}\n--- stderr ---\n{}", self.stderr.trim_end())
    }
}

/// The binary under test: this crate's `neurospice`, unless the environment
/// variable `NEUROSPICE_BIN` names another build (e.g. to run the goldens
/// against a release binary or another branch's engine without rebuilding).
pub fn binary() -> PathBuf {
    std::env::var_os("NEUROSPICE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_neurospice")))
}

/// Runs `neurospice ARGS` in `cwd`.
///
/// `hang_guard` kills the process after that long. It is not a timing
/// assertion: it only turns an endless loop into a failure instead of a stuck
/// test run, so it is set far above any plausible run time.
pub fn run_neurospice(args: &[&str], cwd: &Path, hang_guard: Option<Duration>) -> RunOutput {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the neurospice binary: {e}"));

    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().expect("stdout was piped");
    let mut err_pipe = child.stderr.take().expect("stderr was piped");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });

    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => panic!("waiting for neurospice failed: {e}"),
        }
        if hang_guard.is_some_and(|limit| start.elapsed() > limit) {
            let _ = child.kill();
            timed_out = true;
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    RunOutput {
        code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        stdout,
        stderr,
        timed_out,
    }
}

/// A CSV table held by column, with lower-cased header names.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub columns: Vec<Vec<f64>>,
}

impl Table {
    /// The column called `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        let name = name.to_ascii_lowercase();
        self.header
            .iter()
            .position(|h| *h == name)
            .map(|i| self.columns[i].as_slice())
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }
}

/// Parses a CSV file with one header line and numeric rows.
pub fn read_csv(path: &Path) -> Result<Table, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| format!("{}: empty CSV", path.display()))?
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let mut columns = vec![Vec::new(); header.len()];
    for (n, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(format!(
                "{}: data row {} has {} fields, the header has {}",
                path.display(),
                n + 1,
                fields.len(),
                header.len()
            ));
        }
        for (col, field) in columns.iter_mut().zip(fields) {
            let value = field
                .trim()
                .parse::<f64>()
                .map_err(|e| format!("{}: data row {}: {field:?}: {e}", path.display(), n + 1))?;
            col.push(value);
        }
    }
    Ok(Table { header, columns })
}

/// Reads a flat JSON object of numbers, keys lower-cased.
pub fn read_json_map(path: &Path) -> Result<Vec<(String, f64)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("{}: not a JSON object", path.display()))?;
    object
        .iter()
        .map(|(k, v)| {
            v.as_f64()
                .map(|x| (k.to_ascii_lowercase(), x))
                .ok_or_else(|| format!("{}: {k} is not a number: {v}", path.display()))
        })
        .collect()
}

/// Netlist files (`*.cir`) in a directory, sorted, as file stems.
pub fn netlist_stems(dir: &Path) -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cir"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    stems.sort();
    stems
}

/// Runs `deck` with `--stats --meas-json` (nothing saved): its `.meas` results and the
/// counters of the `stats:` line (`parts`, `accepted`, `relax_sweeps`, ...), by name.
pub fn meas_and_stats(
    deck: &Path,
    dir: &Path,
    tag: &str,
) -> (
    std::collections::HashMap<String, f64>,
    std::collections::HashMap<String, f64>,
) {
    let json = dir.join(format!("{tag}.json"));
    let out = Command::new(binary())
        .arg("run")
        .arg(deck)
        .args(["--save", "none", "-q", "--stats", "--meas-json"])
        .arg(&json)
        .output()
        .expect("run neurospice");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tag}: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("stats:"))
        .expect("--stats line");
    let stats = line
        .split_whitespace()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    // measures that could not be taken (null) are left out
    let text = std::fs::read_to_string(&json).expect("meas json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let meas = v
        .as_object()
        .expect("object")
        .iter()
        .filter_map(|(k, x)| Some((k.clone(), x.as_f64()?)))
        .collect();
    (meas, stats)
}

/// A golden file of `name value` lines (`#` lines are comments).
pub fn golden_pairs(path: &str) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(path).expect("golden");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().expect("name").to_string();
            (name, w.next().expect("value").parse().expect("number"))
        })
        .collect()
}
