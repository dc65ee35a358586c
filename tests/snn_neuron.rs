//! Neuron models in inference: identity and delta models reproduce their deterministic
//! counterparts exactly, sampling follows the confusion matrix, results do not depend on the
//! thread count, and malformed neuron files are rejected.

use std::path::Path;

use neurospice::neuro::snn::data::{self, Dataset, stratified_split};
use neurospice::neuro::snn::model::{Network, evaluate};
use neurospice::neuro::snn::neuron::{
    AnyNeuron, CircuitCurve, CircuitNeuron, Confusion, CurrentSigma, Ideal, Lut, NeuronModel,
    SpecContext, level_from_current,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn net() -> Network {
    Network::load("models/bnn_mnist.json".as_ref()).unwrap()
}

/// A quarter of the held-out digits keeps debug-build tests quick.
fn digits(net: &Network) -> Dataset {
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let t = net.training.as_ref().unwrap();
    let (_, test) = stratified_split(&d.labels, t.test_fraction, t.split_seed);
    let some: Vec<usize> = test.iter().step_by(4).copied().collect();
    d.subset(&some)
}

fn fixture(name: &str) -> String {
    format!("tests/data/snn/{name}")
}

fn spec(s: &str) -> AnyNeuron {
    AnyNeuron::parse(
        s,
        SpecContext {
            array_size: 32,
            t_clk: Some(1e-11),
            sigma_scale: 1.0,
        },
    )
    .unwrap()
}

fn predictions<M: NeuronModel<Devices = ()>>(net: &Network, d: &Dataset, m: &M) -> Vec<usize> {
    (0..d.len())
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
            net.classify(d.image(i), m, &(), &mut rng, None)
        })
        .collect()
}

#[test]
fn identity_lut_reproduces_ideal_exactly() {
    let net = net();
    let d = digits(&net);
    let lut = Lut::from_file(Path::new(&fixture("lut_identity.csv"))).unwrap();
    assert_eq!(lut, Lut::identity(32));
    let ideal = evaluate(&net, &d, &Ideal, 1, 0).unwrap();
    let via_lut = evaluate(
        &net,
        &d,
        &spec(&format!("lut:{}", fixture("lut_identity.csv"))),
        3,
        5,
    )
    .unwrap();
    assert_eq!(ideal.accuracy, via_lut.accuracy);
    assert_eq!(via_lut.accuracy_std, 0.0);
    assert_eq!(predictions(&net, &d, &Ideal), predictions(&net, &d, &lut));
}

#[test]
fn delta_confusion_equals_its_lut() {
    let net = net();
    let d = digits(&net);
    let lut = Lut::from_file(Path::new(&fixture("lut_floor2.csv"))).unwrap();
    let conf = Confusion::from_file(Path::new(&fixture("confusion_floor2.csv"))).unwrap();
    let by_lut = predictions(&net, &d, &lut);
    assert_eq!(by_lut, predictions(&net, &d, &conf));
    // The map must matter, or the comparison above would be vacuous.
    assert_ne!(by_lut, predictions(&net, &d, &Ideal));
    let a = evaluate(&net, &d, &lut, 1, 0).unwrap();
    let b = evaluate(&net, &d, &conf, 4, 9).unwrap();
    assert_eq!(a.accuracy, b.accuracy);
}

#[test]
fn confusion_sampling_follows_the_matrix() {
    let conf = Confusion::from_file(Path::new(&fixture("confusion_tridiag.csv"))).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let layout = net().layout();
    conf.sample_devices(&layout, &mut rng);
    let n = 100_000;
    let mut counts = [0usize; 33];
    for _ in 0..n {
        counts[conf.read(&(), 0, 10, 32, &mut rng) as usize] += 1;
    }
    assert_eq!(counts[9] + counts[10] + counts[11], n);
    for (k, p) in [(9, 0.1), (10, 0.8), (11, 0.1)] {
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        let got = counts[k] as f64 / n as f64;
        assert!((got - p).abs() < 5.0 * sd, "level {k}: {got} vs {p}");
    }
    // Row 0 folds its left neighbour back onto 0.
    let zeros = (0..1000)
        .filter(|_| conf.read(&(), 0, 0, 32, &mut rng) == 0)
        .count();
    assert!(zeros > 850, "{zeros}");
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let net = net();
    let d = digits(&net);
    let conf = spec(&format!("confusion:{}", fixture("confusion_tridiag.csv")));
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| evaluate(&net, &d, &conf, 3, 11).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one.repeats, 3);
    assert!(one.per_repeat.iter().any(|&a| a != one.per_repeat[0]));
    let cs = spec("current-sigma:0.05");
    let run_cs = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| evaluate(&net, &d, &cs, 2, 3).unwrap())
    };
    assert_eq!(run_cs(1), run_cs(2));
}

