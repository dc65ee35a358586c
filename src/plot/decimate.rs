//! Reducing long waveforms to what a pixel column can show, without losing peaks.
//!
//! Each pixel column keeps its first, lowest, highest and last sample (the "M4" scheme of
//! Jugel et al., VLDB 2014): a polyline through those draws the same pixels as one through
//! all samples, so a 1 ns glitch in a 1 ms transient stays visible.

/// Pick the samples of `(x, y)` worth drawing on an axis from `x_lo` to `x_hi` that is
/// `columns` pixels wide.
///
/// `x` must be non-decreasing (a time axis). The result is a subsequence of the input in the
/// original order. In every column it holds the column's minimum and maximum `y`, so the
/// global extremes and every peak at least a column wide survive. One sample on each side of
/// the window is kept so the line runs to the edge. Samples with a NaN coordinate are
/// dropped. Short inputs (at most four samples per column) come back whole.
pub fn min_max_per_column(
    x: &[f64],
    y: &[f64],
    x_lo: f64,
    x_hi: f64,
    columns: usize,
) -> Vec<(f64, f64)> {
    let n = x.len().min(y.len());
    let valid = |i: usize| !x[i].is_nan() && !y[i].is_nan();
    let first_in = (0..n).find(|&i| valid(i) && x[i] >= x_lo);
    let Some(first_in) = first_in else {
        // Whole trace left of the window: the last sample lets the line reach the edge.
        return (0..n)
            .rev()
            .find(|&i| valid(i))
            .map(|i| vec![(x[i], y[i])])
            .unwrap_or_default();
    };
    let before = (0..first_in).rev().find(|&i| valid(i));
    let end = (first_in..n)
        .find(|&i| valid(i) && x[i] > x_hi)
        .unwrap_or(n);
    let after = (end < n).then_some(end);

    let mut out = Vec::new();
    if let Some(b) = before {
        out.push((x[b], y[b]));
    }
    let inside = end - first_in;
    let columns = columns.max(1);
    if inside <= 4 * columns || x_hi <= x_lo {
        out.extend((first_in..end).filter(|&i| valid(i)).map(|i| (x[i], y[i])));
    } else {
        let width = x_hi - x_lo;
        let column_of = |v: f64| (((v - x_lo) / width * columns as f64) as usize).min(columns - 1);
        let mut i = first_in;
        while i < end {
            if !valid(i) {
                i += 1;
                continue;
            }
            let c = column_of(x[i]);
            let (mut lo, mut hi, mut last) = (i, i, i);
            let mut j = i + 1;
            while j < end {
                if valid(j) {
                    if column_of(x[j]) != c {
                        break;
                    }
                    if y[j] < y[lo] {
                        lo = j;
                    }
                    if y[j] > y[hi] {
                        hi = j;
                    }
                    last = j;
                }
                j += 1;
            }
            let mut keep = [i, lo, hi, last];
            keep.sort_unstable();
            let mut prev = usize::MAX;
            for k in keep {
                if k != prev {
                    out.push((x[k], y[k]));
                    prev = k;
                }
            }
            i = j;
        }
    }
    if let Some(a) = after {
        out.push((x[a], y[a]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn column(v: f64, lo: f64, hi: f64, columns: usize) -> usize {
        (((v - lo) / (hi - lo) * columns as f64) as usize).min(columns - 1)
    }

    proptest! {
        // The property that makes decimation safe to draw: per pixel column the envelope
        // (min and max) of the kept samples equals that of all samples, and nothing is
        // invented or reordered.
        #[test]
        fn keeps_every_column_envelope(
            ys in proptest::collection::vec(-1e3f64..1e3, 1..3000),
            columns in 1usize..200,
            dt in 1e-12f64..1e-3,
        ) {
            let xs: Vec<f64> = (0..ys.len()).map(|i| i as f64 * dt).collect();
            let (lo, hi) = (xs[0], xs[xs.len() - 1].max(xs[0] + dt));
            let kept = min_max_per_column(&xs, &ys, lo, hi, columns);

            // Subsequence in order.
            let mut at = 0;
            for p in &kept {
                let found = (at..xs.len()).find(|&i| xs[i] == p.0 && ys[i] == p.1);
                prop_assert!(found.is_some(), "point {p:?} not in input order");
                at = found.unwrap_or(0) + 1;
            }
            // Global extremes.
            let gmax = ys.iter().cloned().fold(f64::MIN, f64::max);
            let gmin = ys.iter().cloned().fold(f64::MAX, f64::min);
            prop_assert!(kept.iter().any(|p| p.1 == gmax));
            prop_assert!(kept.iter().any(|p| p.1 == gmin));
            // Column envelopes, hence every local peak as wide as a column.
            let mut want = vec![(f64::MAX, f64::MIN); columns];
            for (x, y) in xs.iter().zip(&ys) {
                let c = column(*x, lo, hi, columns);
                want[c] = (want[c].0.min(*y), want[c].1.max(*y));
            }
            let mut got = vec![(f64::MAX, f64::MIN); columns];
            for (x, y) in &kept {
                let c = column(*x, lo, hi, columns);
                got[c] = (got[c].0.min(*y), got[c].1.max(*y));
            }
            prop_assert_eq!(want, got);
            prop_assert!(kept.len() <= ys.len());
            if ys.len() > 4 * columns {
                prop_assert!(kept.len() <= 4 * columns);
            }
        }
    }

    #[test]
    fn narrow_spike_survives() {
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut ys = vec![0.0; n];
        ys[54_321] = 1.0;
        ys[77_777] = -2.0;
        let kept = min_max_per_column(&xs, &ys, 0.0, (n - 1) as f64, 500);
        assert!(kept.len() <= 4 * 500);
        assert!(kept.contains(&(54_321.0, 1.0)));
        assert!(kept.contains(&(77_777.0, -2.0)));
    }

    #[test]
    fn window_keeps_one_sample_each_side() {
        let xs: Vec<f64> = (0..10).map(f64::from).collect();
        let ys = xs.clone();
        let kept = min_max_per_column(&xs, &ys, 3.5, 6.5, 100);
        assert_eq!(
            kept,
            [(3.0, 3.0), (4.0, 4.0), (5.0, 5.0), (6.0, 6.0), (7.0, 7.0)]
        );
    }
}
