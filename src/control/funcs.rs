//! The built-in vector functions of ngspice's expression language (`mag`, `db`, `ph`,
//! `deriv`, `mean`, `sgauss`, ...), each applied to one vector as ngspice applies it (a
//! function of a real vector that can turn complex, such as `sqrt` of a negative number,
//! does).

use super::cx::C;
use super::vector::{Data, VType, Vector};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Poisson, StandardNormal};
use std::f64::consts::PI;

type R<T> = super::CResult<T>;

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Mag,
    Ph,
    Cph,
    Unwrap,
    J,
    Real,
    Imag,
    Db,
    Ln,
    Log10,
    Exp,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Sinh,
    Cosh,
    Tanh,
    Atan,
    SortOrder,
    Norm,
    Rnd,
    Sunif,
    Sgauss,
    Poisson,
    Exponential,
    Pos,
    Nint,
    Floor,
    Ceil,
    Mean,
    Avg,
    Stddev,
    Vector,
    Unitvec,
    Length,
    VecMin,
    VecMax,
    VecD,
    Deriv,
    Integ,
    Fft,
    Ifft,
    /// Unary minus (`-x`).
    Minus,
    /// `~x`, `not x`.
    Not,
}

/// Names of the functions, ngspice's aliases included.
const NAMES: &[(&str, Func)] = &[
    ("mag", Func::Mag),
    ("magnitude", Func::Mag),
    ("abs", Func::Mag),
    ("ph", Func::Ph),
    ("phase", Func::Ph),
    ("cph", Func::Cph),
    ("cphase", Func::Cph),
    ("unwrap", Func::Unwrap),
    ("j", Func::J),
    ("real", Func::Real),
    ("re", Func::Real),
    ("imag", Func::Imag),
    ("im", Func::Imag),
    ("db", Func::Db),
    ("log", Func::Ln),
    ("ln", Func::Ln),
    ("log10", Func::Log10),
    ("exp", Func::Exp),
    ("sqrt", Func::Sqrt),
    ("sin", Func::Sin),
    ("cos", Func::Cos),
    ("tan", Func::Tan),
    ("sinh", Func::Sinh),
    ("cosh", Func::Cosh),
    ("tanh", Func::Tanh),
    ("atan", Func::Atan),
    ("sortorder", Func::SortOrder),
    ("norm", Func::Norm),
    ("rnd", Func::Rnd),
    ("sunif", Func::Sunif),
    ("sgauss", Func::Sgauss),
    ("poisson", Func::Poisson),
    ("exponential", Func::Exponential),
    ("pos", Func::Pos),
    ("nint", Func::Nint),
    ("floor", Func::Floor),
    ("ceil", Func::Ceil),
    ("mean", Func::Mean),
    ("avg", Func::Avg),
    ("stddev", Func::Stddev),
    ("vector", Func::Vector),
    ("unitvec", Func::Unitvec),
    ("length", Func::Length),
    ("vecmin", Func::VecMin),
    ("minimum", Func::VecMin),
    ("vecmax", Func::VecMax),
    ("maximum", Func::VecMax),
    ("vecd", Func::VecD),
    ("deriv", Func::Deriv),
    ("integ", Func::Integ),
    ("fft", Func::Fft),
    ("ifft", Func::Ifft),
];

/// ngspice functions this interpreter does not have; calling one is an error that says so
/// (rather than reading `fft(x)` as a vector named `fft(x)`).
const MISSING: &[&str] = &["interpolate", "group_delay"];

/// The function called `name` (lowercase).
pub fn lookup(name: &str) -> Option<Func> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Whether `name` is an ngspice function that is not available here.
pub fn is_missing(name: &str) -> bool {
    MISSING.contains(&name)
}

impl Func {
    /// The name used in result names (`db(out)`).
    pub fn name(self) -> &'static str {
        match self {
            Func::Minus => "minus",
            Func::Not => "not",
            f => NAMES
                .iter()
                .find(|(_, g)| *g == f)
                .map(|(n, _)| *n)
                .unwrap_or("?"),
        }
    }
}

