//! Network level: a binary-weight integrate-and-fire SNN on MNIST whose crossbar-chunk
//! MACs go through a pluggable neuron model (ideal, level map, confusion matrix, analytic
//! IF neuron with current variation, circuit-characterised spike-time curve).
//!
//! ```no_run
//! use neurospice::neuro::snn::{data, model::{Network, evaluate}, neuron::Ideal};
//! # fn main() -> neurospice::error::Result<()> {
//! let net = Network::load("models/bnn_mnist.json".as_ref())?;
//! let digits = data::load("data/mnist_4k.csv.gz".as_ref(), None)?;
//! let result = evaluate(&net, &digits, &Ideal, 1, 0)?;
//! println!("accuracy {:.2}%", 100.0 * result.accuracy);
//! # Ok(()) }
//! ```
//!
//! Design decisions are recorded in `docs/snn.md`.

pub mod analog;
pub mod data;
pub mod model;
pub mod neuron;
pub mod study;
pub mod train;
