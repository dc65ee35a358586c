//! Cost of taking a netlist's measures on one run's results: paid once per Monte Carlo run or
//! sweep point, so it must stay small next to the simulation itself.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use neurospice::{analysis, meas, netlist};

fn bench_meas(c: &mut Criterion) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden_meas/if_spike.cir");
    let lexed = match netlist::lexer::lex_file(&path) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let nl = match netlist::Netlist::parse(&lexed) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    };
    let ms = match meas::parse_measures(&nl) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let circuit = match netlist::elaborate(&nl, Default::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let res = match analysis::run(&circuit, &analysis::Save::All) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let params = match meas::global_params(&nl, &[]) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let points = res.tran.as_ref().map_or(0, |t| t.rows.len());
    c.bench_function(
        &format!("evaluate 4 IF-neuron measures on {points} time points"),
        |b| b.iter(|| meas::evaluate(black_box(&ms), black_box(&res), &params)),
    );
    c.bench_function("parse the IF neuron's .meas cards", |b| {
        b.iter(|| meas::parse_measures(black_box(&nl)))
    });
}

criterion_group!(benches, bench_meas);
criterion_main!(benches);
