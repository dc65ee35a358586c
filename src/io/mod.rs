//! Files: every output is written through [`atomic`] (complete or not at all); [`csv`] is the
//! one CSV writer, splitter and reader; [`raw`] the ngspice raw format (write and read);
//! [`input`] reads inputs with a size limit; [`json`] the flat `--op-json` object; [`levels`] the MAC-level histogram table that
//! `capmin hist` writes and `plot capmin-hist` reads; [`stream`] the CSV and raw files a long
//! transient is streamed to as it runs (a temporary renamed into place at the end). A new output format goes here, written
//! through `atomic::write_atomic`, and names signals only as text (no device types).
pub mod atomic;
pub mod csv;
pub mod input;
pub mod json;
pub mod levels;
pub mod raw;
pub mod stream;
