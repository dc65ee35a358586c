//! The one atomic file writer: every output of the crate (tables, raw files, models, figures,
//! netlists) is written to a temporary file beside its destination, synced, and renamed over
//! it, so a reader never sees half a file and a failed run leaves the previous file in place.
//! Missing folders on the way to the file are created.
//!
//! A destination that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a named
//! pipe) is written in place: renaming over it would replace the device with a regular file
//! (run as root, `print v(1) > /dev/null` in a `.control` block once turned the machine's
//! `/dev/null` into a plain file that every later process appended to). A symbolic link is
//! followed, so the link stays and the file it names is replaced atomically.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the bytes for a destination go ([`plan`]).
pub enum Target {
    /// A device or pipe: opened for writing, no temporary, no rename.
    InPlace(PathBuf),
    /// A regular (or new) file: written to `tmp` beside `dest`, then renamed over it.
    Beside { dest: PathBuf, tmp: PathBuf },
}

/// Decides how `path` is written; creates the missing folders on the way to a new file.
pub fn plan(path: &Path) -> std::io::Result<Target> {
    // follow a symbolic link to what it names (a dangling one: write the link's own path)
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    };
    if let Ok(m) = std::fs::metadata(&path)
        && !m.is_file()
        && !m.is_dir()
    {
        return Ok(Target::InPlace(path));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    // `-o out/runs.csv` into a folder that does not exist yet: make it (as `mkdir -p`)
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    Ok(Target::Beside { dest: path, tmp })
}

impl Target {
    /// Opens the file the bytes go to (the temporary one, or the device itself).
    pub fn open(&self) -> std::io::Result<std::fs::File> {
        match self {
            Target::InPlace(p) => std::fs::OpenOptions::new().write(true).open(p),
            Target::Beside { tmp, .. } => std::fs::File::create(tmp),
        }
    }

    /// Puts a completely written file in place: syncs and renames it (a device: nothing to do).
    pub fn commit(&self, file: std::fs::File) -> std::io::Result<()> {
        match self {
            Target::InPlace(_) => Ok(()),
            Target::Beside { dest, tmp } => {
                file.sync_all()?;
                drop(file);
                std::fs::rename(tmp, dest)
            }
        }
    }

    /// Removes the temporary file of a failed write (a device: nothing to do).
    pub fn discard(&self) {
        if let Target::Beside { tmp, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes `path` atomically: the content goes to a temporary file beside it, then is renamed.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut target = None;
    let res = (|| -> std::io::Result<()> {
        let t = target.insert(plan(path)?);
        let mut w = std::io::BufWriter::new(t.open()?);
        f(&mut w)?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        t.commit(file)
    })();
    if let Err(e) = res {
        if let Some(t) = &target {
            t.discard();
        }
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
