//! A sparse LU for circuit matrices, of KLU's design (Davis & Palamadai Natarajan, "Algorithm
//! 907: KLU, a direct sparse solver for circuit simulation problems", ACM TOMS 37(3), 2010):
//!
//! - **ordering once**: an approximate-minimum-degree column order of A + Aᵀ (the `amd` crate,
//!   a port of SuiteSparse's AMD), computed once per matrix pattern and shared (sweep points,
//!   Monte Carlo runs) through [`Symbolic`];
//! - **left-looking Gilbert-Peierls factorisation**: column k of L and U is a sparse triangular
//!   solve with the columns already factored, its nonzero pattern found by a depth-first search
//!   of L's graph (iterative, no recursion), so the work is proportional to the flops;
//! - **threshold partial pivoting with diagonal preference**: the diagonal entry of the ordered
//!   matrix is kept as pivot while it is at least `PIVOT_TOL` (0.001, KLU's default) of the
//!   largest candidate, otherwise the largest is taken; rows are scaled by their largest entry
//!   first (KLU's default scaling), so the comparison is between like quantities;
//! - **refactorisation**: a matrix with the same pattern is refactored with the pivot order and
//!   the L/U structure of the last full factorisation (no search, no pivoting: straight
//!   scatter-update-gather loops). If a pivot then falls below `PIVOT_TOL` of the largest entry
//!   of its column (partial pivoting would not have chosen it) or vanishes, the factorisation
//!   falls back to a full one with fresh pivots.
//! - **zero diagonals left out**: a diagonal entry that is exactly zero at a full
//!   factorisation (the branch row of a voltage source) is not part of the L/U structure, which
//!   keeps a source-held node from coupling every column that touches it (see `dropped`); a
//!   refactorisation in which it has become nonzero falls back to a full factorisation.
//!
//! Block triangular form (KLU's BTF step) is not done: the decoupled parts of a circuit are
//! already split off before the matrix is built, and what remains of the arrays this serves
//! (neurons sharing a supply, a bias or input lines) is one strongly connected block.
//!
//! After the first factorisation, factor, refactor and solve allocate nothing (a later full
//! factorisation allocates only if its fill exceeds every earlier one's).

/// Threshold of partial pivoting: the preferred (diagonal) pivot is kept while it is at least
/// this fraction of the largest candidate in its column.
pub const PIVOT_TOL: f64 = 1e-3;
/// A pivot at most this large (on the row-scaled matrix, whose entries are at most 1) is zero.
const TINY: f64 = f64::EPSILON * 1e-13;
const NONE: usize = usize::MAX;

/// The analysis shared by every matrix of one pattern: the pattern (CSC, rows sorted) and the
/// fill-reducing column order.
#[derive(Debug, Clone)]
pub struct Symbolic {
    n: usize,
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    /// Step k eliminates column q[k].
    q: Vec<usize>,
}

impl Symbolic {
    /// Analyses an n x n pattern given as CSC (`col_ptr` of length n+1, row indices sorted
    /// within each column, no duplicates).
    pub fn new(n: usize, col_ptr: &[usize], row_idx: &[usize]) -> Symbolic {
        let q = leaves_first(n, col_ptr, row_idx, amd_order(n, col_ptr, row_idx));
        Symbolic {
            n,
            col_ptr: col_ptr.to_vec(),
            row_idx: row_idx.to_vec(),
            q,
        }
    }
    pub fn n(&self) -> usize {
        self.n
    }
    pub fn nnz(&self) -> usize {
        self.row_idx.len()
    }
    /// The column order (step k eliminates column `order()[k]`).
    pub fn order(&self) -> &[usize] {
        &self.q
    }
}

