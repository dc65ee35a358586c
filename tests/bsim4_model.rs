//! The BSIM4 model against ngspice-39 on SkyWater sky130 (tests/data/bsim4/*.json, made by
//! scripts/regen_sky130_goldens.py; the tests never run ngspice).
//!
//! Each data file holds the effective numeric model card of the bin ngspice selected for
//! one device geometry, the instance parameters the sky130 subcircuit passes, terminal
//! current sweeps at 27 C and 75 C, and the instance's operating-point quantities along
//! gate sweeps. The model is evaluated on the stored card with the internal nodes (series
//! resistances, body network) solved, exactly as ngspice solved them.
//!
//! Tolerances:
//! * drain current: within 1 % of the curve's largest |Id| everywhere, and within 2 % of
//!   |Id| itself wherever |Id| > 1 nA (the acceptance criterion);
//! * intrinsic charges qg, qd, qs, qb: within 2 % of the largest (they agree to 1e-9);
//! * intrinsic capacitances cgg, cgd, cgs, cdd, ...: within 2 % of the largest entry of
//!   the capacitance matrix at that bias (5 % for capmod 0): they are derivatives of the
//!   charges, and ngspice's hand-written derivatives are not all exact, ours are;
//! * gm, gds, gmbs: within 2 % of the largest of the three at that bias.

use std::path::PathBuf;

use neurospice::devices::bsim4::{Card, Instance, InstanceParams, Polarity};
use serde_json::Value;

const GMIN: f64 = 1e-12;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bsim4")
}

struct Golden {
    name: String,
    json: Value,
    card: Card,
    params: InstanceParams,
}

fn load(path: &std::path::Path) -> Golden {
    let text = std::fs::read_to_string(path).expect("read golden");
    let json: Value = serde_json::from_str(&text).expect("parse golden");
    let pol = if json["polarity"] == "n" {
        Polarity::N
    } else {
        Polarity::P
    };
    let card_obj = json["card"].as_object().expect("card");
    let pairs: Vec<(&str, f64)> = card_obj
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_f64().expect("number")))
        .collect();
    let card =
        Card::from_params(pol, pairs.iter().map(|(k, v)| (*k, *v, None))).expect("card accepted");
    let mut params = InstanceParams::default();
    for (k, v) in json["inst"].as_object().expect("inst") {
        params
            .set(k, v.as_f64().expect("number"), None)
            .expect("instance parameter");
    }
    Golden {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        json,
        card,
        params,
    }
}

fn goldens() -> Vec<Golden> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir())
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected the sky130 golden files");
    files.iter().map(|p| load(p)).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Terminal voltages (d, g, s, b) of point `k` of a sweep.
fn bias(curve: &Value, k: usize) -> [f64; 4] {
    let x = curve["x"][k].as_f64().unwrap();
    let fixed = &curve["fixed"];
    let get = |name: &str| fixed.get(name).and_then(|v| v.as_f64()).unwrap_or(0.0);
    let mut v = [get("vd"), get("vg"), 0.0, get("vb")];
    match curve["sweep"].as_str().unwrap() {
        "vg" => v[1] = x,
        "vd" => v[0] = x,
        other => panic!("unknown sweep {other}"),
    }
    v
}

#[derive(Default)]
struct Worst {
    ib: f64,
    rel_max: f64,
    rel_self: f64,
    at: String,
}

/// Worst errors of one curve family over every file and temperature: (family, % of the
/// curve's Imax, % of Id above 1 nA).
type Families = Vec<(String, f64, f64)>;

