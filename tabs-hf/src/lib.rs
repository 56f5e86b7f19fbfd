//! # tabs-hf — HuggingFace checkpoint folders for the tabs backbones
//!
//! What every encoder crate (`tabs-deberta`, `tabs-bert`) needs to read a HF checkpoint folder, once:
//!
//! | concept | module |
//! |---|---|
//! | the activations configs name (`hidden_act`) | [`activation`] |
//! | the folder's files (`config.json` + `model.safetensors` or `pytorch_model.bin`) and their tensors in f32 | [`checkpoint`] |
//! | parameters by HF key, with or without the model prefix, or HF's fresh initialisation; all problems reported together | [`weights`] |
//! | typed errors naming the file, key, expected and found shape | [`error`] |
//! | the inputs of a forward pass (`input_ids`, `attention_mask`, `token_type_ids`) | [`input`] |
//! | `tokenizer.json` pipelines called with transformers' truncation / padding semantics | [`text`] |
//!
//! Each model crate reads its own `config.json` type (problems are [`HfError::Config`] / [`HfError::Unsupported`])
//! and wraps [`HfError`] in its error type (`DebertaError::Checkpoint`, `BertError::Checkpoint`).
#![warn(missing_docs)]

pub mod activation;
pub mod checkpoint;
pub mod error;
pub mod input;
pub mod text;
pub mod weights;

pub use activation::Activation;
pub use checkpoint::{read_tensors, CheckpointFiles};
pub use error::{HfError, Result};
pub use input::EncoderInput;
pub use weights::{IfMissing, Init, LoadReport, RawTensor, Weights};
