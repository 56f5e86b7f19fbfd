//! Probe: GFLOP/s of the CPU backend's matmul at DeBERTa-base shapes (used to explain deberta-speed).
use std::time::Instant;

use burn::backend::NdArray;
use burn::tensor::{Distribution, Tensor};

fn main() {
    let dev = Default::default();
    for (m, k, n, batch) in [
        (512, 768, 768, 1),
        (512, 768, 3072, 1),
        (512, 64, 512, 12),
        (128, 768, 768, 1),
    ] {
        let a = Tensor::<NdArray, 3>::random([batch, m, k], Distribution::Normal(0.0, 1.0), &dev);
        let b = Tensor::<NdArray, 3>::random([batch, k, n], Distribution::Normal(0.0, 1.0), &dev);
        let _ = a.clone().matmul(b.clone()).into_data();
        let iters = 5;
        let s = Instant::now();
        for _ in 0..iters {
            let _ = a.clone().matmul(b.clone()).into_data();
        }
        let t = s.elapsed().as_secs_f64() / iters as f64;
        let gflops = 2.0 * (batch * m * k * n) as f64 / t / 1e9;
        println!("[{batch}×{m}×{k}]·[{k}×{n}]: {:.2} ms, {gflops:.1} GFLOP/s", t * 1e3);
    }
}
