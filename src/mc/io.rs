//! Files of a study: `runs.csv` (one row per run), `summary.json`, and the sidecar
//! `runs.csv.meta.json` that `--resume` and `mc-merge` check (seed, runs, variation, shard).
use super::spec::Spec;
use super::{Config, Record};
use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use crate::io::csv::{quote, split_fields};
use crate::netlist::lexer::Source;
use crate::stats::{Summary, summarize, wilson95};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a runs.csv was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The netlist path as given (for people; [`Meta::files`] is what is compared).
    pub netlist: String,
    pub seed: u64,
    /// Runs of the whole study.
    pub runs: u64,
    pub variation: String,
    /// `i/M` for a shard.
    pub shard: Option<String>,
    pub measures: Vec<String>,
    pub params: Vec<String>,
    /// Every file the circuit was read from (the netlist, then each include), with a hash of
    /// its content; empty in sidecars written before the hashes were recorded.
    #[serde(default)]
    pub files: Vec<SourceFile>,
    /// The unit of each measure that has one (`tcross` -> `s`), for figures and tables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub units: BTreeMap<String, String>,
}

/// One file a study's circuit was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path, canonical (absolute, `.`, `..` and links resolved) where the file exists, so
    /// that `./../x` and `../x`, or a path given from another folder, compare equal.
    pub path: String,
    /// FNV-1a (64 bit) of the content, 16 hex digits.
    pub fnv1a64: String,
    pub bytes: u64,
}

impl SourceFile {
    pub fn of(s: &Source) -> SourceFile {
        SourceFile {
            path: normalise(Path::new(&s.path)),
            fnv1a64: format!("{:016x}", s.hash),
            bytes: s.bytes,
        }
    }
    fn same_content(&self, o: &SourceFile) -> bool {
        self.fnv1a64 == o.fnv1a64 && self.bytes == o.bytes
    }
}

/// A path in the form two spellings of the same file share: canonical when the file exists,
/// else absolute with `.` and `name/..` removed lexically.
pub fn normalise(p: &Path) -> String {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c.display().to_string();
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out.display().to_string()
}

/// The measures that have a unit, as the sidecar records them.
pub fn unit_map(names: &[String], units: &[Option<String>]) -> BTreeMap<String, String> {
    names
        .iter()
        .zip(units)
        .filter_map(|(n, u)| Some((n.clone(), u.clone()?)))
        .collect()
}

impl Meta {
    pub fn new(
        netlist: &Path,
        cfg: &Config,
        measures: &[String],
        params: &[String],
        sources: &[Source],
    ) -> Meta {
        Meta {
            netlist: netlist.display().to_string(),
            seed: cfg.seed,
            runs: cfg.runs,
            variation: cfg.variation.name().to_string(),
            shard: cfg.shard.map(|(i, m)| format!("{i}/{m}")),
            measures: measures.to_vec(),
            params: params.to_vec(),
            files: sources.iter().map(SourceFile::of).collect(),
            units: BTreeMap::new(),
        }
    }

    /// The settings in which a study's file (`self`) and the study asked for now differ, one
    /// phrase each (`seed 3 (now 4)`, `'cell.cir' was edited`); empty when they agree.
    /// `Scope::Resume` compares everything but the netlist path as given; `Scope::Merge`
    /// leaves out the shard and the file paths (shards may run where the files live
    /// elsewhere) and compares the files by content.
    pub fn differences(&self, now: &Meta, scope: Scope) -> Vec<String> {
        let mut d = Vec::new();
        if self.seed != now.seed {
            d.push(format!("seed {} (now {})", self.seed, now.seed));
        }
        if self.runs != now.runs {
            d.push(format!("runs {} (now {})", self.runs, now.runs));
        }
        if self.variation != now.variation {
            d.push(format!(
                "variation {} (now {})",
                self.variation, now.variation
            ));
        }
        if scope == Scope::Resume && self.shard != now.shard {
            let s = |x: &Option<String>| x.clone().unwrap_or_else(|| "none".into());
            d.push(format!("shard {} (now {})", s(&self.shard), s(&now.shard)));
        }
        if self.measures != now.measures {
            d.push(format!(
                "measures {} (now {})",
                self.measures.join(","),
                now.measures.join(",")
            ));
        }
        if self.params != now.params {
            d.push(format!(
                "sampled parameters {} (now {})",
                self.params.join(","),
                now.params.join(",")
            ));
        }
        d.extend(file_differences(&self.files, &now.files, scope));
        d
    }
}

