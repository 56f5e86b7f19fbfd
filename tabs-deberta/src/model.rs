//! DeBERTa-v2/v3 models: the encoder ([`DebertaModel`]) and HF's sequence-classification head
//! ([`DebertaForSequenceClassification`]: `ContextPooler` on the first token — dropout → dense → activation — then
//! dropout → `classifier`). `num_labels` = 1 is regression.

use std::path::Path;

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use tabs::{LayerGates, SpectralGates, TokenMask};

use crate::config::{Activation, DebertaConfig};
use crate::embedding::Embeddings;
use crate::encoder::Encoder;
use crate::error::{DebertaError, Result};
use crate::loader;
use crate::weights::{IfMissing, LoadReport, Weights};

/// A batch of inputs: ids `[b, T]`, attention mask `[b, T]` (1 = real token), optional token types `[b, T]`
/// (the one input type of every tabs encoder).
pub type DebertaInput<B> = tabs_hf::EncoderInput<B>;

/// The encoder's outputs.
#[derive(Debug, Clone)]
pub struct DebertaOutput<B: Backend> {
    /// `[b, T, d]`.
    pub last_hidden_state: Tensor<B, 3>,
    /// Each layer's gates (empty without gated adapters).
    pub gates: Vec<LayerGates<B>>,
    /// The real-token mask with lengths and budgets (when gated).
    pub token_mask: Option<TokenMask<B>>,
}

/// The DeBERTa encoder with optional TABS gates.
#[derive(Module, Debug)]
pub struct DebertaModel<B: Backend> {
    /// `embeddings.*`.
    pub embeddings: Embeddings<B>,
    /// `encoder.*`.
    pub encoder: Encoder<B>,
    /// Gate sources of gated spectral adapters (BHSP / CBSP / TABS).
    pub gates: Option<SpectralGates<B>>,
    /// The configuration.
    #[module(skip)]
    pub config: DebertaConfig,
}

/// Checkpoint keys that are knowingly not used by an encoder (+ head) model.
pub fn ignored_key(c: &DebertaConfig, key: &str) -> bool {
    key.starts_with("lm_predictions.")
        || key.starts_with("mask_predictions.")
        || key.starts_with("lm_head.")
        || key.starts_with("cls.predictions.")
        || key.ends_with("position_ids")
        || (!c.position_biased_input && key.starts_with("embeddings.position_embeddings."))
}

impl<B: Backend> DebertaModel<B> {
    /// Build from a parameter source.
    pub fn new(config: &DebertaConfig, w: &mut Weights, device: &B::Device) -> Result<Self> {
        Ok(Self {
            embeddings: Embeddings::new(config, w, device),
            encoder: Encoder::new(config, w, device)?,
            gates: None,
            config: config.clone(),
        })
    }

    /// Check inputs against the config: matching shapes, ids < vocab, token types < type_vocab_size, and
    /// T ≤ max_position_embeddings when absolute positions are used. (Host read of the ids.)
    pub fn validate(&self, input: &DebertaInput<B>) -> Result<()> {
        let c = &self.config;
        let [b, t] = input.input_ids.dims();
        if b == 0 || t == 0 {
            return Err(DebertaError::Input(format!(
                "empty batch: input_ids has shape [{b}, {t}]"
            )));
        }
        if input.attention_mask.dims() != [b, t] {
            return Err(DebertaError::Input(format!(
                "attention_mask has shape {:?}, input_ids [{b}, {t}]",
                input.attention_mask.dims()
            )));
        }
        if c.position_biased_input && t > c.max_position_embeddings {
            return Err(DebertaError::Input(format!(
                "sequence length {t} exceeds max_position_embeddings {} of a model with absolute positions",
                c.max_position_embeddings
            )));
        }
        let max_of = |x: &Tensor<B, 2, Int>| -> i64 {
            x.clone()
                .max()
                .into_data()
                .convert::<i64>()
                .to_vec::<i64>()
                .map(|v| v[0])
                .unwrap_or(0)
        };
        let min_of = |x: &Tensor<B, 2, Int>| -> i64 {
            x.clone()
                .min()
                .into_data()
                .convert::<i64>()
                .to_vec::<i64>()
                .map(|v| v[0])
                .unwrap_or(0)
        };
        let (lo, hi) = (min_of(&input.input_ids), max_of(&input.input_ids));
        if lo < 0 || hi as usize >= c.vocab_size {
            return Err(DebertaError::Input(format!(
                "input_ids must be in [0, {}), found values in [{lo}, {hi}]",
                c.vocab_size
            )));
        }
        // Without token-type embeddings (DeBERTa-v3) token types are ignored, as in transformers.
        if let Some(tt) = input.token_type_ids.as_ref().filter(|_| c.type_vocab_size > 0) {
            if tt.dims() != [b, t] {
                return Err(DebertaError::Input(format!(
                    "token_type_ids has shape {:?}, input_ids [{b}, {t}]",
                    tt.dims()
                )));
            }
            let (lo, hi) = (min_of(tt), max_of(tt));
            if lo < 0 || hi as usize >= c.type_vocab_size {
                return Err(DebertaError::Input(format!(
                    "token_type_ids must be in [0, {}), found values in [{lo}, {hi}]",
                    c.type_vocab_size
                )));
            }
        }
        Ok(())
    }

