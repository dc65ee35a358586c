//! The circuit LU behind the linear solver: random circuit-like MNA matrices (weak diagonals,
//! voltage-source branch rows with a zero diagonal) against a dense reference, refactorisation
//! and its fallback, singular matrices named by unknown, and the solver counters.

#![allow(clippy::needless_range_loop)]

use neurospice::solver::circuit_lu::{LuStats, Numeric, Symbolic};
use neurospice::solver::linear::{LinearSolver, Pattern, SparseKind};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

/// An MNA matrix of `nodes` nodes and `srcs` grounded voltage sources: random conductances
/// between nodes (spanning 1e-12..1e3 S, so many diagonals are weak against their row),
/// transconductances (unsymmetric), and for each source a branch unknown whose row holds only
/// the node's +1 (zero diagonal). Returned as (row, col, value) triplets over 1-based unknowns;
/// `n` = nodes + srcs. The sources' nodes are distinct (1, 4, 7, ...) while 3 srcs <= nodes.
fn mna(
    rng: &mut Rng,
    nodes: usize,
    srcs: usize,
    edges: usize,
) -> (usize, Vec<(usize, usize, f64)>) {
    let n = nodes + srcs;
    let mut t = vec![];
    let stamp = |t: &mut Vec<(usize, usize, f64)>, a: usize, b: usize, g: f64| {
        t.push((a, a, g));
        if b > 0 {
            t.push((b, b, g));
            t.push((a, b, -g));
            t.push((b, a, -g));
        }
    };
    // a spanning chain keeps every node connected, then random edges
    for i in 2..=nodes {
        let j = 1 + rng.below(i - 1);
        let g = 10f64.powf(-12.0 + 15.0 * rng.next());
        stamp(&mut t, i, j, g);
    }
    stamp(&mut t, 1, 0, 1e-3);
    for _ in 0..edges {
        let a = 1 + rng.below(nodes);
        let b = rng.below(nodes + 1);
        if a == b {
            continue;
        }
        let g = 10f64.powf(-12.0 + 15.0 * rng.next());
        stamp(&mut t, a, b, g);
        // a transconductance: current into a controlled by b's voltage (unsymmetric)
        if b > 0 && rng.next() < 0.3 {
            let c = 1 + rng.below(nodes);
            t.push((c, b, 1e-4 * (rng.next() - 0.5)));
        }
    }
    for s in 0..srcs {
        let node = 1 + (s * 3) % nodes;
        let k = nodes + 1 + s;
        t.push((node, k, 1.0));
        t.push((k, node, 1.0));
    }
    (n, t)
}

/// Solves the triplet system with `kind` and checks the componentwise backward error against
/// the dense matrix: |A x - b| <= tol (|A| |x| + |b|) in every row.
fn check(
    n: usize,
    t: &[(usize, usize, f64)],
    rng: &mut Rng,
    kind: SparseKind,
    tol: f64,
) -> LinearSolver {
    let req: Vec<(usize, usize)> = t.iter().map(|&(r, c, _)| (r, c)).collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut vals = vec![0.0; pat.nnz() + 1];
    let mut dense = vec![0.0; n * n];
    for (k, &(r, c, v)) in t.iter().enumerate() {
        vals[map[k]] += v;
        dense[(r - 1) * n + c - 1] += v;
    }
    let xs: Vec<f64> = (0..n).map(|_| rng.next() - 0.5).collect();
    let mut rhs = vec![0.0; n + 1];
    for r in 0..n {
        rhs[r + 1] = (0..n).map(|c| dense[r * n + c] * xs[c]).sum();
    }
    let b = rhs.clone();
    let mut ls = LinearSolver::with_kind(pat, kind).unwrap();
    ls.solve(&vals, &mut rhs).unwrap();
    // the backward error: |A x - b| against |A| |x| + |b|, row by row
    for r in 0..n {
        let (mut ax, mut scale) = (0.0, b[r + 1].abs());
        for c in 0..n {
            ax += dense[r * n + c] * rhs[c + 1];
            scale += (dense[r * n + c] * rhs[c + 1]).abs();
        }
        assert!(
            (ax - b[r + 1]).abs() <= tol * scale.max(f64::MIN_POSITIVE),
            "{kind:?} n={n} row {r}: residual {:e} scale {scale:e}",
            ax - b[r + 1]
        );
    }
    ls
}

