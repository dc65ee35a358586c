//! Issue 15, Monte Carlo cases: each test is named after a case the issue lists, fails on the
//! code before the fix and passes after. A resumed study must be the same circuit (the
//! netlist and every included file, by content; paths compared after normalisation); a merge
//! with missing or cut runs fails naming them unless `--allow-partial`; a measure of a signal
//! the circuit lacks is refused before the first run; a write error stops the study and keeps
//! what was written; output folders are created. Exit codes as README.md: a refused option
//! (`--resume` of another study, a `-m` measure) 2, a rejected input (the parts) 1, an output
//! not written 4.

use neurospice::error::{Error, Kind};
use neurospice::mc::io::{Disk, Store};
use neurospice::mc::measure::{Simple, SimpleMeasures};
use neurospice::mc::{self, Config, Output, Study};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ns(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("start neurospice")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: std::process::Output) -> std::process::Output {
    assert!(o.status.success(), "failed: {}", stderr(&o));
    o
}

const MEAS: &str = "tcross=rise(v(mem),0.45)";

/// The MC IF neuron split in two files: the cell's parameters come from `params.inc`.
fn two_file_cell(dir: &Path) -> PathBuf {
    fs::write(
        dir.join("params.inc"),
        "* the cell's random parameters\n.param cmem = agauss(1p, 0.05p, 1)\n.param iin = agauss(1u, 0.03u, 1)\n",
    )
    .unwrap();
    let cell = dir.join("cell.cir");
    fs::write(
        &cell,
        "MC IF neuron, parameters included\n.include params.inc\nI1 0 mem {iin}\nC1 mem 0 {cmem} ic=0\nS1 mem 0 mem 0 swreset\n.model swreset sw vt=0.35 vh=0.15 ron=100 roff=1e12\n.tran 1n 1u uic\n.end\n",
    )
    .unwrap();
    cell
}

