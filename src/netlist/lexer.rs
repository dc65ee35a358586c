//! Turns netlist files into cards: physical lines joined by `+` continuations, comments removed,
//! `.include` and `.lib` resolved, every token carrying its file, line and column.

use crate::error::{Error, Loc, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a token is. `{expr}` and `'expr'` become one `Expr` token holding the inner text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    Word,
    Expr,
    LParen,
    RParen,
    Eq,
}

#[derive(Debug, Clone)]
pub struct Tok {
    pub kind: TokKind,
    /// Lowercased text (netlists are case-insensitive).
    pub text: String,
    /// Original text (file names keep their case).
    pub raw: String,
    pub loc: Loc,
}

impl Tok {
    pub fn is_word(&self, w: &str) -> bool {
        self.kind == TokKind::Word && self.text == w
    }
}

/// One logical line of a netlist.
#[derive(Debug, Clone)]
pub struct Card {
    pub toks: Vec<Tok>,
    pub loc: Loc,
}

impl Card {
    pub fn name(&self) -> &str {
        self.toks.first().map(|t| t.text.as_str()).unwrap_or("")
    }
}

/// The lexed netlist: its title line, the cards, and warnings about skipped content.
#[derive(Debug, Clone)]
pub struct Lexed {
    pub title: String,
    pub title_loc: Loc,
    pub cards: Vec<Card>,
    pub warnings: Vec<String>,
    /// Every file the cards were read from, the netlist first, then each `.include`/`.lib`
    /// file in the order it was read (once per read), with a hash of the text read: what a
    /// Monte Carlo study records so that `--resume` notices an edited netlist or include.
    pub sources: Vec<Source>,
}

/// One file (or in-memory text) a netlist was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// As the lexer opened it (the netlist as given, an include resolved against its parent).
    pub path: String,
    /// FNV-1a (64 bit) of the text.
    pub hash: u64,
    /// Length of the text in bytes.
    pub bytes: u64,
}

impl Source {
    fn of(path: &str, text: &str) -> Source {
        Source {
            path: path.to_string(),
            hash: crate::seed::site(text),
            bytes: text.len() as u64,
        }
    }
}

/// Reads and lexes a netlist file, following `.include` and `.lib`.
pub fn lex_file(path: &Path) -> Result<Lexed> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::io(format!("cannot read netlist '{}': {e}", path.display())))?;
    let name = path.to_string_lossy();
    let (text, warning) = decode(&bytes, &name);
    let mut out = lex_str(&text, &name)?;
    out.warnings.extend(warning);
    Ok(out)
}

/// A netlist file's text, as ngspice reads it: UTF-8, or, line by line where a line is not
/// UTF-8, Latin-1 (every byte one character: `µ` as the byte B5 is micro). The warning names
/// the first such line.
pub fn decode(bytes: &[u8], name: &str) -> (String, Option<String>) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_string(), None);
    }
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    let mut first_bad = None;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        match std::str::from_utf8(line) {
            Ok(s) => out.push_str(s),
            Err(_) => {
                first_bad.get_or_insert(i + 1);
                out.extend(line.iter().map(|&b| b as char));
            }
        }
    }
    let warning = first_bad
        .map(|l| format!("{name}:{l}: not valid UTF-8; lines like this one read as Latin-1"));
    (out, warning)
}

/// Line ends as `\n` only: CRLF (DOS) and a lone CR (classic Mac OS) end a line as LF does,
/// so line numbers count them all.
fn unify_line_ends(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Lexes netlist text; `name` is the file name used in messages and for resolving includes.
pub fn lex_str(text: &str, name: &str) -> Result<Lexed> {
    let text = unify_line_ends(text);
    let text = text.as_ref();
    let file: Arc<str> = Arc::from(name);
    let first = text.lines().next().unwrap_or("");
    let title_loc = Loc {
        file: file.clone(),
        line: 1,
        col: 1,
        len: 0,
        text: Arc::from(first),
    };
    let mut out = Lexed {
        title: first.trim().to_string(),
        title_loc,
        cards: vec![],
        warnings: vec![],
        sources: vec![],
    };
    let mut st = State {
        out: &mut out,
        depth: 0,
    };
    st.lex_lines(text, &file, 1, Mode::Top)?;
    Ok(out)
}

#[derive(Clone, Copy)]
enum Mode<'a> {
    /// The netlist itself: its first line is the title.
    Top,
    /// An `.include`d file: every line is a card.
    Include,
    /// `.lib FILE SECTION`: only the lines of that section are cards.
    Section(&'a str),
}

struct State<'a> {
    out: &'a mut Lexed,
    depth: usize,
}

