//! The network side: everything between a characterised neuron circuit and the accuracy of
//! the binarized MNIST network built from it.
//!
//! - [`snn`]: data loaders, the binarized IF-SNN with crossbar chunks, training, and the
//!   pluggable neuron models (a new neuron model goes into `snn/neuron.rs` and its spec into
//!   `AnyNeuron::parse`).
//! - [`capmin`]: CapMin and CapMin-V, from MAC-level histograms to a sized membrane capacitor,
//!   with the level-selection policy (`capmin::study`) that the command line only calls.
//! - [`chara`]: a neuron netlist's transfer curve (level -> spike time, membrane voltage), the
//!   bridge from circuits to the `circuit:FILE` neuron model.
//! - [`netgen`]: netlist generators (the C-2C ladder synapse).
pub mod capmin;
pub mod chara;
pub mod netgen;
pub mod snn;
