//! The control language against ngspice 39: every deck in tests/data/control runs through
//! neurospice's interpreter (no circuit analysis) and must print exactly what ngspice printed
//! (`<deck>.ngspice.out`, dates masked) and write the same files (`<deck>.ngspice/`). The
//! references come from scripts/regen_control_goldens.py.

use neurospice::control::{self, Interp, NoCircuit, Outcome};
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/control")
}

const DAYS: [&str; 7] = ["Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun "];

/// Replaces ngspice dates (`Sat Dec  5 14:55:05  2026`, `Sun Feb  5 13:44:35 UTC 2023`) by
/// `<date>`.
fn mask_dates(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split_inclusive('\n') {
        let mut l = line.to_string();
        if let Some(k) = DAYS.iter().filter_map(|d| l.find(d)).min() {
            let tail = &l[k..];
            // the year: the first run of four digits at least 15 characters on
            let bytes = tail.as_bytes();
            let end = (15..bytes.len().saturating_sub(3)).find(|&i| {
                bytes[i..i + 4].iter().all(u8::is_ascii_digit)
                    && bytes.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
            });
            if let Some(e) = end {
                l = format!("{}<date>{}", &l[..k], &tail[e + 4..]);
            }
        }
        out.push_str(&l);
    }
    out
}

struct Ran {
    out: String,
    result: neurospice::error::Result<Outcome>,
    dir: tempfile::TempDir,
}

fn run_text(text: &str, name: &str) -> Ran {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let result = control::compile_deck(text, name).and_then(|s| {
        let s = s.expect("the deck has a control block");
        let mut engine = NoCircuit;
        let mut it = Interp::new(&mut engine, Path::new(name), &control::date_now());
        it.set_dir(dir.path());
        it.run(&s, &mut out, &mut err)
    });
    Ran {
        out: String::from_utf8_lossy(&out).into_owned(),
        result,
        dir,
    }
}

