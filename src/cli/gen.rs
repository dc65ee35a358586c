//! `neurospice gen`: netlist generators.

use super::spice_number;
use clap::{Args, Subcommand};
use neurospice::error::Result;
use neurospice::io::atomic::write_bytes;
use neurospice::neuro::netgen::{
    C2cSpec, CapMismatch, OpampNeuronSpec, c2c_device_bench, c2c_mc_bench, c2c_subckt,
    opamp_neuron_bench, tidy,
};
use std::path::{Path, PathBuf};

/// Generate a netlist.
#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(subcommand)]
    pub what: GenWhat,
}

/// What `gen` writes.
#[derive(Debug, Subcommand)]
pub enum GenWhat {
    /// An n-bit C-2C ladder synapse subcircuit: v(out) = v(in) * code / 2^bits.
    C2c {
        /// Number of bits (1..16).
        #[arg(long)]
        bits: u32,
        /// Unit capacitance, F (SPICE number).
        #[arg(long, default_value = "10f")]
        cu: String,
        /// Node-to-ground parasitic capacitance as a fraction of the unit capacitance.
        #[arg(long, default_value = "0")]
        parasitic: String,
        /// Subcircuit name (default c2c<bits>).
        #[arg(long)]
        name: Option<String>,
        /// Output file (.lib to .include).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Monte Carlo bench of a K-bit C-2C synapse: one ladder per code, unit capacitors with
    /// Pelgrom mismatch sigma(dC/C) = A_C/sqrt(area); `neurospice mc --variation local` on it
    /// writes the synapse file `snn eval --synapse c2c:FILE` reads (docs/c2c.md).
    C2cBench {
        /// Weight bits K (1..10).
        #[arg(long)]
        bits: u32,
        /// Unit-capacitor area, µm² (cu = area · density).
        #[arg(long, default_value_t = 1.0)]
        unit_area: f64,
        /// Pelgrom matching coefficient A_C, %·µm (28nm-class MOM default).
        #[arg(long, default_value_t = 1.0)]
        ac: f64,
        /// Capacitance density, fF/µm² (28nm-class MOM default).
        #[arg(long, default_value_t = 2.0)]
        density: f64,
        /// Bottom-plate parasitic of every ladder node to ground, fraction of cu.
        #[arg(long, default_value = "0")]
        parasitic: String,
        /// One ladder stepped through every code (2 ns per code) instead of one ladder per
        /// code: each Monte Carlo run is one device, so the runs CSV gives its DNL and INL.
        #[arg(long)]
        one_device: bool,
        /// Output netlist.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Op-amp integrator neuron bench: a column of K-bit C-2C ladders into an op-amp
    /// macromodel integrator; `chara` gives its transfer level -> membrane voltage,
    /// `mc` its offset spread (docs/c2c.md).
    OpampNeuron {
        /// Weight bits K (1..8).
        #[arg(long)]
        bits: u32,
        /// Ladders on the column (crossbar rows per chunk).
        #[arg(long, default_value_t = 32)]
        array_size: u32,
        /// Op-amp open-loop DC gain.
        #[arg(long, default_value = "1e4")]
        a0: String,
        /// Gain-bandwidth product, Hz.
        #[arg(long, default_value = "100meg")]
        gbw: String,
        /// Slew rate, V/s.
        #[arg(long, default_value = "100meg")]
        sr: String,
        /// Input-offset sigma, V.
        #[arg(long, default_value = "1m")]
        vos_sigma: String,
        /// Membrane reset level, V.
        #[arg(long, default_value = "0.8")]
        vref: String,
        /// Membrane at the design full scale, V.
        #[arg(long, default_value = "0.2")]
        vfull: String,
        /// Design full scale as a fraction of the largest level L·(2^K-1).
        #[arg(long, default_value = "1")]
        fs_fraction: String,
        /// Integration window before the membrane is read, s.
        #[arg(long, default_value = "500n")]
        t_read: String,
        /// Library holding the `opamp` subcircuit (written as a path relative to the output).
        #[arg(long, default_value = "models/neurons.lib")]
        lib: PathBuf,
        /// Output netlist.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// `target` as a path relative to the directory of `from` (both made absolute first).
fn relative_to(target: &Path, from: &Path) -> Result<String> {
    let abs = |p: &Path| -> Result<PathBuf> {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| neurospice::error::Error::output(format!("current directory: {e}")))?
                .join(p)
        };
        // lexical normalisation: drop `.`, resolve `..`
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    out.pop();
                }
                c => out.push(c),
            }
        }
        Ok(out)
    };
    let t = abs(target)?;
    let dir = abs(from)?;
    let dir = dir.parent().unwrap_or(Path::new("/"));
    let tc: Vec<_> = t.components().collect();
    let dc: Vec<_> = dir.components().collect();
    let common = tc.iter().zip(&dc).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..dc.len() {
        rel.push("..");
    }
    for c in &tc[common..] {
        rel.push(c);
    }
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