fn check_curves(
    g: &Golden,
    temp: &str,
    worst: &mut Worst,
    families: &mut Families,
    failures: &mut Vec<String>,
) {
    let t_k = temp.parse::<f64>().unwrap() + 273.15;
    let inst = Instance::new(&g.card, &g.params, t_k).expect("instance");
    for curve in g.json["temps"][temp]["curves"].as_array().unwrap() {
        let name = curve["name"].as_str().unwrap();
        let family = name.split("_vgs").next().unwrap_or(name).to_string();
        let fi = match families.iter().position(|f| f.0 == family) {
            Some(i) => i,
            None => {
                families.push((family, 0.0, 0.0));
                families.len() - 1
            }
        };
        let want = floats(&curve["id"]);
        let imax = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (k, &w) in want.iter().enumerate() {
            let [vd, vg, vs, vb] = bias(curve, k);
            let e = inst.terminal_eval(vd, vg, vs, vb, GMIN).unwrap_or_else(|| {
                panic!(
                    "{} {temp}C {name} point {k}: internal nodes did not converge",
                    g.name
                )
            });
            let got = e.i[0];
            // body current (junctions, substrate current, GIDL): within 1 % of the curve's
            // largest |Ib| plus 1 pA (gmin-level currents)
            let ib_want = curve["ib"][k].as_f64().unwrap();
            let ib_max = floats(&curve["ib"])
                .iter()
                .fold(0.0f64, |m, x| m.max(x.abs()));
            let ib_err = (e.i[3] - ib_want).abs();
            worst.ib = worst.ib.max(ib_err / (ib_max + 1e-12));
            if ib_err > 0.01 * ib_max + 1e-12 {
                failures.push(format!(
                    "{} {temp}C {name} point {k}: body current {:.6e}, ngspice {ib_want:.6e}",
                    g.name, e.i[3]
                ));
            }
            let err = (got - w).abs();
            let r_max = err / imax;
            let r_self = if w.abs() > 1e-9 { err / w.abs() } else { 0.0 };
            let at = format!(
                "{} {temp}C {name} point {k} ({vd:.3}, {vg:.3}, {vb:.3}): got {got:.6e} want {w:.6e}",
                g.name
            );
            if r_max > worst.rel_max {
                worst.rel_max = r_max;
                worst.at = at.clone();
            }
            worst.rel_self = worst.rel_self.max(r_self);
            families[fi].1 = families[fi].1.max(100.0 * r_max);
            families[fi].2 = families[fi].2.max(100.0 * r_self);
            if r_max > 0.01 || r_self > 0.02 {
                failures.push(format!(
                    "{at}: {:.3} % of Imax, {:.3} % of Id",
                    100.0 * r_max,
                    100.0 * r_self
                ));
            }
        }
    }
}

#[test]
fn drain_current_families_match_ngspice() {
    let mut failures = vec![];
    let mut families = Families::new();
    for g in goldens() {
        for temp in ["27", "75"] {
            let mut worst = Worst::default();
            check_curves(&g, temp, &mut worst, &mut families, &mut failures);
            println!(
                "{:32} {temp}C: worst {:.4} % of Imax, {:.4} % of Id (>1 nA), Ib {:.4} %; at {}",
                g.name,
                100.0 * worst.rel_max,
                100.0 * worst.rel_self,
                100.0 * worst.ib,
                worst.at
            );
        }
    }
    for (family, r_max, r_self) in &families {
        println!("family {family:24} worst {r_max:.2e} % of Imax, {r_self:.2e} % of Id above 1 nA");
    }
    if !failures.is_empty() {
        panic!(
            "{} points out of tolerance, first ones:\n{}",
            failures.len(),
            failures[..failures.len().min(30)].join("\n")
        );
    }
}

/// Largest relative deviation of `got` from `want` over a set of quantities, relative to
/// the largest |want| of the set (floored at `floor`).
fn set_error(got: &[f64], want: &[f64], floor: f64) -> f64 {
    let scale = want.iter().fold(floor, |m, x| m.max(x.abs()));
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / scale)
        .fold(0.0, f64::max)
}

const CAP_NAMES: [[&str; 4]; 4] = [
    ["cgg", "cgd", "cgs", "cgb"],
    ["cdg", "cdd", "cds", "cdb"],
    ["csg", "csd", "css", "csb"],
    ["cbg", "cbd", "cbs", "cbb"],
];

