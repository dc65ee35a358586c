//! Decoupled parts: a circuit split into sets of unknowns that share no device (ground
//! aside), each with its own numbering, matrix and time steps, and the solver state kept for
//! them between runs of the same structure.

use super::check::Uf;
use crate::circuit::Circuit;
use crate::devices::{Device, DeviceOps};
use crate::solver::system::System;
use std::borrow::Cow;

/// Solver state kept between runs of circuits with the same structure (sweep points, Monte
/// Carlo runs): one system per decoupled part, whose symbolic factorisation new runs share.
#[derive(Default)]
pub struct PartCache {
    pub(super) systems: Vec<Option<System>>,
}

/// A decoupled part of a circuit: its own numbering and the global index of each unknown.
/// `summed` marks the local unknowns that are one part's share of a global one: the branch
/// current of an ideal grounded voltage source that several parts hold a copy of (the
/// source's current is the sum of the shares; its node's voltage is the same in every part).
pub struct Part<'c> {
    /// The part's circuit: the whole circuit itself, borrowed, when it does not split.
    pub circuit: Cow<'c, Circuit>,
    pub global: Vec<usize>,
    pub summed: Vec<bool>,
}

/// The ideal grounded voltage sources whose node is an input rather than a coupling: an
/// independent voltage source from a node to ground fixes that node's voltage as a known
/// function of time, so the devices on either side of it see the same waveform whether they
/// are solved together or apart. A source whose current another device reads (F, H) is left
/// alone. Returns, per unknown, the index of the holding source for its node and its branch.
pub(super) fn held_sources(c: &Circuit) -> Vec<Option<usize>> {
    let n = c.n();
    let mut held = vec![None; n + 1];
    let mut count = vec![0usize; n + 1];
    for (i, d) in c.devices.iter().enumerate() {
        if let Device::V(v) = &d.dev {
            let node = match (v.br.p, v.br.n) {
                (0, k) | (k, 0) if k != 0 => k,
                _ => continue,
            };
            count[node] += 1;
            held[node] = Some(i);
            held[v.br.k] = Some(i);
        }
    }
    // a node two sources hold (a loop, rejected elsewhere) is not split at
    for k in 1..=n {
        if count[k] > 1 {
            held[k] = None;
        }
    }
    let mut t = Vec::new();
    for (i, d) in c.devices.iter().enumerate() {
        t.clear();
        d.dev.terminals(&mut t);
        for &k in &t {
            // another device reads a held source's branch current: keep it whole
            if k > c.n_nodes
                && let Some(s) = held[k]
                && s != i
            {
                for h in held.iter_mut() {
                    if *h == Some(s) {
                        *h = None;
                    }
                }
            }
        }
    }
    // node and branch must both still be held
    for (i, d) in c.devices.iter().enumerate() {
        if let Device::V(v) = &d.dev {
            let node = if v.br.p == 0 { v.br.n } else { v.br.p };
            if held[node] != Some(i) || held[v.br.k] != Some(i) {
                if held[node] == Some(i) {
                    held[node] = None;
                }
                if held[v.br.k] == Some(i) {
                    held[v.br.k] = None;
                }
            }
        }
    }
    held
}

/// The most parts a circuit is split into. Each part has its own matrix, time grid and, when
/// the run streams to a file, a spill file read back through two handles, and the parts'
/// points are merged onto the union of their grids: fifty thousand independent sources (a
/// generated array) would otherwise need a hundred thousand open files and a merge of
/// parts x rows. Beyond this, neighbouring parts are solved together (as one circuit, on one
/// time grid: what a simulator without the split does for all of them).
pub const MAX_PARTS: usize = 256;

/// Groups `parts` (unknowns, devices; both sorted) into at most `max`: the first stays alone,
/// the others are joined in runs of neighbours. A held source that several joined parts
/// share appears once in the group (its current is then the group's share).
fn coalesce(parts: Vec<(Vec<usize>, Vec<usize>)>, max: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
    if parts.len() <= max || max < 2 {
        return parts;
    }
    let rest = parts.len() - 1;
    let groups = max - 1;
    let mut out: Vec<(Vec<usize>, Vec<usize>)> = Vec::with_capacity(max);
    for (i, p) in parts.into_iter().enumerate() {
        // part 0 alone; part i >= 1 into group 1 + (i - 1) * groups / rest
        let g = if i == 0 {
            0
        } else {
            1 + (i - 1) * groups / rest
        };
        if g == out.len() {
            out.push(p);
        } else if let Some(last) = out.last_mut() {
            last.0.extend(p.0);
            last.1.extend(p.1);
        }
    }
    for (u, d) in out.iter_mut() {
        u.sort_unstable();
        u.dedup();
        d.sort_unstable();
        d.dedup();
    }
    out
}

