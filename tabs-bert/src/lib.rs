//! # tabs-bert — BERT-family encoders (BERT, MiniLM) on Burn, equal to HuggingFace transformers, with TABS adapters
//!
//! | concept | module |
//! |---|---|
//! | HF `config.json` (`BertConfig` defaults, unsupported options are errors) | [`config`] |
//! | activations (`gelu` = erf GELU, `gelu_new`, `relu`, `tanh`, `silu`), shared with `tabs-deberta` | [`tabs_hf::Activation`] |
//! | parameters from a checkpoint (with or without `bert.`) or HF's initialisation | [`weights`] |
//! | embeddings: LN(word + position + token type) | [`embedding`] |
//! | self-attention + output (post-LN) | [`attention`] |
//! | the encoder and classifier (pooler tanh): [`tabs_hf`]'s skeleton on the two above | [`model`] |
//! | WordPiece tokenizer from `tokenizer.json` | [`tokenize`] |
//!
//! Layers, the per-layer gate loop, input validation, heads, checkpoint loading (with or without `bert.`),
//! adapter injection (peft-style target names, default [`DEFAULT_TARGETS`]) and adapter files are
//! [`tabs_hf`]'s, shared with `tabs-deberta`, so training code treats both backbones alike. See `README.md` for the parity numbers and commands.
#![warn(missing_docs)]

pub mod attention;
pub mod config;
pub mod embedding;
pub mod model;
pub mod tokenize;

pub use config::{BertConfig, DEFAULT_TARGETS};
pub use model::{BertError, BertForSequenceClassification, BertInput, BertModel, BertOutput, ClassifierOutput, Result};
pub use tabs::inject::{AdapterSpec, InjectionReport};
/// Where the model's parameters come from: a checkpoint's tensors or HF's fresh initialisation ([`tabs_hf`]'s).
pub use tabs_hf::weights;
pub use tabs_hf::{Architecture, HfError, LoadReport};
pub use tokenize::{BertTokenizer, Padding, Tokenize, Truncation};
