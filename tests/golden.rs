//! Golden tests: every netlist in `tests/golden/` is run through the
//! `neurospice` binary and compared with the output ngspice 39 produced for the
//! same file (`<name>.ngspice.csv`, `<name>.ngspice.op.json`, made by
//! `scripts/regen_goldens.py`; see `docs/goldens.md`). The references are
//! never regenerated from our own output.
//!
//! Criteria (issue 2):
//! - Waveforms: for every column ngspice has (ours may have more), at every
//!   ngspice point, the error must be at most 0.1% of that signal's
//!   peak-to-peak range over the run, with a floor of 1 mV for voltages and
//!   1 nA for currents. Two correct simulators place an edge (a PULSE corner, a
//!   switch reset) at slightly different instants, which would show up as a
//!   huge value error at a steep edge. So the error is measured against a small
//!   time window: value error = distance from ngspice's value to the range our
//!   linearly-interpolated waveform spans over [x - dx, x + dx], with
//!   dx = 2e-4 * tstop for a transient (2e-4 of the sweep range for a DC sweep).
//!   A value that is merely shifted in time by less than dx costs nothing; a
//!   wrong level anywhere still fails.
//! - Spike times: a netlist whose header has `* spikes: v(mem) 0.5` also
//!   compares the rising crossings of that level (linear interpolation): same
//!   count, each within 0.2% of ngspice's spike time.
//! - Spiking circuits: a netlist whose header also has `* compare: spikes` is compared by
//!   its spike times only (a free-running neuron's waveforms drift apart in time by the
//!   accumulated period difference; the criterion is the spike times).
//! - sky130 decks (`sky130_*`) load the unchanged PDK through `pdk/sky130` (a link to it).
//! - Operating point: every value within 1e-6 relative (floor 1e-9 V, 1e-12 A).
//! - DC sweeps: compared like waveforms with the sweep variable as x; a
//!   two-level sweep is split into one curve per outer value.
//!
//! Each golden is its own #[test], and each reports every failing signal
//! (worst point, ours against ngspice) before failing, so the engine author
//! sees everything at once.

mod common;

use common::{RunOutput, Table, netlist_stems, read_csv, read_json_map, root, run_neurospice};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Relative waveform tolerance: a fraction of the signal's peak-to-peak range.
const WAVE_REL: f64 = 1e-3;
/// Tolerance floors for signals that barely move.
const WAVE_FLOOR_V: f64 = 1e-3;
const WAVE_FLOOR_I: f64 = 1e-9;
/// Half-width of the edge window, as a fraction of tstop (or the sweep range).
const WINDOW: f64 = 2e-4;
/// Spike-time tolerance, relative to ngspice's spike time.
const SPIKE_REL: f64 = 2e-3;
/// Far above any plausible run time (even a debug build): only turns a hang
/// into a failure instead of a stuck test run.
const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(1800);
/// Operating-point tolerance and floors.
const OP_REL: f64 = 1e-6;
const OP_FLOOR_V: f64 = 1e-9;
const OP_FLOOR_I: f64 = 1e-12;

macro_rules! goldens {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_golden(stringify!($name));
            }
        )*
        /// Every golden that has a test above.
        const GOLDENS: &[&str] = &[$(stringify!($name)),*];
    };
}

goldens!(
    behavioral_dc,
    behavioral_tran,
    cmos_inverter_chain,
    controlled_sources,
    current_mirror,
    dc_nested,
    dc_param_sweep,
    diode_breakdown,
    diode_rectifier,
    ic_gear,
    if_neuron,
    include_lib,
    lexing,
    mos_meyer,
    rc_step,
    rlc_ring,
    sky130_axon_hillock,
    sky130_inverter_chain,
    sky130_inverter_ff,
    sky130_inverter_fs,
    sky130_inverter_sf,
    sky130_inverter_ss,
    sky130_inverter_tt,
    sky130_mirror,
    sky130_mirror_cascode,
    sky130_nfet_bins,
    sky130_nfet_idvd,
    sky130_nfet_idvg,
    sky130_nfet_idvg_hot,
    sky130_pfet_idvd,
    sky130_pfet_idvd_cold,
    sky130_pfet_idvg,
    sources_shapes,
    subckt_params,
    switch_hysteresis,
    temp_diode,
    tran_tstart,
);

