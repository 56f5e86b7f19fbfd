//! The encoders a run can fine-tune, behind one type: DeBERTa-v2/v3 (`tabs-deberta`) and BERT / MiniLM
//! (`tabs-bert`), each with a pooler + classifier head and `tabs` adapters injected through the same
//! [`tabs::inject`] API. Which one a checkpoint folder holds is read from `config.json`'s `model_type`
//! (`deberta-v2` → DeBERTa-v2/v3, `bert` → BERT); the matching tokenizer comes from the same folder.

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::nn::{DropoutConfig, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use tabs::flops::MapShape;
use tabs::io::AdapterManifest;
use tabs::{Adaptable, AdaptedLinear, AdapterSpec, InjectionReport, LayerGates, SpectralGates, TokenMask};
use tabs_bert::{BertForSequenceClassification, BertTokenizer};
use tabs_deberta::tokenize::{DebertaTokenizer, Tokenize};
use tabs_deberta::DebertaForSequenceClassification;
use tabs_hf::Architecture;

/// A padded batch for any backbone: ids `[b, T]`, attention mask `[b, T]` (1 = real token), token types `[b, T]`.
pub use tabs_hf::EncoderInput;

/// Logits `[b, labels]` with the gate decisions of every layer (empty without gated adapters).
#[derive(Debug, Clone)]
pub struct BackboneOutput<B: Backend> {
    /// `[b, num_labels]`.
    pub logits: Tensor<B, 2>,
    /// Each layer's gates.
    pub gates: Vec<LayerGates<B>>,
    /// Real-token mask with lengths and budgets (when gated).
    pub token_mask: Option<TokenMask<B>>,
}

/// The per-layer shape the FLOP count needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// Number of encoder layers.
    pub layers: usize,
    /// d, the hidden width.
    pub hidden: usize,
    /// The feed-forward width.
    pub intermediate: usize,
    /// heads × head size (the attention projections' output width).
    pub attention: usize,
}

impl From<&tabs_deberta::DebertaConfig> for LayerShape {
    fn from(c: &tabs_deberta::DebertaConfig) -> Self {
        LayerShape {
            layers: c.num_hidden_layers,
            hidden: c.hidden_size,
            intermediate: c.intermediate_size,
            attention: c.num_attention_heads * c.attention_head_size,
        }
    }
}

impl From<&tabs_bert::BertConfig> for LayerShape {
    fn from(c: &tabs_bert::BertConfig) -> Self {
        LayerShape {
            layers: c.num_hidden_layers,
            hidden: c.hidden_size,
            intermediate: c.intermediate_size,
            attention: c.num_attention_heads * c.head_size(),
        }
    }
}

impl LayerShape {
    /// The shape described by a HF `config.json` (DeBERTa or BERT, by its `model_type`), without loading
    /// weights.
    pub fn from_config_file(path: &Path) -> Result<Self> {
        match config_model_type(path)?.as_str() {
            "deberta-v2" => Ok((&tabs_deberta::DebertaConfig::from_file(path)?).into()),
            "bert" => Ok((&tabs_bert::BertConfig::from_file(path)?).into()),
            other => Err(unsupported(path, other)),
        }
    }

    /// The six adaptable maps of a layer: query, key, value `[d → a]`, attention output `[a → d]`,
    /// intermediate `[d → f]`, output `[f → d]`.
    pub fn maps(&self) -> Vec<MapShape> {
        let (d, f, a) = (self.hidden, self.intermediate, self.attention);
        vec![
            MapShape { d_in: d, d_out: a },
            MapShape { d_in: d, d_out: a },
            MapShape { d_in: d, d_out: a },
            MapShape { d_in: a, d_out: d },
            MapShape { d_in: d, d_out: f },
            MapShape { d_in: f, d_out: d },
        ]
    }
}

/// A sequence classifier on one of the supported encoders.
// One value per run, moved a handful of times: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone<B: Backend> {
    /// DeBERTa-v2/v3.
    Deberta(DebertaForSequenceClassification<B>),
    /// BERT / MiniLM.
    Bert(BertForSequenceClassification<B>),
}

/// The `model_type` of a checkpoint folder's `config.json`.
pub fn model_type(dir: &Path) -> Result<String> {
    config_model_type(&dir.join("config.json"))
}

/// The `model_type` of a `config.json` file.
fn config_model_type(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
    match v.get("model_type").and_then(|t| t.as_str()) {
        Some(t) => Ok(t.to_string()),
        None => bail!("{}: no \"model_type\" ({SUPPORTED})", path.display()),
    }
}

/// The model types this crate reads.
const SUPPORTED: &str = "expected \"deberta-v2\" (DeBERTa-v2 and v3 checkpoints) or \"bert\"; the original DeBERTa (\"deberta\") is not supported";

/// The error for a `config.json` naming an encoder this crate does not have.
fn unsupported(config: &Path, model_type: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: model_type {model_type:?} is not supported ({SUPPORTED})",
        config.display()
    )
}

