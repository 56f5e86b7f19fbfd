//! The hyper-parameter flags of a training run, one set shared by `glue` and `lra` (`#[command(flatten)]`): every
//! flag is optional and overrides the [`TrainConfig`] the command starts from (its defaults, a preset, the demo).

use anyhow::{bail, Result};
use clap::Args;
use tabs::{InferenceGate, Kernel};

use crate::train::TrainConfig;

/// Adapter, gate, optimiser and schedule flags.
#[derive(Args, Debug, Clone, Default)]
pub struct HyperArgs {
    /// Spectral rank R (default 16).
    #[arg(long)]
    pub rank: Option<usize>,
    /// LoRA rank r (default 8).
    #[arg(long)]
    pub lora_rank: Option<usize>,
    /// LoRA α (default 16; presets set theirs).
    #[arg(long)]
    pub lora_alpha: Option<f64>,
    /// Spectral α (default 1).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// ρ: active directions per token on average (default 8).
    #[arg(long)]
    pub rho: Option<f64>,
    /// k: controller hidden width (default R).
    #[arg(long)]
    pub k: Option<usize>,
    /// λ of the budget penalty (default 1).
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Lagrangian budget loss instead of the penalty.
    #[arg(long)]
    pub lagrangian: bool,
    /// Gated-term kernel: dense-masked or gathered.
    #[arg(long)]
    pub kernel: Option<String>,
    /// Gate rule at inference: deterministic or binary (default: the method's own).
    #[arg(long)]
    pub inference_gate: Option<String>,
    /// Adapter learning rate (default 5e-4).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Pooler/classifier learning rate (default: --lr).
    #[arg(long)]
    pub head_lr: Option<f64>,
    /// Gate learning rate: controllers, BHSP logits, Lagrange multipliers; never weight-decayed (default: --lr).
    #[arg(long)]
    pub gate_lr: Option<f64>,
    /// Learning-rate warm-up steps (default: 6 % of all steps).
    #[arg(long)]
    pub warmup_steps: Option<usize>,
    /// Gate warm-up: steps with every gate on before any gate is sampled (default: 20 % of all steps).
    #[arg(long)]
    pub gate_warmup_steps: Option<usize>,
    /// Gate warm-up as a fraction of all steps (default 0.2).
    #[arg(long)]
    pub gate_warmup_ratio: Option<f64>,
    /// Budget annealing: steps over which ρ_t falls from R to ρ after the gate warm-up (default: 30 % of all
    /// steps).
    #[arg(long)]
    pub anneal_steps: Option<usize>,
    /// Budget annealing as a fraction of all steps (default 0.3).
    #[arg(long)]
    pub anneal_ratio: Option<f64>,
    /// Epochs (default 3).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size (default 32).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Max tokens per example (default 128).
    #[arg(long)]
    pub max_length: Option<usize>,
    /// AdamW weight decay of adapters and heads (default 0).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Seed (default 42).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl HyperArgs {
    /// Override `c` with every flag given, and check the result's ranges (errors name the flag).
    pub fn apply(&self, c: &mut TrainConfig) -> Result<()> {
        macro_rules! set {
            ($($flag:ident => $field:expr),* $(,)?) => { $(if let Some(v) = self.$flag { $field = v; })* };
        }
        set!(rank => c.adapter.spectral_rank, lora_rank => c.adapter.lora_rank, lora_alpha => c.adapter.lora_alpha,
             alpha => c.adapter.spectral_alpha, rho => c.adapter.rho, lambda => c.adapter.lambda, lr => c.lr,
             epochs => c.epochs, batch_size => c.batch_size, max_length => c.max_length,
             weight_decay => c.weight_decay, seed => c.seed);
        if let Some(w) = self.warmup_steps {
            c.warmup_steps = w;
            c.warmup_ratio = None;
        }
        if let Some(w) = self.gate_warmup_steps {
            c.gate_warmup_steps = w;
            c.gate_warmup_ratio = None;
        }
        if self.gate_warmup_ratio.is_some() {
            c.gate_warmup_ratio = self.gate_warmup_ratio;
        }
        if let Some(n) = self.anneal_steps {
            c.anneal_steps = n;
            c.anneal_ratio = None;
        }
        if self.anneal_ratio.is_some() {
            c.anneal_ratio = self.anneal_ratio;
        }
        c.adapter.controller_hidden = self.k.or(c.adapter.controller_hidden);
        c.head_lr = self.head_lr.or(c.head_lr);
        c.gate_lr = self.gate_lr.or(c.gate_lr);
        c.adapter.lagrangian |= self.lagrangian;
        if let Some(k) = &self.kernel {
            c.adapter.kernel = match k.as_str() {
                "dense-masked" => Kernel::DenseMasked,
                "gathered" => Kernel::Gathered,
                other => bail!("--kernel {other:?}: expected dense-masked or gathered"),
            };
        }
        if let Some(g) = &self.inference_gate {
            c.adapter.inference_gate = Some(match g.as_str() {
                "deterministic" => InferenceGate::Deterministic,
                "binary" => InferenceGate::Binary,
                other => bail!("--inference-gate {other:?}: expected deterministic or binary"),
            });
        }
        check(c)
    }
}

/// Ranges of a run's configuration, each error naming the flag.
pub fn check(c: &TrainConfig) -> Result<()> {
    let positive = [
        ("--lr", c.lr),
        ("--head-lr", c.head_lr.unwrap_or(c.lr)),
        ("--gate-lr", c.gate_lr.unwrap_or(c.lr)),
        ("--lora-alpha", c.adapter.lora_alpha),
        ("--alpha", c.adapter.spectral_alpha),
    ];
    for (flag, v) in positive {
        if !(v.is_finite() && v > 0.0) {
            bail!("{flag} {v}: expected a finite number > 0");
        }
    }
    let non_negative = [
        ("--rho", c.adapter.rho),
        ("--lambda", c.adapter.lambda),
        ("--weight-decay", c.weight_decay),
    ];
    for (flag, v) in non_negative {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{flag} {v}: expected a finite number ≥ 0");
        }
    }
    for (flag, r) in [
        ("--gate-warmup-ratio", c.gate_warmup_ratio),
        ("--anneal-ratio", c.anneal_ratio),
    ] {
        if let Some(r) = r.filter(|r| !(r.is_finite() && (0.0..=1.0).contains(r))) {
            bail!("{flag} {r}: expected a fraction in [0, 1]");
        }
    }
    if let (Some(w), Some(n)) = (c.gate_warmup_ratio, c.anneal_ratio) {
        if w + n > 1.0 {
            bail!("--gate-warmup-ratio {w} + --anneal-ratio {n} > 1: the final budget would never be trained");
        }
    }
    for (flag, v) in [
        ("--rank", c.adapter.spectral_rank),
        ("--lora-rank", c.adapter.lora_rank),
        ("--epochs", c.epochs),
        ("--batch-size", c.batch_size),
        ("--max-length", c.max_length),
    ] {
        if v == 0 {
            bail!("{flag} 0: expected at least 1");
        }
    }
    if c.adapter.controller_hidden == Some(0) {
        bail!("--k 0: expected at least 1");
    }
    Ok(())
}
