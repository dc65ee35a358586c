//! Cost of one BSIM4 evaluation on the sky130 nfet_01v8 card (W = 0.84 um, L = 0.15 um,
//! source/drain series resistances and the five-resistor body network: five internal
//! nodes), the inner loop of every PDK run.
//!
//! * `bsim4 load` is what the engine pays per instance per Newton iteration: voltage
//!   limiting, the intrinsic device with exact derivatives, junctions, parasitics, and the
//!   stamping of currents, charges and both Jacobians through matrix slots.
//! * `bsim4 eval (dense 9x9)` is the pure evaluation with dense Jacobians.
//! * `bsim4 instance setup` is the per-instance size/temperature pre-computation (paid
//!   once per instance and Monte Carlo sample).
//!
//! * `bsim4 load x400` loads 400 distinct instances (each on its own nodes) per iteration,
//!   so the instance data does not all sit in L1 cache; divide by 400.
//!
//! ngspice's cost per BSIM4v5 instance per Newton iteration on the same card is measured by
//! `scripts/regen_sky130_goldens.py --ngspice-cost 400 [--callgrind]` (docs/bsim4.md).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use neurospice::devices::bsim4::{Bsim4, Card, Instance, InstanceParams, Polarity};
use neurospice::devices::{DeviceOps, Load, Setup};

fn sky130_nfet() -> (Card, InstanceParams) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bsim4/nfet_01v8_w0p84_l0p15.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let pairs: Vec<(String, f64)> = json["card"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(f64::NAN)))
        .collect();
    let card = Card::from_params(
        Polarity::N,
        pairs.iter().map(|(k, v)| (k.as_str(), *v, None)),
    )
    .unwrap_or_else(|e| panic!("card: {e}"));
    let mut params = InstanceParams::default();
    for (k, v) in json["inst"].as_object().into_iter().flatten() {
        params
            .set(k, v.as_f64().unwrap_or(f64::NAN), None)
            .unwrap_or_else(|e| panic!("instance: {e}"));
    }
    (card, params)
}

/// One load of `dev` at `x` into the given buffers (a DC-free transient-style load).
fn load_at(
    dev: &mut Bsim4,
    x: &[f64],
    f: &mut [f64],
    q: &mut [f64],
    jf: &mut [f64],
    jq: &mut [f64],
) -> bool {
    let mut l = Load {
        x,
        time: 0.0,
        src_fact: 1.0,
        gmin: 1e-12,
        dc: false,
        tran_op: false,
        init_junctions: false,
        init_fix: false,
        temp: 300.15,
        tstep: 0.0,
        tstop: 0.0,
        f,
        q,
        jf,
        jq,
        noncon: false,
        bypass: Default::default(),
    };
    dev.load(&mut l);
    l.noncon
}

fn bench_bsim4(c: &mut Criterion) {
    let (card, params) = sky130_nfet();
    let temp = 300.15;
    let mut dev = Bsim4::new(
        [1, 2, 3, 4],
        [5, 6, 7, 8, 9],
        Arc::new(card.clone()),
        params.clone(),
        temp,
    )
    .unwrap_or_else(|e| panic!("device: {e}"));
    let mut s = Setup { requests: vec![] };
    dev.setup(&mut s);
    let nreq = s.requests.len();
    let map: Vec<usize> = (1..=nreq).collect();
    dev.remap(&map);
    // a saturated operating point (inverter / mirror transistor)
    let x = [0.0, 0.9, 0.8, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0];
    let mut f = vec![0.0; 10];
    let mut q = vec![0.0; 10];
    let mut jf = vec![0.0; nreq + 1];
    let mut jq = vec![0.0; nreq + 1];
    c.bench_function("bsim4 load (sky130 nfet, 5 internal nodes)", |b| {
        b.iter(|| load_at(&mut dev, black_box(&x), &mut f, &mut q, &mut jf, &mut jq))
    });
    // 400 instances on their own drain and internal nodes, gate shared
    let ndev = 400;
    let shared = Arc::new(card.clone());
    let mut s = Setup { requests: vec![] };
    let mut devs: Vec<Bsim4> = (0..ndev)
        .map(|i| {
            let d = 2 + i * 6;
            let mut dev = Bsim4::new(
                [d, 1, 0, 0],
                [d + 1, d + 2, d + 3, d + 4, d + 5],
                shared.clone(),
                params.clone(),
                temp,
            )
            .unwrap_or_else(|e| panic!("device: {e}"));
            dev.setup(&mut s);
            dev
        })
        .collect();
    let map: Vec<usize> = (1..=s.requests.len()).collect();
    for d in devs.iter_mut() {
        d.remap(&map);
    }
    let nunk = 2 + ndev * 6;
    let mut xa = vec![0.0; nunk];
    xa[1] = 0.8;
    for i in 0..ndev {
        xa[2 + i * 6] = 0.9;
        xa[3 + i * 6] = 0.9;
    }
    let mut fa = vec![0.0; nunk];
    let mut qa = vec![0.0; nunk];
    let mut jfa = vec![0.0; s.requests.len() + 1];
    let mut jqa = vec![0.0; s.requests.len() + 1];
    c.bench_function("bsim4 load x400 (distinct instances)", |b| {
        b.iter(|| {
            for d in devs.iter_mut() {
                load_at(d, black_box(&xa), &mut fa, &mut qa, &mut jfa, &mut jqa);
            }
        })
    });
    let inst = Instance::new(&card, &params, temp).unwrap_or_else(|e| panic!("instance: {e}"));
    let v = [0.9, 0.8, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0];
    c.bench_function("bsim4 eval (dense 9x9)", |b| {
        b.iter(|| inst.eval(black_box(&v), 1e-12))
    });
    c.bench_function("bsim4 instance setup", |b| {
        b.iter(|| Instance::new(black_box(&card), black_box(&params), temp))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_bsim4
}
criterion_main!(benches);
