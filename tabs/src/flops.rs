//! Exact FLOP accounting (a multiply-add = 2 FLOPs), per layer and sequence, as in the book's method chapter, §6.
//!
//! - base map: 2·T·d_in·d_out per target map (reported, never counted as adapter cost);
//! - gated adapter: 2·2·(d_in + d_out) per (token, direction) pair per map — the two projections P, Q and the
//!   two output terms; the gathered kernel pays for active pairs, the dense-masked one for all T·R pairs;
//! - controller: Token 2·T·(d·k + k·R); Sequence T·d + 2·(d·k + k·R) (the masked mean, then one MLP); Layer 0;
//! - LoRA-r unmerged 2·T·r·(d_in + d_out) per map; merged 0.

use serde::{Deserialize, Serialize};

use crate::granularity::Granularity;
use crate::kernel::Kernel;

/// The shape of a target map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapShape {
    /// d_in.
    pub d_in: usize,
    /// d_out.
    pub d_out: usize,
}

/// 2·T·d_in·d_out.
pub fn base_map(t: usize, m: MapShape) -> u64 {
    2 * t as u64 * m.d_in as u64 * m.d_out as u64
}

/// 2·2·(d_in + d_out): one (token, direction) pair of the gated term on one map.
pub fn gated_pair(m: MapShape) -> u64 {
    4 * (m.d_in + m.d_out) as u64
}

/// Gated-term FLOPs on one map: `active_pairs` pairs (gathered) or all `t·rank` pairs (dense-masked).
pub fn gated_term(kernel: Kernel, active_pairs: u64, t: usize, rank: usize, m: MapShape) -> u64 {
    let pairs = match kernel {
        Kernel::Gathered => active_pairs,
        Kernel::DenseMasked => (t * rank) as u64,
    };
    pairs * gated_pair(m)
}

/// Controller FLOPs for one layer and one sequence of T real tokens (width d, hidden k, R logits).
pub fn controller(granularity: Granularity, t: usize, d: usize, k: usize, rank: usize) -> u64 {
    let mlp = 2 * (d * k + k * rank) as u64;
    match granularity {
        Granularity::Token => t as u64 * mlp,
        Granularity::Sequence => (t * d) as u64 + mlp,
        Granularity::Layer => 0,
    }
}

/// LoRA FLOPs on one map: 2·T·r·(d_in + d_out) unmerged, 0 merged.
pub fn lora(t: usize, rank: usize, m: MapShape, merged: bool) -> u64 {
    if merged {
        0
    } else {
        2 * (t * rank) as u64 * (m.d_in + m.d_out) as u64
    }
}

/// Realised FLOPs of one layer for one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LayerFlops {
    /// Frozen maps (not adapter cost).
    pub base: u64,
    /// Adapter term over all target maps.
    pub adapter: u64,
    /// Controller.
    pub controller: u64,
}

impl LayerFlops {
    /// Adapter + controller: the cost the budget governs.
    pub fn overhead(&self) -> u64 {
        self.adapter + self.controller
    }
}

/// The FLOP model of one adapted layer: its target maps and gating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerCost {
    /// The target maps of the layer.
    pub maps: Vec<MapShape>,
    /// Granularity of the gates.
    pub granularity: Granularity,
    /// d (controller input), k, R.
    pub d_model: usize,
    /// k.
    pub hidden: usize,
    /// R.
    pub rank: usize,
    /// Kernel in use.
    pub kernel: Kernel,
}

impl LayerCost {
    /// FLOPs of one sequence of `t` real tokens whose gates activate `active_pairs` (token, direction) pairs
    /// (the same pairs on every target map of the layer).
    pub fn flops(&self, t: usize, active_pairs: u64) -> LayerFlops {
        LayerFlops {
            base: self.maps.iter().map(|m| base_map(t, *m)).sum(),
            adapter: self
                .maps
                .iter()
                .map(|m| gated_term(self.kernel, active_pairs, t, self.rank, *m))
                .sum(),
            controller: controller(self.granularity, t, self.d_model, self.hidden, self.rank),
        }
    }

    /// Cost of one active pair over all maps: Σ_maps 4·(d_in + d_out).
    pub fn pair_cost(&self) -> u64 {
        self.maps.iter().map(|m| gated_pair(*m)).sum()
    }

    /// The guarantee line: the most a sequence of `t` tokens can cost with a budget of `budget` pairs under
    /// the gathered kernel, budget·pair_cost + controller.
    pub fn guarantee(&self, t: usize, budget: usize) -> u64 {
        budget as u64 * self.pair_cost() + controller(self.granularity, t, self.d_model, self.hidden, self.rank)
    }
}
