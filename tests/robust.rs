//! Issue 15, the netlist and engine side: every abort or silently wrong answer the issue lists
//! (and every one the fuzzer found, `fuzz/crashes/` -> docs/fuzzing.md) has a test here named
//! after the case. Each failed on the main branch before the fix (a stack overflow, an
//! out-of-memory abort, a hang or a wrong message) and passes now.
//!
//! The library tests run in cargo's test threads (2 MB stacks, smaller than a main thread's
//! 8 MB), so "no stack overflow" here holds with margin for the command line too.

mod common;

use common::{root, run_neurospice};
use neurospice::analysis::{self, RowSink, RunOptions, Save};
use neurospice::error::Result;
use neurospice::meas::Deck;
use neurospice::netlist;
use std::fmt::Write as _;
use std::time::Duration;

const GUARD: Option<Duration> = Some(Duration::from_secs(300));

fn elaborate(text: &str) -> Result<neurospice::circuit::Circuit> {
    let deck = Deck::from_text(text, "case.cir")?;
    netlist::elaborate(&deck.netlist, Default::default())
}

fn op_value(text: &str, signal: &str) -> f64 {
    let c = elaborate(text).unwrap_or_else(|e| panic!("{e}"));
    let res = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    let op = res.op.expect("an operating point");
    op.iter()
        .find(|(n, _)| n == signal)
        .map(|p| p.1)
        .unwrap_or_else(|| panic!("no {signal} in {op:?}"))
}

