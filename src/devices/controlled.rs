//! Linear controlled sources: E (VCVS), G (VCCS), F (CCCS), H (CCVS).
use super::ops::{Branch, DeviceOps, Load, Setup, branch_verbs, remap_all, stamp2};

/// v(p) - v(n) = gain (v(cp) - v(cn)).
#[derive(Debug, Clone)]
pub struct Vcvs {
    pub br: Branch,
    pub cp: usize,
    pub cn: usize,
    pub gain: f64,
    slots: [usize; 2],
}

impl Vcvs {
    pub fn new(p: usize, n: usize, cp: usize, cn: usize, gain: f64) -> Self {
        Vcvs {
            br: Branch::new(p, n),
            cp,
            cn,
            gain,
            slots: [0; 2],
        }
    }
}

impl DeviceOps for Vcvs {
    fn setup(&mut self, s: &mut Setup) {
        self.br.setup(s);
        let k = self.br.k;
        self.slots = [s.entry(k, self.cp), s.entry(k, self.cn)];
    }
    fn remap(&mut self, map: &[usize]) {
        self.br.remap(map);
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        let e = self.gain * (l.x[self.cp] - l.x[self.cn]);
        self.br.load(l, e);
        l.jf[self.slots[0]] -= self.gain;
        l.jf[self.slots[1]] += self.gain;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.br.p, self.br.n, self.cp, self.cn, self.br.k]);
    }
    fn renumber(&mut self, m: &[usize]) {
        self.br.renumber(m);
        (self.cp, self.cn) = (m[self.cp], m[self.cn]);
    }
    branch_verbs!(br);
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
        stamp2(l.jf, &self.slots, self.gm);
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.p, self.n, self.cp, self.cn]);
    }
    fn renumber(&mut self, m: &[usize]) {
        (self.p, self.n) = (m[self.p], m[self.n]);
        (self.cp, self.cn) = (m[self.cp], m[self.cn]);
    }
}

/// Current gain * i(vc) flows from p through the source to n.
#[derive(Debug, Clone)]
pub struct Cccs {
    pub p: usize,
    pub n: usize,
    /// Branch unknown of the controlling voltage source (resolved after setup).
    pub cb: usize,
    pub gain: f64,
    slots: [usize; 2],
}

impl Cccs {
    pub fn new(p: usize, n: usize, gain: f64) -> Self {
        Cccs {
            p,
            n,
            cb: 0,
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
    fn renumber(&mut self, m: &[usize]) {
        (self.p, self.n, self.cb) = (m[self.p], m[self.n], m[self.cb]);
    }
    /// The controlling source's branch.
    fn set_reads(&mut self, ix: &[(usize, usize)]) {
        if let Some(&(b, _)) = ix.first() {
            self.cb = b;
        }
    }
}

/// v(p) - v(n) = r * i(vc).
#[derive(Debug, Clone)]
pub struct Ccvs {
    pub br: Branch,
    pub cb: usize,
    pub r: f64,
    slot_cb: usize,
}

impl Ccvs {
    pub fn new(p: usize, n: usize, r: f64) -> Self {
        Ccvs {
            br: Branch::new(p, n),
            cb: 0,
            r,
            slot_cb: 0,
        }
    }
}

impl DeviceOps for Ccvs {
    fn setup(&mut self, s: &mut Setup) {
        self.br.setup(s);
        self.slot_cb = s.entry(self.br.k, self.cb);
    }
    fn remap(&mut self, map: &[usize]) {
        self.br.remap(map);
        remap_all(std::slice::from_mut(&mut self.slot_cb), map);
    }
    fn load(&mut self, l: &mut Load) {
        let e = self.r * l.x[self.cb];
        self.br.load(l, e);
        l.jf[self.slot_cb] -= self.r;
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.br.p, self.br.n, self.cb, self.br.k]);
    }
    fn renumber(&mut self, m: &[usize]) {
        self.br.renumber(m);
        self.cb = m[self.cb];
    }
    branch_verbs!(br);
    /// The controlling source's branch.
    fn set_reads(&mut self, ix: &[(usize, usize)]) {
        if let Some(&(b, _)) = ix.first() {
            self.cb = b;
        }
    }
}