#[test]
fn random_mna_matrices_match_the_dense_reference() {
    // (faer's LU, which does not scale rows, reaches backward errors of 1e-6 on some of these
    // matrices, whose conductances span 15 decades: it is not held to this tolerance)
    let mut rng = Rng(7);
    for case in 0..40 {
        let nodes = 25 + rng.below(300);
        let srcs = 1 + rng.below(8);
        let (n, t) = mna(&mut rng, nodes, srcs, 2 * nodes);
        let ls = check(n, &t, &mut rng, SparseKind::Circuit, 1e-13);
        assert_eq!(ls.backend_name(), "circuit", "case {case}");
        assert_eq!(
            ls.lu_stats(),
            LuStats {
                full: 1,
                refactor: 0,
                fallback: 0
            }
        );
    }
}

/// A circuit-like matrix whose values change (same pattern) is refactored with the held pivot
/// order, and the result still solves the new matrix.
#[test]
fn same_pattern_is_refactored_and_solves() {
    let mut rng = Rng(11);
    let (n, t) = mna(&mut rng, 120, 3, 300);
    let req: Vec<(usize, usize)> = t.iter().map(|&(r, c, _)| (r, c)).collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut ls = LinearSolver::new(pat.clone()).unwrap();
    for it in 0..5 {
        // every conductance moves by up to 1 % (a Newton iteration, a new time step)
        let mut vals = vec![0.0; pat.nnz() + 1];
        let mut dense = vec![0.0; n * n];
        for (k, &(r, c, v)) in t.iter().enumerate() {
            let v = v * (1.0 + 0.01 * (rng.next() - 0.5));
            vals[map[k]] += v;
            dense[(r - 1) * n + c - 1] += v;
        }
        let mut x = vec![0.0; n + 1];
        x[1..].iter_mut().for_each(|v| *v = 1.0);
        let mut rhs = vec![0.0; n + 1];
        for r in 0..n {
            rhs[r + 1] = (0..n).map(|c| dense[r * n + c]).sum();
        }
        ls.solve(&vals, &mut rhs).unwrap();
        for i in 1..=n {
            assert!(
                (rhs[i] - 1.0).abs() < 1e-6,
                "iteration {it}, unknown {i}: {}",
                rhs[i]
            );
        }
    }
    assert_eq!(ls.factorizations, 5);
    assert_eq!(
        ls.lu_stats(),
        LuStats {
            full: 1,
            refactor: 4,
            fallback: 0
        }
    );
}

/// A pivot of the held order that becomes tiny makes the refactorisation fall back to a full
/// factorisation with fresh pivots, which solves the new matrix.
#[test]
fn a_vanishing_pivot_falls_back_to_full_pivoting() {
    // [[d, 1], [1, 1]] plus a chain of 30 unit-diagonal unknowns (sparse path): with d = 4 the
    // diagonal is the pivot; with d = 1e-9 it is no longer acceptable
    let n = 32;
    let mut t: Vec<(usize, usize, f64)> = vec![(1, 2, 1.0), (2, 1, 1.0), (2, 2, 1.0)];
    for i in 3..=n {
        t.push((i, i, 2.0));
        t.push((i, i - 1, -0.5));
    }
    let req: Vec<(usize, usize)> = std::iter::once((1, 1))
        .chain(t.iter().map(|&(r, c, _)| (r, c)))
        .collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut ls = LinearSolver::new(pat.clone()).unwrap();
    for (d, want) in [
        (
            4.0,
            LuStats {
                full: 1,
                refactor: 0,
                fallback: 0,
            },
        ),
        (
            1e-9,
            LuStats {
                full: 2,
                refactor: 0,
                fallback: 1,
            },
        ),
        (
            2e-9,
            LuStats {
                full: 2,
                refactor: 1,
                fallback: 1,
            },
        ),
    ] {
        let mut vals = vec![0.0; pat.nnz() + 1];
        vals[map[0]] = d;
        for (k, &(_, _, v)) in t.iter().enumerate() {
            vals[map[k + 1]] += v;
        }
        // x = (1, 1, ...): row 1 = d + 1, row 2 = 2, row i = 2 - 0.5
        let mut rhs = vec![0.0; n + 1];
        rhs[1] = d + 1.0;
        rhs[2] = 2.0;
        for i in 3..=n {
            rhs[i] = 1.5;
        }
        ls.solve(&vals, &mut rhs).unwrap();
        for i in 1..=n {
            assert!((rhs[i] - 1.0).abs() < 1e-12, "d = {d}: x[{i}] = {}", rhs[i]);
        }
        assert_eq!(ls.lu_stats(), want, "d = {d}");
    }
}

