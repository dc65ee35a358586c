//! The BJT and JFET cards' syntax and errors (docs/devices.md): the substrate node or model
//! in fourth position, area and m, `ic=` accepted, warnings for what is not modelled, and a
//! clear located error for each malformed card; MOSFET levels 2 and 3: the square law they
//! reduce to without their second-order effects, series resistances through internal nodes,
//! and the cards they refuse. Their numbers are checked against ngspice-39 in
//! `tests/conformance/dev_*` and their Jacobians in `tests/jacobian.rs`.

use neurospice::analysis::{self, Save};
use neurospice::error::Error;
use neurospice::netlist::{self, Netlist, lexer::lex_str};

fn circuit(text: &str) -> Result<neurospice::circuit::Circuit, Error> {
    let lexed = lex_str(text, "test.cir")?;
    let nl = Netlist::parse(&lexed)?;
    netlist::elaborate(&nl, Default::default())
}

fn op(text: &str, name: &str) -> f64 {
    let c = circuit(text).expect("elaborate");
    let r = analysis::run(&c, &Save::All).expect("run");
    let op = r.op.expect("op");
    op.iter()
        .find(|(n, _)| n == name)
        .map(|p| p.1)
        .unwrap_or_else(|| panic!("no {name} in {op:?}"))
}

fn err(text: &str) -> Error {
    circuit(text).expect_err("should fail")
}

const NPN: &str = ".model qn npn (is=1e-15 bf=100)";

/// A diode-connected npn at 1 mA: Vbe = Vt ln(Ic/IS) with Ic = I (BF/(BF+1)); area 2 and m=2
/// quarter the saturation current's share, the substrate node (4 tokens before the model)
/// is only a gmin load.
#[test]
fn syntax_forms_and_the_ideal_diode_law() {
    let vt = 1.380_648_52e-23 * 300.15 / 1.602_176_620_8e-19;
    let expect = |area: f64| vt * (1e-3 * 100.0 / 101.0 / (1e-15 * area)).ln();
    let one = op(
        &format!("t\nI1 0 c 1m\nQ1 c c 0 qn\n{NPN}\n.op\n.end\n"),
        "v(c)",
    );
    assert!((one - expect(1.0)).abs() < 1e-6, "{one} vs {}", expect(1.0));
    let four = op(
        &format!("t\nI1 0 c 1m\nQ1 c c 0 sub qn 2 m=2 ic=0.7, 5\nR1 sub 0 1k\n{NPN}\n.op\n.end\n"),
        "v(c)",
    );
    assert!(
        (four - expect(4.0)).abs() < 1e-6,
        "{four} vs {}",
        expect(4.0)
    );
    // the same with the area given by name, and `off`
    let named = op(
        &format!("t\nI1 0 c 1m\nQ1 c c 0 qn off area=4\n{NPN}\n.op\n.end\n"),
        "v(c)",
    );
    assert!((named - expect(4.0)).abs() < 1e-6);
}

#[test]
fn malformed_cards_are_located_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "Q1 c b 0 nomodel\nR1 c 0 1k\nR2 b 0 1k",
            "undefined model 'nomodel'",
        ),
        (
            "Q1 c b 0 nomodel 2\nR1 c 0 1k\nR2 b 0 1k",
            "undefined model 'nomodel'",
        ),
        (
            "Q1 c b 0 s nomodel\nR1 c 0 1k\nR2 b 0 1k",
            "undefined model 'nomodel'",
        ),
        ("Q1 c b\nR1 c 0 1k", "BJT 'Q1' expects 3 nodes"),
        (
            "Q1 c b 0 qd\nR1 c 0 1k\nR2 b 0 1k\n.model qd d",
            "expected npn or pnp",
        ),
        (
            "Q1 c b 0 qx\nR1 c 0 1k\nR2 b 0 1k\n.model qx npn (level=4)",
            "unsupported BJT level 4",
        ),
        (
            "Q1 c b 0 qx\nR1 c 0 1k\nR2 b 0 1k\n.model qx npn (rco=10)",
            "unknown model parameter 'rco'",
        ),
        (
            "Q1 c b 0 qx\nR1 c 0 1k\nR2 b 0 1k\n.model qx npn (bf=0)",
            "BF of BJT model 'qx' must be positive",
        ),
        (
            "Q1 c b 0 qx\nR1 c 0 1k\nR2 b 0 1k\n.model qx npn (rb=-5)",
            "RB of BJT model 'qx' must not be negative",
        ),
        (
            "Q1 c b 0 qx 2 3\nR1 c 0 1k\nR2 b 0 1k\n.model qx npn",
            "unexpected '3'",
        ),
        (
            "Q1 c b 0 qx area=0\nR1 c 0 1k\nR2 b 0 1k\n.model qx npn",
            "area times m must be positive",
        ),
        (
            "Q1 c b 0 qx foo=1\nR1 c 0 1k\nR2 b 0 1k\n.model qx npn",
            "unknown instance parameter 'foo'",
        ),
        (
            "J1 d g 0 jx\nR1 d 0 1k\nR2 g 0 1k\n.model jx njf (level=2)",
            "unsupported JFET level 2",
        ),
        (
            "J1 d g 0 jx\nR1 d 0 1k\nR2 g 0 1k\n.model jx npn",
            "expected njf or pjf",
        ),
        ("J1 d g\nR1 d 0 1k", "JFET 'J1' expects 3 nodes"),
        (
            "J1 d g 0 jx\nR1 d 0 1k\nR2 g 0 1k\n.model jx njf (pb=0)",
            "PB of JFET model 'jx' must be positive",
        ),
    ];
    for (body, want) in cases {
        let e = err(&format!("t\n{body}\n.op\n.end\n"));
        assert!(
            e.to_string().contains(want),
            "{body:?}: expected '{want}', got: {e}"
        );
        assert!(e.loc.is_some(), "{body:?}: error without a location: {e}");
    }
}

