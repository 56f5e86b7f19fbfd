//! The compute budget: B(T) = ⌊ρ·T⌋ + c (optionally capped), the inference guarantee (top-B cut), the training
//! projection (threshold shift found by bisection) and the budget losses (relative-excess penalty, Lagrangian).
//!
//! All tensor functions work on *groups*: a group is one (layer, sequence) for `Token` and `Sequence`
//! granularity, or all layers together for `Layer` granularity. A group holds N items (gate logits) with a
//! cost each (how many (token, direction) pairs the item activates: 1 for a token's direction, T_b for a
//! sequence-shared direction, 0 for padding) and a budget. Shapes: logits/cost `[G, N]`, budget `[G]`.

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, IndexingUpdateOp, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TabsError};
use crate::gate::sigmoid;

/// How the expected count is pushed towards the budget in training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Penalty {
    /// λ · Σ_ℓ mean_b (max(0, E[r_{ℓ,b}] − B_b) / B_b)².
    RelativeExcess {
        /// λ.
        lambda: f64,
    },
    /// CoFi-style λ₁·d + λ₂·d² with d = mean_b (E[r_{ℓ,b}] − B_b)/B_b summed over layers, λ₁, λ₂ trained by
    /// gradient ascent (see [`Lagrangian`]); hits the budget instead of only penalising excess.
    Lagrangian,
}

impl Default for Penalty {
    fn default() -> Self {
        Penalty::RelativeExcess { lambda: 1.0 }
    }
}

/// The budget and how it is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetConfig {
    /// ρ: active directions per real token on average (default 8).
    pub rho: f64,
    /// c: a constant allowance per (layer, sequence) (default 0).
    pub offset: usize,
    /// Optional absolute cap on B(T).
    pub cap: Option<usize>,
    /// Training: shift logits so the expected count never exceeds B (default on; off = "no projection").
    pub projection: bool,
    /// Inference: keep only the B highest-logit active pairs (default on; the hard guarantee).
    pub inference_cut: bool,
    /// The budget loss.
    pub penalty: Penalty,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            rho: 8.0,
            offset: 0,
            cap: None,
            projection: true,
            inference_cut: true,
            penalty: Penalty::default(),
        }
    }
}

impl BudgetConfig {
    /// Check ranges: ρ finite and ≥ 0, λ finite and ≥ 0.
    pub fn validate(&self) -> Result<()> {
        if !self.rho.is_finite() || self.rho < 0.0 {
            return Err(TabsError::InvalidConfig {
                field: "budget.rho",
                reason: format!("expected a finite ρ ≥ 0, got {}", self.rho),
            });
        }
        if let Penalty::RelativeExcess { lambda } = self.penalty {
            if !lambda.is_finite() || lambda < 0.0 {
                return Err(TabsError::InvalidConfig {
                    field: "budget.penalty.lambda",
                    reason: format!("expected a finite λ ≥ 0, got {lambda}"),
                });
            }
        }
        Ok(())
    }

    /// B(T) = min(⌊ρ·T⌋ + c, cap) for a sequence of T real tokens (B(0) = 0).
    pub fn budget(&self, t: usize) -> usize {
        if t == 0 {
            return 0;
        }
        // The 1e-9 guards against ρ·T landing a hair below an integer in floating point (e.g. 0.1·30).
        let b = (self.rho * t as f64 + 1e-9).floor() as usize + self.offset;
        match self.cap {
            Some(cap) => b.min(cap),
            None => b,
        }
    }

    /// The global budget of `Layer` granularity over `num_layers` layers: min(⌊ρ·L⌋ + c, cap).
    pub fn global_budget(&self, num_layers: usize) -> usize {
        self.budget(num_layers)
    }
}

/// Upper end of the bisection interval for τ: with logits clamped to ±10, σ(10 + 1.6 − 50) ≈ 2e-17, so any
/// group of up to 10¹⁵ items fits a budget of 1 at τ = 50.
pub const TAU_MAX: f64 = 50.0;

/// Bisection steps of the projection (interval TAU_MAX / 2⁴⁰ ≈ 5e-11, below f32 resolution).
pub const PROJECTION_STEPS: usize = 40;

