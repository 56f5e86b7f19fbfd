//! Adapter injection into any backbone: [`tabs::Adaptable`] for [`EncoderModel`], once.
//!
//! Adaptable maps per layer N, with HF names `encoder.layer.N.attention.self.{query, key, value}` (by the
//! backbone's names) and `encoder.layer.N.{attention.output.dense, intermediate.dense, output.dense}`. Targets follow peft's `target_modules`: a suffix on a `.`
//! boundary (`query_proj`, `attention.self.query_proj` or the full name), or `re:` + a regular expression on
//! the full name (see [`tabs::inject::matches`]). The default ([`tabs::AdapterSpec::new`], i.e. empty
//! `targets`) is [`Architecture::DEFAULT_TARGETS`], all six maps (`output.dense` also matches
//! `attention.output.dense`, exactly as in peft). With LoRA rank r the count is
//! Σ_layers r·(4·2d + (d + f) + (f + d)) when the attention width is d; e.g. all-MiniLM-L6-v2 (d 384, f 1536,
//! 6 layers), r = 8: 331,776.
//!
//! Gated spectral adapters get one [`tabs::SpectralGates`] for the model: one gate source per layer reading that
//! layer's input, shared by the layer's target maps. Embeddings, LayerNorms, relative embeddings and untargeted
//! maps are frozen; the pooler and classifier stay trainable and are saved with the adapter.

use burn::module::Module;
use burn::tensor::backend::Backend;
use tabs::inject::{self, Adaptable, AdapterSpec, InjectionReport};
use tabs::{AdaptedLinear, SpectralGates, TabsError};

use crate::architecture::{Architecture, Embed, SelfAttention};
use crate::encoder::EncoderModel;
use crate::error::ModelError;

/// HF name of a layer's map `j` relative to `encoder.layer.N` (order of [`Architecture::DEFAULT_TARGETS`]): the
/// query, key and value projections sit under `attention.self.`, the other three are named by their target.
fn layer_map<C: Architecture>(j: usize) -> String {
    match C::DEFAULT_TARGETS[j] {
        qkv if j < 3 => format!("attention.self.{qkv}"),
        other => other.to_string(),
    }
}

// ANCHOR: adaptable
impl<B, E, A, C> Adaptable<B> for EncoderModel<B, E, A, C>
where
    B: Backend,
    C: Architecture,
    E: Embed<B>,
    A: SelfAttention<B>,
{
    fn default_targets() -> &'static [&'static str] {
        &C::DEFAULT_TARGETS
    }

    fn adaptable_maps(&self) -> Vec<(String, &AdaptedLinear<B>)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let named = layer.maps().into_iter().enumerate();
            out.extend(named.map(|(j, m)| (format!("encoder.layer.{i}.{}", layer_map::<C>(j)), m)));
        }
        out
    }

    fn adaptable_maps_mut(&mut self) -> Vec<(String, &mut AdaptedLinear<B>)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let named = layer.maps_mut().into_iter().enumerate();
            out.extend(named.map(|(j, m)| (format!("encoder.layer.{i}.{}", layer_map::<C>(j)), m)));
        }
        out
    }

    fn gate_dims(&self) -> (usize, usize) {
        (self.config.hidden_size, self.layers.len())
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
        self.layers = self.layers.no_grad();
        self
    }
}
// ANCHOR_END: adaptable

/// Errors about the spec itself (targets, ranks) are the crate's input errors; other `tabs` errors stay
/// adapter errors.
fn spec_error(e: TabsError) -> ModelError {
    match e {
        TabsError::UnmatchedTarget { .. } | TabsError::InvalidTarget { .. } | TabsError::GateRankMismatch { .. } => {
            ModelError::Input(e.to_string())
        }
        other => other.into(),
    }
}

impl<B, E, A, C> EncoderModel<B, E, A, C>
where
    B: Backend,
    C: Architecture,
    E: Embed<B>,
    A: SelfAttention<B>,
{
    /// Full names of every adaptable map.
    pub fn map_names(&self) -> Vec<String> {
        inject::map_names(self)
    }

    /// Freeze the backbone and put adapters into the targeted maps (see [`tabs::inject`]).
    pub fn inject(self, spec: &AdapterSpec) -> Result<(Self, InjectionReport), ModelError> {
        inject::inject(self, spec).map_err(spec_error)
    }

    /// Trainable adapter parameters (maps + gates).
    pub fn adapter_params(&self) -> usize {
        inject::adapter_params(self)
    }
}
