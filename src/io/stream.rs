//! Output files written while a transient runs ([`crate::analysis::run_streaming`]): CSV and
//! ngspice raw, each to a temporary file beside its destination that is renamed over it only
//! when the run completed ([`StreamFile::finish`]); a failed run leaves no partial file and
//! the previous one in place, as every other output of the crate (`atomic.rs`).

use super::atomic::{Target, plan};
use crate::analysis::RowSink;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file being written: a temporary beside `dest` (or the device `dest` names), removed
/// unless finished.
pub struct StreamFile {
    dest: PathBuf,
    target: Target,
    w: Option<BufWriter<File>>,
}

impl StreamFile {
    pub fn create(dest: &Path) -> Result<StreamFile> {
        let target = plan(dest).map_err(|e| io_error(dest, e))?;
        let f = target.open().map_err(|e| io_error(dest, e))?;
        Ok(StreamFile {
            dest: dest.to_path_buf(),
            target,
            w: Some(BufWriter::with_capacity(1 << 16, f)),
        })
    }

    fn writer(&mut self) -> Result<&mut BufWriter<File>> {
        let dest = &self.dest;
        self.w
            .as_mut()
            .ok_or_else(|| Error::output(format!("'{}' is already closed", dest.display())))
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let dest = self.dest.clone();
        self.writer()?
            .write_all(bytes)
            .map_err(|e| io_error(&dest, e))
    }

    /// Flushes, syncs and renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        let dest = self.dest.clone();
        let mut w = self
            .w
            .take()
            .ok_or_else(|| Error::output(format!("'{}' is already closed", dest.display())))?;
        let res = w
            .flush()
            .and_then(|_| w.into_inner().map_err(|e| e.into_error()))
            .and_then(|f| self.target.commit(f));
        if res.is_err() {
            self.target.discard();
        }
        res.map_err(|e| io_error(&dest, e))
    }
}

impl Drop for StreamFile {
    fn drop(&mut self) {
        if self.w.take().is_some() {
            self.target.discard();
        }
    }
}

fn io_error(dest: &Path, e: std::io::Error) -> Error {
    Error::output(format!("cannot write '{}': {e}", dest.display()))
}

/// A transient streamed as CSV: the layout of [`super::csv::write_csv`].
pub struct CsvSink {
    f: StreamFile,
    line: String,
}

impl CsvSink {
    pub fn create(dest: &Path) -> Result<CsvSink> {
        Ok(CsvSink {
            f: StreamFile::create(dest)?,
            line: String::new(),
        })
    }
    pub fn finish(self) -> Result<()> {
        self.f.finish()
    }
}

impl RowSink for CsvSink {
    fn header(&mut self, names: &[String]) -> Result<()> {
        self.f.write(format!("{}\n", names.join(",")).as_bytes())
    }
    fn row(&mut self, row: &[f64]) -> Result<()> {
        use std::fmt::Write as _;
        self.line.clear();
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            let _ = write!(self.line, "{v:e}");
        }
        self.line.push('\n');
        let line = std::mem::take(&mut self.line);
        let r = self.f.write(line.as_bytes());
        self.line = line;
        r
    }
}

/// Width of the point count in a streamed raw header: the count is unknown until the end,
/// so a field this wide is written first and overwritten in place (ngspice does the same).
const COUNT_WIDTH: usize = 20;

/// A transient streamed as an ngspice raw file (one `Transient Analysis` plot, binary or
/// ASCII, the layout of [`super::raw::to_bytes`]).
pub struct RawSink {
    f: StreamFile,
    title: String,
    ascii: bool,
    points: u64,
    /// Byte offset of the point count's field.
    count_at: u64,
    written: u64,
    line: String,
}

impl RawSink {
    pub fn create(dest: &Path, title: &str, ascii: bool) -> Result<RawSink> {
        Ok(RawSink {
            f: StreamFile::create(dest)?,
            title: title.to_string(),
            ascii,
            points: 0,
            count_at: 0,
            written: 0,
            line: String::new(),
        })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.written += bytes.len() as u64;
        self.f.write(bytes)
    }

    /// Writes the final point count into the header, then renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        let dest = self.f.dest.clone();
        let at = self.count_at;
        let count = format!("{:<COUNT_WIDTH$}", self.points);
        let w = self.f.writer()?;
        (|| -> std::io::Result<()> {
            w.flush()?;
            let file = w.get_mut();
            file.seek(SeekFrom::Start(at))?;
            file.write_all(count.as_bytes())?;
            file.seek(SeekFrom::End(0))?;
            Ok(())
        })()
        .map_err(|e| io_error(&dest, e))?;
        self.f.finish()
    }
}

impl RowSink for RawSink {
    fn header(&mut self, names: &[String]) -> Result<()> {
        let head = format!(
            "Title: {}\nDate: {}\nPlotname: Transient Analysis\nFlags: real\nNo. Variables: {}\nNo. Points: ",
            self.title,
            super::raw::date_now(),
            names.len()
        );
        self.put(head.as_bytes())?;
        self.count_at = self.written;
        let mut rest = format!("{:<COUNT_WIDTH$}\nVariables:\n", 0);
        for (k, name) in names.iter().enumerate() {
            rest.push_str(&format!("\t{k}\t{name}\t{}\n", super::raw::type_of(name)));
        }
        rest.push_str(if self.ascii { "Values:\n" } else { "Binary:\n" });
        self.put(rest.as_bytes())
    }

    fn row(&mut self, row: &[f64]) -> Result<()> {
        use std::fmt::Write as _;
        if self.ascii {
            self.line.clear();
            for (k, v) in row.iter().enumerate() {
                let _ = if k == 0 {
                    writeln!(self.line, " {}\t{v:e}", self.points)
                } else {
                    writeln!(self.line, "\t{v:e}")
                };
            }
            self.line.push('\n');
            let line = std::mem::take(&mut self.line);
            let r = self.put(line.as_bytes());
            self.line = line;
            r?;
        } else {
            let mut b = Vec::with_capacity(row.len() * 8);
            for v in row {
                b.extend_from_slice(&v.to_le_bytes());
            }
            self.put(&b)?;
        }
        self.points += 1;
        Ok(())
    }
}
