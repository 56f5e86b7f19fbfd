//! JSON inputs and outputs of a forward pass (the `deberta-forward` example).
//!
//! # Input
//!
//! A JSON object in one of two forms:
//!
//! * **ids**: `{"input_ids": [[...], ...], "attention_mask": [[...], ...], "token_type_ids": [[...], ...]}`, rows of
//!   equal length; `attention_mask` (0/1) defaults to all ones, `token_type_ids` to none (zeros in the model);
//! * **texts**: `{"texts": ["...", ...], "text_pairs": ["...", ...]}`, tokenised with a
//!   [`DebertaTokenizer`]; `text_pairs` is optional and, when given, has one second text per text.
//!
//! A `null` value counts as an absent key. Other keys are reported in [`ForwardRequest::ignored_keys`] and not
//! used, so a reference dump of HuggingFace outputs (ids next to logits) can be fed as it is. Every error names the
//! file and the key (`input_ids[1]`, `text_pairs`, …) at fault.
//!
//! # Output
//!
//! [`ForwardOutput`]: the ids and masks as fed, `logits` `[b][num_labels]` and `last_hidden_state` `[b][T][d]`
//! (every position, padding included). [`IdBatch`] itself serialises to the tokenised inputs. Files are written
//! atomically ([`write_json_atomic`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{ClassifierOutput, DebertaInput};
use crate::tokenize::{DebertaTokenizer, Padding, Tokenize, TokenizeError, Truncation};

/// Keys of the ids form.
pub const ID_KEYS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];
/// Keys of the texts form.
pub const TEXT_KEYS: [&str; 2] = ["texts", "text_pairs"];

/// What can go wrong reading a request, encoding it or writing an output.
#[derive(Debug, thiserror::Error)]
pub enum ForwardIoError {
    /// A file could not be read or written.
    #[error("{path}: cannot read or write this file")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not valid JSON.
    #[error("{path}: invalid JSON")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The request as a whole is malformed (not an object, neither or both forms).
    #[error("{path}: {reason}")]
    Request {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A value of the request is malformed.
    #[error("{path}: `{key}`: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The key, with indices (`input_ids[1][3]`).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The texts could not be tokenised.
    #[error("{path}: cannot tokenise `texts`")]
    Tokenize {
        /// The file the texts came from.
        path: PathBuf,
        /// The tokenizer's error.
        #[source]
        source: TokenizeError,
    },
    /// An [`IdBatch`] whose fields do not all have the shape `[b, T]` of `input_ids`.
    #[error("inconsistent id batch: {0}")]
    Batch(String),
    /// A model output could not be read back (unexpected shape or element type).
    #[error("cannot read the model output: {0}")]
    Output(String),
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, ForwardIoError>;

/// A batch of token ids, rectangular `[b, T]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdBatch {
    /// Token ids per row.
    pub input_ids: Vec<Vec<i64>>,
    /// Segment ids per row, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_ids: Option<Vec<Vec<i64>>>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<Vec<i64>>,
}

/// Texts (and optional second texts) to tokenise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextBatch {
    /// One text per row.
    pub texts: Vec<String>,
    /// One second text per row, if given.
    pub text_pairs: Option<Vec<String>>,
}

/// The two forms of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestForm {
    /// Token ids as they are fed to the model.
    Ids(IdBatch),
    /// Texts to tokenise first.
    Texts(TextBatch),
}

/// A parsed request file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRequest {
    /// The file it was read from (named in later errors).
    pub source: PathBuf,
    /// Its content.
    pub form: RequestForm,
    /// Keys present but not used (sorted).
    pub ignored_keys: Vec<String>,
}