/// How two sidecars are compared: to continue a study, or to merge its shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Resume,
    Merge,
}

fn file_differences(was: &[SourceFile], now: &[SourceFile], scope: Scope) -> Vec<String> {
    if was.is_empty() && !now.is_empty() {
        return vec![
            "the netlist's content (not recorded: the file was written before neurospice \
             recorded it)"
                .into(),
        ];
    }
    let mut d = Vec::new();
    if scope == Scope::Merge {
        if was.len() != now.len() || was.iter().zip(now).any(|(a, b)| !a.same_content(b)) {
            d.push("the netlist or an included file (their contents differ)".into());
        }
        return d;
    }
    for (k, f) in now.iter().enumerate() {
        let what = if k == 0 { "netlist" } else { "included file" };
        match was.iter().find(|w| w.path == f.path) {
            Some(w) if w.same_content(f) => {}
            Some(_) => d.push(format!("{what} '{}' (edited since)", f.path)),
            None if k == 0 => d.push(format!(
                "netlist '{}' (now '{}')",
                was.first().map(|w| w.path.as_str()).unwrap_or(""),
                f.path
            )),
            None => d.push(format!("included file '{}' (not read then)", f.path)),
        }
    }
    for (k, w) in was.iter().enumerate() {
        if k > 0 && !now.iter().any(|f| f.path == w.path) {
            d.push(format!("included file '{}' (no longer read)", w.path));
        }
    }
    d
}

