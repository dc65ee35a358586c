//! Every device's stamped Jacobians (dF/dx and dQ/dx) against central finite differences of
//! its loaded currents and charges, at random bias points.

use neurospice::netlist::{self, Netlist, lexer::lex_str};
use neurospice::solver::system::System;

fn system(body: &str) -> System {
    let text = format!("jacobian test\n{body}\n.op\n.end\n");
    let lexed = lex_str(&text, "jac.cir").expect("lex");
    let nl = Netlist::parse(&lexed).expect("parse");
    let c = netlist::elaborate(&nl, Default::default()).expect("elaborate");
    System::new(&c).expect("system")
}

/// Small deterministic generator (no dependency on the Monte Carlo machinery).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn check(name: &str, body: &str, vrange: (f64, f64), time: f64) {
    check_opts(name, body, vrange, time, true);
}

/// `check_q` false: only dF/dx (Meyer gate capacitances are not derived from a charge: the
/// charge is accumulated from the last accepted point, so dQ/dx is the capacitance, not the
/// derivative of a charge function).
fn check_opts(name: &str, body: &str, vrange: (f64, f64), time: f64, check_q: bool) {
    let mut sys = system(body);
    let n = sys.n();
    let mut rng = Lcg(0x5eed ^ name.len() as u64);
    for trial in 0..20 {
        let mut x = vec![0.0; n + 1];
        for v in x.iter_mut().skip(1) {
            *v = vrange.0 + (vrange.1 - vrange.0) * rng.next();
        }
        // load until junction limiting (which moves the previous iterate toward x a bounded
        // step at a time) no longer changes the point, as at a converged Newton iterate
        for _ in 0..200 {
            sys.load(&x, time, false, 1.0, false);
        }
        let (jf, jq) = sys.dense_jacobians(&x, time, false);
        for j in 1..=n {
            let h = 1e-6 * x[j].abs().max(1e-3);
            let mut xp = x.clone();
            xp[j] += h;
            let mut xm = x.clone();
            xm[j] -= h;
            sys.load(&xp, time, false, 1.0, false);
            let (fp, qp) = (sys.f.clone(), sys.q.clone());
            sys.load(&xm, time, false, 1.0, false);
            let (fm, qm) = (sys.f.clone(), sys.q.clone());
            sys.load(&x, time, false, 1.0, false);
            for i in 1..=n {
                let dfd = (fp[i] - fm[i]) / (2.0 * h);
                let dqd = (qp[i] - qm[i]) / (2.0 * h);
                let (a, b) = (jf[(i - 1) * n + j - 1], jq[(i - 1) * n + j - 1]);
                let scale_f = jf.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
                let scale_q = jq.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-18);
                assert!(
                    (a - dfd).abs() <= 1e-5 * scale_f + 1e-4 * dfd.abs(),
                    "{name} trial {trial}: dF{i}/dx{j} stamped {a:e}, finite difference {dfd:e}"
                );
                assert!(
                    !check_q || (b - dqd).abs() <= 1e-5 * scale_q + 1e-4 * dqd.abs(),
                    "{name} trial {trial}: dQ{i}/dx{j} stamped {b:e}, finite difference {dqd:e}"
                );
            }
        }
    }
}

#[test]
fn linear_elements() {
    check("R", "R1 a b 1k\nR2 b 0 2k\nV1 a 0 1", (-1.0, 1.0), 0.0);
    check("C", "C1 a b 1p\nR1 a 0 1k\nR2 b 0 1k", (-1.0, 1.0), 0.0);
    check("L", "L1 a b 1u\nR1 a 0 1k\nR2 b 0 1k", (-1.0, 1.0), 0.0);
    check(
        "V/I",
        "V1 a 0 PULSE(0 1 0 1n 1n 5n 10n)\nI1 a b SIN(0 1m 1meg)\nR1 b 0 1k",
        (-1.0, 1.0),
        3e-9,
    );
}

#[test]
fn controlled_sources() {
    check(
        "E",
        "E1 o 0 a b 10\nR1 a b 1k\nR2 b 0 1k\nR3 o 0 1k",
        (-1.0, 1.0),
        0.0,
    );
    check(
        "G",
        "G1 o 0 a b 1m\nR1 a b 1k\nR2 b 0 1k\nR3 o 0 1k",
        (-1.0, 1.0),
        0.0,
    );
    check(
        "F",
        "V1 a 0 1\nR1 a 0 1k\nF1 o 0 V1 3\nR3 o 0 1k",
        (-1.0, 1.0),
        0.0,
    );
    check(
        "H",
        "V1 a 0 1\nR1 a 0 1k\nH1 o 0 V1 2k\nR3 o 0 1k",
        (-1.0, 1.0),
        0.0,
    );
}

