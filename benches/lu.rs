//! The linear solver on circuit matrices dumped from the benchmark arrays (`tests/data/lu/`,
//! see docs/speed.md): per factorisation and per solve, the circuit LU (full factorisation with
//! pivot search, refactorisation with the held pivot order, triangular solves) against faer's
//! sparse LU. Two matrices of one circuit alternate, so every iteration factors.
//!
//! Times are the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: the machines
//! this runs on are shared, and a wall clock counts the other tenants' work.
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use neurospice::solver::circuit_lu::{Numeric, Symbolic};
use neurospice::solver::linear::{LinearSolver, SparseKind};

#[path = "../tests/common/mtx.rs"]
mod mtx;

/// CPU time of the calling thread in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given and nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(
        rc, 0,
        "CLOCK_THREAD_CPUTIME_ID is needed for CPU-time benches"
    );
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

struct CpuTime;
struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (d, unit) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e3, "µs")
        } else {
            (1e6, "ms")
        };
        values.iter_mut().for_each(|v| *v /= d);
        unit
    }
    fn scale_throughputs(&self, _: f64, _: &Throughput, _: &mut [f64]) -> &'static str {
        "n/a"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

fn benches(c: &mut Criterion<CpuTime>) {
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

    // where the dense LU of small systems stands against the circuit LU: a ladder of n - 1
    // nodes driven by one voltage source (the shape of a few coupled neuron cells)
    let mut g = c.benchmark_group("small");
    g.sample_size(30);
    for n in [3usize, 4, 6, 12, 24] {
        let mut req = vec![(1, n), (n, 1)];
        for i in 1..n {
            req.push((i, i));
            if i > 1 {
                req.push((i, i - 1));
                req.push((i - 1, i));
            }
        }
        let (pat, map, _) = neurospice::solver::linear::Pattern::build(n, &req);
        let mut va = vec![0.0; pat.nnz() + 1];
        let mut vb = vec![0.0; pat.nnz() + 1];
        for (k, &(r, cc)) in req.iter().enumerate() {
            let v = if r == n || cc == n {
                1.0
            } else if r == cc {
                3.0
            } else {
                -1.0
            };
            va[map[k]] += v;
            vb[map[k]] += v * 1.01;
        }
        let rhs0: Vec<f64> = (0..=n).map(|i| i as f64).collect();
        let mut dense = LinearSolver::with_kind(pat.clone(), SparseKind::Dense).unwrap();
        assert_eq!(dense.backend_name(), "dense");
        let sym = Symbolic::new(n, &pat.col_ptr, &pat.row_idx);
        let mut num = Numeric::new(&sym);
        let mut work = vec![0.0; n];
        let mut flip = false;
        let mut rhs = rhs0.clone();
        g.bench_function(BenchmarkId::new("dense factor+solve", n), |bn| {
            bn.iter(|| {
                flip = !flip;
                rhs.copy_from_slice(&rhs0);
                dense.solve(if flip { &va } else { &vb }, &mut rhs).unwrap();
            })
        });
        let mut x = rhs0[1..].to_vec();
        g.bench_function(BenchmarkId::new("circuit factor+solve", n), |bn| {
            bn.iter(|| {
                flip = !flip;
                num.factor(&sym, if flip { &va[1..] } else { &vb[1..] })
                    .unwrap();
                x.copy_from_slice(&rhs0[1..]);
                num.solve(&sym, &mut x, &mut work)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = lu;
    config = Criterion::default().with_measurement(CpuTime);
    targets = benches
}
criterion_main!(lu);
