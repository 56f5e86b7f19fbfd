//! GLUE task folders as distributed (`download_glue_data.py` layout), read as raw tab-separated text, plus a JSONL
//! form with the same fields.
//!
//! # Files and columns
//!
//! Every TSV is read without any quoting (Python's `csv.QUOTE_NONE`, exactly as the HF `datasets` GLUE script
//! reads them): a field is the raw text between two tabs, `"` is an ordinary character. `\r\n` line ends, a UTF-8
//! BOM and completely empty lines are tolerated (the `csv` module skips empty rows too). Where a file has a
//! header, columns are selected **by header name**, and every row must have exactly as many fields as the header.
//!
//! | task | folder | train / dev columns (header names) | test columns | labels (id order = HF `datasets`) |
//! |---|---|---|---|---|
//! | CoLA | `CoLA` | *no header*: `source, label, original label, sentence` (fields 2 and 4) | `index sentence` | `0` unacceptable, `1` acceptable |
//! | SST-2 | `SST-2` | `sentence label` | `index sentence` | `0` negative, `1` positive |
//! | MRPC | `MRPC` | `Quality #1 ID #2 ID #1 String #2 String` | `index #1 ID #2 ID #1 String #2 String` | `0` not_equivalent, `1` equivalent |
//! | STS-B | `STS-B` | `… sentence1 sentence2 score` | `… sentence1 sentence2` | float score in \[0, 5\] |
//! | QQP | `QQP` | `id qid1 qid2 question1 question2 is_duplicate` | `id question1 question2` | `0` not_duplicate, `1` duplicate |
//! | MNLI | `MNLI` | `… sentence1 sentence2 … gold_label` | `… sentence1 sentence2` | entailment, neutral, contradiction |
//! | QNLI | `QNLI` | `index question sentence label` | `index question sentence` | entailment, not_entailment |
//! | RTE | `RTE` | `index sentence1 sentence2 label` | `index sentence1 sentence2` | entailment, not_entailment |
//!
//! MNLI's splits are `train`, `dev_matched`, `dev_mismatched`, `test_matched`, `test_mismatched`; every other task
//! has `train`, `dev`, `test`. As in HF `datasets`, a class label may be written either as its name or as its
//! integer id. Label ids follow HF `datasets` (which AdaLoRA's `run_glue.py` uses), so MNLI is
//! entailment = 0, neutral = 1, contradiction = 2 (not the `transformers` processor order).
//!
//! Empty sentences are kept as empty strings. Test files carry no labels (`label: None`).
//!
//! # JSONL
//!
//! One JSON object per line with `sentence1` (string), `sentence2` (string; required for pair tasks, absent or
//! `null` for CoLA / SST-2) and `label` (absent, `null` or `-1` for "no label"; otherwise a class id, a class
//! name, or for STS-B a number in \[0, 5\]). Other keys (e.g. `idx`) are ignored. File names are the TSV stems with
//! `.jsonl` (`train.jsonl`, `dev_matched.jsonl`, ...). When both forms exist, the TSV is read.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::data_error::{tab_fields, tab_fields_exact, DataError, Lines};
use crate::metrics::MainMetric;

/// The eight GLUE tasks of the AdaLoRA / TABS experiments (WNLI and AX are not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GlueTask {
    /// Corpus of Linguistic Acceptability (single sentence, 2 classes).
    Cola,
    /// Stanford Sentiment Treebank, binary (single sentence, 2 classes).
    Sst2,
    /// Microsoft Research Paraphrase Corpus (pair, 2 classes).
    Mrpc,
    /// Semantic Textual Similarity Benchmark (pair, regression 0–5).
    Stsb,
    /// Quora Question Pairs (pair, 2 classes).
    Qqp,
    /// Multi-Genre NLI (pair, 3 classes; matched and mismatched dev / test).
    Mnli,
    /// Question NLI (pair, 2 classes).
    Qnli,
    /// Recognizing Textual Entailment (pair, 2 classes).
    Rte,
}

/// A split of a GLUE task. `DevMismatched` / `TestMismatched` exist only for MNLI, where `Dev` / `Test` are the
/// matched halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// `train`.
    Train,
    /// `dev` (`dev_matched` for MNLI).
    Dev,
    /// `dev_mismatched` (MNLI only).
    DevMismatched,
    /// `test` (`test_matched` for MNLI); unlabelled.
    Test,
    /// `test_mismatched` (MNLI only); unlabelled.
    TestMismatched,
}

impl Split {
    /// Whether the split's files carry labels.
    pub fn is_labelled(self) -> bool {
        matches!(self, Split::Train | Split::Dev | Split::DevMismatched)
    }
}

/// A gold label: a class id (`0..num_labels`) or an STS-B similarity score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Label {
    /// Class id, in the order of [`GlueTask::label_names`].
    Class(usize),
    /// STS-B score in \[0, 5\].
    Score(f32),
}

