//! K-bit weights (issue 18): the quantised forward pass equals an independent integer
//! computation, the model file carries `weight_bits` and the codes, binary files load as before.
//!
//! The reference decodes the model JSON itself (hex codes -> 2c - (2^K - 1)) and runs dense
//! i64 dot products, no chunks, no bit planes, no read-out, so it shares no code with the
//! network.

use neurospice::neuro::snn::data::{self, Dataset, PIXELS};
use neurospice::neuro::snn::model::{Layer, Network, Readout};
use neurospice::neuro::snn::neuron::Ideal;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One dense layer: inputs, outputs, weights (outputs x inputs, row-major), thresholds.
type DenseLayer = (usize, usize, Vec<i64>, Option<Vec<i64>>);

/// A dense integer network decoded from a model file's JSON text.
struct Dense {
    input_bits: u32,
    layers: Vec<DenseLayer>,
}

fn decode(text: &str) -> Dense {
    let j: serde_json::Value = serde_json::from_str(text).unwrap();
    let k = j["weight_bits"].as_u64().unwrap_or(1) as u32;
    let m = (1i64 << k) - 1;
    let layers = j["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let inputs = l["inputs"].as_u64().unwrap() as usize;
            let outputs = l["outputs"].as_u64().unwrap() as usize;
            let mut w = Vec::with_capacity(inputs * outputs);
            if k == 1 {
                for row in l["weights"].as_array().unwrap() {
                    let hex = row.as_str().unwrap();
                    for i in 0..inputs {
                        let byte =
                            u8::from_str_radix(&hex[2 * (i / 8)..2 * (i / 8) + 2], 16).unwrap();
                        w.push(if byte >> (i % 8) & 1 == 1 { 1 } else { -1 });
                    }
                }
            } else {
                let d = k.div_ceil(4) as usize;
                for row in l["codes"].as_array().unwrap() {
                    let hex = row.as_str().unwrap();
                    for i in 0..inputs {
                        let c = i64::from_str_radix(&hex[d * i..d * (i + 1)], 16).unwrap();
                        w.push(2 * c - m);
                    }
                }
            }
            let th = l["thresholds"]
                .as_array()
                .map(|t| t.iter().map(|v| v.as_i64().unwrap()).collect());
            (inputs, outputs, w, th)
        })
        .collect();
    Dense {
        input_bits: j["input_bits"].as_u64().unwrap() as u32,
        layers,
    }
}

/// All MACs of the dense reference for one image.
fn reference(net: &Dense, img: &[u8]) -> Vec<Vec<i64>> {
    let mut x: Vec<i64> = if net.input_bits == 1 {
        img.iter().map(|&p| if p >= 128 { 1 } else { -1 }).collect()
    } else {
        img.iter()
            .map(|&p| i64::from(p >> (8 - net.input_bits)))
            .collect()
    };
    let mut all = Vec::new();
    for (inputs, outputs, w, th) in &net.layers {
        let macs: Vec<i64> = (0..*outputs)
            .map(|j| (0..*inputs).map(|i| w[j * inputs + i] * x[i]).sum())
            .collect();
        if let Some(t) = th {
            x = macs
                .iter()
                .zip(t)
                .map(|(&m, &t)| if m >= t { 1 } else { -1 })
                .collect();
        }
        all.push(macs);
    }
    all
}

fn random_net(k: u32, input_bits: u32, array_size: usize, readout: Readout, seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let widths = [PIXELS, 67, 40, 10];
    let m = (1u32 << k) - 1;
    let layers = (0..3)
        .map(|l| {
            let (i, o) = (widths[l], widths[l + 1]);
            let codes: Vec<u8> = (0..i * o).map(|_| rng.random_range(0..=m) as u8).collect();
            // Thresholds near the typical MAC spread so both spike values occur.
            let spread = (m as i64) * if l == 0 && input_bits > 1 { 300 } else { 8 };
            let th = (l < 2).then(|| (0..o).map(|_| rng.random_range(-spread..=spread)).collect());
            Layer::from_codes(i, o, k, &codes, th)
        })
        .collect();
    Network {
        input_bits,
        array_size,
        readout,
        layers,
        training: None,
    }
}