/// Read and parse a request file (see the [module documentation](self)).
pub fn read_request(path: &Path) -> Result<ForwardRequest> {
    let text = std::fs::read_to_string(path).map_err(|source| ForwardIoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ForwardRequest::parse(&text, path)
}

impl ForwardRequest {
    /// Parse a request; `source` names the file in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Self> {
        let p = Parser { path: source };
        let value: Value = serde_json::from_str(text).map_err(|e| ForwardIoError::Json {
            path: source.to_path_buf(),
            source: e,
        })?;
        let Value::Object(map) = value else {
            return Err(p.request(format!(
                "expected a JSON object with `input_ids` or `texts`, found {}",
                describe(&value)
            )));
        };
        let get = |key: &str| map.get(key).filter(|v| !v.is_null());
        let present = |keys: &[&str]| -> Vec<String> {
            keys.iter()
                .filter(|k| get(k).is_some())
                .map(|k| format!("`{k}`"))
                .collect()
        };
        let form = match (get("input_ids"), get("texts")) {
            (Some(_), Some(_)) => {
                return Err(
                    p.request("holds both `input_ids` and `texts`; give token ids or texts, not both".to_string())
                )
            }
            (None, None) => {
                let stray = present(&["attention_mask", "token_type_ids", "text_pairs"]);
                let found = if stray.is_empty() {
                    let mut keys: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
                    keys.sort();
                    if keys.is_empty() {
                        "an empty object".to_string()
                    } else {
                        format!("keys {}", keys.join(", "))
                    }
                } else {
                    format!("only {}", stray.join(", "))
                };
                return Err(p.request(format!(
                    "expected `input_ids` (token ids) or `texts` (strings to tokenise), found {found}"
                )));
            }
            (Some(ids), None) => {
                if get("text_pairs").is_some() {
                    return Err(p.key(
                        "text_pairs",
                        "goes with `texts`, not with `input_ids`; encode the pairs into `input_ids` or give `texts`",
                    ));
                }
                let input_ids = p.int_rows(ids, "input_ids")?;
                let [b, t] = [input_ids.len(), input_ids[0].len()];
                let attention_mask = match get("attention_mask") {
                    Some(v) => {
                        let mask = p.int_rows_shaped(v, "attention_mask", &input_ids)?;
                        for (i, row) in mask.iter().enumerate() {
                            if let Some(j) = row.iter().position(|&m| m != 0 && m != 1) {
                                return Err(p.key(
                                    &format!("attention_mask[{i}][{j}]"),
                                    &format!("expected 0 (padding) or 1 (real token), found {}", row[j]),
                                ));
                            }
                        }
                        mask
                    }
                    None => vec![vec![1; t]; b],
                };
                let token_type_ids = get("token_type_ids")
                    .map(|v| p.int_rows_shaped(v, "token_type_ids", &input_ids))
                    .transpose()?;
                RequestForm::Ids(IdBatch {
                    input_ids,
                    token_type_ids,
                    attention_mask,
                })
            }
            (None, Some(texts)) => {
                let stray = present(&["attention_mask", "token_type_ids"]);
                if !stray.is_empty() {
                    let verb = if stray.len() == 1 { "goes" } else { "go" };
                    return Err(p.request(format!(
                        "{} {verb} with `input_ids`, not with `texts` (the tokenizer makes them); give one form",
                        stray.join(" and ")
                    )));
                }
                let texts = p.strings(texts, "texts")?;
                let text_pairs = get("text_pairs").map(|v| p.strings(v, "text_pairs")).transpose()?;
                if let Some(pairs) = &text_pairs {
                    if pairs.len() != texts.len() {
                        return Err(p.key(
                            "text_pairs",
                            &format!(
                                "has {} entries but `texts` has {}; give one second text per text",
                                pairs.len(),
                                texts.len()
                            ),
                        ));
                    }
                }
                RequestForm::Texts(TextBatch { texts, text_pairs })
            }
        };
        let mut ignored_keys: Vec<String> = map
            .keys()
            .filter(|k| !ID_KEYS.contains(&k.as_str()) && !TEXT_KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        ignored_keys.sort();
        Ok(Self {
            source: source.to_path_buf(),
            form,
            ignored_keys,
        })
    }

    /// The request's ids: as given, or the texts tokenised (padded to the longest row; truncated to `max_length`
    /// tokens, special tokens included, when given).
    pub fn to_ids(&self, tokenizer: Option<&DebertaTokenizer>, max_length: Option<usize>) -> Result<IdBatch> {
        match &self.form {
            RequestForm::Ids(ids) => Ok(ids.clone()),
            RequestForm::Texts(texts) => {
                let Some(tokenizer) = tokenizer else {
                    return Err(ForwardIoError::Request {
                        path: self.source.clone(),
                        reason: "holds `texts`, which need a tokenizer".to_string(),
                    });
                };
                texts
                    .encode(tokenizer, max_length)
                    .map_err(|source| ForwardIoError::Tokenize {
                        path: self.source.clone(),
                        source,
                    })
            }
        }
    }
}

impl TextBatch {
    /// Tokenise (padding to the longest row; longest-first truncation to `max_length` tokens when given).
    pub fn encode(
        &self,
        tokenizer: &DebertaTokenizer,
        max_length: Option<usize>,
    ) -> std::result::Result<IdBatch, TokenizeError> {
        let texts: Vec<&str> = self.texts.iter().map(String::as_str).collect();
        let pairs: Option<Vec<&str>> = self.text_pairs.as_ref().map(|p| p.iter().map(String::as_str).collect());
        let truncation = match max_length {
            Some(max_length) => Truncation::LongestFirst { max_length },
            None => Truncation::None,
        };
        let enc = tokenizer.encode_batch(&texts, pairs.as_deref(), truncation, Padding::Longest)?;
        let widen = |rows: Vec<Vec<u32>>| -> Vec<Vec<i64>> {
            rows.into_iter()
                .map(|r| r.into_iter().map(i64::from).collect())
                .collect()
        };
        Ok(IdBatch {
            input_ids: widen(enc.input_ids),
            token_type_ids: Some(widen(enc.token_type_ids)),
            attention_mask: widen(enc.attention_mask),
        })
    }
}

impl IdBatch {
    /// `[b, T]`, checking that every row of every field has `T` entries.
    pub fn shape(&self) -> Result<[usize; 2]> {
        let b = self.input_ids.len();
        let t = self.input_ids.first().map_or(0, Vec::len);
        let fields = [
            ("input_ids", Some(&self.input_ids)),
            ("attention_mask", Some(&self.attention_mask)),
            ("token_type_ids", self.token_type_ids.as_ref()),
        ];
        for (name, rows) in fields {
            let Some(rows) = rows else { continue };
            if rows.len() != b {
                return Err(ForwardIoError::Batch(format!(
                    "`{name}` has {} rows, `input_ids` {b}",
                    rows.len()
                )));
            }
            if let Some(i) = rows.iter().position(|r| r.len() != t) {
                return Err(ForwardIoError::Batch(format!(
                    "`{name}[{i}]` has {} entries, `input_ids[0]` {t}",
                    rows[i].len()
                )));
            }
        }
        Ok([b, t])
    }

    /// The batch as model inputs on `device`.
    pub fn to_input<B: Backend>(&self, device: &B::Device) -> Result<DebertaInput<B>> {
        let [b, t] = self.shape()?;
        let tensor = |rows: &[Vec<i64>]| -> Tensor<B, 2, Int> {
            let flat: Vec<i64> = rows.iter().flatten().copied().collect();
            Tensor::from_data(TensorData::new(flat, [b, t]), device)
        };
        Ok(DebertaInput {
            input_ids: tensor(&self.input_ids),
            attention_mask: tensor(&self.attention_mask),
            token_type_ids: self.token_type_ids.as_deref().map(tensor),
        })
    }
}

/// The outputs of a forward pass, with the inputs as fed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardOutput {
    /// Token ids as fed, `[b][T]`.
    pub input_ids: Vec<Vec<i64>>,
    /// Segment ids as fed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_ids: Option<Vec<Vec<i64>>>,
    /// Attention mask as fed, `[b][T]`.
    pub attention_mask: Vec<Vec<i64>>,
    /// `[b][num_labels]`.
    pub logits: Vec<Vec<f32>>,
    /// `[b][T][d]`, every position (padding included).
    pub last_hidden_state: Vec<Vec<Vec<f32>>>,
}

