//! The malformed-netlist corpus: every file in `tests/malformed/` has one
//! defect, and its second line says what neurospice must report:
//!
//! ```text
//! * expect: [file=NAME] line=N msg="phrase" [caret] [exit=N]
//! ```
//!
//! `file=NAME` says the error lies in another file of this directory (an
//! included file), whose path `tests/malformed/NAME` must then appear with `:N`.
//!
//! `neurospice run FILE` must exit with code 1 (or the `exit=N` given; not 0, not 101), print no
//! "panicked", and print on stderr the phrase (case-insensitive), the file
//! name as given on the command line followed by `:N` (rustc-style
//! `--> FILE:N:COL`, or `FILE:N` for errors without a column), and, for syntax
//! errors marked `caret`, a source line rendering with a `^` under the token.
//! It must also leave no partial output file behind.
//!
//! A fuzz-like test feeds ~200 random byte mutations of the valid goldens and
//! of this corpus to the binary and requires that it never panics, crashes or
//! hangs, whatever it is given.

mod common;

use common::{RunOutput, netlist_stems, root, run_neurospice};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::PathBuf;
use std::time::Duration;

/// Far above any plausible run time: it only turns a hang into a failure.
const HANG_GUARD: Duration = Duration::from_secs(300);

macro_rules! malformed {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_malformed(stringify!($name));
            }
        )*
        /// Every corpus file that has a test above.
        const CORPUS: &[&str] = &[$(stringify!($name)),*];
    };
}

malformed!(
    bad_number,
    bad_number_continuation,
    bad_number_pulse,
    bad_number_source,
    bad_suffix,
    bsource_no_expression,
    bsource_unknown_current,
    bsource_unknown_node,
    cccs_missing_control,
    ccvs_missing_control,
    circular_param,
    dc_unknown_source,
    duplicate_element,
    ends_without_subckt,
    error_in_include,
    floating_current_source,
    floating_node,
    func_recursive,
    missing_diode_model,
    missing_endc,
    missing_ends,
    missing_include,
    missing_lib_section,
    missing_nodes,
    missing_nodes_vcvs,
    no_analysis,
    no_convergence,
    pulse_too_few,
    pwl_nonmonotone,
    recursive_subckt,
    subckt_unknown_param,
    table_decreasing,
    title_only,
    tran_negative_tstop,
    tran_zero_tstop,
    trnoise_source,
    unbalanced_brace,
    unbalanced_paren,
    unbalanced_quote,
    undefined_model,
    undefined_param,
    undefined_subckt,
    unknown_card,
    unknown_element,
    unknown_function,
    unknown_instance_param,
    unknown_model_param,
    unknown_node_ic,
    vsource_inductor_loop,
    vsource_loop,
    wrong_model_type,
    wrong_port_count,
    zero_resistor,
);

fn corpus_dir() -> PathBuf {
    root().join("tests").join("malformed")
}

/// What a corpus file's second line promises.
#[derive(Debug, PartialEq)]
struct Expectation {
    /// The file the error points into, when it is not the netlist itself.
    file: Option<String>,
    line: usize,
    msg: String,
    caret: bool,
    /// The exit code: 1 (input rejected) unless `exit=N` says otherwise, e.g. 3 for a
    /// numerical failure (README's exit-code table).
    exit: i32,
}

