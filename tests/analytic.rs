//! Analytic references: RC step, RLC ringing, and the integrate-and-fire neuron's period,
//! at default options (1e-3 relative) and with reltol = 1e-6 (1e-5 relative).

use neurospice::analysis::{self, Save, Table};
use neurospice::netlist::{self, Netlist, lexer::lex_str};

fn tran(text: &str) -> Table {
    let lexed = lex_str(text, "test.cir").expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
    analysis::run(&c, &Save::All)
        .expect("run")
        .tran
        .expect("tran")
}

fn rc(options: &str) -> f64 {
    let t = tran(&format!(
        "rc\n{options}\nV1 in 0 PULSE(0 1 0 1p 1p 1 2)\nR1 in out 1k\nC1 out 0 1n\n.tran 10n 5u\n.end\n"
    ));
    let (ts, v) = (t.column("time").unwrap(), t.column("v(out)").unwrap());
    let tau = 1e-6;
    // skip the 1 ps source edge
    ts.iter()
        .zip(&v)
        .filter(|(t, _)| **t > 1e-9)
        .map(|(t, v)| (v - (1.0 - (-(t - 0.5e-12) / tau).exp())).abs())
        .fold(0.0, f64::max)
}

#[test]
fn rc_step_time_constant() {
    let e = rc("");
    assert!(e < 1e-3, "default options: max error {e:e} V of a 1 V step");
    let e = rc(".options reltol=1e-6");
    assert!(e < 1e-5, "reltol=1e-6: max error {e:e} V");
}

/// Relative errors of the ringing frequency and of the decay rate of a series RLC.
fn rlc(options: &str) -> (f64, f64) {
    // series loop: C from c to ground (1 V at t = 0), L from c to b, R from b to ground
    let (r, l, c): (f64, f64, f64) = (20.0, 10e-6, 1e-9);
    let t = tran(&format!(
        "rlc\n{options}\nC1 c 0 {c} ic=1\nL1 c b {l} ic=0\nR1 b 0 {r}\n.tran 2n 4u uic\n.end\n"
    ));
    let (ts, v) = (t.column("time").unwrap(), t.column("v(c)").unwrap());
    let a = r / (2.0 * l);
    let w0 = 1.0 / (l * c).sqrt();
    let wd = (w0 * w0 - a * a).sqrt();
    // extrema of v(c) by a parabola through the three points around each local extremum
    let mut peaks = Vec::new();
    for k in 1..v.len() - 1 {
        if (v[k] - v[k - 1]) * (v[k + 1] - v[k]) < 0.0 {
            let (t0, t1, t2) = (ts[k - 1], ts[k], ts[k + 1]);
            let (y0, y1, y2) = (v[k - 1], v[k], v[k + 1]);
            let d01 = (y1 - y0) / (t1 - t0);
            let d12 = (y2 - y1) / (t2 - t1);
            let c2 = (d12 - d01) / (t2 - t0);
            let c1 = d01 - c2 * (t0 + t1);
            let tp = -c1 / (2.0 * c2);
            let yp = y1 + d01 * (tp - t1) + c2 * (tp - t0) * (tp - t1);
            peaks.push((tp, yp.abs()));
        }
    }
    let n = peaks.len();
    assert!(n > 10, "expected ringing, found {n} extrema");
    let half_period = (peaks[n - 1].0 - peaks[0].0) / (n - 1) as f64;
    let freq_err = ((std::f64::consts::PI / half_period) / wd - 1.0).abs();
    let decay = (peaks[0].1 / peaks[n - 1].1).ln() / (peaks[n - 1].0 - peaks[0].0);
    let decay_err = (decay / a - 1.0).abs();
    (freq_err, decay_err)
}

#[test]
fn rlc_ringing_frequency_and_decay() {
    let (f, d) = rlc("");
    assert!(
        f < 1e-3 && d < 1e-3,
        "default options: frequency error {f:e}, decay error {d:e}"
    );
    let (f, d) = rlc(".options reltol=1e-6");
    assert!(
        f < 1e-5 && d < 1e-5,
        "reltol=1e-6: frequency error {f:e}, decay error {d:e}"
    );
}

/// Rising crossings of `th`, linearly interpolated.
fn crossings(t: &[f64], v: &[f64], th: f64) -> Vec<f64> {
    (1..v.len())
        .filter(|&i| v[i - 1] < th && v[i] >= th)
        .map(|i| t[i - 1] + (th - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1]))
        .collect()
}

fn if_period_error(options: &str) -> f64 {
    let (i, c, rleak, ron, roff, vhi, vlo) = (1e-6, 1e-12, 1e7, 1e3, 1e12, 0.5, 0.2);
    let text = format!(
        "if neuron\n{options}\nI1 0 mem PULSE(0 {i} 0 1n)\nC1 mem 0 {c}\nRleak mem 0 {rleak}\nS1 mem 0 mem 0 sw\n.model sw sw vt=0.35 vh=0.15 ron={ron} roff={roff}\n.tran 1n 4u\n.end\n"
    );
    let t = tran(&text);
    let (ts, v) = (t.column("time").unwrap(), t.column("v(mem)").unwrap());
    // closed form: leaky charge from vlo to vhi with the switch open, leaky discharge with it closed
    let par = |a: f64, b: f64| a * b / (a + b);
    let (r1, r2) = (par(rleak, roff), par(rleak, ron));
    let (vinf1, vinf2) = (i * r1, i * r2);
    let period = r1 * c * ((vinf1 - vlo) / (vinf1 - vhi)).ln()
        + r2 * c * ((vhi - vinf2) / (vlo - vinf2)).ln();
    let sp = crossings(&ts, &v, 0.45);
    assert!(
        sp.len() >= 5,
        "expected periodic firing, got {} spikes",
        sp.len()
    );
    let periods: Vec<f64> = sp.windows(2).map(|w| w[1] - w[0]).collect();
    periods
        .iter()
        .map(|p| ((p - period) / period).abs())
        .fold(0.0, f64::max)
}

