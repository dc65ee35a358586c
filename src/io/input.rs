//! Reading input files with a size limit: a path that names a device (`/dev/zero`), a pipe
//! that never ends, or a file far larger than any input of its kind is refused with its name
//! and the limit once the limit is reached, before it exhausts memory. Pipes and process
//! substitutions (`--data <(zcat ...)`) still work: the limit is on what is read, not on the
//! kind of file.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Most bytes of a text input (model, design, neuron, CSV table, runs.csv, JSON): 256 MiB,
/// a hundred times the largest file the project writes of any of these kinds.
pub const MAX_TEXT_BYTES: u64 = 256 << 20;

/// Most bytes of a data file (IDX, CSV data, raw, waveforms), on disk or decompressed: 1 GiB
/// holds 1.3 million IDX images or half a million CSV rows; a gzip stream that inflates
/// beyond it (a "zip bomb", or a corrupt stream) is refused before it exhausts memory.
pub const MAX_DATA_BYTES: u64 = 1 << 30;

/// The bytes of `path`, at most `limit` of them; more is an error naming the file.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limit {
        return Err(too_big(path, limit));
    }
    let mut out = Vec::with_capacity(size as usize);
    f.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::read(path, e))?;
    if out.len() as u64 > limit {
        return Err(too_big(path, limit));
    }
    Ok(out)
}

fn too_big(path: &Path, limit: u64) -> Error {
    Error::format(
        path,
        "size",
        format!("more than {limit} bytes, the most an input of this kind may hold"),
    )
}

/// A text input (UTF-8, at most [`MAX_TEXT_BYTES`]); invalid UTF-8 is an error naming the
/// line and byte where it starts.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read_limited(path, MAX_TEXT_BYTES)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        Error::format(
            path,
            format!("line {line}"),
            format!("byte {at} is not valid UTF-8 (expected a text file)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_is_cut_at_the_limit() {
        let e = read_limited(Path::new("/dev/zero"), 1000).unwrap_err();
        assert!(
            e.msg.contains("/dev/zero: size: more than 1000 bytes"),
            "{e}"
        );
    }

    #[test]
    fn utf8_error_names_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        std::fs::write(&p, b"{\n\"a\": \"\xff\"}").unwrap();
        let e = read_text(&p).unwrap_err();
        assert!(
            e.msg.contains("m.json: line 2: byte 8 is not valid UTF-8"),
            "{e}"
        );
    }
}
