//! Statistics of a study: moments, percentiles, yields with Wilson intervals, and the
//! two-sample Kolmogorov-Smirnov test used to compare against ngspice.

/// Summary of one measure over the successful runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator).
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub p01: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    /// Sample skewness g1 = m3 / m2^1.5 (central moments with 1/n).
    pub skew: f64,
    /// Excess kurtosis g2 = m4 / m2^2 - 3 (0 for a normal distribution).
    pub kurtosis: f64,
}

/// Percentile `p` in [0, 1] of sorted data by linear interpolation between order statistics
/// (numpy's default, Hyndman-Fan type 7).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Summary statistics of finite values (NaN-free input; empty gives NaNs).
pub fn summarize(xs: &[f64]) -> Summary {
    let n = xs.len();
    let mut s: Vec<f64> = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let nf = n as f64;
    let mean = s.iter().sum::<f64>() / nf;
    let m = |k: i32| s.iter().map(|x| (x - mean).powi(k)).sum::<f64>() / nf;
    let (m2, m3, m4) = (m(2), m(3), m(4));
    let std = if n > 1 {
        (m2 * nf / (nf - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let (skew, kurtosis) = if m2 > 0.0 {
        (m3 / m2.powf(1.5), m4 / (m2 * m2) - 3.0)
    } else {
        (f64::NAN, f64::NAN)
    };
    Summary {
        n,
        mean,
        std,
        min: s.first().copied().unwrap_or(f64::NAN),
        max: s.last().copied().unwrap_or(f64::NAN),
        p01: percentile(&s, 0.01),
        p05: percentile(&s, 0.05),
        p50: percentile(&s, 0.50),
        p95: percentile(&s, 0.95),
        p99: percentile(&s, 0.99),
        skew,
        kurtosis,
    }
}

/// Wilson score interval of a proportion `k / n` at 95% confidence: (lo, hi).
pub fn wilson95(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054;
    let nf = n as f64;
    let p = k as f64 / nf;
    let den = 1.0 + z * z / nf;
    let centre = (p + z * z / (2.0 * nf)) / den;
    let half = z / den * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Two-sample Kolmogorov-Smirnov statistic D = sup |F_a - F_b| and its asymptotic p-value
/// (Kolmogorov distribution with the effective size n_a n_b / (n_a + n_b) and Stephens'
/// small-sample correction).
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len(), b.len());
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < na && j < nb {
        let x = a[i].min(b[j]);
        while i < na && a[i] <= x {
            i += 1;
        }
        while j < nb && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / na as f64 - j as f64 / nb as f64).abs());
    }
    let ne = (na * nb) as f64 / (na + nb) as f64;
    let lambda = (ne.sqrt() + 0.12 + 0.11 / ne.sqrt()) * d;
    // Q_KS(lambda) = 2 sum (-1)^(k-1) exp(-2 k^2 lambda^2); the series does not converge
    // for small lambda, where Q = 1 to 1e-10 anyway
    if lambda < 0.2 {
        return (d, 1.0);
    }
    let mut p = 0.0;
    for k in 1..=100 {
        let t = 2.0 * (-1f64).powi(k - 1) * (-2.0 * (k * k) as f64 * lambda * lambda).exp();
        p += t;
        if t.abs() < 1e-12 {
            break;
        }
    }
    (d, p.clamp(0.0, 1.0))
}

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
    pub fn parse(text: &str) -> crate::error::Result<Spec> {
        use crate::error::Error;
        let num = |s: &str| {
            crate::netlist::number::parse_number(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
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
    fn moments_of_a_known_sample() {
        // 1..=5: mean 3, sample sd sqrt(2.5), symmetric, excess kurtosis -1.3
        let s = summarize(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.mean, 3.0);
        assert!((s.std - 2.5f64.sqrt()).abs() < 1e-15);
        assert!(s.skew.abs() < 1e-15);
        assert!((s.kurtosis + 1.3).abs() < 1e-12);
        assert_eq!(s.p50, 3.0);
        // numpy.percentile([1,2,3,4,5], 5) = 1.2
        assert!((s.p05 - 1.2).abs() < 1e-12);
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), Stat. Med. 17, table I: 81/263 -> 0.2553..0.3662
        let (lo, hi) = wilson95(81, 263);
        assert!(
            (lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson95(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 5e-4);
    }

    #[test]
    fn ks_statistic_and_p_value() {
        let a: Vec<f64> = (0..100).map(|k| k as f64).collect();
        let (d, p) = ks_two_sample(&a, &a);
        assert_eq!(d, 0.0);
        assert!(p > 0.99);
        let b: Vec<f64> = (0..100).map(|k| k as f64 + 50.0).collect();
        let (d, p) = ks_two_sample(&a, &b);
        assert!((d - 0.5).abs() < 1e-12);
        assert!(p < 1e-4);
    }

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
