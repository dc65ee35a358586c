//! The linear solver behind Newton: the sparsity pattern is fixed once per circuit, values are
//! written through slots, and the factorisation is refreshed per iteration.
//!
//! Systems of up to three unknowns use a dense LU with partial pivoting (a 3x3 neuron cell
//! does not amortise a sparse factorisation's bookkeeping); larger ones use the circuit LU of `circuit_lu` (KLU's
//! design: AMD ordering once, Gilbert-Peierls factorisation, refactorisation with the held
//! pivot order), whose ordering is computed once per pattern and shared. faer's general sparse
//! LU stays available ([`SparseKind::Faer`]) for comparisons.
//!
//! Setting `NEUROSPICE_DUMP_MATRICES=DIR` writes the matrices of factorisations 1, 10, 100 and
//! 1000 of every sparse solver as Matrix Market files into DIR (fixtures for the LU bench).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::factor::PartialPivLuParams;
use faer::sparse::linalg::lu::{LuSymbolicParams, NumericLu, SymbolicLu, factorize_symbolic_lu};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMat};
use faer::{Conj, MatMut, Par, Spec};
use std::sync::Arc;

use super::circuit_lu::{self, LuStats, ZeroPivot};

/// Systems up to this size are solved densely. Measured (`cargo bench --bench lu`, group
/// `small`) on a ladder driven by a voltage source, the circuit LU's factor+solve is already
/// level with the dense one at 3 unknowns and 1.25x / 1.8x / 2.8x faster at 4 / 12 / 24.
pub const DENSE_MAX: usize = 3;
/// The largest system the dense LU takes when asked for explicitly (`SparseKind::Dense`).
pub const DENSE_LIMIT: usize = 24;

/// The matrix structure: slot k (1-based; 0 is the ground trash slot) is CSC position k-1.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub n: usize,
    pub col_ptr: Vec<usize>,
    pub row_idx: Vec<usize>,
}

impl Pattern {
    /// Builds the pattern from (row, col) requests over unknowns 1..=n; returns it and the map
    /// from request id to slot. The diagonal is always present so gmin stepping can load it.
    pub fn build(n: usize, requests: &[(usize, usize)]) -> (Pattern, Vec<usize>, Vec<usize>) {
        let mut entries: Vec<(usize, usize)> = requests
            .iter()
            .filter(|(r, c)| *r > 0 && *c > 0)
            .map(|&(r, c)| (c - 1, r - 1))
            .collect();
        entries.extend((0..n).map(|i| (i, i)));
        entries.sort_unstable();
        entries.dedup();
        let mut col_ptr = vec![0usize; n + 1];
        let mut row_idx = Vec::with_capacity(entries.len());
        for &(c, r) in &entries {
            col_ptr[c + 1] += 1;
            row_idx.push(r);
        }
        for c in 0..n {
            col_ptr[c + 1] += col_ptr[c];
        }
        let slot_of = |r: usize, c: usize| -> usize {
            if r == 0 || c == 0 {
                return 0;
            }
            let (c0, r0) = (c - 1, r - 1);
            let lo = col_ptr[c0];
            let hi = col_ptr[c0 + 1];
            lo + row_idx[lo..hi].partition_point(|&x| x < r0) + 1
        };
        let map = requests.iter().map(|&(r, c)| slot_of(r, c)).collect();
        let diag = (1..=n).map(|i| slot_of(i, i)).collect();
        (
            Pattern {
                n,
                col_ptr,
                row_idx,
            },
            map,
            diag,
        )
    }
    pub fn nnz(&self) -> usize {
        self.row_idx.len()
    }
}

/// Which factorisation serves systems above `DENSE_MAX` unknowns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseKind {
    /// The circuit LU (`circuit_lu`): the default.
    Circuit,
    /// faer's general sparse LU (supernodal, fresh pivoting at every factorisation).
    Faer,
    /// The dense LU up to `DENSE_LIMIT` unknowns (the circuit LU above), for comparisons.
    Dense,
}

/// Why a factorisation failed: the (1-based) unknown whose pivot vanished, when known.
#[derive(Debug, Clone)]
pub struct Singular {
    pub unknown: Option<usize>,
}