fn digits() -> Dataset {
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    d.subset(&(0..d.len()).step_by(50).collect::<Vec<_>>())
}

fn check(net: &Network, d: &Dataset) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    net.save(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    let dense = decode(&text);
    assert_eq!(Network::load(&p).unwrap(), *net, "save/load round trip");
    for i in 0..d.len() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let got = net.forward(d.image(i), &Ideal, &(), &mut rng, &mut |_, _, _| {});
        assert_eq!(got, reference(&dense, d.image(i)), "image {i}");
    }
}

#[test]
fn quantised_forward_pass_equals_an_independent_integer_computation() {
    let d = digits();
    let mut seed = 10;
    for k in 1..=8 {
        for (input_bits, array_size, readout) in [
            (1, 32, Readout::Xnor),
            (1, 32, Readout::And),
            (1, 7, Readout::And),
            (4, 50, Readout::Xnor),
        ] {
            seed += 1;
            check(&random_net(k, input_bits, array_size, readout, seed), &d);
        }
    }
}

#[test]
fn committed_multi_bit_model_equals_the_integer_reference() {
    let text = std::fs::read_to_string("tests/data/snn/w4_small.json").unwrap();
    let net = Network::load("tests/data/snn/w4_small.json".as_ref()).unwrap();
    assert_eq!(net.weight_bits(), 4);
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["weight_bits"], 4);
    let dense = decode(&text);
    let d = digits();
    for readout in [Readout::Xnor, Readout::And] {
        let mut net = net.clone();
        net.readout = readout;
        for i in 0..d.len() {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let got = net.forward(d.image(i), &Ideal, &(), &mut rng, &mut |_, _, _| {});
            assert_eq!(got, reference(&dense, d.image(i)), "image {i}");
        }
    }
}

#[test]
fn binary_model_files_keep_their_format() {
    // The 4k fixture was written before weight_bits existed: it loads as K = 1 and saving it
    // writes sign-bit rows again, plus the two new top-level fields.
    let text = std::fs::read_to_string("models/bnn_mnist.json").unwrap();
    assert!(!text.contains("weight_bits"));
    let net = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    assert_eq!(net.weight_bits(), 1);
    assert_eq!(net.readout, Readout::Xnor);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    net.save(&p).unwrap();
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let old: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["weight_bits"], 1);
    assert_eq!(j["layers"], old["layers"]);
}

#[test]
fn malformed_codes_are_rejected_with_their_place() {
    let net = random_net(3, 1, 32, Readout::Xnor, 5);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    net.save(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    // 3-bit codes are one hex digit 0..7; an 8 is out of range.
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let row0 = j["layers"][1]["codes"][0].as_str().unwrap().to_string();
    let bad_row = format!("{}8{}", &row0[..5], &row0[6..]);
    let bad = text.replacen(&row0, &bad_row, 1);
    std::fs::write(&p, bad).unwrap();
    let msg = Network::load(&p).unwrap_err().to_string();
    assert!(
        msg.contains("layer 1 row 0 input 5") && msg.contains("0..=7"),
        "{msg}"
    );
    // weight_bits out of range.
    std::fs::write(
        &p,
        text.replacen("\"weight_bits\": 3", "\"weight_bits\": 9", 1),
    )
    .unwrap();
    let msg = Network::load(&p).unwrap_err().to_string();
    assert!(
        msg.contains("weight_bits") && msg.contains("1..=8"),
        "{msg}"
    );
    // A K-bit model with sign-bit rows instead of codes.
    std::fs::write(&p, text.replacen("\"codes\"", "\"weights\"", 1)).unwrap();
    let msg = Network::load(&p).unwrap_err().to_string();
    assert!(msg.contains("layer 0") && msg.contains("codes"), "{msg}");
}
