//! Matrix products, on the CPU backend without burn-flex's second copy of every output.
//!
//! C[…, i, j] = Σ_l A[…, i, l]·B[…, l, j] for A `[…, m, k]`, B `[…, k, n]`, C `[…, m, n]`, the batch axes `…`
//! broadcast as burn's `matmul` (an axis of size 1 against any size). Under autodiff, for the gradient dC:
//! dA = dC·Bᵀ and dB = Aᵀ·dC, each summed over the batch axes along which its operand was broadcast, and each
//! computed only when that operand needs a gradient (a frozen weight gets none).
//!
//! Why: burn-flex 0.21 allocates every product's output with `FlexTensor::empty`, a zero-filled `Vec<u8>` that
//! `Bytes::from_bytes_vec` then copies into a new 16-byte-aligned buffer: a memset and a memcpy of C per product,
//! 8 % of a base-size DeBERTa forward at 256 tokens and 17 % at 512 (`perf`, README "Speed on CPU"). Here, on
//! burn-flex in f32 (with or without autodiff), C is a `Vec<f32>` that the GEMM (the `gemm` crate, burn-flex's
//! own, same parallel split) writes without reading, handed to burn-flex as it is; transposed and other strided
//! operands are read in place, as burn-flex does. Every other backend and dtype calls burn's `matmul`.
//!
//! [`attention_context`] is the product P·V of an attention layer written straight in the `[b, T, H·dh]` order
//! the output projection reads, which saves the copy of `swap_dims(1, 2).reshape(..)`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, FloatTensorOps};
use burn::tensor::{Bytes, DType, Shape, Tensor, TensorPrimitive};
use rayon::prelude::*;

use crate::flex::{on_autodiff_flex, on_plain_flex, own_kernels, same, AdFlexTensor};

/// A·B, as burn's `lhs.matmul(rhs)` (see the module docs).
///
/// # Panics
/// As burn's `matmul`, when the inner sizes differ or a batch axis is neither equal nor 1 (a caller's bug).
pub fn matmul<B: Backend, const D: usize>(lhs: Tensor<B, D>, rhs: Tensor<B, D>) -> Tensor<B, D> {
    if !kernel_applies(&lhs, &rhs) {
        return lhs.matmul(rhs);
    }
    run(lhs, rhs, None)
}