/// The sidecar path of a runs.csv.
pub fn meta_path(runs_csv: &Path) -> PathBuf {
    let mut s = runs_csv.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

pub fn write_meta(runs_csv: &Path, m: &Meta) -> Result<()> {
    write_meta_in(&Disk, runs_csv, m)
}

/// [`write_meta`] through a store.
pub fn write_meta_in(store: &dyn Store, runs_csv: &Path, m: &Meta) -> Result<()> {
    let s = serde_json::to_string_pretty(m).map_err(|e| Error::output(e.to_string()))?;
    store.write(&meta_path(runs_csv), &mut |w| writeln!(w, "{s}"))
}

/// Where a study's files go: the seam between a study and the file system (where a test
/// puts a full disk).
pub trait Store: Sync {
    /// Writes `path` from `body` completely or not at all: after a failure the previous file
    /// is still there, whole.
    fn write(
        &self,
        path: &Path,
        body: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()>;
}

/// The file system: atomic writes (temporary file beside the target, synced, renamed),
/// missing folders created.
pub struct Disk;

impl Store for Disk {
    fn write(
        &self,
        path: &Path,
        body: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        write_atomic(path, |w| body(w))
    }
}

/// The sidecar of a runs.csv, if it has one.
pub fn read_meta(runs_csv: &Path) -> Result<Option<Meta>> {
    let p = meta_path(runs_csv);
    if std::fs::symlink_metadata(&p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(None);
    }
    let s = crate::io::input::read_text(&p)?;
    serde_json::from_str(&s)
        .map(Some)
        .map_err(|e| Error::data(format!("{}: {e}", p.display())))
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:e}")).unwrap_or_default()
}

/// runs.csv: `run,status,reason,<measures>,<params>`, rows in run order, numbers in
/// shortest round-trip form, empty = not available.
pub fn write_runs(
    path: &Path,
    measures: &[String],
    params: &[String],
    recs: &[Record],
) -> Result<()> {
    write_runs_in(&Disk, path, measures, params, recs)
}

/// [`write_runs`] through a store.
pub fn write_runs_in(
    store: &dyn Store,
    path: &Path,
    measures: &[String],
    params: &[String],
    recs: &[Record],
) -> Result<()> {
    store.write(path, &mut |w| {
        let mut head = vec!["run".to_string(), "status".into(), "reason".into()];
        head.extend(measures.iter().map(|m| quote(m)));
        head.extend(params.iter().map(|m| quote(m)));
        writeln!(w, "{}", head.join(","))?;
        for r in recs {
            let mut f = vec![
                r.run.to_string(),
                if r.ok { "ok" } else { "failed" }.to_string(),
                quote(&r.reason),
            ];
            f.extend(r.measures.iter().map(|v| num(*v)));
            f.extend(r.params.iter().map(|v| num(*v)));
            writeln!(w, "{}", f.join(","))?;
        }
        Ok(())
    })
}

/// A runs.csv read back: the column names after `reason`, and the records (measures and
/// parameters are split by `n_measures`).
pub struct RunsFile {
    pub columns: Vec<String>,
    pub records: Vec<Record>,
}

/// Reads a runs.csv written by [`write_runs`]; `n_measures` columns after `reason` are
/// measures, the rest sampled parameters.
pub fn read_runs(path: &Path, n_measures: usize) -> Result<RunsFile> {
    let text = crate::io::input::read_text(path)?;
    let bad = |line: usize, what: String| Error::data(format!("{}:{line}: {what}", path.display()));
    // every row is written whole with its line end: a file that stops inside a row was cut
    // short (a copy interrupted, a disk that filled), and its last number may be cut too
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(bad(
            text.lines().count(),
            "the last line is incomplete: the file was cut short".into(),
        ));
    }
    let mut lines = text.lines().enumerate();
    let split = |line: usize, text: &str| split_fields(text).map_err(|e| bad(line, e.msg));
    let head = match lines.next() {
        Some((_, h)) => split(1, h)?,
        None => return Err(bad(1, "empty file, expected a runs.csv header".into())),
    };
    if head.len() < 3 || head[0] != "run" || head[1] != "status" || head[2] != "reason" {
        return Err(bad(
            1,
            "expected the header to start with run,status,reason".into(),
        ));
    }
    if head.len() < 3 + n_measures {
        return Err(bad(
            1,
            format!("expected at least {n_measures} measure columns"),
        ));
    }
    let mut records = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f = split(i + 1, line)?;
        if f.len() != head.len() {
            return Err(bad(
                i + 1,
                format!("{} fields, the header has {}", f.len(), head.len()),
            ));
        }
        let run: u64 = f[0]
            .parse()
            .map_err(|_| bad(i + 1, format!("run '{}' is not a whole number", f[0])))?;
        let ok = match f[1].as_str() {
            "ok" => true,
            "failed" => false,
            s => return Err(bad(i + 1, format!("status '{s}', expected ok or failed"))),
        };
        let mut vals = Vec::with_capacity(f.len() - 3);
        for v in &f[3..] {
            if v.is_empty() {
                vals.push(None);
            } else {
                // a run writes no infinities or NaNs (a failed measure is empty): one here
                // is a corrupt file, and would poison every statistic of the study
                match v.parse::<f64>() {
                    Ok(x) if x.is_finite() => vals.push(Some(x)),
                    Ok(_) => return Err(bad(i + 1, format!("'{v}' is not a finite number"))),
                    Err(_) => return Err(bad(i + 1, format!("'{v}' is not a number"))),
                }
            }
        }
        let params = vals.split_off(n_measures);
        records.push(Record {
            run,
            ok,
            reason: f[2].clone(),
            measures: vals,
            params,
        });
    }
    Ok(RunsFile {
        columns: head[3..].to_vec(),
        records,
    })
}

/// Statistics over the ok runs per measure, and yields (a failed run fails every spec).
#[derive(Debug, Clone, Serialize)]
pub struct StudySummary {
    pub runs: usize,
    pub ok: usize,
    pub failed: usize,
    pub seed: Option<u64>,
    pub measures: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "yield")]
    pub yields: serde_json::Map<String, serde_json::Value>,
    /// Set when the study lacks runs (`mc-merge --allow-partial`); absent when complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
}

/// What a partial study lacks.
#[derive(Debug, Clone, Serialize)]
pub struct Partial {
    /// Runs of the whole study.
    pub expected_runs: u64,
    /// How many of them no part holds.
    pub missing_runs: u64,
    /// Which, as ranges (`37-48, 60`).
    pub missing: String,
}

/// Per-measure summaries (ok runs only) in measure order.
pub fn measure_summaries(measures: &[String], recs: &[Record]) -> Vec<(String, Summary)> {
    measures
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let xs: Vec<f64> = recs
                .iter()
                .filter(|r| r.ok)
                .filter_map(|r| r.measures.get(k).copied().flatten())
                .collect();
            (m.clone(), summarize(&xs))
        })
        .collect()
}

