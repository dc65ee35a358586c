//! One crossing rule everywhere: `.meas` (tests/meas_golden.rs), `meas::wave` and the Monte
//! Carlo `--measure` kinds `cross`, `rise` and `fall` against ngspice 39's `.meas WHEN ...
//! CROSS=|RISE=|FALL=` on a waveform with several rising and falling crossings that starts
//! above the threshold (tests/golden_meas/crossings.cir and its ngspice reference, made by
//! scripts/regen_meas_goldens.py). Regression: `cross` was read as `rise` by the Monte Carlo
//! measures, which gave 1.6 us here instead of 0.4 us.

mod common;

use common::root;
use neurospice::analysis::{self, RunResult, Save};
use neurospice::circuit::Circuit;
use neurospice::mc::measure::{Measures, Simple, SimpleMeasures};
use neurospice::meas::Deck;
use neurospice::meas::wave::{Edge, Nth, crossing};
use serde_json::Value;

const REL: f64 = 1e-6;

fn run() -> (Circuit, RunResult) {
    let deck = Deck::load(&root().join("tests/golden_meas/crossings.cir")).unwrap();
    let c = neurospice::netlist::elaborate(&deck.netlist, Default::default()).unwrap();
    let res = analysis::run(&c, &Save::All).unwrap();
    (c, res)
}

fn reference() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(root().join("tests/golden_meas/crossings.ngspice.json"))
        .expect("ngspice reference");
    serde_json::from_str(&text).unwrap()
}

fn close(what: &str, ours: Option<f64>, ngspice: &Value) {
    match (ours, ngspice.as_f64()) {
        (Some(o), Some(r)) => assert!(
            ((o - r) / r).abs() < REL,
            "{what}: ours {o:e}, ngspice {r:e}"
        ),
        (None, None) => {}
        (o, _) => panic!("{what}: ours {o:?}, ngspice {ngspice}"),
    }
}

#[test]
fn wave_crossings_count_as_ngspice() {
    let (_, res) = run();
    let t = res.tran.unwrap();
    let x = t.column("time").unwrap();
    let y = t.column("v(a)").unwrap();
    let r = reference();
    let cases = [
        ("c1", Edge::Cross, Nth::N(1)),
        ("c2", Edge::Cross, Nth::N(2)),
        ("c3", Edge::Cross, Nth::N(3)),
        ("cl", Edge::Cross, Nth::Last),
        ("r1", Edge::Rise, Nth::N(1)),
        ("r2", Edge::Rise, Nth::N(2)),
        ("rl", Edge::Rise, Nth::Last),
        ("r3", Edge::Rise, Nth::N(3)),
        ("f1", Edge::Fall, Nth::N(1)),
        ("f2", Edge::Fall, Nth::N(2)),
        ("f3", Edge::Fall, Nth::N(3)),
        ("fl", Edge::Fall, Nth::Last),
    ];
    assert_eq!(cases.len(), r.len(), "every reference measure is checked");
    for (name, edge, nth) in cases {
        close(name, crossing(&x, &y, 0.6, edge, nth), &r[name]);
    }
}

#[test]
fn monte_carlo_cross_rise_fall_are_ngspices() {
    let (c, res) = run();
    let r = reference();
    let m = SimpleMeasures(
        ["c=cross(v(a),0.6)", "r=rise(v(a),0.6)", "f=fall(v(a),0.6)"]
            .iter()
            .map(|s| Simple::parse(s).unwrap())
            .collect(),
    );
    let got: Vec<Option<f64>> = m.measure(&c, &res).into_iter().map(|v| v.ok()).collect();
    close("cross", got[0], &r["c1"]);
    close("rise", got[1], &r["r1"]);
    close("fall", got[2], &r["f1"]);
    // the first crossing of a waveform that starts above the threshold is a fall
    assert_ne!(got[0], got[1]);
    assert_eq!(got[0], got[2]);
}