/// Splits a line into words and the separators between them (kept, so layout is compared).
fn tokens(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let is_sep = |c: char| c.is_whitespace() || ",=()[]".contains(c);
    let mut in_sep = None;
    for (i, c) in line.char_indices() {
        let s = is_sep(c);
        if in_sep != Some(s) {
            if i > start {
                out.push(&line[start..i]);
            }
            start = i;
            in_sep = Some(s);
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// Two lines agree when their text and layout are the same and their numbers agree to
/// 2e-6 relative (ngspice prints 7 significant digits; both compute in double precision, so
/// only the rounding of the last printed digit may differ) or 1e-14 absolute (round-off
/// around zero, e.g. a derivative that is exactly 0 in one and 1e-17 in the other).
fn same_line(a: &str, b: &str) -> bool {
    same_line_tol(a, b, 2e-6, 1e-14)
}

fn same_line_tol(a: &str, b: &str, rel: f64, abs: f64) -> bool {
    let (ta, tb) = (tokens(a), tokens(b));
    if ta.len() != tb.len() {
        // a number printed as 0.000000e+00 in one and -1.38778e-17 in the other has the
        // same tokens; anything else is a layout difference
        return false;
    }
    ta.iter().zip(&tb).all(|(x, y)| {
        if x == y {
            return true;
        }
        match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => (p - q).abs() <= rel * p.abs().max(q.abs()) || (p - q).abs() <= abs,
            _ => false,
        }
    })
}

/// The first line where two texts differ, for messages (`None` if they agree).
fn first_diff(a: &str, b: &str) -> Option<String> {
    for (k, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if !same_line(x, y) {
            return Some(format!(
                "line {}:\n  ngspice:    {x:?}\n  neurospice: {y:?}",
                k + 1
            ));
        }
    }
    if a.lines().count() != b.lines().count() || a.ends_with('\n') != b.ends_with('\n') {
        return Some(format!(
            "lengths differ: ngspice {} lines, neurospice {} lines",
            a.lines().count(),
            b.lines().count()
        ));
    }
    None
}

fn same_raw(want: &[u8], got: &[u8]) -> Result<(), String> {
    let a = neurospice::io::raw::parse_raw("ngspice raw", want)
        .map_err(|e| format!("ngspice's raw: {e}"))?;
    let b = neurospice::io::raw::parse_raw("our raw", got).map_err(|e| format!("our raw: {e}"))?;
    if a.len() != b.len() {
        return Err(format!("{} plots, we wrote {}", a.len(), b.len()));
    }
    for (p, q) in a.iter().zip(&b) {
        if (&p.title, &p.plotname, &p.names, &p.types)
            != (&q.title, &q.plotname, &q.names, &q.types)
        {
            return Err(format!(
                "header: {:?} {:?} {:?} vs {:?} {:?} {:?}",
                p.plotname, p.names, p.types, q.plotname, q.names, q.types
            ));
        }
        for (r, s) in p.rows.iter().zip(&q.rows) {
            for (x, y) in r.iter().zip(s) {
                if (x - y).abs() > 1e-14 * x.abs().max(y.abs()) {
                    return Err(format!("value {x:e} vs {y:e}"));
                }
            }
        }
        if p.rows.len() != q.rows.len() {
            return Err(format!("{} points vs {}", p.rows.len(), q.rows.len()));
        }
    }
    Ok(())
}

#[test]
fn decks_print_what_ngspice_prints() {
    let mut decks: Vec<PathBuf> = std::fs::read_dir(data())
        .expect("tests/data/control")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cir"))
        .collect();
    decks.sort();
    assert!(
        decks.len() >= 8,
        "expected the control decks, found {}",
        decks.len()
    );
    let mut failures = Vec::new();
    for deck in &decks {
        let stem = deck.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        let golden = deck.with_extension("ngspice.out");
        let Ok(want) = std::fs::read(&golden) else {
            failures.push(format!("{stem}: no golden {}", golden.display()));
            continue;
        };
        let want = String::from_utf8_lossy(&want).into_owned();
        let text = std::fs::read_to_string(deck).expect("deck");
        let r = run_text(&text, &format!("{stem}.cir"));
        if let Err(e) = &r.result {
            failures.push(format!("{stem}: failed: {e}"));
            continue;
        }
        // `quit` ends ngspice with this line; neurospice does not claim to be ngspice
        let want = want.replace("ngspice-39 done\n", "");
        let (w, g) = (mask_dates(&want), mask_dates(&r.out));
        if let Some(d) = first_diff(&w, &g) {
            failures.push(format!("{stem}: stdout differs at {d}"));
        }
        let files = deck.with_extension("ngspice");
        if let Ok(rd) = std::fs::read_dir(&files) {
            for f in rd.filter_map(|e| e.ok()) {
                let name = f.file_name();
                let want = std::fs::read(f.path()).expect("golden file");
                let Ok(got) = std::fs::read(r.dir.path().join(&name)) else {
                    failures.push(format!("{stem}: did not write {}", name.to_string_lossy()));
                    continue;
                };
                let n = name.to_string_lossy();
                let (ws, gs) = (
                    mask_dates(&String::from_utf8_lossy(&want)),
                    mask_dates(&String::from_utf8_lossy(&got)),
                );
                let ok = if n.ends_with(".raw") {
                    same_raw(&want, &got)
                } else {
                    first_diff(&ws, &gs).map_or(Ok(()), Err)
                };
                if let Err(e) = ok {
                    failures.push(format!("{stem}: file {n}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn run_body(body: &str) -> Ran {
    run_text(
        &format!("errors\nV1 a 0 1\nR1 a 0 1k\n.control\n{body}\n.endc\n.end\n"),
        "e.cir",
    )
}

/// Every failure names the deck and the line, and stops the block.
#[test]
fn errors_name_the_deck_and_line() {
    let cases = [
        ("echo a\nshell ls\necho b", 6, "shell"),
        ("echo a\nsource other.cir", 6, "source"),
        ("cd /tmp", 5, "cd"),
        ("load x.raw", 5, "load"),
        ("frobnicate 1 2", 5, "frobnicate"),
        ("let x = nosuchvector + 1", 5, "nosuchvector"),
        ("print sum", 5, "sum"),
        ("echo $nosuch", 5, "nosuch"),
        ("let x = 1 +", 5, "expected a value"),
        ("let x = (1", 5, "')'"),
        ("let x = 1/0", 5, "division by zero"),
        ("let x = vector(3)\nlet x[7] = 1", 6, "index 7"),
        ("if 1\necho", 5, "no 'end'"),
        ("end", 5, "end without"),
        ("let a = 5\nprint a[0]", 6, "scalar"),
        ("tran 1n 10n", 5, "no circuit"),
        ("setplot tran9", 5, "tran9"),
        (
            "set specwindow = bogus\nlet x = fft(vector(4))",
            6,
            "unknown window type bogus",
        ),
        ("let x = undefinedfn(1, 2)", 5, "undefinedfn"),
        ("repeat -2\necho\nend", 5, "repeat"),
        ("echo a\nlinearize", 6, "no transient analysis"),
        ("fft yes", 5, "real time scale"),
        ("spec 0 1k 100 yes", 5, "real time scale"),
        ("fourier 0 yes", 5, "bad fundamental frequency"),
        ("set polydegree = 30\nfourier 1k yes", 6, "polydegree 30"),
        ("fourier", 5, "fourier needs a fundamental"),
        (
            "set fourgridsize = 1e15\nfourier 1k yes",
            6,
            "exceed the limit",
        ),
    ];
    for (body, line, what) in cases {
        let r = run_body(body);
        let e = match r.result {
            Err(e) => e,
            Ok(_) => panic!("{body:?} should fail"),
        };
        let loc = e.loc.as_ref().expect("a location");
        assert_eq!(&*loc.file, "e.cir", "{body:?}");
        assert_eq!(loc.line, line, "{body:?}: {e}");
        assert!(e.to_string().contains(what), "{body:?}: {e}");
        assert!(
            !r.out.contains('b') || !body.contains("echo b"),
            "ran past the error"
        );
    }
}

/// Input controls neither recursion depth nor the stack: deep blocks and long expressions
/// run, deep expression nesting is a clear error.
#[test]
fn deep_input_is_handled() {
    let n = 5000;
    let body = format!("{}echo deep\n{}", "if 1\n".repeat(n), "end\n".repeat(n));
    let r = run_body(&body);
    assert_eq!(r.out, "deep\n");
    let long = vec!["1"; 50_000].join(" + ");
    let r = run_body(&format!("let x = {long}\necho $&x"));
    assert_eq!(r.out, "50000\n");
    let deep = format!("let x = {}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let e = run_body(&deep).result.unwrap_err();
    assert!(e.msg.contains("deeper"), "{e}");
    let r = run_body("define f(x) f(x)+1\nlet y = f(1)");
    assert!(r.result.unwrap_err().msg.contains("deeper"));
}

/// Random functions: reproducible for a seed, with the right distributions.
#[test]
fn random_functions_follow_their_distributions() {
    let r = run_body(
        "setseed 7\nlet g = sgauss(vector(20000))\nlet u = sunif(vector(20000))\n\
         let m = mean(g)\nlet s = stddev(g)\nlet um = mean(u)\nlet umax = vecmax(abs(u))\n\
         let r = rnd(vector(2000) * 0 + 10)\nlet rmax = vecmax(r)\nlet rmin = vecmin(r)\n\
         echo $&m $&s $&um $&umax $&rmax $&rmin\nsetseed 7\nlet g2 = sgauss(vector(20000))\n\
         let same = vecmax(abs(g2 - g))\necho $&same",
    );
    let out = r.out;
    let lines: Vec<&str> = out.lines().collect();
    let v: Vec<f64> = lines[0]
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    // 20000 standard normal draws: mean within 4 sigma/sqrt(n), sd within 2 %
    assert!(v[0].abs() < 4.0 / 20000f64.sqrt(), "mean {}", v[0]);
    assert!((v[1] - 1.0).abs() < 0.02, "sd {}", v[1]);
    assert!(v[2].abs() < 4.0 * (1.0f64 / 3.0).sqrt() / 20000f64.sqrt());
    assert!(v[3] <= 1.0);
    assert_eq!((v[4], v[5]), (9.0, 0.0));
    assert_eq!(lines[1], "0");
}

/// The interpreter driving today's engine (the adapter over the netlist and analysis
/// modules): analyses, `alter`, `altermod`, `reset`, `meas` and loops, with results written
/// to files and compared with ngspice's within the tolerance each deck states (`* tol=...`
/// and optionally `abs=...` on its first line: the engines differ in step control and
/// Newton stopping, not in the language).
#[test]
fn engine_decks_agree_with_ngspice() {
    let dir = data().join("engine");
    let mut decks: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/control/engine")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cir"))
        .collect();
    decks.sort();
    assert!(decks.len() >= 3);
    let mut failures = Vec::new();
    for deck in &decks {
        let stem = deck.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        let text = std::fs::read_to_string(deck).expect("deck");
        let tol: f64 = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("tol=")))
            .and_then(|t| t.parse().ok())
            .expect("the deck states its tolerance on line 1");
        let abs: f64 = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("abs=")))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0);
        let name = deck.display().to_string();
        let nl = neurospice::netlist::lexer::lex_str(&text, &name)
            .and_then(|l| neurospice::netlist::Netlist::parse(&l))
            .expect("netlist");
        let mut engine = control::adapter::NetlistEngine::new(nl);
        let tmp = tempfile::tempdir().expect("temp dir");
        // files a deck reads (`altermod ... file=`) are stored as <deck>.aux.<name>
        let aux = format!("{stem}.aux.");
        for f in std::fs::read_dir(&dir)
            .expect("engine dir")
            .filter_map(|e| e.ok())
        {
            let n = f.file_name().to_string_lossy().into_owned();
            if let Some(rest) = n.strip_prefix(&aux) {
                std::fs::copy(f.path(), tmp.path().join(rest)).expect("copy aux file");
            }
        }
        let script = control::compile_deck(&text, &name)
            .expect("control block")
            .expect("a control block");
        let mut it = Interp::new(&mut engine, deck, &control::date_now());
        it.set_dir(tmp.path());
        if let Err(e) = it.run(&script, &mut std::io::sink(), &mut std::io::sink()) {
            failures.push(format!("{stem}: {e}"));
            continue;
        }
        let golden = deck.with_extension("ngspice");
        for f in std::fs::read_dir(&golden)
            .expect("golden files")
            .filter_map(|e| e.ok())
        {
            let want = mask_dates(&std::fs::read_to_string(f.path()).expect("golden"));
            let got = mask_dates(
                &std::fs::read_to_string(tmp.path().join(f.file_name())).unwrap_or_default(),
            );
            let bad = want.lines().count() != got.lines().count()
                || want
                    .lines()
                    .zip(got.lines())
                    .any(|(a, b)| !same_line_tol(a, b, tol, abs));
            if bad {
                failures.push(format!(
                    "{stem}: {} differs beyond {tol}:\n--- ngspice\n{want}--- neurospice\n{got}",
                    f.file_name().to_string_lossy()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `plot`, `gnuplot` and `hardcopy` draw SVG files (named on stderr) that parse as XML and
/// hold one polyline per vector.
#[test]
fn plots_are_drawn_to_svg() {
    let r = run_body(
        "set curplot = new\nlet t = vector(50) * 1e-6\nlet y = sin(t * 1e5)\nlet z = y * y\n\
         plot y z title 'sines' xlabel time\ngnuplot g y vs z\nhardcopy h.ps z xlimit 0 2e-5",
    );
    r.result.as_ref().expect("plots");
    for f in ["e_plot1.svg", "g.svg", "h.svg"] {
        let text = std::fs::read_to_string(r.dir.path().join(f)).expect(f);
        let doc = roxmltree::Document::parse(&text).expect("svg parses");
        let lines = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("path"))
            .count();
        assert!(lines >= 1, "{f}: no lines drawn");
    }
    let e = run_body("plot nosuchvector").result.unwrap_err();
    assert!(e.msg.contains("nosuchvector"));
}

/// Byte-mutated control blocks end in a result or an error, never a panic or a hang.
#[test]
fn mutated_blocks_never_panic() {
    let mut texts = Vec::new();
    for e in std::fs::read_dir(data())
        .expect("data")
        .filter_map(|e| e.ok())
    {
        if e.path().extension().is_some_and(|x| x == "cir") {
            texts.push(std::fs::read(e.path()).expect("deck"));
        }
    }
    let alphabet = b"(){}[]$&<>;,=+-*/^%?:~\"'`0123456789.emuxvi endwhileforeach \n@#";
    let mut seed: u64 = 0x1234_5678;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for text in &texts {
        for _ in 0..60 {
            let mut t = text.clone();
            for _ in 0..(1 + next() % 4) {
                let k = (next() as usize) % t.len();
                match next() % 3 {
                    0 => t[k] = alphabet[(next() as usize) % alphabet.len()],
                    1 => {
                        t.remove(k);
                    }
                    _ => t.insert(k, alphabet[(next() as usize) % alphabet.len()]),
                }
            }
            let text = String::from_utf8_lossy(&t).into_owned();
            let dir = tempfile::tempdir().expect("temp dir");
            let r = std::panic::catch_unwind(|| {
                let Ok(Some(s)) = control::compile_deck(&text, "m.cir") else {
                    return;
                };
                let mut engine = NoCircuit;
                let mut it = Interp::new(&mut engine, Path::new("m.cir"), "d");
                it.set_dir(dir.path());
                it.set_step_limit(200_000);
                let _ = it.run(&s, &mut std::io::sink(), &mut std::io::sink());
            });
            assert!(r.is_ok(), "panic on:\n{text}");
        }
    }
}

/// `neurospice run` on a deck with a block prints the circuit's elaboration warnings (here a
/// diode model parameter ngspice ignores) once, however often the block re-elaborates, and
/// not the netlist-path warnings about the block itself; `--quiet` drops them.
#[test]
fn run_prints_elaboration_warnings_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("w.cir");
    std::fs::write(
        &deck,
        "warn\nv1 in 0 1\nr1 in out 1k\nd1 out 0 dm\n.model dm d (is=1e-14 ron=3)\n\
         .control\nop\nalter r1 = 2k\nop\nprint v(out)\n.endc\n.end\n",
    )
    .expect("write deck");
    let bin = env!("CARGO_BIN_EXE_neurospice");
    let run = |quiet: bool| {
        let mut c = std::process::Command::new(bin);
        c.arg("run").arg(&deck).current_dir(dir.path());
        if quiet {
            c.arg("-q");
        }
        c.output().expect("run neurospice")
    };
    let o = run(false);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("unrecognized parameter (ron)").count(),
        1,
        "{err}"
    );
    assert!(!err.contains(".control block skipped"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("v(out) = "));
    let q = run(true);
    assert!(q.status.success());
    assert!(
        q.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&q.stderr)
    );
}

/// A deck without a block but with `.ac` (ngspice's tests/general/rca3040.cir) and `-o`:
/// the dot-card path writes its `.dc`/`.tran` results and says the `.ac` ones are not in the
/// file, instead of claiming the deck has a `.control` block.
#[test]
fn ac_deck_with_output_flag_takes_the_dot_card_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deck = dir.path().join("a.cir");
    std::fs::write(
        &deck,
        "ac and tran\nv1 in 0 dc 0 ac 1 sin(0 1 1k)\nr1 in out 1k\nc1 out 0 1u\n\
         .ac dec 5 10 10k\n.tran 10u 1m\n.end\n",
    )
    .expect("write deck");
    let out = dir.path().join("o.csv");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_neurospice"))
        .arg("run")
        .arg(&deck)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run neurospice");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("has a .control block"), "{err}");
    assert!(err.contains(".ac results"), "{err}");
    let csv = std::fs::read_to_string(&out).expect("the csv");
    assert!(csv.lines().count() > 10);
}
