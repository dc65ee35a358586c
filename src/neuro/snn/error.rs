//! Errors of the network-level (`snn`) part.

use std::path::PathBuf;

/// Everything that can go wrong reading data, models and neuron files, training or evaluating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnnError {
    /// The operating system refused to open, read or write a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// File that failed.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A data, model or neuron file is malformed; `location` is a line or byte offset.
    #[error("{}: {location}: {message}", path.display())]
    Format {
        /// Offending file.
        path: PathBuf,
        /// Where in the file, e.g. `line 12` or `byte 16`.
        location: String,
        /// What was found and what was expected.
        message: String,
    },
    /// Inconsistent options or arguments (bad neuron spec, split on foreign data, ...).
    #[error("{0}")]
    Invalid(String),
}

impl SnnError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SnnError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(
        path: impl Into<PathBuf>,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SnnError::Format {
            path: path.into(),
            location: location.into(),
            message: message.into(),
        }
    }
}
