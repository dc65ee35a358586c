//! A self-contained fuzzer for the whole simulation path (lexing, parsing, `.meas` cards,
//! elaboration, structural checks, the analyses with small budgets, the measures), std only:
//! cargo-fuzz and libFuzzer cannot be fetched on an offline machine, so this driver does
//! their job without coverage instrumentation (docs/fuzzing.md).
//!
//! `fuzz_drive run CORPUS CRASHES SECONDS [SEED]` is the parent: it mutates corpus files
//! (bytes, SPICE-aware tokens, extreme numbers, spliced cards from other files and from a
//! dictionary of hostile cards), up to 64 KB each, and feeds them to a worker process (this
//! program with `worker`) over a pipe. The worker runs each input and answers with the stage
//! it reached and the shape of the error it ended with; an input whose answer was never seen
//! joins the corpus (the feedback libFuzzer takes from coverage). A worker that dies (abort,
//! stack overflow, out of memory under `ulimit -v`), panics, or takes more than the time limit
//! leaves its input in CRASHES. `fuzz_drive one FILE` runs one input in-process.
#[path = "fuzz_util/mod.rs"]
mod fuzz_util;
use fuzz_util::Rng;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MAX_INPUT: usize = 64 * 1024;
/// A worker answer slower than this is a hang.
const HANG: Duration = Duration::from_secs(20);

/// Runs one input through the simulator; the stage reached and the error's shape.
fn target(data: &[u8]) -> String {
    use neurospice::{analysis, meas, netlist};
    let (text, _) = netlist::lexer::decode(data, "fuzz.cir");
    let deck = match meas::Deck::from_text(&text, "fuzz.cir") {
        Ok(d) => d,
        Err(e) => return format!("parse:{}", shape(&e.to_string())),
    };
    let c = match netlist::elaborate(&deck.netlist, Default::default()) {
        Ok(c) => c,
        Err(e) => return format!("elab:{}", shape(&e.to_string())),
    };
    if let Err(e) = meas::check_signals(&deck.measures, &c) {
        return format!("signals:{}", shape(&e.to_string()));
    }
    let res = match analysis::run(&c, &analysis::Save::All) {
        Ok(r) => r,
        Err(e) => return format!("run:{}", shape(&e.to_string())),
    };
    let params = deck.params(&[]).unwrap_or_default();
    let outcomes = meas::evaluate(&deck.measures, &res, &params);
    let failed = outcomes.iter().filter(|(_, r)| r.is_err()).count();
    format!(
        "ok:{}{}{}:{failed}",
        u8::from(res.op.is_some()),
        u8::from(res.dc.is_some()),
        u8::from(res.tran.is_some())
    )
}

/// The message with digits, quoted text and locations removed: what kind of error it is.
fn shape(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or("");
    let mut out = String::new();
    let mut quoted = false;
    for c in first.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push('\'');
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out.chars().take(80).collect()
}

/// Small budgets so every input finishes in milliseconds to seconds.
fn small_budgets() {
    neurospice::budget::set(neurospice::budget::Budgets {
        dc_points: 2_000,
        elements: 5_000,
        time_points: 20_000,
        control_steps: 100_000,
        work: 50_000_000,
    });
    // the fuzzer's limit is exact: it does not grow with what an input asks for
    neurospice::budget::set_work_scales(false);
}

fn worker() {
    small_budgets();
    std::panic::set_hook(Box::new(|_| {}));
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    loop {
        let mut len = [0u8; 4];
        if stdin.read_exact(&mut len).is_err() {
            return;
        }
        let mut data = vec![0u8; u32::from_le_bytes(len) as usize];
        if stdin.read_exact(&mut data).is_err() {
            return;
        }
        let answer = match std::panic::catch_unwind(|| target(&data)) {
            Ok(s) => s,
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                format!("PANIC {}", msg.replace('\n', " "))
            }
        };
        if writeln!(stdout, "{}", answer.replace('\n', " ")).is_err() || stdout.flush().is_err() {
            return;
        }
    }
}

