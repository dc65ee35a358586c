//! The sky130 `tt_mm` mismatch draws read directly from the devices, against ngspice-39's.
//!
//! `tests/golden_mc/sky130_mm_draws.cir` holds 20 copies of a probe subcircuit with one
//! instance of every device kind and geometry of interest (the nine devices of
//! `netlists/sky130_cm_neuron_mm.cir` first, then nf = 2, `mult=2`, `m=3`, lvt and hvt
//! devices); `tests/golden_mc/make_sky130_mm_draws.py` ran it in ngspice-39 with seeds 1..40 and
//! recorded every instance's `delvto` (`show m : delvto`), the one parameter the library's mm
//! section perturbs for these devices. Here neurospice elaborates the same deck with its Monte
//! Carlo sampler and the same statistics are compared: each device's mean and spread (the
//! library's Pelgrom formula with its geometry factors, `mult` in it and the X line's `m` not),
//! the independence of the draws of two devices of one copy (one draw per instance, none
//! shared), and the normality of the standardised draws.
use neurospice::devices::Device;
use neurospice::mc::rng::{RunSampler, Variation};
use neurospice::netlist::{self, ElabOptions, Netlist};
use neurospice::stats::{ks_two_sample, normal_quantile, summarize};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn parse_file(rel: &str) -> Netlist {
    let lexed = netlist::lexer::lex_file(&root().join(rel)).unwrap();
    Netlist::parse(&lexed).unwrap()
}

/// One sample of a device's delvto: (run or seed, copy) and the value.
type Draws = BTreeMap<String, BTreeMap<(u64, u64), f64>>;

/// delvto of every BSIM4 instance of the probe deck, by device and (run, copy), for runs
/// 1..=runs of `seed`.
fn ours(nl: &Netlist, seed: u64, runs: u64) -> Draws {
    let mut out = Draws::new();
    for run in 1..=runs {
        let mut s = RunSampler::new(seed, run, Variation::Both);
        let c = netlist::elaborate(
            nl,
            ElabOptions {
                overrides: vec![],
                random: Some(&mut s),
            },
        )
        .unwrap();
        for d in &c.devices {
            if let Device::B4(b) = &d.dev {
                // x<copy>.<device>.m...
                let parts: Vec<&str> = d.name.split('.').collect();
                let copy: u64 = parts[0][1..].parse().unwrap();
                out.entry(parts[1].to_string())
                    .or_default()
                    .insert((run, copy), b.params().delvto);
            }
        }
    }
    out
}

fn ngspice() -> Draws {
    let text = std::fs::read_to_string(root().join("tests/golden_mc/sky130_mm_draws_ngspice.csv"))
        .unwrap();
    let mut out = Draws::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        out.entry(f[2].to_string()).or_default().insert(
            (f[0].parse().unwrap(), f[1].parse().unwrap()),
            f[3].parse().unwrap(),
        );
    }
    out
}

fn values(d: &BTreeMap<(u64, u64), f64>) -> Vec<f64> {
    d.values().copied().collect()
}

/// Pearson correlation of two devices' draws over the samples both have.
fn correlation(a: &BTreeMap<(u64, u64), f64>, b: &BTreeMap<(u64, u64), f64>) -> (f64, usize) {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .filter_map(|(k, x)| b.get(k).map(|y| (*x, *y)))
        .collect();
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let syy: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
    (sxy / (sxx * syy).sqrt(), pairs.len())
}

/// Every device's draws standardised by its own mean and spread, pooled.
fn standardised(d: &Draws) -> Vec<f64> {
    let mut z = Vec::new();
    for xs in d.values() {
        let s = summarize(&values(xs));
        z.extend(xs.values().map(|x| (x - s.mean) / s.std));
    }
    z
}

