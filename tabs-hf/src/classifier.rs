//! HF's sequence classifier on any backbone: the encoder, then a pooler on the first token and a classifier,
//! pooled = act(dense(dropout_p(h₀))), logits = classifier(dropout_c(pooled)) `[b, num_labels]`
//! (`num_labels` = 1 is regression). DeBERTa's `ContextPooler` (dropout, gelu by default) and BERT's
//! `BertPooler` (no dropout, tanh) differ only by [`HeadConfig`](crate::architecture::HeadConfig).
//!
//! The pooler is a public `Linear` of the classifier (not of the encoder) so that trainers treat pooler +
//! classifier as one always-trainable head; its checkpoint key stays HF's (`pooler.dense.*`, or BERT's
//! `bert.pooler.dense.*`, found through the model prefix).

use std::path::Path;

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use tabs::inject::{AdapterSpec, InjectionReport};
use tabs::io::{self, AdapterManifest};

use crate::activation::Activation;
use crate::architecture::{Architecture, Embed, FromWeights, SelfAttention};
use crate::checkpoint::read_dir;
use crate::dropout::dropout;
use crate::encoder::{EncoderModel, EncoderOutput};
use crate::error::ModelError;
use crate::input::EncoderInput;
use crate::weights::{IfMissing, LoadReport, Weights};

/// Outputs of the classification model.
#[derive(Debug, Clone)]
pub struct ClassifierOutput<B: Backend> {
    /// `[b, num_labels]`.
    pub logits: Tensor<B, 2>,
    /// The encoder's outputs.
    pub encoder: EncoderOutput<B>,
}

/// `DebertaV2ForSequenceClassification` / `BertForSequenceClassification`.
#[derive(Module, Debug)]
pub struct SequenceClassifier<B: Backend, E: Module<B>, A: Module<B>, C: Architecture> {
    /// The encoder (`deberta.*`, `bert.*`).
    pub encoder: EncoderModel<B, E, A, C>,
    /// `pooler.dense` (always trainable).
    pub pooler: Linear<B>,
    /// Dropout before the pooler.
    pub pooler_dropout: Dropout,
    /// `classifier` (always trainable).
    pub classifier: Linear<B>,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// Pooler activation.
    #[module(skip)]
    pub pooler_act: Activation,
    /// Marks the config type as no module for the derive (it is the encoder's `config`).
    #[module(skip)]
    pub architecture: std::marker::PhantomData<C>,
}

/// Where older adapter files kept a tensor, most recent layout first:
/// - before [`crate::AddNorm`], the output maps were fields of their own: `….output_dense.…` for `….output.dense.…`;
/// - before the skeleton was shared, everything sat under the backbone's field (`deberta.` / `bert.` +
///   `encoder.layers.…`, `deberta.gates.…`) instead of `encoder.layers.…` / `encoder.gates.…`.
pub fn legacy_keys(key: &str) -> Vec<String> {
    let flat = key.replace(".output.dense.", ".output_dense.");
    let mut keys: Vec<String> = (flat != key).then(|| flat.clone()).into_iter().collect();
    for k in std::iter::once(key).chain((flat != key).then_some(flat.as_str())) {
        let rest = k.strip_prefix("encoder.");
        keys.extend(["deberta.", "bert."].iter().filter_map(|p| match rest {
            Some(r) if r.starts_with("layers.") => Some(format!("{p}{k}")),
            Some(r) if r.starts_with("gates.") => Some(format!("{p}{r}")),
            _ => None,
        }));
    }
    keys
}