fn parse_expectation(text: &str) -> Result<Expectation, String> {
    let second = text.lines().nth(1).ok_or("no second line")?;
    let rest = second
        .trim_start()
        .strip_prefix('*')
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("expect:"))
        .ok_or_else(|| format!("second line is not `* expect: ...`: {second:?}"))?;
    let file = rest
        .split_whitespace()
        .find_map(|w| w.strip_prefix("file="))
        .map(str::to_string);
    let line = rest
        .split_whitespace()
        .find_map(|w| w.strip_prefix("line="))
        .ok_or("no line=N")?
        .parse::<usize>()
        .map_err(|e| format!("line=N: {e}"))?;
    let msg_start = rest.find("msg=\"").ok_or("no msg=\"...\"")? + "msg=\"".len();
    let msg_len = rest[msg_start..]
        .find('"')
        .ok_or("unterminated msg=\"...")?;
    let msg = rest[msg_start..msg_start + msg_len].to_string();
    let after = &rest[msg_start + msg_len + 1..];
    let caret = after.split_whitespace().any(|w| w == "caret");
    let exit = match rest
        .split_whitespace()
        .find_map(|w| w.strip_prefix("exit="))
    {
        Some(n) => n.parse::<i32>().map_err(|e| format!("exit=N: {e}"))?,
        None => 1,
    };
    if msg.is_empty() || msg != msg.to_lowercase() {
        return Err(format!("msg must be a non-empty lowercase phrase: {msg:?}"));
    }
    Ok(Expectation {
        file,
        line,
        msg,
        caret,
        exit,
    })
}

