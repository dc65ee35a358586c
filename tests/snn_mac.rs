//! Chunked popcounts equal the direct ±1 MAC, for single rows (proptest) and for whole
//! networks against a plain dot-product reference.

use neurospice::neuro::snn::data::{self, Dataset, PIXELS};
use neurospice::neuro::snn::model::{Layer, Network, xnor_popcount};
use neurospice::neuro::snn::neuron::Ideal;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn pack(v: &[bool]) -> Vec<u64> {
    let mut w = vec![0u64; v.len().div_ceil(64)];
    for (i, &b) in v.iter().enumerate() {
        if b {
            w[i / 64] |= 1 << (i % 64);
        }
    }
    w
}

proptest! {
    #[test]
    fn chunk_levels_sum_to_the_direct_mac(
        pairs in proptest::collection::vec((any::<bool>(), any::<bool>()), 1..300),
        array_size in 1usize..80,
    ) {
        let x: Vec<bool> = pairs.iter().map(|p| p.0).collect();
        let w: Vec<bool> = pairs.iter().map(|p| p.1).collect();
        let direct: i64 = x
            .iter()
            .zip(&w)
            .map(|(&a, &b)| if a == b { 1 } else { -1 })
            .sum();
        let (xa, wa) = (pack(&x), pack(&w));
        let n = x.len();
        let mut mac = 0i64;
        for lo in (0..n).step_by(array_size) {
            let hi = (lo + array_size).min(n);
            let level = xnor_popcount(&xa, &wa, lo, hi);
            prop_assert!(level as usize <= hi - lo);
            mac += 2 * i64::from(level) - (hi - lo) as i64;
        }
        prop_assert_eq!(mac, direct);
    }
}

/// Independent reference: dense ±1 (or level) dot products, no chunks, no bit packing.
fn reference_class(net: &Network, img: &[u8]) -> usize {
    let mut x: Vec<i64> = if net.input_bits == 1 {
        img.iter().map(|&p| if p >= 128 { 1 } else { -1 }).collect()
    } else {
        img.iter()
            .map(|&p| i64::from(p >> (8 - net.input_bits)))
            .collect()
    };
    for layer in &net.layers {
        let macs: Vec<i64> = (0..layer.outputs)
            .map(|j| {
                (0..layer.inputs)
                    .map(|i| i64::from(layer.weight(j, i)) * x[i])
                    .sum()
            })
            .collect();
        match &layer.thresholds {
            Some(t) => {
                x = macs
                    .iter()
                    .zip(t)
                    .map(|(&m, &th)| if m >= th { 1 } else { -1 })
                    .collect()
            }
            None => {
                let best = macs.iter().max().copied().unwrap_or(0);
                return macs.iter().position(|&m| m == best).unwrap_or(0);
            }
        }
    }
    unreachable!("a network ends with an output layer")
}

fn random_net(input_bits: u32, array_size: usize, seed: u64) -> Network {
    use rand::RngExt;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let widths = [PIXELS, 70, 33, 10];
    let layers = (0..3)
        .map(|l| {
            let (i, o) = (widths[l], widths[l + 1]);
            let plus: Vec<bool> = (0..i * o).map(|_| rng.random_bool(0.5)).collect();
            let max = if l == 0 && input_bits > 1 { 40 } else { 6 };
            let th = (l < 2).then(|| (0..o).map(|_| rng.random_range(-max..=max)).collect());
            Layer::from_signs(i, o, &plus, th)
        })
        .collect();
    Network {
        input_bits,
        array_size,
        layers,
        training: None,
    }
}

fn some_digits() -> Dataset {
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let idx: Vec<usize> = (0..d.len()).step_by(40).collect();
    d.subset(&idx)
}

#[test]
fn network_forward_equals_dense_reference() {
    let digits = some_digits();
    let mut nets = vec![
        random_net(1, 32, 1),
        random_net(4, 32, 2),
        random_net(1, 7, 3),
        random_net(8, 50, 4),
    ];
    nets.push(Network::load("models/bnn_mnist.json".as_ref()).unwrap());
    for net in &nets {
        for i in 0..digits.len() {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let got = net.classify(digits.image(i), &Ideal, &(), &mut rng, None);
            assert_eq!(got, reference_class(net, digits.image(i)), "image {i}");
        }
    }
}
