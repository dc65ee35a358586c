//! Property tests: random resistor and current-source networks satisfy KCL to 1e-9 at every
#![allow(clippy::type_complexity, clippy::needless_range_loop)]
//! node and agree with an independent dense solve of the nodal equations.

use neurospice::analysis::{self, Save};
use neurospice::netlist::{self, Netlist, lexer::lex_str};
use proptest::prelude::*;

/// A connected random network: a spanning chain to ground plus extra resistors and sources.
fn network() -> impl Strategy<Value = (usize, Vec<(usize, usize, f64)>, Vec<(usize, usize, f64)>)> {
    (2usize..12).prop_flat_map(|n| {
        let chain = proptest::collection::vec(1.0f64..1e5, n);
        let extra = proptest::collection::vec((0..=n, 0..=n, 1.0f64..1e5), 0..2 * n);
        let src = proptest::collection::vec((0..=n, 0..=n, -1e-3f64..1e-3), 1..n + 1);
        (Just(n), chain, extra, src).prop_map(|(n, chain, extra, src)| {
            // node k is joined to node k-1 (node 0 = ground), so every node has a DC path
            let mut rs: Vec<(usize, usize, f64)> = chain
                .iter()
                .enumerate()
                .map(|(k, r)| (k + 1, k, *r))
                .collect();
            rs.extend(extra.into_iter().filter(|(a, b, _)| a != b));
            let is: Vec<(usize, usize, f64)> = src.into_iter().filter(|(a, b, _)| a != b).collect();
            (n, rs, is)
        })
    })
}

fn dense_solve(n: usize, rs: &[(usize, usize, f64)], is: &[(usize, usize, f64)]) -> Vec<f64> {
    // G v = I over nodes 1..=n, Gaussian elimination with partial pivoting
    let mut g = vec![vec![0.0f64; n + 1]; n];
    let node = |k: usize| k.checked_sub(1);
    for &(a, b, r) in rs {
        let c = 1.0 / r;
        if let Some(i) = node(a) {
            g[i][i] += c;
        }
        if let Some(j) = node(b) {
            g[j][j] += c;
        }
        if let (Some(i), Some(j)) = (node(a), node(b)) {
            g[i][j] -= c;
            g[j][i] -= c;
        }
    }
    for &(a, b, i) in is {
        // current i flows from a through the source to b: it leaves a and enters b
        if let Some(k) = node(a) {
            g[k][n] -= i;
        }
        if let Some(k) = node(b) {
            g[k][n] += i;
        }
    }
    for c in 0..n {
        let p = (c..n)
            .max_by(|&x, &y| g[x][c].abs().partial_cmp(&g[y][c].abs()).unwrap())
            .unwrap();
        g.swap(c, p);
        for r in 0..n {
            if r != c {
                let f = g[r][c] / g[c][c];
                for k in c..=n {
                    g[r][k] -= f * g[c][k];
                }
            }
        }
    }
    (0..n).map(|i| g[i][n] / g[i][i]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_networks_satisfy_kcl_and_match_a_dense_solve((n, rs, is) in network()) {
        let mut text = String::from("random network\n");
        for (k, (a, b, r)) in rs.iter().enumerate() {
            text += &format!("R{k} {a} {b} {r:e}\n");
        }
        for (k, (a, b, i)) in is.iter().enumerate() {
            text += &format!("I{k} {a} {b} {i:e}\n");
        }
        text += ".options reltol=1e-9 vntol=1e-15\n.op\n.end\n";
        let lexed = lex_str(&text, "prop.cir").unwrap();
        let nl = Netlist::parse(&lexed).unwrap();
        let c = netlist::elaborate(&nl, Default::default()).unwrap();
        let op = analysis::run(&c, &Save::All).unwrap().op.unwrap();
        let v = |k: usize| if k == 0 { 0.0 } else { op.iter().find(|(s, _)| *s == format!("v({k})")).map(|p| p.1).unwrap_or(f64::NAN) };
        // KCL at every node: sum of currents leaving through resistors and sources is zero
        let mut scale = 0.0f64;
        let mut kcl = vec![0.0f64; n + 1];
        for &(a, b, r) in &rs {
            let i = (v(a) - v(b)) / r;
            kcl[a] += i;
            kcl[b] -= i;
            scale = scale.max(i.abs());
        }
        for &(a, b, i) in &is {
            kcl[a] += i;
            kcl[b] -= i;
            scale = scale.max(i.abs());
        }
        for k in 1..=n {
            prop_assert!(kcl[k].abs() <= 1e-9 * scale.max(1e-12), "KCL at node {}: {:e} (scale {:e})", k, kcl[k], scale);
        }
        let reference = dense_solve(n, &rs, &is);
        let vmax = reference.iter().fold(1e-12f64, |m, r| m.max(r.abs()));
        for k in 1..=n {
            let r = reference[k - 1];
            prop_assert!((v(k) - r).abs() <= 1e-9 * vmax, "v({}) = {:e}, dense solve {:e}", k, v(k), r);
        }
    }
}
