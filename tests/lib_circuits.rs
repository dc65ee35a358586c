//! The circuit library (models/neurons.lib, models/c2c8.lib) against closed forms: every
//! netlist in netlists/ that uses it is run here and compared with its analytic behaviour.

use neurospice::analysis::{RunOptions, RunResult, Save, run};
use neurospice::netlist::{self, Netlist, lexer::lex_file, lexer::lex_str};
use neurospice::neuro::netgen::{C2cSpec, c2c_ideal_gain, c2c_subckt};
use neurospice::sweep::{SweepSpec, run_sweep};
use std::path::Path;

fn parse(path: &str) -> Netlist {
    let lexed = lex_file(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    Netlist::parse(&lexed).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sweep(nl: &Netlist, name: &str, values: Vec<f64>, ro: &RunOptions) -> Vec<(f64, RunResult)> {
    let sw = SweepSpec {
        name: name.into(),
        values,
    };
    run_sweep(nl, &sw, ro)
        .into_iter()
        .map(|(v, r)| (v, r.unwrap_or_else(|e| panic!("{name}={v}: {e}"))))
        .collect()
}

fn last(r: &RunResult, col: &str) -> f64 {
    let t = r.tran.as_ref().expect("transient");
    *t.column(col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .last()
        .expect("points")
}

#[test]
fn if_beh_period_is_c_vth_over_i_plus_tref() {
    let nl = parse("netlists/if_beh.cir");
    let ro = RunOptions {
        save: Save::List(vec![]),
        spikes: vec![("spk".into(), 0.5)],
    };
    for (iin, r) in sweep(&nl, "iin", vec![1e-6, 2e-6, 0.5e-6], &ro) {
        // 1 pF, vth 0.5 V, tref 100 ns; the 10 Ohm reset adds 10 Ohm*1 pF*ln(0.5/0.01) = 39 ps
        let period = 1e-12 * 0.5 / iin + 100e-9 + 10.0 * 1e-12 * (0.5f64 / 0.01).ln();
        let sp = &r.spikes[0];
        let (n, first, isi, _) = sp.stats();
        assert!(n >= 3, "iin={iin}: {n} spikes");
        assert!(
            (first - 1e-12 * 0.5 / iin).abs() < 1e-4 * first,
            "iin={iin}: first spike {first}"
        );
        assert!(
            (isi - period).abs() < 1e-3 * period,
            "iin={iin}: period {isi}, expected {period}"
        );
    }
}

#[test]
fn committed_c2c8_is_what_gen_writes() {
    let text = std::fs::read_to_string("models/c2c8.lib").expect("models/c2c8.lib");
    let generated = c2c_subckt(&C2cSpec::new(8)).expect("8-bit ladder");
    assert_eq!(
        text, generated,
        "regenerate: neurospice gen c2c --bits 8 -o models/c2c8.lib"
    );
}

/// Every code of the 8-bit ladder: after the input step v(out) = code/256 V within 0.1 % of an
/// LSB (charge redistribution in a transient; the 1e15 Ohm leaks only give the .op a DC path).
#[test]
fn c2c8_ideal_transfer_within_a_thousandth_of_an_lsb() {
    let nl = parse("netlists/c2c_dac.cir");
    let ro = RunOptions {
        save: Save::List(vec!["v(out)".into()]),
        spikes: vec![],
    };
    let lsb = 1.0 / 256.0;
    let codes: Vec<f64> = (0..256).map(f64::from).collect();
    let mut worst: f64 = 0.0;
    for (code, r) in sweep(&nl, "code", codes, &ro) {
        let err = last(&r, "v(out)") - c2c_ideal_gain(8, code as u64);
        worst = worst.max(err.abs());
    }
    assert!(worst < 1e-3 * lsb, "worst error {worst} V, LSB {lsb} V");
}

/// A freshly generated ladder (other bit count, unit capacitance and a parasitic ratio) used
/// through .include: ideal codes exact; with parasitics the transfer stays monotonic and
/// below the ideal one (the parasitic shunts charge to ground at every node).
#[test]
fn generated_ladders_run_and_parasitics_only_lower_the_gain() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (par, name) in [(0.0, "lad"), (0.1, "ladp")] {
        let mut spec = C2cSpec::new(5);
        spec.cu = 5e-15;
        spec.parasitic = par;
        spec.name = name.into();
        let lib = dir.path().join(format!("{name}.lib"));
        std::fs::write(&lib, c2c_subckt(&spec).expect("ladder")).expect("write");
        let mut prev = -1.0;
        for code in 0..32u64 {
            let text = format!(
                "ladder\n* generated\n.include {}\nVin in 0 PULSE(0 1 1n 1n)\nX1 in out {name} code={code}\n.tran 1n 20n\n.end\n",
                lib.display()
            );
            let lexed =
                lex_str(&text, dir.path().join("b.cir").to_str().expect("utf8")).expect("lex");
            let nl = Netlist::parse(&lexed).expect("parse");
            let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
            let r = run(&c, &Save::List(vec!["v(out)".into()])).expect("run");
            let v = last(&r, "v(out)");
            let ideal = c2c_ideal_gain(5, code);
            if par == 0.0 {
                assert!(
                    (v - ideal).abs() < 1e-3 / 32.0,
                    "code {code}: {v} vs {ideal}"
                );
            } else {
                assert!(
                    v <= ideal + 1e-9 && v > prev,
                    "code {code}: {v} (ideal {ideal})"
                );
            }
            prev = v;
        }
    }
}

/// Op-amp integrator behind the C-2C synapse: dv(out)/dv(in) = -C_in/C_f with
/// C_in = 2*cu*code/256, within 1 % while the output is in its linear range.
#[test]
fn opamp_integrator_slope_is_cin_over_cf() {
    let nl = parse("netlists/opamp_integrator.cir");
    let ro = RunOptions {
        save: Save::List(vec!["v(in)".into(), "v(out)".into()]),
        spikes: vec![],
    };
    for (code, r) in sweep(&nl, "code", vec![64.0, 200.0, 255.0], &ro) {
        let t = r.tran.as_ref().expect("transient");
        let vin = t.column("v(in)").expect("v(in)");
        let vout = t.column("v(out)").expect("v(out)");
        let expect = -(2.0 * 10e-15 * code / 256.0) / 40e-15;
        // least-squares slope where the output is between 0.45 V and 0.25 V (linear range)
        let pts: Vec<(f64, f64)> = vin
            .iter()
            .zip(&vout)
            .filter(|&(&x, &y)| x > 0.0 && (0.25..0.45).contains(&y))
            .map(|(&x, &y)| (x, y))
            .collect();
        assert!(pts.len() > 10, "code {code}: {} points in range", pts.len());
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let slope = sxy / sxx;
        assert!(
            (slope / expect - 1.0).abs() < 0.01,
            "code {code}: slope {slope}, expected {expect}"
        );
        // past the linear range the output saturates smoothly at vlo = 0.05 V, never below
        let vmin = vout.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(
            vmin > 0.05 - 1e-6,
            "code {code}: output {vmin} below the swing"
        );
    }
}

/// The behavioural comparator decides correctly for inputs beyond its 10 mV offset; the
/// cmos28 latch (no mismatch in a nominal run) decides correctly for |dv| >= 1 mV.
#[test]
fn comparators_decide_beyond_their_offset() {
    let nl = parse("netlists/comparator.cir");
    let ro = RunOptions {
        save: Save::List(vec!["v(outp)".into(), "v(outn)".into(), "v(cout)".into()]),
        spikes: vec![],
    };
    let dvs = vec![-0.05, -0.01, -0.001, 0.001, 0.005, 0.011, 0.05];
    for (dv, r) in sweep(&nl, "dv", dvs, &ro) {
        let cout = last(&r, "v(cout)");
        if dv > 0.0105 {
            assert!(cout > 0.99, "dv {dv}: behavioural output {cout}");
        } else if dv < 0.0095 {
            assert!(cout < 0.01, "dv {dv}: behavioural output {cout}");
        }
        let (p, n) = (last(&r, "v(outp)"), last(&r, "v(outn)"));
        if dv > 0.0 {
            assert!(p < 0.05 && n > 0.95, "dv {dv}: latch outp {p} outn {n}");
        } else {
            assert!(n < 0.05 && p > 0.95, "dv {dv}: latch outp {p} outn {n}");
        }
    }
}

/// Regression: a B source inside a subcircuit read v(port) by the port's own name at top
/// level (an unknown node, or worse a same-named top-level node) instead of the node the
/// instance connects. Found with the op-amp macromodel.
#[test]
fn b_source_inside_subckt_reads_the_instance_nodes() {
    let text = "b in subckt\n* expected v(o) = 2*(v(a) - v(b)) = 1 V, v(inp) unrelated\n\
        .subckt amp inp inn out\nR0 inp inn 1e12\nBo out 0 V={2*v(inp,inn) + 0*i(vl)}\nVl loc 0 0\n.ends\n\
        V1 a 0 0.75\nV2 b 0 0.25\nV3 inp 0 5\nX1 a b o amp\nR2 o 0 1k\n.op\n.end\n";
    let lexed = lex_str(text, "b.cir").expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
    let r = run(&c, &Save::All).expect("run");
    let op = r.op.expect("op");
    let v = op.iter().find(|(k, _)| k == "v(o)").expect("v(o)").1;
    assert!((v - 1.0).abs() < 1e-9, "v(o) = {v}");
}

/// cmos28 axon-hillock IF neuron: the charge per spike I*t_charge is the same for every input
/// current (an integrate-and-fire neuron), close to vdd*cfb (charge balance, plus the reset's
/// overshoot), and the first spike comes when C_total*V_M/I has passed, V_M the switching point
/// of a 1u/100n inverter (between 0.4 and 0.6 V).
#[test]
fn if_cmos_charge_per_spike_does_not_depend_on_the_input() {
    let nl = parse("netlists/if_cmos.cir");
    let ro = RunOptions {
        save: Save::List(vec![]),
        spikes: vec![("spk".into(), 0.5), ("x1.n1".into(), 0.5)],
    };
    let mut charges = Vec::new();
    for (iin, r) in sweep(&nl, "iin", vec![10e-9, 20e-9, 40e-9], &ro) {
        let (rise, fall) = (&r.spikes[0].times, &r.spikes[1].times);
        assert!(
            rise.len() >= 2 && fall.len() >= 2,
            "iin={iin}: {rise:?} {fall:?}"
        );
        let vm = rise[0] * iin / 120e-15;
        assert!((0.4..0.6).contains(&vm), "iin={iin}: switching point {vm}");
        for k in 0..rise.len() - 1 {
            // the spike falls (n1 rises) before the next spike rises
            assert!(fall[k] < rise[k + 1]);
            charges.push((rise[k + 1] - fall[k]) * iin);
        }
    }
    let q0 = 1.0 * 20e-15;
    let (lo, hi) = charges
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &q| (a.min(q), b.max(q)));
    assert!(
        lo > q0 && hi < 1.3 * q0,
        "charge per spike {lo:e}..{hi:e} C"
    );
    assert!(hi / lo < 1.03, "charge per spike varies {lo:e}..{hi:e} C");
}