enum Backend {
    /// One unknown (an isolated neuron's membrane): the "factorisation" is the pivot itself.
    Scalar {
        pivot: f64,
    },
    Dense {
        a: Vec<f64>,
        perm: Vec<usize>,
    },
    Circuit {
        sym: Arc<circuit_lu::Symbolic>,
        num: Box<circuit_lu::Numeric>,
        work: Vec<f64>,
    },
    Sparse {
        symbolic: SymbolicLu<usize>,
        numeric: NumericLu<usize, f64>,
        sym: SymbolicSparseColMat<usize>,
        scratch: MemBuffer,
    },
}

/// A reusable LU solver over a fixed pattern.
pub struct LinearSolver {
    pat: Pattern,
    backend: Backend,
    /// Number of numeric factorisations done.
    pub factorizations: usize,
    /// The values of the factorisation held in `backend` (slot order, index 0 unused), when it
    /// is valid: a matrix equal to them bit for bit is solved without refactoring (a linear
    /// circuit stepping with a constant step, a sweep point that repeats a matrix).
    factored: Option<Vec<f64>>,
}

impl LinearSolver {
    pub fn new(pat: Pattern) -> crate::error::Result<Self> {
        Self::with_kind(pat, SparseKind::Circuit)
    }

    /// A solver whose sparse systems use the factorisation `kind` (small ones stay dense).
    pub fn with_kind(pat: Pattern, kind: SparseKind) -> crate::error::Result<Self> {
        let n = pat.n;
        let backend = if n == 1 {
            Backend::Scalar { pivot: f64::NAN }
        } else if n <= DENSE_MAX || (kind == SparseKind::Dense && n <= DENSE_LIMIT) {
            Backend::Dense {
                a: vec![0.0; n * n],
                perm: vec![0; n],
            }
        } else if kind != SparseKind::Faer {
            let sym = circuit_lu::Symbolic::new(n, &pat.col_ptr, &pat.row_idx);
            Backend::Circuit {
                num: Box::new(circuit_lu::Numeric::new(&sym)),
                sym: Arc::new(sym),
                work: vec![0.0; n],
            }
        } else {
            let sym = SymbolicSparseColMat::new_checked(
                n,
                n,
                pat.col_ptr.clone(),
                None,
                pat.row_idx.clone(),
            );
            let symbolic = factorize_symbolic_lu(sym.as_ref(), LuSymbolicParams::default())
                .map_err(|e| crate::error::Error::numeric(format!("symbolic LU failed: {e:?}")))?;
            let req = symbolic
                .factorize_numeric_lu_scratch::<f64>(
                    Par::Seq,
                    Spec::<PartialPivLuParams, f64>::default(),
                )
                .or(symbolic.solve_in_place_scratch::<f64>(1, Par::Seq));
            Backend::Sparse {
                symbolic,
                numeric: NumericLu::new(),
                sym,
                scratch: MemBuffer::new(req),
            }
        };
        Ok(LinearSolver {
            pat,
            backend,
            factorizations: 0,
            factored: None,
        })
    }

    /// Shares the symbolic analysis with a new numeric state (Monte Carlo runs, sweep points).
    pub fn fresh_clone(&self) -> Self {
        let backend = match &self.backend {
            Backend::Scalar { .. } => Backend::Scalar { pivot: f64::NAN },
            Backend::Dense { a, perm } => Backend::Dense {
                a: vec![0.0; a.len()],
                perm: vec![0; perm.len()],
            },
            Backend::Circuit { sym, work, .. } => Backend::Circuit {
                num: Box::new(circuit_lu::Numeric::new(sym)),
                sym: Arc::clone(sym),
                work: vec![0.0; work.len()],
            },
            Backend::Sparse {
                symbolic,
                sym,
                scratch,
                ..
            } => Backend::Sparse {
                symbolic: symbolic.clone(),
                numeric: NumericLu::new(),
                sym: sym.clone(),
                scratch: MemBuffer::new(faer::dyn_stack::StackReq::new::<u8>(scratch.len())),
            },
        };
        LinearSolver {
            pat: self.pat.clone(),
            backend,
            factorizations: 0,
            factored: None,
        }
    }