/// Moves the unknowns with exactly one neighbour in A + Aᵀ to the front of `q` (keeping both
/// groups in q's order). Eliminating a leaf creates no fill, and for the branch unknown of a
/// voltage source whose node is a dense row (AMD puts dense rows, and with them the leaves that
/// hang only on them, last) it makes the source's node row pivotal before the columns that
/// touch the node: a crossbar's 32 source-driven input lines then factor in O(nnz) instead of
/// the 1000 x 16 x 16 updates of forming their Schur complement.
fn leaves_first(n: usize, col_ptr: &[usize], row_idx: &[usize], q: Vec<usize>) -> Vec<usize> {
    // the single neighbour seen so far per unknown (NONE: none yet), and whether it has more
    let mut nb = vec![NONE; n];
    let mut many = vec![false; n];
    let mut see = |a: usize, b: usize| {
        if many[a] || nb[a] == b {
            return;
        }
        if nb[a] == NONE {
            nb[a] = b;
        } else {
            many[a] = true;
        }
    };
    for c in 0..n {
        for &r in &row_idx[col_ptr[c]..col_ptr[c + 1]] {
            if r != c {
                see(c, r);
                see(r, c);
            }
        }
    }
    let leaf = |c: usize| nb[c] != NONE && !many[c];
    let mut out: Vec<usize> = q.iter().copied().filter(|&c| leaf(c)).collect();
    out.extend(q.iter().copied().filter(|&c| !leaf(c)));
    out
}

/// AMD on A + Aᵀ; the natural order if the ordering refuses the pattern (it cannot for a valid
/// CSC pattern, but a wrong order only costs fill, never correctness).
fn amd_order(n: usize, col_ptr: &[usize], row_idx: &[usize]) -> Vec<usize> {
    if n == 0 {
        return vec![];
    }
    let ctl = amd::Control::default();
    match amd::order::<usize>(n, col_ptr, row_idx, &ctl) {
        Ok((p, _, _)) if p.len() == n => {
            let mut seen = vec![false; n];
            if p.iter()
                .all(|&c| c < n && !std::mem::replace(&mut seen[c], true))
            {
                return p;
            }
            (0..n).collect()
        }
        _ => (0..n).collect(),
    }
}

/// Counters of the numeric work, pinned by tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LuStats {
    /// Factorisations with a pivot search (the first, and every fallback).
    pub full: usize,
    /// Refactorisations with the held pivot order that succeeded.
    pub refactor: usize,
    /// Refactorisations abandoned for a full factorisation (a pivot became too small).
    pub fallback: usize,
}

/// Why a factorisation failed: the column (0-based unknown) without a usable pivot, or None for
/// non-finite values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroPivot(pub Option<usize>);

/// The numeric factorisation P R A Q = L U (R the row scaling) and its work space.
#[derive(Debug, Clone)]
pub struct Numeric {
    n: usize,
    /// p[k]: the original row pivotal at step k; pinv its inverse.
    p: Vec<usize>,
    pinv: Vec<usize>,
    /// L (unit diagonal not stored), CSC by step, row indices = steps.
    lp: Vec<usize>,
    li: Vec<usize>,
    lx: Vec<f64>,
    /// U without its diagonal, CSC by step, row indices = steps, ascending in each column.
    up: Vec<usize>,
    ui: Vec<usize>,
    ux: Vec<f64>,
    udiag: Vec<f64>,
    /// Row scale factors (1 / largest |entry| of the row).
    rs: Vec<f64>,
    /// For each entry of A (CSC order), the step its row is pivotal at: the scatter of a
    /// refactorisation.
    arow: Vec<usize>,
    /// Diagonal entries (A slots) that were exactly zero at the last full factorisation and so
    /// are not part of the L/U structure: a voltage source's or an inductor's branch row in
    /// DC. Kept in the structure, such a zero would make every column that touches the source's
    /// node carry a structural (numerically zero) L entry in the branch row, and the source
    /// node's column gather all of them: on a crossbar of 1000 neurons on 32 source-driven
    /// lines that is 0.25 M multiplications by zero per factorisation. A refactorisation in
    /// which one of them is nonzero falls back to a full factorisation.
    dropped: Vec<usize>,
    /// Scratch: the rows a column's reach starts from.
    starts: Vec<usize>,
    /// Dense work vector (zero between uses), DFS stacks and marks.
    x: Vec<f64>,
    xi: Vec<usize>,
    stack: Vec<usize>,
    pstack: Vec<usize>,
    mark: Vec<usize>,
    sort_buf: Vec<(usize, f64)>,
    /// The factors are valid (a refactorisation may reuse their pivot order).
    valid: bool,
    pub stats: LuStats,
}

