//! The HuggingFace `config.json` of DeBERTa-v2/v3, read as users have it.
//!
//! Absent keys take HF's `DebertaV2Config` defaults (e.g. `relative_attention` false, `position_biased_input`
//! true, `type_vocab_size` 0, `layer_norm_eps` 1e-7, `max_relative_positions` −1 ⇒ `max_position_embeddings`,
//! `position_buckets` −1 ⇒ no buckets, pooler: hidden size, dropout 0, gelu — the raw microsoft/deberta-v3-base
//! config has no pooler keys). `pos_att_type` is accepted as a list or a `"p2c|c2p"` string. Options this
//! implementation does not support (`conv_kernel_size` > 0, unknown activations, unknown `pos_att_type` entries)
//! are errors naming the key, never silently ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use tabs_hf::HfError;

use crate::error::{DebertaError, Result};

pub use tabs_hf::Activation;

/// A validated DeBERTa-v2/v3 configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DebertaConfig {
    /// Vocabulary rows of the word embedding.
    pub vocab_size: usize,
    /// d, the hidden width.
    pub hidden_size: usize,
    /// Embedding width (`embedding_size`, default d; an `embed_proj` maps it to d when different).
    pub embedding_size: usize,
    /// L.
    pub num_hidden_layers: usize,
    /// H.
    pub num_attention_heads: usize,
    /// Per-head width (default d/H).
    pub attention_head_size: usize,
    /// FFN width.
    pub intermediate_size: usize,
    /// FFN activation.
    pub hidden_act: Activation,
    /// Dropout after dense layers and on embeddings and relative embeddings.
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// Absolute positions (rows of `position_embeddings`).
    pub max_position_embeddings: usize,
    /// Token types (0 = none).
    pub type_vocab_size: usize,
    /// Std of fresh weights.
    pub initializer_range: f64,
    /// LayerNorm ε (1e-7 in v3).
    pub layer_norm_eps: f64,
    /// Disentangled relative attention on/off.
    pub relative_attention: bool,
    /// Resolved maximum relative distance (−1 ⇒ `max_position_embeddings`).
    pub max_relative_positions: usize,
    /// Log-bucket count (None = no buckets).
    pub position_buckets: Option<usize>,
    /// Reuse query/key projections (with bias) for positions; else `pos_key_proj` / `pos_query_proj`.
    pub share_att_key: bool,
    /// content → position term.
    pub c2p: bool,
    /// position → content term.
    pub p2c: bool,
    /// LayerNorm on relative embeddings (`norm_rel_ebd` contains `layer_norm`).
    pub norm_rel_ebd: bool,
    /// Add absolute position embeddings to the input.
    pub position_biased_input: bool,
    /// Padding id (0).
    pub pad_token_id: usize,
    /// Pooler width (default d).
    pub pooler_hidden_size: usize,
    /// Pooler dropout (default 0).
    pub pooler_dropout: f64,
    /// Pooler activation (default gelu).
    pub pooler_hidden_act: Activation,
    /// Classifier dropout (`cls_dropout`, default `hidden_dropout_prob`).
    pub cls_dropout: f64,
    /// Labels (1 ⇒ regression).
    pub num_labels: usize,
}

#[derive(Deserialize)]
struct Raw {
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    embedding_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    attention_head_size: Option<usize>,
    intermediate_size: Option<usize>,
    hidden_act: Option<String>,
    hidden_dropout_prob: Option<f64>,
    attention_probs_dropout_prob: Option<f64>,
    max_position_embeddings: Option<usize>,
    type_vocab_size: Option<usize>,
    initializer_range: Option<f64>,
    layer_norm_eps: Option<f64>,
    relative_attention: Option<bool>,
    max_relative_positions: Option<i64>,
    position_buckets: Option<i64>,
    share_att_key: Option<bool>,
    pos_att_type: Option<Value>,
    norm_rel_ebd: Option<String>,
    position_biased_input: Option<bool>,
    pad_token_id: Option<usize>,
    pooler_hidden_size: Option<usize>,
    pooler_dropout: Option<f64>,
    pooler_hidden_act: Option<String>,
    cls_dropout: Option<f64>,
    num_labels: Option<usize>,
    id2label: Option<serde_json::Map<String, Value>>,
    conv_kernel_size: Option<i64>,
    model_type: Option<String>,
}