#[test]
fn malformed_neuron_files_are_rejected() {
    let e = Confusion::from_file(Path::new(&fixture("confusion_unnormalised.csv"))).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("row 5") && msg.contains("1.5"), "{msg}");
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "level,mapped\n0,0\n1,1\n").unwrap();
    let ctx = SpecContext {
        array_size: 32,
        t_clk: None,
        sigma_scale: 1.0,
    };
    let msg = AnyNeuron::parse(&format!("lut:{}", short.display()), ctx)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("0..1") && msg.contains("0..32"), "{msg}");
    let gap = dir.path().join("gap.csv");
    std::fs::write(&gap, "0,0\n2,2\n").unwrap();
    let msg = Lut::from_file(&gap).unwrap_err().to_string();
    assert!(
        msg.contains("line 2") && msg.contains("expected 1"),
        "{msg}"
    );
    let msg = AnyNeuron::parse("circuit:tests/data/snn/circuit_ideal_if.json", ctx)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("--t-clk"), "{msg}");
    assert!(AnyNeuron::parse("sparkly", ctx).is_err());
    assert!(AnyNeuron::parse("current-sigma:-1", ctx).is_err());
}

/// Brute force: the level whose nominal spike time 1/m is nearest in time to 1/x; level 0
/// owns everything later than the window end at time 2 (in units of C*V_th/I_u).
fn nearest_in_time(x: f64, a: u32) -> u32 {
    if x <= 0.0 || 1.0 / x > 2.0 {
        return 0;
    }
    let t = 1.0 / x;
    (1..=a)
        .min_by(|&p, &q| {
            let dp = (t - 1.0 / p as f64).abs();
            let dq = (t - 1.0 / q as f64).abs();
            dp.total_cmp(&dq).then(q.cmp(&p))
        })
        .unwrap_or(0)
}

#[test]
fn analytic_if_readout_picks_the_nearest_spike_time() {
    for k in 0..40_000 {
        let x = k as f64 * 0.001 + 0.0003;
        assert_eq!(level_from_current(x, 32), nearest_in_time(x, 32), "x = {x}");
    }
    let net = net();
    let d = digits(&net);
    let zero = CurrentSigma {
        sigma: 0.0,
        array_size: 32,
    };
    assert_eq!(
        evaluate(&net, &d, &zero, 2, 1).unwrap().accuracy,
        evaluate(&net, &d, &Ideal, 1, 0).unwrap().accuracy
    );
}

fn if_curve() -> CircuitCurve {
    let text = std::fs::read_to_string(fixture("circuit_ideal_if.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn circuit_readout_resolves_levels_with_a_fine_clock_and_merges_with_a_coarse_one() {
    let src = Path::new("circuit_ideal_if.json");
    let fine = CircuitNeuron::new(if_curve(), 1e-11, 0.0, src).unwrap();
    for m in 0..=32u32 {
        let t = if_curve().spike_time_s[m as usize];
        assert_eq!(fine.decode_time(t), m);
    }
    let t_clk = 20e-9;
    let coarse = CircuitNeuron::new(if_curve(), t_clk, 0.0, src).unwrap();
    let curve = if_curve();
    let cycle = |m: usize| curve.spike_time_s[m].map(|t| (t / t_clk).floor() as i64);
    for m in 1..=32usize {
        let same: Vec<usize> = (1..=32).filter(|&k| cycle(k) == cycle(m)).collect();
        let expect = *same.iter().max().unwrap() as u32;
        assert_eq!(
            coarse.decode_time(curve.spike_time_s[m]),
            expect,
            "level {m}"
        );
    }
    assert_eq!(coarse.decode_time(None), 0);
    let net = net();
    let d = digits(&net);
    let exact = evaluate(&net, &d, &fine, 1, 0).unwrap();
    assert_eq!(
        exact.accuracy,
        evaluate(&net, &d, &Ideal, 1, 0).unwrap().accuracy
    );
}

#[test]
fn sense_amp_reports_one_bit_per_chunk_against_its_offset_reference() {
    let sa = match spec("sense-amp:tests/data/snn/sense_amp.json") {
        AnyNeuron::SenseAmp(s) => s,
        other => panic!("parsed as {other:?}"),
    };
    assert_eq!(
        (sa.offset_sigma, sa.reference, sa.array_size),
        (1.0, 16.0, 32)
    );
    let ideal = neurospice::neuro::snn::neuron::SenseAmp {
        offset_sigma: 0.0,
        ..sa
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let zero = vec![0.0; 4];
    let read = |l, len, rng: &mut ChaCha8Rng| ideal.read(&zero, 0, l, len, rng);
    assert_eq!(read(17, 32, &mut rng), 32);
    assert_eq!(read(16, 32, &mut rng), 0);
    // A partial chunk of 16 inputs compares with half its length.
    assert_eq!(read(9, 16, &mut rng), 16);
    assert_eq!(read(8, 16, &mut rng), 0);
    let layout = net().layout();
    let offsets = sa.sample_devices(&layout, &mut rng);
    assert_eq!(offsets.len(), layout.len());
    let n = offsets.len() as f64;
    let mean = offsets.iter().sum::<f64>() / n;
    let sd = (offsets.iter().map(|o| (o - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        mean.abs() < 5.0 / n.sqrt() && (sd - 1.0).abs() < 0.05,
        "{mean} {sd}"
    );
    let site = offsets.iter().position(|&o| o > 1.1 && o < 1.9).unwrap();
    assert_eq!(sa.read(&offsets, site, 17, 32, &mut rng), 0);
    assert_eq!(sa.read(&offsets, site, 18, 32, &mut rng), 32);
}
