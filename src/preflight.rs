//! Checks of a run's inputs at the boundary, before anything is trained or written: a checkpoint folder against
//! the run's `--max-length` (absolute positions) and against its own tokenizer (ids beyond the embedding table),
//! LRA data against a checkpoint's vocabulary, and a `--resume` against the configuration the run was started
//! with. Each error names the flag, file or key and what was expected.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use thiserror::Error;

use tabs_hf::Architecture;

use crate::backbone::{model_type, TextTokenizer};
use crate::train::TrainConfig;

/// An input a run cannot use.
#[derive(Debug, Error)]
pub enum InputError {
    /// `--max-length` above the learned absolute position embeddings of the checkpoint.
    #[error(
        "--max-length {max_length}: above max_position_embeddings {limit} in {config} (the model's positions are \
         absolute; use --max-length {limit} or less)"
    )]
    TooLong {
        /// The requested length.
        max_length: usize,
        /// `max_position_embeddings`.
        limit: usize,
        /// The `config.json`.
        config: PathBuf,
    },
    /// A tokenizer that produces ids without an embedding row.
    #[error(
        "{dir}: the tokenizer has {tokenizer} ids but config.json's vocab_size is {vocab_size} (ids ≥ {vocab_size} \
         have no embedding; the tokenizer and the weights do not belong together)"
    )]
    TokenizerVocab {
        /// The checkpoint folder.
        dir: PathBuf,
        /// Ids of the tokenizer (added tokens included).
        tokenizer: usize,
        /// The config's `vocab_size`.
        vocab_size: usize,
    },
    /// Data ids beyond a checkpoint's vocabulary (LRA on `--model`).
    #[error(
        "--model {dir}: the {task} data needs a vocabulary of {needed} ids but config.json's vocab_size is \
         {vocab_size}"
    )]
    DataVocab {
        /// The checkpoint folder.
        dir: PathBuf,
        /// The task.
        task: String,
        /// The data's vocabulary.
        needed: usize,
        /// The config's `vocab_size`.
        vocab_size: usize,
    },
    /// `--resume` without a saved configuration.
    #[error("--resume: {0} does not exist: no checkpoint to resume (drop --resume to start a new run)")]
    NothingToResume(PathBuf),
    /// `--resume` with a setting other than the saved one.
    #[error(
        "--resume: {file} has {key} = {saved}, this run has {current}{flag}: resume with the saved settings or \
         choose another --out"
    )]
    ResumeChanged {
        /// The saved `config.json`.
        file: PathBuf,
        /// The differing key (dotted path).
        key: String,
        /// Its saved value.
        saved: String,
        /// Its value now.
        current: String,
        /// ` (--flag)` when a flag sets the key, else empty.
        flag: String,
    },
}

/// What a checkpoint folder's `config.json` says about the inputs its model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// `vocab_size`: ids must be below it.
    pub vocab_size: usize,
    /// `max_position_embeddings` when positions are absolute (BERT, DeBERTa with `position_biased_input`);
    /// `None` for purely relative positions (DeBERTa-v3).
    pub max_positions: Option<usize>,
}

impl ModelLimits {
    /// Read from `dir/config.json` (DeBERTa or BERT by `model_type`), without loading weights.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config = dir.join("config.json");
        match model_type(dir)?.as_str() {
            "bert" => Self::of::<tabs_bert::BertConfig>(&config),
            // Anything else is refused by `model_type`'s callers with the list of supported types.
            _ => Self::of::<tabs_deberta::DebertaConfig>(&config),
        }
    }

    /// The limits of one backbone's `config.json` ([`Architecture::max_length`]).
    fn of<C: Architecture>(config: &Path) -> Result<Self> {
        let c = C::from_file(config)?;
        Ok(ModelLimits {
            vocab_size: c.vocab_size,
            max_positions: c.max_length(),
        })
    }

    /// `--max-length` must fit absolute position embeddings.
    pub fn check_max_length(&self, dir: &Path, max_length: usize) -> Result<(), InputError> {
        match self.max_positions {
            Some(limit) if max_length > limit => Err(InputError::TooLong {
                max_length,
                limit,
                config: dir.join("config.json"),
            }),
            _ => Ok(()),
        }
    }

    /// The tokenizer's ids must all have an embedding row.
    pub fn check_tokenizer(&self, dir: &Path, tok: &TextTokenizer) -> Result<(), InputError> {
        let tokenizer = tok.tokenize().vocab_size();
        if tokenizer > self.vocab_size {
            return Err(InputError::TokenizerVocab {
                dir: dir.to_path_buf(),
                tokenizer,
                vocab_size: self.vocab_size,
            });
        }
        Ok(())
    }
}

