//! DC operating point: plain Newton, then gmin stepping, then source stepping.

use super::system::{NewtonCtx, NewtonFail, System};
use crate::error::Result;

/// Solves the operating point into `x` (len n+1). `time` is the source time (0 for .op).
pub fn operating_point(sys: &mut System, x: &mut [f64], what: &str) -> Result<()> {
    let itl = sys.opts.itl1;
    let base = NewtonCtx::dc(itl, true);
    let x0: Vec<f64> = x.to_vec();
    let first = if sys.any_off() {
        // ngspice's MODEINITFIX: solve with the `off` devices held off, then release them
        sys.init_fix = true;
        let fixed = sys.newton(x, &base);
        sys.init_fix = false;
        let float = NewtonCtx {
            init_junctions: false,
            ..base
        };
        match fixed.and_then(|_| sys.newton(x, &float)) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        }
    } else {
        match sys.newton(x, &base) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        }
    };
    let mut tried = vec![format!("plain Newton ({itl} iterations)")];
    // gmin stepping: a large shunt on every node makes the problem easy; relax it decade by decade
    x.copy_from_slice(&x0);
    let mut g = 1e-2;
    let mut ok = true;
    let mut init = true;
    while g > sys.opts.gmin * 0.99 {
        let c = NewtonCtx {
            gshunt: g,
            init_junctions: init,
            ..base
        };
        if sys.newton(x, &c).is_err() {
            ok = false;
            break;
        }
        init = false;
        g /= 10.0;
    }
    if ok {
        let c = NewtonCtx {
            init_junctions: false,
            ..base
        };
        if sys.newton(x, &c).is_ok() {
            return Ok(());
        }
    }
    tried.push("gmin stepping (1e-2 S down to gmin)".into());
    // source stepping: ramp every independent source from 0
    x.copy_from_slice(&x0);
    let mut f: f64 = 0.0;
    let mut df: f64 = 0.1;
    let mut init = true;
    let mut last_fail = first.clone();
    while f < 1.0 {
        let nf = (f + df).min(1.0);
        let mut xt = x.to_vec();
        let c = NewtonCtx {
            src_fact: nf,
            init_junctions: init,
            ..base
        };
        match sys.newton(&mut xt, &c) {
            Ok(_) => {
                x.copy_from_slice(&xt);
                f = nf;
                init = false;
                df = (df * 2.0).min(0.25);
            }
            Err(e) => {
                last_fail = e;
                df /= 4.0;
                if df < 1e-6 {
                    break;
                }
            }
        }
    }
    if f >= 1.0 {
        return Ok(());
    }
    tried.push(format!(
        "source stepping (reached {:.1}% of the sources)",
        f * 100.0
    ));
    let fail = if matches!(first, NewtonFail::Singular(_)) {
        first
    } else {
        last_fail
    };
    let mut e = sys.fail_error(&format!("{what}: operating point"), &fail);
    e.msg = match fail {
        NewtonFail::Singular(_) => e.msg,
        _ => format!("{what}: operating point did not converge"),
    };
    Err(e.with_note(format!("tried: {}", tried.join("; "))))
}
