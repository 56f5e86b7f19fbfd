//! # tabs-hf — HuggingFace checkpoint folders for the tabs backbones
//!
//! What every encoder crate (`tabs-deberta`, `tabs-bert`) needs to read a HF checkpoint folder, once:
//!
//! | concept | module |
//! |---|---|
//! | the activations configs name (`hidden_act`) | [`activation`] |
//! | dense → dropout → LayerNorm(· + residual), closing attention and the FFN | [`add_norm`] |
//! | dropout, its mask drawn in parallel on the CPU training backend | [`dropout`] |
//! | exact GELU x·Φ(x), one parallel pass on the CPU backend | [`gelu`] |
//! | the folder's files (`config.json` + `model.safetensors` or `pytorch_model.bin`) and their tensors in f32 | [`checkpoint`] |
//! | parameters by HF key, with or without the model prefix, or HF's fresh initialisation; all problems reported together | [`weights`] |
//! | typed errors naming the file, key, expected and found shape | [`error`] |
//! | the inputs of a forward pass (`input_ids`, `attention_mask`, `token_type_ids`) | [`input`] |
//! | `tokenizer.json` pipelines called with transformers' truncation / padding semantics | [`text`] |
//! | the `config.json` keys every encoder shares, with each family's defaults | [`config`] |
//! | is there a CUDA device? (feature `cuda`; one error line instead of cubecl's panic) | `cuda_probe` |
//! | what a backbone supplies: config, embeddings, attention | [`architecture`] |
//! | the encoder skeleton: layers, the per-layer gate loop, input validation | [`encoder`] |
//! | `tabs` adapters in any backbone ([`tabs::Adaptable`]) | [`adapters`] |
//! | the sequence classifier: heads, checkpoint loading, adapter files | [`classifier`] |
//! | the names a backbone gives the skeleton's types ([`backbone_names!`]) | [`backbone_names`] |
//!
//! Each model crate (`tabs-deberta`, `tabs-bert`) supplies only what differs — its config keys, embeddings and
//! attention — and names the skeleton's types (`DebertaForSequenceClassification<B>` is
//! `SequenceClassifier<B, Embeddings<B>, Attention<B>, DebertaConfig>`). Config problems are
//! [`HfError::Config`] / [`HfError::Unsupported`], wrapped in the backbones' one error type [`ModelError`]
//! (`DebertaError` and `BertError` name it).
#![warn(missing_docs)]

/// The CPU backend every program of the workspace runs on with `--device cpu`: burn-flex, burn's pure-Rust CPU
/// backend (the `gemm` crate's AVX-512 / AVX2 kernels chosen at run time, transposed and sliced views multiplied
/// and added without copies, multi-threaded). It replaced burn-ndarray, which copies every strided view before a
/// matmul and ran a base-size DeBERTa forward 1.5–2× slower here (README, Speed on CPU).
pub type Cpu = burn::backend::Flex;

pub mod activation;
pub mod adapters;
pub mod add_norm;
pub mod architecture;
pub mod backbone_names;
pub mod checkpoint;
pub mod classifier;
pub mod config;
#[cfg(feature = "cuda")]
pub mod cuda_probe;
pub mod dropout;
pub mod encoder;
pub mod error;
pub mod gelu;
pub mod input;
pub mod malloc;
pub mod text;
pub mod weights;

pub use activation::Activation;
pub use add_norm::AddNorm;
pub use architecture::{lookup, Architecture, Embed, FromWeights, HeadConfig, SelfAttention};
pub use checkpoint::{read_tensors, CheckpointFiles};
pub use classifier::{ClassifierOutput, SequenceClassifier};
pub use config::{EncoderConfig, RawEncoderConfig};
pub use dropout::dropout;
pub use encoder::{EncoderModel, EncoderOutput, Layer};
pub use error::{HfError, ModelError, Result};
pub use gelu::gelu;
pub use input::EncoderInput;
pub use weights::{IfMissing, Init, LoadReport, RawTensor, Weights};
