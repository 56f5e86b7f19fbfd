//! Relative positions of disentangled attention, as HF's `build_relative_position` and
//! `make_log_bucket_position`, computed per *distance* instead of per (query, key) pair.
//!
//! For a sequence of T tokens the relative position of query i to key j is δ = i − j ∈ [−(T−1), T−1]. With log
//! buckets (bucket_size 2·mid, max distance M):
//! bucket(δ) = δ for |δ| ≤ mid, else sign(δ)·(⌈log(|δ|/mid) / log((M−1)/mid) · (mid−1)⌉ + mid),
//! evaluated in f32 exactly as torch does. The c2p term of pair (i, j) reads relative-embedding row
//! clamp(bucket(δ) + span, 0, 2·span − 1); the p2c term reads row clamp(−bucket(δ) + span, 0, 2·span − 1).
//!
//! Instead of [T, T] index tensors, everything is computed for the 2T − 1 distances in *descending* order
//! (column m ↔ δ = T − 1 − m) and turned into [T, T] by [`skew`]: Y[i, j] = X[i, (T − 1) − i + j], which
//! picks δ = i − j (on the CPU backend [`crate::disentangled_softmax`] reads the skewed values in place instead).
//! No index tensor of size T² is ever built, which matters at LRA lengths (1–4k tokens).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// HF's `make_log_bucket_position` for one distance δ (f32 arithmetic as in torch).
pub fn log_bucket(delta: i64, bucket_size: usize, max_position: usize) -> i64 {
    let mid = (bucket_size / 2) as i64;
    let abs_pos = if delta < mid && delta > -mid {
        mid - 1
    } else {
        delta.abs()
    };
    if abs_pos <= mid {
        return delta;
    }
    let ratio = (abs_pos as f32) / (mid as f32);
    let denom = (((max_position as f64) - 1.0) / (mid as f64)) as f32;
    let log_pos = ((ratio.ln() / denom.ln()) * ((mid - 1) as f32)).ceil() + mid as f32;
    (log_pos as i64) * delta.signum()
}

/// bucket(δ), or δ itself without buckets.
pub fn relative_position(delta: i64, buckets: Option<usize>, max_relative_positions: usize) -> i64 {
    match buckets {
        Some(b) if max_relative_positions > 0 => log_bucket(delta, b, max_relative_positions),
        _ => delta,
    }
}

/// Row indices of the relative-embedding table for the 2T − 1 distances δ = T − 1 − m, m = 0..2T−1:
/// (c2p rows, p2c rows), each clamp(±bucket(δ) + span, 0, 2·span − 1).
pub fn distance_rows(t: usize, buckets: Option<usize>, max_rel: usize, span: usize) -> (Vec<i64>, Vec<i64>) {
    let hi = 2 * span as i64 - 1;
    let mut c2p = Vec::with_capacity(2 * t - 1);
    let mut p2c = Vec::with_capacity(2 * t - 1);
    for m in 0..(2 * t - 1) as i64 {
        let delta = t as i64 - 1 - m;
        let r = relative_position(delta, buckets, max_rel);
        c2p.push((r + span as i64).clamp(0, hi));
        p2c.push((-r + span as i64).clamp(0, hi));
    }
    (c2p, p2c)
}

/// Y[b, h, i, j] = X[b, h, i, (T − 1) − i + j] for X `[b, H, T, 2T − 1]` → Y `[b, H, T, T]`, or its transpose in
/// the last two axes, Y[b, h, i, j] = X[b, h, j, (T − 1) − j + i], when `transpose` (the p2c term).
///
/// Row i of one `[T, 2T − 1]` slab, flattened with stride 2T − 1, starts the wanted window at offset
/// i·(2T − 1) + (T − 1) − i = i·(2T − 2) + (T − 1); so dropping the first T − 1 values and viewing the rest with
/// stride 2T − 2 aligns every row's window at column 0.
///
/// Without autodiff this is done one `[T, 2T − 1]` slab at a time, so that every view is 2-D: the CPU backends
/// copy a 2-D strided view (transposed or not) row by row or by tiles, but walk a 3-D one element by element
/// (burn-flex's `StridedIter`, burn-ndarray's `to_vec_mapped`); the n `[T, T]` windows are then concatenated.
/// Under autodiff the whole-tensor form is kept: the backward of each of n slices would be a zero tensor of X's
/// full size.
pub fn skew<B: Backend>(x: Tensor<B, 4>, transpose: bool) -> Tensor<B, 4> {
    let [b, h, t, w] = x.dims();
    debug_assert_eq!(w, 2 * t - 1);
    let n = b * h;
    let stride = 2 * t - 2;
    if t == 1 {
        return x;
    }
    let x = x.reshape([n, t * w]);
    if B::ad_enabled(&x.device()) {
        let y = x
            .slice([0..n, (t - 1)..(t - 1 + t * stride)])
            .reshape([b, h, t, stride])
            .slice([0..b, 0..h, 0..t, 0..t]);
        return if transpose { y.swap_dims(2, 3) } else { y };
    }
    let windows = (0..n)
        .map(|k| {
            let y = x
                .clone()
                .slice([k..k + 1, (t - 1)..(t - 1 + t * stride)])
                .reshape([t, stride])
                .slice([0..t, 0..t]);
            if transpose {
                y.transpose()
            } else {
                y
            }
        })
        .collect();
    Tensor::cat(windows, 0).reshape([b, h, t, t])
}