impl Numeric {
    /// Work space for matrices of `sym`'s size; no factors yet.
    pub fn new(sym: &Symbolic) -> Numeric {
        let n = sym.n;
        let est = sym.nnz() * 2 + n;
        Numeric {
            n,
            p: vec![NONE; n],
            pinv: vec![NONE; n],
            lp: Vec::with_capacity(n + 1),
            li: Vec::with_capacity(est),
            lx: Vec::with_capacity(est),
            up: Vec::with_capacity(n + 1),
            ui: Vec::with_capacity(est),
            ux: Vec::with_capacity(est),
            udiag: vec![0.0; n],
            rs: vec![1.0; n],
            arow: vec![0; sym.nnz()],
            dropped: Vec::with_capacity(n),
            starts: Vec::with_capacity(n),
            x: vec![0.0; n],
            xi: vec![0; n],
            stack: vec![0; n],
            pstack: vec![0; n],
            mark: vec![0; n],
            sort_buf: Vec::with_capacity(n),
            valid: false,
            stats: LuStats::default(),
        }
    }

    /// Whether factors are held.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Nonzeros of L and U (without the diagonal), for reports.
    pub fn fill(&self) -> (usize, usize) {
        (self.li.len(), self.ui.len())
    }

    /// Factors the matrix with values `vals` (CSC order of `sym`'s pattern): a refactorisation
    /// with the held pivot order when there is one, falling back to a full factorisation when
    /// a pivot became too small.
    pub fn factor(&mut self, sym: &Symbolic, vals: &[f64]) -> Result<(), ZeroPivot> {
        if self.valid {
            match self.refactor(sym, vals) {
                Ok(()) => {
                    self.stats.refactor += 1;
                    return Ok(());
                }
                Err(()) => self.stats.fallback += 1,
            }
        }
        self.full(sym, vals)
    }

    /// Row scale factors; a zero row is a zero pivot at that row's unknown.
    fn scale(&mut self, sym: &Symbolic, vals: &[f64]) -> Result<(), ZeroPivot> {
        self.rs.fill(0.0);
        for (&r, &v) in sym.row_idx.iter().zip(vals) {
            let a = v.abs();
            // a NaN is kept, and caught below as a non-finite scale
            if a > self.rs[r] || a.is_nan() {
                self.rs[r] = a;
            }
        }
        for (r, s) in self.rs.iter_mut().enumerate() {
            if !s.is_finite() {
                return Err(ZeroPivot(None));
            }
            if *s == 0.0 {
                return Err(ZeroPivot(Some(r)));
            }
            *s = 1.0 / *s;
        }
        Ok(())
    }

    /// Gilbert-Peierls factorisation with threshold partial pivoting.
    pub fn full(&mut self, sym: &Symbolic, vals: &[f64]) -> Result<(), ZeroPivot> {
        self.valid = false;
        self.stats.full += 1;
        let n = self.n;
        self.scale(sym, vals)?;
        self.pinv.fill(NONE);
        self.mark.fill(0);
        self.lp.clear();
        self.li.clear();
        self.lx.clear();
        self.up.clear();
        self.ui.clear();
        self.ux.clear();
        self.dropped.clear();
        self.lp.push(0);
        self.up.push(0);
        for k in 0..n {
            let col = sym.q[k];
            let (a0, a1) = (sym.col_ptr[col], sym.col_ptr[col + 1]);
            // the column's rows, less a diagonal that is exactly zero (see `dropped`)
            let mut starts = std::mem::take(&mut self.starts);
            starts.clear();
            for p in a0..a1 {
                let r = sym.row_idx[p];
                if r == col && vals[p] == 0.0 {
                    self.dropped.push(p);
                } else {
                    starts.push(r);
                }
            }
            let top = self.reach(&starts, k + 1);
            self.starts = starts;
            // scatter the scaled column, then eliminate with the pivotal columns in topological
            // order (rows in original numbering until the end); a dropped diagonal is zero
            for p in a0..a1 {
                let r = sym.row_idx[p];
                if vals[p] != 0.0 || r != col {
                    self.x[r] = vals[p] * self.rs[r];
                }
            }
            for t in top..n {
                let i = self.xi[t];
                let j = self.pinv[i];
                if j == NONE {
                    continue;
                }
                let xj = self.x[i];
                for s in self.lp[j]..self.lp[j + 1] {
                    self.x[self.li[s]] -= self.lx[s] * xj;
                }
            }
            // U entries, and the pivot among the rows not yet pivotal
            let mut best = NONE;
            let mut maxv = 0.0f64;
            let mut finite = true;
            for t in top..n {
                let i = self.xi[t];
                let v = self.x[i];
                let j = self.pinv[i];
                if j != NONE {
                    self.ui.push(j);
                    self.ux.push(v);
                } else {
                    finite &= v.is_finite();
                    if v.abs() > maxv || best == NONE {
                        maxv = maxv.max(v.abs());
                        best = i;
                    }
                }
            }
            if !finite {
                self.clear_x(top);
                return Err(ZeroPivot(None));
            }
            if best == NONE || maxv <= TINY {
                self.clear_x(top);
                return Err(ZeroPivot(Some(col)));
            }
            // diagonal preference: row q[k] of column q[k] (KLU's rule)
            if self.pinv[col] == NONE
                && self.mark[col] == k + 1
                && self.x[col].abs() >= PIVOT_TOL * maxv
            {
                best = col;
            }
            let piv = self.x[best];
            self.p[k] = best;
            self.pinv[best] = k;
            self.udiag[k] = piv;
            for t in top..n {
                let i = self.xi[t];
                if self.pinv[i] == NONE {
                    self.li.push(i);
                    self.lx.push(self.x[i] / piv);
                }
                self.x[i] = 0.0;
            }
            self.lp.push(self.li.len());
            self.up.push(self.ui.len());
        }
        // rows of L to steps; U columns ascending so a refactorisation can follow them
        for i in self.li.iter_mut() {
            *i = self.pinv[*i];
        }
        for (a, &r) in self.arow.iter_mut().zip(&sym.row_idx) {
            *a = self.pinv[r];
        }
        for k in 0..n {
            let (u0, u1) = (self.up[k], self.up[k + 1]);
            if u1 - u0 > 1 {
                self.sort_buf.clear();
                self.sort_buf.extend(
                    self.ui[u0..u1]
                        .iter()
                        .copied()
                        .zip(self.ux[u0..u1].iter().copied()),
                );
                self.sort_buf.sort_unstable_by_key(|e| e.0);
                for (t, &(i, v)) in self.sort_buf.iter().enumerate() {
                    self.ui[u0 + t] = i;
                    self.ux[u0 + t] = v;
                }
            }
        }
        self.valid = true;
        Ok(())
    }

