//! Adapter injection: put `tabs` adapters into the target maps chosen by name, freeze everything else.
//!
//! Target names follow HF/peft: a map named `encoder.layer.3.attention.self.query_proj` matches the pattern
//! `query_proj`, `attention.self.query_proj` or the full name (suffix match on a `.` boundary, as peft's
//! `target_modules`); a pattern starting with `re:` is a regular expression on the full name. The default is
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
use tabs::io::{self, AdapterManifest, TensorPath};
use tabs::{AdaptedLinear, AdapterConfig, GatingConfig, SpectralGates};

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

/// What to inject.
#[derive(Debug, Clone)]
pub struct AdapterSpec {
    /// Target name patterns.
    pub targets: Vec<String>,
    /// The adapter of each target map.
    pub adapter: AdapterConfig,
    /// Gates for spectral adapters (None with a spectral adapter = ungated Spectral Adapter^A, g ≡ 1).
    pub gating: Option<GatingConfig>,
}

impl AdapterSpec {
    /// An adapter on the default targets.
    pub fn new(adapter: AdapterConfig, gating: Option<GatingConfig>) -> Self {
        Self {
            targets: DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
            adapter,
            gating,
        }
    }
}

/// What an injection did.
#[derive(Debug, Clone, Default)]
pub struct InjectionReport {
    /// Full names of the adapted maps.
    pub adapted: Vec<String>,
    /// Trainable adapter parameters in the maps.
    pub adapter_params: usize,
    /// Trainable gate parameters (controllers / layer logits / multipliers).
    pub gate_params: usize,
}

/// Whether a full map name matches a target pattern.
pub fn matches(name: &str, pattern: &str) -> Result<bool> {
    if let Some(re) = pattern.strip_prefix("re:") {
        let re = regex::Regex::new(re)
            .map_err(|e| DebertaError::Input(format!("invalid target pattern `{pattern}`: {e}")))?;
        return Ok(re.is_match(name));
    }
    Ok(name == pattern || name.ends_with(&format!(".{pattern}")))
}

/// The six adaptable maps of layer `i`, with their HF names.
fn layer_maps<B: Backend>(model: &mut DebertaModel<B>, i: usize) -> [(String, &mut AdaptedLinear<B>); 6] {
    let l = &mut model.encoder.layers[i];
    let p = format!("encoder.layer.{i}");
    let a = &mut l.attention;
    [
        (format!("{p}.attention.self.query_proj"), &mut a.query_proj),
        (format!("{p}.attention.self.key_proj"), &mut a.key_proj),
        (format!("{p}.attention.self.value_proj"), &mut a.value_proj),
        (format!("{p}.attention.output.dense"), &mut a.output_dense),
        (format!("{p}.intermediate.dense"), &mut l.intermediate),
        (format!("{p}.output.dense"), &mut l.output_dense),
    ]
}

impl<B: Backend> DebertaModel<B> {
    /// Full names of every adaptable map.
    pub fn map_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..self.encoder.layers.len() {
            let p = format!("encoder.layer.{i}");
            for s in [
                "attention.self.query_proj",
                "attention.self.key_proj",
                "attention.self.value_proj",
                "attention.output.dense",
                "intermediate.dense",
                "output.dense",
            ] {
                out.push(format!("{p}.{s}"));
            }
        }
        out
    }

    /// Freeze the backbone and put adapters into the targeted maps (see the module docs).
    pub fn inject(mut self, spec: &AdapterSpec) -> Result<(Self, InjectionReport)> {
        if spec.targets.is_empty() {
            return Err(DebertaError::Input("no adapter targets given".into()));
        }
        let device = self.embeddings.word_embeddings.device();
        self.embeddings = self.embeddings.no_grad();
        self.encoder = self.encoder.no_grad();
        let mut report = InjectionReport::default();
        let mut used = vec![false; spec.targets.len()];
        for i in 0..self.encoder.layers.len() {
            for (name, map) in layer_maps(&mut self, i) {
                let mut hit = false;
                for (k, pattern) in spec.targets.iter().enumerate() {
                    if matches(&name, pattern)? {
                        used[k] = true;
                        hit = true;
                    }
                }
                if hit {
                    let base = map.base.clone();
                    *map = AdaptedLinear::new(base, &spec.adapter)?;
                    report.adapter_params += map.trainable_params();
                    report.adapted.push(name);
                }
            }
        }
        if let Some(k) = used.iter().position(|u| !u) {
            return Err(DebertaError::Input(format!(
                "adapter target `{}` matches no map (maps are named like `{}`)",
                spec.targets[k],
                self.map_names().first().cloned().unwrap_or_default()
            )));
        }
        if let (AdapterConfig::Spectral(s), Some(g)) = (&spec.adapter, &spec.gating) {
            if g.rank != s.rank {
                return Err(DebertaError::Input(format!(
                    "gating rank R = {} differs from the spectral adapter's R = {}",
                    g.rank, s.rank
                )));
            }
            let gates = SpectralGates::new(*g, self.config.hidden_size, self.encoder.layers.len(), &device)?;
            report.gate_params = gates.num_params();
            self.gates = Some(gates);
        }
        Ok((self, report))
    }

    /// Trainable adapter parameters (maps + gates).
    pub fn adapter_params(&self) -> usize {
        let maps: usize = self
            .encoder
            .layers
            .iter()
            .map(|l| {
                let a = &l.attention;
                [
                    &a.query_proj,
                    &a.key_proj,
                    &a.value_proj,
                    &a.output_dense,
                    &l.intermediate,
                    &l.output_dense,
                ]
                .iter()
                .map(|m| m.trainable_params())
                .sum::<usize>()
            })
            .sum();
        maps + self.gates.as_ref().map_or(0, |g| g.num_params())
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

/// The tensors of an adapter file for a classification model: every adapter and gate tensor (see
/// [`tabs::io::adapter_tensors`]) plus the always-trainable `pooler.*` and `classifier.*`.
pub fn adapter_and_head_tensors(path: &TensorPath<'_>) -> bool {
    io::adapter_tensors(path) || matches!(path.names.first().map(String::as_str), Some("pooler" | "classifier"))
}

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
