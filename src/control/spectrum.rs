//! The numbers behind `linearize`, `fft`, `spec` and `fourier`, as ngspice 39 computes them
//! (checked against its output, docs/control.md):
//!
//! - `linearize`: piecewise-linear interpolation onto `tstart, tstart + tstep, ...` (the grid
//!   accumulated by repeated addition, `(tstop - tstart) / tstep + 1.5` points).
//! - `fft`: the windowed samples, zero-padded to the next power of two `N` (ngspice 39 is built
//!   with its own radix-2 FFT, not FFTW), transformed with `exp(-j 2 pi k n / N)` and scaled by
//!   `2 / N`; bins `0 ..= N/2` at `k / span * len / N` Hz.
//! - `spec`: a direct Fourier sum over the time points themselves (no resampling), the window
//!   cut to a whole number of `1 / step` periods, the mean removed.
//! - `fourier`: the last period of the fundamental interpolated onto `fourgridsize` points,
//!   then the classic harmonic sums (magnitude, phase in degrees, normalised to harmonic 1,
//!   THD over harmonics 2 and up).
//!
//! The FFT is a plain iterative radix-2 transform: ngspice always pads to a power of two, so
//! nothing else is needed, and no FFT crate is in the project's dependency set.

use super::CResult;
use super::cx::C;
use std::f64::consts::PI;

/// Most values `linearize` makes (points times vectors), and most harmonic-sum terms
/// `fourier` computes; checked before anything is allocated.
pub const MAX_POINTS: usize = 20_000_000;

/// The window of `fft` (and ngspice's `psd`): `specwindow` name, `specwindoworder`, over the
/// time points `time` whose last `span` seconds are kept. `None` for an unknown name.
/// Each window has an average of one, so a sine's bin keeps its amplitude.
pub fn fft_window(name: &str, order: i64, time: &[f64], span: f64) -> Option<Vec<f64>> {
    window(name, order, time, span, false)
}

/// The window of `spec` (its own list: no `hann`, `bartlett` or `flattop`, and a gaussian
/// normalised differently from `fft`'s).
pub fn spec_window(name: &str, order: i64, time: &[f64], span: f64) -> Option<Vec<f64>> {
    window(name, order, time, span, true)
}

fn window(name: &str, order: i64, time: &[f64], span: f64, spec: bool) -> Option<Vec<f64>> {
    let order = order.max(2) as f64;
    let maxt = time.last().copied().unwrap_or(0.0);
    let cos_k = |k: f64, t: f64| (k * 2.0 * PI * (t - maxt) / span).cos();
    let f: Box<dyn Fn(f64) -> f64> = match name {
        "none" => return Some(vec![1.0; time.len()]),
        "rectangular" => Box::new(|_| 1.0),
        "hanning" | "cosine" => Box::new(move |t| 1.0 - cos_k(1.0, t)),
        "hann" if !spec => Box::new(move |t| 1.0 - cos_k(1.0, t)),
        "hamming" if spec => Box::new(move |t| 1.0 - 0.92 / 1.08 * cos_k(1.0, t)),
        "hamming" => Box::new(move |t| 1.0 - 0.46 / 0.54 * cos_k(1.0, t)),
        "triangle" | "bartlet" => Box::new(|t| 2.0 - (2.0 + 4.0 * (t - maxt) / span).abs()),
        "bartlett" if !spec => Box::new(|t| 2.0 - (2.0 + 4.0 * (t - maxt) / span).abs()),
        "blackman" => {
            Box::new(move |t| 1.0 - 0.50 / 0.42 * cos_k(1.0, t) + 0.08 / 0.42 * cos_k(2.0, t))
        }
        "flattop" if !spec => Box::new(move |t| {
            1.0 - 1.93 * cos_k(1.0, t) + 1.29 * cos_k(2.0, t) - 0.388 * cos_k(3.0, t)
                + 0.032 * cos_k(4.0, t)
        }),
        "gaussian" if spec => {
            let scale = (2.0 * PI / order).sqrt() * (0.5 - crate::stats::erfc(order.sqrt()));
            Box::new(move |t| {
                let u = 1.0 - 2.0 * (maxt - t) / span;
                (-0.5 * order * u * u).exp() / scale
            })
        }
        "gaussian" => {
            let sigma = 1.0 / order;
            let scale = 0.83 / sigma;
            Box::new(move |t| {
                scale * (-0.5 * ((t - maxt / 2.0) / (sigma * maxt / 2.0)).powi(2)).exp()
            })
        }
        _ => return None,
    };
    Some(
        time.iter()
            .map(|&t| if maxt - t > span { 0.0 } else { f(t) })
            .collect(),
    )
}

