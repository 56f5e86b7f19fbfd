//! Typed errors of the `tabs` crate.

use std::path::PathBuf;

/// Everything that can go wrong in `tabs` on user input: shapes, configurations and adapter files.
#[derive(Debug, thiserror::Error)]
pub enum TabsError {
    /// A configuration value is out of its valid range.
    #[error("invalid configuration `{field}`: {reason}")]
    InvalidConfig {
        /// The configuration key.
        field: &'static str,
        /// What was expected.
        reason: String,
    },
    /// The requested spectral rank is larger than the weight allows.
    #[error("spectral rank R = {rank} exceeds min(d_in, d_out) = {max} of a {d_in}×{d_out} weight")]
    RankTooLarge {
        /// Requested R.
        rank: usize,
        /// min(d_in, d_out).
        max: usize,
        /// Input dimension.
        d_in: usize,
        /// Output dimension.
        d_out: usize,
    },
    /// The SVD did not converge (non-finite weights, usually).
    #[error("SVD of a {d_in}×{d_out} weight failed: {reason}")]
    Svd {
        /// Input dimension.
        d_in: usize,
        /// Output dimension.
        d_out: usize,
        /// The solver's reason.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: cannot read or write this file")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An adapter config file is not valid JSON of the expected shape.
    #[error("{path}: invalid adapter config: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        reason: String,
    },
    /// A safetensors file is truncated or malformed.
    #[error("{path}: invalid safetensors file: {reason}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        reason: String,
    },
    /// The adapter file was written for another method or configuration.
    #[error("{path}: adapter `{field}` is {found}, but the model expects {expected}")]
    Mismatch {
        /// The config file.
        path: PathBuf,
        /// The key that differs.
        field: &'static str,
        /// The model's value.
        expected: String,
        /// The file's value.
        found: String,
    },
    /// A tensor the model needs is not in the adapter file.
    #[error("{path}: tensor `{name}` is missing")]
    MissingTensor {
        /// The tensor file.
        path: PathBuf,
        /// The tensor's key.
        name: String,
    },
    /// A tensor in the adapter file that the model does not have.
    #[error("{path}: tensor `{name}` is not a trainable tensor of this model")]
    UnexpectedTensor {
        /// The tensor file.
        path: PathBuf,
        /// The tensor's key.
        name: String,
    },
    /// A tensor has the wrong shape or dtype.
    #[error("{path}: tensor `{name}` has shape {found:?} ({dtype}), expected {expected:?} (F32)")]
    ShapeMismatch {
        /// The tensor file.
        path: PathBuf,
        /// The tensor's key.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
        /// The file's dtype.
        dtype: String,
    },
    /// An adapter target pattern matches none of the model's maps.
    #[error("adapter target `{pattern}` matches no map (maps are named like `{example}`)")]
    UnmatchedTarget {
        /// The pattern.
        pattern: String,
        /// The model's first map name.
        example: String,
    },
    /// An adapter target pattern is not valid (`re:` with a broken regular expression).
    #[error("invalid adapter target pattern `{pattern}`: {reason}")]
    InvalidTarget {
        /// The pattern.
        pattern: String,
        /// The parser's reason.
        reason: String,
    },
    /// The gating rank differs from the spectral adapter's rank.
    #[error("gating rank R = {gating} differs from the spectral adapter's R = {spectral}")]
    GateRankMismatch {
        /// The gates' R.
        gating: usize,
        /// The spectral adapter's R.
        spectral: usize,
    },
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, TabsError>;