#[test]
fn operating_points_and_capacitances_match_ngspice() {
    let mut failures = vec![];
    for g in goldens() {
        let k = if g.json["polarity"] == "n" { 1.0 } else { -1.0 };
        // ngspice's capmod 0 capacitances are not the derivatives of its capmod 0 charges
        // (its cggb multiplies the poly-depletion slope dVgs_eff/dVg in twice): they differ
        // from the exact ones by up to 4 %; the charges themselves agree exactly
        let cap_tol = if g.card.get("capmod") == Some(0.0) {
            0.05
        } else {
            0.02
        };
        for temp in ["27", "75"] {
            let inst =
                Instance::new(&g.card, &g.params, temp.parse::<f64>().unwrap() + 273.15).unwrap();
            let (mut w_v, mut w_c, mut w_g, mut w_q, mut w_j) =
                (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for sweep in g.json["temps"][temp]["ops"].as_array().unwrap() {
                let name = sweep["name"].as_str().unwrap();
                let n = sweep["x"].as_array().unwrap().len();
                let col = |q: &str, j: usize| sweep[q][j].as_f64().unwrap();
                for j in 0..n {
                    let [vd, vg, vs, vb] = bias(sweep, j);
                    let e = inst.terminal_eval(vd, vg, vs, vb, GMIN).expect("converges");
                    let vi = e.v_internal;
                    // internal branch voltages, n-channel frame
                    let vds = k * (vi[4] - vi[5]);
                    let vgs = k * (vi[1] - vi[5]);
                    let vbs = k * (vi[6] - vi[5]);
                    let ev = set_error(
                        &[vds, vgs, vbs],
                        &[col("vds", j), col("vgs", j), col("vbs", j)],
                        1e-3,
                    );
                    let mut got = vec![];
                    let mut want = vec![];
                    for (row, names) in e.op.cint.iter().zip(CAP_NAMES) {
                        for (c, name) in row.iter().zip(names) {
                            got.push(*c);
                            want.push(col(name, j));
                        }
                    }
                    let ec = set_error(&got, &want, 1e-18);
                    let eg = set_error(
                        &[e.op.gm, e.op.gds, e.op.gmbs],
                        &[col("gm", j), col("gds", j), col("gmbs", j)],
                        1e-12,
                    );
                    let ei = set_error(
                        &[e.op.ids * k, e.op.isub],
                        &[col("id", j), col("isub", j)],
                        1e-15,
                    );
                    let et = set_error(
                        &[e.op.vth, e.op.vdsat],
                        &[col("vth", j), col("vdsat", j)],
                        1e-3,
                    );
                    let eq = set_error(
                        &e.op.qi,
                        &[col("qg", j), col("qd", j), col("qs", j), col("qb", j)],
                        1e-18,
                    );
                    // BSIM4 junction capacitance is discontinuous at zero bias when a given
                    // perimeter minus the gate edge is negative (sky130 passes pd = ps = 0,
                    // permod = 1): the sidewall term is dropped in reverse bias and kept in
                    // forward bias. A junction within 1 uV of zero can sit on either side
                    // in either simulator, so its capacitance is compared away from zero only.
                    let vj = |body: usize, diff: usize| {
                        k * (vi[inst.collapse(body)] - vi[inst.collapse(diff)])
                    };
                    let mut ej: f64 = 0.0;
                    for (got, name, vjct) in [
                        (e.op.capbd, "capbd", vj(7, 4)),
                        (e.op.capbs, "capbs", vj(8, 5)),
                    ] {
                        if vjct.abs() > 1e-6 {
                            ej = ej.max(set_error(&[got], &[col(name, j)], 1e-18));
                        }
                    }
                    let at = format!("{} {temp}C {name} point {j} vg={vg:.2}", g.name);
                    for (what, err, tol) in [
                        ("vds/vgs/vbs", ev, 1e-4),
                        ("capacitances", ec, cap_tol),
                        ("gm/gds/gmbs", eg, 0.02),
                        ("id/isub", ei, 1e-4),
                        ("vth/vdsat", et, 1e-4),
                        ("qg/qd/qs/qb", eq, 0.02),
                        ("capbd/capbs", ej, 0.02),
                    ] {
                        if err > tol {
                            failures.push(format!("{at}: {what} off by {:.3} %", 100.0 * err));
                        }
                    }
                    w_v = w_v.max(ev);
                    w_c = w_c.max(ec);
                    w_g = w_g.max(eg);
                    w_q = w_q.max(eq);
                    w_j = w_j.max(ej);
                }
            }
            println!(
                "{:32} {temp}C: internal V {:.2e}, caps {:.3} %, gm/gds/gmbs {:.3} %, intrinsic charges {:.3} %, junction caps {:.3} %",
                g.name,
                w_v,
                100.0 * w_c,
                100.0 * w_g,
                100.0 * w_q,
                100.0 * w_j
            );
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} out of tolerance:\n{}",
            failures.len(),
            failures[..failures.len().min(30)].join("\n")
        );
    }
}