/// The smallest power of two at least `n` (and at least 1).
pub fn padded_len(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// In-place radix-2 decimation-in-time FFT, `X[k] = sum x[n] exp(-j 2 pi k n / N)`;
/// `a.len()` must be a power of two.
fn fft_in_place(a: &mut [C]) {
    let n = a.len();
    if n < 2 {
        return;
    }
    // bit-reversal permutation
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            a.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let ang = -2.0 * PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                // the twiddle computed directly (not by repeated multiplication) keeps the
                // rounding of long transforms at the level of one product
                let w = C::new((ang * k as f64).cos(), (ang * k as f64).sin());
                let u = a[start + k];
                let v = a[start + k + len / 2] * w;
                a[start + k] = u + v;
                a[start + k + len / 2] = u - v;
            }
        }
        len <<= 1;
    }
}

/// `fft`'s spectrum of real samples `x` times `win`: zero-padded to `N` = [`padded_len`],
/// bins `0 ..= N/2`, scaled by `2 / N`.
pub fn real_spectrum(x: &[f64], win: &[f64]) -> Vec<C> {
    let n = padded_len(x.len());
    let mut a: Vec<C> = x.iter().zip(win).map(|(v, w)| C::new(v * w, 0.0)).collect();
    a.resize(n, C::default());
    fft_in_place(&mut a);
    let s = 2.0 / n as f64;
    let mut out: Vec<C> = a[..=n / 2]
        .iter()
        .map(|c| C::new(c.re * s, c.im * s))
        .collect();
    // the DC and Nyquist bins of a real signal are real
    if let Some(f) = out.first_mut() {
        f.im = 0.0;
    }
    if n >= 2
        && let Some(l) = out.last_mut()
    {
        l.im = 0.0;
    }
    out
}

/// `fft()` of complex samples `z` times `win`: zero-padded to `N` = [`padded_len`], all `N`
/// bins, scaled by `1 / N`.
pub fn complex_spectrum(z: &[C], win: &[f64]) -> Vec<C> {
    let n = padded_len(z.len());
    let mut a: Vec<C> = z
        .iter()
        .zip(win)
        .map(|(v, w)| C::new(v.re * w, v.im * w))
        .collect();
    a.resize(n, C::default());
    fft_in_place(&mut a);
    let s = 1.0 / n as f64;
    a.iter().map(|c| C::new(c.re * s, c.im * s)).collect()
}

/// `ifft()`: the values `f` zero-padded to `N` = [`padded_len`], `sum f[k] exp(+j 2 pi k n / N)`
/// for `n < tlen` (periodic past `N`), scaled by `tlen / N`.
pub fn inverse_spectrum(f: &[C], tlen: usize) -> Vec<C> {
    let n = padded_len(f.len());
    // the inverse through the forward transform: conj(FFT(conj(f)))
    let mut a: Vec<C> = f.iter().map(|c| C::new(c.re, -c.im)).collect();
    a.resize(n, C::default());
    fft_in_place(&mut a);
    let s = tlen as f64 / n as f64;
    (0..tlen)
        .map(|i| {
            let c = a[i % n];
            C::new(c.re * s + 0.0, -c.im * s + 0.0)
        })
        .collect()
}

/// The frequencies of [`real_spectrum`]'s bins for `len` samples over `span` seconds.
pub fn fft_freqs(len: usize, span: f64) -> Vec<f64> {
    let n = padded_len(len);
    (0..=n / 2)
        .map(|i| i as f64 / span * len as f64 / n as f64)
        .collect()
}

/// The frequency grid of `spec start stop step` over the time points `time`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecGrid {
    pub start: f64,
    pub step: f64,
    pub points: usize,
    /// The time window used: a whole number of `1 / step` periods.
    pub span: f64,
}