/// The attention context P·V `[b, H, T, T]·[b, H, T, dh]` → `[b, T, H·dh]` (heads merged, as the output
/// projection reads it); equal to `probs.matmul(v).swap_dims(1, 2).reshape([b, T, H·dh])`.
///
/// # Panics
/// As [`matmul`].
pub fn attention_context<B: Backend>(probs: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 3> {
    let [b, h, t, _] = probs.dims();
    let dh = v.dims()[3];
    let heads = if kernel_applies(&probs, &v) {
        run(probs, v, Some(&HEADS_LAST))
    } else {
        probs.matmul(v)
    };
    heads.swap_dims(1, 2).reshape([b, t, h * dh])
}

/// Whether the product runs here: burn-flex (with or without autodiff), both operands f32.
fn kernel_applies<B: Backend, const D: usize>(lhs: &Tensor<B, D>, rhs: &Tensor<B, D>) -> bool {
    own_kernels::<B>(lhs.dtype()) && rhs.dtype() == lhs.dtype()
}

/// The memory order of `attention_context`'s output `[b, H, T, dh]`: axes outermost first, i.e. stored as
/// `[b, T, H, dh]`.
const HEADS_LAST: [usize; 4] = [0, 2, 1, 3];

/// The product on a backend [`kernel_applies`] accepted.
fn run<B: Backend, const D: usize>(lhs: Tensor<B, D>, rhs: Tensor<B, D>, order: Option<&[usize]>) -> Tensor<B, D> {
    let (lhs, rhs) = (lhs.into_primitive().tensor(), rhs.into_primitive().tensor());
    let out: FloatTensor<B> = if on_plain_flex::<B>() {
        same(product(&same(lhs), &same(rhs), order))
    } else {
        debug_assert!(on_autodiff_flex::<B>());
        same(autodiff_product(same(lhs), same(rhs), order))
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// Products of at least this many multiply-adds (m·n·k) use both cores inside the GEMM (burn-flex's threshold).
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;
/// Batches of at least this many multiply-adds in all run their matrices in parallel (burn-flex's threshold).
const BATCH_PARALLEL_THRESHOLD: usize = 128 * 128 * 128;

/// An output pointer shared by the batch's parallel GEMMs, which write disjoint matrices.
struct OutPtr(*mut f32);
// SAFETY: each batch element writes its own matrix of the output; no two overlap (dense strides, [`strides_in`]).
unsafe impl Sync for OutPtr {}
impl OutPtr {
    fn at(&self, offset: isize) -> *mut f32 {
        // SAFETY: offsets stay inside the output allocation (computed from its shape and strides).
        unsafe { self.0.offset(offset) }
    }
}

/// A strided operand: its storage, first element, and strides per broadcast batch axis (0 where broadcast), row
/// and column.
struct Operand<'a> {
    data: &'a [f32],
    start: isize,
    batch: Vec<isize>,
    rows: isize,
    cols: isize,
}

impl<'a> Operand<'a> {
    fn new(t: &'a FlexTensor) -> Self {
        let layout = t.layout();
        let (dims, strides) = (layout.shape(), layout.strides());
        let d = strides.len();
        Self {
            data: t.storage::<f32>(),
            start: layout.start_offset() as isize,
            batch: (0..d - 2).map(|i| if dims[i] == 1 { 0 } else { strides[i] }).collect(),
            rows: strides[d - 2],
            cols: strides[d - 1],
        }
    }

    /// Pointer to batch element `index` (per-axis indices).
    fn at(&self, index: &[usize]) -> *const f32 {
        let offset: isize = self.start
            + index
                .iter()
                .zip(&self.batch)
                .map(|(&i, &s)| i as isize * s)
                .sum::<isize>();
        // SAFETY: the offset is the layout's own for an index inside its shape.
        unsafe { self.data.as_ptr().offset(offset) }
    }
}

/// Dense strides for `dims` stored in `order` (a permutation of the axes, outermost first; `None`: row-major).
fn strides_in(dims: &[usize], order: Option<&[usize]>) -> Vec<isize> {
    let identity: Vec<usize> = (0..dims.len()).collect();
    let order = order.unwrap_or(&identity);
    let mut strides = vec![0isize; dims.len()];
    let mut next = 1isize;
    for &axis in order.iter().rev() {
        strides[axis] = next;
        next *= dims[axis] as isize;
    }
    strides
}

/// The memory order of a strided tensor whose elements fill a block densely (a permuted contiguous tensor, such as
/// a `swap_dims` view of a contiguous one): its axes by decreasing stride. `None` for other layouts (broadcast,
/// sliced, overlapping).
fn dense_order(t: &FlexTensor) -> Option<Vec<usize>> {
    let (dims, strides) = (t.layout().shape(), t.layout().strides());
    let mut order: Vec<usize> = (0..strides.len()).collect();
    // Size-1 axes can have any stride; put them outermost, in order, so that the result is well defined.
    order.sort_by_key(|&a| (dims[a] != 1, std::cmp::Reverse(strides[a]), a));
    let dense = strides_in(dims, Some(&order));
    (0..strides.len())
        .all(|a| dims[a] == 1 || dense[a] == strides[a])
        .then_some(order)
}

/// C = A·B for burn-flex f32 tensors of equal rank ≥ 2, stored in memory `order` ([`strides_in`]).
fn product(lhs: &FlexTensor, rhs: &FlexTensor, order: Option<&[usize]>) -> FlexTensor {
    let (ls, rs) = (lhs.layout().shape(), rhs.layout().shape());
    let d = ls.num_dims();
    assert!(
        d >= 2 && rs.num_dims() == d,
        "matmul: ranks {} and {} (equal, at least 2)",
        d,
        rs.num_dims()
    );
    let (m, k, n) = (ls[d - 2], ls[d - 1], rs[d - 1]);
    assert_eq!(k, rs[d - 2], "matmul: inner sizes {k} and {} differ", rs[d - 2]);
    let batch: Vec<usize> = (0..d - 2)
        .map(|i| {
            let (a, b) = (ls[i], rs[i]);
            assert!(
                a == b || a == 1 || b == 1,
                "matmul: batch axis {i} of sizes {a} and {b} do not broadcast"
            );
            a.max(b)
        })
        .collect();
    let mut dims = batch.clone();
    dims.extend([m, n]);
    if let Some(order) = order {
        assert_eq!(
            order.len(),
            d,
            "matmul: memory order of rank {} for rank {d}",
            order.len()
        );
    }
    let strides = strides_in(&dims, order);
    let count: usize = batch.iter().product();
    let len = count * m * n;
    let mut out = Vec::<f32>::with_capacity(len);
    if k == 0 {
        out.resize(len, 0.0);
    } else if len > 0 {
        let (a, b) = (Operand::new(lhs), Operand::new(rhs));
        let ptr = OutPtr(out.as_mut_ptr());
        let one = |e: usize, parallelism: gemm::Parallelism| {
            let mut index = vec![0usize; d - 2];
            let mut rest = e;
            for (i, &size) in batch.iter().enumerate().rev() {
                index[i] = rest % size;
                rest /= size;
            }
            let o: isize = index.iter().zip(&strides).map(|(&i, &s)| i as isize * s).sum();
            // SAFETY: the pointers and strides describe matrices inside their allocations ([`Operand`], the
            // output's `strides`); `read_dst = false`, so the uninitialised output is only written.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    ptr.at(o),
                    strides[d - 1],
                    strides[d - 2],
                    false,
                    a.at(&index),
                    a.cols,
                    a.rows,
                    b.at(&index),
                    b.cols,
                    b.rows,
                    0.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    parallelism,
                )
            }
        };
        // burn-flex's split: a large matrix uses both cores inside its GEMM unless the batch (≥ 4 matrices) can
        // share them out; a batch of smaller matrices runs its matrices in parallel.
        let per_matrix = m * n * k;
        let total = count * per_matrix;
        let batch_parallel = count > 1 && total >= BATCH_PARALLEL_THRESHOLD;
        if batch_parallel && (count >= 4 || per_matrix < PARALLEL_THRESHOLD) {
            (0..count).into_par_iter().for_each(|e| one(e, gemm::Parallelism::None));
        } else {
            let parallelism = if per_matrix >= PARALLEL_THRESHOLD {
                gemm::Parallelism::Rayon(0)
            } else {
                gemm::Parallelism::None
            };
            (0..count).for_each(|e| one(e, parallelism));
        }
        // SAFETY: the `count` GEMMs wrote all m·n elements of every matrix: the strides map the batch, row and
        // column indices one-to-one onto 0..len.
        unsafe { out.set_len(len) };
    }
    FlexTensor::new(
        Bytes::from_elems(out),
        Layout::new(Shape::from(dims), strides, 0),
        DType::F32,
    )
}