/// True if `stderr` contains `file:line` not followed by another digit.
fn mentions_location(stderr: &str, file: &str, line: usize) -> bool {
    let needle = format!("{file}:{line}");
    stderr.match_indices(&needle).any(|(at, _)| {
        !stderr[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// A rustc-style caret line: gutter bar, then spaces and carets (a label may follow).
fn has_caret_line(stderr: &str) -> bool {
    stderr.lines().any(|l| {
        let Some(last) = l.rfind('^') else {
            return false;
        };
        let head = &l[..=last];
        head.contains('|')
            && head
                .chars()
                .all(|c| matches!(c, ' ' | '|' | '^' | '~' | '-') || c.is_ascii_digit())
    })
}

/// Every way `run` falls short of `expect`, for file `rel` (as passed on the command line).
fn problems(run: &RunOutput, rel: &str, expect: &Expectation) -> Vec<String> {
    let mut out = Vec::new();
    if run.code != Some(expect.exit) {
        out.push(format!(
            "exit code must be {}, got: {}",
            expect.exit,
            run.describe().lines().next().unwrap_or("")
        ));
    }
    if run.stderr.contains("panicked") {
        out.push("stderr contains \"panicked\"".to_string());
    }
    let lower = run.stderr.to_lowercase();
    if !lower.contains(&expect.msg) {
        out.push(format!("stderr lacks the phrase {:?}", expect.msg));
    }
    let located = match &expect.file {
        Some(file) => format!("tests/malformed/{file}"),
        None => rel.to_string(),
    };
    if !mentions_location(&run.stderr, &located, expect.line) {
        out.push(format!(
            "stderr lacks the location {located}:{}",
            expect.line
        ));
    }
    if expect.caret && !has_caret_line(&run.stderr) {
        out.push("stderr lacks a caret line (`  |   ^^^`) under the offending token".to_string());
    }
    out
}

fn check_malformed(name: &str) {
    let rel = format!("tests/malformed/{name}.cir");
    let text = std::fs::read_to_string(root().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let expect = parse_expectation(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let tmp = tempfile::tempdir().expect("cannot create a temporary directory");
    let out_csv = tmp.path().join("out.csv");
    let out_csv_s = out_csv.to_string_lossy().into_owned();
    let run = run_neurospice(&["run", &rel, "-o", &out_csv_s], &root(), Some(HANG_GUARD));
    let mut found = problems(&run, &rel, &expect);
    if out_csv.exists() {
        found.push("an output file was written although the run failed".to_string());
    }
    assert!(
        found.is_empty(),
        "{rel} (expect {}line={} msg={:?}{}):\n  {}\n--- stderr ---\n{}",
        expect
            .file
            .as_ref()
            .map(|f| format!("file={f} "))
            .unwrap_or_default(),
        expect.line,
        expect.msg,
        if expect.caret { " caret" } else { "" },
        found.join("\n  "),
        run.stderr.trim_end()
    );
}

#[test]
fn every_corpus_file_has_a_test_and_a_valid_expectation() {
    let stems = netlist_stems(&corpus_dir());
    let mut bad = Vec::new();
    for stem in &stems {
        if !CORPUS.contains(&stem.as_str()) {
            bad.push(format!("{stem}.cir has no entry in malformed!(...)"));
        }
        let path = corpus_dir().join(format!("{stem}.cir"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        match parse_expectation(&text) {
            Ok(e) => {
                let target = match &e.file {
                    Some(f) => std::fs::read_to_string(corpus_dir().join(f)).unwrap_or_default(),
                    None => text.clone(),
                };
                if e.line == 0 || e.line > target.lines().count() {
                    bad.push(format!(
                        "{stem}.cir: line={} is outside the file it names",
                        e.line
                    ));
                }
            }
            Err(e) => bad.push(format!("{stem}.cir: {e}")),
        }
    }
    for name in CORPUS {
        if !stems.iter().any(|s| s == name) {
            bad.push(format!(
                "malformed!(...) lists {name} but tests/malformed/{name}.cir is missing"
            ));
        }
    }
    assert!(stems.len() >= 30, "only {} corpus files", stems.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn expectation_parser_and_matchers() {
    assert_eq!(
        parse_expectation("t\n* expect: line=3 msg=\"invalid number\" caret\n"),
        Ok(Expectation {
            file: None,
            line: 3,
            msg: "invalid number".into(),
            caret: true,
            exit: 1
        })
    );
    assert_eq!(
        parse_expectation("t\n* expect: line=12 msg=\".ends without\"\n"),
        Ok(Expectation {
            file: None,
            line: 12,
            msg: ".ends without".into(),
            caret: false,
            exit: 1
        })
    );
    assert_eq!(
        parse_expectation("t\n* expect: line=3 msg=\"did not converge\" exit=3\n").map(|e| e.exit),
        Ok(3)
    );
    assert_eq!(
        parse_expectation("t\n* expect: file=x.inc line=4 msg=\"invalid number\" caret\n"),
        Ok(Expectation {
            file: Some("x.inc".into()),
            line: 4,
            msg: "invalid number".into(),
            caret: true,
            exit: 1
        })
    );
    assert!(parse_expectation("t\n* nothing\n").is_err());
    assert!(mentions_location("  --> a/b.cir:3:1\n", "a/b.cir", 3));
    assert!(mentions_location("--> a/b.cir:3\n", "a/b.cir", 3));
    assert!(!mentions_location("--> a/b.cir:31:1\n", "a/b.cir", 3));
    let rendered = "error: x\n  --> f.cir:3:1\n   |\n 3 | Q1 c b e mod\n   | ^^\n";
    assert!(has_caret_line(rendered));
    assert!(has_caret_line("   |     ^^^^ not a number\n"));
    assert!(!has_caret_line("error: 2^3 is not allowed\n"));
}

/// An empty file cannot carry an expectation line, so it is checked here.
#[test]
fn empty_file_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().expect("cannot create a temporary directory");
    let path = tmp.path().join("empty.cir");
    std::fs::write(&path, b"").expect("cannot write the empty netlist");
    let path_s = path.to_string_lossy().into_owned();
    let run = run_neurospice(&["run", &path_s], tmp.path(), Some(HANG_GUARD));
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    assert!(
        run.stderr.contains(&path_s),
        "stderr does not name the file: {}",
        run.describe()
    );
    assert!(
        run.stderr.to_lowercase().contains("empty netlist"),
        "{}",
        run.describe()
    );
}

#[test]
fn missing_netlist_file_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().expect("cannot create a temporary directory");
    let run = run_neurospice(&["run", "does_not_exist.cir"], tmp.path(), Some(HANG_GUARD));
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    assert!(
        run.stderr.contains("does_not_exist.cir"),
        "{}",
        run.describe()
    );
}

/// Seeds for the mutation test: the valid goldens (analyses replaced by .op so
/// each case stays quick) and the malformed corpus, with their include files.
struct Seeds {
    netlists: Vec<(String, Vec<u8>)>,
    includes: Vec<PathBuf>,
}

fn seeds() -> Seeds {
    let mut netlists = Vec::new();
    let mut includes = Vec::new();
    for dir in [root().join("tests").join("golden"), corpus_dir()] {
        for entry in std::fs::read_dir(&dir)
            .expect("cannot list a test directory")
            .flatten()
        {
            let path = entry.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".inc") || name.ends_with(".lib") {
                includes.push(path);
            } else if name.ends_with(".cir") {
                let text = std::fs::read_to_string(&path).expect("cannot read a seed netlist");
                let quick: String = text
                    .lines()
                    .map(|l| {
                        let head = l.trim_start().to_ascii_lowercase();
                        if head.starts_with(".tran") || head.starts_with(".dc") {
                            ".op"
                        } else {
                            l
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                netlists.push((name, quick.into_bytes()));
            }
        }
    }
    netlists.sort();
    Seeds { netlists, includes }
}

/// One byte-level edit; positions are fractions of the current length so they
/// shrink sensibly.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(f64, u8),
    Insert(f64, u8),
    Delete(f64, usize),
    DuplicateLine(f64),
    Truncate(f64),
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
    match *m {
        Mutation::Replace(f, b) if !bytes.is_empty() => {
            let i = at(f, bytes.len() - 1);
            bytes[i] = b;
        }
        Mutation::Replace(..) => {}
        Mutation::Insert(f, b) => {
            let i = at(f, bytes.len());
            bytes.insert(i, b);
        }
        Mutation::Delete(f, n) => {
            let i = at(f, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::DuplicateLine(f) => {
            let i = at(f, bytes.len());
            let start = bytes[..i]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            let end = bytes[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(bytes.len(), |p| i + p);
            let mut line = bytes[start..end].to_vec();
            line.push(b'\n');
            bytes.splice(start..start, line);
        }
        Mutation::Truncate(f) => {
            let i = at(f, bytes.len());
            bytes.truncate(i);
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes the lexer cares about most, plus anything at all (non-UTF-8 included).
    let byte = prop_oneof![
        prop::sample::select(b"(){}'\"=,*+-.;$ \t\n0123456789eEkKmMuUvVxX".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (0.0..1.0f64, byte.clone()).prop_map(|(f, b)| Mutation::Replace(f, b)),
        (0.0..1.0f64, byte).prop_map(|(f, b)| Mutation::Insert(f, b)),
        (0.0..1.0f64, 1..12usize).prop_map(|(f, n)| Mutation::Delete(f, n)),
        (0.0..1.0f64).prop_map(Mutation::DuplicateLine),
        (0.0..1.0f64).prop_map(Mutation::Truncate),
    ]
}

#[test]
fn mutated_netlists_never_panic() {
    let seeds = seeds();
    let tmp = tempfile::tempdir().expect("cannot create a temporary directory");
    for inc in &seeds.includes {
        if let Some(name) = inc.file_name() {
            std::fs::copy(inc, tmp.path().join(name)).expect("cannot copy an include file");
        }
    }
    let config = Config {
        cases: 200,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    };
    // A fixed seed: the same 200 cases every run, so a failure is reproducible.
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (
        0..seeds.netlists.len(),
        prop::collection::vec(mutation(), 1..5),
    );
    let result = runner.run(&strategy, |(index, edits)| {
        let (name, original) = &seeds.netlists[index];
        let mut bytes = original.clone();
        for m in &edits {
            apply(&mut bytes, m);
        }
        let path = tmp.path().join("mutant.cir");
        std::fs::write(&path, &bytes).expect("cannot write the mutant netlist");
        let out = tmp.path().join("mutant.csv");
        let run = run_neurospice(
            &["run", "mutant.cir", "-o", &out.to_string_lossy()],
            tmp.path(),
            Some(HANG_GUARD),
        );
        let ok = matches!(run.code, Some(0..=3)) && !run.stderr.contains("panicked");
        prop_assert!(
            ok,
            "mutant of {name} with edits {edits:?}: {}\n--- netlist ---\n{}",
            run.describe(),
            String::from_utf8_lossy(&bytes)
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
