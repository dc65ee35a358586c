//! A fuzzer for every input that is not a netlist: IDX and CSV data (plain and gzip), model
//! JSON (binary and K-bit), CapMin designs, neuron files (LUT, confusion, characterisation,
//! sense amplifier), Monte Carlo study folders (runs, sidecars, shards) and the files `plot`
//! reads (docs/fuzzing.md). It drives the real binary, one process per input, so an abort, a
//! stack overflow or an out-of-memory kill is seen exactly as a user would see it.
//!
//! The targets are listed in `fuzz/files/targets.txt` (a file the replay test reads too): a
//! valid file from `fuzz/files/base/`, the files beside it, and the command that reads it.
//!
//! `fuzz_files run BIN SECONDS [SEED]` mutates the targets' files and the corpus
//! (`fuzz/corpus/files/<target>/`): truncation, bit flips, spans deleted or repeated, header
//! counts of IDX files replaced by huge or zero values, numbers replaced by NaN, infinities,
//! giant or negative values, JSON values replaced by deep nesting or other types, lines
//! deleted, repeated or swapped, encodings broken. An input whose outcome (exit code and the
//! shape of the first error line) was not seen before for its target joins the corpus. An
//! input that panics, dies of a signal, exits with an unknown code, or runs longer than 20 s
//! is written to `fuzz/crashes-files/`. Inputs accepted (exit 0) although a number was made
//! non-finite are counted per target, to be reviewed: that may be a silently wrong result.
//!
//! `fuzz_files replay BIN DIR` runs every file of DIR (`<target>/<file>` or
//! `<target>--<name>`) once and prints its outcome.
#[path = "fuzz_util/mod.rs"]
mod fuzz_util;
use fuzz_util::Rng;
use std::collections::{HashMap, HashSet};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run slower than this is a hang.
const HANG: Duration = Duration::from_secs(20);
/// Address space of one run (4 GB): an input that needs more is an out-of-memory finding.
const MEMORY: u64 = 4 << 30;
/// Largest mutated file.
const MAX_INPUT: usize = 4 << 20;
/// Where every run happens: the Monte Carlo sidecars of base/ name files here.
pub const SCRATCH: &str = "/tmp/neurospice-fuzz-files";

struct Target {
    name: String,
    file: String,
    copies: Vec<String>,
    args: Vec<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn targets() -> Vec<Target> {
    let text = std::fs::read_to_string(root().join("fuzz/files/targets.txt"))
        .unwrap_or_else(|e| panic!("fuzz/files/targets.txt: {e}"));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (head, args) = line
            .split_once(" -- ")
            .unwrap_or_else(|| panic!("targets.txt: no ` -- ` in {line}"));
        let mut words = head.split_whitespace().map(String::from);
        let name = words.next().expect("a name");
        let file = words.next().expect("a file");
        out.push(Target {
            name,
            file,
            copies: words.collect(),
            args: args.split_whitespace().map(String::from).collect(),
        });
    }
    out
}

/// How one run ended.
struct Outcome {
    code: Option<i32>,
    hang: bool,
    stderr: String,
    elapsed: Duration,
}

impl Outcome {
    /// A result or a clear error, in time.
    fn fine(&self) -> bool {
        !self.hang && matches!(self.code, Some(0..=4)) && !self.stderr.contains("panicked")
    }
    /// Exit code and the first error line without digits or quoted names.
    fn shape(&self) -> String {
        if self.hang {
            return "HANG".into();
        }
        let first = self
            .stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("");
        let mut s = String::new();
        let mut quoted = false;
        for c in first.chars() {
            match c {
                '\'' | '`' => {
                    quoted = !quoted;
                    s.push('\'');
                }
                _ if quoted => {}
                c if c.is_ascii_digit() => {}
                c => s.push(c),
            }
        }
        format!("{:?}:{}", self.code, s.chars().take(90).collect::<String>())
    }
}

