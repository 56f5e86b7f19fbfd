//! Typed errors of `tabs-bert`.

use std::path::PathBuf;

/// What can go wrong reading configs, checkpoints and tokenizers or building and running a model.
#[derive(Debug, thiserror::Error)]
pub enum BertError {
    /// A file could not be read or written.
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
    /// A config option this implementation does not support.
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
    /// Encoder weights the model needs are absent from the checkpoint.
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
    /// Invalid model inputs (shapes, ids out of range) or an invalid adapter spec.
    #[error("invalid input: {0}")]
    Input(String),
    /// A tokenizer error.
    #[error(transparent)]
    Tokenize(#[from] crate::tokenize::TokenizeError),
    /// An adapter error from `tabs`.
    #[error(transparent)]
    Tabs(#[from] tabs::TabsError),
}

impl From<tabs_hf::HfError> for BertError {
    /// Checkpoint errors keep their kind (file, key, expected and found shapes).
    fn from(e: tabs_hf::HfError) -> Self {
        use tabs_hf::HfError as H;
        match e {
            H::Io { path, source } => BertError::Io { path, source },
            H::Checkpoint { path, reason } => BertError::Checkpoint { path, reason },
            H::NoCheckpoint { dir } => BertError::NoCheckpoint { dir },
            H::MissingKeys { path, keys } => BertError::MissingKeys { path, keys },
            H::ShapeMismatch { path, mismatches } => BertError::ShapeMismatch { path, mismatches },
        }
    }
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, BertError>;
