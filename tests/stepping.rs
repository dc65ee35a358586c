//! How much work the time stepper spends on events: a switch event is landed on and crossed
//! with a handful of steps, not by halving the step until it fails, and decoupled neurons do
//! not pay for each other's events. Bounds are structural (the TMAX grid plus a fixed budget
//! per event), checked on the solver's own counters; the spike times themselves are checked
//! against the closed form in tests/analytic.rs and against ngspice in tests/golden.rs.

use neurospice::analysis::{self, RunOptions, RunResult, Save};
use neurospice::netlist::{self, Netlist, lexer::lex_str};

fn run(text: &str, spikes: Vec<(String, f64)>) -> RunResult {
    let lexed = lex_str(text, "test.cir").expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
    let ro = RunOptions {
        save: Save::List(vec!["none".into()]),
        spikes,
    };
    analysis::run_with(&c, &ro, &mut Default::default()).expect("run")
}

/// A neuron charged by `i` amps into 1 pF, reset by a switch (RON 100 ohm) from 0.5 V to 0.2 V.
fn neuron(k: usize, i: f64) -> String {
    format!("I{k} 0 m{k} PULSE(0 {i:e} 0 1n)\nC{k} m{k} 0 1p\nS{k} m{k} 0 m{k} 0 rst\n")
}

const MODEL: &str = ".model rst sw vt=0.35 vh=0.15 ron=100 roff=1e12\n";

#[test]
fn a_switch_event_costs_a_bounded_number_of_steps() {
    // 5 us at TMAX = TSTEP = 10 ns: 500 steps of ramp; 2 uA fires every 150 ns (2 events each)
    let text = format!("if\n{MODEL}{}.tran 10n 5u\n.end\n", neuron(1, 2e-6));
    let r = run(&text, vec![("m1".into(), 0.45)]);
    let s = &r.stats;
    let spikes = r.spikes[0].times.len();
    // first crossing of 0.45 V at 0.45 pC / 2 uA + 0.5 ns (the 1 ns current ramp), then every
    // 0.3 pC / 2 uA = 150 ns plus the ~0.09 ns reset
    let (t0, period): (f64, f64) = (0.45e-12 / 2e-6 + 0.5e-9, 150.09e-9);
    let expected = 1 + ((5e-6 - t0) / period).floor() as usize;
    assert_eq!(spikes, expected, "spikes of 2 uA into 1 pF over 5 us");
    assert!(
        s.events >= 2 * spikes - 2,
        "every reset is two switch events: {s:?}"
    );
    // the grid alone needs 500 steps; each switch event (landing, crossing, the 0.1 ns
    // discharge or the regrowth to TMAX) may add at most 12 accepted steps and 2 rejected
    // ones, each probe crossing (landing, crossing, then the interrupted step resumes) 3 and 2
    let (ev, sp) = (s.events, spikes);
    assert!(
        s.accepted_steps <= 500 + 12 * ev + 3 * sp,
        "accepted {} for {ev} events and {sp} probe crossings",
        s.accepted_steps
    );
    assert!(
        s.rejected_steps <= 2 * (ev + sp),
        "rejected {} for {ev} events and {sp} probe crossings",
        s.rejected_steps
    );
    // a linear part takes one exact Newton solve per attempted step
    assert_eq!(s.newton_iterations, s.accepted_steps + s.rejected_steps + 1);
}

#[test]
fn decoupled_neurons_do_not_pay_for_each_others_events() {
    // one neuron alone, then the same neuron among 49 others firing at other rates: its part
    // takes the same steps, so the array costs the sum of its neurons
    let alone = run(
        &format!("one\n{MODEL}{}.tran 10n 2u\n.end\n", neuron(1, 1.3e-6)),
        vec![],
    );
    let mut text = format!("array\n{MODEL}");
    let mut sum_accepted = 0;
    for k in 1..=50 {
        let i = 1e-6 * (1.0 + 0.6 * k as f64 / 50.0);
        text += &neuron(k, i);
        let one = run(
            &format!("one\n{MODEL}{}.tran 10n 2u\n.end\n", neuron(1, i)),
            vec![],
        );
        sum_accepted += one.stats.accepted_steps;
    }
    text += ".tran 10n 2u\n.end\n";
    let array = run(&text, vec![]);
    assert_eq!(array.parts, 50, "each neuron is its own part");
    assert_eq!(
        array.stats.accepted_steps, sum_accepted,
        "the array's steps are the sum of its neurons' (no shared step)"
    );
    assert!(alone.stats.accepted_steps < 400, "{:?}", alone.stats);
}