impl<B, E, A, C> SequenceClassifier<B, E, A, C>
where
    B: Backend,
    C: Architecture,
    E: Embed<B> + FromWeights<B, C>,
    A: SelfAttention<B, Context = E::Context> + FromWeights<B, C>,
{
    /// Build from a parameter source; absent `pooler.*` / `classifier.*` are initialised as HF does
    /// (weights N(0, initializer_range²), biases 0).
    pub fn new(c: &C, w: &mut Weights, device: &B::Device) -> Self {
        let d = c.hidden_size;
        let head = c.head();
        Self {
            encoder: EncoderModel::new(c, w, device),
            pooler: w.linear("pooler.dense", d, d, true, IfMissing::Initialise, device),
            pooler_dropout: DropoutConfig::new(head.pooler_dropout).init(),
            classifier: w.linear("classifier", d, c.num_labels, true, IfMissing::Initialise, device),
            dropout: DropoutConfig::new(head.classifier_dropout).init(),
            pooler_act: head.pooler_act,
            architecture: std::marker::PhantomData,
        }
    }

    /// A randomly initialised model (HF's initialisation, deterministic in `seed`).
    pub fn random(c: &C, seed: u64, device: &B::Device) -> Self {
        Self::new(c, &mut Weights::random(c.initializer_range, seed), device)
    }

    /// Load a HF checkpoint folder (`config.json` + `model.safetensors` or `pytorch_model.bin`), with or without
    /// the model prefix. `num_labels` overrides the config's label count (≥ 1). A checkpoint without `pooler.*` /
    /// `classifier.*` gets fresh heads (reported, seeded by `seed`); a checkpoint head of another shape is a
    /// shape-mismatch error, as in HF without `ignore_mismatched_sizes`. Every missing encoder key is named in
    /// one error.
    pub fn from_pretrained(
        dir: &Path,
        num_labels: Option<usize>,
        seed: u64,
        device: &B::Device,
    ) -> Result<(Self, LoadReport), ModelError> {
        let (mut config, weights, tensors) = read_dir::<C>(dir)?;
        if let Some(n) = num_labels {
            if n == 0 {
                return Err(ModelError::Input("num_labels must be at least 1".into()));
            }
            config.num_labels = n;
        }
        let mut w = Weights::from_checkpoint(weights, tensors, config.initializer_range, seed);
        let model = Self::new(&config, &mut w, device);
        let report = w.finish(|k| config.ignored_key(k))?;
        Ok((model, report))
    }

    /// The configuration.
    pub fn config(&self) -> &C {
        &self.encoder.config
    }

    /// The pooled first token, act(pooler(dropout(h₀))): `[b, T, d]` → `[b, d]` (BERT's `pooler_output`).
    pub fn pooler_output(&self, last_hidden_state: Tensor<B, 3>) -> Tensor<B, 2> {
        let [b, _, d] = last_hidden_state.dims();
        let first = last_hidden_state.slice([0..b, 0..1]).reshape([b, d]);
        self.pooler_act
            .apply(self.pooler.forward(dropout(&self.pooler_dropout, first)))
    }

    /// Logits `[b, num_labels]` = classifier(dropout(pooler_output)) and the encoder's outputs (inputs assumed
    /// valid, see [`SequenceClassifier::forward_checked`]).
    pub fn forward(&self, input: &EncoderInput<B>) -> ClassifierOutput<B> {
        let encoder = self.encoder.forward(input);
        let pooled = self.pooler_output(encoder.last_hidden_state.clone());
        let logits = self.classifier.forward(dropout(&self.dropout, pooled));
        ClassifierOutput { logits, encoder }
    }

    /// [`EncoderModel::validate`] then [`SequenceClassifier::forward`].
    pub fn forward_checked(&self, input: &EncoderInput<B>) -> Result<ClassifierOutput<B>, ModelError> {
        self.encoder.validate(input)?;
        Ok(self.forward(input))
    }

    /// Pooler + classifier parameters (always trainable, always saved with an adapter).
    pub fn head_params(&self) -> usize {
        self.pooler.num_params() + self.classifier.num_params()
    }

    /// Inject adapters into the encoder (pooler and classifier stay trainable).
    pub fn inject(mut self, spec: &AdapterSpec) -> Result<(Self, InjectionReport), ModelError> {
        let (encoder, report) = self.encoder.inject(spec)?;
        self.encoder = encoder;
        Ok((self, report))
    }

    /// Trainable parameters with adapters: adapters + gates + pooler + classifier.
    pub fn trainable_params(&self) -> usize {
        self.encoder.adapter_params() + self.head_params()
    }

    /// Save the adapters, gates and heads (`adapter.safetensors` + `adapter_config.json`) atomically into `dir`.
    pub fn save_adapter(&self, dir: &Path, manifest: &AdapterManifest) -> Result<(), ModelError> {
        Ok(io::save_adapter_with(
            self,
            dir,
            manifest,
            io::adapter_and_head_tensors,
        )?)
    }

    /// Load adapters, gates and heads saved by [`SequenceClassifier::save_adapter`] into a model with the same
    /// injection (files written before the backbones shared this skeleton load too); fails with a typed error
    /// on another method, shapes or a damaged file.
    pub fn load_adapter(self, dir: &Path, expected: &AdapterManifest) -> Result<Self, ModelError> {
        Ok(io::load_adapter_aliased(
            self,
            dir,
            expected,
            io::adapter_and_head_tensors,
            legacy_keys,
        )?)
    }
}
