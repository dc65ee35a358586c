//! A self-contained reader for ngspice raw files (ASCII `Values:` and binary `Binary:`),
//! enough to plot them. It stands alone so it can be swapped for the crate's own raw module.
//!
//! Only real data is read; complex plots (AC analysis) are refused. When a file holds
//! several plots, the first one is returned.
//!
//! ngspice names node voltages `v(node)` (or the bare node name, as older versions and
//! other tools do) and branch currents `v1#branch`; names are normalised to the CSV
//! convention: `v(node)` for voltages and `i(v1)` for branch currents.

use super::error::PlotError;

/// One plot of a raw file: the first variable is the sweep (time, or a DC source).
#[derive(Debug, Clone, PartialEq)]
pub struct RawPlot {
    /// `Plotname:` line, e.g. `Transient Analysis`.
    pub plotname: String,
    /// Variable names, normalised (`time`, `v(out)`, `i(v1)`).
    pub names: Vec<String>,
    /// One vector per variable, SI units.
    pub columns: Vec<Vec<f64>>,
}

/// Parse the bytes of a raw file; `source` names it in errors.
pub fn parse(source: &str, bytes: &[u8]) -> Result<RawPlot, PlotError> {
    let mut pos = 0usize;
    let mut line_no = 0usize;
    let mut plotname = String::new();
    let mut complex = false;
    let mut nvars: Option<usize> = None;
    let mut npoints: Option<usize> = None;
    let mut names: Vec<String> = Vec::new();
    let err = |line: usize, m: String| PlotError::parse(source, line, m);

    loop {
        let Some((line, next)) = next_line(bytes, pos) else {
            return Err(err(
                line_no,
                "end of file before `Values:` or `Binary:`".to_string(),
            ));
        };
        pos = next;
        line_no += 1;
        let line = line.trim_end();
        let (key, value) = match line.split_once(':') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim()),
            None => continue,
        };
        match key.as_str() {
            "plotname" => plotname = value.to_string(),
            "flags" => complex = value.to_ascii_lowercase().contains("complex"),
            "no. variables" => {
                nvars = Some(parse_count(value).ok_or_else(|| {
                    err(
                        line_no,
                        format!("expected a variable count, found `{value}`"),
                    )
                })?)
            }
            "no. points" => {
                npoints = Some(parse_count(value).ok_or_else(|| {
                    err(line_no, format!("expected a point count, found `{value}`"))
                })?)
            }
            "variables" => {
                let n = nvars.ok_or_else(|| {
                    err(line_no, "`Variables:` before `No. Variables:`".to_string())
                })?;
                // Some writers put the first variable on the `Variables:` line itself.
                let mut pending = (!value.is_empty()).then(|| value.to_string());
                while names.len() < n {
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
                    let fields: Vec<&str> = text.split_whitespace().collect();
                    let (Some(name), Some(kind)) = (fields.get(1), fields.get(2)) else {
                        return Err(err(
                            line_no,
                            format!("expected `index name type`, found `{}`", text.trim()),
                        ));
                    };
                    names.push(normalise(name, kind));
                }
            }
            "values" | "binary" => {
                if complex {
                    return Err(err(
                        line_no,
                        "complex data (AC analysis) cannot be plotted as waveforms".to_string(),
                    ));
                }
                let n = nvars.ok_or_else(|| err(line_no, "no `No. Variables:`".to_string()))?;
                let m = npoints.ok_or_else(|| err(line_no, "no `No. Points:`".to_string()))?;
                if names.len() != n {
                    return Err(err(line_no, format!("expected {n} variables before data")));
                }
                let columns = if key == "binary" {
                    read_binary(source, line_no, &bytes[pos..], n, m)?
                } else {
                    read_ascii(source, line_no, &bytes[pos..], n, m)?
                };
                return Ok(RawPlot {
                    plotname,
                    names,
                    columns,
                });
            }
            _ => {}
        }
    }
}

fn parse_count(v: &str) -> Option<usize> {
    v.split_whitespace().next()?.parse().ok()
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

fn read_binary(
    source: &str,
    line: usize,
    data: &[u8],
    n: usize,
    m: usize,
) -> Result<Vec<Vec<f64>>, PlotError> {
    let need = n
        .checked_mul(m)
        .and_then(|k| k.checked_mul(8))
        .ok_or_else(|| PlotError::parse(source, line, "variable and point counts too large"))?;
    if data.len() < need {
        return Err(PlotError::parse(
            source,
            line,
            format!(
                "binary data holds {} bytes, {m} points of {n} variables need {need}",
                data.len()
            ),
        ));
    }
    let mut columns = vec![Vec::with_capacity(m); n];
    for (k, chunk) in data[..need].chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        columns[k % n].push(f64::from_le_bytes(b));
    }
    Ok(columns)
}

fn read_ascii(
    source: &str,
    line: usize,
    data: &[u8],
    n: usize,
    m: usize,
) -> Result<Vec<Vec<f64>>, PlotError> {
    let text = String::from_utf8_lossy(data);
    let mut columns = vec![Vec::with_capacity(m); n];
    let mut tokens = text.split_whitespace();
    for point in 0..m {
        // Each point starts with its index, then n values (the first on the index's line).
        let index = tokens.next();
        if index.and_then(|t| t.parse::<usize>().ok()) != Some(point) {
            return Err(PlotError::parse(
                source,
                line,
                format!(
                    "ASCII values: expected point index {point}, found `{}`",
                    index.unwrap_or("end of file")
                ),
            ));
        }
        for (var, col) in columns.iter_mut().enumerate() {
            let tok = tokens.next().unwrap_or("");
            // Complex values would be `re,im`; only the real part is meaningful here.
            let v = tok.split(',').next().unwrap_or("").parse::<f64>().map_err(|_| {
                PlotError::parse(
                    source,
                    line,
                    format!("ASCII values: point {point}, variable {var}: expected a number, found `{tok}`"),
                )
            })?;
            col.push(v);
        }
    }
    Ok(columns)
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
        let e = parse("b.raw", &bytes[..bytes.len() - 3])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.raw:11: binary data holds 45 bytes"), "{e}");
    }

    #[test]
    fn truncated_header_is_an_error() {
        let e = parse("c.raw", b"Title: x\nNo. Variables: 2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("end of file before"), "{e}");
    }
}
