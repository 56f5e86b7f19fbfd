//! `train-step`: seconds per fine-tuning step of a base-size DeBERTa-v3, per method — the step `glue` takes
//! for every batch: [`TaskModel`]'s `TrainStep::step` (forward with dropout, task loss + budget loss, backward) and
//! its `optimize` (AdamW in three parameter groups, decoupled weight decay, the gate schedule advanced), on one
//! fixed batch `[batch_size, length]` of seeded random ids with random labels. Without `--model` the encoder is a
//! random-init DeBERTa-v3-base (768 / 12 layers / 12 heads / 3072, vocab 128100), as `latency`.
//!
//! Each method gets `warmup` untimed steps, then `steps` timed ones; a row reports their mean, sd, min and max.
//! The peer is `scripts/torch_train_step.py` (PyTorch + transformers + peft: LoRA r = 8 on the same six maps of
//! every layer, pooler and classifier trained, AdamW), whose JSON lines `--peer` reads to add ours / peer ratios
//! per method.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use burn::train::TrainStep;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tabs_experiments::backbone::{Backbone, EncoderInput};
use tabs_experiments::batch::TaskBatch;
use tabs_experiments::method::{AdapterHyper, Method};
use tabs_experiments::train::{prepare, TaskModel, TrainConfig};

use crate::latency::base_model;
use crate::summary::Summary;

/// What `train-step` measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainStepArgs {
    /// Methods, one row each.
    pub methods: Vec<Method>,
    /// Tokens per sequence.
    pub length: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Timed steps per method.
    pub steps: usize,
    /// Untimed steps first.
    pub warmup: usize,
    /// Learning rate of the step (AdamW; the value does not change the cost).
    pub lr: f64,
    /// Seed of the weights, the ids, the labels and dropout.
    pub seed: u64,
    /// Adapter hyper-parameters (LoRA rank, spectral rank R, ρ, …).
    pub hyper: AdapterHyper,
    /// Checkpoint folder (None: base-size random init).
    pub model: Option<PathBuf>,
}

/// One method's step time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainStepRow {
    /// Method name.
    pub method: String,
    /// Tokens per sequence.
    pub length: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Timed steps.
    pub steps: usize,
    /// Mean seconds per step (forward + backward + optimiser).
    pub mean_step_s: f64,
    /// Sample standard deviation of the step times (0 for one step).
    pub sd_step_s: f64,
    /// Fastest step.
    pub min_step_s: f64,
    /// Slowest step.
    pub max_step_s: f64,
    /// Parameters the optimiser updates.
    pub trainable_params: usize,
    /// Loss of the first and the last step (finite: the step did real work).
    pub first_loss: f64,
    /// Loss of the last step.
    pub last_loss: f64,
}

/// A row of the peer's output (`scripts/torch_train_step.py`, one JSON object per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerStep {
    /// `torch-<version>+peft-<version>`.
    #[serde(rename = "impl")]
    pub implementation: String,
    /// `lora` or `full`.
    pub method: String,
    /// Threads torch used.
    pub threads: usize,
    /// Tokens per sequence.
    pub length: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Timed steps.
    pub steps: usize,
    /// Mean seconds per step.
    pub mean_step_s: f64,
    /// Sample standard deviation.
    pub sd_step_s: f64,
}

/// Ours / peer for one of our methods, against the peer's row of the same name, or the peer's `lora` row (the
/// reference the targets use) for methods the peer does not have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRatio {
    /// Our method.
    pub method: String,
    /// The peer's method it is compared with.
    pub peer_method: String,
    /// Our mean step time.
    pub ours_s: f64,
    /// The peer's mean step time.
    pub peer_s: f64,
    /// ours / peer.
    pub ratio: f64,
}

/// Everything `train-step.json` holds besides the run record and the arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainStepResults {
    /// Our rows.
    pub rows: Vec<TrainStepRow>,
    /// The peer's rows, when given.
    pub peer: Vec<PeerStep>,
    /// Ratios, when the peer is given.
    pub ratios: Vec<StepRatio>,
}

/// Read the peer's JSON lines (blank lines skipped); every row must have the length and batch size measured here.
pub fn read_peer(path: &Path, length: usize, batch_size: usize) -> Result<Vec<PeerStep>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--peer {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row: PeerStep = serde_json::from_str(line).with_context(|| {
            format!(
                "--peer {}: line {}: not a row of scripts/torch_train_step.py",
                path.display(),
                i + 1
            )
        })?;
        anyhow::ensure!(
            row.length == length && row.batch_size == batch_size,
            "--peer {}: line {}: length {} batch {}, but this run measures length {length} batch {batch_size}",
            path.display(),
            i + 1,
            row.length,
            row.batch_size
        );
        rows.push(row);
    }
    anyhow::ensure!(!rows.is_empty(), "--peer {}: no rows", path.display());
    Ok(rows)
}

