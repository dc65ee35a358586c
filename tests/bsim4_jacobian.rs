//! The BSIM4 device's stamped Jacobians (dF/dx and dQ/dx) against central finite
//! differences of its loaded currents and charges at random bias points, for the sky130
//! cards and for synthetic cards that switch on every implemented sub-model (capmod 0/1/2
//! with each charge partition, mobmod 0/1/2, rdsmod 1, rbodymod 1/2, diomod 0/1/2 with
//! breakdown and trap-assisted tunnelling, GIDL, stress, well proximity, velocity
//! overshoot, source-end velocity limit, pocket implant, layout-derived junctions and
//! resistances); plus finiteness far outside the supply range, and the refused switches.

use std::sync::Arc;

use neurospice::devices::bsim4::{Bsim4, Card, INSTANCE_PARAMS, InstanceParams, PARAMS, Polarity};
use neurospice::devices::{DeviceOps, Load, Setup};

/// Small deterministic generator.
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

fn card(pol: Polarity, extra: &[(&str, f64)]) -> Card {
    let mut p: Vec<(&str, f64)> = vec![
        ("level", 54.0),
        ("version", 4.5),
        ("toxe", 2.5e-9),
        ("toxp", 2.2e-9),
        ("toxm", 2.5e-9),
        ("ndep", 2.5e17),
        ("xj", 1.2e-7),
        ("u0", if pol == Polarity::N { 0.035 } else { 0.012 }),
        ("vth0", if pol == Polarity::N { 0.42 } else { -0.41 }),
        ("k1", 0.5),
        ("k2", -0.02),
        ("rdsw", 150.0),
        ("vsat", 9e4),
        ("alpha0", 1e-6),
        ("beta0", 20.0),
        ("pclm", 0.8),
        ("pdiblc2", 0.005),
        ("pscbe2", 1e-6),
        ("cgso", 2e-10),
        ("cgdo", 2e-10),
        ("cgbo", 1e-12),
        ("cjs", 1e-3),
        ("cjsws", 2e-10),
        ("cjswgs", 3e-10),
        ("mjs", 0.4),
        ("mjsws", 0.3),
        ("mjswgs", 0.7),
        ("jss", 1e-6),
        ("jsws", 1e-12),
        ("lint", 1e-8),
        ("wint", 1e-8),
        ("ngate", 5e19),
        ("dvt0", 1.5),
        ("dvt1", 0.5),
        ("eta0", 0.06),
        ("nfactor", 1.2),
    ];
    p.extend_from_slice(extra);
    Card::from_params(pol, p.into_iter().map(|(k, v)| (k, v, None))).expect("card")
}

fn inst(w: f64, l: f64, extra: &[(&str, f64)]) -> InstanceParams {
    let mut ip = InstanceParams::new(w, l);
    for (k, v) in extra {
        ip.set(k, *v, None).expect("instance parameter");
    }
    ip
}

