//! ngspice raw files: writing a run's tables (binary or ASCII) and reading them back.
//!
//! The layout is the one ngspice 39 writes with `-r` or `write`: a text header
//!
//! ```text
//! Title: <netlist title>
//! Date: Sun Nov 22 05:49:19  2026
//! Plotname: Transient Analysis            (or DC transfer characteristic)
//! Flags: real
//! No. Variables: 3
//! No. Points: 1001
//! Variables:
//! \t0\ttime\ttime
//! \t1\tv(out)\tvoltage
//! \t2\ti(v1)\tcurrent
//! Binary:                                 (or Values:)
//! ```
//!
//! then, point after point, every variable's value: little-endian f64 after `Binary:`, or
//! ` <index>\t<value>` and `\t<value>` lines after `Values:`. ASCII values are written in the
//! shortest form that reads back to the same bits, so both formats round-trip exactly. A file
//! may hold several plots one after another (a `.dc` and a `.tran`).
//!
//! A DC sweep's scale is named as ngspice names it (`v(v-sweep)`, `i(i-sweep)`, `temp-sweep`),
//! so ngspice's own `meas dc` finds it after `load`; a `.param` sweep is `<param>-sweep`, and
//! the outer variable of a nested sweep, which ngspice leaves out, is written as a second
//! variable `<name>-sweep`.

use crate::analysis::{RunResult, Table};
use crate::circuit::{Analysis, Circuit, SweepTarget};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// One plot of a raw file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPlot {
    /// The netlist's title line.
    pub title: String,
    /// When it was written, in ngspice's free-form layout.
    pub date: String,
    /// `Transient Analysis`, `DC transfer characteristic`, ...
    pub plotname: String,
    /// `real` for everything neurospice writes.
    pub flags: String,
    /// Variable names as written (`time`, `v(out)`, `i(v1)`); the first is the scale.
    pub names: Vec<String>,
    /// Variable types (`time`, `voltage`, `current`, ...), one per name.
    pub types: Vec<String>,
    /// One row per point, one value per variable (SI units).
    pub rows: Vec<Vec<f64>>,
}

impl RawPlot {
    /// The values of variable `k` at every point.
    pub fn column(&self, k: usize) -> Vec<f64> {
        self.rows.iter().map(|r| r[k]).collect()
    }
}

/// A malformed raw file: what was expected, and the 1-based header line it concerns (turned
/// into the crate's error, with the file's name, by [`parse_raw`]).
#[derive(Debug, Clone, PartialEq)]
struct BadLine {
    /// 1-based line of the header entry concerned (0: the file as a whole).
    pub line: usize,
    /// What was expected and what was found.
    pub msg: String,
}

/// The type ngspice gives a table column (`v(...)` voltage, `i(...)` current).
pub(super) fn type_of(name: &str) -> &'static str {
    if name == "time" {
        "time"
    } else if name.starts_with("i(") {
        "current"
    } else if name.starts_with("v(") {
        "voltage"
    } else {
        "notype"
    }
}

/// `Date:` in ngspice's format (UTC), e.g. `Sun Nov 22 05:49:19  2026`.
pub(super) fn date_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil-from-days (H. Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02}  {}",
        WD[days.rem_euclid(7) as usize],
        MON[(month - 1) as usize],
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        year
    )
}

/// The plots of a run in analysis order: each `.dc` sweep and the transient.
pub fn plots(c: &Circuit, res: &RunResult) -> Vec<RawPlot> {
    let date = date_now();
    let mut out = Vec::new();
    let mk = |plotname: &str, t: &Table, names: Vec<String>, types: Vec<String>| RawPlot {
        title: c.title.clone(),
        date: date.clone(),
        plotname: plotname.to_string(),
        flags: "real".into(),
        names,
        types,
        rows: t.rows.clone(),
    };
    for (a, _) in &c.analyses {
        match a {
            Analysis::Dc(sweeps) => {
                let Some(t) = &res.dc else { continue };
                let mut names = Vec::new();
                let mut types = Vec::new();
                for (k, s) in sweeps.iter().enumerate() {
                    let (name, ty) = match &s.target {
                        SweepTarget::Source(_) => match (s.current, k == 0) {
                            (true, true) => ("i(i-sweep)".into(), "current"),
                            (true, false) => (format!("{}-sweep", s.name), "current"),
                            (false, true) => ("v(v-sweep)".into(), "voltage"),
                            (false, false) => (format!("{}-sweep", s.name), "voltage"),
                        },
                        SweepTarget::Temp if k == 0 => ("temp-sweep".into(), "temp-sweep"),
                        SweepTarget::Temp => ("temp-sweep2".into(), "temp-sweep"),
                        SweepTarget::Param(p) => (format!("{p}-sweep"), "notype"),
                    };
                    names.push(name);
                    types.push(ty.to_string());
                }
                for n in t.names.iter().skip(sweeps.len()) {
                    names.push(n.clone());
                    types.push(type_of(n).into());
                }
                out.push(mk("DC transfer characteristic", t, names, types));
            }
            Analysis::Tran { .. } => {
                let Some(t) = &res.tran else { continue };
                let types = t.names.iter().map(|n| type_of(n).to_string()).collect();
                out.push(mk("Transient Analysis", t, t.names.clone(), types));
            }
            // complex data: written from the control language's plots (`write`)
            Analysis::Op | Analysis::Ac(_) => {}
        }
    }
    out
}

