//! Texts to predict, read from a file: JSONL (one object per line, `{"text": ..., "text_pair": ...}`,
//! `text_pair` optional) or CSV (a header naming `text` and, optionally, `text_pair`; other columns are
//! ignored), chosen by the extension (`.jsonl` / `.json`, `.csv`). Errors name the file, the line and what was
//! expected; an empty text is valid.

use std::path::Path;

use serde::Deserialize;

use crate::csv_table::CsvTable;
use crate::data_error::DataError;

/// One input: a text, or a pair of texts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextInput {
    /// The (first) text.
    pub text: String,
    /// The second text of a pair task.
    #[serde(default)]
    pub text_pair: Option<String>,
}

impl TextInput {
    /// A single text.
    pub fn single(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            text_pair: None,
        }
    }
}

/// Reads the inputs of `path` (JSONL or CSV, by extension), in file order.
pub fn read_inputs(path: &Path) -> Result<Vec<TextInput>, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "json" => read_jsonl(path),
        "csv" => read_csv(path),
        _ => Err(DataError::InvalidArgument(format!(
            "{}: expected a .jsonl file ({{\"text\": ..., \"text_pair\": ...}} per line) or a .csv file (columns \
             text[,text_pair])",
            path.display()
        ))),
    }
}

fn read_jsonl(path: &Path) -> Result<Vec<TextInput>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        DataError::Utf8 {
            path: path.to_path_buf(),
            line,
        }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            return Err(DataError::malformed(
                path,
                line_no,
                None,
                "empty line (expected a JSON object with \"text\")",
            ));
        }
        let input: TextInput = serde_json::from_str(line).map_err(|e| {
            DataError::malformed(
                path,
                line_no,
                None,
                format!("expected {{\"text\": string, \"text_pair\": string (optional)}}: {e}"),
            )
        })?;
        out.push(input);
    }
    Ok(out)
}

fn read_csv(path: &Path) -> Result<Vec<TextInput>, DataError> {
    let table = CsvTable::read(path)?;
    let Some(text_col) = table.column("text") else {
        return Err(DataError::MissingColumn {
            path: path.to_path_buf(),
            column: "text".into(),
            expected: vec!["text".into(), "text_pair".into()],
            found: table.header.clone(),
        });
    };
    let pair_col = table.column("text_pair");
    Ok(table
        .rows
        .iter()
        .map(|(_, record)| TextInput {
            text: record.get(text_col).unwrap_or("").to_owned(),
            text_pair: pair_col.map(|c| record.get(c).unwrap_or("").to_owned()),
        })
        .collect())
}
