//! sky130 device families against ngspice-39, by the criterion: every Id-Vg and Id-Vd
//! curve of `tests/golden/sky130_{n,p}fet_*.cir` (nfet_01v8, pfet_01v8 at W/L = 0.84/0.15,
//! 2/0.35, 5.5/3, 0.42/0.15, nf = 2, m = 3, reverse body bias, and the lvt/hvt variants; 27 C,
//! 85 C and -40 C; sizes on bin edges) run through the `neurospice` binary on the unchanged PDK must stay within
//! 1 % of the curve's largest |Id| everywhere and within 2 % of Id itself where |Id| > 1 nA.
//! The references are made by `scripts/regen_goldens.py` (ngspice-39, never our output);
//! `tests/golden.rs` checks the same files by its waveform rule as well.

mod common;

use common::{Table, netlist_stems, read_csv, read_json_map, root, run_neurospice};

/// The tolerances.
const OF_MAX: f64 = 0.01;
const OF_SELF: f64 = 0.02;
const SELF_FLOOR: f64 = 1e-9;

/// Drain-current columns: the 0 V ammeters `vK` in series with each device's drain.
fn drain_columns(t: &Table) -> Vec<String> {
    t.header
        .iter()
        .filter(|h| {
            h.strip_prefix("i(v")
                .and_then(|r| r.strip_suffix(')'))
                .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        })
        .cloned()
        .collect()
}

/// Worst violations of the criterion (as a fraction of the allowed error, > 1 fails) for one
/// column of a two-level sweep, curve by curve (the curves are the outer sweep's values, the
/// second CSV column). Returns (worst ratio, description).
fn worst_of_column(
    reference: &Table,
    ours: &Table,
    name: &str,
    nested: bool,
) -> Result<(f64, String), String> {
    let r = reference.column(name).ok_or("no reference column")?;
    let o = ours
        .column(name)
        .ok_or_else(|| format!("{name}: missing from our output"))?;
    if r.len() != o.len() {
        return Err(format!("{name}: {} rows, ngspice has {}", o.len(), r.len()));
    }
    let outer = &reference.columns[1];
    let (inner_r, inner_o) = (&reference.columns[0], &ours.columns[0]);
    let mut worst = (0.0_f64, String::new());
    let mut start = 0;
    while start < r.len() {
        let mut end = start + 1;
        while end < r.len() && (!nested || outer[end] == outer[start]) {
            end += 1;
        }
        let imax = r[start..end].iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        for i in start..end {
            if (inner_r[i] - inner_o[i]).abs() > 1e-9 {
                return Err(format!(
                    "{name}: sweep point {i} is {} here, {} in ngspice",
                    inner_o[i], inner_r[i]
                ));
            }
            let err = (o[i] - r[i]).abs();
            let mut ratio = err / (OF_MAX * imax);
            if r[i].abs() > SELF_FLOOR {
                ratio = ratio.max(err / (OF_SELF * r[i].abs()));
            }
            let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
            if ratio > worst.0 {
                worst = (
                    ratio,
                    format!(
                        "{name} at ({}, {}): {:e} here, {:e} in ngspice (curve max {imax:e})",
                        inner_r[i], outer[i], o[i], r[i]
                    ),
                );
            }
        }
        start = end;
    }
    Ok(worst)
}

fn check_family(name: &str) {
    check_curves("tests/golden", name, 4, true);
}

/// The criterion on every drain-current column `i(vK)` of `dir/name.cir` (at least
/// `min_devices` of them) against `dir/name.ngspice.csv`; `nested`: a two-level sweep whose
/// outer values (the second column) separate the curves, else the whole sweep is one curve.
fn check_curves(dir: &str, name: &str, min_devices: usize, nested: bool) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let out = tmp.path().join("out.csv");
    let netlist = format!("{dir}/{name}.cir");
    let out_s = out.to_string_lossy().into_owned();
    let run = run_neurospice(&["run", &netlist, "-o", &out_s], &root(), None);
    assert_eq!(run.code, Some(0), "{name}: {}", run.describe());
    let reference = read_csv(&root().join(format!("{dir}/{name}.ngspice.csv"))).unwrap();
    let ours = read_csv(&out).unwrap();
    let columns = drain_columns(&reference);
    assert!(
        columns.len() >= min_devices,
        "{name}: only {} devices",
        columns.len()
    );
    let mut problems = Vec::new();
    for c in &columns {
        match worst_of_column(&reference, &ours, c, nested) {
            Ok((ratio, what)) if ratio > 1.0 => {
                problems.push(format!("  {what} ({ratio:.2} x tolerance)"))
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("  {e}")),
        }
    }
    assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
}

#[test]
fn nfet_id_vg() {
    check_family("sky130_nfet_idvg");
}

#[test]
fn nfet_id_vd() {
    check_family("sky130_nfet_idvd");
}

#[test]
fn pfet_id_vg() {
    check_family("sky130_pfet_idvg");
}

#[test]
fn pfet_id_vd() {
    check_family("sky130_pfet_idvd");
}

/// Sizes on bin edges (W per finger 0.55, 1, 3, 5 um; L 0.18, 0.25, 0.5, 1 um), nf = 4, m = 2 and
/// a long device: the first bin in library order containing the size, as ngspice selects it.
#[test]
fn nfet_bin_edges() {
    check_family("sky130_nfet_bins");
}

#[test]
fn nfet_id_vg_at_85c() {
    check_family("sky130_nfet_idvg_hot");
}

