//! # tabs-deberta — DeBERTa-v2/v3 on Burn, equal to HuggingFace transformers, with TABS adapters
//!
//! | concept | module |
//! |---|---|
//! | HF `config.json` | [`config`] |
//! | checkpoint files (safetensors, pytorch_model.bin) | [`loader`] |
//! | parameters from a checkpoint or HF's initialisation | [`weights`] |
//! | embeddings | [`embedding`] |
//! | relative positions (log buckets, distance skew) | [`relative`] |
//! | disentangled attention | [`attention`] |
//! | layers, encoder | [`encoder`] |
//! | encoder + classification head | [`model`] |
//! | adapter injection by name | [`adapters`] |
//! | DeBERTa-v3 tokenizer (spm.model / tokenizer.json) | [`tokenize`] |
//! | JSON batches in and out of a forward pass (`deberta-forward`) | [`forward_io`] |
#![warn(missing_docs)]

pub mod adapters;
pub mod attention;
pub mod config;
pub mod embedding;
pub mod encoder;
pub mod error;
pub mod forward_io;
pub mod loader;
pub mod model;
pub mod relative;
pub mod tokenize;
pub mod weights;

pub use adapters::{AdapterSpec, InjectionReport, DEFAULT_TARGETS};
pub use config::DebertaConfig;
pub use error::{DebertaError, Result};
pub use model::{ClassifierOutput, DebertaForSequenceClassification, DebertaInput, DebertaModel, DebertaOutput};
pub use tabs_hf::HfError;
pub use weights::LoadReport;
