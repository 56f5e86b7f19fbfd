//! `flops`: realised adapter + controller FLOPs per sequence vs length, per method, against the guarantee line.
//!
//! Per layer ℓ and sequence of T real tokens with a_ℓ active (token, direction) pairs (TABS.md §7, computed by
//! [`tabs::flops`]):
//! - gated, gathered kernel: a_ℓ · Σ_maps 4(d_in + d_out) + controller; dense-masked: T·R pairs instead of a_ℓ;
//! - controller: TABS 2T(dk + kR), CBSP Td + 2(dk + kR), BHSP 0;
//! - LoRA unmerged: Σ_maps 2Tr(d_in + d_out); merged (LoRA, BHSP): 0.
//!
//! Summed over the L layers. The guarantee line is L·(B(T)·Σ_maps 4(d_in + d_out) + 2T(dk + kR)): the most TABS
//! can cost with the gathered kernel, whatever its gates. The shapes come from a [`LayerShape`] (any supported
//! encoder's `config.json`; DeBERTa-v3-base by default).
//!
//! Gates come from one of two sources:
//! - [`run`]: a stated logit distribution through the real gate code ([`crate::sim`]), for every benchmarked row;
//! - [`run_trained`]: a *trained* adapter ([`crate::trained`]) on real text: for each length T, inputs of exactly
//!   T tokens cut from the run's dev texts ([`crate::trained::windows`]) go through the trained model and its
//!   gate decisions are counted, with the run's kernel and with the gathered kernel (what the guarantee bounds).

use std::path::PathBuf;

use anyhow::Result;
use burn::tensor::backend::Backend;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tabs::flops::{self, LayerCost};
use tabs::stats::token_ranks;
use tabs::{GatingConfig, Kernel};
use tabs_experiments::backbone::LayerShape;
use tabs_experiments::batch::{make_batch, Encoded};
use tabs_experiments::method::AdapterHyper;

use crate::methods::BenchMethod;
use crate::sim::{gate_sources, simulate, LogitDist};
use crate::trained::{windows, TrainedRun};

/// The FLOP model of one layer for a gated configuration and kernel.
pub fn layer_cost(shape: &LayerShape, gating: &GatingConfig, kernel: Kernel) -> LayerCost {
    LayerCost {
        maps: shape.maps(),
        granularity: gating.granularity,
        d_model: shape.hidden,
        hidden: gating.hidden(),
        rank: gating.rank,
        kernel,
    }
}

/// The guarantee line of a model: L·(B(T)·pair cost + Token controller) for the TABS configuration of `hyper`.
pub fn guarantee(shape: &LayerShape, hyper: &AdapterHyper, t: usize) -> u64 {
    let cfg = BenchMethod::TabsGathered.gating(hyper).expect("TABS is gated");
    let cost = layer_cost(shape, &cfg, Kernel::Gathered);
    shape.layers as u64 * cost.guarantee(t, cfg.budget.budget(t))
}

/// Frozen target maps of the whole model for T tokens (reference, not adapter cost).
pub fn frozen_maps(shape: &LayerShape, t: usize) -> u64 {
    shape.layers as u64 * shape.maps().iter().map(|m| flops::base_map(t, *m)).sum::<u64>()
}

/// Adapter + controller FLOPs of a whole model for one sequence of `t` tokens, given the active pairs of each
/// layer (ignored by non-gated rows).
pub fn realised(shape: &LayerShape, hyper: &AdapterHyper, m: BenchMethod, t: usize, pairs_per_layer: &[u64]) -> u64 {
    match m {
        BenchMethod::Frozen | BenchMethod::LoraMerged | BenchMethod::BhspMerged => 0,
        BenchMethod::LoraUnmerged => {
            shape.layers as u64
                * shape
                    .maps()
                    .iter()
                    .map(|s| flops::lora(t, hyper.lora_rank, *s, false))
                    .sum::<u64>()
        }
        _ => {
            let cfg = m.gating(hyper).expect("a gated row");
            let cost = layer_cost(shape, &cfg, m.kernel());
            pairs_per_layer.iter().map(|&p| cost.flops(t, p).overhead()).sum()
        }
    }
}

