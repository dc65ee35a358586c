//! Counter-based sampling: every random number is a function of (seed, run, site, index),
//! never of the order in which runs or threads happen to execute.
use crate::netlist::expr::Func;
use crate::netlist::{Draw, Sampler};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::collections::HashMap;

/// Which sources of variation a study samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variation {
    /// Random functions written in the netlist (`gauss`, `agauss`, ... in `.param` and on
    /// instance lines).
    Global,
    /// Mismatch from model cards: Pelgrom for level-28 MOSFETs, `ac` for capacitor models.
    Local,
    Both,
    /// Every run is the nominal circuit.
    None,
}

impl Variation {
    pub fn parse(s: &str) -> Option<Variation> {
        Some(match s {
            "global" => Variation::Global,
            "local" => Variation::Local,
            "both" => Variation::Both,
            "none" => Variation::None,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Variation::Global => "global",
            Variation::Local => "local",
            Variation::Both => "both",
            Variation::None => "none",
        }
    }
    fn samples(self, local: bool) -> bool {
        match self {
            Variation::Both => true,
            Variation::None => false,
            Variation::Global => !local,
            Variation::Local => local,
        }
    }
}

/// The generator of one draw: ChaCha8 keyed by a hash of (seed, run, site, index). Sites are
/// instance paths or parameter names (see [`Draw::site`]); `index` counts draws at one site.
/// The crate's [`crate::seed::chained`] layout with the Monte Carlo tag `0x6d63`.
pub fn stream(seed: u64, run: u64, site: &str, index: u32) -> ChaCha8Rng {
    crate::seed::chained(seed, [run, crate::seed::site(site), index as u64, 0x6d63])
}

/// One value of an ngspice random function from the generator `rng`:
/// gauss(nom, rel, sig) = nom (1 + rel/sig z), agauss(nom, abs, sig) = nom + abs/sig z,
/// unif(nom, rel) = nom (1 + rel u), aunif(nom, abs) = nom + abs u, limit(nom, abs) =
/// nom ± abs, with z ~ N(0, 1), u ~ U(-1, 1); sig defaults to 1.
pub fn draw_value(func: Func, args: &[f64], rng: &mut ChaCha8Rng) -> crate::error::Result<f64> {
    use crate::error::Error;
    let nom = args.first().copied().unwrap_or(0.0);
    let var = args.get(1).copied().unwrap_or(0.0);
    let sig = args.get(2).copied().unwrap_or(1.0);
    let name = format!("{func:?}").to_lowercase();
    if matches!(func, Func::Gauss | Func::Agauss) && sig == 0.0 {
        return Err(Error::netlist(
            format!("{name}(): the sigma argument must not be zero"),
            None,
        ));
    }
    Ok(match func {
        Func::Gauss => {
            let z: f64 = rng.sample(StandardNormal);
            nom + nom * var / sig * z
        }
        Func::Agauss => {
            let z: f64 = rng.sample(StandardNormal);
            nom + var / sig * z
        }
        Func::Unif => nom + nom * var * (2.0 * rng.random::<f64>() - 1.0),
        Func::Aunif => nom + var * (2.0 * rng.random::<f64>() - 1.0),
        Func::Limit => {
            if rng.random::<bool>() {
                nom + var
            } else {
                nom - var
            }
        }
        _ => {
            return Err(Error::netlist(
                format!("{name}() is not a random function"),
                None,
            ));
        }
    })
}

/// The sampler of one run: draws through [`stream`] and records the sampled parameters.
pub struct RunSampler {
    seed: u64,
    run: u64,
    variation: Variation,
    counts: HashMap<String, u32>,
    /// Sampled top-level parameters in the order they were first evaluated.
    pub params: Vec<(String, f64)>,
}

impl RunSampler {
    /// `run` is the 1-based run number.
    pub fn new(seed: u64, run: u64, variation: Variation) -> RunSampler {
        RunSampler {
            seed,
            run,
            variation,
            counts: HashMap::new(),
            params: Vec::new(),
        }
    }
    /// A sampler that returns nominal values but still records which parameters are random
    /// (the columns of runs.csv, and the nominal run).
    pub fn nominal() -> RunSampler {
        RunSampler::new(0, 0, Variation::None)
    }
}

impl Sampler for RunSampler {
    fn draw(&mut self, d: &Draw) -> crate::error::Result<f64> {
        if !self.variation.samples(d.local) {
            return Ok(d.args.first().copied().unwrap_or(0.0));
        }
        let count = self.counts.entry(d.site.to_string()).or_insert(0);
        let index = *count;
        *count += 1;
        let mut rng = stream(self.seed, self.run, d.site, index);
        draw_value(d.func, d.args, &mut rng)
    }
    /// Noise is drawn in every run whatever the variation (a `TRNOISE` source is part of the
    /// circuit, not a mismatch): keyed by (seed, run, instance path); the nominal sampler
    /// (run 0) silences it.
    fn noise_key(&mut self, site: &str) -> Option<u64> {
        use rand::RngExt;
        (self.run > 0).then(|| {
            crate::seed::chained(self.seed, [self.run, crate::seed::site(site), 0, 0x6e73])
                .random::<u64>()
        })
    }
    fn param_value(&mut self, label: &str, value: f64) {
        let mut name = label.to_string();
        let mut k = 1;
        while self.params.iter().any(|(n, _)| *n == name) {
            k += 1;
            name = format!("{label}#{k}");
        }
        self.params.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_every_key_part() {
        let v = |s, r, site, i| stream(s, r, site, i).random::<u64>();
        let base = v(1, 1, "c1", 0);
        assert_ne!(base, v(2, 1, "c1", 0));
        assert_ne!(base, v(1, 2, "c1", 0));
        assert_ne!(base, v(1, 1, "c2", 0));
        assert_ne!(base, v(1, 1, "c1", 1));
        assert_eq!(base, v(1, 1, "c1", 0));
    }

    #[test]
    fn random_function_moments() {
        let n = 20000;
        for (f, args, mean, sd) in [
            (Func::Gauss, vec![2.0, 0.1, 2.0], 2.0, 0.1),
            (Func::Agauss, vec![2.0, 0.1, 2.0], 2.0, 0.05),
            (Func::Unif, vec![2.0, 0.1], 2.0, 0.2 / 3f64.sqrt()),
            (Func::Aunif, vec![2.0, 0.1], 2.0, 0.1 / 3f64.sqrt()),
            (Func::Limit, vec![2.0, 0.1], 2.0, 0.1),
        ] {
            let xs: Vec<f64> = (0..n)
                .map(|k| draw_value(f, &args, &mut stream(7, k, "x", 0)).unwrap())
                .collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let s = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
            // 4 standard errors of the mean and of the standard deviation
            assert!(
                (m - mean).abs() < 4.0 * sd / (n as f64).sqrt(),
                "{f:?} mean {m}"
            );
            assert!(
                (s - sd).abs() < 4.0 * sd / (2.0 * n as f64).sqrt(),
                "{f:?} sd {s}"
            );
        }
    }
}
