//! Structural checks before a run, from the devices' own account of themselves (their DC
//! paths and imposed voltages): a node without a DC path to ground, a loop of voltage
//! sources and inductors.

use crate::circuit::Circuit;
use crate::devices::DeviceOps;
use crate::error::{Error, Result};

/// Disjoint sets over unknowns (connectivity checks and partitioning).
pub(super) struct Uf {
    p: Vec<usize>,
}

impl Uf {
    pub(super) fn new(n: usize) -> Self {
        Uf {
            p: (0..n).collect(),
        }
    }
    pub(super) fn find(&mut self, mut k: usize) -> usize {
        while self.p[k] != k {
            self.p[k] = self.p[self.p[k]];
            k = self.p[k];
        }
        k
    }
    /// Joins the sets of a and b; false if they were already joined.
    pub(super) fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.p[ra.max(rb)] = ra.min(rb);
        true
    }
}

/// Finds nodes without a DC path to ground and loops of voltage sources/inductors.
pub fn check_structure(c: &Circuit, need_dc_path: bool) -> Result<()> {
    let nn = c.n_nodes + 1;
    let mut vloop = Uf::new(nn);
    for d in &c.devices {
        if let Some((a, b)) = d.dev.voltage_branch()
            && !vloop.union(a, b)
        {
            return Err(Error::netlist(format!("'{}' closes a loop of voltage sources and/or inductors between nodes '{}' and '{}' (the loop current is undetermined)", d.name, c.names[a], c.names[b]), Some(&d.loc)).with_note("a loop of voltage sources makes the matrix singular; add a small series resistance"));
        }
    }
    if !need_dc_path {
        return Ok(());
    }
    let mut uf = Uf::new(nn);
    let mut t = Vec::new();
    for d in &c.devices {
        t.clear();
        d.dev.dc_path(&mut t);
        for w in t.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    for k in 1..nn {
        if uf.find(k) != uf.find(0) {
            return Err(Error::netlist(format!("node '{}' has no DC path to ground", c.names[k]), c.node_loc.get(k).and_then(|l| l.as_ref())).with_note("every node needs a DC path to ground (a capacitor or current source alone is not one); add a large resistor to ground"));
        }
    }
    Ok(())
}