/// A floating node (structurally present, numerically no conductance once its only
/// connection vanishes) is reported by its unknown, which the error path maps to the node.
#[test]
fn a_singular_matrix_names_the_unknown() {
    let n = 40;
    let mut req = vec![];
    for i in 1..=n {
        req.push((i, i));
        if i > 1 {
            req.push((i, i - 1));
            req.push((i - 1, i));
        }
    }
    let (pat, map, _) = Pattern::build(n, &req);
    let mut vals = vec![0.0; pat.nnz() + 1];
    // a ladder of conductances to ground, except that unknown 17's column and row vanish
    for (k, &(r, c)) in req.iter().enumerate() {
        let v = if r == 17 || c == 17 {
            0.0
        } else if r == c {
            3.0
        } else {
            -1.0
        };
        vals[map[k]] += v;
    }
    let mut ls = LinearSolver::new(pat).unwrap();
    let mut rhs = vec![1.0; n + 1];
    let err = ls.solve(&vals, &mut rhs).unwrap_err();
    assert_eq!(err.unknown, Some(17));
}

/// Two unknowns tied by equal rows: the second pivot vanishes in the elimination (not a zero
/// row, a numerically dependent one); its column is reported.
#[test]
fn a_dependent_pair_is_singular_at_one_of_its_unknowns() {
    let n = 30;
    let mut t: Vec<(usize, usize, f64)> = vec![];
    for i in 1..=n {
        t.push((i, i, 4.0));
    }
    // rows 5 and 9 identical over columns 5 and 9: [[4, 4], [4, 4]]
    t.push((5, 9, 4.0));
    t.push((9, 5, 4.0));
    let req: Vec<(usize, usize)> = t.iter().map(|&(r, c, _)| (r, c)).collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut vals = vec![0.0; pat.nnz() + 1];
    for (k, &(_, _, v)) in t.iter().enumerate() {
        vals[map[k]] += v;
    }
    let mut ls = LinearSolver::new(pat).unwrap();
    let mut rhs = vec![1.0; n + 1];
    let err = ls.solve(&vals, &mut rhs).unwrap_err();
    assert!(
        matches!(err.unknown, Some(5) | Some(9)),
        "{:?}",
        err.unknown
    );
}

/// The symbolic analysis is shared by clones (sweep points, Monte Carlo runs); each clone
/// starts its own numeric factorisation.
#[test]
fn clones_share_the_ordering_and_count_their_own_work() {
    let mut rng = Rng(3);
    let (n, t) = mna(&mut rng, 60, 2, 120);
    let req: Vec<(usize, usize)> = t.iter().map(|&(r, c, _)| (r, c)).collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut vals = vec![0.0; pat.nnz() + 1];
    for (k, &(_, _, v)) in t.iter().enumerate() {
        vals[map[k]] += v;
    }
    let a_pat = pat.clone();
    let mut a = LinearSolver::new(pat).unwrap();
    let mut rhs = vec![1.0; n + 1];
    a.solve(&vals, &mut rhs).unwrap();
    let mut b = a.fresh_clone();
    assert!(b.shares_analysis_with(&a));
    assert!(!LinearSolver::new(a_pat).unwrap().shares_analysis_with(&a));
    let mut rhs2 = vec![1.0; n + 1];
    b.solve(&vals, &mut rhs2).unwrap();
    assert_eq!(rhs, rhs2);
    assert_eq!(b.factorizations, 1);
    assert_eq!(b.lu_stats().full, 1);
}

/// Direct use of the factorisation: solving twice with one factorisation, and the fill.
#[test]
fn numeric_solves_many_right_hand_sides() {
    let mut rng = Rng(5);
    let (n, t) = mna(&mut rng, 80, 4, 160);
    let req: Vec<(usize, usize)> = t.iter().map(|&(r, c, _)| (r, c)).collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut vals = vec![0.0; pat.nnz() + 1];
    for (k, &(_, _, v)) in t.iter().enumerate() {
        vals[map[k]] += v;
    }
    let sym = Symbolic::new(n, &pat.col_ptr, &pat.row_idx);
    let mut order = sym.order().to_vec();
    order.sort_unstable();
    assert_eq!(
        order,
        (0..n).collect::<Vec<_>>(),
        "the ordering is a permutation"
    );
    let mut num = Numeric::new(&sym);
    num.factor(&sym, &vals[1..]).unwrap();
    let (lnz, unz) = num.fill();
    assert!(
        lnz + unz >= pat.nnz() - n,
        "L + U hold at least A's off-diagonal pattern"
    );
    let mut work = vec![0.0; n];
    for e in 0..3 {
        let mut b = vec![0.0; n];
        b[e * 7] = 1.0;
        num.solve(&sym, &mut b, &mut work);
        // A b_solved = e_k
        for r in 0..n {
            let mut s = 0.0;
            for c in 0..n {
                for (k, &(rr, cc, v)) in t.iter().enumerate() {
                    let _ = k;
                    if rr == r + 1 && cc == c + 1 {
                        s += v * b[c];
                    }
                }
            }
            let want = if r == e * 7 { 1.0 } else { 0.0 };
            assert!((s - want).abs() < 1e-9, "rhs {e} row {r}: {s}");
        }
    }
}