#[test]
fn pfet_id_vd_at_minus_40c() {
    check_family("sky130_pfet_idvd_cold");
}

/// Decks of `tests/golden_sky130/` (references: `scripts/regen_sky130_circuits.py`): corners,
/// temperatures, geometries and flavours the decks above do not cover. Each `sky130_fets_*`
/// deck drives four nfets and four pfets (nf up to 6, m up to 3, lvt and hvt) from one sweep,
/// the pfets through E sources at 1.8 V minus the nfets' biases.
const SKY130_DIR: &str = "tests/golden_sky130";

/// Id-Vg in the ff corner at 125 C.
#[test]
fn fets_ff_125c_id_vg() {
    check_curves(SKY130_DIR, "sky130_fets_ff_hot", 8, true);
}

/// Id-Vd in the ss corner at -25 C.
#[test]
fn fets_ss_minus_25c_id_vd() {
    check_curves(SKY130_DIR, "sky130_fets_ss_cold", 8, true);
}

/// Id-Vg in the sf corner at 60 C.
#[test]
fn fets_sf_60c_id_vg() {
    check_curves(SKY130_DIR, "sky130_fets_sf", 8, true);
}

/// Id-Vg in the fs corner at 0 C.
#[test]
fn fets_fs_0c_id_vg() {
    check_curves(SKY130_DIR, "sky130_fets_fs", 8, true);
}

/// A 1:3 pfet_01v8_hvt mirror and an nfet_01v8_lvt cascode mirror (ss, 85 C): output
/// current against output voltage, by the same criterion.
#[test]
fn mirrors_ss_85c_output_curves() {
    check_curves(SKY130_DIR, "sky130_mirrors_ss_hot", 2, false);
}

/// The measures of `tests/golden_sky130/name.cir` within `rel` of ngspice's values.
fn check_measures(name: &str, rel: f64) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let json = tmp.path().join("m.json");
    let json_s = json.to_string_lossy().into_owned();
    let netlist = format!("{SKY130_DIR}/{name}.cir");
    let run = run_neurospice(
        &["run", &netlist, "-q", "--meas-json", &json_s],
        &root(),
        None,
    );
    assert_eq!(run.code, Some(0), "{name}: {}", run.describe());
    let reference =
        read_json_map(&root().join(format!("{SKY130_DIR}/{name}.ngspice.json"))).unwrap();
    let ours = read_json_map(&json).unwrap();
    assert!(reference.len() >= 5, "{name}: {} measures", reference.len());
    let mut report = String::new();
    let mut worst = 0.0_f64;
    for (k, r) in &reference {
        let o = ours
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{name}: no measure {k}"));
        let e = (o - r).abs() / r.abs();
        worst = worst.max(e);
        report.push_str(&format!("  {k}: {o:e} here, {r:e} in ngspice ({e:.2e})\n"));
    }
    assert!(worst < rel, "{name}: worst {worst:.2e} > {rel:e}\n{report}");
    eprint!("{name}: worst relative difference {worst:.2e}\n{report}");
}

/// Four inverters of other sizes and flavours (nf = 2 and 4, m = 2, lvt, hvt) in the ff corner
/// at 100 C: the 0.9 V crossing times of every stage and each stage delay (40-80 ps) within
/// 0.5 % of ngspice's (the spike-time criterion; measured: 2e-5).
#[test]
fn inverter_chain_ff_100c_delays() {
    check_measures("sky130_inverter_chain_ff_hot", 5e-3);
}

/// A current-mirror integrate-and-fire neuron of other devices (pfet_01v8_hvt mirror, lvt leak
/// and reset, lvt output pfet) in the sf corner at 70 C: five spike times and the membrane
/// peak within 0.5 %.
#[test]
fn cm_neuron_sf_70c_spike_times() {
    check_measures("sky130_cm_neuron_sf_hot", 5e-3);
}

/// Every deck of tests/golden_sky130/ has a reference and a test above.
#[test]
fn every_sky130_deck_is_tested() {
    let text = std::fs::read_to_string(root().join("tests/sky130_devices.rs")).unwrap();
    for stem in netlist_stems(&root().join(SKY130_DIR)) {
        let dir = root().join(SKY130_DIR);
        assert!(
            dir.join(format!("{stem}.ngspice.csv")).exists()
                || dir.join(format!("{stem}.ngspice.json")).exists(),
            "{stem}: no reference; run scripts/regen_sky130_circuits.py"
        );
        assert!(text.contains(&format!("\"{stem}\"")), "{stem}: no test");
    }
}

/// The comparison itself can fail: a curve 3 % off (a plausible model error, e.g. a wrong bin)
/// is rejected, one 0.5 % off is accepted.
#[test]
fn criterion_rejects_a_three_percent_error() {
    let reference = read_csv(&root().join("tests/golden/sky130_nfet_idvg.ngspice.csv")).unwrap();
    let scaled = |f: f64| {
        let mut t = reference.clone();
        let k = t.header.iter().position(|h| h == "i(v1)").unwrap();
        t.columns[k].iter_mut().for_each(|x| *x *= f);
        t
    };
    let (bad, _) = worst_of_column(&reference, &scaled(1.03), "i(v1)", true).unwrap();
    let (good, _) = worst_of_column(&reference, &scaled(1.005), "i(v1)", true).unwrap();
    assert!(bad > 1.0 && good < 1.0, "bad {bad}, good {good}");
}
