//! EKV-SC (level 28) against independent references: the published float64 test vectors
//! of the fit, the BSIM4 (PTM 32nm LP, ngspice-39) curves it was fitted to, and finite
//! differences for every derivative the engine uses. Data: tests/data/ekv/ (copied from
//! the project's shared reference set, see README.md there).
//!
//! `cargo test --test ekv_model -- --nocapture` prints the achieved numbers.

use std::collections::BTreeMap;
use std::io::Read;

use neurospice::devices::ekv::{
    B, D, EkvInstance, EkvModel, G, MosEval, MosGeom, PARAMS, Polarity, S, eval, ids,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ekv");

/// Data rows of a gzipped CSV (comment lines start with '#', first other line is the
/// header), as (header, rows).
fn read_csv_gz(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let file = std::fs::File::open(format!("{DATA}/{name}")).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

fn model_for(kind: &str) -> EkvModel {
    match kind {
        "nmos" => EkvModel::defaults(Polarity::N),
        "pmos" => EkvModel::defaults(Polarity::P),
        other => panic!("unknown device type {other}"),
    }
}

/// Half a unit in the 6th significant digit of `x`: the rounding error of `%g` output,
/// which is how both the vectors and the README's parameters are printed.
fn half_ulp6(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    0.5 * 10f64.powi(x.abs().log10().floor() as i32 - 5)
}

/// The fitted parameters as the README prints them (6 significant digits); dw and dl
/// are fixed, not fitted, so they carry no rounding.
const FITTED: [&str; 14] = [
    "cox", "vt0", "dvt_l", "n0", "dn_l", "sig2", "sig0", "lam1", "mu0", "lmu", "theta", "lsat",
    "gamma", "phi",
];

fn with_param(model: &EkvModel, name: &str, value: f64) -> EkvModel {
    let mut params: Vec<(String, f64)> = PARAMS
        .iter()
        .map(|p| (p.name.to_string(), model.get(p.name).unwrap()))
        .collect();
    params.retain(|(n, _)| n != name);
    params.push((name.to_string(), value));
    EkvModel::from_card(model.polarity, &params).unwrap()
}

/// The vectors hold `Id_ekvsc_A` to 6 significant digits, computed from parameters the
/// README prints to 6 significant digits. A correct port therefore agrees with every
/// row to within that rounding budget: half an ulp of the printed current plus the
/// first-order effect of half an ulp in each printed parameter. (A relative 1e-9 is not
/// observable through 6-digit data; the budget is the tightest honest bound.)
#[test]
fn port_reproduces_test_vectors_within_rounding_budget() {
    let (h, rows) = read_csv_gz("ekvsc_testvectors_ptm32lp.csv.gz");
    let (c_type, c_w, c_l, c_vsb, c_vds, c_vgs, c_id) = (
        col(&h, "type"),
        col(&h, "W_m"),
        col(&h, "L_m"),
        col(&h, "Vsb_V"),
        col(&h, "Vds_V"),
        col(&h, "Vgs_V"),
        col(&h, "Id_ekvsc_A"),
    );
    let mut perturbed: BTreeMap<&str, Vec<EkvModel>> = BTreeMap::new();
    for kind in ["nmos", "pmos"] {
        let m = model_for(kind);
        let list = FITTED
            .iter()
            .map(|p| {
                let v = m.get(p).unwrap();
                with_param(&m, p, v + half_ulp6(v))
            })
            .collect();
        perturbed.insert(kind, list);
    }
    let (mut worst_ratio, mut worst_rel, mut n_rows) = (0.0f64, 0.0f64, 0usize);
    for r in &rows {
        let kind = r[c_type].as_str();
        let model = model_for(kind);
        let f = |i: usize| r[i].parse::<f64>().unwrap();
        let (w, l, vsb, vds, vgs, want) = (f(c_w), f(c_l), f(c_vsb), f(c_vds), f(c_vgs), f(c_id));
        let got = ids(&model, w, l, vgs, vds, vsb);
        n_rows += 1;
        if want == 0.0 {
            assert_eq!(got, 0.0, "row {r:?}");
            continue;
        }
        let budget = half_ulp6(want)
            + perturbed[kind]
                .iter()
                .map(|m| (ids(m, w, l, vgs, vds, vsb) - got).abs())
                .sum::<f64>();
        let err = (got - want).abs();
        assert!(
            err <= budget,
            "row {r:?}: got {got:e}, vector {want:e}, budget {budget:e}"
        );
        worst_ratio = worst_ratio.max(err / budget);
        worst_rel = worst_rel.max(err / want.abs());
    }
    println!(
        "test vectors: {n_rows} rows, max relative error {worst_rel:.2e}, \
         max error / rounding budget {worst_ratio:.3}"
    );
    assert_eq!(n_rows, 35028);
    assert!(worst_rel < 1e-4);
}

/// Id RMS relative error against BSIM4 per (type, L), W = 1 um, Id > 100 pA/um,
/// Vds >= 50 mV (the README's conditions). The README states 3-5 % at Vsb = 0; the
/// body-biased rows (Vsb = 0.2, 0.4 V, L = 30n/100n/500n only) are reported separately.
#[test]
fn id_rms_error_against_bsim4_within_five_percent() {
    let (h, rows) = read_csv_gz("ekvsc_testvectors_ptm32lp.csv.gz");
    let idx = |n| col(&h, n);
    let (c_type, c_w, c_l, c_vsb, c_vds, c_vgs, c_bsim) = (
        idx("type"),
        idx("W_m"),
        idx("L_m"),
        idx("Vsb_V"),
        idx("Vds_V"),
        idx("Vgs_V"),
        idx("Id_bsim4_A"),
    );
    // (type, L in nm) -> (sum sq at Vsb=0, n, sum sq with body bias, n, max |rel| at Vsb=0)
    type Group = (f64, usize, f64, usize, f64);
    let mut acc: BTreeMap<(String, u32), Group> = BTreeMap::new();
    for r in &rows {
        let f = |i: usize| r[i].parse::<f64>().unwrap();
        let (w, l, vsb, vds, vgs, bsim) = (f(c_w), f(c_l), f(c_vsb), f(c_vds), f(c_vgs), f(c_bsim));
        if vds < 0.05 - 1e-12 || bsim <= 100e-12 * (w / 1e-6) {
            continue;
        }
        let model = model_for(&r[c_type]);
        let rel = ids(&model, w, l, vgs, vds, vsb) / bsim - 1.0;
        let e = acc
            .entry((r[c_type].clone(), (l * 1e9).round() as u32))
            .or_insert((0.0, 0, 0.0, 0, 0.0));
        if vsb == 0.0 {
            e.0 += rel * rel;
            e.1 += 1;
            e.4 = e.4.max(rel.abs());
        } else {
            e.2 += rel * rel;
            e.3 += 1;
        }
    }
    println!("type   L[nm]  points  RMS(Vsb=0)  max(Vsb=0)  points  RMS(Vsb>0)");
    for ((kind, l), (s0, n0, s1, n1, max0)) in &acc {
        let rms0 = (s0 / *n0 as f64).sqrt();
        let rms1 = if *n1 > 0 {
            format!("{:9.2} %", 100.0 * (s1 / *n1 as f64).sqrt())
        } else {
            "        -".to_string()
        };
        println!(
            "{kind}  {l:6}  {n0:6}  {:8.2} %  {:8.2} %  {n1:6}  {rms1}",
            100.0 * rms0,
            100.0 * max0
        );
        assert!(rms0 <= 0.05, "{kind} L={l}nm: RMS {rms0}");
        if *n1 > 0 {
            let rms1 = (s1 / *n1 as f64).sqrt();
            // The README states no accuracy with body bias; 10 % guards the fit's
            // body-effect terms against regressions (measured 5-7.5 %).
            assert!(rms1 <= 0.10, "{kind} L={l}nm body-biased: RMS {rms1}");
        }
    }
    assert_eq!(acc.len(), 12);
}

/// Linear interpolation of ln(Id) on a uniform or tabulated grid.
fn interp_log(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let k = xs.windows(2).position(|w| w[0] <= x && x <= w[1]).unwrap();
    let t = (x - xs[k]) / (xs[k + 1] - xs[k]);
    (ys[k].ln() * (1.0 - t) + ys[k + 1].ln() * t).exp()
}

/// Bisection for the gate voltage at which `f(vg)` (increasing) equals `target`.
fn solve_increasing(f: impl Fn(f64) -> f64, target: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Output-current error of a 1:1 mirror (W/L = 1u/100n, 10 nA) against output voltage,
/// from a current table id[vds][vgs] on the BSIM4 grid: the diode's Vds = Vgs point is
/// interpolated in ln(Id) between the grid's Vds columns, the output in Vgs.
fn mirror_error_from_grid(vds: &[f64], vgs: &[f64], id: &[Vec<f64>], vout: &[f64]) -> Vec<f64> {
    let diode = |v: f64| {
        let at_vds: Vec<f64> = id.iter().map(|row| interp_log(vgs, row, v)).collect();
        interp_log(vds, &at_vds, v)
    };
    let vg = solve_increasing(diode, 10e-9, 0.2, 0.6);
    vout.iter()
        .map(|vo| {
            let k = vds.iter().position(|v| (v - vo).abs() < 1e-9).unwrap();
            interp_log(vgs, &id[k], vg) / 10e-9 - 1.0
        })
        .collect()
}

/// Issue 4: a 1:1 NMOS mirror 1u/100n at 10 nA; BSIM4 gives +19.5 % output-current
/// error at Vout = 1 V relative to the diode-connected input, and the model must
/// reproduce the error-vs-Vout curve within 1.5 percentage points.
#[test]
fn mirror_output_error_matches_bsim4() {
    let (h, rows) = read_csv_gz("ptm32lp_nmos_idvg.csv.gz");
    let idx = |n| col(&h, n);
    let (c_w, c_l, c_vsb, c_vds, c_vgs, c_id) = (
        idx("W_m"),
        idx("L_m"),
        idx("Vsb_V"),
        idx("Vds_V"),
        idx("Vgs_V"),
        idx("Id_A"),
    );
    let mut table: BTreeMap<i64, Vec<(f64, f64)>> = BTreeMap::new();
    for r in &rows {
        let f = |i: usize| r[i].parse::<f64>().unwrap();
        if f(c_w) == 1e-6 && f(c_l) == 1e-7 && f(c_vsb) == 0.0 {
            table
                .entry((f(c_vds) * 1e6).round() as i64)
                .or_default()
                .push((f(c_vgs), f(c_id)));
        }
    }
    let vds: Vec<f64> = table.keys().map(|k| *k as f64 * 1e-6).collect();
    let mut grid_vgs = Vec::new();
    let mut bsim = Vec::new();
    for pts in table.values_mut() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        grid_vgs = pts.iter().map(|p| p.0).collect();
        bsim.push(pts.iter().map(|p| p.1).collect::<Vec<_>>());
    }
    let model = EkvModel::defaults(Polarity::N);
    let (w, l) = (1e-6, 100e-9);
    let ekv_grid: Vec<Vec<f64>> = vds
        .iter()
        .map(|&vd| {
            grid_vgs
                .iter()
                .map(|&vg| ids(&model, w, l, vg, vd, 0.0))
                .collect()
        })
        .collect();
    let vout = [0.2, 0.4, 0.6, 0.8, 1.0];
    let bsim_err = mirror_error_from_grid(&vds, &grid_vgs, &bsim, &vout);
    let ekv_err_grid = mirror_error_from_grid(&vds, &grid_vgs, &ekv_grid, &vout);
    // The model itself, without any grid: diode solved exactly.
    let vg = solve_increasing(|v| ids(&model, w, l, v, v, 0.0), 10e-9, 0.0, 1.0);
    println!("mirror 1u/100n at 10 nA: diode Vgs = {vg:.4} V (EKV)");
    println!("Vout[V]  BSIM4[%]  EKV[%]  EKV-on-grid[%]");
    for (k, vo) in vout.iter().enumerate() {
        let exact = ids(&model, w, l, vg, *vo, 0.0) / 10e-9 - 1.0;
        println!(
            "{vo:6.2}  {:8.2}  {:6.2}  {:8.2}",
            100.0 * bsim_err[k],
            100.0 * exact,
            100.0 * ekv_err_grid[k]
        );
        // The grid extraction applied to the model agrees with the exact model: the
        // interpolation does not bias the BSIM4 reference.
        assert!(
            (exact - ekv_err_grid[k]).abs() < 0.002,
            "interpolation error at {vo} V"
        );
        assert!(
            (exact - bsim_err[k]).abs() <= 0.015,
            "Vout = {vo} V: EKV {exact}, BSIM4 {}",
            bsim_err[k]
        );
    }
    // The reference data reproduce the number quoted by the issue.
    assert!((bsim_err[4] - 0.195).abs() < 0.005, "BSIM4 {}", bsim_err[4]);
}

/// Deterministic bias-point generator (splitmix64), so failures are reproducible.
struct Points(u64);
impl Points {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

fn instance(pol: Polarity, w: f64, l: f64) -> EkvInstance {
    let m = EkvModel::defaults(pol);
    EkvInstance::new(&m, &MosGeom::new(&m, w, l)).unwrap()
}

/// Random terminal voltages in the device's own polarity, weak to strong inversion,
/// both signs of Vds, some body bias and forward-biased junctions.
fn random_bias(p: &mut Points, pol: Polarity) -> [f64; 4] {
    let k = pol.sign();
    let vb = 0.0;
    let vs = p.range(-0.1, 0.5);
    let vd = p.range(-0.1, 1.1);
    let vg = p.range(-0.3, 1.2);
    [k * vd, k * vg, k * vs, k * vb]
}

fn close(a: f64, b: f64, scale: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * (a.abs().max(b.abs()) + scale)
}

/// Every partial of id and q against central differences (h = 1 uV), both polarities,
/// three lengths, random bias. The tolerance scale is the largest entry of the same
/// row, so near-zero entries are judged against the row's magnitude.
#[test]
fn jacobian_matches_finite_differences() {
    let mut p = Points(42);
    let h = 1e-6;
    let mut worst = 0.0f64;
    for pol in [Polarity::N, Polarity::P] {
        for l in [30e-9, 100e-9, 1e-6] {
            let inst = instance(pol, 1e-6, l);
            for _ in 0..300 {
                let v = random_bias(&mut p, pol);
                let e = inst.eval(v[D], v[G], v[S], v[B]);
                let at = |dv: [f64; 4]| inst.eval(dv[D], dv[G], dv[S], dv[B]);
                let id_scale = e.did.iter().fold(0.0f64, |a, x| a.max(x.abs()));
                let q_scale: Vec<f64> =
                    e.dq.iter()
                        .map(|row| row.iter().fold(0.0f64, |a, x| a.max(x.abs())))
                        .collect();
                for j in 0..4 {
                    let (mut up, mut dn) = (v, v);
                    up[j] += h;
                    dn[j] -= h;
                    let (eu, ed) = (at(up), at(dn));
                    let fd = (eu.id - ed.id) / (2.0 * h);
                    assert!(
                        close(e.did[j], fd, 1e-3 * id_scale, 1e-4),
                        "{pol:?} L={l} v={v:?} did[{j}] = {} vs fd {fd}",
                        e.did[j]
                    );
                    worst = worst.max((e.did[j] - fd).abs() / (id_scale + 1e-300));
                    for (i, scale) in q_scale.iter().enumerate() {
                        let fdq = (eu.q[i] - ed.q[i]) / (2.0 * h);
                        assert!(
                            close(e.dq[i][j], fdq, 1e-3 * scale, 1e-4),
                            "{pol:?} L={l} v={v:?} dq[{i}][{j}] = {} vs fd {fdq}",
                            e.dq[i][j]
                        );
                    }
                }
            }
        }
    }
    println!("jacobian: worst |did - fd| / max|did| = {worst:.2e}");
}

/// All charges and currents depend on voltage differences only, and q_b is defined as
/// minus the rest: so sum(q) = 0, every column of dq sums to 0 (charge conservation),
/// every row of dq and did sums to 0 (a common shift of all voltages changes nothing).
/// This holds for the total (intrinsic + overlap + junction) charges.
#[test]
fn charges_are_conserved() {
    let mut p = Points(7);
    for pol in [Polarity::N, Polarity::P] {
        let inst = instance(pol, 2e-6, 60e-9);
        for _ in 0..500 {
            let v = random_bias(&mut p, pol);
            let e = inst.eval(v[D], v[G], v[S], v[B]);
            let qmax = e.q.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            assert!(e.q.iter().sum::<f64>().abs() <= 1e-12 * qmax);
            let cmax = e.dq.iter().flatten().fold(0.0f64, |a, x| a.max(x.abs()));
            for j in 0..4 {
                let col: f64 = (0..4).map(|i| e.dq[i][j]).sum();
                assert!(col.abs() <= 1e-12 * cmax, "column {j}: {col}");
                let row: f64 = e.dq[j].iter().sum();
                assert!(row.abs() <= 1e-10 * cmax, "row {j}: {row}");
            }
            let gmax = e.did.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            assert!(e.did.iter().sum::<f64>().abs() <= 1e-10 * gmax);
            // The gate of a MOSFET gains charge when its voltage rises.
            assert!(e.dq[G][G] > 0.0);
            // Physical capacitances: gate charge falls when any other terminal rises.
            for j in [D, S, B] {
                assert!(e.dq[G][j] <= 1e-9 * cmax, "{pol:?} {v:?} dq_g/dv_{j}");
            }
        }
    }
}

fn swapped(e: &MosEval) -> MosEval {
    let perm = [S, G, D, B];
    let mut out = *e;
    out.id = -e.id;
    for j in 0..4 {
        out.did[j] = -e.did[perm[j]];
        out.q[j] = e.q[perm[j]];
        for i in 0..4 {
            out.dq[i][j] = e.dq[perm[i]][perm[j]];
        }
    }
    out
}

/// Exchanging the drain and source terminals mirrors the device (default junctions and
/// overlaps are equal on both sides).
#[test]
fn drain_source_symmetry() {
    let mut p = Points(3);
    for pol in [Polarity::N, Polarity::P] {
        let inst = instance(pol, 1e-6, 30e-9);
        for _ in 0..300 {
            let v = random_bias(&mut p, pol);
            let a = inst.eval(v[D], v[G], v[S], v[B]);
            let b = swapped(&inst.eval(v[S], v[G], v[D], v[B]));
            let tol = |x: f64, y: f64| (x - y).abs() <= 1e-12 * (x.abs().max(y.abs())) + 1e-30;
            assert!(tol(a.id, b.id), "{v:?}: {} vs {}", a.id, b.id);
            for j in 0..4 {
                assert!(tol(a.did[j], b.did[j]));
                assert!(
                    (a.q[j] - b.q[j]).abs() <= 1e-12 * a.q.iter().map(|x| x.abs()).sum::<f64>()
                );
            }
        }
    }
}

/// Through Vds = 0 the current vanishes and its first derivatives, the charges and the
/// capacitances are continuous.
#[test]
fn continuous_through_zero_vds() {
    for pol in [Polarity::N, Polarity::P] {
        let k = pol.sign();
        let inst = instance(pol, 1e-6, 30e-9);
        for vg in [0.1, 0.4, 0.7, 1.0] {
            let eps = 1e-9;
            let vs = 0.2;
            let a = inst.eval(k * (vs + eps), k * vg, k * vs, 0.0);
            let b = inst.eval(k * (vs - eps), k * vg, k * vs, 0.0);
            let gscale = a.did.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(a.id.abs() <= 1e-8 * gscale && b.id.abs() <= 1e-8 * gscale);
            for j in 0..4 {
                assert!(
                    (a.did[j] - b.did[j]).abs() <= 1e-6 * gscale,
                    "{pol:?} vg={vg} did[{j}]: {} vs {}",
                    a.did[j],
                    b.did[j]
                );
            }
            let cscale = a.dq.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
            for i in 0..4 {
                for j in 0..4 {
                    assert!((a.dq[i][j] - b.dq[i][j]).abs() <= 1e-6 * cscale);
                }
            }
        }
    }
}

/// Strong-inversion intrinsic capacitances take the textbook values: with overlaps and
/// junctions off, Cgg = Cox W L in strong inversion, and the saturation partition puts
/// 40 % of the channel charge on the drain (Ward-Dutton).
#[test]
fn strong_inversion_capacitances() {
    let mut card: Vec<(String, f64)> = ["cgso", "cgdo", "cgbo", "cj", "cjsw"]
        .iter()
        .map(|n| (n.to_string(), 0.0))
        .collect();
    card.push(("level".into(), 28.0));
    let model = EkvModel::from_card(Polarity::N, &card).unwrap();
    let (w, l) = (1e-6, 1e-6);
    let inst = EkvInstance::new(&model, &MosGeom::new(&model, w, l)).unwrap();
    let c = model.cox * (w - 2.0 * model.dw) * (l - model.dl);
    let lin = inst.eval(0.0, 1.0, 0.0, 0.0);
    let cgg = lin.dq[G][G] / c;
    let sat = inst.eval(1.0, 1.0, 0.0, 0.0);
    let partition = sat.q[D] / (sat.q[D] + sat.q[S]);
    println!("Cgg/Cox(Vds=0, Vgs=1) = {cgg:.3}, saturation qd/(qd+qs) = {partition:.3}");
    assert!((cgg - 1.0).abs() < 0.05, "Cgg/Cox = {cgg}");
    assert!((partition - 0.4).abs() < 0.03, "partition {partition}");
    // Accumulation: the gate sees the full oxide capacitance against the bulk. With the
    // fitted phi, VFB = VT0 - phi - gamma sqrt(phi) is about -1.7 V, so it takes Vgb = -3 V.
    let acc = inst.eval(0.0, -3.0, 0.0, 0.0);
    assert!((acc.dq[G][G] / c - 1.0).abs() < 0.05);
    assert!((-acc.dq[G][B] / c - 1.0).abs() < 0.05);
}

/// UT = kT/q at the device temperature; VT0 shifts by tcv per kelvin; the subthreshold
/// slope d ln(Id)/d Vg = 1/(n UT) therefore scales as 1/T.
#[test]
fn temperature_dependence() {
    let model = EkvModel::defaults(Polarity::N);
    let g0 = MosGeom::new(&model, 1e-6, 100e-9);
    let hot = MosGeom {
        temp_k: 400.0,
        ..g0
    };
    let a = EkvInstance::new(&model, &g0).unwrap();
    let b = EkvInstance::new(&model, &hot).unwrap();
    let kq = 1.380649e-23 / 1.602176634e-19;
    assert!((a.ut() - kq * 300.0).abs() < 1e-15);
    assert!((b.ut() / a.ut() - 400.0 / 300.0).abs() < 1e-12);
    assert!((b.vt0() - a.vt0() - model.tcv * 100.0).abs() < 1e-12);
    let slope = |i: &EkvInstance| {
        let e = i.eval(0.5, 0.1, 0.0, 0.0);
        e.gm() / e.id
    };
    let ratio = slope(&b) / slope(&a);
    println!("subthreshold slope ratio 400 K / 300 K = {ratio:.4} (ideal 0.7500)");
    assert!((ratio - 0.75).abs() < 0.005);
    // Strong inversion: mobility falls with temperature.
    assert!(b.current(1.0, 1.0, 0.0, 0.0) < a.current(1.0, 1.0, 0.0, 0.0));
}

/// `eval` (terminal form) and `ids` (README magnitude form) agree; p-channel current
/// flows out of the drain.
#[test]
fn terminal_form_matches_magnitude_form() {
    for pol in [Polarity::N, Polarity::P] {
        let model = EkvModel::defaults(pol);
        let g = MosGeom::new(&model, 1e-6, 60e-9);
        let k = pol.sign();
        for (vgs, vds, vsb) in [(0.3, 0.5, 0.0), (0.9, 0.05, 0.2), (0.6, 1.0, 0.4)] {
            let mag = ids(&model, 1e-6, 60e-9, vgs, vds, vsb);
            let (vd, vg, vs) = (k * (vsb + vds), k * (vsb + vgs), k * vsb);
            let e = eval(&model, &g, vd, vg, vs, 0.0);
            assert!(mag > 0.0);
            assert!(
                (e.id - k * mag).abs() <= 1e-13 * mag,
                "{pol:?}: {} vs {mag}",
                e.id
            );
        }
    }
}

#[test]
fn model_card_parsing() {
    let err = EkvModel::from_card(Polarity::N, &[("vth0".into(), 0.4)]).unwrap_err();
    assert_eq!(
        err.msg,
        "unknown model parameter 'vth0' for level-28 (EKV-SC) MOSFET"
    );
    assert!(EkvModel::from_card(Polarity::N, &[("level".into(), 54.0)]).is_err());
    assert!(EkvModel::from_card(Polarity::N, &[("mj".into(), 1.0)]).is_err());
    assert!(EkvModel::from_card(Polarity::P, &[("cox".into(), -1.0)]).is_err());
    let m =
        EkvModel::from_card(Polarity::P, &[("vt0".into(), 0.45), ("level".into(), 28.0)]).unwrap();
    assert_eq!(m.vt0, 0.45);
    assert_eq!(m.mu0, EkvModel::defaults(Polarity::P).mu0);
    let mut names: Vec<&str> = PARAMS.iter().map(|p| p.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), PARAMS.len());
    for p in PARAMS {
        assert!(!p.unit.is_empty() && !p.doc.is_empty());
        assert_eq!(
            EkvModel::defaults(Polarity::N).get(p.name),
            Some(p.default_n)
        );
    }
    let bad = MosGeom::new(&m, 5e-9, 100e-9);
    assert!(EkvInstance::new(&m, &bad).is_err());
    assert!(eval(&m, &bad, 0.0, 0.0, 0.0, 0.0).id.is_nan());
}

/// Joins `+` continuation lines and returns every `.model` card of a SPICE file as
/// (name, type, params); enough of the dialect to check the shipped library.
/// (name, type, parameters) of one `.model` card.
type Card = (String, String, Vec<(String, f64)>);

fn model_cards(text: &str) -> Vec<Card> {
    let mut logical: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split(['$', ';']).next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('*') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('+') {
            if let Some(last) = logical.last_mut() {
                last.push(' ');
                last.push_str(rest);
            }
        } else {
            logical.push(line.to_string());
        }
    }
    logical
        .iter()
        .filter(|l| l.to_lowercase().starts_with(".model"))
        .map(|l| {
            let spaced = l.replace('=', " = ").replace(['(', ')'], " ");
            let tok: Vec<&str> = spaced.split_whitespace().collect();
            let mut params = Vec::new();
            let mut i = 3;
            while i + 2 < tok.len() && tok[i + 1] == "=" {
                params.push((tok[i].to_lowercase(), tok[i + 2].parse::<f64>().unwrap()));
                i += 3;
            }
            assert_eq!(i, tok.len(), "unparsed tail in {l}");
            (tok[1].to_lowercase(), tok[2].to_lowercase(), params)
        })
        .collect()
}

/// models/cmos28.lib holds nch/pch level-28 cards that the model accepts and that carry
/// the fitted parameters.
#[test]
fn cmos28_library_cards() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/models/cmos28.lib")).unwrap();
    let cards = model_cards(&text);
    let mut seen = 0;
    for (name, kind, params) in &cards {
        let pol = match kind.as_str() {
            "nmos" => Polarity::N,
            "pmos" => Polarity::P,
            _ => continue,
        };
        let m = EkvModel::from_card(pol, params).unwrap();
        if name == "nch" || name == "pch" {
            seen += 1;
            assert_eq!(
                m,
                EkvModel::defaults(pol),
                "{name} differs from the fitted set"
            );
        }
    }
    assert_eq!(seen, 2);
}

/// README example: A_VT = 1.5 mV um on a 1u/100n pair gives sigma(dVT) ~ 4.7 mV for
/// the pair and sigma(dI/I) ~ 12 % in weak inversion.
#[test]
fn pelgrom_example() {
    let model = EkvModel::defaults(Polarity::N);
    let (w, l) = (1e-6, 100e-9);
    let (svt, sbeta) = model.pelgrom_sigmas(w, l, 1.0);
    let pair = svt * 2f64.sqrt();
    assert!((pair - 4.74e-3).abs() < 0.01e-3, "{pair}");
    assert!((sbeta * 2f64.sqrt() - 0.0316).abs() < 0.001);
    let nominal = MosGeom::new(&model, w, l);
    let shifted = MosGeom {
        dvt0: pair,
        ..nominal
    };
    let vg = 0.3;
    let i0 = eval(&model, &nominal, 0.5, vg, 0.0, 0.0).id;
    let i1 = eval(&model, &shifted, 0.5, vg, 0.0, 0.0).id;
    let di = (i1 / i0).ln().abs();
    println!(
        "weak-inversion pair current mismatch per sigma: {:.1} %",
        100.0 * di
    );
    assert!((di - 0.12).abs() < 0.01);
}
