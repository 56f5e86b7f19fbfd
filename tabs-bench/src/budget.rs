//! `budget`: over many random inputs of lengths 1..=max, how often each method's inference count exceeds
//! the budget, and by how much.
//!
//! A *group* is one (layer, sequence) for TABS / CBSP / the ablation (realised count
//! r_{ℓ,b} = Σ_{t real} |{i : g_{ℓ,b,t,i} > 0}| against B(T_b) = ⌊ρ·T_b⌋ + c), and the whole model for BHSP
//! (Σ_ℓ active directions against ρ·L). A violation is r > B; the ratio is r / B. The headline numbers come from
//! [`tabs::RankStats`] (the same counter `results.json` uses); the per-length table is computed here from the
//! gates' own `count` / `budget` tensors and cross-checked against it.
//!
//! Upper bound worth knowing: a sequence-shared gate set activates at most R directions for all T_b tokens, so
//! CBSP's ratio is at most R·T_b / ⌊ρ·T_b⌋ ≈ R/ρ (= 2 for R = 16, ρ = 8) whatever the length.

use burn::tensor::backend::Backend;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tabs::{Granularity, RankStats};
use tabs_experiments::method::AdapterHyper;

use crate::lengths::stress_mix;
use crate::methods::BenchMethod;
use crate::sim::{gate_sources, simulate, to_vec, LogitDist};

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetArgs {
    /// Gated rows to check (non-gated rows are skipped: they have no budget).
    pub methods: Vec<BenchMethod>,
    /// Number of random inputs (sequences).
    pub inputs: usize,
    /// Longest length (lengths from [`stress_mix`] over 1..=max_len).
    pub max_len: usize,
    /// Layers per input (each layer is an independent group for Token / Sequence).
    pub layers: usize,
    /// Sequences per padded batch (inputs are sorted by length first, so padding stays small).
    pub batch: usize,
    /// Logit distribution.
    pub dist: LogitDist,
    /// Seed of lengths and logits.
    pub seed: u64,
    /// Adapter hyper-parameters (R, ρ, k, …).
    pub hyper: AdapterHyper,
}

/// Violations of one length bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthBin {
    /// Shortest length in the bin.
    pub lo: usize,
    /// Longest length in the bin.
    pub hi: usize,
    /// Groups in the bin.
    pub groups: u64,
    /// Violations in the bin.
    pub violations: u64,
    /// Worst r/B in the bin.
    pub worst_ratio: f64,
    /// Mean r/B in the bin.
    pub mean_ratio: f64,
}

/// One method's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetRow {
    /// Row name.
    pub method: String,
    /// Granularity of the gates.
    pub granularity: Granularity,
    /// Whether the top-B cut runs at inference.
    pub inference_cut: bool,
    /// Inputs drawn.
    pub inputs: usize,
    /// Groups checked.
    pub groups: u64,
    /// Groups with r > B.
    pub violations: u64,
    /// max r/B.
    pub worst_ratio: f64,
    /// mean r/B over groups.
    pub mean_ratio: f64,
    /// Mean token rank over all layers and real tokens.
    pub mean_rank: f64,
    /// The logit distribution in words.
    pub logits: String,
    /// Per length bin (powers of two: 1, 2–3, 4–7, …).
    pub by_length: Vec<LengthBin>,
}

/// Bin of a length: ⌊log₂ T⌋.
pub fn bin_of(t: usize) -> usize {
    (usize::BITS - 1 - t.max(1).leading_zeros()) as usize
}

/// Group-level tally used for the per-length table.
#[derive(Debug, Clone, Default)]
struct Tally {
    groups: u64,
    violations: u64,
    worst: f64,
    sum: f64,
}

impl Tally {
    fn add(&mut self, count: f64, budget: f64) {
        self.groups += 1;
        if count > budget {
            self.violations += 1;
        }
        let ratio = if budget > 0.0 { count / budget } else { count };
        self.worst = self.worst.max(ratio);
        self.sum += ratio;
    }
}

/// Run the budget check for every gated method; `progress` gets one line per method.
pub fn run<B: Backend>(args: &BudgetArgs, device: &B::Device, mut progress: impl FnMut(&str)) -> Vec<BudgetRow> {
    let mut lengths = stress_mix(args.inputs, args.max_len, args.seed);
    lengths.sort_unstable();
    let mut rows = Vec::new();
    for &m in args.methods.iter().filter(|m| m.gated()) {
        let cfg = m.gating(&args.hyper).expect("a gated row has gating");
        let mut gates = gate_sources::<B>(cfg, args.layers, device);
        let mut stats = RankStats::new(args.layers, cfg.rank, cfg.granularity);
        let mut rng = StdRng::seed_from_u64(args.seed ^ 0x9e37_79b9);
        let mut bins: Vec<Tally> = vec![Tally::default(); bin_of(args.max_len.max(1)) + 1];
        let mut total = Tally::default();
        let start = std::time::Instant::now();
        for chunk in lengths.chunks(args.batch.max(1)) {
            let (mask, layers) = simulate(&mut gates, chunk, &args.dist, &mut rng, device);
            stats.record(&layers, &mask);
            if cfg.granularity == Granularity::Layer {
                let count: f64 = layers.iter().map(|g| to_vec(g.count.clone())[0]).sum();
                let budget = to_vec(layers[0].budget.clone())[0];
                total.add(count, budget);
                // The global group belongs to no length; file it under the batch's longest input.
                bins[bin_of(*chunk.last().unwrap_or(&1))].add(count, budget);
            } else {
                for g in &layers {
                    let counts = to_vec(g.count.clone());
                    let budgets = to_vec(g.budget.clone());
                    for ((c, b), &t) in counts.iter().zip(&budgets).zip(chunk) {
                        total.add(*c, *b);
                        bins[bin_of(t)].add(*c, *b);
                    }
                }
            }
        }
        assert_eq!(
            (stats.groups, stats.violations),
            (total.groups, total.violations),
            "RankStats and the count tensors disagree"
        );
        let mean_ranks = stats.mean_rank();
        let tokens: u64 = stats.tokens.iter().sum();
        let rank_sum: u64 = stats.rank_sum.iter().sum();
        let row = BudgetRow {
            method: m.name().to_string(),
            granularity: cfg.granularity,
            inference_cut: cfg.budget.inference_cut,
            inputs: args.inputs,
            groups: stats.groups,
            violations: stats.violations,
            worst_ratio: stats.worst_ratio,
            mean_ratio: if total.groups == 0 {
                0.0
            } else {
                total.sum / total.groups as f64
            },
            mean_rank: if tokens == 0 {
                mean_ranks.iter().sum::<f64>() / mean_ranks.len().max(1) as f64
            } else {
                rank_sum as f64 / tokens as f64
            },
            logits: args.dist.describe(&cfg),
            by_length: bins
                .iter()
                .enumerate()
                .filter(|(_, t)| t.groups > 0)
                .map(|(k, t)| LengthBin {
                    lo: 1 << k,
                    hi: ((1usize << (k + 1)) - 1).min(args.max_len),
                    groups: t.groups,
                    violations: t.violations,
                    worst_ratio: t.worst,
                    mean_ratio: t.sum / t.groups as f64,
                })
                .collect(),
        };
        progress(&format!(
            "budget {}: {} groups, {} violations, worst r/B {:.3} ({:.1} s)",
            row.method,
            row.groups,
            row.violations,
            row.worst_ratio,
            start.elapsed().as_secs_f64()
        ));
        rows.push(row);
    }
    rows
}
