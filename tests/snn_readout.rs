//! Crossbar read-out modes (issue 16): the `and` column's digitally corrected MAC equals the
//! XNOR MAC bit for bit, chunk by chunk (proptest against element-wise definitions) and on
//! every image of a data set through the committed models; per-column histograms of the level
//! against a brute-force count.

use neurospice::neuro::snn::data::{self, Dataset, PIXELS};
use neurospice::neuro::snn::model::{Layer, Network, Readout, column_histograms, level_histograms};
use neurospice::neuro::snn::neuron::Lut;
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
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
    fn chunk_levels_follow_their_definitions_and_both_correct_to_the_mac(
        k in 1u32..=8,
        raw in proptest::collection::vec((any::<bool>(), any::<u8>()), 1..200),
        array_size in 1usize..70,
    ) {
        let m = (1u32 << k) - 1;
        let x: Vec<bool> = raw.iter().map(|p| p.0).collect();
        let codes: Vec<u8> = raw.iter().map(|p| (u32::from(p.1) % (m + 1)) as u8).collect();
        let n = x.len();
        let layer = Layer::from_codes(n, 1, k, &codes, None);
        let xb = pack(&x);
        for lo in (0..n).step_by(array_size) {
            let hi = (lo + array_size).min(n);
            let (q, sums) = layer.chunk(Readout::Xnor, &xb, 0, lo, hi);
            let (p, sums_and) = layer.chunk(Readout::And, &xb, 0, lo, hi);
            prop_assert_eq!(sums, sums_and);
            // Element-wise definitions.
            let c = |i: usize| u32::from(codes[i]);
            let q_def: u32 = (lo..hi).map(|i| if x[i] { c(i) } else { m - c(i) }).sum();
            let p_def: u32 = (lo..hi).filter(|&i| x[i]).map(c).sum();
            prop_assert_eq!(q, q_def);
            prop_assert_eq!(p, p_def);
            prop_assert_eq!(sums.active as usize, (lo..hi).filter(|&i| x[i]).count());
            prop_assert_eq!(sums.code_sum, (lo..hi).map(c).sum::<u32>());
            prop_assert!(p <= sums.max_level(Readout::And));
            prop_assert!(q <= sums.max_level(Readout::Xnor));
            // The MAC with a = 2x - 1, w = 2c - M, from either level.
            let mac: i64 = (lo..hi)
                .map(|i| (if x[i] { 1 } else { -1 }) * (2 * i64::from(c(i)) - i64::from(m)))
                .sum();
            prop_assert_eq!(sums.mac(Readout::Xnor, q), mac);
            prop_assert_eq!(sums.mac(Readout::And, p), mac);
        }
    }
}

fn all_macs(net: &Network, readout: Readout, d: &Dataset) -> Vec<Vec<Vec<i64>>> {
    let mut net = net.clone();
    net.readout = readout;
    // The identity look-up table goes through the neuron read and the clamp, like any model.
    let identity = Lut::identity(net.full_scale());
    (0..d.len())
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            net.forward(d.image(i), &identity, &(), &mut rng, &mut |_, _, _| {})
        })
        .collect()
}

#[test]
fn and_readout_corrected_mac_equals_xnor_mac_on_every_image() {
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    // the full-MNIST model also on the 8,000 test digits its CapMin designs are reported on
    let test8k = data::load("data/mnist/test8k-images-idx3-ubyte.gz".as_ref(), None).unwrap();
    for (model, d) in [
        ("models/bnn_mnist.json", &d),
        ("tests/data/snn/w4_small.json", &d),
        ("models/mnist_binary.json", &d),
        ("models/mnist_binary.json", &test8k),
    ] {
        let net = Network::load(model.as_ref()).unwrap();
        let xnor = all_macs(&net, Readout::Xnor, d);
        let and = all_macs(&net, Readout::And, d);
        assert_eq!(xnor.len(), d.len());
        for (i, (a, b)) in xnor.iter().zip(&and).enumerate() {
            assert_eq!(a, b, "{model}: image {i}");
        }
    }
}

#[test]
fn and_levels_are_lower_and_bounded_by_each_columns_code_sum() {
    let net = Network::load("models/bnn_mnist.json".as_ref()).unwrap();
    let d = data::load("data/mnist_4k.csv.gz".as_ref(), None).unwrap();
    let d = d.subset(&(0..d.len()).step_by(20).collect::<Vec<_>>());
    let mut and = net.clone();
    and.readout = Readout::And;
    let hx = level_histograms(&net, &d);
    let ha = level_histograms(&and, &d);
    let cols = column_histograms(&and, &d).unwrap();
    let layout = net.layout();
    for ((x, a), (c, &(layer, outputs, chunks))) in
        hx.iter().zip(&ha).zip(cols.iter().zip(&layout.layers))
    {
        assert_eq!((a.layer, a.readout, c.layer), (layer, Readout::And, layer));
        let total = (d.len() * outputs * chunks) as u64;
        assert_eq!(x.counts.iter().sum::<u64>(), total);
        assert_eq!(a.counts.iter().sum::<u64>(), total);
        // The per-column histograms add up to the layer's.
        let mut sum = vec![0u64; c.levels];
        for col in 0..outputs * chunks {
            let h = c.column(col);
            assert_eq!(h.iter().sum::<u64>(), d.len() as u64);
            let top = h.iter().rposition(|&n| n > 0).unwrap_or(0) as u32;
            assert!(top <= c.max_level[col], "column {col}");
            for (s, v) in sum.iter_mut().zip(h) {
                *s += v;
            }
        }
        assert_eq!(sum, a.counts);
        let mean = |h: &[u64]| {
            h.iter()
                .enumerate()
                .map(|(m, &n)| m as f64 * n as f64)
                .sum::<f64>()
                / h.iter().sum::<u64>() as f64
        };
        // Single-ended columns conduct only for x = 1 and w = +1: far below the XNOR centre.
        assert!(mean(&a.counts) < mean(&x.counts) - 4.0, "layer {layer}");
    }
}

