//! The encoder skeleton every backbone shares: embeddings → L post-LayerNorm layers, with the TABS gates of
//! layer ℓ computed from layer ℓ's input and shared by that layer's target maps.
//!
//! Layer: a = Attention(x); out = LayerNorm(dropout(output.dense(act(intermediate.dense(a)))) + a), where the
//! four attention maps and both FFN maps are [`tabs::AdaptedLinear`]s fed the layer's gates `[b, T, R]`.
//! A backbone supplies its config ([`Architecture`]), embeddings ([`Embed`]) and attention ([`SelfAttention`]).

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};
use tabs::{AdaptedLinear, LayerGates, SpectralGates, TokenMask};

use crate::activation::Activation;
use crate::add_norm::AddNorm;
use crate::architecture::{Architecture, Embed, FromWeights, SelfAttention};
use crate::error::ModelError;
use crate::input::EncoderInput;
use crate::weights::{IfMissing, Weights};

/// One transformer layer (`encoder.layer.N.*`) around the backbone's attention `A`.
#[derive(Module, Debug)]
pub struct Layer<B: Backend, A: Module<B>> {
    /// `attention.*`.
    pub attention: A,
    /// `intermediate.dense` (d → FFN width).
    pub intermediate: AdaptedLinear<B>,
    /// `output.dense` (FFN width → d) → dropout → `output.LayerNorm`(· + attention output).
    pub output: AddNorm<B>,
    /// FFN activation.
    #[module(skip)]
    pub act: Activation,
}

impl<B: Backend, A: SelfAttention<B>> Layer<B, A> {
    /// Build layer `i` from weights.
    pub fn new<C: Architecture>(c: &C, w: &mut Weights, i: usize, device: &B::Device) -> Self
    where
        A: FromWeights<B, C>,
    {
        let p = format!("encoder.layer.{i}");
        let (d, f) = (c.hidden_size, c.intermediate_size);
        let intermediate = w.linear(&format!("{p}.intermediate.dense"), d, f, true, IfMissing::Fail, device);
        Self {
            attention: A::from_weights(c, w, &format!("{p}.attention"), device),
            intermediate: AdaptedLinear::plain(intermediate),
            output: AddNorm::new(c, w, &format!("{p}.output"), f, device),
            act: c.hidden_act,
        }
    }

    /// `x` `[b, T, d]` → `[b, T, d]`.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        gates: Option<&Tensor<B, 3>>,
        key_mask: Tensor<B, 4, Bool>,
        ctx: &A::Context,
    ) -> Tensor<B, 3> {
        let a = self.attention.attend(x, gates, key_mask, ctx);
        let h = self.act.apply(self.intermediate.forward(a.clone(), gates));
        self.output.forward(h, a, gates)
    }

    /// The six adaptable maps: query, key, value, attention output, intermediate, output.
    pub fn maps(&self) -> [&AdaptedLinear<B>; 6] {
        let [q, k, v, o] = self.attention.maps();
        [q, k, v, o, &self.intermediate, &self.output.dense]
    }

    /// The same, mutable.
    pub fn maps_mut(&mut self) -> [&mut AdaptedLinear<B>; 6] {
        let [q, k, v, o] = self.attention.maps_mut();
        [q, k, v, o, &mut self.intermediate, &mut self.output.dense]
    }
}

/// The encoder's outputs.
#[derive(Debug, Clone)]
pub struct EncoderOutput<B: Backend> {
    /// `[b, T, d]`.
    pub last_hidden_state: Tensor<B, 3>,
    /// Each layer's gates (empty without gated adapters).
    pub gates: Vec<LayerGates<B>>,
    /// The real-token mask with lengths and budgets (when gated).
    pub token_mask: Option<TokenMask<B>>,
}

/// An encoder (embeddings `E`, layers around attention `A`, config `C`) with optional TABS gates: HF's
/// `BertModel` without its pooler, `DebertaV2Model`.
#[derive(Module, Debug)]
pub struct EncoderModel<B: Backend, E: Module<B>, A: Module<B>, C: Architecture> {
    /// `embeddings.*` (and a backbone's per-forward tables, e.g. DeBERTa's relative embeddings).
    pub embeddings: E,
    /// `encoder.layer.*`.
    pub layers: Vec<Layer<B, A>>,
    /// Gate sources of gated spectral adapters (BHSP / CBSP / TABS).
    pub gates: Option<SpectralGates<B>>,
    /// The configuration.
    #[module(skip)]
    pub config: C,
}

/// The smallest and largest value of an id tensor (a host read).
fn extremes<B: Backend>(x: &Tensor<B, 2, Int>) -> (i64, i64) {
    let read = |v: Tensor<B, 1, Int>| {
        v.into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .ok()
            .and_then(|v| v.first().copied())
            .unwrap_or(0)
    };
    (read(x.clone().min()), read(x.clone().max()))
}

