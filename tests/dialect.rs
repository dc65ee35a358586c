//! The ngspice dialect items of issue 14 that ngspice 39 itself lacks (so no ngspice golden
//! can exist: `idt`/`sdt`, `fabs`, `cbrt`, `hypot`, `int` in B sources), checked against
//! analytic values; and the errors and warnings of the dialect's cards (`.func` recursion and
//! arity, TABLE, POLY, TRNOISE, tolerated model parameters, resistor model cards, PWL td=/r=, BSIM4
//! versions 4.6-4.8).
//! The items ngspice 39 has are checked against its output in `tests/conformance/dia_*`.

use neurospice::analysis::{self, RunResult, Save};
use neurospice::error::Error;
use neurospice::netlist::{self, Netlist, lexer::lex_str};

fn circuit(text: &str) -> Result<neurospice::circuit::Circuit, Error> {
    let lexed = lex_str(text, "test.cir")?;
    let nl = Netlist::parse(&lexed)?;
    netlist::elaborate(&nl, Default::default())
}

fn run(text: &str) -> RunResult {
    let c = circuit(text).expect("elaborate");
    analysis::run(&c, &Save::All).expect("run")
}

fn op(text: &str, name: &str) -> f64 {
    let r = run(text);
    let op = r.op.expect("op");
    op.iter()
        .find(|(n, _)| n == name)
        .map(|p| p.1)
        .unwrap_or_else(|| panic!("no {name} in {op:?}"))
}

fn err(text: &str) -> Error {
    circuit(text).expect_err("should fail")
}

/// `idt(x)`, `sdt(x, ic)` and `ddt(x)` in B sources against the closed forms: the integral
/// and derivative of a 1 kHz sine, the integral of a constant from an initial value.
#[test]
fn idt_sdt_ddt_are_the_integral_and_derivative() {
    let r = run(
        "idt\nV1 a 0 SIN(0 1 1k)\nVc c 0 2\nB1 y 0 V=idt(v(a))\nR1 y 0 1k\n\
                 B2 z 0 V=sdt(v(c), 0.25)\nR2 z 0 1k\nB3 d 0 V=ddt(v(a))\nR3 d 0 1k\n\
                 .tran 2u 2m\n.end\n",
    );
    let t = r.tran.expect("tran");
    let (ts, y, z, d) = (
        t.column("time").unwrap(),
        t.column("v(y)").unwrap(),
        t.column("v(z)").unwrap(),
        t.column("v(d)").unwrap(),
    );
    let w = 2.0 * std::f64::consts::PI * 1e3;
    let (mut ey, mut ez, mut ed) = (0.0f64, 0.0f64, 0.0f64);
    for k in 0..ts.len() {
        let tk = ts[k];
        ey = ey.max((y[k] - (1.0 - (w * tk).cos()) / w).abs());
        ez = ez.max((z[k] - (0.25 + 2.0 * tk)).abs());
        if tk > 0.0 {
            ed = ed.max((d[k] - w * (w * tk).cos()).abs());
        }
    }
    // 1e-3 of each waveform's range: 2/w, 4e-3, 2w
    assert!(ey < 1e-3 * 2.0 / w, "idt error {ey:e}");
    assert!(ez < 1e-3 * 4e-3, "sdt error {ez:e}");
    assert!(ed < 1e-3 * 2.0 * w, "ddt error {ed:e}");
    assert!(ts.len() > 100);
    // in DC an integral is its initial value and a derivative is 0
    let text = "idt op\nVc c 0 2\nB2 z 0 V=idt(v(c), 0.25) + ddt(v(c))\nR2 z 0 1k\n.op\n.end\n";
    assert_eq!(op(text, "v(z)"), 0.25);
}

/// `fabs`, `cbrt`, `hypot` and `int` in `.param` and B sources.
#[test]
fn fabs_cbrt_hypot_int() {
    let text = "funcs\n.param pf={fabs(-2.5)} pc={cbrt(-27)} ph={hypot(3,4)} pt={int(-2.7)}\n\
                V1 x 0 -8\nB1 a 0 V=cbrt(v(x))\nB2 b 0 V=hypot(v(x), 6)\nB3 c 0 V=fabs(v(x)) + int(1.9)\n\
                Vf f 0 {pf}\nVc pc 0 {pc}\nVh h 0 {ph}\nVi pt 0 {pt}\n.op\n.end\n";
    let r = run(text);
    let op = r.op.unwrap();
    let get = |n: &str| op.iter().find(|(k, _)| k == n).unwrap().1;
    for (n, v) in [
        ("v(a)", -2.0),
        ("v(b)", 10.0),
        ("v(c)", 9.0),
        ("v(f)", 2.5),
        ("v(pc)", -3.0),
        ("v(h)", 5.0),
        ("v(pt)", -2.0),
    ] {
        assert!(
            (get(n) - v).abs() < 1e-12,
            "{n} = {} (expected {v})",
            get(n)
        );
    }
}

