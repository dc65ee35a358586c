//! Files of a study: `runs.csv` (one row per run), `summary.json`, and the sidecar
//! `runs.csv.meta.json` that `--resume` and `mc-merge` check (seed, runs, variation, shard).
use super::spec::Spec;
use super::{Config, Record};
use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use crate::io::csv::{quote, split_fields};
use crate::stats::{Summary, summarize, wilson95};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a runs.csv was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub netlist: String,
    pub seed: u64,
    /// Runs of the whole study.
    pub runs: u64,
    pub variation: String,
    /// `i/M` for a shard.
    pub shard: Option<String>,
    pub measures: Vec<String>,
    pub params: Vec<String>,
}

impl Meta {
    pub fn new(netlist: &Path, cfg: &Config, measures: &[String], params: &[String]) -> Meta {
        Meta {
            netlist: netlist.display().to_string(),
            seed: cfg.seed,
            runs: cfg.runs,
            variation: cfg.variation.name().to_string(),
            shard: cfg.shard.map(|(i, m)| format!("{i}/{m}")),
            measures: measures.to_vec(),
            params: params.to_vec(),
        }
    }
}

/// The sidecar path of a runs.csv.
pub fn meta_path(runs_csv: &Path) -> PathBuf {
    let mut s = runs_csv.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

pub fn write_meta(runs_csv: &Path, m: &Meta) -> Result<()> {
    let s = serde_json::to_string_pretty(m).map_err(|e| Error::output(e.to_string()))?;
    write_atomic(&meta_path(runs_csv), |w| writeln!(w, "{s}"))
}

/// The sidecar of a runs.csv, if it has one.
pub fn read_meta(runs_csv: &Path) -> Result<Option<Meta>> {
    let p = meta_path(runs_csv);
    match std::fs::read_to_string(&p) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| Error::data(format!("{}: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("cannot read '{}': {e}", p.display()))),
    }
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
    write_atomic(path, |w| {
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read '{}': {e}", path.display())))?;
    let bad = |line: usize, what: String| Error::data(format!("{}:{line}: {what}", path.display()));
    let mut lines = text.lines().enumerate();
    let split = |line: usize, text: &str| split_fields(text).map_err(|m| bad(line, m));
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
                vals.push(Some(
                    v.parse::<f64>()
                        .map_err(|_| bad(i + 1, format!("'{v}' is not a number")))?,
                ));
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
    })
}

pub fn write_summary(path: &Path, s: &StudySummary) -> Result<()> {
    let text = serde_json::to_string_pretty(s).map_err(|e| Error::output(e.to_string()))?;
    write_atomic(path, |w| writeln!(w, "{text}"))
}

/// The readable table printed on stdout.
pub fn summary_table(measures: &[String], recs: &[Record], s: &StudySummary) -> String {
    let mut out = format!(
        "{} runs: {} ok, {} failed{}\n",
        s.runs,
        s.ok,
        s.failed,
        s.seed.map(|x| format!(" (seed {x})")).unwrap_or_default()
    );
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
