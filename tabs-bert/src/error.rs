//! Typed errors of `tabs-bert`: the backbones' one error type, [`tabs_hf::ModelError`] (checkpoint and config
//! errors naming file and key, invalid inputs, adapter errors).

pub use tabs_hf::ModelError as BertError;

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, BertError>;
