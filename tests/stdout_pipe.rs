//! A reader that closes the pipe early (`neurospice run deck | head -1`) must not make the
//! program panic ("failed printing to stdout") or report an error: it ends quietly with exit 0,
//! as the tools it is piped into expect. Standard output that cannot be written for another
//! reason (a full disk) is an output error, exit 4.
use std::io::Write;
use std::process::{Command, Stdio};

fn deck(dir: &std::path::Path) -> std::path::PathBuf {
    // an operating point of 400 nodes prints 400+ lines, more than any pipe buffer holds
    // only after the reader is gone (the reader closes before the first line)
    let mut s = String::from("many lines on stdout\nV1 n0 0 1\n");
    for i in 0..400 {
        s.push_str(&format!("R{i} n{i} n{} 1k\n", i + 1));
    }
    s.push_str("R400 n400 0 1k\n.op\n.end\n");
    let p = dir.join("ladder.cir");
    std::fs::File::create(&p)
        .and_then(|mut f| f.write_all(s.as_bytes()))
        .expect("write deck");
    p
}

#[test]
fn closed_pipe_ends_quietly_with_exit_0() {
    let dir = tempfile_dir();
    let p = deck(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .arg("run")
        .arg(&p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start neurospice");
    // close the read end before the program prints anything
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
}

#[test]
fn full_stdout_is_an_output_error() {
    let dev_full = std::path::Path::new("/dev/full");
    if !dev_full.exists() {
        eprintln!("skipped: this machine has no /dev/full");
        return;
    }
    let dir = tempfile_dir();
    let p = deck(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .arg("run")
        .arg(&p)
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open(dev_full)
                .expect("open /dev/full"),
        )
        .output()
        .expect("run neurospice");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert_eq!(out.status.code(), Some(4), "stderr: {err}");
    assert!(err.contains("standard output"), "stderr: {err}");
}

fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "neurospice-stdout-pipe-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
