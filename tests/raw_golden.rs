//! ngspice raw files written by neurospice.
//!
//! Golden: `tests/golden_meas/raw/NAME[_ascii].raw` were written by neurospice and loaded by
//! ngspice 39, whose `wrdata` (17 significant digits, so every double is exact) is committed
//! as `NAME[_ascii].ngspice.txt` (`scripts/regen_meas_goldens.py --raw`). Here: our reader
//! must give exactly ngspice's values from those files, and our writer must still produce
//! them byte for byte (apart from `Date:`), so what ngspice loaded is what we write today.
//!
//! Round trip: a fresh run's `-o x.raw` (binary and `--ascii`) read back with our reader gives
//! bit for bit the numbers of its `-o x.csv` (which prints shortest round-trip decimals).

mod common;

use common::{root, run_neurospice};
use neurospice::io::raw::{RawPlot, parse_raw, read_raw, to_bytes};
use std::path::Path;

/// ngspice's `wrdata` table: vector names and rows.
fn read_wrdata(p: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    let names = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .map(|w| w.parse::<f64>().unwrap())
                .collect()
        })
        .collect();
    (names, rows)
}

fn check_against_ngspice(file: &str) {
    let dir = root().join("tests/golden_meas/raw");
    let plots = read_raw(&dir.join(format!("{file}.raw"))).unwrap();
    assert_eq!(plots.len(), 1);
    let p = &plots[0];
    let (names, rows) = read_wrdata(&dir.join(format!("{file}.ngspice.txt")));
    assert_eq!(rows.len(), p.rows.len(), "{file}: point count");
    let mut checked = 0;
    for (k, name) in names.iter().enumerate() {
        let Some(v) = p.names.iter().position(|n| n == name) else {
            panic!(
                "{file}: ngspice has vector {name}, we do not ({:?})",
                p.names
            );
        };
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(
                r[k].to_bits(),
                p.rows[i][v].to_bits(),
                "{file}: {name}[{i}]: ngspice {:e}, ours {:e}",
                r[k],
                p.rows[i][v]
            );
            checked += 1;
        }
    }
    assert!(checked > 100);
    // every one of our variables was seen by ngspice
    for n in &p.names {
        assert!(names.contains(n), "{file}: ngspice did not load {n}");
    }
}

fn without_date(b: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(b);
    let mut out = Vec::new();
    let mut rest = b;
    if let Some(start) = s.find("Date: ") {
        let end = start + s[start..].find('\n').unwrap_or(0);
        out.extend_from_slice(&b[..start]);
        rest = &b[end..];
    }
    out.extend_from_slice(rest);
    out
}

fn check_writer_reproduces(file: &str, ascii: bool) {
    let path = root().join(format!("tests/golden_meas/raw/{file}.raw"));
    let bytes = std::fs::read(&path).unwrap();
    let plots = parse_raw(file, &bytes).unwrap();
    assert_eq!(
        without_date(&to_bytes(&plots, ascii)),
        without_date(&bytes),
        "{file}: our writer no longer writes what ngspice loaded"
    );
}

#[test]
fn ngspice_reads_our_binary_tran() {
    check_against_ngspice("rc_settle");
    check_writer_reproduces("rc_settle", false);
}

#[test]
fn ngspice_reads_our_ascii_tran() {
    check_against_ngspice("rc_settle_ascii");
    check_writer_reproduces("rc_settle_ascii", true);
}

#[test]
fn ngspice_reads_our_dc_sweep() {
    check_against_ngspice("dc_sweep");
    check_against_ngspice("dc_sweep_ascii");
    check_writer_reproduces("dc_sweep", false);
    check_writer_reproduces("dc_sweep_ascii", true);
    let p = &read_raw(&root().join("tests/golden_meas/raw/dc_sweep.raw")).unwrap()[0];
    // ngspice's scale name, so its `meas dc` finds the sweep
    assert_eq!(p.names[0], "v(v-sweep)");
    assert_eq!(p.plotname, "DC transfer characteristic");
}

fn csv_rows(p: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let t = common::read_csv(p).unwrap();
    let names = t.header.clone();
    let rows = (0..t.rows())
        .map(|i| {
            names
                .iter()
                .map(|n| t.column(n).unwrap()[i])
                .collect::<Vec<f64>>()
        })
        .collect();
    (names, rows)
}

fn round_trip(netlist: &str, ascii: bool) {
    let d = tempfile::tempdir().unwrap();
    let cir = root().join(netlist);
    let cir = cir.to_str().unwrap();
    let mut args = vec!["run", cir, "-q", "-o", "x.raw"];
    if ascii {
        args.push("--ascii");
    }
    let hang = Some(std::time::Duration::from_secs(600));
    let a = run_neurospice(&args, d.path(), hang);
    assert_eq!(a.code, Some(0), "{}", a.describe());
    let b = run_neurospice(&["run", cir, "-q", "-o", "x.csv"], d.path(), hang);
    assert_eq!(b.code, Some(0), "{}", b.describe());
    let plots: Vec<RawPlot> = read_raw(&d.path().join("x.raw")).unwrap();
    let p = plots.last().unwrap();
    let (names, rows) = csv_rows(&d.path().join("x.csv"));
    assert_eq!(p.names[1..], names[1..], "variables");
    assert_eq!(p.rows.len(), rows.len());
    for (r, c) in p.rows.iter().zip(&rows) {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(r), bits(c));
    }
}

#[test]
fn tran_round_trips_bit_exactly() {
    round_trip("tests/golden_meas/if_spike.cir", false);
    round_trip("tests/golden_meas/if_spike.cir", true);
}

#[test]
fn dc_round_trips_bit_exactly() {
    round_trip("tests/golden_meas/dc_sweep.cir", false);
    round_trip("tests/golden_meas/dc_sweep.cir", true);
}