fn golden_dir() -> PathBuf {
    root().join("tests").join("golden")
}

/// A netlist added to tests/golden/ without a test (or without references)
/// would otherwise be silently ignored.
#[test]
fn every_golden_netlist_has_a_test_and_a_reference() {
    let dir = golden_dir();
    let stems = netlist_stems(&dir);
    let mut problems = Vec::new();
    for stem in &stems {
        if !GOLDENS.contains(&stem.as_str()) {
            problems.push(format!("{stem}.cir has no entry in goldens!(...)"));
        }
        let csv = dir.join(format!("{stem}.ngspice.csv"));
        let op = dir.join(format!("{stem}.ngspice.op.json"));
        if !csv.exists() && !op.exists() {
            problems.push(format!(
                "{stem}.cir has no ngspice reference; run scripts/regen_goldens.py"
            ));
        }
    }
    for name in GOLDENS {
        if !stems.iter().any(|s| s == name) {
            problems.push(format!(
                "goldens!(...) lists {name} but tests/golden/{name}.cir is missing"
            ));
        }
    }
    assert!(stems.len() >= 15, "only {} golden netlists", stems.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn check_golden(name: &str) {
    let dir = golden_dir();
    let netlist_rel = format!("tests/golden/{name}.cir");
    let csv_ref = dir.join(format!("{name}.ngspice.csv"));
    let op_ref = dir.join(format!("{name}.ngspice.op.json"));
    let tmp = tempfile::tempdir().expect("cannot create a temporary directory");
    let csv_out = tmp.path().join("out.csv");
    let op_out = tmp.path().join("op.json");
    let csv_out_s = csv_out.to_string_lossy().into_owned();
    let op_out_s = op_out.to_string_lossy().into_owned();

    let mut args = vec!["run", netlist_rel.as_str()];
    if csv_ref.exists() {
        args.extend(["-o", csv_out_s.as_str()]);
    }
    if op_ref.exists() {
        args.extend(["--op-json", op_out_s.as_str()]);
    }
    let run = run_neurospice(&args, &root(), Some(HANG_GUARD));
    if run.code != Some(0) {
        panic!(
            "golden {name}: `neurospice {}` failed: {}",
            args.join(" "),
            run.describe()
        );
    }

    let mut problems = Vec::new();
    if csv_ref.exists() {
        problems.extend(check_waveforms(
            &csv_ref,
            &csv_out,
            &dir.join(format!("{name}.cir")),
            &run,
        ));
    }
    if op_ref.exists() {
        problems.extend(check_op(&op_ref, &op_out));
    }
    if !problems.is_empty() {
        panic!(
            "golden {name}: {} problem(s) against ngspice:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}

fn check_waveforms(reference: &Path, ours: &Path, netlist: &Path, run: &RunOutput) -> Vec<String> {
    let reference = match read_csv(reference) {
        Ok(t) => t,
        Err(e) => return vec![format!("  reference: {e}")],
    };
    let ours = match read_csv(ours) {
        Ok(t) => t,
        Err(e) => {
            return vec![format!(
                "  our CSV: {e} (stderr: {})",
                run.stderr.trim_end()
            )];
        }
    };
    let mut problems = if spikes_only(netlist) {
        Vec::new()
    } else {
        compare_tables(&reference, &ours)
    };
    problems.extend(compare_spikes(&reference, &ours, netlist));
    problems
}

/// The leading columns whose names are not signals (`time`, sweep variables).
fn x_columns(table: &Table) -> usize {
    table.header.iter().take_while(|h| !h.contains('(')).count()
}

/// `[start, end)` row ranges over which the outer sweep value is constant
/// (one range covering everything when there is no outer sweep).
fn blocks(table: &Table) -> Vec<(usize, usize)> {
    let n = table.rows();
    if x_columns(table) < 2 {
        return vec![(0, n)];
    }
    let outer = &table.columns[1];
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=n {
        if i == n || outer[i] != outer[start] {
            out.push((start, i));
            start = i;
        }
    }
    out
}

/// The worst point of one signal, kept for the report.
struct Worst {
    ratio: f64,
    x: f64,
    outer: Option<f64>,
    reference: f64,
    ours: Option<(f64, f64)>,
    tol: f64,
    failing_points: usize,
}

fn compare_tables(reference: &Table, ours: &Table) -> Vec<String> {
    let mut problems = Vec::new();
    let nx = x_columns(reference);
    if reference.rows() == 0 || nx == 0 {
        return vec!["  reference has no x column or no rows".to_string()];
    }
    let x_name = reference.header[0].clone();
    let outer_name = (nx > 1).then(|| reference.header[1].clone());

    let missing: Vec<&str> = reference
        .header
        .iter()
        .filter(|h| ours.column(h).is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "  our CSV lacks column(s) {} (ours: {})",
            missing.join(", "),
            ours.header.join(",")
        ));
    }
    if ours.column(&x_name).is_none()
        || outer_name
            .as_ref()
            .is_some_and(|o| ours.column(o).is_none())
    {
        return problems;
    }
    // Our table in the reference's column order, so blocks() reads the same layout.
    let ours_x = Table {
        header: reference.header[..nx].to_vec(),
        columns: reference.header[..nx]
            .iter()
            .map(|h| ours.column(h).map(<[f64]>::to_vec).unwrap_or_default())
            .collect(),
    };
    let ref_blocks = blocks(reference);
    let our_blocks = blocks(&ours_x);
    if ref_blocks.len() != our_blocks.len() {
        problems.push(format!(
            "  ngspice has {} outer sweep value(s), ours has {}",
            ref_blocks.len(),
            our_blocks.len()
        ));
        return problems;
    }
    for (&(r0, _), &(o0, _)) in ref_blocks.iter().zip(&our_blocks) {
        if nx > 1 {
            let (a, b) = (reference.columns[1][r0], ours_x.columns[1][o0]);
            if (a - b).abs() > 1e-9 * a.abs().max(b.abs()) + 1e-15 {
                problems.push(format!(
                    "  outer sweep values differ: ngspice {a:e}, ours {b:e}"
                ));
                return problems;
            }
        }
    }

    let xr = &reference.columns[0];
    let xo = &ours_x.columns[0];
    let mut worst_list: Vec<(String, Worst)> = Vec::new();
    for (name, ref_col) in reference.header.iter().zip(&reference.columns).skip(nx) {
        let Some(our_col) = ours.column(name) else {
            continue;
        };
        let (lo, hi) = ref_col
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let floor = if name.starts_with("i(") {
            WAVE_FLOOR_I
        } else {
            WAVE_FLOOR_V
        };
        let tol = (WAVE_REL * (hi - lo)).max(floor);
        let mut worst = Worst {
            ratio: 0.0,
            x: xr[0],
            outer: None,
            reference: ref_col[0],
            ours: None,
            tol,
            failing_points: 0,
        };
        for (&(r0, r1), &(o0, o1)) in ref_blocks.iter().zip(&our_blocks) {
            let (xs, ys) = sorted_pairs(&xo[o0..o1], &our_col[o0..o1]);
            let span = if x_name == "time" {
                xr[r1 - 1].abs()
            } else {
                xr[r0..r1].iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v))
                    - xr[r0..r1].iter().fold(f64::INFINITY, |m, &v| m.min(v))
            };
            let dx = WINDOW * span;
            for i in r0..r1 {
                let (x, v) = (xr[i], ref_col[i]);
                let range = window_range(&xs, &ys, x - dx, x + dx);
                // f64::max ignores NaN, so a NaN from our output is caught explicitly.
                let err = match range {
                    Some((lo, hi)) if !lo.is_nan() && !hi.is_nan() => (lo - v).max(v - hi).max(0.0),
                    _ => f64::INFINITY,
                };
                let ratio = err / tol;
                if !within(ratio, 1.0) {
                    worst.failing_points += 1;
                }
                if !within(ratio, worst.ratio) {
                    worst = Worst {
                        ratio: if ratio.is_nan() { f64::INFINITY } else { ratio },
                        x,
                        outer: (nx > 1).then(|| reference.columns[1][i]),
                        reference: v,
                        ours: range,
                        tol,
                        failing_points: worst.failing_points,
                    };
                }
            }
        }
        if worst.ratio > 1.0 {
            worst_list.push((name.clone(), worst));
        }
    }
    worst_list.sort_by(|a, b| b.1.ratio.total_cmp(&a.1.ratio));
    for (name, w) in worst_list {
        let mut line = format!(
            "  {name}: {} of {} points off; worst {:.3}x tol (tol {:.3e}) at {x_name}={:.6e}",
            w.failing_points,
            reference.rows(),
            w.ratio,
            w.tol,
            w.x
        );
        if let (Some(outer), Some(outer_name)) = (w.outer, &outer_name) {
            let _ = write!(line, " {outer_name}={outer:.6e}");
        }
        match w.ours {
            Some((lo, hi)) => {
                let _ = write!(
                    line,
                    ": ngspice {:.9e}, ours {lo:.9e}..{hi:.9e}",
                    w.reference
                );
            }
            None => {
                let _ = write!(
                    line,
                    ": ngspice {:.9e}, ours has no data within {x_name} +- window",
                    w.reference
                );
            }
        }
        problems.push(line);
    }
    problems
}

/// `err <= tol`, false when either is NaN, so a NaN in our output fails.
fn within(err: f64, tol: f64) -> bool {
    err <= tol
}

/// Our (x, y) samples sorted by x (a DC sweep may run downwards).
fn sorted_pairs(xs: &[f64], ys: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut pairs: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
    if !pairs.is_sorted_by(|a, b| a.0 <= b.0) {
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    pairs.into_iter().unzip()
}

/// Value of the piecewise-linear waveform at x (xs ascending, x within range).
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let i = xs.partition_point(|&p| p <= x);
    if i == 0 {
        return ys[0];
    }
    if i == xs.len() {
        return ys[xs.len() - 1];
    }
    let (x0, x1) = (xs[i - 1], xs[i]);
    if x1 == x0 {
        return ys[i];
    }
    ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0)
}

