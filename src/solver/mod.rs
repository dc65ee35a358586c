//! Numerical core: linear solver, Newton-Raphson, operating point, transient.
pub mod linear;
pub mod op;
pub mod system;
pub mod tran;
