//! The gates' training schedule (method chapter, "How the gates learn"): a warm-up with every gate on, then a
//! budget that anneals from R to ρ, then ρ.
//!
//! With optimiser step s (0-based: the step whose forward pass is being computed), W warm-up steps and N
//! annealing steps:
//!
//! | steps | gates | target ρ_t |
//! |---|---|---|
//! | s < W | g ≡ 1 (the ungated Spectral Adapter^A; no gate is sampled, the budget loss is 0) | — |
//! | W ≤ s < W + N | sampled, projected and penalised against B_t(T) = ⌊ρ_t·T⌋ + c | ρ_t = ρ + (R − ρ)·(1 − (s − W)/N) |
//! | s ≥ W + N, and outside training | as configured | ρ |
//!
//! Why: at initialisation the spectral delta is zero (A_U = A_V = 0), so the gate logits get exactly zero gradient
//! at step 0 and only O(‖A‖) after; gates sampled from the first step make A learn under heavy multiplicative
//! noise. The warm-up lets A become useful before any gate has to choose (CoFi's `prepruning_finetune_epochs`);
//! the annealing lets the gates shed directions gradually (CoFi's `lagrangian_warmup_epochs`). For ρ ≥ R there is
//! nothing to anneal and ρ_t = ρ.

use serde::{Deserialize, Serialize};

/// Warm-up and annealing lengths, in optimiser steps. The default (0, 0) is no schedule: gates are sampled
/// against ρ from the first step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GateSchedule {
    /// W: steps with every gate on.
    pub warmup_steps: usize,
    /// N: steps over which ρ_t falls linearly from R to ρ after the warm-up.
    pub anneal_steps: usize,
}

/// What the gates do at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GatePhase {
    /// Every gate on (g ≡ 1), no budget loss.
    Warmup,
    /// Gated against the budget of ρ_t (annealing, or the final ρ).
    Gated {
        /// ρ_t.
        rho: f64,
    },
}

impl GateSchedule {
    /// A schedule of W warm-up and N annealing steps.
    pub fn new(warmup_steps: usize, anneal_steps: usize) -> Self {
        Self {
            warmup_steps,
            anneal_steps,
        }
    }

    /// The phase at step `step` for R = `rank` and the final ρ = `rho`; `None` (not training under the schedule,
    /// e.g. the final evaluation) is the final phase with ρ.
    pub fn phase(&self, step: Option<usize>, rank: usize, rho: f64) -> GatePhase {
        let Some(s) = step else {
            return GatePhase::Gated { rho };
        };
        if s < self.warmup_steps {
            return GatePhase::Warmup;
        }
        let start = (rank as f64).max(rho);
        let done = if self.anneal_steps == 0 {
            1.0
        } else {
            ((s - self.warmup_steps) as f64 / self.anneal_steps as f64).min(1.0)
        };
        GatePhase::Gated {
            rho: rho + (start - rho) * (1.0 - done),
        }
    }

    /// W + N: the first step at which the final ρ applies.
    pub fn end(&self) -> usize {
        self.warmup_steps + self.anneal_steps
    }
}