impl ForwardOutput {
    /// Read a forward pass's tensors back to the host (this waits for the device).
    pub fn new<B: Backend>(batch: &IdBatch, out: &ClassifierOutput<B>) -> Result<Self> {
        let [b, t] = batch.shape()?;
        let [lb, n] = out.logits.dims();
        let [hb, ht, d] = out.encoder.last_hidden_state.dims();
        if lb != b || hb != b || ht != t {
            return Err(ForwardIoError::Output(format!(
                "logits [{lb}, {n}] and last_hidden_state [{hb}, {ht}, {d}] for a batch of [{b}, {t}]"
            )));
        }
        let logits = host(out.logits.clone())?;
        let hidden = host(out.encoder.last_hidden_state.clone())?;
        Ok(Self {
            input_ids: batch.input_ids.clone(),
            token_type_ids: batch.token_type_ids.clone(),
            attention_mask: batch.attention_mask.clone(),
            logits: logits.chunks(n.max(1)).map(<[f32]>::to_vec).take(b).collect(),
            last_hidden_state: hidden
                .chunks(t * d)
                .map(|s| s.chunks(d).map(<[f32]>::to_vec).collect())
                .collect(),
        })
    }
}

/// Serialise `value` as JSON to `path` atomically: a temporary file in the same folder, synced, then renamed over
/// `path`. On error the temporary file is removed and `path` is left as it was.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |source: std::io::Error| ForwardIoError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "expected a file path, found no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut w, value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| ForwardIoError::Output(format!("{e:?}")))
}