impl<B, E, A, C> EncoderModel<B, E, A, C>
where
    B: Backend,
    C: Architecture,
    E: Embed<B> + FromWeights<B, C>,
    A: SelfAttention<B, Context = E::Context> + FromWeights<B, C>,
{
    /// Build from a parameter source.
    pub fn new(config: &C, w: &mut Weights, device: &B::Device) -> Self {
        Self {
            embeddings: E::from_weights(config, w, "embeddings", device),
            layers: (0..config.num_hidden_layers)
                .map(|i| Layer::new(config, w, i, device))
                .collect(),
            gates: None,
            config: config.clone(),
        }
    }

    /// Check inputs against the config: matching shapes, T ≥ 1 and T ≤ the position limit of an
    /// absolute-position model ([`Architecture::max_length`]), ids < vocab, token types < type_vocab_size
    /// (ignored without token-type embeddings, as in transformers). (Host read of the ids.)
    pub fn validate(&self, input: &EncoderInput<B>) -> Result<(), ModelError> {
        let c = &self.config;
        let bad = |m: String| Err(ModelError::Input(m));
        let [b, t] = input.input_ids.dims();
        if b == 0 || t == 0 {
            return bad(format!("empty batch: input_ids has shape [{b}, {t}]"));
        }
        if input.attention_mask.dims() != [b, t] {
            return bad(format!(
                "attention_mask has shape {:?}, input_ids [{b}, {t}]",
                input.attention_mask.dims()
            ));
        }
        if let Some(max) = c.max_length().filter(|&max| t > max) {
            return bad(format!(
                "sequence length {t} exceeds max_position_embeddings {max} of a model with absolute positions"
            ));
        }
        let (lo, hi) = extremes(&input.input_ids);
        if lo < 0 || hi as usize >= c.vocab_size {
            return bad(format!(
                "input_ids must be in [0, {}), found values in [{lo}, {hi}]",
                c.vocab_size
            ));
        }
        if let Some(tt) = input.token_type_ids.as_ref().filter(|_| c.type_vocab_size > 0) {
            if tt.dims() != [b, t] {
                return bad(format!(
                    "token_type_ids has shape {:?}, input_ids [{b}, {t}]",
                    tt.dims()
                ));
            }
            let (lo, hi) = extremes(tt);
            if lo < 0 || hi as usize >= c.type_vocab_size {
                return bad(format!(
                    "token_type_ids must be in [0, {}), found values in [{lo}, {hi}]",
                    c.type_vocab_size
                ));
            }
        }
        Ok(())
    }

    /// Encode a batch (inputs assumed valid, see [`EncoderModel::validate`]). Gates (if any) follow the
    /// backend's mode: sampled with projection under autodiff, deterministic with the budget cut otherwise.
    pub fn forward(&self, input: &EncoderInput<B>) -> EncoderOutput<B> {
        let mask = input.attention_mask.clone().not_equal_elem(0).float();
        let token_types = input
            .token_type_ids
            .clone()
            .unwrap_or_else(|| input.input_ids.zeros_like());
        let (x, ctx) = self
            .embeddings
            .embed(input.input_ids.clone(), token_types, mask.clone());
        let token_mask = self.gates.as_ref().map(|g| g.token_mask(mask.clone()));
        let [b, t, _] = x.dims();
        // The padding mask `[b, H, T, T]`, materialised once per forward (H = heads): every layer masks its scores
        // with it, and the CPU backend walks a broadcast (stride-0) mask element by element at b > 1, where a
        // contiguous one is copied in blocks (burn-flex; 11 % of a batch-4 forward at 512 tokens, `perf`).
        let heads = self.config.num_attention_heads;
        let key_mask = mask
            .equal_elem(0.0)
            .reshape([b, 1, 1, t])
            .repeat_dim(2, t)
            .repeat_dim(1, heads);
        let mut h = x;
        let mut gates = Vec::new();
        // ANCHOR: layer_gates
        for (i, layer) in self.layers.iter().enumerate() {
            // Layer i's gates come from layer i's input; its target maps share them.
            let g = self
                .gates
                .as_ref()
                .zip(token_mask.as_ref())
                .map(|(sources, tm)| sources.forward(i, h.clone(), tm));
            h = layer.forward(h, g.as_ref().map(|g| &g.gates), key_mask.clone(), &ctx);
            gates.extend(g);
        }
        // ANCHOR_END: layer_gates
        EncoderOutput {
            last_hidden_state: h,
            gates,
            token_mask,
        }
    }

    /// [`EncoderModel::validate`] then [`EncoderModel::forward`].
    pub fn forward_checked(&self, input: &EncoderInput<B>) -> Result<EncoderOutput<B>, ModelError> {
        self.validate(input)?;
        Ok(self.forward(input))
    }

    /// The budget loss of a forward pass's gates (0 without gates).
    pub fn budget_loss(&self, gates: &[LayerGates<B>], device: &B::Device) -> Tensor<B, 1> {
        match &self.gates {
            Some(g) if !gates.is_empty() => g.budget_loss(gates),
            _ => Tensor::zeros([1], device),
        }
    }
}
