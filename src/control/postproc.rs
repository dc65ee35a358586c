//! The post-processing commands on transient results: `linearize`, `fft`, `spec`,
//! `fourier`. Each takes the vectors the interpreter looked up or evaluated and returns the
//! plot or the text it makes; the numbers are in `spectrum`.
//!
//! Where ngspice prints `Error: ...` about one vector and goes on with the others (a vector
//! of the wrong length, a complex one), these warn on stderr and go on too; what leaves the
//! whole command without a result (no time scale, bad arguments, an unknown window) is an
//! error of the command, which ends the run as every failing control command does here.

use super::expr::Val;
use super::spectrum::{self, Harmonics};
use super::vector::{Data, NewPlot, Plot, VType, Vector};
use super::{CResult, CtlError};

/// `linearize`: the vectors `vecs` of the transient plot `old` resampled onto the grid of
/// the last transient analysis (`tstart`, `tstop`, `tstep`). `vecs` empty: every vector
/// but the scale. Returns the new plot (ngspice's stem `tran`) and warnings for vectors
/// left out.
pub fn linearize(
    old: &Plot,
    tran: Option<(f64, f64, f64)>,
    vecs: Option<Vec<Vector>>,
) -> CResult<(NewPlot, Vec<String>)> {
    let (tstart, tstop, tstep) = tran.ok_or(
        "linearize: no transient analysis has run (it takes its time grid from the last one)",
    )?;
    let scale = old
        .scale_vec()
        .ok_or("linearize: the current plot has no vectors")?;
    if !scale.is_real() {
        return Err(CtlError::Msg(format!(
            "linearize: the time scale of {} is not real",
            old.typename
        )));
    }
    if !old.typename.to_ascii_lowercase().starts_with("tran") {
        return Err(CtlError::Msg(format!(
            "linearize: the current plot {} is not a transient analysis",
            old.typename
        )));
    }
    let list: Vec<Vector> = match vecs {
        Some(v) => v,
        None => old
            .vecs
            .iter()
            .filter(|v| !v.name.eq_ignore_ascii_case(&scale.name))
            .cloned()
            .collect(),
    };
    let grid = spectrum::linear_grid(tstart, tstop, tstep, list.len())?;
    let t_old = scale.data.real_parts();
    let mut warnings = Vec::new();
    let mut out = vec![Vector::real(&scale.name, scale.vtype, grid.clone())];
    for v in list {
        if !v.is_real() {
            warnings.push(format!("linearize: {} is not real; left out", v.name));
            continue;
        }
        if v.len() < t_old.len() {
            warnings.push(format!("linearize: {} is too short; left out", v.name));
            continue;
        }
        let y = v.data.real_parts();
        out.push(Vector::real(
            v.name,
            v.vtype,
            spectrum::lin_interp(&t_old, &y, &grid),
        ));
    }
    Ok((
        NewPlot {
            name: format!("{} (linearized)", old.name),
            title: old.title.clone(),
            date: old.date.clone(),
            vecs: out,
            // no dimensions in ngspice's sense: `print` shows no scale column
            has_scale: false,
        },
        warnings,
    ))
}

/// The name a spectrum gives the vector of `v` (ngspice's `vec_basename`: lower case, without
/// the `plot.` prefix of its own plot).
fn basename(v: &Val, plot_typename: Option<&str>) -> String {
    let n = v.vec.name.to_ascii_lowercase();
    match (n.split_once('.'), plot_typename) {
        (Some((pre, rest)), Some(t)) if pre.eq_ignore_ascii_case(t) => rest.to_string(),
        _ => n,
    }
}

/// The real vectors among `vals` that a spectrum of the time scale `time` can take: the
/// right length, real, not themselves a time. Warnings for the others.
fn usable(
    cmd: &str,
    vals: Vec<Val>,
    n: usize,
    typename: &dyn Fn(u64) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Vec<(String, VType, Vec<f64>)> {
    let mut good = Vec::new();
    for v in vals {
        if v.vec.len() != n {
            warnings.push(format!(
                "{cmd}: the length of {} ({}) is not that of the time scale ({n}); left out",
                v.vec.name,
                v.vec.len()
            ));
            continue;
        }
        if !v.vec.is_real() {
            warnings.push(format!("{cmd}: {} is not real; left out", v.vec.name));
            continue;
        }
        if v.vec.vtype == VType::Time {
            continue;
        }
        let name = basename(&v, typename(v.plot).as_deref());
        good.push((name, v.vec.vtype, v.vec.data.real_parts()));
    }
    good
}

/// The time scale of the current plot, which `cmd` needs real and of type time.
fn time_scale(cmd: &str, cur: &Plot) -> CResult<Vec<f64>> {
    let s = cur
        .scale_vec()
        .ok_or_else(|| CtlError::Msg(format!("{cmd}: the current plot has no vectors")))?;
    if !s.is_real() || s.vtype != VType::Time {
        return Err(CtlError::Msg(format!(
            "{cmd} needs a real time scale, but the scale of {} is {}",
            cur.typename, s.name
        )));
    }
    if s.len() < 2 {
        return Err(CtlError::Msg(format!(
            "{cmd}: the time scale of {} has fewer than two points",
            cur.typename
        )));
    }
    Ok(s.data.real_parts())
}

/// What `fft` and `spec` make: the plot (ngspice's stem `sp`) and the text `fft` prints.
pub struct Spectrum {
    pub plot: NewPlot,
    pub text: String,
    pub warnings: Vec<String>,
}

/// What a spectrum command reads besides its vectors.
pub struct SpecCtx<'a> {
    /// `specwindow` (ngspice's default `hanning`) and `specwindoworder` (default 2).
    pub window: &'a str,
    pub order: i64,
    /// The title and date of the new plot.
    pub title: &'a str,
    pub date: &'a str,
    /// The type name of a plot by id (to name vectors `plot.name` without their plot).
    pub typename: &'a dyn Fn(u64) -> Option<String>,
}