impl<B: Backend> Backbone<B> {
    /// Loads a HF checkpoint folder (DeBERTa or BERT, by `model_type`) with `num_labels` outputs; returns the
    /// model and the loader's report (fresh heads, ignored keys).
    pub fn from_pretrained(dir: &Path, num_labels: usize, seed: u64, device: &B::Device) -> Result<(Self, String)> {
        match model_type(dir)?.as_str() {
            "deberta-v2" => {
                let (m, r) = DebertaForSequenceClassification::from_pretrained(dir, Some(num_labels), seed, device)?;
                Ok((Backbone::Deberta(m), r.to_string()))
            }
            "bert" => {
                let (m, r) = BertForSequenceClassification::from_pretrained(dir, Some(num_labels), seed, device)?;
                Ok((Backbone::Bert(m), r.to_string()))
            }
            other => Err(unsupported(&dir.join("config.json"), other)),
        }
    }

    /// Logits and gates for a batch.
    pub fn forward(&self, input: &EncoderInput<B>) -> BackboneOutput<B> {
        match self {
            Backbone::Deberta(m) => {
                let out = m.forward(input);
                BackboneOutput {
                    logits: out.logits,
                    gates: out.encoder.gates,
                    token_mask: out.encoder.token_mask,
                }
            }
            Backbone::Bert(m) => {
                let out = m.forward(input);
                BackboneOutput {
                    logits: out.logits,
                    gates: out.encoder.gates,
                    token_mask: out.encoder.token_mask,
                }
            }
        }
    }

    /// The gates' budget loss over a forward pass's layers (0 without gates).
    pub fn budget_loss(&self, gates: &[LayerGates<B>], device: &B::Device) -> Tensor<B, 1> {
        match self {
            Backbone::Deberta(m) => m.encoder.budget_loss(gates, device),
            Backbone::Bert(m) => m.encoder.budget_loss(gates, device),
        }
    }

    /// The pooler and classifier (always trainable; their own learning-rate group).
    pub fn heads(&self) -> [&Linear<B>; 2] {
        match self {
            Backbone::Deberta(m) => [&m.pooler, &m.classifier],
            Backbone::Bert(m) => [&m.pooler, &m.classifier],
        }
    }

    /// Outputs of the classifier (1: regression).
    pub fn num_labels(&self) -> usize {
        self.heads()[1].weight.dims()[1]
    }

    /// Set the inference budget ρ (active directions per real token on average): B(T) = ⌊ρ·T⌋ + c per layer and
    /// sequence (`Token`/`Sequence` granularity) or ⌊ρ·L⌋ + c over the layers (`Layer`). The top-B cut makes any
    /// ρ > 0 valid whatever ρ training used. Errors without gates, without the inference cut (the budget is
    /// then only a training target), or for ρ not finite and > 0.
    pub fn set_rho(&mut self, rho: f64) -> Result<()> {
        if !(rho.is_finite() && rho > 0.0) {
            bail!("--rho {rho}: expected a finite ρ > 0");
        }
        let gates = self
            .gates_mut()
            .ok_or_else(|| anyhow::anyhow!("--rho: this model has no gates, so no budget to set"))?;
        if !gates.config.budget.inference_cut {
            bail!("--rho: this method has no inference cut; its budget is only a training target");
        }
        gates.config.budget.rho = rho;
        Ok(())
    }

    /// Replace the classifier's dropout probability.
    pub fn set_classifier_dropout(&mut self, p: f64) {
        let d = DropoutConfig::new(p).init();
        match self {
            Backbone::Deberta(m) => m.dropout = d,
            Backbone::Bert(m) => m.dropout = d,
        }
    }

    /// Inject adapters through [`tabs::inject`] (the backbone is frozen; heads stay trainable).
    pub fn inject(self, spec: &AdapterSpec) -> Result<(Self, InjectionReport)> {
        Ok(match self {
            Backbone::Deberta(m) => {
                let (m, r) = m.inject(spec)?;
                (Backbone::Deberta(m), r)
            }
            Backbone::Bert(m) => {
                let (m, r) = m.inject(spec)?;
                (Backbone::Bert(m), r)
            }
        })
    }

    /// Trainable parameters with adapters (adapters + gates + heads).
    pub fn trainable_params(&self) -> usize {
        match self {
            Backbone::Deberta(m) => m.trainable_params(),
            Backbone::Bert(m) => m.trainable_params(),
        }
    }

    /// The gate sources, when gated.
    pub fn gates(&self) -> Option<&SpectralGates<B>> {
        match self {
            Backbone::Deberta(m) => m.encoder.gates(),
            Backbone::Bert(m) => m.encoder.gates(),
        }
    }

