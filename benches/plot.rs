//! Drawing time of the two large figures issue 8 bounds at 2 s each: a 1,000-run Monte Carlo
//! overlay and a 100,000-point waveform, both to SVG and PNG in memory (no disk time).

use criterion::{Criterion, criterion_group, criterion_main};
use neurospice::plot::{
    self, FigureOptions, Format, OverlayPlot, Trace, WavePlot, Waveforms, wave::Signal,
};
use std::hint::black_box;

/// 1,000 RC-step runs of 500 samples with time constants spread ±20 %.
fn overlay() -> OverlayPlot {
    let time: Vec<f64> = (0..500).map(|k| k as f64 * 10e-12).collect();
    let runs = (0..1000)
        .map(|r| {
            let tau = 1e-9 * (0.8 + 0.4 * (r as f64 / 999.0));
            Trace {
                time: time.clone(),
                values: time.iter().map(|t| 1.0 - (-t / tau).exp()).collect(),
            }
        })
        .collect();
    OverlayPlot {
        signal: "v(mem)".to_string(),
        runs,
        nominal: None,
    }
}

/// A 100,000-point integrate-and-fire sawtooth with a ringing current, two panels.
fn long_wave() -> WavePlot {
    let n = 100_000;
    let x: Vec<f64> = (0..n).map(|k| k as f64 * 1e-10).collect();
    let v: Vec<f64> = x.iter().map(|t| (t / 1e-6).fract()).collect();
    let i: Vec<f64> = x.iter().map(|t| 1e-6 * (t * 3.7e8).sin()).collect();
    let waves = Waveforms {
        source: "bench".to_string(),
        x_name: "time".to_string(),
        x,
        signals: vec![
            Signal {
                name: "v(mem)".to_string(),
                values: v,
            },
            Signal {
                name: "i(v1)".to_string(),
                values: i,
            },
        ],
    };
    let panels = vec![vec!["v(mem)".to_string()], vec!["i(v1)".to_string()]];
    WavePlot::new(waves, &panels, None, Vec::new()).expect("signals exist")
}

fn bench(c: &mut Criterion) {
    let opts = FigureOptions::default();
    let mut g = c.benchmark_group("plot");
    g.sample_size(10);
    let o = overlay();
    let w = long_wave();
    for (name, format) in [("svg", Format::Svg), ("png", Format::Png)] {
        g.bench_function(format!("overlay_1000_runs_{name}"), |b| {
            b.iter(|| plot::render_bytes(black_box(&o), &opts, format).expect("draws"))
        });
        g.bench_function(format!("wave_100k_points_{name}"), |b| {
            b.iter(|| plot::render_bytes(black_box(&w), &opts, format).expect("draws"))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