    /// Encode a batch. Gates (if any) follow the backend's mode: sampled with projection under autodiff,
    /// deterministic with the budget cut otherwise.
    pub fn forward(&self, input: &DebertaInput<B>) -> DebertaOutput<B> {
        let mask = input.attention_mask.clone().not_equal_elem(0).float();
        let token_types = input
            .token_type_ids
            .clone()
            .unwrap_or_else(|| input.input_ids.zeros_like());
        let x = self
            .embeddings
            .forward(input.input_ids.clone(), token_types, mask.clone());
        let token_mask = self.gates.as_ref().map(|g| g.token_mask(mask.clone()));
        let gating = self.gates.as_ref().zip(token_mask.as_ref());
        let (last_hidden_state, gates) = self.encoder.forward(x, mask, gating);
        DebertaOutput {
            last_hidden_state,
            gates,
            token_mask,
        }
    }

    /// The budget loss of a forward pass's gates (0 without gates).
    pub fn budget_loss(&self, gates: &[LayerGates<B>], device: &B::Device) -> Tensor<B, 1> {
        match &self.gates {
            Some(g) if !gates.is_empty() => g.budget_loss(gates),
            _ => Tensor::zeros([1], device),
        }
    }
}

/// Outputs of the classification model.
#[derive(Debug, Clone)]
pub struct ClassifierOutput<B: Backend> {
    /// `[b, num_labels]`.
    pub logits: Tensor<B, 2>,
    /// The encoder's outputs.
    pub encoder: DebertaOutput<B>,
}

/// `DebertaV2ForSequenceClassification`.
#[derive(Module, Debug)]
pub struct DebertaForSequenceClassification<B: Backend> {
    /// `deberta.*`.
    pub deberta: DebertaModel<B>,
    /// `pooler.dense` (always trainable).
    pub pooler: Linear<B>,
    /// `pooler.dropout`.
    pub pooler_dropout: Dropout,
    /// `classifier` (always trainable).
    pub classifier: Linear<B>,
    /// Dropout before the classifier (`cls_dropout`).
    pub dropout: Dropout,
    /// Pooler activation.
    #[module(skip)]
    pub pooler_act: Activation,
}

impl<B: Backend> DebertaForSequenceClassification<B> {
    /// Build from a parameter source; absent `pooler.*` / `classifier.*` are initialised as HF does.
    pub fn new(c: &DebertaConfig, w: &mut Weights, device: &B::Device) -> Result<Self> {
        let deberta = DebertaModel::new(c, w, device)?;
        let d = c.hidden_size;
        Ok(Self {
            deberta,
            pooler: w.linear("pooler.dense", d, d, true, IfMissing::Initialise, device),
            pooler_dropout: DropoutConfig::new(c.pooler_dropout).init(),
            classifier: w.linear("classifier", d, c.num_labels, true, IfMissing::Initialise, device),
            dropout: DropoutConfig::new(c.cls_dropout).init(),
            pooler_act: c.pooler_hidden_act,
        })
    }

    /// A randomly initialised model (HF's initialisation, deterministic in `seed`).
    pub fn random(c: &DebertaConfig, seed: u64, device: &B::Device) -> Self {
        let mut w = Weights::random(c.initializer_range, seed);
        Self::new(c, &mut w, device).expect("a random model has every parameter")
    }

    /// Load a HF checkpoint folder (`config.json` + `model.safetensors` or `pytorch_model.bin`).
    /// `num_labels` overrides the config's label count. A checkpoint without `pooler.*` / `classifier.*` gets
    /// fresh heads (reported); a checkpoint head of another shape is a shape-mismatch error, as in HF without
    /// `ignore_mismatched_sizes`.
    pub fn from_pretrained(
        dir: &Path,
        num_labels: Option<usize>,
        seed: u64,
        device: &B::Device,
    ) -> Result<(Self, LoadReport)> {
        let (mut config, path, tensors) = loader::read_dir(dir)?;
        if let Some(n) = num_labels {
            config.num_labels = n;
        }
        let mut w = Weights::from_checkpoint(path, tensors, config.initializer_range, seed);
        let model = Self::new(&config, &mut w, device)?;
        let report = w.finish(|k| ignored_key(&config, k))?;
        Ok((model, report))
    }

    /// The configuration.
    pub fn config(&self) -> &DebertaConfig {
        &self.deberta.config
    }

    /// Logits `[b, num_labels]` and the encoder's outputs.
    pub fn forward(&self, input: &DebertaInput<B>) -> ClassifierOutput<B> {
        let encoder = self.deberta.forward(input);
        let [b, _, d] = encoder.last_hidden_state.dims();
        let first = encoder.last_hidden_state.clone().slice([0..b, 0..1]).reshape([b, d]);
        let pooled = self
            .pooler_act
            .apply(self.pooler.forward(self.pooler_dropout.forward(first)));
        let logits = self.classifier.forward(self.dropout.forward(pooled));
        ClassifierOutput { logits, encoder }
    }

    /// Pooler + classifier parameters (always trainable, always saved with an adapter).
    pub fn head_params(&self) -> usize {
        self.pooler.num_params() + self.classifier.num_params()
    }
}