/// All configurations the finite-difference test runs: (name, card, instance).
fn configs() -> Vec<(String, Card, InstanceParams, f64)> {
    let n = Polarity::N;
    let p = Polarity::P;
    let geo = [
        ("ad", 1e-13),
        ("as", 1.2e-13),
        ("pd", 1.5e-6),
        ("ps", 1.6e-6),
        ("nrd", 0.5),
        ("nrs", 0.6),
    ];
    let mut out: Vec<(String, Card, InstanceParams, f64)> = vec![
        (
            "capmod2 xpart0".into(),
            card(n, &[("rsh", 50.0)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "capmod2 xpart0.5 pmos".into(),
            card(p, &[("xpart", 0.5), ("rsh", 50.0)]),
            inst(2e-6, 1.5e-7, &geo),
            300.15,
        ),
        (
            "capmod2 xpart1".into(),
            card(n, &[("xpart", 1.0)]),
            inst(1e-6, 1e-7, &geo),
            350.0,
        ),
        (
            "capmod1 xpart0".into(),
            card(n, &[("capmod", 1.0), ("cgsl", 1e-11), ("cgdl", 2e-11)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "capmod1 xpart0.5".into(),
            card(p, &[("capmod", 1.0), ("xpart", 0.5)]),
            inst(1e-6, 2e-7, &geo),
            300.15,
        ),
        (
            "capmod1 xpart1".into(),
            card(n, &[("capmod", 1.0), ("xpart", 1.0)]),
            inst(1e-6, 2e-7, &geo),
            300.15,
        ),
        (
            "capmod0 xpart0".into(),
            card(n, &[("capmod", 0.0)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "capmod0 xpart0.5".into(),
            card(n, &[("capmod", 0.0), ("xpart", 0.5)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "capmod0 xpart1 pmos".into(),
            card(p, &[("capmod", 0.0), ("xpart", 1.0)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "mobmod1".into(),
            card(n, &[("mobmod", 1.0), ("uc", -0.04)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "mobmod2".into(),
            card(n, &[("mobmod", 2.0), ("ua", 1e-15)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "rdsmod1 pmos".into(),
            card(
                p,
                &[
                    ("rdsmod", 1.0),
                    ("rdw", 80.0),
                    ("rsw", 90.0),
                    ("rsh", 20.0),
                    ("prwb", 0.1),
                ],
            ),
            inst(2e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "rbodymod1".into(),
            card(
                n,
                &[
                    ("rbodymod", 1.0),
                    ("rbpb", 40.0),
                    ("rbdb", 30.0),
                    ("rbsb", 25.0),
                ],
            ),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "rbodymod2".into(),
            card(
                n,
                &[
                    ("rbodymod", 2.0),
                    ("rbps0", 60.0),
                    ("rbpd0", 70.0),
                    ("rbsbx0", 90.0),
                    ("rbdbx0", 80.0),
                    ("rbpbxl", 0.2),
                ],
            ),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "diomod0 breakdown".into(),
            card(n, &[("diomod", 0.0), ("bvs", 3.0), ("xjbvs", 0.5)]),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "diomod2 tat".into(),
            card(
                n,
                &[
                    ("diomod", 2.0),
                    ("bvs", 4.0),
                    ("jtss", 1e-7),
                    ("jtssws", 1e-13),
                    ("vtss", 5.0),
                    ("njts", 15.0),
                ],
            ),
            inst(1e-6, 1e-7, &geo),
            320.0,
        ),
        (
            "gidl".into(),
            card(
                n,
                &[
                    ("agidl", 1e-9),
                    ("bgidl", 1e9),
                    ("cgidl", 0.3),
                    ("egidl", 0.3),
                ],
            ),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "stress wpe".into(),
            card(
                n,
                &[
                    ("ku0", 1e-7),
                    ("kvth0", 1e-8),
                    ("kvsat", 0.3),
                    ("stk2", 1e-8),
                    ("steta0", 1e-8),
                    ("wpemod", 1.0),
                    ("kvth0we", 0.01),
                    ("k2we", 0.005),
                    ("ku0we", -0.01),
                    ("web", 0.5),
                    ("wec", 0.2),
                ],
            ),
            inst(1e-6, 1e-7, &[("sa", 5e-7), ("sb", 7e-7), ("sc", 2e-6)]),
            300.15,
        ),
        (
            "overshoot vtl pocket".into(),
            card(
                n,
                &[
                    ("lambda", 1e-7),
                    ("vtl", 1.5e5),
                    ("xn", 4.0),
                    ("lc", 6e-9),
                    ("dvtp0", 1e-7),
                    ("dvtp1", 0.5),
                    ("fprout", 100.0),
                    ("pdits", 0.5),
                    ("pditsd", 0.5),
                    ("pditsl", 1e6),
                    ("pvag", 1.0),
                    ("a1", 0.1),
                    ("a2", 0.8),
                ],
            ),
            inst(1e-6, 1e-7, &geo),
            300.15,
        ),
        (
            "geomod rgeomod nf".into(),
            card(
                n,
                &[
                    ("geomod", 0.0),
                    ("rgeomod", 1.0),
                    ("rsh", 30.0),
                    ("dmcg", 1e-7),
                    ("dmdg", 5e-8),
                ],
            ),
            inst(4e-6, 1e-7, &[("nf", 4.0)]),
            300.15,
        ),
        (
            "tempmod1".into(),
            card(
                n,
                &[("tempmod", 1.0), ("ua1", 1e-3), ("at", 1e-3), ("prt", 1e-3)],
            ),
            inst(1e-6, 1e-7, &geo),
            360.0,
        ),
        (
            "tempmod2 binning".into(),
            card(
                p,
                &[
                    ("tempmod", 2.0),
                    ("binunit", 1.0),
                    ("lvth0", 0.01),
                    ("wu0", 1e-3),
                    ("pk1", 0.01),
                    ("lags", 0.02),
                ],
            ),
            inst(1e-6, 1e-7, &geo),
            260.0,
        ),
    ];
    // the sky130 cards of the golden files
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bsim4");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let pol = if json["polarity"] == "n" {
            Polarity::N
        } else {
            Polarity::P
        };
        let pairs: Vec<(String, f64)> = json["card"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
            .collect();
        let c = Card::from_params(pol, pairs.iter().map(|(k, v)| (k.as_str(), *v, None))).unwrap();
        let mut ip = InstanceParams::default();
        for (k, v) in json["inst"].as_object().unwrap() {
            ip.set(k, v.as_f64().unwrap(), None).unwrap();
        }
        out.push((
            path.file_stem().unwrap().to_string_lossy().into_owned(),
            c,
            ip,
            300.15,
        ));
    }
    out
}

/// A device with every logical node on its own unknown 1..=9, its slot map and size.
fn device(c: &Card, ip: &InstanceParams, temp: f64) -> (Bsim4, Vec<(usize, usize)>) {
    let mut d = Bsim4::new(
        [1, 2, 3, 4],
        [5, 6, 7, 8, 9],
        Arc::new(c.clone()),
        ip.clone(),
        temp,
    )
    .expect("device");
    let mut s = Setup { requests: vec![] };
    d.setup(&mut s);
    // identity pattern: slot k is request k, slot 0 stays the trash slot
    let map: Vec<usize> = (1..=s.requests.len()).collect();
    d.remap(&map);
    (d, s.requests)
}

struct Out {
    f: Vec<f64>,
    q: Vec<f64>,
    jf: Vec<f64>,
    jq: Vec<f64>,
}

fn load(d: &mut Bsim4, x: &[f64], nslots: usize, temp: f64) -> Out {
    let n = x.len();
    let mut o = Out {
        f: vec![0.0; n],
        q: vec![0.0; n],
        jf: vec![0.0; nslots + 1],
        jq: vec![0.0; nslots + 1],
    };
    let mut l = Load {
        x,
        time: 0.0,
        src_fact: 1.0,
        gmin: 1e-12,
        dc: true,
        tran_op: false,
        init_junctions: false,
        init_fix: false,
        temp,
        tstep: 0.0,
        tstop: 0.0,
        f: &mut o.f,
        q: &mut o.q,
        jf: &mut o.jf,
        jq: &mut o.jq,
        noncon: false,
        bypass: Default::default(),
    };
    d.load(&mut l);
    o
}

fn dense(o: &Out, req: &[(usize, usize)], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut jf = vec![0.0; n * n];
    let mut jq = vec![0.0; n * n];
    for (k, &(r, c)) in req.iter().enumerate() {
        jf[r * n + c] += o.jf[k + 1];
        jq[r * n + c] += o.jq[k + 1];
    }
    (jf, jq)
}

#[test]
fn stamped_jacobians_match_finite_differences() {
    for (name, c, ip, temp) in configs() {
        let (mut d, req) = device(&c, &ip, temp);
        let k = if c.polarity == Polarity::N { 1.0 } else { -1.0 };
        let mut rng = Lcg(0xb514 ^ name.len() as u64);
        let n = 10;
        for trial in 0..25 {
            let mut x = vec![0.0; n];
            // terminals spread over the supply range (and a little beyond); internal
            // nodes near their terminals
            let vd = k * (-0.3 + 2.1 * rng.next());
            let vg = k * (-0.4 + 2.2 * rng.next());
            let vb = k * (-1.0 + 1.2 * rng.next());
            x[1] = vd;
            x[2] = vg;
            x[3] = 0.0;
            x[4] = vb;
            x[5] = vd - k * 0.02 * rng.next();
            x[6] = k * 0.02 * rng.next();
            x[7] = vb + 0.01 * (rng.next() - 0.5);
            x[8] = vb + 0.01 * (rng.next() - 0.5);
            x[9] = vb + 0.01 * (rng.next() - 0.5);
            for _ in 0..300 {
                load(&mut d, &x, req.len(), temp);
            }
            let o = load(&mut d, &x, req.len(), temp);
            let (jf, jq) = dense(&o, &req, n);
            let scale_f = jf.iter().fold(1e-15f64, |m, v| m.max(v.abs()));
            let scale_q = jq.iter().fold(1e-21f64, |m, v| m.max(v.abs()));
            for j in 1..n {
                let h = 1e-6 * x[j].abs().max(1e-2);
                let mut xp = x.clone();
                xp[j] += h;
                let mut xm = x.clone();
                xm[j] -= h;
                let op = load(&mut d, &xp, req.len(), temp);
                let om = load(&mut d, &xm, req.len(), temp);
                load(&mut d, &x, req.len(), temp);
                for i in 1..n {
                    let dfd = (op.f[i] - om.f[i]) / (2.0 * h);
                    let dqd = (op.q[i] - om.q[i]) / (2.0 * h);
                    let (a, b) = (jf[i * n + j], jq[i * n + j]);
                    assert!(
                        (a - dfd).abs() <= 1e-5 * scale_f + 1e-4 * dfd.abs(),
                        "{name} trial {trial} x={x:?}: dF{i}/dx{j} stamped {a:e}, finite difference {dfd:e}"
                    );
                    assert!(
                        (b - dqd).abs() <= 1e-5 * scale_q + 1e-4 * dqd.abs(),
                        "{name} trial {trial} x={x:?}: dQ{i}/dx{j} stamped {b:e}, finite difference {dqd:e}"
                    );
                }
            }
            // KCL: the currents into a device sum to zero, and so do its charges
            let isum: f64 = o.f.iter().sum();
            let imax = o.f.iter().fold(1e-15f64, |m, v| m.max(v.abs()));
            assert!(
                isum.abs() <= 1e-9 * imax,
                "{name}: currents sum to {isum:e}"
            );
            let qsum: f64 = o.q.iter().sum();
            let qmax = o.q.iter().fold(1e-21f64, |m, v| m.max(v.abs()));
            assert!(qsum.abs() <= 1e-9 * qmax, "{name}: charges sum to {qsum:e}");
        }
    }
}

/// Newton iterates can be far outside the supply range; the device must stay finite there.
#[test]
fn finite_for_wild_voltages() {
    let vs = [-20.0, -3.0, -0.7, 0.0, 0.4, 1.0, 5.0, 20.0];
    for (name, c, ip, temp) in configs() {
        let (mut d, req) = device(&c, &ip, temp);
        for &vd in &vs {
            for &vg in &vs {
                for &vb in &vs {
                    let x = [0.0, vd, vg, 0.0, vb, vd, 0.0, vb, vb, vb];
                    // a cold start and a limited iterate
                    let o = load(&mut d, &x, req.len(), temp);
                    let all = o.f.iter().chain(&o.q).chain(&o.jf).chain(&o.jq);
                    for v in all {
                        assert!(v.is_finite(), "{name} at ({vd}, {vg}, {vb}): {v}");
                    }
                    // and the model itself, without Newton limiting
                    let e = d
                        .instance()
                        .eval(&[vd, vg, 0.0, vb, vd, 0.0, vb, vb, vb], 1e-12);
                    let all =
                        e.i.iter()
                            .chain(&e.q)
                            .chain(e.di.iter().flatten())
                            .chain(e.dq.iter().flatten());
                    for v in all {
                        assert!(v.is_finite(), "{name} eval at ({vd}, {vg}, {vb}): {v}");
                    }
                }
            }
        }
    }
}

#[test]
fn every_table_parameter_is_accepted_and_variants_are_unambiguous() {
    for spec in PARAMS {
        let v = if spec.name == "version" {
            4.5
        } else if spec.name.ends_with("mod") {
            0.0
        } else {
            1.0
        };
        let c = Card::from_params(Polarity::N, [(spec.name, v, None)]);
        let c = c.unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert!(c.given(spec.name), "{} not marked given", spec.name);
        assert_eq!(c.get(spec.name), Some(v), "{}", spec.name);
    }
    // a name is either a parameter or a binning variant, never both
    let names: std::collections::HashSet<&str> = PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(names.len(), PARAMS.len(), "duplicate parameter names");
    for spec in INSTANCE_PARAMS {
        let mut ip = InstanceParams::default();
        let v = if spec.name.ends_with("mod") { 0.0 } else { 1.0 };
        ip.set(spec.name, v, None)
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert!(ip.given(spec.name));
    }
    // ngspice's aliases
    let c = Card::from_params(Polarity::N, [("vtho", 0.3, None), ("lvtho", 1e-8, None)]).unwrap();
    assert_eq!(c.vth0, 0.3);
    assert_eq!(c.get("lvth0"), Some(1e-8));
}

#[test]
fn unimplemented_switches_are_refused_by_name() {
    for (name, value) in [
        ("igcmod", 1.0),
        ("igcmod", 2.0),
        ("igbmod", 1.0),
        ("rgatemod", 1.0),
        ("rgatemod", 3.0),
        ("trnqsmod", 1.0),
        ("acnqsmod", 1.0),
        ("capmod", 3.0),
        ("mobmod", 4.0),
        ("rdsmod", 2.0),
        ("diomod", 1.5),
        ("version", 4.9),
        ("version", 3.0),
        ("level", 49.0),
    ] {
        let e = Card::from_params(Polarity::N, [(name, value, None)]).expect_err(name);
        assert!(
            e.msg.contains(name),
            "{name} = {value}: error does not name it: {}",
            e.msg
        );
    }
    // a 4.6-4.8 card runs only with parameters those versions compute as 4.5 does
    // (src/devices/bsim4/version_same.txt); dsub is not one of them
    assert!(Card::from_params(Polarity::N, [("version", 4.8, None)]).is_ok());
    let e = Card::from_params(Polarity::N, [("version", 4.8, None), ("dsub", 0.5, None)])
        .expect_err("version 4.8 with dsub");
    assert!(e.msg.contains("dsub"), "{}", e.msg);
    let mut ip = InstanceParams::default();
    let e = ip
        .set("rgatemod", 2.0, None)
        .expect_err("instance rgatemod");
    assert!(e.msg.contains("rgatemod"));
    let e = Card::from_params(Polarity::N, [("vth00", 0.3, None)]).expect_err("unknown");
    assert!(e.msg.contains("vth00"));
    let e = Card::from_params(Polarity::N, [("vth0", f64::NAN, None)]).expect_err("nan");
    assert!(e.msg.contains("vth0"));
}

#[test]
fn bad_geometry_is_an_error_not_a_panic() {
    let c = card(Polarity::N, &[]);
    for (w, l) in [(1e-6, 1.0e-8), (1.0e-8, 1e-6), (-1e-6, 1e-6), (1e-6, 0.0)] {
        let ip = InstanceParams::new(w, l);
        assert!(
            neurospice::devices::bsim4::Instance::new(&c, &ip, 300.15).is_err(),
            "w={w} l={l}"
        );
    }
    let mut ip = InstanceParams::new(1e-6, 1e-6);
    ip.set("nf", 0.5, None).unwrap();
    assert!(neurospice::devices::bsim4::Instance::new(&c, &ip, 300.15).is_err());
}

/// A resistor-loaded transistor solved by Newton from a cold start with the device's own
/// voltage limiting (as the engine will run it) lands on the operating point that the
/// four-terminal evaluation gives, for n and p sky130 devices over the gate range.
#[test]
fn newton_with_limiting_converges_in_a_resistive_load() {
    let vdd = 1.8;
    let r = 10e3;
    for (name, c, ip, temp) in configs()
        .into_iter()
        .filter(|(n, ..)| n.contains("01v8_w0p84"))
    {
        let k = if c.polarity == Polarity::N { 1.0 } else { -1.0 };
        for vg_mag in [0.0, 0.4, 0.6, 0.9, 1.3, 1.8] {
            let (mut d, req) = device(&c, &ip, temp);
            let vg = k * vg_mag;
            // free unknowns: drain (1) and the internal nodes 5..=9
            let free = [1usize, 5, 6, 7, 8, 9];
            let mut x = vec![0.0; 10];
            x[2] = vg;
            let mut converged = false;
            for it in 0..200 {
                let mut l_out = Out {
                    f: vec![0.0; 10],
                    q: vec![0.0; 10],
                    jf: vec![0.0; req.len() + 1],
                    jq: vec![0.0; req.len() + 1],
                };
                let mut l = Load {
                    x: &x,
                    time: 0.0,
                    src_fact: 1.0,
                    gmin: 1e-12,
                    dc: true,
                    tran_op: false,
                    init_junctions: it == 0,
                    init_fix: false,
                    temp,
                    tstep: 0.0,
                    tstop: 0.0,
                    f: &mut l_out.f,
                    q: &mut l_out.q,
                    jf: &mut l_out.jf,
                    jq: &mut l_out.jq,
                    noncon: false,
                    bypass: Default::default(),
                };
                d.load(&mut l);
                let noncon = l.noncon;
                let (jf, _) = dense(&l_out, &req, 10);
                // resistor from the supply into the drain node
                let mut f: Vec<f64> = free.iter().map(|&i| l_out.f[i]).collect();
                f[0] += (x[1] - k * vdd) / r;
                let n = free.len();
                let mut a = vec![0.0; n * n];
                for (ii, &i) in free.iter().enumerate() {
                    for (jj, &j) in free.iter().enumerate() {
                        a[ii * n + jj] = jf[i * 10 + j];
                    }
                }
                a[0] += 1.0 / r;
                // unused internal unknowns (collapsed nodes) get an identity row
                for ii in 0..n {
                    if a[ii * n..ii * n + n].iter().all(|v| *v == 0.0) {
                        a[ii * n + ii] = 1.0;
                    }
                }
                let mut rhs: Vec<f64> = f.iter().map(|v| -v).collect();
                // dense solve
                for col in 0..n {
                    let p = (col..n)
                        .max_by(|&u, &w| a[u * n + col].abs().total_cmp(&a[w * n + col].abs()))
                        .unwrap();
                    for kk in 0..n {
                        a.swap(col * n + kk, p * n + kk);
                    }
                    rhs.swap(col, p);
                    for row in col + 1..n {
                        let fct = a[row * n + col] / a[col * n + col];
                        for kk in col..n {
                            a[row * n + kk] -= fct * a[col * n + kk];
                        }
                        rhs[row] -= fct * rhs[col];
                    }
                }
                let mut dx = vec![0.0; n];
                for row in (0..n).rev() {
                    let mut s = rhs[row];
                    for kk in row + 1..n {
                        s -= a[row * n + kk] * dx[kk];
                    }
                    dx[row] = s / a[row * n + row];
                }
                let maxdx = dx.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (ii, &i) in free.iter().enumerate() {
                    x[i] += dx[ii];
                }
                if it > 0 && !noncon && maxdx < 1e-10 {
                    converged = true;
                    break;
                }
            }
            assert!(
                converged,
                "{name} vg={vg}: Newton did not converge, x={x:?}"
            );
            // reference: the drain voltage where the device current equals the load's
            let inst = d.instance();
            let id = |vd: f64| {
                inst.terminal_eval(vd, vg, 0.0, 0.0, 1e-12)
                    .expect("terminal")
                    .i[0]
            };
            let (mut lo, mut hi) = if k > 0.0 { (0.0, vdd) } else { (-vdd, 0.0) };
            for _ in 0..80 {
                let mid = 0.5 * (lo + hi);
                // residual: current into the drain node from the resistor minus into the
                // device; it falls with the drain voltage for either polarity
                let res = (k * vdd - mid) / r - id(mid);
                if res > 0.0 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let vd_ref = 0.5 * (lo + hi);
            assert!(
                (x[1] - vd_ref).abs() < 1e-7,
                "{name} vg={vg}: Newton drain {} V, reference {vd_ref} V",
                x[1]
            );
        }
    }
}

/// A temperature sweep re-derives the instance; a temperature at which the card cannot be
/// evaluated makes the load non-finite instead of reusing another temperature.
#[test]
fn device_follows_the_analysis_temperature() {
    // tempmod 1: vsat (1 - at dT) turns negative 100 K above tnom
    let c = card(Polarity::N, &[("tempmod", 1.0), ("at", 0.01)]);
    let ip = inst(1e-6, 1e-7, &[]);
    let (mut d, req) = device(&c, &ip, 300.15);
    let x = [0.0, 1.0, 0.9, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    for _ in 0..300 {
        load(&mut d, &x, req.len(), 300.15);
    }
    let hot = 350.0;
    let mut o = load(&mut d, &x, req.len(), hot);
    for _ in 0..10 {
        o = load(&mut d, &x, req.len(), hot);
    }
    let reference = neurospice::devices::bsim4::Instance::new(&c, &ip, hot).unwrap();
    let e = reference.eval(&[1.0, 0.9, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 1e-12);
    assert!(
        (o.f[1] - e.i[0]).abs() <= 1e-12 * e.i[0].abs(),
        "{} vs {}",
        o.f[1],
        e.i[0]
    );
    let o = load(&mut d, &x, req.len(), 420.0);
    assert!(
        o.f.iter().any(|v| v.is_nan()),
        "vsat < 0 at 420 K must not load numbers"
    );
}

/// ngspice's bin selection: the sky130 nfet_01v8 at W/L = 0.84/0.15 um is bin 40, at 2/0.35
/// bin 30, at 5.5/3 bin 11, and with nf = 2 the width per finger decides.
#[test]
fn bins_contain_the_sizes_ngspice_selected() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bsim4");
    for (file, l, w_per_finger) in [
        ("nfet_01v8_w0p84_l0p15.json", 0.15e-6, 0.84e-6),
        ("nfet_01v8_w2_l0p35.json", 0.35e-6, 2e-6),
        ("nfet_01v8_w5p5_l3.json", 3e-6, 5.5e-6),
        ("nfet_01v8_w1p68_l0p15_nf2.json", 0.15e-6, 0.84e-6),
        ("pfet_01v8_w0p84_l0p15.json", 0.15e-6, 0.84e-6),
    ] {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let pol = if json["polarity"] == "n" {
            Polarity::N
        } else {
            Polarity::P
        };
        let pairs: Vec<(String, f64)> = json["card"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
            .collect();
        let c = Card::from_params(pol, pairs.iter().map(|(k, v)| (k.as_str(), *v, None))).unwrap();
        assert!(c.bin_contains(l, w_per_finger), "{file}");
        assert!(
            !c.bin_contains(l * 4.0, w_per_finger),
            "{file}: 4 L is another bin"
        );
        if file.contains("nf2") {
            // the whole width (1.68 um) is outside the bin that ngspice chose
            assert!(!c.bin_contains(l, 2.0 * w_per_finger), "{file}");
        }
    }
}
