//! C-2C synapses and op-amp neurons in the network (issue 18).
//!
//! - The ladder Monte Carlo (`gen c2c-bench` + `neurospice mc --variation local`) against the
//!   analytic spread: an independent charge-conservation solution of the same ladder, written
//!   here, with first-order Pelgrom propagation of every capacitor's sigma.
//! - `c2c:` and `opamp:` characterised with zero variation reproduce the integer network's
//!   predictions image for image.
//! - The design chain (`scripts/c2c_design.sh`, the README's command) writes its table and
//!   figure.

use std::path::{Path, PathBuf};
use std::process::Command;

use neurospice::neuro::snn::analog::{C2cSynapse, Column, OpampNeuron};
use neurospice::neuro::snn::data;
use neurospice::neuro::snn::model::{Network, stream};
use neurospice::neuro::snn::neuron::Ideal;

fn ns() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neurospice"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(mut c: Command) -> String {
    let out = c.output().expect("run neurospice");
    assert!(
        out.status.success(),
        "{:?} failed: {}{}",
        c,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Realised code of a K-bit C-2C ladder with the given capacitors, delivered into a virtual
/// ground, in units of 2·cu·v/2^K: charge conservation at the floating nodes 0..K-2 (all
/// uncharged before the step; out held at 0 V), solved by Gaussian elimination.
/// caps: shunt[k] (node k to bit line k), series[k] (node k to k+1), term (node 0 to ground).
fn ladder_code(k_bits: usize, code: u32, shunt: &[f64], series: &[f64], term: f64, cu: f64) -> f64 {
    ladder_code_par(k_bits, code, shunt, series, term, 0.0, cu)
}

/// [`ladder_code`] with a bottom-plate parasitic `par` (F) from every floating node to ground.
#[allow(clippy::needless_range_loop)] // Gaussian elimination reads clearer indexed
fn ladder_code_par(
    k_bits: usize,
    code: u32,
    shunt: &[f64],
    series: &[f64],
    term: f64,
    par: f64,
    cu: f64,
) -> f64 {
    let v = 1.0;
    let d = |k: usize| if code >> k & 1 == 1 { v } else { 0.0 };
    let n = k_bits - 1; // floating nodes
    if n == 0 {
        return shunt[0] * d(0) / (2.0 * cu * v / 2.0);
    }
    // A x = b, x_k = voltage of node k
    let mut a = vec![vec![0.0; n]; n];
    let mut b = vec![0.0; n];
    for k in 0..n {
        a[k][k] += shunt[k] + par;
        b[k] += shunt[k] * d(k);
        if k == 0 {
            a[k][k] += term;
        }
        // series to k+1 (k+1 == n is out, at 0 V)
        a[k][k] += series[k];
        if k + 1 < n {
            a[k][k + 1] -= series[k];
        }
        if k > 0 {
            a[k][k] += series[k - 1];
            a[k][k - 1] -= series[k - 1];
        }
    }
    for i in 0..n {
        let p = a[i][i];
        for r in i + 1..n {
            let f = a[r][i] / p;
            for c in i..n {
                a[r][c] -= f * a[i][c];
            }
            b[r] -= f * b[i];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|c| a[i][c] * x[c]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    let q = shunt[n] * d(n) + series[n - 1] * x[n - 1];
    q / (2.0 * cu * v / f64::from(1u32 << k_bits))
}

/// First-order sigma of the realised code: every capacitor C with sigma(dC/C) =
/// a_c / sqrt(C / density), sensitivities by central differences of the exact solution.
fn analytic_sigma(k_bits: usize, code: u32, cu: f64, a_c: f64, density: f64) -> f64 {
    analytic_sigma_of(k_bits, cu, a_c, density, |s, r, t| {
        ladder_code(k_bits, code, s, r, t, cu)
    })
}

/// First-order sigma of any function f(shunt, series, term) of one ladder's capacitors.
fn analytic_sigma_of(
    k_bits: usize,
    cu: f64,
    a_c: f64,
    density: f64,
    f: impl Fn(&[f64], &[f64], f64) -> f64,
) -> f64 {
    let shunt = vec![cu; k_bits];
    let series = vec![2.0 * cu; k_bits.saturating_sub(1)];
    let rel = |c: f64| a_c / (c / density).sqrt();
    let mut var = 0.0;
    let h = 1e-6;
    for j in 0..2 * k_bits {
        let (mut s_up, mut s_dn) = (shunt.clone(), shunt.clone());
        let (mut r_up, mut r_dn) = (series.clone(), series.clone());
        let (mut t_up, mut t_dn) = (cu, cu);
        let c = if j < k_bits {
            s_up[j] *= 1.0 + h;
            s_dn[j] *= 1.0 - h;
            shunt[j]
        } else if j < 2 * k_bits - 1 {
            r_up[j - k_bits] *= 1.0 + h;
            r_dn[j - k_bits] *= 1.0 - h;
            series[j - k_bits]
        } else {
            t_up *= 1.0 + h;
            t_dn *= 1.0 - h;
            cu
        };
        let up = f(&s_up, &r_up, t_up);
        let dn = f(&s_dn, &r_dn, t_dn);
        let dr_drel = (up - dn) / (2.0 * h);
        var += (dr_drel * rel(c)).powi(2);
    }
    var.sqrt()
}

#[test]
fn reference_ladder_solution_is_exact_when_ideal() {
    let cu = 1e-15;
    for k in 1..=6usize {
        for code in 0..(1u32 << k) {
            let r = ladder_code(k, code, &vec![cu; k], &vec![2.0 * cu; k - 1], cu, cu);
            assert!((r - f64::from(code)).abs() < 1e-9, "K={k} code {code}: {r}");
        }
    }
}

#[test]
fn ladder_monte_carlo_spread_matches_the_analytic_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let bench = dir.path().join("ladder.cir");
    let summary = dir.path().join("ladder.json");
    let (k, area, runs) = (4usize, 0.1, 400usize);
    let mut g = ns();
    g.args([
        "gen",
        "c2c-bench",
        "--bits",
        "4",
        "--unit-area",
        "0.1",
        "-o",
    ])
    .arg(&bench);
    run(g);
    let mut m = ns();
    m.arg("mc")
        .arg(&bench)
        .args([
            "--variation",
            "local",
            "--runs",
            "400",
            "--seed",
            "3",
            "-q",
            "-o",
        ])
        .arg(dir.path().join("runs.csv"))
        .arg("--summary")
        .arg(&summary);
    run(m);
    let syn = C2cSynapse::from_file(&summary).unwrap();
    assert_eq!(syn.bits, 4);
    // 28nm-class defaults: A_C = 1 %·µm, 2 fF/µm²
    let (a_c, density) = (1e-8, 2e-3);
    let cu = density * area * 1e-12;
    let n = runs as f64;
    let mut worst_ratio: f64 = 0.0;
    for code in 0..(1u32 << k) {
        let s_an = analytic_sigma(k, code, cu, a_c, density);
        let (mu, sd) = (syn.mean[code as usize], syn.std[code as usize]);
        if code == 0 {
            assert!(mu.abs() < 1e-9 && sd < 1e-9, "code 0: {mu} ± {sd}");
            continue;
        }
        // std of a normal sample: relative standard error 1/sqrt(2(n-1)) = 3.5 % at n = 400
        let ratio = sd / s_an;
        worst_ratio = worst_ratio.max((ratio - 1.0).abs());
        assert!(
            (ratio - 1.0).abs() < 0.15,
            "code {code}: Monte Carlo sigma {sd} vs analytic {s_an}"
        );
        // mean error (INL) of an unbiased ladder: within 5 standard errors of 0
        assert!(
            (mu - f64::from(code)).abs() < 5.0 * s_an / n.sqrt(),
            "code {code}: mean {mu} (INL {}) vs sigma {s_an}",
            mu - f64::from(code)
        );
    }
    // the MSB alone carries the largest spread (sigma of one unit through one shunt)
    let s_msb = analytic_sigma(k, 8, cu, a_c, density);
    let s_lsb = analytic_sigma(k, 1, cu, a_c, density);
    assert!(s_msb > 4.0 * s_lsb, "MSB {s_msb} vs LSB {s_lsb}");
    // DNL at the major carry (7 -> 8) of independent devices: spread sqrt(s7² + s8²)
    let dnl_an = (analytic_sigma(k, 7, cu, a_c, density).powi(2) + s_msb.powi(2)).sqrt();
    let dnl_mc = (syn.std[7].powi(2) + syn.std[8].powi(2)).sqrt();
    assert!(
        (dnl_mc / dnl_an - 1.0).abs() < 0.15,
        "DNL spread {dnl_mc} vs {dnl_an}"
    );
    eprintln!("worst |sigma_mc / sigma_analytic - 1| = {worst_ratio:.3}");
}

/// Realised weights of every Monte Carlo run (one device each) from `mc`'s runs CSV:
/// rows of w0..w<M>.
fn device_runs(csv: &Path, codes: usize) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let status = col("status");
    let cols: Vec<usize> = (0..codes).map(|c| col(&format!("w{c}"))).collect();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[status] == "ok")
        .map(|f| cols.iter().map(|&c| f[c].parse::<f64>().unwrap()).collect())
        .collect()
}

