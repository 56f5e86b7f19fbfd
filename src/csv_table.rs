//! A CSV file with a header row, read whole: RFC 4180 quoting, a UTF-8 byte-order mark skipped, every row as long
//! as the header; each row keeps its line number, and every error names the file and the line.

use std::path::Path;

use crate::data_error::DataError;

/// The header and the rows of a CSV file.
#[derive(Debug, Clone)]
pub struct CsvTable {
    /// Column names, in file order.
    pub header: Vec<String>,
    /// (line number, fields) of each row after the header.
    pub rows: Vec<(usize, csv::StringRecord)>,
}

impl CsvTable {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes);
        let csv_err = |e: csv::Error| {
            let line = e.position().map_or(1, |p| p.line() as usize);
            DataError::malformed(path, line, None, format!("invalid CSV: {e}"))
        };
        let header = reader.headers().map_err(csv_err)?.iter().map(str::to_owned).collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            rows.push((record.position().map_or(0, |p| p.line() as usize), record));
        }
        Ok(Self { header, rows })
    }

    /// The index of the first column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}
