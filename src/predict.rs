//! Predictions for new texts with a trained model, at a budget the caller chooses.
//!
//! For each input: the label (the class index, or the score for regression), the class probabilities
//! (softmax of the logits), the realised (token, direction) pairs summed over layers and the budget that bounds
//! them (Σ_ℓ B(T) with B(T) = ⌊ρ·T⌋ + c, or T·B_global for `Layer` gates), and the adapter + controller FLOPs.
//! With the top-B cut (`tabs`, `tabs-shared`, `bhsp`) `active_pairs ≤ budget` holds for every input at any
//! ρ > 0, whatever ρ training used. Texts are tokenised and truncated as in training (the run's `max_length`,
//! longest-first for pairs).

use std::path::PathBuf;

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::batch::{Encoded, Target};
use crate::evaluate::evaluate;
use crate::run::argmax;
use crate::run_folder::LoadedModel;
use crate::text_inputs::TextInput;

/// The label of one prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Predicted {
    /// The most probable class.
    Class(usize),
    /// The regression output.
    Score(f64),
}

/// One input's prediction (one line of `predict`'s output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The class index (argmax), or the score for regression.
    pub label: Predicted,
    /// softmax(logits) (None for regression).
    pub probabilities: Option<Vec<f64>>,
    /// The raw outputs `[num_labels]`.
    pub logits: Vec<f32>,
    /// Realised (token, direction) pairs summed over layers (gated methods).
    pub active_pairs: Option<u64>,
    /// The guarantee for this input at the chosen ρ, summed the same way (methods with the inference cut).
    pub budget: Option<u64>,
    /// Realised adapter + controller FLOPs.
    pub adapter_flops: f64,
    /// Tokens the model saw (special tokens included).
    pub tokens: usize,
    /// Whether the input was longer than the run's `max_length` and was cut.
    pub truncated: bool,
}

/// Tokenise `inputs` as training did: ids truncated to the run's `max_length`, and whether each was cut.
pub fn encode_inputs<B: Backend>(model: &LoadedModel<B>, inputs: &[TextInput]) -> Result<(Vec<Encoded>, Vec<bool>)> {
    let max_length = model.config.max_length;
    let pair_task = model.glue_task().is_some_and(|t| t.is_pair());
    let mut encoded = Vec::with_capacity(inputs.len());
    let mut truncated = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        if pair_task && input.text_pair.is_none() {
            bail!(
                "input {}: task {} takes pairs of texts; give \"text_pair\" too",
                i + 1,
                model.config.task
            );
        }
        let a = [input.text.as_str()];
        let b = input.text_pair.as_deref().map(|p| [p]);
        let encode = |max: usize| model.tokenizer.encode_batch(&a, b.as_ref().map(|b| b.as_slice()), max);
        // One token more than allowed tells whether the cut removes anything; only then is the text encoded again
        // at max_length (longest-first truncation of a pair depends on the limit).
        let (mut ids, mut types) = encode(max_length + 1)?;
        let cut = ids.first().is_some_and(|i| i.len() > max_length);
        if cut {
            (ids, types) = encode(max_length)?;
        }
        truncated.push(cut);
        encoded.push(Encoded {
            input_ids: ids.into_iter().next().unwrap_or_default(),
            token_type_ids: types.into_iter().next().unwrap_or_default(),
            target: Target::Class(0),
        });
    }
    Ok((encoded, truncated))
}

/// Predict `inputs` with `model` at budget `rho` (None: the ρ the run trained for), `batch_size` sequences at
/// a time (similar lengths batched together); one [`Prediction`] per input, in input order.
pub fn predict<B: Backend>(
    model: &LoadedModel<B>,
    inputs: &[TextInput],
    rho: Option<f64>,
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Prediction>> {
    if batch_size == 0 {
        bail!("--batch-size 0: expected at least 1");
    }
    let mut net = model.net.clone();
    if let Some(rho) = rho {
        net.set_rho(rho)?;
    }
    let (encoded, truncated) = encode_inputs(model, inputs)?;
    let eval = evaluate(&net, &encoded, model.config.method, batch_size, device);
    let regression = model.num_labels() == 1;
    Ok(eval
        .logits
        .into_iter()
        .zip(eval.costs)
        .zip(truncated)
        .map(|((logits, cost), truncated)| Prediction {
            label: if regression {
                Predicted::Score(logits[0] as f64)
            } else {
                Predicted::Class(argmax(&logits))
            },
            probabilities: (!regression).then(|| softmax(&logits)),
            logits,
            active_pairs: cost.active_pairs,
            budget: cost.budget,
            adapter_flops: cost.adapter_flops,
            tokens: cost.tokens,
            truncated,
        })
        .collect())
}

/// softmax in f64: exp(x_i − max x) / Σ_j exp(x_j − max x).
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let exp: Vec<f64> = logits.iter().map(|&x| (x as f64 - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Where [`predict_on`] takes the model from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A run folder ([`crate::run_folder::load_run`]), with an optional base checkpoint override.
    Run {
        /// The run folder.
        run: PathBuf,
        /// The base checkpoint, when not the one `run.json` records.
        model: Option<PathBuf>,
    },
    /// A base checkpoint and an adapter folder ([`crate::run_folder::load_adapter_folder`]: a run's `adapter/` or
    /// a peft LoRA adapter).
    Adapter {
        /// The base checkpoint.
        model: PathBuf,
        /// The adapter folder.
        adapter: PathBuf,
    },
}

/// `predict` on the backend `device` names: load the model from `source`, truncate at `max_length` (None: the
/// run's), predict at `rho`. Returns the predictions and the truncation length used. Not generic, as
/// [`crate::run::run_task_on`].
#[cfg(not(test))]
pub fn predict_on(
    device: &str,
    source: &ModelSource,
    inputs: &[TextInput],
    rho: Option<f64>,
    batch_size: usize,
    max_length: Option<usize>,
) -> Result<(Vec<Prediction>, usize)> {
    struct Job<'a> {
        source: &'a ModelSource,
        inputs: &'a [TextInput],
        rho: Option<f64>,
        batch_size: usize,
        max_length: Option<usize>,
    }
    impl crate::device::OnDevice for Job<'_> {
        type Output = (Vec<Prediction>, usize);
        fn run<B: Backend>(self, device: B::Device) -> Result<Self::Output> {
            let mut model: LoadedModel<B> = match self.source {
                ModelSource::Run { run, model } => crate::run_folder::load_run(run, model.as_deref(), &device)?,
                ModelSource::Adapter { model, adapter } => {
                    crate::run_folder::load_adapter_folder(model, adapter, &device)?
                }
            };
            if let Some(n) = self.max_length {
                if let Some(limit) = model.net.max_positions().filter(|&l| n > l) {
                    bail!("--max-length {n}: above the model's max_position_embeddings {limit} (absolute positions)");
                }
                model.config.max_length = n;
            }
            let predictions = predict(&model, self.inputs, self.rho, self.batch_size, &device)?;
            Ok((predictions, model.config.max_length))
        }
    }
    crate::device::on_device(
        device,
        Job {
            source,
            inputs,
            rho,
            batch_size,
            max_length,
        },
    )
}