/// The [min, max] a piecewise-linear waveform spans over [lo, hi] (clipped to
/// its own x range); None if the window misses the waveform entirely.
fn window_range(xs: &[f64], ys: &[f64], lo: f64, hi: f64) -> Option<(f64, f64)> {
    let (first, last) = (*xs.first()?, *xs.last()?);
    // A tiny slack absorbs round-off between our and ngspice's end times.
    let slack = 1e-12 * first.abs().max(last.abs()).max(1e-30);
    let lo = lo.max(first);
    let hi = hi.min(last);
    if lo > hi + slack {
        return None;
    }
    let hi = hi.max(lo);
    let a = interpolate(xs, ys, lo);
    let b = interpolate(xs, ys, hi);
    let (mut min, mut max) = (a.min(b), a.max(b));
    let start = xs.partition_point(|&p| p < lo);
    for i in start..xs.len() {
        if xs[i] > hi {
            break;
        }
        if ys[i].is_nan() {
            return Some((f64::NAN, f64::NAN));
        }
        min = min.min(ys[i]);
        max = max.max(ys[i]);
    }
    if a.is_nan() || b.is_nan() {
        return Some((f64::NAN, f64::NAN));
    }
    Some((min, max))
}

/// `* spikes: v(mem) 0.5` in the netlist's comments: (signal, threshold).
fn spike_spec(netlist: &Path) -> Option<(String, f64)> {
    let text = std::fs::read_to_string(netlist).ok()?;
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix('*')?.trim_start();
        let rest = rest.strip_prefix("spikes:")?;
        let mut words = rest.split_whitespace();
        let signal = words.next()?.to_ascii_lowercase();
        let level = words.next()?.parse().ok()?;
        Some((signal, level))
    })
}

