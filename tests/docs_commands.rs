//! The documented commands run as written (issue 15). Every fenced shell block of README.md
//! and docs/*.md (language `sh`, `bash`, `shell`, `console` or none) that contains a
//! `neurospice ...` command (or `cargo run --release -- ...`, run as the built binary) is
//! extracted and each command is run, in document order, in one temporary folder per file
//! holding copies of the repository's input folders (so commands write only there, and later
//! commands read what earlier ones wrote). A command fails the test unless it exits 0.
//!
//! What runs: in such a block, `neurospice` commands (backslash continuations joined,
//! trailing `# comments` removed) and shell variable assignments (`M="--model ..."`, which
//! the later commands of the block see); other lines (`cargo test`, `sbatch`, scripts) are
//! left out. Each command runs under `sh -eu` with `neurospice` on the PATH.
//!
//! Small sizes: the only changes made to a command are these, so that the whole set runs in
//! seconds (each keeps the option and only lowers its number): `--runs` at most 40,
//! `--save-waves` at most 5, `--repeats` at most 2, `--epochs` at most 1, the point count of
//! `--sweep NAME=START:STOP:POINTS` at most 5. (Characterisations keep their 33 levels: a
//! network reads every chunk level 0..32.)
//!
//! A block that cannot run in a test (a synopsis with placeholders, a command that needs a
//! cluster) is marked by an HTML comment on the line just above its opening fence:
//! `<!-- docs-test: skip: REASON -->`; the reason is required, and listed when the test runs.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command found in a document.
#[derive(Debug)]
struct DocCommand {
    /// `file:line` of its first line.
    at: String,
    /// The shell text: the block's assignments so far, then the command.
    script: String,
    /// The command as written.
    text: String,
}

/// One fenced block: the line of its fence, its lines, and the skip reason if it has one.
struct Block {
    line: usize,
    lines: Vec<String>,
    skip: Option<String>,
}

const MARK: &str = "<!-- docs-test: skip:";

fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if let Some(lang) = t.strip_prefix("```") {
            let lang = lang.trim();
            let fence = i;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push(lines[i].to_string());
                i += 1;
            }
            if matches!(lang, "" | "sh" | "bash" | "shell" | "console") {
                let skip = fence
                    .checked_sub(1)
                    .map(|k| lines[k].trim())
                    .and_then(|l| l.strip_prefix(MARK))
                    .map(|r| r.trim_end_matches("-->").trim().to_string());
                out.push(Block {
                    line: fence + 1,
                    lines: body,
                    skip,
                });
            }
        }
        i += 1;
    }
    out
}

/// Removes a trailing `# comment` outside quotes.
fn strip_comment(s: &str) -> &str {
    let (mut sq, mut dq) = (false, false);
    let mut prev_ws = true;
    for (i, c) in s.char_indices() {
        match c {
            '\'' if !dq => sq = !sq,
            '"' if !sq => dq = !dq,
            '#' if !sq && !dq && prev_ws => return s[..i].trim_end(),
            _ => {}
        }
        prev_ws = c.is_whitespace();
    }
    s.trim_end()
}

fn is_assignment(s: &str) -> bool {
    let Some((name, _)) = s.split_once('=') else {
        return false;
    };
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        // `NAME=value command ...` is an environment prefix, not an assignment
        && !s.split_once('=').is_some_and(|(_, v)| {
            let v = v.trim();
            let unquoted = !(v.starts_with('"') || v.starts_with('\''));
            unquoted && v.contains(char::is_whitespace)
        })
}

/// The commands of a block, with small sizes.
fn commands(file: &str, b: &Block) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut assigns: Vec<String> = Vec::new();
    let mut k = 0;
    while k < b.lines.len() {
        let first = k;
        let mut logical = String::new();
        loop {
            let l = b.lines[k].trim();
            k += 1;
            match l.strip_suffix('\\') {
                Some(head) if k < b.lines.len() => {
                    logical.push_str(head.trim_end());
                    logical.push(' ');
                }
                _ => {
                    logical.push_str(l);
                    break;
                }
            }
        }
        let cmd = strip_comment(logical.trim()).to_string();
        if cmd.is_empty() {
            continue;
        }
        let run = if let Some(rest) = cmd.strip_prefix("cargo run --release -- ") {
            Some(format!("neurospice {rest}"))
        } else if cmd.starts_with("neurospice ") {
            Some(cmd.clone())
        } else {
            if is_assignment(&cmd) {
                assigns.push(cmd.clone());
            }
            None
        };
        if let Some(run) = run {
            let small = small_sizes(&run);
            let mut script = assigns.join("\n");
            script.push_str(&format!("\nexec {small}\n"));
            out.push(DocCommand {
                at: format!("{file}:{}", b.line + 1 + first),
                script,
                text: cmd,
            });
        }
    }
    out
}

