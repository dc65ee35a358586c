//! CSV, the one format of every table the crate writes and reads: writing a result table
//! ([`write_csv`]), splitting a line ([`split_fields`], RFC 4180 quotes) and quoting a field
//! ([`quote`]), and reading a file as text with line numbers ([`CsvTable`]).
//!
//! When reading, lines that are empty or start with `#` are skipped, so producers may put a
//! comment block (seed, netlist, version) at the top of their files.

use super::atomic::write_atomic;
use crate::analysis::{self, SpikeTrain};
use crate::error::{Error, Result};
use std::path::Path;

/// CSV with a header line; numbers in shortest round-trip form.
pub fn write_csv(path: &Path, t: &analysis::Table) -> Result<()> {
    write_atomic(path, |w| write_table(w, t))
}

/// The CSV text of [`write_csv`] into any writer (a study's store writes waves through it).
pub fn write_table(w: &mut dyn std::io::Write, t: &analysis::Table) -> std::io::Result<()> {
    writeln!(w, "{}", t.names.join(","))?;
    let mut line = String::new();
    for r in &t.rows {
        line.clear();
        for (i, v) in r.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&format!("{v:e}"));
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

/// The spike list of `run --spikes-out`: `node,index,time`, one row per spike in the order of
/// the trains; with a swept `.param` named `sweep`, every row starts with the point's value
/// (`NAME,node,index,time`).
pub fn write_spikes(
    path: &Path,
    sweep: Option<&str>,
    points: &[(f64, &[SpikeTrain])],
) -> Result<()> {
    write_atomic(path, |w| {
        match sweep {
            Some(name) => writeln!(w, "{name},node,index,time")?,
            None => writeln!(w, "node,index,time")?,
        }
        for (v, trains) in points {
            for sp in trains.iter() {
                for (k, t) in sp.times.iter().enumerate() {
                    match sweep {
                        Some(_) => writeln!(w, "{v:e},{},{k},{t:e}", sp.node)?,
                        None => writeln!(w, "{},{k},{t:e}", sp.node)?,
                    }
                }
            }
        }
        Ok(())
    })
}

/// A CSV file held as text: fields are parsed into numbers only when a column is asked for,
/// so that errors can name the line and column.
#[derive(Debug, Clone)]
pub struct CsvTable {
    /// Where the table came from, for error messages.
    pub source: String,
    /// Column names, trimmed.
    pub headers: Vec<String>,
    /// Rows, each as (1-based line number, fields).
    pub rows: Vec<(usize, Vec<String>)>,
}

impl CsvTable {
    /// Read a CSV file.
    pub fn read(path: &Path) -> Result<CsvTable> {
        let text = crate::io::input::read_text(path)?;
        CsvTable::parse(&path.display().to_string(), &text)
    }

    /// Parse CSV text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<CsvTable> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let Some((header_line, header)) = lines.next() else {
            return Err(Error::data_in(
                source,
                "empty file: expected a CSV header row",
            ));
        };
        let headers = split_fields(header)
            .map_err(|e| Error::at_line(source, header_line, e.msg))?
            .into_iter()
            .map(|h| h.trim().to_string())
            .collect::<Vec<_>>();
        let mut rows = Vec::new();
        for (line, l) in lines {
            let fields = split_fields(l).map_err(|e| Error::at_line(source, line, e.msg))?;
            if fields.len() != headers.len() {
                return Err(Error::at_line(
                    source,
                    line,
                    format!(
                        "expected {} fields as in the header, found {}",
                        headers.len(),
                        fields.len()
                    ),
                ));
            }
            rows.push((line, fields));
        }
        Ok(CsvTable {
            source: source.to_string(),
            headers,
            rows,
        })
    }

    /// Index of a column, by the rules of [`find_name`].
    pub fn find(&self, name: &str) -> Option<usize> {
        find_name(&self.headers, name)
    }

    /// Index of a column, or an error that lists the columns there are.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| {
            Error::missing_column(
                self.source.clone(),
                name.to_string(),
                self.headers.join(", "),
            )
        })
    }

    /// A column as numbers; every field must parse (`nan` and empty fields become NaN: a
    /// missing value), and be finite (an `inf` or an overflowing `1e999` is refused).
    pub fn numbers(&self, col: usize) -> Result<Vec<f64>> {
        self.rows
            .iter()
            .map(|(line, fields)| self.number_at(*line, fields, col))
            .collect()
    }

    /// One field as a number, with an error naming the line and column.
    pub fn number_at(&self, line: usize, fields: &[String], col: usize) -> Result<f64> {
        let field = fields.get(col).map(|f| f.trim()).unwrap_or("");
        if field.is_empty() || field.eq_ignore_ascii_case("nan") {
            return Ok(f64::NAN);
        }
        let name = || self.headers.get(col).map(String::as_str).unwrap_or("?");
        match field.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(Error::at_line(
                &self.source,
                line,
                format!(
                    "column `{}`: expected a finite number, found `{field}`",
                    name()
                ),
            )),
            Err(_) => Err(Error::at_line(
                &self.source,
                line,
                format!("column `{}`: expected a number, found `{field}`", name()),
            )),
        }
    }

    /// One field as trimmed text.
    pub fn text_at(fields: &[String], col: usize) -> &str {
        fields.get(col).map(|f| f.trim()).unwrap_or("")
    }
}

/// `s` as one CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line end.
pub fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Index of `name` among `names`: exact match first, then ignoring case (SPICE names are
/// case-insensitive), then `name` taken as a node, i.e. `v(name)`.
pub fn find_name<S: AsRef<str>>(names: &[S], name: &str) -> Option<usize> {
    let name = name.trim();
    let as_node = format!("v({name})");
    names
        .iter()
        .position(|h| h.as_ref() == name)
        .or_else(|| {
            names
                .iter()
                .position(|h| h.as_ref().eq_ignore_ascii_case(name))
        })
        .or_else(|| {
            names
                .iter()
                .position(|h| h.as_ref().eq_ignore_ascii_case(&as_node))
        })
}

/// Splits one CSV line into fields (RFC 4180: a field may be quoted, a doubled quote inside
/// stands for one quote; our files never break a field over lines); an unterminated quote is
/// an error (a data error without a location: the caller knows the file and line).
pub fn split_fields(line: &str) -> Result<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return Err(Error::data("unterminated quoted field"));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_comments() {
        let t = CsvTable::parse(
            "x.csv",
            "# seed 1\nrun,status,reason,t\n1,ok,,1e-9\n2,failed,\"no conv, at 3 ns\",\n",
        )
        .unwrap();
        assert_eq!(t.headers, ["run", "status", "reason", "t"]);
        assert_eq!(t.rows[1].1[2], "no conv, at 3 ns");
        assert_eq!(t.rows[0].0, 3);
        let col = t.numbers(3).unwrap();
        assert_eq!(col[0], 1e-9);
        assert!(col[1].is_nan());
    }

    #[test]
    fn errors_name_line_and_column() {
        let t = CsvTable::parse("w.csv", "time,v(a)\n0,1\n1,x\n").unwrap();
        let e = t.numbers(1).unwrap_err().msg;
        assert_eq!(e, "w.csv:3: column `v(a)`: expected a number, found `x`");
        let e = t.column_index("v(b)").unwrap_err().msg;
        assert_eq!(e, "w.csv: no column `v(b)` (it has: time, v(a))");
        assert_eq!(t.find("A"), Some(1));
        let e = CsvTable::parse("w.csv", "a,b\n1\n").unwrap_err().msg;
        assert_eq!(e, "w.csv:2: expected 2 fields as in the header, found 1");
    }
}
