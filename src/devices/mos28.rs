//! The level-28 MOSFET: the EKV-SC compact model (`ekv.rs`) as a circuit device. The model
//! gives the drain current, the four terminal charges and their exact derivatives; this file
//! only stamps them.
use super::ekv::{EkvInstance, EkvModel, MosGeom};
use super::{DeviceOps, Load, Setup, remap_all};

#[derive(Debug, Clone)]
pub struct Mos28 {
    pub d: usize,
    pub g: usize,
    pub s: usize,
    pub b: usize,
    pub model: EkvModel,
    pub geom: MosGeom,
    inst: EkvInstance,
    slots: [usize; 16],
}

impl Mos28 {
    pub fn new(t: [usize; 4], model: EkvModel, geom: MosGeom) -> Result<Self, String> {
        let inst = EkvInstance::new(&model, &geom)?;
        Ok(Mos28 {
            d: t[0],
            g: t[1],
            s: t[2],
            b: t[3],
            model,
            geom,
            inst,
            slots: [0; 16],
        })
    }
    /// Re-derives the instance after a change of geometry, temperature or mismatch.
    pub fn set_geom(&mut self, geom: MosGeom) -> Result<(), String> {
        self.inst = EkvInstance::new(&self.model, &geom)?;
        self.geom = geom;
        Ok(())
    }
}

impl DeviceOps for Mos28 {
    fn setup(&mut self, s: &mut Setup) {
        let t = [self.d, self.g, self.s, self.b];
        for r in 0..4 {
            for c in 0..4 {
                self.slots[r * 4 + c] = s.entry(t[r], t[c]);
            }
        }
    }
    fn remap(&mut self, map: &[usize]) {
        remap_all(&mut self.slots, map);
    }
    fn load(&mut self, l: &mut Load) {
        let x = l.x;
        let e = self.inst.eval(x[self.d], x[self.g], x[self.s], x[self.b]);
        l.f[self.d] += e.id;
        l.f[self.s] -= e.id;
        let t = [self.d, self.g, self.s, self.b];
        for c in 0..4 {
            l.jf[self.slots[c]] += e.did[c];
            l.jf[self.slots[8 + c]] -= e.did[c];
        }
        for r in 0..4 {
            l.q[t[r]] += e.q[r];
            for c in 0..4 {
                l.jq[self.slots[r * 4 + c]] += e.dq[r][c];
            }
        }
    }
    fn terminals(&self, out: &mut Vec<usize>) {
        out.extend([self.d, self.g, self.s, self.b]);
    }
}
