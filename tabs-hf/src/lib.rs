//! # tabs-hf — HuggingFace checkpoint folders for the tabs backbones
//!
//! What every encoder crate (`tabs-deberta`, `tabs-bert`) needs to read a HF checkpoint folder, once:
//!
//! | concept | module |
//! |---|---|
//! | the folder's files (`config.json` + `model.safetensors` or `pytorch_model.bin`) and their tensors in f32 | [`checkpoint`] |
//! | parameters by HF key, with or without the model prefix, or HF's fresh initialisation; all problems reported together | [`weights`] |
//! | typed errors naming the file, key, expected and found shape | [`error`] |
//!
//! Each model crate reads its own `config.json` type and converts [`HfError`] into its error type.
#![warn(missing_docs)]

pub mod checkpoint;
pub mod error;
pub mod weights;

pub use checkpoint::{read_tensors, CheckpointFiles};
pub use error::{HfError, Result};
pub use weights::{IfMissing, Init, LoadReport, RawTensor, Weights};