fn base_dir(file: &str) -> PathBuf {
    Path::new(file)
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}

fn strip_comment(line: &str) -> &str {
    // `;` anywhere and `$` at the start or after whitespace start a comment; braces and quotes
    // protect expressions such as `{a $ b}` that never occur in practice but must not be cut.
    let mut depth = 0i32;
    let mut quote = false;
    let mut prev_ws = true;
    for (i, c) in line.char_indices() {
        match c {
            '{' if !quote => depth += 1,
            '}' if !quote => depth -= 1,
            '\'' => quote = !quote,
            ';' if depth <= 0 && !quote => return &line[..i],
            '$' if depth <= 0 && !quote && prev_ws => return &line[..i],
            _ => {}
        }
        prev_ws = c.is_whitespace();
    }
    line
}

impl State<'_> {
    /// Lexes the lines of one file. `first` is the 1-based number of the first line given.
    fn lex_lines(&mut self, text: &str, file: &Arc<str>, first: usize, mode: Mode) -> Result<()> {
        self.out.sources.push(Source::of(file, text));
        let section = match mode {
            Mode::Section(s) => Some(s),
            _ => None,
        };
        let mut cur: Option<Card> = None;
        // an expression of `cur` still open at the end of its last physical line
        let mut open: Option<Open> = None;
        let mut in_control: Option<Loc> = None;
        let mut lib_skip: Option<(String, Loc)> = None;
        let mut in_section = section.is_none();
        let mut found_section = section.is_none();
        let mut section_depth = 0usize;
        for (i, raw_line) in text.lines().enumerate() {
            let lineno = first + i;
            if matches!(mode, Mode::Top) && i == 0 {
                continue; // title
            }
            let line_arc: Arc<str> = Arc::from(raw_line);
            let trimmed = raw_line.trim_start();
            let lower = trimmed.to_ascii_lowercase();
            let loc0 = Loc {
                file: file.clone(),
                line: lineno,
                col: raw_line.len() - trimmed.len() + 1,
                len: trimmed
                    .split_whitespace()
                    .next()
                    .map(|w| w.chars().count())
                    .unwrap_or(1),
                text: line_arc.clone(),
            };
            // Library sections: when reading a section out of a file, keep only its lines.
            if let Some(sec) = section {
                let words: Vec<&str> = lower.split_whitespace().collect();
                if !in_section {
                    if words.len() == 2 && words[0] == ".lib" && words[1] == sec {
                        in_section = true;
                        found_section = true;
                    }
                    continue;
                }
                if words.first() == Some(&".endl") {
                    if section_depth == 0 {
                        in_section = false;
                        continue;
                    }
                    section_depth -= 1;
                }
            }
            if let Some((_, _)) = &lib_skip {
                if lower.starts_with(".endl") {
                    lib_skip = None;
                }
                continue;
            }
            if in_control.is_some() {
                if lower.starts_with(".endc") {
                    in_control = None;
                }
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with('*') {
                continue;
            }
            let body = strip_comment(raw_line);
            if body.trim().is_empty() {
                continue;
            }
            if trimmed.starts_with('+') {
                let Some(card) = cur.as_mut() else {
                    return Err(Error::syntax(
                        "continuation line '+' with no card before it",
                        &loc0,
                    ));
                };
                let plus = raw_line.find('+').unwrap_or(0);
                let at = Line {
                    file,
                    lineno,
                    text: &line_arc,
                };
                tokenize(body, plus + 1, &at, &mut card.toks, &mut open)?;
                continue;
            }
            if let Some(c) = cur.take() {
                close_card(&mut open)?;
                self.finish(c, file)?;
            }
            if lower.starts_with(".control") {
                in_control = Some(loc0.clone());
                self.out.warnings.push(format!(
                    "{}:{}: .control block skipped (neurospice runs the analyses in the netlist)",
                    file, lineno
                ));
                continue;
            }
            if lower.starts_with(".endc") {
                return Err(Error::netlist(".endc without .control", Some(&loc0)));
            }
            let words: Vec<&str> = lower.split_whitespace().collect();
            if words.first() == Some(&".lib") && words.len() == 2 && section.is_none() {
                // a section definition met in normal flow: only used through `.lib FILE SECTION`
                lib_skip = Some((words[1].to_string(), loc0.clone()));
                continue;
            }
            if words.first() == Some(&".lib") && words.len() == 2 && section.is_some() {
                section_depth += 1; // nested section definition inside a section: keep scanning
                continue;
            }
            if words.first() == Some(&".endl") {
                continue;
            }
            let mut toks = Vec::new();
            let at = Line {
                file,
                lineno,
                text: &line_arc,
            };
            if words.first() == Some(&".title") {
                // the rest of the line is the title as written: not tokenized (it may hold
                // quotes, parentheses or `=`)
                title_card(raw_line, file, lineno, &line_arc, &mut toks);
            } else {
                tokenize(body, 0, &at, &mut toks, &mut open)?;
            }
            if toks.is_empty() && open.is_none() {
                continue;
            }
            let loc = match (toks.first(), &open) {
                (Some(t), _) => t.loc.clone(),
                (None, Some(o)) => o.tok.loc.clone(),
                (None, None) => loc0.clone(),
            };
            cur = Some(Card { toks, loc });
        }
        if let Some(c) = cur.take() {
            close_card(&mut open)?;
            self.finish(c, file)?;
        }
        if let Some(loc) = in_control {
            return Err(Error::netlist(
                "missing .endc for this .control block",
                Some(&loc),
            ));
        }
        if let Some((name, loc)) = lib_skip {
            return Err(Error::netlist(
                format!("missing .endl for library section '{name}'"),
                Some(&loc),
            ));
        }
        if let Some(sec) = section
            && !found_section
        {
            return Err(Error::netlist(
                format!("library section '{sec}' not found in '{file}'"),
                None,
            ));
        }
        Ok(())
    }

    fn finish(&mut self, card: Card, file: &Arc<str>) -> Result<()> {
        let name = card.name().to_string();
        if name == ".include" || name == ".inc" || (name == ".lib" && card.toks.len() >= 3) {
            if self.depth > 32 {
                return Err(Error::netlist(
                    "include nesting deeper than 32 levels (an include cycle?)",
                    Some(&card.loc),
                ));
            }
            let Some(ft) = card.toks.get(1) else {
                return Err(Error::netlist(
                    format!("{name} needs a file name"),
                    Some(&card.loc),
                ));
            };
            let rel = ft.raw.trim_matches('"').trim_matches('\'');
            let p = Path::new(rel);
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base_dir(file).join(p)
            };
            // a device or a folder (`/dev/zero`) would be read forever or fail obscurely
            if full.exists() && !full.is_file() {
                return Err(Error::netlist(
                    format!("include '{}' is not a regular file", full.display()),
                    Some(&ft.loc),
                ));
            }
            let bytes = std::fs::read(&full).map_err(|e| {
                Error::netlist(
                    format!("cannot read include file '{}': {e}", full.display()),
                    Some(&ft.loc),
                )
            })?;
            let fname: Arc<str> = Arc::from(full.to_string_lossy().as_ref());
            let (text, warning) = decode(&bytes, &fname);
            self.out.warnings.extend(warning);
            let text = unify_line_ends(&text).into_owned();
            self.depth += 1;
            let r = if name == ".lib" {
                let sec = card.toks[2].text.clone();
                self.lex_lines(&text, &fname, 1, Mode::Section(&sec))
                    .map_err(|e| {
                        if e.loc.is_none() {
                            e.with_loc(Some(&card.toks[2].loc))
                        } else {
                            e
                        }
                    })
            } else {
                self.lex_lines(&text, &fname, 1, Mode::Include)
            };
            self.depth -= 1;
            return r;
        }
        self.out.cards.push(card);
        Ok(())
    }
}

