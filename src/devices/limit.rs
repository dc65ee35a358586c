//! Newton-iteration limiting of junction and FET voltages (ngspice's DEVpnjlim, DEVfetlim,
//! DEVlimvds) and the SPICE junction depletion charge, shared by the diode and the MOSFETs.

/// ngspice's junction voltage limiting (pnjlim): keeps exp() in range during Newton.
pub fn pnjlim(vnew: f64, vold: f64, vt: f64, vcrit: f64) -> (f64, bool) {
    if vnew > vcrit && (vnew - vold).abs() > vt + vt {
        if vold > 0.0 {
            let arg = 1.0 + (vnew - vold) / vt;
            if arg > 0.0 {
                (vold + vt * arg.ln(), true)
            } else {
                (vcrit, true)
            }
        } else {
            (vt * (vnew / vt).ln(), true)
        }
    } else if vnew < 0.0 {
        let arg = if vold > 0.0 {
            -vold - 1.0
        } else {
            2.0 * vold - 1.0
        };
        if vnew < arg {
            (arg, true)
        } else {
            (vnew, false)
        }
    } else {
        (vnew, false)
    }
}

/// ngspice's FET gate voltage limiting (DEVfetlim).
pub fn fetlim(vnew: f64, vold: f64, vto: f64) -> f64 {
    let vtsthi = (2.0 * (vold - vto)).abs() + 2.0;
    let vtstlo = vtsthi / 2.0 + 2.0;
    let vtox = vto + 3.5;
    let delv = vnew - vold;
    let mut v = vnew;
    if vold >= vto {
        if vold >= vtox {
            if delv <= 0.0 {
                if vnew >= vtox {
                    if -delv > vtstlo {
                        v = vold - vtstlo;
                    }
                } else {
                    v = (vto + 2.0).max(vnew);
                }
            } else if delv >= vtsthi {
                v = vold + vtsthi;
            }
        } else if delv <= 0.0 {
            v = (vto - 0.5).max(vnew);
        } else {
            v = (vto + 4.0).min(vnew);
        }
    } else if delv <= 0.0 {
        if -delv > vtsthi {
            v = vold - vtsthi;
        }
    } else {
        let vtemp = vto + 0.5;
        if vnew <= vtemp {
            if delv > vtstlo {
                v = vold + vtstlo;
            }
        } else {
            v = vtemp;
        }
    }
    v
}

/// ngspice's drain-source voltage limiting (DEVlimvds).
pub fn limvds(vnew: f64, vold: f64) -> f64 {
    if vold >= 3.5 {
        if vnew > vold {
            vnew.min(3.0 * vold + 2.0)
        } else if vnew < 3.5 {
            vnew.max(2.0)
        } else {
            vnew
        }
    } else if vnew > vold {
        vnew.min(4.0)
    } else {
        vnew.max(-0.5)
    }
}

/// Depletion charge and capacitance of a junction (SPICE's with forward-bias linearisation
/// above fc*vj): returns (q [C], c [F]) for zero-bias capacitance `cj0`.
pub fn depletion(v: f64, cj0: f64, vj: f64, m: f64, fc: f64) -> (f64, f64) {
    if cj0 == 0.0 {
        return (0.0, 0.0);
    }
    let fcv = fc * vj;
    if v < fcv {
        let arg = 1.0 - v / vj;
        let sarg = if m == 0.5 {
            1.0 / arg.sqrt()
        } else {
            (-m * arg.ln()).exp()
        };
        (vj * cj0 * (1.0 - arg * sarg) / (1.0 - m), cj0 * sarg)
    } else {
        let f1 = vj * (1.0 - (1.0 - fc).powf(1.0 - m)) / (1.0 - m);
        let f2 = (1.0 - fc).powf(1.0 + m);
        let f3 = 1.0 - fc * (1.0 + m);
        let q = cj0 * f1 + cj0 / f2 * (f3 * (v - fcv) + m / (2.0 * vj) * (v * v - fcv * fcv));
        (q, cj0 / f2 * (f3 + m * v / vj))
    }
}
