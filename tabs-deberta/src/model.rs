//! DeBERTa-v2/v3 models: the shared skeleton of [`tabs_hf`] with DeBERTa's embeddings (relative-position tables
//! included) and disentangled attention — the encoder ([`DebertaModel`], HF's `DebertaV2Model`) and HF's
//! sequence-classification model ([`DebertaForSequenceClassification`]: `ContextPooler` on the first token —
//! dropout → dense → activation — then dropout → `classifier`). `num_labels` = 1 is regression.

use crate::attention::Attention;
use crate::config::DebertaConfig;
use crate::embedding::Embeddings;

tabs_hf::backbone_names! {
    family: "DeBERTa-v2/v3", embeddings: Embeddings, attention: Attention, config: DebertaConfig,
    error: DebertaError, input: DebertaInput, output: DebertaOutput, model: DebertaModel,
    classifier: DebertaForSequenceClassification,
}
