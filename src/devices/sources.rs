//! Independent voltage and current sources.
use super::ops::{Branch, DeviceOps, Load, Setup, branch_verbs};
use super::waveform::Wave;

/// The value of an independent source: its DC value in DC analyses where one was given,
/// else its waveform.
#[derive(Debug, Clone)]
pub struct SourceValue {
    /// Value in DC analyses when a `DC` value was given [V or A].
    pub dc: Option<f64>,
    pub wave: Wave,
    /// Small-signal excitation of an AC analysis: magnitude and phase [degrees] (`AC mag
    /// [phase]` / `ac=mag`).
    pub ac: Option<(f64, f64)>,
}

impl SourceValue {
    /// Value at the load's time and mode.
    /// The AC phasor (real, imaginary); none without an `AC` value.
    pub fn phasor(&self) -> (f64, f64) {
        let (m, ph) = self.ac.unwrap_or((0.0, 0.0));
        let r = ph.to_radians();
        (m * r.cos(), m * r.sin())
    }

    #[inline]
    pub fn at(&self, l: &Load) -> f64 {
        let v = match (l.dc && !l.tran_op, self.dc) {
            (true, Some(d)) => d,
            _ => self
                .wave
                .value(if l.dc { 0.0 } else { l.time }, l.tstep, l.tstop),
        };
        v * l.src_fact
    }
}

#[derive(Debug, Clone)]
pub struct VSource {
    pub br: Branch,
    pub value: SourceValue,
}

impl VSource {
    pub fn new(p: usize, n: usize, dc: Option<f64>, wave: Wave) -> Self {
        VSource {
            br: Branch::new(p, n),
            value: SourceValue { dc, wave, ac: None },
        }
    }

    /// The source with an AC excitation (magnitude, phase in degrees).
    pub fn with_ac(mut self, ac: Option<(f64, f64)>) -> Self {
        self.value.ac = ac;
        self
    }
}

impl DeviceOps for VSource {
    fn setup(&mut self, s: &mut Setup) {
        self.br.setup(s);
    }
    fn remap(&mut self, map: &[usize]) {
        self.br.remap(map);
    }
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let v = self.value.at(l);
        self.br.load(l, v);
    }
    fn breakpoints(&self, t0: f64, t1: f64, tstep: f64, tstop: f64, out: &mut Vec<f64>) {
        self.value.wave.breakpoints(t0, t1, tstep, tstop, out);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.br.p, self.br.n, self.br.k]);
    }
    fn renumber(&mut self, m: &[usize]) {
        self.br.renumber(m);
    }
    branch_verbs!(br);
    fn independent_source(&self) -> bool {
        true
    }
    fn set_dc(&mut self, v: f64) {
        self.value.dc = Some(v);
    }
    fn noise_key(&mut self) -> Option<&mut Option<u64>> {
        self.value.wave.noise_key()
    }
    fn ac_rhs(&self, b: &mut [(f64, f64)]) {
        // the branch row is v(p) - v(n) - e = 0: the excitation enters with a plus sign
        let (re, im) = self.value.phasor();
        b[self.br.k].0 += re;
        b[self.br.k].1 += im;
    }
}

/// Current source: the current flows from `p` through the source to `n`.
#[derive(Debug, Clone)]
pub struct ISource {
    pub p: usize,
    pub n: usize,
    pub value: SourceValue,
}

impl ISource {
    pub fn new(p: usize, n: usize, dc: Option<f64>, wave: Wave) -> Self {
        ISource {
            p,
            n,
            value: SourceValue { dc, wave, ac: None },
        }
    }

    /// The source with an AC excitation (magnitude, phase in degrees).
    pub fn with_ac(mut self, ac: Option<(f64, f64)>) -> Self {
        self.value.ac = ac;
        self
    }
}

impl DeviceOps for ISource {
    fn setup(&mut self, _s: &mut Setup) {}
    fn remap(&mut self, _map: &[usize]) {}
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let i = self.value.at(l);
        l.f[self.p] += i;
        l.f[self.n] -= i;
    }
    fn breakpoints(&self, t0: f64, t1: f64, tstep: f64, tstop: f64, out: &mut Vec<f64>) {
        self.value.wave.breakpoints(t0, t1, tstep, tstop, out);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n]);
    }
    fn renumber(&mut self, m: &[usize]) {
        (self.p, self.n) = (m[self.p], m[self.n]);
    }
    fn independent_source(&self) -> bool {
        true
    }
    fn drives_current(&self) -> bool {
        true
    }
    fn set_dc(&mut self, v: f64) {
        self.value.dc = Some(v);
    }
    fn noise_key(&mut self) -> Option<&mut Option<u64>> {
        self.value.wave.noise_key()
    }
    fn ac_rhs(&self, b: &mut [(f64, f64)]) {
        // F holds +i at p and -i at n; the right-hand side is -dF
        let (re, im) = self.value.phasor();
        b[self.p].0 -= re;
        b[self.p].1 -= im;
        b[self.n].0 += re;
        b[self.n].1 += im;
    }
}
