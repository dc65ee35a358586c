//! The ngspice conformance suite (issue 14): every deck `tests/conformance/<deck>.cir` is run
//! as `neurospice run <deck>` in a fresh temporary directory, exactly as
//! `scripts/regen_conformance.py` ran `ngspice -b <deck>` to make the references in
//! `tests/conformance/golden/<deck>/`. What the deck printed (stdout) and wrote (the files its
//! manifest declares) is parsed in ngspice's layout and compared with ngspice's, with the
//! tolerances the deck's manifest states. docs/conformance.md describes the rules; the
//! Python script implements the same ones for its `--check` mode.
//!
//! `tests/conformance/PENDING` lists the decks that are not expected to pass yet, each with a
//! reason. The suite fails if a deck outside that list fails, and also if a deck on the list
//! passes (so the list can only shrink and never hides a regression).
//!
//! Environment:
//! - `CONFORMANCE=deck1,deck2` runs only those decks;
//! - `CONFORMANCE_VERBOSE=1` prints the full report of pending decks too;
//! - `NEUROSPICE_BIN` tests another build (see tests/common).

mod common;

use common::{root, run_neurospice};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// Only turns a hang into a failure; far above any plausible run time.
const HANG_GUARD: Duration = Duration::from_secs(1800);
const DEFAULT_WINDOW: f64 = 2e-4;

fn suite_dir() -> PathBuf {
    root().join("tests").join("conformance")
}

fn golden_dir() -> PathBuf {
    suite_dir().join("golden")
}

// ---------------------------------------------------------------------------------------
// Manifest

#[derive(Debug, Clone)]
struct Tol {
    pattern: String,
    rel: f64,
    abs: f64,
}

#[derive(Debug, Clone)]
struct Manifest {
    /// Declared output files and whether their first column is time.
    files: Vec<(String, bool)>,
    tols: Vec<Tol>,
    window: f64,
    exit: i32,
    count_only: Vec<String>,
}

/// Built-in defaults after the deck's own `*@ tol` lines: 0.1 % relative; absolute floors of
/// ngspice's VNTOL (1 uV) for voltages and ABSTOL (1 pA) for everything else.
fn default_tols() -> Vec<Tol> {
    let mut t: Vec<Tol> = ["v(*", "vdb(*", "vp(*", "vm(*", "vr(*", "vi(*"]
        .iter()
        .map(|p| Tol {
            pattern: (*p).to_string(),
            rel: 1e-3,
            abs: 1e-6,
        })
        .collect();
    t.push(Tol {
        pattern: "*".to_string(),
        rel: 1e-3,
        abs: 1e-12,
    });
    t
}

impl Manifest {
    fn tol(&self, name: &str) -> Tol {
        let n = name.to_ascii_lowercase();
        self.tols
            .iter()
            .cloned()
            .chain(default_tols())
            .find(|t| glob_match(&t.pattern.to_ascii_lowercase(), &n))
            .expect("the default tolerances end with '*'")
    }

    fn is_count_only(&self, name: &str) -> bool {
        let n = name.to_ascii_lowercase();
        self.count_only
            .iter()
            .any(|p| glob_match(&p.to_ascii_lowercase(), &n))
    }
}

fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let mut m = Manifest {
        files: Vec::new(),
        tols: Vec::new(),
        window: DEFAULT_WINDOW,
        exit: 0,
        count_only: Vec::new(),
    };
    for (no, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("*@") else {
            continue;
        };
        let toks: Vec<&str> = rest.split_whitespace().collect();
        let Some((key, args)) = toks.split_first() else {
            continue;
        };
        let bad = |why: &str| format!("line {}: bad manifest line {line:?}: {why}", no + 1);
        match key.to_ascii_lowercase().as_str() {
            "file" => {
                let name = args.first().ok_or_else(|| bad("expected a file name"))?;
                let mut x_time = false;
                for a in &args[1..] {
                    if a.eq_ignore_ascii_case("x=time") {
                        x_time = true;
                    } else {
                        return Err(bad("expected `*@ file NAME [x=time]`"));
                    }
                }
                m.files.push(((*name).to_string(), x_time));
            }
            "tol" => {
                let pattern = args.first().ok_or_else(|| bad("expected a pattern"))?;
                let mut rel = None;
                let mut abs = None;
                for a in &args[1..] {
                    let (k, v) = a.split_once('=').ok_or_else(|| bad("expected k=v"))?;
                    let v: f64 = v.parse().map_err(|_| bad("not a number"))?;
                    match k {
                        "rel" => rel = Some(v),
                        "abs" => abs = Some(v),
                        _ => return Err(bad("expected rel= and abs=")),
                    }
                }
                m.tols.push(Tol {
                    pattern: (*pattern).to_string(),
                    rel: rel.ok_or_else(|| bad("missing rel="))?,
                    abs: abs.ok_or_else(|| bad("missing abs="))?,
                });
            }
            "window" => {
                m.window = args
                    .first()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| bad("expected a number"))?;
            }
            "exit" => {
                m.exit = args
                    .first()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| bad("expected an exit code"))?;
            }
            "count-only" => {
                if args.is_empty() {
                    return Err(bad("expected patterns"));
                }
                m.count_only.extend(args.iter().map(|a| (*a).to_string()));
            }
            "why" => {}
            _ => return Err(bad("unknown key")),
        }
    }
    Ok(m)
}

/// Shell-style glob with `*` and `?` (no character classes), as Python's fnmatch uses them.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

// ---------------------------------------------------------------------------------------
// Numbers

/// Matches `[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?` at the start of `s`; returns its length.
fn number_len(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if digits(&mut i) > 0 {
        if i < s.len() && s[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    } else if i < s.len() && s[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
    } else {
        return None;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut j = i + 1;
        if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
            j += 1;
        }
        if digits(&mut j) > 0 {
            i = j;
        }
    }
    Some(i)
}

/// A number occupying all of `s`.
fn full_number(s: &str) -> Option<f64> {
    let n = number_len(s.as_bytes())?;
    if n == s.len() { s.parse().ok() } else { None }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Real(f64),
    Complex(f64, f64),
}

