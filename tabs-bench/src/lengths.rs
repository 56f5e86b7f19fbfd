//! Input lengths, drawn with a fixed seed.
//!
//! - [`stress_mix`]: the budget stress test over 1..=max: half uniform on {1, …, max}, half log-uniform
//!   (⌊exp(U(0, ln max))⌉), so short inputs — where ⌊ρT⌋ is smallest relative to R — are well represented.
//! - [`glue_mix`]: a "realistic" latency mix: log-normal with median 48 tokens and σ = 0.7 in log space
//!   (GLUE sentence(-pair)s after DeBERTa-v3 tokenisation are mostly 16–128 tokens), clipped to [8, max].

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

/// `n` lengths from the GLUE-like log-normal mix (median 48, σ = 0.7), clipped to [8, max].
pub fn glue_mix(n: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let x = (48f64.ln() + 0.7 * normal(&mut rng)).exp();
            (x.round() as usize).clamp(8.min(max), max)
        })
        .collect()
}
