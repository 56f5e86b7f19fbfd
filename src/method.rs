//! The compared methods and what each injects (TABS.md §4, §8).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tabs::{AdapterConfig, GatingConfig, Granularity, InferenceGate, Kernel, LoraConfig, Penalty, SpectralConfig};
use tabs_deberta::AdapterSpec;

/// A fine-tuning method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Full fine-tuning (every parameter trainable, no adapter).
    Full,
    /// LoRA on the target maps.
    Lora,
    /// The ungated spectral adapter (Spectral Adapter^A): every gate on (g ≡ 1, ρ = R), no controller — the
    /// ceiling that gating at ρ < R is measured against; what `tabs` becomes at ρ = R.
    Spectral,
    /// Budgeted hard spectral pruning: one learned gate set per layer, global budget ρ·L.
    Bhsp,
    /// Conditional budgeted spectral pruning: gates per sequence, average (training) budget, no inference cut.
    Cbsp,
    /// TABS: gates per token, projection in training, top-B cut at inference.
    Tabs,
    /// Ablation: TABS without the projection and without the cut (inference gate 1[ℓ > 0]).
    TabsNoproj,
    /// Ablation: gates shared across a sequence (CBSP's granularity) with TABS's budget machinery (cut on).
    TabsShared,
}

impl Method {
    /// All methods, in the order of the comparison tables.
    pub const ALL: [Method; 8] = [
        Method::Full,
        Method::Lora,
        Method::Spectral,
        Method::Bhsp,
        Method::Cbsp,
        Method::Tabs,
        Method::TabsNoproj,
        Method::TabsShared,
    ];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Method::Full => "full",
            Method::Lora => "lora",
            Method::Spectral => "spectral",
            Method::Bhsp => "bhsp",
            Method::Cbsp => "cbsp",
            Method::Tabs => "tabs",
            Method::TabsNoproj => "tabs-noproj",
            Method::TabsShared => "tabs-shared",
        }
    }

    /// Whether the method uses spectral adapters (gated or not).
    pub fn is_spectral(self) -> bool {
        !matches!(self, Method::Full | Method::Lora)
    }

    /// Whether the method has gates (a budget, a controller or logits).
    pub fn is_gated(self) -> bool {
        self.is_spectral() && self != Method::Spectral
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Method::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            format!("unknown method {s:?} (expected one of full, lora, spectral, bhsp, cbsp, tabs, tabs-noproj, tabs-shared)")
        })
    }
}

/// Adapter hyper-parameters shared by the methods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdapterHyper {
    /// R (spectral) — default 16.
    pub spectral_rank: usize,
    /// r (LoRA) — default 8.
    pub lora_rank: usize,
    /// LoRA α (default 16); the spectral α is `spectral_alpha`.
    pub lora_alpha: f64,
    /// Spectral α (default 1).
    pub spectral_alpha: f64,
    /// ρ (default 8).
    pub rho: f64,
    /// k (default R).
    pub controller_hidden: Option<usize>,
    /// λ of the relative-excess penalty (default 1); ignored with the Lagrangian.
    pub lambda: f64,
    /// Use the Lagrangian instead of the penalty.
    pub lagrangian: bool,
    /// Kernel of the gated term.
    pub kernel: Kernel,
    /// The gate rule at inference (None: the method's own — `binary` for tabs-noproj, else `deterministic`).
    #[serde(default)]
    pub inference_gate: Option<InferenceGate>,
}

impl Default for AdapterHyper {
    fn default() -> Self {
        Self {
            spectral_rank: 16,
            lora_rank: 8,
            lora_alpha: 16.0,
            spectral_alpha: 1.0,
            rho: 8.0,
            controller_hidden: None,
            lambda: 1.0,
            lagrangian: false,
            kernel: Kernel::DenseMasked,
            inference_gate: None,
        }
    }
}

/// What `method` injects, or None for full fine-tuning.
pub fn adapter_spec(method: Method, h: &AdapterHyper) -> Option<AdapterSpec> {
    let spectral = AdapterConfig::Spectral(SpectralConfig {
        rank: h.spectral_rank,
        alpha: h.spectral_alpha,
        kernel: h.kernel,
    });
    let gating = |g: Granularity, projection: bool, cut: bool, gate: InferenceGate| {
        let mut c = GatingConfig::new(g);
        c.rank = h.spectral_rank;
        c.controller_hidden = h.controller_hidden;
        c.budget.rho = h.rho;
        c.budget.projection = projection;
        c.budget.inference_cut = cut;
        c.budget.penalty = if h.lagrangian {
            Penalty::Lagrangian
        } else {
            Penalty::RelativeExcess { lambda: h.lambda }
        };
        c.inference_gate = h.inference_gate.unwrap_or(gate);
        Some(c)
    };
    let det = InferenceGate::Deterministic;
    match method {
        Method::Full => None,
        Method::Lora => Some(AdapterSpec::new(
            AdapterConfig::Lora(LoraConfig {
                rank: h.lora_rank,
                alpha: h.lora_alpha,
                dropout: 0.0,
            }),
            None,
        )),
        Method::Spectral => Some(AdapterSpec::new(spectral, None)),
        Method::Bhsp => Some(AdapterSpec::new(spectral, gating(Granularity::Layer, true, true, det))),
        Method::Cbsp => Some(AdapterSpec::new(
            spectral,
            gating(Granularity::Sequence, true, false, det),
        )),
        Method::Tabs => Some(AdapterSpec::new(spectral, gating(Granularity::Token, true, true, det))),
        Method::TabsNoproj => Some(AdapterSpec::new(
            spectral,
            gating(Granularity::Token, false, false, InferenceGate::Binary),
        )),
        Method::TabsShared => Some(AdapterSpec::new(
            spectral,
            gating(Granularity::Sequence, true, true, det),
        )),
    }
}