    /// Factors the matrix whose values are `vals[1..]` (slot order) and solves for `rhs` in
    /// place (rhs indexed 1..=n; index 0 ignored). When the values equal those of the held
    /// factorisation exactly, only the triangular solves run.
    pub fn solve(&mut self, vals: &[f64], rhs: &mut [f64]) -> Result<(), Singular> {
        if let Backend::Scalar { pivot } = &mut self.backend {
            let v = vals[1];
            if v.to_bits() != pivot.to_bits() {
                self.factorizations += 1;
                *pivot = f64::NAN;
                if v == 0.0 {
                    return Err(Singular { unknown: Some(1) });
                }
                *pivot = v;
            }
            rhs[1] /= v;
            if !rhs[1].is_finite() {
                return Err(Singular { unknown: None });
            }
            return Ok(());
        }
        let n = self.pat.n;
        let nnz = self.pat.nnz();
        let same = self
            .factored
            .as_ref()
            .is_some_and(|f| f[1..=nnz] == vals[1..=nnz]);
        if !same {
            // invalid until the factorisation succeeds; the buffer is kept for reuse
            let mut held = self.factored.take().unwrap_or_default();
            self.factor(vals)?;
            held.clear();
            held.extend_from_slice(&vals[..=nnz]);
            self.factored = Some(held);
        }
        let b = &mut rhs[1..=n];
        match &mut self.backend {
            // handled at the top
            Backend::Scalar { .. } => {}
            Backend::Dense { a, perm } => dense_lu_solve(a, perm, n, b),
            Backend::Circuit { sym, num, work } => num.solve(sym, b, work),
            Backend::Sparse {
                symbolic,
                numeric,
                scratch,
                ..
            } => sparse_solve(symbolic, numeric, scratch, b),
        }
        if b.iter().any(|v| !v.is_finite()) {
            self.factored = None;
            return Err(Singular { unknown: None });
        }
        Ok(())
    }

    /// The order of the factored matrix (unknowns the LU sees).
    pub fn order(&self) -> usize {
        self.pat.n
    }

    /// The circuit LU's counters (full factorisations, refactorisations, fallbacks); zero for
    /// the other backends.
    pub fn lu_stats(&self) -> LuStats {
        match &self.backend {
            Backend::Circuit { num, .. } => num.stats,
            _ => LuStats::default(),
        }
    }

    /// Whether `other` uses the very same symbolic analysis (ordering) as this solver, as a
    /// `fresh_clone` does.
    pub fn shares_analysis_with(&self, other: &LinearSolver) -> bool {
        match (&self.backend, &other.backend) {
            (Backend::Circuit { sym: a, .. }, Backend::Circuit { sym: b, .. }) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The factorisation serving this solver: "scalar", "dense", "circuit" or "faer".
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Scalar { .. } => "scalar",
            Backend::Dense { .. } => "dense",
            Backend::Circuit { .. } => "circuit",
            Backend::Sparse { .. } => "faer",
        }
    }

    /// Numeric factorisation of `vals` into the backend.
    #[inline(never)]
    fn factor(&mut self, vals: &[f64]) -> Result<(), Singular> {
        self.factorizations += 1;
        let n = self.pat.n;
        if n > DENSE_MAX {
            dump::maybe_dump(&self.pat, vals, self.factorizations);
        }
        match &mut self.backend {
            Backend::Scalar { pivot } => {
                if vals[1] == 0.0 {
                    return Err(Singular { unknown: Some(1) });
                }
                *pivot = vals[1];
                Ok(())
            }
            Backend::Dense { a, perm } => {
                a.iter_mut().for_each(|v| *v = 0.0);
                for c in 0..n {
                    for k in self.pat.col_ptr[c]..self.pat.col_ptr[c + 1] {
                        a[self.pat.row_idx[k] * n + c] = vals[k + 1];
                    }
                }
                dense_lu_factor(a, perm, n)
            }
            Backend::Circuit { sym, num, .. } => {
                num.factor(sym, &vals[1..])
                    .map_err(|ZeroPivot(col)| Singular {
                        unknown: col.map(|c| c + 1),
                    })
            }
            Backend::Sparse {
                symbolic,
                numeric,
                sym,
                scratch,
            } => {
                let mat = SparseColMatRef::new(sym.as_ref(), &vals[1..]);
                symbolic
                    .factorize_numeric_lu(
                        numeric,
                        mat,
                        Par::Seq,
                        MemStack::new(scratch),
                        Spec::<PartialPivLuParams, f64>::default(),
                    )
                    .map_err(|e| match e {
                        faer::sparse::linalg::LuError::SymbolicSingular { index } => Singular {
                            unknown: Some(index + 1),
                        },
                        _ => Singular { unknown: None },
                    })?;
                Ok(())
            }
        }
    }
}

