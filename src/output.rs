//! Writing results: CSV tables and JSON, complete or not at all (temp file + rename).

use crate::analysis::Table;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Writes `path` atomically: the content goes to a temporary file beside it, then is renamed.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        f(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::output(format!(
            "cannot write '{}': {e}",
            path.display()
        )));
    }
    Ok(())
}

/// CSV with a header line; numbers in shortest round-trip form.
pub fn write_csv(path: &Path, t: &Table) -> Result<()> {
    write_atomic(path, |w| {
        writeln!(w, "{}", t.names.join(","))?;
        let mut line = String::new();
        for r in &t.rows {
            line.clear();
            for (i, v) in r.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&format!("{v:e}"));
            }
            writeln!(w, "{line}")?;
        }
        Ok(())
    })
}

/// A flat JSON object of name -> number.
pub fn write_json_pairs(path: &Path, pairs: &[(String, f64)]) -> Result<()> {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.insert(k.clone(), serde_json::Value::from(*v));
    }
    let s = serde_json::to_string_pretty(&serde_json::Value::Object(m))
        .map_err(|e| Error::output(e.to_string()))?;
    write_atomic(path, |w| w.write_all(s.as_bytes()))
}