/// What the functions need besides their argument: the angle unit, the random generator,
/// the polynomial degree of `deriv`, and a place for warnings.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `set units = degrees`: trigonometric functions and phases in degrees.
    pub degrees: bool,
    /// `set dpolydegree = n`: the degree of the polynomials `deriv` differentiates (2).
    pub deriv_degree: usize,
    pub rng: ChaCha8Rng,
    pub warnings: Vec<String>,
    /// `set specwindow` / `specwindoworder`: the window of `fft()` (`none` unless set).
    pub window: String,
    pub window_order: i64,
    /// Text a function prints on stdout (`fft()`'s lengths), as ngspice prints it.
    pub notes: Vec<String>,
}

impl Ctx {
    pub fn new(seed: u64) -> Ctx {
        Ctx {
            degrees: false,
            deriv_degree: 2,
            rng: ChaCha8Rng::seed_from_u64(seed),
            warnings: Vec::new(),
            window: "none".into(),
            window_order: 2,
            notes: Vec::new(),
        }
    }
    pub fn reseed(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }
    pub fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }
    fn unit_to_rad(&self, x: f64) -> f64 {
        if self.degrees { x * PI / 180.0 } else { x }
    }
    fn rad_to_unit(&self, x: f64) -> f64 {
        if self.degrees { x * 180.0 / PI } else { x }
    }
}

fn real(v: Vec<f64>) -> Data {
    Data::Real(v)
}

fn map_real(d: &Data, f: impl Fn(f64) -> f64, g: impl Fn(C) -> C) -> Data {
    match d {
        Data::Real(x) => Data::Real(x.iter().map(|&t| f(t)).collect()),
        Data::Complex(x) => Data::Complex(x.iter().map(|&z| g(z)).collect()),
    }
}

/// Both parts of a complex number through `f`.
fn parts(z: C, f: impl Fn(f64) -> f64) -> C {
    C::new(f(z.re), f(z.im))
}

/// Round half to even (C's `nearbyint` in the default rounding mode, as ngspice's `nint`).
fn nint(x: f64) -> f64 {
    x.round_ties_even()
}

/// The derivative at `x[k]` of the polynomial through the points `i0..i0 + n`.
fn poly_deriv(x: &[f64], y: &[C], i0: usize, n: usize, k: usize) -> C {
    // d/dx of the Lagrange form: sum_j y_j L_j'(x_k)
    let xk = x[k];
    let mut out = C::default();
    for j in i0..i0 + n {
        // L_j'(xk) = sum_{m != j} [1/(x_j - x_m) * prod_{l != j, m} (xk - x_l)/(x_j - x_l)]
        let mut lj = 0.0;
        for m in i0..i0 + n {
            if m == j {
                continue;
            }
            let mut term = 1.0 / (x[j] - x[m]);
            for l in i0..i0 + n {
                if l != j && l != m {
                    term *= (xk - x[l]) / (x[j] - x[l]);
                }
            }
            lj += term;
        }
        out = out + y[j] * C::from(lj);
    }
    out
}

/// ngspice's `deriv`: at each point, the derivative of the polynomial of degree `deg`
/// through the `deg + 1` neighbouring points (the first and last points use the first and
/// last windows).
fn deriv(v: &Vector, scale: Option<&Vector>, deg: usize) -> R<Data> {
    let sc = scale.ok_or("needs the plot's scale (run an analysis first)")?;
    let n = v.len();
    if sc.len() != n {
        return Err(cerr!(
            "the scale {} has {} points, the vector {}",
            sc.name,
            sc.len(),
            n
        ));
    }
    if n < 2 {
        return Err("needs at least two points".into());
    }
    let x = sc.data.real_parts();
    let y = v.data.to_complex();
    let w = (deg + 1).min(n);
    // ngspice slides a window of deg + 1 points and differentiates at the point deg / 2
    // before its end: point k uses points k - (deg - deg/2) ... (the ends use the first and
    // last windows)
    let back = (w - 1) - (w - 1) / 2;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let i0 = k.saturating_sub(back).min(n - w);
        let window_ok = (i0..i0 + w).all(|a| (i0..i0 + w).all(|b| a == b || x[a] != x[b]));
        if !window_ok {
            return Err(cerr!(
                "the scale {} repeats a value near point {k}",
                sc.name
            ));
        }
        out.push(poly_deriv(&x, &y, i0, w, k));
    }
    Ok(if v.is_real() {
        Data::Real(out.iter().map(|z| z.re).collect())
    } else {
        Data::Complex(out)
    })
}

