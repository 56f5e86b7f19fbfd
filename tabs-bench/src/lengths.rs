//! Input lengths, drawn with a fixed seed.
//!
//! - [`stress_mix`]: the budget stress test over 1..=max: half uniform on {1, …, max}, half log-uniform
//!   (⌊exp(U(0, ln max))⌉), so short inputs — where ⌊ρT⌋ is smallest relative to R — are well represented.
//! - [`glue_mix`]: a "realistic" latency mix: log-normal with median 48 tokens and σ = 0.7 in log space
//!   (GLUE sentence(-pair)s after DeBERTa-v3 tokenisation are mostly 16–128 tokens), clipped to [8, max],
//!   as stratified quantiles (deterministic, reproducible by the Python peer).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One standard normal draw (Box–Muller).
pub fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `n` lengths in 1..=max: even draws uniform, odd draws log-uniform.
pub fn stress_mix(n: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                rng.random_range(1..=max)
            } else {
                let x = (rng.random::<f64>() * (max as f64).ln()).exp();
                (x.round() as usize).clamp(1, max)
            }
        })
        .collect()
}

/// Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// `n` lengths of the GLUE-like log-normal mix (median 48, σ = 0.7), clipped to [8, max]: the n stratified
/// quantiles T_i = round(exp(ln 48 + 0.7·Φ⁻¹((i + ½)/n))), i = 0..n, ascending. No random numbers, so the
/// PyTorch peer (`scripts/torch_bench.py`, `statistics.NormalDist().inv_cdf`) times exactly the same lengths.
pub fn glue_mix(n: usize, max: usize) -> Vec<usize> {
    (0..n)
        .map(|i| {
            let z = normal_quantile((i as f64 + 0.5) / n as f64);
            let x = (48f64.ln() + 0.7 * z).exp();
            (x.round() as usize).clamp(8.min(max), max)
        })
        .collect()
}
