//! CapMin and CapMin-V (issue 7): size the membrane capacitor of the time-domain IF neuron from
//! the MAC-level statistics of the network.
//!
//! An ideal IF neuron charged by `m·I_u` reaches `V_th` at `t_m = C·V_th/(m·I_u)`. The read-out
//! registers the spike in a clock cycle of period `T_clk`, so two kept neighbouring levels
//! `a < b` can be told apart when `t_a - t_b >= T_clk + guard`, which gives
//! `C >= (T_clk + guard)·I_u/V_th · a·b/(b - a)`. Everything below works in the dimensionless
//! *cost* `a·b/(b - a)`; [`Physics::unit_f`] turns it into farads.
//!
//! Level 0 never fires. It is read at the end of the window, which is placed as if level 0 were
//! the pseudo-level `a_min/2` (nominal time `2·t_{a_min}`, `a_min` the lowest kept non-zero
//! level). The pair `(a_min/2, a_min)` then costs `a_min`, the same as requiring the first spike
//! to come at least one clock period after the start, so keeping level 0 is free.
//!
//! CapMin-V protects against a relative charging-current mismatch `sigma`: level `m` charges with
//! `m·(1 + ε)`, ε ~ N(0, sigma). With `z = Φ⁻¹(1 - E)` the spread of level `a` reaches
//! `a·(1 + z·sigma)` and that of `b` reaches down to `b·(1 - z·sigma)`; the gap between those two
//! (in time) must hold a clock edge, so the cost becomes `a'·b'/(b' - a')` with the shifted
//! levels, infinite when `a' >= b'` (the pair cannot be protected; one of the two must merge).

pub mod study;

use crate::error::{Error, Result};
use crate::io::levels::LevelCounts;
use crate::neuro::snn::model::LevelHistogram;
use crate::neuro::snn::neuron::Lut;
use crate::stats::{normal_cdf, normal_quantile};

/// Level counts of every chunked layer summed (one neuron design serves every layer).
pub fn accumulate(h: &[LevelHistogram], array_size: usize) -> Vec<u64> {
    let mut all = vec![0u64; array_size + 1];
    for l in h {
        for (a, c) in all.iter_mut().zip(&l.counts) {
            *a += c;
        }
    }
    all
}

/// The per-layer histograms, then layer `all` (the accumulated one), as the level-count table
/// `plot capmin-hist` reads.
pub fn level_counts(h: &[LevelHistogram], array_size: usize) -> LevelCounts {
    let levels = |counts: &[u64]| -> Vec<(i64, u64)> {
        counts
            .iter()
            .enumerate()
            .map(|(m, &c)| (m as i64, c))
            .collect()
    };
    let mut layers: Vec<(String, Vec<(i64, u64)>)> = h
        .iter()
        .map(|l| (l.layer.to_string(), levels(&l.counts)))
        .collect();
    layers.push(("all".to_string(), levels(&accumulate(h, array_size))));
    LevelCounts {
        source: "capmin hist".to_string(),
        layers,
    }
}

/// CSV `layer,level,count` of the per-layer histograms, then layer `all` (the accumulated one).
pub fn hist_csv(h: &[LevelHistogram], array_size: usize) -> String {
    level_counts(h, array_size).to_csv()
}

/// Circuit constants of the time-domain IF neuron. Defaults: a 28nm current-mirror neuron
/// (10 nA unit current per active input, 0.5 V threshold, 1 GHz read-out clock, no extra guard).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Physics {
    /// Charging current per active input (per MAC level), A.
    pub i_unit_a: f64,
    /// Firing threshold of the membrane, V.
    pub v_th_v: f64,
    /// Read-out clock period, s.
    pub t_clk_s: f64,
    /// Extra separation on top of one clock period (comparator delay, jitter), s.
    pub guard_s: f64,
}

impl Default for Physics {
    fn default() -> Self {
        Physics {
            i_unit_a: 10e-9,
            v_th_v: 0.5,
            t_clk_s: 1e-9,
            guard_s: 0.0,
        }
    }
}

impl Physics {
    /// Capacitance of one unit of cost, F: `(T_clk + guard)·I_u/V_th`.
    pub fn unit_f(&self) -> f64 {
        (self.t_clk_s + self.guard_s) * self.i_unit_a / self.v_th_v
    }

    /// Nominal spike time of (effective, possibly fractional) level `x` at capacitance `c_f`, s.
    pub fn spike_time_s(&self, c_f: f64, x: f64) -> f64 {
        c_f * self.v_th_v / (x * self.i_unit_a)
    }