/// A `.title TEXT` line: the keyword, then the text (case and all) as one word.
fn title_card(line: &str, file: &Arc<str>, lineno: usize, text: &Arc<str>, out: &mut Vec<Tok>) {
    let lead = line.len() - line.trim_start().len();
    let kw_end = lead + ".title".len();
    let loc = |b0: usize, b1: usize| Loc {
        file: file.clone(),
        line: lineno,
        col: line[..b0].chars().count() + 1,
        len: line[b0..b1].chars().count().max(1),
        text: text.clone(),
    };
    out.push(Tok {
        kind: TokKind::Word,
        text: ".title".into(),
        raw: line[lead..kw_end].to_string(),
        loc: loc(lead, kw_end),
    });
    let rest = line.get(kw_end..).unwrap_or("");
    let title = rest.trim();
    if !title.is_empty() {
        let b0 = kw_end + (rest.len() - rest.trim_start().len());
        out.push(Tok {
            kind: TokKind::Word,
            text: title.to_ascii_lowercase(),
            raw: title.to_string(),
            loc: loc(b0, b0 + title.len()),
        });
    }
}

fn is_sep(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '{' | '}' | '=' | ',' | '\'' | '"')
}

/// The physical line being tokenized.
struct Line<'a> {
    file: &'a Arc<str>,
    lineno: usize,
    text: &'a Arc<str>,
}

