//! The HuggingFace `config.json` of BERT-family encoders (BERT, MiniLM, sentence-transformers' BERT models).
//!
//! Absent keys take transformers' `BertConfig` defaults (vocab 30522, d 768, 12 layers, 12 heads, FFN 3072,
//! `gelu`, dropouts 0.1, 512 positions, 2 token types, `initializer_range` 0.02, `layer_norm_eps` 1e-12,
//! `classifier_dropout` None ⇒ `hidden_dropout_prob`, 2 labels unless `num_labels` / `id2label` say otherwise).
//! Options this implementation does not support are errors naming the key, never silently ignored:
//! `position_embedding_type` other than `absolute` (transformers 5 dropped the relative variants), decoders
//! (`is_decoder`, `add_cross_attention`), unknown activations, d not divisible by the head count.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

pub use tabs_hf::Activation;
use tabs_hf::HfError;

use crate::error::{BertError, Result};

/// A validated BERT configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Vocabulary rows of the word embedding.
    pub vocab_size: usize,
    /// d, the hidden width.
    pub hidden_size: usize,
    /// L.
    pub num_hidden_layers: usize,
    /// H (d / H per head).
    pub num_attention_heads: usize,
    /// FFN width.
    pub intermediate_size: usize,
    /// FFN activation.
    pub hidden_act: Activation,
    /// Dropout on embeddings and after dense layers.
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// Rows of `position_embeddings` (the longest input).
    pub max_position_embeddings: usize,
    /// Rows of `token_type_embeddings`.
    pub type_vocab_size: usize,
    /// Std of fresh weights.
    pub initializer_range: f64,
    /// LayerNorm ε (1e-12 in BERT).
    pub layer_norm_eps: f64,
    /// Dropout before the classifier.
    pub classifier_dropout: f64,
    /// Output width of the classifier (1 ⇒ regression).
    pub num_labels: usize,
}

#[derive(Deserialize)]
struct Raw {
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    hidden_act: Option<String>,
    hidden_dropout_prob: Option<f64>,
    attention_probs_dropout_prob: Option<f64>,
    max_position_embeddings: Option<usize>,
    type_vocab_size: Option<usize>,
    initializer_range: Option<f64>,
    layer_norm_eps: Option<f64>,
    classifier_dropout: Option<f64>,
    num_labels: Option<usize>,
    id2label: Option<serde_json::Map<String, Value>>,
    position_embedding_type: Option<String>,
    is_decoder: Option<bool>,
    add_cross_attention: Option<bool>,
    model_type: Option<String>,
}

impl BertConfig {
    /// Read and validate `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| HfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parse and validate a config's JSON text (`path` names it in errors).
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| HfError::invalid_config(path, e.to_string()))?;
        let unsupported = |key: &str, value: String, reason: &str| -> BertError {
            HfError::unsupported(path, key, value, reason).into()
        };
        let invalid = |reason: String| -> BertError { HfError::invalid_config(path, reason).into() };
        if let Some(t) = &raw.model_type {
            if !matches!(t.as_str(), "bert") {
                return Err(unsupported(
                    "model_type",
                    format!("{t:?}"),
                    "this crate reads BERT-family (`bert`) configs",
                ));
            }
        }
        if let Some(p) = raw.position_embedding_type.as_deref().filter(|p| *p != "absolute") {
            return Err(unsupported(
                "position_embedding_type",
                format!("{p:?}"),
                "only absolute position embeddings are supported",
            ));
        }
        for (key, on) in [
            ("is_decoder", raw.is_decoder),
            ("add_cross_attention", raw.add_cross_attention),
        ] {
            if on == Some(true) {
                return Err(unsupported(
                    key,
                    "true".into(),
                    "this crate implements the encoder only",
                ));
            }
        }
        let act_name = raw.hidden_act.unwrap_or_else(|| "gelu".into());
        let hidden_act = Activation::parse(&act_name).ok_or_else(|| {
            unsupported(
                "hidden_act",
                format!("{act_name:?}"),
                "expected gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh, silu or swish",
            )
        })?;
        let hidden_dropout_prob = raw.hidden_dropout_prob.unwrap_or(0.1);
        let cfg = Self {
            vocab_size: raw.vocab_size.unwrap_or(30522),
            hidden_size: raw.hidden_size.unwrap_or(768),
            num_hidden_layers: raw.num_hidden_layers.unwrap_or(12),
            num_attention_heads: raw.num_attention_heads.unwrap_or(12),
            intermediate_size: raw.intermediate_size.unwrap_or(3072),
            hidden_act,
            hidden_dropout_prob,
            attention_probs_dropout_prob: raw.attention_probs_dropout_prob.unwrap_or(0.1),
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(512),
            type_vocab_size: raw.type_vocab_size.unwrap_or(2),
            initializer_range: raw.initializer_range.unwrap_or(0.02),
            layer_norm_eps: raw.layer_norm_eps.unwrap_or(1e-12),
            classifier_dropout: raw.classifier_dropout.unwrap_or(hidden_dropout_prob),
            num_labels: raw.num_labels.or(raw.id2label.as_ref().map(|m| m.len())).unwrap_or(2),
        };
        for (key, n) in [
            ("vocab_size", cfg.vocab_size),
            ("hidden_size", cfg.hidden_size),
            ("num_hidden_layers", cfg.num_hidden_layers),
            ("num_attention_heads", cfg.num_attention_heads),
            ("intermediate_size", cfg.intermediate_size),
            ("max_position_embeddings", cfg.max_position_embeddings),
            ("type_vocab_size", cfg.type_vocab_size),
            ("num_labels", cfg.num_labels),
        ] {
            if n == 0 {
                return Err(invalid(format!("`{key}` must be at least 1")));
            }
        }
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(invalid(format!(
                "`hidden_size` {} is not a multiple of `num_attention_heads` {}",
                cfg.hidden_size, cfg.num_attention_heads
            )));
        }
        for (key, v) in [
            ("hidden_dropout_prob", cfg.hidden_dropout_prob),
            ("attention_probs_dropout_prob", cfg.attention_probs_dropout_prob),
            ("classifier_dropout", cfg.classifier_dropout),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(invalid(format!("`{key}` = {v} is not a probability in [0, 1)")));
            }
        }
        let eps_ok = cfg.layer_norm_eps.is_finite() && cfg.layer_norm_eps > 0.0;
        let std_ok = cfg.initializer_range.is_finite() && cfg.initializer_range >= 0.0;
        if !eps_ok || !std_ok {
            return Err(invalid(format!(
                "`layer_norm_eps` = {} must be > 0 and `initializer_range` = {} ≥ 0",
                cfg.layer_norm_eps, cfg.initializer_range
            )));
        }
        Ok(cfg)
    }

    /// Per-head width d / H.
    pub fn head_size(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// sentence-transformers' all-MiniLM-L6-v2 shape (d 384, 6 layers, 12 heads, FFN 1536, vocab 30522).
    pub fn minilm_l6() -> Self {
        Self::from_json(
            r#"{"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
                "intermediate_size": 1536, "vocab_size": 30522}"#,
            &PathBuf::from("<all-MiniLM-L6-v2 config>"),
        )
        .expect("a valid built-in config")
    }

    /// bert-base-uncased shape (d 768, 12 layers, 12 heads, FFN 3072): transformers' `BertConfig()` defaults.
    pub fn base() -> Self {
        Self::from_json("{}", &PathBuf::from("<bert-base config>")).expect("a valid built-in config")
    }
}
