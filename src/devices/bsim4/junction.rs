//! Source/drain-to-body junction diodes (BSIM4 manual, "Junction diode I-V" with `diomod`
//! 0, 1, 2 and trap-assisted tunnelling, "Junction diode C-V"): current and depletion
//! charge of one junction as functions of its forward bias, with their derivatives.

use super::setup::{EXP_THRESHOLD, Junction, MAX_EXP, MIN_EXP};

/// exp() clamped like BSIM4, with its derivative.
#[inline]
fn dexp_d(a: f64) -> (f64, f64) {
    if a > EXP_THRESHOLD {
        (MAX_EXP * (1.0 + a - EXP_THRESHOLD), MAX_EXP)
    } else if a < -EXP_THRESHOLD {
        (MIN_EXP, 0.0)
    } else {
        let e = a.exp();
        (e, e)
    }
}

impl Junction {
    /// Current from the body side into the diffusion \[A\] and its slope \[S\] at forward
    /// bias `v` \[V\] (n-channel frame), `gmin` \[S\] in parallel as SPICE adds it.
    pub(crate) fn current(&self, diomod: i64, v: f64, gmin: f64) -> (f64, f64) {
        let is = self.is;
        let nvtm = self.nvtm;
        let (mut i, mut g) = if is <= 0.0 {
            (gmin * v, gmin)
        } else {
            match diomod {
                0 => {
                    // BSIM4 leaves these exponentials unbounded; beyond e^34 (amperes of
                    // junction current) they continue linearly so Newton iterates far out
                    // stay finite
                    let (ev, dev) = dexp_d(v / nvtm);
                    let (t1, dt1) = dexp_d(-(self.bv + v) / nvtm);
                    (
                        is * (ev + self.xexp_bv - self.xjbv * t1 - 1.0) + gmin * v,
                        is * (dev + self.xjbv * dt1) / nvtm + gmin,
                    )
                }
                1 => {
                    let t2 = v / nvtm;
                    if t2 < -EXP_THRESHOLD {
                        (is * (MIN_EXP - 1.0) + gmin * v, gmin)
                    } else if v <= self.vjm_fwd {
                        let ev = t2.exp();
                        (is * (ev - 1.0) + gmin * v, is * ev / nvtm + gmin)
                    } else {
                        let t0 = self.ivjm_fwd / nvtm;
                        (
                            self.ivjm_fwd - is + t0 * (v - self.vjm_fwd) + gmin * v,
                            t0 + gmin,
                        )
                    }
                }
                _ => {
                    let expv = |v: f64| {
                        let t0 = v / nvtm;
                        if t0 < -EXP_THRESHOLD {
                            (MIN_EXP, 0.0)
                        } else {
                            let e = t0.exp();
                            (e, e / nvtm)
                        }
                    };
                    if v < self.vjm_rev {
                        let (ev, dev) = expv(v);
                        let t1 = ev - 1.0;
                        let t2 = self.ivjm_rev + self.slp_rev * (v - self.vjm_rev);
                        (t1 * t2 + gmin * v, dev * t2 + t1 * self.slp_rev + gmin)
                    } else if v <= self.vjm_fwd {
                        let (ev, dev) = expv(v);
                        let t1 = (self.bv + v) / nvtm;
                        let (t2, t3) = if t1 > EXP_THRESHOLD {
                            (MIN_EXP, 0.0)
                        } else {
                            let e = (-t1).exp();
                            (e, -e / nvtm)
                        };
                        (
                            is * (ev + self.xexp_bv - 1.0 - self.xjbv * t2) + gmin * v,
                            is * (dev - self.xjbv * t3) + gmin,
                        )
                    } else {
                        (
                            self.ivjm_fwd + self.slp_fwd * (v - self.vjm_fwd) + gmin * v,
                            self.slp_fwd + gmin,
                        )
                    }
                }
            }
        };
        // trap-assisted tunnelling and recombination in reverse bias
        for k in 0..3 {
            if self.tat_is[k] == 0.0 {
                continue;
            }
            let vts = self.tat_vts[k];
            let nvt = self.tat_nvtm[k];
            let (t1, dt1) = if vts - v < vts * 1e-3 {
                let (e, de) = dexp_d(-v / nvt * 1e3);
                (e, -de / nvt * 1e3)
            } else {
                let t9 = 1.0 / (vts - v);
                let (e, de) = dexp_d(-v / nvt * vts * t9);
                (e, -de * vts / nvt * (t9 + v * t9 * t9))
            };
            i -= self.tat_is[k] * (t1 - 1.0);
            g -= self.tat_is[k] * dt1;
        }
        (i, g)
    }

    /// Depletion charge \[C\] (on the body side) and capacitance \[F\] at forward bias `v`.
    pub(crate) fn charge(&self, v: f64) -> (f64, f64) {
        if v == 0.0 {
            (0.0, self.cz[0] + self.cz[1] + self.cz[2])
        } else if v < 0.0 {
            let (mut q, mut c) = (0.0, 0.0);
            for k in 0..3 {
                let cz = self.cz[k];
                if cz > 0.0 {
                    let mj = self.mj[k];
                    let arg = 1.0 - v / self.phi[k];
                    let sarg = if mj == 0.5 {
                        1.0 / arg.sqrt()
                    } else {
                        (-mj * arg.ln()).exp()
                    };
                    q += self.phi[k] * cz * (1.0 - arg * sarg) / (1.0 - mj);
                    c += cz * sarg;
                }
            }
            (q, c)
        } else {
            let t0 = self.cz[0] + self.cz[1] + self.cz[2];
            let t1 = v
                * (0..3)
                    .map(|k| self.cz[k] * self.mj[k] / self.phi[k])
                    .sum::<f64>();
            (v * (t0 + 0.5 * t1), t0 + t1)
        }
    }
}