/// Checks `spec`'s frequencies as ngspice does and sizes its grid.
pub fn spec_grid(start: f64, stop: f64, step: f64, time: &[f64]) -> CResult<SpecGrid> {
    if start.is_nan() || start < 0.0 {
        return Err(cerr!("spec: bad start frequency {start}"));
    }
    if stop.is_nan() || stop <= start {
        return Err(cerr!("spec: bad stop frequency {stop}"));
    }
    if step.is_nan() || step > stop - start || step <= 0.0 {
        return Err(cerr!("spec: bad frequency step {step}"));
    }
    let (Some(&t0), Some(&t1)) = (time.first(), time.last()) else {
        return Err("spec: the plot has no time points".into());
    };
    let tlen = time.len() as f64;
    let full = t1 - t0;
    if stop > 0.5 * tlen / full {
        return Err(cerr!(
            "spec: Nyquist limit exceeded, try a stop frequency below {} Hz",
            super::cfmt::e(tlen / 2.0 / full, 6, false)
        ));
    }
    let span = (full * step * 1.000_000_000_001).trunc() / step;
    if span.is_nan() || span <= 0.0 {
        return Err(cerr!(
            "spec: the time span limits the frequency step to {} Hz",
            super::cfmt::e(1.0 / full, 1, false)
        ));
    }
    let start = (start / step * 1.000_000_000_001).trunc() * step;
    let mut points = ((stop - start) / step + 1.0) as usize;
    if stop > start + (points as f64 - 1.0) * step {
        points += 1;
    }
    Ok(SpecGrid {
        start,
        step,
        points,
        span,
    })
}

/// `spec`: for each frequency of `grid`, `sum 2 win (x - dc) exp(j 2 pi f t) / (n - 1)` over
/// the time points after the first; the bin at 0 Hz (when the grid starts there) is the
/// windowed mean `dc`. Returns the frequencies and one spectrum per row of `data`.
pub fn spec(
    time: &[f64],
    win: &[f64],
    data: &[Vec<f64>],
    grid: &SpecGrid,
) -> (Vec<f64>, Vec<Vec<C>>) {
    let tlen = time.len();
    let denom = (tlen.max(2) - 1) as f64;
    let dc: Vec<f64> = data
        .iter()
        .map(|x| (1..tlen).map(|k| x[k] * win[k] / denom).sum())
        .collect();
    let freqs: Vec<f64> = (0..grid.points)
        .map(|j| grid.start + j as f64 * grid.step)
        .collect();
    let mut out = vec![vec![C::default(); grid.points]; data.len()];
    for (j, &f) in freqs.iter().enumerate() {
        if j == 0 && grid.start == 0.0 {
            continue;
        }
        for k in 1..tlen {
            let amp = 2.0 * win[k] / denom;
            let rad = 2.0 * PI * time[k] * f;
            let (ca, sa) = (amp * rad.cos(), amp * rad.sin());
            for (i, x) in data.iter().enumerate() {
                let v = x[k] - dc[i];
                out[i][j].re += v * ca;
                out[i][j].im += v * sa;
            }
        }
    }
    let mut freqs = freqs;
    if grid.start == 0.0 {
        if let Some(f) = freqs.first_mut() {
            *f = 0.0;
        }
        for (i, o) in out.iter_mut().enumerate() {
            if let Some(b) = o.first_mut() {
                *b = C::new(dc[i], 0.0);
            }
        }
    }
    (freqs, out)
}

/// `linearize`'s time grid: `tstart` and then `+ tstep` repeatedly, as ngspice accumulates it;
/// `vectors` more vectors of its length will be made (the budget).
pub fn linear_grid(tstart: f64, tstop: f64, tstep: f64, vectors: usize) -> CResult<Vec<f64>> {
    let ok = (tstop - tstart) * tstep > 0.0 && tstop - tstart >= tstep;
    if !ok {
        return Err(cerr!(
            "linearize: bad transient parameters: start = {}, stop = {}, step = {}",
            super::cfmt::g_upper(tstart),
            super::cfmt::g_upper(tstop),
            super::cfmt::g_upper(tstep)
        ));
    }
    let n = (tstop - tstart) / tstep + 1.5;
    if n.is_nan() || n.floor() * (vectors as f64 + 1.0) > MAX_POINTS as f64 {
        return Err(cerr!(
            "linearize: {} points for {} vectors (step {} over {}) exceed the limit of {MAX_POINTS} values",
            n.floor(),
            vectors + 1,
            super::cfmt::g_upper(tstep),
            super::cfmt::g_upper(tstop - tstart)
        ));
    }
    let n = n as usize;
    let mut out = Vec::with_capacity(n);
    let mut d = tstart;
    for _ in 0..n {
        out.push(d);
        d += tstep;
    }
    Ok(out)
}

