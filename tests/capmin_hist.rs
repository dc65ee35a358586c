//! `capmin hist` against a brute-force count: an independent ±1 forward pass of a small random
//! network, counting the matching signs of every 32-input chunk.

use neurospice::neuro::capmin::{accumulate, hist_csv};
use neurospice::neuro::snn::data::Dataset;
use neurospice::neuro::snn::model::{Layer, Network, level_histograms};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PIXELS: usize = 784;

#[test]
fn histogram_equals_brute_force_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let sizes = [PIXELS, 70, 45, 10];
    let mut signs: Vec<Vec<bool>> = Vec::new();
    let mut layers = Vec::new();
    for l in 0..3 {
        let (i, o) = (sizes[l], sizes[l + 1]);
        let s: Vec<bool> = (0..i * o).map(|_| rng.random::<bool>()).collect();
        let th = (l < 2).then(|| {
            (0..o)
                .map(|_| rng.random_range(-8i64..8))
                .collect::<Vec<_>>()
        });
        layers.push(Layer::from_signs(i, o, &s, th.clone()));
        signs.push(s);
    }
    let net = Network {
        input_bits: 1,
        array_size: 32,
        layers,
        training: None,
    };
    let n_img = 25;
    let data = Dataset {
        pixels: (0..n_img * PIXELS).map(|_| rng.random::<u8>()).collect(),
        labels: (0..n_img).map(|i| (i % 10) as u8).collect(),
    };

    // brute force
    let mut want = vec![vec![0u64; 33]; 3];
    for img in 0..n_img {
        let mut x: Vec<i32> = data.pixels[img * PIXELS..(img + 1) * PIXELS]
            .iter()
            .map(|&p| if p >= 128 { 1 } else { -1 })
            .collect();
        for l in 0..3 {
            let (ni, no) = (sizes[l], sizes[l + 1]);
            let mut next = Vec::new();
            for j in 0..no {
                let w = |i: usize| if signs[l][j * ni + i] { 1 } else { -1 };
                let mut mac = 0i64;
                for lo in (0..ni).step_by(32) {
                    let level = (lo..(lo + 32).min(ni)).filter(|&i| x[i] == w(i)).count();
                    want[l][level] += 1;
                    mac += (lo..(lo + 32).min(ni))
                        .map(|i| i64::from(x[i] * w(i)))
                        .sum::<i64>();
                }
                if let Some(t) = &net.layers[l].thresholds {
                    next.push(if mac >= t[j] { 1 } else { -1 });
                }
            }
            x = next;
        }
    }
    let h = level_histograms(&net, &data);
    assert_eq!(h.len(), 3);
    for l in 0..3 {
        assert_eq!(h[l].counts, want[l], "layer {l}");
    }
    let all: Vec<u64> = (0..33).map(|m| want.iter().map(|w| w[m]).sum()).collect();
    assert_eq!(accumulate(&h, 32), all);
    let csv = hist_csv(&h, 32);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "layer,level,count");
    assert_eq!(rows.len(), 1 + 4 * 33);
    assert_eq!(rows[1 + 2 * 33 + 5], format!("2,5,{}", want[2][5]));
    assert_eq!(rows[1 + 3 * 33 + 16], format!("all,16,{}", all[16]));
}