#[test]
fn resume_after_netlist_edit_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_file_cell(d);
    let args = [
        "mc", "cell.cir", "--runs", "20", "-m", MEAS, "-o", "runs.csv", "-q",
    ];
    ok(ns(d, &args));
    // the same files: resuming is fine
    ok(ns(d, &[&args[..], &["--resume"]].concat()));
    let text = fs::read_to_string(d.join("cell.cir")).unwrap();
    fs::write(d.join("cell.cir"), text.replace("ron=100", "ron=200")).unwrap();
    let o = ns(d, &[&args[..], &["--resume"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("netlist") && e.contains("cell.cir") && e.contains("edited"),
        "{e}"
    );
}

#[test]
fn resume_after_included_file_edit_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_file_cell(d);
    let args = [
        "mc", "cell.cir", "--runs", "20", "-m", MEAS, "-o", "runs.csv", "-q",
    ];
    ok(ns(d, &args));
    let text = fs::read_to_string(d.join("params.inc")).unwrap();
    fs::write(d.join("params.inc"), text.replace("0.05p", "0.10p")).unwrap();
    let o = ns(d, &[&args[..], &["--resume"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("included file") && e.contains("params.inc"),
        "{e}"
    );
    // the message names only what differs: not the seed, runs or measures, which agree
    assert!(
        !e.contains("seed") && !e.contains("runs 20") && !e.contains("measures"),
        "{e}"
    );
}

#[test]
fn resume_with_dot_dot_path_spelling_accepted() {
    // `./../x` and `../x` name the same netlist
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_file_cell(d);
    let sub = d.join("sub");
    fs::create_dir(&sub).unwrap();
    let args = |net: &str| {
        [
            "mc", net, "--runs", "20", "-m", MEAS, "-o", "runs.csv", "-q", "--shard", "0/2",
        ]
        .map(String::from)
        .to_vec()
    };
    let a: Vec<String> = args("./../cell.cir");
    ok(ns(&sub, &a.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    let mut b = args("../cell.cir");
    b.push("--resume".into());
    let o = ns(&sub, &b.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn resume_refusal_lists_only_settings_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_file_cell(d);
    let base = ["mc", "cell.cir", "-m", MEAS, "-o", "runs.csv", "-q"];
    ok(ns(
        d,
        &[&base[..], &["--runs", "20", "--seed", "3"]].concat(),
    ));
    let o = ns(
        d,
        &[&base[..], &["--runs", "20", "--seed", "4", "--resume"]].concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("seed 3 (now 4)"), "{e}");
    for same in ["runs", "variation", "shard", "measures", "netlist"] {
        assert!(
            !e.contains(&format!("{same} ")),
            "'{same}' is equal but listed: {e}"
        );
    }
}

/// Four shards of a 48-run study in `d/parts`.
fn shards(d: &Path) {
    for i in 0..4 {
        let net = root().join("netlists/mc_if_neuron.cir");
        let out = format!("parts/runs_{i}.csv");
        let shard = format!("{i}/4");
        ok(ns(
            d,
            &[
                "mc",
                net.to_str().unwrap(),
                "--runs",
                "48",
                "--seed",
                "5",
                "-m",
                MEAS,
                "--shard",
                &shard,
                "-o",
                &out,
                "-q",
            ],
        ));
    }
}

#[test]
fn merge_with_missing_shard_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    shards(d);
    let parts = ["parts/runs_0.csv", "parts/runs_1.csv", "parts/runs_3.csv"];
    let o = ns(
        d,
        &[&["mc-merge"][..], &parts, &["-o", "all.csv", "-q"]].concat(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("shard 2/4") && e.contains("25-36"), "{e}");
    assert!(!d.join("all.csv").exists(), "no merged file may be written");
    // with --allow-partial it merges and the summary says so
    let o = ok(ns(
        d,
        &[
            &["mc-merge"][..],
            &parts,
            &["-o", "all.csv", "--summary", "s.json", "--allow-partial"],
        ]
        .concat(),
    ));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("PARTIAL") && out.contains("36 of 48"), "{out}");
    assert!(stderr(&o).contains("partial"), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("s.json")).unwrap()).unwrap();
    assert_eq!(s["partial"]["missing_runs"], 12);
    assert_eq!(s["partial"]["expected_runs"], 48);
    assert_eq!(s["runs"], 36);
    // a complete merge has no "partial" key
    let all = [
        "parts/runs_0.csv",
        "parts/runs_1.csv",
        "parts/runs_2.csv",
        "parts/runs_3.csv",
    ];
    ok(ns(
        d,
        &[
            &["mc-merge"][..],
            &all,
            &["-o", "all.csv", "--summary", "s.json", "-q"],
        ]
        .concat(),
    ));
    let s = fs::read_to_string(d.join("s.json")).unwrap();
    assert!(!s.contains("partial"), "{s}");
}

#[test]
fn merge_with_truncated_shard_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    shards(d);
    let p1 = d.join("parts/runs_1.csv");
    let text = fs::read_to_string(&p1).unwrap();
    let all = [
        "parts/runs_0.csv",
        "parts/runs_1.csv",
        "parts/runs_2.csv",
        "parts/runs_3.csv",
    ];
    // rows lost (a shard that stopped early): named with its missing runs
    let lines: Vec<&str> = text.lines().collect();
    fs::write(&p1, lines[..lines.len() - 4].join("\n") + "\n").unwrap();
    let o = ns(
        d,
        &[&["mc-merge"][..], &all, &["-o", "all.csv", "-q"]].concat(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("shard 1/4") && e.contains("runs_1.csv") && e.contains("21-24"),
        "{e}"
    );
    // cut inside a row (a copy interrupted): the cut number would be read as another number
    fs::write(&p1, &text[..text.len() - 3]).unwrap();
    let o = ns(
        d,
        &[
            &["mc-merge"][..],
            &all,
            &["-o", "all.csv", "-q", "--allow-partial"],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("runs_1.csv") && e.contains("cut short"), "{e}");
}

#[test]
fn measure_of_unknown_signal_refused_before_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = root().join("netlists/mc_if_neuron.cir");
    let o = ns(
        d,
        &[
            "mc",
            net.to_str().unwrap(),
            "--runs",
            "50",
            "-m",
            "t=rise(v(nonode),0.45)",
            "-o",
            "runs.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("v(nonode)") && e.contains("v(mem)"), "{e}");
    assert!(!d.join("runs.csv").exists(), "no run may have started");
    // an op() measure on a netlist with neither .op nor .tran is refused too
    fs::write(
        d.join("dc.cir"),
        "dc only\nV1 a 0 1\nR1 a b 1k\nR2 b 0 {agauss(1k,10,1)}\n.dc V1 0 1 0.5\n.end\n",
    )
    .unwrap();
    let o = ns(
        d,
        &[
            "mc",
            "dc.cir",
            "--runs",
            "5",
            "-m",
            "x=op(v(b))",
            "-o",
            "r.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(".op or .tran"), "{}", stderr(&o));
}

#[test]
fn mc_output_folder_created() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = root().join("netlists/mc_if_neuron.cir");
    ok(ns(
        d,
        &[
            "mc",
            net.to_str().unwrap(),
            "--runs",
            "10",
            "-m",
            MEAS,
            "-o",
            "out/deeper/runs.csv",
            "--summary",
            "stats/summary.json",
            "-q",
        ],
    ));
    assert!(d.join("out/deeper/runs.csv").is_file());
    assert!(d.join("out/deeper/runs.csv.meta.json").is_file());
    assert!(d.join("stats/summary.json").is_file());
}

/// A disk that fills after `room` writes: later writes go to /dev/full, which fails every
/// write with "No space left on device" (ENOSPC), as a full disk does.
struct FillingDisk {
    room: usize,
    writes: Mutex<usize>,
}

impl Store for FillingDisk {
    fn write(
        &self,
        path: &Path,
        body: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> neurospice::error::Result<()> {
        let n = {
            let mut w = self.writes.lock().unwrap();
            *w += 1;
            *w
        };
        if n <= self.room {
            return Disk.write(path, body);
        }
        let mut full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        body(&mut full)
            .and_then(|_| full.flush())
            .map_err(|e| Error::output(format!("cannot write '{}': {e}", path.display())))
    }
}

#[test]
fn disk_full_stops_at_first_write_error_and_keeps_runs() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("runs.csv");
    let net = root().join("netlists/mc_if_neuron.cir");
    let study = Study::from_file(&net, SimpleMeasures(vec![Simple::parse(MEAS).unwrap()]))
        .unwrap()
        .shared();
    let cfg = Config {
        runs: 400,
        seed: 2,
        jobs: 1,
        save_waves: 400,
        waves_dir: Some(dir.path().join("waves")),
        ..Config::default()
    };
    // header, sidecar, nominal wave, then the waves of runs 1..=5 fit; run 6's does not
    let disk = FillingDisk {
        room: 8,
        writes: Mutex::new(0),
    };
    let out = Output {
        netlist: &net,
        runs_csv: &csv,
        resume: false,
        store: &disk,
    };
    let stop = AtomicBool::new(false);
    let e = mc::run_to_file(&study, &cfg, &out, &stop, &|_, _, _| {}).unwrap_err();
    assert_eq!(e.kind, Kind::Output, "{e}");
    assert!(e.to_string().contains("No space left on device"), "{e}");
    // it stopped at the first failed write: not one more wave was attempted (the last write
    // is the one attempt to save the finished runs)
    let writes = *disk.writes.lock().unwrap();
    assert_eq!(writes, 10, "writes after the disk filled: {e}");
    assert!(e.to_string().contains("holds 0 finished runs"), "{e}");
    // what was written is intact: a runs.csv (header) and its sidecar, and 5 waves
    let kept = neurospice::mc::io::read_runs(&csv, 1).unwrap();
    assert!(kept.records.is_empty());
    assert!(dir.path().join("waves/run_00005.csv").is_file());
    assert!(!dir.path().join("waves/run_00006.csv").exists());
    // with room again, --resume completes the study: the same as one run straight through
    let out = Output {
        resume: true,
        store: &Disk,
        ..out
    };
    let done = mc::run_to_file(&study, &cfg, &out, &stop, &|_, _, _| {}).unwrap();
    assert_eq!(done.records.len(), 400);
    let whole = dir.path().join("whole.csv");
    let out2 = Output {
        runs_csv: &whole,
        resume: false,
        store: &Disk,
        ..out
    };
    mc::run_to_file(&study, &cfg, &out2, &stop, &|_, _, _| {}).unwrap();
    assert_eq!(fs::read(&csv).unwrap(), fs::read(&whole).unwrap());
}

#[test]
fn disk_full_keeps_finished_runs_when_runs_csv_still_fits() {
    // the waves fail but the runs file is written: the finished runs are kept, and the run
    // whose wave failed is not (so --resume computes it again, with its wave)
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("runs.csv");
    let net = root().join("netlists/mc_if_neuron.cir");
    let study = Study::from_file(&net, SimpleMeasures(vec![Simple::parse(MEAS).unwrap()]))
        .unwrap()
        .shared();
    let cfg = Config {
        runs: 100,
        seed: 2,
        jobs: 1,
        save_waves: 10,
        waves_dir: Some(dir.path().join("waves")),
        ..Config::default()
    };
    struct WavesFull;
    impl Store for WavesFull {
        fn write(
            &self,
            path: &Path,
            body: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
        ) -> neurospice::error::Result<()> {
            if path.to_string_lossy().contains("run_00004") {
                return Err(Error::output(format!(
                    "cannot write '{}': No space left on device",
                    path.display()
                )));
            }
            Disk.write(path, body)
        }
    }
    let out = Output {
        netlist: &net,
        runs_csv: &csv,
        resume: false,
        store: &WavesFull,
    };
    let stop = AtomicBool::new(false);
    let e = mc::run_to_file(&study, &cfg, &out, &stop, &|_, _, _| {}).unwrap_err();
    let kept = neurospice::mc::io::read_runs(&csv, 1).unwrap().records;
    let runs: Vec<u64> = kept.iter().map(|r| r.run).collect();
    assert_eq!(runs, vec![1, 2, 3], "{e}");
    assert!(e.to_string().contains("holds 3 finished runs"), "{e}");
}