/// A `.func` that calls itself, directly or through another, is refused with the chain and
/// the call's place; so are unknown functions and wrong argument counts.
#[test]
fn func_errors() {
    let e =
        err("f\n.func f(x) {g(x)+1}\n.func g(x) {2*f(x)}\nV1 a 0 {f(1)}\nR1 a 0 1\n.op\n.end\n");
    assert!(e.msg.contains("recursive .func: f -> g -> f"), "{}", e.msg);
    let loc = e.loc.expect("located");
    assert_eq!((loc.line, loc.col), (4, 9));
    let e = err("f\n.func f(x, y) {x*y}\n.param p = {f(2)}\nV1 a 0 {p}\nR1 a 0 1\n.op\n.end\n");
    assert!(
        e.msg.contains("'f' takes 2 argument(s), got 1"),
        "{}",
        e.msg
    );
    assert_eq!(e.loc.map(|l| l.line), Some(3));
    let e = err("f\nB1 a 0 V=nosuch(v(b))\nR1 a 0 1\nR2 b 0 1\n.op\n.end\n");
    assert!(e.msg.contains("unknown function 'nosuch'"), "{}", e.msg);
    let e = err("f\n.func sin(x) {x}\nR1 a 0 1\n.op\n.end\n");
    assert!(e.msg.contains("built-in"), "{}", e.msg);
    // a .func of a subcircuit is seen only inside it
    let e = err(
        "f\nX1 a s\n.subckt s n\n.func h(x) {x}\nR1 n 0 {h(2)}\n.ends\nR2 a 0 {h(1)}\n.op\n.end\n",
    );
    assert!(e.msg.contains("unknown function 'h'"), "{}", e.msg);
    assert_eq!(e.loc.map(|l| l.line), Some(7));
    let v = op(
        "f\nX1 a s\n.subckt s n\n.func h(x) {x*2}\nI1 0 n 1\nR1 n 0 {h(2)}\n.ends\n.op\n.end\n",
        "v(a)",
    );
    assert_eq!(v, 4.0);
}

/// TABLE, POLY and source keywords that cannot be read are errors at their place; transient
/// noise sources say they are not supported.
#[test]
fn table_poly_and_source_errors() {
    let e = err("t\nV1 a 0 1\nE1 o 0 TABLE {v(a)} = (1,0) (0,1)\nR1 o 0 1\n.op\n.end\n");
    assert!(e.msg.contains("increase strictly"), "{}", e.msg);
    assert_eq!(e.loc.map(|l| l.line), Some(3));
    let e = err("t\nV1 a 0 1\nE1 o 0 TABLE {v(a)} = (0,0) (1)\nR1 o 0 1\n.op\n.end\n");
    assert!(e.msg.contains("pairs"), "{}", e.msg);
    let e = err("t\nV1 a 0 1\nE1 o 0 POLY(2) a 0 1\nR1 o 0 1\n.op\n.end\n");
    assert!(e.msg.contains("POLY(2)"), "{}", e.msg);
    let e = err("t\nV1 a 0 1\nE1 o 0 POLY(x) a 0 1 2\nR1 o 0 1\n.op\n.end\n");
    assert!(e.msg.contains("POLY(n)"), "{}", e.msg);
    let e = err("t\nV1 a 0 DC 0 TRNOISE(1n 1n 0 0 1m)\nR1 a 0 1\n.op\n.end\n");
    assert!(
        e.msg.contains("not supported") && e.msg.contains("TRNOISE"),
        "{}",
        e.msg
    );
    assert_eq!(e.loc.map(|l| (l.line, l.col)), Some((2, 13)));
    let e = err("t\nV1 a 0 dc=\nR1 a 0 1\n.op\n.end\n");
    assert_eq!(e.loc.map(|l| l.line), Some(2), "{}", e.msg);
}

/// Keyword forms of source values and the AC and distortion specifications.
#[test]
fn source_keyword_forms() {
    let text = ".param g=0.5\nV1 a 0 dc=1 ac=1\nR1 a 0 1\nV2 b 0 dc = '2*g' AC 2 45 DISTOF1 0.1 DISTOF2 0.1 0\nR2 b 0 1\n\
                I1 0 c DC=3m\nR3 c 0 1k\n.op\n.end\n";
    let c = circuit(&format!("k\n{text}")).unwrap();
    use neurospice::devices::Device;
    let ac: Vec<Option<(f64, f64)>> = c
        .devices
        .iter()
        .filter_map(|d| match &d.dev {
            Device::V(v) => Some(v.value.ac),
            Device::I(i) => Some(i.value.ac),
            _ => None,
        })
        .collect();
    assert_eq!(ac, vec![Some((1.0, 0.0)), Some((2.0, 45.0)), None]);
    let r = analysis::run(&c, &Save::All).unwrap().op.unwrap();
    let get = |n: &str| r.iter().find(|(k, _)| k == n).unwrap().1;
    assert_eq!((get("v(a)"), get("v(b)"), get("v(c)")), (1.0, 1.0, 3.0));
}

