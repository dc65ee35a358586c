//! The control lines of a deck: what lies between `.control` and `.endc` (and `*#` lines),
//! with `+` continuations joined, comments removed and the case folded as ngspice folds it;
//! and the split of one line into words as ngspice's command lexer splits it.

use crate::error::{Error, Loc, Result};
use std::sync::Arc;

/// One logical control line.
#[derive(Debug, Clone)]
pub struct Line {
    /// The command text, comments removed, lowercased unless the command keeps its case.
    pub text: String,
    /// The deck line it starts on (a whole-line location).
    pub loc: Loc,
}

/// Commands whose line keeps its case: `echo` prints text, the others take file names or
/// case-sensitive strings (ngspice 39 folds every other control line to lower case).
const KEEP_CASE: &[&str] = &["echo", "write", "wrdata", "setcs", "gnuplot", "hardcopy"];

/// Cuts an end-of-line comment: `;` and `//` anywhere, `$` followed by a blank or at the end
/// (a `$` before a name is a variable). ngspice cuts these even inside quotes.
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b';' => return &line[..i],
            b'/' if b.get(i + 1) == Some(&b'/') => return &line[..i],
            b'$' if matches!(b.get(i + 1), None | Some(b' ') | Some(b'\t')) => {
                return &line[..i];
            }
            _ => {}
        }
    }
    line
}

fn fold_case(text: &str) -> String {
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if KEEP_CASE.contains(&first.as_str()) {
        text.to_string()
    } else {
        text.to_ascii_lowercase()
    }
}

/// The control lines of a deck, in order: every `.control` ... `.endc` block and every line
/// starting with `*#` outside them. `file` names the deck in locations.
pub fn extract(text: &str, file: &str) -> Result<Vec<Line>> {
    let file: Arc<str> = Arc::from(file);
    let mut out: Vec<Line> = Vec::new();
    let mut open: Option<Loc> = None;
    let mut last_was_control = false;
    for (i, raw) in text.lines().enumerate() {
        if i == 0 {
            continue; // the title
        }
        let lineno = i + 1;
        let trimmed = raw.trim_start();
        let lower = trimmed.to_ascii_lowercase();
        let loc = Loc {
            file: file.clone(),
            line: lineno,
            col: raw.len() - trimmed.len() + 1,
            len: 0,
            text: Arc::from(raw),
        };
        if open.is_none() {
            if lower.starts_with(".control") {
                open = Some(loc);
                last_was_control = false;
            } else if lower.starts_with(".endc") {
                return Err(Error::netlist(".endc without .control", Some(&loc)));
            } else if let Some(cmd) = trimmed.strip_prefix("*#") {
                let body = strip_comment(cmd).trim();
                if !body.is_empty() {
                    out.push(Line {
                        text: fold_case(body),
                        loc,
                    });
                }
            } else if lower.starts_with(".end") && !lower.starts_with(".ends") {
                break;
            }
            continue;
        }
        if lower.starts_with(".endc") {
            open = None;
            continue;
        }
        if lower.starts_with(".control") {
            return Err(Error::netlist(
                ".control inside a .control block (missing .endc before it?)",
                Some(&loc),
            ));
        }
        if trimmed.is_empty() || trimmed.starts_with('*') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('+') {
            let body = strip_comment(rest).trim();
            match out.last_mut() {
                Some(prev) if last_was_control => {
                    if !body.is_empty() {
                        let folded = fold_case(&format!("{} {body}", prev.text));
                        prev.text = folded;
                    }
                    continue;
                }
                _ => {
                    return Err(Error::syntax(
                        "continuation line '+' with no control line before it",
                        &Loc { len: 1, ..loc },
                    ));
                }
            }
        }
        let body = strip_comment(trimmed).trim_end();
        if body.trim().is_empty() {
            continue;
        }
        out.push(Line {
            text: fold_case(body),
            loc,
        });
        last_was_control = true;
    }
    if let Some(loc) = open {
        return Err(Error::netlist(
            "missing .endc for this .control block",
            Some(&loc),
        ));
    }
    Ok(out)
}

