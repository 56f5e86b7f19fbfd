//! Timing summaries: mean, p50, p99 and max of a sample, with nearest-rank percentiles
//! (p_q = x₍⌈q·n⌉₎ of the sorted sample, 1-based; the same rule as `tabs_experiments::evaluate::latency`).

use serde::{Deserialize, Serialize};

/// Summary of a sample (same unit as the input).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Sample size.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Minimum.
    pub min: f64,
}

/// Nearest-rank percentile of an ascending sample: x₍⌈q·n⌉₎ (1-based), q ∈ (0, 1]. NaN for an empty sample.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

impl Summary {
    /// Summarise a sample (any order). An empty sample gives n = 0 and NaNs.
    pub fn of(sample: &[f64]) -> Self {
        let mut s = sample.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        Summary {
            n,
            mean: if n == 0 {
                f64::NAN
            } else {
                s.iter().sum::<f64>() / n as f64
            },
            p50: percentile(&s, 0.5),
            p99: percentile(&s, 0.99),
            max: s.last().copied().unwrap_or(f64::NAN),
            min: s.first().copied().unwrap_or(f64::NAN),
        }
    }
}
