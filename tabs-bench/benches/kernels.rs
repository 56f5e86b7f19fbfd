//! Micro-benchmarks at DeBERTa-base shapes (d = 768, R = 16, k = R, T = 512…4096, batch 1) on the CPU backend:
//! the gated term (dense-masked and gathered, at 25 %, 50 % and 100 % of the T·R pairs active: ρ = 4, 8, 16),
//! the controller, the training projection (`budget::projection_shift`, 40 bisection steps) and the inference
//! top-B cut (`budget::budget_cut`). No assertions: numbers only.
//!
//! cargo bench -p tabs-bench --bench kernels -- --measurement-time 2 --warm-up-time 1

use burn::backend::NdArray;
use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tabs::budget::{budget_cut, projection_shift};
use tabs::kernel::{gated_term, Factors};
use tabs::{ControllerConfig, HardConcrete, Kernel};

type B = NdArray;
const D: usize = 768;
const R: usize = 16;
const LENGTHS: [usize; 4] = [512, 1024, 2048, 4096];

fn randn<const N: usize>(shape: [usize; N]) -> Tensor<B, N> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
}

/// Gates with exactly `active` of R directions on per token (a rotating pattern), times s.
fn gates(t: usize, active: usize) -> Tensor<B, 2> {
    let mut g = vec![0f32; t * R];
    for i in 0..t {
        for j in 0..active {
            g[i * R + (i + j) % R] = 1.0 + j as f32 * 0.01;
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(g, [t, R]), &Default::default())
}

fn gated(c: &mut Criterion) {
    let f = Factors::<B> {
        u: randn([D, R]),
        v: randn([D, R]),
        a_u: randn([D, R]).mul_scalar(0.01),
        a_v: randn([D, R]).mul_scalar(0.01),
        alpha: 1.0,
    };
    let mut group = c.benchmark_group("gated_term_768x768");
    for &t in &LENGTHS {
        let h = randn([t, D]);
        for active in [4, 8, 16] {
            let g = gates(t, active);
            for kernel in [Kernel::DenseMasked, Kernel::Gathered] {
                let id = BenchmarkId::new(format!("{kernel:?}/active{active}of16"), t);
                group.bench_with_input(id, &t, |b, _| {
                    b.iter(|| gated_term(kernel, h.clone(), g.clone(), &f).into_data())
                });
            }
        }
    }
    group.finish();
}

fn controller(c: &mut Criterion) {
    let ctrl = ControllerConfig {
        d_model: D,
        hidden: R,
        rank: R,
        init_logit: -1.6,
    }
    .init::<B>(&Default::default());
    let mut group = c.benchmark_group("controller_768_16_16");
    for &t in &LENGTHS {
        let h = randn([1, t, D]);
        group.bench_with_input(BenchmarkId::from_parameter(t), &t, |b, _| {
            b.iter(|| ctrl.forward(h.clone()).into_data())
        });
    }
    group.finish();
}

fn budget(c: &mut Criterion) {
    let shift = HardConcrete::default().l0_shift();
    let mut group = c.benchmark_group("budget");
    for &t in &LENGTHS {
        let logits = randn([1, t * R]).mul_scalar(2.0).sub_scalar(1.6);
        let cost = Tensor::<B, 2>::ones([1, t * R], &Default::default());
        let budget = Tensor::<B, 1>::full([1], (8 * t) as f64, &Default::default());
        let active = logits.clone().greater_elem(-2.4);
        group.bench_with_input(BenchmarkId::new("projection_shift", t), &t, |b, _| {
            b.iter(|| projection_shift(logits.clone(), cost.clone(), budget.clone(), shift).into_data())
        });
        group.bench_with_input(BenchmarkId::new("budget_cut", t), &t, |b, _| {
            b.iter(|| budget_cut(logits.clone(), active.clone(), cost.clone(), budget.clone()).into_data())
        });
    }
    group.finish();
}

criterion_group!(benches, gated, controller, budget);
criterion_main!(benches);