    /// Checks that the constants are finite and positive (the guard may be zero).
    pub fn validate(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(self.i_unit_a) && ok(self.v_th_v) && ok(self.t_clk_s)) {
            return Err(Error::usage(format!(
                "I_u, V_th and T_clk must be finite and positive (got {} A, {} V, {} s)",
                self.i_unit_a, self.v_th_v, self.t_clk_s
            )));
        }
        if !(self.guard_s.is_finite() && self.guard_s >= 0.0) {
            return Err(Error::usage(format!(
                "the guard must be finite and >= 0 s, got {}",
                self.guard_s
            )));
        }
        Ok(())
    }
}

/// How far each kept level's spike spreads, as a multiple of its current: `z·sigma`.
/// Zero for plain CapMin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protection {
    /// `z·sigma`, dimensionless (z = Φ⁻¹(1 - E), sigma the relative current sigma).
    pub spread: f64,
}

impl Protection {
    /// No protection (nominal spike times).
    pub const NONE: Protection = Protection { spread: 0.0 };

    /// Protection for relative current sigma `sigma` and per-boundary error target `target`.
    pub fn new(sigma: f64, target: f64) -> Result<Protection> {
        if !(sigma.is_finite() && (0.0..1.0).contains(&sigma)) {
            return Err(Error::usage(format!(
                "sigma must be in [0, 1), got {sigma}"
            )));
        }
        if !(target.is_finite() && target > 0.0 && target < 0.5) {
            return Err(Error::usage(format!(
                "the target error must be in (0, 0.5), got {target}"
            )));
        }
        Ok(Protection {
            spread: normal_quantile(1.0 - target) * sigma,
        })
    }
}

/// Cost `a'·b'/(b' - a')` of kept neighbours `a < b` (effective levels, `a` may be the
/// fractional pseudo-level of level 0), infinite when they cannot be separated.
pub fn pair_cost(a: f64, b: f64, p: Protection) -> f64 {
    let hi_a = a * (1.0 + p.spread);
    let lo_b = b * (1.0 - p.spread);
    if lo_b <= hi_a {
        return f64::INFINITY;
    }
    hi_a * lo_b / (lo_b - hi_a)
}

/// Capacitor cost of a kept set (sorted ascending, no duplicates): the worst neighbouring pair,
/// level 0 counted as the pseudo-level `a_min/2`. Infinite for a set without non-zero levels.
pub fn set_cost(kept: &[u32], p: Protection) -> f64 {
    let nz: Vec<f64> = kept.iter().filter(|&&k| k > 0).map(|&k| k as f64).collect();
    let Some(&a_min) = nz.first() else {
        return f64::INFINITY;
    };
    // Level 0 is always distinguishable once this holds, kept or not: the window end is placed
    // as for a kept level 0.
    let mut c = pair_cost(a_min / 2.0, a_min, p);
    for w in nz.windows(2) {
        c = c.max(pair_cost(w[0], w[1], p));
    }
    c
}

/// Capacitance a kept set needs, F.
pub fn capacitance_f(kept: &[u32], p: Protection, phys: &Physics) -> f64 {
    set_cost(kept, p) * phys.unit_f()
}

/// Maps every level 0..=array_size to its nearest kept level; a level exactly between two kept
/// levels goes to the higher one (its spike time is nearer the higher level's: `t ∝ 1/m`).
pub fn nearest_map(kept: &[u32], array_size: usize) -> Result<Lut> {
    if kept.is_empty() {
        return Err(Error::usage("no kept levels"));
    }
    if let Some(k) = kept.iter().find(|&&k| k as usize > array_size) {
        return Err(Error::usage(format!(
            "kept level {k} is above the array size {array_size}"
        )));
    }
    let mapped = (0..=array_size as u32)
        .map(|m| {
            let mut best = kept[0];
            for &k in kept {
                let (d, db) = (k.abs_diff(m), best.abs_diff(m));
                if d < db || (d == db && k > best) {
                    best = k;
                }
            }
            best
        })
        .collect();
    Ok(Lut { mapped })
}

/// Expected absolute level error of the nearest-kept mapping under level frequencies `freq`.
pub fn expected_error(kept: &[u32], freq: &[u64]) -> f64 {
    let total: u64 = freq.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let Ok(lut) = nearest_map(kept, freq.len().saturating_sub(1)) else {
        return f64::INFINITY;
    };
    let e: u64 = freq
        .iter()
        .enumerate()
        .map(|(m, &f)| f * u64::from(lut.mapped[m].abs_diff(m as u32)))
        .sum();
    e as f64 / total as f64
}

/// The selection rules of issue 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// (a) the K most frequent levels.
    Frequent,
    /// (b) the smallest expected level error within a capacitor budget.
    CostAware,
}

