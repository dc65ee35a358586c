//! `run --sweep`: each point equals a single run of the netlist with that parameter value,
//! spike times bit for bit, and the transfer it produces follows the closed form.
use neurospice::analysis::{PartCache, RunOptions, Save, run_with};
use neurospice::netlist::{self, ElabOptions, Netlist, lexer::lex_file};
use neurospice::sweep::{parse_sweep, run_sweep};
use std::path::Path;

#[test]
fn sweep_points_equal_single_runs_and_the_rate_follows_the_current() {
    let lexed = lex_file(Path::new("netlists/if_neuron.cir")).unwrap();
    let nl = Netlist::parse(&lexed).unwrap();
    let ro = RunOptions {
        save: Save::List(vec!["none".into()]),
        spikes: vec![("mem".into(), 0.45)],
    };
    let sw = parse_sweep("iin=0.5u:2u:7", false).unwrap();
    let points = run_sweep(&nl, &sw, &ro);
    assert_eq!(points.len(), 7);
    for (v, r) in &points {
        let swept = r.as_ref().unwrap();
        let c = netlist::elaborate(
            &nl,
            ElabOptions {
                overrides: vec![("iin".into(), *v)],
                random: None,
            },
        )
        .unwrap();
        let single = run_with(&c, &ro, &mut PartCache::default()).unwrap();
        assert_eq!(
            swept.spikes[0].times, single.spikes[0].times,
            "iin = {v}: sweep and single run differ"
        );
        // period = C * (VT+VH - (VT-VH)) / I plus a ~0.2 ns reset (RON*C = 0.1 ns)
        let (_, _, isi, _) = swept.spikes[0].stats();
        let ideal = 1e-12 * 0.3 / v;
        assert!(
            (isi - ideal).abs() / ideal < 0.01,
            "iin = {v}: ISI {isi:e}, C*dV/I = {ideal:e}"
        );
    }
}
