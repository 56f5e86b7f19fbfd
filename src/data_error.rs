//! The one error type of the data loaders ([`crate::glue`], [`crate::lra`], [`crate::listops`],
//! [`crate::bucket`]) and the line reader they all report positions against.
//!
//! Every error that comes from a file names the file; every error that comes from a row names the 1-based
//! physical line (the header, where there is one, is line 1) and, where one is at fault, the column.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong while reading or generating a data set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read (missing, unreadable, a directory, ...).
    #[error("{}: cannot read or write this file", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// None of the files that could hold a split exists.
    #[error("no data file for {what} in {}: looked for {}", .dir.display(), show_paths(.candidates))]
    NotFound {
        /// The folder that was searched.
        dir: PathBuf,
        /// What was looked for (e.g. `"CoLA train"`).
        what: String,
        /// Every path that was tried.
        candidates: Vec<PathBuf>,
    },
    /// A header lacks a column the task needs (columns are selected by header name).
    #[error("{}:1: header has no column {column:?} (expected columns {expected:?}, found {found:?})", .path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column that is missing.
        column: String,
        /// Every column the loader selects from this file.
        expected: Vec<String>,
        /// The header as read.
        found: Vec<String>,
    },
    /// A row has the wrong number of fields.
    #[error("{}:{line}: expected {expected} tab-separated fields, found {found}{}", .path.display(), show_header(.header))]
    FieldCount {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Number of fields required.
        expected: usize,
        /// Number of fields on the line.
        found: usize,
        /// The header (or the documented fixed layout) the row must match.
        header: Vec<String>,
    },
    /// A label is not one of the task's labels (or not a number in range, for scores).
    #[error("{}:{line}: column {column:?}: label {value:?} is not one of {expected}", .path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The column holding the label.
        column: String,
        /// The label as read.
        value: String,
        /// The accepted label set, in words.
        expected: String,
    },
    /// Any other malformed row or record (bad JSON, a wrong type, a truncated binary record, ...).
    #[error("{}:{line}{}: {message}", .path.display(), show_column(.column))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number (for binary files: 1-based record number).
        line: usize,
        /// The column or field at fault, if one is.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A line is not valid UTF-8.
    #[error("{}:{line}: not valid UTF-8", .path.display())]
    Utf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// An image could not be decoded.
    #[error("{}: cannot decode image: {message}", .path.display())]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoder's complaint.
        message: String,
    },
    /// A caller-supplied setting is out of range (no file involved).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

fn show_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

fn show_header(header: &[String]) -> String {
    if header.is_empty() {
        String::new()
    } else {
        format!(" (columns {header:?})")
    }
}

fn show_column(column: &Option<String>) -> String {
    match column {
        Some(c) => format!(": column {c:?}"),
        None => String::new(),
    }
}

impl DataError {
    /// An [`DataError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A [`DataError::Malformed`] at `path:line`, optionally naming a column.
    pub fn malformed(path: &Path, line: usize, column: Option<&str>, message: impl fmt::Display) -> Self {
        DataError::Malformed {
            path: path.to_path_buf(),
            line,
            column: column.map(str::to_owned),
            message: message.to_string(),
        }
    }
}

/// The lines of a text file, read one at a time, with 1-based line numbers for error messages.
///
/// Reading rules (shared by every tab-separated / line-based loader in this crate): a leading UTF-8 byte-order
/// mark is dropped (MRPC's sources carry one); lines end at `\n` and a trailing `\r` is removed (so `\r\n` files
/// read the same as `\n` files); the empty piece after a final newline is not a line; every line must be UTF-8.
/// No quoting of any kind is interpreted: a field is the raw text between tabs (Python's `csv.QUOTE_NONE`, as the
/// HF GLUE script reads GLUE). Items are `(line number, text)`, empty lines included.
#[derive(Debug)]
pub struct Lines<R> {
    path: PathBuf,
    reader: R,
    line: usize,
    buf: Vec<u8>,
    failed: bool,
}

impl Lines<std::io::BufReader<std::fs::File>> {
    /// Opens `path` for line-by-line reading.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        Ok(Self::new(path, std::io::BufReader::new(file)))
    }
}

impl<R: std::io::BufRead> Lines<R> {
    /// Reads lines from `reader`; `path` names the source in errors.
    pub fn new(path: &Path, reader: R) -> Self {
        Lines {
            path: path.to_path_buf(),
            reader,
            line: 0,
            buf: Vec::new(),
            failed: false,
        }
    }

    /// The file the lines come from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl<R: std::io::BufRead> Iterator for Lines<R> {
    type Item = Result<(usize, String), DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.buf.clear();
        match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                self.failed = true;
                return Some(Err(DataError::io(&self.path, e)));
            }
        }
        self.line += 1;
        let mut raw = self.buf.as_slice();
        if self.line == 1 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        match std::str::from_utf8(raw) {
            Ok(text) => Some(Ok((self.line, text.to_owned()))),
            Err(_) => {
                self.failed = true;
                Some(Err(DataError::Utf8 {
                    path: self.path.clone(),
                    line: self.line,
                }))
            }
        }
    }
}

/// Splits a raw line on tabs (no quoting).
pub(crate) fn tab_fields(line: &str) -> Vec<&str> {
    line.split('\t').collect()
}

/// Splits line `line` of `path` on tabs and requires exactly one field per `header` column.
pub(crate) fn tab_fields_exact<'a>(
    path: &Path,
    line: usize,
    row: &'a str,
    header: &[String],
) -> Result<Vec<&'a str>, DataError> {
    let fields = tab_fields(row);
    if fields.len() != header.len() {
        return Err(DataError::FieldCount {
            path: path.to_path_buf(),
            line,
            expected: header.len(),
            found: fields.len(),
            header: header.to_vec(),
        });
    }
    Ok(fields)
}
