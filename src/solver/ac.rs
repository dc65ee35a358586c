//! Small-signal AC analysis: the circuit linearised at its operating point, G = dF/dx and
//! C = dQ/dx from the devices' own Jacobians (the device contract already loads both), and
//! (G + jωC) x = b solved per frequency with faer's complex sparse LU; the symbolic analysis
//! is done once for the sweep, the numeric factorisation per frequency. `b` holds the
//! `AC mag phase` excitations of the independent sources.

use super::system::System;
use crate::error::{Error, Result};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::factor::PartialPivLuParams;
use faer::sparse::linalg::lu::{LuRef, LuSymbolicParams, NumericLu, factorize_symbolic_lu};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMat};
use faer::{Conj, MatMut, Par, Spec, c64};

/// The complex solution at each frequency of the unknowns `cols` (indices into x, 1-based):
/// `out[j][i]` is unknown `cols[j]` at `freqs[i]`, as (real, imaginary).
pub fn ac_sweep(
    sys: &mut System,
    x: &[f64],
    freqs: &[f64],
    cols: &[usize],
) -> Result<Vec<Vec<(f64, f64)>>> {
    // the linearisation: a full load at the operating point (DC mode: sources at their DC
    // values, switches in the state their controls give)
    sys.load(x, 0.0, true, 1.0, false);
    for d in &sys.devs {
        crate::devices::DeviceOps::ac_linearise(&d.dev, &mut sys.jf, &mut sys.jq);
    }
    let pat = sys.pattern().clone();
    let n = pat.n;
    let nnz = pat.nnz();
    let mut b = vec![(0.0, 0.0); n + 1];
    for d in &sys.devs {
        crate::devices::DeviceOps::ac_rhs(&d.dev, &mut b);
    }
    let mut out = vec![Vec::with_capacity(freqs.len()); cols.len()];
    if n == 0 {
        for c in out.iter_mut() {
            c.resize(freqs.len(), (0.0, 0.0));
        }
        return Ok(out);
    }
    let sym = SymbolicSparseColMat::new_checked(n, n, pat.col_ptr.clone(), None, pat.row_idx);
    let symbolic = factorize_symbolic_lu(sym.as_ref(), LuSymbolicParams::default())
        .map_err(|e| Error::numeric(format!(".ac: symbolic LU failed: {e:?}")))?;
    let req = symbolic
        .factorize_numeric_lu_scratch::<c64>(Par::Seq, Spec::<PartialPivLuParams, c64>::default())
        .or(symbolic.solve_in_place_scratch::<c64>(1, Par::Seq));
    let mut scratch = MemBuffer::new(req);
    let mut numeric = NumericLu::<usize, c64>::new();
    let mut vals = vec![c64::new(0.0, 0.0); nnz];
    let mut rhs = vec![c64::new(0.0, 0.0); n];
    for &f in freqs {
        let w = 2.0 * std::f64::consts::PI * f;
        for (k, v) in vals.iter_mut().enumerate() {
            *v = c64::new(sys.jf[k + 1], w * sys.jq[k + 1]);
        }
        let singular = |why: String| {
            Error::numeric(format!(
                ".ac: the small-signal matrix is singular at {f:e} Hz ({why})"
            ))
        };
        symbolic
            .factorize_numeric_lu(
                &mut numeric,
                SparseColMatRef::new(sym.as_ref(), &vals),
                Par::Seq,
                MemStack::new(&mut scratch),
                Spec::<PartialPivLuParams, c64>::default(),
            )
            .map_err(|e| match e {
                faer::sparse::linalg::LuError::SymbolicSingular { index } => {
                    singular(format!("no pivot for '{}'", sys.names[index + 1]))
                }
                e => singular(format!("{e:?}")),
            })?;
        for (r, v) in rhs.iter_mut().zip(&b[1..]) {
            *r = c64::new(v.0, v.1);
        }
        let lu = LuRef::new_unchecked(&symbolic, &numeric);
        lu.solve_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(&mut rhs, n, 1),
            Par::Seq,
            MemStack::new(&mut scratch),
        );
        if rhs.iter().any(|v| !(v.re.is_finite() && v.im.is_finite())) {
            return Err(singular("the solution is not finite".into()));
        }
        for (j, &k) in cols.iter().enumerate() {
            let v = if k == 0 {
                c64::new(0.0, 0.0)
            } else {
                rhs[k - 1]
            };
            out[j].push((v.re, v.im));
        }
    }
    Ok(out)
}
