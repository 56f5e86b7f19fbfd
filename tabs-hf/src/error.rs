//! Typed errors of checkpoint reading.

use std::path::PathBuf;

/// What can go wrong reading a checkpoint folder or building parameters from it.
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

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, HfError>;
