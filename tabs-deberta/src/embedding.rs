//! DeBERTa embeddings: word (+ absolute position when `position_biased_input`) (+ token type) → optional
//! `embed_proj` → LayerNorm (ε from the config) → × attention mask → dropout; and the relative-position tables
//! every layer's attention reads (`encoder.rel_embeddings`, optionally LayerNorm'd by `encoder.LayerNorm`),
//! turned per forward pass into a [`RelativeContext`] for length T.

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use tabs_hf::{dropout, lookup, Embed, FromWeights};

use crate::attention::RelativeContext;
use crate::config::DebertaConfig;
use crate::relative::distance_rows;
use crate::weights::{IfMissing, Weights};

/// Relative-position settings of the encoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeSettings {
    /// Relative attention on.
    pub relative: bool,
    /// Log buckets.
    pub buckets: Option<usize>,
    /// Max relative distance.
    pub max_relative_positions: usize,
    /// Span of the embedding table per side.
    pub span: usize,
}

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
    /// `encoder.rel_embeddings.weight` `[2·span, d]` (relative attention).
    pub rel_embeddings: Option<Param<Tensor<B, 2>>>,
    /// `encoder.LayerNorm` on relative embeddings (`norm_rel_ebd` = layer_norm).
    pub rel_norm: Option<LayerNorm<B>>,
    /// Relative-position settings.
    #[module(skip)]
    pub positions: RelativeSettings,
}

impl<B: Backend> FromWeights<B, DebertaConfig> for Embeddings<B> {
    /// Build from weights (`embeddings.*`, `encoder.rel_embeddings.weight`, `encoder.LayerNorm.*`).
    fn from_weights(c: &DebertaConfig, w: &mut Weights, _prefix: &str, device: &B::Device) -> Self {
        let e = c.embedding_size;
        let span = c.att_span();
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
            rel_embeddings: c
                .relative_attention
                .then(|| w.embedding("encoder.rel_embeddings.weight", 2 * span, c.hidden_size, device)),
            rel_norm: (c.relative_attention && c.norm_rel_ebd)
                .then(|| w.layer_norm("encoder.LayerNorm", c.hidden_size, c.layer_norm_eps, device)),
            positions: RelativeSettings {
                relative: c.relative_attention,
                buckets: c.position_buckets,
                max_relative_positions: c.max_relative_positions,
                span,
            },
        }
    }
}

impl<B: Backend> Embeddings<B> {
    /// The relative context for sequences of length `t` (none without relative attention).
    pub fn relative_context(&self, t: usize, device: &B::Device) -> Option<RelativeContext<B>> {
        let table = self.rel_embeddings.as_ref()?;
        let s = self.positions;
        let embeddings = match &self.rel_norm {
            Some(ln) => ln.forward(table.val()),
            None => table.val(),
        };
        let (c2p, p2c) = distance_rows(t, s.buckets, s.max_relative_positions, s.span);
        let n = c2p.len();
        let to_t = |v: &[i64]| Tensor::<B, 1, Int>::from_data(TensorData::new(v.to_vec(), [n]), device);
        let host = |v: &[i64]| Arc::new(v.iter().map(|&r| r as usize).collect());
        Some(RelativeContext {
            embeddings,
            c2p_rows: to_t(&c2p),
            p2c_rows: to_t(&p2c),
            c2p_index: host(&c2p),
            p2c_index: host(&p2c),
        })
    }
}

impl<B: Backend> Embed<B> for Embeddings<B> {
    type Context = Option<RelativeContext<B>>;

    /// `input_ids` `[b, T]`, `token_type_ids` `[b, T]`, `mask` `[b, T]` (1.0 real / 0.0 padding) → `[b, T, d]`
    /// and the relative context for T.
    fn embed(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Tensor<B, 2, Int>,
        mask: Tensor<B, 2>,
    ) -> (Tensor<B, 3>, Self::Context) {
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
        (dropout(&self.dropout, x), self.relative_context(t, &device))
    }
}
