//! Adapter injection into BERT through the model-agnostic [`tabs::inject`]: this module implements
//! [`tabs::Adaptable`] for [`BertModel`].
//!
//! Adaptable maps per layer N, with HF names: `encoder.layer.N.attention.self.{query,key,value}`,
//! `encoder.layer.N.attention.output.dense`, `encoder.layer.N.intermediate.dense`, `encoder.layer.N.output.dense`.
//! Targets follow peft (suffix on a `.` boundary, or `re:` regex; see [`tabs::inject::matches`]). The default
//! ([`AdapterSpec::new`], i.e. empty `targets`) is [`DEFAULT_TARGETS`], all six maps (`output.dense` also matches
//! `attention.output.dense`, exactly as in peft). With LoRA rank r the count is
//! Σ_layers r·(4·2d + (d + f) + (f + d)); e.g. all-MiniLM-L6-v2 (d 384, f 1536, 6 layers), r = 8: 331,776.
//!
//! Gated spectral adapters get one [`tabs::SpectralGates`] for the model: one gate source per layer reading that
//! layer's input, shared by the layer's target maps. Embeddings, LayerNorms and untargeted maps are frozen; the
//! pooler and classifier stay trainable and are saved with the adapter.

use std::path::Path;

use burn::module::Module;
use burn::tensor::backend::Backend;
use tabs::inject::{self, Adaptable};
use tabs::io::{self, AdapterManifest};
use tabs::{AdaptedLinear, AdapterSpec, InjectionReport, SpectralGates, TabsError};

use crate::error::{BertError, Result};
use crate::model::{BertForSequenceClassification, BertModel};

/// The default targets (six maps per layer, as LoRA/AdaLoRA on DeBERTa).
pub const DEFAULT_TARGETS: [&str; 6] = [
    "query",
    "key",
    "value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

/// HF names of the six adaptable maps of a layer, relative to `encoder.layer.N`.
const LAYER_MAPS: [&str; 6] = [
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

// ANCHOR: adaptable
impl<B: Backend> Adaptable<B> for BertModel<B> {
    fn default_targets() -> &'static [&'static str] {
        &DEFAULT_TARGETS
    }

    fn adaptable_maps(&self) -> Vec<(String, &AdaptedLinear<B>)> {
        let mut out = Vec::new();
        for (i, l) in self.encoder.layers.iter().enumerate() {
            let a = &l.attention;
            let maps = [
                &a.query,
                &a.key,
                &a.value,
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
                &mut a.query,
                &mut a.key,
                &mut a.value,
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
// ANCHOR_END: adaptable

/// Errors about the spec itself (targets, ranks) are [`BertError::Input`]; other `tabs` errors stay
/// [`BertError::Tabs`].
fn spec_error(e: TabsError) -> BertError {
    match e {
        TabsError::UnmatchedTarget { .. } | TabsError::InvalidTarget { .. } | TabsError::GateRankMismatch { .. } => {
            BertError::Input(e.to_string())
        }
        other => BertError::Tabs(other),
    }
}

impl<B: Backend> BertModel<B> {
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

impl<B: Backend> BertForSequenceClassification<B> {
    /// Inject adapters into the encoder (pooler and classifier stay trainable).
    pub fn inject(mut self, spec: &AdapterSpec) -> Result<(Self, InjectionReport)> {
        let (bert, report) = self.bert.inject(spec)?;
        self.bert = bert;
        Ok((self, report))
    }

    /// Trainable parameters with adapters: adapters + gates + pooler + classifier.
    pub fn trainable_params(&self) -> usize {
        self.bert.adapter_params() + self.head_params()
    }

    /// Save the adapters, gates and heads (`adapter.safetensors` + `adapter_config.json`) atomically into `dir`.
    pub fn save_adapter(&self, dir: &Path, manifest: &AdapterManifest) -> Result<()> {
        Ok(io::save_adapter_with(self, dir, manifest, adapter_and_head_tensors)?)
    }

    /// Load adapters, gates and heads saved by [`BertForSequenceClassification::save_adapter`] into a model with
    /// the same injection; fails with a typed error on another method, shapes or a damaged file.
    pub fn load_adapter(self, dir: &Path, expected: &AdapterManifest) -> Result<Self> {
        Ok(io::load_adapter_with(self, dir, expected, adapter_and_head_tensors)?)
    }
}

/// The tensors of an adapter file: adapters, gates, pooler and classifier (shared with every backbone).
pub use tabs::io::adapter_and_head_tensors;
