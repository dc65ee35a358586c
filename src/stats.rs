//! The crate's statistics, in one room: moments and percentiles of a sample (Monte Carlo
//! summaries, figure annotations), the Wilson interval of a yield, the two-sample
//! Kolmogorov-Smirnov test, Student's t quantile of a repeated accuracy, the normal
//! distribution (CapMin-V's error model) and a least-squares line.

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

/// Mean and sample standard deviation (n - 1) of the finite values.
pub fn mean_sigma(values: &[f64]) -> Option<(f64, f64, usize)> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt(), v.len()))
}

/// Least-squares line y = a + b x and Pearson's r of the finite pairs.
pub fn linear_fit(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b, sxy / (sxx * syy).sqrt()))
}

/// Two-sided 97.5% Student t quantile for `df` degrees of freedom.
pub fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => T[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Standard normal CDF Φ(x), from `erfc` (absolute error below 1.2e-7).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev fit of Numerical Recipes (`erfcc`), |error| < 1.2e-7.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Φ⁻¹(p) for p in (0, 1) by bisection on [`normal_cdf`] (accurate to its 1e-7).
pub fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0_f64, 10.0_f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
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
    fn normal_cdf_known_values() {
        // Φ(1.959964) = 0.975, Φ(-1) = 0.158655 (tables).
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 2e-7);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 2e-7);
        assert!((normal_quantile(0.99) - 2.326_348).abs() < 1e-5);
    }

    #[test]
    fn mean_and_sigma_by_hand() {
        let (m, s, n) = mean_sigma(&[1.0, 2.0, 3.0, 4.0, f64::NAN]).unwrap();
        assert_eq!(n, 4);
        assert!((m - 2.5).abs() < 1e-15);
        // sum of squares 5, over n - 1 = 3
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn exact_line_has_r_one() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 3.0, 5.0, 7.0];
        let (a, b, r) = linear_fit(&x, &y).unwrap();
        assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12 && (r - 1.0).abs() < 1e-12);
    }
}