/// `fft v1 v2 ...` on the current plot `cur`. `None` when no vector was usable (ngspice then
/// makes no plot).
pub fn fft(cur: &Plot, vals: Vec<Val>, cx: &SpecCtx) -> CResult<Option<Spectrum>> {
    let time = time_scale("fft", cur)?;
    let n = time.len();
    let span = time[n - 1] - time[0];
    let window = cx.window;
    let win = spectrum::fft_window(window, cx.order, &time, span)
        .ok_or_else(|| CtlError::Msg(format!("fft: unknown window type {window} (specwindow)")))?;
    let mut warnings = Vec::new();
    let good = usable("fft", vals, n, cx.typename, &mut warnings);
    if good.is_empty() {
        return Ok(None);
    }
    let padded = spectrum::padded_len(n);
    let freqs = spectrum::fft_freqs(n, span);
    let mut vecs = vec![Vector::real("frequency", VType::Frequency, freqs.clone())];
    for (name, _, x) in &good {
        vecs.push(Vector {
            name: name.clone(),
            vtype: VType::NoType,
            data: Data::Complex(spectrum::real_spectrum(x, &win)),
        });
    }
    let g = |v: f64| super::cfmt::g(v, 6);
    let text = format!(
        "FFT: Time span: {} s, input length: {n}, zero padding: {}\n\
         FFT: Frequency resolution: {} Hz, output length: {}\n",
        g(span),
        padded - n,
        g(1.0 / span),
        freqs.len()
    );
    Ok(Some(Spectrum {
        plot: spectrum_plot(vecs, cx.title, cx.date),
        text,
        warnings,
    }))
}

fn spectrum_plot(vecs: Vec<Vector>, title: &str, date: &str) -> NewPlot {
    NewPlot {
        name: "Spectrum".into(),
        title: title.to_string(),
        date: date.to_string(),
        vecs,
        // no dimensions in ngspice's sense: `print` shows no scale column
        has_scale: false,
    }
}

/// `spec start stop step v1 v2 ...` on the current plot.
pub fn spec(
    cur: &Plot,
    (start, stop, step): (f64, f64, f64),
    vals: Vec<Val>,
    cx: &SpecCtx,
) -> CResult<Option<Spectrum>> {
    let time = time_scale("spec", cur)?;
    let grid = spectrum::spec_grid(start, stop, step, &time)?;
    let window = cx.window;
    let win = spectrum::spec_window(window, cx.order, &time, grid.span)
        .ok_or_else(|| CtlError::Msg(format!("spec: unknown window type {window} (specwindow)")))?;
    let mut warnings = Vec::new();
    let good = usable("spec", vals, time.len(), cx.typename, &mut warnings);
    if good.is_empty() {
        return Ok(None);
    }
    let data: Vec<Vec<f64>> = good.iter().map(|g| g.2.clone()).collect();
    let (freqs, spectra) = spectrum::spec(&time, &win, &data, &grid);
    let mut vecs = vec![Vector::real("frequency", VType::Frequency, freqs)];
    for ((name, vtype, _), s) in good.into_iter().zip(spectra) {
        vecs.push(Vector {
            name,
            vtype,
            data: Data::Complex(s),
        });
    }
    Ok(Some(Spectrum {
        plot: spectrum_plot(vecs, cx.title, cx.date),
        text: String::new(),
        warnings,
    }))
}

/// The settings of `fourier` (ngspice's variables `nfreqs`, `polydegree`, `fourgridsize`).
#[derive(Debug, Clone, Copy)]
pub struct FourierOpts {
    pub nfreqs: usize,
    pub polydegree: usize,
    pub gridsize: usize,
    pub numdgt: usize,
}

