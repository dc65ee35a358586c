//! ngspice raw files (ASCII `Values:` and binary `Binary:`) as plot input, read by the
//! crate's raw module ([`crate::io::raw`]).
//!
//! Only real data is read; complex plots (AC analysis) are refused. When a file holds
//! several plots, the first one is returned.
//!
//! ngspice names node voltages `v(node)` (or the bare node name, as older versions and
//! other tools do) and branch currents `v1#branch`; names are normalised to the CSV
//! convention: `v(node)` for voltages and `i(v1)` for branch currents.

use crate::error::{Error, Result};

/// The first plot of a raw file as named columns (the file's own [`crate::io::raw::RawPlot`]
/// holds rows): the first variable is the sweep (time, or a DC source).
#[derive(Debug, Clone, PartialEq)]
pub struct RawColumns {
    /// `Plotname:` line, e.g. `Transient Analysis`.
    pub plotname: String,
    /// Variable names, normalised (`time`, `v(out)`, `i(v1)`).
    pub names: Vec<String>,
    /// One vector per variable, SI units.
    pub columns: Vec<Vec<f64>>,
}

/// Parse the bytes of a raw file; `source` names it in errors. The reading itself is
/// [`crate::io::raw::parse_raw`]'s; this keeps the first plot and normalises its names.
pub fn parse(source: &str, bytes: &[u8]) -> Result<RawColumns> {
    let plots = crate::io::raw::parse_raw(source, bytes)?;
    let Some(p) = plots.into_iter().next() else {
        return Err(Error::at_line(source, 0, "no plot in the file"));
    };
    let names = p
        .names
        .iter()
        .zip(&p.types)
        .map(|(n, t)| normalise(n, t))
        .collect();
    let columns = (0..p.names.len()).map(|k| p.column(k)).collect();
    Ok(RawColumns {
        plotname: p.plotname,
        names,
        columns,
    })
}

fn normalise(name: &str, kind: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if let Some(dev) = lower.strip_suffix("#branch") {
        return format!("i({dev})");
    }
    if kind.eq_ignore_ascii_case("voltage") && !lower.starts_with("v(") {
        return format!("v({name})");
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Title: rc\nDate: today\nPlotname: Transient Analysis\nFlags: real\n\
No. Variables: 3\nNo. Points: 2\nVariables:\n\t0\ttime\ttime\n\t1\tout\tvoltage\n\t2\tv1#branch\tcurrent\n";

    #[test]
    fn ascii_values() {
        let text =
            format!("{HEADER}Values:\n 0\t0.0\n\t1.0\n\t-1e-3\n\n 1\t1e-9\n\t0.5\n\t-2e-3\n");
        let p = parse("a.raw", text.as_bytes()).unwrap();
        assert_eq!(p.names, ["time", "v(out)", "i(v1)"]);
        assert_eq!(p.columns[1], [1.0, 0.5]);
        assert_eq!(p.columns[2], [-1e-3, -2e-3]);
    }

    #[test]
    fn binary_values() {
        let mut bytes = format!("{HEADER}Binary:\n").into_bytes();
        for v in [0.0f64, 1.0, -1e-3, 1e-9, 0.5, -2e-3] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let p = parse("b.raw", &bytes).unwrap();
        assert_eq!(p.columns[0], [0.0, 1e-9]);
        assert_eq!(p.columns[1], [1.0, 0.5]);
        let e = parse("b.raw", &bytes[..bytes.len() - 3]).unwrap_err().msg;
        assert!(e.starts_with("b.raw:11: binary data holds 45 bytes"), "{e}");
    }

    #[test]
    fn truncated_header_is_an_error() {
        let e = parse("c.raw", b"Title: x\nNo. Variables: 2\n")
            .unwrap_err()
            .msg;
        assert!(e.contains("end of file before"), "{e}");
    }
}