/// `NEUROSPICE_DUMP_MATRICES`: Matrix Market dumps of sparse matrices for the LU bench.
mod dump {
    use super::Pattern;
    use std::io::Write;
    use std::path::PathBuf;
    use std::sync::OnceLock;

    fn dir() -> Option<&'static PathBuf> {
        static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
        DIR.get_or_init(|| std::env::var_os("NEUROSPICE_DUMP_MATRICES").map(PathBuf::from))
            .as_ref()
    }

    /// Writes factorisation number `count`'s matrix when it is the 1st, 10th, 100th or 1000th.
    pub fn maybe_dump(pat: &Pattern, vals: &[f64], count: usize) {
        if !matches!(count, 1 | 10 | 100 | 1000) {
            return;
        }
        let Some(dir) = dir() else { return };
        let path = dir.join(format!(
            "lu_n{}_nnz{}_f{}_{}.mtx",
            pat.n,
            pat.nnz(),
            count,
            std::process::id()
        ));
        let mut text = format!(
            "%%MatrixMarket matrix coordinate real general\n{} {} {}\n",
            pat.n,
            pat.n,
            pat.nnz()
        );
        for c in 0..pat.n {
            for k in pat.col_ptr[c]..pat.col_ptr[c + 1] {
                text.push_str(&format!(
                    "{} {} {:e}\n",
                    pat.row_idx[k] + 1,
                    c + 1,
                    vals[k + 1]
                ));
            }
        }
        let tmp = path.with_extension("tmp");
        let res = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = res {
            eprintln!(
                "warning: NEUROSPICE_DUMP_MATRICES: cannot write {}: {e}",
                path.display()
            );
        }
    }
}

/// Triangular solves with a held sparse factorisation (kept out of line: the dense path of
/// small systems is the hot one).
#[inline(never)]
fn sparse_solve(
    symbolic: &SymbolicLu<usize>,
    numeric: &NumericLu<usize, f64>,
    scratch: &mut MemBuffer,
    b: &mut [f64],
) {
    let n = b.len();
    let lu = faer::sparse::linalg::lu::LuRef::new_unchecked(symbolic, numeric);
    let bm = MatMut::from_column_major_slice_mut(b, n, 1);
    lu.solve_in_place_with_conj(Conj::No, bm, Par::Seq, MemStack::new(scratch));
}

/// In-place dense LU with partial pivoting: `a` receives L (unit diagonal, below) and U, `perm`
/// the row order (row k of the factors is row perm[k] of the matrix).
fn dense_lu_factor(a: &mut [f64], perm: &mut [usize], n: usize) -> Result<(), Singular> {
    // a pivot is zero when it is negligible against its own column as given (not against
    // the whole matrix: a 10 F capacitor across a voltage source at a 1 ps step puts 1e13
    // next to 1 and is perfectly regular; ngspice's PIVREL is per column too)
    let rel = 1e-300_f64.max(f64::EPSILON * 1e-13);
    let mut stack = [0.0f64; 16];
    let mut heap = Vec::new();
    let tiny: &mut [f64] = if n <= stack.len() {
        &mut stack[..n]
    } else {
        heap.resize(n, 0.0);
        &mut heap
    };
    for r in 0..n {
        for (c, t) in tiny.iter_mut().enumerate() {
            *t = t.max(a[r * n + c].abs());
        }
    }
    tiny.iter_mut().for_each(|t| *t *= rel);
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i;
    }
    for k in 0..n {
        let tiny = tiny[k];
        let mut p = k;
        let mut best = a[k * n + k].abs();
        for r in k + 1..n {
            let v = a[r * n + k].abs();
            if v > best {
                best = v;
                p = r;
            }
        }
        if best <= tiny || best == 0.0 {
            return Err(Singular {
                unknown: Some(k + 1),
            });
        }
        if p != k {
            for c in 0..n {
                a.swap(k * n + c, p * n + c);
            }
            perm.swap(k, p);
        }
        let piv = a[k * n + k];
        for r in k + 1..n {
            let f = a[r * n + k] / piv;
            a[r * n + k] = f;
            if f != 0.0 {
                for c in k + 1..n {
                    a[r * n + c] -= f * a[k * n + c];
                }
            }
        }
    }
    Ok(())
}

