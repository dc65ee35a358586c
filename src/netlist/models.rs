//! Model cards for elements: the selection of a binned card (`name.1`, `name.2`, ... by
//! `lmin lmax wmin wmax`, as ngspice selects them) and the cache of device models built
//! from cards. A model is keyed by its card and the values its parameters resolved to, so
//! a card whose parameters are expressions of subcircuit parameters (sky130's
//! `rsh = {swx_nrds}`) is built once per distinct set of values, not once per instance or
//! per Monte Carlo run, and a library's cards that no element uses are never built.

use crate::error::Result;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// A device model built from a card (the device file's own type, e.g. a BSIM4 card).
pub type Built = Arc<dyn Any + Send + Sync>;

/// Names a model card of the netlist (scope id, index in the scope's models).
pub type CardId = (usize, usize);

/// A card and the values its parameters resolved to, in card order (bit patterns).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelKey {
    pub card: CardId,
    pub values: Vec<u64>,
}

/// More entries than this and the cache starts over (a process Monte Carlo makes new
/// cards every run; a card is a few kB).
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
struct Inner {
    built: HashMap<ModelKey, Built>,
    /// Bin bounds `[lmin, lmax, wmin, wmax]` of cards that give them as plain numbers.
    bounds: HashMap<CardId, [f64; 4]>,
}

/// The models built from a netlist's cards, shared by every elaboration of it (sweep points,
/// Monte Carlo runs on any thread) and by its clones.
#[derive(Clone, Default)]
pub struct ModelCache(Arc<Mutex<Inner>>);

impl fmt::Debug for ModelCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelCache({} models)", self.lock().built.len())
    }
}

impl ModelCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // a panic while holding the lock leaves nothing half-written: keep using it
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The model of `key`, built by `build` the first time it is asked for.
    pub fn get_or_build(
        &self,
        key: &ModelKey,
        build: impl FnOnce() -> Result<Built>,
    ) -> Result<Built> {
        if let Some(b) = self.lock().built.get(key) {
            return Ok(b.clone());
        }
        let b = build()?;
        let mut inner = self.lock();
        if inner.built.len() >= MAX_ENTRIES {
            inner.built.clear();
        }
        inner.built.insert(key.clone(), b.clone());
        Ok(b)
    }

    /// The remembered literal bin bounds of a card.
    pub fn bounds(&self, card: CardId) -> Option<[f64; 4]> {
        self.lock().bounds.get(&card).copied()
    }

    /// Remembers the bin bounds of a card that gives them as plain numbers.
    pub fn set_bounds(&self, card: CardId, b: [f64; 4]) {
        self.lock().bounds.insert(card, b);
    }
}

/// Defaults of the bin bounds a card does not give (BSIM's: every size fits) [m].
pub const BOUND_DEFAULTS: [f64; 4] = [0.0, 1.0, 0.0, 1.0];

/// The names of the bin bounds, in the order of [`BOUND_DEFAULTS`].
pub const BOUND_NAMES: [&str; 4] = ["lmin", "lmax", "wmin", "wmax"];
