//! Grounded voltage sources are taken out of the matrix the LU factors (block elimination in
//! `solver::system`): a part cut at a supply or at input lines factors only its own nodes.
//! Checked against an independent dense solve of the full system (the devices' own Jacobian,
//! every unknown kept) and against the closed form of an RC charged through a source; the
//! structure (how many unknowns the LU sees) is pinned, never a timing.

use neurospice::analysis::{self, Save};
use neurospice::netlist::{self, Netlist, lexer::lex_str};
use neurospice::solver::op::operating_point;
use neurospice::solver::system::System;

fn circuit(text: &str) -> neurospice::circuit::Circuit {
    let lexed = lex_str(text, "test.cir").expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    netlist::elaborate(&nl, Default::default()).expect("elaborate")
}

/// Solves J x = b densely (partial pivoting), J row-major n x n.
fn dense_solve(mut j: Vec<f64>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for k in 0..n {
        let p = (k..n)
            .max_by(|&a, &c| j[a * n + k].abs().total_cmp(&j[c * n + k].abs()))
            .unwrap();
        for c in 0..n {
            j.swap(k * n + c, p * n + c);
        }
        b.swap(k, p);
        assert!(j[k * n + k] != 0.0, "reference matrix singular");
        for r in k + 1..n {
            let m = j[r * n + k] / j[k * n + k];
            for c in k..n {
                j[r * n + c] -= m * j[k * n + c];
            }
            b[r] -= m * b[k];
        }
    }
    for k in (0..n).rev() {
        let s: f64 = (k + 1..n).map(|c| j[k * n + c] * b[c]).sum();
        b[k] = (b[k] - s) / j[k * n + k];
    }
    b
}

/// The operating point of a linear circuit through the system (with elimination) and through
/// a dense solve of F(0) + J x = 0 over every unknown; returns (system, x, reference).
fn both(text: &str) -> (System, Vec<f64>, Vec<f64>) {
    let c = circuit(text);
    let mut sys = System::new(&c).expect("system");
    let n = sys.n();
    let mut x = vec![0.0; n + 1];
    operating_point(&mut sys, &mut x, "test").expect("op");
    let zero = vec![0.0; n + 1];
    let (jf, _) = sys.dense_jacobians(&zero, 0.0, true);
    let rhs: Vec<f64> = sys.f[1..=n].iter().map(|f| -f).collect();
    let mut want = vec![0.0];
    want.extend(dense_solve(jf, rhs));
    (sys, x, want)
}

fn assert_close(sys: &System, x: &[f64], want: &[f64]) {
    for k in 1..x.len() {
        let tol = 1e-12 * want[k].abs().max(1e-3);
        assert!(
            (x[k] - want[k]).abs() <= tol,
            "{}: {} against {}",
            sys.names[k],
            x[k],
            want[k]
        );
    }
}

const LINES: &str = "grounded and floating sources\n\
    V1 a 0 1.0\nV2 b 0 2.5\nR1 a m 1k\nR2 b m 2k\nR3 m c 3k\n\
    V3 c d 0.5\nR4 d 0 4k\nVam e 0 0\nR5 m e 5k\nR6 a b 7k\nC1 m 0 1p\n";

#[test]
fn grounded_sources_leave_the_matrix_and_their_currents_are_exact() {
    // nodes a b m c d e, branches V1 V2 V3 Vam: the grounded V1, V2 and the 0 V ammeter Vam
    // leave with their nodes; the floating V3 stays (m, c, d and its branch)
    let (sys, x, want) = both(&format!("{LINES}.op\n.end\n"));
    assert_eq!(sys.n(), 10);
    assert_eq!(sys.factored_unknowns(), 4);
    assert_close(&sys, &x, &want);
    // the currents are the ones the resistors carry (a source's current flows from + through
    // the source to -, so a source delivering power has a negative current)
    let k = |name: &str| {
        sys.names
            .iter()
            .position(|s| s.eq_ignore_ascii_case(name))
            .unwrap()
    };
    let (va, vb, vm) = (x[k("a")], x[k("b")], x[k("m")]);
    let i_v1 = -((va - vm) / 1e3 + (va - vb) / 7e3);
    assert!((x[k("v1")] - i_v1).abs() < 1e-15, "{}", x[k("v1")]);
    assert!((x[k("vam")] - (vm / 5e3)).abs() < 1e-15);
}