    fn clear_x(&mut self, top: usize) {
        for t in top..self.n {
            self.x[self.xi[t]] = 0.0;
        }
    }

    /// The rows reached from `rows` in the graph of L (row i -> the rows of L's column
    /// pinv[i] when i is pivotal), in topological order in xi[top..n]; returns top.
    /// Iterative depth-first search marked with `stamp`.
    fn reach(&mut self, rows: &[usize], stamp: usize) -> usize {
        let n = self.n;
        let mut top = n;
        for &start in rows {
            if self.mark[start] == stamp {
                continue;
            }
            let mut head = 0usize;
            self.stack[0] = start;
            loop {
                let i = self.stack[head];
                let j = self.pinv[i];
                if self.mark[i] != stamp {
                    self.mark[i] = stamp;
                    self.pstack[head] = if j == NONE { 0 } else { self.lp[j] };
                }
                let end = if j == NONE { 0 } else { self.lp[j + 1] };
                let mut done = true;
                let mut s = self.pstack[head];
                while s < end {
                    let c = self.li[s];
                    s += 1;
                    if self.mark[c] != stamp {
                        self.pstack[head] = s;
                        head += 1;
                        self.stack[head] = c;
                        done = false;
                        break;
                    }
                }
                if done {
                    top -= 1;
                    self.xi[top] = i;
                    if head == 0 {
                        break;
                    }
                    head -= 1;
                }
            }
        }
        top
    }

