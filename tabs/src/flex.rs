//! What the CPU backend's own kernels need: which backend a generic `B` is, and its primitives.
//!
//! The workspace's CPU backend is burn-flex (`Flex`; `Autodiff<Flex>` to train). A few operations run kernels of
//! their own there (products without the double allocation, [`crate::matmul`]; the fused disentangled softmax and
//! the parallel dropout mask in the backbone crates) and burn's tensor ops everywhere else. Code generic over
//! `B: Backend` picks the kernel with [`own_kernels`] (by `B`'s `TypeId` and the dtype) and then moves its
//! primitives between the generic type and burn-flex's concrete one with [`same`], which cannot fail once the
//! `TypeId` matched.

use std::any::{Any, TypeId};

use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Bytes, DType, Shape};

/// burn-flex under autodiff, the CPU training backend.
pub type AdFlex = Autodiff<Flex>;

/// A float primitive of [`AdFlex`]: burn-flex's tensor and its autodiff node.
pub type AdFlexTensor = FloatTensor<AdFlex>;

/// Whether our CPU kernels run for tensors of `dtype` on `B`: burn-flex, with or without autodiff, in f32. Every
/// kernel of our own takes this one test, so that a caller choosing a layout for a kernel (the relative terms'
/// table form) and the kernel itself agree.
pub fn own_kernels<B: Backend>(dtype: DType) -> bool {
    (on_plain_flex::<B>() || on_autodiff_flex::<B>()) && dtype == DType::F32
}

/// Whether `B` is burn-flex itself (no autodiff).
pub fn on_plain_flex<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Flex>()
}

/// Whether `B` is `Autodiff<Flex>`.
pub fn on_autodiff_flex<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<AdFlex>()
}

/// `x` as a `U`, for a type `T` that is `U` (the caller checked the backend with [`own_kernels`] or its kin).
///
/// # Panics
/// If `T` is not `U`: a caller's bug, never input-dependent.
pub fn same<T: 'static, U: 'static>(x: T) -> U {
    let mut slot = Some(x);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
        .expect("a burn-flex primitive")
}

/// A contiguous f32 burn-flex tensor of `dims` holding `data` (row-major), without a copy.
///
/// `Bytes::from_elems` keeps the vector's allocation; burn-flex's own `FlexTensor::empty` goes through
/// `Bytes::from_bytes_vec`, which copies every new buffer once more to align it to 16 bytes.
pub fn f32_tensor(data: Vec<f32>, dims: &[usize]) -> FlexTensor {
    debug_assert_eq!(data.len(), dims.iter().product::<usize>());
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::from(dims.to_vec())),
        DType::F32,
    )
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;

    /// Our kernels run on burn-flex in f32, with and without autodiff, and nowhere else: the comparison tests of
    /// the kernels would pass just as well if they never ran, so the dispatch itself is pinned here.
    #[test]
    fn own_kernels_run_on_burn_flex_in_f32_only() {
        assert!(own_kernels::<Flex>(DType::F32));
        assert!(own_kernels::<AdFlex>(DType::F32));
        assert!(!own_kernels::<Flex>(DType::F64));
        assert!(!own_kernels::<AdFlex>(DType::F16));
        assert!(!own_kernels::<NdArray>(DType::F32));
        assert!(!own_kernels::<Autodiff<NdArray>>(DType::F32));
    }
}
