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

use tabs_hf::config::{activation, check_probabilities, parse_json};
use tabs_hf::{Architecture, EncoderConfig, HeadConfig, HfError, RawEncoderConfig};

use crate::{DebertaError, Result};

pub use tabs_hf::Activation;

/// The default adapter targets on DeBERTa (six maps per layer, as LoRA/AdaLoRA).
pub const DEFAULT_TARGETS: [&str; 6] = [
    "query_proj",
    "key_proj",
    "value_proj",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

/// A validated DeBERTa-v2/v3 configuration: the keys every encoder shares ([`EncoderConfig`], read through
/// `Deref`: `c.hidden_size`) and DeBERTa's own.
#[derive(Debug, Clone, PartialEq)]
pub struct DebertaConfig {
    /// The shared keys (HF's `DebertaV2Config` defaults: vocabulary 128,100, d 1536, 24 layers, 24 heads,
    /// FFN 6144, no token types, LayerNorm ε 1e-7).
    pub shared: EncoderConfig,
    /// Embedding width (`embedding_size`, default d; an `embed_proj` maps it to d when different).
    pub embedding_size: usize,
    /// Per-head width (default d/H).
    pub attention_head_size: usize,
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
}

tabs_hf::shared_keys!(DebertaConfig);

#[derive(Deserialize)]
struct Raw {
    #[serde(flatten)]
    shared: RawEncoderConfig,
    embedding_size: Option<usize>,
    attention_head_size: Option<usize>,
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
    conv_kernel_size: Option<i64>,
}

impl DebertaConfig {
    fn from_raw(raw: Raw, path: &Path) -> Result<Self> {
        let unsupported = |key: &str, value: String, reason: &str| -> DebertaError {
            HfError::unsupported(path, key, value, reason).into()
        };
        let invalid = |reason: String| -> DebertaError { HfError::invalid_config(path, reason).into() };
        if let Some(mt) = &raw.shared.model_type {
            if mt != "deberta-v2" {
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
        let shared = EncoderConfig::resolve(&raw.shared, Self::DEFAULTS, path)?;
        let hidden_size = shared.hidden_size;
        let attention_head_size = match raw.attention_head_size {
            Some(n) => n,
            None => shared.head_size_of(path)?,
        };
        let max_relative_positions = match raw.max_relative_positions {
            Some(m) if m >= 1 => m as usize,
            _ => shared.max_position_embeddings,
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
        let hidden_dropout_prob = shared.hidden_dropout_prob;
        let cfg = Self {
            embedding_size: raw.embedding_size.unwrap_or(hidden_size),
            attention_head_size,
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
            pooler_hidden_act: activation(path, "pooler_hidden_act", raw.pooler_hidden_act.as_deref())?,
            cls_dropout: raw.cls_dropout.unwrap_or(hidden_dropout_prob),
            shared,
        };
        check_probabilities(
            path,
            &[("pooler_dropout", cfg.pooler_dropout), ("cls_dropout", cfg.cls_dropout)],
        )?;
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

impl Architecture for DebertaConfig {
    const DEFAULT_TARGETS: [&'static str; 6] = DEFAULT_TARGETS;
    /// HF's `DebertaV2Config()` defaults.
    const DEFAULTS: &'static str = r#"{"vocab_size": 128100, "hidden_size": 1536, "num_hidden_layers": 24, "num_attention_heads": 24,
        "intermediate_size": 6144, "type_vocab_size": 0, "layer_norm_eps": 1e-7}"#;

    fn from_json(text: &str, path: &Path) -> Result<Self> {
        Self::from_raw(parse_json(text, path)?, path)
    }

    /// Relative-only positions (DeBERTa-v3) have no length limit; `position_biased_input` adds learned absolute
    /// positions, limited to `max_position_embeddings`.
    fn max_length(&self) -> Option<usize> {
        self.position_biased_input.then_some(self.max_position_embeddings)
    }

    fn head(&self) -> HeadConfig {
        HeadConfig {
            pooler_dropout: self.pooler_dropout,
            pooler_act: self.pooler_hidden_act,
            classifier_dropout: self.cls_dropout,
        }
    }

    /// Pre-training heads (`lm_predictions.*`, `mask_predictions.*`, `lm_head.*`, `cls.predictions.*`), the
    /// `position_ids` buffer, and absolute position embeddings a relative-only model does not read.
    fn ignored_key(&self, key: &str) -> bool {
        key.starts_with("lm_predictions.")
            || key.starts_with("mask_predictions.")
            || key.starts_with("lm_head.")
            || key.starts_with("cls.predictions.")
            || key.ends_with("position_ids")
            || (!self.position_biased_input && key.starts_with("embeddings.position_embeddings."))
    }
}
