//! BERT models: the shared skeleton of [`tabs_hf`] with BERT's embeddings and attention — the encoder
//! ([`BertModel`], HF `BertModel` without its pooler) and HF's sequence-classification model
//! ([`BertForSequenceClassification`]: `BertPooler` on the first token — dense → tanh — then dropout →
//! `classifier`). `num_labels` = 1 is regression.
//!
//! The pooler lives in the classification model (as a public `Linear`, like DeBERTa's) so that trainers can
//! treat pooler + classifier as one always-trainable head with its own learning rate; its checkpoint key is
//! still HF's `(bert.)pooler.dense.*`.

use crate::attention::Attention;
use crate::config::BertConfig;
use crate::embedding::Embeddings;

tabs_hf::backbone_names! {
    family: "BERT", embeddings: Embeddings, attention: Attention, config: BertConfig,
    error: BertError, input: BertInput, output: BertOutput, model: BertModel,
    classifier: BertForSequenceClassification,
}