/// Splits a control line into words as ngspice's lexer does: blanks separate words; `'...'`
/// groups without its quotes; `"..."` and `` `...` `` group and keep their quotes (commands
/// remove them); `\` takes the next character literally; a `,` outside parentheses and
/// brackets separates words; `<`, `>` and `&` are words of their own (except `<=`, `>=`
/// and `$&`).
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut paren = 0i32;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let flush = |buf: &mut String, out: &mut Vec<String>| {
        if !buf.is_empty() {
            out.push(std::mem::take(buf));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '(' | '[' => {
                paren += 1;
                buf.push(c);
            }
            ')' | ']' => {
                paren -= 1;
                buf.push(c);
            }
            ' ' | '\t' | '\r' | '\n' => flush(&mut buf, &mut out),
            '\\' => {
                if let Some(&n) = chars.get(i) {
                    buf.push(n);
                    i += 1;
                }
            }
            '\'' => {
                while i < chars.len() && chars[i] != '\'' {
                    buf.push(chars[i]);
                    i += 1;
                }
                i += 1; // the closing quote, if any
            }
            '"' | '`' => {
                buf.push(c);
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    buf.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    buf.push(c);
                    i += 1;
                }
            }
            ',' if paren < 1 && !buf.is_empty() => flush(&mut buf, &mut out),
            '&' if buf.ends_with('$') => buf.push(c),
            '<' | '>' if buf.is_empty() && chars.get(i) == Some(&'=') => buf.push(c),
            '<' | '>' | '&' => {
                if c == '<' && buf.ends_with('$') {
                    buf.push(c);
                } else {
                    flush(&mut buf, &mut out);
                    out.push(c.to_string());
                }
            }
            _ => buf.push(c),
        }
    }
    flush(&mut buf, &mut out);
    out
}

/// Removes the double quotes (or backquotes) around a word, when it starts and ends with
/// one (ngspice's `cp_unquote`; `"in"side` keeps its quotes).
pub fn unquote(w: &str) -> String {
    let b = w.as_bytes();
    if b.len() >= 2
        && ((b[0] == b'"' && b[b.len() - 1] == b'"') || (b[0] == b'`' && b[b.len() - 1] == b'`'))
    {
        return w[1..w.len() - 1].to_string();
    }
    w.to_string()
}

/// csh brace expansion: `a{1,2}b` is `a1b a2b`; nested braces expand in turn. A `{`
/// without its `}` is an error, as in ngspice; braces inside quotes expand too, and `{}` is
/// the empty string (ngspice 39).
/// At most `limit` words come out.
pub fn expand_braces(word: &str, limit: usize) -> super::CResult<Vec<String>> {
    let mut done = Vec::new();
    let mut todo = vec![word.to_string()];
    while let Some(w) = todo.pop() {
        match brace_span(&w)? {
            None => done.push(w),
            Some((open, close)) => {
                let inner = &w[open + 1..close];
                let mut parts = Vec::new();
                let (mut depth, mut start) = (0i32, 0usize);
                for (k, ch) in inner.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            parts.push(&inner[start..k]);
                            start = k + 1;
                        }
                        _ => {}
                    }
                }
                parts.push(&inner[start..]);
                for p in parts.iter().rev() {
                    todo.push(format!("{}{p}{}", &w[..open], &w[close + 1..]));
                }
            }
        }
        if done.len() + todo.len() > limit {
            return Err(cerr!(
                "brace expansion of '{word}' makes more than {limit} words"
            ));
        }
    }
    Ok(done)
}

/// The first `{` outside double quotes with its matching `}`.
fn brace_span(w: &str) -> super::CResult<Option<(usize, usize)>> {
    let mut open = None;
    let mut depth = 0i32;
    for (k, ch) in w.char_indices() {
        match ch {
            '{' => {
                if open.is_none() {
                    open = Some(k);
                }
                depth += 1;
            }
            '}' if open.is_some() => {
                depth -= 1;
                if depth == 0 {
                    return Ok(open.map(|o| (o, k)));
                }
            }
            _ => {}
        }
    }
    match open {
        Some(_) => Err(cerr!("missing }} in '{w}'")),
        None => Ok(None),
    }
}

