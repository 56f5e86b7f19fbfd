//! Forward latency of a base-size DeBERTa-v3 (768/12/12/3072, vocab 128100, random init), batch 1, for the given
//! lengths, on the CPU backend (or `--device wgpu|cuda` with `--features wgpu|cuda`); the PyTorch peer is `scripts/torch_deberta_speed.py` (same shapes, same
//! thread count). Prints one JSON line per length.
//!
//! cargo run --release -p tabs-deberta --example deberta-speed -- --lengths 128,512 --iters 5

// Linked for its compiled code only: at the test profile's opt-level 1 rustc reuses the generic instances (the
// model's forward and backward on the CPU backend) that tabs-experiments already compiled, instead of compiling
// them again here (a dev-dependency; see the workspace Cargo.toml).
use tabs_experiments as _;

use std::time::Instant;

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use clap::Parser;
use tabs_deberta::{DebertaConfig, DebertaForSequenceClassification, DebertaInput};

#[derive(Parser, Debug)]
#[command(about = "Base-size DeBERTa-v3 forward latency on the CPU backend")]
struct Args {
    /// Sequence lengths.
    #[arg(long, value_delimiter = ',', default_value = "128,512")]
    lengths: Vec<usize>,
    /// Timed iterations per length (after one warm-up).
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// cpu, wgpu or cuda (the latter two need `--features wgpu|cuda` at build time).
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn main() -> std::process::ExitCode {
    tabs_hf::malloc::reuse_freed_memory();
    match run_cli(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deberta-speed: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli(args: Args) -> Result<()> {
    if args.iters == 0 {
        bail!("--iters 0: expected at least 1 timed iteration");
    }
    if args.lengths.is_empty() || args.lengths.contains(&0) {
        bail!("--lengths: expected lengths of at least 1 token");
    }
    match args.device.as_str() {
        "cpu" => run::<tabs_hf::Cpu>(&args, "burn-flex"),
        "wgpu" => wgpu_run(&args),
        "cuda" => cuda_run(&args),
        other => bail!("--device {other:?}: expected cpu, wgpu or cuda"),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_run(args: &Args) -> Result<()> {
    run::<burn::backend::Wgpu>(args, "burn-wgpu")
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_run(_: &Args) -> Result<()> {
    bail!("--device wgpu: this binary was built without the `wgpu` feature (cargo run --release --features wgpu ...)")
}

#[cfg(feature = "cuda")]
fn cuda_run(args: &Args) -> Result<()> {
    tabs_hf::cuda_probe::cuda_device_count()?;
    run::<burn::backend::Cuda>(args, "burn-cuda")
}

#[cfg(not(feature = "cuda"))]
fn cuda_run(_: &Args) -> Result<()> {
    bail!("--device cuda: this binary was built without the `cuda` feature (cargo run --release --features cuda ...)")
}

fn run<B: Backend>(args: &Args, name: &str) -> Result<()> {
    let device = B::Device::default();
    let config = DebertaConfig::v3_base();
    let t0 = Instant::now();
    let model = DebertaForSequenceClassification::<B>::random(&config, 0, &device);
    eprintln!("built base-size model in {:.1} s", t0.elapsed().as_secs_f64());
    for &t in &args.lengths {
        let ids: Vec<i64> = (0..t as i64).map(|i| 4 + (i * 7919) % 128_000).collect();
        let input = DebertaInput {
            input_ids: Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [1, t]), &device),
            attention_mask: Tensor::<B, 2, Int>::ones([1, t], &device),
            token_type_ids: None,
        };
        model.encoder.validate(&input)?;
        let _ = model.forward(&input).logits.into_data();
        let mut times = Vec::with_capacity(args.iters);
        for _ in 0..args.iters {
            let s = Instant::now();
            let _ = model.forward(&input).logits.into_data();
            times.push(s.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "{{\"impl\": \"{name}\", \"length\": {t}, \"mean_s\": {mean:.4}, \"min_s\": {:.4}, \"median_s\": {:.4}, \"iters\": {}}}",
            times[0],
            times[times.len() / 2],
            times.len()
        );
    }
    Ok(())
}
