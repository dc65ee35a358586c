//! The one SPICE number grammar, for netlists, command-line values and plot options alike:
//! `1.5k`, `10pF`, `2meg`, `3mil`, `1e-9`, `4.7µ`. The scale suffixes are t g meg k m (milli)
//! u/µ/μ n p f a (atto) and mil (25.4 µm), case-insensitive; the letters after the scale are a
//! unit and ignored (`10ns`, `1kOhm`, `5µs`).

/// Parses a SPICE number; `None` unless `s` is a number followed only by a scale and unit
/// letters (no blanks: trim first where the text may have them), and for a number beyond the
/// range of a double (`1e999`: see [`out_of_range`] for the message).
pub fn parse_number(s: &str) -> Option<f64> {
    let (v, rest) = parse_prefix(s)?;
    let rest = rest.to_ascii_lowercase();
    if !rest.chars().all(|c| c.is_alphabetic() || c == '_') {
        return None;
    }
    Some(v * suffix_scale(&rest)).filter(|v| v.is_finite())
}

/// The message for a number that is one but beyond a double's range (`1e999`, `1e308k`);
/// `None` for anything else.
pub fn out_of_range(s: &str) -> Option<String> {
    let (v, rest) = parse_prefix(s)?;
    let v = v * suffix_scale(&rest.to_ascii_lowercase());
    (!v.is_finite()).then(|| format!("number '{s}' is out of range (magnitude above 1.8e308)"))
}

/// Scale of an SI suffix followed by arbitrary unit letters (`kohm` -> 1e3, `pf` -> 1e-12).
pub fn suffix_scale(rest: &str) -> f64 {
    if rest.starts_with("meg") {
        1e6
    } else if rest.starts_with("mil") {
        25.4e-6
    } else {
        match rest.chars().next() {
            Some('t') => 1e12,
            Some('g') => 1e9,
            Some('k') => 1e3,
            Some('m') => 1e-3,
            Some('u') | Some('µ') | Some('μ') => 1e-6,
            Some('n') => 1e-9,
            Some('p') => 1e-12,
            Some('f') => 1e-15,
            Some('a') => 1e-18,
            _ => 1.0,
        }
    }
}

/// The numeric part of `s` and what follows it.
pub fn parse_prefix(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let d0 = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i == d0 || (i == d0 + 1 && b[d0] == b'.') {
        return None;
    }
    // exponent only if followed by digits (so `1meg` is not `1e...`)
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let v: f64 = s[..i].parse().ok()?;
    Some((v, &s[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn suffixes() {
        let cases = [
            ("1k", 1e3),
            ("10pF", 10e-12),
            ("1.5kOhm", 1.5e3),
            ("2meg", 2e6),
            ("3mil", 3.0 * 25.4e-6),
            ("1e-9", 1e-9),
            ("1.0E3", 1e3),
            ("4u", 4e-6),
            ("5M", 5e-3),
            ("7MEG", 7e6),
            ("1n", 1e-9),
            ("2f", 2e-15),
            ("3g", 3e9),
            ("1t", 1e12),
            (".5", 0.5),
            ("-2.5m", -2.5e-3),
            ("10V", 10.0),
            ("1e3k", 1e6),
            ("4.7µ", 4.7e-6),
            ("2μs", 2e-6),
            ("5µA", 5e-6),
            ("10kΩ", 1e4),
            ("3a", 3e-18),
        ];
        for (s, v) in cases {
            let got = parse_number(s).unwrap();
            assert!((got - v).abs() <= 1e-12 * v.abs(), "{s}: {got} vs {v}");
        }
        for bad in [
            "abc", "", "k1", "1.2.3", "--1", "1k2", "1n5", " 1n", "1 n", "10k%",
        ] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
    }
}
