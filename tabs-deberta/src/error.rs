//! Typed errors of `tabs-deberta`.

/// What can go wrong reading configs and checkpoints or building a model.
#[derive(Debug, thiserror::Error)]
pub enum DebertaError {
    /// Reading `config.json` or the weights failed: the [`tabs_hf::HfError`] names the file, key, expected and
    /// found value or shape.
    #[error(transparent)]
    Checkpoint(#[from] tabs_hf::HfError),
    /// Invalid model inputs (shapes, ids out of range).
    #[error("invalid input: {0}")]
    Input(String),
    /// An adapter error from `tabs`.
    #[error(transparent)]
    Tabs(#[from] tabs::TabsError),
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, DebertaError>;
