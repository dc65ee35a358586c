//! Layout-dependent source/drain diffusion areas, perimeters and resistances (BSIM4 manual,
//! "Layout-dependent parasitics model": `geomod` 0..10 and `rgeomod`), used when the
//! instance does not give `as`/`ad`/`ps`/`pd` or `nrs`/`nrd`.

/// Diffusion perimeters and areas of both sides.
pub(crate) struct PerimArea {
    pub ps: f64,
    pub pd: f64,
    pub as_: f64,
    pub ad: f64,
}

/// Numbers of interior and end diffusions (drain, source) for `nf` fingers; with an even
/// finger count `min_sd == 1` minimises the drain diffusions.
fn finger_diffusions(nf: f64, min_sd: i64) -> (f64, f64, f64, f64) {
    let n = nf as i64;
    if n % 2 != 0 {
        let int = 2.0 * ((nf - 1.0) / 2.0).max(0.0);
        (int, 1.0, int, 1.0)
    } else if min_sd == 1 {
        (2.0 * (nf / 2.0 - 1.0).max(0.0), 2.0, nf, 0.0)
    } else {
        (nf, 0.0, 2.0 * (nf / 2.0 - 1.0).max(0.0), 2.0)
    }
}

/// Diffusion perimeters and areas of layout `geo` (isolated, shared or merged ends).
pub(crate) fn pa_eff(
    nf: f64,
    geo: i64,
    min_sd: i64,
    weffcj: f64,
    dmcg: f64,
    dmci: f64,
    dmdg: f64,
) -> PerimArea {
    let (nu_int_d, nu_end_d, nu_int_s, nu_end_s) = if geo < 9 {
        finger_diffusions(nf, min_sd)
    } else {
        (0.0, 0.0, 0.0, 0.0)
    };
    let t0 = dmcg + dmci;
    let p_iso = t0 + t0 + weffcj;
    let p_sha = dmcg + dmcg;
    let p_mer = dmdg + dmdg;
    let a_iso = t0 * weffcj;
    let a_sha = dmcg * weffcj;
    let a_mer = dmdg * weffcj;
    // (end kind of source, end kind of drain): 0 isolated, 1 shared, 2 merged
    let ends = |s: u8, d: u8| {
        let pe = |k: u8| [p_iso, p_sha, p_mer][k as usize];
        let ae = |k: u8| [a_iso, a_sha, a_mer][k as usize];
        PerimArea {
            ps: nu_end_s * pe(s) + nu_int_s * p_sha,
            pd: nu_end_d * pe(d) + nu_int_d * p_sha,
            as_: nu_end_s * ae(s) + nu_int_s * a_sha,
            ad: nu_end_d * ae(d) + nu_int_d * a_sha,
        }
    };
    match geo {
        0 => ends(0, 0),
        1 => ends(0, 1),
        2 => ends(1, 0),
        3 => ends(1, 1),
        4 => ends(0, 2),
        5 => ends(1, 2),
        6 => ends(2, 0),
        7 => ends(2, 1),
        8 => ends(2, 2),
        9 => PerimArea {
            ps: p_iso + (nf - 1.0) * p_sha,
            pd: nf * p_sha,
            as_: a_iso + (nf - 1.0) * a_sha,
            ad: nf * a_sha,
        },
        _ => PerimArea {
            ps: nf * p_sha,
            pd: p_iso + (nf - 1.0) * p_sha,
            as_: nf * a_sha,
            ad: a_iso + (nf - 1.0) * a_sha,
        },
    }
}

#[allow(clippy::too_many_arguments)]
/// End resistance of an isolated (`iso`) or shared end diffusion for `rgeo`.
fn rds_end(
    iso: bool,
    weffcj: f64,
    rsh: f64,
    dmcg: f64,
    dmci: f64,
    nu_end: f64,
    rgeo: i64,
    source: bool,
) -> f64 {
    if nu_end == 0.0 {
        return 0.0;
    }
    let wide = if source {
        matches!(rgeo, 1 | 2 | 5)
    } else {
        matches!(rgeo, 1 | 3 | 7)
    };
    if wide {
        rsh * dmcg / (weffcj * nu_end)
    } else if iso {
        rsh * weffcj / (3.0 * nu_end * (dmcg + dmci))
    } else {
        rsh * weffcj / (6.0 * nu_end * dmcg)
    }
}

/// Source (`source`) or drain diffusion resistance \[ohm\] of layout `geo` for `rgeo`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rds_eff(
    nf: f64,
    geo: i64,
    rgeo: i64,
    min_sd: i64,
    weffcj: f64,
    rsh: f64,
    dmcg: f64,
    dmci: f64,
    dmdg: f64,
    source: bool,
) -> f64 {
    let mut rint = 0.0;
    let (mut nu_end_d, mut nu_end_s) = (0.0, 0.0);
    if geo < 9 {
        let (nu_int_d, ned, nu_int_s, nes) = finger_diffusions(nf, min_sd);
        nu_end_d = ned;
        nu_end_s = nes;
        let nu_int = if source { nu_int_s } else { nu_int_d };
        if nu_int != 0.0 {
            rint = rsh * dmcg / (weffcj * nu_int);
        }
    }
    let nu_end = if source { nu_end_s } else { nu_end_d };
    let end = |kind: u8| match kind {
        0 => rds_end(true, weffcj, rsh, dmcg, dmci, nu_end, rgeo, source),
        1 => rds_end(false, weffcj, rsh, dmcg, dmci, nu_end, rgeo, source),
        _ => rsh * dmdg / (weffcj * if nu_end == 0.0 { 1.0 } else { nu_end }),
    };
    // end kinds of (source, drain) per geo, 0 isolated, 1 shared, 2 merged
    let rend = match geo {
        0 => end(0),
        1 => end(if source { 0 } else { 1 }),
        2 => end(if source { 1 } else { 0 }),
        3 => end(1),
        4 => {
            if source {
                end(0)
            } else {
                rsh * dmdg / weffcj
            }
        }
        5 => {
            if source {
                end(1)
            } else {
                rsh * dmdg / (weffcj * nu_end_d)
            }
        }
        6 => {
            if source {
                rsh * dmdg / weffcj
            } else {
                end(0)
            }
        }
        7 => {
            if source {
                rsh * dmdg / (weffcj * nu_end_s)
            } else {
                end(1)
            }
        }
        8 => rsh * dmdg / weffcj,
        9 | 10 => {
            let wide_end = (geo == 9) == source;
            if wide_end {
                rint = if nf == 2.0 {
                    0.0
                } else {
                    rsh * dmcg / (weffcj * (nf - 2.0))
                };
                0.5 * rsh * dmcg / weffcj
            } else {
                rint = rsh * dmcg / (weffcj * nf);
                0.0
            }
        }
        _ => 0.0,
    };
    if rint <= 0.0 {
        rend
    } else if rend <= 0.0 {
        rint
    } else {
        rint * rend / (rint + rend)
    }
}
