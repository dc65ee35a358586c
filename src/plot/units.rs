//! SI prefixes for axes, units guessed from column names, and SPICE-style numbers.

/// The SI prefixes an axis may use, as (power of ten, symbol).
const PREFIXES: [(i32, &str); 10] = [
    (-15, "f"),
    (-12, "p"),
    (-9, "n"),
    (-6, "µ"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
];

/// The physical unit of a column, guessed from its name.
///
/// Conventions (documented in docs/plot.md, and followed by every producer in the crate):
/// `time` is seconds; `v(...)` volts and `i(...)` amperes as in SPICE; a name ending in
/// `_s`, `_f`, `_v`, `_a`, `_hz`, `_ohm` or `_w` carries that unit (`spike_time_s`,
/// `capacitance_f`), `_um2` is an area in µm² (device sizes). Anything else is
/// dimensionless.
pub fn unit_of(name: &str) -> Option<&'static str> {
    let n = name.trim().to_ascii_lowercase();
    if n == "time" || n == "t" {
        return Some("s");
    }
    if n.starts_with("v(") {
        return Some("V");
    }
    if n.starts_with("i(") {
        return Some("A");
    }
    const SUFFIXES: [(&str, &str); 8] = [
        ("_um2", "µm²"),
        ("_s", "s"),
        ("_f", "F"),
        ("_v", "V"),
        ("_a", "A"),
        ("_hz", "Hz"),
        ("_ohm", "Ω"),
        ("_w", "W"),
    ];
    SUFFIXES
        .iter()
        .find(|(suffix, _)| n.ends_with(suffix))
        .map(|(_, unit)| *unit)
}

/// Whether a unit takes SI prefixes: `µm²` already has one, and `%` or `°C` take none.
pub fn prefixable(unit: &str) -> bool {
    !matches!(unit, "µm²" | "%" | "°C")
}

/// The quantity a unit measures, used when one axis shows several signals.
pub fn quantity_of(unit: &str) -> &'static str {
    match unit {
        "V" => "voltage",
        "A" => "current",
        "s" => "time",
        "F" => "capacitance",
        "Hz" => "frequency",
        "Ω" => "resistance",
        "W" => "power",
        _ => "value",
    }
}

/// How an axis shows its numbers: values are divided by `10^exponent` and the label says
/// which prefix (or power of ten, for dimensionless axes) that stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisScale {
    /// Power of ten the tick values are divided by (a multiple of 3).
    pub exponent: i32,
    /// The unit of the data, if any (`"s"`, `"V"`, ...).
    pub unit: Option<String>,
}

impl AxisScale {
    /// Pick the engineering exponent so that the largest magnitude in `[lo, hi]` shows
    /// between 1 and 1000.
    pub fn for_range(lo: f64, hi: f64, unit: Option<&str>) -> Self {
        let m = lo.abs().max(hi.abs());
        let exponent = if m.is_finite() && m > 0.0 {
            let e = (m.log10() / 3.0).floor() as i32 * 3;
            e.clamp(-15, 12)
        } else {
            0
        };
        // Dimensionless numbers (and units that take no prefix) between 0.001 and 10000
        // read better as they are.
        let plain = unit.is_none_or(|u| !prefixable(u));
        let exponent = if plain && (1e-3..1e4).contains(&m) {
            0
        } else {
            exponent
        };
        AxisScale {
            exponent,
            unit: unit.map(str::to_string),
        }
    }

    /// Identity scale: values shown as they are.
    pub fn plain(unit: Option<&str>) -> Self {
        AxisScale {
            exponent: 0,
            unit: unit.map(str::to_string),
        }
    }