impl DebertaConfig {
    /// Read and validate `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| HfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parse and validate config JSON (`path` is only used in messages).
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| HfError::invalid_config(path, e.to_string()))?;
        Self::from_raw(raw, path)
    }

    fn from_raw(raw: Raw, path: &Path) -> Result<Self> {
        let unsupported = |key: &str, value: String, reason: &str| -> DebertaError {
            HfError::unsupported(path, key, value, reason).into()
        };
        let invalid = |reason: String| -> DebertaError { HfError::invalid_config(path, reason).into() };
        if let Some(mt) = &raw.model_type {
            if mt != "deberta-v2" && mt != "deberta-v3" {
                return Err(unsupported(
                    "model_type",
                    format!("{mt:?}"),
                    "expected \"deberta-v2\" (DeBERTa-v2 and v3 checkpoints)",
                ));
            }
        }
        if let Some(k) = raw.conv_kernel_size {
            if k > 0 {
                return Err(unsupported(
                    "conv_kernel_size",
                    k.to_string(),
                    "the convolution layer of DeBERTa-v2-xlarge is not implemented",
                ));
            }
        }
        let act = |key: &str, name: Option<String>| -> Result<Activation> {
            let name = name.unwrap_or_else(|| "gelu".into());
            Activation::parse(&name).ok_or_else(|| {
                unsupported(
                    key,
                    format!("{name:?}"),
                    "expected gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh, silu or swish",
                )
            })
        };
        let hidden_size = raw.hidden_size.unwrap_or(1536);
        let num_attention_heads = raw.num_attention_heads.unwrap_or(24);
        if num_attention_heads == 0
            || (raw.attention_head_size.is_none() && !hidden_size.is_multiple_of(num_attention_heads))
        {
            return Err(invalid(format!(
                "hidden_size {hidden_size} is not a multiple of num_attention_heads {num_attention_heads}"
            )));
        }
        let max_position_embeddings = raw.max_position_embeddings.unwrap_or(512);
        let max_relative_positions = match raw.max_relative_positions {
            Some(m) if m >= 1 => m as usize,
            _ => max_position_embeddings,
        };
        let position_buckets = match raw.position_buckets {
            Some(b) if b > 0 => Some(b as usize),
            _ => None,
        };
        let (mut c2p, mut p2c) = (false, false);
        let entries: Vec<String> = match &raw.pos_att_type {
            None | Some(Value::Null) => vec![],
            Some(Value::String(s)) => s.to_lowercase().split('|').map(|x| x.trim().to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(|s| s.trim().to_lowercase())
                        .ok_or_else(|| invalid(format!("pos_att_type entries must be strings, got {v}")))
                })
                .collect::<Result<_>>()?,
            Some(other) => return Err(invalid(format!("pos_att_type must be a list or a string, got {other}"))),
        };
        for e in entries.iter().filter(|e| !e.is_empty()) {
            match e.as_str() {
                "c2p" => c2p = true,
                "p2c" => p2c = true,
                other => {
                    return Err(unsupported(
                        "pos_att_type",
                        format!("{other:?}"),
                        "expected a subset of c2p, p2c",
                    ))
                }
            }
        }
        let norm_rel_ebd = raw
            .norm_rel_ebd
            .as_deref()
            .unwrap_or("none")
            .to_lowercase()
            .split('|')
            .any(|x| x.trim() == "layer_norm");
        let num_labels = raw.num_labels.or(raw.id2label.as_ref().map(|m| m.len())).unwrap_or(2);
        if num_labels == 0 {
            return Err(invalid("num_labels must be at least 1".into()));
        }
        let hidden_dropout_prob = raw.hidden_dropout_prob.unwrap_or(0.1);
        let cfg = Self {
            vocab_size: raw.vocab_size.unwrap_or(128_100),
            hidden_size,
            embedding_size: raw.embedding_size.unwrap_or(hidden_size),
            num_hidden_layers: raw.num_hidden_layers.unwrap_or(24),
            num_attention_heads,
            attention_head_size: raw.attention_head_size.unwrap_or(hidden_size / num_attention_heads),
            intermediate_size: raw.intermediate_size.unwrap_or(6144),
            hidden_act: act("hidden_act", raw.hidden_act)?,
            hidden_dropout_prob,
            attention_probs_dropout_prob: raw.attention_probs_dropout_prob.unwrap_or(0.1),
            max_position_embeddings,
            type_vocab_size: raw.type_vocab_size.unwrap_or(0),
            initializer_range: raw.initializer_range.unwrap_or(0.02),
            layer_norm_eps: raw.layer_norm_eps.unwrap_or(1e-7),
            relative_attention: raw.relative_attention.unwrap_or(false),
            max_relative_positions,
            position_buckets,
            share_att_key: raw.share_att_key.unwrap_or(false),
            c2p,
            p2c,
            norm_rel_ebd,
            position_biased_input: raw.position_biased_input.unwrap_or(true),
            pad_token_id: raw.pad_token_id.unwrap_or(0),
            pooler_hidden_size: raw.pooler_hidden_size.unwrap_or(hidden_size),
            pooler_dropout: raw.pooler_dropout.unwrap_or(0.0),
            pooler_hidden_act: act("pooler_hidden_act", raw.pooler_hidden_act)?,
            cls_dropout: raw.cls_dropout.unwrap_or(hidden_dropout_prob),
            num_labels,
        };
        for (key, v) in [
            ("hidden_dropout_prob", cfg.hidden_dropout_prob),
            ("attention_probs_dropout_prob", cfg.attention_probs_dropout_prob),
            ("pooler_dropout", cfg.pooler_dropout),
            ("cls_dropout", cfg.cls_dropout),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(invalid(format!("{key} must be in [0, 1), got {v}")));
            }
        }
        if cfg.pooler_hidden_size != cfg.hidden_size {
            return Err(unsupported(
                "pooler_hidden_size",
                cfg.pooler_hidden_size.to_string(),
                "HF's ContextPooler maps pooler_hidden_size → pooler_hidden_size on the first token; it must equal hidden_size",
            ));
        }
        Ok(cfg)
    }

    /// The span of relative embeddings used per side: `position_buckets` if set, else `max_relative_positions`.
    pub fn att_span(&self) -> usize {
        self.position_buckets.unwrap_or(self.max_relative_positions)
    }

    /// The base-size DeBERTa-v3 configuration (768 / 12 layers / 12 heads / 3072, vocab 128100).
    pub fn v3_base() -> Self {
        Self::from_json(
            r#"{"model_type": "deberta-v2", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 0,
                "initializer_range": 0.02, "relative_attention": true, "max_relative_positions": -1,
                "position_buckets": 256, "norm_rel_ebd": "layer_norm", "share_att_key": true,
                "pos_att_type": "p2c|c2p", "layer_norm_eps": 1e-7, "position_biased_input": false,
                "vocab_size": 128100, "pad_token_id": 0}"#,
            &PathBuf::from("<built-in deberta-v3-base>"),
        )
        .expect("the built-in config is valid")
    }
}