/// Runs `target` with `data` as its file, in the scratch folder.
fn run_one(bin: &Path, base: &Path, t: &Target, data: &[u8]) -> Outcome {
    let dir = Path::new(SCRATCH);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch folder");
    for c in &t.copies {
        std::fs::copy(base.join(c), dir.join(c)).unwrap_or_else(|e| panic!("base/{c}: {e}"));
    }
    std::fs::write(dir.join(&t.file), data).expect("write input");
    let err = dir.join(".stderr");
    let mut cmd = Command::new(bin);
    cmd.args(&t.args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: MEMORY,
                rlim_max: MEMORY,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn neurospice");
    let mut hang = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            hang = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let stderr = std::fs::read(&err)
        .map(|b| String::from_utf8_lossy(&b[..b.len().min(8192)]).into_owned())
        .unwrap_or_default();
    Outcome {
        code: status.and_then(|s| s.code()),
        hang,
        stderr,
        elapsed,
    }
}

/// Values that broke readers before: non-finite, huge, negative, empty, other types.
const VALUES: &[&str] = &[
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e999",
    "-1e999",
    "1e308",
    "-1e308",
    "1e-320",
    "0",
    "-0",
    "-1",
    "255",
    "256",
    "65536",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "99999999999999999999999999",
    "0.5",
    "1.5",
    "",
    "null",
    "true",
    "\"x\"",
    "[]",
    "{}",
    "[1,2,3]",
    "\"\"",
    "x",
    "ok",
    "failed",
    "label",
    "\u{feff}",
    "\"a\"\"b\"",
    "\"unterminated",
];

/// Values that make a number non-finite: an input accepted with one of these is reviewed.
const NONFINITE: &[&str] = &["NaN", "nan", "inf", "-inf", "Infinity", "1e999", "-1e999"];

/// Positions and lengths of number-like tokens.
fn numbers(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c.is_ascii_digit() || (c == b'-' && data.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let s = i;
            i += 1;
            while i < data.len()
                && (data[i].is_ascii_digit() || matches!(data[i], b'.' | b'e' | b'E' | b'-' | b'+'))
            {
                i += 1;
            }
            out.push((s, i - s));
        } else {
            i += 1;
        }
    }
    out
}

