//! CapMin designs a clocked read-out can build (`neuro::capmin::design`, `snn::neuron::Clocked`):
//! the cycle arithmetic and the decoder against hand-computed cases, the decoder against the
//! transient simulation of an IF membrane at the design's capacitor (nominal and with current
//! mismatch), `snn eval --neuron capmin:FILE` against an independently built level map, and the
//! selection's refusal to read any data but the model's own training file.

use std::process::Command;

use neurospice::analysis::{self, PartCache, RunOptions, Save};
use neurospice::netlist;
use neurospice::neuro::capmin::Physics;
use neurospice::neuro::capmin::design::{
    baseline_units, clears_edges, design_at, edge_distance, paired_loss,
};
use neurospice::neuro::snn::neuron::Clocked;

fn neurospice(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn cycles_and_decoder_by_hand() {
    // c = 10.5 periods: level m spikes at 10.5/m periods
    // m:     1     2     3    4      5    6     7    8      9      10
    // t:  10.5  5.25  3.5  2.625  2.1  1.75  1.5  1.3125 1.1667  1.05
    // cycle: 10    5     3    2      2    1     1    1      1      1
    assert_eq!(Clocked::cycle(10.5, 1.0), Some(10));
    assert_eq!(Clocked::cycle(10.5, 4.0), Some(2));
    assert_eq!(Clocked::cycle(10.5, 0.0), None);
    let mut freq = vec![0u64; 11];
    freq[4] = 10;
    freq[5] = 1;
    freq[6] = 1;
    freq[7] = 5;
    freq[8] = 5;
    freq[9] = 1;
    let d = design_at(10.5, &freq, 10);
    assert_eq!(d.decoder.len(), 11); // cycles 0..=10
    // cycle 2 holds {4, 5}: weighted median 4; cycle 1 holds {6..10} with weights
    // 1,5,5,1,0 -> cumulative 1,6,11,12 of 12: median 7 (6 >= 12/2)
    assert_eq!(d.decoder[2], 4);
    assert_eq!(d.decoder[1], 7);
    assert_eq!(d.decoder[3], 3);
    assert_eq!(d.decoder[5], 2);
    assert_eq!(d.decoder[10], 1);
    assert_eq!(
        d.nominal_map(),
        vec![0, 1, 2, 3, 4, 4, 7, 7, 7, 7, 7],
        "level 0 is silent"
    );
    // edges: 10.5/2 = 5.25 is 0.25 from an edge, 10.5/8 = 1.3125 is 0.3125 from one,
    // 10.5/10 = 1.05 is 0.05 from one
    assert!((edge_distance(10.5, 2) - 0.25).abs() < 1e-12);
    assert!((edge_distance(10.5, 10) - 0.05).abs() < 1e-12);
    assert!(clears_edges(10.5, 10, 0.04));
    assert!(!clears_edges(10.5, 10, 0.06));
    // an integer capacitor puts level 1 exactly on an edge
    assert!(!clears_edges(70.0, 32, 0.01));
    // the all-levels baseline: pair (31, 32) one period apart, 31·32 units = 19.84 fF
    assert_eq!(baseline_units(32), 992.0);
    let p = Physics::default();
    let f = baseline_units(32) * p.t_clk_s * p.i_unit_a / p.v_th_v;
    assert!((f - 19.84e-15).abs() < 1e-20);
}

#[test]
fn paired_loss_per_fold_by_hand() {
    let ideal = [true, true, true, false, true, true];
    let design = [true, false, true, true, true, false];
    let (all, folds) = paired_loss(&ideal, &design, 2);
    // differences 0, 1, 0, -1, 0, 1: mean 1/6; fold 0 (0, 0, 0), fold 1 (1, -1, 1)
    assert!((all - 1.0 / 6.0).abs() < 1e-12);
    assert_eq!(folds, vec![0.0, 1.0 / 3.0]);
}

/// First crossing of V_th by an ideal IF membrane of `c_f` charged with `i_a`, simulated by
/// the transient engine.
fn spike_time(c_f: f64, i_a: f64, phys: &Physics) -> f64 {
    let t_end = 1.5 * c_f * phys.v_th_v / i_a;
    let text = format!(
        "if membrane\nI1 0 mem DC {i_a:e}\nC1 mem 0 {c_f:e} IC=0\n.tran {:e} {t_end:e} 0 {:e} uic\n.end\n",
        t_end / 1000.0,
        t_end / 200.0
    );
    let lexed = netlist::lexer::lex_str(&text, "if.cir").unwrap();
    let nl = netlist::Netlist::parse(&lexed).unwrap();
    let c = netlist::elaborate(&nl, Default::default()).unwrap();
    let ro = RunOptions {
        save: Save::List(vec!["v(mem)".into()]),
        spikes: vec![("mem".into(), phys.v_th_v)],
    };
    let r = analysis::run_with(&c, &ro, &mut PartCache::default()).unwrap();
    r.spikes[0].times[0]
}

#[test]
fn decoder_reads_the_simulated_membrane_as_the_design_does() {
    let phys = Physics::default();
    // a design of the kind the search returns: ~14x, every level >= 0.05 period off an edge
    let full = 32u32;
    let c = (6500..7500)
        .map(|i| f64::from(i) / 100.0)
        .find(|&c| clears_edges(c, full, 0.05))
        .expect("a capacitor clearing the edges");
    let freq: Vec<u64> = (0..=full).map(|m| u64::from(40 - m.min(39))).collect();
    let d = design_at(c, &freq, full);
    let unit_f = phys.t_clk_s * phys.i_unit_a / phys.v_th_v;
    let c_f = c * unit_f;
    for m in 1..=full {
        for gain in [1.0, 0.97, 1.03] {
            let i_a = f64::from(m) * gain * phys.i_unit_a;
            let t = spike_time(c_f, i_a, &phys);
            let analytic = c / (f64::from(m) * gain);
            // the simulated spike follows t = C·V_th/I
            assert!(
                (t / phys.t_clk_s - analytic).abs() < 1e-4 * analytic,
                "level {m} gain {gain}: {t:e}"
            );
            // a perturbed spike within the simulation's error of an edge cannot be compared
            let frac = analytic - analytic.floor();
            if frac.min(1.0 - frac) < 1e-3 {
                continue;
            }
            let cycle = (t / phys.t_clk_s).floor() as u64;
            assert_eq!(
                d.decode(Some(cycle)),
                d.report(m, gain),
                "level {m}, gain {gain}: simulated cycle {cycle}"
            );
        }
    }
}

#[test]
fn eval_of_a_design_file_equals_its_level_map_built_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let full = 32u32;
    // c = 60.37 units; the level map by hand: level m reports the decoder's entry of cycle
    // floor(c/m); the decoder here reports the smallest level of each cycle
    let c = 60.37f64;
    let window = c.floor() as usize + 1;
    let mut decoder = vec![0u32; window];
    for m in (1..=full).rev() {
        decoder[(c / f64::from(m)).floor() as usize] = m;
    }
    for k in 1..window {
        if decoder[k] == 0 {
            decoder[k] = decoder[k - 1];
        }
    }
    let design = serde_json::json!({"format": "neurospice-capmin-design/1",
        "model": "models/bnn_mnist.json", "readout": "and", "reduction": 992.0 / c,
        "capacitance_units": c, "full_scale": full, "decoder": decoder, "silent_level": 0});
    let dp = dir.path().join("design.json");
    std::fs::write(&dp, design.to_string()).unwrap();
    let lut: Vec<u32> = (0..=full)
        .map(|m| {
            if m == 0 {
                0
            } else {
                decoder[(c / f64::from(m)).floor() as usize]
            }
        })
        .collect();
    let lp = dir.path().join("lut.json");
    std::fs::write(&lp, serde_json::to_string(&lut).unwrap()).unwrap();
    let run = |neuron: String, readout: Option<&str>| {
        let mut args = vec![
            "snn".to_string(),
            "eval".into(),
            "--model".into(),
            "models/bnn_mnist.json".into(),
            "--data".into(),
            "data/mnist_4k.csv.gz".into(),
            "--json".into(),
            "--neuron".into(),
            neuron,
        ];
        if let Some(r) = readout {
            args.extend(["--readout".into(), r.into()]);
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        neurospice(&a)
    };
    let a = run(format!("capmin:{}", dp.display()), None);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = run(format!("lut:{}", lp.display()), Some("and"));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let ja: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let jb: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(ja["readout"], "and", "the design's read-out is applied");
    assert_eq!(ja["accuracy"], jb["accuracy"]);
    // --paired: the loss against the ideal neuron on the same digits
    let p = run(format!("capmin:{}", dp.display()), Some("and"));
    let ideal = run("ideal".into(), Some("and"));
    let jp: serde_json::Value = serde_json::from_slice(&{
        let mut a = vec!["snn", "eval", "--model", "models/bnn_mnist.json"];
        a.extend([
            "--data",
            "data/mnist_4k.csv.gz",
            "--json",
            "--paired",
            "--neuron",
        ]);
        let spec = format!("capmin:{}", dp.display());
        let mut a: Vec<String> = a.into_iter().map(String::from).collect();
        a.push(spec);
        let r: Vec<&str> = a.iter().map(String::as_str).collect();
        neurospice(&r).stdout
    })
    .unwrap();
    assert!(p.status.success());
    let ji: serde_json::Value = serde_json::from_slice(&ideal.stdout).unwrap();
    let want = ji["accuracy"].as_f64().unwrap() - ja["accuracy"].as_f64().unwrap();
    let got = jp["paired_loss"]["loss"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    assert!(jp["paired_loss"]["lo"].as_f64().unwrap() <= got);
    assert!(jp["paired_loss"]["hi"].as_f64().unwrap() >= got);
    // the design's read-out cannot be contradicted
    let c2 = run(format!("capmin:{}", dp.display()), Some("xnor"));
    assert!(!c2.status.success());
    assert!(String::from_utf8_lossy(&c2.stderr).contains("read-out"));
    // a broken design file is an error naming it
    std::fs::write(
        &dp,
        r#"{"capacitance_units": -1, "full_scale": 32, "decoder": [0], "silent_level": 0}"#,
    )
    .unwrap();
    let e = run(format!("capmin:{}", dp.display()), None);
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("design.json"));
}

#[test]
fn selection_reads_only_the_models_training_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.json");
    // test digits (any file but the training file) are refused before any search
    let e = neurospice(&[
        "capmin",
        "select",
        "--model",
        "models/bnn_mnist.json",
        "--data",
        "data/mnist/test8k-images-idx3-ubyte.gz",
        "--design",
        out.to_str().unwrap(),
    ]);
    assert!(!e.status.success());
    assert!(
        String::from_utf8_lossy(&e.stderr)
            .contains("differs from the file the model was trained on"),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
    assert!(!out.exists());
    // on the training file: a design is written, chosen on the held-out split
    let ok = neurospice(&[
        "capmin",
        "select",
        "--model",
        "models/bnn_mnist.json",
        "--data",
        "data/mnist_4k.csv.gz",
        "--readout",
        "and",
        "--max-loss",
        "0.02",
        "--json",
        "--design",
        out.to_str().unwrap(),
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(j["readout"], "and");
    assert_eq!(j["selection"]["validation_n"], 800);
    let c = j["capacitance_units"].as_f64().unwrap();
    assert!((j["reduction"].as_f64().unwrap() - 992.0 / c).abs() < 1e-9);
    // every level's nominal spike clears the edges by the stated guard
    for l in j["levels"].as_array().unwrap().iter().skip(1) {
        assert!(l["edge_distance"].as_f64().unwrap() >= 0.05 - 1e-12, "{l}");
    }
}

/// A committed design file as `snn eval --neuron capmin:FILE` reads it, with its physics.
fn committed(path: &str) -> (Clocked, Physics, serde_json::Value) {
    let d = Clocked::from_file(path.as_ref()).unwrap();
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let p = &j["physics"];
    let phys = Physics {
        t_clk_s: p["t_clk_s"].as_f64().unwrap(),
        i_unit_a: p["i_unit_a"].as_f64().unwrap(),
        v_th_v: p["v_th_v"].as_f64().unwrap(),
        ..Physics::default()
    };
    (d, phys, j)
}

/// The clock cycle the transient simulation of an IF membrane at the design's capacitor
/// puts the spike of `x` unit currents in, or None when it lies within the simulation's
/// error of an edge (then no decoder can be checked against it).
fn simulated_cycle(d: &Clocked, phys: &Physics, x: f64) -> Option<u64> {
    let unit_f = phys.t_clk_s * phys.i_unit_a / phys.v_th_v;
    let t = spike_time(d.capacitance_units * unit_f, x * phys.i_unit_a, phys) / phys.t_clk_s;
    let analytic = d.capacitance_units / x;
    assert!(
        (t - analytic).abs() < 1e-5 * analytic,
        "x = {x}: simulated {t} periods, analytic {analytic}"
    );
    let frac = t - t.floor();
    (frac.min(1.0 - frac) > 2e-5 * analytic).then(|| t.floor() as u64)
}

/// Issue 16, "one code path": the designs the README reports (chosen by `select`, CapMin-V's
/// decoder sized by `select --protect` from the circuit spread) read every level's simulated
/// membrane exactly as the evaluator does, at the chosen capacitor: nominal spikes decode to
/// the level the file lists for them, and Monte Carlo draws of the spread (the design's own
/// per-level spike-time spread, or a 3 % charging-current mismatch for a nominal design)
/// decode to what `Clocked::report_time` / `Clocked::report` give for the same draw.
#[test]
fn committed_designs_read_the_simulated_membrane_at_their_capacitor() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let files = [
        "results/capmin/mnist/design_and.json",
        "results/capmin/mnist/design_xnor.json",
        "results/capmin/circuit/capmin_and_sc3.json",
        "results/capmin/circuit/capminv_and_sc3.json",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    for f in files {
        let (d, phys, j) = committed(f);
        let mut checked = 0;
        for m in 1..=d.full_scale {
            // nominal: the simulated spike's cycle decodes to the level `select` wrote
            let k = simulated_cycle(&d, &phys, f64::from(m)).expect("nominal spikes clear edges");
            let listed = j["levels"][m as usize]["reports"].as_u64().unwrap() as u32;
            assert_eq!(d.decode(Some(k)), listed, "{f}: level {m}, cycle {k}");
            assert_eq!(d.report_time(m, 0.0), listed, "{f}: level {m}");
            // Monte Carlo
            for _ in 0..6 {
                let z: f64 = StandardNormal.sample(&mut rng);
                let w: f64 = StandardNormal.sample(&mut rng);
                let (x, want) = if d.has_spread() {
                    let rel = d.device_sigma[m as usize] * z + d.read_sigma[m as usize] * w;
                    // t = (c/m)(1 + rel) is a charging current m/(1 + rel)
                    (f64::from(m) / (1.0 + rel), d.report_time(m, rel))
                } else {
                    let gain = 1.0 + 0.03 * z;
                    (f64::from(m) * gain, d.report(m, gain))
                };
                if let Some(k) = simulated_cycle(&d, &phys, x) {
                    assert_eq!(d.decode(Some(k)), want, "{f}: level {m}, draw x = {x}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 150, "{f}: only {checked} draws checked");
    }
}

/// `select` scored the chosen design with the evaluator's decoder: `snn eval --neuron
/// capmin:FILE` on the model's validation digits gives exactly the accuracy the file records.
#[test]
fn select_scored_the_design_as_snn_eval_reads_it() {
    let f = "results/capmin/mnist/design_and.json";
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
    let out = neurospice(&[
        "snn",
        "eval",
        "--model",
        "models/mnist_binary.json",
        "--data",
        "data/mnist/train-images-idx3-ubyte.gz",
        "--neuron",
        &format!("capmin:{f}"),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["n"], j["selection"]["validation_n"]);
    let (a, b) = (
        e["accuracy"].as_f64().unwrap(),
        j["selection"]["accuracy"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-12, "snn eval {a}, select {b}");
}

/// The test digits cannot reach the selection under another name: the refusal is by content
/// (fingerprint), not by path.
#[test]
fn selection_refuses_test_digits_renamed_as_the_training_file() {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("test8k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"),
        ("test8k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    ] {
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/mnist")
                .join(from),
            dir.path().join(to),
        )
        .unwrap();
    }
    let data = dir.path().join("train-images-idx3-ubyte.gz");
    let out = dir.path().join("d.json");
    for extra in [
        &[][..],
        &[
            "--spread",
            "results/capmin/circuit/td_4u1u_sc1.json",
            "--protect",
        ][..],
    ] {
        let mut args = vec![
            "capmin",
            "select",
            "--model",
            "models/mnist_binary.json",
            "--data",
            data.to_str().unwrap(),
            "--design",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let e = neurospice(&args);
        assert!(!e.status.success());
        assert!(
            String::from_utf8_lossy(&e.stderr)
                .contains("differs from the file the model was trained on"),
            "{}",
            String::from_utf8_lossy(&e.stderr)
        );
        assert!(!out.exists());
    }
}