/// Hostile cards and values: the shapes of input that broke simulators before.
const DICT: &[&str] = &[
    ".tran 1n 1e30",
    ".tran 1n 10u",
    ".tran 1p 1m 0 1p",
    ".dc v1 0 1 1e-12",
    ".dc v1 0 1 0.1 v2 0 1 0.1",
    ".dc temp -50 150 10",
    ".op",
    ".param a=1",
    ".param b={a*2+1}",
    ".param c={b+a/0}",
    ".param d={c?a:b}",
    ".ic v(out)=1",
    ".options reltol=1e-9 method=gear",
    ".meas tran tm when v(out)=0.5 rise=1",
    ".meas tran avg avg v(out) from=0 to=1u",
    ".meas dc x find v(out) at=0.5",
    ".subckt sub a b\nr1 a b 1k\nc1 b 0 1p\n.ends",
    "x1 in out sub",
    "x2 out 0 sub",
    "v1 in 0 pwl(0 0 1n 1 2n 0 3n 1)",
    "v2 in 0 sin(0 1 1meg)",
    "v3 in 0 pulse(0 1 0 1n 1n 5n 10n)",
    "i1 0 out 1u",
    "r1 in out 1k",
    "r2 out 0 {a}",
    "c1 out 0 1p",
    "l1 out 0 1u",
    "d1 out 0 dmod",
    ".model dmod d is=1e-14",
    "b1 out 0 v={v(in)*2}",
    "b2 out 0 i={v(in)>0.5?1u:0}",
    "e1 out 0 in 0 10",
    "g1 out 0 in 0 1m",
    "f1 out 0 v1 2",
    "h1 out 0 v1 1k",
    "s1 out 0 in 0 sw",
    ".model sw sw vt=0.5 ron=1 roff=1e9",
    "m1 out in 0 0 nmos w=1u l=100n",
    ".model nmos nmos level=1",
    ".global vdd",
    ".end",
    "+ 1 2 3",
    "1e999",
    "-1e999",
    "1e-320",
    "0",
    "-0",
    "{1/0}",
    "{sqrt(-1)}",
    "\u{b5}",
    "\r",
    "'",
    "{",
    "(",
    ")",
    "=",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "1e999",
    "1e308",
    "1e-308",
    "1e-320",
    "1e30",
    "1e-30",
    "1meg",
    "1t",
    "2147483648",
    "-9e18",
    "1e18",
    ".",
    "1.5.5",
    "1e",
    "nan",
    "inf",
];

fn mutate(rng: &mut Rng, base: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut d = base.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        match rng.below(10) {
            // flip, insert, delete bytes
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(d.len() + 1);
                let b = rng.next() as u8;
                d.insert(i, b);
            }
            2 if !d.is_empty() => {
                let i = rng.below(d.len());
                let n = 1 + rng.below(16.min(d.len() - i));
                d.drain(i..i + n);
            }
            // a dictionary card as a new line
            3 | 4 => {
                let lines: Vec<&[u8]> = d.split(|&b| b == b'\n').collect();
                let at = rng.below(lines.len() + 1);
                let card = DICT[rng.below(DICT.len())].as_bytes();
                let mut out = Vec::with_capacity(d.len() + card.len() + 1);
                for (k, l) in lines.iter().enumerate() {
                    if k == at {
                        out.extend_from_slice(card);
                        out.push(b'\n');
                    }
                    out.extend_from_slice(l);
                    out.push(b'\n');
                }
                if at == lines.len() {
                    out.extend_from_slice(card);
                }
                d = out;
            }
            // replace a number-looking word with an extreme one
            5 | 6 => {
                let starts: Vec<usize> = (0..d.len())
                    .filter(|&i| {
                        d[i].is_ascii_digit() && (i == 0 || !d[i - 1].is_ascii_alphanumeric())
                    })
                    .collect();
                if !starts.is_empty() {
                    let s = starts[rng.below(starts.len())];
                    let mut e = s;
                    while e < d.len() && (d[e].is_ascii_alphanumeric() || d[e] == b'.') {
                        e += 1;
                    }
                    let n = NUMBERS[rng.below(NUMBERS.len())].as_bytes();
                    d.splice(s..e, n.iter().copied());
                }
            }
            // splice lines of another corpus file
            7 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let lines: Vec<&[u8]> = other.split(|&b| b == b'\n').collect();
                let a = rng.below(lines.len());
                let b = (a + 1 + rng.below(8)).min(lines.len());
                let at = rng.below(d.len() + 1);
                let mut chunk = Vec::new();
                for l in &lines[a..b] {
                    chunk.extend_from_slice(l);
                    chunk.push(b'\n');
                }
                d.splice(at..at, chunk);
            }
            // duplicate a line many times (chains, long expressions)
            8 if !d.is_empty() => {
                let lines: Vec<&[u8]> = d.split(|&b| b == b'\n').collect();
                let l = lines[rng.below(lines.len())].to_vec();
                let times = 1 + rng.below(200);
                for _ in 0..times {
                    d.extend_from_slice(b"\n");
                    d.extend_from_slice(&l);
                }
            }
            _ => {
                // swap two lines
                let mut lines: Vec<Vec<u8>> =
                    d.split(|&b| b == b'\n').map(|l| l.to_vec()).collect();
                if lines.len() > 2 {
                    let a = 1 + rng.below(lines.len() - 1);
                    let b = 1 + rng.below(lines.len() - 1);
                    lines.swap(a, b);
                }
                d = lines.join(&b'\n');
            }
        }
    }
    d.truncate(MAX_INPUT);
    d
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<String>,
}

fn spawn_worker() -> Worker {
    let exe = std::env::current_exe().expect("own path");
    // 2 GB of address space: an input that wants more dies here rather than the machine
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 2000000; exec '{}' worker",
            exe.display()
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn worker");
    let stdin = child.stdin.take().expect("worker stdin");
    let stdout = child.stdout.take().expect("worker stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(l) = line else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    Worker {
        child,
        stdin,
        answers: rx,
    }
}