/// Mean and sample standard deviation.
fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// `gen c2c-bench --one-device` + `mc --variation local`: the runs CSV path.
fn one_device_mc(dir: &Path, bits: u32, area: &str, extra: &[&str], runs: usize) -> PathBuf {
    let bench = dir.join(format!("dev{bits}.cir"));
    let csv = dir.join(format!("dev{bits}.csv"));
    let mut g = ns();
    g.args(["gen", "c2c-bench", "--one-device", "--bits"])
        .arg(bits.to_string())
        .args(["--unit-area", area])
        .args(extra)
        .arg("-o")
        .arg(&bench);
    run(g);
    let mut m = ns();
    m.arg("mc")
        .arg(&bench)
        .args(["--variation", "local", "--seed", "5", "-q", "--runs"])
        .arg(runs.to_string())
        .arg("-o")
        .arg(&csv)
        .arg("--summary")
        .arg(dir.join(format!("dev{bits}.json")));
    run(m);
    csv
}

#[test]
fn one_device_ladder_dnl_spread_matches_the_analytic_prediction() {
    // each Monte Carlo run is one ladder stepped through every code: its DNL
    // w[c+1] - w[c] - 1 comes from the same capacitors for both codes, so its spread is the
    // first-order propagation of every capacitor's Pelgrom sigma through the difference
    // (in general not sqrt(s_c^2 + s_c+1^2) of two independent ladders)
    let (a_c, density) = (1e-8, 2e-3);
    for (bits, area, runs, tol) in [(4u32, 0.1, 400usize, 0.15), (6, 0.03, 200, 0.2)] {
        let dir = tempfile::tempdir().unwrap();
        let csv = one_device_mc(dir.path(), bits, &area.to_string(), &[], runs);
        let k = bits as usize;
        let codes = 1usize << k;
        let dev = device_runs(&csv, codes);
        assert_eq!(dev.len(), runs, "every run succeeds");
        let cu = density * area * 1e-12;
        let n = runs as f64;
        let mut worst: f64 = 0.0;
        for c in 0..codes - 1 {
            let dnl: Vec<f64> = dev.iter().map(|w| w[c + 1] - w[c] - 1.0).collect();
            let (mu, sd) = mean_std(&dnl);
            let an = analytic_sigma_of(k, cu, a_c, density, |s, r, t| {
                ladder_code(k, c as u32 + 1, s, r, t, cu) - ladder_code(k, c as u32, s, r, t, cu)
            });
            worst = worst.max((sd / an - 1.0).abs());
            assert!(
                (sd / an - 1.0).abs() < tol,
                "K={bits} DNL {c}->{}: Monte Carlo sigma {sd} vs analytic {an}",
                c + 1
            );
            assert!(
                mu.abs() < 5.0 * an / n.sqrt(),
                "K={bits} DNL {c}: mean {mu}"
            );
        }
        // the INL spread of one device per code is the independent ladder's (same capacitors)
        for c in 1..codes {
            let inl: Vec<f64> = dev.iter().map(|w| w[c] - c as f64).collect();
            let (_, sd) = mean_std(&inl);
            let an = analytic_sigma(k, c as u32, cu, a_c, density);
            assert!(
                (sd / an - 1.0).abs() < tol,
                "K={bits} INL {c}: {sd} vs {an}"
            );
        }
        // the test tells one device from independent ladders: the DNL of 2 -> 3 is the LSB's
        // error alone on one device, but the spread of two whole codes on two ladders
        let one = analytic_sigma_of(k, cu, a_c, density, |s, r, t| {
            ladder_code(k, 3, s, r, t, cu) - ladder_code(k, 2, s, r, t, cu)
        });
        let indep = (analytic_sigma(k, 3, cu, a_c, density).powi(2)
            + analytic_sigma(k, 2, cu, a_c, density).powi(2))
        .sqrt();
        assert!(one < 0.5 * indep, "K={bits} DNL 2->3: {one} vs {indep}");
        eprintln!(
            "K={bits}: worst |sigma_mc / sigma_analytic - 1| over the DNLs = {worst:.3}; \
             DNL 2->3 sigma {one:.4} (one device) vs {indep:.4} (independent ladders)"
        );
    }
}