/// Training projection: the smallest τ_g ≥ 0 (to bisection accuracy, always on the feasible side) with
///
/// Σ_n cost_{g,n} · σ(ℓ_{g,n} − τ_g − shift) ≤ budget_g,
///
/// where `shift` = β·log(−γ/ζ) (so the summand is the HardConcrete P(z ≠ 0) of the shifted logit).
/// τ = 0 where the group already fits; groups with budget 0 get τ = [`TAU_MAX`] (callers zero their gates).
/// Runs on the device without host synchronisation and returns τ *detached*: `[G]`.
///
/// - `logits`: `[G, N]`; `cost`: `[G, N]` (≥ 0); `budget`: `[G]`.
pub fn projection_shift<B: Backend>(
    logits: Tensor<B, 2>,
    cost: Tensor<B, 2>,
    budget: Tensor<B, 1>,
    shift: f64,
) -> Tensor<B, 1> {
    let base = logits.detach().sub_scalar(shift);
    let cost = cost.detach();
    let budget = budget.detach();
    let [g, _] = base.dims();
    let device = base.device();
    let count = |tau: Tensor<B, 1>| -> Tensor<B, 1> {
        (sigmoid(base.clone() - tau.unsqueeze_dim(1)) * cost.clone())
            .sum_dim(1)
            .squeeze_dim(1)
    };
    let zeros = Tensor::<B, 1>::zeros([g], &device);
    let fits_at_zero = count(zeros.clone()).lower_equal(budget.clone());
    let mut lo = zeros.clone();
    let mut hi = Tensor::<B, 1>::full([g], TAU_MAX, &device).mask_where(fits_at_zero, zeros);
    for _ in 0..PROJECTION_STEPS {
        let mid = (lo.clone() + hi.clone()).mul_scalar(0.5);
        let fits = count(mid.clone()).lower_equal(budget.clone());
        hi = hi.mask_where(fits.clone(), mid.clone());
        lo = mid.mask_where(fits, lo);
    }
    // With B = 0 nothing fits but σ = 0 exactly, which happens where the backend's f32 tanh saturates (a
    // backend-dependent point): pin those groups to TAU_MAX so τ is the same everywhere.
    let empty = budget.lower_equal_elem(0.0);
    hi.mask_where(empty, Tensor::full([g], TAU_MAX, &device)).detach()
}

/// Inference guarantee: among the active items, keep those of highest logit while the cumulative cost stays
/// within the budget (for unit costs: the top-B), zero the rest. Exact under ties (ranks come from one sort),
/// so Σ_n keep_{g,n}·cost_{g,n} ≤ budget_g holds for every group, always.
///
/// - `logits`: `[G, N]`; `active`: `[G, N]` (items whose gate is non-zero); `cost`: `[G, N]` (≥ 0);
///   `budget`: `[G]`. Returns `keep`: `[G, N]` as 0/1 floats.
pub fn budget_cut<B: Backend>(
    logits: Tensor<B, 2>,
    active: Tensor<B, 2, Bool>,
    cost: Tensor<B, 2>,
    budget: Tensor<B, 1>,
) -> Tensor<B, 2> {
    let logits = logits.detach();
    let active = active.float();
    let (_, order) = logits.clone().sort_descending_with_indices(1);
    let active_sorted = active.gather(1, order.clone());
    let cost_sorted = cost.detach().gather(1, order.clone()) * active_sorted.clone();
    let cumulative = cost_sorted.cumsum(1);
    let within = cumulative.lower_equal(budget.detach().unsqueeze_dim(1)).float();
    let keep_sorted = within * active_sorted;
    logits
        .zeros_like()
        .scatter(1, order, keep_sorted, IndexingUpdateOp::Add)
}

/// Relative-excess penalty of one budget group family: mean_g (max(0, E_g − B_g) / max(B_g, 1))². `[1]`.
pub fn relative_excess<B: Backend>(expected: Tensor<B, 1>, budget: Tensor<B, 1>) -> Tensor<B, 1> {
    let denom = budget.clone().clamp_min(1.0);
    relu(expected - budget).div(denom).square().mean()
}

/// Signed relative deviation mean_g (E_g − B_g) / max(B_g, 1). `[1]`.
pub fn relative_deviation<B: Backend>(expected: Tensor<B, 1>, budget: Tensor<B, 1>) -> Tensor<B, 1> {
    let denom = budget.clone().clamp_min(1.0);
    (expected - budget).div(denom).mean()
}

/// CoFi-style Lagrangian multipliers λ₁, λ₂ for the budget constraint d = 0 (d: relative deviation).
///
/// [`Lagrangian::loss`] returns λ̄₁·d + λ̄₂·d² − (λ₁·d̄ + λ₂·d̄²) + (λ̄₁·d̄ + λ̄₂·d̄²), where a bar means detached:
/// its value is λ₁d + λ₂d², its gradient w.r.t. the model is λ₁∂d + 2λ₂d∂d (descent), and its gradient
/// w.r.t. λ is (−d, −d²), so an ordinary minimising optimiser performs gradient *ascent* on the multipliers.
#[derive(Module, Debug)]
pub struct Lagrangian<B: Backend> {
    /// λ₁ `[1]`, starts at 0.
    pub lambda1: Param<Tensor<B, 1>>,
    /// λ₂ `[1]`, starts at 0.
    pub lambda2: Param<Tensor<B, 1>>,
}

impl<B: Backend> Lagrangian<B> {
    /// Multipliers at 0.
    pub fn new(device: &B::Device) -> Self {
        Self {
            lambda1: Param::from_tensor(Tensor::zeros([1], device)),
            lambda2: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }

    /// The Lagrangian term for a relative deviation `d` `[1]`. `[1]`.
    pub fn loss(&self, d: Tensor<B, 1>) -> Tensor<B, 1> {
        let l1 = self.lambda1.val();
        let l2 = self.lambda2.val();
        let dd = d.clone().detach();
        let model_side = l1.clone().detach() * d.clone() + l2.clone().detach() * d.square();
        let ascent_side = l1.clone() * dd.clone() + l2.clone() * dd.clone().square();
        let value_fix = (l1.detach() * dd.clone() + l2.detach() * dd.square()).detach();
        model_side - ascent_side + value_fix
    }
}
