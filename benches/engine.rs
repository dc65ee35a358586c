//! Engine benchmarks: parsing + elaboration, an RC transient, one IF neuron, arrays of
//! independent IF neurons (the decoupled-parts case of issue 2), and one crossbar neuron on
//! 16 PULSE input lines (issue 13: a part whose held sources leave the matrix).
use criterion::{Criterion, criterion_group, criterion_main};
use neurospice::analysis::{self, Save};
use neurospice::netlist::{self, Netlist, lexer::lex_str};

fn if_array(n: usize) -> String {
    let mut s =
        format!("array of {n} IF neurons\n.model rst sw vt=0.35 vh=0.15 ron=10k roff=1e12\n");
    for k in 1..=n {
        let i = 1e-6 * (1.0 + 0.5 * k as f64 / n as f64);
        s += &format!("I{k} 0 m{k} PULSE(0 {i:e} 0 1n)\nC{k} m{k} 0 1p\nS{k} m{k} 0 m{k} 0 rst\n");
    }
    s + ".tran 1n 2u\n.end\n"
}

/// One neuron of the `crossbar` family (scripts/gen_arrays.py): 16 PULSE input lines through
/// 2-8 Mohm weights onto a 1 pF membrane with a self-resetting switch.
fn crossbar_neuron() -> String {
    let mut s = String::from("crossbar neuron\n.model rst sw vt=0.35 vh=0.15 ron=10k roff=1e12\n");
    for j in 1..=16 {
        let per = 100 * (1 + j % 11);
        s += &format!(
            "Vin{j} in{j} 0 PULSE(0 1 {}n 1n 1n {}n {per}n)\nR{j} in{j} m {}meg\n",
            10 * (j % 5),
            per / 2 - 1,
            2 << (j % 3)
        );
    }
    s + "C1 m 0 1p\nS1 m 0 m 0 rst\n.tran 1n 2u\n.end\n"
}

fn run(text: &str, save: &Save) {
    let lexed = lex_str(text, "bench.cir").unwrap();
    let nl = Netlist::parse(&lexed).unwrap();
    let c = netlist::elaborate(&nl, Default::default()).unwrap();
    analysis::run(&c, save).unwrap();
}

fn benches(c: &mut Criterion) {
    let rc = "rc\nV1 in 0 PULSE(0 1 0 1n)\nR1 in out 1k\nC1 out 0 1n\n.tran 10n 5u\n.end\n";
    c.bench_function("rc_step_tran", |b| b.iter(|| run(rc, &Save::All)));
    let one = if_array(1);
    c.bench_function("if_neuron_tran", |b| b.iter(|| run(&one, &Save::All)));
    let xb = crossbar_neuron();
    let v_m = Save::List(vec!["v(m)".into()]);
    c.bench_function("crossbar_neuron_tran", |b| b.iter(|| run(&xb, &v_m)));
    let big = if_array(1000);
    c.bench_function("parse_elaborate_3000_elements", |b| {
        b.iter(|| {
            let lexed = lex_str(&big, "bench.cir").unwrap();
            let nl = Netlist::parse(&lexed).unwrap();
            netlist::elaborate(&nl, Default::default()).unwrap()
        })
    });
    let mut g = c.benchmark_group("if_array");
    g.sample_size(10);
    for n in [10usize, 100, 1000] {
        let text = if_array(n);
        let save = Save::List(vec!["v(m1)".into()]);
        g.bench_function(format!("n{n}"), |b| b.iter(|| run(&text, &save)));
    }
    g.finish();
}

criterion_group! {
    name = engine;
    // no HTML plots: they need system fonts, which a fresh machine does not have
    config = Criterion::default().without_plots();
    targets = benches
}
criterion_main!(engine);