#[test]
fn ladder_inl_with_bottom_plate_parasitics_matches_the_analytic_ladder() {
    // without mismatch the realised codes are deterministic: with a parasitic of 10 % of cu at
    // every ladder node the INL is systematic, and both benches must give the exact solution
    let dir = tempfile::tempdir().unwrap();
    let (bits, area, par) = (5u32, 0.5, 0.1);
    let k = bits as usize;
    let codes = 1usize << k;
    let cu = 2e-3 * area * 1e-12;
    let csv = one_device_mc(
        dir.path(),
        bits,
        "0.5",
        &["--ac", "0", "--parasitic", "0.1"],
        2,
    );
    let dev = device_runs(&csv, codes);
    assert_eq!((dev[0].len(), codes), (32, 32));
    let bench = dir.path().join("indep.cir");
    let mut g = ns();
    g.args([
        "gen",
        "c2c-bench",
        "--bits",
        "5",
        "--unit-area",
        "0.5",
        "--ac",
        "0",
    ])
    .args(["--parasitic", "0.1", "-o"])
    .arg(&bench);
    run(g);
    let summary = dir.path().join("indep.json");
    let mut m = ns();
    m.arg("mc")
        .arg(&bench)
        .args(["--variation", "local", "--runs", "2", "-q", "-o"])
        .arg(dir.path().join("indep.csv"))
        .arg("--summary")
        .arg(&summary);
    run(m);
    let syn = C2cSynapse::from_file(&summary).unwrap();
    let mut worst_inl: f64 = 0.0;
    for (c, (&one, &indep)) in dev[0].iter().zip(&syn.mean).enumerate() {
        let exact = ladder_code_par(
            k,
            c as u32,
            &vec![cu; k],
            &vec![2.0 * cu; k - 1],
            cu,
            par * cu,
            cu,
        );
        worst_inl = worst_inl.max((exact - c as f64).abs());
        for (what, got) in [("one device", one), ("independent", indep)] {
            assert!(
                (got - exact).abs() < 1e-6 * (1.0 + exact.abs()),
                "{what}: code {c} realised {got}, exact {exact}"
            );
        }
    }
    // the parasitics' INL is large enough for the comparison to mean something
    assert!(worst_inl > 0.5, "worst INL {worst_inl}");
    assert!(syn.inl() > 0.5, "synapse file INL {}", syn.inl());
}