/// A checkpoint folder and its tokenizer checked against a run's `max_length`: the tokenizer, loaded.
pub fn checked_tokenizer(dir: &Path, max_length: usize) -> Result<TextTokenizer> {
    let limits = ModelLimits::from_dir(dir)?;
    limits.check_max_length(dir, max_length)?;
    let tok = TextTokenizer::from_dir(dir).with_context(|| format!("tokenizer of {}", dir.display()))?;
    limits.check_tokenizer(dir, &tok)?;
    Ok(tok)
}

/// The flag that sets a key of `config.json` (dotted path), for the error message.
fn flag_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "task" => "--task",
        "method" => "--method",
        "adapter.spectral_rank" => "--rank",
        "adapter.lora_rank" => "--lora-rank",
        "adapter.lora_alpha" => "--lora-alpha",
        "adapter.spectral_alpha" => "--alpha",
        "adapter.rho" => "--rho",
        "adapter.controller_hidden" => "--k",
        "adapter.lambda" => "--lambda",
        "adapter.lagrangian" => "--lagrangian",
        "adapter.kernel" => "--kernel",
        "adapter.inference_gate" => "--inference-gate",
        "lr" => "--lr",
        "head_lr" => "--head-lr",
        "gate_lr" => "--gate-lr",
        "warmup_steps" => "--warmup-steps",
        "gate_warmup_steps" => "--gate-warmup-steps",
        "gate_warmup_ratio" => "--gate-warmup-ratio",
        "anneal_steps" => "--anneal-steps",
        "anneal_ratio" => "--anneal-ratio",
        "weight_decay" => "--weight-decay",
        "epochs" => "--epochs",
        "batch_size" => "--batch-size",
        "max_length" => "--max-length",
        "seed" => "--seed",
        _ => return None,
    })
}

/// The first key (dotted path, in the saved file's order) where `saved` and `current` differ.
fn first_difference(prefix: &str, saved: &serde_json::Value, current: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (saved, current) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            keys.into_iter().find_map(|k| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                first_difference(
                    &path,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (a, b) if a == b => None,
        // serde_json's float parse can be one ulp off the written value.
        (Value::Number(a), Value::Number(b)) if matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if (x - y).abs() <= 1e-12 * x.abs().max(y.abs())) => {
            None
        }
        _ => Some(prefix.to_string()),
    }
}

/// For `--resume`: `out/config.json` must exist and hold `cfg` (every key but `epochs`: the method, ranks, task,
/// schedule and optimiser all shape the saved checkpoint or give it its meaning; more epochs train on). Nothing is
/// written.
pub fn check_resume(cfg: &TrainConfig, out: &Path) -> Result<()> {
    let file = out.join("config.json");
    if !file.is_file() {
        return Err(InputError::NothingToResume(file).into());
    }
    let text = std::fs::read_to_string(&file).with_context(|| format!("--resume: reading {}", file.display()))?;
    let saved: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--resume: {}: not valid JSON (not a run's config.json)", file.display()))?;
    // Through TrainConfig, so keys added since the run was saved take their serde defaults on both sides.
    let saved_cfg: TrainConfig = serde_json::from_value(saved.clone())
        .with_context(|| format!("--resume: {}: not a run's config.json", file.display()))?;
    let (mut saved_v, current_v) = (serde_json::to_value(&saved_cfg)?, serde_json::to_value(cfg)?);
    saved_v["epochs"] = current_v["epochs"].clone();
    if let Some(key) = first_difference("", &saved_v, &current_v) {
        let pick = |v: &serde_json::Value| {
            key.split('.')
                .try_fold(v, |v, k| v.get(k))
                .map_or("null".to_string(), |v| v.to_string())
        };
        return Err(InputError::ResumeChanged {
            file,
            saved: pick(&saved_v),
            current: pick(&current_v),
            flag: flag_of(&key).map_or(String::new(), |f| format!(" ({f})")),
            key,
        }
        .into());
    }
    Ok(())
}