/// One GLUE example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// First (or only) sentence.
    pub text_a: String,
    /// Second sentence of a pair task.
    pub text_b: Option<String>,
    /// The gold label; `None` for test files.
    pub label: Option<Label>,
}

/// Error returned by [`GlueTask::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown GLUE task {0:?} (expected one of cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte)")]
pub struct UnknownTask(pub String);

impl GlueTask {
    /// All eight tasks, in declaration order.
    pub const ALL: [GlueTask; 8] = [
        GlueTask::Cola,
        GlueTask::Sst2,
        GlueTask::Mrpc,
        GlueTask::Stsb,
        GlueTask::Qqp,
        GlueTask::Mnli,
        GlueTask::Qnli,
        GlueTask::Rte,
    ];

    /// Lower-case short name (`"cola"`, `"sst2"`, ..., as HF `datasets` configs).
    pub fn name(self) -> &'static str {
        match self {
            GlueTask::Cola => "cola",
            GlueTask::Sst2 => "sst2",
            GlueTask::Mrpc => "mrpc",
            GlueTask::Stsb => "stsb",
            GlueTask::Qqp => "qqp",
            GlueTask::Mnli => "mnli",
            GlueTask::Qnli => "qnli",
            GlueTask::Rte => "rte",
        }
    }

    /// The task's folder name in `glue_data/` (`"CoLA"`, `"SST-2"`, `"STS-B"`, ...).
    pub fn dir_name(self) -> &'static str {
        match self {
            GlueTask::Cola => "CoLA",
            GlueTask::Sst2 => "SST-2",
            GlueTask::Mrpc => "MRPC",
            GlueTask::Stsb => "STS-B",
            GlueTask::Qqp => "QQP",
            GlueTask::Mnli => "MNLI",
            GlueTask::Qnli => "QNLI",
            GlueTask::Rte => "RTE",
        }
    }

    /// Number of model outputs: classes, or 1 for STS-B (regression).
    pub fn num_labels(self) -> usize {
        match self {
            GlueTask::Stsb => 1,
            GlueTask::Mnli => 3,
            _ => 2,
        }
    }

    /// Whether the task is a regression (STS-B).
    pub fn is_regression(self) -> bool {
        self == GlueTask::Stsb
    }

    /// Whether examples are sentence pairs.
    pub fn is_pair(self) -> bool {
        !matches!(self, GlueTask::Cola | GlueTask::Sst2)
    }

    /// Class names by id (HF `datasets` order); empty for STS-B.
    pub fn label_names(self) -> &'static [&'static str] {
        match self {
            GlueTask::Cola => &["unacceptable", "acceptable"],
            GlueTask::Sst2 => &["negative", "positive"],
            GlueTask::Mrpc => &["not_equivalent", "equivalent"],
            GlueTask::Stsb => &[],
            GlueTask::Qqp => &["not_duplicate", "duplicate"],
            GlueTask::Mnli => &["entailment", "neutral", "contradiction"],
            GlueTask::Qnli | GlueTask::Rte => &["entailment", "not_entailment"],
        }
    }

    /// The metric that enters `glue_avg` for this task (AdaLoRA, Table 1; see [`crate::metrics::glue_avg`]).
    pub fn main_metric(self) -> MainMetric {
        match self {
            GlueTask::Cola => MainMetric::Matthews,
            GlueTask::Stsb => MainMetric::PearsonSpearmanMean,
            GlueTask::Qqp => MainMetric::AccuracyF1Mean,
            GlueTask::Mnli => MainMetric::MatchedMismatchedAccuracyMean,
            GlueTask::Sst2 | GlueTask::Mrpc | GlueTask::Qnli | GlueTask::Rte => MainMetric::Accuracy,
        }
    }

    /// The splits the task has.
    pub fn splits(self) -> &'static [Split] {
        match self {
            GlueTask::Mnli => &[
                Split::Train,
                Split::Dev,
                Split::DevMismatched,
                Split::Test,
                Split::TestMismatched,
            ],
            _ => &[Split::Train, Split::Dev, Split::Test],
        }
    }

    /// The file stem of `split` (`"train"`, `"dev"`, `"dev_matched"`, ...), or `None` if the task lacks it.
    pub fn file_stem(self, split: Split) -> Option<&'static str> {
        match (self, split) {
            (_, Split::Train) => Some("train"),
            (GlueTask::Mnli, Split::Dev) => Some("dev_matched"),
            (GlueTask::Mnli, Split::DevMismatched) => Some("dev_mismatched"),
            (GlueTask::Mnli, Split::Test) => Some("test_matched"),
            (GlueTask::Mnli, Split::TestMismatched) => Some("test_mismatched"),
            (_, Split::Dev) => Some("dev"),
            (_, Split::Test) => Some("test"),
            (_, Split::DevMismatched | Split::TestMismatched) => None,
        }
    }

    /// Header names of `(text_a, text_b, label)` in the task's TSV files (CoLA train / dev have no header: see
    /// the module table).
    fn tsv_columns(self) -> (&'static str, Option<&'static str>, &'static str) {
        match self {
            GlueTask::Cola | GlueTask::Sst2 => ("sentence", None, "label"),
            GlueTask::Mrpc => ("#1 String", Some("#2 String"), "Quality"),
            GlueTask::Stsb => ("sentence1", Some("sentence2"), "score"),
            GlueTask::Qqp => ("question1", Some("question2"), "is_duplicate"),
            GlueTask::Mnli => ("sentence1", Some("sentence2"), "gold_label"),
            GlueTask::Qnli => ("question", Some("sentence"), "label"),
            GlueTask::Rte => ("sentence1", Some("sentence2"), "label"),
        }
    }

    fn expected_labels(self) -> String {
        if self.is_regression() {
            "a number in [0, 5]".to_owned()
        } else {
            let names = self.label_names();
            let ids: Vec<String> = (0..names.len()).map(|i| i.to_string()).collect();
            format!("{{{}}} or ids {{{}}}", names.join(", "), ids.join(", "))
        }
    }
}

