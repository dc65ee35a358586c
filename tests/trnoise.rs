//! `TRNOISE` transient-noise sources (issue 16): the white-noise samples' statistics, the
//! linear interpolation between them, reproducibility and independence by seed and run, and
//! the variance of RC-filtered noise against its analytic value.

use neurospice::analysis::{self, Save};
use neurospice::circuit::Circuit;
use neurospice::devices::waveform::noise_sample;
use neurospice::error::Error;
use neurospice::mc::rng::{RunSampler, Variation};
use neurospice::netlist::{self, ElabOptions, Netlist, lexer::lex_str};

fn circuit(text: &str, sampler: Option<&mut RunSampler>) -> Result<Circuit, Error> {
    let nl = Netlist::parse(&lex_str(text, "noise.cir")?)?;
    netlist::elaborate(
        &nl,
        ElabOptions {
            overrides: vec![],
            random: sampler.map(|s| s as &mut dyn netlist::Sampler),
        },
    )
}

/// (time, v(a)) of a transient of `text`.
fn wave(text: &str, sampler: Option<&mut RunSampler>, node: &str) -> (Vec<f64>, Vec<f64>) {
    let c = circuit(text, sampler).expect("elaborate");
    let r = analysis::run(&c, &Save::All).expect("run");
    let t = r.tran.expect("tran");
    (
        t.column("time").expect("time"),
        t.column(&format!("v({node})")).expect("node"),
    )
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (
        m,
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0),
    )
}

/// The value of the waveform at `t` by linear interpolation of the stored points.
fn at(ts: &[f64], v: &[f64], t: f64) -> f64 {
    let k = ts.partition_point(|&x| x <= t).clamp(1, ts.len() - 1);
    let (t0, t1) = (ts[k - 1], ts[k]);
    v[k - 1] + (v[k] - v[k - 1]) * (t - t0) / (t1 - t0)
}

/// The stream itself: mean 0, variance 1, no correlation between neighbouring samples or
/// between streams of different keys (4 standard errors each), sample 0 is 0.
#[test]
fn noise_samples_are_standard_normal_and_independent() {
    let n = 40_000u64;
    let x: Vec<f64> = (1..=n).map(|k| noise_sample(11, k)).collect();
    let y: Vec<f64> = (1..=n).map(|k| noise_sample(12, k)).collect();
    let (m, v) = mean_var(&x);
    let se = 1.0 / (n as f64).sqrt();
    assert!(m.abs() < 4.0 * se, "mean {m}");
    assert!((v - 1.0).abs() < 4.0 * (2.0f64).sqrt() * se, "variance {v}");
    let lag1 = x.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / (n - 1) as f64;
    let cross = x.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>() / n as f64;
    assert!(lag1.abs() < 4.0 * se, "lag-1 correlation {lag1}");
    assert!(cross.abs() < 4.0 * se, "correlation between keys {cross}");
    assert_eq!(noise_sample(11, 0), 0.0);
    assert_eq!(noise_sample(11, 5), noise_sample(11, 5));
}

const DECK: &str = "noise\nV1 a 0 DC 0.25 TRNOISE(20m 1n 0 0)\nR1 a b 1k\nC1 b 0 2p\n\
                    .tran 0.1n 4u\n.end\n";

/// In a circuit: at the sample times the source is DC + NA·sample, halfway between two
/// samples their mean (linear interpolation); the sample variance is NA², the midpoint
/// variance NA²/2, the operating point noise-free; every sample time is a time point.
#[test]
fn source_is_dc_plus_interpolated_samples() {
    let (ts, v) = wave(DECK, None, "a");
    assert_eq!(v[0], 0.25, "the operating point is noise-free");
    let na = 20e-3;
    let nt = 1e-9;
    let key = neurospice::seed::site("v1");
    let mut on = Vec::new();
    let mut mid = Vec::new();
    for k in 1..4000u64 {
        let tk = k as f64 * nt;
        let i = ts.partition_point(|&x| x < tk - 1e-15);
        assert!(
            (ts[i] - tk).abs() < 1e-15,
            "sample time {tk} is a time point"
        );
        assert!((v[i] - 0.25 - na * noise_sample(key, k)).abs() < 1e-12);
        on.push(v[i] - 0.25);
        let m = at(&ts, &v, tk + 0.5 * nt) - 0.25;
        let want = 0.5 * na * (noise_sample(key, k) + noise_sample(key, k + 1));
        assert!((m - want).abs() < 1e-9, "midpoint {m} vs {want}");
        mid.push(m);
    }
    let (m0, v0) = mean_var(&on);
    let (_, v1) = mean_var(&mid);
    let n = on.len() as f64;
    assert!(m0.abs() < 4.0 * na / n.sqrt(), "mean {m0}");
    let tol = 4.0 * (2.0 / n).sqrt();
    assert!((v0 / (na * na) - 1.0).abs() < tol, "variance {v0}");
    assert!(
        (v1 / (0.5 * na * na) - 1.0).abs() < tol,
        "midpoint variance {v1}"
    );
}

