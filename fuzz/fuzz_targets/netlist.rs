//! Fuzzes the netlist front end: lexing, parsing, elaboration and the structural checks.
//! Any input must give a circuit or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use neurospice::netlist::{self, lexer::lex_str, Netlist};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(lexed) = lex_str(&text, "fuzz.cir") else { return };
    let Ok(nl) = Netlist::parse(&lexed) else { return };
    if let Ok(c) = netlist::elaborate(&nl, Default::default()) {
        let _ = neurospice::analysis::check_structure(&c, true);
        let _ = neurospice::analysis::split(&c);
    }
});