impl fmt::Display for GlueTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GlueTask {
    type Err = UnknownTask;

    /// Case-insensitive; `-` and `_` are ignored (`"SST-2"`, `"sst_2"`, `"sst2"` all parse).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        GlueTask::ALL
            .into_iter()
            .find(|t| t.name() == key)
            .ok_or_else(|| UnknownTask(s.to_owned()))
    }
}

/// Loads one split of a task from `dir`, which is either the task folder (e.g. `glue_data/SST-2`) or the GLUE
/// root holding it (`glue_data`). Reads `<stem>.tsv` if present, else `<stem>.jsonl`.
pub fn load_split(task: GlueTask, dir: &Path, split: Split) -> Result<Vec<Example>, DataError> {
    let stem = task.file_stem(split).ok_or_else(|| {
        DataError::InvalidArgument(format!(
            "{} has no split {split:?} (it has {:?})",
            task.dir_name(),
            task.splits()
        ))
    })?;
    let nested = dir.join(task.dir_name());
    let folder = if nested.is_dir() { nested } else { dir.to_path_buf() };
    let tsv = folder.join(format!("{stem}.tsv"));
    let jsonl = folder.join(format!("{stem}.jsonl"));
    if tsv.is_file() {
        load_tsv(task, &tsv, split)
    } else if jsonl.is_file() {
        load_jsonl(task, &jsonl)
    } else {
        Err(DataError::NotFound {
            dir: folder,
            what: format!("{} {stem}", task.dir_name()),
            candidates: vec![tsv, jsonl],
        })
    }
}

/// Reads a GLUE TSV file of `task`; `split` says which layout it has (test files: no label column, CoLA
/// train / dev: no header).
pub fn load_tsv(task: GlueTask, path: &Path, split: Split) -> Result<Vec<Example>, DataError> {
    parse_tsv(task, Lines::open(path)?, split)
}

/// Parses the lines of a GLUE TSV file (see [`load_tsv`]); `lines` may read from any source.
pub fn parse_tsv<R: std::io::BufRead>(
    task: GlueTask,
    lines: Lines<R>,
    split: Split,
) -> Result<Vec<Example>, DataError> {
    let path = lines.path().to_path_buf();
    let path = path.as_path();
    let mut rows = lines.filter(|r| !matches!(r, Ok((_, l)) if l.is_empty()));
    let labelled = split.is_labelled();
    if task == GlueTask::Cola && labelled {
        // No header: source, label, original label ('*' or empty), sentence.
        let layout: Vec<String> = ["source", "label", "original label", "sentence"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        return rows
            .map(|row| {
                let (line, row) = row?;
                let line = &line;
                let fields = tab_fields_exact(path, *line, &row, &layout)?;
                let label = parse_label(task, fields[1], path, *line, "label")?;
                Ok(Example {
                    text_a: fields[3].to_owned(),
                    text_b: None,
                    label: Some(label),
                })
            })
            .collect();
    }

    let Some(first) = rows.next() else {
        return Err(DataError::malformed(
            path,
            1,
            None,
            "empty file: expected a header line",
        ));
    };
    let (_, header_line) = first?;
    let header: Vec<String> = tab_fields(&header_line).into_iter().map(str::to_owned).collect();
    let (a_name, b_name, label_name) = task.tsv_columns();
    let mut wanted: Vec<&str> = vec![a_name];
    wanted.extend(b_name);
    if labelled {
        wanted.push(label_name);
    }
    let find = |name: &str| -> Result<usize, DataError> {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| DataError::MissingColumn {
                path: path.to_path_buf(),
                column: name.to_owned(),
                expected: wanted.iter().map(|s| (*s).to_owned()).collect(),
                found: header.clone(),
            })
    };
    let a_col = find(a_name)?;
    let b_col = b_name.map(find).transpose()?;
    let label_col = if labelled { Some(find(label_name)?) } else { None };

    rows.map(|row| {
        let (line, row) = row?;
        let line = &line;
        let fields = tab_fields_exact(path, *line, &row, &header)?;
        let label = label_col
            .map(|c| parse_label(task, fields[c], path, *line, label_name))
            .transpose()?;
        Ok(Example {
            text_a: fields[a_col].to_owned(),
            text_b: b_col.map(|c| fields[c].to_owned()),
            label,
        })
    })
    .collect()
}

