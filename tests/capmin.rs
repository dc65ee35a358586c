//! CapMin: mapping properties, the capacitor against its closed form, the DP against exhaustive
//! search, the histogram against a brute-force count, the decoder windows against spike times.

use neurospice::neuro::capmin::{
    Physics, Protection, best_within, capacitance_f, expected_error, most_frequent, nearest_map,
    set_cost, windows,
};
use neurospice::stats::normal_cdf;
use proptest::prelude::*;

fn kept_strategy(n: u32) -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::btree_set(0..=n, 1..=(n as usize + 1))
        .prop_map(|s| s.into_iter().collect::<Vec<u32>>())
}

proptest! {
    #[test]
    fn kept_levels_map_to_themselves_and_others_to_the_nearest(kept in kept_strategy(32)) {
        let lut = nearest_map(&kept, 32).unwrap();
        for &k in &kept {
            prop_assert_eq!(lut.mapped[k as usize], k);
        }
        for m in 0..=32u32 {
            let got = lut.mapped[m as usize];
            prop_assert!(kept.contains(&got));
            let dmin = kept.iter().map(|k| k.abs_diff(m)).min().unwrap();
            prop_assert_eq!(got.abs_diff(m), dmin);
            // ties go to the higher kept level
            if kept.contains(&(m + dmin)) {
                prop_assert_eq!(got, m + dmin);
            }
        }
    }

    #[test]
    fn capacitance_is_the_closed_form_worst_pair(kept in kept_strategy(32)) {
        let phys = Physics::default();
        let nz: Vec<f64> = kept.iter().filter(|&&k| k > 0).map(|&k| k as f64).collect();
        prop_assume!(!nz.is_empty());
        // C >= T_clk I_u a b / (V_th (b - a)), and the first spike at least one period in
        let mut c = phys.t_clk_s * phys.i_unit_a * nz[0] / phys.v_th_v;
        for w in nz.windows(2) {
            c = c.max(phys.t_clk_s * phys.i_unit_a * w[0] * w[1] / (phys.v_th_v * (w[1] - w[0])));
        }
        let got = capacitance_f(&kept, Protection::NONE, &phys);
        prop_assert!((got - c).abs() <= 1e-12 * c, "{} vs {}", got, c);
        // at that C the nominal spike times of kept neighbours are >= T_clk apart
        let t = |k: f64| phys.spike_time_s(got, k);
        for w in nz.windows(2) {
            prop_assert!(t(w[0]) - t(w[1]) >= phys.t_clk_s * (1.0 - 1e-9));
        }
    }

    #[test]
    fn dp_matches_exhaustive_search(freq in proptest::collection::vec(0u64..50, 11), budget in 1.0f64..120.0) {
        // Exhaustive: every subset of 0..=10 with a non-zero level.
        let mut best: Option<f64> = None;
        for mask in 1u32..(1 << 11) {
            let kept: Vec<u32> = (0..11).filter(|i| mask & (1 << i) != 0).collect();
            if set_cost(&kept, Protection::NONE) > budget * (1.0 + 1e-9) {
                continue;
            }
            let e = expected_error(&kept, &freq);
            best = Some(best.map_or(e, |b: f64| b.min(e)));
        }
        let dp = best_within(&freq, budget, Protection::NONE);
        match (best, dp) {
            (None, None) => {}
            (Some(b), Some(kept)) => {
                prop_assert!(set_cost(&kept, Protection::NONE) <= budget * (1.0 + 1e-9));
                let e = expected_error(&kept, &freq);
                prop_assert!((e - b).abs() < 1e-9, "dp {} ({:?}) vs exhaustive {}", e, kept, b);
            }
            (b, d) => prop_assert!(false, "exhaustive {:?}, dp {:?}", b, d),
        }
    }
}

#[test]
fn most_frequent_keeps_the_top_k() {
    let freq = [1, 9, 3, 9, 0, 5];
    assert_eq!(most_frequent(&freq, 3), vec![1, 3, 5]);
    assert_eq!(most_frequent(&freq, 1), vec![1]);
}

#[test]
fn protected_cost_is_the_shifted_closed_form() {
    // sigma 3 %, E = 1 %: z = 2.326348 (tables), spread = 0.0697904.
    let p = Protection::new(0.03, 0.01).unwrap();
    assert!((p.spread - 0.069_790_4).abs() < 1e-6);
    let (a, b) = (8.0 * (1.0 + p.spread), 12.0 * (1.0 - p.spread));
    let c = set_cost(&[0, 8, 12], p);
    assert!((c - a * b / (b - a)).abs() < 1e-9);
    // 16 and 17 cannot be protected at this sigma: 16·1.0698 > 17·0.9302
    assert!(set_cost(&[16, 17], p).is_infinite());
}

#[test]
fn nominal_windows_decode_every_kept_level() {
    let phys = Physics::default();
    let kept = [0u32, 3, 7, 12, 20, 32];
    let c = capacitance_f(&kept, Protection::NONE, &phys);
    let w = windows(&kept, c, Protection::NONE, &phys).unwrap();
    for &k in &kept[1..] {
        let t = phys.spike_time_s(c, k as f64);
        assert_eq!(w.decode(Some(t)), k, "level {k} at {t:e} s");
    }
    assert_eq!(w.decode(None), 0);
    // the confusion at sigma 0 is a delta at the decoder's reading of each level
    let p = w.confusion(32, 0.0, &phys);
    for (m, row) in p.iter().enumerate().skip(1) {
        let t = phys.spike_time_s(c, m as f64);
        let d = w.decode(Some(t)) as usize;
        assert!((row[d] - 1.0).abs() < 1e-12, "level {m}");
    }
}

#[test]
fn protected_windows_meet_the_error_target() {
    // Independent check of the confusion: the probability that level a lands in a
    // neighbour's window is at most E per side, computed from the window edges directly.
    let phys = Physics::default();
    let (sigma, e) = (0.05, 0.01);
    let p = Protection::new(sigma, e).unwrap();
    let kept = [0u32, 2, 4, 8, 16, 32];
    let c = capacitance_f(&kept, p, &phys);
    assert!(c.is_finite());
    let w = windows(&kept, c, p, &phys).unwrap();
    let conf = w.confusion(32, sigma, &phys);
    for &k in &kept[1..] {
        let miss = 1.0 - conf[k as usize][k as usize];
        assert!(miss <= 2.0 * e + 1e-6, "level {k}: {miss}");
    }
    // the unprotected set at the smaller C misreads more at the same sigma
    let c0 = capacitance_f(&kept, Protection::NONE, &phys);
    let w0 = windows(&kept, c0, Protection::NONE, &phys).unwrap();
    let conf0 = w0.confusion(32, sigma, &phys);
    let miss = |q: &Vec<Vec<f64>>| -> f64 {
        kept[1..]
            .iter()
            .map(|&k| 1.0 - q[k as usize][k as usize])
            .sum()
    };
    assert!(miss(&conf0) > miss(&conf));
    // one row checked against Φ by hand: level 32 reads as 16 when 32(1+ε) < x(edge)
    let x_edge = c * phys.v_th_v / (phys.i_unit_a * w.edges_s[3]);
    let want = normal_cdf((x_edge / 32.0 - 1.0) / sigma);
    assert!((conf[32][16] - want).abs() < 1e-9);
}
