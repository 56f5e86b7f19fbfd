//! A frozen linear map with an optional adapter — the one type models use for every target map.
//!
//! y = x·Wᵀ + b (frozen `Linear`, weight `[d_in, d_out]`) plus one of:
//! - nothing;
//! - LoRA: + (α/r)·x·A·B, or merged into W;
//! - gated spectral: + α·[Ũ diag(s ⊙ g_t) Ṽᵀ − U_R diag(s ⊙ g_t) V_Rᵀ]·h_t with the layer's gates g.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::lora::{Lora, LoraConfig};
use crate::matmul::matmul;
use crate::spectral::{GatedSpectral, SpectralBasis, SpectralConfig};

/// Which adapter a target map gets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AdapterConfig {
    /// Frozen map only.
    None,
    /// LoRA.
    Lora(LoraConfig),
    /// Gated spectral adapter (BHSP, CBSP, TABS: the granularity lives in [`crate::SpectralGates`]).
    Spectral(SpectralConfig),
}

/// A frozen linear map plus an optional adapter.
#[derive(Module, Debug)]
pub struct AdaptedLinear<B: Backend> {
    /// The frozen map (weight `[d_in, d_out]`, bias `[d_out]`), never trained.
    pub base: Linear<B>,
    /// LoRA update, if any.
    pub lora: Option<Lora<B>>,
    /// Gated spectral adapter, if any.
    pub spectral: Option<GatedSpectral<B>>,
    /// Whether the LoRA update is merged into `base` (then `forward` skips it).
    pub lora_merged: bool,
}

impl<B: Backend> AdaptedLinear<B> {
    /// A plain map with no adapter, left as trainable as it was given (e.g. for full fine-tuning); attach an
    /// adapter later with [`AdaptedLinear::new`] on its `base`.
    pub fn plain(base: Linear<B>) -> Self {
        Self {
            base,
            lora: None,
            spectral: None,
            lora_merged: false,
        }
    }

    /// Wrap a linear map, freezing it, and attach the configured adapter (the spectral one computes an SVD).
    pub fn new(base: Linear<B>, adapter: &AdapterConfig) -> Result<Self> {
        let base = base.no_grad();
        let [d_in, d_out] = base.weight.dims();
        let device = base.weight.device();
        let (lora, spectral) = match adapter {
            AdapterConfig::None => (None, None),
            AdapterConfig::Lora(c) => (Some(c.init(d_in, d_out, &device)), None),
            AdapterConfig::Spectral(c) => {
                let basis = SpectralBasis::of_burn_weight(&base.weight.val(), c.rank)?;
                (None, Some(GatedSpectral::new(&basis, c, &device)))
            }
        };
        Ok(Self {
            base,
            lora,
            spectral,
            lora_merged: false,
        })
    }

    /// (d_in, d_out).
    pub fn dims(&self) -> (usize, usize) {
        let [d_in, d_out] = self.base.weight.dims();
        (d_in, d_out)
    }

    /// y for x `[batch, T, d_in]` and the layer's gates `[batch, T, R]` → `[batch, T, d_out]`.
    /// A spectral adapter given no gates uses g ≡ 1 (plain Spectral Adapter^A); LoRA and frozen maps ignore
    /// the gates.
    pub fn forward(&self, x: Tensor<B, 3>, gates: Option<&Tensor<B, 3>>) -> Tensor<B, 3> {
        let mut y = self.forward_static(x.clone());
        if let Some(spectral) = &self.spectral {
            let [b, t, _] = x.dims();
            let g = match gates {
                Some(g) => g.clone(),
                None => Tensor::ones([b, t, spectral.rank()], &x.device()),
            };
            y = y + spectral.delta(x, g);
        }
        y
    }

    /// The map for inputs that are not tokens (e.g. DeBERTa's relative-position embeddings projected by
    /// `key_proj`/`query_proj`): frozen map + LoRA (as peft applies it to every call), *without* the gated
    /// spectral term (g ≡ 0): gates and budgets are per token, and these rows are not tokens.
    /// `x`: `[..., d_in]` → `[..., d_out]`, computed on the rows flattened to `[N, d_in]`: one 2-D GEMM per term,
    /// whose backward multiplies by a transposed view of W (burn's `linear` backward copies Wᵀ contiguous on
    /// every call, and multiplies per batch element).
    pub fn forward_static<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let mut out = x.dims();
        let d_in = out[D - 1];
        out[D - 1] = self.base.weight.dims()[1];
        let rows = x.reshape([-1, d_in as i32]);
        let mut y = matmul(rows.clone(), self.base.weight.val());
        if let Some(bias) = &self.base.bias {
            y = y + bias.val().unsqueeze_dim(0);
        }
        if let (Some(lora), false) = (&self.lora, self.lora_merged) {
            y = y + lora.forward(rows);
        }
        y.reshape(out)
    }

    /// Merge the LoRA update into the frozen weight (W ← W + (α/r)AB); no-op without LoRA or when merged.
    pub fn merge_lora(mut self) -> Self {
        if let (Some(lora), false) = (&self.lora, self.lora_merged) {
            let w = self.base.weight.val() + lora.delta_weight();
            self.base.weight = self.base.weight.clone().map(|_| w.detach());
            self.lora_merged = true;
        }
        self
    }

    /// Undo [`AdaptedLinear::merge_lora`] (W ← W − (α/r)AB).
    pub fn unmerge_lora(mut self) -> Self {
        if let (Some(lora), true) = (&self.lora, self.lora_merged) {
            let w = self.base.weight.val() - lora.delta_weight();
            self.base.weight = self.base.weight.clone().map(|_| w.detach());
            self.lora_merged = false;
        }
        self
    }

    /// Trainable adapter parameters of this map.
    pub fn trainable_params(&self) -> usize {
        self.lora.as_ref().map_or(0, |l| l.trainable_params())
            + self.spectral.as_ref().map_or(0, |s| s.trainable_params())
    }
}
