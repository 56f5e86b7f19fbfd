//! # tabs — Token-Aware Budgeted Spectral Pruning
//!
//! Parameter-efficient fine-tuning of a frozen linear map y = W·h + b where every token chooses how many of
//! W's top-R singular directions it uses, under a hard per-sequence compute budget. Backend-portable: every
//! module is generic over `B: Backend` (burn 0.21).
//!
//! | concept | module | formula |
//! |---|---|---|
//! | spectral directions, Spectral Adapter^A | [`spectral`] | W = U S Vᵀ, top R; Ũ = U_R + A_U, Ṽ = V_R + A_V |
//! | gated term | [`spectral`], [`kernel`] | α[Ũ diag(s⊙g) Ṽᵀ − U_R diag(s⊙g) V_Rᵀ] h |
//! | HardConcrete gates | [`gate`] | z = clamp(σ((log u − log(1−u) + ℓ)/β)(ζ−γ)+γ, 0, 1), P = σ(ℓ − β log(−γ/ζ)) |
//! | controller | [`controller`] | ℓ = W₂ ReLU(W₁ h + b₁) + b₂ |
//! | granularity (BHSP / CBSP / TABS) | [`granularity`] | logits per layer / sequence / token |
//! | budget | [`budget`] | B(T) = ⌊ρT⌋ + c; top-B cut; projection τ; penalty / Lagrangian |
//! | real-token mask | [`mask`] | T_b, B(T_b) per sequence |
//! | training schedule | [`schedule`] | W steps with g ≡ 1, then ρ_t from R to ρ over N steps |
//! | LoRA baseline | [`lora`] | y += (α/r) B A h |
//! | adapted map | [`adapted`] | frozen map + none / LoRA / gated spectral |
//! | FLOPs | [`flops`] | 2·2·(d_in + d_out) per active pair and map, … |
//! | statistics | [`stats`] | token ranks, histograms, violations |
//! | products on the CPU backend | [`matmul`] | C = A·B; dA = dC·Bᵀ, dB = Aᵀ·dC |
//! | adapter files | [`io`] | safetensors + JSON manifest |
//! | adapter injection into any model by map name | [`inject`] | peft target patterns; trait [`Adaptable`] |
//!
//! The specification is the book's method chapter (`book/src/method.md`); every formula there is pinned by a
//! test in `tests/`.
#![warn(missing_docs)]

pub mod adapted;
pub mod budget;
pub mod controller;
pub mod elementary;
pub mod error;
pub mod flex;
pub mod flops;
pub mod gate;
pub mod granularity;
pub mod inject;
pub mod io;
pub mod kernel;
pub mod lora;
pub mod mask;
pub mod matmul;
pub mod schedule;
pub mod spectral;
pub mod stats;

pub use adapted::{AdaptedLinear, AdapterConfig};
pub use budget::{BudgetConfig, Lagrangian, Penalty};
pub use controller::{Controller, ControllerConfig};
pub use error::{Result, TabsError};
pub use flops::{LayerCost, LayerFlops, MapShape};
pub use gate::{HardConcrete, InferenceGate};
pub use granularity::{GateMode, GateSource, GatingConfig, Granularity, LayerGates, SpectralGates};
pub use inject::{Adaptable, AdapterSpec, InjectionReport};
pub use io::{AdapterManifest, TensorPath};
pub use kernel::Kernel;
pub use lora::{Lora, LoraConfig};
pub use mask::TokenMask;
pub use schedule::{GatePhase, GateSchedule};
pub use spectral::{GatedSpectral, SpectralBasis, SpectralConfig};
pub use stats::RankStats;
