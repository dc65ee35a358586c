//! Errors of the plotting layer: every one names the file (and line or column) it came from.

use std::path::PathBuf;

/// Why a figure could not be read or drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line of an input file is not what its format expects.
    #[error("{source_name}:{line}: {message}")]
    Parse {
        /// Input file (or `<memory>` for in-memory data).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// A column (or JSON key, or signal) asked for is not in the input.
    #[error("{source_name}: no column `{column}` (it has: {available})")]
    MissingColumn {
        /// Input file.
        source_name: String,
        /// The name that was asked for.
        column: String,
        /// The names the file does have, comma-separated.
        available: String,
    },
    /// The input is well-formed but cannot make this figure (no rows, one point, ...).
    #[error("{source_name}: {message}")]
    Data {
        /// Input file.
        source_name: String,
        /// What is missing.
        message: String,
    },
    /// The output file name does not end in `.svg` or `.png`.
    #[error("{}: output must end in .svg or .png", path.display())]
    OutputFormat {
        /// The output path given.
        path: PathBuf,
    },
    /// An option value is malformed or contradicts another.
    #[error("{0}")]
    Option(String),
    /// plotters failed while drawing.
    #[error("drawing failed: {0}")]
    Draw(String),
}

impl PlotError {
    pub(crate) fn parse(source_name: &str, line: usize, message: impl Into<String>) -> Self {
        PlotError::Parse {
            source_name: source_name.to_string(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn data(source_name: &str, message: impl Into<String>) -> Self {
        PlotError::Data {
            source_name: source_name.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PlotError::Io {
            path: path.into(),
            source,
        }
    }
}