impl Value {
    fn mag(self) -> f64 {
        match self {
            Value::Real(x) => x.abs(),
            Value::Complex(a, b) => a.hypot(b),
        }
    }
    fn parts(self) -> (f64, f64) {
        match self {
            Value::Real(x) => (x, 0.0),
            Value::Complex(a, b) => (a, b),
        }
    }
    fn dist(self, other: Value) -> f64 {
        let (a, b) = self.parts();
        let (c, d) = other.parts();
        if matches!((self, other), (Value::Real(_), Value::Real(_))) {
            (a - c).abs()
        } else {
            (a - c).hypot(b - d)
        }
    }
    fn scaled(self, k: f64, add: f64) -> Value {
        match self {
            Value::Real(x) => Value::Real(x * k + add),
            Value::Complex(a, b) => Value::Complex(a * k + add, b * k + add),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Real(x) => write!(f, "{x:.7e}"),
            Value::Complex(a, b) => write!(f, "({a:.7e},{b:.7e})"),
        }
    }
}

fn parse_value(tok: &str) -> Option<Value> {
    match tok.split_once(',') {
        Some((a, b)) => Some(Value::Complex(
            a.trim().parse().ok()?,
            b.trim().parse().ok()?,
        )),
        None => Some(Value::Real(tok.parse().ok()?)),
    }
}

// ---------------------------------------------------------------------------------------
// stdout: noise filter and items

const NOISE_PREFIXES: &[&str] = &[
    "Note: ",
    "Warning: ",
    "warning: ",
    "Circuit: ",
    "Doing analysis at TEMP",
    "No. of Data Rows : ",
    "Total analysis time (seconds)",
    "Total elapsed time (seconds)",
    "Total DRAM available",
    "DRAM currently available",
    "Maximum ngspice program size",
    "Current ngspice program size",
    "Shared ngspice pages",
    "Text (code) pages",
    "Stack = ",
    "Library pages",
    "binary raw file \"",
    "ASCII raw file \"",
    "Reset re-loads circuit ",
    "Reducing trtol to ",
    "Using transient initial conditions",
];

const PLOT_NAMES: &[&str] = &[
    "Transient Analysis",
    "DC transfer characteristic",
    "AC Analysis",
    "Operating Point",
    "Noise Spectral Density Curves",
    "Integrated Noise",
    "Transfer Function",
];

fn is_dashes(line: &str) -> bool {
    let t = line.trim_end();
    t.len() >= 10 && t.bytes().all(|b| b == b'-')
}

fn is_noise(line: &str) -> bool {
    if line.trim().is_empty() || line.starts_with('\u{c}') || is_dashes(line) {
        return true;
    }
    if NOISE_PREFIXES.iter().any(|p| line.starts_with(p)) {
        return true;
    }
    let t = line.trim();
    if t.starts_with("Measurements for ") && t.ends_with("Analysis") {
        return true;
    }
    if let Some(rest) = t.strip_prefix("ngspice-")
        && let Some(num) = rest.strip_suffix(" done")
    {
        return !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit());
    }
    false
}

/// The second line of a print table's page header: a plot name, or ends with ngspice's date
/// ("Sat Dec  5 15:01:32  2026").
fn is_page_header(line: &str) -> bool {
    let t = line.trim();
    if PLOT_NAMES.iter().any(|p| {
        t.starts_with(p) && !t[p.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    }) {
        return true;
    }
    let w: Vec<&str> = t.split_whitespace().collect();
    if w.len() < 5 {
        return false;
    }
    let n = w.len();
    let alpha3 = |s: &str| s.len() == 3 && s.chars().all(|c| c.is_ascii_alphabetic());
    let time = w[n - 2].split(':').collect::<Vec<_>>();
    w[n - 1].len() == 4
        && w[n - 1].bytes().all(|b| b.is_ascii_digit())
        && time.len() == 3
        && time
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
        && (1..=2).contains(&w[n - 3].len())
        && w[n - 3].bytes().all(|b| b.is_ascii_digit())
        && alpha3(w[n - 4])
        && alpha3(w[n - 5])
}

/// Lines of stdout that carry what the deck asked for (ngspice's chatter removed). The same
/// filter is applied to ngspice's and our output, so neither has to print the chatter.
fn filter_stdout(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if line.trim() == "Initial Transient Solution" {
            i += 1;
            let mut seen_rows = false;
            while i < lines.len() {
                let s = lines[i].trim();
                if s.starts_with("Node") || s.starts_with("----") || s.starts_with("Source") {
                    i += 1;
                    continue;
                }
                if s.is_empty() {
                    if seen_rows {
                        break;
                    }
                    i += 1;
                    continue;
                }
                seen_rows = true;
                i += 1;
            }
            continue;
        }
        if is_dashes(line)
            && i + 1 < lines.len()
            && lines[i + 1].starts_with("Index")
            && out.last().is_some_and(|l| is_page_header(l))
        {
            out.pop();
            out.pop();
        }
        if !is_noise(line) {
            out.push(line.to_string());
        }
        i += 1;
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Num(f64),
}

#[derive(Debug, Clone)]
enum Item {
    /// names[0] is the scale (time, v-sweep, frequency) or the only vector.
    Table {
        names: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
    Scalar {
        name: String,
        value: Value,
        extras: Vec<(String, f64)>,
    },
    Failed {
        name: String,
    },
    Text {
        toks: Vec<Tok>,
        line: String,
    },
}

impl Item {
    fn describe(&self) -> String {
        match self {
            Item::Table { names, rows } => {
                format!("table [{}] ({} rows)", names.join(", "), rows.len())
            }
            Item::Scalar { name, value, .. } => format!("{name} = {value}"),
            Item::Failed { name } => format!("failed measure {name}"),
            Item::Text { line, .. } => format!("text {line:?}"),
        }
    }
}

/// Column names of a print-table header; a name may hold spaces inside parentheses.
fn split_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cur = String::new();
    let mut depth: i64 = 0;
    for tok in text.split_whitespace() {
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(tok);
        depth += tok.matches('(').count() as i64 - tok.matches(')').count() as i64;
        if depth <= 0 {
            names.push(cur.to_ascii_lowercase());
            cur.clear();
            depth = 0;
        }
    }
    if !cur.is_empty() {
        names.push(cur.to_ascii_lowercase());
    }
    names
}

/// A row of a print table: "index<TAB>values..." with complex values as "re,<TAB>im".
fn parse_row(line: &str) -> Option<(usize, Vec<Value>)> {
    let (idx, rest) = line.split_once('\t')?;
    if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let toks: Vec<&str> = rest.split_whitespace().collect();
    let mut vals = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        if let Some(re) = t.strip_suffix(',')
            && i + 1 < toks.len()
        {
            vals.push(Value::Complex(re.parse().ok()?, toks[i + 1].parse().ok()?));
            i += 2;
            continue;
        }
        vals.push(parse_value(t)?);
        i += 1;
    }
    Some((idx.parse().ok()?, vals))
}