    /// The unit with its prefix (`"ns"`), or for dimensionless axes `"×1e-9"`; empty when
    /// there is nothing to say.
    pub fn unit_text(&self) -> String {
        match &self.unit {
            Some(u) if !prefixable(u) && self.exponent != 0 => {
                format!("×1e{} {u}", self.exponent)
            }
            Some(u) => {
                let prefix = PREFIXES
                    .iter()
                    .find(|(e, _)| *e == self.exponent)
                    .map(|(_, p)| *p)
                    .unwrap_or("");
                format!("{prefix}{u}")
            }
            None if self.exponent != 0 => format!("×1e{}", self.exponent),
            None => String::new(),
        }
    }

    /// An axis label: `"name (unit)"`, or just the name.
    pub fn label(&self, name: &str) -> String {
        let u = self.unit_text();
        if u.is_empty() {
            name.to_string()
        } else {
            format!("{name} ({u})")
        }
    }

    /// A value in display units.
    pub fn to_display(&self, v: f64) -> f64 {
        v / 10f64.powi(self.exponent)
    }

    /// A value with its prefixed unit, three significant digits: `"1.23 ns"`.
    pub fn format_value(v: f64, unit: Option<&str>) -> String {
        let s = AxisScale::for_range(v, v, unit);
        let d = s.to_display(v);
        // three significant digits (a plain number below 1 keeps them: 0.00253)
        let digits = if d.abs() >= 100.0 {
            0
        } else if d.abs() >= 10.0 {
            1
        } else if d.abs() >= 1.0 || d == 0.0 || !d.is_finite() {
            2
        } else {
            (2.0 - d.abs().log10().floor()).clamp(2.0, 9.0) as usize
        };
        let u = s.unit_text();
        if u.is_empty() {
            format!("{d:.digits$}")
        } else if u.starts_with('×') {
            format!("{d:.digits$}{u}")
        } else {
            format!("{d:.digits$} {u}")
        }
    }
}

/// A number with an SI prefix and no unit, up to three significant digits: `1e-7` is
/// `100n`, `2.5e-6` is `2.5µ`, `1500` is `1.5k` (log-axis ticks, which carry their own
/// prefixes while the axis label names the unit).
pub fn si_text(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return tick_text(v, 0);
    }
    let s = AxisScale::for_range(v, v, Some(""));
    let d = s.to_display(v);
    let prefix = s.unit_text();
    // Three significant digits of a mantissa in [1, 1000).
    let decimals = if d.abs() >= 100.0 {
        0
    } else if d.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{}{prefix}", tick_text(d, decimals))
}

