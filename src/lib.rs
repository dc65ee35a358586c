//! neurospice: a SPICE-style analog circuit simulator for spiking-neural-network hardware.
pub mod error;
pub mod snn;