/// Splits a circuit into parts that share no unknown (ground excluded), cutting at the nodes
/// of ideal grounded voltage sources (see `held_sources`): every part that touches such a
/// node gets its own copy of the source, and the source's current is the sum of the copies'.
pub fn split(c: &Circuit) -> Vec<Part<'_>> {
    let n = c.n();
    let held = held_sources(c);
    let mut sources = vec![false; c.devices.len()];
    for &i in held.iter().flatten() {
        sources[i] = true;
    }
    let mut uf = Uf::new(n + 1);
    let mut t = Vec::new();
    for (i, d) in c.devices.iter().enumerate() {
        if sources[i] {
            continue;
        }
        t.clear();
        d.dev.terminals(&mut t);
        t.retain(|&k| k != 0 && held[k].is_none());
        for w in t.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    // the devices of each part: by the set of their first free unknown; devices on held
    // nodes and ground alone go with the first held node they touch
    let mut comp_of = vec![usize::MAX; n + 1];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, d) in c.devices.iter().enumerate() {
        if sources[i] {
            continue;
        }
        t.clear();
        d.dev.terminals(&mut t);
        let key = match t.iter().find(|&&k| k != 0 && held[k].is_none()) {
            Some(&k) => uf.find(k),
            None => match t.iter().find(|&&k| k != 0) {
                Some(&k) => k,
                None => continue,
            },
        };
        if comp_of[key] == usize::MAX {
            comp_of[key] = groups.len();
            groups.push(vec![]);
        }
        groups[comp_of[key]].push(i);
    }
    // each held source joins every group that touches its node (alone if none does)
    let mut parts: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (unknowns, devices)
    let mut touched = vec![false; c.devices.len()];
    let mut mark = vec![usize::MAX; n + 1];
    for (g, devs) in groups.into_iter().enumerate() {
        let mut unknowns = Vec::new();
        let mut all = devs.clone();
        for &i in &devs {
            t.clear();
            c.devices[i].dev.terminals(&mut t);
            for &k in &t {
                if k != 0 && mark[k] != g {
                    mark[k] = g;
                    unknowns.push(k);
                }
            }
        }
        let mut extra = Vec::new();
        for &k in &unknowns {
            if k <= c.n_nodes
                && let Some(s) = held[k]
            {
                extra.push(s);
                touched[s] = true;
            }
        }
        for &s in &extra {
            t.clear();
            c.devices[s].dev.terminals(&mut t);
            for &k in &t {
                if k != 0 && mark[k] != g {
                    mark[k] = g;
                    unknowns.push(k);
                }
            }
        }
        all.extend(extra);
        all.sort_unstable();
        unknowns.sort_unstable();
        parts.push((unknowns, all));
    }
    for (i, d) in c.devices.iter().enumerate() {
        if sources[i] && !touched[i] {
            t.clear();
            d.dev.terminals(&mut t);
            t.retain(|&k| k != 0);
            t.sort_unstable();
            parts.push((t.clone(), vec![i]));
        }
    }
    if parts.is_empty() {
        parts.push((vec![], vec![]));
    }
    let parts = coalesce(parts, MAX_PARTS);
    // one part holding every unknown and device: the circuit itself (a flat netlist of a
    // million elements is not copied)
    if let [(unknowns, devs)] = parts.as_slice()
        && unknowns.len() == n
        && devs.len() == c.devices.len()
    {
        return vec![Part {
            circuit: Cow::Borrowed(c),
            global: (0..=n).collect(),
            summed: vec![false; n + 1],
        }];
    }
    let mut out = Vec::new();
    // global -> local numbering, reset after each part (one allocation, not one per part:
    // tens of thousands of parts must not cost parts x unknowns)
    let mut local = vec![0usize; n + 1];
    for (unknowns, devs) in parts {
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
        let nodeset = c
            .nodeset
            .iter()
            .filter(|(k, _)| local[*k] != 0)
            .map(|&(k, v)| (local[k], v))
            .collect();
        let circuit = Cow::Owned(Circuit {
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
            nodeset,
            warnings: vec![],
            rebuild: None,
        });
        let summed = global
            .iter()
            .map(|&g| g > c.n_nodes && held[g].is_some())
            .collect();
        out.push(Part {
            circuit,
            global,
            summed,
        });
        for &k in &unknowns {
            local[k] = 0;
        }
    }
    out
}
