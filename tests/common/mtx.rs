//! Matrix Market fixtures of circuit matrices (`tests/data/lu/`, written by the solver under
//! `NEUROSPICE_DUMP_MATRICES`), read into the solver's pattern and slot values. Shared by
//! `tests/circuit_lu.rs` and `benches/lu.rs`.
#![allow(dead_code)]

use neurospice::solver::linear::Pattern;
use std::path::PathBuf;

/// A fixture: its name, pattern, values in slot order (index 0 unused) and the dense
/// row-major matrix.
pub struct Fixture {
    pub name: String,
    pub pat: Pattern,
    pub vals: Vec<f64>,
    pub dense: Vec<f64>,
}

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lu")
}

/// Reads `name` (a file of `tests/data/lu`).
pub fn read(name: &str) -> Fixture {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.starts_with('%'));
    let head: Vec<usize> = lines
        .next()
        .expect("size line")
        .split_whitespace()
        .map(|x| x.parse().expect("size"))
        .collect();
    let n = head[0];
    let mut trip = vec![];
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        let r: usize = f[0].parse().expect("row");
        let c: usize = f[1].parse().expect("col");
        let v: f64 = f[2].parse().expect("value");
        trip.push((r, c, v));
    }
    assert_eq!(trip.len(), head[2], "{name}: entry count");
    let req: Vec<(usize, usize)> = trip.iter().map(|&(r, c, _)| (r, c)).collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut vals = vec![0.0; pat.nnz() + 1];
    let mut dense = vec![0.0; n * n];
    for (k, &(r, c, v)) in trip.iter().enumerate() {
        vals[map[k]] += v;
        dense[(r - 1) * n + c - 1] += v;
    }
    Fixture {
        name: name.to_string(),
        pat,
        vals,
        dense,
    }
}

/// The fixture pairs (two matrices of one circuit at different Newton iterations).
pub const PAIRS: &[&str] = &[
    "hillock100",
    "rail100",
    "rail1000",
    "crossbar100",
    "mirror100",
    "crossbar1000",
];