/// Monte Carlo runs: the same (seed, run) gives the same noise bit for bit, another run or
/// seed independent noise; the noise is drawn whatever the variation setting.
#[test]
fn noise_is_reproducible_by_seed_and_independent_between_runs() {
    let mut s = RunSampler::nominal();
    let (_, q) = wave(DECK, Some(&mut s), "a");
    assert!(
        q.iter().all(|&v| v == 0.25),
        "the nominal sampler silences the noise"
    );
    let mut s = RunSampler::new(7, 1, Variation::None);
    let (_, a) = wave(DECK, Some(&mut s), "a");
    let mut s = RunSampler::new(7, 1, Variation::Local);
    let (_, b) = wave(DECK, Some(&mut s), "a");
    assert_eq!(a, b, "same seed and run, same noise");
    for (seed, run) in [(7, 2), (8, 1)] {
        let mut s = RunSampler::new(seed, run, Variation::None);
        let (_, c) = wave(DECK, Some(&mut s), "a");
        assert_eq!(a.len(), c.len());
        let corr = a
            .iter()
            .zip(&c)
            .map(|(x, y)| (x - 0.25) * (y - 0.25))
            .sum::<f64>()
            / (a.len() as f64 * 4e-4);
        assert!(
            corr.abs() < 0.1,
            "seed {seed} run {run}: correlation {corr}"
        );
        assert_ne!(a, c);
    }
}

/// Noise of amplitude NA sampled every T, linear between samples, has the (phase-averaged)
/// spectrum NA²·T·sinc⁴(πfT); through an RC low-pass of time constant τ its variance is
/// NA²·T·∫ sinc⁴(πfT)/(1+(2πfτ)²) df (two-sided). The time average of v(b)² over a long
/// transient must match it (the white-noise approximation NA²T/(2τ) differs by 14% at τ = 2T,
/// a sample-and-hold source by 9%).
#[test]
fn rc_filtered_noise_variance_matches_the_analytic_value() {
    let (na, t, tau) = (0.1f64, 1e-9f64, 2e-9f64);
    let stop = 40_000.0 * t;
    let deck = format!(
        "rc noise\nV1 a 0 TRNOISE({na} {t} 0 0)\nR1 a b 1k\nC1 b 0 {}\n.tran {} {stop}\n.end\n",
        tau / 1e3,
        t / 4.0
    );
    let (ts, v) = wave(&deck, None, "b");
    let skip = 20.0 * tau;
    let (mut s2, mut dur) = (0.0, 0.0);
    for k in 1..ts.len() {
        if ts[k - 1] < skip {
            continue;
        }
        let h = ts[k] - ts[k - 1];
        // exact integral of the square of a linear segment
        s2 += h * (v[k - 1].powi(2) + v[k - 1] * v[k] + v[k].powi(2)) / 3.0;
        dur += h;
    }
    let measured = s2 / dur;
    let tau_eff = tau;
    let pi = std::f64::consts::PI;
    let (df, fmax) = (1e5, 5e10);
    let mut integral = 0.0;
    let mut f = 0.5 * df;
    while f < fmax {
        let x = pi * f * t;
        let sinc = x.sin() / x;
        integral += 2.0 * df * sinc.powi(4) / (1.0 + (2.0 * pi * f * tau_eff).powi(2));
        f += df;
    }
    let analytic = na * na * t * integral;
    let white = na * na * t / (2.0 * tau_eff);
    assert!(
        (white / analytic - 1.0).abs() > 0.1,
        "the test discriminates"
    );
    // about 40000·T/(2τ) = 10,000 independent stretches: relative standard error ~1.5%
    assert!(
        (measured / analytic - 1.0).abs() < 0.06,
        "measured {measured:.4e}, analytic {analytic:.4e}"
    );
}

/// The parts ngspice has that this engine does not are refused, with the source named.
#[test]
fn unsupported_parts_and_bad_values_are_errors() {
    for (src, what) in [
        ("TRNOISE(1m 1n 1 1m)", "1/f"),
        ("TRNOISE(1m 1n 0 0 1m 1u 1u)", "telegraph"),
        ("TRNOISE(-1m 1n)", "NA"),
        ("TRNOISE(1m -1n)", "NT"),
        ("TRNOISE(1m)", "at least 2"),
    ] {
        let e = circuit(
            &format!("t\nV1 a 0 DC 0 {src}\nR1 a 0 1\n.tran 1n 10n\n.end\n"),
            None,
        )
        .expect_err(src);
        assert!(e.msg.contains(what), "{src}: {}", e.msg);
        assert_eq!(e.loc.map(|l| l.line), Some(2), "{src}");
    }
}