/// `y`, known at the increasing abscissae `x`, at the abscissae `at` by ngspice's
/// interpolation of degree `degree` (`polydegree` of `fourier`): a point in
/// `(x[l-1], x[l]]` takes the polynomial through the `degree + 1` points ending at `x[l]`
/// (the first window before `x[degree]`, the last one past the end), as ngspice's
/// `ft_interpolate` fills each new window's interval up to its newest point (checked
/// against ngspice 39's fourier tables for degrees 2 and 3, `ctl_fourier_degree`).
pub fn poly_interp(x: &[f64], y: &[f64], at: &[f64], degree: usize) -> Vec<f64> {
    let n = x.len().min(y.len());
    if n == 0 {
        return vec![0.0; at.len()];
    }
    let d = degree.min(n - 1);
    at.iter()
        .map(|&t| {
            // the first point at or after t (x increasing), its window ending there
            let l = x[..n].partition_point(|&v| v < t).min(n - 1).max(d);
            let lo = l - d;
            let mut s = 0.0;
            for i in lo..=l {
                let mut p = y[i];
                for j in lo..=l {
                    if j != i {
                        p *= (t - x[j]) / (x[i] - x[j]);
                    }
                }
                s += p;
            }
            s
        })
        .collect()
}

/// `y`, known at the increasing abscissae `x`, at the abscissae `at` by piecewise-linear
/// interpolation (ngspice's interpolation of degree 1); outside `x` the nearest end value.
pub fn lin_interp(x: &[f64], y: &[f64], at: &[f64]) -> Vec<f64> {
    let n = x.len().min(y.len());
    let mut out = Vec::with_capacity(at.len());
    if n == 0 {
        out.resize(at.len(), 0.0);
        return out;
    }
    let mut k = 0usize;
    for &t in at {
        if t <= x[0] {
            out.push(y[0]);
            continue;
        }
        if t >= x[n - 1] {
            out.push(y[n - 1]);
            continue;
        }
        // the segment [x[k], x[k + 1]] holding t (`at` is usually increasing: walk on)
        if x[k] > t {
            k = 0;
        }
        while k + 1 < n && x[k + 1] < t {
            k += 1;
        }
        let (x0, x1) = (x[k], x[k + 1]);
        out.push(if x1 > x0 {
            y[k] + (y[k + 1] - y[k]) * (t - x0) / (x1 - x0)
        } else {
            y[k + 1]
        });
    }
    out
}

/// The harmonics of one waveform period (`fourier`).
#[derive(Debug, Clone, PartialEq)]
pub struct Harmonics {
    pub freq: Vec<f64>,
    /// Harmonic 0 holds the mean (signed), as ngspice prints it.
    pub mag: Vec<f64>,
    /// Degrees.
    pub phase: Vec<f64>,
    pub norm_mag: Vec<f64>,
    pub norm_phase: Vec<f64>,
    /// Total harmonic distortion in percent, over harmonics 2 and up.
    pub thd: f64,
}

/// The first `n` harmonics of `values`, samples spread evenly over exactly one period of
/// `fund` (the sample times themselves are not used, as in ngspice).
pub fn harmonics(values: &[f64], fund: f64, n: usize) -> Harmonics {
    let nd = values.len().max(1) as f64;
    let mut s = vec![0.0; n];
    let mut c = vec![0.0; n];
    for (i, v) in values.iter().enumerate() {
        for j in 0..n {
            let a = j as f64 * 2.0 * PI * i as f64 / nd;
            s[j] += v * a.sin();
            c[j] += v * a.cos();
        }
    }
    let mut h = Harmonics {
        freq: vec![0.0; n],
        mag: vec![0.0; n],
        phase: vec![0.0; n],
        norm_mag: vec![0.0; n],
        norm_phase: vec![0.0; n],
        thd: 0.0,
    };
    if n == 0 {
        return h;
    }
    h.mag[0] = c[0] / nd;
    let mut thd = 0.0;
    for i in 1..n {
        let re = s[i] * 2.0 / nd;
        let im = c[i] * 2.0 / nd;
        h.freq[i] = i as f64 * fund;
        h.mag[i] = re.hypot(im);
        h.phase[i] = im.atan2(re) * 180.0 / PI;
        h.norm_mag[i] = h.mag[i] / h.mag[1];
        h.norm_phase[i] = h.phase[i] - h.phase[1];
        if i > 1 {
            thd += h.norm_mag[i] * h.norm_mag[i];
        }
    }
    h.thd = 100.0 * thd.sqrt();
    h
}

