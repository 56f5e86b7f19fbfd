//! What the CPU backend's own kernels need: which backend a generic `B` is, and its primitives.
//!
//! The workspace's CPU backend is burn-flex (`Flex`; `Autodiff<Flex>` to train). A few operations run kernels of
//! their own there (products without the double allocation, [`crate::matmul`]; the fused disentangled softmax and
//! the parallel dropout mask in the backbone crates) and burn's tensor ops everywhere else. Code generic over
//! `B: Backend` picks the kernel by `B`'s `TypeId` ([`on_flex`], [`on_autodiff_flex`]) and then moves its
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

/// Whether `B` is burn-flex, with or without autodiff.
pub fn on_flex<B: Backend>() -> bool {
    on_plain_flex::<B>() || on_autodiff_flex::<B>()
}

/// Whether `B` is burn-flex itself (no autodiff).
pub fn on_plain_flex<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Flex>()
}

/// Whether `B` is `Autodiff<Flex>`.
pub fn on_autodiff_flex<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<AdFlex>()
}

/// `x` as a `U`, for a type `T` that is `U` (the caller checked the backend with [`on_flex`] or its kin).
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
