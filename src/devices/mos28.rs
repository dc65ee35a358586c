//! The level-28 MOSFET: the EKV-SC compact model (`ekv.rs`) as a circuit device. The model
//! gives the drain current, the four terminal charges and their exact derivatives; this file
//! stamps them and draws the device's Pelgrom mismatch.
use super::ekv::{EkvInstance, EkvModel, MosGeom};
use super::mos1::MosParams;
use super::ops::{DeviceOps, Load, Setup, T0, remap_all};
use super::params::MismatchDraw;
use crate::error::Result;
use crate::expr::Func;

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

/// The geometry of an instance line at circuit temperature `temp_c` [C]: junctions the line
/// does not give come from the model ([`EkvModel::default_junction`]).
pub fn geometry(model: &EkvModel, p: &MosParams, temp_c: f64) -> MosGeom {
    let mut g = MosGeom::new(model, p.w, p.l);
    g.m = p.m;
    g.temp_k = temp_c + T0;
    g.ad = p.ad.unwrap_or(g.ad);
    g.as_ = p.as_.unwrap_or(g.as_);
    g.pd = p.pd.unwrap_or(g.pd);
    g.ps = p.ps.unwrap_or(g.ps);
    g
}

impl Mos28 {
    pub fn new(t: [usize; 4], model: EkvModel, geom: MosGeom) -> Result<Self> {
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
    pub fn set_geom(&mut self, geom: MosGeom) -> Result<()> {
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
    fn renumber(&mut self, m: &[usize]) {
        (self.d, self.g, self.s, self.b) = (m[self.d], m[self.g], m[self.s], m[self.b]);
    }
    /// Only the channel conducts at DC: EKV-SC has no junction DC current.
    fn dc_path(&self, out: &mut Vec<usize>) {
        out.extend([self.d, self.s]);
    }
    fn linear(&self) -> bool {
        false
    }
    /// Pelgrom: a threshold shift and a relative current-factor shift, each N(0, A / sqrt(2
    /// m W L)) from the card's `avt` and `abeta`.
    fn mismatch(&self, out: &mut Vec<MismatchDraw>) -> Result<()> {
        let g = &self.geom;
        let (s_vt, s_beta) = self.model.pelgrom_sigmas(g.w, g.l, g.m);
        out.push(MismatchDraw {
            what: "dvt0",
            func: Func::Agauss,
            args: [0.0, s_vt, 1.0],
        });
        out.push(MismatchDraw {
            what: "dbeta",
            func: Func::Agauss,
            args: [0.0, s_beta, 1.0],
        });
        Ok(())
    }
    fn set_mismatch(&mut self, v: &[f64]) -> Result<()> {
        if let [dvt0, dbeta] = v {
            self.set_geom(MosGeom {
                dvt0: *dvt0,
                dbeta_rel: *dbeta,
                ..self.geom
            })?;
        }
        Ok(())
    }
}
