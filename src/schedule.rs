//! Learning-rate schedule: linear warm-up from 0 to the base rate over `warmup` steps, then linear decay to 0
//! at `total` steps (HF's `get_linear_schedule_with_warmup`, used by the AdaLoRA GLUE scripts).

use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::LearningRate;
use burn::tensor::backend::Backend;

/// Warm-up then linear decay.
#[derive(Debug, Clone, Copy)]
pub struct WarmupLinear {
    /// Peak rate.
    pub base: f64,
    /// Warm-up steps.
    pub warmup: usize,
    /// Total steps.
    pub total: usize,
    /// Steps taken.
    pub step: usize,
}

impl WarmupLinear {
    /// A schedule starting at step 0.
    pub fn new(base: f64, warmup: usize, total: usize) -> Self {
        Self {
            base,
            warmup,
            total: total.max(1),
            step: 0,
        }
    }

    /// The rate at step `s` (1-based, as the first optimiser step uses `step()`'s first value).
    pub fn at(&self, s: usize) -> f64 {
        if s <= self.warmup && self.warmup > 0 {
            self.base * s as f64 / self.warmup as f64
        } else {
            let rest = self.total.saturating_sub(self.warmup).max(1);
            self.base * (self.total.saturating_sub(s) as f64 / rest as f64).max(0.0)
        }
    }
}

impl LrScheduler for WarmupLinear {
    type Record<B: Backend> = usize;

    fn step(&mut self) -> LearningRate {
        self.step += 1;
        self.at(self.step)
    }

    fn to_record<B: Backend>(&self) -> Self::Record<B> {
        self.step
    }

    fn load_record<B: Backend>(mut self, record: Self::Record<B>) -> Self {
        self.step = record;
        self
    }
}