impl Rule {
    /// Name used in CSV and JSON (`frequent`, `cost_aware`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::Frequent => "frequent",
            Rule::CostAware => "cost_aware",
        }
    }
}

/// Rule (a): the `k` most frequent levels (ties to the lower level), sorted ascending.
pub fn most_frequent(freq: &[u64], k: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..freq.len() as u32).collect();
    order.sort_by(|&x, &y| freq[y as usize].cmp(&freq[x as usize]).then(x.cmp(&y)));
    let mut kept: Vec<u32> = order.into_iter().take(k.max(1)).collect();
    kept.sort_unstable();
    kept
}

/// Rule (b) for one budget: the kept set with the smallest expected absolute level error whose
/// cost is at most `budget` (dynamic programming over chains of kept levels; error of the levels
/// between two kept neighbours is additive). Ties go to the set with fewer levels. `None` when
/// no set fits.
pub fn best_within(freq: &[u64], budget: f64, p: Protection) -> Option<Vec<u32>> {
    let n = freq.len();
    if n < 2 {
        return None;
    }
    let f = |m: usize| freq[m] as f64;
    // Error of levels strictly between kept a < b, mapped to the nearer (ties up).
    let gap = |a: usize, b: usize| -> f64 {
        ((a + 1)..b)
            .map(|m| {
                let d = (m - a).min(b - m);
                f(m) * d as f64
            })
            .sum()
    };
    const EPS: f64 = 1e-9;
    let fits = |c: f64| c <= budget * (1.0 + EPS);
    // best[b] = (error of levels <= b, levels kept, predecessor) with b the highest kept so far
    // and b >= 1 (the chain's first non-zero level is where level 0's cost is charged).
    let mut best: Vec<Option<(f64, usize, Option<usize>)>> = vec![None; n];
    for b in 1..n {
        if fits(pair_cost(b as f64 / 2.0, b as f64, p)) {
            // b is the lowest kept non-zero level: either level 0 is kept too (free), or not
            // and levels 0..b all map up to b. Keeping level 0 never increases the error.
            let with0 = gap(0, b);
            let err_no0: f64 = (0..b).map(|m| f(m) * (b - m) as f64).sum();
            best[b] = Some(if with0 < err_no0 - EPS {
                (with0, 2, Some(0))
            } else {
                (err_no0, 1, None)
            });
        }
        for a in 1..b {
            let Some((ea, ka, _)) = best[a] else { continue };
            if !fits(pair_cost(a as f64, b as f64, p)) {
                continue;
            }
            let e = ea + gap(a, b);
            let better = match best[b] {
                None => true,
                Some((eb, kb, _)) => e < eb - EPS || ((e - eb).abs() <= EPS && ka + 1 < kb),
            };
            if better {
                best[b] = Some((e, ka + 1, Some(a)));
            }
        }
    }
    let mut end: Option<(usize, f64, usize)> = None;
    for (b, s) in best.iter().enumerate() {
        let Some((e, k, _)) = *s else { continue };
        let tail: f64 = ((b + 1)..n).map(|m| f(m) * (m - b) as f64).sum();
        let t = e + tail;
        if end.is_none_or(|(_, et, kt)| t < et - EPS || ((t - et).abs() <= EPS && k < kt)) {
            end = Some((b, t, k));
        }
    }
    let (mut b, _, _) = end?;
    let mut kept = vec![b as u32];
    loop {
        let (_, _, prev) = best[b]?;
        match prev {
            Some(0) => {
                kept.push(0);
                break;
            }
            Some(a) => {
                kept.push(a as u32);
                b = a;
            }
            None => break,
        }
    }
    kept.reverse();
    Some(kept)
}

/// Rule (b) over every useful budget: the distinct kept sets, by increasing cost. The budgets
/// tried are the costs of all pairs (the only values where the optimum can change).
pub fn cost_aware_frontier(freq: &[u64], p: Protection) -> Vec<Vec<u32>> {
    let n = freq.len();
    let mut budgets: Vec<f64> = Vec::new();
    for b in 1..n {
        budgets.push(pair_cost(b as f64 / 2.0, b as f64, p));
        for a in 1..b {
            budgets.push(pair_cost(a as f64, b as f64, p));
        }
    }
    budgets.retain(|c| c.is_finite());
    budgets.sort_by(f64::total_cmp);
    budgets.dedup();
    let mut out: Vec<Vec<u32>> = Vec::new();
    for b in budgets {
        if let Some(s) = best_within(freq, b, p)
            && out.last() != Some(&s)
        {
            out.push(s);
        }
    }
    out
}