/// Parses a label written as a class name, a class id or (STS-B) a score.
pub fn parse_label(task: GlueTask, raw: &str, path: &Path, line: usize, column: &str) -> Result<Label, DataError> {
    let bad = || DataError::BadLabel {
        path: path.to_path_buf(),
        line,
        column: column.to_owned(),
        value: raw.to_owned(),
        expected: task.expected_labels(),
    };
    let value = raw.trim();
    if task.is_regression() {
        let score: f32 = value.parse().map_err(|_| bad())?;
        return if score.is_finite() && (0.0..=5.0).contains(&score) {
            Ok(Label::Score(score))
        } else {
            Err(bad())
        };
    }
    if let Some(id) = task.label_names().iter().position(|n| *n == value) {
        return Ok(Label::Class(id));
    }
    match value.parse::<usize>() {
        Ok(id) if id < task.num_labels() => Ok(Label::Class(id)),
        _ => Err(bad()),
    }
}

/// Reads a JSONL file of `task` (see the module documentation for the fields).
pub fn load_jsonl(task: GlueTask, path: &Path) -> Result<Vec<Example>, DataError> {
    parse_jsonl(task, Lines::open(path)?)
}

/// Parses the lines of a JSONL file (see [`load_jsonl`]). Blank lines are skipped.
pub fn parse_jsonl<R: std::io::BufRead>(task: GlueTask, lines: Lines<R>) -> Result<Vec<Example>, DataError> {
    let path = lines.path().to_path_buf();
    let path = path.as_path();
    let mut out = Vec::new();
    for row in lines {
        let (line, row) = row?;
        if row.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&row)
            .map_err(|e| DataError::malformed(path, line, None, format!("invalid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| DataError::malformed(path, line, None, "expected a JSON object"))?;
        let text_field = |name: &str| -> Result<Option<String>, DataError> {
            match obj.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(DataError::malformed(
                    path,
                    line,
                    Some(name),
                    format!("expected a string, found {other}"),
                )),
            }
        };
        let text_a = text_field("sentence1")?
            .ok_or_else(|| DataError::malformed(path, line, Some("sentence1"), "missing (a string is required)"))?;
        let text_b = text_field("sentence2")?;
        match (task.is_pair(), &text_b) {
            (true, None) => {
                return Err(DataError::malformed(
                    path,
                    line,
                    Some("sentence2"),
                    format!("missing ({task} is a pair task)"),
                ))
            }
            (false, Some(_)) => {
                return Err(DataError::malformed(
                    path,
                    line,
                    Some("sentence2"),
                    format!("present, but {task} is a single-sentence task"),
                ))
            }
            _ => {}
        }
        let label = match obj.get("label") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) if n.as_i64() == Some(-1) => None,
            Some(serde_json::Value::Number(n)) => {
                let raw = n.to_string();
                if !task.is_regression() && n.as_u64().is_none() {
                    return Err(DataError::BadLabel {
                        path: path.to_path_buf(),
                        line,
                        column: "label".to_owned(),
                        value: raw,
                        expected: task.expected_labels(),
                    });
                }
                Some(parse_label(task, &raw, path, line, "label")?)
            }
            Some(serde_json::Value::String(s)) => Some(parse_label(task, s, path, line, "label")?),
            Some(other) => {
                return Err(DataError::BadLabel {
                    path: path.to_path_buf(),
                    line,
                    column: "label".to_owned(),
                    value: other.to_string(),
                    expected: task.expected_labels(),
                })
            }
        };
        out.push(Example { text_a, text_b, label });
    }
    Ok(out)
}

/// The path of `split` of `task` under `dir` as [`load_split`] would choose it, if any file exists.
pub fn split_path(task: GlueTask, dir: &Path, split: Split) -> Option<PathBuf> {
    let stem = task.file_stem(split)?;
    let nested = dir.join(task.dir_name());
    let folder = if nested.is_dir() { nested } else { dir.to_path_buf() };
    ["tsv", "jsonl"]
        .iter()
        .map(|ext| folder.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}
