//! Numerical core: linear solver, Newton-Raphson, operating point, transient, AC.
pub mod ac;
pub mod circuit_lu;
pub mod events;
pub mod linear;
pub mod lte;
pub mod op;
pub mod system;
pub mod tran;

/// `dst.copy_from_slice(src)` without a library call for the few-element vectors of small
/// parts (an isolated neuron has two slots), where the call costs more than the copy.
#[inline]
pub(crate) fn copy_small(dst: &mut [f64], src: &[f64]) {
    match (dst, src) {
        ([d0], [s0]) => *d0 = *s0,
        ([d0, d1], [s0, s1]) => (*d0, *d1) = (*s0, *s1),
        ([d0, d1, d2], [s0, s1, s2]) => (*d0, *d1, *d2) = (*s0, *s1, *s2),
        ([d0, d1, d2, d3], [s0, s1, s2, s3]) => (*d0, *d1, *d2, *d3) = (*s0, *s1, *s2, *s3),
        (d, s) => d.copy_from_slice(s),
    }
}
