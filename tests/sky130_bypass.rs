//! BSIM4 bypass on a sky130 circuit: a quiet device restamps the linearisation of its last
//! full evaluation (ngspice's BSIM4 bypass test: branch voltages within reltol + vntol, drain
//! and bulk currents within reltol + abstol). Checked on the current-mirror integrate-and-fire
//! neuron (netlists/sky130_cm_neuron.cir, 9 BSIM4 devices) at the designer's default
//! tolerances: most loads of the slow integration are bypassed, the solver takes the same
//! steps and iterations within a few percent, and the spike times stay where ngspice-39 puts
//! them (tests/golden_meas/sky130_cm_neuron.ngspice.json, the 0.5 %) and within
//! 1e-3 relative of the run without bypass.

use neurospice::analysis::{self, RunOptions, RunResult, Save};
use neurospice::netlist::{self, Netlist, lexer::lex_str};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The neuron deck with `opts` added, its own tighter reltol dropped, the library path absolute.
fn deck(opts: &str) -> String {
    let text = std::fs::read_to_string(root().join("netlists/sky130_cm_neuron.cir")).unwrap();
    let pdk = root().join("pdk/sky130/");
    let mut out = String::new();
    for l in text.lines() {
        let low = l.trim().to_ascii_lowercase();
        if low.starts_with(".options reltol") || low == ".end" {
            continue;
        }
        out.push_str(&l.replace("\"../pdk/sky130/", &format!("\"{}", pdk.display())));
        out.push('\n');
    }
    out + opts + "\n.end\n"
}

fn run(text: &str) -> RunResult {
    let lexed = lex_str(text, &root().join("netlists/test.cir").to_string_lossy()).expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
    let ro = RunOptions {
        save: Save::List(vec!["none".into()]),
        spikes: vec![("out".into(), 0.9)],
    };
    analysis::run_with(&c, &ro, &mut Default::default()).expect("run")
}

#[test]
fn quiet_bsim4_devices_are_bypassed_without_moving_the_spikes() {
    let on = run(&deck(""));
    let off = run(&deck(".options nobypass"));
    let (a, b) = (&on.stats, &off.stats);
    assert_eq!(b.bypassed, 0, "nobypass evaluates every load: {b:?}");
    let loads = 9 * a.newton_iterations;
    eprintln!("bypass: {a:?}\nnobypass: {b:?}");
    assert!(
        a.bypassed * 4 > loads,
        "{} of {loads} BSIM4 loads bypassed: {a:?}",
        a.bypassed
    );
    let near = |x: usize, y: usize| x.abs_diff(y) * 20 <= y;
    assert!(near(a.accepted_steps, b.accepted_steps), "{a:?} vs {b:?}");
    assert!(
        near(a.newton_iterations, b.newton_iterations),
        "{a:?} vs {b:?}"
    );
    let golden =
        std::fs::read_to_string(root().join("tests/golden_meas/sky130_cm_neuron.ngspice.json"))
            .unwrap();
    let ng: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&golden).unwrap();
    let (ta, tb) = (&on.spikes[0].times, &off.spikes[0].times);
    assert_eq!(ta.len(), tb.len(), "{ta:?} vs {tb:?}");
    assert!(ta.len() >= 7, "{ta:?}");
    for (k, (x, y)) in ta.iter().zip(tb).enumerate() {
        assert!((x - y).abs() <= 1e-3 * y, "spike {k}: {x:e} vs {y:e}");
        if let Some(t) = ng.get(&format!("t{}", k + 1)).and_then(|v| v.as_f64()) {
            eprintln!("spike {}: bypass {x:e} nobypass {y:e} ngspice {t:e}", k + 1);
            assert!(
                (x - t).abs() <= 5e-3 * t,
                "spike {}: {x:e} vs ngspice {t:e}",
                k + 1
            );
        }
    }
}
