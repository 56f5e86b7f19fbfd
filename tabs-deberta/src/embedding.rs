//! DeBERTa embeddings: word (+ absolute position when `position_biased_input`) (+ token type) → optional
//! `embed_proj` → LayerNorm (ε from the config) → × attention mask → dropout.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::config::DebertaConfig;
use crate::weights::{IfMissing, Weights};

/// Embedding block.
#[derive(Module, Debug)]
pub struct Embeddings<B: Backend> {
    /// `[vocab, E]`.
    pub word_embeddings: Param<Tensor<B, 2>>,
    /// `[max_position_embeddings, E]` when `position_biased_input`.
    pub position_embeddings: Option<Param<Tensor<B, 2>>>,
    /// `[type_vocab_size, E]` when `type_vocab_size > 0`.
    pub token_type_embeddings: Option<Param<Tensor<B, 2>>>,
    /// E → d without bias, when E ≠ d.
    pub embed_proj: Option<Linear<B>>,
    /// LayerNorm.
    pub layer_norm: LayerNorm<B>,
    /// Dropout (hidden_dropout_prob).
    pub dropout: Dropout,
}

/// `table[ids]` for ids `[b, T]` and a table `[n, e]` → `[b, T, e]`.
pub fn lookup<B: Backend>(table: Tensor<B, 2>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
    let [b, t] = ids.dims();
    let e = table.dims()[1];
    table.select(0, ids.reshape([b * t])).reshape([b, t, e])
}

impl<B: Backend> Embeddings<B> {
    /// Build from weights (`embeddings.*`).
    pub fn new(c: &DebertaConfig, w: &mut Weights, device: &B::Device) -> Self {
        let e = c.embedding_size;
        Self {
            word_embeddings: w.embedding("embeddings.word_embeddings.weight", c.vocab_size, e, device),
            position_embeddings: c.position_biased_input.then(|| {
                w.embedding(
                    "embeddings.position_embeddings.weight",
                    c.max_position_embeddings,
                    e,
                    device,
                )
            }),
            token_type_embeddings: (c.type_vocab_size > 0)
                .then(|| w.embedding("embeddings.token_type_embeddings.weight", c.type_vocab_size, e, device)),
            embed_proj: (e != c.hidden_size).then(|| {
                w.linear(
                    "embeddings.embed_proj",
                    e,
                    c.hidden_size,
                    false,
                    IfMissing::Fail,
                    device,
                )
            }),
            layer_norm: w.layer_norm("embeddings.LayerNorm", c.hidden_size, c.layer_norm_eps, device),
            dropout: DropoutConfig::new(c.hidden_dropout_prob).init(),
        }
    }

    /// `input_ids` `[b, T]`, `token_type_ids` `[b, T]`, `mask` `[b, T]` (1.0 real / 0.0 padding) → `[b, T, d]`.
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Tensor<B, 2, Int>,
        mask: Tensor<B, 2>,
    ) -> Tensor<B, 3> {
        let [b, t] = input_ids.dims();
        let device = input_ids.device();
        let mut x = lookup(self.word_embeddings.val(), input_ids);
        if let Some(pos) = &self.position_embeddings {
            let ids = Tensor::<B, 1, Int>::arange(0..t as i64, &device)
                .reshape([1, t])
                .expand([b, t]);
            x = x + lookup(pos.val(), ids);
        }
        if let Some(tt) = &self.token_type_embeddings {
            x = x + lookup(tt.val(), token_type_ids);
        }
        if let Some(proj) = &self.embed_proj {
            x = proj.forward(x);
        }
        let x = self.layer_norm.forward(x) * mask.unsqueeze_dim(2);
        self.dropout.forward(x)
    }
}
