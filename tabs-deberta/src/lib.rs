//! # tabs-deberta — DeBERTa-v2/v3 on Burn, equal to HuggingFace transformers, with TABS adapters
//!
//! | concept | module |
//! |---|---|
//! | HF `config.json` (DeBERTa's keys; the shared ones in [`tabs_hf::config`]) | [`config`] |
//! | parameters from a checkpoint or HF's initialisation | [`weights`] |
//! | embeddings and the relative-position tables | [`embedding`] |
//! | relative positions (log buckets, distance skew) | [`relative`] |
//! | disentangled attention | [`attention`] |
//! | its probabilities: three score terms, mask and softmax, fused on the CPU backend | [`disentangled_softmax`] |
//! | the encoder and classifier: [`tabs_hf`]'s skeleton on the three above | [`model`] |
//! | DeBERTa-v3 tokenizer (spm.model / tokenizer.json) | [`tokenize`] |
//! | JSON batches in and out of a forward pass (`deberta-forward`) | [`forward_io`] |
//!
//! Layers, the per-layer gate loop, input validation, heads, checkpoint loading, adapter injection (peft-style
//! target names, default [`DEFAULT_TARGETS`]) and adapter files are [`tabs_hf`]'s, shared with `tabs-bert`.
#![warn(missing_docs)]

pub mod attention;
pub mod config;
pub mod disentangled_softmax;
pub mod embedding;
pub mod forward_io;
pub mod model;
pub mod relative;
pub mod tokenize;

pub use config::{DebertaConfig, DEFAULT_TARGETS};
pub use model::{
    ClassifierOutput, DebertaError, DebertaForSequenceClassification, DebertaInput, DebertaModel, DebertaOutput, Result,
};
pub use tabs::inject::{AdapterSpec, InjectionReport};
/// Where the model's parameters come from: a checkpoint's tensors or HF's fresh initialisation ([`tabs_hf`]'s).
pub use tabs_hf::weights;
pub use tabs_hf::{Architecture, HfError, LoadReport};