/// Tick text for a value already in display units: at most `decimals` decimals, trailing
/// zeros trimmed, and no `-0`.
pub fn tick_text(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// Decimals needed to tell apart ticks spaced about `span / count` apart.
pub fn tick_decimals(span: f64, count: usize) -> usize {
    let step = span.abs() / count.max(1) as f64;
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    // One digit more than the step's leading digit, so 0.25-type steps survive trimming.
    (1.0 - step.log10().floor()).clamp(0.0, 9.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option values `plot --from/--to` took from its own parser before it used the crate's
    /// one grammar (`expr::number`), still read the same.
    #[test]
    fn spice_numbers() {
        let parse_spice_number = |t: &str| crate::expr::number::parse_number(t.trim());
        let cases = [
            ("10n", 10e-9),
            ("10ns", 10e-9),
            ("1.5us", 1.5e-6),
            ("2e-9", 2e-9),
            ("1meg", 1e6),
            ("5m", 5e-3),
            ("3", 3.0),
            ("-4.5p", -4.5e-12),
            ("7s", 7.0),
            ("1e3k", 1e6),
        ];
        for (text, want) in cases {
            let got = parse_spice_number(text).unwrap_or(f64::NAN);
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{text}: {got}");
        }
        assert_eq!(parse_spice_number("abc"), None);
        assert_eq!(parse_spice_number("1n5"), None);
        assert_eq!(parse_spice_number(""), None);
    }

    #[test]
    fn prefixes_follow_magnitude() {
        assert_eq!(
            AxisScale::for_range(0.0, 12e-9, Some("s")).unit_text(),
            "ns"
        );
        assert_eq!(AxisScale::for_range(-0.2, 0.9, Some("V")).unit_text(), "mV");
        assert_eq!(AxisScale::for_range(0.0, 1.2, Some("V")).unit_text(), "V");
        assert_eq!(AxisScale::for_range(0.0, 3e-6, Some("A")).unit_text(), "µA");
        assert_eq!(AxisScale::for_range(0.0, 0.5, None).unit_text(), "");
        assert_eq!(AxisScale::for_range(0.0, 5e-9, None).unit_text(), "×1e-9");
        assert_eq!(AxisScale::format_value(1.234e-9, Some("s")), "1.23 ns");
    }

    /// Hand-computed engineering notation: mantissa in [1, 1000), exponent a multiple of 3.
    #[test]
    fn engineering_prefixes_by_hand() {
        // 450e-9 s is 450 ns; 26.5e-9 s is 26.5 ns; 3.2e-6 A is 3.20 µA (three digits).
        assert_eq!(AxisScale::format_value(450e-9, Some("s")), "450 ns");
        assert_eq!(AxisScale::format_value(26.54e-9, Some("s")), "26.5 ns");
        assert_eq!(AxisScale::format_value(3.2e-6, Some("A")), "3.20 µA");
        assert_eq!(AxisScale::format_value(-0.45, Some("V")), "-450 mV");
        assert_eq!(AxisScale::format_value(1.5e-15, Some("C")), "1.50 fC");
        assert_eq!(AxisScale::format_value(2.2e3, Some("Ω")), "2.20 kΩ");
        // 999.6e-9 rounds to 1000 at three digits: still ns, not a jump to µs.
        assert_eq!(AxisScale::format_value(1e-6, Some("s")), "1.00 µs");
        assert_eq!(
            AxisScale::for_range(0.0, 450e-9, Some("s")).label("tcross"),
            "tcross (ns)"
        );
        assert_eq!(
            AxisScale::for_range(-2e-6, 1e-6, Some("A")).label("i(vdd)"),
            "i(vdd) (µA)"
        );
        assert_eq!(si_text(1e-7), "100n");
        assert_eq!(si_text(1e-6), "1µ");
        assert_eq!(si_text(2.5e-6), "2.5µ");
        assert_eq!(si_text(1500.0), "1.5k");
        assert_eq!(si_text(1.0), "1");
        assert_eq!(si_text(0.01), "10m");
    }

    #[test]
    fn units_from_names() {
        assert_eq!(unit_of("time"), Some("s"));
        assert_eq!(unit_of("V(mem)"), Some("V"));
        assert_eq!(unit_of("i(v1)"), Some("A"));
        assert_eq!(unit_of("capacitance_f"), Some("F"));
        assert_eq!(unit_of("spike_time_s"), Some("s"));
        assert_eq!(unit_of("accuracy"), None);
        assert_eq!(unit_of("unit_area_um2"), Some("µm²"));
    }

    /// µm², % and °C take no SI prefix: 0.003 µm² is not "3 mµm²".
    #[test]
    fn units_without_prefixes() {
        assert_eq!(
            AxisScale::for_range(0.0003, 1.0, Some("µm²")).label("unit_area_um2"),
            "unit_area_um2 (µm²)"
        );
        assert_eq!(
            AxisScale::for_range(0.0, 2e5, Some("°C")).unit_text(),
            "×1e3 °C"
        );
        assert_eq!(AxisScale::format_value(0.00253, Some("µm²")), "0.00253 µm²");
        assert_eq!(AxisScale::for_range(0.0, 5e-9, Some("s")).unit_text(), "ns");
    }

    #[test]
    fn tick_texts() {
        assert_eq!(tick_text(2.50, 2), "2.5");
        assert_eq!(tick_text(-0.0001, 2), "0");
        assert_eq!(tick_text(10.0, 0), "10");
        assert_eq!(tick_decimals(1.0, 5), 2);
        assert_eq!(tick_decimals(100.0, 5), 0);
    }
}
