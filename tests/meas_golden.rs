//! `.meas` goldens: every netlist in `tests/golden_meas/` is run through the `neurospice`
//! binary (`--meas-json`) and each measure is compared with the value ngspice 39 printed for
//! the same card (`NAME.ngspice.json`, made by `scripts/regen_meas_goldens.py`; measures ngspice
//! cannot take, DERIV and v(a,b), have an independent ngspice reference named in the netlist).
//! A measure ngspice could not take must fail here too, with a reason, and never be a number.
//!
//! Tolerance: 0.1% of ngspice's value, except where the cause of the difference is known and
//! listed in [`LOOSE`]. Known differences that stay inside 0.1% (documented in docs/meas.md):
//! ngspice's AVG does not cut its window at FROM/TO (it stops at the first time point past TO),
//! so for `sine_stats/avgpart` ours is the exact average 1.389229 and ngspice's is 4e-4 high;
//! crossing times differ by the two simulators' time grids (a few 1e-5).

mod common;

use common::{root, run_neurospice};
use serde_json::Value;
use std::path::Path;

const REL: f64 = 1e-3;

/// (netlist, measure, relative tolerance, why).
const LOOSE: &[(&str, &str, f64, &str)] = &[
    (
        "if_array_spikes",
        "va_at_b2",
        5e-3,
        "v(ma) at b's second spike: neuron a has fired and been reset before it, and ngspice \
     opens its reset switch at the first time point after the threshold (linear interpolation \
     across the reset), neurospice at the located event",
    ),
    (
        "sky130_neuron_cm",
        "t01",
        5e-3,
        "the 0.1 V crossing 42 ns after the reset nfet releases the membrane: at the default \
         reltol our time steps over the release are coarser than ngspice's (ours moves by \
         1.8e-3 between tmax = 1 ns and a converged run, ngspice's by 6e-5; converged, the two \
         differ by 6e-4); the issue's spike-time criterion is 0.5 %",
    ),
];

fn check(stem: &str) {
    let dir = root().join("tests/golden_meas");
    let reference: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{stem}.ngspice.json")))
            .unwrap_or_else(|e| panic!("{stem}: no ngspice reference: {e}")),
    )
    .unwrap_or_else(|e| panic!("{stem}: bad reference JSON: {e}"));
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("m.json");
    let cir = format!("tests/golden_meas/{stem}.cir");
    let out = run_neurospice(
        &["run", &cir, "-q", "--meas-json", json.to_str().unwrap()],
        &root(),
        Some(std::time::Duration::from_secs(600)),
    );
    assert_eq!(out.code, Some(0), "{stem}: {}", out.describe());
    let ours: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut problems = Vec::new();
    for (name, r) in &reference {
        let Some(o) = ours.get(name) else {
            problems.push(format!("{name}: missing from our results"));
            continue;
        };
        // stdout carries the same result in ngspice's layout
        if !out
            .stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name.as_str()))
        {
            problems.push(format!("{name}: no `{name} = ...` line on stdout"));
        }
        match (r.as_f64(), o.as_f64()) {
            (Some(r), Some(o)) => {
                let (tol, why) = LOOSE
                    .iter()
                    .find(|(s, n, _, _)| *s == stem && n == name)
                    .map(|(_, _, t, w)| (*t, *w))
                    .unwrap_or((REL, ""));
                let rel = (o - r).abs() / r.abs();
                if rel.is_nan() || rel > tol {
                    problems.push(format!(
                        "{name}: ours {o:e}, ngspice {r:e}, relative difference {rel:.2e} > {tol:e} {why}"
                    ));
                }
            }
            (None, None) => {
                let reason = o.get("failed").and_then(Value::as_str).unwrap_or("");
                if reason.is_empty() {
                    problems.push(format!("{name}: failed without a reason: {o}"));
                }
            }
            (Some(r), None) => problems.push(format!("{name}: ngspice {r:e}, ours {o}")),
            (None, Some(o)) => problems.push(format!(
                "{name}: ngspice could not take it ({r}), ours gave a number {o:e}"
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{stem}:\n  {}\n--- stdout ---\n{}",
        problems.join("\n  "),
        out.stdout
    );
}

macro_rules! goldens {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
        const GOLDENS: &[&str] = &[$(stringify!($name)),*];
    };
}

goldens!(
    crossings,
    dc_sweep,
    deriv,
    find_at,
    find_when,
    if_array_spikes,
    if_spike,
    last_td,
    param,
    rc_settle,
    ring_pp,
    sine_stats,
    sky130_cm_neuron,
    sky130_neuron_cm,
    sky130_neuron_td,
);

/// Every netlist in the directory has a test above and a reference.
#[test]
fn every_golden_is_tested() {
    let dir = root().join("tests/golden_meas");
    let mut stems: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "cir").then_some(stem)
        })
        .collect();
    stems.sort();
    assert_eq!(stems, GOLDENS);
    for s in &stems {
        assert!(Path::new(&dir.join(format!("{s}.ngspice.json"))).exists());
    }
}
