//! Adapter injection: put `tabs` adapters into the target maps chosen by name, freeze everything else.
//!
//! The logic is model-independent and lives in [`tabs::inject`]; this module implements [`tabs::Adaptable`] for
//! [`DebertaModel`]. Target names follow HF/peft: a map named `encoder.layer.3.attention.self.query_proj` matches
//! the pattern `query_proj`, `attention.self.query_proj` or the full name (suffix match on a `.` boundary, as
//! peft's `target_modules`); a pattern starting with `re:` is a regular expression on the full name. The default
//! ([`AdapterSpec::new`], i.e. empty `targets`) is
//! the six maps of AdaLoRA/LoRA-r8 on DeBERTa: `query_proj`, `key_proj`, `value_proj`,
//! `attention.output.dense`, `intermediate.dense`, `output.dense` (the last also matches
//! `attention.output.dense`, exactly as in peft).
//!
//! Gated spectral adapters get one [`tabs::SpectralGates`] for the model: one gate source per layer reading
//! that layer's input, shared by the layer's target maps. The embeddings, LayerNorms, relative embeddings and
//! untargeted maps are frozen; the pooler and classifier stay trainable.

use std::path::Path;

use burn::module::Module;
use burn::tensor::backend::Backend;
use tabs::inject::{self, Adaptable};
use tabs::io::{self, AdapterManifest};
use tabs::{AdaptedLinear, SpectralGates, TabsError};

pub use tabs::inject::{matches, AdapterSpec, InjectionReport};

use crate::error::{DebertaError, Result};
use crate::model::{DebertaForSequenceClassification, DebertaModel};

/// The default targets (six maps per layer).
pub const DEFAULT_TARGETS: [&str; 6] = [
    "query_proj",
    "key_proj",
    "value_proj",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

/// HF names of the six adaptable maps of a layer, relative to `encoder.layer.N`.
const LAYER_MAPS: [&str; 6] = [
    "attention.self.query_proj",
    "attention.self.key_proj",
    "attention.self.value_proj",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

impl<B: Backend> Adaptable<B> for DebertaModel<B> {
    fn default_targets() -> &'static [&'static str] {
        &DEFAULT_TARGETS
    }

    fn adaptable_maps(&self) -> Vec<(String, &AdaptedLinear<B>)> {
        let mut out = Vec::new();
        for (i, l) in self.encoder.layers.iter().enumerate() {
            let a = &l.attention;
            let maps = [
                &a.query_proj,
                &a.key_proj,
                &a.value_proj,
                &a.output_dense,
                &l.intermediate,
                &l.output_dense,
            ];
            out.extend(
                LAYER_MAPS
                    .iter()
                    .zip(maps)
                    .map(|(s, m)| (format!("encoder.layer.{i}.{s}"), m)),
            );
        }
        out
    }

    fn adaptable_maps_mut(&mut self) -> Vec<(String, &mut AdaptedLinear<B>)> {
        let mut out = Vec::new();
        for (i, l) in self.encoder.layers.iter_mut().enumerate() {
            let a = &mut l.attention;
            let maps = [
                &mut a.query_proj,
                &mut a.key_proj,
                &mut a.value_proj,
                &mut a.output_dense,
                &mut l.intermediate,
                &mut l.output_dense,
            ];
            out.extend(
                LAYER_MAPS
                    .iter()
                    .zip(maps)
                    .map(|(s, m)| (format!("encoder.layer.{i}.{s}"), m)),
            );
        }
        out
    }

    fn gate_dims(&self) -> (usize, usize) {
        (self.config.hidden_size, self.encoder.layers.len())
    }

    fn gates(&self) -> Option<&SpectralGates<B>> {
        self.gates.as_ref()
    }

    fn gates_mut(&mut self) -> Option<&mut SpectralGates<B>> {
        self.gates.as_mut()
    }

    fn set_gates(&mut self, gates: SpectralGates<B>) {
        self.gates = Some(gates);
    }

    fn freeze_backbone(mut self) -> Self {
        self.embeddings = self.embeddings.no_grad();
        self.encoder = self.encoder.no_grad();
        self
    }
}

/// Injection errors about the spec itself (targets, ranks) are [`DebertaError::Input`], as before the injection
/// moved to [`tabs::inject`]; everything else stays a [`DebertaError::Tabs`].
fn spec_error(e: TabsError) -> DebertaError {
    match e {
        TabsError::UnmatchedTarget { .. } | TabsError::InvalidTarget { .. } | TabsError::GateRankMismatch { .. } => {
            DebertaError::Input(e.to_string())
        }
        other => DebertaError::Tabs(other),
    }
}

impl<B: Backend> DebertaModel<B> {
    /// Full names of every adaptable map.
    pub fn map_names(&self) -> Vec<String> {
        inject::map_names(self)
    }

    /// Freeze the backbone and put adapters into the targeted maps (see [`tabs::inject`]).
    pub fn inject(self, spec: &AdapterSpec) -> Result<(Self, InjectionReport)> {
        inject::inject(self, spec).map_err(spec_error)
    }

    /// Trainable adapter parameters (maps + gates).
    pub fn adapter_params(&self) -> usize {
        inject::adapter_params(self)
    }
}

impl<B: Backend> DebertaForSequenceClassification<B> {
    /// Inject adapters into the encoder (heads stay trainable).
    pub fn inject(mut self, spec: &AdapterSpec) -> Result<(Self, InjectionReport)> {
        let (deberta, report) = self.deberta.inject(spec)?;
        self.deberta = deberta;
        Ok((self, report))
    }

    /// Trainable parameters with adapters: adapters + gates + pooler + classifier.
    pub fn trainable_params(&self) -> usize {
        self.deberta.adapter_params() + self.head_params()
    }
}

/// The tensors of an adapter file: adapters, gates, pooler and classifier (shared with every backbone).
pub use tabs::io::adapter_and_head_tensors;

impl<B: Backend> DebertaForSequenceClassification<B> {
    /// Save the adapters, gates and heads (`adapter.safetensors` + `adapter_config.json`) atomically into `dir`.
    pub fn save_adapter(&self, dir: &Path, manifest: &AdapterManifest) -> Result<()> {
        Ok(io::save_adapter_with(self, dir, manifest, adapter_and_head_tensors)?)
    }

    /// Load adapters, gates and heads saved by [`DebertaForSequenceClassification::save_adapter`] into a model
    /// with the same injection; fails with a typed error on another method, shapes or a damaged file.
    pub fn load_adapter(self, dir: &Path, expected: &AdapterManifest) -> Result<Self> {
        Ok(io::load_adapter_with(self, dir, expected, adapter_and_head_tensors)?)
    }
}
