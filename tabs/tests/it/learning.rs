//! The mechanism, learned in seconds on CPU: a frozen linear map must be corrected only on "hard" tokens
//! (marked by feature 0 of the input). After training TABS (Token granularity, R = 4, ρ = 2, 25 % hard tokens),
//! hard tokens use clearly more directions than easy ones, the loss falls far below the frozen map's, and the
//! budget holds at inference.

use crate::common::*;
use burn::module::{AutodiffModule, Module};
use burn::nn::LinearConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use tabs::{
    AdaptedLinear, AdapterConfig, GateMode, GatingConfig, Granularity, Kernel, RankStats, SpectralConfig,
    SpectralGates, TokenMask,
};

type Dev = burn::backend::ndarray::NdArrayDevice;

const D: usize = 16;
const R: usize = 4;
const T: usize = 16;
const BATCH: usize = 8;

#[derive(Module, Debug)]
struct Toy<B: Backend> {
    map: AdaptedLinear<B>,
    gates: SpectralGates<B>,
}

/// The task: inputs, hard-token indicator, target = frozen output + [hard]·C·V_Rᵀ·h.
struct Task<B: Backend> {
    correction: Tensor<B, 2>, // [D, D] in Burn layout (x·M), = (C V_Rᵀ)ᵀ
}

impl<B: Backend> Task<B> {
    fn batch(&self, frozen: &AdaptedLinear<B>, dev: &B::Device) -> (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>) {
        let hard = Tensor::<B, 3>::random([BATCH, T, 1], Distribution::Uniform(0.0, 1.0), dev)
            .lower_elem(0.25)
            .float();
        let noise = Tensor::<B, 3>::random([BATCH, T, D], Distribution::Normal(0.0, 1.0), dev);
        // Feature 0 = +2 on hard tokens, −2 on easy ones.
        let marker = hard.clone().mul_scalar(4.0).sub_scalar(2.0);
        let x = Tensor::cat(vec![marker, noise.slice([0..BATCH, 0..T, 1..D])], 2);
        let base = frozen.base.forward(x.clone());
        let target = base + x.clone().matmul(self.correction.clone().unsqueeze_dim(0)) * hard.clone();
        (x, target, hard)
    }
}

#[test]
fn tabs_learns_to_spend_rank_on_hard_tokens() {
    type Ad = CpuAd;
    let dev = Dev::default();
    Ad::seed(&dev, 2026);
    let spectral = AdapterConfig::Spectral(SpectralConfig {
        rank: R,
        alpha: 1.0,
        kernel: Kernel::DenseMasked,
    });
    let map = AdaptedLinear::<Ad>::new(LinearConfig::new(D, D).init(&dev), &spectral).unwrap();
    let mut cfg = GatingConfig::new(Granularity::Token);
    cfg.rank = R;
    cfg.controller_hidden = Some(8);
    cfg.budget.rho = 2.0;
    let gates = SpectralGates::<Ad>::new(cfg, D, 1, &dev).unwrap();
    let mut model = Toy { map, gates };

    // Correction inside the top-R spectral subspace: C·V_Rᵀ with C ~ N(0, 0.5²).
    let v = model.map.spectral.as_ref().unwrap().v.val().inner(); // [D, R]
    let c = randn::<Cpu, 2>([D, R], 0.5, &dev); // [d_out, R]
    let correction = Task::<Cpu> {
        correction: v.matmul(c.transpose()),
    };
    let task_ad = Task::<Ad> {
        correction: Tensor::from_inner(correction.correction.clone()),
    };

    let mask_ad = TokenMask::<Ad>::from_lengths(&[T; BATCH], T, &cfg.budget, &dev);
    let mut optim = AdamConfig::new().init();
    for _ in 0..400 {
        let (x, target, _) = task_ad.batch(&model.map, &dev);
        let g = model.gates.forward_mode(0, x.clone(), &mask_ad, GateMode::Train);
        let y = model.map.forward(x, Some(&g.gates));
        let mse = (y - target).square().mean();
        let loss = mse + model.gates.budget_loss(std::slice::from_ref(&g));
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(2e-2, model, grads);
    }

    // Evaluate on the inner backend (inference gates + top-B cut).
    let model = model.valid();
    let mask = TokenMask::<Cpu>::from_lengths(&[T; BATCH], T, &cfg.budget, &dev);
    let mut stats = RankStats::new(1, R, Granularity::Token);
    let (mut hard_rank, mut hard_n, mut easy_rank, mut easy_n) = (0.0, 0.0, 0.0, 0.0);
    let (mut mse, mut frozen_mse) = (0.0, 0.0);
    for _ in 0..20 {
        let (x, target, hard) = correction.batch(&model.map, &dev);
        let g = model.gates.forward_mode(0, x.clone(), &mask, GateMode::Eval);
        let y = model.map.forward(x.clone(), Some(&g.gates));
        mse += to_vec((y - target.clone()).square().mean())[0];
        frozen_mse += to_vec((model.map.base.forward(x) - target).square().mean())[0];
        let ranks = to_vec(g.gates.clone().greater_elem(0.0).float().sum_dim(2));
        for (r, h) in ranks.iter().zip(to_vec(hard)) {
            if h > 0.5 {
                hard_rank += r;
                hard_n += 1.0;
            } else {
                easy_rank += r;
                easy_n += 1.0;
            }
        }
        stats.record(std::slice::from_ref(&g), &mask);
    }
    let (hard_rank, easy_rank) = (hard_rank / hard_n, easy_rank / easy_n);
    println!(
        "mean rank hard {hard_rank:.2}, easy {easy_rank:.2}; mse {:.4} vs frozen {:.4}; violations {} of {}",
        mse / 20.0,
        frozen_mse / 20.0,
        stats.violations,
        stats.groups
    );
    assert!(hard_rank >= 3.0, "hard tokens use {hard_rank} of {R} directions");
    assert!(easy_rank <= 0.5, "easy tokens use {easy_rank} directions");
    assert!(mse <= 0.1 * frozen_mse, "mse {mse} vs frozen {frozen_mse}");
    assert_eq!(stats.violations, 0);
    assert!(stats.worst_ratio <= 1.0);
    assert_eq!(stats.groups, 20 * BATCH as u64);
}