/// Ours / peer per method (see [`StepRatio`]).
pub fn ratios(rows: &[TrainStepRow], peer: &[PeerStep]) -> Vec<StepRatio> {
    rows.iter()
        .filter_map(|r| {
            let p = peer
                .iter()
                .find(|p| p.method == r.method)
                .or_else(|| peer.iter().find(|p| p.method == "lora"))?;
            Some(StepRatio {
                method: r.method.clone(),
                peer_method: p.method.clone(),
                ours_s: r.mean_step_s,
                peer_s: p.mean_step_s,
                ratio: r.mean_step_s / p.mean_step_s,
            })
        })
        .collect()
}

/// One fixed training batch: ids uniform in 4..vocab (no special ids), every token real, labels in 0..2.
fn batch<B: AutodiffBackend>(args: &TrainStepArgs, vocab: usize, device: &B::Device) -> TaskBatch<B> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (b, t) = (args.batch_size, args.length);
    let ids: Vec<i64> = (0..b * t).map(|_| rng.random_range(4..vocab.max(5)) as i64).collect();
    let labels: Vec<i64> = (0..b).map(|_| rng.random_range(0..2)).collect();
    TaskBatch {
        input: EncoderInput {
            input_ids: Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [b, t]), device),
            attention_mask: Tensor::<B, 2, Int>::ones([b, t], device),
            token_type_ids: None,
        },
        classes: Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [b]), device),
        scores: Tensor::zeros([b, 1], device),
        share: 1.0,
    }
}

/// Sample standard deviation (0 for fewer than two values).
fn sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// Time `args.steps` training steps per method; `progress` gets one line per step.
pub fn run<B: AutodiffBackend>(
    args: &TrainStepArgs,
    device: &B::Device,
    progress: impl Fn(&str),
) -> Result<Vec<TrainStepRow>> {
    let base = base_model::<B>(args.model.as_ref(), args.seed, device)?;
    let vocab = base.config().vocab_size;
    let mut rows = Vec::new();
    for &method in &args.methods {
        let mut cfg = TrainConfig::new("train-step", method);
        cfg.adapter = args.hyper;
        cfg.lr = args.lr;
        cfg.seed = args.seed;
        cfg.batch_size = args.batch_size;
        cfg.max_length = args.length;
        let (mut model, trainable): (TaskModel<B>, usize) = prepare(Backbone::Deberta(base.clone()), &cfg, false)?;
        let total = args.warmup + args.steps;
        if let Some(g) = model.net.gates_mut() {
            g.set_schedule(cfg.gate_schedule(total), 0);
        }
        B::seed(device, args.seed);
        let mut optim = AdamWConfig::new().with_weight_decay(0.0).init();
        let input = batch::<B>(args, vocab, device);
        let mut times = Vec::with_capacity(args.steps);
        let mut losses = Vec::with_capacity(total);
        for step in 0..total {
            let start = Instant::now();
            let out = TrainStep::step(&model, input.clone());
            let loss = out.item.loss.clone().into_scalar();
            let grads: GradientsParams = out.grads;
            model = TrainStep::optimize(model, &mut optim, args.lr, grads);
            // into_scalar above waited for the forward; wait for the update too (a no-op on the CPU).
            B::sync(device).map_err(|e| anyhow::anyhow!("{method}: the device failed during the step: {e:?}"))?;
            let elapsed = start.elapsed().as_secs_f64();
            let loss: f64 = burn::tensor::ElementConversion::elem(loss);
            losses.push(loss);
            let timed = step >= args.warmup;
            if timed {
                times.push(elapsed);
            }
            progress(&format!(
                "{method}: step {}/{total}{} {elapsed:.3} s, loss {loss:.4}",
                step + 1,
                if timed { "" } else { " (warm-up)" }
            ));
        }
        anyhow::ensure!(
            losses.iter().all(|l| l.is_finite()),
            "{method}: a step's loss is not finite ({losses:?})"
        );
        let summary = Summary::of(&times);
        rows.push(TrainStepRow {
            method: method.to_string(),
            length: args.length,
            batch_size: args.batch_size,
            steps: times.len(),
            mean_step_s: summary.mean,
            sd_step_s: sd(&times),
            min_step_s: summary.min,
            max_step_s: summary.max,
            trainable_params: trainable,
            first_loss: losses[0],
            last_loss: *losses.last().unwrap_or(&f64::NAN),
        });
    }
    Ok(rows)
}