/// Where trained gates come from (`flops --run A --run B …`): runs of different methods with the same R and ρ,
/// trained from the same checkpoint on the same data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedSource {
    /// Run folders (config.json + adapter/).
    pub runs: Vec<PathBuf>,
    /// Checkpoint folder the run was trained from.
    pub model: PathBuf,
    /// The run's data (GLUE task folder or CSV text folder); windows are cut from its dev texts.
    pub data: PathBuf,
    /// Sequences per forward pass.
    pub batch: usize,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlopArgs {
    /// Rows.
    pub methods: Vec<BenchMethod>,
    /// Lengths.
    pub lengths: Vec<usize>,
    /// Random inputs per length.
    pub samples: usize,
    /// Logit distribution.
    pub dist: LogitDist,
    /// Seed.
    pub seed: u64,
    /// Adapter hyper-parameters (a trained run's own with `trained`).
    pub hyper: AdapterHyper,
    /// The encoder whose shapes are counted, in words.
    #[serde(default = "default_model")]
    pub model: String,
    /// Gates of a trained run instead of `dist` (then `methods` is empty: the rows are the run's).
    #[serde(default)]
    pub trained: Option<TrainedSource>,
    /// Requested lengths that were not measured, with why (trained runs: position limit, too little text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

fn default_model() -> String {
    "DeBERTa-v3-base".into()
}

/// One (method, length) point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlopPoint {
    /// Row.
    pub method: String,
    /// T.
    pub length: usize,
    /// Sequences measured.
    pub samples: usize,
    /// Mean realised adapter + controller FLOPs per sequence.
    pub mean: f64,
    /// Max realised adapter + controller FLOPs per sequence.
    pub max: f64,
    /// The guarantee line L·(B(T)·pair cost + controller).
    pub guarantee: f64,
    /// max / guarantee.
    pub max_over_guarantee: f64,
    /// Frozen target maps (reference).
    pub frozen_maps: f64,
    /// Mean active directions per real token, over layers (gated rows).
    #[serde(default)]
    pub mean_rank: Option<f64>,
}

impl FlopPoint {
    /// The point of `method` at length `t` from per-sequence FLOPs (and mean token rank, for gated rows).
    fn new(
        method: String,
        t: usize,
        per_seq: &[f64],
        mean_rank: Option<f64>,
        shape: &LayerShape,
        hyper: &AdapterHyper,
    ) -> Self {
        let g = guarantee(shape, hyper, t) as f64;
        let max = per_seq.iter().copied().fold(0.0, f64::max);
        FlopPoint {
            method,
            length: t,
            samples: per_seq.len(),
            mean: per_seq.iter().sum::<f64>() / per_seq.len().max(1) as f64,
            max,
            guarantee: g,
            max_over_guarantee: max / g,
            frozen_maps: frozen_maps(shape, t) as f64,
            mean_rank,
        }
    }
}

/// Active (token, direction) pairs of each sequence in each layer: `pairs[b][layer]`.
fn active_pairs<B: Backend>(gates: &[tabs::LayerGates<B>], mask: &tabs::TokenMask<B>, batch: usize) -> Vec<Vec<u64>> {
    let mut pairs = vec![vec![0u64; gates.len()]; batch];
    for (l, lg) in gates.iter().enumerate() {
        for (b, ranks) in token_ranks(lg, mask).iter().enumerate() {
            pairs[b][l] = ranks.iter().map(|&r| r as u64).sum();
        }
    }
    pairs
}

/// Realised FLOPs from simulated gates, per row and length.
pub fn run<B: Backend>(
    args: &FlopArgs,
    shape: &LayerShape,
    device: &B::Device,
    mut progress: impl FnMut(&str),
) -> Vec<FlopPoint> {
    let mut out = Vec::new();
    for &m in &args.methods {
        let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
        let mut gates = m
            .gating(&args.hyper)
            .filter(|_| m.gated())
            .map(|cfg| gate_sources::<B>(cfg, shape.layers, device));
        for &t in &args.lengths {
            let (per_seq, mean_rank) = match gates.as_mut() {
                None => (vec![realised(shape, &args.hyper, m, t, &[]) as f64; args.samples], None),
                Some(g) => {
                    let lengths = vec![t; args.samples];
                    let (mask, layers) = simulate(g, &lengths, &args.dist, &mut rng, device);
                    let pairs = active_pairs(&layers, &mask, args.samples);
                    let per_seq: Vec<f64> = pairs
                        .iter()
                        .map(|p| realised(shape, &args.hyper, m, t, p) as f64)
                        .collect();
                    (per_seq, Some(mean_rank(&pairs, t)))
                }
            };
            out.push(FlopPoint::new(
                m.name().to_string(),
                t,
                &per_seq,
                mean_rank,
                shape,
                &args.hyper,
            ));
        }
        progress(&format!("flops {}: {} lengths", m.name(), args.lengths.len()));
    }
    out
}

/// Mean active directions per token over sequences and layers, from `pairs[b][layer]` of length-`t` inputs.
fn mean_rank(pairs: &[Vec<u64>], t: usize) -> f64 {
    let (sum, n) = pairs.iter().flatten().fold((0u64, 0usize), |(s, n), &p| (s + p, n + t));
    sum as f64 / n.max(1) as f64
}

/// The kernel's short name in row names.
fn kernel_name(k: Kernel) -> &'static str {
    match k {
        Kernel::DenseMasked => "dense",
        Kernel::Gathered => "gathered",
    }
}

/// What [`run_trained`] measured.
#[derive(Debug, Clone)]
pub struct TrainedFlops {
    /// Points of the rows `<method>-trained-<kernel>` (the run's kernel, and the gathered kernel).
    pub points: Vec<FlopPoint>,
    /// The run's adapter hyper-parameters (R, ρ, …), for the result file.
    pub hyper: AdapterHyper,
    /// The encoder in words.
    pub model: String,
    /// Requested lengths that were not measured, with why.
    pub skipped: Vec<String>,
}