/// `* compare: spikes` in the netlist's comments: a free-running spiking circuit is compared
/// by its spike times only (its waveforms drift apart in time by the accumulated period
/// difference, which a value comparison in a fixed window would read as a wrong level).
fn spikes_only(netlist: &Path) -> bool {
    std::fs::read_to_string(netlist).is_ok_and(|text| {
        text.lines().any(|line| {
            line.trim_start()
                .strip_prefix('*')
                .is_some_and(|r| r.trim() == "compare: spikes")
        })
    }) && spike_spec(netlist).is_some()
}

/// Rising crossings of `level`, linearly interpolated.
fn rising_crossings(ts: &[f64], vs: &[f64], level: f64) -> Vec<f64> {
    ts.windows(2)
        .zip(vs.windows(2))
        .filter(|(_, v)| v[0] < level && v[1] >= level)
        .map(|(t, v)| t[0] + (level - v[0]) * (t[1] - t[0]) / (v[1] - v[0]))
        .collect()
}

fn compare_spikes(reference: &Table, ours: &Table, netlist: &Path) -> Vec<String> {
    let Some((signal, level)) = spike_spec(netlist) else {
        return Vec::new();
    };
    let (Some(rt), Some(rv)) = (reference.column("time"), reference.column(&signal)) else {
        return vec![format!(
            "  spikes: reference has no time or {signal} column"
        )];
    };
    let (Some(ot), Some(ov)) = (ours.column("time"), ours.column(&signal)) else {
        return vec![format!("  spikes: our CSV has no time or {signal} column")];
    };
    let theirs = rising_crossings(rt, rv, level);
    let mine = rising_crossings(ot, ov, level);
    let fmt = |s: &[f64]| {
        s.iter()
            .map(|t| format!("{t:.6e}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if theirs.len() != mine.len() {
        return vec![format!(
            "  spikes of {signal} at {level}: ngspice fires {} times [{}], ours {} times [{}]",
            theirs.len(),
            fmt(&theirs),
            mine.len(),
            fmt(&mine)
        )];
    }
    theirs
        .iter()
        .zip(&mine)
        .enumerate()
        .filter(|(_, (t, m))| !within((*m - *t).abs(), SPIKE_REL * t.abs()))
        .map(|(k, (t, m))| {
            format!(
                "  spike {} of {signal}: ngspice {t:.9e} s, ours {m:.9e} s ({:.4}% off, tolerance {}%)",
                k + 1,
                100.0 * (m - t) / t,
                100.0 * SPIKE_REL
            )
        })
        .collect()
}

fn check_op(reference: &Path, ours: &Path) -> Vec<String> {
    let reference = match read_json_map(reference) {
        Ok(m) => m,
        Err(e) => return vec![format!("  reference: {e}")],
    };
    let ours = match read_json_map(ours) {
        Ok(m) => m,
        Err(e) => return vec![format!("  our --op-json: {e}")],
    };
    let mut problems = Vec::new();
    for (key, want) in &reference {
        let Some((_, got)) = ours.iter().find(|(k, _)| k == key) else {
            problems.push(format!("  op: {key} missing from our --op-json"));
            continue;
        };
        let floor = if key.starts_with("i(") {
            OP_FLOOR_I
        } else {
            OP_FLOOR_V
        };
        let tol = (OP_REL * want.abs()).max(floor);
        if !within((got - want).abs(), tol) {
            problems.push(format!(
                "  op {key}: ngspice {want:.12e}, ours {got:.12e} (diff {:.3e}, tol {tol:.3e})",
                got - want
            ));
        }
    }
    problems
}

/// The comparison machinery itself, on synthetic data, so that a bug in it
/// cannot make every golden pass (or fail) for the wrong reason.
mod self_test {
    use super::*;

    fn table(header: &[&str], rows: &[&[f64]]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            columns: (0..header.len())
                .map(|j| rows.iter().map(|r| r[j]).collect())
                .collect(),
        }
    }

    #[test]
    fn identical_tables_pass_and_a_wrong_level_fails() {
        let rows: Vec<Vec<f64>> = (0..=100)
            .map(|k| vec![k as f64 * 1e-8, (k as f64 * 0.1).sin()])
            .collect();
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let a = table(&["time", "v(out)"], &refs);
        assert!(compare_tables(&a, &a).is_empty());

        let mut b = a.clone();
        b.columns[1][50] += 0.01; // 10 mV spike: 0.5% of a 2 V range
        let problems = compare_tables(&a, &b);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("v(out)"));
    }

    #[test]
    fn a_small_edge_shift_passes_and_a_large_one_fails() {
        // A 1 V step at 0.5 us in a 1 us run; the window is 2e-4 us = 0.2 ns.
        let step = |t0: f64| -> Table {
            let rows: Vec<Vec<f64>> = (0..=1000)
                .map(|k| {
                    let t = k as f64 * 1e-9;
                    vec![t, if t < t0 { 0.0 } else { 1.0 }]
                })
                .collect();
            let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
            table(&["time", "v(a)"], &refs)
        };
        let reference = step(0.5e-6);
        let mut near = reference.clone();
        // Our own sample right at the edge: 0.1 ns late.
        near.columns[0][500] += 0.1e-9;
        assert!(compare_tables(&reference, &near).is_empty());
        let far = step(0.51e-6);
        assert!(!compare_tables(&reference, &far).is_empty());
    }

    #[test]
    fn missing_columns_and_nan_fail() {
        let a = table(
            &["time", "v(a)", "i(v1)"],
            &[&[0.0, 1.0, 1e-3], &[1.0, 2.0, 2e-3]],
        );
        let b = table(&["time", "v(a)"], &[&[0.0, 1.0], &[1.0, 2.0]]);
        assert!(compare_tables(&a, &b)[0].contains("i(v1)"));
        let c = table(
            &["time", "v(a)", "i(v1)"],
            &[&[0.0, 1.0, 1e-3], &[1.0, f64::NAN, 2e-3]],
        );
        assert!(!compare_tables(&a, &c).is_empty());
    }

    #[test]
    fn nested_sweeps_are_compared_per_outer_value() {
        let a = table(
            &["v1", "v2", "v(o)"],
            &[
                &[0.0, 1.0, 0.0],
                &[1.0, 1.0, 1.0],
                &[0.0, 2.0, 0.0],
                &[1.0, 2.0, 2.0],
            ],
        );
        assert!(compare_tables(&a, &a).is_empty());
        let mut swapped = a.clone();
        swapped.columns[2] = vec![0.0, 2.0, 0.0, 1.0];
        assert!(!compare_tables(&a, &swapped).is_empty());
    }

    #[test]
    fn spike_crossings_interpolate() {
        let t = [0.0, 1.0, 2.0, 3.0, 4.0];
        let v = [0.0, 1.0, 0.0, 0.25, 0.75];
        assert_eq!(rising_crossings(&t, &v, 0.5), vec![0.5, 3.5]);
    }
}