/// A short description of a JSON value for error messages (never the whole value).
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 20 => format!("the string {s:?}"),
        Value::String(_) => "a string".to_string(),
        Value::Array(a) => format!("a list of {}", a.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

struct Parser<'a> {
    path: &'a Path,
}

impl Parser<'_> {
    fn request(&self, reason: String) -> ForwardIoError {
        ForwardIoError::Request {
            path: self.path.to_path_buf(),
            reason,
        }
    }

    fn key(&self, key: &str, reason: &str) -> ForwardIoError {
        ForwardIoError::Key {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    /// A non-empty list of equally long, non-empty lists of integers.
    fn int_rows(&self, v: &Value, key: &str) -> Result<Vec<Vec<i64>>> {
        let rows = v.as_array().ok_or_else(|| {
            self.key(
                key,
                &format!("expected a list of rows (lists of integers), found {}", describe(v)),
            )
        })?;
        if rows.is_empty() {
            return Err(self.key(key, "expected at least one row, found an empty list"));
        }
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let cells = row.as_array().ok_or_else(|| {
                self.key(
                    &format!("{key}[{i}]"),
                    &format!("expected a row (a list of integers), found {}", describe(row)),
                )
            })?;
            let ints = cells
                .iter()
                .enumerate()
                .map(|(j, x)| {
                    x.as_i64().ok_or_else(|| {
                        self.key(
                            &format!("{key}[{i}][{j}]"),
                            &format!("expected an integer, found {}", describe(x)),
                        )
                    })
                })
                .collect::<Result<Vec<i64>>>()?;
            out.push(ints);
        }
        let t = out[0].len();
        if t == 0 {
            return Err(self.key(&format!("{key}[0]"), "expected at least one token, found an empty row"));
        }
        if let Some(i) = out.iter().position(|r| r.len() != t) {
            return Err(self.key(
                &format!("{key}[{i}]"),
                &format!(
                    "row {i} has {} entries but row 0 has {t}; rows must have equal length \
                     (pad them and set attention_mask to 0 on the padding)",
                    out[i].len()
                ),
            ));
        }
        Ok(out)
    }

    /// Like [`Self::int_rows`], with the shape of `like` (`input_ids`).
    fn int_rows_shaped(&self, v: &Value, key: &str, like: &[Vec<i64>]) -> Result<Vec<Vec<i64>>> {
        let rows = self.int_rows(v, key)?;
        if rows.len() != like.len() {
            return Err(self.key(
                key,
                &format!("has {} rows but `input_ids` has {}", rows.len(), like.len()),
            ));
        }
        if rows[0].len() != like[0].len() {
            return Err(self.key(
                key,
                &format!(
                    "rows have {} entries but `input_ids` rows have {}",
                    rows[0].len(),
                    like[0].len()
                ),
            ));
        }
        Ok(rows)
    }

    /// A non-empty list of strings.
    fn strings(&self, v: &Value, key: &str) -> Result<Vec<String>> {
        let items = v
            .as_array()
            .ok_or_else(|| self.key(key, &format!("expected a list of strings, found {}", describe(v))))?;
        if items.is_empty() {
            return Err(self.key(key, "expected at least one string, found an empty list"));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str().map(str::to_string).ok_or_else(|| {
                    self.key(
                        &format!("{key}[{i}]"),
                        &format!("expected a string, found {}", describe(x)),
                    )
                })
            })
            .collect()
    }
}