/// Serialises plots; `ascii` selects `Values:` instead of `Binary:`.
pub fn to_bytes(plots: &[RawPlot], ascii: bool) -> Vec<u8> {
    let mut b = Vec::new();
    for p in plots {
        let n = p.names.len();
        let complex = p.flags == "complex";
        // writing to a Vec cannot fail
        let _ = write!(
            b,
            "Title: {}\nDate: {}\nPlotname: {}\nFlags: {}\nNo. Variables: {}\nNo. Points: {}\nVariables:\n",
            p.title,
            p.date,
            p.plotname,
            p.flags,
            n,
            p.rows.len()
        );
        for (k, (name, ty)) in p.names.iter().zip(&p.types).enumerate() {
            let _ = writeln!(b, "\t{k}\t{name}\t{ty}");
        }
        if ascii {
            b.extend_from_slice(b"Values:\n");
            for (i, r) in p.rows.iter().enumerate() {
                if complex {
                    // a complex plot's rows hold (real, imaginary) pairs
                    for (k, v) in r.chunks(2).take(n).enumerate() {
                        let (re, im) = (v[0], v.get(1).copied().unwrap_or(0.0));
                        let _ = if k == 0 {
                            writeln!(b, " {i}\t{re:e},{im:e}")
                        } else {
                            writeln!(b, "\t{re:e},{im:e}")
                        };
                    }
                    b.push(b'\n');
                    continue;
                }
                for (k, v) in r.iter().take(n).enumerate() {
                    let _ = if k == 0 {
                        writeln!(b, " {i}\t{v:e}")
                    } else {
                        writeln!(b, "\t{v:e}")
                    };
                }
                b.push(b'\n');
            }
        } else {
            b.extend_from_slice(b"Binary:\n");
            let width = if complex { 2 * n } else { n };
            b.reserve(p.rows.len() * width * 8);
            for r in &p.rows {
                for v in r.iter().take(width) {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    b
}

/// Writes a run's `.dc` and `.tran` tables as one raw file, completely or not at all.
pub fn write_run(path: &Path, c: &Circuit, res: &RunResult, ascii: bool) -> Result<()> {
    let ps = plots(c, res);
    if ps.is_empty() {
        return Err(Error::usage(
            "-o: the netlist has no .tran or .dc analysis to write",
        ));
    }
    write_raw(path, &ps, ascii)
}

/// Writes plots to `path` atomically.
pub fn write_raw(path: &Path, plots: &[RawPlot], ascii: bool) -> Result<()> {
    let bytes = to_bytes(plots, ascii);
    crate::io::atomic::write_atomic(path, |w| w.write_all(&bytes))
}

/// Reads every plot of a raw file.
pub fn read_raw(path: &Path) -> Result<Vec<RawPlot>> {
    let bytes = crate::io::input::read_limited(path, crate::io::input::MAX_DATA_BYTES)?;
    parse_raw(&path.display().to_string(), &bytes)
}

/// The next text line starting at `pos` (without its newline) and where the one after starts.
fn next_line(bytes: &[u8], pos: usize) -> Option<(&str, usize)> {
    if pos >= bytes.len() {
        return None;
    }
    let end = bytes[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| pos + i);
    let line = std::str::from_utf8(&bytes[pos..end]).unwrap_or("");
    Some((line.trim_end_matches('\r'), (end + 1).min(bytes.len())))
}

fn count(v: &str) -> Option<usize> {
    v.split_whitespace().next()?.parse().ok()
}

/// Parses the plots of a raw file (binary or ASCII, several plots allowed; complex data is
/// refused); errors read `source:line: what was expected`.
pub fn parse_raw(source: &str, bytes: &[u8]) -> Result<Vec<RawPlot>> {
    parse_plots(bytes).map_err(|e| Error::at_line(source, e.line, e.msg))
}

fn parse_plots(bytes: &[u8]) -> std::result::Result<Vec<RawPlot>, BadLine> {
    let mut plots = Vec::new();
    let mut pos = 0usize;
    let mut line_no = 0usize;
    loop {
        // skip blank lines between plots
        while let Some((l, next)) = next_line(bytes, pos) {
            if !l.trim().is_empty() {
                break;
            }
            pos = next;
            line_no += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let (p, next, lines) = parse_plot(bytes, pos, line_no)?;
        plots.push(p);
        pos = next;
        line_no = lines;
    }
    if plots.is_empty() {
        return Err(BadLine {
            line: 0,
            msg: "end of file before `Values:` or `Binary:`".into(),
        });
    }
    Ok(plots)
}

/// One plot from `pos`; returns it, where the next starts, and the line count so far.
fn parse_plot(
    bytes: &[u8],
    mut pos: usize,
    mut line_no: usize,
) -> std::result::Result<(RawPlot, usize, usize), BadLine> {
    let err = |line: usize, msg: String| BadLine { line, msg };
    let mut p = RawPlot {
        title: String::new(),
        date: String::new(),
        plotname: String::new(),
        flags: String::new(),
        names: vec![],
        types: vec![],
        rows: vec![],
    };
    let mut nvars: Option<usize> = None;
    let mut npoints: Option<usize> = None;
    loop {
        let Some((line, next)) = next_line(bytes, pos) else {
            return Err(err(
                line_no,
                "end of file before `Values:` or `Binary:`".into(),
            ));
        };
        pos = next;
        line_no += 1;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "title" => p.title = value.into(),
            "date" => p.date = value.into(),
            "plotname" => p.plotname = value.into(),
            "flags" => {
                if value.to_ascii_lowercase().contains("complex") {
                    return Err(err(
                        line_no,
                        "complex data (AC analysis) is not supported".into(),
                    ));
                }
                p.flags = value.into();
            }
            "no. variables" => {
                nvars = Some(count(value).ok_or_else(|| {
                    err(
                        line_no,
                        format!("expected a variable count, found `{value}`"),
                    )
                })?)
            }
            "no. points" => {
                npoints = Some(count(value).ok_or_else(|| {
                    err(line_no, format!("expected a point count, found `{value}`"))
                })?)
            }
            "variables" => {
                let n = nvars
                    .ok_or_else(|| err(line_no, "`Variables:` before `No. Variables:`".into()))?;
                // some writers put the first variable on the `Variables:` line itself
                let mut pending = (!value.is_empty()).then(|| value.to_string());
                while p.names.len() < n {
                    let text = match pending.take() {
                        Some(t) => t,
                        None => {
                            let (l, next) = next_line(bytes, pos)
                                .ok_or_else(|| err(line_no, format!("expected {n} variables")))?;
                            pos = next;
                            line_no += 1;
                            l.to_string()
                        }
                    };
                    let f: Vec<&str> = text.split_whitespace().collect();
                    let (Some(name), Some(ty)) = (f.get(1), f.get(2)) else {
                        return Err(err(
                            line_no,
                            format!("expected `index name type`, found `{}`", text.trim()),
                        ));
                    };
                    p.names.push(name.to_string());
                    p.types.push(ty.to_string());
                }
            }
            k @ ("values" | "binary") => {
                let n = nvars.ok_or_else(|| err(line_no, "no `No. Variables:`".into()))?;
                let m = npoints.ok_or_else(|| err(line_no, "no `No. Points:`".into()))?;
                if p.names.len() != n {
                    return Err(err(line_no, format!("expected {n} variables before data")));
                }
                let end = if k == "binary" {
                    read_binary(&bytes[pos..], n, m, &mut p.rows)
                        .map_err(|e| err(line_no, e.msg))?
                } else {
                    read_ascii(&bytes[pos..], n, m, &mut p.rows, &mut line_no)
                        .map_err(|e| err(line_no, e.msg))?
                };
                return Ok((p, pos + end, line_no));
            }
            _ => {}
        }
    }
}

/// Reads `m` points of `n` values; returns the bytes used.
fn read_binary(data: &[u8], n: usize, m: usize, rows: &mut Vec<Vec<f64>>) -> Result<usize> {
    let need = n
        .checked_mul(m)
        .and_then(|k| k.checked_mul(8))
        .ok_or_else(|| Error::data("variable and point counts too large"))?;
    if data.len() < need {
        return Err(Error::data(format!(
            "binary data holds {} bytes, {m} points of {n} variables need {need}",
            data.len()
        )));
    }
    // points of no variables take no bytes: their count cannot be checked against the file
    if n == 0 && m > 0 {
        return Err(Error::data(format!(
            "{m} points announced for a plot without variables"
        )));
    }
    rows.reserve(m);
    for point in data[..need].chunks_exact(8 * n.max(1)).take(m) {
        rows.push(
            point
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    f64::from_le_bytes(b)
                })
                .collect(),
        );
    }
    if let Some((point, var)) = first_non_finite(rows) {
        return Err(Error::data(format!(
            "binary values: point {point}, variable {var} is not a finite number"
        )));
    }
    // a plot without variables has no data
    if n == 0 {
        rows.resize(m, vec![]);
    }
    Ok(need)
}

/// The first (point, variable) whose value is NaN or infinite: a simulator writes none, so
/// one in a file is corruption (a flipped bit in binary data), not a value to plot.
fn first_non_finite(rows: &[Vec<f64>]) -> Option<(usize, usize)> {
    rows.iter()
        .enumerate()
        .find_map(|(i, r)| r.iter().position(|v| !v.is_finite()).map(|j| (i, j)))
}

/// Reads `m` points of ASCII values; returns the bytes used and advances `line_no`.
fn read_ascii(
    data: &[u8],
    n: usize,
    m: usize,
    rows: &mut Vec<Vec<f64>>,
    line_no: &mut usize,
) -> Result<usize> {
    let mut pos = 0usize;
    // whitespace-separated words, remembering where each ends so the next plot can follow
    let mut word = |pos: &mut usize| -> Option<&str> {
        while *pos < data.len() && data[*pos].is_ascii_whitespace() {
            if data[*pos] == b'\n' {
                *line_no += 1;
            }
            *pos += 1;
        }
        let start = *pos;
        while *pos < data.len() && !data[*pos].is_ascii_whitespace() {
            *pos += 1;
        }
        (start < *pos).then(|| std::str::from_utf8(&data[start..*pos]).unwrap_or(""))
    };
    // every point takes at least two bytes (its index and a separator): a point count the
    // file cannot hold is found at its end, without reserving room for it first
    rows.reserve(m.min(data.len() / 2));
    for point in 0..m {
        let index = word(&mut pos);
        if index.and_then(|t| t.parse::<usize>().ok()) != Some(point) {
            return Err(Error::data(format!(
                "ASCII values: expected point index {point}, found `{}`",
                index.unwrap_or("end of file")
            )));
        }
        let mut r = Vec::with_capacity(n);
        for var in 0..n {
            let tok = word(&mut pos).unwrap_or("");
            // complex values would be `re,im`
            let v = tok.split(',').next().unwrap_or("").parse::<f64>();
            match v {
                Ok(v) if v.is_finite() => r.push(v),
                _ => {
                    return Err(Error::data(format!(
                        "ASCII values: point {point}, variable {var}: expected a finite \
                         number, found `{tok}`"
                    )));
                }
            }
        }
        rows.push(r);
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot() -> RawPlot {
        RawPlot {
            title: "rc".into(),
            date: date_now(),
            plotname: "Transient Analysis".into(),
            flags: "real".into(),
            names: vec!["time".into(), "v(out)".into(), "i(v1)".into()],
            types: vec!["time".into(), "voltage".into(), "current".into()],
            rows: vec![
                vec![0.0, 1.0 / 3.0, -1e-300],
                vec![1e-9, f64::MIN_POSITIVE / 2.0, -0.1],
                vec![2e-9, -0.0, 123456789.12345679],
            ],
        }
    }

    #[test]
    fn both_formats_round_trip_bit_exactly() {
        for ascii in [false, true] {
            let mut dc = plot();
            dc.plotname = "DC transfer characteristic".into();
            dc.rows.truncate(1);
            let ps = vec![plot(), dc];
            let back = parse_raw("x.raw", &to_bytes(&ps, ascii)).unwrap();
            assert_eq!(back.len(), 2);
            for (a, b) in ps.iter().zip(&back) {
                assert_eq!(a.names, b.names);
                assert_eq!(a.types, b.types);
                for (ra, rb) in a.rows.iter().zip(&b.rows) {
                    let bits = |r: &Vec<f64>| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(ra), bits(rb), "ascii={ascii}");
                }
            }
        }
    }

    #[test]
    fn truncated_and_complex_files_are_errors() {
        let b = to_bytes(&[plot()], false);
        let e = parse_plots(&b[..b.len() - 3]).unwrap_err();
        assert_eq!(e.line, 11);
        assert!(e.msg.contains("binary data holds 69 bytes"), "{e:?}");
        let text = String::from_utf8_lossy(&to_bytes(&[plot()], true)).replace("real", "complex");
        assert!(
            parse_plots(text.as_bytes())
                .unwrap_err()
                .msg
                .contains("complex")
        );
        assert!(parse_raw("x.raw", b"Title: x\nNo. Variables: 2\n").is_err());
    }

    #[test]
    fn date_is_ngspice_shaped() {
        let d = date_now();
        let f: Vec<&str> = d.split_whitespace().collect();
        assert_eq!(f.len(), 5, "{d}");
        assert_eq!(f[3].len(), 8);
    }
}
