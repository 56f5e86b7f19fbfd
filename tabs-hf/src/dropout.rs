//! Dropout, with its mask drawn in parallel on the CPU backend.
//!
//! y = x ⊙ m / (1 − p), m_k ~ Bernoulli(1 − p) independently, under autodiff only (identity otherwise, and for
//! p = 0), as [`burn::nn::Dropout::forward`]. On burn-flex under autodiff (`Autodiff<tabs_hf::Cpu>`, the CPU
//! training backend) the mask m / (1 − p) is drawn here: a counter-based generator (SplitMix64 of a per-call seed
//! and the element's index, two 32-bit draws per output) filled in parallel, with m_k = 1 when the draw is below
//! (1 − p)·2³². The per-call seed comes from burn's own generator (one `Tensor::random` of two values), so that
//! `Backend::seed` still makes training reproducible. burn's Dropout samples every element through its generic
//! distribution sampler on one thread: 8 % of a LoRA training step on 2 cores (`perf`, README "Speed on CPU").
//! Every other backend uses burn's Dropout unchanged.

use burn::nn::Dropout;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use rayon::prelude::*;
use tabs::flex::on_autodiff_flex;

/// `dropout`'s forward on `x` (see the module docs).
pub fn dropout<B: Backend, const D: usize>(dropout: &Dropout, x: Tensor<B, D>) -> Tensor<B, D> {
    if !B::ad_enabled(&x.device()) || dropout.prob == 0.0 || !on_autodiff_flex::<B>() {
        return dropout.forward(x);
    }
    let device = x.device();
    let draws = Tensor::<B, 1>::random([2], Distribution::Default, &device)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 draws");
    let seed = (u64::from(draws[0].to_bits()) << 32) | u64::from(draws[1].to_bits());
    let shape = x.shape();
    let mask = keep_mask(shape.num_elements(), 1.0 - dropout.prob, seed);
    x * Tensor::<B, D>::from_data(TensorData::new(mask, shape), &device)
}

/// SplitMix64's output function.
#[inline(always)]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// n values m_k / keep with m_k ~ Bernoulli(keep): element k uses half k mod 2 of splitmix64(seed + ⌊k/2⌋·φ).
pub fn keep_mask(n: usize, keep: f64, seed: u64) -> Vec<f32> {
    const CHUNK: usize = 1 << 14;
    // Draws are uniform on [0, 2³²); P(draw < keep·2³²) = keep (to 2⁻³²).
    let threshold = (keep * 4_294_967_296.0).min(4_294_967_295.0) as u32;
    let scale = (1.0 / keep) as f32;
    let mut mask = vec![0f32; n];
    mask.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
        let base = (c * CHUNK / 2) as u64;
        for (k, pair) in out.chunks_mut(2).enumerate() {
            let bits = splitmix64(seed.wrapping_add((base + k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            for (v, draw) in pair.iter_mut().zip([bits as u32, (bits >> 32) as u32]) {
                *v = if draw < threshold { scale } else { 0.0 };
            }
        }
    });
    mask
}
