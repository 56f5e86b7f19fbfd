//! BERT models: the encoder ([`BertModel`], HF `BertModel` without its pooler) and HF's sequence-classification
//! model ([`BertForSequenceClassification`]: `BertPooler` on the first token — dense → tanh — then dropout →
//! `classifier`). `num_labels` = 1 is regression.
//!
//! The pooler lives in the classification model (as a public `Linear`, like DeBERTa's) so that trainers can
//! treat pooler + classifier as one always-trainable head with its own learning rate; its checkpoint key is
//! still HF's `(bert.)pooler.dense.*`.

use std::path::Path;

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use tabs::{LayerGates, SpectralGates, TokenMask};

use crate::config::BertConfig;
use crate::embedding::Embeddings;
use crate::encoder::Encoder;
use crate::error::{BertError, Result};
use crate::loader;
use crate::weights::{IfMissing, LoadReport, Weights};

/// A batch of inputs: ids `[b, T]`, attention mask `[b, T]` (1 = real token), optional token types `[b, T]`
/// (the one input type of every tabs encoder).
pub type BertInput<B> = tabs_hf::EncoderInput<B>;

/// The encoder's outputs.
#[derive(Debug, Clone)]
pub struct BertOutput<B: Backend> {
    /// `[b, T, d]`.
    pub last_hidden_state: Tensor<B, 3>,
    /// Each layer's gates (empty without gated adapters).
    pub gates: Vec<LayerGates<B>>,
    /// The real-token mask with lengths and budgets (when gated).
    pub token_mask: Option<TokenMask<B>>,
}

/// The BERT encoder with optional TABS gates.
#[derive(Module, Debug)]
pub struct BertModel<B: Backend> {
    /// `embeddings.*`.
    pub embeddings: Embeddings<B>,
    /// `encoder.*`.
    pub encoder: Encoder<B>,
    /// Gate sources of gated spectral adapters (BHSP / CBSP / TABS).
    pub gates: Option<SpectralGates<B>>,
    /// The configuration.
    #[module(skip)]
    pub config: BertConfig,
}

/// Checkpoint keys (without `bert.`) that are knowingly not used by an encoder (+ head) model: pre-training
/// heads (`cls.predictions.*`, `cls.seq_relationship.*`) and the non-persistent buffers some files carry.
pub fn ignored_key(key: &str) -> bool {
    key.starts_with("cls.")
        || key.starts_with("lm_head.")
        || key.ends_with("position_ids")
        || key == "embeddings.token_type_ids"
}

fn extreme<B: Backend>(x: &Tensor<B, 2, Int>, max: bool) -> i64 {
    let v = if max { x.clone().max() } else { x.clone().min() };
    v.into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(0)
}

impl<B: Backend> BertModel<B> {
    /// Build from a parameter source.
    pub fn new(config: &BertConfig, w: &mut Weights, device: &B::Device) -> Self {
        Self {
            embeddings: Embeddings::new(config, w, device),
            encoder: Encoder::new(config, w, device),
            gates: None,
            config: config.clone(),
        }
    }

    /// Check inputs against the config: matching shapes, 1 ≤ T ≤ max_position_embeddings, ids < vocab,
    /// token types < type_vocab_size. (Host read of the ids.)
    pub fn validate(&self, input: &BertInput<B>) -> Result<()> {
        let c = &self.config;
        let [b, t] = input.input_ids.dims();
        if b == 0 || t == 0 {
            return Err(BertError::Input(format!("empty batch: input_ids has shape [{b}, {t}]")));
        }
        if input.attention_mask.dims() != [b, t] {
            return Err(BertError::Input(format!(
                "attention_mask has shape {:?}, input_ids [{b}, {t}]",
                input.attention_mask.dims()
            )));
        }
        if t > c.max_position_embeddings {
            return Err(BertError::Input(format!(
                "sequence length {t} exceeds max_position_embeddings {}",
                c.max_position_embeddings
            )));
        }
        let (lo, hi) = (extreme(&input.input_ids, false), extreme(&input.input_ids, true));
        if lo < 0 || hi as usize >= c.vocab_size {
            return Err(BertError::Input(format!(
                "input_ids must be in [0, {}), found values in [{lo}, {hi}]",
                c.vocab_size
            )));
        }
        if let Some(tt) = &input.token_type_ids {
            if tt.dims() != [b, t] {
                return Err(BertError::Input(format!(
                    "token_type_ids has shape {:?}, input_ids [{b}, {t}]",
                    tt.dims()
                )));
            }
            let (lo, hi) = (extreme(tt, false), extreme(tt, true));
            if lo < 0 || hi as usize >= c.type_vocab_size {
                return Err(BertError::Input(format!(
                    "token_type_ids must be in [0, {}), found values in [{lo}, {hi}]",
                    c.type_vocab_size
                )));
            }
        }
        Ok(())
    }