/// Solves with the factors of `dense_lu_factor`, in place.
fn dense_lu_solve(a: &[f64], perm: &[usize], n: usize, b: &mut [f64]) {
    if n == 1 {
        b[0] /= a[0];
        return;
    }
    let mut y = [0.0f64; DENSE_LIMIT];
    for k in 0..n {
        let mut s = b[perm[k]];
        for c in 0..k {
            s -= a[k * n + c] * y[c];
        }
        y[k] = s;
    }
    for k in (0..n).rev() {
        let mut s = y[k];
        for c in k + 1..n {
            s -= a[k * n + c] * y[c];
        }
        y[k] = s / a[k * n + k];
    }
    b.copy_from_slice(&y[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    fn check(n: usize, seed: u64) {
        // random diagonally dominant sparse system, both backends against each other
        let mut s = seed;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64) / ((1u64 << 53) as f64)
        };
        let mut req = vec![];
        for i in 1..=n {
            req.push((i, i));
            if i > 1 {
                req.push((i, i - 1));
                req.push((i - 1, i));
            }
            let j = 1 + (rnd() * n as f64) as usize % n;
            req.push((i, j));
        }
        let (pat, map, _) = Pattern::build(n, &req);
        let mut vals = vec![0.0; pat.nnz() + 1];
        let mut dense = vec![0.0; n * n];
        for (k, &(r, c)) in req.iter().enumerate() {
            let v = if r == c { 10.0 + rnd() } else { rnd() - 0.5 };
            vals[map[k]] += v;
            dense[(r - 1) * n + c - 1] += v;
        }
        let xs: Vec<f64> = (0..n).map(|_| rnd() - 0.5).collect();
        let mut rhs = vec![0.0; n + 1];
        for r in 0..n {
            rhs[r + 1] = (0..n).map(|c| dense[r * n + c] * xs[c]).sum();
        }
        let mut ls = LinearSolver::new(pat).unwrap();
        ls.solve(&vals, &mut rhs).unwrap();
        for i in 0..n {
            assert!((rhs[i + 1] - xs[i]).abs() < 1e-9, "n={n} i={i}");
        }
    }
    #[test]
    fn dense_and_sparse_solve() {
        check(5, 1);
        check(20, 2);
        check(200, 3);
    }
    #[test]
    fn one_unknown_solves_reuses_and_reports_a_zero_pivot() {
        let (pat, map, _) = Pattern::build(1, &[(1, 1)]);
        let mut ls = LinearSolver::new(pat).unwrap();
        let mut vals = vec![0.0; 2];
        vals[map[0]] = 4.0;
        let mut rhs = vec![0.0, 2.0];
        ls.solve(&vals, &mut rhs).unwrap();
        assert_eq!(rhs[1], 0.5);
        let mut rhs = vec![0.0, 8.0];
        ls.solve(&vals, &mut rhs).unwrap();
        assert_eq!(rhs[1], 2.0);
        assert_eq!(
            ls.factorizations, 1,
            "an unchanged matrix is not refactored"
        );
        vals[map[0]] = 0.0;
        let err = ls.solve(&vals, &mut rhs).unwrap_err();
        assert_eq!(err.unknown, Some(1));
    }
    #[test]
    fn singular_is_reported() {
        let (pat, map, _) = Pattern::build(2, &[(1, 1), (1, 2), (2, 1), (2, 2)]);
        let mut vals = vec![0.0; pat.nnz() + 1];
        vals[map[0]] = 1.0;
        vals[map[1]] = 1.0;
        vals[map[2]] = 1.0;
        vals[map[3]] = 1.0;
        let mut ls = LinearSolver::new(pat).unwrap();
        let mut rhs = vec![0.0, 1.0, 2.0];
        assert!(ls.solve(&vals, &mut rhs).is_err());
    }
}