#[test]
fn column_histograms_equal_a_brute_force_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let widths = [PIXELS, 40, 10];
    let k = 2;
    let mut codes = Vec::new();
    let mut layers = Vec::new();
    for l in 0..2 {
        let (i, o) = (widths[l], widths[l + 1]);
        let c: Vec<u8> = (0..i * o).map(|_| rng.random_range(0..4u8)).collect();
        let th = (l == 0).then(|| (0..o).map(|_| rng.random_range(-30i64..30)).collect());
        layers.push(Layer::from_codes(i, o, k, &c, th));
        codes.push(c);
    }
    let net = Network {
        input_bits: 1,
        array_size: 20,
        readout: Readout::And,
        layers,
        training: None,
    };
    let d = Dataset {
        pixels: (0..12 * PIXELS).map(|_| rng.random::<u8>()).collect(),
        labels: (0..12).map(|i| (i % 10) as u8).collect(),
    };
    let cols = column_histograms(&net, &d).unwrap();
    let levels = 20 * 3 + 1;
    let mut want: Vec<Vec<u64>> = cols.iter().map(|c| vec![0; c.counts.len()]).collect();
    for img in 0..d.len() {
        let mut x: Vec<bool> = d.image(img).iter().map(|&p| p >= 128).collect();
        for l in 0..2 {
            let (ni, no) = (widths[l], widths[l + 1]);
            let chunks = ni.div_ceil(20);
            let mut next = Vec::new();
            for j in 0..no {
                let mut mac = 0i64;
                for c in 0..chunks {
                    let (lo, hi) = (c * 20, (c * 20 + 20).min(ni));
                    let p: usize = (lo..hi)
                        .filter(|&i| x[i])
                        .map(|i| usize::from(codes[l][j * ni + i]))
                        .sum();
                    want[l][(j * chunks + c) * levels + p] += 1;
                    mac += (lo..hi)
                        .map(|i| {
                            (if x[i] { 1 } else { -1 }) * (2 * i64::from(codes[l][j * ni + i]) - 3)
                        })
                        .sum::<i64>();
                }
                next.push(mac >= net.layers[l].thresholds.as_ref().map_or(0, |t| t[j]));
            }
            x = next;
        }
    }
    for (l, c) in cols.iter().enumerate() {
        assert_eq!(c.levels, levels);
        assert_eq!(c.counts, want[l], "layer {l}");
        let chunks = c.chunks;
        for (s, &ml) in c.max_level.iter().enumerate() {
            let (j, ch) = (s / chunks, s % chunks);
            let ni = widths[l];
            let (lo, hi) = (ch * 20, (ch * 20 + 20).min(ni));
            let sum: u32 = (lo..hi).map(|i| u32::from(codes[l][j * ni + i])).sum();
            assert_eq!(ml, sum);
        }
    }
}

#[test]
fn capmin_hist_follows_the_readout_and_writes_per_column_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let run = |readout: &str| {
        let layers = dir.path().join(format!("{readout}.csv"));
        let cols = dir.path().join(format!("{readout}_cols.csv"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_neurospice"))
            .args(["capmin", "hist", "--model", "models/bnn_mnist.json"])
            .args(["--data", "data/mnist_4k.csv.gz", "--readout", readout, "-o"])
            .arg(&layers)
            .arg("--per-column")
            .arg(&cols)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
        (read(&layers), read(&cols))
    };
    // Layer histogram from the per-column CSV must equal the layer CSV.
    let check = |layers: &str, cols: &str| -> Vec<u64> {
        let mut from_cols = std::collections::BTreeMap::<(String, usize), u64>::new();
        for line in cols.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (max_level, level): (usize, usize) = (f[4].parse().unwrap(), f[5].parse().unwrap());
            assert!(level <= max_level, "{line}");
            *from_cols.entry((f[0].to_string(), level)).or_default() +=
                f[6].parse::<u64>().unwrap();
        }
        let mut all = vec![0u64; 33];
        for line in layers.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (level, n): (usize, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            if f[0] == "all" {
                all[level] = n;
            } else {
                assert_eq!(
                    from_cols
                        .get(&(f[0].to_string(), level))
                        .copied()
                        .unwrap_or(0),
                    n
                );
            }
        }
        all
    };
    let (lx, cx) = run("xnor");
    let (la, ca) = run("and");
    let (hx, ha) = (check(&lx, &cx), check(&la, &ca));
    assert_eq!(hx.iter().sum::<u64>(), ha.iter().sum::<u64>());
    // and: zero is the most frequent level (many chunks have no active +1 cell); xnor peaks
    // near the middle of the chunk.
    let argmax = |h: &[u64]| (0..h.len()).max_by_key(|&m| h[m]).unwrap();
    assert!(argmax(&hx) >= 10, "{hx:?}");
    assert!(argmax(&ha) <= 3, "{ha:?}");
}
