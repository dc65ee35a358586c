//! Monte Carlo throughput: the IF neuron of netlists/mc_if_neuron.cir (agauss on C and I),
//! parse once, then elaborate + transient + measure per run, on every core.
//! `benches/mc_vs_ngspice.sh` compares 1,000 runs with ngspice re-launched per seed.
use criterion::{Criterion, criterion_group, criterion_main};
use neurospice::mc::measure::{Simple, SimpleMeasures};
use neurospice::mc::{Config, Study};
use std::sync::Arc;

fn bench(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("netlists/mc_if_neuron.cir");
    let lexed = neurospice::netlist::lexer::lex_file(&path).expect("netlist");
    let nl = neurospice::netlist::Netlist::parse(&lexed).expect("parse");
    let m = SimpleMeasures(vec![
        Simple::parse("tcross=rise(v(mem),0.45)").expect("measure"),
    ]);
    let study = Study::new(nl, Arc::new(m)).expect("study").shared();
    let mut g = c.benchmark_group("mc");
    g.sample_size(10);
    for jobs in [1, 2] {
        let cfg = Config {
            runs: 1000,
            seed: 1,
            jobs,
            ..Config::default()
        };
        let runs = study.runs_of(&cfg);
        g.bench_function(format!("if_neuron_1000_runs_jobs{jobs}"), |b| {
            b.iter(|| study.execute(&cfg, &runs, &Default::default(), &|_| {}))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
