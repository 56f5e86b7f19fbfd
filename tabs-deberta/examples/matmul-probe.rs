//! Probe: GFLOP/s of the CPU backend's matmul at DeBERTa-base shapes (used to explain deberta-speed).
// Linked for its compiled code only: at the test profile's opt-level 1 rustc reuses the generic instances (the
// model's forward and backward on the CPU backend) that tabs-experiments already compiled, instead of compiling
// them again here (a dev-dependency; see the workspace Cargo.toml).
use tabs_experiments as _;

use std::time::Instant;

use burn::tensor::{Distribution, Tensor};
use tabs_hf::Cpu;

fn main() {
    tabs_hf::malloc::reuse_freed_memory();
    let dev = Default::default();
    for (m, k, n, batch) in [
        (512, 768, 768, 1),
        (512, 768, 3072, 1),
        (512, 64, 512, 12),
        (128, 768, 768, 1),
    ] {
        let a = Tensor::<Cpu, 3>::random([batch, m, k], Distribution::Normal(0.0, 1.0), &dev);
        let b = Tensor::<Cpu, 3>::random([batch, k, n], Distribution::Normal(0.0, 1.0), &dev);
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
    // A linear map of a batch: burn's `linear` multiplies [b, T, d] by the weight broadcast to [1, d, d'], which
    // a backend may run as b separate GEMMs; against one GEMM of the batch flattened to [b·T, d] (reshape included).
    for (b, t, k, n) in [(4, 128, 768, 768), (4, 128, 768, 3072), (4, 512, 768, 768)] {
        let x = Tensor::<Cpu, 3>::random([b, t, k], Distribution::Normal(0.0, 1.0), &dev);
        let w = Tensor::<Cpu, 2>::random([k, n], Distribution::Normal(0.0, 1.0), &dev);
        let time = |f: &dyn Fn() -> Tensor<Cpu, 3>| {
            let _ = f().into_data();
            let iters = 5;
            let s = Instant::now();
            for _ in 0..iters {
                let _ = f().into_data();
            }
            s.elapsed().as_secs_f64() / iters as f64
        };
        let broadcast = time(&|| x.clone().matmul(w.clone().unsqueeze::<3>()));
        let flat = time(&|| x.clone().reshape([b * t, k]).matmul(w.clone()).reshape([b, t, n]));
        println!(
            "linear [{b}×{t}×{k}]·[{k}×{n}]: broadcast {:.2} ms, flattened {:.2} ms ({:.2}×)",
            broadcast * 1e3,
            flat * 1e3,
            broadcast / flat
        );
    }
}
