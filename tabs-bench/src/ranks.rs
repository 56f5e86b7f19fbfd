//! `ranks`: what a *trained* adapter does on a dataset — per-token rank histograms per layer (rank of token
//! t = |{i : g_{ℓ,t,i} > 0}|), budget violations, realised FLOPs against the guarantee, and which tokens get
//! high rank (mean rank over layers and occurrences, decoded to text).
//!
//! Input: a run folder written by the root package, the checkpoint folder it was trained from and its data
//! (GLUE task or CSV text folder), read by [`crate::trained::TrainedRun`]; any supported encoder (DeBERTa, BERT).

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use tabs::stats::token_ranks;
use tabs::RankStats;
use tabs_experiments::batch::make_batch;
use tabs_experiments::method::Method;
use tabs_experiments::train::bucket_indices;

use crate::flops::{frozen_maps, guarantee, layer_cost};
use crate::trained::TrainedRun;

/// What to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RanksArgs {
    /// Run folder (config.json + adapter/).
    pub run: PathBuf,
    /// Checkpoint folder the run was trained from.
    pub model: PathBuf,
    /// GLUE data (root or task folder).
    pub data: PathBuf,
    /// Sequences per batch.
    pub batch: usize,
    /// Use at most this many examples.
    pub max_examples: Option<usize>,
    /// Tokens listed at each end.
    pub top: usize,
    /// Only tokens seen at least this often are listed.
    pub min_count: u64,
}

/// A vocabulary entry's mean rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRank {
    /// Token id.
    pub id: u32,
    /// Decoded token.
    pub token: String,
    /// Occurrences (real-token positions).
    pub count: u64,
    /// Mean rank over layers and occurrences.
    pub mean_rank: f64,
}

/// The result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RanksResult {
    /// Task.
    pub task: String,
    /// Method of the run.
    pub method: Method,
    /// R.
    pub rank: usize,
    /// ρ.
    pub rho: f64,
    /// Examples evaluated.
    pub examples: usize,
    /// Real tokens evaluated (per layer).
    pub tokens: u64,
    /// `histogram[layer][r]`.
    pub histogram: Vec<Vec<u64>>,
    /// Mean token rank per layer.
    pub mean_rank_per_layer: Vec<f64>,
    /// Budget groups checked.
    pub groups: u64,
    /// Violations.
    pub violations: u64,
    /// Worst r/B.
    pub worst_ratio: f64,
    /// The run's kernel.
    pub kernel: tabs::Kernel,
    /// Mean realised adapter + controller FLOPs per sequence with the run's kernel.
    pub flops_mean: f64,
    /// The same with the gathered kernel (active pairs only): what the guarantee bounds.
    pub flops_gathered_mean: f64,
    /// Mean guarantee line L·(B(T)·pair cost + controller) over the same sequences.
    pub guarantee_mean: f64,
    /// Mean frozen-map FLOPs over the same sequences (reference).
    pub frozen_mean: f64,
    /// Highest mean rank first.
    pub top_tokens: Vec<TokenRank>,
    /// Lowest mean rank first.
    pub bottom_tokens: Vec<TokenRank>,
}

/// Evaluate the trained adapter and collect rank statistics.
pub fn run<B: Backend>(args: &RanksArgs, device: &B::Device, mut progress: impl FnMut(&str)) -> Result<RanksResult> {
    anyhow::ensure!(args.batch > 0, "--batch must be at least 1");
    let run = TrainedRun::<B>::load(&args.run, &args.model, &args.data, device)?;
    let (cfg, gating, shape) = (&run.cfg, run.gating, run.shape);
    let enc = run.encode_dev(cfg.max_length, args.max_examples)?;
    let layers = shape.layers;
    let cost = layer_cost(&shape, &gating, run.kernel);
    let gathered = layer_cost(&shape, &gating, tabs::Kernel::Gathered);
    let mut gathered_sum = 0.0;
    let mut stats = RankStats::new(layers, gating.rank, gating.granularity);
    let mut per_id: HashMap<u32, (u64, u64)> = HashMap::new(); // id → (Σ rank over layers, occurrences·layers)
    let (mut flops_sum, mut guar_sum, mut frozen_sum) = (0.0, 0.0, 0.0);
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
            let ranks = token_ranks(g, mask);
            for (k, seq) in ranks.iter().enumerate() {
                let p: u64 = seq.iter().map(|&r| r as u64).sum();
                flops_sum += cost.flops(seq.len(), p).overhead() as f64;
                gathered_sum += gathered.flops(seq.len(), p).overhead() as f64;
                for (j, &r) in seq.iter().enumerate() {
                    let e = per_id.entry(items[k].input_ids[j]).or_default();
                    e.0 += r as u64;
                    e.1 += 1;
                }
            }
        }
        for it in &items {
            let t = it.input_ids.len();
            guar_sum += guarantee(&shape, &cfg.adapter, t) as f64;
            frozen_sum += frozen_maps(&shape, t) as f64;
        }
    }
    progress(&format!(
        "ranks: {} examples, {} violations",
        enc.len(),
        stats.violations
    ));
    let n = enc.len().max(1) as f64;
    let mut list: Vec<TokenRank> = per_id
        .into_iter()
        .filter(|(_, (_, n))| *n / layers as u64 >= args.min_count)
        .map(|(id, (s, n))| TokenRank {
            id,
            token: run.tokenizer.id_to_token(id).unwrap_or_else(|| format!("<{id}>")),
            count: n / layers as u64,
            mean_rank: s as f64 / n as f64,
        })
        .collect();
    list.sort_by(|a, b| {
        b.mean_rank
            .total_cmp(&a.mean_rank)
            .then(b.count.cmp(&a.count))
            .then(a.id.cmp(&b.id))
    });
    let top = list.iter().take(args.top).cloned().collect();
    let bottom = list.iter().rev().take(args.top).cloned().collect();
    Ok(RanksResult {
        task: cfg.task.clone(),
        method: cfg.method,
        rank: gating.rank,
        rho: gating.budget.rho,
        examples: enc.len(),
        tokens: stats.tokens.first().copied().unwrap_or(0),
        mean_rank_per_layer: stats.mean_rank(),
        histogram: stats.histogram.clone(),
        groups: stats.groups,
        violations: stats.violations,
        worst_ratio: stats.worst_ratio,
        kernel: run.kernel,
        flops_mean: flops_sum / n,
        flops_gathered_mean: gathered_sum / n,
        guarantee_mean: guar_sum / n,
        frozen_mean: frozen_sum / n,
        top_tokens: top,
        bottom_tokens: bottom,
    })
}
