//! Gate statistics: per-token rank per layer (rank of token t = |{i : g_{t,i} > 0}|), rank histograms and
//! budget violations (count and worst ratio r/B over (layer, sequence) groups, or over the global group for
//! `Layer` granularity).

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::granularity::{Granularity, LayerGates};
use crate::mask::TokenMask;

/// Ranks of the real tokens of one layer: `ranks[b][t]` for t < T_b.
pub fn token_ranks<B: Backend>(gates: &LayerGates<B>, mask: &TokenMask<B>) -> Vec<Vec<u32>> {
    let [b, t, _] = gates.gates.dims();
    let ranks = gates
        .gates
        .clone()
        .greater_elem(0.0)
        .int()
        .sum_dim(2)
        .to_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .expect("an int tensor converts to i64");
    let m = mask
        .mask
        .to_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("a float tensor converts to f32");
    (0..b)
        .map(|i| {
            (0..t)
                .filter(|&j| m[i * t + j] != 0.0)
                .map(|j| ranks[i * t + j] as u32)
                .collect()
        })
        .collect()
}

/// Accumulated gate statistics over many batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankStats {
    /// R.
    pub rank: usize,
    /// Granularity (Layer budgets are global).
    pub granularity: Granularity,
    /// `histogram[layer][r]`: real tokens of rank r.
    pub histogram: Vec<Vec<u64>>,
    /// Σ of token ranks per layer.
    pub rank_sum: Vec<u64>,
    /// Real tokens seen per layer.
    pub tokens: Vec<u64>,
    /// Budget groups checked.
    pub groups: u64,
    /// Groups whose realised count exceeded the budget.
    pub violations: u64,
    /// max over groups of r/B (r/1 when B = 0 and r > 0; 0 with no groups).
    pub worst_ratio: f64,
}

impl RankStats {
    /// Empty statistics for `num_layers` layers of rank R.
    pub fn new(num_layers: usize, rank: usize, granularity: Granularity) -> Self {
        Self {
            rank,
            granularity,
            histogram: vec![vec![0; rank + 1]; num_layers],
            rank_sum: vec![0; num_layers],
            tokens: vec![0; num_layers],
            groups: 0,
            violations: 0,
            worst_ratio: 0.0,
        }
    }

    /// Record the inference gates of every layer of one batch (`layers[ℓ]` from the same forward pass).
    pub fn record<B: Backend>(&mut self, layers: &[LayerGates<B>], mask: &TokenMask<B>) {
        let mut per_layer_counts: Vec<Vec<u64>> = Vec::with_capacity(layers.len());
        for (l, g) in layers.iter().enumerate() {
            let ranks = token_ranks(g, mask);
            let mut counts = Vec::with_capacity(ranks.len());
            for seq in &ranks {
                for &r in seq {
                    self.histogram[l][(r as usize).min(self.rank)] += 1;
                    self.rank_sum[l] += r as u64;
                    self.tokens[l] += 1;
                }
                counts.push(seq.iter().map(|&r| r as u64).sum::<u64>());
            }
            per_layer_counts.push(counts);
        }
        if self.granularity == Granularity::Layer {
            // Global group: Σ_ℓ of the layer's active directions (same for every sequence and token).
            if let Some(first) = layers.first() {
                let count: f64 = layers.iter().map(|g| g.count.clone().into_scalar_f64()).sum();
                let budget = first.budget.clone().into_scalar_f64();
                self.check(count, budget);
            }
        } else {
            for counts in &per_layer_counts {
                for (b, &c) in counts.iter().enumerate() {
                    self.check(c as f64, mask.budgets[b] as f64);
                }
            }
        }
    }

    fn check(&mut self, count: f64, budget: f64) {
        self.groups += 1;
        if count > budget {
            self.violations += 1;
        }
        let ratio = if budget > 0.0 { count / budget } else { count };
        self.worst_ratio = self.worst_ratio.max(ratio);
    }

    /// Mean token rank per layer.
    pub fn mean_rank(&self) -> Vec<f64> {
        self.rank_sum
            .iter()
            .zip(&self.tokens)
            .map(|(&s, &n)| if n == 0 { 0.0 } else { s as f64 / n as f64 })
            .collect()
    }
}

trait ScalarF64 {
    fn into_scalar_f64(self) -> f64;
}

impl<B: Backend> ScalarF64 for burn::tensor::Tensor<B, 1> {
    fn into_scalar_f64(self) -> f64 {
        self.sum()
            .to_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .expect("a float tensor converts to f64")[0]
    }
}
