//! Cost of one EKV-SC evaluation, the inner loop of every Newton step and Monte Carlo run.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use neurospice::devices::ekv::{EkvInstance, EkvModel, MosGeom, Polarity};

fn bench_ekv(c: &mut Criterion) {
    let model = EkvModel::defaults(Polarity::N);
    let geom = MosGeom::new(&model, 1e-6, 100e-9);
    let inst = match EkvInstance::new(&model, &geom) {
        Ok(i) => i,
        Err(e) => panic!("bench geometry rejected: {e}"),
    };
    c.bench_function("ekv eval (id, q, 20 derivatives)", |b| {
        b.iter(|| {
            inst.eval(
                black_box(0.6),
                black_box(0.45),
                black_box(0.0),
                black_box(0.0),
            )
        })
    });
    c.bench_function("ekv current only", |b| {
        b.iter(|| {
            inst.current(
                black_box(0.6),
                black_box(0.45),
                black_box(0.0),
                black_box(0.0),
            )
        })
    });
    c.bench_function("ekv instance setup", |b| {
        b.iter(|| EkvInstance::new(black_box(&model), black_box(&geom)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_ekv
}
criterion_main!(benches);
