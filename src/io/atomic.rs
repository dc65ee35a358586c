//! The one atomic file writer: every output of the crate (tables, raw files, models, figures,
//! netlists) is written to a temporary file beside its destination, synced, and renamed over
//! it, so a reader never sees half a file and a failed run leaves the previous file in place.
//! Missing folders on the way to the file are created.

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
        // `-o out/runs.csv` into a folder that does not exist yet: make it (as `mkdir -p`)
        std::fs::create_dir_all(dir)?;
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

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}