fn integ(v: &Vector, scale: Option<&Vector>) -> R<Data> {
    if !v.is_real() {
        return Err("not supported for complex data (as in ngspice)".into());
    }
    let sc = scale.ok_or("needs the plot's scale (run an analysis first)")?;
    if sc.len() != v.len() {
        return Err(cerr!(
            "the scale {} has {} points, the vector {}",
            sc.name,
            sc.len(),
            v.len()
        ));
    }
    let x = sc.data.real_parts();
    let y = v.data.to_complex();
    let mut out = vec![C::default(); y.len()];
    for i in 1..y.len() {
        out[i] = out[i - 1] + (y[i] + y[i - 1]) * C::from(0.5 * (x[i] - x[i - 1]));
    }
    Ok(if v.is_real() {
        Data::Real(out.iter().map(|z| z.re).collect())
    } else {
        Data::Complex(out)
    })
}

/// `vector(n)`, `unitvec(n)`: the length from the first element.
fn count_arg(v: &Vector) -> R<usize> {
    let x = if v.is_real() {
        v.data.re(0)
    } else {
        v.data.c(0).abs()
    };
    // a budget before allocating: ten million elements is 80 MB
    if !x.is_finite() || x.abs() > 1e7 {
        return Err(cerr!(
            "a vector of {x} elements is longer than the 10^7 allowed"
        ));
    }
    Ok((x.abs() as usize).max(1))
}

/// The time span and the time points ngspice's `fft()`/`ifft()` take for a vector of `n`
/// values: the plot's time scale when it has one (`tlen` its length), else the indices
/// `0 .. n-1` (span `n - 1`), as ngspice does for a plot without a time scale.
fn fft_time(n: usize, scale: Option<&Vector>) -> (f64, Vec<f64>) {
    match scale {
        Some(s) if s.vtype == VType::Time && s.is_real() && s.len() >= 2 => {
            let t = s.data.real_parts();
            (t[t.len() - 1] - t[0], t)
        }
        _ => ((n.max(2) - 1) as f64, (0..n).map(|i| i as f64).collect()),
    }
}

/// ngspice's `fft(v)`: the samples times the `specwindow` window (none by default),
/// zero-padded to the next power of two `N`; a real vector gives bins `0 ..= N/2` scaled by
/// `2 / N` (as the `fft` command), a complex one all `N` bins scaled by `1 / N`.
fn fft(v: &Vector, scale: Option<&Vector>, cx: &mut Ctx) -> R<Data> {
    let n = v.len();
    if n == 0 {
        return Err("the vector is empty".into());
    }
    if n > 1 << 24 {
        return Err(cerr!("{n} points are more than fft() takes (2^24)"));
    }
    let (span, time) = fft_time(n, scale);
    if time.len() != n {
        return Err(cerr!(
            "the vector has {n} points, the time scale {}",
            time.len()
        ));
    }
    let win = super::spectrum::fft_window(&cx.window, cx.window_order, &time, span)
        .ok_or_else(|| cerr!("unknown window type {} (specwindow)", cx.window))?;
    let big = super::spectrum::padded_len(n);
    let out = match &v.data {
        Data::Real(x) => super::spectrum::real_spectrum(x, &win),
        Data::Complex(z) => super::spectrum::complex_spectrum(z, &win),
    };
    let g = |x: f64| super::cfmt::g(x, 6);
    cx.notes.push(format!(
        "FFT: Time span: {} s, input length: {n}, zero padding: {}\n\
         FFT: Frequency resolution: {} Hz, output length: {}",
        g(span),
        big - n,
        g(1.0 / span),
        out.len()
    ));
    Ok(Data::Complex(out))
}

/// ngspice's `ifft(v)`: the values zero-padded to the next power of two `N`, transformed
/// with `exp(+j 2 pi k n / N)` and scaled by `tlen / N`, where `tlen` (the length of the
/// result) is the length of the plot's time scale, or of `v` in a plot without one.
fn ifft(v: &Vector, scale: Option<&Vector>, cx: &mut Ctx) -> R<Data> {
    let n = v.len();
    if n == 0 {
        return Err("the vector is empty".into());
    }
    if n > 1 << 24 {
        return Err(cerr!("{n} points are more than ifft() takes (2^24)"));
    }
    let (span, time) = fft_time(n, scale);
    let tlen = time.len();
    let big = super::spectrum::padded_len(n);
    let out = super::spectrum::inverse_spectrum(&v.data.to_complex(), tlen);
    let g = |x: f64| super::cfmt::g(x, 6);
    cx.notes.push(format!(
        "IFFT: Frequency span: {} Hz, input length: {n}, zero padding: {}\n\
         IFFT: Time resolution: {} s, output length: {tlen}",
        g(n as f64 / span),
        big - n,
        g(span / (tlen.max(2) - 1) as f64),
    ));
    Ok(Data::Complex(out))
}

