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

/// Neurons on a shared 1 ohm rail whose crossings of the reset threshold follow one another at
/// a fraction of the event tolerance: a crossing found right at the start of a step is located
/// already, so the step goes across it instead of "landing before it" with a sliver of a step
/// at the minimum step (where a large array's branch currents drown in the charges' rounding:
/// the level-1 mirror array at N = 1000 stopped with "timestep too small" that way).
#[test]
fn crossings_close_together_are_crossed_not_sliced() {
    for spread in [2e-7, 2.5e-7, 3e-7, 3.5e-7] {
        let mut text = format!("cluster\n{MODEL}Vdd vdd 0 1\nRr vdd rail 1\n");
        for k in 1..=10 {
            let i = 1e-6 * (1.0 + k as f64 * spread);
            text += &format!(
                "I{k} rail m{k} PULSE(0 {i:.15e} 0 1n)\nC{k} m{k} 0 1p\nS{k} m{k} 0 m{k} 0 rst\n"
            );
        }
        // the coupled solve's event handling is the subject: no tearing at the rail
        text += ".options nomultirate\n.tran 10n 2u\n.end\n";
        let r = run(&text, vec![("m1".into(), 0.45), ("m10".into(), 0.45)]);
        let s = &r.stats;
        assert_eq!(r.parts, 1, "the rail couples the neurons");
        // the minimum step is 1e-11 * TMAX = 1e-19 s; the shortest step across a crossing is
        // half its event tolerance, ten minimum steps at least, here far more
        assert!(
            s.min_step >= 1e-17,
            "spread {spread:e}: a sliver step of {:e} s: {s:?}",
            s.min_step
        );
        // every neuron resets 5 times in 2 us (0.35 pC at ~1 uA, then 0.3 pC per period), each
        // reset two switch events (crossings sharing a step share one)
        assert!(s.events <= 100 && s.events >= 10, "{s:?}");
        // closed form: 0.45 pC at ~1 uA after the 1 ns ramp's 0.5 ns, then every 0.3 pC plus
        // the ~0.09 ns reset
        for sp in &r.spikes {
            assert_eq!(sp.times.len(), 6, "spread {spread:e}: {:?}", sp.times);
            for (n, &t) in sp.times.iter().enumerate() {
                let expect = 450.5e-9 + n as f64 * 300.09e-9;
                assert!(
                    (t / expect - 1.0).abs() < 1e-3,
                    "spike {n} at {t:e}, not {expect:e}"
                );
            }
        }
    }
}

/// Newton at a step far below the event tolerance on a part where 400 capacitors hang from
/// one source: the source's branch current is read off a KCL row whose terms are C/h times
/// the node voltages, so its update cannot settle below the rounding of that sum. The
/// convergence test allows for that floor (computed from the row's own terms), so the step
/// converges instead of being cut until "timestep too small".
#[test]
fn branch_currents_converge_to_the_rounding_of_their_rows() {
    use neurospice::solver::{op::operating_point, system::NewtonCtx, system::System};
    let mut text = String::from(
        "caps on a source\n.model nch NMOS (LEVEL=1 VTO=0.5 KP=200u LAMBDA=0.1)\n\
         Vdd vdd 0 1.8\nIref vdd vb 1u\nM0 vb vb 0 0 nch W=2u L=1u\n",
    );
    for k in 1..=400 {
        let w = 2.0 + k as f64 / 400.0;
        text +=
            &format!("M{k} m{k} vb 0 0 nch W={w}u L=1u\nC{k} vdd m{k} 0.5p\nR{k} vdd m{k} 1meg\n");
    }
    text += ".tran 1n 1u\n.end\n";
    let lexed = lex_str(&text, "test.cir").expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
    let mut sys = System::new(&c).expect("system");
    let mut x = vec![0.0; sys.n() + 1];
    operating_point(&mut sys, &mut x, "test").expect("op");
    // backward Euler from the operating point: F(x) + a0 (Q(x) - Q0) = 0
    sys.load(&x, 0.0, false, 1.0, false);
    for h in [1e-15, 1e-18, 1e-20, 1e-21, 1e-22] {
        let a0 = 1.0 / h;
        let hist: Vec<f64> = sys.q.iter().map(|q| -a0 * q).collect();
        // Newton starts off the solution (a predictor's guess), so a0 Q and the history no
        // longer cancel exactly: their rounding is what is left in the rows
        let mut xn = x.clone();
        for v in &mut xn[1..=sys.n_nodes] {
            *v += 1e-3;
        }
        let ctx = NewtonCtx::tran(h, a0, &hist, 50);
        let r = sys.newton(&mut xn, &ctx);
        assert!(r.is_ok(), "h = {h:e}: Newton did not converge");
        // nothing moves in so short a step: the nodes stay where they were
        for k in 1..=sys.n_nodes {
            assert!((xn[k] - x[k]).abs() < 1e-6, "h = {h:e}: node {k} moved");
        }
    }
}

