//! The linear solver on circuit matrices dumped from the benchmark arrays (`tests/data/lu/`,
//! see docs/speed.md): per factorisation and per solve, the circuit LU (full factorisation with
//! pivot search, refactorisation with the held pivot order, triangular solves) against faer's
//! sparse LU. Two matrices of one circuit alternate, so every iteration factors.
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use neurospice::solver::circuit_lu::{Numeric, Symbolic};
use neurospice::solver::linear::{LinearSolver, SparseKind};

#[path = "../tests/common/mtx.rs"]
mod mtx;

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("lu");
    g.sample_size(30);
    for name in mtx::PAIRS {
        let a = mtx::read(&format!("{name}_a.mtx"));
        let b = mtx::read(&format!("{name}_b.mtx"));
        let n = a.pat.n;
        let id = format!("{name} (n={n}, nnz={})", a.pat.nnz());
        let rhs0: Vec<f64> = (0..=n).map(|i| (i % 7) as f64 - 3.0).collect();
        // the solver as Newton calls it: factor (alternating matrices) and solve
        for (kind, label) in [
            (SparseKind::Circuit, "circuit factor+solve"),
            (SparseKind::Faer, "faer factor+solve"),
        ] {
            let mut ls = LinearSolver::with_kind(a.pat.clone(), kind).unwrap();
            let mut flip = false;
            let mut rhs = rhs0.clone();
            g.bench_function(BenchmarkId::new(label, &id), |bn| {
                bn.iter(|| {
                    flip = !flip;
                    rhs.copy_from_slice(&rhs0);
                    ls.solve(if flip { &a.vals } else { &b.vals }, &mut rhs)
                        .unwrap();
                })
            });
        }
        let sym = Symbolic::new(n, &a.pat.col_ptr, &a.pat.row_idx);
        let mut num = Numeric::new(&sym);
        g.bench_function(BenchmarkId::new("circuit full factor", &id), |bn| {
            bn.iter(|| num.full(&sym, &a.vals[1..]).unwrap())
        });
        let mut flip = false;
        g.bench_function(BenchmarkId::new("circuit refactor", &id), |bn| {
            bn.iter(|| {
                flip = !flip;
                num.factor(&sym, if flip { &b.vals[1..] } else { &a.vals[1..] })
                    .unwrap()
            })
        });
        let mut work = vec![0.0; n];
        let mut x = rhs0[1..].to_vec();
        g.bench_function(BenchmarkId::new("circuit solve", &id), |bn| {
            bn.iter(|| {
                x.copy_from_slice(&rhs0[1..]);
                num.solve(&sym, &mut x, &mut work)
            })
        });
        let mut ls = LinearSolver::with_kind(a.pat.clone(), SparseKind::Faer).unwrap();
        let mut rhs = rhs0.clone();
        ls.solve(&a.vals, &mut rhs).unwrap();
        g.bench_function(BenchmarkId::new("faer solve", &id), |bn| {
            bn.iter(|| {
                rhs.copy_from_slice(&rhs0);
                // the same values: only the triangular solves run
                ls.solve(&a.vals, &mut rhs).unwrap()
            })
        });
        eprintln!(
            "{id}: circuit LU fill L+U = {:?}, stats {:?}",
            num.fill(),
            num.stats
        );
    }
    g.finish();
}

criterion_group!(lu, benches);
criterion_main!(lu);
