//! Attention probabilities from the three disentangled score terms, fused on the CPU backend.
//!
//! For per-head terms qk `[b, H, T, T]`, c2p and p2c `[b, H, T, 2T − 1]` (relative distances in descending
//! order, column m ↔ δ = T − 1 − m, as [`crate::relative`]) and the padding mask `[b, H, T, T]` (true = masked):
//!
//! s[i, j] = qk[i, j] + c2p[i, (T − 1) − i + j] + p2c[j, (T − 1) − j + i], s[i, j] ← f32::MIN where masked,
//! P[i, ·] = softmax(s[i, ·]).
//!
//! Backward, for dP the gradient of P: dS[i, j] = P[i, j]·(dP[i, j] − Σ_k P[i, k]·dP[i, k]) (0 where masked),
//! dqk = dS, dc2p[i, (T − 1) − i + j] = dS[i, j], dp2c[j, (T − 1) − j + i] = dS[i, j], and zero off those bands.
//!
//! A relative term may instead come as HF computes it, against the relative-embedding *table* (`[b, H, T, M]`,
//! M = 2·span rows) with the table row of each distance ([`RelativeTerm::rows`], 2T − 1 of them): column m of the
//! distance form is then column rows[m] of the table form, and the gradient is scattered back by the same index
//! (several distances share a log bucket). Past 2T − 1 > M this makes the c2p / p2c products (2T − 1)/M times
//! smaller; the kernel reads the index, the composed path selects the 2T − 1 columns first.
//!
//! On burn-flex (`tabs_hf::Cpu`), with or without autodiff, this is one pass over the rows, in parallel: the two
//! skews are read in place instead of copied, and the sum, mask and softmax happen in the row while it is in cache;
//! under autodiff the backward is one pass for dS and one per relative term. Composed of burn tensor ops instead
//! (skew, add, `mask_fill`, softmax), the forward walks the `[b, H, T, T]` scores seven times and, under autodiff,
//! builds each skew's backward from a zero tensor of the relative term's size and a strided 4-D write, which
//! burn-flex does element by element. Every other backend, and f64, takes the composed path; the two are compared
//! in `tests/it/disentangled_softmax.rs`.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::Flex;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::ops::{BoolTensor, FloatTensor};
use burn::tensor::{Bool, Int, Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use tabs::elementary::exp_nonpositive;
use tabs::flex::{f32_tensor, on_plain_flex, own_kernels, same, AdFlexTensor};

use crate::relative::skew;

/// A relative term (c2p or p2c): `[b, H, T, 2T − 1]` per distance, or `[b, H, T, M]` against the table with the
/// table row of each of the 2T − 1 distances in `rows` (descending δ).
#[derive(Debug, Clone)]
pub struct RelativeTerm<B: Backend> {
    /// The products.
    pub values: Tensor<B, 4>,
    /// Table row per distance; `None` when `values` is already per distance.
    pub rows: Option<Arc<Vec<usize>>>,
}

impl<B: Backend> RelativeTerm<B> {
    /// A term per distance.
    pub fn distances(values: Tensor<B, 4>) -> Self {
        Self { values, rows: None }
    }

    /// The term per distance: `values` itself, or its columns `rows` (a gather along the last axis).
    fn per_distance(self) -> Tensor<B, 4> {
        match self.rows {
            None => self.values,
            Some(rows) => {
                let device = self.values.device();
                let index: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
                let n = index.len();
                self.values
                    .select(3, Tensor::<B, 1, Int>::from_data(TensorData::new(index, [n]), &device))
            }
        }
    }
}

/// P `[b, H, T, T]` from qk `[b, H, T, T]`, the c2p / p2c terms (each optional) and the padding mask
/// `[b, H, T, T]` (true = masked), by the formula of the module docs.
pub fn disentangled_softmax<B: Backend>(
    qk: Tensor<B, 4>,
    c2p: Option<RelativeTerm<B>>,
    p2c: Option<RelativeTerm<B>>,
    mask: Tensor<B, 4, Bool>,
) -> Tensor<B, 4> {
    match (c2p, p2c) {
        (Some(c2p), Some(p2c)) if own_kernels::<B>(qk.dtype()) => fused(qk, c2p, p2c, mask),
        (c2p, p2c) => composed(qk, c2p, p2c, mask),
    }
}

/// The same with burn tensor ops, on any backend.
pub fn composed<B: Backend>(
    qk: Tensor<B, 4>,
    c2p: Option<RelativeTerm<B>>,
    p2c: Option<RelativeTerm<B>>,
    mask: Tensor<B, 4, Bool>,
) -> Tensor<B, 4> {
    let mut scores = qk;
    if let Some(c2p) = c2p {
        scores = scores + skew(c2p.per_distance(), false);
    }
    if let Some(p2c) = p2c {
        scores = scores + skew(p2c.per_distance(), true);
    }
    softmax(scores.mask_fill(mask, f32::MIN), 3)
}

/// Runs the kernel; `B` is burn-flex or burn-flex under autodiff (`tabs::flex::own_kernels`).
fn fused<B: Backend>(
    qk: Tensor<B, 4>,
    c2p: RelativeTerm<B>,
    p2c: RelativeTerm<B>,
    mask: Tensor<B, 4, Bool>,
) -> Tensor<B, 4> {
    let float = |t: Tensor<B, 4>| t.into_primitive().tensor();
    let wrap = |p: FloatTensor<B>| Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(p));
    let mask = same::<BoolTensor<B>, FlexTensor>(mask.into_primitive());
    let index = Index {
        c2p: c2p.rows,
        p2c: p2c.rows,
    };
    let (qk, c2p, p2c) = (float(qk), float(c2p.values), float(p2c.values));
    let out: FloatTensor<B> = if on_plain_flex::<B>() {
        let flex = same::<FloatTensor<B>, FlexTensor>;
        same(forward(&flex(qk), &flex(c2p), &flex(p2c), &mask, &index))
    } else {
        let ad = same::<FloatTensor<B>, AdFlexTensor>;
        same(autodiff_forward(ad(qk), ad(c2p), ad(p2c), mask, index))
    };
    wrap(out)
}