fn lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// One mutation; the name says which, for the statistics.
fn mutate(rng: &mut Rng, data: &[u8], other: &[u8]) -> (Vec<u8>, &'static str) {
    let mut d = data.to_vec();
    let n = d.len().max(1);
    let kind = match rng.below(16) {
        0 => {
            d.truncate(rng.below(n));
            "truncate"
        }
        1 => {
            for _ in 0..=rng.below(8) {
                if !d.is_empty() {
                    let i = rng.below(d.len());
                    d[i] ^= 1 << rng.below(8);
                }
            }
            "bitflip"
        }
        2 => {
            let s = rng.below(n);
            let e = (s + 1 + rng.below(64)).min(d.len());
            if s < e {
                d.drain(s..e);
            }
            "delete"
        }
        3 => {
            // a span repeated: oversized files, long lines, many columns or rows
            let s = rng.below(n);
            let e = (s + 1 + rng.below(4096)).min(d.len());
            if s < e {
                let span = d[s..e].to_vec();
                let most = if rng.below(4) == 0 { 2000 } else { 20 };
                let times = 1 + rng.below(most);
                let mut rep = Vec::with_capacity(span.len() * times);
                for _ in 0..times {
                    rep.extend_from_slice(&span);
                }
                d.splice(e..e, rep);
            }
            "repeat"
        }
        4 | 5 => {
            let nums = numbers(&d);
            if nums.is_empty() {
                return (d, "none");
            }
            let (s, l) = nums[rng.below(nums.len())];
            let v = VALUES[rng.below(VALUES.len())];
            d.splice(s..s + l, v.bytes());
            if NONFINITE.contains(&v) {
                "nonfinite"
            } else {
                "value"
            }
        }
        6 => {
            // every number the same extreme value
            let v = VALUES[rng.below(12)];
            let mut out = Vec::new();
            let mut last = 0;
            for (s, l) in numbers(&d) {
                if rng.below(4) == 0 {
                    out.extend_from_slice(&d[last..s]);
                    out.extend_from_slice(v.as_bytes());
                    last = s + l;
                }
            }
            out.extend_from_slice(&d[last..]);
            d = out;
            if NONFINITE.contains(&v) {
                "nonfinite"
            } else {
                "values"
            }
        }
        7 => {
            // a 4-byte big-endian header field (IDX: magic, count, rows, columns)
            let at = 4 * rng.below(4);
            let v: u32 = match rng.below(7) {
                0 => 0,
                1 => 1,
                2 => u32::MAX,
                3 => i32::MAX as u32,
                4 => 1 << 20,
                5 => 0x0000_0803,
                _ => rng.next() as u32,
            };
            if d.len() >= at + 4 {
                d[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            "header"
        }
        8 => {
            // deep nesting at a random place (JSON arrays or objects)
            let depth = [100, 1000, 100_000][rng.below(3)];
            let (half, s) = (rng.below(2) == 0, rng.below(n));
            let closed = rng.below(2) == 0;
            let (open, close) = if half { ("[", "]") } else { ("{\"a\":", "}") };
            let mut ins = open.repeat(depth);
            if closed {
                ins.push('1');
                ins.push_str(&close.repeat(depth));
            }
            d.splice(s..s, ins.bytes());
            "nesting"
        }
        9 => {
            let mut ls = lines(&d);
            if !ls.is_empty() {
                ls.remove(rng.below(ls.len()));
            }
            d = ls.concat();
            "line-delete"
        }
        10 => {
            let mut ls = lines(&d);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                let l = ls[i].clone();
                for _ in 0..1 + rng.below(50) {
                    ls.insert(i, l.clone());
                }
            }
            d = ls.concat();
            "line-repeat"
        }
        11 => {
            let mut ls = lines(&d);
            if ls.len() > 1 {
                let (a, b) = (rng.below(ls.len()), rng.below(ls.len()));
                ls.swap(a, b);
            }
            d = ls.concat();
            "line-swap"
        }
        12 => {
            let junk: &[&[u8]] = &[
                b"\r",
                b"\0",
                b"\xff\xfe",
                b"\xef\xbb\xbf",
                b"\xb5",
                b",",
                b";",
                b"\t",
                b"\"",
                b"\n\n",
                b"#",
            ];
            let j = junk[rng.below(junk.len())];
            let s = rng.below(n);
            d.splice(s..s, j.iter().copied());
            "junk"
        }
        13 => {
            // a span of another input of the same target spliced in
            if !other.is_empty() {
                let s = rng.below(other.len());
                let e = (s + 1 + rng.below(512)).min(other.len());
                let at = rng.below(n);
                d.splice(at..at, other[s..e].iter().copied());
            }
            "splice"
        }
        14 => {
            // a line's fields cut short or extended (wrong shapes)
            let mut ls = lines(&d);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                let l = &mut ls[i];
                if rng.below(2) == 0 {
                    if let Some(p) = l.iter().rposition(|&b| b == b',') {
                        l.truncate(p);
                        l.push(b'\n');
                    }
                } else {
                    let nl = l.last() == Some(&b'\n');
                    if nl {
                        l.pop();
                    }
                    l.extend_from_slice(b",0");
                    if nl {
                        l.push(b'\n');
                    }
                }
            }
            d = ls.concat();
            "shape"
        }
        _ => {
            d.clear();
            "empty"
        }
    };
    d.truncate(MAX_INPUT);
    (d, kind)
}

fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn fuzz(bin: &Path, seconds: u64, seed: u64) {
    let base = root().join("fuzz/files/base");
    let corpus_root = root().join("fuzz/corpus/files");
    let crashes = root().join("fuzz/crashes-files");
    std::fs::create_dir_all(&crashes).expect("crash folder");
    let ts = targets();
    let mut rng = Rng(seed.max(1));
    let mut corpus: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut seen: Vec<HashSet<String>> = Vec::new();
    for t in &ts {
        let mut files = vec![std::fs::read(base.join(&t.file)).expect("base file")];
        if let Ok(rd) = std::fs::read_dir(corpus_root.join(&t.name)) {
            for e in rd.flatten() {
                files.push(std::fs::read(e.path()).expect("corpus file"));
            }
        }
        corpus.push(files);
        seen.push(HashSet::new());
    }
    let start = Instant::now();
    let (mut execs, mut found, mut slowest) = (0u64, 0u64, (Duration::ZERO, String::new()));
    let mut accepted: HashMap<(String, &'static str), u64> = HashMap::new();
    while start.elapsed().as_secs() < seconds {
        let ti = rng.below(ts.len());
        let t = &ts[ti];
        let files = &corpus[ti];
        let from = &files[rng.below(files.len())];
        let other = &files[rng.below(files.len())];
        let (mut data, mut kind) = mutate(&mut rng, from, other);
        if rng.below(3) == 0 {
            let (d2, k2) = mutate(&mut rng, &data, other);
            data = d2;
            if k2 == "nonfinite" {
                kind = k2;
            }
        }
        let o = run_one(bin, &base, t, &data);
        execs += 1;
        if o.elapsed > slowest.0 {
            slowest = (o.elapsed, format!("{} ({kind})", t.name));
        }
        if o.code == Some(0) {
            *accepted.entry((t.name.clone(), kind)).or_default() += 1;
            if kind == "nonfinite" {
                let p = crashes.join(format!("review-{}--{:016x}", t.name, hash(&data)));
                let _ = std::fs::write(p, &data);
            }
        }
        if !o.fine() {
            found += 1;
            let why = if o.hang {
                "hang"
            } else if o.stderr.contains("panicked") {
                "panic"
            } else {
                "crash"
            };
            let p = crashes.join(format!("{why}-{}--{:016x}", t.name, hash(&data)));
            let _ = std::fs::write(&p, &data);
            eprintln!(
                "FOUND {why} {} code {:?}: {}",
                p.display(),
                o.code,
                o.stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
            );
        }
        let shape = o.shape();
        if seen[ti].insert(shape) {
            let dir = corpus_root.join(&t.name);
            std::fs::create_dir_all(&dir).expect("corpus folder");
            if data.len() <= 256 << 10 {
                let _ = std::fs::write(dir.join(format!("{:016x}", hash(&data))), &data);
            }
            corpus[ti].push(data);
        }
        if execs % 500 == 0 {
            eprintln!(
                "{execs} execs in {:.0} s, {found} findings, outcomes {}",
                start.elapsed().as_secs_f64(),
                seen.iter().map(HashSet::len).sum::<usize>()
            );
        }
    }
    println!(
        "{execs} execs in {:.0} s; {found} findings; {} distinct outcomes; slowest {:.2} s ({})",
        start.elapsed().as_secs_f64(),
        seen.iter().map(HashSet::len).sum::<usize>(),
        slowest.0.as_secs_f64(),
        slowest.1
    );
    let mut acc: Vec<_> = accepted.into_iter().collect();
    acc.sort();
    for ((t, k), n) in acc {
        println!("accepted {t} {k}: {n}");
    }
}

/// Runs every input of `dir` (named `<target>/<file>` or `<target>--<anything>`).
fn replay(bin: &Path, dir: &Path) {
    let base = root().join("fuzz/files/base");
    let ts = targets();
    let mut inputs = Vec::new();
    for e in std::fs::read_dir(dir).expect("replay folder").flatten() {
        let p = e.path();
        if p.is_dir() {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            for f in std::fs::read_dir(&p).expect("target folder").flatten() {
                inputs.push((name.clone(), f.path()));
            }
        } else {
            let n = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let name = n.split_once("--").map(|x| x.0).unwrap_or(&n);
            let name = name.split_once('-').map(|x| x.1).unwrap_or(name);
            inputs.push((name.to_string(), p));
        }
    }
    inputs.sort();
    let mut bad = 0;
    for (name, p) in inputs {
        let Some(t) = ts.iter().find(|t| t.name == name) else {
            println!("?? {}: no target {name}", p.display());
            continue;
        };
        let data = std::fs::read(&p).expect("input");
        let o = run_one(bin, &base, t, &data);
        if !o.fine() {
            bad += 1;
        }
        println!(
            "{} {:.2}s {} {}",
            if o.fine() { "ok " } else { "BAD" },
            o.elapsed.as_secs_f64(),
            p.display(),
            o.shape()
        );
    }
    println!("{bad} bad");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("run") if args.len() >= 4 => {
            let seed = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
            fuzz(Path::new(&args[2]), args[3].parse().expect("SECONDS"), seed);
        }
        Some("replay") if args.len() == 4 => replay(Path::new(&args[2]), Path::new(&args[3])),
        _ => {
            eprintln!("usage: fuzz_files run BIN SECONDS [SEED] | fuzz_files replay BIN DIR");
            std::process::exit(2);
        }
    }
}
