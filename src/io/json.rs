//! Flat JSON objects of name -> number (`run --op-json`).

use super::atomic::write_atomic;
use crate::error::{Error, Result};
use std::path::Path;

/// A flat JSON object of name -> number.
pub fn write_json_pairs(path: &Path, pairs: &[(String, f64)]) -> Result<()> {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.insert(k.clone(), serde_json::Value::from(*v));
    }
    let s = serde_json::to_string_pretty(&serde_json::Value::Object(m))
        .map_err(|e| Error::output(e.to_string()))?;
    write_atomic(path, |w| w.write_all(s.as_bytes()))
}
