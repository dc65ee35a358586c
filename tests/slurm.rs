//! The cluster path of Monte Carlo (issue 13, "beyond one machine"): a study submitted to
//! Slurm as a job array of `--shard i/M` tasks and merged afterwards must equal, byte for
//! byte, the study one machine computes in one go.
//!
//! The test starts a throw-away single-node Slurm cluster (munged, slurmctld, slurmd from
//! Debian's `slurm-wlm` and `munge`, configured in a temporary folder by
//! `scripts/slurm/cluster.sh`), submits with `scripts/slurm/submit.sh` and waits. Where the
//! cluster cannot start (not root, packages missing: `.ci/run` installs them when it can),
//! it says why on stderr and instead runs the same job scripts container-free: each array
//! task by hand with the environment Slurm would give it, then the merge script. Either way
//! the documented scripts themselves are what is checked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_neurospice"))
}

fn ok(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const RUNS: &str = "48";
const SEED: &str = "11";
const SHARDS: usize = 4;

fn netlist() -> PathBuf {
    root().join("netlists/mc_if_neuron.cir")
}

/// The one-machine study, the reference.
fn one_machine(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let runs = dir.join("full.csv");
    let summary = dir.join("full.json");
    ok(
        "one-machine mc",
        Command::new(bin())
            .arg("mc")
            .arg(netlist())
            .args(["--runs", RUNS, "--seed", SEED, "-q", "-o"])
            .arg(&runs)
            .arg("--summary")
            .arg(&summary)
            .output()
            .expect("start neurospice"),
    );
    (fs::read(&runs).unwrap(), fs::read(&summary).unwrap())
}

/// Stops the cluster however the test ends.
struct Cluster {
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/slurm/cluster.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

/// Why a cluster cannot be started here, or None if it can.
fn cannot_start() -> Option<String> {
    if std::env::var_os("NEUROSPICE_SKIP_SLURM").is_some() {
        return Some("NEUROSPICE_SKIP_SLURM is set".into());
    }
    match Command::new(root().join("scripts/slurm/cluster.sh"))
        .arg("check")
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Err(e) => Some(format!("cannot run scripts/slurm/cluster.sh: {e}")),
    }
}

fn through_slurm(dir: &Path) -> PathBuf {
    let cdir = dir.join("cluster");
    let _cluster = Cluster { dir: cdir.clone() };
    let start = ok(
        "scripts/slurm/cluster.sh start",
        Command::new(root().join("scripts/slurm/cluster.sh"))
            .arg("start")
            .arg(&cdir)
            .output()
            .expect("start cluster.sh"),
    );
    let conf = String::from_utf8_lossy(&start.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("export SLURM_CONF=").map(str::to_string))
        .expect("cluster.sh prints SLURM_CONF");
    let out = dir.join("slurm");
    ok(
        "scripts/slurm/submit.sh --wait",
        Command::new(root().join("scripts/slurm/submit.sh"))
            .arg(netlist())
            .args([RUNS, SEED, &SHARDS.to_string()])
            .arg(&out)
            .arg("--wait")
            .env("SLURM_CONF", conf)
            .env("NEUROSPICE", bin())
            .env(
                "PATH",
                format!("{}:/usr/sbin", std::env::var("PATH").unwrap_or_default()),
            )
            .output()
            .expect("start submit.sh"),
    );
    out
}

/// The same job scripts, each array task run by hand with the variables Slurm sets.
fn container_free(dir: &Path) -> PathBuf {
    let out = dir.join("smoke");
    let parts = out.join("parts");
    for i in 0..SHARDS {
        ok(
            &format!("scripts/slurm/mc-array.sh as task {i}"),
            Command::new("sh")
                .arg(root().join("scripts/slurm/mc-array.sh"))
                .env("NETLIST", netlist())
                .env("RUNS", RUNS)
                .env("SEED", SEED)
                .env("OUT", &parts)
                .env("SLURM_ARRAY_TASK_ID", i.to_string())
                .env("SLURM_ARRAY_TASK_COUNT", SHARDS.to_string())
                .env("NEUROSPICE", bin())
                .output()
                .expect("start sh"),
        );
    }
    ok(
        "scripts/slurm/mc-merge.sh",
        Command::new("sh")
            .arg(root().join("scripts/slurm/mc-merge.sh"))
            .env("OUT", &parts)
            .env("RESULT", out.join("runs.csv"))
            .env("SUMMARY", out.join("summary.json"))
            .env("NEUROSPICE", bin())
            .output()
            .expect("start sh"),
    );
    out
}

#[test]
fn slurm_job_array_equals_one_machine_study() {
    let tmp = tempfile::tempdir().unwrap();
    let (runs, summary) = one_machine(tmp.path());
    let out = match cannot_start() {
        None => through_slurm(tmp.path()),
        Some(why) => {
            eprintln!(
                "slurm_job_array_equals_one_machine_study: no Slurm cluster here ({why}); \
                 running the job scripts container-free instead"
            );
            container_free(tmp.path())
        }
    };
    let merged = fs::read(out.join("runs.csv")).expect("merged runs.csv");
    let merged_summary = fs::read(out.join("summary.json")).expect("merged summary.json");
    assert!(
        merged == runs,
        "merged runs differ from the one-machine study:\n{}\n--- vs ---\n{}",
        String::from_utf8_lossy(&merged),
        String::from_utf8_lossy(&runs)
    );
    assert!(merged_summary == summary, "merged summary differs");
    // Every shard wrote its part: the array really ran SHARDS tasks.
    for i in 0..SHARDS {
        assert!(
            out.join(format!("parts/runs_{i}.csv")).is_file(),
            "part {i} missing"
        );
    }
}
