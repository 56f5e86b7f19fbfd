//! Probe: time of the pieces of one DeBERTa-base layer's attention at T tokens (default 512; first argument) on
//! the CPU backend, among them two ways to the relative scores per distance: our product with the 2T − 1 distance
//! rows, and HF's product with the 512 bucket rows followed by a select of the distances' columns.
//!
//! cargo run --release -p tabs-deberta --example op-probe -- 2048
// Linked for its compiled code only: at the test profile's opt-level 1 rustc reuses the generic instances (the
// model's forward and backward on the CPU backend) that tabs-experiments already compiled, instead of compiling
// them again here (a dev-dependency; see the workspace Cargo.toml).
use tabs_experiments as _;

use std::time::Instant;

use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use tabs_hf::Cpu;

fn time<F: FnMut()>(name: &str, mut f: F) {
    f();
    let n = 5;
    let s = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{name:<40} {:8.2} ms", s.elapsed().as_secs_f64() * 1e3 / n as f64);
}

fn main() {
    tabs_hf::malloc::reuse_freed_memory();
    type B = Cpu;
    let dev = Default::default();
    let t: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(512);
    let scores = Tensor::<B, 4>::random([1, 12, t, t], Distribution::Normal(0.0, 1.0), &dev);
    let wide = Tensor::<B, 4>::random([1, 12, t, 2 * t - 1], Distribution::Normal(0.0, 1.0), &dev);
    let mask = Tensor::<B, 2>::ones([1, t], &dev).equal_elem(0.0).reshape([1, 1, 1, t]);
    let idx = Tensor::<B, 1, Int>::from_data(
        TensorData::new(
            (0..(2 * t - 1) as i64)
                .map(|i| i % (t as i64).min(512))
                .collect::<Vec<_>>(),
            [2 * t - 1],
        ),
        &dev,
    );
    let h = Tensor::<B, 3>::random([1, t, 3072], Distribution::Normal(0.0, 1.0), &dev);
    let x = Tensor::<B, 3>::random([1, t, 768], Distribution::Normal(0.0, 1.0), &dev);
    let ln = burn::nn::LayerNormConfig::new(768).with_epsilon(1e-7).init::<B>(&dev);
    let q = Tensor::<B, 3>::random([12, t, 64], Distribution::Normal(0.0, 1.0), &dev);
    let pos_wide = Tensor::<B, 3>::random([12, 2 * t - 1, 64], Distribution::Normal(0.0, 1.0), &dev);
    let pos_table = Tensor::<B, 3>::random([12, 512, 64], Distribution::Normal(0.0, 1.0), &dev);
    time("c2p per distance: q·posᵀ [12,T,64]×[12,64,2T-1]", || {
        let _ = q.clone().matmul(pos_wide.clone().swap_dims(1, 2)).into_data();
    });
    time("c2p per table row: q·tableᵀ [12,T,64]×[12,64,512]", || {
        let _ = q.clone().matmul(pos_table.clone().swap_dims(1, 2)).into_data();
    });
    time("  + select(2, 2T-1) of [12,T,512]", || {
        let _ = q
            .clone()
            .matmul(pos_table.clone().swap_dims(1, 2))
            .select(2, idx.clone())
            .into_data();
    });
    time("mask_fill [1,12,T,T]", || {
        let _ = scores
            .clone()
            .mask_fill(mask.clone().expand([1, 12, t, t]), f32::MIN)
            .into_data();
    });
    time("softmax [1,12,T,T]", || {
        let _ = softmax(scores.clone(), 3).into_data();
    });
    time("add [1,12,T,T]", || {
        let _ = (scores.clone() + scores.clone()).into_data();
    });
    time("div_scalar [1,12,T,T]", || {
        let _ = scores.clone().div_scalar(3.0).into_data();
    });
    time("select(3, 2T-1) [1,12,T,T]", || {
        let _ = scores.clone().select(3, idx.clone()).into_data();
    });
    time("skew [1,12,T,2T-1]", || {
        let _ = tabs_deberta::relative::skew(wide.clone(), false).into_data();
    });
    time("swap_dims(2,3) + add", || {
        let _ = (scores.clone().swap_dims(2, 3) + scores.clone()).into_data();
    });
    time("gelu [512,3072]", || {
        let _ = gelu(h.clone()).into_data();
    });
    time("layer_norm [512,768]", || {
        let _ = ln.forward(x.clone()).into_data();
    });
    let q = Tensor::<B, 4>::random([1, 12, t, 64], Distribution::Normal(0.0, 1.0), &dev);
    time("q·kᵀ contiguous q, k [1,12,512,64]", || {
        let _ = q.clone().matmul(q.clone().swap_dims(2, 3)).into_data();
    });
    time("kᵀ view → reshape [12,64,512] (copy)", || {
        let _ = q.clone().swap_dims(2, 3).reshape([12, 64, t]).into_data();
    });
    let kt = q.clone().swap_dims(2, 3).reshape([12, 64, t]).into_data();
    let kt = Tensor::<B, 3>::from_data(kt, &dev);
    let q3 = q.clone().reshape([12, t, 64]);
    time("q·kᵀ with kᵀ materialised [12,64,512]", || {
        let _ = q3.clone().matmul(kt.clone()).into_data();
    });
    time("q·kᵀ 3-D with kᵀ view", || {
        let _ = q3.clone().matmul(q3.clone().swap_dims(1, 2)).into_data();
    });
    time("heads reshape+swap only (copy)", || {
        let _ = x.clone().reshape([1, t, 12, 64]).swap_dims(1, 2).into_data();
    });
    time("heads reshape+swap then mul_scalar", || {
        let _ = x
            .clone()
            .reshape([1, t, 12, 64])
            .swap_dims(1, 2)
            .mul_scalar(1.0)
            .into_data();
    });
    time("reshape heads swap [512,768]", || {
        let _ = x
            .clone()
            .reshape([1, t, 12, 64])
            .swap_dims(1, 2)
            .matmul(x.clone().reshape([1, t, 12, 64]).swap_dims(1, 2).swap_dims(2, 3))
            .into_data();
    });
}
