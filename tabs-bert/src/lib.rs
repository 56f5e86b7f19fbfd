//! # tabs-bert — BERT-family encoders (BERT, MiniLM) on Burn, equal to HuggingFace transformers, with TABS adapters
//!
//! | concept | module |
//! |---|---|
//! | HF `config.json` (`BertConfig` defaults, unsupported options are errors) | [`config`] |
//! | activations (`gelu` = erf GELU, `gelu_new`, `relu`, `tanh`, `silu`), shared with `tabs-deberta` | [`tabs_hf::Activation`] |
//! | checkpoint files (safetensors, pytorch_model.bin) | [`loader`] |
//! | parameters from a checkpoint (with or without `bert.`) or HF's initialisation | [`weights`] |
//! | embeddings: LN(word + position + token type) | [`embedding`] |
//! | self-attention + output (post-LN) | [`attention`] |
//! | layers, encoder, per-layer gates | [`encoder`] |
//! | encoder + pooler (tanh) + classifier | [`model`] |
//! | adapter injection by name through [`tabs::inject`] | [`adapters`] |
//! | WordPiece tokenizer from `tokenizer.json` | [`tokenize`] |
//!
//! The API mirrors `tabs-deberta` (same method names, output field names and adapter spec), so training code can
//! treat both backbones alike. See `README.md` for the parity numbers and commands.
#![warn(missing_docs)]

pub mod adapters;
pub mod attention;
pub mod config;
pub mod embedding;
pub mod encoder;
pub mod error;
pub mod loader;
pub mod model;
pub mod tokenize;
pub mod weights;

pub use adapters::DEFAULT_TARGETS;
pub use config::BertConfig;
pub use error::{BertError, Result};
pub use model::{BertForSequenceClassification, BertInput, BertModel, BertOutput, ClassifierOutput};
pub use tabs::inject::{AdapterSpec, InjectionReport};
pub use tabs_hf::HfError;
pub use tokenize::{BertTokenizer, Padding, Truncation};
pub use weights::LoadReport;
