//! Linear controlled sources: E (VCVS), G (VCCS), F (CCCS), H (CCVS).
use super::{DeviceOps, Load, Setup, remap_all};

/// v(p) - v(n) = gain (v(cp) - v(cn)).
#[derive(Debug, Clone)]
pub struct Vcvs {
    pub name: String,
    pub p: usize,
    pub n: usize,
    pub cp: usize,
    pub cn: usize,
    pub gain: f64,
    pub br: usize,
    slots: [usize; 6],
}

impl Vcvs {
    pub fn new(name: &str, p: usize, n: usize, cp: usize, cn: usize, gain: f64) -> Self {
        Vcvs {
            name: name.into(),
            p,
            n,
            cp,
            cn,
            gain,
            br: 0,
            slots: [0; 6],
        }
    }
}

impl DeviceOps for Vcvs {
    fn setup(&mut self, s: &mut Setup) {
        let k = self.br;
        self.slots = [
            s.entry(self.p, k),
            s.entry(self.n, k),
            s.entry(k, self.p),
            s.entry(k, self.n),
            s.entry(k, self.cp),
            s.entry(k, self.cn),
        ];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        let x = l.x;
        let i = x[self.br];
        l.f[self.p] += i;
        l.f[self.n] -= i;
        l.f[self.br] += x[self.p] - x[self.n] - self.gain * (x[self.cp] - x[self.cn]);
        let s = &self.slots;
        l.jf[s[0]] += 1.0;
        l.jf[s[1]] -= 1.0;
        l.jf[s[2]] += 1.0;
        l.jf[s[3]] -= 1.0;
        l.jf[s[4]] -= self.gain;
        l.jf[s[5]] += self.gain;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n, self.cp, self.cn, self.br]);
    }
}

/// Current gm (v(cp) - v(cn)) flows from p through the source to n.
#[derive(Debug, Clone)]
pub struct Vccs {
    pub p: usize,
    pub n: usize,
    pub cp: usize,
    pub cn: usize,
    pub gm: f64,
    slots: [usize; 4],
}

impl Vccs {
    pub fn new(p: usize, n: usize, cp: usize, cn: usize, gm: f64) -> Self {
        Vccs {
            p,
            n,
            cp,
            cn,
            gm,
            slots: [0; 4],
        }
    }
}

impl DeviceOps for Vccs {
    fn setup(&mut self, s: &mut Setup) {
        self.slots = [
            s.entry(self.p, self.cp),
            s.entry(self.p, self.cn),
            s.entry(self.n, self.cp),
            s.entry(self.n, self.cn),
        ];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        let i = self.gm * (l.x[self.cp] - l.x[self.cn]);
        l.f[self.p] += i;
        l.f[self.n] -= i;
        let s = &self.slots;
        l.jf[s[0]] += self.gm;
        l.jf[s[1]] -= self.gm;
        l.jf[s[2]] -= self.gm;
        l.jf[s[3]] += self.gm;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n, self.cp, self.cn]);
    }
}

/// Current gain * i(vc) flows from p through the source to n.
#[derive(Debug, Clone)]
pub struct Cccs {
    pub p: usize,
    pub n: usize,
    /// Branch unknown of the controlling voltage source (resolved after setup).
    pub cb: usize,
    /// Name of the controlling source.
    pub ctrl: String,
    pub gain: f64,
    slots: [usize; 2],
}

impl Cccs {
    pub fn new(p: usize, n: usize, ctrl: &str, gain: f64) -> Self {
        Cccs {
            p,
            n,
            cb: 0,
            ctrl: ctrl.into(),
            gain,
            slots: [0; 2],
        }
    }
}

impl DeviceOps for Cccs {
    fn setup(&mut self, s: &mut Setup) {
        self.slots = [s.entry(self.p, self.cb), s.entry(self.n, self.cb)];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        let i = self.gain * l.x[self.cb];
        l.f[self.p] += i;
        l.f[self.n] -= i;
        l.jf[self.slots[0]] += self.gain;
        l.jf[self.slots[1]] -= self.gain;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n, self.cb]);
    }
}

/// v(p) - v(n) = r * i(vc).
#[derive(Debug, Clone)]
pub struct Ccvs {
    pub name: String,
    pub p: usize,
    pub n: usize,
    pub cb: usize,
    pub ctrl: String,
    pub r: f64,
    pub br: usize,
    slots: [usize; 5],
}

impl Ccvs {
    pub fn new(name: &str, p: usize, n: usize, ctrl: &str, r: f64) -> Self {
        Ccvs {
            name: name.into(),
            p,
            n,
            cb: 0,
            ctrl: ctrl.into(),
            r,
            br: 0,
            slots: [0; 5],
        }
    }
}

impl DeviceOps for Ccvs {
    fn setup(&mut self, s: &mut Setup) {
        let k = self.br;
        self.slots = [
            s.entry(self.p, k),
            s.entry(self.n, k),
            s.entry(k, self.p),
            s.entry(k, self.n),
            s.entry(k, self.cb),
        ];
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        let i = l.x[self.br];
        l.f[self.p] += i;
        l.f[self.n] -= i;
        l.f[self.br] += l.x[self.p] - l.x[self.n] - self.r * l.x[self.cb];
        let s = &self.slots;
        l.jf[s[0]] += 1.0;
        l.jf[s[1]] -= 1.0;
        l.jf[s[2]] += 1.0;
        l.jf[s[3]] -= 1.0;
        l.jf[s[4]] -= self.r;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n, self.cb, self.br]);
    }
}
