//! Numbers printed the way C's `printf` prints them, since ngspice's output (and so every
//! deck's golden output) is made of `%e`, `%G` and `% .8e` fields.

/// `%.{prec}e`, with `space` the `% ` flag (a blank where a minus sign would go).
pub fn e(v: f64, prec: usize, space: bool) -> String {
    if !v.is_finite() {
        let s = if v.is_nan() {
            "nan"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return if space && !s.starts_with('-') {
            format!(" {s}")
        } else {
            s.to_string()
        };
    }
    let s = format!("{v:.prec$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let lead = if space && !mant.starts_with('-') {
        " "
    } else {
        ""
    };
    format!("{lead}{mant}e{sign}{:02}", exp.abs())
}

/// `%G`: six significant digits, exponent form when the exponent is below -4 or at least 6,
/// trailing zeros removed, upper-case `E` (ngspice prints real variables this way).
pub fn g_upper(v: f64) -> String {
    g_with(v, 6, true)
}

/// `%.{prec}g` (lower-case `e`, `nan`, `inf`): `fourier`'s numbers, `%g` with `prec` 6.
pub fn g(v: f64, prec: usize) -> String {
    g_with(v, prec, false)
}

fn g_with(v: f64, prec: usize, upper: bool) -> String {
    if !v.is_finite() {
        let s = if v.is_nan() {
            "nan"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return if upper { s.to_uppercase() } else { s.into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let p = prec.max(1) as i32;
    // the exponent after rounding to p significant digits
    let s = format!("{:.*e}", (p - 1) as usize, v);
    let x: i32 = s
        .split_once('e')
        .and_then(|(_, x)| x.parse().ok())
        .unwrap_or(0);
    if !(-4..p).contains(&x) {
        let (mant, _) = s.split_once('e').unwrap_or((&s, ""));
        let mant = trim_zeros(mant);
        let sign = if x < 0 { '-' } else { '+' };
        let e = if upper { 'E' } else { 'e' };
        format!("{mant}{e}{sign}{:02}", x.abs())
    } else {
        let dec = (p - 1 - x).max(0) as usize;
        trim_zeros(&format!("{v:.dec$}")).to_string()
    }
}

/// `%f` with six decimals (ngspice turns a real variable into a string this way in a few places).
pub fn f6(v: f64) -> String {
    format!("{v:.6}")
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_format_as_c() {
        assert_eq!(e(0.5, 6, false), "5.000000e-01");
        assert_eq!(e(-6.0206, 5, false), "-6.02060e+00");
        assert_eq!(e(1e100, 6, false), "1.000000e+100");
        assert_eq!(e(0.0, 8, true), " 0.00000000e+00");
        assert_eq!(e(-1.5, 8, true), "-1.50000000e+00");
        assert_eq!(e(-0.0, 6, false), "-0.000000e+00");
    }

    #[test]
    fn g_format_as_c() {
        assert_eq!(g_upper(5.0), "5");
        assert_eq!(g_upper(1e-9), "1E-09");
        assert_eq!(g_upper(123456789.0), "1.23457E+08");
        assert_eq!(g_upper(8.88888e-7), "8.88888E-07");
        assert_eq!(g_upper(0.1), "0.1");
        assert_eq!(g_upper(100000.0), "100000");
        assert_eq!(g_upper(999999.5), "1E+06");
        assert_eq!(g_upper(0.0001), "0.0001");
        assert_eq!(g_upper(-2.5), "-2.5");
        assert_eq!(g_upper(1.0 / 3.0), "0.333333");
        // `fourier`'s fields (ngspice 39's own table, tests/conformance/ctl_fourier*)
        assert_eq!(g(-8.1373840009e-05, 5), "-8.1374e-05");
        assert_eq!(g(0.000163759072437, 6), "0.000163759");
        assert_eq!(g(1000.0, 6), "1000");
        assert_eq!(g(-89.437108536, 5), "-89.437");
        assert_eq!(g(0.000214596384105, 12), "0.000214596384105");
        assert_eq!(g(f64::NAN, 6), "nan");
    }
}
