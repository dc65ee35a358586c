//! `neurospice chara`: a neuron netlist's transfer curve and INL.

use super::spice_number as seconds;
use clap::Args;
use neurospice::error::Result;
use neurospice::netlist;
use neurospice::neuro::chara::{self, CharaOptions};
use std::path::PathBuf;

/// Characterise a neuron netlist: input level -> spike time and membrane voltage, with INL.
#[derive(Debug, Args)]
pub struct CharaArgs {
    /// The test bench: a .tran of one integration window, input level set by a .param.
    pub netlist: PathBuf,
    /// Levels to simulate: FIRST:LAST, FIRST:LAST:STEP or a,b,c (0:32 for a 32-row crossbar
    /// chunk).
    #[arg(long, default_value = "0:32")]
    pub levels: String,
    /// The .param that sets the level.
    #[arg(long, default_value = "level")]
    pub param: String,
    /// Membrane node.
    #[arg(long, default_value = "mem")]
    pub membrane: String,
    /// Spike threshold on the membrane, V.
    #[arg(long, default_value = "0.4")]
    pub vth: String,
    /// When to read the membrane voltage, s (SPICE number, e.g. 156.25n).
    #[arg(long)]
    pub t_membrane: String,
    /// End of the spike read-out window, s (default: end of the transient).
    #[arg(long)]
    pub t_window: Option<String>,
    /// Relative sigma of the charging current (device mismatch estimate): spike-time sigma =
    /// this * spike time. Default: 0 (no estimate).
    #[arg(long)]
    pub sigma_rel: Option<f64>,
    /// How --sigma-rel was obtained (written into the JSON's sigma_note).
    #[arg(long)]
    pub sigma_note: Option<String>,
    /// Device-to-device sigma of the membrane voltage, V, written per level as
    /// `membrane_sigma_v` (e.g. the std of the membrane from `neurospice mc`).
    #[arg(long)]
    pub membrane_sigma: Option<f64>,
    /// The design's ideal read-out line `V0,DV` (membrane at level 0, volts per level), written
    /// as `readout_v0_v`, `readout_v_per_level`: what `snn eval --neuron opamp:FILE` digitises
    /// the membrane against (`gen opamp-neuron` prints it).
    #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
    pub readout_line: Option<Vec<String>>,
    /// Per-level Monte Carlo: this many runs per level with all variation (transistor
    /// mismatch, the netlist's random functions, TRNOISE) and as many without the transistor
    /// mismatch; writes the device and per-read spike-time sigmas (replaces --sigma-rel).
    #[arg(long)]
    pub mc_runs: Option<u64>,
    /// Set a global .param for every run: NAME=VALUE (SPICE number), repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Seed of the Monte Carlo (run r of seed S is the same on any machine).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Neuron name written into the JSON (default: the netlist's file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// JSON output (`snn eval --neuron circuit:FILE` reads it).
    #[arg(short, long)]
    pub output: PathBuf,
    /// CSV output for `plot transfer` (default: the JSON path with .csv).
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// Runs `chara`: prints the INL figures, writes JSON and CSV.
pub fn run(a: &CharaArgs) -> Result<()> {
    let lexed = netlist::lexer::lex_file(&a.netlist)?;
    let nl = netlist::Netlist::parse(&lexed)?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| chara::default_name(&a.netlist));
    let o = CharaOptions {
        neuron: name,
        param: a.param.clone(),
        levels: chara::parse_levels(&a.levels)?,
        membrane: a.membrane.clone(),
        v_th: seconds("--vth", &a.vth)?,
        t_membrane: seconds("--t-membrane", &a.t_membrane)?,
        t_window: a
            .t_window
            .as_deref()
            .map(|s| seconds("--t-window", s))
            .transpose()?,
        sigma_rel: a.sigma_rel,
        sigma_note: a.sigma_note.clone(),
        set: a
            .set
            .iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').ok_or_else(|| {
                    neurospice::error::Error::usage(format!("--set '{kv}': expected NAME=VALUE"))
                })?;
                Ok((k.trim().to_ascii_lowercase(), seconds("--set", v.trim())?))
            })
            .collect::<Result<Vec<_>>>()?,
        mc: a.mc_runs.map(|runs| chara::McSpread { runs, seed: a.seed }),
    };
    if a.mc_runs.is_some() && a.sigma_rel.is_some() {
        return Err(neurospice::error::Error::usage(
            "--mc-runs and --sigma-rel both set the spread: give one",
        ));
    }
    let mut t = chara::characterise(&nl, &a.netlist.display().to_string(), &o)?;
    if let Some(s) = a.membrane_sigma {
        if !(s >= 0.0 && s.is_finite()) {
            return Err(neurospice::error::Error::usage(format!(
                "--membrane-sigma {s}: must be a voltage >= 0"
            )));
        }
        t.membrane_sigma_v = Some(vec![s; t.levels.len()]);
    }
    if let Some(line) = &a.readout_line {
        let [v0, dv] = line.as_slice() else {
            return Err(neurospice::error::Error::usage(format!(
                "--readout-line {}: expected V0,DV",
                line.join(",")
            )));
        };
        let v0 = seconds("--readout-line V0", v0)?;
        let dv = seconds("--readout-line DV", dv)?;
        if dv == 0.0 {
            return Err(neurospice::error::Error::usage(
                "--readout-line: DV (volts per level) must not be 0",
            ));
        }
        t.readout_v0_v = Some(v0);
        t.readout_v_per_level = Some(dv);
    }
    let csv = a
        .csv
        .clone()
        .unwrap_or_else(|| a.output.with_extension("csv"));
    chara::write_files(&t, &a.output, &csv)?;
    outln!(
        "{}: membrane INL {:.3} % of full scale at {:e} s; spike-rate INL {} ({} of {} levels fire)",
        t.neuron,
        t.inl_membrane_pct,
        t.t_membrane_s,
        t.inl_spike_rate_pct
            .map(|v| format!("{v:.3} %"))
            .unwrap_or_else(|| "n/a".into()),
        t.spike_time_s.iter().filter(|s| s.is_some()).count(),
        t.levels.len()
    );
    outln!("wrote {} and {}", a.output.display(), csv.display());
    Ok(())
}
