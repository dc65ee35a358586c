//! The resumable Monte Carlo study as a library (`mc::run_to_file`, `mc::merge`): a study
//! stopped after its first chunk and resumed writes the same runs.csv as one run straight
//! through, and two shards merged give that file too.

use neurospice::mc::measure::{Simple, SimpleMeasures};
use neurospice::mc::{self, Config, Output, Study};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const NET: &str = "netlists/mc_if_neuron.cir";

fn study() -> Arc<Study> {
    let m = SimpleMeasures(vec![Simple::parse("tcross=rise(v(mem),0.45)").unwrap()]);
    Study::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(NET), m)
        .unwrap()
        .shared()
}

fn cfg(shard: Option<(u64, u64)>) -> Config {
    Config {
        runs: 60,
        seed: 3,
        jobs: 1,
        shard,
        ..Config::default()
    }
}

fn run(
    s: &Arc<Study>,
    c: &Config,
    csv: &Path,
    resume: bool,
    stop_after_first: bool,
) -> mc::Outcome {
    let stop = AtomicBool::new(false);
    let out = Output {
        netlist: Path::new(NET),
        runs_csv: csv,
        resume,
        store: &mc::io::Disk,
    };
    let progress = |_done: usize, _todo: usize, _failed: usize| {
        if stop_after_first {
            stop.store(true, Ordering::SeqCst);
        }
    };
    mc::run_to_file(s, c, &out, &stop, &progress).unwrap()
}

#[test]
fn stopped_and_resumed_study_equals_one_run_through() {
    let dir = tempfile::tempdir().unwrap();
    let s = study();
    let full = dir.path().join("full.csv");
    let whole = run(&s, &cfg(None), &full, false, false);
    assert!(!whole.interrupted);
    assert_eq!(whole.records.len(), 60);

    let part = dir.path().join("part.csv");
    let first = run(&s, &cfg(None), &part, false, true);
    assert!(first.interrupted);
    assert!(!first.records.is_empty() && first.records.len() < 60);
    let rest = run(&s, &cfg(None), &part, true, false);
    assert!(!rest.interrupted);
    assert_eq!(rest.records, whole.records);
    let read = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(read(&part), read(&full));

    // resuming with another seed is refused, naming the file
    let other = Config {
        seed: 4,
        ..cfg(None)
    };
    let stop = AtomicBool::new(false);
    let out = Output {
        netlist: Path::new(NET),
        runs_csv: &part,
        resume: true,
        store: &mc::io::Disk,
    };
    let e = mc::run_to_file(&s, &other, &out, &stop, &|_, _, _| {}).unwrap_err();
    assert!(
        e.msg.contains("different settings") && e.msg.contains("part.csv"),
        "{e}"
    );

    // two shards merged are the whole study
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    run(&s, &cfg(Some((0, 2))), &a, false, false);
    run(&s, &cfg(Some((1, 2))), &b, false, false);
    let merged = dir.path().join("merged.csv");
    let (meta, recs) = mc::merge(&[a.clone(), b], &merged).unwrap();
    assert_eq!(meta.shard, None);
    assert_eq!(recs, whole.records);
    assert_eq!(read(&merged), read(&full));
    // a part merged twice is refused
    assert!(mc::merge(&[a.clone(), a], &merged).is_err());
}