/// Realised FLOPs from trained runs' real gate decisions on windows of their dev texts.
///
/// For each length T (≥ 3; at most the encoder's position limit, else skipped with a reason): up to
/// `samples` windows of exactly T tokens, forwarded `src.batch` at a time; per run, rows
/// `<method>-trained-<kernel>` for the run's kernel and, when that is not already it, the gathered kernel. A
/// length for which the dev texts hold fewer than one window is skipped with a reason. Runs must differ in
/// method (the row names) and agree on R and ρ (one guarantee line).
pub fn run_trained<B: Backend>(
    src: &TrainedSource,
    lengths: &[usize],
    samples: usize,
    device: &B::Device,
    mut progress: impl FnMut(&str),
) -> Result<TrainedFlops> {
    anyhow::ensure!(src.batch > 0, "--batch must be at least 1");
    anyhow::ensure!(!src.runs.is_empty(), "--run: give at least one run folder");
    let mut out: Option<TrainedFlops> = None;
    let mut methods = Vec::new();
    // Same checkpoint (tokenizer) and data for every run: the windows' source texts are encoded once.
    let mut texts: Option<Vec<Encoded>> = None;
    for dir in &src.runs {
        let run = TrainedRun::<B>::load(dir, &src.model, &src.data, device)?;
        if texts.is_none() {
            texts = Some(run.encode_dev(1 << 20, None)?); // no truncation in practice
        }
        let texts = texts.as_deref().expect("encoded above");
        let hyper = run.cfg.adapter;
        if let Some(first) = &out {
            anyhow::ensure!(
                (hyper.spectral_rank, hyper.rho) == (first.hyper.spectral_rank, first.hyper.rho),
                "run {}: R = {}, ρ = {} differ from the first run's R = {}, ρ = {} (one guarantee line per plot)",
                dir.display(),
                hyper.spectral_rank,
                hyper.rho,
                first.hyper.spectral_rank,
                first.hyper.rho
            );
        }
        anyhow::ensure!(
            !methods.contains(&run.cfg.method),
            "run {}: a second `{}` run (the rows are named by method)",
            dir.display(),
            run.cfg.method
        );
        methods.push(run.cfg.method);
        let (points, skipped) = measure(&run, texts, lengths, samples, src.batch, device, &mut progress)?;
        let o = out.get_or_insert_with(|| TrainedFlops {
            points: Vec::new(),
            hyper,
            model: src.model.display().to_string(),
            skipped,
        });
        o.points.extend(points);
    }
    Ok(out.expect("at least one run"))
}

/// One trained run's points, and the lengths it could not measure.
fn measure<B: Backend>(
    run: &TrainedRun<B>,
    texts: &[Encoded],
    lengths: &[usize],
    samples: usize,
    batch: usize,
    device: &B::Device,
    progress: &mut impl FnMut(&str),
) -> Result<(Vec<FlopPoint>, Vec<String>)> {
    let limit = run.model.max_positions();
    let mut kernels = vec![run.kernel];
    if run.kernel != Kernel::Gathered {
        kernels.push(Kernel::Gathered);
    }
    let costs: Vec<LayerCost> = kernels
        .iter()
        .map(|&k| layer_cost(&run.shape, &run.gating, k))
        .collect();
    let (mut points, mut skipped) = (Vec::new(), Vec::new());
    for &t in lengths {
        if t < 3 {
            skipped.push(format!("T = {t}: a window needs [CLS], one text token and [SEP]"));
            continue;
        }
        if let Some(max) = limit.filter(|&m| t > m) {
            skipped.push(format!("T = {t}: longer than the encoder's {max} positions"));
            continue;
        }
        let inputs = windows(texts, t, samples);
        if inputs.is_empty() {
            skipped.push(format!("T = {t}: the dev texts hold fewer than {} tokens", t - 2));
            continue;
        }
        let mut pairs = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(batch) {
            let batch = make_batch::<B>(chunk, device);
            let out = run.model.forward(&batch.input);
            let mask = out
                .token_mask
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("a gated forward pass has a token mask"))?;
            pairs.extend(active_pairs(&out.gates, mask, chunk.len()));
        }
        let rank = mean_rank(&pairs, t);
        for (k, cost) in kernels.iter().zip(&costs) {
            let per_seq: Vec<f64> = pairs
                .iter()
                .map(|p| p.iter().map(|&a| cost.flops(t, a).overhead() as f64).sum())
                .collect();
            let name = format!("{}-trained-{}", run.cfg.method, kernel_name(*k));
            points.push(FlopPoint::new(
                name,
                t,
                &per_seq,
                Some(rank),
                &run.shape,
                &run.cfg.adapter,
            ));
        }
        progress(&format!(
            "flops ({} trained) T = {t}: {} windows, mean rank {rank:.2}",
            run.cfg.method,
            pairs.len()
        ));
    }
    Ok((points, skipped))
}
