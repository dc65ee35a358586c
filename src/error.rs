//! Error types shared by the crate.