/// `fourier fund v1 v2 ...` on the current plot: the tables to print, and per vector the
/// harmonics (`fourierMN`: frequencies, magnitudes, phases) for the current plot.
pub fn fourier(
    cur: &Plot,
    fund: f64,
    vals: Vec<Val>,
    o: FourierOpts,
) -> CResult<(String, Vec<Harmonics>, Vec<String>)> {
    let scale = cur
        .scale_vec()
        .ok_or("fourier: the current plot has no vectors")?;
    if !scale.is_real() {
        return Err("fourier needs a real time scale".into());
    }
    if fund.is_nan() || fund <= 0.0 {
        return Err(CtlError::Msg(format!(
            "fourier: bad fundamental frequency {}",
            super::cfmt::g_upper(fund)
        )));
    }
    if o.polydegree > 20 {
        return Err(CtlError::Msg(format!(
            "fourier: polydegree {} is more than the 20 neurospice interpolates with",
            o.polydegree
        )));
    }
    let time = scale.data.real_parts();
    // the budget before anything is allocated: grid points times harmonics
    let points = if o.polydegree == 0 {
        time.len()
    } else {
        o.gridsize
    };
    if points.saturating_mul(o.nfreqs.max(1)) > spectrum::MAX_POINTS {
        return Err(CtlError::Msg(format!(
            "fourier: {} harmonics of {points} points exceed the limit of {} terms (nfreqs, fourgridsize)",
            o.nfreqs,
            spectrum::MAX_POINTS
        )));
    }
    let mut text = String::new();
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for v in vals {
        if v.vec.len() != time.len() {
            warnings.push(format!(
                "fourier: the length of {} ({}) is not that of the scale ({}); left out",
                v.vec.name,
                v.vec.len(),
                time.len()
            ));
            continue;
        }
        if !v.vec.is_real() {
            warnings.push(format!("fourier: {} is not real; left out", v.vec.name));
            continue;
        }
        let y = v.vec.data.real_parts();
        let (values, grid) = if o.polydegree == 0 {
            let n = y.len();
            (y, n)
        } else {
            let lo = time.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = time.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let period = 1.0 / fund;
            if hi - lo < period {
                return Err(CtlError::Msg(format!(
                    "fourier: the period of {} Hz is longer than the time span ({} s)",
                    super::cfmt::g_upper(fund),
                    super::cfmt::g_upper(hi - lo)
                )));
            }
            if time.len() < 2 {
                return Err("fourier: too few points to interpolate".into());
            }
            let t0 = hi - period;
            let d = period / o.gridsize as f64;
            let at: Vec<f64> = (0..o.gridsize).map(|i| t0 + i as f64 * d).collect();
            let v = if o.polydegree == 1 {
                spectrum::lin_interp(&time, &y, &at)
            } else {
                spectrum::poly_interp(&time, &y, &at, o.polydegree)
            };
            (v, o.gridsize)
        };
        let h = spectrum::harmonics(&values, fund, o.nfreqs);
        text.push_str(&spectrum::fourier_table(
            &v.vec.name,
            &h,
            grid,
            o.polydegree,
            o.numdgt,
        ));
        out.push(h);
    }
    Ok((text, out, warnings))
}

/// The vector `fourierMN` ngspice leaves in the plot: frequencies, magnitudes, phases.
pub fn fourier_vector(name: String, h: &Harmonics) -> Vector {
    let mut d = h.freq.clone();
    d.extend_from_slice(&h.mag);
    d.extend_from_slice(&h.phase);
    Vector::real(name, VType::NoType, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_of_a_cosine_plot() {
        let n = 32;
        let t: Vec<f64> = (0..n).map(|i| i as f64 * 1e-3).collect();
        let x: Vec<f64> = t
            .iter()
            .map(|t| (2.0 * std::f64::consts::PI * 250.0 * t).cos())
            .collect();
        let cur = Plot {
            id: 1,
            typename: "tran1".into(),
            name: "Transient Analysis".into(),
            title: "t".into(),
            date: "d".into(),
            vecs: vec![
                Vector::real("time", VType::Time, t),
                Vector::real("out", VType::Voltage, x.clone()),
            ],
            scale: Some("time".into()),
            analysis: true,
        };
        let v = Val {
            vec: Vector::real("v(out)", VType::Voltage, x),
            plot: 1,
        };
        let cx = SpecCtx {
            window: "none",
            order: 2,
            title: "t",
            date: "d",
            typename: &|_| Some("tran1".into()),
        };
        let s = fft(&cur, vec![v], &cx).unwrap().unwrap();
        assert_eq!(s.plot.vecs.len(), 2);
        assert_eq!(s.plot.vecs[1].len(), 17);
        assert!(s.text.contains("zero padding: 0"));
        // 250 Hz over 31 ms of 32 samples: the bin nearest 250 Hz is the largest
        let d = s.plot.vecs[1].data.to_complex();
        let k = (0..17)
            .max_by(|a, b| d[*a].abs().total_cmp(&d[*b].abs()))
            .unwrap_or(0);
        assert_eq!(k, 8);
    }
}