#[test]
fn diode() {
    check(
        "D",
        "D1 a b dm\nR1 a 0 1k\nR2 b 0 1k\n.model dm d is=1e-14 n=1.2 rs=5 cjo=2p vj=0.7 m=0.4 tt=1n bv=6",
        (-0.8, 0.8),
        0.0,
    );
    check(
        "D breakdown",
        "D1 b a dm\nR1 a 0 1k\nR2 b 0 1k\n.model dm d is=1e-14 n=1 bv=5 cjo=1p",
        (-7.0, 0.0),
        0.0,
    );
}

#[test]
fn mosfet_level1() {
    let m = ".model nm nmos level=1 vto=0.5 kp=100u gamma=0.4 phi=0.7 lambda=0.05 cgso=1e-10 cgdo=1e-10 cgbo=1e-10 cbd=2f cbs=2f pb=0.8 mj=0.5\n.model pm pmos level=1 vto=-0.5 kp=50u gamma=0.3 phi=0.7 lambda=0.08 cbd=1f cbs=1f";
    check(
        "M nmos",
        &format!("M1 d g s b nm w=2u l=1u\nR1 d 0 1k\nR2 g 0 1k\nR3 s 0 1k\nR4 b 0 1k\n{m}"),
        (-0.3, 1.5),
        0.0,
    );
    check(
        "M pmos",
        &format!("M1 d g s b pm w=2u l=1u\nR1 d 0 1k\nR2 g 0 1k\nR3 s 0 1k\nR4 b 0 1k\n{m}"),
        (-1.5, 0.3),
        0.0,
    );
}

/// Levels 2 and 3: every current term of the channel (process-derived parameters, XJ,
/// mobility degradation, VMAX, NFS, DELTA, THETA, ETA, KAPPA), bulk junctions and series
/// resistances (internal nodes), n and p, normal and inverse mode.
#[test]
fn mosfet_levels_2_and_3() {
    let cards = [
        (
            "M2 nmos nsub xj ucrit nfs",
            "nmos level=2 tox=25n nsub=1e16 xj=0.3u ld=0.2u uo=650 ucrit=5e4 uexp=0.15 nfs=1e11 delta=0.5 rd=20 rs=30",
            (-0.5, 2.0),
        ),
        (
            "M2 nmos vmax neff lambda",
            "nmos level=2 vto=0.6 kp=60u gamma=0.4 phi=0.7 tox=20n nsub=3e16 ld=0.1u xj=0.2u vmax=5e4 neff=2",
            (-0.5, 2.0),
        ),
        (
            "M2 pmos lambda rsh",
            "pmos level=2 vto=-0.7 kp=25u gamma=0.5 phi=0.7 tox=20n lambda=0.05 nfs=3e11 rsh=20 is=1e-15",
            (-2.0, 0.5),
        ),
        (
            "M3 nmos nsub xj theta eta kappa nfs",
            "nmos level=3 tox=20n nsub=1e16 xj=0.25u ld=0.1u theta=0.08 eta=0.3 kappa=0.4 delta=0.8 nfs=1e11 rd=15",
            (-0.5, 2.0),
        ),
        (
            "M3 nmos vmax",
            "nmos level=3 vto=0.6 kp=90u gamma=0.4 phi=0.7 tox=15n nsub=5e16 xj=0.2u ld=0.08u vmax=1.2e5 theta=0.1 eta=0.5 kappa=0.3",
            (-0.5, 2.0),
        ),
        (
            "M3 pmos vmax nfs",
            "pmos level=3 vto=-0.8 kp=25u gamma=0.5 phi=0.65 tox=20n nsub=2e16 nfs=5e11 eta=0.2 vmax=8e4 rs=25",
            (-2.0, 0.5),
        ),
    ];
    for (name, card, range) in cards {
        check_opts(
            name,
            &format!(
                "M1 d g s b mm w=4u l=1u\nR1 d 0 1k\nR2 g 0 1k\nR3 s 0 1k\nR4 b 0 1k\n.model mm {card}"
            ),
            range,
            0.0,
            false,
        );
    }
}

/// The Gummel-Poon BJT with every current and charge term on: high injection (NKF 0.5 and
/// not), Early voltages, leakage, the base resistance modulated by qb (no IRB) or by the base
/// current (IRB), transit-time modulation, XCJC split, substrate junction (vertical and
/// lateral), npn and pnp.
#[test]
fn bjt_gummel_poon() {
    let card = "is=2e-15 bf=120 nf=1.02 vaf=40 ikf=20m ise=3e-14 ne=1.6 br=4 nr=1.01 var=15 ikr=5m isc=1e-14 nc=1.8 re=2 rc=8 cje=3p vje=0.7 mje=0.35 tf=0.3n xtf=4 vtf=3 itf=30m cjc=2p vjc=0.6 mjc=0.4 xcjc=0.7 tr=20n cjs=1p vjs=0.6 mjs=0.3 iss=1e-17 fc=0.6";
    let net = "R1 c 0 1k\nR2 b 0 1k\nR3 e 0 1k\nR4 s 0 1k";
    for (name, extra, pol, range) in [
        ("Q npn irb", "rb=200 irb=1m rbm=20", "npn", (-0.5, 0.9)),
        (
            "Q npn qb-rb nkf",
            "rb=150 rbm=30 nkf=0.6",
            "npn",
            (-0.5, 0.9),
        ),
        (
            "Q pnp lateral",
            "rb=100 irb=0.5m rbm=10",
            "pnp",
            (-0.9, 0.5),
        ),
        ("Q npn lateral subs", "rb=80 subs=-1", "npn", (-0.5, 0.9)),
    ] {
        check(
            name,
            &format!("Q1 c b e s qm 1.5\n{net}\n.model qm {pol} ({card} {extra})"),
            range,
            0.0,
        );
    }
}

