//! Training: K-bit quantisation-aware training, hardware-aware fine-tuning that really moves
//! weights (and says how many), threshold refitting as its own option, determinism with the
//! neuron in the forward pass, and that nothing training chooses or fits reads the held-out
//! digits.

use neurospice::neuro::snn::data::{self, Dataset, PIXELS, stratified_split};
use neurospice::neuro::snn::model::{Network, Readout, evaluate};
use neurospice::neuro::snn::neuron::{AnyNeuron, LevelNoise, Lut};
use neurospice::neuro::snn::train::{TrainConfig, Tuning, train, train_with};

fn subset(step: usize) -> Dataset {
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    d.subset(&(0..d.len()).step_by(step).collect::<Vec<_>>())
}

fn small(weight_bits: u32) -> TrainConfig {
    TrainConfig {
        hidden: vec![64],
        epochs: 3,
        batch_size: 50,
        learning_rate: 0.005,
        seed: 2,
        test_fraction: 0.25,
        weight_bits,
        data_name: "subset".into(),
        ..TrainConfig::default()
    }
}

fn without_timing(mut net: Network) -> Network {
    if let Some(t) = net.training.as_mut() {
        t.train_seconds = 0.0;
        t.threads = 0;
    }
    net
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn multi_bit_training_learns_and_uses_its_codes() {
    let d = subset(1);
    let mut cfg = small(3);
    // The K-bit latents span the quantiser range [-1, 1]: a code moves every 2/M, so they
    // want a larger step than the signs of a binary network.
    cfg.learning_rate = 0.05;
    cfg.epochs = 5;
    let net = train(&d, &cfg, |_, _| {}).unwrap();
    assert_eq!(net.weight_bits(), 3);
    let t = net.training.as_ref().unwrap();
    assert_eq!(t.weight_bits, 3);
    assert!(t.test_accuracy.unwrap() > 0.8, "{:?}", t.test_accuracy);
    // Quantisation-aware training moves the codes: compare with the initial ones (same
    // seed, no epoch).
    let mut cfg0 = cfg.clone();
    cfg0.epochs = 0;
    let start = train(&d, &cfg0, |_, _| {}).unwrap();
    for (a, b) in start.layers.iter().zip(&net.layers) {
        let (ca, cb) = (a.codes(), b.codes());
        assert!(ca.iter().chain(&cb).all(|&c| c <= 7));
        let moved = ca.iter().zip(&cb).filter(|(x, y)| x != y).count();
        assert!(moved * 10 > ca.len(), "{moved} of {} codes moved", ca.len());
    }
}

#[test]
fn training_with_a_neuron_is_deterministic_whatever_the_thread_count() {
    let d = subset(10);
    let init = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let tuning = Tuning {
        init: Some((init, "bnn_mnist.json".into())),
        neuron: Some((
            AnyNeuron::LevelNoise(LevelNoise {
                sigma: 0.7,
                array_size: 32,
            }),
            "level-noise:0.7".into(),
        )),
        refit_thresholds: true,
        init_latent: Some(0.01),
    };
    let mut cfg = small(1);
    cfg.epochs = 1;
    cfg.readout = Readout::And;
    let run = |threads| {
        without_timing(in_pool(threads, || {
            train_with(&d, &cfg, &tuning, |_, _| {}).unwrap()
        }))
    };
    let a = run(1);
    assert_eq!(a, run(2));
    let t = a.training.as_ref().unwrap();
    assert!(t.bits_flipped.unwrap() > 0);
    assert_eq!(t.readout, Readout::And);
    // K-bit from scratch as well.
    let cfg = small(4);
    let run = |threads| without_timing(in_pool(threads, || train(&d, &cfg, |_, _| {}).unwrap()));
    assert_eq!(run(1), run(2));
}

#[test]
fn hardware_aware_training_flips_weights_and_refitting_is_separate() {
    let init = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let d = subset(1);
    let lut = Lut::from_file("tests/data/snn/lut_floor2.csv".as_ref()).unwrap();
    let cfg = TrainConfig {
        hidden: vec![512, 512],
        epochs: 5,
        batch_size: 100,
        learning_rate: 0.005,
        test_fraction: 0.2,
        data_name: "mnist_4k.csv.gz".into(),
        ..TrainConfig::default()
    };
    let tuning = |refit: bool| Tuning {
        init: Some((init.clone(), "bnn_mnist.json".into())),
        neuron: Some((AnyNeuron::Lut(lut.clone()), "lut:floor2".into())),
        refit_thresholds: refit,
        init_latent: None,
    };
    let (_, test_idx) = stratified_split(&d.labels, cfg.test_fraction, cfg.split_seed);
    let test = d.subset(&test_idx);
    let before = evaluate(&init, &test, &lut, 1, 0).unwrap().accuracy;

    // Weights only: thresholds stay the init model's, bits flip, the neuron's accuracy rises.
    let tuned = train_with(&d, &cfg, &tuning(false), |_, _| {}).unwrap();
    let t = tuned.training.clone().unwrap();
    let mut changed = Vec::new();
    let mut bits = 0;
    for (a, b) in init.layers.iter().zip(&tuned.layers) {
        assert_eq!(a.thresholds, b.thresholds);
        let n = (0..a.outputs)
            .flat_map(|j| (0..a.inputs).map(move |i| (j, i)))
            .filter(|&(j, i)| a.weight(j, i) != b.weight(j, i))
            .count();
        changed.push(n);
        bits += n;
    }
    assert_eq!(t.weights_changed.as_deref(), Some(&changed[..]));
    assert_eq!(t.bits_flipped, Some(bits));
    assert_eq!(t.thresholds_changed, Some(0));
    assert!(bits > 1000, "{bits} bits flipped");
    let after = evaluate(&tuned, &test, &lut, 1, 0).unwrap().accuracy;
    assert_eq!(t.neuron_test_accuracy, Some(after));
    assert!(after > before + 0.05, "before {before}, after {after}");

    // Refitting only (no epochs): no weight moves, thresholds do, accuracy under the neuron
    // rises too.
    let mut cfg0 = cfg.clone();
    cfg0.epochs = 0;
    let refit = train_with(&d, &cfg0, &tuning(true), |_, _| {}).unwrap();
    let t = refit.training.clone().unwrap();
    assert_eq!(t.bits_flipped, Some(0));
    assert!(t.thresholds_changed.unwrap() > 100);
    assert!(t.refit_thresholds);
    let refit_acc = evaluate(&refit, &test, &lut, 1, 0).unwrap().accuracy;
    assert!(
        refit_acc > before + 0.05,
        "before {before}, refit {refit_acc}"
    );
}

/// Replaces the pixels of the held-out digits by their photographic negative: anything that
/// reads a held-out image during training or fitting changes the result.
fn poison_held_out(d: &Dataset, fraction: f64, seed: u64) -> Dataset {
    let (_, held_out) = stratified_split(&d.labels, fraction, seed);
    let mut p = d.clone();
    for &i in &held_out {
        for v in &mut p.pixels[i * PIXELS..(i + 1) * PIXELS] {
            *v = 255 - *v;
        }
    }
    p
}

#[test]
fn held_out_digits_never_reach_training_fitting_or_refitting() {
    let d = subset(5);
    let cfg = small(2);
    let poisoned = poison_held_out(&d, cfg.test_fraction, cfg.split_seed);
    let strip = |net: Network| {
        let mut net = without_timing(net);
        net.training = None;
        net
    };
    let clean = train(&d, &cfg, |_, _| {}).unwrap();
    let dirty = train(&poisoned, &cfg, |_, _| {}).unwrap();
    // The poison is visible to whatever reads the held-out split ...
    assert_ne!(
        clean.training.as_ref().unwrap().test_accuracy,
        dirty.training.as_ref().unwrap().test_accuracy
    );
    // ... but not to training, batch-norm folding or threshold fitting.
    assert_eq!(strip(clean.clone()), strip(dirty));

    // Hardware-aware fine-tuning with threshold refitting, on the binary fixture.
    let init = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let lut = Lut::from_file("tests/data/snn/lut_floor2.csv".as_ref()).unwrap();
    let tuning = Tuning {
        init: Some((init, "bnn_mnist.json".into())),
        neuron: Some((AnyNeuron::Lut(lut), "lut:floor2".into())),
        refit_thresholds: true,
        init_latent: None,
    };
    let mut cfg = small(1);
    cfg.epochs = 1;
    let a = train_with(&d, &cfg, &tuning, |_, _| {}).unwrap();
    let b = train_with(&poisoned, &cfg, &tuning, |_, _| {}).unwrap();
    assert_eq!(strip(a), strip(b));
}

#[test]
fn nothing_held_out_still_writes_a_model_that_loads() {
    let d = subset(10);
    let mut cfg = small(1);
    cfg.test_fraction = 0.0;
    cfg.epochs = 1;
    let net = train(&d, &cfg, |_, _| {}).unwrap();
    let t = net.training.as_ref().unwrap();
    assert_eq!((t.n_test, t.test_accuracy), (0, None));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    net.save(&p).unwrap();
    assert_eq!(Network::load(&p).unwrap(), net);
}

#[test]
fn bad_tuning_options_are_errors() {
    let d = subset(20);
    let cfg = small(1);
    let refit_alone = Tuning {
        refit_thresholds: true,
        ..Tuning::default()
    };
    let msg = train_with(&d, &cfg, &refit_alone, |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(msg.contains("--init"), "{msg}");
    let mut bad = small(9);
    bad.epochs = 0;
    let msg = train(&d, &bad, |_, _| {}).unwrap_err().to_string();
    assert!(msg.contains("--weight-bits 9"), "{msg}");
}