/// The zero-variation column files of a K-bit network: ladder MC with A_C = 0 and an op-amp
/// neuron without offset spread, characterised by chara with the read-out line gen printed.
fn zero_variation_files(dir: &Path, bits: u32) -> (PathBuf, PathBuf) {
    let b = bits.to_string();
    let bench = dir.join("ladder.cir");
    let syn = dir.join("ladder.json");
    let mut g = ns();
    g.args(["gen", "c2c-bench", "--bits", &b, "--ac", "0", "-o"])
        .arg(&bench);
    run(g);
    let mut m = ns();
    m.arg("mc")
        .arg(&bench)
        .args(["--variation", "local", "--runs", "3", "-q", "-o"])
        .arg(dir.join("ladder.csv"))
        .arg("--summary")
        .arg(&syn);
    run(m);
    let neuron_cir = dir.join("opamp.cir");
    let mut g = ns();
    g.args([
        "gen",
        "opamp-neuron",
        "--bits",
        &b,
        "--vos-sigma",
        "0",
        "--lib",
    ])
    .arg(root().join("models/neurons.lib"))
    .arg("-o")
    .arg(&neuron_cir);
    let out = run(g);
    let args = out
        .lines()
        .find_map(|l| l.strip_prefix("chara args: "))
        .expect("gen opamp-neuron prints the chara options");
    let neuron = dir.join("opamp.json");
    let mut c = ns();
    c.arg("chara")
        .arg(&neuron_cir)
        .args(args.split_whitespace())
        .args(["--membrane-sigma", "0", "-o"])
        .arg(&neuron);
    run(c);
    (syn, neuron)
}

