//! What a backbone family supplies to the shared skeleton ([`crate::encoder`], [`crate::classifier`],
//! [`crate::adapters`]): its config ([`Architecture`]), its embeddings ([`Embed`]) and its self-attention
//! ([`SelfAttention`]). Everything else — the layer's FFN, the per-layer gate loop, input validation, heads,
//! adapter injection and files, checkpoint loading — is written once over these three traits.

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};
use std::path::Path;

use burn::module::{Module, ModuleDisplay};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};
use tabs::AdaptedLinear;

use crate::activation::Activation;
use crate::config::EncoderConfig;
use crate::error::ModelError;
use crate::weights::Weights;

/// The classification head's settings: pooled = act(dense(dropout_p(h₀))), logits = classifier(dropout_c(pooled)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadConfig {
    /// Dropout before the pooler's dense (DeBERTa's `pooler_dropout`; 0 for BERT).
    pub pooler_dropout: f64,
    /// The pooler's activation (DeBERTa's `pooler_hidden_act`; tanh for BERT).
    pub pooler_act: Activation,
    /// Dropout before the classifier (`cls_dropout` / `classifier_dropout`).
    pub classifier_dropout: f64,
}

/// A backbone family, implemented by its validated config type (which derefs to the shared keys).
pub trait Architecture: Deref<Target = EncoderConfig> + DerefMut + Clone + Debug + Send + Sync + 'static {
    /// The default adapter targets: peft `target_modules` names of a layer's six maps, in the order query, key,
    /// value (HF names `attention.self.` + these), attention output, intermediate, output (HF names these).
    const DEFAULT_TARGETS: [&'static str; 6];
    /// The family's HF defaults of the shared keys, as `config.json` text (`BertConfig()` / `DebertaV2Config()`).
    const DEFAULTS: &'static str;
    /// Parse and validate a `config.json` text (`path` names it in errors).
    fn from_json(text: &str, path: &Path) -> Result<Self, ModelError>;
    /// Read and validate a `config.json`.
    fn from_file(path: &Path) -> Result<Self, ModelError> {
        Self::from_json(&crate::config::read_text(path)?, path)
    }
    /// The longest input when positions are absolute (learned position embeddings); `None` when only relative
    /// positions are used (no limit).
    fn max_length(&self) -> Option<usize>;
    /// The classification head's settings.
    fn head(&self) -> HeadConfig;
    /// Checkpoint keys (without the model prefix) that an encoder + head knowingly does not use (pre-training
    /// heads, buffers).
    fn ignored_key(&self, key: &str) -> bool;
}

/// Built from a config and a parameter source (checkpoint tensors or HF's fresh initialisation).
pub trait FromWeights<B: Backend, C>: Sized {
    /// Build from weights under `prefix` (the layer's `encoder.layer.N.attention` for attention blocks; unused
    /// by embeddings, whose keys are fixed).
    fn from_weights(c: &C, w: &mut Weights, prefix: &str, device: &B::Device) -> Self;
}

/// A backbone's embedding block: ids → the first layer's input, plus whatever per-forward context its
/// attention needs (DeBERTa: the relative-position rows; BERT: nothing).
pub trait Embed<B: Backend>: Module<B> + ModuleDisplay {
    /// Shared by every layer of one forward pass.
    type Context;
    /// `input_ids` `[b, T]`, `token_type_ids` `[b, T]`, `mask` `[b, T]` (1.0 real / 0.0 padding) → `[b, T, d]`
    /// and the context.
    fn embed(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Tensor<B, 2, Int>,
        mask: Tensor<B, 2>,
    ) -> (Tensor<B, 3>, Self::Context);
}

/// The rows of an embedding table for a batch of ids, the lookup every backbone's embeddings start from:
/// `table` `[n, e]`, `ids` `[b, T]` → `[b, T, e]` with out[i, t] = table[ids[i, t]].
pub fn lookup<B: Backend>(table: Tensor<B, 2>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
    let [b, t] = ids.dims();
    let e = table.dims()[1];
    table.select(0, ids.reshape([b * t])).reshape([b, t, e])
}

/// A backbone's attention block (`attention.self.*` + `attention.output.*`, post-LayerNorm).
pub trait SelfAttention<B: Backend>: Module<B> + ModuleDisplay {
    /// The per-forward context it reads (the embeddings' [`Embed::Context`]).
    type Context;
    /// `x` `[b, T, d]`, gates `[b, T, R]` (if gated), `key_mask` `[b, H, T, T]` (true = padding key) → `[b, T, d]`.
    fn attend(
        &self,
        x: Tensor<B, 3>,
        gates: Option<&Tensor<B, 3>>,
        key_mask: Tensor<B, 4, Bool>,
        ctx: &Self::Context,
    ) -> Tensor<B, 3>;
    /// The four adaptable maps: query, key, value, output dense.
    fn maps(&self) -> [&AdaptedLinear<B>; 4];
    /// The same, mutable.
    fn maps_mut(&mut self) -> [&mut AdaptedLinear<B>; 4];
}
