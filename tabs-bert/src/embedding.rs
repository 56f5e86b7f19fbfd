//! BERT embeddings (HF `BertEmbeddings`): word + absolute position + token type → LayerNorm (ε from the config)
//! → dropout.
//!
//! x_t = LN(E_word[id_t] + E_pos[t] + E_type[type_t]), t = 0..T−1, shapes `[b, T]` ids → `[b, T, d]`.
//! Unlike DeBERTa, padding positions are not zeroed (HF does not either; attention masks them as keys).

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, LayerNorm};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use tabs_hf::{dropout, lookup, Embed, FromWeights};

use crate::config::BertConfig;
use crate::weights::Weights;

/// Embedding block (`embeddings.*`).
#[derive(Module, Debug)]
pub struct Embeddings<B: Backend> {
    /// `word_embeddings.weight` `[vocab, d]`.
    pub word_embeddings: Param<Tensor<B, 2>>,
    /// `position_embeddings.weight` `[max_position_embeddings, d]`.
    pub position_embeddings: Param<Tensor<B, 2>>,
    /// `token_type_embeddings.weight` `[type_vocab_size, d]`.
    pub token_type_embeddings: Param<Tensor<B, 2>>,
    /// `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// Dropout (`hidden_dropout_prob`).
    pub dropout: Dropout,
}

impl<B: Backend> FromWeights<B, BertConfig> for Embeddings<B> {
    /// Build from weights (`embeddings.*`).
    fn from_weights(c: &BertConfig, w: &mut Weights, _prefix: &str, device: &B::Device) -> Self {
        let d = c.hidden_size;
        Self {
            word_embeddings: w.embedding("embeddings.word_embeddings.weight", c.vocab_size, d, device),
            position_embeddings: w.embedding(
                "embeddings.position_embeddings.weight",
                c.max_position_embeddings,
                d,
                device,
            ),
            token_type_embeddings: w.embedding("embeddings.token_type_embeddings.weight", c.type_vocab_size, d, device),
            layer_norm: w.layer_norm("embeddings.LayerNorm", d, c.layer_norm_eps, device),
            dropout: DropoutConfig::new(c.hidden_dropout_prob).init(),
        }
    }
}

impl<B: Backend> Embed<B> for Embeddings<B> {
    /// Nothing: BERT's positions are in the embeddings.
    type Context = ();

    /// `input_ids` `[b, T]`, `token_type_ids` `[b, T]` → `[b, T, d]` (T ≤ max_position_embeddings, checked by
    /// [`tabs_hf::EncoderModel::validate`]); the mask is not applied (HF does not either).
    fn embed(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Tensor<B, 2, Int>,
        _mask: Tensor<B, 2>,
    ) -> (Tensor<B, 3>, ()) {
        let [b, t] = input_ids.dims();
        let device = input_ids.device();
        let positions = Tensor::<B, 1, Int>::arange(0..t as i64, &device)
            .reshape([1, t])
            .expand([b, t]);
        let x = lookup(self.word_embeddings.val(), input_ids)
            + lookup(self.token_type_embeddings.val(), token_type_ids)
            + lookup(self.position_embeddings.val(), positions);
        (dropout(&self.dropout, self.layer_norm.forward(x)), ())
    }
}
