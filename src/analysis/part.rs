//! Decoupled parts: a circuit split into sets of unknowns that share no device (ground
//! aside), each with its own numbering, matrix and time steps, and the solver state kept for
//! them between runs of the same structure.

use super::check::Uf;
use crate::circuit::Circuit;
use crate::devices::DeviceOps;
use crate::solver::system::System;

/// Solver state kept between runs of circuits with the same structure (sweep points, Monte
/// Carlo runs): one system per decoupled part, whose symbolic factorisation new runs share.
#[derive(Default)]
pub struct PartCache {
    pub(super) systems: Vec<Option<System>>,
}

/// A decoupled part of a circuit: its own numbering and the global index of each unknown.
pub struct Part {
    pub circuit: Circuit,
    pub global: Vec<usize>,
}

/// Splits a circuit into parts that share no unknown (ground excluded).
pub fn split(c: &Circuit) -> Vec<Part> {
    let n = c.n();
    let mut uf = Uf::new(n + 1);
    let mut t = Vec::new();
    for d in &c.devices {
        t.clear();
        d.dev.terminals(&mut t);
        t.retain(|&k| k != 0);
        for w in t.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    let mut comp_of = vec![usize::MAX; n + 1];
    let mut parts: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (unknowns, devices)
    for k in 1..=n {
        let r = uf.find(k);
        if comp_of[r] == usize::MAX {
            comp_of[r] = parts.len();
            parts.push((vec![], vec![]));
        }
        parts[comp_of[r]].0.push(k);
    }
    let mut orphan = Vec::new();
    for (i, d) in c.devices.iter().enumerate() {
        t.clear();
        d.dev.terminals(&mut t);
        match t.iter().find(|&&k| k != 0) {
            Some(&k) => parts[comp_of[uf.find(k)]].1.push(i),
            None => orphan.push(i),
        }
    }
    if parts.is_empty() {
        parts.push((vec![], vec![]));
    }
    let mut out = Vec::new();
    for (unknowns, devs) in parts {
        // nodes first, then branches, keeping the global order
        let mut local = vec![0usize; n + 1];
        let mut global = vec![0usize];
        let mut names = vec!["0".to_string()];
        let mut internal = vec![false];
        let mut node_loc = vec![None];
        let mut n_nodes = 0;
        for &k in unknowns.iter().filter(|&&k| k <= c.n_nodes) {
            global.push(k);
            local[k] = global.len() - 1;
            names.push(c.names[k].clone());
            internal.push(c.internal[k]);
            node_loc.push(c.node_loc.get(k).cloned().flatten());
            n_nodes += 1;
        }
        for &k in unknowns.iter().filter(|&&k| k > c.n_nodes) {
            global.push(k);
            local[k] = global.len() - 1;
            names.push(c.names[k].clone());
            internal.push(false);
            node_loc.push(None);
        }
        let mut devices = Vec::new();
        for &i in &devs {
            let mut d = c.devices[i].clone();
            d.dev.renumber(&local);
            devices.push(d);
        }
        let ic =
            c.ic.iter()
                .filter(|(k, _)| local[*k] != 0)
                .map(|&(k, v)| (local[k], v))
                .collect();
        let circuit = Circuit {
            title: c.title.clone(),
            title_loc: None,
            names,
            internal,
            n_nodes,
            devices,
            node_loc,
            analyses: vec![],
            options: c.options.clone(),
            ic,
            warnings: vec![],
            rebuild: None,
        };
        out.push(Part { circuit, global });
    }
    let _ = orphan;
    out
}
