//! MAC-level counts per layer, the table `capmin hist` writes and `plot capmin-hist` reads:
//! CSV `layer,level,count` (whole numbers; layer `all` = every layer accumulated). One type
//! holds the format for both sides.

use super::csv::CsvTable;
use crate::error::{Error, Result};
use std::path::Path;

/// How often each MAC level occurs, per layer (`all` = every layer accumulated).
#[derive(Debug, Clone, PartialEq)]
pub struct LevelCounts {
    /// Where the data came from.
    pub source: String,
    /// (layer, [(level, count)]) in file order.
    pub layers: Vec<(String, Vec<(i64, u64)>)>,
}

impl LevelCounts {
    /// The table as CSV `layer,level,count`, layers in order.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("layer,level,count\n");
        for (layer, counts) in &self.layers {
            for (level, count) in counts {
                csv.push_str(&format!("{layer},{level},{count}\n"));
            }
        }
        csv
    }

    /// Read a CSV with columns `layer,level,count`.
    pub fn read(path: &Path) -> Result<LevelCounts> {
        let t = CsvTable::read(path)?;
        let (cl, cv, cc) = (
            t.column_index("layer")?,
            t.column_index("level")?,
            t.column_index("count")?,
        );
        let mut layers: Vec<(String, Vec<(i64, u64)>)> = Vec::new();
        for (line, f) in &t.rows {
            let whole = |c: usize, what: &str| {
                CsvTable::text_at(f, c).parse::<i64>().map_err(|_| {
                    Error::at_line(
                        &t.source,
                        *line,
                        format!("column `{what}`: expected a whole number"),
                    )
                })
            };
            let level = whole(cv, "level")?;
            let count = u64::try_from(whole(cc, "count")?).map_err(|_| {
                Error::at_line(&t.source, *line, "column `count`: must not be negative")
            })?;
            let layer = CsvTable::text_at(f, cl);
            match layers.iter_mut().find(|l| l.0 == layer) {
                Some(l) => l.1.push((level, count)),
                None => layers.push((layer.to_string(), vec![(level, count)])),
            }
        }
        if layers.is_empty() {
            return Err(Error::data_in(&t.source, "no data rows"));
        }
        Ok(LevelCounts {
            source: t.source,
            layers,
        })
    }

    /// Keep the layers named (all given must exist); with none named, keep `all` if present,
    /// else every layer.
    pub fn select(mut self, names: &[String]) -> Result<LevelCounts> {
        let have: Vec<String> = self.layers.iter().map(|l| l.0.clone()).collect();
        let want: Vec<String> = if !names.is_empty() {
            names.to_vec()
        } else if have.iter().any(|h| h == "all") {
            vec!["all".to_string()]
        } else {
            have.clone()
        };
        let mut kept = Vec::new();
        for w in &want {
            let l = self.layers.iter().find(|l| &l.0 == w).ok_or_else(|| {
                Error::missing_column(self.source.clone(), format!("layer = {w}"), have.join(", "))
            })?;
            kept.push(l.clone());
        }
        self.layers = kept;
        Ok(self)
    }
}