/// An expression token (`{...}` or `'...'`) that goes on past the end of its physical line
/// on the `+` continuation lines that follow (the PDKs write long behavioural expressions
/// so). Its location is where it starts; its text joins the lines with a space.
struct Open {
    tok: Tok,
    /// `}` or `'`.
    close: char,
    /// Brace depth inside a `{...}`.
    depth: i32,
}

/// The card ends: an expression still open is unbalanced.
fn close_card(open: &mut Option<Open>) -> Result<()> {
    match open.take() {
        None => Ok(()),
        Some(o) if o.close == '}' => Err(Error::syntax(
            "unbalanced '{' (no closing '}' on this line or its continuation lines)",
            &o.tok.loc,
        )),
        Some(o) => Err(Error::syntax(
            "unbalanced quote ' (no closing ' on this line or its continuation lines)",
            &o.tok.loc,
        )),
    }
}

/// Scans `chars[from..]` for the end of an open expression: the index of its closing
/// character, or `None` when the line ends first.
fn scan_close(chars: &[(usize, char)], from: usize, close: char, depth: &mut i32) -> Option<usize> {
    for (j, &(_, c)) in chars.iter().enumerate().skip(from) {
        if close == '}' {
            match c {
                '{' => *depth += 1,
                '}' => {
                    *depth -= 1;
                    if *depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        } else if c == close {
            return Some(j);
        }
    }
    None
}

/// Splits one physical line (from byte `start`) into tokens; `open` carries an expression
/// token across continuation lines.
fn tokenize(
    line: &str,
    start: usize,
    at: &Line,
    out: &mut Vec<Tok>,
    open: &mut Option<Open>,
) -> Result<()> {
    let (file, lineno, text) = (at.file, at.lineno, at.text);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    // the column is the character index (a search, not a count: a 200,000-point PWL line
    // has 400,000 tokens)
    let col_of = |byte: usize| chars.partition_point(|&(b, _)| b < byte) + 1;
    let mk = |kind, s: &str, b0: usize, b1: usize| Tok {
        kind,
        text: s.to_ascii_lowercase(),
        raw: s.to_string(),
        loc: Loc {
            file: file.clone(),
            line: lineno,
            col: col_of(b0),
            len: line[b0..b1].chars().count().max(1),
            text: text.clone(),
        },
    };
    let mut i = chars
        .iter()
        .position(|&(b, _)| b >= start)
        .unwrap_or(chars.len());
    if let Some(mut o) = open.take() {
        let b0 = chars.get(i).map(|p| p.0).unwrap_or(line.len());
        match scan_close(&chars, i, o.close, &mut o.depth) {
            Some(j) => {
                let piece = &line[b0..chars[j].0];
                o.tok.text.push(' ');
                o.tok.text.push_str(&piece.to_ascii_lowercase());
                o.tok.raw.push(' ');
                o.tok.raw.push_str(piece);
                out.push(o.tok);
                i = j + 1;
            }
            None => {
                let piece = &line[b0..];
                o.tok.text.push(' ');
                o.tok.text.push_str(&piece.to_ascii_lowercase());
                o.tok.raw.push(' ');
                o.tok.raw.push_str(piece);
                *open = Some(o);
                return Ok(());
            }
        }
    }
    while i < chars.len() {
        let (b, c) = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push(mk(TokKind::LParen, "(", b, b + 1));
                i += 1;
            }
            ')' => {
                out.push(mk(TokKind::RParen, ")", b, b + 1));
                i += 1;
            }
            '}' => {
                let t = mk(TokKind::Word, "}", b, b + 1);
                return Err(Error::syntax("unbalanced '}' (no matching '{')", &t.loc));
            }
            '=' => {
                out.push(mk(TokKind::Eq, "=", b, b + 1));
                i += 1;
            }
            '{' => {
                let mut depth = 0;
                let Some(j) = scan_close(&chars, i, '}', &mut depth) else {
                    // goes on on the continuation lines
                    let inner = &line[b + 1..];
                    let mut t = mk(TokKind::Expr, inner, b, line.len());
                    t.loc.col += 1;
                    t.loc.len = inner.chars().count().max(1);
                    *open = Some(Open {
                        tok: t,
                        close: '}',
                        depth,
                    });
                    return Ok(());
                };
                let inner = &line[b + 1..chars[j].0];
                let mut t = mk(TokKind::Expr, inner, b, chars[j].0 + 1);
                t.loc.col += 1;
                t.loc.len = inner.chars().count().max(1);
                out.push(t);
                i = j + 1;
            }
            '\'' | '"' => {
                let q = c;
                let mut j = i + 1;
                while j < chars.len() && chars[j].1 != q {
                    j += 1;
                }
                if j >= chars.len() && q == '\'' {
                    // a quoted expression going on on the continuation lines
                    let inner = &line[b + 1..];
                    let mut t = mk(TokKind::Expr, inner, b, line.len());
                    t.loc.col += 1;
                    t.loc.len = inner.chars().count().max(1);
                    *open = Some(Open {
                        tok: t,
                        close: q,
                        depth: 0,
                    });
                    return Ok(());
                }
                if j >= chars.len() {
                    let t = mk(TokKind::Word, &line[b..b + 1], b, b + 1);
                    return Err(Error::syntax(
                        format!("unbalanced quote {q} (no closing {q} on this line)"),
                        &t.loc,
                    ));
                }
                let inner = &line[b + 1..chars[j].0];
                let kind = if q == '\'' {
                    TokKind::Expr
                } else {
                    TokKind::Word
                };
                let mut t = mk(kind, inner, b, chars[j].0 + 1);
                t.loc.col += 1;
                t.loc.len = inner.chars().count().max(1);
                out.push(t);
                i = j + 1;
            }
            _ => {
                let mut j = i;
                while j < chars.len() {
                    let cj = chars[j].1;
                    if cj == '=' {
                        // `<=`, `>=`, `==`, `!=` stay inside an expression word
                        let prev = if j > i { chars[j - 1].1 } else { ' ' };
                        let next = chars.get(j + 1).map(|p| p.1).unwrap_or(' ');
                        if matches!(prev, '<' | '>' | '!' | '=') || next == '=' {
                            j += 1;
                            continue;
                        }
                        break;
                    }
                    if is_sep(cj) {
                        break;
                    }
                    j += 1;
                }
                let e = if j < chars.len() {
                    chars[j].0
                } else {
                    line.len()
                };
                out.push(mk(TokKind::Word, &line[b..e], b, e));
                i = j;
            }
        }
    }
    Ok(())
}