fn err(text: &str) -> String {
    match elaborate(text) {
        Ok(c) => match analysis::run(&c, &Save::All) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn chained_params_10000() {
    // p1 = 1, p_k = p_{k-1} + 1: evaluated lazily from the last, 10,000 levels deep
    let mut t = String::from("chain\n.param p1=1\n");
    for k in 2..=10_000 {
        let _ = writeln!(t, ".param p{k}={{p{}+1}}", k - 1);
    }
    t.push_str("V1 a 0 {p10000}\nR1 a 0 1k\n.op\n.end\n");
    assert_eq!(op_value(&t, "v(a)"), 10_000.0);
    // the same chain defined last-first
    let mut t = String::from("chain reversed\n");
    for k in (2..=10_000).rev() {
        let _ = writeln!(t, ".param p{k}={{p{}*1+1}}", k - 1);
    }
    t.push_str(".param p1=1\nV1 a 0 {p10000}\nR1 a 0 1k\n.op\n.end\n");
    assert_eq!(op_value(&t, "v(a)"), 10_000.0);
}

#[test]
fn chained_params_cycle_is_still_named() {
    let mut t = String::from("cycle\n.param p1={p3000+1}\n");
    for k in 2..=3000 {
        let _ = writeln!(t, ".param p{k}={{p{}+1}}", k - 1);
    }
    t.push_str("V1 a 0 {p10}\nR1 a 0 1k\n.op\n.end\n");
    let e = err(&t);
    assert!(e.contains("circular parameter definition"), "{e}");
}

#[test]
fn expression_60000_terms() {
    // constant terms fold while parsing: any length works, with the sum ngspice gives
    let sum = vec!["1"; 60_000].join("+");
    let t = format!("long\nV1 a 0 {{{sum}}}\nR1 a 0 1k\n.op\n.end\n");
    assert_eq!(op_value(&t, "v(a)"), 60_000.0);
    // terms that are parameters keep one operator each: beyond the limit a clear error at
    // the line, not a stack overflow
    let sum = vec!["x"; 60_000].join("+");
    let t = format!("long\n.param x=1\nV1 a 0 {{{sum}}}\nR1 a 0 1k\n.op\n.end\n");
    let e = err(&t);
    assert!(e.contains("more than 2000 operators"), "{e}");
    assert!(e.contains("case.cir:3"), "{e}");
    // at the limit it evaluates
    let sum = vec!["x"; 2000].join("+");
    let t = format!("long\n.param x=1\nV1 a 0 {{{sum}}}\nR1 a 0 1k\n.op\n.end\n");
    assert_eq!(op_value(&t, "v(a)"), 2000.0);
    // and a B source compiles it to its tape
    let sum = vec!["v(a)"; 2000].join("+");
    let t = format!("bsrc\nV1 a 0 1\nB1 b 0 v={{{sum}}}\nR1 b 0 1k\n.op\n.end\n");
    assert_eq!(op_value(&t, "v(b)"), 2000.0);
}

#[test]
fn ternary_chain_is_bounded() {
    let chain = "x>0?1:".repeat(5000) + "0";
    let t = format!("tern\n.param x=1\nV1 a 0 {{{chain}}}\nR1 a 0 1k\n.op\n.end\n");
    let e = err(&t);
    assert!(e.contains("nested deeper"), "{e}");
}

/// `levels` subcircuits, each holding one instance of the next and a resistor.
fn nested(levels: usize) -> String {
    let mut t = String::from("nested\n");
    for k in 0..levels {
        let _ = writeln!(t, ".subckt s{k} a\nR{k} a 0 1k");
        if k + 1 < levels {
            let _ = writeln!(t, "X{k} a s{}", k + 1);
        }
        t.push_str(".ends\n");
    }
    t.push_str("V1 in 0 1\nX0 in s0\n.op\n.end\n");
    t
}

#[test]
fn subckt_100_levels_not_recursive() {
    // 100 resistors of 1k in parallel
    let v = op_value(&nested(100), "i(v1)");
    assert!((v + 0.1).abs() < 1e-9, "{v}");
    let e = err(&nested(1001));
    assert!(e.contains("nested deeper than 1000 levels"), "{e}");
    assert!(!e.contains("recursive"), "{e}");
    let rec = "rec\n.subckt a p\nXb p b\n.ends\n.subckt b p\nXa p a\n.ends\nV1 in 0 1\nR1 in 0 1\nX1 in a\n.op\n.end\n";
    let e = err(rec);
    assert!(
        e.contains("recursive subcircuit instantiation: a -> b -> a"),
        "{e}"
    );
}

#[test]
fn subckt_definitions_nested_deeply() {
    let mut t = String::from("defs\n");
    for k in 0..5000 {
        let _ = writeln!(t, ".subckt d{k} a");
    }
    t.push_str("V1 a 0 1\n.op\n.end\n");
    let e = err(&t);
    assert!(e.contains(".subckt definitions nested deeper"), "{e}");
}

#[test]
fn dc_step_typo_1e_12() {
    let t = "dc\nV1 a 0 0\nR1 a 0 1k\n.dc V1 0 1 1e-12\n.end\n";
    let e = err(t);
    assert!(e.contains(".dc sweep points"), "{e}");
    assert!(e.contains("--max-dc-points"), "{e}");
    assert!(e.contains("case.cir:4"), "{e}");
}

#[test]
fn dc_step_typo_1e_8() {
    let e = err("dc\nV1 a 0 0\nR1 a 0 1k\n.dc V1 0 1 1e-8\n.end\n");
    assert!(e.contains("100000001 exceeds the limit"), "{e}");
    // nested sweeps multiply
    let e = err("dc\nV1 a 0 0\nV2 b 0 0\nR1 a b 1k\n.dc V1 0 1 1e-4 V2 0 1 1e-3\n.end\n");
    assert!(e.contains(".dc sweep points"), "{e}");
}

#[test]
fn tran_1n_1e30() {
    let e = err("tran\nI1 0 a 1u\nR1 a 0 1k\n.tran 1n 1e30\n.end\n");
    assert!(e.contains("transient time points"), "{e}");
    assert!(e.contains("--max-points"), "{e}");
}

#[test]
fn tran_tstop_1e_320() {
    // found by the fuzzer: a subnormal tstop made every step vanish and the run hang
    let e = err("tran\nI1 0 a 1u\nR1 a 0 1k\n.tran 1n 1e-320\n.end\n");
    assert!(e.contains("tstop must be at least"), "{e}");
}

#[test]
fn nested_subckts_1e7_elements() {
    // 7 levels of 10 instances: 10^7 resistors, refused before any is built
    let mut t = String::from("explode\n.subckt l0 a\nR1 a 0 1k\n.ends\n");
    for k in 1..=7 {
        let _ = writeln!(t, ".subckt l{k} a");
        for j in 0..10 {
            let _ = writeln!(t, "X{j} a l{}", k - 1);
        }
        t.push_str(".ends\n");
    }
    t.push_str("V1 in 0 1\nX1 in l7\n.op\n.end\n");
    let e = err(&t);
    assert!(
        e.contains("elements after expanding the subcircuits"),
        "{e}"
    );
    assert!(e.contains("10000001 exceeds"), "{e}");
    assert!(e.contains("--max-elements"), "{e}");
}

#[test]
fn pwl_200000_points() {
    // a ramp sampled at 200,000 points; the run covers 1,000 of them
    let mut t = String::from("pwl\nV1 a 0 PWL(");
    for k in 0..200_000 {
        let _ = write!(t, "{:e} {:e} ", k as f64 * 1e-9, k as f64 * 1e-3);
    }
    t.push_str(")\nR1 a 0 1k\n.tran 10n 1u\n.end\n");
    let c = elaborate(&t).unwrap_or_else(|e| panic!("{e}"));
    let res = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    let tran = res.tran.expect("transient");
    let (ts, vs) = (
        tran.column("time").expect("time"),
        tran.column("v(a)").expect("v(a)"),
    );
    let last = ts.len() - 1;
    assert!((ts[last] - 1e-6).abs() < 1e-15);
    // the source is the ramp v = t * 1e6 everywhere
    for (t, v) in ts.iter().zip(&vs) {
        assert!((v - t * 1e6).abs() < 1e-9, "v({t}) = {v}");
    }
}

#[test]
fn literal_1e999_range_error() {
    let e = err("range\nV1 a 0 1e999\nR1 a 0 1k\n.op\n.end\n");
    assert!(e.contains("'1e999' is out of range"), "{e}");
    assert!(e.contains("case.cir:2"), "{e}");
    let e = err("range\nV1 a 0 {2*1e999}\nR1 a 0 1k\n.op\n.end\n");
    assert!(e.contains("'1e999' is out of range"), "{e}");
    let e = err("range\nV1 a 0 1e308k\nR1 a 0 1k\n.op\n.end\n");
    assert!(e.contains("out of range"), "{e}");
}

#[test]
fn latin1_byte_accepted_as_ngspice_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("latin1.cir");
    // `µ` as the Latin-1 byte B5 in a comment and as a value's scale
    let mut bytes =
        b"latin-1\n* r\xe9sistance de 1 k\xb5\nI1 0 a 1\xb5\nR1 a 0 1k\n.op\n.end\n".to_vec();
    bytes.extend_from_slice(b"");
    std::fs::write(&p, &bytes).expect("write");
    let lexed = netlist::lexer::lex_file(&p).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        lexed
            .warnings
            .iter()
            .any(|w| w.contains("latin1.cir:2") && w.contains("Latin-1")),
        "{:?}",
        lexed.warnings
    );
    let nl = netlist::Netlist::parse(&lexed).unwrap_or_else(|e| panic!("{e}"));
    let c = netlist::elaborate(&nl, Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let res = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    let v = res
        .op
        .expect("op")
        .iter()
        .find(|p| p.0 == "v(a)")
        .map(|p| p.1);
    assert!((v.expect("v(a)") - 1e-3).abs() < 1e-12);
    // and through the command line, whose control-block check read the file as UTF-8 only
    let r = run_neurospice(&["run", &p.to_string_lossy()], &root(), GUARD);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(
        r.stdout.contains("1.000000e-3") || r.stdout.contains("0.001"),
        "{}",
        r.stdout
    );
}

#[test]
fn cr_only_file_parses() {
    let t = "cr only\r* comment\rV1 a 0 2\rR1 a 0 1k\r.op\r.end\r";
    assert_eq!(op_value(t, "v(a)"), 2.0);
    // and an error in it names the right line
    let e = err("cr only\r* comment\rV1 a 0 2\rR1 a 0 1q2\r.op\r.end\r");
    assert!(e.contains("case.cir:4"), "{e}");
}

#[test]
fn include_of_a_device_is_refused() {
    let e = err("dev\n.include /dev/zero\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n");
    assert!(e.contains("not a regular file"), "{e}");
}

/// Collects streamed rows.
#[derive(Default)]
struct Rows {
    names: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl RowSink for Rows {
    fn header(&mut self, names: &[String]) -> Result<()> {
        self.names = names.to_vec();
        Ok(())
    }
    fn row(&mut self, row: &[f64]) -> Result<()> {
        self.rows.push(row.to_vec());
        Ok(())
    }
}

/// The streamed table equals, bit for bit, the table the run keeps in memory, and the kept
/// table holds only what was asked to be kept.
fn stream_matches_memory(text: &str) {
    let c = elaborate(text).unwrap_or_else(|e| panic!("{e}"));
    let whole = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    let whole = whole.tran.expect("tran");
    let mut sink = Rows::default();
    let kept = RunOptions {
        save: Save::List(vec!["v(b)".into()]),
        spikes: vec![],
    };
    let res = analysis::run_streaming(&c, &kept, &Save::All, &mut sink, &mut Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sink.names, whole.names);
    assert_eq!(sink.rows.len(), whole.rows.len());
    for (a, b) in sink.rows.iter().zip(&whole.rows) {
        let (a, b): (Vec<u64>, Vec<u64>) = (
            a.iter().map(|x| x.to_bits()).collect(),
            b.iter().map(|x| x.to_bits()).collect(),
        );
        assert_eq!(a, b);
    }
    let t = res.tran.expect("kept table");
    assert_eq!(t.names, vec!["time".to_string(), "v(b)".to_string()]);
}

#[test]
fn tran_streams_one_part() {
    stream_matches_memory(
        "one part\nV1 a 0 SIN(0 1 1meg)\nR1 a b 1k\nC1 b 0 1n\n.tran 10n 3u\n.end\n",
    );
}

#[test]
fn tran_streams_decoupled_parts() {
    // two circuits with their own time grids, merged on the union of both
    stream_matches_memory(
        "two parts\nV1 a 0 SIN(0 1 1meg)\nR1 a b 1k\nC1 b 0 1n\n\
         V2 c 0 PULSE(0 1 0 1n 1n 0.3u 1u)\nR2 c d 1k\nC2 d 0 10p\n.tran 10n 3u\n.end\n",
    );
}

#[test]
fn tran_1n_10m_streams_to_csv_and_raw() {
    // the CLI streams -o: the file equals what the in-memory writer produces
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("n.cir");
    std::fs::write(
        &deck,
        "two parts\nV1 a 0 SIN(0 1 1meg)\nR1 a b 1k\nC1 b 0 1n\n\
         V2 c 0 PULSE(0 1 0 1n 1n 0.3u 1u)\nR2 c d 1k\nC2 d 0 10p\n.tran 10n 3u\n\
         .meas tran vmax max v(b)\n.end\n",
    )
    .expect("write");
    let d = deck.to_string_lossy().to_string();
    for ext in ["csv", "raw"] {
        let out = dir.path().join(format!("out.{ext}"));
        let o = out.to_string_lossy().to_string();
        let r = run_neurospice(&["run", &d, "-o", &o], &root(), GUARD);
        assert_eq!(r.code, Some(0), "{}", r.describe());
        assert!(r.stdout.contains("vmax"), "{}", r.stdout);
        let c = elaborate(&std::fs::read_to_string(&deck).expect("read")).expect("deck");
        let res = analysis::run(&c, &Save::All).expect("run");
        if ext == "csv" {
            let want = dir.path().join("want.csv");
            neurospice::io::csv::write_csv(&want, res.tran.as_ref().expect("tran")).expect("write");
            assert_eq!(
                std::fs::read_to_string(&out).expect("out"),
                std::fs::read_to_string(&want).expect("want")
            );
        } else {
            let got = neurospice::io::raw::read_raw(&out).expect("streamed raw reads back");
            let want = neurospice::io::raw::plots(&c, &res);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].names, want[0].names);
            assert_eq!(got[0].types, want[0].types);
            assert_eq!(got[0].rows, want[0].rows);
        }
    }
    // the ASCII raw layout too
    let out = dir.path().join("a.raw");
    let o = out.to_string_lossy().to_string();
    let r = run_neurospice(&["run", &d, "-o", &o, "--ascii"], &root(), GUARD);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let got = neurospice::io::raw::read_raw(&out).expect("ascii raw reads back");
    assert!(got[0].rows.len() > 100);
}

