//! `flops`: realised adapter + controller FLOPs per sequence vs length, per method, against the guarantee line.
//!
//! Per layer ℓ and sequence of T real tokens with a_ℓ active (token, direction) pairs (TABS.md §7, computed by
//! [`tabs::flops`]):
//! - gated, gathered kernel: a_ℓ · Σ_maps 4(d_in + d_out) + controller; dense-masked: T·R pairs instead of a_ℓ;
//! - controller: TABS 2T(dk + kR), CBSP Td + 2(dk + kR), BHSP 0;
//! - LoRA unmerged: Σ_maps 2Tr(d_in + d_out); merged (LoRA, BHSP): 0.
//!
//! Summed over the L layers. The guarantee line is L·(B(T)·Σ_maps 4(d_in + d_out) + 2T(dk + kR)): the most TABS
//! can cost with the gathered kernel, whatever its gates. Gates come from [`crate::sim`] (a stated logit
//! distribution through the real gate code) unless `--run` points at a trained adapter (see [`crate::ranks`]).

use burn::tensor::backend::Backend;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tabs::flops::{self, LayerCost, MapShape};
use tabs::stats::token_ranks;
use tabs::{Granularity, Kernel};
use tabs_deberta::DebertaConfig;
use tabs_experiments::backbone::LayerShape;
use tabs_experiments::method::AdapterHyper;

use crate::methods::BenchMethod;
use crate::sim::{gate_sources, simulate, LogitDist};

/// The six target maps of one DeBERTa layer (query, key, value, attention output, intermediate, output), as the
/// training pipeline counts them ([`LayerShape::maps`]).
pub fn deberta_maps(c: &DebertaConfig) -> Vec<MapShape> {
    LayerShape {
        layers: c.num_hidden_layers,
        hidden: c.hidden_size,
        intermediate: c.intermediate_size,
        attention: c.num_attention_heads * c.attention_head_size,
    }
    .maps()
}

/// The FLOP model of one layer for a gated row.
pub fn layer_cost(
    c: &DebertaConfig,
    granularity: Granularity,
    rank: usize,
    hidden: usize,
    kernel: Kernel,
) -> LayerCost {
    LayerCost {
        maps: deberta_maps(c),
        granularity,
        d_model: c.hidden_size,
        hidden,
        rank,
        kernel,
    }
}

/// The guarantee line of a model: L·(B(T)·pair cost + Token controller) for the TABS configuration of `hyper`.
pub fn guarantee(c: &DebertaConfig, hyper: &AdapterHyper, t: usize) -> u64 {
    let cfg = BenchMethod::TabsGathered.gating(hyper).expect("TABS is gated");
    let cost = layer_cost(c, Granularity::Token, cfg.rank, cfg.hidden(), Kernel::Gathered);
    c.num_hidden_layers as u64 * cost.guarantee(t, cfg.budget.budget(t))
}

/// Frozen target maps of the whole model for T tokens (reference, not adapter cost).
pub fn frozen_maps(c: &DebertaConfig, t: usize) -> u64 {
    c.num_hidden_layers as u64 * deberta_maps(c).iter().map(|m| flops::base_map(t, *m)).sum::<u64>()
}

/// Adapter + controller FLOPs of a whole model for one sequence of `t` tokens, given the active pairs of each
/// layer (ignored by non-gated rows).
pub fn realised(c: &DebertaConfig, hyper: &AdapterHyper, m: BenchMethod, t: usize, pairs_per_layer: &[u64]) -> u64 {
    let layers = c.num_hidden_layers as u64;
    match m {
        BenchMethod::Frozen | BenchMethod::LoraMerged | BenchMethod::BhspMerged => 0,
        BenchMethod::LoraUnmerged => {
            layers
                * deberta_maps(c)
                    .iter()
                    .map(|s| flops::lora(t, hyper.lora_rank, *s, false))
                    .sum::<u64>()
        }
        _ => {
            let cfg = m.gating(hyper).expect("a gated row");
            let cost = layer_cost(c, cfg.granularity, cfg.rank, cfg.hidden(), m.kernel());
            pairs_per_layer.iter().map(|&p| cost.flops(t, p).overhead()).sum()
        }
    }
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
    /// Adapter hyper-parameters.
    pub hyper: AdapterHyper,
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
}

/// Realised FLOPs from simulated gates, per row and length.
pub fn run<B: Backend>(
    args: &FlopArgs,
    model: &DebertaConfig,
    device: &B::Device,
    mut progress: impl FnMut(&str),
) -> Vec<FlopPoint> {
    let mut out = Vec::new();
    for &m in &args.methods {
        let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
        let mut gates = m
            .gating(&args.hyper)
            .filter(|_| m.gated())
            .map(|cfg| gate_sources::<B>(cfg, model.num_hidden_layers, device));
        for &t in &args.lengths {
            let per_seq: Vec<f64> = match gates.as_mut() {
                None => vec![realised(model, &args.hyper, m, t, &[]) as f64; args.samples],
                Some(g) => {
                    let lengths = vec![t; args.samples];
                    let (mask, layers) = simulate(g, &lengths, &args.dist, &mut rng, device);
                    let mut pairs = vec![vec![0u64; layers.len()]; args.samples];
                    for (l, lg) in layers.iter().enumerate() {
                        for (b, ranks) in token_ranks(lg, &mask).iter().enumerate() {
                            pairs[b][l] = ranks.iter().map(|&r| r as u64).sum();
                        }
                    }
                    pairs
                        .iter()
                        .map(|p| realised(model, &args.hyper, m, t, p) as f64)
                        .collect()
                }
            };
            let g = guarantee(model, &args.hyper, t) as f64;
            let max = per_seq.iter().copied().fold(0.0, f64::max);
            out.push(FlopPoint {
                method: m.name().to_string(),
                length: t,
                samples: per_seq.len(),
                mean: per_seq.iter().sum::<f64>() / per_seq.len().max(1) as f64,
                max,
                guarantee: g,
                max_over_guarantee: max / g,
                frozen_maps: frozen_maps(model, t) as f64,
            });
        }
        progress(&format!("flops {}: {} lengths", m.name(), args.lengths.len()));
    }
    out
}