/// A JFET in saturation with B = 1 is the square law: Id = BETA (Vgs - VTO)^2 (1 + LAMBDA Vds).
#[test]
fn jfet_square_law() {
    let id = op(
        "t\nVd d 0 5\nVg g 0 -0.5\nJ1 d g 0 jn 2\n.model jn njf (vto=-2 beta=1m lambda=0.02 is=0)\n.op\n.end\n",
        "i(vd)",
    );
    let want = 2.0 * 1e-3 * 1.5f64.powi(2) * (1.0 + 0.02 * 5.0);
    assert!(
        (-id - want).abs() < 1e-9 * want.max(1.0) + 1e-11,
        "{id} vs {want}"
    );
}

/// Without body effect, narrow width, mobility degradation, NSUB and (level 3) THETA, ETA,
/// both levels are the square law: a saturated device carries KP/2 W/L (Vgs - VTO)^2, and
/// the PMOS card mirrors it.
#[test]
fn square_law_without_second_order_effects() {
    let expect = 50e-6 / 2.0 * 5.0 * 1.3f64.powi(2);
    for (level, extra) in [(2, "ucrit=1e4 uexp=0"), (3, "theta=0 eta=0 kappa=0.2")] {
        let n = op(
            &format!(
                "t\nVd d 0 5\nVg g 0 2\nM1 d g 0 0 mm w=10u l=2u\n.model mm nmos level={level} vto=0.7 kp=50u {extra}\n.op\n.end\n"
            ),
            "i(vd)",
        );
        assert!(
            (-n - expect).abs() < 1e-6 * expect,
            "level {level}: {n} vs {expect}"
        );
        let p = op(
            &format!(
                "t\nVd d 0 -5\nVg g 0 -2\nM1 d g 0 0 mm w=10u l=2u\n.model mm pmos level={level} vto=-0.7 kp=50u {extra}\n.op\n.end\n"
            ),
            "i(vd)",
        );
        assert!(
            (p - expect).abs() < 1e-6 * expect,
            "level {level} p: {p} vs {expect}"
        );
    }
}

/// RS puts an internal source node in series: Id = k/2 (Vg - Id RS - VTO)^2 (the same with
/// RSH times NRS), and RD drops Id RD from the drain.
#[test]
fn series_resistances_are_internal_nodes() {
    let k: f64 = 50e-6 * 5.0;
    let rs: f64 = 1000.0;
    // k/2 (a - I rs)^2 = I with a = 1.3: the smaller root
    let a: f64 = 1.3;
    let (qa, qb, qc) = (k / 2.0 * rs * rs, -(k * a * rs + 1.0), k / 2.0 * a * a);
    let expect = (-qb - (qb * qb - 4.0 * qa * qc).sqrt()) / (2.0 * qa);
    for card in ["rs=1k rd=500", "rsh=250 rd=500"] {
        let text = format!(
            "t\nVd d 0 5\nVg g 0 2\nM1 d g 0 0 mm w=10u l=2u nrs=4\n.model mm nmos level=3 vto=0.7 kp=50u {card}\n.op\n.end\n"
        );
        let i = -op(&text, "i(vd)");
        assert!(
            (i - expect).abs() < 1e-6 * expect,
            "{card}: {i} vs {expect}"
        );
        let c = circuit(&text).expect("elaborate");
        assert!(
            c.names.iter().any(|n| n.contains("m1#source"))
                && c.names.iter().any(|n| n.contains("m1#drain")),
            "{card}: internal nodes {:?}",
            c.names
        );
    }
}

#[test]
fn refused_cards_name_what_is_wrong() {
    let e = err("t\nVd d 0 5\nM1 d d 0 0 mm\n.model mm nmos level=2 vto=0.7 foo=1\n.op\n.end\n");
    assert!(
        e.msg.contains("unknown model parameter 'foo'")
            && e.msg.contains("level-2 MOSFET model 'mm'"),
        "{}",
        e.msg
    );
    assert_eq!(e.loc.map(|l| l.line), Some(4));
    let e = err("t\nVd d 0 5\nM1 d d 0 0 mm\n.model mm nmos level=4 vto=0.7\n.op\n.end\n");
    assert!(e.msg.contains("unsupported MOSFET level 4"), "{}", e.msg);
    let e = err("t\nVd d 0 5\nM1 d d 0 0 mm\n.model mm nmos level=3 tox=0\n.op\n.end\n");
    assert!(e.msg.contains("TOX must be positive"), "{}", e.msg);
    let e = err("t\nVd d 0 5\nM1 d d 0 0 mm\n.model mm nmos level=3 nsub=1e9\n.op\n.end\n");
    assert!(e.msg.contains("NSUB"), "{}", e.msg);
    let e = err("t\nVd d 0 5\nM1 d d 0 0 mm l=0.1u\n.model mm nmos level=2 ld=0.1u\n.op\n.end\n");
    assert!(
        e.msg.contains("M1") && e.msg.contains("effective length"),
        "{}",
        e.msg
    );
    // parameters ngspice's level has not are ignored with a warning, as ngspice does
    circuit("t\nVd d 0 5\nM1 d d 0 0 mm\n.model mm nmos level=2 theta=0.1 utra=0.2\n.op\n.end\n")
        .expect("level 2 ignores theta");
    circuit("t\nVd d 0 5\nM1 d d 0 0 mm\n.model mm nmos level=3 lambda=0.1 ucrit=1e4\n.op\n.end\n")
        .expect("level 3 ignores lambda");
}
