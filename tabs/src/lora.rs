//! LoRA (Hu et al., 2021), the baseline: y = W·h + b + (α/r)·B·A·dropout(h).
//!
//! Burn layout: A `[d_in, r]` (kaiming-uniform, bound 1/√d_in as peft's `kaiming_uniform_(a=√5)`),
//! B `[r, d_out]` (zeros), so the update is x·A·B·(α/r) for row inputs x `[..., d_in]` and the merged weight is
//! Wᵀ + (α/r)·A·B `[d_in, d_out]`. Trainable parameters: r·(d_in + d_out).

use burn::module::{Initializer, Module, Param};
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::matmul::matmul;

/// LoRA hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    /// r (default 8).
    pub rank: usize,
    /// α (default 16).
    pub alpha: f64,
    /// Dropout on the adapter's input (default 0).
    pub dropout: f64,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 8,
            alpha: 16.0,
            dropout: 0.0,
        }
    }
}

/// The LoRA update of one map.
#[derive(Module, Debug)]
pub struct Lora<B: Backend> {
    /// A `[d_in, r]`.
    pub a: Param<Tensor<B, 2>>,
    /// B `[r, d_out]`.
    pub b: Param<Tensor<B, 2>>,
    /// α/r.
    pub scaling: f64,
    /// Input dropout.
    pub dropout: Dropout,
}

impl LoraConfig {
    /// A fresh LoRA update (B = 0, so the adapted map starts equal to the frozen one).
    pub fn init<B: Backend>(&self, d_in: usize, d_out: usize, device: &B::Device) -> Lora<B> {
        let a = Initializer::KaimingUniform {
            gain: 1.0 / 3f64.sqrt(),
            fan_out_only: false,
        }
        .init_with([d_in, self.rank], Some(d_in), Some(self.rank), device);
        Lora {
            a,
            b: Param::from_tensor(Tensor::zeros([self.rank, d_out], device)),
            scaling: self.alpha / self.rank as f64,
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl<B: Backend> Lora<B> {
    /// (α/r)·dropout(x)·A·B for token rows x `[N, d_in]` → `[N, d_out]`; α/r scales B `[r, d_out]`, not the
    /// output, which saves a pass over `[N, d_out]` forward and backward.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = self.dropout.forward(x);
        matmul(matmul(x, self.a.val()), self.b.val().mul_scalar(self.scaling))
    }

    /// The weight update in Burn's layout `[d_in, d_out]`: (α/r)·A·B.
    pub fn delta_weight(&self) -> Tensor<B, 2> {
        self.a.val().matmul(self.b.val()).mul_scalar(self.scaling)
    }

    /// r.
    pub fn rank(&self) -> usize {
        self.a.dims()[1]
    }

    /// Trainable parameters r·(d_in + d_out).
    pub fn trainable_params(&self) -> usize {
        self.a.dims()[0] * self.rank() + self.rank() * self.b.dims()[1]
    }
}
