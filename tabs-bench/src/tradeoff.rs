//! `tradeoff`: accuracy against the inference budget, from one trained model. The top-B cut makes any ρ valid at
//! inference, so a run trained at ρ can be evaluated at every ρ_infer: per run and ρ_infer, dev accuracy, the
//! realised active (token, direction) pairs and adapter + controller FLOPs per sequence (gathered kernel: the
//! pairs that are computed), and the budget check (violations of B(T) = ⌊ρ_infer·T⌋ must stay 0).
//!
//! Input: run folders of the root package (gated methods: bhsp, cbsp, tabs, tabs-noproj, tabs-shared) read by
//! [`crate::trained::TrainedRun`], the checkpoint folder they were trained from and their data.

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use tabs::stats::token_ranks;
use tabs::RankStats;
use tabs_experiments::batch::{make_batch, Target};
use tabs_experiments::method::Method;
use tabs_experiments::run::argmax;
use tabs_experiments::train::bucket_indices;

use crate::flops::layer_cost;
use crate::trained::TrainedRun;

/// What to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeoffArgs {
    /// Run folders (config.json + adapter/), all trained from `model` on `data`.
    pub runs: Vec<PathBuf>,
    /// Checkpoint folder the runs were trained from.
    pub model: PathBuf,
    /// The runs' data (GLUE root or task folder, or the CSV text folder).
    pub data: PathBuf,
    /// Inference budgets ρ_infer.
    pub rhos: Vec<f64>,
    /// Sequences per batch.
    pub batch: usize,
    /// At most this many dev examples.
    pub max_examples: Option<usize>,
}

/// One run at one inference budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeoffPoint {
    /// The run folder.
    pub run: String,
    /// Its method.
    pub method: Method,
    /// The ρ it was trained at.
    pub rho_trained: f64,
    /// The ρ it was evaluated at.
    pub rho_infer: f64,
    /// Dev accuracy.
    pub accuracy: f64,
    /// Mean active (token, direction) pairs per sequence, summed over layers.
    pub active_pairs_mean: f64,
    /// Mean adapter + controller FLOPs per sequence, gathered kernel (active pairs only).
    pub adapter_flops_mean: f64,
    /// Budget groups checked.
    pub groups: u64,
    /// Violations (must be 0 for the methods with the cut).
    pub violations: u64,
    /// Worst realised r/B.
    pub worst_ratio: f64,
}

/// Evaluate every run at every ρ_infer.
pub fn run<B: Backend>(
    args: &TradeoffArgs,
    device: &B::Device,
    mut progress: impl FnMut(&str),
) -> Result<Vec<TradeoffPoint>> {
    ensure!(args.batch > 0, "--batch 0: expected at least 1");
    ensure!(!args.runs.is_empty(), "--run: give at least one run folder");
    ensure!(!args.rhos.is_empty(), "--rhos: give at least one ρ");
    if let Some(r) = args.rhos.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        anyhow::bail!("--rhos {r}: expected finite budgets > 0");
    }
    ensure!(args.max_examples != Some(0), "--max-examples 0: expected at least 1");
    let mut points = Vec::new();
    for dir in &args.runs {
        let mut run = TrainedRun::<B>::load(dir, &args.model, &args.data, device)?;
        ensure!(
            run.cfg.task != "stsb",
            "run {}: STS-B is a regression task; tradeoff reports accuracy",
            dir.display()
        );
        let enc = run.encode_dev(run.cfg.max_length, args.max_examples)?;
        let gathered = layer_cost(&run.shape, &run.gating, tabs::Kernel::Gathered);
        for &rho in &args.rhos {
            run.model
                .gates_mut()
                .context("a gated run has gates")?
                .config
                .budget
                .rho = rho;
            let mut stats = RankStats::new(run.shape.layers, run.gating.rank, run.gating.granularity);
            let (mut correct, mut pairs, mut flops) = (0usize, 0u64, 0.0);
            for idx in bucket_indices(&enc, args.batch, false, 0) {
                let items: Vec<_> = idx.iter().map(|&i| enc[i].clone()).collect();
                let batch = make_batch::<B>(&items, device);
                let out = run.model.forward(&batch.input);
                let mask = out
                    .token_mask
                    .as_ref()
                    .context("a gated forward pass has a token mask")?;
                stats.record(&out.gates, mask);
                for g in &out.gates {
                    for seq in token_ranks(g, mask) {
                        let p: u64 = seq.iter().map(|&r| r as u64).sum();
                        pairs += p;
                        flops += gathered.flops(seq.len(), p).overhead() as f64;
                    }
                }
                let logits = out
                    .logits
                    .into_data()
                    .convert::<f32>()
                    .to_vec::<f32>()
                    .expect("float logits");
                let n = logits.len() / items.len();
                for (k, it) in items.iter().enumerate() {
                    if it.target == Target::Class(argmax(&logits[k * n..(k + 1) * n])) {
                        correct += 1;
                    }
                }
            }
            let n = enc.len().max(1) as f64;
            let p = TradeoffPoint {
                run: dir.display().to_string(),
                method: run.cfg.method,
                rho_trained: run.cfg.adapter.rho,
                rho_infer: rho,
                accuracy: correct as f64 / n,
                active_pairs_mean: pairs as f64 / n,
                adapter_flops_mean: flops / n,
                groups: stats.groups,
                violations: stats.violations,
                worst_ratio: stats.worst_ratio,
            };
            progress(&format!(
                "tradeoff: {} at ρ = {rho}: accuracy {:.4}, {:.0} pairs/seq, {} violations",
                p.method, p.accuracy, p.active_pairs_mean, p.violations
            ));
            points.push(p);
        }
    }
    Ok(points)
}
