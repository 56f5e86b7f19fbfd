//! The `config.json` keys every tabs encoder shares (BERT and DeBERTa alike), read once: sizes, activation,
//! dropouts, position and token-type tables, initialisation, LayerNorm ε and the label count.
//!
//! Each model crate's config embeds an [`EncoderConfig`] as its field `shared` (and derefs to it through
//! [`shared_keys!`](crate::shared_keys), so `c.hidden_size` reads as in HF), parses the same JSON for its own keys,
//! and gives its family's HF defaults as `config.json` text.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::activation::Activation;
use crate::error::{HfError, Result};

/// The validated keys every encoder shares.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    /// Vocabulary rows of the word embedding.
    pub vocab_size: usize,
    /// d, the hidden width.
    pub hidden_size: usize,
    /// L.
    pub num_hidden_layers: usize,
    /// H.
    pub num_attention_heads: usize,
    /// FFN width.
    pub intermediate_size: usize,
    /// FFN activation.
    pub hidden_act: Activation,
    /// Dropout on embeddings and after dense layers.
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// Rows of the absolute `position_embeddings` (the longest input of an absolute-position model).
    pub max_position_embeddings: usize,
    /// Rows of `token_type_embeddings` (0 = none: token types are ignored).
    pub type_vocab_size: usize,
    /// Std of fresh weights.
    pub initializer_range: f64,
    /// LayerNorm ε.
    pub layer_norm_eps: f64,
    /// Output width of the classifier (1 ⇒ regression); `num_labels`, else the size of `id2label`.
    pub num_labels: usize,
}

/// The shared keys as they appear in `config.json` (all optional); `#[serde(flatten)]` it into a model's raw
/// config.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawEncoderConfig {
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
    num_labels: Option<usize>,
    id2label: Option<serde_json::Map<String, Value>>,
    /// The family name; each model crate checks it.
    pub model_type: Option<String>,
}

/// The names [`Activation::parse`] accepts, for error messages.
pub const ACTIVATIONS: &str = "expected gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh, silu or swish";

/// Read a `config.json` as text (the error names the file).
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| HfError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parse a config's JSON text into `R` (`path` names it in errors).
pub fn parse_json<R: for<'de> Deserialize<'de>>(text: &str, path: &Path) -> Result<R> {
    serde_json::from_str(text).map_err(|e| HfError::invalid_config(path, e.to_string()))
}

/// An activation key (`hidden_act`, `pooler_hidden_act`; absent ⇒ gelu), or an error naming it.
pub fn activation(path: &Path, key: &str, name: Option<&str>) -> Result<Activation> {
    let name = name.unwrap_or("gelu");
    Activation::parse(name).ok_or_else(|| HfError::unsupported(path, key, format!("{name:?}"), ACTIVATIONS))
}

/// Fail with an error naming `key` unless every probability is in [0, 1).
pub fn check_probabilities(path: &Path, probabilities: &[(&str, f64)]) -> Result<()> {
    match probabilities.iter().find(|(_, v)| !(0.0..1.0).contains(v)) {
        Some((key, v)) => Err(HfError::invalid_config(
            path,
            format!("`{key}` = {v} is not a probability in [0, 1)"),
        )),
        None => Ok(()),
    }
}

impl EncoderConfig {
    /// Resolve the shared keys — absent ones from `defaults`, the family's HF defaults as `config.json` text
    /// (`BertConfig()` / `DebertaV2Config()`), then transformers' common ones (gelu, dropouts 0.1, 512 positions,
    /// `initializer_range` 0.02, 2 labels) — and validate them: sizes ≥ 1 (`type_vocab_size` may be 0), dropouts
    /// in [0, 1), `layer_norm_eps` > 0, `initializer_range` ≥ 0. `path` names the file in errors.
    pub fn resolve(raw: &RawEncoderConfig, defaults: &str, path: &Path) -> Result<Self> {
        let d: RawEncoderConfig = parse_json(defaults, Path::new("<built-in defaults>"))?;
        let cfg = Self {
            vocab_size: raw.vocab_size.or(d.vocab_size).unwrap_or(0),
            hidden_size: raw.hidden_size.or(d.hidden_size).unwrap_or(0),
            num_hidden_layers: raw.num_hidden_layers.or(d.num_hidden_layers).unwrap_or(0),
            num_attention_heads: raw.num_attention_heads.or(d.num_attention_heads).unwrap_or(0),
            intermediate_size: raw.intermediate_size.or(d.intermediate_size).unwrap_or(0),
            hidden_act: activation(path, "hidden_act", raw.hidden_act.as_deref())?,
            hidden_dropout_prob: raw.hidden_dropout_prob.unwrap_or(0.1),
            attention_probs_dropout_prob: raw.attention_probs_dropout_prob.unwrap_or(0.1),
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(512),
            type_vocab_size: raw.type_vocab_size.or(d.type_vocab_size).unwrap_or(0),
            initializer_range: raw.initializer_range.unwrap_or(0.02),
            layer_norm_eps: raw.layer_norm_eps.or(d.layer_norm_eps).unwrap_or(1e-12),
            num_labels: raw.num_labels.or(raw.id2label.as_ref().map(|m| m.len())).unwrap_or(2),
        };
        for (key, n) in [
            ("vocab_size", cfg.vocab_size),
            ("hidden_size", cfg.hidden_size),
            ("num_hidden_layers", cfg.num_hidden_layers),
            ("num_attention_heads", cfg.num_attention_heads),
            ("intermediate_size", cfg.intermediate_size),
            ("max_position_embeddings", cfg.max_position_embeddings),
            ("num_labels", cfg.num_labels),
        ] {
            if n == 0 {
                return Err(HfError::invalid_config(path, format!("`{key}` must be at least 1")));
            }
        }
        check_probabilities(
            path,
            &[
                ("hidden_dropout_prob", cfg.hidden_dropout_prob),
                ("attention_probs_dropout_prob", cfg.attention_probs_dropout_prob),
            ],
        )?;
        let eps_ok = cfg.layer_norm_eps.is_finite() && cfg.layer_norm_eps > 0.0;
        let std_ok = cfg.initializer_range.is_finite() && cfg.initializer_range >= 0.0;
        if !eps_ok || !std_ok {
            return Err(HfError::invalid_config(
                path,
                format!(
                    "`layer_norm_eps` = {} must be > 0 and `initializer_range` = {} ≥ 0",
                    cfg.layer_norm_eps, cfg.initializer_range
                ),
            ));
        }
        Ok(cfg)
    }

    /// d / H, or an error naming both keys when H does not divide d.
    pub fn head_size_of(&self, path: &Path) -> Result<usize> {
        if self.hidden_size.is_multiple_of(self.num_attention_heads) {
            Ok(self.hidden_size / self.num_attention_heads)
        } else {
            Err(HfError::invalid_config(
                path,
                format!(
                    "`hidden_size` {} is not a multiple of `num_attention_heads` {}",
                    self.hidden_size, self.num_attention_heads
                ),
            ))
        }
    }
}

/// `Deref` / `DerefMut` from a model config to the [`EncoderConfig`] in its field `shared`, so that the shared
/// keys read as in HF (`c.hidden_size`).
#[macro_export]
macro_rules! shared_keys {
    ($config:ty) => {
        impl ::std::ops::Deref for $config {
            type Target = $crate::EncoderConfig;
            fn deref(&self) -> &Self::Target {
                &self.shared
            }
        }

        impl ::std::ops::DerefMut for $config {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.shared
            }
        }
    };
}
