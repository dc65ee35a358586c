//! Yield specifications of a Monte Carlo study (`--spec`).

use crate::error::{Error, Result};

/// A yield specification `NAME<VALUE`, `NAME>VALUE` (also `<=`, `>=`), or `LO<NAME<HI`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// As written, the key in summary.json.
    pub text: String,
    pub measure: String,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec> {
        let num = |s: &str| {
            crate::expr::number::parse_number(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
                Error::usage(format!("spec '{text}': '{}' is not a number", s.trim()))
            })
        };
        let clean = text.replace("<=", "<").replace(">=", ">");
        let parts: Vec<&str> = clean.split(['<', '>']).collect();
        let ops: Vec<char> = clean.chars().filter(|c| *c == '<' || *c == '>').collect();
        let bad = || {
            Error::usage(format!(
                "spec '{text}': expected NAME<VALUE, NAME>VALUE or LO<NAME<HI"
            ))
        };
        let (measure, lo, hi) = match (parts.as_slice(), ops.as_slice()) {
            ([m, v], ['<']) => (m.trim(), None, Some(num(v)?)),
            ([m, v], ['>']) => (m.trim(), Some(num(v)?), None),
            ([a, m, b], ['<', '<']) => (m.trim(), Some(num(a)?), Some(num(b)?)),
            ([a, m, b], ['>', '>']) => (m.trim(), Some(num(b)?), Some(num(a)?)),
            _ => return Err(bad()),
        };
        if measure.is_empty() {
            return Err(bad());
        }
        Ok(Spec {
            text: text.to_string(),
            measure: measure.to_ascii_lowercase(),
            lo,
            hi,
        })
    }
    /// Whether a measured value meets the spec (bounds are inclusive).
    pub fn pass(&self, v: f64) -> bool {
        v.is_finite() && self.lo.is_none_or(|lo| v >= lo) && self.hi.is_none_or(|hi| v <= hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let s = Spec::parse("tspike<520n").unwrap();
        assert_eq!(
            (s.measure.as_str(), s.lo, s.hi),
            ("tspike", None, Some(520e-9))
        );
        assert!(s.pass(500e-9) && !s.pass(530e-9) && !s.pass(f64::NAN));
        let s = Spec::parse("1u<iout<=2u").unwrap();
        assert_eq!((s.lo, s.hi), (Some(1e-6), Some(2e-6)));
        assert!(Spec::parse("tspike").is_err());
        assert!(Spec::parse("t<abc").is_err());
    }
}
