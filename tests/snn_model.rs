//! The committed model, the model file format and training determinism.

use neurospice::neuro::snn::data::{self, stratified_split};
use neurospice::neuro::snn::model::{Network, evaluate, level_histograms};
use neurospice::neuro::snn::neuron::{AnyNeuron, Ideal, Lut};
use neurospice::neuro::snn::train::{TrainConfig, Tuning, train, train_with};

#[test]
fn committed_model_reaches_92_percent_on_held_out_digits() {
    let net = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let t = net.training.clone().unwrap();
    assert_eq!(t.data_fingerprint, d.fingerprint());
    let (train_idx, test_idx) = stratified_split(&d.labels, t.test_fraction, t.split_seed);
    assert_eq!(test_idx.len(), t.n_test);
    assert!(test_idx.len() >= 800);
    let acc = evaluate(&net, &d.subset(&test_idx), &Ideal, 1, 0)
        .unwrap()
        .accuracy;
    assert!(acc >= 0.92, "test accuracy {acc}");
    // The stored numbers are the ones a fresh evaluation gives.
    assert_eq!(acc, t.test_accuracy);
    let train_acc = evaluate(&net, &d.subset(&train_idx), &Ideal, 1, 0)
        .unwrap()
        .accuracy;
    assert_eq!(train_acc, t.train_accuracy);
}

#[test]
fn histogram_counts_every_chunk_read() {
    let net = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let d = d.subset(&(0..50).collect::<Vec<_>>());
    let h = level_histograms(&net, &d);
    let layout = net.layout();
    assert_eq!(h.len(), layout.layers.len());
    for (hist, &(layer, outputs, chunks)) in h.iter().zip(&layout.layers) {
        assert_eq!(hist.layer, layer);
        assert_eq!(hist.counts.len(), 33);
        assert_eq!(
            hist.counts.iter().sum::<u64>(),
            (50 * outputs * chunks) as u64
        );
    }
}

#[test]
fn save_load_round_trip_and_corrupt_model_rejected() {
    let net = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    net.save(&p).unwrap();
    assert_eq!(Network::load(&p).unwrap(), net);
    let text = std::fs::read_to_string(&p).unwrap();
    let bad = text.replacen(
        "\"weights\": [\n        \"",
        "\"weights\": [\n        \"zz",
        1,
    );
    assert_ne!(bad, text);
    std::fs::write(&p, bad).unwrap();
    let msg = Network::load(&p).unwrap_err().to_string();
    assert!(
        msg.contains("layer 0 row 0") && msg.contains("hex"),
        "{msg}"
    );
}

#[test]
fn training_is_deterministic_for_a_seed_whatever_the_thread_count() {
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let d = d.subset(&(0..d.len()).step_by(10).collect::<Vec<_>>());
    let cfg = TrainConfig {
        hidden: vec![48],
        epochs: 2,
        batch_size: 50,
        learning_rate: 0.005,
        seed: 3,
        split_seed: 1,
        test_fraction: 0.25,
        input_bits: 1,
        array_size: 32,
        augment_shift: 2,
        data_name: "subset".into(),
    };
    let run = |threads| {
        let mut net = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| train(&d, &cfg, |_, _| {}).unwrap());
        let t = net.training.as_mut().unwrap();
        t.train_seconds = 0.0;
        t.threads = 0;
        net
    };
    let a = run(1);
    assert_eq!(a, run(2));
    let t = a.training.as_ref().unwrap();
    assert_eq!((t.n_train, t.n_test), (300, 100));
    let mut other = cfg.clone();
    other.seed = 4;
    assert_ne!(train(&d, &other, |_, _| {}).unwrap().layers, a.layers);
}

fn tuning_config() -> TrainConfig {
    TrainConfig {
        hidden: vec![512, 512],
        epochs: 1,
        batch_size: 100,
        learning_rate: 0.0,
        seed: 1,
        split_seed: 1,
        test_fraction: 0.2,
        input_bits: 1,
        array_size: 32,
        augment_shift: 2,
        data_name: "mnist_4k.csv.gz".into(),
    }
}

#[test]
fn fine_tuning_without_learning_reproduces_the_init_model() {
    let net = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let tuning = Tuning {
        init: Some((net.clone(), "bnn_mnist.json".into())),
        neuron: None,
    };
    let tuned = train_with(&d, &tuning_config(), &tuning, |_, _| {}).unwrap();
    assert_eq!(tuned.layers, net.layers);
    assert_eq!(
        tuned.training.unwrap().init.as_deref(),
        Some("bnn_mnist.json")
    );
}

#[test]
fn hardware_aware_tuning_recovers_a_merged_level_map() {
    let net = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let d = d.subset(&(0..d.len()).step_by(4).collect::<Vec<_>>());
    let lut = Lut::from_file("tests/data/snn/lut_floor2.csv".as_ref()).unwrap();
    let mut cfg = tuning_config();
    cfg.epochs = 4;
    cfg.learning_rate = 0.001;
    let tuning = Tuning {
        init: Some((net.clone(), "bnn_mnist.json".into())),
        neuron: Some((AnyNeuron::Lut(lut.clone()), "lut:floor2".into())),
    };
    let tuned = train_with(&d, &cfg, &tuning, |_, _| {}).unwrap();
    let (_, test_idx) = stratified_split(&d.labels, cfg.test_fraction, cfg.split_seed);
    let test = d.subset(&test_idx);
    let before = evaluate(&net, &test, &lut, 1, 0).unwrap().accuracy;
    let after = evaluate(&tuned, &test, &lut, 1, 0).unwrap().accuracy;
    let t = tuned.training.unwrap();
    assert_eq!(t.neuron_test_accuracy, Some(after));
    assert_eq!(t.neuron, "lut:floor2");
    assert!(after > before + 0.05, "before {before}, after {after}");
}