/// The table row of each distance, per relative term (`None`: the term is per distance).
#[derive(Debug, Clone)]
struct Index {
    c2p: Option<Arc<Vec<usize>>>,
    p2c: Option<Arc<Vec<usize>>>,
}

/// Rows of a 4-D tensor whose last axis is contiguous: `[b, h, i, ·]` is a slice.
struct Rows<'a, E> {
    data: &'a [E],
    offset: usize,
    strides: [usize; 3],
    len: usize,
}

impl<'a, E> Rows<'a, E> {
    /// `t`'s rows; `t` must have non-negative strides and a contiguous last axis ([`unit_last`]).
    fn new(data: &'a [E], layout: &Layout) -> Self {
        let s = layout.strides();
        Self {
            data,
            offset: layout.start_offset(),
            strides: [s[0] as usize, s[1] as usize, s[2] as usize],
            len: layout.shape()[3],
        }
    }

    /// Row [b, h, i] from column `from` to its end.
    #[inline]
    fn row(&self, b: usize, h: usize, i: usize, from: usize) -> &'a [E] {
        let at = self.offset + b * self.strides[0] + h * self.strides[1] + i * self.strides[2];
        &self.data[at + from..at + self.len]
    }
}

/// `t` itself when its strides are non-negative and its last axis contiguous, else a contiguous copy.
fn unit_last(t: &FlexTensor) -> FlexTensor {
    let s = t.layout().strides();
    if s[3] == 1 && s.iter().all(|&x| x >= 0) {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

/// Rows (and columns) per block: a block of P and the p2c values it reads stay in the L1/L2 caches, whereas a whole
/// p2c column is T values 2T − 1 apart (one page each at T = 1024).
const BLOCK: usize = 32;

/// A reduction of `x` in 8 interleaved lanes (a sequential f32 reduction does not vectorise).
#[inline(always)]
fn lanes(x: &[f32], init: f32, op: impl Fn(f32, f32) -> f32 + Copy) -> f32 {
    let mut acc = [init; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = op(*a, v);
        }
    }
    tail.iter().fold(acc.into_iter().fold(init, op), |a, &v| op(a, v))
}

/// Σ x ⊙ y in 8 interleaved lanes.
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f32 = xc.remainder().iter().zip(yc.remainder()).map(|(a, b)| a * b).sum();
    for (a, b) in xc.zip(yc) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The forward kernel: P `[b, H, T, T]`, contiguous. One task per (sequence, head); within it, blocks of
/// [`BLOCK`] rows: qk + c2p row by row, then p2c added column block by column block, then mask and softmax.
fn forward(qk: &FlexTensor, c2p: &FlexTensor, p2c: &FlexTensor, mask: &FlexTensor, index: &Index) -> FlexTensor {
    let [b, h, t, _] = dims4(qk);
    let (qk, c2p, p2c, mask) = (unit_last(qk), unit_last(c2p), unit_last(p2c), unit_last(mask));
    let qk_r = Rows::new(qk.storage::<f32>(), qk.layout());
    let c2p_r = Rows::new(c2p.storage::<f32>(), c2p.layout());
    let p2c_r = Rows::new(p2c.storage::<f32>(), p2c.layout());
    let mask_r = Rows::new(mask.bytes(), mask.layout());
    let (c_ix, p_ix) = (index.c2p.as_deref(), index.p2c.as_deref());
    let mut out = vec![0f32; b * h * t * t];
    out.par_chunks_mut(t * t).enumerate().for_each(|(bh, slab)| {
        let (bi, hi) = (bh / h, bh % h);
        for i0 in (0..t).step_by(BLOCK) {
            let i1 = (i0 + BLOCK).min(t);
            for i in i0..i1 {
                let row = &mut slab[i * t..(i + 1) * t];
                let q = qk_r.row(bi, hi, i, 0);
                match c_ix {
                    None => {
                        let c = c2p_r.row(bi, hi, i, t - 1 - i);
                        for ((o, &q), &c) in row.iter_mut().zip(q).zip(c) {
                            *o = q + c;
                        }
                    }
                    Some(ix) => {
                        let c = c2p_r.row(bi, hi, i, 0);
                        for ((o, &q), &m) in row.iter_mut().zip(q).zip(&ix[t - 1 - i..]) {
                            *o = q + c[m];
                        }
                    }
                }
            }
            // p2c[j, (T − 1) − j + i] for the block's rows i is a contiguous run of p2c's row j (or of its table
            // columns): BLOCK runs are gathered into a tile, then added to the rows of P (column writes T apart
            // would alias in the L1 cache whenever T·4 bytes is a multiple of 4 KiB).
            let mut tile = [[0f32; BLOCK]; BLOCK];
            for j0 in (0..t).step_by(BLOCK) {
                let j1 = (j0 + BLOCK).min(t);
                for (j, tile_j) in (j0..j1).zip(tile.iter_mut()) {
                    let from = t - 1 - j + i0;
                    match p_ix {
                        None => tile_j[..i1 - i0].copy_from_slice(&p2c_r.row(bi, hi, j, from)[..i1 - i0]),
                        Some(ix) => {
                            let row = p2c_r.row(bi, hi, j, 0);
                            for (v, &m) in tile_j.iter_mut().zip(&ix[from..from + i1 - i0]) {
                                *v = row[m];
                            }
                        }
                    }
                }
                for (k, i) in (i0..i1).enumerate() {
                    let row = &mut slab[i * t + j0..i * t + j1];
                    for (o, tile_j) in row.iter_mut().zip(tile.iter()) {
                        *o += tile_j[k];
                    }
                }
            }
            for i in i0..i1 {
                let row = &mut slab[i * t..(i + 1) * t];
                for (o, &m) in row.iter_mut().zip(mask_r.row(bi, hi, i, 0)) {
                    if m != 0 {
                        *o = f32::MIN;
                    }
                }
                let max = lanes(row, f32::NEG_INFINITY, f32::max);
                for o in row.iter_mut() {
                    *o = exp_nonpositive(*o - max);
                }
                let inv = 1.0 / lanes(row, 0.0, |a, b| a + b);
                row.iter_mut().for_each(|o| *o *= inv);
            }
        }
    });
    f32_tensor(out, &[b, h, t, t])
}

/// dS `[b, H, T, T]` (contiguous) from P (contiguous), dP and the mask.
fn score_grad(probs: &FlexTensor, dp: &FlexTensor, mask: &FlexTensor) -> Vec<f32> {
    let [b, h, t, _] = dims4(probs);
    let (dp, mask) = (unit_last(dp), unit_last(mask));
    let p = probs.storage::<f32>();
    let dp_r = Rows::new(dp.storage::<f32>(), dp.layout());
    let mask_r = Rows::new(mask.bytes(), mask.layout());
    let mut ds = vec![0f32; b * h * t * t];
    ds.par_chunks_mut(t).enumerate().for_each(|(row, dst)| {
        let (bh, i) = (row / t, row % t);
        let (bi, hi) = (bh / h, bh % h);
        let p_row = &p[row * t..(row + 1) * t];
        let (g, m) = (dp_r.row(bi, hi, i, 0), mask_r.row(bi, hi, i, 0));
        let dot = dot(p_row, g);
        for (((d, &p), &g), &m) in dst.iter_mut().zip(p_row).zip(g).zip(m) {
            *d = if m != 0 { 0.0 } else { p * (g - dot) };
        }
    });
    ds
}

/// dc2p `[b, H, T, W]`: per distance (W = 2T − 1), row i holds dS[i, ·] at columns (T − 1) − i …, zeros
/// elsewhere; against the table (W = M), row i accumulates dS[i, j] at column rows[(T − 1) − i + j].
fn c2p_grad(ds: &[f32], [b, h, t]: [usize; 3], rows: Option<&[usize]>, w: usize) -> FlexTensor {
    let mut g = vec![0f32; b * h * t * w];
    g.par_chunks_mut(w).enumerate().for_each(|(row, dst)| {
        let i = row % t;
        let src = &ds[row * t..(row + 1) * t];
        match rows {
            None => dst[t - 1 - i..2 * t - 1 - i].copy_from_slice(src),
            Some(ix) => {
                for (&v, &m) in src.iter().zip(&ix[t - 1 - i..]) {
                    dst[m] += v;
                }
            }
        }
    });
    f32_tensor(g, &[b, h, t, w])
}

/// dp2c `[b, H, T, W]`: per distance, row j holds dS[·, j] (a column) at columns (T − 1) − j …, zeros elsewhere;
/// against the table, row j accumulates dS[i, j] at column rows[(T − 1) − j + i]. Transposed through a
/// [`BLOCK`] × [`BLOCK`] tile, one task per (sequence, head).
fn p2c_grad(ds: &[f32], [b, h, t]: [usize; 3], rows: Option<&[usize]>, w: usize) -> FlexTensor {
    let mut g = vec![0f32; b * h * t * w];
    g.par_chunks_mut(t * w).enumerate().for_each(|(bh, dst)| {
        let slab = &ds[bh * t * t..(bh + 1) * t * t];
        let mut tile = [[0f32; BLOCK]; BLOCK];
        for i0 in (0..t).step_by(BLOCK) {
            let i1 = (i0 + BLOCK).min(t);
            for j0 in (0..t).step_by(BLOCK) {
                let j1 = (j0 + BLOCK).min(t);
                for (i, tile_i) in (i0..i1).zip(tile.iter_mut()) {
                    tile_i[..j1 - j0].copy_from_slice(&slab[i * t + j0..i * t + j1]);
                }
                for (k, j) in (j0..j1).enumerate() {
                    let from = t - 1 - j + i0;
                    let column = tile[..i1 - i0].iter().map(|tile_i| tile_i[k]);
                    match rows {
                        None => {
                            for (d, v) in dst[j * w + from..j * w + from + i1 - i0].iter_mut().zip(column) {
                                *d = v;
                            }
                        }
                        Some(ix) => {
                            let row = &mut dst[j * w..(j + 1) * w];
                            for (&m, v) in ix[from..from + i1 - i0].iter().zip(column) {
                                row[m] += v;
                            }
                        }
                    }
                }
            }
        }
    });
    f32_tensor(g, &[b, h, t, w])
}

/// The backward step: state = (P, mask, the relative terms' index and widths).
#[derive(Debug)]
struct DisentangledSoftmaxBackward;

impl Backward<Flex, 3> for DisentangledSoftmaxBackward {
    type State = (FlexTensor, FlexTensor, Index, [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (probs, mask, index, [c2p_w, p2c_w]) = ops.state;
        let dp = grads.consume::<Flex>(&ops.node);
        let [b, h, t, _] = dims4(&probs);
        let ds = score_grad(&probs, &dp, &mask);
        let [qk, c2p, p2c] = ops.parents;
        if let Some(node) = c2p {
            grads.register::<Flex>(
                node.id,
                c2p_grad(&ds, [b, h, t], index.c2p.as_deref().map(|v| &v[..]), c2p_w),
            );
        }
        if let Some(node) = p2c {
            grads.register::<Flex>(
                node.id,
                p2c_grad(&ds, [b, h, t], index.p2c.as_deref().map(|v| &v[..]), p2c_w),
            );
        }
        if let Some(node) = qk {
            grads.register::<Flex>(node.id, f32_tensor(ds, &[b, h, t, t]));
        }
    }
}

/// The kernel under autodiff: forward as [`forward`], P, the mask and the index kept for the backward step.
fn autodiff_forward(
    qk: AdFlexTensor,
    c2p: AdFlexTensor,
    p2c: AdFlexTensor,
    mask: FlexTensor,
    index: Index,
) -> AdFlexTensor {
    let probs = forward(&qk.primitive, &c2p.primitive, &p2c.primitive, &mask, &index);
    let widths = [dims4(&c2p.primitive)[3], dims4(&p2c.primitive)[3]];
    let nodes = [qk.node.clone(), c2p.node.clone(), p2c.node.clone()];
    match DisentangledSoftmaxBackward
        .prepare::<burn::backend::autodiff::checkpoint::strategy::NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((probs.clone(), mask, index, widths), probs),
        OpsKind::UnTracked(prep) => prep.finish(probs),
    }
}