/// Decoder of a kept set in the time domain: the clock edges that separate the kept levels.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// Kept levels, ascending.
    pub kept: Vec<u32>,
    /// Membrane capacitance, F.
    pub c_f: f64,
    /// `edges[i]`: boundary time between kept[i] (slower, later) and kept[i+1], s; a spike at or
    /// after the edge reads as kept[i]. For kept[0] = 0 the first edge is the window end.
    pub edges_s: Vec<f64>,
    /// Reported level of a neuron that does not spike before the window end.
    pub silent_level: u32,
    /// End of the read-out window, s.
    pub window_s: f64,
}

/// Places the decoder's clock edges for `kept` at capacitance `c_f`: each boundary is the clock
/// edge nearest to the time midpoint of the two neighbours (where the two error probabilities
/// are equal) inside their protected gap, if the gap holds one.
pub fn windows(kept: &[u32], c_f: f64, p: Protection, phys: &Physics) -> Result<Windows> {
    let nz: Vec<u32> = kept.iter().copied().filter(|&k| k > 0).collect();
    let Some(&a_min) = nz.first() else {
        return Err(Error::usage("the kept set has no non-zero level"));
    };
    let t = |x: f64| phys.spike_time_s(c_f, x);
    let step = phys.t_clk_s;
    let edge = |slow: f64, fast: f64| {
        // slow < fast as levels: t(slow) later.
        let lo = t(fast * (1.0 - p.spread));
        let hi = t(slow * (1.0 + p.spread));
        let mid = 0.5 * (t(slow) + t(fast));
        let first = (lo / step).floor() + 1.0;
        let last = (hi / step).floor().max(first);
        (mid / step).round().clamp(first, last) * step
    };
    let pseudo0 = f64::from(a_min) / 2.0;
    let window_s = edge(pseudo0, f64::from(a_min));
    let mut edges_s = Vec::new();
    for w in nz.windows(2) {
        edges_s.push(edge(f64::from(w[0]), f64::from(w[1])));
    }
    let silent_level = if kept.first() == Some(&0) { 0 } else { a_min };
    Ok(Windows {
        kept: nz,
        c_f,
        edges_s,
        silent_level,
        window_s,
    })
}

impl Windows {
    /// The level the decoder reports for a spike at time `t_s` (None or late: the silent level).
    pub fn decode(&self, t_s: Option<f64>) -> u32 {
        let Some(t) = t_s.filter(|t| t.is_finite() && *t < self.window_s) else {
            return self.silent_level;
        };
        // kept ascending = spike times descending; edges_s descending.
        let i = self.edges_s.iter().take_while(|&&e| t < e).count();
        self.kept[i]
    }

    /// Confusion matrix `p[true][reported]` for levels 0..=array_size when level m charges with
    /// `m·I_u·(1 + ε)`, ε ~ N(0, sigma), sampled independently per read. sigma = 0 gives the
    /// nominal decoder as a delta matrix.
    pub fn confusion(&self, array_size: usize, sigma: f64, phys: &Physics) -> Vec<Vec<f64>> {
        let n = array_size + 1;
        let mut p = vec![vec![0.0; n]; n];
        p[0][self.silent_level as usize] = 1.0;
        // Boundaries in current units: a spike before edge e means x > C·V_th/(I_u·e).
        let x_of = |t: f64| self.c_f * phys.v_th_v / (phys.i_unit_a * t);
        // Reported level i occupies x in [lo_i, hi_i); kept[0] starts at the window end.
        let mut bounds: Vec<f64> = vec![x_of(self.window_s)];
        bounds.extend(self.edges_s.iter().map(|&e| x_of(e)));
        bounds.push(f64::INFINITY);
        for m in 1..n {
            let row = &mut p[m];
            let mf = m as f64;
            let cdf = |x: f64| {
                if x.is_infinite() {
                    return 1.0;
                }
                if sigma == 0.0 {
                    return if mf < x { 1.0 } else { 0.0 };
                }
                normal_cdf((x / mf - 1.0) / sigma)
            };
            row[self.silent_level as usize] += cdf(bounds[0]);
            for (i, &k) in self.kept.iter().enumerate() {
                row[k as usize] += (cdf(bounds[i + 1]) - cdf(bounds[i])).max(0.0);
            }
            let s: f64 = row.iter().sum();
            for v in row.iter_mut() {
                *v /= s;
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_levels_cost_is_last_pair() {
        let kept: Vec<u32> = (0..=32).collect();
        assert_eq!(set_cost(&kept, Protection::NONE), 31.0 * 32.0);
        // 31·32 · 1 ns · 10 nA / 0.5 V = 19.84 fF
        let c = capacitance_f(&kept, Protection::NONE, &Physics::default());
        assert!((c - 19.84e-15).abs() < 1e-20, "{c}");
    }
}
