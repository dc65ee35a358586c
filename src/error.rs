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

/// What went wrong; the variant says which layer found it and [`Kind::exit_code`] what the
/// process exits with (the table in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The text could not be read as a netlist (bad token, unbalanced bracket): drawn with a caret.
    Syntax,
    /// The netlist is well-formed but not meaningful (unknown model, floating node, ...).
    Netlist,
    /// An input file is missing or cannot be read.
    Io,
    /// The numerical solution failed (no convergence, singular matrix, timestep too small).
    Numeric,
    /// A command-line value is invalid, or options contradict each other.
    Usage,
    /// A data file (model, dataset, neuron file, table, raw file) is malformed.
    Data,
    /// An output file could not be written (or a figure drawn).
    Output,
}

impl Kind {
    /// The process exit code of an error of this kind (the table in README.md): 1 when the
    /// input was rejected (netlist, model card, data file, or a file they name that cannot be
    /// read), 2 for a command line that is wrong (clap exits 2 itself when it does not
    /// parse; our own checks of flag values use the same code), 3 when the numerics failed
    /// (no convergence, singular matrix, timestep too small), 4 when an output could not be
    /// written.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Syntax | Kind::Netlist | Kind::Io | Kind::Data => 1,
            Kind::Usage => 2,
            Kind::Numeric => 3,
            Kind::Output => 4,
        }
    }
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
    /// An output file could not be written.
    pub fn output(msg: impl Into<String>) -> Self {
        Error {
            kind: Kind::Output,
            msg: msg.into(),
            loc: None,
            notes: vec![],
        }
    }
    /// An input file could not be opened or read: `path: what the system said`.
    pub fn read(path: impl AsRef<std::path::Path>, e: std::io::Error) -> Self {
        Error::of(Kind::Io, format!("{}: {e}", path.as_ref().display()))
    }
    /// A malformed data file: `path: location: message` (location like `line 12`, `byte 16`).
    pub fn format(
        path: impl AsRef<std::path::Path>,
        location: impl fmt::Display,
        message: impl fmt::Display,
    ) -> Self {
        Error::data(format!(
            "{}: {location}: {message}",
            path.as_ref().display()
        ))
    }
    /// A data file that cannot serve: `source: message`.
    pub fn data_in(source: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::data(format!("{source}: {message}"))
    }
    /// A column (key, signal, layer) asked for is not in a data file: `source: no column
    /// `name` (it has: a, b, c)`.
    pub fn missing_column(
        source: impl fmt::Display,
        column: impl fmt::Display,
        available: impl fmt::Display,
    ) -> Self {
        Error::data(format!(
            "{source}: no column `{column}` (it has: {available})"
        ))
    }
    /// A malformed line of a data table: `source:line: message`.
    pub fn at_line(source: &str, line: usize, message: impl fmt::Display) -> Self {
        Error::data(format!("{source}:{line}: {message}"))
    }
    /// An error of `kind` with a message and nothing else.
    pub fn of(kind: Kind, msg: impl Into<String>) -> Self {
        Error {
            kind,
            msg: msg.into(),
            loc: None,
            notes: vec![],
        }
    }
    /// The same error with `prefix: ` in front of its message (what was being done).
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.msg = format!("{prefix}: {}", self.msg);
        self
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