/// `fourier`'s table for the vector `name`, numbers with `numdgt` significant digits.
pub fn fourier_table(
    name: &str,
    h: &Harmonics,
    grid: usize,
    degree: usize,
    numdgt: usize,
) -> String {
    use std::fmt::Write;
    let d = if numdgt > 0 { numdgt } else { 6 };
    let fw = d + 5;
    let num = |v: f64| super::cfmt::g(v, if v < 0.0 { d - 1 } else { d });
    let mut s = String::new();
    let _ = writeln!(s, "Fourier analysis for {name}:");
    let _ = writeln!(
        s,
        "  No. Harmonics: {}, THD: {} %, Gridsize: {grid}, Interpolation Degree: {degree}\n",
        h.freq.len(),
        super::cfmt::g(h.thd, 6)
    );
    let _ = writeln!(
        s,
        "Harmonic {:<fw$} {:<fw$} {:<fw$} {:<fw$} {:<fw$}",
        "Frequency", "Magnitude", "Phase", "Norm. Mag", "Norm. Phase"
    );
    let _ = writeln!(
        s,
        "-------- {:<fw$} {:<fw$} {:<fw$} {:<fw$} {:<fw$}",
        "---------", "---------", "-----", "---------", "-----------"
    );
    for i in 0..h.freq.len() {
        let _ = writeln!(
            s,
            " {:<4}    {:<fw$} {:<fw$} {:<fw$} {:<fw$} {:<fw$}",
            i,
            num(h.freq[i]),
            num(h.mag[i]),
            num(h.phase[i]),
            num(h.norm_mag[i]),
            num(h.norm_phase[i])
        );
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct DFT, the independent reference for the radix-2 transform.
    fn dft(x: &[f64]) -> Vec<C> {
        let n = x.len();
        (0..n)
            .map(|k| {
                let mut acc = C::default();
                for (i, v) in x.iter().enumerate() {
                    let a = -2.0 * PI * (k * i) as f64 / n as f64;
                    acc = acc + C::new(v * a.cos(), v * a.sin());
                }
                acc
            })
            .collect()
    }

    #[test]
    fn radix2_matches_the_direct_sum() {
        let x: Vec<f64> = (0..37).map(|i| ((i * i) % 11) as f64 - 3.5).collect();
        let s = real_spectrum(&x, &vec![1.0; x.len()]);
        let mut padded = x.clone();
        padded.resize(64, 0.0);
        let d = dft(&padded);
        assert_eq!(s.len(), 33);
        for k in 0..=32 {
            let want = C::new(d[k].re * 2.0 / 64.0, d[k].im * 2.0 / 64.0);
            assert!(
                (s[k] - want).abs() < 1e-12,
                "bin {k}: {:?} vs {want:?}",
                s[k]
            );
        }
    }

    #[test]
    fn a_sine_on_a_bin_has_its_amplitude() {
        let n = 64;
        let x: Vec<f64> = (0..n)
            .map(|i| 0.7 * (2.0 * PI * 5.0 * i as f64 / n as f64).cos())
            .collect();
        let s = real_spectrum(&x, &vec![1.0; n]);
        assert!((s[5].re - 0.7).abs() < 1e-12 && s[5].im.abs() < 1e-12);
        assert!(s[4].abs() < 1e-12 && s[6].abs() < 1e-12);
        // a Hann window halves the neighbours and keeps the average one
        let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let w = fft_window("hanning", 2, &t, (n - 1) as f64).unwrap();
        assert!((w.iter().sum::<f64>() / n as f64 - 1.0).abs() < 0.05);
        assert!(fft_window("nosuch", 2, &t, 1.0).is_none());
    }

    #[test]
    fn harmonics_of_a_clipped_sine() {
        // a sine plus 10 % third harmonic: THD 10 %, phase of harmonic 1 at 0 degrees
        let n = 200;
        let v: Vec<f64> = (0..n)
            .map(|i| {
                let a = 2.0 * PI * i as f64 / n as f64;
                0.25 + a.sin() + 0.1 * (3.0 * a).sin()
            })
            .collect();
        let h = harmonics(&v, 1e3, 5);
        assert!((h.mag[0] - 0.25).abs() < 1e-12);
        assert!((h.mag[1] - 1.0).abs() < 1e-12 && h.phase[1].abs() < 1e-9);
        assert!((h.norm_mag[3] - 0.1).abs() < 1e-12);
        assert!((h.thd - 10.0).abs() < 1e-9);
        assert_eq!(h.freq[4], 4e3);
    }

    #[test]
    fn interpolation_and_grid() {
        let x = [0.0, 1.0, 3.0];
        let y = [0.0, 2.0, 0.0];
        assert_eq!(
            lin_interp(&x, &y, &[-1.0, 0.5, 1.0, 2.0, 3.0, 4.0]),
            [0.0, 1.0, 2.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(linear_grid(0.0, 1.0, 0.25, 3).unwrap().len(), 5);
        assert!(linear_grid(0.0, 1.0, 2.0, 1).is_err());
        assert!(linear_grid(0.0, 1.0, 1e-300, 1).is_err());
        assert!(linear_grid(0.0, 1.0, 1e-6, 100).is_err());
        assert!(linear_grid(0.0, 1.0, 1e-6, 1).is_ok());
    }
}
