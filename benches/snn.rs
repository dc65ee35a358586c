//! Network-level inference speed: 1,000 MNIST digits through the committed 784-512-512-10
//! model with a confusion matrix sampled at every chunk MAC (target: under 5 s).

use criterion::{Criterion, criterion_group, criterion_main};
use neurospice::neuro::snn::data;
use neurospice::neuro::snn::model::{Network, evaluate};
use neurospice::neuro::snn::neuron::{Confusion, Ideal};

fn bench(c: &mut Criterion) {
    let net = Network::load("models/bnn_mnist.json".as_ref()).expect("committed model");
    let all = data::load("data/mnist_4k.csv.gz".as_ref(), None).expect("committed data");
    let digits = all.subset(&(0..1000).map(|i| i * 4).collect::<Vec<_>>());
    let conf =
        Confusion::from_file("tests/data/snn/confusion_tridiag.csv".as_ref()).expect("fixture");
    let mut g = c.benchmark_group("snn_eval_1000");
    g.sample_size(10);
    g.bench_function("confusion_per_mac", |b| {
        b.iter(|| evaluate(&net, &digits, &conf, 1, 7).expect("evaluate"))
    });
    g.bench_function("ideal", |b| {
        b.iter(|| evaluate(&net, &digits, &Ideal, 1, 7).expect("evaluate"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