/// `t` with its last two axes swapped (a view).
fn transposed(t: FlexTensor) -> FlexTensor {
    let d = t.layout().num_dims();
    Flex::float_swap_dims(t, d - 2, d - 1)
}

/// `grad` summed over the axes where `target` has size 1 and `grad` does not (the operand was broadcast).
fn unbroadcast(mut grad: FlexTensor, target: &Shape) -> FlexTensor {
    for i in 0..target.num_dims() - 2 {
        if target[i] == 1 && grad.layout().shape()[i] != 1 {
            grad = Flex::float_sum_dim(grad, i);
        }
    }
    grad
}

/// What the backward step keeps of an operand: its shape, and the memory order its gradient is written in
/// ([`dense_order`], when the operand was not broadcast; else row-major, summed over the broadcast axes).
#[derive(Debug, Clone)]
struct Side {
    shape: Shape,
    order: Option<Vec<usize>>,
}

impl Side {
    fn of(t: &FlexTensor, other: &FlexTensor) -> Self {
        let (shape, other_shape) = (t.layout().shape(), other.layout().shape());
        let d = shape.num_dims();
        let broadcast = (0..d - 2).any(|i| shape[i] < other_shape[i]);
        Self {
            shape: shape.clone(),
            order: if broadcast { None } else { dense_order(t) },
        }
    }

