//! Gate decisions without a model: logits drawn from a *stated* distribution go through `tabs`' own gate code
//! ([`SpectralGates::gates_from_logits`] in [`GateMode::Eval`]: clamp → deterministic or binary gate → top-B cut
//! when the method has one), so counts, budgets and cuts are exactly those of a real forward pass.
//!
//! Distribution: ℓ ~ N(μ, σ²) i.i.d., one draw per (token, direction) for `Token` granularity (TABS), per
//! (sequence, direction) for `Sequence` (CBSP), per (layer, direction) for `Layer` (BHSP, one draw per batch:
//! its gates do not depend on the input). μ defaults to the initial logit ℓ₀ of the configuration
//! (P(z ≠ 0) = ρ/R: ℓ₀ ≈ −1.60 for ρ = 8, R = 16); σ defaults to 2 (a spread of a trained controller: a token's
//! logits cover the zero-gate threshold log(1/11) ≈ −2.40 and the one-gate threshold 2.40).
//!
//! Shapes: lengths `[b]` → logits `[b, T, R]` (Token), `[b, 1, R]` (Sequence); every layer's gates `[b, T, R]`.

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tabs::{GateMode, GatingConfig, Granularity, LayerGates, SpectralGates, TokenMask};

use crate::lengths::normal;

/// ℓ ~ N(μ, σ²); μ = None means the configuration's initial logit ℓ₀.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogitDist {
    /// μ (None: ℓ₀ of the gating configuration).
    pub mean: Option<f64>,
    /// σ.
    pub std: f64,
}

impl Default for LogitDist {
    fn default() -> Self {
        LogitDist { mean: None, std: 2.0 }
    }
}

impl LogitDist {
    /// μ for a configuration.
    pub fn mean_for(&self, cfg: &GatingConfig) -> f64 {
        self.mean.unwrap_or_else(|| cfg.init_logit())
    }

    /// The distribution in words, for result files.
    pub fn describe(&self, cfg: &GatingConfig) -> String {
        format!(
            "logits i.i.d. N({:.3}, {:.3}^2){}",
            self.mean_for(cfg),
            self.std,
            if self.mean.is_none() {
                " (mean = initial logit l0)"
            } else {
                ""
            }
        )
    }

    fn sample(&self, cfg: &GatingConfig, n: usize, rng: &mut StdRng) -> Vec<f32> {
        let mu = self.mean_for(cfg);
        (0..n).map(|_| (mu + self.std * normal(rng)) as f32).collect()
    }
}

/// Gate sources for simulated logits (controllers are built but unused; `Layer` logits are overwritten per draw).
pub fn gate_sources<B: Backend>(cfg: GatingConfig, layers: usize, device: &B::Device) -> SpectralGates<B> {
    SpectralGates::new(cfg, 8, layers, device).expect("a valid gating configuration")
}

/// One batch of simulated inference gates: the mask (lengths, budgets) and every layer's gates.
pub fn simulate<B: Backend>(
    gates: &mut SpectralGates<B>,
    lengths: &[usize],
    dist: &LogitDist,
    rng: &mut StdRng,
    device: &B::Device,
) -> (TokenMask<B>, Vec<LayerGates<B>>) {
    let cfg = gates.config;
    let r = cfg.rank;
    let b = lengths.len();
    let t = lengths.iter().copied().max().unwrap_or(1).max(1);
    let mask = TokenMask::<B>::from_lengths(lengths, t, &cfg.budget, device);
    let hc = cfg.hard_concrete;
    if cfg.granularity == Granularity::Layer {
        for source in gates.layers.iter_mut() {
            let v = dist.sample(&cfg, r, rng);
            source.logits = Some(Param::from_tensor(Tensor::from_data(TensorData::new(v, [r]), device)));
        }
    }
    let layers = (0..gates.num_layers())
        .map(|l| {
            let rows = match cfg.granularity {
                Granularity::Token => t,
                Granularity::Sequence | Granularity::Layer => 1,
            };
            let n = if cfg.granularity == Granularity::Layer {
                r
            } else {
                b * rows * r
            };
            let logits = if cfg.granularity == Granularity::Layer {
                Tensor::<B, 3>::zeros([1, 1, r], device)
            } else {
                let v = dist.sample(&cfg, n, rng);
                hc.clamp_logits(Tensor::<B, 3>::from_data(TensorData::new(v, [b, rows, r]), device))
            };
            gates.gates_from_logits(l, logits, &mask, GateMode::Eval)
        })
        .collect();
    (mask, layers)
}

/// Host copy of a 1-D float tensor.
pub fn to_vec<B: Backend>(x: Tensor<B, 1>) -> Vec<f64> {
    x.into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("a float tensor converts to f64")
}
