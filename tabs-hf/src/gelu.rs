//! Exact GELU, on the CPU backend by a kernel of its own.
//!
//! y = x·Φ(x) with Φ the standard normal CDF; backward dx = dy·(Φ(x) + x·φ(x)), φ the density.
//!
//! On burn-flex in f32 (with or without autodiff) both run as one parallel pass with Φ and φ in vectorisable form
//! ([`tabs::elementary`]: Φ to 2.5·10⁻⁷ absolute); without autodiff the input is overwritten when nothing else
//! holds it. burn-flex's own GELU calls libm's scalar `erff` per element on one thread, 4–6 % of a base-size
//! DeBERTa forward and, with its backward, 8 % of a LoRA step on 2 cores (`perf`, README "Speed on CPU"). Every
//! other backend and dtype uses burn's `gelu` without autodiff and, under autodiff, x·½(1 + erf(x/√2)) composed of
//! tensor ops: burn 0.21's default GELU backward, which burn-ndarray and the CubeCL backends (WGPU, CUDA) use, is
//! the derivative of the tanh approximation (up to 3·10⁻⁴ off the exact one), not of the exact GELU it computes.

use std::mem::MaybeUninit;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};
use rayon::prelude::*;
use tabs::elementary::{normal_cdf, normal_pdf};
use tabs::flex::{f32_tensor, on_plain_flex, own_kernels, same, AdFlexTensor};

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// GELU(x) = x·Φ(x), element-wise (see the module docs).
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if !own_kernels::<B>(x.dtype()) {
        if !B::ad_enabled(&x.device()) {
            return burn::tensor::activation::gelu(x);
        }
        // burn 0.21's default `gelu_backward` (burn-ndarray, WGPU, CUDA) is the derivative of the tanh
        // approximation, up to 3·10⁻⁴ off; composed from `erf`, whose backward is exact, the gradient is GELU's.
        let cdf = x
            .clone()
            .div_scalar(std::f64::consts::SQRT_2)
            .erf()
            .add_scalar(1.0)
            .mul_scalar(0.5);
        return x * cdf;
    }
    let x = x.into_primitive().tensor();
    let y: FloatTensor<B> = if on_plain_flex::<B>() {
        same(in_place(same(x)))
    } else {
        same(autodiff_gelu(same(x)))
    };
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// x·Φ(x).
#[inline(always)]
fn value(x: f32) -> f32 {
    x * normal_cdf(x)
}

/// d GELU / dx = Φ(x) + x·φ(x).
#[inline(always)]
fn slope(x: f32) -> f32 {
    normal_cdf(x) + x * normal_pdf(x)
}

/// `x` as a tensor whose storage is exactly its elements in row-major order (a copy only if it is not), still
/// unshared if `x` was (`to_contiguous` returns a second handle otherwise).
fn dense(x: FlexTensor) -> FlexTensor {
    let c = x.to_contiguous();
    drop(x);
    c
}

/// GELU written over `x`'s own storage where nothing else holds it (else into a new buffer).
fn in_place(x: FlexTensor) -> FlexTensor {
    let mut x = dense(x);
    if let Some(values) = x.try_storage_mut::<f32>() {
        values
            .par_chunks_mut(CHUNK)
            .for_each(|c| c.iter_mut().for_each(|v| *v = value(*v)));
        return x;
    }
    map(&x, value)
}

/// f(x) into a new buffer.
fn map(x: &FlexTensor, f: impl Fn(f32) -> f32 + Sync) -> FlexTensor {
    let x = dense(x.clone());
    let src = x.storage::<f32>();
    let mut out = Vec::<f32>::with_capacity(src.len());
    out.spare_capacity_mut()
        .par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .for_each(|(o, s)| {
            for (o, &s) in o.iter_mut().zip(s) {
                *o = MaybeUninit::new(f(s));
            }
        });
    // SAFETY: the chunks above wrote every one of the `src.len()` elements.
    unsafe { out.set_len(src.len()) };
    f32_tensor(out, x.layout().shape())
}

/// The backward step; state: x.
#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let Some(node) = node else { return };
        let x = dense(ops.state);
        let mut dy = dense(grads.consume::<Flex>(&ops.node));
        let xs = x.storage::<f32>();
        let dx = match dy.try_storage_mut::<f32>() {
            Some(g) => {
                g.par_chunks_mut(CHUNK).zip(xs.par_chunks(CHUNK)).for_each(|(g, x)| {
                    g.iter_mut().zip(x).for_each(|(g, &x)| *g *= slope(x));
                });
                dy
            }
            None => {
                let g = dy.storage::<f32>();
                let out: Vec<f32> = g.par_iter().zip(xs.par_iter()).map(|(&g, &x)| g * slope(x)).collect();
                f32_tensor(out, x.layout().shape())
            }
        };
        grads.register::<Flex>(node.id, dx);
    }
}

/// GELU under autodiff: y into a new buffer, x kept for the backward step.
fn autodiff_gelu(x: AdFlexTensor) -> AdFlexTensor {
    let y = map(&x.primitive, value);
    match GeluBackward
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(x.primitive.clone(), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}