/// Model parameters ngspice ignores with a warning are ignored with a warning naming the
/// card; parameters it does not know at all stay errors.
#[test]
fn tolerated_model_parameters() {
    let c =
        circuit("m\nI1 0 a 1m\nD1 a 0 dm\n.model dm d is=1e-14 kf=1e-16 af=1 ron=10\n.op\n.end\n")
            .unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("test.cir:4:") && w.contains("(ron)")),
        "{:?}",
        c.warnings
    );
    let e = err("m\nI1 0 a 1m\nD1 a 0 dm\n.model dm d is=1e-14 frobs=3\n.op\n.end\n");
    assert!(
        e.msg.contains("unknown model parameter 'frobs'"),
        "{}",
        e.msg
    );
}

/// The temperature coefficients follow a `.dc temp` sweep: R (1 + tc1 dT + tc2 dT^2).
#[test]
fn resistor_tc_follows_a_temperature_sweep() {
    let r =
        run("tc\nI1 0 b 1m\nR3 b 0 1k tc1=0.01 tc2=1e-4 scale=2 m=4\n.dc temp 27 127 25\n.end\n");
    let t = r.dc.unwrap();
    let (temps, v) = (t.column("temp").unwrap(), t.column("v(b)").unwrap());
    assert_eq!(temps.len(), 5);
    for (tc, v) in temps.iter().zip(&v) {
        let dt = tc - 27.0;
        let want = 1e-3 * 1e3 * 2.0 / 4.0 * (1.0 + 0.01 * dt + 1e-4 * dt * dt);
        assert!((v - want).abs() < 1e-9 * want, "{tc}: {v} vs {want}");
    }
}

/// `.title` replaces the first line as the title, case and quotes kept; `.csparam` values are
/// evaluated like top-level parameters for the control language.
#[test]
fn title_and_csparam() {
    let text = "first line\n.param vs=2.5\n.csparam vsup={vs} ratio=0.2\n.csparam vsup={vs*2}\n\
                .title Bob's (Divider) = TITLE card\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n";
    let nl = Netlist::parse(&lex_str(text, "t.cir").unwrap()).unwrap();
    assert_eq!(nl.title, "Bob's (Divider) = TITLE card");
    assert_eq!(nl.title_loc.line, 5);
    let v = netlist::csparam_values(&nl, &[]).unwrap();
    assert_eq!(
        v,
        vec![("vsup".to_string(), 5.0), ("ratio".to_string(), 0.2)]
    );
    let c = netlist::elaborate(&nl, Default::default()).unwrap();
    assert_eq!(c.title, "Bob's (Divider) = TITLE card");
}

/// A resistor whose value reads the circuit is the B source I = v(a, b) / r, as ngspice
/// makes it (and it is a DC path between its nodes).
#[test]
fn behavioral_resistor() {
    let text = "r\nV1 a 0 2\nVc c 0 1\nR1 a b r={1k*(1+v(c))}\nR2 b 0 {2k + 1k*v(c)}\n.op\n.end\n";
    assert!((op(text, "v(b)") - 2.0 * 3.0 / 5.0).abs() < 1e-9);
    let text = "r\nV1 a 0 2\nVc c 0 1\nR1 a 0 {1k*(1+v(c))} m=2\n.op\n.end\n";
    assert!(err(text).msg.contains("reads the circuit"));
}

/// The resistor `.model` card: its refusals name the card and line (an unknown parameter, a
/// non-positive effective size), and the values ngspice 39 gives (`dia_res_model` checks them
/// against its output) hold here too: rsh beats r, the instance value beats both.
#[test]
fn resistor_model_values_and_errors() {
    let deck =
        |m: &str, r: &str| format!("rm\n.model rm r {m}\nI1 0 a 1m\nR1 a 0 {r}\n.op\n.end\n");
    assert!((op(&deck("rsh=100 r=5k", "rm l=20u w=4u"), "v(a)") - 0.5).abs() < 1e-9);
    assert!((op(&deck("rsh=100 r=5k", "2k rm"), "v(a)") - 2.0).abs() < 1e-9);
    assert!((op(&deck("r=5k", "rm"), "v(a)") - 5.0).abs() < 1e-9);
    let e = err(&deck("rsh=100 defl=1u", "rm"));
    assert!(e.to_string().contains("unknown parameter 'defl'"), "{e}");
    assert_eq!(e.loc.as_ref().map(|l| l.line), Some(2));
    let e = err(&deck("rsh=100 narrow=1u", "rm l=10u w=2u"));
    assert!(e.to_string().contains("effective length"), "{e}");
    assert_eq!(e.loc.as_ref().map(|l| l.line), Some(4));
}

