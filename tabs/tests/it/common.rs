//! Shared helpers of the integration tests.
#![allow(dead_code)]

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};

/// f32 CPU backend.
pub type Cpu = NdArray<f32>;
/// f32 CPU backend with autodiff.
pub type CpuAd = Autodiff<NdArray<f32>>;
/// f64 CPU backend (finite differences).
pub type Cpu64 = NdArray<f64>;
/// f64 CPU backend with autodiff.
pub type Cpu64Ad = Autodiff<NdArray<f64>>;

pub fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

pub fn max_abs_diff<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f64 {
    to_vec(a)
        .iter()
        .zip(to_vec(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

pub fn max_abs<B: Backend, const D: usize>(a: Tensor<B, D>) -> f64 {
    to_vec(a).iter().map(|x| x.abs()).fold(0.0, f64::max)
}

pub fn randn<B: Backend, const D: usize>(shape: [usize; D], std: f64, device: &B::Device) -> Tensor<B, D> {
    Tensor::random(shape, Distribution::Normal(0.0, std), device)
}

pub fn tensor<B: Backend, const D: usize>(data: Vec<f64>, shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(data, shape), device)
}