/// Runs `gen`.
pub fn run(a: &GenArgs) -> Result<()> {
    match &a.what {
        GenWhat::C2c {
            bits,
            cu,
            parasitic,
            name,
            output,
        } => {
            let mut spec = C2cSpec::new(*bits);
            spec.cu = spice_number("--cu", cu)?;
            spec.parasitic = spice_number("--parasitic", parasitic)?;
            if let Some(n) = name {
                spec.name = n.clone();
            }
            let text = c2c_subckt(&spec)?;
            write_bytes(output, text.as_bytes())?;
            outln!(
                "wrote {} ({}-bit C-2C ladder '{}')",
                output.display(),
                bits,
                spec.name
            );
            Ok(())
        }
        GenWhat::C2cBench {
            bits,
            unit_area,
            ac,
            density,
            parasitic,
            one_device,
            output,
        } => {
            if !(*unit_area > 0.0 && unit_area.is_finite()) {
                return Err(neurospice::error::Error::usage(format!(
                    "--unit-area {unit_area}: must be a positive area in um^2"
                )));
            }
            let mm = CapMismatch {
                a_c: ac * 1e-8,
                density: density * 1e-3,
            };
            let mut spec = C2cSpec::new(*bits);
            spec.cu = mm.density * unit_area * 1e-12;
            spec.parasitic = spice_number("--parasitic", parasitic)?;
            let (text, what) = if *one_device {
                (
                    c2c_device_bench(&spec, &mm, 1.0)?,
                    "one ladder stepped through".to_string(),
                )
            } else {
                (
                    c2c_mc_bench(&spec, &mm, 1.0)?,
                    "one ladder per code,".to_string(),
                )
            };
            write_bytes(output, text.as_bytes())?;
            outln!(
                "wrote {} ({}-bit C-2C Monte Carlo bench, {what} {} codes; cu = {:e} F, sigma(dC/C) = {:.3} % per unit)",
                output.display(),
                bits,
                1u64 << bits,
                spec.cu,
                100.0 * mm.sigma_rel(spec.cu)
            );
            Ok(())
        }
        GenWhat::OpampNeuron {
            bits,
            array_size,
            a0,
            gbw,
            sr,
            vos_sigma,
            vref,
            vfull,
            fs_fraction,
            t_read,
            lib,
            output,
        } => {
            let mut spec = OpampNeuronSpec::new(*bits);
            spec.array_size = *array_size;
            spec.a0 = spice_number("--a0", a0)?;
            spec.gbw = spice_number("--gbw", gbw)?;
            spec.sr = spice_number("--sr", sr)?;
            spec.vos_sigma = spice_number("--vos-sigma", vos_sigma)?;
            spec.vref = spice_number("--vref", vref)?;
            spec.vfull = spice_number("--vfull", vfull)?;
            spec.fs_fraction = spice_number("--fs-fraction", fs_fraction)?;
            spec.t_read = spice_number("--t-read", t_read)?;
            spec.lib = relative_to(lib, output)?;
            let text = opamp_neuron_bench(&spec)?;
            write_bytes(output, text.as_bytes())?;
            outln!(
                "wrote {}: read-out line v0 = {} V, dv = {:e} V per level, full scale {} levels; \
                 read the membrane at t = {:e} s",
                output.display(),
                spec.vref,
                spec.v_per_level(),
                spec.full_scale(),
                spec.t_membrane()
            );
            // the characterisation that goes with it, as `chara` options (scripts read this line)
            let fs = spec.full_scale();
            outln!(
                "chara args: --levels 0:{fs}:{} --membrane out --t-membrane {} --readout-line {},{}",
                (fs / 64).max(1),
                tidy(spec.t_membrane()),
                tidy(spec.vref),
                tidy(spec.v_per_level())
            );
            Ok(())
        }
    }
}
