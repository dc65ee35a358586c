//! CapMin-V from the circuit (issue 16): the per-level Monte Carlo of `chara` against the
//! analytic spread of an ideal IF membrane, and the spread carried into the clocked read-out.

use neurospice::netlist::{Netlist, lexer::lex_str};
use neurospice::neuro::chara::{CharaOptions, McSpread, characterise};
use neurospice::neuro::snn::neuron::Clocked;

/// An ideal IF membrane: the column current `level·iu·(1 + sc·z/√level)` (input cells, drawn
/// per run as a global random function) charges a capacitor whose mismatch model gives
/// sigma(dC/C) = 2 % (local, the neuron's own device). Spike at t = C·V_th/I, so the relative
/// spike-time spread is sc/√m from the cells (per read) and 2 % from the capacitor (device).
const BENCH: &str = "ideal IF with variation\n\
.param level=4 iu=10n sc=0.04\n\
.model cm c (ac=0.02 cunit=100f)\n\
Iin 0 mem {level*iu*(1 + sc*agauss(0, 1, 1)/sqrt(max(level, 1)))}\n\
C1 mem 0 100f cm\n\
Rl mem 0 1e12\n\
.ic v(mem)=0\n\
.tran 10n 8u\n.end\n";

#[test]
fn per_level_monte_carlo_splits_device_and_read_spread() {
    let nl = Netlist::parse(&lex_str(BENCH, "if.cir").unwrap()).unwrap();
    let runs = 400;
    let o = CharaOptions {
        neuron: "if".into(),
        param: "level".into(),
        levels: (0..=16).collect(),
        membrane: "mem".into(),
        v_th: 0.4,
        t_membrane: 100e-9,
        t_window: None,
        sigma_rel: None,
        sigma_note: None,
        mc: Some(McSpread { runs, seed: 3 }),
        set: vec![("sc".into(), 0.04)],
    };
    let t = characterise(&nl, "if.cir", &o).expect("chara");
    assert_eq!(t.spike_time_s[0], None);
    // relative standard error of a sigma from n runs: 1/sqrt(2(n-1)); the device part is a
    // difference of two variances, so allow more
    let se = 1.0 / (2.0 * (runs as f64 - 1.0)).sqrt();
    for m in [1usize, 4, 9, 16] {
        let nominal = t.spike_time_s[m].expect("fires");
        let ideal = 100e-15 * 0.4 / (m as f64 * 10e-9);
        assert!(
            (nominal / ideal - 1.0).abs() < 1e-3,
            "level {m}: {nominal} vs {ideal}"
        );
        let read = t.spike_time_read_sigma_s[m] / nominal;
        let want = 0.04 / (m as f64).sqrt();
        assert!(
            (read / want - 1.0).abs() < 4.0 * se,
            "level {m}: per-read spread {read} vs {want}"
        );
        let dev = t.spike_time_sigma_s[m] / nominal;
        let tol = 4.0 * se * (0.02f64.powi(2) + want.powi(2)) / 0.02f64.powi(2) * 0.5 + 0.1;
        assert!(
            (dev / 0.02 - 1.0).abs() < tol,
            "level {m}: device spread {dev} vs 0.02"
        );
    }
    // reproducible by seed
    let again = characterise(&nl, "if.cir", &o).expect("chara");
    assert_eq!(again.spike_time_sigma_s, t.spike_time_sigma_s);
}

/// A clocked design with a per-level spread: a level whose spike sits `d` periods from the
/// edge after it misreads with probability 1 - Φ(d/(σ·t)) under the per-read spread alone.
#[test]
fn clocked_read_spread_misreads_as_the_normal_tail() {
    // c = 10.5: level 1 spikes at 10.5 periods, 0.5 from either edge
    let mut d = Clocked {
        capacitance_units: 10.5,
        full_scale: 2,
        decoder: (0..11).map(|k| if k >= 10 { 1 } else { 2 }).collect(),
        silent_level: 0,
        sigma: 0.0,
        device_sigma: vec![],
        read_sigma: vec![0.0, 0.05, 0.0],
    };
    assert_eq!(d.report_time(1, 0.0), 1);
    // spread 0.05·10.5 = 0.525 periods: P(|dt| > 0.5) = 2(1 - Φ(0.952)) = 0.341
    use neurospice::neuro::snn::neuron::NeuronModel;
    use rand::SeedableRng;
    let layout = neurospice::neuro::snn::neuron::SiteLayout {
        array_size: 2,
        layers: vec![(0, 1, 1)],
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let dev = d.sample_devices(&layout, &mut rng);
    let n = 20_000;
    let wrong = (0..n)
        .filter(|_| d.read(&dev, 0, 1, 2, &mut rng) != 1)
        .count() as f64
        / n as f64;
    let want = 2.0 * (1.0 - neurospice::stats::normal_cdf(0.5 / 0.525));
    let se = (want * (1.0 - want) / n as f64).sqrt();
    assert!((wrong - want).abs() < 4.0 * se, "misread {wrong} vs {want}");
    d.read_sigma = vec![0.0, 2.0, 0.0];
    assert!(
        neurospice::neuro::snn::neuron::NeuronModel::check(&d, 2).is_err(),
        "a relative spread of 200 % is refused"
    );
}