#[path = "common/mtx.rs"]
mod mtx;

/// Matrices dumped from the solver on the benchmark arrays (two Newton iterations of each):
/// solved by the circuit LU (full factorisation, then a refactorisation of the second) to a
/// componentwise backward error of 1e-12.
#[test]
fn dumped_circuit_matrices_solve() {
    for name in mtx::PAIRS {
        let a = mtx::read(&format!("{name}_a.mtx"));
        let b = mtx::read(&format!("{name}_b.mtx"));
        assert_eq!(a.pat.row_idx, b.pat.row_idx, "{name}: one pattern");
        let n = a.pat.n;
        let mut ls = LinearSolver::new(a.pat.clone()).unwrap();
        for f in [&a, &b] {
            let xs: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
            let mut rhs = vec![0.0; n + 1];
            for r in 0..n {
                rhs[r + 1] = (0..n).map(|c| f.dense[r * n + c] * xs[c]).sum();
            }
            let rhs0 = rhs.clone();
            ls.solve(&f.vals, &mut rhs).unwrap();
            for r in 0..n {
                let (mut ax, mut scale) = (0.0, rhs0[r + 1].abs());
                for c in 0..n {
                    ax += f.dense[r * n + c] * rhs[c + 1];
                    scale += (f.dense[r * n + c] * rhs[c + 1]).abs();
                }
                assert!(
                    (ax - rhs0[r + 1]).abs() <= 1e-12 * scale.max(f64::MIN_POSITIVE),
                    "{}: row {r}",
                    f.name
                );
            }
        }
        assert_eq!(ls.lu_stats().full + ls.lu_stats().refactor, 2, "{name}");
        assert_eq!(
            ls.lu_stats().full,
            1,
            "{name}: the second matrix keeps the pivot order"
        );
    }
}

/// A branch row whose diagonal is zero (an inductor in DC, a voltage source) is left out of
/// the L/U structure; when the diagonal becomes nonzero (the inductor in the transient, -L/h)
/// the refactorisation falls back to a full factorisation, and both solve.
#[test]
fn a_zero_diagonal_that_becomes_nonzero_refactors_in_full() {
    let mut rng = Rng(17);
    let (n, mut t) = mna(&mut rng, 40, 3, 80);
    // make the last branch an inductor-like row: its diagonal is a requested entry
    t.push((n, n, 0.0));
    let req: Vec<(usize, usize)> = t.iter().map(|&(r, c, _)| (r, c)).collect();
    let (pat, map, _) = Pattern::build(n, &req);
    let mut ls = LinearSolver::new(pat.clone()).unwrap();
    for (diag, want) in [
        (
            0.0,
            LuStats {
                full: 1,
                refactor: 0,
                fallback: 0,
            },
        ),
        (
            0.0,
            LuStats {
                full: 1,
                refactor: 1,
                fallback: 0,
            },
        ),
        (
            -1e3,
            LuStats {
                full: 2,
                refactor: 1,
                fallback: 1,
            },
        ),
        (
            -2e3,
            LuStats {
                full: 2,
                refactor: 2,
                fallback: 1,
            },
        ),
    ] {
        let mut vals = vec![0.0; pat.nnz() + 1];
        let mut dense = vec![0.0; n * n];
        let last = t.len() - 1;
        for (k, &(r, c, v)) in t.iter().enumerate() {
            // values move a little every time, so each solve factors
            let v = if k == last {
                diag
            } else {
                v * (1.0 + 1e-3 * rng.next())
            };
            vals[map[k]] += v;
            dense[(r - 1) * n + c - 1] += v;
        }
        let mut rhs = vec![0.0; n + 1];
        for r in 0..n {
            rhs[r + 1] = (0..n).map(|c| dense[r * n + c]).sum();
        }
        ls.solve(&vals, &mut rhs).unwrap();
        for i in 1..=n {
            assert!(
                (rhs[i] - 1.0).abs() < 1e-6,
                "diag {diag}: x[{i}] = {}",
                rhs[i]
            );
        }
        assert_eq!(ls.lu_stats(), want, "diag {diag}");
    }
}