/// The level-1 JFET: n and p channel, B != 1 (doping tail), RD/RS, normal and inverse mode.
#[test]
fn jfet_level1() {
    let net = "R1 d 0 1k\nR2 g 0 1k\nR3 s 0 1k";
    check(
        "J njf",
        &format!(
            "J1 d g s jn 2\n{net}\n.model jn njf (vto=-1 beta=1m lambda=0.05 b=0.7 rd=10 rs=5 is=1e-14 cgs=2p cgd=1p pb=0.8 fc=0.5)"
        ),
        (-1.5, 1.5),
        0.0,
    );
    check(
        "J pjf",
        &format!(
            "J1 d g s jp\n{net}\n.model jp pjf (vto=0.8 beta=0.5m lambda=0.02 rs=20 cgs=1p cgd=1p)"
        ),
        (-1.5, 1.5),
        0.0,
    );
}

#[test]
fn switch_and_behavioral() {
    check(
        "S",
        "S1 a 0 c 0 sm\nR1 a 0 1k\nR2 c 0 1k\n.model sm sw vt=0.5 vh=0.1 ron=10 roff=1meg",
        (-1.0, 1.0),
        0.0,
    );
    check(
        "B",
        "V1 a 0 1\nB1 o 0 V=tanh(2*v(a,b))*v(b)+i(v1)*1k+(v(b)>0.2?v(a)**2:sqrt(abs(v(a))+1))\nB2 b 0 I=1m*exp(v(a)/2)-v(o)*1m\nR1 o 0 1k\nR2 b 0 1k",
        (-1.0, 1.0),
        0.0,
    );
}

#[test]
fn mosfet_ekv_level28() {
    let lib = ".include models/cmos28.lib";
    check(
        "M28 nch",
        &format!("{lib}\nM1 d g s b nch w=1u l=100n\nR1 d 0 1k\nR2 g 0 1k\nR3 s 0 1k\nR4 b 0 1k"),
        (-0.2, 1.0),
        0.0,
    );
    check(
        "M28 pch",
        &format!("{lib}\nM1 d g s b pch w=2u l=60n\nR1 d 0 1k\nR2 g 0 1k\nR3 s 0 1k\nR4 b 0 1k"),
        (-1.0, 0.2),
        0.0,
    );
}

/// The dialect's controlled sources and behavioral forms: E/G TABLE (rounded corners), POLY
/// on E/G/F/H, and B sources with ddt()/idt() state unknowns (their F and Q rows), and
/// passives with temperature coefficients.
#[test]
fn dialect_sources_and_states() {
    check(
        "TABLE",
        "E1 o 0 TABLE {v(a)*2} = (-1,-1) (-0.5,-1) (0.5,1) (1,1)\nG1 0 g TABLE {v(a,o)} = (0,0) (0.2,1m) (0.3,1m)\nR1 a 0 1k\nR2 o 0 1k\nR3 g 0 1k",
        (-1.0, 1.0),
        0.0,
    );
    check(
        "POLY",
        "V1 a 0 1\nR1 a b 1k\nR2 b 0 1k\nE1 p 0 POLY(2) a 0 b 0 0.5 1 2 0.25 1.5 0.1 0.2\nG1 0 q POLY(1) b p 0 1m 0.5m\nF1 0 f POLY(2) V1 E1 0 2 3 0.1\nH1 h 0 POLY(1) V1 1 1k 2k\nR3 p 0 1k\nR4 q 0 1k\nR5 f 0 1k\nR6 h 0 1k",
        (-1.0, 1.0),
        0.0,
    );
    check(
        "B ddt idt",
        "V1 a 0 1\nR1 a b 1k\nB1 b 0 I=1m*ddt(v(a,b)*v(b)) + 2m*idt(v(b)**2, 0.1)\nB2 o 0 V=ddt(tanh(v(b)))*1n + idt(ddt(v(a)))\nR2 o 0 1k",
        (-1.0, 1.0),
        1e-6,
    );
    check(
        "R C L tc",
        ".temp 80\nR1 a b 1k tc1=0.01 tc2=1e-4 scale=2\nC1 b 0 1p tc1=-0.002 m=2\nL1 a 0 1u tc2=1e-5\nR2 b 0 1k tce=0.3",
        (-1.0, 1.0),
        0.0,
    );
}