/// The `.model` cards of a model file (`altermod ... file=`): each model's lowercase name
/// and its `param = value` pairs in order (`+` continuations joined, comments removed).
pub fn model_cards(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut logical: Vec<String> = Vec::new();
    for raw in text.lines() {
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('*') {
            continue;
        }
        let body = strip_comment(t);
        match body.strip_prefix('+') {
            Some(rest) => {
                if let Some(last) = logical.last_mut() {
                    last.push(' ');
                    last.push_str(rest);
                }
            }
            None => logical.push(body.to_string()),
        }
    }
    let mut out = Vec::new();
    for l in logical {
        let l = l.to_ascii_lowercase();
        if !l.starts_with(".model") {
            continue;
        }
        let flat: String = l
            .chars()
            .map(|c| {
                if c == '(' || c == ')' || c == ',' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let spaced = flat.replace('=', " = ");
        let toks: Vec<&str> = spaced.split_whitespace().collect();
        if toks.len() < 3 {
            continue;
        }
        let mut params = Vec::new();
        let mut i = 3;
        while i < toks.len() {
            if toks.get(i + 1) == Some(&"=")
                && let Some(v) = toks.get(i + 2)
            {
                params.push((toks[i].to_string(), (*v).to_string()));
                i += 3;
            } else {
                i += 1;
            }
        }
        out.push((toks[1].to_string(), params));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_files() {
        let m = model_cards(
            "* models\n.MODEL NCH nmos (level=1 VTO = 0.7\n+ kp=2e-5)\n.model d1 d is=1e-14 ; c\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0, "nch");
        assert_eq!(
            m[0].1,
            [
                ("level".to_string(), "1".to_string()),
                ("vto".into(), "0.7".into()),
                ("kp".into(), "2e-5".into())
            ]
        );
        assert_eq!(m[1].1, [("is".to_string(), "1e-14".to_string())]);
    }

    #[test]
    fn words_split_like_ngspice() {
        assert_eq!(words("print v(a,b) x,y"), ["print", "v(a,b)", "x", "y"]);
        assert_eq!(
            words("echo 'a b' \"c d\" e\\ f"),
            ["echo", "a b", "\"c d\"", "e f"]
        );
        assert_eq!(words("let r = 2>1"), ["let", "r", "=", "2", ">", "1"]);
        assert_eq!(words("if a >= b"), ["if", "a", ">=", "b"]);
        assert_eq!(words("echo $&x"), ["echo", "$&x"]);
    }

    #[test]
    fn control_lines_are_collected() {
        let deck = "t\nR1 a 0 1\n.control\n* c\n  Echo Hi ; no\nLet X = 1 $ c\n+ + 2\nprint x // z\n.endc\n*# echo late\n.end\n";
        let l = extract(deck, "d.cir").unwrap();
        let t: Vec<&str> = l.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(t, ["Echo Hi", "let x = 1 + 2", "print x", "echo late"]);
        assert_eq!(l[1].loc.line, 6);
        assert!(extract("t\n.control\necho\n", "d").is_err());
        assert!(extract("t\n.endc\n", "d").is_err());
    }

    #[test]
    fn braces_expand() {
        assert_eq!(expand_braces("a{1,2}b", 10).unwrap(), ["a1b", "a2b"]);
        assert_eq!(expand_braces("{x}", 10).unwrap(), ["x"]);
        assert_eq!(expand_braces("{a,{b,c}}", 10).unwrap(), ["a", "b", "c"]);
        assert_eq!(expand_braces("\"{a,b}\"", 10).unwrap(), ["\"a\"", "\"b\""]);
        assert_eq!(expand_braces("c{}d", 10).unwrap(), ["cd"]);
        assert!(expand_braces("a{b", 10).is_err());
        assert!(expand_braces("{a,b}{a,b}{a,b}{a,b}", 10).is_err());
    }
}
