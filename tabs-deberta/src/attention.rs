//! Disentangled self-attention (DeBERTa), equal to HF's `DisentangledSelfAttention` + `DebertaV2SelfOutput`.
//!
//! With per-head Q, K, V `[b, H, T, dh]`, scale factor s = 1 + [c2p] + [p2c] and σ = √(dh·s):
//! scores = Q·(K/σ)ᵀ + c2p/σ + p2c/σ (computed as Q·(K/σ)ᵀ + (Q/σ)·K_rᵀ + (K/σ)·Q_rᵀ, skewed), where for
//! relative embeddings R (LayerNorm'd, dropped out) and their projections K_r = key_proj(R), Q_r = query_proj(R) (or `pos_key_proj` / `pos_query_proj` when
//! `share_att_key` is false):
//! c2p[i, j] = Q_i·K_r[c(i − j)], p2c[i, j] = K_j·Q_r[p(i − j)] (row maps of [`crate::relative`]).
//! probs = softmax over real keys ([`crate::disentangled_softmax`], fused on the CPU backend); context = probs·V;
//! out = LayerNorm(dropout(dense(context)) + x).
//!
//! Target maps `query_proj`, `key_proj`, `value_proj` and `attention.output.dense` are
//! [`tabs::AdaptedLinear`]s fed the layer's gates. Relative-embedding rows go through the same maps *without*
//! the gated term ([`tabs::AdaptedLinear::forward_static`]): they are not tokens and carry no gates.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::backend::Backend;
use std::sync::Arc;

use burn::tensor::{Bool, Int, Tensor};
use tabs::flex::own_kernels;
use tabs::matmul::{attention_context, matmul};
use tabs::AdaptedLinear;

use tabs_hf::{dropout, AddNorm, FromWeights, SelfAttention};

use crate::config::DebertaConfig;
use crate::disentangled_softmax::{disentangled_softmax, RelativeTerm};
use crate::weights::{IfMissing, Weights};

/// Shape facts of an attention block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionShape {
    /// H.
    pub heads: usize,
    /// dh.
    pub head_size: usize,
    /// content → position.
    pub c2p: bool,
    /// position → content.
    pub p2c: bool,
    /// Relative attention on.
    pub relative: bool,
    /// Reuse query/key projections for positions.
    pub share_att_key: bool,
}

impl AttentionShape {
    /// σ = √(dh·s) in f32, as torch computes it.
    pub fn scale(&self) -> f64 {
        let s = 1 + self.c2p as usize + self.p2c as usize;
        ((self.head_size * s) as f32).sqrt() as f64
    }
}

/// Per-forward relative-position context shared by every layer.
#[derive(Debug, Clone)]
pub struct RelativeContext<B: Backend> {
    /// LayerNorm'd relative embeddings `[2·span, d]` (before per-layer dropout).
    pub embeddings: Tensor<B, 2>,
    /// c2p rows for the 2T − 1 distances, descending δ: `[2T − 1]`.
    pub c2p_rows: Tensor<B, 1, Int>,
    /// p2c rows for the 2T − 1 distances, descending δ: `[2T − 1]`.
    pub p2c_rows: Tensor<B, 1, Int>,
    /// `c2p_rows` on the host (the fused kernel's index into the table form).
    pub c2p_index: Arc<Vec<usize>>,
    /// `p2c_rows` on the host.
    pub p2c_index: Arc<Vec<usize>>,
}

/// The attention block of one layer (`attention.self.*` and `attention.output.*`).
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// `attention.self.query_proj`.
    pub query_proj: AdaptedLinear<B>,
    /// `attention.self.key_proj`.
    pub key_proj: AdaptedLinear<B>,
    /// `attention.self.value_proj`.
    pub value_proj: AdaptedLinear<B>,
    /// `attention.self.pos_key_proj` (c2p, `share_att_key` false).
    pub pos_key_proj: Option<Linear<B>>,
    /// `attention.self.pos_query_proj` (p2c, `share_att_key` false).
    pub pos_query_proj: Option<Linear<B>>,
    /// `attention.output.*`: dense → dropout → LayerNorm(· + x).
    pub output: AddNorm<B>,
    /// Dropout on probabilities.
    pub probs_dropout: Dropout,
    /// Dropout on the relative embeddings (`hidden_dropout_prob`).
    pub rel_dropout: Dropout,
    /// Shape facts.
    #[module(skip)]
    pub shape: AttentionShape,
}

impl<B: Backend> FromWeights<B, DebertaConfig> for Attention<B> {
    /// Build from weights under `encoder.layer.{i}.attention`.
    fn from_weights(c: &DebertaConfig, w: &mut Weights, prefix: &str, device: &B::Device) -> Self {
        let d = c.hidden_size;
        let all = c.num_attention_heads * c.attention_head_size;
        let lin = |w: &mut Weights, name: &str, d_in: usize, d_out: usize| {
            w.linear::<B>(&format!("{prefix}.{name}"), d_in, d_out, true, IfMissing::Fail, device)
        };
        let rel = c.relative_attention;
        Self {
            query_proj: AdaptedLinear::plain(lin(w, "self.query_proj", d, all)),
            key_proj: AdaptedLinear::plain(lin(w, "self.key_proj", d, all)),
            value_proj: AdaptedLinear::plain(lin(w, "self.value_proj", d, all)),
            pos_key_proj: (rel && !c.share_att_key && c.c2p).then(|| lin(w, "self.pos_key_proj", d, all)),
            pos_query_proj: (rel && !c.share_att_key && c.p2c).then(|| lin(w, "self.pos_query_proj", d, all)),
            output: AddNorm::new(c, w, &format!("{prefix}.output"), all, device),
            probs_dropout: DropoutConfig::new(c.attention_probs_dropout_prob).init(),
            rel_dropout: DropoutConfig::new(c.hidden_dropout_prob).init(),
            shape: AttentionShape {
                heads: c.num_attention_heads,
                head_size: c.attention_head_size,
                c2p: c.c2p,
                p2c: c.p2c,
                relative: rel,
                share_att_key: c.share_att_key,
            },
        }
    }
}