fn json_num(x: f64) -> serde_json::Value {
    // JSON has no NaN: a statistic that does not exist (no ok runs) is null
    serde_json::Number::from_f64(x)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

pub fn summarize_study(
    measures: &[String],
    recs: &[Record],
    seed: Option<u64>,
    specs: &[Spec],
) -> Result<StudySummary> {
    let mut ms = serde_json::Map::new();
    for (name, s) in measure_summaries(measures, recs) {
        let mut o = serde_json::Map::new();
        for (k, v) in [
            ("mean", s.mean),
            ("std", s.std),
            ("min", s.min),
            ("max", s.max),
            ("p01", s.p01),
            ("p05", s.p05),
            ("p50", s.p50),
            ("p95", s.p95),
            ("p99", s.p99),
            ("skew", s.skew),
            ("kurtosis", s.kurtosis),
        ] {
            o.insert(k.into(), json_num(v));
        }
        o.insert("n".into(), s.n.into());
        ms.insert(name, serde_json::Value::Object(o));
    }
    let mut ys = serde_json::Map::new();
    for sp in specs {
        let Some(k) = measures.iter().position(|m| *m == sp.measure) else {
            return Err(Error::usage(format!(
                "--spec '{}': no measure '{}' (measures: {})",
                sp.text,
                sp.measure,
                measures.join(", ")
            )));
        };
        let pass = recs
            .iter()
            .filter(|r| r.ok && r.measures[k].is_some_and(|v| sp.pass(v)))
            .count();
        let n = recs.len();
        let (lo, hi) = wilson95(pass, n);
        let y = if n > 0 {
            pass as f64 / n as f64
        } else {
            f64::NAN
        };
        ys.insert(
            sp.text.clone(),
            serde_json::json!({"pass": pass, "total": n, "yield": json_num(y), "lo": lo, "hi": hi}),
        );
    }
    let ok = recs.iter().filter(|r| r.ok).count();
    Ok(StudySummary {
        runs: recs.len(),
        ok,
        failed: recs.len() - ok,
        seed,
        measures: ms,
        yields: ys,
        partial: None,
    })
}

pub fn write_summary(path: &Path, s: &StudySummary) -> Result<()> {
    let text = serde_json::to_string_pretty(s).map_err(|e| Error::output(e.to_string()))?;
    write_atomic(path, |w| writeln!(w, "{text}"))
}

/// The readable table printed on stdout.
pub fn summary_table(measures: &[String], recs: &[Record], s: &StudySummary) -> String {
    let mut out = String::new();
    if let Some(p) = &s.partial {
        out.push_str(&format!(
            "PARTIAL study: {} of {} runs; missing runs {}\n",
            p.expected_runs - p.missing_runs,
            p.expected_runs,
            p.missing
        ));
    }
    out.push_str(&format!(
        "{} runs: {} ok, {} failed{}\n",
        s.runs,
        s.ok,
        s.failed,
        s.seed.map(|x| format!(" (seed {x})")).unwrap_or_default()
    ));
    if !measures.is_empty() {
        out.push_str(&format!(
            "{:<16} {:>13} {:>13} {:>13} {:>13} {:>13} {:>13} {:>13}\n",
            "measure", "mean", "std", "min", "p05", "p50", "p95", "max"
        ));
        for (name, m) in measure_summaries(measures, recs) {
            out.push_str(&format!(
                "{:<16} {:>13.5e} {:>13.5e} {:>13.5e} {:>13.5e} {:>13.5e} {:>13.5e} {:>13.5e}\n",
                name, m.mean, m.std, m.min, m.p05, m.p50, m.p95, m.max
            ));
        }
    }
    for (k, v) in &s.yields {
        let g = |f: &str| v.get(f).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
        out.push_str(&format!(
            "yield {k}: {:.2}% [{:.2}%, {:.2}%] (Wilson 95%), {} of {}\n",
            100.0 * g("yield"),
            100.0 * g("lo"),
            100.0 * g("hi"),
            v.get("pass").and_then(|x| x.as_u64()).unwrap_or(0),
            v.get("total").and_then(|x| x.as_u64()).unwrap_or(0)
        ));
    }
    let failed: Vec<&Record> = recs.iter().filter(|r| !r.ok).collect();
    for r in failed.iter().take(5) {
        out.push_str(&format!("failed run {}: {}\n", r.run, r.reason));
    }
    if failed.len() > 5 {
        out.push_str(&format!(
            "... and {} more failed runs (see runs.csv)\n",
            failed.len() - 5
        ));
    }
    out
}
