//! HardConcrete gates (Louizos, Welling & Kingma, 2018, "Learning Sparse Neural Networks through L0
//! Regularization"), the stochastic relaxation of a {0, 1} gate used for every spectral direction.
//!
//! With logits ℓ ("log α"), temperature β, stretch interval (γ, ζ) (defaults β = 2/3, γ = −0.1, ζ = 1.1):
//! - training sample: u ~ U(0, 1), z = clamp(σ((log u − log(1 − u) + ℓ)/β)·(ζ − γ) + γ, 0, 1);
//! - probability of being non-zero (the differentiable expected L0): P = σ(ℓ − β·log(−γ/ζ));
//! - inference (deterministic): ẑ = clamp(σ(ℓ)·(ζ − γ) + γ, 0, 1), exactly 0 for ℓ ≤ log(1/11) ≈ −2.40
//!   and exactly 1 for ℓ ≥ log 11 ≈ 2.40 (defaults);
//! - inference (binary, the research card's rule): z = 1[ℓ > 0].

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

/// σ(x) = ½·(1 + tanh(x/2)): overflow-free, and exact to the backend's precision. (burn-ndarray 0.21's
/// `activation::sigmoid` evaluates in f32 even on an f64 backend — measured: 4e-8 error, which breaks f64
/// finite-difference checks — so the crate uses this form everywhere.)
pub fn sigmoid<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.mul_scalar(0.5).tanh().add_scalar(1.0).mul_scalar(0.5)
}

/// The HardConcrete distribution's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HardConcrete {
    /// Temperature β (default 2/3).
    pub beta: f64,
    /// Lower end of the stretch interval γ < 0 (default −0.1).
    pub gamma: f64,
    /// Upper end of the stretch interval ζ > 1 (default 1.1).
    pub zeta: f64,
    /// Logits are bounded to [−clamp, clamp] (default 10) by a straight-through clamp
    /// ([`HardConcrete::clamp_logits`]): the value is bounded, the gradient is not cut.
    pub logit_clamp: f64,
}

impl Default for HardConcrete {
    fn default() -> Self {
        Self {
            beta: 2.0 / 3.0,
            gamma: -0.1,
            zeta: 1.1,
            logit_clamp: 10.0,
        }
    }
}

/// How gates are computed at inference, before the budget cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum InferenceGate {
    /// Louizos' test-time gate ẑ = clamp(σ(ℓ)(ζ − γ) + γ, 0, 1): keeps active magnitudes consistent with
    /// training.
    #[default]
    Deterministic,
    /// The research card's binary collapse z = 1[ℓ > 0].
    Binary,
}

impl HardConcrete {
    /// β·log(−γ/ζ), the offset between the logit and the log-odds of P(z > 0) (≈ −1.599 by default).
    pub fn l0_shift(&self) -> f64 {
        self.beta * (-self.gamma / self.zeta).ln()
    }

    /// Bound logits to [−c, c] with a straight-through clamp: the value is clamp(ℓ, −c, c) exactly, the gradient
    /// passes as if there were no clamp (∂/∂ℓ = 1 everywhere). A forward clamp would give ∂/∂ℓ = 0 beyond the
    /// bound, so a gate that crossed it could never come back:
    ///
    /// ℓ̂ = clamp(ℓ, −c, c) + (ℓ − sg(ℓ)), sg = stop-gradient (ℓ − sg(ℓ) is exactly 0 in value).
    pub fn clamp_logits<B: Backend, const D: usize>(&self, logits: Tensor<B, D>) -> Tensor<B, D> {
        let bounded = logits.clone().clamp(-self.logit_clamp, self.logit_clamp).detach();
        bounded + (logits.clone() - logits.detach())
    }

    /// P(z ≠ 0) = σ(ℓ − β·log(−γ/ζ)), differentiable in ℓ. Same shape as `logits`.
    pub fn prob_nonzero<B: Backend, const D: usize>(&self, logits: Tensor<B, D>) -> Tensor<B, D> {
        sigmoid(logits.sub_scalar(self.l0_shift()))
    }

    /// A training sample with given uniform noise `u` ∈ (0, 1) (same shape as `logits`):
    /// z = clamp(σ((log u − log(1 − u) + ℓ)/β)·(ζ − γ) + γ, 0, 1).
    pub fn sample_with_noise<B: Backend, const D: usize>(&self, logits: Tensor<B, D>, u: Tensor<B, D>) -> Tensor<B, D> {
        let logistic = u.clone().log() - u.neg().add_scalar(1.0).log();
        let s = sigmoid((logistic + logits).div_scalar(self.beta));
        self.stretch(s)
    }

    /// A training sample, drawing u ~ U(ε, 1 − ε) from the backend's seeded generator (ε = 1e-6).
    pub fn sample<B: Backend, const D: usize>(&self, logits: Tensor<B, D>) -> Tensor<B, D> {
        let eps = 1e-6;
        let u = Tensor::random(logits.shape(), Distribution::Uniform(eps, 1.0 - eps), &logits.device());
        self.sample_with_noise(logits, u)
    }

    /// Louizos' deterministic test-time gate ẑ = clamp(σ(ℓ)·(ζ − γ) + γ, 0, 1).
    pub fn deterministic<B: Backend, const D: usize>(&self, logits: Tensor<B, D>) -> Tensor<B, D> {
        self.stretch(sigmoid(logits))
    }

    /// The inference gate of the chosen rule (before any budget cut).
    pub fn inference<B: Backend, const D: usize>(&self, logits: Tensor<B, D>, rule: InferenceGate) -> Tensor<B, D> {
        match rule {
            InferenceGate::Deterministic => self.deterministic(logits),
            InferenceGate::Binary => logits.greater_elem(0.0).float(),
        }
    }

    /// The logit ℓ₀ at which P(z ≠ 0) = `rate`: ℓ₀ = log(rate/(1 − rate)) + β·log(−γ/ζ).
    /// For ρ = 8 of R = 16 directions (rate ½), ℓ₀ ≈ −1.6.
    pub fn logit_for_rate(&self, rate: f64) -> f64 {
        let rate = rate.clamp(1e-6, 1.0 - 1e-6);
        let l = (rate / (1.0 - rate)).ln() + self.l0_shift();
        l.clamp(-self.logit_clamp, self.logit_clamp)
    }

    /// The logit below which the deterministic gate is exactly 0: σ(ℓ) = −γ/(ζ − γ).
    pub fn deterministic_zero_below(&self) -> f64 {
        let p = -self.gamma / (self.zeta - self.gamma);
        (p / (1.0 - p)).ln()
    }

    fn stretch<B: Backend, const D: usize>(&self, s: Tensor<B, D>) -> Tensor<B, D> {
        s.mul_scalar(self.zeta - self.gamma)
            .add_scalar(self.gamma)
            .clamp(0.0, 1.0)
    }
}
