//! The block that closes attention and the FFN in every post-LayerNorm encoder (HF's `BertSelfOutput`,
//! `BertOutput`, `DebertaV2SelfOutput`, `DebertaV2Output`):
//!
//! out = LayerNorm(dropout(dense(h)) + residual), `h` `[b, T, d_in]`, `residual` `[b, T, d]` → `[b, T, d]`,
//!
//! with `dense` a [`tabs::AdaptedLinear`] fed the layer's gates `[b, T, R]` and the HF keys `{prefix}.dense.*`,
//! `{prefix}.LayerNorm.*`.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use tabs::AdaptedLinear;

use crate::config::EncoderConfig;
use crate::dropout::dropout;
use crate::weights::{IfMissing, Weights};

/// `{prefix}.dense` → dropout → `{prefix}.LayerNorm`(· + residual).
#[derive(Module, Debug)]
pub struct AddNorm<B: Backend> {
    /// `{prefix}.dense` (d_in → d), an adaptable map.
    pub dense: AdaptedLinear<B>,
    /// `{prefix}.LayerNorm` (ε = `layer_norm_eps`).
    pub norm: LayerNorm<B>,
    /// Dropout after `dense` (`hidden_dropout_prob`).
    pub dropout: Dropout,
}

impl<B: Backend> AddNorm<B> {
    /// Build from weights under `prefix` (`encoder.layer.N.attention.output`, `encoder.layer.N.output`); `dense`
    /// maps `d_in` → `hidden_size`.
    pub fn new(c: &EncoderConfig, w: &mut Weights, prefix: &str, d_in: usize, device: &B::Device) -> Self {
        let d = c.hidden_size;
        Self {
            dense: AdaptedLinear::plain(w.linear(&format!("{prefix}.dense"), d_in, d, true, IfMissing::Fail, device)),
            norm: w.layer_norm(&format!("{prefix}.LayerNorm"), d, c.layer_norm_eps, device),
            dropout: DropoutConfig::new(c.hidden_dropout_prob).init(),
        }
    }

    /// `h` `[b, T, d_in]`, `residual` `[b, T, d]`, gates `[b, T, R]` (if gated) → `[b, T, d]`.
    pub fn forward(&self, h: Tensor<B, 3>, residual: Tensor<B, 3>, gates: Option<&Tensor<B, 3>>) -> Tensor<B, 3> {
        self.norm
            .forward(dropout(&self.dropout, self.dense.forward(h, gates)) + residual)
    }
}
