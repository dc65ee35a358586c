//! Parameter sweeps for characterisation (`run --sweep NAME=...`): the netlist is parsed once;
//! each point re-evaluates the parameter expressions from the parsed tree and reuses the
//! solver structure (symbolic LU) of the previous points run on the same worker.

use crate::analysis::{PartCache, RunOptions, RunResult, run_with};
use crate::error::{Error, Result};
use crate::netlist::{ElabOptions, Netlist, elaborate};
use rayon::prelude::*;

/// The parameter and its values.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    pub name: String,
    pub values: Vec<f64>,
}

/// Parses `NAME=START:STOP:POINTS` (linear, or logarithmic with `log`) or `NAME=list:a,b,c`.
pub fn parse_sweep(s: &str, log: bool) -> Result<SweepSpec> {
    let bad = |why: &str| {
        Error::usage(format!(
            "--sweep '{s}': {why} (expected NAME=START:STOP:POINTS or NAME=list:a,b,c)"
        ))
    };
    let (name, rest) = s.split_once('=').ok_or_else(|| bad("missing '='"))?;
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err(bad("missing parameter name"));
    }
    let num = |t: &str| {
        crate::netlist::number::parse_number(t.trim())
            .ok_or_else(|| bad(&format!("'{t}' is not a number")))
    };
    let values = if let Some(list) = rest.strip_prefix("list:") {
        list.split(',').map(num).collect::<Result<Vec<f64>>>()?
    } else {
        let p: Vec<&str> = rest.split(':').collect();
        if p.len() != 3 {
            return Err(bad("need three fields"));
        }
        let (a, b) = (num(p[0])?, num(p[1])?);
        let n: usize = p[2]
            .trim()
            .parse()
            .map_err(|_| bad(&format!("'{}' is not a point count", p[2])))?;
        if n == 0 {
            return Err(bad("zero points"));
        }
        if log && (a <= 0.0 || b <= 0.0) {
            return Err(bad("a logarithmic sweep needs positive bounds"));
        }
        (0..n)
            .map(|k| {
                let f = if n == 1 {
                    0.0
                } else {
                    k as f64 / (n - 1) as f64
                };
                if log {
                    a * (b / a).powf(f)
                } else {
                    a + (b - a) * f
                }
            })
            .collect()
    };
    if values.is_empty() {
        return Err(bad("no values"));
    }
    Ok(SweepSpec { name, values })
}

/// Runs the netlist's analyses at every sweep value, in parallel, results in sweep order.
pub fn run_sweep(nl: &Netlist, sw: &SweepSpec, ro: &RunOptions) -> Vec<(f64, Result<RunResult>)> {
    sw.values
        .par_iter()
        .map_init(PartCache::default, |cache, &v| {
            let r = elaborate(
                nl,
                ElabOptions {
                    overrides: vec![(sw.name.clone(), v)],
                    random: None,
                },
            )
            .and_then(|c| run_with(&c, ro, cache));
            (v, r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sweep_specs() {
        let s = parse_sweep("iin=1u:5u:5", false).unwrap();
        assert_eq!(s.values.len(), 5);
        assert!((s.values[4] - 5e-6).abs() < 1e-18);
        let s = parse_sweep("r=list:1k,2k,4.7k", false).unwrap();
        assert_eq!(s.values, vec![1e3, 2e3, 4.7e3]);
        let s = parse_sweep("c=1p:100p:3", true).unwrap();
        assert!((s.values[1] - 10e-12).abs() < 1e-20);
        assert!(parse_sweep("c=1p:100p", false).is_err());
        assert!(parse_sweep("=1:2:3", false).is_err());
        assert!(parse_sweep("c=0:1:3", true).is_err());
    }
}