fn text_tokens(line: &str) -> Vec<Tok> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut word_start = 0;
    let mut i = 0;
    let flush = |out: &mut Vec<Tok>, s: &str| {
        let w = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if !w.is_empty() {
            out.push(Tok::Word(w));
        }
    };
    while i < b.len() {
        if let Some(n) = number_len(&b[i..]) {
            flush(&mut out, &line[word_start..i]);
            out.push(Tok::Num(line[i..i + n].parse().unwrap_or(f64::NAN)));
            i += n;
            word_start = i;
        } else {
            // step over one UTF-8 character
            i += 1;
            while i < b.len() && (b[i] & 0xC0) == 0x80 {
                i += 1;
            }
        }
    }
    flush(&mut out, &line[word_start..]);
    out
}

/// `name = value [k= v ...]` (print of a scalar, a meas result), or None.
fn parse_scalar(line: &str) -> Option<Item> {
    let (name, rest) = line.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let rest = rest.trim_start();
    let b = rest.as_bytes();
    let n = number_len(b)?;
    let first: f64 = rest[..n].parse().ok()?;
    let mut end = n;
    let mut value = Value::Real(first);
    // optional ", im"
    let after = &rest[n..];
    let trimmed = after.trim_start();
    if let Some(im_part) = trimmed.strip_prefix(',') {
        let im_trim = im_part.trim_start();
        if let Some(m) = number_len(im_trim.as_bytes()) {
            value = Value::Complex(first, im_trim[..m].parse().ok()?);
            end = rest.len() - im_trim.len() + m;
        }
    }
    let tail = &rest[end..];
    if !(tail.is_empty() || tail.starts_with(char::is_whitespace)) {
        return None;
    }
    // extras: word = number
    let mut extras = Vec::new();
    let tb = tail.as_bytes();
    let mut i = 0;
    while i < tb.len() {
        if tb[i].is_ascii_alphanumeric() || tb[i] == b'_' {
            let ws = i;
            while i < tb.len() && (tb[i].is_ascii_alphanumeric() || tb[i] == b'_') {
                i += 1;
            }
            let key = &tail[ws..i];
            let mut j = i;
            while j < tb.len() && tb[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < tb.len() && tb[j] == b'=' {
                j += 1;
                while j < tb.len() && tb[j].is_ascii_whitespace() {
                    j += 1;
                }
                if let Some(m) = number_len(&tb[j..]) {
                    if let Ok(v) = tail[j..j + m].parse() {
                        extras.push((key.to_ascii_lowercase(), v));
                    }
                    i = j + m;
                    continue;
                }
            }
        } else {
            i += 1;
        }
    }
    Some(Item::Scalar {
        name: name.to_ascii_lowercase(),
        value,
        extras,
    })
}

/// A failed measure: ngspice's " meas tran NAME ... failed!" or "NAME = failed ...".
fn parse_failed(line: &str) -> Option<String> {
    let t = line.trim();
    if t.ends_with("failed!") {
        let w: Vec<&str> = t.split_whitespace().collect();
        let head = w.first()?.to_ascii_lowercase();
        let head = head.strip_prefix('.').unwrap_or(&head);
        if head.starts_with("meas") && w.len() >= 4 {
            return Some(w[2].to_ascii_lowercase());
        }
    }
    let (name, rest) = t.split_once('=')?;
    let name = name.trim();
    let rest = rest.trim_start().to_ascii_lowercase();
    if !name.is_empty()
        && !name.contains(char::is_whitespace)
        && rest.starts_with("failed")
        && !rest[6..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    {
        return Some(name.to_ascii_lowercase());
    }
    None
}

fn parse_items(lines: &[String]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if let Some(hdr) = line.strip_prefix("Index")
            && hdr.starts_with(char::is_whitespace)
        {
            let names = split_names(hdr);
            let mut rows = Vec::new();
            let mut last: Option<usize> = None;
            i += 1;
            while i < lines.len() {
                if let Some((idx, vals)) = parse_row(&lines[i]) {
                    rows.push(vals);
                    last = Some(idx);
                    i += 1;
                    continue;
                }
                // a page break repeats the header and continues the index
                if let Some(h2) = lines[i].strip_prefix("Index")
                    && split_names(h2) == names
                    && i + 1 < lines.len()
                    && let (Some((idx, _)), Some(l)) = (parse_row(&lines[i + 1]), last)
                    && idx == l + 1
                {
                    i += 1;
                    continue;
                }
                break;
            }
            items.push(Item::Table { names, rows });
            continue;
        }
        if let Some(name) = parse_failed(line) {
            items.push(Item::Failed { name });
        } else if let Some(s) = parse_scalar(line) {
            items.push(s);
        } else {
            items.push(Item::Text {
                toks: text_tokens(line),
                line: line.trim().to_string(),
            });
        }
        i += 1;
    }
    items
}

/// Items keyed by (kind, name, occurrence): order only matters among items of one name
/// (ngspice prints failed measures before the good ones).
fn keyed(items: &[Item]) -> Vec<((String, String, usize), &Item)> {
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    items
        .iter()
        .map(|it| {
            let base = match it {
                Item::Table { names, .. } => ("table".to_string(), names.join(" ")),
                Item::Text { .. } => ("text".to_string(), String::new()),
                Item::Scalar { name, .. } | Item::Failed { name } => {
                    ("scalar".to_string(), name.clone())
                }
            };
            let k = seen.entry(base.clone()).or_insert(0);
            let key = (base.0, base.1, *k);
            *k += 1;
            (key, it)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Files

#[derive(Debug, Clone)]
struct RawPlot {
    title: String,
    plotname: String,
    names: Vec<String>,
    columns: Vec<Vec<Value>>,
}

fn parse_raw(data: &[u8]) -> Result<Vec<RawPlot>, String> {
    let mut plots = Vec::new();
    let mut pos = 0;
    let next_line = |pos: &mut usize| -> Option<String> {
        if *pos >= data.len() {
            return None;
        }
        let end = data[*pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| *pos + p);
        let line = String::from_utf8_lossy(&data[*pos..end]).into_owned();
        *pos = (end + 1).min(data.len());
        Some(line)
    };
    while pos < data.len() {
        let mut header: HashMap<String, String> = HashMap::new();
        let mut vars: Vec<String> = Vec::new();
        let mut in_vars = false;
        let binary;
        loop {
            let line = next_line(&mut pos).ok_or("raw file: the header does not end")?;
            if line.starts_with("Binary:") {
                binary = true;
                break;
            }
            if line.starts_with("Values:") {
                binary = false;
                break;
            }
            if in_vars && (line.starts_with('\t') || line.starts_with(' ')) {
                let parts: Vec<&str> = line.split_whitespace().collect();
                let name = parts.get(1).ok_or("raw file: bad variable line")?;
                vars.push(name.to_ascii_lowercase());
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                in_vars = k == "variables";
                header.insert(k, v.trim().to_string());
            }
        }
        let get = |k: &str| -> Result<usize, String> {
            header
                .get(k)
                .and_then(|v| v.parse().ok())
                .ok_or(format!("raw file: no {k}"))
        };
        let nvar = get("no. variables")?;
        let npts = get("no. points")?;
        let complex = header
            .get("flags")
            .is_some_and(|f| f.to_ascii_lowercase().contains("complex"));
        if vars.len() != nvar {
            return Err(format!(
                "raw file: {} variables listed, {nvar} declared",
                vars.len()
            ));
        }
        let mut columns = vec![Vec::with_capacity(npts); nvar];
        if binary {
            let width = if complex { 16 } else { 8 };
            let need = npts
                .checked_mul(nvar)
                .and_then(|x| x.checked_mul(width))
                .ok_or("raw file: size overflow")?;
            if data.len() - pos < need {
                return Err("raw file: binary data truncated".into());
            }
            let f = |k: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos + 8 * k..pos + 8 * k + 8]);
                f64::from_le_bytes(b)
            };
            for p in 0..npts {
                for (v, col) in columns.iter_mut().enumerate() {
                    if complex {
                        let k = 2 * (p * nvar + v);
                        col.push(Value::Complex(f(k), f(k + 1)));
                    } else {
                        col.push(Value::Real(f(p * nvar + v)));
                    }
                }
            }
            pos += need;
        } else {
            let mut toks: Vec<String> = Vec::new();
            while toks.len() < npts * (nvar + 1) {
                let save = pos;
                let Some(line) = next_line(&mut pos) else {
                    break;
                };
                if line.starts_with("Title:") {
                    pos = save;
                    break;
                }
                toks.extend(line.split_whitespace().map(str::to_string));
            }
            if toks.len() < npts * (nvar + 1) {
                return Err("raw file: ASCII data truncated".into());
            }
            for p in 0..npts {
                for (v, col) in columns.iter_mut().enumerate() {
                    let t = &toks[p * (nvar + 1) + 1 + v];
                    col.push(parse_value(t).ok_or(format!("raw file: bad value {t:?}"))?);
                }
            }
            while pos < data.len() && data[pos].is_ascii_whitespace() {
                pos += 1;
            }
        }
        plots.push(RawPlot {
            title: header.get("title").cloned().unwrap_or_default(),
            plotname: header.get("plotname").cloned().unwrap_or_default(),
            names: vars,
            columns,
        });
    }
    Ok(plots)
}

type Wrdata = (Option<Vec<String>>, Vec<Vec<f64>>);

/// A wrdata file: whitespace-separated numbers, optionally a header line of names.
fn parse_wrdata(text: &str) -> Result<Wrdata, String> {
    let mut lines: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let mut names: Option<Vec<String>> = None;
    if let Some(first) = lines.first()
        && full_number(first[0]).is_none()
    {
        names = Some(first.iter().map(|n| n.to_ascii_lowercase()).collect());
        lines.remove(0);
    }
    let ncol = match (&names, lines.first()) {
        (Some(n), _) => n.len(),
        (None, Some(r)) => r.len(),
        (None, None) => 0,
    };
    let mut cols = vec![Vec::new(); ncol];
    for (n, row) in lines.iter().enumerate() {
        if row.len() != ncol {
            return Err(format!(
                "wrdata row {} has {} fields, expected {ncol}",
                n + 1,
                row.len()
            ));
        }
        for (c, t) in cols.iter_mut().zip(row) {
            c.push(
                t.parse::<f64>()
                    .map_err(|_| format!("wrdata row {}: {t:?} is not a number", n + 1))?,
            );
        }
    }
    Ok((names, cols))
}

#[derive(Debug, PartialEq)]
enum FileKind {
    Raw,
    Wrdata,
    Text,
}

fn file_kind(data: &[u8]) -> FileKind {
    if data.starts_with(b"Title:") {
        return FileKind::Raw;
    }
    // a print table redirected to a file (`print v(a) > f`) is read like stdout
    let print_table = std::str::from_utf8(data).is_ok_and(|t| {
        t.lines().any(|l| {
            l.strip_prefix("Index")
                .is_some_and(|r| r.starts_with(char::is_whitespace))
        })
    });
    if print_table {
        return FileKind::Text;
    }
    match std::str::from_utf8(data).map(parse_wrdata) {
        Ok(Ok((_, cols))) if cols.first().is_some_and(|c| !c.is_empty()) => FileKind::Wrdata,
        _ => FileKind::Text,
    }
}

// ---------------------------------------------------------------------------------------
// Comparison

#[derive(Default)]
struct Report {
    /// Worst deviation per quantity, in units of its tolerance.
    worst: BTreeMap<String, (f64, String)>,
    problems: Vec<String>,
}

impl Report {
    fn value(&mut self, name: &str, ratio: f64, detail: String) {
        let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
        let e = self
            .worst
            .entry(name.to_string())
            .or_insert((f64::NEG_INFINITY, String::new()));
        if ratio > e.0 {
            *e = (ratio, detail);
        }
    }

    fn failures(&self) -> Vec<String> {
        let mut out = self.problems.clone();
        for (n, (r, d)) in &self.worst {
            if *r > 1.0 {
                out.push(format!("{n}: {d} ({r:.3} x tolerance)"));
            }
        }
        out
    }
}

fn ratio(err: f64, tol: f64) -> f64 {
    if tol > 0.0 {
        err / tol
    } else if err == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Distance from v to the range of the piecewise-linear (xs, ys) over [x - dx, x + dx].
fn window_error(xs: &[f64], ys: &[f64], x: f64, v: f64, dx: f64) -> f64 {
    let (lo_x, hi_x) = (x - dx, x + dx);
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    // segments [xs[i], xs[i+1]] that can meet the window (xs is non-decreasing)
    let first = xs.partition_point(|&t| t < lo_x).saturating_sub(1);
    let last = xs
        .partition_point(|&t| t <= hi_x)
        .min(xs.len().saturating_sub(1));
    for i in first..last {
        let (a, b) = (xs[i], xs[i + 1]);
        if b < lo_x || a > hi_x || b <= a {
            continue;
        }
        for px in [a.max(lo_x), b.min(hi_x)] {
            let y = ys[i] + (ys[i + 1] - ys[i]) * (px - a) / (b - a);
            lo = lo.min(y);
            hi = hi.max(y);
        }
    }
    if xs.len() == 1 && (xs[0] - x).abs() <= dx {
        lo = lo.min(ys[0]);
        hi = hi.max(ys[0]);
    }
    if lo > hi {
        return f64::INFINITY;
    }
    (lo - v).max(v - hi).max(0.0)
}

fn reals(vals: &[Value]) -> Option<Vec<f64>> {
    vals.iter()
        .map(|v| match v {
            Value::Real(x) => Some(*x),
            Value::Complex(..) => None,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn compare_wave(
    rep: &mut Report,
    man: &Manifest,
    name: &str,
    gx: &[Value],
    gy: &[Value],
    ox: &[Value],
    oy: &[Value],
) {
    let (Some(gx), Some(gy), Some(ox), Some(oy)) = (reals(gx), reals(gy), reals(ox), reals(oy))
    else {
        rep.problems
            .push(format!("{name}: complex values on a time scale"));
        return;
    };
    if gx.is_empty() {
        return;
    }
    let t = man.tol(name);
    let fmin = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let fmax = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let dx = man.window * (fmax(&gx) - fmin(&gx));
    let tol = t.abs + t.rel * (fmax(&gy) - fmin(&gy));
    let (Some(&o0), Some(&o1)) = (ox.first(), ox.last()) else {
        rep.problems.push(format!("{name}: no points"));
        return;
    };
    if ox.windows(2).any(|w| w[1] < w[0]) {
        rep.problems
            .push(format!("{name}: our time points do not increase"));
        return;
    }
    if o0 > gx[0] + dx || o1 < gx[gx.len() - 1] - dx {
        rep.problems.push(format!(
            "{name}: time range [{o0:.6e}, {o1:.6e}] does not cover ngspice's [{:.6e}, {:.6e}]",
            gx[0],
            gx[gx.len() - 1]
        ));
        return;
    }
    for (&x, &v) in gx.iter().zip(&gy) {
        let e = window_error(&ox, &oy, x, v, dx);
        rep.value(
            name,
            ratio(e, tol),
            format!("at time {x:.6e}: ngspice {v:.7e}, ours off by {e:.3e} (tol {tol:.3e})"),
        );
    }
}

fn compare_points(
    rep: &mut Report,
    man: &Manifest,
    name: &str,
    g: &[Value],
    o: &[Value],
    where_: &str,
) {
    let t = man.tol(name);
    if g.len() != o.len() {
        rep.problems.push(format!(
            "{name}{where_}: {} values, ngspice has {}",
            o.len(),
            g.len()
        ));
        return;
    }
    for (k, (&gv, &ov)) in g.iter().zip(o).enumerate() {
        let tol = t.abs + t.rel * gv.mag();
        rep.value(
            name,
            ratio(gv.dist(ov), tol),
            format!("point {k}{where_}: ngspice {gv}, ours {ov}"),
        );
    }
}

fn compare_columns(
    rep: &mut Report,
    man: &Manifest,
    names: &[String],
    g: &[Vec<Value>],
    o: &[Vec<Value>],
    label: &str,
) {
    if names.first().is_some_and(|n| n == "time") {
        for j in 1..names.len() {
            compare_wave(rep, man, &names[j], &g[0], &g[j], &o[0], &o[j]);
        }
    } else {
        for j in 0..names.len() {
            compare_points(rep, man, &names[j], &g[j], &o[j], label);
        }
    }
}

fn columns_of(rows: &[Vec<Value>], n: usize) -> Option<Vec<Vec<Value>>> {
    if rows.iter().any(|r| r.len() != n) {
        return None;
    }
    Some(
        (0..n)
            .map(|j| rows.iter().map(|r| r[j]).collect())
            .collect(),
    )
}

fn compare_items(rep: &mut Report, man: &Manifest, gold: &[Item], ours: &[Item], label: &str) {
    let g = keyed(gold);
    let o = keyed(ours);
    let omap: HashMap<_, _> = o.iter().cloned().collect();
    let gkeys: std::collections::HashSet<_> = g.iter().map(|(k, _)| k.clone()).collect();
    for (key, gi) in &g {
        let what = format!("{label}: {}", gi.describe());
        let Some(oi) = omap.get(key) else {
            rep.problems
                .push(format!("{what}: missing from our output"));
            continue;
        };
        match (gi, oi) {
            (Item::Table { names, rows: gr }, Item::Table { rows: or, .. }) => {
                match (columns_of(gr, names.len()), columns_of(or, names.len())) {
                    (Some(gc), Some(oc)) => {
                        compare_columns(rep, man, names, &gc, &oc, &format!(" of {label} table"))
                    }
                    _ => rep.problems.push(format!(
                        "{what}: ragged rows (vectors of different lengths)"
                    )),
                }
            }
            (
                Item::Scalar {
                    name,
                    value,
                    extras,
                },
                Item::Scalar {
                    value: ov,
                    extras: oe,
                    ..
                },
            ) => {
                if man.is_count_only(name) {
                    continue;
                }
                compare_points(rep, man, name, &[*value], &[*ov], &format!(" ({label})"));
                // targ=/trig= are measured instants; at=/from=/to= only echo the time
                // points ngspice happened to sample, so they are not compared
                for (k, v) in extras {
                    if k != "targ" && k != "trig" {
                        continue;
                    }
                    if let Some((_, w)) = oe.iter().find(|(k2, _)| k2 == k) {
                        compare_points(
                            rep,
                            man,
                            name,
                            &[Value::Real(*v)],
                            &[Value::Real(*w)],
                            &format!(" {k}= ({label})"),
                        );
                    }
                }
            }
            (Item::Failed { .. }, Item::Failed { .. }) => {}
            (Item::Text { toks: gt, line: gl }, Item::Text { toks: ot, line: ol }) => {
                let same_shape = gt.len() == ot.len()
                    && gt.iter().zip(ot).all(|(a, b)| match (a, b) {
                        (Tok::Word(x), Tok::Word(y)) => x == y,
                        (Tok::Num(_), Tok::Num(_)) => true,
                        _ => false,
                    });
                if !same_shape {
                    rep.problems
                        .push(format!("{label}: text line {gl:?}: ours {ol:?}"));
                    continue;
                }
                let nums = |t: &[Tok]| -> Vec<Value> {
                    t.iter()
                        .filter_map(|x| match x {
                            Tok::Num(v) => Some(Value::Real(*v)),
                            Tok::Word(_) => None,
                        })
                        .collect()
                };
                compare_points(
                    rep,
                    man,
                    "text",
                    &nums(gt),
                    &nums(ot),
                    &format!(" in {gl:?}"),
                );
            }
            _ => rep
                .problems
                .push(format!("{what}: ours is {}", oi.describe())),
        }
    }
    for (key, oi) in &o {
        // ngspice reports a failed .meas card on stderr, a failed `meas` command on
        // stdout: a failure we print where ngspice printed nothing is not held against us
        if !gkeys.contains(key) && !matches!(oi, Item::Failed { .. }) {
            rep.problems
                .push(format!("{label}: unexpected {}", oi.describe()));
        }
    }
}

fn compare_raw(rep: &mut Report, man: &Manifest, name: &str, gp: &[RawPlot], op: &[RawPlot]) {
    if gp.len() != op.len() {
        rep.problems.push(format!(
            "{name}: {} plots, ngspice wrote {}",
            op.len(),
            gp.len()
        ));
        return;
    }
    for (k, (a, b)) in gp.iter().zip(op).enumerate() {
        if !a.title.eq_ignore_ascii_case(&b.title) {
            rep.problems.push(format!(
                "{name} plot {k}: title {:?}, ngspice {:?}",
                b.title, a.title
            ));
        }
        if !a.plotname.eq_ignore_ascii_case(&b.plotname) {
            rep.problems.push(format!(
                "{name} plot {k}: plotname {:?}, ngspice {:?}",
                b.plotname, a.plotname
            ));
        }
        if a.names != b.names {
            rep.problems.push(format!(
                "{name} plot {k}: vectors {:?}, ngspice {:?}",
                b.names, a.names
            ));
            continue;
        }
        compare_columns(
            rep,
            man,
            &a.names,
            &a.columns,
            &b.columns,
            &format!(" of {name}"),
        );
    }
}

fn compare_wrdata(
    rep: &mut Report,
    man: &Manifest,
    name: &str,
    x_time: bool,
    g: &Wrdata,
    o: &Wrdata,
) {
    let (gn, gc) = g;
    let (on, oc) = o;
    if gn != on || gc.len() != oc.len() {
        rep.problems.push(format!(
            "{name}: columns {:?} ({}), ngspice {:?} ({})",
            on,
            oc.len(),
            gn,
            gc.len()
        ));
        return;
    }
    let names: Vec<String> = match gn {
        Some(n) => n.clone(),
        None => (0..gc.len()).map(|j| format!("{name}[{j}]")).collect(),
    };
    let to_v = |c: &Vec<f64>| c.iter().map(|&x| Value::Real(x)).collect::<Vec<_>>();
    let x_time = x_time || gn.as_ref().is_some_and(|n| n[0] == "time");
    if x_time {
        // each vector is preceded by its own copy of the scale unless wr_singlescale
        for j in 1..gc.len() {
            let is_scale = match gn {
                Some(n) => n[j] == n[0],
                None => gc[j] == gc[0],
            };
            if !is_scale {
                compare_wave(
                    rep,
                    man,
                    &names[j],
                    &to_v(&gc[0]),
                    &to_v(&gc[j]),
                    &to_v(&oc[0]),
                    &to_v(&oc[j]),
                );
            }
        }
    } else {
        for j in 0..gc.len() {
            compare_points(
                rep,
                man,
                &names[j],
                &to_v(&gc[j]),
                &to_v(&oc[j]),
                &format!(" of {name}"),
            );
        }
    }
}

fn compare_file(rep: &mut Report, man: &Manifest, name: &str, x_time: bool, g: &[u8], o: &[u8]) {
    match file_kind(g) {
        FileKind::Raw => match (parse_raw(g), parse_raw(o)) {
            (Ok(gp), Ok(op)) => compare_raw(rep, man, name, &gp, &op),
            (Err(e), _) => rep.problems.push(format!("{name}: golden unreadable: {e}")),
            (_, Err(e)) => rep.problems.push(format!("{name}: ours unreadable: {e}")),
        },
        FileKind::Wrdata => {
            let gs = String::from_utf8_lossy(g);
            let os = String::from_utf8_lossy(o);
            match (parse_wrdata(&gs), parse_wrdata(&os)) {
                (Ok(gw), Ok(ow)) => compare_wrdata(rep, man, name, x_time, &gw, &ow),
                (Err(e), _) => rep.problems.push(format!("{name}: golden unreadable: {e}")),
                (_, Err(e)) => rep.problems.push(format!("{name}: ours unreadable: {e}")),
            }
        }
        FileKind::Text => {
            let gi = parse_items(&filter_stdout(&String::from_utf8_lossy(g)));
            let oi = parse_items(&filter_stdout(&String::from_utf8_lossy(o)));
            compare_items(rep, man, &gi, &oi, name);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The suite

fn deck_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(suite_dir())
        .expect("tests/conformance exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".cir").map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

/// PENDING: `name  reason` per line, `#` comments.
fn pending() -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(suite_dir().join("PENDING"))
        .map_err(|e| format!("cannot read tests/conformance/PENDING: {e}"))?;
    let mut out = BTreeMap::new();
    for (no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("PENDING:{}: {line:?} has no reason", no + 1))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(format!("PENDING:{}: {name} has no reason", no + 1));
        }
        if out.insert(name.to_string(), reason.to_string()).is_some() {
            return Err(format!("PENDING:{}: {name} listed twice", no + 1));
        }
    }
    Ok(out)
}

fn read_manifest(name: &str) -> Manifest {
    let path = suite_dir().join(format!("{name}.cir"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_manifest(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs one deck and returns the list of failures (empty = pass).
fn check_deck(name: &str) -> Vec<String> {
    let man = read_manifest(name);
    let deck = suite_dir().join(format!("{name}.cir"));
    let gdir = golden_dir().join(name);
    let tmp = tempfile::tempdir().expect("cannot create a temporary directory");
    let deck_s = deck.to_string_lossy().into_owned();
    let run = run_neurospice(&["run", &deck_s], tmp.path(), Some(HANG_GUARD));
    let mut rep = Report::default();
    if run.code != Some(man.exit) {
        let first = run
            .stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        rep.problems.push(format!(
            "exit: expected {}, got {} (first stderr line: {first})",
            man.exit,
            run.describe().lines().next().unwrap_or("")
        ));
    }
    let gold_stdout = std::fs::read_to_string(gdir.join("stdout.txt"))
        .unwrap_or_else(|e| panic!("{name}: no golden stdout ({e}); run the regen script"));
    let gi = parse_items(&filter_stdout(&gold_stdout));
    let oi = parse_items(&filter_stdout(&run.stdout));
    compare_items(&mut rep, &man, &gi, &oi, "stdout");
    for (file, x_time) in &man.files {
        let g = std::fs::read(gdir.join(file))
            .unwrap_or_else(|e| panic!("{name}: golden {file} missing ({e})"));
        match std::fs::read(tmp.path().join(file)) {
            Ok(o) => compare_file(&mut rep, &man, file, *x_time, &g, &o),
            Err(_) => rep.problems.push(format!("{file}: not written")),
        }
    }
    rep.failures()
}

fn selected(all: &[String]) -> Vec<String> {
    match std::env::var("CONFORMANCE") {
        Ok(list) if !list.trim().is_empty() => {
            let want: Vec<&str> = list.split(',').map(str::trim).collect();
            for w in &want {
                assert!(all.iter().any(|d| d == w), "CONFORMANCE: no deck {w}");
            }
            all.iter()
                .filter(|d| want.contains(&d.as_str()))
                .cloned()
                .collect()
        }
        _ => all.to_vec(),
    }
}

#[test]
fn conformance_suite() {
    let all = deck_names();
    let pend = pending().unwrap_or_else(|e| panic!("{e}"));
    let verbose = std::env::var_os("CONFORMANCE_VERBOSE").is_some();
    let mut summary = String::new();
    let mut errors = String::new();
    let (mut passed, mut pending_failed) = (0, 0);
    for name in selected(&all) {
        let fails = check_deck(&name);
        let is_pending = pend.contains_key(&name);
        let status = match (fails.is_empty(), is_pending) {
            (true, false) => {
                passed += 1;
                "pass"
            }
            (true, true) => {
                let _ = writeln!(
                    errors,
                    "{name}: PASSES but is listed in tests/conformance/PENDING: remove it there"
                );
                "PASS (pending!)"
            }
            (false, true) => {
                pending_failed += 1;
                "pending"
            }
            (false, false) => {
                let _ = writeln!(errors, "{name}: FAILS ({} problems):", fails.len());
                for f in fails.iter().take(40) {
                    let _ = writeln!(errors, "    {f}");
                }
                if fails.len() > 40 {
                    let _ = writeln!(errors, "    ... and {} more", fails.len() - 40);
                }
                "FAIL"
            }
        };
        let first = fails.first().map_or("", String::as_str);
        let _ = writeln!(summary, "  {name:<28} {status:<16} {first:.110}");
        if verbose && is_pending && !fails.is_empty() {
            for f in &fails {
                let _ = writeln!(summary, "      {f}");
            }
        }
    }
    println!(
        "conformance: {passed} pass, {pending_failed} pending (expected to fail), {} decks run\n{summary}",
        selected(&all).len()
    );
    assert!(errors.is_empty(), "conformance failures:\n{errors}");
}

#[test]
fn pending_names_existing_decks() {
    let all = deck_names();
    let pend = pending().unwrap_or_else(|e| panic!("{e}"));
    let missing: Vec<&String> = pend.keys().filter(|p| !all.contains(p)).collect();
    assert!(
        missing.is_empty(),
        "PENDING lists decks that do not exist: {missing:?}"
    );
}

#[test]
fn every_deck_has_a_manifest_and_a_golden() {
    let all = deck_names();
    assert!(all.len() >= 60, "only {} conformance decks", all.len());
    let mut problems = Vec::new();
    assert!(
        golden_dir().join("NGSPICE_VERSION").exists(),
        "golden/NGSPICE_VERSION missing"
    );
    for name in &all {
        let text = std::fs::read_to_string(suite_dir().join(format!("{name}.cir")))
            .expect("deck readable");
        if !text.lines().next().is_some_and(|l| l.starts_with('*')) {
            problems.push(format!(
                "{name}: the first line should be a `* ...` comment"
            ));
        }
        let man = match parse_manifest(&text) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let gdir = golden_dir().join(name);
        if !gdir.join("stdout.txt").exists() {
            problems.push(format!(
                "{name}: no golden; run python3 scripts/regen_conformance.py {name}"
            ));
            continue;
        }
        let mut expected: Vec<String> = vec!["stdout.txt".into(), "stderr.txt".into()];
        expected.extend(man.files.iter().map(|(f, _)| f.clone()));
        for f in &expected {
            if !gdir.join(f).exists() {
                problems.push(format!("{name}: golden/{name}/{f} missing"));
            }
        }
        for e in std::fs::read_dir(&gdir)
            .expect("golden dir readable")
            .flatten()
        {
            let f = e.file_name().to_string_lossy().into_owned();
            if !expected.contains(&f) {
                problems.push(format!(
                    "{name}: golden/{name}/{f} is not declared with `*@ file`"
                ));
            }
        }
    }
    for e in std::fs::read_dir(golden_dir())
        .expect("golden dir")
        .flatten()
    {
        let f = e.file_name().to_string_lossy().into_owned();
        if f != "NGSPICE_VERSION" && !all.contains(&f) {
            problems.push(format!("golden/{f} belongs to no deck"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every golden compared with itself passes, and with its numbers moved beyond every
/// tolerance fails: the comparison can fail, and the parser reads every golden.
#[test]
fn comparison_accepts_the_golden_and_rejects_a_perturbed_one() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for name in deck_names() {
        let man = read_manifest(&name);
        let gdir = golden_dir().join(&name);
        let Ok(text) = std::fs::read_to_string(gdir.join("stdout.txt")) else {
            continue;
        };
        let items = parse_items(&filter_stdout(&text));
        let mut rep = Report::default();
        compare_items(&mut rep, &man, &items, &items, "stdout");
        for (f, x_time) in &man.files {
            let data = std::fs::read(gdir.join(f)).unwrap_or_default();
            compare_file(&mut rep, &man, f, *x_time, &data, &data);
        }
        if !rep.failures().is_empty() {
            problems.push(format!(
                "{name}: golden differs from itself: {:?}",
                rep.failures()
            ));
        }
        // perturb: every number * 1.5 + 1 (beyond any tolerance of the suite)
        let bumped: Vec<Item> = items.iter().map(bump_item).collect();
        let compared = items.iter().any(|it| match it {
            Item::Scalar { name, .. } => !man.is_count_only(name),
            Item::Table { rows, .. } => !rows.is_empty(),
            Item::Text { toks, .. } => toks.iter().any(|t| matches!(t, Tok::Num(_))),
            Item::Failed { .. } => false,
        });
        if compared {
            let mut rep = Report::default();
            compare_items(&mut rep, &man, &items, &bumped, "stdout");
            if rep.failures().is_empty() {
                problems.push(format!("{name}: a perturbed stdout still passes"));
            }
            checked += 1;
        }
        for (f, x_time) in &man.files {
            let data = std::fs::read(gdir.join(f)).unwrap_or_default();
            let mut rep = Report::default();
            match file_kind(&data) {
                FileKind::Raw => {
                    let Ok(plots) = parse_raw(&data) else {
                        problems.push(format!("{name}: {f} unreadable"));
                        continue;
                    };
                    let bumped: Vec<RawPlot> = plots
                        .iter()
                        .map(|p| RawPlot {
                            columns: p
                                .columns
                                .iter()
                                .enumerate()
                                .map(|(j, c)| {
                                    // keep the scale, move the vectors
                                    if j == 0 {
                                        c.clone()
                                    } else {
                                        c.iter().map(|v| v.scaled(1.5, 1.0)).collect()
                                    }
                                })
                                .collect(),
                            ..p.clone()
                        })
                        .collect();
                    compare_raw(&mut rep, &man, f, &plots, &bumped);
                }
                FileKind::Wrdata => {
                    let Ok(w) = parse_wrdata(&String::from_utf8_lossy(&data)) else {
                        problems.push(format!("{name}: {f} unreadable"));
                        continue;
                    };
                    let bumped = (
                        w.0.clone(),
                        w.1.iter()
                            .map(|c| c.iter().map(|x| x * 1.5 + 1.0).collect())
                            .collect(),
                    );
                    compare_wrdata(&mut rep, &man, f, *x_time, &w, &bumped);
                }
                FileKind::Text => {
                    let gi = parse_items(&filter_stdout(&String::from_utf8_lossy(&data)));
                    let bi: Vec<Item> = gi.iter().map(bump_item).collect();
                    compare_items(&mut rep, &man, &gi, &bi, f);
                }
            }
            if rep.failures().is_empty() {
                problems.push(format!("{name}: a perturbed {f} still passes"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} goldens checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn bump_item(it: &Item) -> Item {
    match it {
        Item::Table { names, rows } => Item::Table {
            names: names.clone(),
            rows: rows
                .iter()
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(j, v)| {
                            // keep a time scale, so the waveform comparison runs
                            if j == 0 && names[0] == "time" {
                                *v
                            } else {
                                v.scaled(1.5, 1.0)
                            }
                        })
                        .collect()
                })
                .collect(),
        },
        Item::Scalar {
            name,
            value,
            extras,
        } => Item::Scalar {
            name: name.clone(),
            value: value.scaled(1.5, 1.0),
            extras: extras.clone(),
        },
        Item::Text { toks, line } => Item::Text {
            toks: toks
                .iter()
                .map(|t| match t {
                    Tok::Num(v) => Tok::Num(v * 1.5 + 1.0),
                    w => w.clone(),
                })
                .collect(),
            line: line.clone(),
        },
        f => f.clone(),
    }
}

#[test]
fn parser_reads_ngspice_layouts() {
    let out = "\nNote: No compatibility mode selected!\n\nCircuit: * t\n\
        hello world 3.5e-01 volts\n\
        v(out)[1] = 9.620209e-01,-1.91146e-01\n\
        t50                 =  1.693637e-06\n\
        tdel = 1.25e-07 targ=  2.125e-06 trig=  2.0e-06\n\
        \x20meas tran slope deriv v(out) at=3.5u failed!\n\
        bad = failed (WHEN: no crossing)\n\
        \x20                                    * t\n\
        \x20                                    AC Analysis  Sat Dec  5 15:02:02  2026\n\
        --------------------------------------------------------------------------------\n\
        Index   frequency       v(out)                          \n\
        --------------------------------------------------------------------------------\n\
        0\t1.000000e+01\t9.960677e-01,\t-6.25848e-02\t\n\
        \x0c\n\
        Index   frequency       v(out)                          \n\
        --------------------------------------------------------------------------------\n\
        1\t3.162278e+01\t9.620209e-01,\t-1.91146e-01\t\n\
        ngspice-39 done\n";
    let items = parse_items(&filter_stdout(out));
    let d: Vec<String> = items.iter().map(Item::describe).collect();
    assert_eq!(
        d,
        vec![
            "text \"hello world 3.5e-01 volts\"",
            "v(out)[1] = (9.6202090e-1,-1.9114600e-1)",
            "t50 = 1.6936370e-6",
            "tdel = 1.2500000e-7",
            "failed measure slope",
            "failed measure bad",
            "table [frequency, v(out)] (2 rows)",
        ]
    );
    let Item::Scalar { extras, .. } = &items[3] else {
        panic!("tdel is a scalar")
    };
    assert_eq!(
        extras,
        &vec![("targ".to_string(), 2.125e-6), ("trig".to_string(), 2.0e-6)]
    );
    assert_eq!(
        text_tokens("r2 = 1k gives -3.3e-1"),
        vec![
            Tok::Word("r".into()),
            Tok::Num(2.0),
            Tok::Word("=".into()),
            Tok::Num(1.0),
            Tok::Word("k gives".into()),
            Tok::Num(-0.33)
        ]
    );
    // the window: a ramp sampled coarsely still contains a point shifted by less than dx
    let xs = [0.0, 1.0, 2.0];
    let ys = [0.0, 1.0, 2.0];
    assert_eq!(window_error(&xs, &ys, 0.5, 0.52, 0.05), 0.0);
    assert!((window_error(&xs, &ys, 0.5, 0.6, 0.05) - 0.05).abs() < 1e-12);
    assert!(window_error(&xs, &ys, 5.0, 1.0, 0.05).is_infinite());
    assert!(glob_match("v(*", "v(out)") && glob_match("*", "x") && !glob_match("v(*", "i(v1)"));
    assert!(glob_match("t?", "t1") && !glob_match("t?", "t10"));
}
