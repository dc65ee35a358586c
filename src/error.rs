//! Errors: every failure a user can cause carries the file, line and column it came from
//! (or the node and device it concerns) and renders like a compiler diagnostic.

use std::fmt;
use std::sync::Arc;

/// A position in a netlist file.
#[derive(Debug, Clone)]
pub struct Loc {
    /// Path as the user gave it (or as resolved for an `.include`).
    pub file: Arc<str>,
    /// 1-based physical line.
    pub line: usize,
    /// 1-based column (in characters) of the offending token.
    pub col: usize,
    /// Width of the offending token in characters (at least 1 when a caret is drawn).
    pub len: usize,
    /// The physical line's text, for rendering.
    pub text: Arc<str>,
}

impl Loc {
    /// A location that points at a whole line rather than one token.
    pub fn line_only(&self) -> Loc {
        Loc {
            col: 1,
            len: 0,
            ..self.clone()
        }
    }
}

/// What went wrong; the variant says which layer found it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The text could not be read as a netlist (bad token, unbalanced bracket): drawn with a caret.
    Syntax,
    /// The netlist is well-formed but not meaningful (unknown model, floating node, ...).
    Netlist,
    /// A file could not be read or written.
    Io,
    /// The numerical solution failed (no convergence, singular matrix, timestep too small).
    Numeric,
    /// A command-line argument is invalid.
    Usage,
    /// A data file (model, dataset, table) is corrupt.
    Data,
}

/// The crate's error: a message, where it happened, and notes that say what was tried.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub msg: String,
    pub loc: Option<Loc>,
    pub notes: Vec<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn syntax(msg: impl Into<String>, loc: &Loc) -> Self {
        Error {
            kind: Kind::Syntax,
            msg: msg.into(),
            loc: Some(loc.clone()),
            notes: vec![],
        }
    }
    pub fn netlist(msg: impl Into<String>, loc: Option<&Loc>) -> Self {
        Error {
            kind: Kind::Netlist,
            msg: msg.into(),
            loc: loc.cloned(),
            notes: vec![],
        }
    }
    pub fn io(msg: impl Into<String>) -> Self {
        Error {
            kind: Kind::Io,
            msg: msg.into(),
            loc: None,
            notes: vec![],
        }
    }
    pub fn numeric(msg: impl Into<String>) -> Self {
        Error {
            kind: Kind::Numeric,
            msg: msg.into(),
            loc: None,
            notes: vec![],
        }
    }
    pub fn usage(msg: impl Into<String>) -> Self {
        Error {
            kind: Kind::Usage,
            msg: msg.into(),
            loc: None,
            notes: vec![],
        }
    }
    pub fn data(msg: impl Into<String>) -> Self {
        Error {
            kind: Kind::Data,
            msg: msg.into(),
            loc: None,
            notes: vec![],
        }
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    pub fn with_loc(mut self, loc: Option<&Loc>) -> Self {
        if self.loc.is_none() {
            self.loc = loc.cloned();
        }
        self
    }
}

impl fmt::Display for Error {
    /// Renders rustc-style: `error: msg`, ` --> file:line:col`, the line, a caret under the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.msg)?;
        if let Some(loc) = &self.loc {
            let w = loc.line.to_string().len();
            if loc.len > 0 {
                writeln!(
                    f,
                    "{:w$}--> {}:{}:{}",
                    "",
                    loc.file,
                    loc.line,
                    loc.col,
                    w = w + 1
                )?;
            } else {
                writeln!(f, "{:w$}--> {}:{}", "", loc.file, loc.line, w = w + 1)?;
            }
            writeln!(f, "{:w$} |", "", w = w)?;
            writeln!(f, "{} | {}", loc.line, loc.text.trim_end())?;
            if loc.len > 0 && self.kind == Kind::Syntax {
                let pad: String = loc
                    .text
                    .chars()
                    .take(loc.col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(
                    f,
                    "{:w$} | {}{}",
                    "",
                    pad,
                    "^".repeat(loc.len.max(1)),
                    w = w
                )?;
            }
        }
        for n in &self.notes {
            writeln!(f, "  = note: {n}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