/// Joins tokens back into the expression text they came from (the source text between the
/// first and last token of each physical line, so commas and spacing survive), remembering
/// where each piece starts so an error at an offset can point at the right column.
pub fn join_tokens(toks: &[Tok]) -> (String, Vec<(usize, Loc)>) {
    let mut s = String::new();
    let mut map = Vec::new();
    let mut i = 0;
    // an expression token that went on over continuation lines is not in its line's text
    let multiline = |t: &Tok| t.kind == TokKind::Expr && t.raw.chars().count() > t.loc.len;
    while i < toks.len() {
        let first = &toks[i];
        if multiline(first) {
            if !s.is_empty() {
                s.push(' ');
            }
            map.push((s.len(), first.loc.clone()));
            s.push(' ');
            s.push_str(&first.raw);
            s.push(' ');
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < toks.len()
            && toks[j + 1].loc.line == first.loc.line
            && Arc::ptr_eq(&toks[j + 1].loc.file, &first.loc.file)
            && !multiline(&toks[j + 1])
        {
            j += 1;
        }
        let last = &toks[j];
        let chars: Vec<char> = first.loc.text.chars().collect();
        // an Expr token's column is that of its inner text; include its delimiters
        let open = if first.kind == TokKind::Expr { 1 } else { 0 };
        let close = if last.kind == TokKind::Expr { 1 } else { 0 };
        let a = (first.loc.col - 1).saturating_sub(open);
        let b = (last.loc.col - 1 + last.loc.len + close).min(chars.len());
        if !s.is_empty() {
            s.push(' ');
        }
        let mut loc = first.loc.clone();
        loc.col = a + 1;
        map.push((s.len(), loc));
        let piece: String = chars[a.min(b)..b]
            .iter()
            .map(|&c| {
                if c == '{' || c == '}' || c == '\'' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        s.push_str(&piece);
        i = j + 1;
    }
    (s, map)
}

/// The location of byte `off` of a joined token string.
pub fn loc_at(map: &[(usize, Loc)], off: usize, len: usize) -> Option<Loc> {
    let (start, loc) = map.iter().rev().find(|(s, _)| *s <= off)?;
    let mut l = loc.clone();
    let d = off - start;
    l.col += d;
    l.len = len.max(1);
    Some(l)
}
