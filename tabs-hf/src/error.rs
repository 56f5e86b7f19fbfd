//! Typed errors of checkpoint reading.

use std::path::{Path, PathBuf};

/// What can go wrong reading a checkpoint folder (`config.json`, weights) or building parameters from it.
#[derive(Debug, thiserror::Error)]
pub enum HfError {
    /// A file could not be read.
    #[error("{path}: cannot read or write this file")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON of the expected shape, or a value is out of range.
    #[error("{path}: invalid config: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A config option the model crate does not support.
    #[error("{path}: unsupported config `{key}` = {value}: {reason}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A checkpoint file is malformed.
    #[error("{path}: invalid checkpoint: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A folder holds neither `model.safetensors` nor `pytorch_model.bin`.
    #[error("{dir}: no checkpoint (expected `model.safetensors` or `pytorch_model.bin`)")]
    NoCheckpoint {
        /// The folder.
        dir: PathBuf,
    },
    /// Weights the model needs are absent from the checkpoint.
    #[error("{path}: {} missing key(s): {}", keys.len(), keys.join(", "))]
    MissingKeys {
        /// The checkpoint.
        path: PathBuf,
        /// Every missing key.
        keys: Vec<String>,
    },
    /// Checkpoint tensors whose shape differs from the config's.
    #[error("{path}: shape mismatch: {}", mismatches.iter().map(|(k, e, f)| format!("`{k}` expected {e:?}, found {f:?}")).collect::<Vec<_>>().join("; "))]
    ShapeMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// (key, expected, found) for each mismatch.
        mismatches: Vec<(String, Vec<usize>, Vec<usize>)>,
    },
}

impl HfError {
    /// A [`HfError::Config`]: config `path` is invalid for `reason`.
    pub fn invalid_config(path: &Path, reason: impl Into<String>) -> Self {
        HfError::Config {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// A [`HfError::Unsupported`]: `key` = `value` of config `path` is not supported, for `reason`.
    pub fn unsupported(path: &Path, key: &str, value: impl Into<String>, reason: &str) -> Self {
        HfError::Unsupported {
            path: path.to_path_buf(),
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, HfError>;

/// What can go wrong building or running a backbone (`DebertaError` and `BertError` are this type).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Reading `config.json` or the weights failed: the [`HfError`] names the file, key, expected and found
    /// value or shape.
    #[error(transparent)]
    Checkpoint(#[from] HfError),
    /// Invalid model inputs (shapes, ids out of range) or an adapter spec that names no map.
    #[error("invalid input: {0}")]
    Input(String),
    /// An adapter error from `tabs`.
    #[error(transparent)]
    Tabs(#[from] tabs::TabsError),
}
