//! Activations named in HF configs.

use burn::tensor::activation::{gelu, relu, silu, tanh};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::config::Activation;

/// Apply an activation element-wise.
pub fn apply<B: Backend, const D: usize>(act: Activation, x: Tensor<B, D>) -> Tensor<B, D> {
    match act {
        Activation::Gelu => gelu(x),
        Activation::GeluTanh => {
            // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            let c = (2.0 / std::f64::consts::PI).sqrt();
            let inner = (x.clone() + x.clone().powi_scalar(3).mul_scalar(0.044715)).mul_scalar(c);
            x.mul_scalar(0.5) * inner.tanh().add_scalar(1.0)
        }
        Activation::Relu => relu(x),
        Activation::Tanh => tanh(x),
        Activation::Silu => silu(x),
    }
}
