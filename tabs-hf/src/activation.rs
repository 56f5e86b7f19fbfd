//! The activations HF configs name in `hidden_act` / `pooler_hidden_act` (transformers' `ACT2FN`), for every
//! encoder crate.

use burn::tensor::activation::{relu, silu, tanh};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::gelu::gelu;

/// An activation function named in a HF config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU, x·Φ(x) = x·½(1 + erf(x/√2)) (`gelu`).
    Gelu,
    /// tanh-approximate GELU, ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    GeluTanh,
    /// ReLU (`relu`).
    Relu,
    /// tanh (`tanh`).
    Tanh,
    /// SiLU (`silu`, `swish`).
    Silu,
}

impl Activation {
    /// The activation of a HF name, if supported.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "silu" | "swish" => Activation::Silu,
            _ => return None,
        })
    }

    /// Apply element-wise to a tensor of any shape.
    pub fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Gelu => gelu(x),
            Activation::GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                let inner = (x.clone() + x.clone().powi_scalar(3).mul_scalar(0.044715)).mul_scalar(c);
                x.mul_scalar(0.5) * inner.tanh().add_scalar(1.0)
            }
            Activation::Relu => relu(x),
            Activation::Tanh => tanh(x),
            Activation::Silu => silu(x),
        }
    }
}