/// PWL `td=` delays the waveform (inside or after the parentheses); `r=` repeats from the
/// named time point (ngspice), and an `r=` that names no time point, or the last one, is
/// refused at the keyword.
#[test]
fn pwl_td_delays_and_repeat_repeats() {
    for src in ["PWL(0 0 1u 1 td=2u)", "PWL(0 0 1u 1) td=2u"] {
        let r = run(&format!(
            "pwl\nV1 a 0 {src}\nR1 a 0 1k\n.tran 10n 4u\n.end\n"
        ));
        let t = r.tran.expect("tran");
        let (ts, v) = (t.column("time").unwrap(), t.column("v(a)").unwrap());
        for (tk, vk) in ts.iter().zip(v) {
            let want = ((tk - 2e-6) / 1e-6).clamp(0.0, 1.0);
            assert!((vk - want).abs() < 1e-6, "{src} at {tk}: {vk} vs {want}");
        }
    }
    // a sawtooth: 0 -> 2 over 1 us, again and again; the corners are time points
    let r = run("pwl\nV1 a 0 PWL(0 0 1u 2) r=0\nR1 a 0 1k\n.tran 10n 4u\n.end\n");
    let t = r.tran.expect("tran");
    let (ts, v) = (t.column("time").unwrap(), t.column("v(a)").unwrap());
    for (tk, vk) in ts.iter().zip(v) {
        let ph = (tk / 1e-6).fract();
        // at a seam ngspice takes the repeated point's value (0)
        assert!((vk - 2.0 * ph).abs() < 1e-6, "at {tk}: {vk}");
    }
    for k in 1..4 {
        let c = k as f64 * 1e-6;
        assert!(
            ts.iter().any(|t| (t - c).abs() < 1e-15),
            "corner {c} is a time point"
        );
    }
    for (src, col, what) in [
        ("PWL(0 0 1u 1) r=0.5u", 22, "not one of the time points"),
        ("PWL(0 0 1u 1 r=1u)", 21, "is the last time point"),
        ("PWL(0 0 1u 1) r=2u", 22, "past the last time point"),
    ] {
        let e = err(&format!(
            "pwl\nV1 a 0 {src}\nR1 a 0 1k\n.tran 10n 4u\n.end\n"
        ));
        assert!(e.to_string().contains(what), "{src}: {e}");
        assert!(e.to_string().contains("'V1'"), "{src}: {e}");
        assert_eq!(
            e.loc.as_ref().map(|l| (l.line, l.col)),
            Some((2, col)),
            "{src}"
        );
    }
}

/// A BSIM4 card of version 4.6 to 4.8 runs when it gives only parameters ngspice computes
/// the same way in those versions as in BSIM4.5 (scripts/bsim4_version_probe.py), and is
/// refused naming the first parameter that is not; 4.9 is no version ngspice has.
#[test]
fn bsim4_newer_versions_accept_shared_parameters_only() {
    let deck = |card: &str| {
        format!(
            "v\nVd d 0 1\nVg g 0 1\nM1 d g 0 0 nch l=1u w=2u\n.model nch nmos ({card})\n.op\n.end\n"
        )
    };
    let base = op(&deck("level=54 version=4.5 vth0=0.5 u0=0.03"), "i(vd)");
    for v in ["4.6", "4.7", "4.8", "4.8.2"] {
        let i = op(
            &deck(&format!("level=54 version={v} vth0=0.5 u0=0.03")),
            "i(vd)",
        );
        assert_eq!(i, base, "version {v}: the BSIM4.5 equations");
    }
    for (card, name) in [
        ("level=54 version=4.8 vth0=0.5 dsub=0.3", "dsub"),
        ("level=54 version=4.7 lgamma1=1e-7", "lgamma1"),
        ("level=14 version=4.6 toxe=3n", "toxe"),
        ("level=54 version=4.8 capmod=1", "capmod"),
    ] {
        let e = err(&deck(card));
        assert!(
            e.to_string().contains(&format!("parameter {name}:")),
            "{card}: {e}"
        );
        assert_eq!(e.loc.as_ref().map(|l| l.line), Some(5));
    }
    let e = err(&deck("level=54 version=4.9"));
    assert!(
        e.to_string().contains("version = 4.9 is not supported"),
        "{e}"
    );
}
