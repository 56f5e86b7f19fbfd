//! Model-agnostic adapter injection: put adapters into the target maps of any model chosen by name, freeze
//! everything else.
//!
//! A model implements [`Adaptable`]: it lists its adaptable linear maps under their HF names (e.g.
//! `encoder.layer.3.attention.self.query`), says how wide and deep its gate sources must be, and can freeze its
//! backbone. [`inject`] then does the rest, the same way for every backbone:
//!
//! 1. `freeze_backbone` (embeddings, LayerNorms, every map's weights; heads are the model's business);
//! 2. every map whose name matches one of the target patterns ([`matches`]) becomes
//!    `AdaptedLinear::new(base, adapter)` — frozen base plus a fresh trainable adapter (LoRA: A kaiming, B = 0;
//!    spectral: SVD of the base, A_U = A_V = 0, so the model's output is unchanged at injection);
//! 3. with a spectral adapter and gating: one [`SpectralGates`] for the model, one gate source per layer reading
//!    that layer's input (width `d_model`), shared by the layer's target maps.
//!
//! Contract (pinned by `tests/it/inject.rs`): every pattern must match at least one map, else
//! [`TabsError::UnmatchedTarget`] naming the pattern and an example map name; gating rank R must equal the
//! spectral adapter's R, else [`TabsError::GateRankMismatch`]; an invalid `re:` pattern is
//! [`TabsError::InvalidTarget`]. The report counts
//!
//! - `adapter_params` = Σ over adapted maps of the map's trainable parameters: LoRA r·(d_in + d_out),
//!   spectral R·(d_in + d_out) (A_U `[d_out, R]` + A_V `[d_in, R]`);
//! - `gate_params` = the gates' parameters: `Token`/`Sequence` L·(d·k + k + k·R + R) (controller
//!   Linear(d, k) → ReLU → Linear(k, R)), `Layer` L·R, plus 2 Lagrange multipliers with the Lagrangian penalty.

use burn::module::Module;
use burn::tensor::backend::Backend;

use crate::adapted::{AdaptedLinear, AdapterConfig};
use crate::error::{Result, TabsError};
use crate::granularity::{GatingConfig, SpectralGates};

/// What to inject.
#[derive(Debug, Clone)]
pub struct AdapterSpec {
    /// Target name patterns (see [`matches`]). **Empty means the model's default targets**
    /// ([`Adaptable::default_targets`]), which is what [`AdapterSpec::new`] asks for.
    pub targets: Vec<String>,
    /// The adapter of each target map.
    pub adapter: AdapterConfig,
    /// Gates for spectral adapters (None with a spectral adapter = ungated Spectral Adapter^A, g ≡ 1).
    pub gating: Option<GatingConfig>,
}

impl AdapterSpec {
    /// An adapter on the model's default targets.
    pub fn new(adapter: AdapterConfig, gating: Option<GatingConfig>) -> Self {
        Self {
            targets: Vec::new(),
            adapter,
            gating,
        }
    }

    /// An adapter on explicit target patterns.
    pub fn with_targets(targets: &[&str], adapter: AdapterConfig, gating: Option<GatingConfig>) -> Self {
        Self {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            adapter,
            gating,
        }
    }

    /// The patterns that apply to model `M`: `targets`, or `M`'s defaults when `targets` is empty.
    pub fn resolved_targets<B: Backend, M: Adaptable<B>>(&self) -> Vec<String> {
        if self.targets.is_empty() {
            M::default_targets().iter().map(|s| s.to_string()).collect()
        } else {
            self.targets.clone()
        }
    }
}

/// What an injection did.
#[derive(Debug, Clone, Default)]
pub struct InjectionReport {
    /// Full names of the adapted maps, in the model's map order.
    pub adapted: Vec<String>,
    /// Trainable adapter parameters in the maps.
    pub adapter_params: usize,
    /// Trainable gate parameters (controllers / layer logits / multipliers).
    pub gate_params: usize,
}

