//! The gate controller: logits ℓ = W₂·ReLU(W₁·h + b₁) + b₂, a two-layer MLP Linear(d, k) → ReLU → Linear(k, R).
//!
//! One controller per transformer layer, reading that layer's input; its R logits are shared by every target
//! map of the layer. Cost per token: 2·(d·k + k·R) FLOPs. The last bias starts at ℓ₀ (see
//! [`crate::gate::HardConcrete::logit_for_rate`]) so the expected rank at initialisation equals ρ, and the last
//! weight starts small (U(−0.01, 0.01)) so gates start near-uniform but not tied.

use burn::module::{Initializer, Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Shape and initialisation of a controller.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ControllerConfig {
    /// d: the layer input's width.
    pub d_model: usize,
    /// k: the hidden width (default R).
    pub hidden: usize,
    /// R: the number of spectral directions (logits per token).
    pub rank: usize,
    /// ℓ₀: the initial value of every logit's bias.
    pub init_logit: f64,
}

/// Linear(d, k) → ReLU → Linear(k, R).
#[derive(Module, Debug)]
pub struct Controller<B: Backend> {
    /// Linear(d, k), weight `[d, k]`.
    pub hidden: Linear<B>,
    /// Linear(k, R), weight `[k, R]`.
    pub output: Linear<B>,
}

impl ControllerConfig {
    /// A fresh controller.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Controller<B> {
        let hidden = LinearConfig::new(self.d_model, self.hidden).init(device);
        let mut output = LinearConfig::new(self.hidden, self.rank)
            .with_initializer(Initializer::Uniform { min: -0.01, max: 0.01 })
            .init(device);
        output.bias = Some(Param::from_tensor(Tensor::full([self.rank], self.init_logit, device)));
        Controller { hidden, output }
    }
}

impl<B: Backend> Controller<B> {
    /// Logits for any leading shape: `[..., d]` → `[..., R]`.
    pub fn forward<const D: usize>(&self, h: Tensor<B, D>) -> Tensor<B, D> {
        self.output.forward(relu(self.hidden.forward(h)))
    }

    /// k, the hidden width.
    pub fn hidden_width(&self) -> usize {
        self.hidden.weight.dims()[1]
    }
}