/// Each device's mean and spread against ngspice's (the comparisons are 4 standard errors
/// wide: 32 of them at about 6e-5 false-alarm rate each). A spread wrong by the factors a
/// semantic slip gives (the X line's `m` taken into `mult`: 1/sqrt(m); `mult` ignored:
/// sqrt(2); two draws summed: sqrt(2)) is 10 standard errors or more away.
#[test]
fn tt_mm_delvto_per_device_matches_ngspice() {
    let nl = parse_file("tests/golden_mc/sky130_mm_draws.cir");
    let (a, b) = (ours(&nl, 1, 40), ngspice());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let mut report = String::new();
    for (dev, xs) in &a {
        let (sa, sb) = (summarize(&values(xs)), summarize(&values(&b[dev])));
        let (na, nb) = (sa.n as f64, sb.n as f64);
        assert!(nb >= 800.0 && na >= 800.0, "{dev}: {na} / {nb} samples");
        // the spread is the library's, not nothing
        assert!(sb.std > 1e-3, "{dev}: ngspice's spread {:e}", sb.std);
        let se_mean = (sa.std * sa.std / na + sb.std * sb.std / nb).sqrt();
        let se_log_ratio = (1.0 / (2.0 * na) + 1.0 / (2.0 * nb)).sqrt();
        report.push_str(&format!(
            "{dev:6} mean {:+.2e} vs {:+.2e} ({:+.1} SE)  sd {:.3e} vs {:.3e} (ratio {:.3}, {:+.1} SE)\n",
            sa.mean,
            sb.mean,
            (sa.mean - sb.mean) / se_mean,
            sa.std,
            sb.std,
            sa.std / sb.std,
            (sa.std / sb.std).ln() / se_log_ratio
        ));
        assert!(
            (sa.mean - sb.mean).abs() < 4.0 * se_mean,
            "{dev}: mean {:e} vs ngspice {:e}\n{report}",
            sa.mean,
            sb.mean
        );
        assert!(
            (sa.std / sb.std).ln().abs() < 4.0 * se_log_ratio,
            "{dev}: sd {:e} vs ngspice {:e}\n{report}",
            sa.std,
            sb.std
        );
    }
    eprint!("{report}");
}

/// One draw per instance, shared with no other instance: the correlation of any two devices'
/// delvto within one copy (ngspice: 120 pairs over 800 copies) is zero within sampling error,
/// in both simulators, and the standardised draws are normal (not truncated, not uniform).
#[test]
fn tt_mm_draws_are_independent_and_normal() {
    let nl = parse_file("tests/golden_mc/sky130_mm_draws.cir");
    for (who, d) in [("neurospice", ours(&nl, 2, 40)), ("ngspice", ngspice())] {
        let devs: Vec<&String> = d.keys().collect();
        let mut worst = (0.0_f64, String::new());
        for (i, x) in devs.iter().enumerate() {
            for y in &devs[i + 1..] {
                let (r, n) = correlation(&d[*x], &d[*y]);
                // 4.5 standard errors: 120 pairs at about 7e-6 false-alarm rate each
                let z = r.abs() * (n as f64).sqrt();
                if z > worst.0 {
                    worst = (z, format!("{x}-{y} r = {r:.3} over {n}"));
                }
            }
        }
        assert!(
            worst.0 < 4.5,
            "{who}: correlated draws: {} ({:.1} SE)",
            worst.1,
            worst.0
        );
        let z = standardised(&d);
        let s = summarize(&z);
        // normal: excess kurtosis 0 (SE sqrt(24/n)), a two-sample KS against ideal quantiles
        assert!(
            s.kurtosis.abs() < 4.0 * (24.0 / s.n as f64).sqrt(),
            "{who}: excess kurtosis {}",
            s.kurtosis
        );
        let n = z.len();
        let quantiles: Vec<f64> = (0..n)
            .map(|k| normal_quantile((k as f64 + 0.5) / n as f64))
            .collect();
        let (dks, p) = ks_two_sample(&z, &quantiles);
        assert!(p > 0.001, "{who}: not normal: KS D = {dks}, p = {p}");
        eprintln!(
            "{who}: worst pair {} ({:.1} SE); {n} standardised draws: kurtosis {:+.3}, KS D = {dks:.4}",
            worst.1, worst.0, s.kurtosis
        );
    }
}
