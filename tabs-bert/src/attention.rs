//! BERT self-attention, equal to HF's `BertSelfAttention` + `BertSelfOutput`.
//!
//! With per-head Q = query(x), K = key(x), V = value(x) reshaped to `[b, H, T, dh]` (dh = d/H):
//! scores = Q·Kᵀ · dh^(−1/2), padding keys masked (−∞ in effect), probs = dropout(softmax(scores)),
//! context = probs·V → `[b, T, d]`, out = LayerNorm(dropout(dense(context)) + x).
//!
//! `query`, `key`, `value` and `attention.output.dense` are [`tabs::AdaptedLinear`]s fed the layer's gates.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};
use tabs::matmul::{attention_context, matmul};
use tabs::AdaptedLinear;
use tabs_hf::{dropout, AddNorm, FromWeights, SelfAttention};

use crate::config::BertConfig;
use crate::weights::{IfMissing, Weights};

/// The attention block of one layer (`attention.self.*` and `attention.output.*`).
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// H (heads of size d/H).
    #[module(skip)]
    pub heads: usize,
    /// `attention.self.query`.
    pub query: AdaptedLinear<B>,
    /// `attention.self.key`.
    pub key: AdaptedLinear<B>,
    /// `attention.self.value`.
    pub value: AdaptedLinear<B>,
    /// `attention.output.*`: dense → dropout → LayerNorm(· + x).
    pub output: AddNorm<B>,
    /// Dropout on attention probabilities.
    pub probs_dropout: Dropout,
}

impl<B: Backend> FromWeights<B, BertConfig> for Attention<B> {
    /// Build from weights under `prefix` (`encoder.layer.N.attention`).
    fn from_weights(c: &BertConfig, w: &mut Weights, prefix: &str, device: &B::Device) -> Self {
        let d = c.hidden_size;
        let mut map = |name: &str| {
            AdaptedLinear::plain(w.linear(&format!("{prefix}.{name}"), d, d, true, IfMissing::Fail, device))
        };
        Self {
            query: map("self.query"),
            key: map("self.key"),
            value: map("self.value"),
            output: AddNorm::new(c, w, &format!("{prefix}.output"), d, device),
            probs_dropout: DropoutConfig::new(c.attention_probs_dropout_prob).init(),
            heads: c.num_attention_heads,
        }
    }
}

impl<B: Backend> SelfAttention<B> for Attention<B> {
    type Context = ();

    /// `x` `[b, T, d]`, gates `[b, T, R]` (if gated), `key_mask` `[b, H, T, T]` (true = padding key) → `[b, T, d]`.
    fn attend(
        &self,
        x: Tensor<B, 3>,
        gates: Option<&Tensor<B, 3>>,
        key_mask: Tensor<B, 4, Bool>,
        _: &(),
    ) -> Tensor<B, 3> {
        let [b, t, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        let split = |y: Tensor<B, 3>| y.reshape([b, t, h, dh]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone(), gates));
        let k = split(self.key.forward(x.clone(), gates));
        let v = split(self.value.forward(x.clone(), gates));
        // torch multiplies the f32 scores by the Python float dh^(−1/2).
        let scale = (dh as f64).powf(-0.5);
        let scores = matmul(q, k.swap_dims(2, 3)).mul_scalar(scale);
        // A large finite negative (not −∞) so that an all-padding row gives a uniform row instead of NaN.
        let scores = scores.mask_fill(key_mask, f32::MIN);
        let probs = dropout(&self.probs_dropout, softmax(scores, 3));
        let context = attention_context(probs, v);
        self.output.forward(context, x, gates)
    }

    fn maps(&self) -> [&AdaptedLinear<B>; 4] {
        [&self.query, &self.key, &self.value, &self.output.dense]
    }

    fn maps_mut(&mut self) -> [&mut AdaptedLinear<B>; 4] {
        [&mut self.query, &mut self.key, &mut self.value, &mut self.output.dense]
    }
}