    /// The gate sources, mutable, when gated.
    pub fn gates_mut(&mut self) -> Option<&mut SpectralGates<B>> {
        match self {
            Backbone::Deberta(m) => m.encoder.gates_mut(),
            Backbone::Bert(m) => m.encoder.gates_mut(),
        }
    }

    /// Every adaptable map with its HF name.
    pub fn maps(&self) -> Vec<(String, &AdaptedLinear<B>)> {
        match self {
            Backbone::Deberta(m) => m.encoder.adaptable_maps(),
            Backbone::Bert(m) => m.encoder.adaptable_maps(),
        }
    }

    /// The default adapter targets of this encoder.
    pub fn default_targets(&self) -> &'static [&'static str] {
        match self {
            Backbone::Deberta(_) => tabs_deberta::DEFAULT_TARGETS.as_slice(),
            Backbone::Bert(_) => tabs_bert::DEFAULT_TARGETS.as_slice(),
        }
    }

    /// Layer count and map widths.
    pub fn shape(&self) -> LayerShape {
        match self {
            Backbone::Deberta(m) => LayerShape::from(m.config()),
            Backbone::Bert(m) => LayerShape::from(m.config()),
        }
    }

    /// The longest input the encoder accepts: `max_position_embeddings` when positions are absolute (BERT, or
    /// DeBERTa with `position_biased_input`), `None` for DeBERTa-v3's purely relative positions.
    pub fn max_positions(&self) -> Option<usize> {
        match self {
            Backbone::Deberta(m) => m.config().max_length(),
            Backbone::Bert(m) => m.config().max_length(),
        }
    }

    /// Save adapters, gates and heads (tabs io format) atomically into `dir`.
    pub fn save_adapter(&self, dir: &Path, manifest: &AdapterManifest) -> Result<()> {
        match self {
            Backbone::Deberta(m) => m.save_adapter(dir, manifest)?,
            Backbone::Bert(m) => m.save_adapter(dir, manifest)?,
        }
        Ok(())
    }

    /// Load what [`Backbone::save_adapter`] wrote into a model with the same injection.
    pub fn load_adapter(self, dir: &Path, expected: &AdapterManifest) -> Result<Self> {
        Ok(match self {
            Backbone::Deberta(m) => Backbone::Deberta(m.load_adapter(dir, expected)?),
            Backbone::Bert(m) => Backbone::Bert(m.load_adapter(dir, expected)?),
        })
    }
}

impl<B: Backend> From<DebertaForSequenceClassification<B>> for Backbone<B> {
    fn from(m: DebertaForSequenceClassification<B>) -> Self {
        Backbone::Deberta(m)
    }
}

impl<B: Backend> From<BertForSequenceClassification<B>> for Backbone<B> {
    fn from(m: BertForSequenceClassification<B>) -> Self {
        Backbone::Bert(m)
    }
}

/// Token ids and token types of each text.
pub type IdsAndTypes = (Vec<Vec<u32>>, Vec<Vec<u32>>);

/// The tokenizer that goes with a [`Backbone`] (read from the same checkpoint folder).
#[derive(Debug, Clone)]
pub enum TextTokenizer {
    /// DeBERTa-v3 SentencePiece (`spm.model` or `tokenizer.json`).
    Deberta(DebertaTokenizer),
    /// BERT WordPiece (`tokenizer.json`).
    Bert(BertTokenizer),
}

impl TextTokenizer {
    /// The tokenizer of checkpoint folder `dir`, by its `model_type`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Ok(match model_type(dir)?.as_str() {
            "bert" => TextTokenizer::Bert(BertTokenizer::from_dir(dir)?),
            "deberta-v2" => TextTokenizer::Deberta(DebertaTokenizer::from_dir(dir)?),
            other => return Err(unsupported(&dir.join("config.json"), other)),
        })
    }

    /// The tokenizer behind either variant (vocabulary size, encoding, the `tokenizers` pipeline).
    pub fn tokenize(&self) -> &dyn Tokenize {
        match self {
            TextTokenizer::Deberta(t) => t,
            TextTokenizer::Bert(t) => t,
        }
    }

    /// The vocabulary entry of `id`, if any.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.tokenize().inner().id_to_token(id)
    }

    /// Ids and token types of texts (or pairs), longest-first truncation to `max_length`, no padding.
    pub fn encode_batch(&self, texts: &[&str], pairs: Option<&[&str]>, max_length: usize) -> Result<IdsAndTypes> {
        Ok(match self {
            TextTokenizer::Deberta(t) => {
                use tabs_deberta::tokenize::{Padding, Truncation};
                let e = t.encode_batch(texts, pairs, Truncation::LongestFirst { max_length }, Padding::None)?;
                (e.input_ids, e.token_type_ids)
            }
            TextTokenizer::Bert(t) => {
                use tabs_bert::{Padding, Truncation};
                let e = t.encode_batch(texts, pairs, Truncation::LongestFirst { max_length }, Padding::None)?;
                (e.input_ids, e.token_type_ids)
            }
        })
    }
}
