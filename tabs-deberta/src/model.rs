//! DeBERTa-v2/v3 models: the shared skeleton of [`tabs_hf`] with DeBERTa's embeddings (relative-position tables
//! included) and disentangled attention — the encoder ([`DebertaModel`], HF's `DebertaV2Model`) and HF's
//! sequence-classification model ([`DebertaForSequenceClassification`]: `ContextPooler` on the first token —
//! dropout → dense → activation — then dropout → `classifier`). `num_labels` = 1 is regression.

use tabs_hf::{EncoderModel, SequenceClassifier};

use crate::attention::Attention;
use crate::config::DebertaConfig;
use crate::embedding::Embeddings;

pub use tabs_hf::ClassifierOutput;

/// A batch of inputs: ids `[b, T]`, attention mask `[b, T]` (1 = real token), optional token types `[b, T]`
/// (the one input type of every tabs encoder).
pub type DebertaInput<B> = tabs_hf::EncoderInput<B>;

/// The encoder's outputs: last hidden state `[b, T, d]`, each layer's gates, the token mask.
pub type DebertaOutput<B> = tabs_hf::EncoderOutput<B>;

/// The DeBERTa encoder with optional TABS gates (`deberta.*`).
pub type DebertaModel<B> = EncoderModel<B, Embeddings<B>, Attention<B>, DebertaConfig>;

/// `DebertaV2ForSequenceClassification`.
pub type DebertaForSequenceClassification<B> = SequenceClassifier<B, Embeddings<B>, Attention<B>, DebertaConfig>;
