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

use tabs_hf::config::{check_probabilities, parse_json};
pub use tabs_hf::Activation;
use tabs_hf::{Architecture, EncoderConfig, HeadConfig, HfError, RawEncoderConfig};

use crate::{BertError, Result};

/// The default adapter targets on BERT (six maps per layer, as LoRA/AdaLoRA on DeBERTa).
pub const DEFAULT_TARGETS: [&str; 6] = [
    "query",
    "key",
    "value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

/// A validated BERT configuration: the keys every encoder shares ([`EncoderConfig`], read through `Deref`:
/// `c.hidden_size`) and BERT's own.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// The shared keys (transformers' `BertConfig()` defaults).
    pub shared: EncoderConfig,
    /// Dropout before the classifier.
    pub classifier_dropout: f64,
}

tabs_hf::shared_keys!(BertConfig);

#[derive(Deserialize)]
struct Raw {
    #[serde(flatten)]
    shared: RawEncoderConfig,
    classifier_dropout: Option<f64>,
    position_embedding_type: Option<String>,
    is_decoder: Option<bool>,
    add_cross_attention: Option<bool>,
}

impl BertConfig {
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

impl Architecture for BertConfig {
    const DEFAULT_TARGETS: [&'static str; 6] = DEFAULT_TARGETS;
    /// transformers' `BertConfig()` defaults.
    const DEFAULTS: &'static str = r#"{"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "type_vocab_size": 2, "layer_norm_eps": 1e-12}"#;

    fn from_json(text: &str, path: &Path) -> Result<Self> {
        let raw: Raw = parse_json(text, path)?;
        let unsupported = |key: &str, value: String, reason: &str| -> BertError {
            HfError::unsupported(path, key, value, reason).into()
        };
        if let Some(t) = &raw.shared.model_type {
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
        let shared = EncoderConfig::resolve(&raw.shared, Self::DEFAULTS, path)?;
        shared.head_size_of(path)?;
        if shared.type_vocab_size == 0 {
            return Err(HfError::invalid_config(path, "`type_vocab_size` must be at least 1").into());
        }
        let cfg = Self {
            classifier_dropout: raw.classifier_dropout.unwrap_or(shared.hidden_dropout_prob),
            shared,
        };
        check_probabilities(path, &[("classifier_dropout", cfg.classifier_dropout)])?;
        Ok(cfg)
    }

    /// Learned absolute positions: at most `max_position_embeddings` tokens.
    fn max_length(&self) -> Option<usize> {
        Some(self.max_position_embeddings)
    }

    /// `BertPooler`: no dropout, tanh.
    fn head(&self) -> HeadConfig {
        HeadConfig {
            pooler_dropout: 0.0,
            pooler_act: Activation::Tanh,
            classifier_dropout: self.classifier_dropout,
        }
    }

    /// Pre-training heads (`cls.predictions.*`, `cls.seq_relationship.*`, `lm_head.*`) and the non-persistent buffers some
    /// files carry (`position_ids`, `embeddings.token_type_ids`).
    fn ignored_key(&self, key: &str) -> bool {
        key.starts_with("cls.")
            || key.starts_with("lm_head.")
            || key.ends_with("position_ids")
            || key == "embeddings.token_type_ids"
    }
}