#[test]
fn a_source_whose_current_is_read_stays_in_the_matrix() {
    // F1 reads i(V1): column V1 has another row, so V1 and its node stay; V2 still leaves
    let (sys, x, want) = both(&format!("{LINES}F1 0 m V1 0.5\n.op\n.end\n"));
    assert_eq!(sys.factored_unknowns(), 6);
    assert_close(&sys, &x, &want);
}

#[test]
fn a_part_with_only_sources_factors_nothing() {
    let (sys, x, want) =
        both("sources alone\nV1 a 0 1\nR1 a 0 1k\nV2 b 0 2\nR2 a b 1k\n.op\n.end\n");
    assert_eq!(sys.factored_unknowns(), 0);
    assert_close(&sys, &x, &want);
}

#[test]
fn an_rc_charged_by_a_source_matches_the_closed_form_with_its_current() {
    // 1 V step (1 ps rise) into R = 1k, C = 1p: v(m) = 1 - exp(-t/tau), i(V1) = -(1 - v)/R
    let c = circuit(
        "rc\nV1 a 0 PULSE(0 1 0 1p)\nR1 a m 1k\nC1 m 0 1p\n\
         .options reltol=1e-6\n.tran 10p 5n\n.end\n",
    );
    let sys = System::new(&c).expect("system");
    assert_eq!(sys.factored_unknowns(), 1, "the membrane alone");
    let r = analysis::run(&c, &Save::All).expect("run");
    let t = r.tran.expect("tran");
    let col = |name: &str| {
        let j = t
            .names
            .iter()
            .position(|s| s.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("no {name} in {:?}", t.names));
        t.rows.iter().map(|r| r[j]).collect::<Vec<f64>>()
    };
    let (ts, v, i) = (col("time"), col("v(m)"), col("i(v1)"));
    let tau = 1e-9;
    let mut checked = 0;
    for ((&t, &v), &i) in ts.iter().zip(&v).zip(&i) {
        if t < 0.1e-9 {
            continue;
        }
        let exact = 1.0 - (-(t - 0.5e-12) / tau).exp();
        assert!(
            (v - exact).abs() < 2e-4,
            "v(m) at {t:e}: {v} against {exact}"
        );
        assert!(
            (i + (1.0 - v) / 1e3).abs() < 1e-9,
            "i(v1) at {t:e}: {i} against {}",
            -(1.0 - v) / 1e3
        );
        checked += 1;
    }
    assert!(checked > 50);
}

#[test]
fn crossbar_neurons_factor_their_membrane_alone() {
    // 4 neurons on 8 shared PULSE input lines through weight resistors: the split cuts at the
    // lines, every part holds its copies of the lines it reads and factors one unknown
    let mut t = String::from("crossbar\n.model rst sw vt=0.35 vh=0.15 ron=10k roff=1e12\n");
    for j in 1..=8 {
        t += &format!("Vin{j} in{j} 0 PULSE(0 1 {}n 1n 1n 80n 100n)\n", 5 * j);
    }
    for k in 1..=4 {
        for j in (1..=8).filter(|j| (j + k) % 3 != 0) {
            t += &format!("R{k}_{j} in{j} m{k} {}meg\n", 1 + (j * k) % 3);
        }
        t += &format!("C{k} m{k} 0 1p\nS{k} m{k} 0 m{k} 0 rst\n");
    }
    t += ".tran 1n 2u\n.end\n";
    let c = circuit(&t);
    let parts = analysis::split(&c);
    assert_eq!(parts.len(), 4);
    for p in &parts {
        let sys = System::new(&p.circuit).expect("system");
        assert!(sys.n() >= 11, "{} unknowns", sys.n());
        assert_eq!(sys.factored_unknowns(), 1);
    }
    let r = analysis::run(&c, &Save::List(vec!["v(m1)".into()])).expect("run");
    let s = &r.stats;
    assert_eq!(r.parts, 4);
    // linear parts: one Newton iteration per attempted step and one per operating point
    assert_eq!(
        s.newton_iterations,
        s.accepted_steps + s.rejected_steps + 4,
        "{s:?}"
    );
    assert!(s.events >= 8, "{s:?}");
    let v = r.tran.expect("tran").column("v(m1)").expect("v(m1)");
    assert!(v.iter().any(|&v| v > 0.45), "m1 never fires");
}