    /// Encode a batch (inputs assumed valid, see [`BertModel::validate`]). Gates (if any) follow the backend's
    /// mode: sampled with projection under autodiff, deterministic with the budget cut otherwise.
    pub fn forward(&self, input: &BertInput<B>) -> BertOutput<B> {
        let mask = input.attention_mask.clone().not_equal_elem(0).float();
        let token_types = input
            .token_type_ids
            .clone()
            .unwrap_or_else(|| input.input_ids.zeros_like());
        let x = self.embeddings.forward(input.input_ids.clone(), token_types);
        let token_mask = self.gates.as_ref().map(|g| g.token_mask(mask.clone()));
        let gating = self.gates.as_ref().zip(token_mask.as_ref());
        let (last_hidden_state, gates) = self.encoder.forward(x, mask, gating);
        BertOutput {
            last_hidden_state,
            gates,
            token_mask,
        }
    }

    /// [`BertModel::validate`] then [`BertModel::forward`].
    pub fn forward_checked(&self, input: &BertInput<B>) -> Result<BertOutput<B>> {
        self.validate(input)?;
        Ok(self.forward(input))
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
    pub encoder: BertOutput<B>,
}

/// `BertForSequenceClassification`.
#[derive(Module, Debug)]
pub struct BertForSequenceClassification<B: Backend> {
    /// `bert.*` (embeddings + encoder).
    pub bert: BertModel<B>,
    /// `bert.pooler.dense` (always trainable).
    pub pooler: Linear<B>,
    /// `classifier` (always trainable).
    pub classifier: Linear<B>,
    /// Dropout before the classifier (`classifier_dropout`, default `hidden_dropout_prob`).
    pub dropout: Dropout,
}

impl<B: Backend> BertForSequenceClassification<B> {
    /// Build from a parameter source; absent `pooler.*` / `classifier.*` are initialised as HF does
    /// (weights N(0, initializer_range²), biases 0).
    pub fn new(c: &BertConfig, w: &mut Weights, device: &B::Device) -> Self {
        let d = c.hidden_size;
        Self {
            bert: BertModel::new(c, w, device),
            pooler: w.linear("pooler.dense", d, d, true, IfMissing::Initialise, device),
            classifier: w.linear("classifier", d, c.num_labels, true, IfMissing::Initialise, device),
            dropout: DropoutConfig::new(c.classifier_dropout).init(),
        }
    }

    /// A randomly initialised model (HF's initialisation, deterministic in `seed`).
    pub fn random(c: &BertConfig, seed: u64, device: &B::Device) -> Self {
        Self::new(c, &mut Weights::random(c.initializer_range, seed), device)
    }

    /// Load a HF checkpoint folder (`config.json` + `model.safetensors` or `pytorch_model.bin`), with or without
    /// the `bert.` prefix. `num_labels` overrides the config's label count. A checkpoint without `pooler.*` /
    /// `classifier.*` gets fresh heads (reported, seeded by `seed`); a checkpoint head of another shape is a
    /// shape-mismatch error, as in HF without `ignore_mismatched_sizes`. Every missing encoder key is named in one
    /// error.
    pub fn from_pretrained(
        dir: &Path,
        num_labels: Option<usize>,
        seed: u64,
        device: &B::Device,
    ) -> Result<(Self, LoadReport)> {
        let (mut config, path, tensors) = loader::read_dir(dir)?;
        if let Some(n) = num_labels {
            if n == 0 {
                return Err(BertError::Input("num_labels must be at least 1".into()));
            }
            config.num_labels = n;
        }
        let mut w = Weights::from_checkpoint(path, tensors, config.initializer_range, seed);
        let model = Self::new(&config, &mut w, device);
        let report = w.finish(ignored_key)?;
        Ok((model, report))
    }

    /// The configuration.
    pub fn config(&self) -> &BertConfig {
        &self.bert.config
    }

    /// HF's `pooler_output`: tanh(pooler(h₀)) of the first token, `[b, T, d]` → `[b, d]`.
    pub fn pooler_output(&self, last_hidden_state: Tensor<B, 3>) -> Tensor<B, 2> {
        let [b, _, d] = last_hidden_state.dims();
        let first = last_hidden_state.slice([0..b, 0..1]).reshape([b, d]);
        self.pooler.forward(first).tanh()
    }

    /// Logits `[b, num_labels]` = classifier(dropout(pooler_output)) and the encoder's outputs.
    pub fn forward(&self, input: &BertInput<B>) -> ClassifierOutput<B> {
        let encoder = self.bert.forward(input);
        let pooled = self.pooler_output(encoder.last_hidden_state.clone());
        let logits = self.classifier.forward(self.dropout.forward(pooled));
        ClassifierOutput { logits, encoder }
    }

    /// [`BertModel::validate`] then [`BertForSequenceClassification::forward`].
    pub fn forward_checked(&self, input: &BertInput<B>) -> Result<ClassifierOutput<B>> {
        self.bert.validate(input)?;
        Ok(self.forward(input))
    }

    /// Pooler + classifier parameters (always trainable, always saved with an adapter).
    pub fn head_params(&self) -> usize {
        self.pooler.num_params() + self.classifier.num_params()
    }
}