/// Applies `f` to `v`; `scale` is the scale of the plot `v` belongs to.
pub fn apply(f: Func, v: &Vector, scale: Option<&Vector>, cx: &mut Ctx) -> R<Vector> {
    let d = &v.data;
    let n = v.len();
    let data = match f {
        Func::Mag => real((0..n).map(|i| d.c(i).abs()).collect()),
        Func::Ph => match d {
            Data::Real(_) => real(vec![0.0; n]),
            Data::Complex(z) => real(z.iter().map(|z| cx.rad_to_unit(z.arg())).collect()),
        },
        Func::Cph => match d {
            Data::Real(_) => real(vec![0.0; n]),
            Data::Complex(z) => {
                let mut out = Vec::with_capacity(n);
                let mut last = z.first().map_or(0.0, |z| z.arg());
                for (i, z) in z.iter().enumerate() {
                    let p = z.arg();
                    if i > 0 {
                        last = p - 2.0 * PI * ((p - last) / (2.0 * PI) + 0.5).floor();
                    }
                    out.push(cx.rad_to_unit(last));
                }
                real(out)
            }
        },
        Func::Unwrap => match d {
            Data::Real(x) => {
                let mut out = Vec::with_capacity(n);
                let mut last = x.first().map_or(0.0, |&t| cx.unit_to_rad(t));
                for (i, &t) in x.iter().enumerate() {
                    let p = cx.unit_to_rad(t);
                    if i > 0 {
                        last = p - 2.0 * PI * ((p - last) / (2.0 * PI) + 0.5).floor();
                    }
                    out.push(cx.rad_to_unit(last));
                }
                real(out)
            }
            Data::Complex(_) => return Err("takes a real vector of phases".into()),
        },
        Func::J => Data::Complex((0..n).map(|i| d.c(i) * C::new(0.0, 1.0)).collect()),
        Func::Real => real(d.real_parts()),
        Func::Imag => match d {
            // ngspice returns a real vector unchanged
            Data::Real(x) => real(x.clone()),
            Data::Complex(z) => real(z.iter().map(|z| z.im).collect()),
        },
        Func::Db => {
            // ngspice: a real argument must be positive, a complex one not zero
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let m = match d {
                    Data::Real(x) if x[i] > 0.0 => x[i],
                    Data::Complex(z) if !z[i].is_zero() => z[i].abs(),
                    _ => return Err(cerr!("argument out of range ({})", d.re(i))),
                };
                out.push(20.0 * m.log10());
            }
            real(out)
        }
        Func::Ln | Func::Log10 => {
            let ten = f == Func::Log10;
            match d {
                // a negative real is out of range, zero gives -inf (as ngspice)
                Data::Real(x) => {
                    let mut out = Vec::with_capacity(n);
                    for &t in x {
                        if t < 0.0 {
                            return Err(cerr!("argument out of range ({t})"));
                        }
                        out.push(if ten { t.log10() } else { t.ln() });
                    }
                    real(out)
                }
                Data::Complex(z) => {
                    let mut out = Vec::with_capacity(n);
                    for z in z {
                        let l = if z.is_zero() {
                            C::new(f64::NEG_INFINITY, 0.0)
                        } else {
                            z.ln()
                        };
                        // ngspice's complex log10 scales only the real part
                        out.push(if ten {
                            C::new(l.re * std::f64::consts::LOG10_E, l.im)
                        } else {
                            l
                        });
                    }
                    Data::Complex(out)
                }
            }
        }
        Func::Exp => map_real(d, f64::exp, C::exp),
        Func::Sqrt => match d {
            Data::Real(x) if x.iter().all(|&t| t >= 0.0) => {
                real(x.iter().map(|t| t.sqrt()).collect())
            }
            _ => Data::Complex((0..n).map(|i| d.c(i).sqrt()).collect()),
        },
        Func::Sin => map_real(d, |t| cx.unit_to_rad(t).sin(), C::sin),
        Func::Cos => map_real(d, |t| cx.unit_to_rad(t).cos(), C::cos),
        Func::Tan => {
            let out = map_real(d, |t| cx.unit_to_rad(t).tan(), C::tan);
            // ngspice refuses a real tangent that comes out exactly zero (tan(0))
            if let Data::Real(x) = &out
                && x.contains(&0.0)
            {
                return Err("argument out of range (0)".into());
            }
            out
        }
        Func::Sinh => map_real(d, f64::sinh, C::sinh),
        Func::Cosh => map_real(d, f64::cosh, C::cosh),
        Func::Tanh => map_real(d, f64::tanh, C::tanh),
        // ngspice's atan takes the real part of a complex argument
        Func::Atan => real((0..n).map(|i| cx.rad_to_unit(d.re(i).atan())).collect()),
        Func::SortOrder => {
            let x = d.real_parts();
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| x[a].partial_cmp(&x[b]).unwrap_or(std::cmp::Ordering::Equal));
            real(idx.into_iter().map(|k| k as f64).collect())
        }
        Func::Norm => {
            let m = (0..n).map(|i| d.c(i).abs()).fold(0.0, f64::max);
            if m == 0.0 {
                return Err("the vector is all zeros".into());
            }
            map_real(d, |t| t / m, |z| z / C::from(m))
        }
        Func::Rnd => {
            let mut one = |t: f64| {
                let k = t.abs().floor();
                if (1.0..9.0e15).contains(&k) {
                    cx.rng.random_range(0..k as u64) as f64
                } else {
                    0.0
                }
            };
            match d {
                Data::Real(x) => real(x.iter().map(|&t| one(t)).collect()),
                Data::Complex(z) => Data::Complex(
                    z.iter()
                        .map(|z| {
                            let re = one(z.re);
                            C::new(re, one(z.im))
                        })
                        .collect(),
                ),
            }
        }
        Func::Sunif | Func::Sgauss => {
            let mut draw = || {
                if f == Func::Sunif {
                    cx.rng.random_range(-1.0..1.0)
                } else {
                    StandardNormal.sample(&mut cx.rng)
                }
            };
            match d {
                Data::Real(_) => real((0..n).map(|_| draw()).collect()),
                Data::Complex(_) => Data::Complex(
                    (0..n)
                        .map(|_| {
                            let re = draw();
                            C::new(re, draw())
                        })
                        .collect(),
                ),
            }
        }
        Func::Poisson | Func::Exponential => {
            let mut out = Vec::with_capacity(n);
            for t in d.real_parts() {
                let x = if f == Func::Poisson {
                    if t <= 0.0 {
                        0.0
                    } else {
                        Poisson::new(t)
                            .map_err(|e| format!("mean {t}: {e}"))?
                            .sample(&mut cx.rng)
                    }
                } else if t <= 0.0 {
                    return Err(cerr!("the mean {t} is not positive"));
                } else {
                    Exp::new(1.0 / t)
                        .map_err(|e| format!("mean {t}: {e}"))?
                        .sample(&mut cx.rng)
                };
                out.push(x);
            }
            real(out)
        }
        Func::Pos => real(
            (0..n)
                .map(|i| if d.re(i) > 0.0 { 1.0 } else { 0.0 })
                .collect(),
        ),
        Func::Nint => map_real(d, nint, |z| parts(z, nint)),
        Func::Floor => map_real(d, f64::floor, |z| parts(z, f64::floor)),
        Func::Ceil => map_real(d, f64::ceil, |z| parts(z, f64::ceil)),
        Func::Mean => {
            if n == 0 {
                return Err("the vector is empty".into());
            }
            match d {
                Data::Real(x) => real(vec![x.iter().sum::<f64>() / n as f64]),
                Data::Complex(z) => {
                    let s = z.iter().fold(C::default(), |a, &b| a + b);
                    Data::Complex(vec![s / C::from(n as f64)])
                }
            }
        }
        Func::Avg => {
            let mut s = C::default();
            let out: Vec<C> = (0..n)
                .map(|i| {
                    s = s + d.c(i);
                    s / C::from((i + 1) as f64)
                })
                .collect();
            if d.is_real() {
                real(out.iter().map(|z| z.re).collect())
            } else {
                Data::Complex(out)
            }
        }
        Func::Stddev => {
            if n < 2 {
                return Err("needs at least two values".into());
            }
            let m = (0..n).fold(C::default(), |a, i| a + d.c(i)) / C::from(n as f64);
            let ss: f64 = (0..n).map(|i| (d.c(i) - m).abs().powi(2)).sum();
            real(vec![(ss / (n - 1) as f64).sqrt()])
        }
        Func::Vector => real((0..count_arg(v)?).map(|k| k as f64).collect()),
        Func::Unitvec => real(vec![1.0; count_arg(v)?]),
        Func::Length => real(vec![n as f64]),
        Func::VecMin | Func::VecMax => {
            // the element with the least or greatest real part (complex stays complex)
            let max = f == Func::VecMax;
            let mut best = 0;
            for i in 1..n {
                let (x, y) = (d.re(i), d.re(best));
                if (max && x > y) || (!max && x < y) {
                    best = i;
                }
            }
            if n == 0 {
                return Err("the vector is empty".into());
            }
            d.slice(best, best)
        }
        Func::VecD => {
            if n < 2 {
                return Err("needs at least two values".into());
            }
            let diff = |i: usize| -> C {
                if i == 0 {
                    d.c(1) - d.c(0)
                } else if i == n - 1 {
                    d.c(n - 1) - d.c(n - 2)
                } else {
                    d.c(i + 1) - d.c(i - 1)
                }
            };
            let out: Vec<C> = (0..n).map(diff).collect();
            if d.is_real() {
                real(out.iter().map(|z| z.re).collect())
            } else {
                Data::Complex(out)
            }
        }
        Func::Deriv => deriv(v, scale, cx.deriv_degree)?,
        Func::Integ => integ(v, scale)?,
        Func::Fft => fft(v, scale, cx)?,
        Func::Ifft => ifft(v, scale, cx)?,
        Func::Minus => map_real(d, |t| -t, |z| -z),
        Func::Not => real(
            (0..n)
                .map(|i| if d.c(i).is_zero() { 1.0 } else { 0.0 })
                .collect(),
        ),
    };
    let vtype = match f {
        Func::Length | Func::Vector | Func::Unitvec | Func::SortOrder | Func::Fft | Func::Ifft => {
            VType::NoType
        }
        _ => v.vtype,
    };
    Ok(Vector {
        name: v.name.clone(),
        vtype,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(f: Func, x: &[f64]) -> Vec<f64> {
        let v = Vector::real("x", VType::NoType, x.to_vec());
        let s = Vector::real(
            "t",
            VType::Time,
            (0..x.len()).map(|k| k as f64 * 0.5).collect(),
        );
        apply(f, &v, Some(&s), &mut Ctx::new(1))
            .unwrap()
            .data
            .real_parts()
    }

    #[test]
    fn values_match_ngspice_examples() {
        let v = [0.5, 1.5, 2.5, 3.5];
        assert_eq!(r(Func::Nint, &v), [0.0, 2.0, 2.0, 4.0]);
        assert_eq!(r(Func::Avg, &v), [0.5, 1.0, 1.5, 2.0]);
        assert_eq!(r(Func::VecD, &v), [1.0, 2.0, 2.0, 1.0]);
        assert!((r(Func::Stddev, &v)[0] - 1.290994).abs() < 1e-6);
        assert!((r(Func::Norm, &v)[0] - 0.142857).abs() < 1e-6);
        assert_eq!(r(Func::Vector, &[4.5]), [0.0, 1.0, 2.0, 3.0]);
        // a parabola's derivative is exact, ends included
        let y: Vec<f64> = (0..6).map(|k| (k as f64 * 0.5).powi(2)).collect();
        let dy = r(Func::Deriv, &y);
        for (k, d) in dy.iter().enumerate() {
            assert!((d - k as f64).abs() < 1e-12, "{dy:?}");
        }
        assert_eq!(r(Func::Integ, &[1.0, 1.0, 3.0]), [0.0, 0.5, 1.5]);
    }

    #[test]
    fn sqrt_of_negative_turns_complex() {
        let v = Vector::real("x", VType::NoType, vec![-4.0, 4.0]);
        let out = apply(Func::Sqrt, &v, None, &mut Ctx::new(1)).unwrap();
        assert_eq!(
            out.data,
            Data::Complex(vec![C::new(0.0, 2.0), C::new(2.0, 0.0)])
        );
    }
}
