//! Typed errors of `tabs-bert`.

/// What can go wrong reading configs, checkpoints and tokenizers or building and running a model.
#[derive(Debug, thiserror::Error)]
pub enum BertError {
    /// Reading `config.json` or the weights failed: the [`tabs_hf::HfError`] names the file, key, expected and
    /// found value or shape.
    #[error(transparent)]
    Checkpoint(#[from] tabs_hf::HfError),
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

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, BertError>;