#[test]
fn budget_flags_raise_the_limits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("dc.cir");
    std::fs::write(&deck, "dc\nV1 a 0 0\nR1 a 0 1k\n.dc V1 0 1 1e-6\n.end\n").expect("write");
    let d = deck.to_string_lossy().to_string();
    let r = run_neurospice(&["run", &d], &root(), GUARD);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.stderr.contains("--max-dc-points"), "{}", r.stderr);
    let r = run_neurospice(&["run", &d, "--max-dc-points", "2000000"], &root(), GUARD);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    // if_neuron: at least 500 points by tstop / tmax, 724 taken (its firing events)
    let r = run_neurospice(
        &["run", "netlists/if_neuron.cir", "--max-points", "100"],
        &root(),
        GUARD,
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("5.000e2 exceeds the limit of 100"),
        "{}",
        r.stderr
    );
    let r = run_neurospice(
        &["run", "netlists/if_neuron.cir", "--max-points", "600"],
        &root(),
        GUARD,
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("more than 600 time points"),
        "{}",
        r.stderr
    );
    let r = run_neurospice(
        &["run", "netlists/if_neuron.cir", "--max-points", "1000"],
        &root(),
        GUARD,
    );
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

#[test]
fn pulse_period_1e_30() {
    // found by the fuzzer: a PULSE period of 1e-30 s generated ten million breakpoint periods
    // before the run; periods the run cannot resolve now add none
    let t = "pulse\nV1 in 0 PULSE(0 1 0 1n 1n 1 1e-30)\nR1 in out 1k\nC1 out 0 1n\n.tran 10n 5u\n.end\n";
    let c = elaborate(t).unwrap_or_else(|e| panic!("{e}"));
    let res = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    let tran = res.tran.expect("tran");
    let (t, v) = (
        tran.column("time").expect("time"),
        tran.column("v(out)").expect("v(out)"),
    );
    // the run reaches tstop; the source, repeating every 1e-30 s, never leaves its first
    // nanosecond's rise from 0, so the capacitor stays between the source's levels near 0
    assert!((t[t.len() - 1] - 5e-6).abs() < 1e-15);
    assert!(v.iter().all(|x| x.is_finite() && x.abs() < 1e-3), "{v:?}");
}