impl<B: Backend> SelfAttention<B> for Attention<B> {
    type Context = Option<RelativeContext<B>>;

    fn attend(
        &self,
        x: Tensor<B, 3>,
        gates: Option<&Tensor<B, 3>>,
        key_mask: Tensor<B, 4, Bool>,
        rel: &Self::Context,
    ) -> Tensor<B, 3> {
        self.forward(x, gates, key_mask, rel.as_ref())
    }

    fn maps(&self) -> [&AdaptedLinear<B>; 4] {
        [&self.query_proj, &self.key_proj, &self.value_proj, &self.output.dense]
    }

    fn maps_mut(&mut self) -> [&mut AdaptedLinear<B>; 4] {
        [
            &mut self.query_proj,
            &mut self.key_proj,
            &mut self.value_proj,
            &mut self.output.dense,
        ]
    }
}

impl<B: Backend> Attention<B> {
    /// `[b, T, H·dh]` → per-head rows `[b, H, T, dh]` (HF's `transpose_for_scores`): a strided view, which the
    /// CPU backend (burn-flex) and the GPU backends multiply without copying it.
    fn heads(&self, x: Tensor<B, 3>) -> Tensor<B, 4> {
        let [b, t, _] = x.dims();
        let (h, dh) = (self.shape.heads, self.shape.head_size);
        x.reshape([b, t, h, dh]).swap_dims(1, 2)
    }

    /// Projected relative-embedding rows, per head: `[1, H, n, dh]` (a view; the products with Q and K broadcast
    /// it over the batch, and their backward sums over it), for the 2T − 1 distances (`rows`: n = 2T − 1) or for
    /// every row of the table (`None`: n = 2·span, HF's form). For the distances, projects only the selected rows
    /// when 2T − 1 < 2·span, else all 2·span rows and then selects (rows of a 2-D tensor: a cheap gather); the
    /// values are the same either way.
    fn positions(&self, rel: &Tensor<B, 2>, rows: Option<&Tensor<B, 1, Int>>, query_side: bool) -> Tensor<B, 4> {
        let project = |x: Tensor<B, 2>| match (query_side, self.shape.share_att_key) {
            (false, true) => self.key_proj.forward_static(x),
            (true, true) => self.query_proj.forward_static(x),
            (false, false) => self.pos_key_proj.as_ref().expect("c2p has pos_key_proj").forward(x),
            (true, false) => self.pos_query_proj.as_ref().expect("p2c has pos_query_proj").forward(x),
        };
        let projected = match rows {
            None => project(rel.clone()),
            Some(rows) if rows.dims()[0] < rel.dims()[0] => project(rel.clone().select(0, rows.clone())),
            Some(rows) => project(rel.clone()).select(0, rows.clone()),
        };
        let n = projected.dims()[0];
        let (h, dh) = (self.shape.heads, self.shape.head_size);
        projected.reshape([1, n, h, dh]).swap_dims(1, 2)
    }

    /// `x` `[b, T, d]`, gates `[b, T, R]` (spectral adapters), `key_mask` `[b, H, T, T]` (true = padding key) →
    /// `[b, T, d]`.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        gates: Option<&Tensor<B, 3>>,
        key_mask: Tensor<B, 4, Bool>,
        rel: Option<&RelativeContext<B>>,
    ) -> Tensor<B, 3> {
        let t = x.dims()[1];
        let scale = self.shape.scale();
        let q = self.query_proj.forward(x.clone(), gates);
        // 1/σ is applied to Q or K (`[b, T, d]`) rather than to the `[b, H, T, T]` terms: the same sums up to
        // f32 rounding, two fewer passes over T² values.
        let k = self.heads(self.key_proj.forward(x.clone(), gates).div_scalar(scale));
        let v = self.heads(self.value_proj.forward(x.clone(), gates));
        let qk = matmul(self.heads(q.clone()), k.clone().swap_dims(2, 3));
        let (mut c2p, mut p2c) = (None, None);
        if let (true, Some(rel)) = (self.shape.relative, rel) {
            let r = dropout(&self.rel_dropout, rel.embeddings.clone());
            // HF's form (products with the 2·span table rows, read by index) where the fused kernel reads it and
            // the table is shorter than the 2T − 1 distances; else the products per distance.
            let table = own_kernels::<B>(x.dtype()) && 2 * t - 1 > r.dims()[0];
            let term = |values: Tensor<B, 4>, index: &Arc<Vec<usize>>| RelativeTerm {
                values,
                rows: table.then(|| index.clone()),
            };
            if self.shape.c2p {
                let pos_k = self.positions(&r, (!table).then_some(&rel.c2p_rows), false);
                let values = matmul(self.heads(q.div_scalar(scale)), pos_k.swap_dims(2, 3));
                c2p = Some(term(values, &rel.c2p_index));
            }
            if self.shape.p2c {
                let pos_q = self.positions(&r, (!table).then_some(&rel.p2c_rows), true);
                p2c = Some(term(matmul(k, pos_q.swap_dims(2, 3)), &rel.p2c_index));
            }
        }
        let probs = dropout(&self.probs_dropout, disentangled_softmax(qk, c2p, p2c, key_mask));
        let context = attention_context(probs, v);
        self.output.forward(context, x, gates)
    }
}