#[test]
fn if_neuron_period_matches_closed_form() {
    let e = if_period_error("");
    assert!(e < 1e-3, "default options: period error {e:e}");
    let e = if_period_error(".options reltol=1e-6");
    assert!(e < 1e-5, "reltol=1e-6: period error {e:e}");
}

/// Relative error of the first spike of an IF neuron whose current source ramps up over
/// TR = 1 ns, with TSTEP = 10 ns: the first steps must resolve the ramp (its charge is half a
/// step's worth), as ngspice does by starting at a hundredth of the gap to the first corner.
fn if_first_spike_error(options: &str) -> f64 {
    let (i, c, rleak, tr): (f64, f64, f64, f64) = (1e-6, 1e-12, 1e7, 1e-9);
    let text = format!(
        "if neuron\n{options}\nI1 0 mem PULSE(0 {i} 0 {tr})\nC1 mem 0 {c}\nRleak mem 0 {rleak}\nS1 mem 0 mem 0 sw\n.model sw sw vt=0.35 vh=0.15 ron=1k roff=1e12\n.tran 10n 2u\n.end\n"
    );
    let t = tran(&text);
    let (ts, v) = (t.column("time").unwrap(), t.column("v(mem)").unwrap());
    // during the ramp (tau = 10 us, so the leak is negligible over 1 ns) the membrane gains
    // i tr / 2c; then it charges toward i (rleak || roff) with tau = (rleak || roff) c
    let r1 = rleak * 1e12 / (rleak + 1e12);
    let (v1, vinf) = (i * tr / (2.0 * c), i * r1);
    let first = tr + r1 * c * ((vinf - v1) / (vinf - 0.45)).ln();
    let sp = crossings(&ts, &v, 0.45);
    ((sp[0] - first) / first).abs()
}

#[test]
fn if_neuron_first_spike_includes_the_source_ramp() {
    let e = if_first_spike_error("");
    assert!(e < 1e-4, "default options: first-spike error {e:e}");
    let e = if_first_spike_error(".options reltol=1e-6");
    assert!(e < 1e-5, "reltol=1e-6: first-spike error {e:e}");
}

fn ac(text: &str) -> neurospice::analysis::AcTable {
    let lexed = lex_str(text, "test.cir").expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
    analysis::run(&c, &Save::All).expect("run").ac.expect("ac")
}

fn column<'a>(t: &'a neurospice::analysis::AcTable, name: &str) -> &'a [(f64, f64)] {
    let k = t.names.iter().position(|n| n == name).expect("column");
    &t.vals[k - 1]
}

/// `.ac` of an RC low-pass (with a 45 degree source phase) and a series RLC against their
/// transfer functions: H = 1/(1 + jwRC); the RLC's capacitor voltage 1/(1 - w^2 LC + jwRC).
#[test]
fn ac_matches_rc_and_rlc_transfer_functions() {
    let t = ac("rc\nV1 in 0 DC 2 AC 1 45\nR1 in out 1k\nC1 out 0 1u\n.ac dec 7 1 1meg\n.end\n");
    assert_eq!(t.freqs.len(), 43, "7 per decade over 6 decades, both ends");
    let fc = 1.0 / (2.0 * std::f64::consts::PI * 1e-3);
    let s = std::f64::consts::FRAC_1_SQRT_2;
    for (f, &(re, im)) in t.freqs.iter().zip(column(&t, "v(out)")) {
        let x = f / fc;
        // (1+j)/sqrt2 / (1 + jx)
        let (hr, hi) = ((s + s * x) / (1.0 + x * x), (s - s * x) / (1.0 + x * x));
        let err = (re - hr).hypot(im - hi);
        assert!(
            err < 1e-9 * hr.hypot(hi).max(1e-6),
            "f={f}: {re}+j{im}, want {hr}+j{hi}"
        );
    }
    let t = ac("rlc\nV1 in 0 AC 1\nR1 in a 10\nL1 a b 1m\nC1 b 0 1u\n.ac lin 50 1k 10k\n.end\n");
    assert_eq!(t.freqs.len(), 50);
    for (f, &(re, im)) in t.freqs.iter().zip(column(&t, "v(b)")) {
        let w = 2.0 * std::f64::consts::PI * f;
        let (a, b) = (1.0 - w * w * 1e-3 * 1e-6, w * 10.0 * 1e-6);
        let d = a * a + b * b;
        let (hr, hi) = (a / d, -b / d);
        let err = (re - hr).hypot(im - hi);
        assert!(
            err < 1e-9 * hr.hypot(hi),
            "f={f}: {re}+j{im}, want {hr}+j{hi}"
        );
    }
    // the inductor's current is a branch unknown: i(l1) = v(b) jwC
    let ib = column(&t, "i(l1)");
    let vb = column(&t, "v(b)");
    for ((f, &(ir, ii)), &(vr, vi)) in t.freqs.iter().zip(ib).zip(vb) {
        let w = 2.0 * std::f64::consts::PI * f * 1e-6;
        assert!((ir + w * vi).abs() + (ii - w * vr).abs() < 1e-9 * w * vr.hypot(vi));
    }
}