/// Every input the fuzzer left in `fuzz/crashes/` (docs/fuzzing.md) now ends with a result or
/// a clear error (exit 1 rejected, 3 numerical failure), under the fuzzer's budgets.
#[test]
fn fuzz_crashes_replay() {
    let dir = root().join("fuzz/crashes");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("fuzz/crashes") {
        let p = e.expect("entry").path();
        let ps = p.to_string_lossy().to_string();
        let r = run_neurospice(
            &[
                "run",
                &ps,
                "--max-points",
                "20000",
                "--max-dc-points",
                "2000",
                "--max-elements",
                "5000",
            ],
            &root(),
            GUARD,
        );
        assert!(
            matches!(r.code, Some(0) | Some(1) | Some(3)) && !r.stderr.contains("panicked"),
            "{ps}: {}",
            r.describe()
        );
        n += 1;
    }
    assert!(n > 0);
}

/// `-o /dev/null`, `print ... > /dev/null` or a named pipe: the atomic writer must write into
/// the device, never rename a temporary file over it. (Run as root, a `.control` test once
/// replaced this machine's `/dev/null` with a regular file; every later process that read
/// "nothing" from it, cargo's rustc probe included, read other processes' output instead.)
#[test]
fn output_to_a_pipe_is_written_in_place() {
    use neurospice::io::atomic::write_bytes;
    let dir = std::env::temp_dir().join(format!("ns_fifo_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !made {
        eprintln!("mkfifo unavailable; skipped the pipe half of this test");
    } else {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        write_bytes(&fifo, b"v(1)\n1.5\n").unwrap();
        assert_eq!(reader.join().unwrap(), b"v(1)\n1.5\n");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(
            !kind.is_file(),
            "the named pipe was replaced by a regular file"
        );
    }
    // a symbolic link stays a link; the file it names gets the content
    let target = dir.join("target.csv");
    std::fs::write(&target, "old").unwrap();
    let link = dir.join("link.csv");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    write_bytes(&link, b"new").unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    // and /dev/null itself stays a device
    write_bytes(std::path::Path::new("/dev/null"), b"discarded").unwrap();
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(!null.is_file(), "/dev/null became a regular file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tran_1n_10m_of_a_1ghz_sine_stops_at_its_pace() {
    // hundreds of millions of points: refused from the run's pace within about a second (the
    // deck asks for 10^7 points, so the default work limit grows to allow them; the point pace
    // check then stops it after a million points), not at the 50-million point limit a minute
    // later
    let e = err("fast sine\nV1 in 0 SIN(0 1 1G)\nR1 in out 1k\nC1 out 0 1p\n.tran 1n 10m\n.end\n");
    assert!(e.contains("at this pace"), "{e}");
    assert!(
        e.contains("--max-points") || e.contains("--max-work"),
        "{e}"
    );
    assert!(e.contains("case.cir:5"), "{e}");
}

#[test]
fn flat_ladder_200000_resistors() {
    // a flat chain of 2e5 one-ohm resistors from 1 V to ground: v(n_k) = 1 - k / 2e5
    let n = 200_000;
    let mut t = String::with_capacity(n * 24);
    t.push_str("ladder\nV1 n0 0 1\n");
    for k in 0..n {
        let _ = writeln!(t, "R{k} n{k} n{} 1", k + 1);
    }
    let _ = writeln!(t, "Rend n{n} 0 1e-9\n.op\n.end");
    let c = elaborate(&t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(analysis::split(&c).len(), 1);
    let res = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    let op = res.op.expect("op");
    let v = |name: &str| op.iter().find(|p| p.0 == name).map(|p| p.1).expect(name);
    for k in [1usize, 50_000, 100_000, 199_999] {
        let want = 1.0 - k as f64 / n as f64;
        assert!((v(&format!("v(n{k})")) - want).abs() < 1e-9, "v(n{k})");
    }
    assert!((v("i(v1)") + 1.0 / n as f64).abs() < 1e-12);
}

/// `n` dividers, each held by its own grounded source and sharing one more source `VS`:
/// `n` + 1 parts before coalescing.
fn many_parts(n: usize, analysis: &str) -> String {
    let mut t = String::from("many parts\nVS s 0 1\n");
    for k in 0..n {
        let _ = writeln!(
            t,
            "V{k} a{k} 0 {}m\nR{k} a{k} b{k} 1k\nRB{k} b{k} 0 1k\nC{k} b{k} 0 1p\nRS{k} s c{k} 1k\nRC{k} c{k} 0 1k",
            k + 1
        );
    }
    let _ = writeln!(t, "{analysis}\n.end");
    t
}

#[test]
fn parts_3000_coalesced() {
    let c = elaborate(&many_parts(3000, ".op")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(analysis::split(&c).len(), analysis::MAX_PARTS);
    let res = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    let op = res.op.expect("op");
    let v = |name: &str| op.iter().find(|p| p.0 == name).map(|p| p.1).expect(name);
    for k in [0usize, 1, 1234, 2999] {
        assert!((v(&format!("v(b{k})")) - (k + 1) as f64 * 0.5e-3).abs() < 1e-12);
        assert!((v(&format!("v(c{k})")) - 0.5).abs() < 1e-12);
    }
    // the shared source's current is the sum of every group's share: 3000 x 0.5 mA
    assert!((v("i(vs)") + 1.5).abs() < 1e-9, "{}", v("i(vs)"));
}

#[test]
fn parts_3000_streamed_with_1024_open_files() {
    // before: two spill readers per part, 6,000 open files ("Too many open files", exit 4
    // under the common limit of 1024)
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("parts.cir");
    std::fs::write(&deck, many_parts(3000, ".tran 1n 100n")).expect("write");
    let out = dir.path().join("out.csv");
    let cmd = format!(
        "ulimit -n 1024 && exec '{}' run '{}' -o '{}'",
        common::binary().display(),
        deck.display(),
        out.display()
    );
    let r = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .output()
        .expect("sh");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = std::fs::read_to_string(&out).expect("csv");
    let header = text.lines().next().expect("header");
    assert_eq!(header.split(',').count(), 1 + 1 + 3 * 3000 + 3001);
    assert!(text.lines().count() > 10);
}

#[test]
fn control_while_1_stops_at_the_step_budget() {
    // ngspice loops forever; here the block stops with the flag named (exit 1)
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("loop.cir");
    std::fs::write(
        &deck,
        "loop\nV1 a 0 1\nR1 a 0 1k\n.control\nlet i = 0\nwhile 1\nlet i = i + 1\nend\n.endc\n.end\n",
    )
    .expect("write");
    let d = deck.to_string_lossy().to_string();
    let r = run_neurospice(
        &["run", &d, "--max-control-steps", "100000"],
        &root(),
        GUARD,
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("more than 100000 statements"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--max-control-steps"), "{}", r.stderr);
}

#[test]
fn control_repeat_1000000_runs() {
    // a long but finite loop is not refused by the default budget
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("rep.cir");
    std::fs::write(
        &deck,
        "loop\nV1 a 0 1\nR1 a 0 1k\n.control\nlet i = 0\nrepeat 1000000\nlet i = i + 1\nend\necho $&i\n.endc\n.end\n",
    )
    .expect("write");
    let d = deck.to_string_lossy().to_string();
    let r = run_neurospice(&["run", &d], &root(), GUARD);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    // ngspice's %g: 1E+06
    assert!(r.stdout.trim().ends_with("1E+06"), "{}", r.stdout);
    // and the same loop under a small budget is refused
    let r = run_neurospice(&["run", &d, "--max-control-steps", "1000"], &root(), GUARD);
    assert_eq!(r.code, Some(1), "{}", r.describe());
}

#[test]
fn pulse_delay_minus_9e18() {
    // found by the fuzzer: with the delay 9e18 s before the run, k + 1 == k in the period
    // count and the breakpoint loop pushed the same corner until memory ran out (abort)
    let v = op_value(
        "pulse\nI1 0 mem PULSE(0 1u -9e18 1n)\nC1 mem 0 1p\nR1 mem 0 1k\n.tran 10n 5u\n.op\n.end\n",
        "v(mem)",
    );
    assert!(v.is_finite());
}

#[test]
fn ac_dec_1meg_points() {
    // found by the fuzzer: `.ac dec 1meg 10 100k` is 4 million complex solves (minutes);
    // counted against the sweep budget before the first
    let e = err("ac\nV1 in 0 DC 0 AC 1\nR1 in out 1k\nC1 out 0 100n\n.ac dec 1meg 10 100k\n.end\n");
    assert!(
        e.contains(".ac frequency points: 4000001 exceeds the limit"),
        "{e}"
    );
    assert!(e.contains("--max-dc-points"), "{e}");
    assert!(e.contains("case.cir:5"), "{e}");
}

/// A 17-stage level-1 CMOS ring oscillator with `analysis` (about 1.4 ns per period).
fn ring17(analysis: &str) -> String {
    let mut t = String::from(
        "ring17\nVDD vdd 0 1.8\n.model nm nmos level=1 vto=0.5 kp=100u\n\
         .model pm pmos level=1 vto=-0.5 kp=50u\n",
    );
    for k in 0..17 {
        let (a, b) = (k, (k + 1) % 17);
        let _ = writeln!(
            t,
            "MP{k} n{b} n{a} vdd vdd pm w=2u l=0.18u\nMN{k} n{b} n{a} 0 0 nm w=1u l=0.18u\nC{k} n{b} 0 10f"
        );
    }
    let _ = writeln!(t, ".ic v(n0)=0\n{analysis}\n.end");
    t
}

#[test]
fn ring_oscillator_tran_1n_10u_stops_at_the_work_budget() {
    // before: 7.2 million Newton iterations of 34 MOSFETs, 28 s of CPU (the fuzzer's hang);
    // 1.4 million time points are far inside --max-points. With a limit of 4e8 units (the
    // default is 1e9, which this run reaches after about 12 s of CPU) the work meter projects
    // it at more than twice the limit within its first percent and stops, naming the flag.
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("ring.cir");
    std::fs::write(&deck, ring17(".tran 1n 10u")).expect("write");
    let d = deck.to_string_lossy().to_string();
    let r = run_neurospice(&["run", &d, "--max-work", "400000000"], &root(), GUARD);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.stderr.contains("transient: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("at this pace it needs about"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--max-work"), "{}", r.stderr);
    // the same circuit over 100 ns runs within the default budget
    let c = elaborate(&ring17(".tran 1n 100n")).unwrap_or_else(|e| panic!("{e}"));
    let res = analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{e}"));
    assert!(res.tran.expect("transient").rows.len() > 100);
}

#[test]
fn max_work_flag_bounds_and_raises_the_budget() {
    // the command line's --max-work: a small limit stops the 100 ns run (exit 1, the flag and
    // the analysis line named); the default runs it
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("ring.cir");
    std::fs::write(&deck, ring17(".tran 1n 100n")).expect("write");
    let d = deck.to_string_lossy().to_string();
    let r = run_neurospice(&["run", &d, "--max-work", "100000"], &root(), GUARD);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("more than the limit of 100000"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--max-work"), "{}", r.stderr);
    assert!(r.stderr.contains(".tran 1n 100n"), "{}", r.stderr);
    let r = run_neurospice(&["run", &d], &root(), GUARD);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

/// A flat ladder of `n` one-ohm resistors from `V1` to ground.
fn ladder(n: usize, analysis: &str) -> String {
    let mut t = String::from("ladder\nV1 n0 0 1\n");
    for k in 0..n {
        let _ = writeln!(t, "R{k} n{k} n{} 1", k + 1);
    }
    let _ = writeln!(t, "Rend n{n} 0 1\n{analysis}\n.end");
    t
}

#[test]
fn dc_sweep_of_a_20000_resistor_ladder_stops_at_the_work_budget() {
    // 100,001 points (inside --max-dc-points) of a 20,000-element circuit: hours before; the
    // work meter stops it at its first projection
    let e = err(&ladder(20_000, ".dc V1 0 1 1e-5"));
    assert!(e.contains(".dc: "), "{e}");
    assert!(e.contains("--max-work"), "{e}");
}

#[test]
fn ac_of_a_20000_resistor_ladder_refused_before_the_first_frequency() {
    // a million frequencies (inside --max-dc-points) of a 20,000-element circuit: refused
    // from the sweep's size before any is solved
    let e = err(&ladder(20_000, ".ac lin 1000000 1 1meg"));
    assert!(e.contains(".ac: "), "{e}");
    assert!(e.contains("work units"), "{e}");
    assert!(e.contains("--max-work"), "{e}");
}

#[test]
fn netlist_element_cards_released_after_elaboration() {
    // a one-shot run drops the netlist's element cards once the circuit is built (the bulk of
    // a large deck's memory); a released netlist refuses to elaborate again instead of
    // building an empty circuit
    let mut deck = Deck::from_text(&ladder(1000, ".op"), "case.cir").expect("deck");
    let c = netlist::elaborate(&deck.netlist, Default::default()).expect("circuit");
    assert_eq!(c.devices.len(), 1002);
    deck.netlist.release_elements();
    assert!(deck.netlist.top.elements.is_empty());
    let Err(e) = netlist::elaborate(&deck.netlist, Default::default()) else {
        panic!("a released netlist elaborated again");
    };
    assert!(e.to_string().contains("released"), "{e}");
    // the CLI's one-shot path: measures still read the parameters after the release
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("l.cir");
    std::fs::write(
        &p,
        ladder(
            1000,
            ".param k = 2\n.tran 1n 10n\n.meas tran vk find v(n500) at=5n",
        ),
    )
    .expect("write");
    let r = run_neurospice(&["run", &p.to_string_lossy()], &root(), GUARD);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    // v(n500) = 1 - 500 / 1001
    assert!(r.stdout.contains("vk"), "{}", r.stdout);
}

#[test]
fn control_repeat_tran_stops_at_the_session_work_budget() {
    // 100,000 short transients in a `.control` loop: each far inside the limit, the block's
    // sum is not (before: every pass had its own budget, minutes in all). The block shares
    // one meter: with a limit of 10^6 units (about 40 passes) it stops, naming the flag.
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("loop.cir");
    std::fs::write(
        &deck,
        "rc\nV1 in 0 PULSE(0 1 0 1n 1n 5u 10u)\nR1 in out 1k\nC1 out 0 1n\n.control\n\
         repeat 100000\ntran 10n 10u\nend\n.endc\n.end\n",
    )
    .expect("write");
    let d = deck.to_string_lossy().to_string();
    let r = run_neurospice(&["run", &d, "--max-work", "1000000"], &root(), GUARD);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.stderr.contains("--max-work"), "{}", r.stderr);
    assert!(
        r.stderr.contains("more than the limit of 1000000"),
        "{}",
        r.stderr
    );
}

#[test]
fn mc_runs_1e12_refused_before_allocating() {
    // before: `memory allocation of 8000000000000 bytes failed`, exit 134 (the run numbers
    // were collected first)
    let dir = tempfile::tempdir().expect("temp dir");
    let netlist = root().join("netlists/mc_if_neuron.cir");
    let out = dir.path().join("runs.csv");
    let r = run_neurospice(
        &[
            "mc",
            &netlist.to_string_lossy(),
            "--runs",
            "1000000000000",
            "-m",
            "tcross=rise(v(mem),0.45)",
            "-o",
            &out.to_string_lossy(),
            "-q",
        ],
        &root(),
        GUARD,
    );
    assert_eq!(r.code, Some(2), "{}", r.describe());
    assert!(r.stderr.contains("--runs 1000000000000"), "{}", r.stderr);
    assert!(r.stderr.contains("--shard"), "{}", r.stderr);
}

#[test]
fn meas_100000_cards_duplicates_found_in_one_pass() {
    // 100,000 `.meas` cards: the duplicate-name check compared each with every earlier one
    // (5e9 comparisons, minutes); by a map, the same warnings
    let mut t = String::from("rc\nV1 in 0 1\nR1 in out 1k\nC1 out 0 1n\n.tran 10n 1u\n");
    for k in 0..100_000 {
        let _ = writeln!(t, ".meas tran m{} max v(out)", k % 99_999);
    }
    t.push_str(".end\n");
    let deck = Deck::from_text(&t, "case.cir").expect("deck");
    assert_eq!(deck.measures.len(), 100_000);
    let dup: Vec<_> = deck
        .netlist
        .warnings
        .iter()
        .filter(|w| w.contains("is defined again"))
        .collect();
    assert_eq!(dup.len(), 1, "{dup:?}");
    assert!(
        dup[0].contains("measure 'm0'") && dup[0].contains("first at line 6"),
        "{dup:?}"
    );
}
