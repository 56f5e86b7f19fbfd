//! BERT models: the shared skeleton of [`tabs_hf`] with BERT's embeddings and attention — the encoder
//! ([`BertModel`], HF `BertModel` without its pooler) and HF's sequence-classification model
//! ([`BertForSequenceClassification`]: `BertPooler` on the first token — dense → tanh — then dropout →
//! `classifier`). `num_labels` = 1 is regression.
//!
//! The pooler lives in the classification model (as a public `Linear`, like DeBERTa's) so that trainers can
//! treat pooler + classifier as one always-trainable head with its own learning rate; its checkpoint key is
//! still HF's `(bert.)pooler.dense.*`.

use tabs_hf::{EncoderModel, SequenceClassifier};

use crate::attention::Attention;
use crate::config::BertConfig;
use crate::embedding::Embeddings;

pub use tabs_hf::ClassifierOutput;

/// A batch of inputs: ids `[b, T]`, attention mask `[b, T]` (1 = real token), optional token types `[b, T]`.
pub type BertInput<B> = tabs_hf::EncoderInput<B>;

/// The encoder's outputs: last hidden state `[b, T, d]`, each layer's gates, the token mask.
pub type BertOutput<B> = tabs_hf::EncoderOutput<B>;

/// The BERT encoder with optional TABS gates (`bert.*`).
pub type BertModel<B> = EncoderModel<B, Embeddings<B>, Attention<B>, BertConfig>;

/// `BertForSequenceClassification`.
pub type BertForSequenceClassification<B> = SequenceClassifier<B, Embeddings<B>, Attention<B>, BertConfig>;