    /// Refactorisation with the held pivot order and structure; Err(()) (factors invalid)
    /// when a pivot is not acceptable.
    fn refactor(&mut self, sym: &Symbolic, vals: &[f64]) -> Result<(), ()> {
        self.valid = false;
        if self.dropped.iter().any(|&p| vals[p] != 0.0) || self.scale(sym, vals).is_err() {
            return Err(());
        }
        let n = self.n;
        let x = &mut self.x[..];
        let (lp, li, lx) = (&self.lp[..], &self.li[..], &mut self.lx[..]);
        let (up, ui, ux) = (&self.up[..], &self.ui[..], &mut self.ux[..]);
        let (arow, rs) = (&self.arow[..], &self.rs[..]);
        for k in 0..n {
            let col = sym.q[k];
            let (a0, a1) = (sym.col_ptr[col], sym.col_ptr[col + 1]);
            for ((&r, &step), &v) in sym.row_idx[a0..a1]
                .iter()
                .zip(&arow[a0..a1])
                .zip(&vals[a0..a1])
            {
                x[step] = v * rs[r];
            }
            let (u0, u1) = (up[k], up[k + 1]);
            for (&j, u) in ui[u0..u1].iter().zip(ux[u0..u1].iter_mut()) {
                let xj = x[j];
                x[j] = 0.0;
                *u = xj;
                let (l0, l1) = (lp[j], lp[j + 1]);
                for (&i, &l) in li[l0..l1].iter().zip(&lx[l0..l1]) {
                    x[i] -= l * xj;
                }
            }
            let piv = x[k];
            x[k] = 0.0;
            let (l0, l1) = (lp[k], lp[k + 1]);
            let mut maxl = 0.0f64;
            for &i in &li[l0..l1] {
                maxl = maxl.max(x[i].abs());
            }
            let ok = piv.is_finite()
                && maxl.is_finite()
                && piv.abs() > TINY
                && piv.abs() >= PIVOT_TOL * maxl;
            if !ok {
                for &i in &li[l0..l1] {
                    x[i] = 0.0;
                }
                return Err(());
            }
            self.udiag[k] = piv;
            let inv = 1.0 / piv;
            for (&i, l) in li[l0..l1].iter().zip(lx[l0..l1].iter_mut()) {
                *l = x[i] * inv;
                x[i] = 0.0;
            }
        }
        self.valid = true;
        Ok(())
    }

    /// Solves A x = b in place with the held factors (b in the original numbering); `work`
    /// of length n is scratch.
    pub fn solve(&self, sym: &Symbolic, b: &mut [f64], work: &mut [f64]) {
        let n = self.n;
        let y = &mut work[..n];
        for k in 0..n {
            let r = self.p[k];
            y[k] = b[r] * self.rs[r];
        }
        for j in 0..n {
            let yj = y[j];
            if yj != 0.0 {
                for s in self.lp[j]..self.lp[j + 1] {
                    y[self.li[s]] -= self.lx[s] * yj;
                }
            }
        }
        for j in (0..n).rev() {
            let yj = y[j] / self.udiag[j];
            y[j] = yj;
            if yj != 0.0 {
                for t in self.up[j]..self.up[j + 1] {
                    y[self.ui[t]] -= self.ux[t] * yj;
                }
            }
        }
        for k in 0..n {
            b[sym.q[k]] = y[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CSC of a dense row-major matrix's nonzeros (plus the diagonal).
    fn csc(n: usize, a: &[f64]) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
        let mut cp = vec![0];
        let mut ri = vec![];
        let mut v = vec![];
        for c in 0..n {
            for r in 0..n {
                if a[r * n + c] != 0.0 || r == c {
                    ri.push(r);
                    v.push(a[r * n + c]);
                }
            }
            cp.push(ri.len());
        }
        (cp, ri, v)
    }

    #[test]
    fn a_voltage_source_row_needs_an_off_diagonal_pivot() {
        // node 1 -- R -- ground, source branch (unknown 2) fixing v1 = 1: zero diagonal
        let a = [1.0, 1.0, 1.0, 0.0];
        let (cp, ri, v) = csc(2, &a);
        let sym = Symbolic::new(2, &cp, &ri);
        let mut num = Numeric::new(&sym);
        num.factor(&sym, &v).unwrap();
        let mut b = [0.0, 1.0];
        let mut w = [0.0; 2];
        num.solve(&sym, &mut b, &mut w);
        assert_eq!(b, [1.0, -1.0]);
    }

    #[test]
    fn dfs_topological_order_on_a_chain() {
        // lower bidiagonal: every column's reach is a chain through all earlier columns
        let n = 50;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 2.0;
            if i > 0 {
                a[i * n + i - 1] = -1.0;
                a[(i - 1) * n + i] = -1.0;
            }
        }
        let (cp, ri, v) = csc(n, &a);
        let sym = Symbolic::new(n, &cp, &ri);
        let mut num = Numeric::new(&sym);
        num.factor(&sym, &v).unwrap();
        let mut b = vec![1.0; n];
        let mut w = vec![0.0; n];
        num.solve(&sym, &mut b, &mut w);
        for i in 0..n {
            let r: f64 = (0..n).map(|c| a[i * n + c] * b[c]).sum();
            assert!((r - 1.0).abs() < 1e-12);
        }
    }
}
