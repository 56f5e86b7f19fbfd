//! The encoder: L layers (attention → FFN, post-LayerNorm), relative embeddings with optional LayerNorm,
//! and per layer the TABS gates computed from the layer's input.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, LayerNorm};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};
use tabs::{AdaptedLinear, LayerGates, SpectralGates, TokenMask};

use crate::attention::{Attention, RelativeContext};
use crate::config::{Activation, DebertaConfig};
use crate::error::Result;
use crate::relative::distance_rows;
use crate::weights::{IfMissing, Weights};

/// One transformer layer.
#[derive(Module, Debug)]
pub struct Layer<B: Backend> {
    /// `attention.*`.
    pub attention: Attention<B>,
    /// `intermediate.dense` (d → FFN width).
    pub intermediate: AdaptedLinear<B>,
    /// `output.dense` (FFN width → d).
    pub output_dense: AdaptedLinear<B>,
    /// `output.LayerNorm`.
    pub output_norm: LayerNorm<B>,
    /// Dropout after `output.dense`.
    pub dropout: Dropout,
    /// FFN activation.
    #[module(skip)]
    pub act: Activation,
}

impl<B: Backend> Layer<B> {
    /// Build layer `i` from weights.
    pub fn new(c: &DebertaConfig, w: &mut Weights, i: usize, device: &B::Device) -> Result<Self> {
        let p = format!("encoder.layer.{i}");
        let (d, f) = (c.hidden_size, c.intermediate_size);
        Ok(Self {
            attention: Attention::new(c, w, &format!("{p}.attention"), device)?,
            intermediate: AdaptedLinear::plain(w.linear(
                &format!("{p}.intermediate.dense"),
                d,
                f,
                true,
                IfMissing::Fail,
                device,
            )),
            output_dense: AdaptedLinear::plain(w.linear(
                &format!("{p}.output.dense"),
                f,
                d,
                true,
                IfMissing::Fail,
                device,
            )),
            output_norm: w.layer_norm(&format!("{p}.output.LayerNorm"), d, c.layer_norm_eps, device),
            dropout: DropoutConfig::new(c.hidden_dropout_prob).init(),
            act: c.hidden_act,
        })
    }

    /// `x` `[b, T, d]` → `[b, T, d]`.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        gates: Option<&Tensor<B, 3>>,
        key_mask: Tensor<B, 4, Bool>,
        rel: Option<&RelativeContext<B>>,
    ) -> Tensor<B, 3> {
        let a = self.attention.forward(x, gates, key_mask, rel);
        let h = self.act.apply(self.intermediate.forward(a.clone(), gates));
        let out = self.dropout.forward(self.output_dense.forward(h, gates));
        self.output_norm.forward(out + a)
    }
}

/// The encoder.
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    /// `encoder.layer.*`.
    pub layers: Vec<Layer<B>>,
    /// `encoder.rel_embeddings.weight` `[2·span, d]` (relative attention).
    pub rel_embeddings: Option<Param<Tensor<B, 2>>>,
    /// `encoder.LayerNorm` on relative embeddings (`norm_rel_ebd` = layer_norm).
    pub rel_norm: Option<LayerNorm<B>>,
    /// Relative-position settings.
    #[module(skip)]
    pub positions: RelativeSettings,
}

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

impl<B: Backend> Encoder<B> {
    /// Build from weights.
    pub fn new(c: &DebertaConfig, w: &mut Weights, device: &B::Device) -> Result<Self> {
        let layers = (0..c.num_hidden_layers)
            .map(|i| Layer::new(c, w, i, device))
            .collect::<Result<Vec<_>>>()?;
        let span = c.att_span();
        Ok(Self {
            layers,
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
        })
    }

    /// The relative context for sequences of length `t`.
    pub fn relative_context(&self, t: usize, device: &B::Device) -> Option<RelativeContext<B>> {
        let table = self.rel_embeddings.as_ref()?;
        let s = self.positions;
        let embeddings = match &self.rel_norm {
            Some(ln) => ln.forward(table.val()),
            None => table.val(),
        };
        let (c2p, p2c) = distance_rows(t, s.buckets, s.max_relative_positions, s.span);
        let n = c2p.len();
        let to_t = |v: Vec<i64>| Tensor::<B, 1, Int>::from_data(TensorData::new(v, [n]), device);
        Some(RelativeContext {
            embeddings,
            c2p_rows: to_t(c2p),
            p2c_rows: to_t(p2c),
        })
    }

    /// Run all layers. `mask` `[b, T]` (1.0 real); `gates` with the token mask when adapters are gated.
    /// Returns the last hidden state and each layer's gates.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        mask: Tensor<B, 2>,
        gating: Option<(&SpectralGates<B>, &TokenMask<B>)>,
    ) -> (Tensor<B, 3>, Vec<LayerGates<B>>) {
        let [b, t, _] = x.dims();
        let device = x.device();
        let key_mask = mask.equal_elem(0.0).reshape([b, 1, 1, t]);
        let rel = self.relative_context(t, &device);
        let mut h = x;
        let mut all = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let g = gating.map(|(gates, tm)| gates.forward(i, h.clone(), tm));
            h = layer.forward(h, g.as_ref().map(|g| &g.gates), key_mask.clone(), rel.as_ref());
            all.extend(g);
        }
        (h, all)
    }
}
