//! Every example netlist a user is pointed at runs to completion (their numbers are checked by
//! the golden, analytic and device tests that share their circuits).
use neurospice::analysis::{self, Save};
use neurospice::netlist::{self, Netlist, lexer::lex_file};

#[test]
fn every_example_netlist_runs() {
    let mut n = 0;
    for e in std::fs::read_dir("netlists").expect("netlists/") {
        let p = e.expect("entry").path();
        if p.extension().and_then(|x| x.to_str()) != Some("cir") {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(
            text.lines()
                .nth(1)
                .map(|l| l.starts_with('*'))
                .unwrap_or(false),
            "{}: the second line must be a comment saying what the netlist produces",
            p.display()
        );
        let lexed = lex_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let nl = Netlist::parse(&lexed).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let c = netlist::elaborate(&nl, Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        analysis::run(&c, &Save::All).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        n += 1;
    }
    assert!(
        n >= 6,
        "expected at least the six issue-2 examples, found {n}"
    );
}
