//! `.ac` of sky130 circuits against ngspice-39: every deck in `tests/golden_ac/` runs through
//! the `neurospice` binary and each `.meas ac` it prints is compared with the value ngspice-39
//! printed for the same card (`NAME.ngspice.json`, made by `scripts/regen_sky130_ac.py`; never
//! from our output). The measures sample the gain and phase of a common-source stage from
//! mid-band to far above its unity-gain frequency, so they check the BSIM4 small-signal
//! linearisation: gm, gds (mid-band gain) and the capacitances (bandwidth, phase, roll-off).
//!
//! Tolerances: gains (dB) within 0.02 dB (0.23 % in magnitude), phases (rad) within 2e-3 rad,
//! frequencies and magnitudes within 0.3 %. ngspice's own capacitances are derivatives written
//! by hand that differ from the exact derivatives of its charges by up to 0.6 % of the largest
//! entry in moderate inversion (docs/bsim4.md); at this bias the difference they make to the
//! response stays well inside these limits (measured: see docs/sky130.md).

mod common;

use common::{root, run_neurospice};
use serde_json::Value;

fn tolerance(name: &str, reference: f64) -> f64 {
    match name.chars().next() {
        Some('g') => 0.02,
        Some('p') => 2e-3,
        _ => 3e-3 * reference.abs(),
    }
}

fn check(stem: &str) {
    let dir = root().join("tests/golden_ac");
    let reference: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{stem}.ngspice.json")))
            .unwrap_or_else(|e| panic!("{stem}: no ngspice reference: {e}")),
    )
    .unwrap();
    assert!(reference.len() >= 5, "{stem}: too few measures");
    let cir = format!("tests/golden_ac/{stem}.cir");
    let out = run_neurospice(&["run", &cir], &root(), None);
    assert_eq!(out.code, Some(0), "{stem}: {}", out.describe());
    let mut problems = Vec::new();
    for (name, r) in &reference {
        let r = r.as_f64().unwrap();
        let ours = out.stdout.lines().find_map(|l| {
            let mut t = l.split_whitespace();
            (t.next() == Some(name.as_str()) && t.next() == Some("="))
                .then(|| t.next().and_then(|v| v.parse::<f64>().ok()))
                .flatten()
        });
        match ours {
            None => problems.push(format!("{name}: not printed (ngspice {r:e})")),
            Some(o) => {
                let tol = tolerance(name, r);
                if (o - r).abs() > tol || o.is_nan() {
                    problems.push(format!(
                        "{name}: ours {o:e}, ngspice {r:e}, tolerance {tol:e}"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{stem}:\n  {}\n--- stdout ---\n{}",
        problems.join("\n  "),
        out.stdout
    );
}

#[test]
fn sky130_common_source_gain_and_bandwidth() {
    check("sky130_cs_ac");
}