/// Lowers the documented sizes (see the module comment).
fn small_sizes(cmd: &str) -> String {
    let toks: Vec<&str> = cmd.split(' ').collect();
    let mut out: Vec<String> = Vec::new();
    let cap = |flag: &str, max: u64| -> Option<u64> {
        match flag {
            "--runs" => Some(max.min(40)),
            "--save-waves" => Some(max.min(5)),
            "--repeats" => Some(max.min(2)),
            "--epochs" => Some(max.min(1)),
            _ => None,
        }
    };
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        out.push(t.to_string());
        if let Some(next) = toks.get(i + 1) {
            if let Ok(n) = next.parse::<u64>()
                && let Some(c) = cap(t, n)
            {
                out.push(c.to_string());
                i += 2;
                continue;
            }
            if t == "--sweep"
                && let Some((head, pts)) = next.rsplit_once(':')
                && let Ok(n) = pts.parse::<u64>()
                && head.matches(':').count() == 1
            {
                out.push(format!("{head}:{}", n.min(5)));
                i += 2;
                continue;
            }
        }
        i += 1;
    }
    out.join(" ")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let q = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&p, &q);
        } else if e.file_type().unwrap().is_file() {
            fs::copy(&p, &q).unwrap();
        }
    }
}

/// A folder with copies of the repository's inputs (not the sources, build or VCS folders).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in fs::read_dir(root()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if e.file_type().unwrap().is_dir()
            && !name.starts_with('.')
            && !matches!(name.as_str(), "target" | "src" | "fuzz" | "benches")
        {
            copy_dir(&e.path(), &dir.path().join(&name));
        }
    }
    let bin = dir.path().join(".bin");
    fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_neurospice"), bin.join("neurospice")).unwrap();
    dir
}

/// Runs `script` under `sh -eu` in `dir`; (success, stderr), killed after `limit`.
fn run(dir: &Path, script: &str, limit: Duration) -> (bool, String) {
    let path = format!(
        "{}:{}",
        dir.join(".bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("sh")
        .arg("-euc")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sh");
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap_or_default();
    match status {
        Some(s) => (s.success(), stderr),
        None => (
            false,
            format!("killed after {} s\n{stderr}", limit.as_secs()),
        ),
    }
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    let mut more: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

#[test]
fn documented_commands_run_as_written() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for doc in documents() {
        let name = doc
            .strip_prefix(root())
            .unwrap_or(&doc)
            .display()
            .to_string();
        let text = fs::read_to_string(&doc).unwrap();
        let mut cmds = Vec::new();
        for b in blocks(&text) {
            let found = commands(&name, &b);
            match &b.skip {
                Some(reason) if reason.is_empty() => failures.push(format!(
                    "{name}:{}: a skipped block needs a reason: {MARK} REASON -->",
                    b.line
                )),
                Some(reason) => {
                    if !found.is_empty() {
                        eprintln!("{name}:{}: not run ({reason})", b.line);
                    }
                }
                None => cmds.extend(found),
            }
        }
        if cmds.is_empty() {
            continue;
        }
        let ws = workspace();
        for c in &cmds {
            let t0 = Instant::now();
            let (ok, stderr) = run(ws.path(), &c.script, Duration::from_secs(300));
            eprintln!("{} ({:.1} s): {}", c.at, t0.elapsed().as_secs_f64(), c.text);
            ran += 1;
            if !ok {
                failures.push(format!(
                    "{}: `{}` failed:\n{}",
                    c.at,
                    c.text,
                    stderr.trim_end()
                ));
            }
        }
    }
    assert!(ran >= 10, "only {ran} documented commands found");
    assert!(
        failures.is_empty(),
        "{} documented command(s) do not run as written:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn extraction_joins_lines_and_keeps_assignments() {
    let text = "x\n<!-- docs-test: skip: a synopsis -->\n```sh\nneurospice run NETLIST\n```\n```sh\nM=\"--a b\"\nneurospice mc x.cir --runs 1000 \\\n    -o out/r.csv   # note\ncargo test --release\nNETLIST=c.cir sbatch x.sh\n```\n";
    let bs = blocks(text);
    assert_eq!(bs.len(), 2);
    assert_eq!(bs[0].skip.as_deref(), Some("a synopsis"));
    let cs = commands("t.md", &bs[1]);
    assert_eq!(cs.len(), 1, "{cs:?}");
    assert_eq!(cs[0].at, "t.md:8");
    assert_eq!(cs[0].text, "neurospice mc x.cir --runs 1000 -o out/r.csv");
    assert!(
        cs[0]
            .script
            .starts_with("M=\"--a b\"\nexec neurospice mc x.cir --runs 40 ")
    );
    assert_eq!(
        small_sizes("neurospice run a.cir --sweep iin=0.5u:2u:50 --levels 0:32"),
        "neurospice run a.cir --sweep iin=0.5u:2u:5 --levels 0:32"
    );
}