fn hash(d: &[u8]) -> String {
    // FNV-1a, 64 bit, twice with different offsets: a file name, not a security property
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for &b in d {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        h2 = (h2 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("{h1:016x}{h2:016x}")
}

fn run(corpus_dir: &Path, crash_dir: &Path, seconds: u64, seed: u64) {
    std::fs::create_dir_all(corpus_dir).expect("corpus folder");
    std::fs::create_dir_all(crash_dir).expect("crash folder");
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(corpus_dir)
        .expect("read corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for p in names {
        if let Ok(d) = std::fs::read(&p) {
            corpus.push(d);
        }
    }
    if corpus.is_empty() {
        corpus.push(b"title\nv1 in 0 1\nr1 in 0 1k\n.op\n".to_vec());
    }
    let start_size = corpus.len();
    let mut rng = Rng(seed | 1);
    let mut seen: HashSet<String> = HashSet::new();
    let mut w = spawn_worker();
    let t0 = Instant::now();
    let (mut execs, mut crashes, mut hangs, mut added) = (0u64, 0u64, 0u64, 0u64);
    let mut last_report = Instant::now();
    let mut k = 0usize;
    while t0.elapsed().as_secs() < seconds {
        // the existing corpus first as it is (its answers seed `seen`), then mutants
        let input = if k < corpus.len() && execs < start_size as u64 {
            k += 1;
            corpus[k - 1].clone()
        } else {
            let base = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &base, &corpus)
        };
        let sent = w
            .stdin
            .write_all(&(input.len() as u32).to_le_bytes())
            .and_then(|_| w.stdin.write_all(&input))
            .and_then(|_| w.stdin.flush());
        execs += 1;
        let answer = if sent.is_err() {
            Err(false)
        } else {
            match w.answers.recv_timeout(HANG) {
                Ok(a) => Ok(a),
                Err(mpsc::RecvTimeoutError::Timeout) => Err(true),
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(false),
            }
        };
        match answer {
            Ok(a) if a.starts_with("PANIC") => {
                crashes += 1;
                let p = crash_dir.join(format!("panic-{}", hash(&input)));
                let _ = std::fs::write(&p, &input);
                eprintln!("panic: {a} -> {}", p.display());
            }
            Ok(a) => {
                if seen.insert(a) && execs > start_size as u64 {
                    added += 1;
                    let _ = std::fs::write(corpus_dir.join(hash(&input)), &input);
                    corpus.push(input);
                }
            }
            Err(hang) => {
                let what = if hang { "hang" } else { "crash" };
                if hang {
                    hangs += 1;
                } else {
                    crashes += 1;
                }
                let p = crash_dir.join(format!("{what}-{}", hash(&input)));
                let _ = std::fs::write(&p, &input);
                eprintln!("{what} -> {}", p.display());
                let _ = w.child.kill();
                let _ = w.child.wait();
                w = spawn_worker();
            }
        }
        if last_report.elapsed().as_secs() >= 60 {
            last_report = Instant::now();
            eprintln!(
                "#{execs} {}s corpus {} (+{added}) crashes {crashes} hangs {hangs} shapes {}",
                t0.elapsed().as_secs(),
                corpus.len(),
                seen.len()
            );
        }
    }
    let _ = w.child.kill();
    let _ = w.child.wait();
    println!(
        "done: {execs} execs in {}s, corpus {} -> {} (+{added}), crashes {crashes}, hangs {hangs}, distinct outcomes {}",
        t0.elapsed().as_secs(),
        start_size,
        corpus.len(),
        seen.len()
    );
}

/// Keeps, per coarse outcome (the stage and the first words of the error), the smallest input
/// of `from` and copies it to `to`: the corpus committed to the repository.
fn cmin(from: &Path, to: &Path) {
    small_budgets();
    std::panic::set_hook(Box::new(|_| {}));
    std::fs::create_dir_all(to).expect("output folder");
    let mut best: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    for e in std::fs::read_dir(from).expect("corpus") {
        let Ok(d) = std::fs::read(e.expect("entry").path()) else {
            continue;
        };
        let Ok(answer) = std::panic::catch_unwind(|| target(&d)) else {
            continue;
        };
        let coarse: String = answer
            .split_whitespace()
            .take(5)
            .collect::<Vec<_>>()
            .join(" ");
        let slot = best.entry(coarse).or_default();
        if slot.is_empty() || d.len() < slot.len() {
            *slot = d;
        }
    }
    for d in best.values() {
        let _ = std::fs::write(to.join(hash(d)), d);
    }
    println!("{} inputs kept", best.len());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("worker") => worker(),
        Some("one") if args.len() == 3 => {
            small_budgets();
            let data = std::fs::read(&args[2]).expect("read input");
            println!("{}", target(&data));
        }
        Some("cmin") if args.len() == 4 => cmin(Path::new(&args[2]), Path::new(&args[3])),
        Some("run") if args.len() >= 5 => {
            let seconds = args[4].parse().expect("SECONDS");
            let seed = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1);
            run(Path::new(&args[2]), Path::new(&args[3]), seconds, seed);
        }
        _ => {
            eprintln!(
                "usage: fuzz_drive run CORPUS CRASHES SECONDS [SEED] | one FILE | cmin FROM TO"
            );
            std::process::exit(2);
        }
    }
}
