//! Independent voltage and current sources.
use super::waveform::Wave;
use super::{DeviceOps, Load, Setup, remap_all};

#[derive(Debug, Clone)]
pub struct VSource {
    pub name: String,
    pub p: usize,
    pub n: usize,
    /// Value in DC analyses when a `DC` value was given [V].
    pub dc: Option<f64>,
    pub wave: Wave,
    pub br: usize,
    slots: [usize; 4],
}

impl VSource {
    pub fn new(name: &str, p: usize, n: usize, dc: Option<f64>, wave: Wave) -> Self {
        VSource {
            name: name.to_string(),
            p,
            n,
            dc,
            wave,
            br: 0,
            slots: [0; 4],
        }
    }
    /// Source value at the load's time and mode.
    pub fn value(dc: Option<f64>, wave: &Wave, l: &Load) -> f64 {
        let v = match (l.dc, dc) {
            (true, Some(d)) => d,
            _ => wave.value(if l.dc { 0.0 } else { l.time }, l.tstep, l.tstop),
        };
        v * l.src_fact
    }
}

impl DeviceOps for VSource {
    fn setup(&mut self, s: &mut Setup) {
        let (p, n, k) = (self.p, self.n, self.br);
        self.slots = [s.entry(p, k), s.entry(n, k), s.entry(k, p), s.entry(k, n)];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let i = l.x[self.br];
        let v = Self::value(self.dc, &self.wave, l);
        l.f[self.p] += i;
        l.f[self.n] -= i;
        l.f[self.br] += l.x[self.p] - l.x[self.n] - v;
        l.jf[self.slots[0]] += 1.0;
        l.jf[self.slots[1]] -= 1.0;
        l.jf[self.slots[2]] += 1.0;
        l.jf[self.slots[3]] -= 1.0;
    }
    fn breakpoints(&self, t0: f64, t1: f64, tstep: f64, tstop: f64, out: &mut Vec<f64>) {
        self.wave.breakpoints(t0, t1, tstep, tstop, out);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n, self.br]);
    }
}

/// Current source: the current flows from `p` through the source to `n`.
#[derive(Debug, Clone)]
pub struct ISource {
    pub p: usize,
    pub n: usize,
    pub dc: Option<f64>,
    pub wave: Wave,
}

impl DeviceOps for ISource {
    fn setup(&mut self, _s: &mut Setup) {}
    fn remap(&mut self, _map: &[usize]) {}
    #[inline]
    fn load(&mut self, l: &mut Load) {
        let i = VSource::value(self.dc, &self.wave, l);
        l.f[self.p] += i;
        l.f[self.n] -= i;
    }
    fn breakpoints(&self, t0: f64, t1: f64, tstep: f64, tstop: f64, out: &mut Vec<f64>) {
        self.wave.breakpoints(t0, t1, tstep, tstop, out);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n]);
    }
}