/// The level-1 mirror array (4 neurons, shared bias and VDD ramp), with `opts` added.
fn mirrors(opts: &str) -> String {
    let mut s = String::from(
        "mirrors\n.model nch NMOS (LEVEL=1 VTO=0.5 KP=200u LAMBDA=0.1 GAMMA=0.4 PHI=0.8 TOX=10n \
         CGSO=0.3n CGDO=0.3n CGBO=0.03n)\n.model rst sw vt=0.6 vh=0.4 ron=10k roff=1e12\n\
         Vdd vdd 0 PULSE(0 1.8 0 1n)\nIref vdd vb DC 1u\nM0 vb vb 0 0 nch W=2u L=1u\n",
    );
    for k in 1..=4 {
        let w = 2.0 + 0.25 * k as f64;
        s += &format!(
            "M{k} mem{k} vb 0 0 nch W={w}u L=1u\nC{k} vdd mem{k} 0.5p\nS{k} vdd mem{k} vdd mem{k} rst\n"
        );
    }
    s + opts + "\n.tran 1n 1.5u 0 0.2n\n.end\n"
}

#[test]
fn quiet_mosfets_are_bypassed_without_moving_the_spikes() {
    let probes = || {
        (1..=4)
            .map(|k| (format!("mem{k}"), 1.3))
            .collect::<Vec<_>>()
    };
    let on = run(&mirrors(""), probes());
    let off = run(&mirrors(".options nobypass"), probes());
    let off2 = run(&mirrors(".options bypass=0"), probes());
    let (a, b) = (&on.stats, &off.stats);
    assert_eq!(b.bypassed, 0, "nobypass evaluates every load: {b:?}");
    assert_eq!(
        off2.stats.bypassed, 0,
        "bypass=0 is nobypass: {:?}",
        off2.stats
    );
    // 5 MOSFETs per Newton iteration: most of them are quiet at any instant
    let loads = 5 * a.newton_iterations;
    assert!(
        a.bypassed * 2 > loads,
        "{} of {loads} MOSFET loads bypassed: {a:?}",
        a.bypassed
    );
    // the stamps a bypass reuses are within the Newton tolerances: the same steps, the same
    // iterations (within a few), the same spikes to well inside the run's accuracy
    // 1.5 us at TMAX 0.2 ns is a grid of 7500 steps; each reset (two switch events) may add
    // a landing, the step across and the regrowth; about two Newton iterations a step (the
    // 4-mirror run takes 7631 steps, 36 events, 15341 iterations, 99599 bypassed loads)
    assert!(a.accepted_steps <= 7500 + 5 * a.events, "{a:?}");
    assert!(a.events >= 30, "{a:?}");
    let attempts = a.accepted_steps + a.rejected_steps;
    assert!(a.newton_iterations * 10 <= 21 * attempts, "{a:?}");
    let near = |x: usize, y: usize| x.abs_diff(y) * 50 <= y;
    assert!(near(a.accepted_steps, b.accepted_steps), "{a:?} vs {b:?}");
    assert!(
        near(a.newton_iterations, b.newton_iterations),
        "{a:?} vs {b:?}"
    );
    for (sa, sb) in on.spikes.iter().zip(&off.spikes) {
        assert_eq!(
            sa.times.len(),
            sb.times.len(),
            "{:?} vs {:?}",
            sa.times,
            sb.times
        );
        assert!(sa.times.len() >= 2, "{:?}", sa.times);
        for (ta, tb) in sa.times.iter().zip(&sb.times) {
            assert!((ta - tb).abs() <= 1e-4 * tb, "spike {ta:e} vs {tb:e}");
        }
    }
}

#[test]
fn quiet_diodes_are_bypassed_without_moving_the_waveform() {
    // a peak detector: the diode conducts near each crest of the sine and is off (quiet) in
    // between, while the output discharges through R and crosses 1 V rising once a period
    let deck = |opts: &str| {
        format!(
            "peak\n.model dm D (IS=1e-14 N=1 CJO=2p TT=1n)\nVin in 0 SIN(0 2 1meg)\n\
             D1 in out dm\nC1 out 0 1n\nR1 out 0 2k\n{opts}\n.tran 10n 6u\n.end\n"
        )
    };
    let probes = || vec![("out".to_string(), 1.0)];
    let on = run(&deck(""), probes());
    let off = run(&deck(".options nobypass"), probes());
    let (a, b) = (&on.stats, &off.stats);
    assert_eq!(b.bypassed, 0, "{b:?}");
    assert!(a.bypassed > 0, "{a:?}");
    let (ta, tb) = (&on.spikes[0].times, &off.spikes[0].times);
    assert!(tb.len() >= 4, "{tb:?}");
    assert_eq!(ta.len(), tb.len(), "{ta:?} vs {tb:?}");
    for (x, y) in ta.iter().zip(tb) {
        assert!((x - y).abs() <= 1e-4 * y, "crossing {x:e} vs {y:e}");
    }
}
