//! Transient output as a stream: each part's accepted points, kept in memory (the signals
//! measures and spike statistics read) or spilled to a temporary file (the signals a run
//! streams to its output file), and the one merge that puts the parts' points on the union of
//! their time grids, reading each source once in time order, so a streamed run holds only a
//! few points per part in memory whatever its length.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One part's recorded points read in time order: a time, then `w` values per point.
pub(super) enum Points<'a> {
    Mem {
        times: &'a [f64],
        vals: &'a [f64],
        w: usize,
        i: usize,
    },
    File {
        r: BufReader<File>,
        w: usize,
    },
}

impl Points<'_> {
    fn width(&self) -> usize {
        match self {
            Points::Mem { w, .. } | Points::File { w, .. } => *w,
        }
    }

    /// The next point's time, its values written to `v`; `None` after the last.
    fn next(&mut self, v: &mut [f64]) -> Result<Option<f64>> {
        match self {
            Points::Mem { times, vals, w, i } => {
                let Some(&t) = times.get(*i) else {
                    return Ok(None);
                };
                v.copy_from_slice(&vals[*i * *w..(*i + 1) * *w]);
                *i += 1;
                Ok(Some(t))
            }
            Points::File { r, .. } => {
                let mut b = [0u8; 8];
                match r.read_exact(&mut b) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(spill_error(e)),
                }
                let t = f64::from_le_bytes(b);
                for x in v.iter_mut() {
                    r.read_exact(&mut b).map_err(spill_error)?;
                    *x = f64::from_le_bytes(b);
                }
                Ok(Some(t))
            }
        }
    }
}

fn spill_error(e: std::io::Error) -> Error {
    Error::output(format!(
        "transient spill file in {}: {e}",
        std::env::temp_dir().display()
    ))
}

/// A part's streamed points on disk (a temporary file, removed when dropped).
pub(super) struct Spill {
    path: PathBuf,
    w: Option<BufWriter<File>>,
    width: usize,
}

static SPILLS: AtomicUsize = AtomicUsize::new(0);

impl Spill {
    pub(super) fn new(width: usize) -> Result<Spill> {
        let n = SPILLS.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("neurospice-spill-{}-{n}.bin", std::process::id()));
        let f = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(spill_error)?;
        Ok(Spill {
            path,
            w: Some(BufWriter::with_capacity(1 << 16, f)),
            width,
        })
    }

    pub(super) fn push(&mut self, t: f64, vals: impl Iterator<Item = f64>) -> Result<()> {
        let Some(w) = self.w.as_mut() else {
            return Ok(());
        };
        w.write_all(&t.to_le_bytes()).map_err(spill_error)?;
        for v in vals {
            w.write_all(&v.to_le_bytes()).map_err(spill_error)?;
        }
        Ok(())
    }

    /// Finishes writing; the points can then be read (as often as needed).
    pub(super) fn close(&mut self) -> Result<()> {
        if let Some(mut w) = self.w.take() {
            w.flush().map_err(spill_error)?;
        }
        Ok(())
    }

    pub(super) fn reader(&self) -> Result<Points<'static>> {
        let f = File::open(&self.path).map_err(spill_error)?;
        Ok(Points::File {
            r: BufReader::with_capacity(1 << 16, f),
            w: self.width,
        })
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.w = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One part's values at a time of the merged grid: linear between its two points around it,
/// its own value on its own points, held before its first and after its last point (0 for a
/// part that recorded nothing).
struct Window<'a> {
    src: Points<'a>,
    a: Option<(f64, Vec<f64>)>,
    b: Option<(f64, Vec<f64>)>,
}

impl Window<'_> {
    fn read(src: &mut Points) -> Result<Option<(f64, Vec<f64>)>> {
        let mut v = vec![0.0; src.width()];
        Ok(src.next(&mut v)?.map(|t| (t, v)))
    }

    fn advance(&mut self, t: f64) -> Result<()> {
        while let Some((bt, _)) = &self.b {
            if *bt >= t {
                break;
            }
            self.a = self.b.take();
            self.b = Window::read(&mut self.src)?;
        }
        Ok(())
    }

    fn value(&self, t: f64, j: usize) -> f64 {
        let Some((ta, va)) = &self.a else {
            return 0.0;
        };
        match &self.b {
            Some((tb, vb)) if t > *ta => {
                if t == *tb || tb == ta {
                    vb[j]
                } else {
                    va[j] + (vb[j] - va[j]) * (t - ta) / (tb - ta)
                }
            }
            _ => va[j],
        }
    }
}

/// Merges parts onto the union of their time points: `parts` holds, per part, two readers of
/// its points (one walks the grid, one the values); `picks` names, per output column, the
/// part and its column. Each row (`time`, then the picks) goes to `emit`.
pub(super) fn merge(
    parts: Vec<(Points, Points)>,
    picks: &[(usize, usize)],
    emit: &mut dyn FnMut(&[f64]) -> Result<()>,
) -> Result<()> {
    let mut grid = Vec::with_capacity(parts.len());
    let mut wins = Vec::with_capacity(parts.len());
    for (g, mut v) in parts {
        let a = Window::read(&mut v)?;
        let b = Window::read(&mut v)?;
        grid.push(g);
        wins.push(Window { src: v, a, b });
    }
    let mut scratch: Vec<Vec<f64>> = grid.iter().map(|g| vec![0.0; g.width()]).collect();
    let mut next: Vec<Option<f64>> = Vec::with_capacity(grid.len());
    for (g, s) in grid.iter_mut().zip(scratch.iter_mut()) {
        next.push(g.next(s)?);
    }
    let mut row = vec![0.0; picks.len() + 1];
    while let Some(t) = next.iter().flatten().copied().reduce(f64::min) {
        for (p, g) in grid.iter_mut().enumerate() {
            while next[p] == Some(t) {
                next[p] = g.next(&mut scratch[p])?;
            }
        }
        for w in wins.iter_mut() {
            w.advance(t)?;
        }
        row[0] = t;
        for (c, &(p, j)) in picks.iter().enumerate() {
            row[c + 1] = wins[p].value(t, j);
        }
        emit(&row)?;
    }
    Ok(())
}