#[test]
fn zero_variation_c2c_and_opamp_reproduce_the_ideal_network_exactly() {
    let net = Network::load(&root().join("tests/data/snn/w4_small.json")).unwrap();
    let digits = data::load(&root().join("data/mnist_4k.csv.gz"), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (syn_file, neuron_file) = zero_variation_files(dir.path(), 4);
    let syn = C2cSynapse::from_file(&syn_file).unwrap();
    assert!(!syn.stochastic());
    assert!(syn.inl() < 1e-6, "ideal ladder INL {}", syn.inl());
    let neuron = OpampNeuron::from_file(&neuron_file).unwrap();
    assert!(!neuron.stochastic());
    let mut rng = stream(0, 0, 0);
    let ideal: Vec<usize> = (0..digits.len())
        .map(|i| net.classify(digits.image(i), &Ideal, &(), &mut rng, None))
        .collect();
    for col in [
        Column {
            synapse: syn.clone(),
            neuron: None,
        },
        Column {
            synapse: C2cSynapse::ideal(4),
            neuron: Some(neuron.clone()),
        },
        Column {
            synapse: syn,
            neuron: Some(neuron),
        },
    ] {
        let p = col.predictions(&net, &digits, 3, 1).unwrap();
        assert_eq!(p.len(), 1, "a deterministic column is evaluated once");
        assert_eq!(
            p[0], ideal,
            "analog column differs from the integer network"
        );
    }
    // the same through the command line: the accuracy equals the ideal one exactly
    let acc = |extra: &[&str]| {
        let mut c = ns();
        c.args(["snn", "eval", "--model"])
            .arg(root().join("tests/data/snn/w4_small.json"))
            .arg("--data")
            .arg(root().join("data/mnist_4k.csv.gz"))
            .args(["--json"])
            .args(extra);
        let j: serde_json::Value = serde_json::from_str(run(c).trim()).unwrap();
        j["accuracy"].as_f64().unwrap()
    };
    let s = format!("c2c:{}", syn_file.display());
    let n = format!("opamp:{}", neuron_file.display());
    assert_eq!(acc(&[]), acc(&["--synapse", &s, "--neuron", &n]));
}

#[test]
fn device_draws_are_fixed_per_repeat_and_change_between_repeats() {
    let net = Network::load(&root().join("tests/data/snn/w4_small.json")).unwrap();
    let digits = data::load(&root().join("data/mnist_4k.csv.gz"), None).unwrap();
    let digits = digits.subset(&(0..300).collect::<Vec<_>>());
    // a ladder with a 2-code spread on every code: accuracy must move between repeats
    let mut syn = C2cSynapse::ideal(4);
    syn.std = vec![2.0; 16];
    let col = Column {
        synapse: syn,
        neuron: None,
    };
    let a = col.predictions(&net, &digits, 2, 7).unwrap();
    let b = col.predictions(&net, &digits, 2, 7).unwrap();
    assert_eq!(a, b, "same seed, same devices");
    assert_ne!(a[0], a[1], "repeats draw new devices");
}

#[test]
fn bad_column_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.json");
    std::fs::write(&f, r#"{"measures": {"w0": {"mean": 0, "std": 0}, "w1": {"mean": 1, "std": 0}, "w2": {"mean": 2, "std": 0}}}"#).unwrap();
    let e = C2cSynapse::from_file(&f).unwrap_err();
    assert!(e.msg.contains("found 3 measures"), "{}", e.msg);
    std::fs::write(
        &f,
        r#"{"measures": {"w0": {"mean": 0, "std": null}, "w1": {"mean": 1, "std": 0}}}"#,
    )
    .unwrap();
    let e = C2cSynapse::from_file(&f).unwrap_err();
    assert!(e.msg.contains("measure w0"), "{}", e.msg);
    std::fs::write(&f, r#"{"levels": [0, 1], "membrane_v": [0.8, 0.7]}"#).unwrap();
    let e = OpampNeuron::from_file(&f).unwrap_err();
    assert!(e.msg.contains("--readout-line"), "{}", e.msg);
    // a 1-bit ladder file against a 4-bit model
    std::fs::write(
        &f,
        r#"{"measures": {"w0": {"mean": 0, "std": 0}, "w1": {"mean": 1, "std": 0}}}"#,
    )
    .unwrap();
    let mut c = ns();
    c.args(["snn", "eval", "--model"])
        .arg(root().join("tests/data/snn/w4_small.json"))
        .arg("--data")
        .arg(root().join("data/mnist_4k.csv.gz"))
        .arg("--synapse")
        .arg(format!("c2c:{}", f.display()));
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1-bit ladders") && err.contains("4-bit weights"),
        "{err}"
    );
}

#[test]
fn design_chain_writes_the_table_and_figure_the_readme_names() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains("scripts/c2c_design.sh") && readme.contains("results/c2c/design_k4.csv"),
        "README shows the chain and its table"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(root().join("scripts/c2c_design.sh"))
        .arg(dir.path())
        .current_dir(root())
        .env("NS", env!("CARGO_BIN_EXE_neurospice"))
        .env("BITS", "4")
        .env("AREAS", "0.0001 1")
        .env("GAINS", "1000")
        .env("RUNS", "10")
        .env("REPEATS", "1")
        .env("DATA", "data/mnist_4k.csv.gz")
        .env("MODEL_K4", "tests/data/snn/w4_small.json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("design_k4.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "neuron,param,value,accuracy,accuracy_std,accuracy_lo,accuracy_hi,n,repeats"
    );
    // 2 areas, the target line at both, and the 1 % point: at 0.0001 um^2 (100 % sigma per
    // unit) the network fails, at 1 um^2 it is within 1 %, so the curve crosses in between
    assert_eq!(rows.len(), 1 + 2 + 2 + 1, "{csv}");
    assert!(
        rows[1].starts_with("A0 = 1000,unit_area_um2,0.0001,"),
        "{csv}"
    );
    let f: Vec<&str> = rows[5].split(',').collect();
    assert_eq!(f[0], "1 % point A0 = 1000", "{csv}");
    // marked on the curve at the smallest swept area within 1 %
    let at_1: Vec<&str> = rows[2].split(',').collect();
    let num = |s: &str| s.parse::<f64>().unwrap();
    assert_eq!(
        (num(f[2]), num(f[3])),
        (num(at_1[2]), num(at_1[3])),
        "{csv}"
    );
    let svg = std::fs::read_to_string(dir.path().join("design_k4.svg")).unwrap();
    assert!(svg.contains("<svg"));
    let summary = std::fs::read_to_string(dir.path().join("design_k4.summary.txt")).unwrap();
    assert!(summary.contains("A0 = 1000"), "{summary}");
    let crossing = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("1 % point: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|x| x.parse::<f64>().ok());
    assert!(crossing.is_some_and(|x| x > 1e-4 && x < 1.0), "{summary}");
    for f in ["k4/ladder_a1.json", "k4/opamp_g1000.json", "k4/ideal.json"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}