    /// The gradient `A·B` of this operand, in its memory order, summed over its broadcast axes.
    fn gradient(&self, a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
        unbroadcast(product(a, b, self.order.as_deref()), &self.shape)
    }
}

/// The backward step of C = A·B; state: A if B needs a gradient, B if A does, and both [`Side`]s.
#[derive(Debug)]
struct ProductBackward;

impl Backward<Flex, 2> for ProductBackward {
    type State = (Option<FlexTensor>, Option<FlexTensor>, Side, Side);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (lhs, rhs, lhs_side, rhs_side) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node);
        let [lhs_node, rhs_node] = ops.parents;
        // Each gradient in its operand's memory order: for a head view of projected rows (`[b, T, H·dh]` seen as
        // `[b, H, T, dh]`) the backward of the view (swap, reshape) is then a view too instead of a copy.
        if let (Some(node), Some(rhs)) = (lhs_node, rhs) {
            grads.register::<Flex>(node.id, lhs_side.gradient(&grad, &transposed(rhs)));
        }
        if let (Some(node), Some(lhs)) = (rhs_node, lhs) {
            grads.register::<Flex>(node.id, rhs_side.gradient(&transposed(lhs), &grad));
        }
    }
}

/// [`product`] under autodiff, with [`ProductBackward`] recorded when an operand is tracked.
fn autodiff_product(lhs: AdFlexTensor, rhs: AdFlexTensor, order: Option<&[usize]>) -> AdFlexTensor {
    let out = product(&lhs.primitive, &rhs.primitive, order);
    let (lhs_tracked, rhs_tracked) = (lhs.is_tracked(), rhs.is_tracked());
    match ProductBackward
        .prepare::<NoCheckpointing>([lhs.node.clone(), rhs.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            (
                rhs_tracked.then(|| lhs.primitive.clone()),
                lhs_tracked.then(|| rhs.primitive.clone()),
                Side::of(&lhs.primitive, &rhs.primitive),
                Side::of(&rhs.primitive, &lhs.primitive),
            ),
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flex(dims: &[usize]) -> FlexTensor {
        crate::flex::f32_tensor(vec![0.0; dims.iter().product()], dims)
    }

    /// The memory order a gradient is written in: a head view `[b, T, H, dh]` → `[b, H, T, dh]` keeps its rows'
    /// order (so that its gradient needs no copy), other dense permutations theirs, non-dense layouts none.
    #[test]
    fn dense_order_of_views() {
        let rows = flex(&[2, 5, 3, 4]);
        assert_eq!(dense_order(&rows), Some(vec![0, 1, 2, 3]));
        let heads = Flex::float_swap_dims(rows.clone(), 1, 2);
        assert_eq!(dense_order(&heads), Some(vec![0, 2, 1, 3]));
        let keys = Flex::float_swap_dims(heads.clone(), 2, 3);
        assert_eq!(dense_order(&keys), Some(vec![0, 3, 1, 2]));
        assert_eq!(strides_in(&[2, 3, 5, 4], Some(&HEADS_LAST)), vec![60, 4, 12, 1]);
        assert_eq!(
            strides_in(heads.layout().shape(), Some(&[0, 2, 1, 3])),
            heads.layout().strides()
        );
        let sliced = Flex::float_slice(rows, &[burn::tensor::Slice::new(0, Some(2), 1), (0..2).into()]);
        assert_eq!(dense_order(&sliced), None);
    }
}
