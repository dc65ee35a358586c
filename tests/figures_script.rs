//! `scripts/figures.sh` never rewrites the committed figures unless asked (issue 15: a trial
//! run rewrote a committed figure). The script runs in a copy of the repository layout with
//! a stand-in `neurospice` that only creates the files named by `-o` (the figures themselves
//! are checked by the plot tests), so this checks where the script writes, in a second.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

fn exe(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn figures_script_never_rewrites_committed_figures_unless_asked() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    fs::create_dir_all(repo.join("scripts")).unwrap();
    fs::copy(
        root().join("scripts/figures.sh"),
        repo.join("scripts/figures.sh"),
    )
    .unwrap();
    fs::create_dir_all(repo.join("plots")).unwrap();
    let committed: Vec<String> = fs::read_dir(root().join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    for n in &committed {
        fs::copy(root().join("plots").join(n), repo.join("plots").join(n)).unwrap();
    }
    let before = snapshot(&repo.join("plots"));
    exe(&t.path().join("bin/cargo"), "#!/bin/sh\nexit 0\n");
    exe(
        &t.path().join("target/release/neurospice"),
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in -o|--sweep-k|--csv) shift; mkdir -p \"$(dirname \"$1\")\"; echo stand-in > \"$1\" ;; esac\n  shift\ndone\n",
    );
    let path = format!(
        "{}:{}",
        t.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        let o = Command::new("sh")
            .arg(repo.join("scripts/figures.sh"))
            .args(args)
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", t.path().join("target"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "figures.sh {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    // a trial run, with and without a folder: plots/ untouched, every figure written there
    let out = t.path().join("trial");
    let log = run(&[out.to_str().unwrap()]);
    assert_eq!(
        snapshot(&repo.join("plots")),
        before,
        "plots/ was rewritten"
    );
    for n in &committed {
        assert!(out.join(n).is_file(), "{n} not written to the trial folder");
    }
    assert!(
        log.contains("all done"),
        "the script reports its time: {log}"
    );
    run(&[]);
    assert_eq!(
        snapshot(&repo.join("plots")),
        before,
        "plots/ was rewritten"
    );
    assert!(
        t.path()
            .join("target/figures")
            .join(&committed[0])
            .is_file()
    );
    // asked: --update rewrites them
    run(&["--update"]);
    assert_ne!(snapshot(&repo.join("plots")), before);
}
