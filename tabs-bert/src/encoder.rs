//! The encoder: L post-LayerNorm layers (attention → FFN, HF `BertLayer`), and per layer the TABS gates computed
//! from the layer's input, shared by the layer's target maps.
//!
//! Layer: a = Attention(x); out = LayerNorm(dropout(output.dense(act(intermediate.dense(a)))) + a).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};
use tabs::{AdaptedLinear, LayerGates, SpectralGates, TokenMask};

use crate::attention::Attention;
use crate::config::{Activation, BertConfig};
use crate::weights::{IfMissing, Weights};

/// One transformer layer (`encoder.layer.N.*`).
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
    pub fn new(c: &BertConfig, w: &mut Weights, i: usize, device: &B::Device) -> Self {
        let p = format!("encoder.layer.{i}");
        let (d, f) = (c.hidden_size, c.intermediate_size);
        Self {
            attention: Attention::new(c, w, &format!("{p}.attention"), device),
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
        }
    }

    /// `x` `[b, T, d]` → `[b, T, d]`.
    pub fn forward(&self, x: Tensor<B, 3>, gates: Option<&Tensor<B, 3>>, key_mask: Tensor<B, 4, Bool>) -> Tensor<B, 3> {
        let a = self.attention.forward(x, gates, key_mask);
        let h = self.act.apply(self.intermediate.forward(a.clone(), gates));
        let out = self.dropout.forward(self.output_dense.forward(h, gates));
        self.output_norm.forward(out + a)
    }
}

/// The encoder (`encoder.*`).
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    /// `encoder.layer.*`.
    pub layers: Vec<Layer<B>>,
}

impl<B: Backend> Encoder<B> {
    /// Build from weights.
    pub fn new(c: &BertConfig, w: &mut Weights, device: &B::Device) -> Self {
        Self {
            layers: (0..c.num_hidden_layers).map(|i| Layer::new(c, w, i, device)).collect(),
        }
    }

    /// Run all layers. `mask` `[b, T]` (1.0 real); `gating` = the gate sources with the token mask when adapters
    /// are gated: layer ℓ's gates come from layer ℓ's input. Returns the last hidden state and each layer's gates.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        mask: Tensor<B, 2>,
        gating: Option<(&SpectralGates<B>, &TokenMask<B>)>,
    ) -> (Tensor<B, 3>, Vec<LayerGates<B>>) {
        let [b, t, _] = x.dims();
        let key_mask = mask.equal_elem(0.0).reshape([b, 1, 1, t]);
        let mut h = x;
        let mut all = Vec::new();
        // ANCHOR: layer_gates
        for (i, layer) in self.layers.iter().enumerate() {
            // Layer i's gates come from layer i's input; its target maps share them.
            let g = gating.map(|(gates, tm)| gates.forward(i, h.clone(), tm));
            h = layer.forward(h, g.as_ref().map(|g| &g.gates), key_mask.clone());
            all.extend(g);
        }
        // ANCHOR_END: layer_gates
        (h, all)
    }
}