/// Whether a full map name matches a target pattern, with peft's `target_modules` semantics: the name equals the
/// pattern or ends with `.pattern` (suffix on a `.` boundary, so `output.dense` also matches
/// `attention.output.dense`), or, for a pattern `re:<regex>`, the regex matches somewhere in the full name.
pub fn matches(name: &str, pattern: &str) -> Result<bool> {
    if let Some(re) = pattern.strip_prefix("re:") {
        let re = regex::Regex::new(re).map_err(|e| TabsError::InvalidTarget {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        return Ok(re.is_match(name));
    }
    Ok(name == pattern || name.ends_with(&format!(".{pattern}")))
}

/// A model whose linear maps can take `tabs` adapters.
pub trait Adaptable<B: Backend>: Sized {
    /// Target patterns used when an [`AdapterSpec`] names none.
    fn default_targets() -> &'static [&'static str];

    /// Every adaptable map with its full HF name, layer by layer in a fixed order.
    fn adaptable_maps(&self) -> Vec<(String, &AdaptedLinear<B>)>;

    /// The same maps, mutable (same names, same order).
    fn adaptable_maps_mut(&mut self) -> Vec<(String, &mut AdaptedLinear<B>)>;

    /// (d_model, number of layers): the input width and count of the per-layer gate sources.
    fn gate_dims(&self) -> (usize, usize);

    /// The model's gate sources, if gated.
    fn gates(&self) -> Option<&SpectralGates<B>>;

    /// The same, mutable (e.g. to advance the training schedule's step).
    fn gates_mut(&mut self) -> Option<&mut SpectralGates<B>>;

    /// Install gate sources (one per layer, read by the layer's forward pass).
    fn set_gates(&mut self, gates: SpectralGates<B>);

    /// Freeze every backbone parameter (embeddings, norms, maps); the task heads are not part of the backbone.
    fn freeze_backbone(self) -> Self;
}

/// Full names of every adaptable map of `model`.
pub fn map_names<B: Backend, M: Adaptable<B>>(model: &M) -> Vec<String> {
    model.adaptable_maps().into_iter().map(|(n, _)| n).collect()
}

/// Trainable adapter parameters of `model`: Σ over maps of their adapter parameters + the gates' parameters.
pub fn adapter_params<B: Backend, M: Adaptable<B>>(model: &M) -> usize {
    let maps: usize = model.adaptable_maps().iter().map(|(_, m)| m.trainable_params()).sum();
    maps + model.gates().map_or(0, |g| g.num_params())
}

/// Freeze `model`'s backbone and put `spec`'s adapters into the targeted maps (see the module docs for the
/// contract and the parameter counts).
pub fn inject<B: Backend, M: Adaptable<B>>(model: M, spec: &AdapterSpec) -> Result<(M, InjectionReport)> {
    let targets = spec.resolved_targets::<B, M>();
    if let (AdapterConfig::Spectral(s), Some(g)) = (&spec.adapter, &spec.gating) {
        if g.rank != s.rank {
            return Err(TabsError::GateRankMismatch {
                gating: g.rank,
                spectral: s.rank,
            });
        }
    }
    let names = map_names(&model);
    // Validate every pattern (and its regex) before the SVDs.
    for pattern in &targets {
        let mut hit = false;
        for name in &names {
            hit |= matches(name, pattern)?;
        }
        if !hit {
            return Err(TabsError::UnmatchedTarget {
                pattern: pattern.clone(),
                example: names.first().cloned().unwrap_or_default(),
            });
        }
    }
    let mut model = model.freeze_backbone();
    let mut report = InjectionReport::default();
    let mut device = None;
    for (name, map) in model.adaptable_maps_mut() {
        device.get_or_insert_with(|| map.base.weight.device());
        let mut hit = false;
        for pattern in &targets {
            hit |= matches(&name, pattern)?;
        }
        if hit {
            *map = AdaptedLinear::new(map.base.clone(), &spec.adapter)?;
            report.adapter_params += map.trainable_params();
            report.adapted.push(name);
        }
    }
    if let (AdapterConfig::Spectral(_), Some(g), Some(device)) = (&spec.adapter, &spec.gating, device) {
        let (d_model, layers) = model.gate_dims();
        let gates = SpectralGates::new(*g, d_model, layers, &device)?;
        report.gate_params = gates.num_params();
        model.set_gates(gates);
    }
    Ok((model, report))
}
