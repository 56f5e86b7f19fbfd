//! Re-measure the per-sequence latency of finished CSV text-classification runs (e.g. `scripts/minilm_compare.sh`)
//! on a quiet machine: each run's model is rebuilt from the checkpoint folder and the run's saved adapter, then
//! the first `--samples` validation texts are timed one by one (batch 1), in rounds that alternate between the runs
//! so that load changes hit every run alike. Prints a Markdown table (mean, p50, p99 in ms).
//!
//! cargo run --release --example run_latency -- --model MODEL_DIR --data CSV_DIR runs/minilm/*-seed42

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::backend::NdArray;
use burn::tensor::backend::Backend;
use clap::Parser;
use tabs_experiments::backbone::{Backbone, TextTokenizer};
use tabs_experiments::lra::load_text_csv;
use tabs_experiments::method::Method;
use tabs_experiments::preflight::ModelLimits;
use tabs_experiments::run::{encode_texts, manifest, text_csv_splits};
use tabs_experiments::train::{prepare, TaskModel, TrainConfig};

#[derive(Parser, Debug)]
#[command(about = "Per-sequence latency of finished CSV runs, re-measured")]
struct Args {
    /// The checkpoint folder the runs fine-tuned.
    #[arg(long)]
    model: PathBuf,
    /// The CSV folder (its validation.csv / dev.csv is timed).
    #[arg(long)]
    data: PathBuf,
    /// Number of classes of the runs' heads.
    #[arg(long, default_value_t = 2)]
    num_labels: usize,
    /// Validation texts timed per round.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Rounds (each times every run once on every sample).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// cpu, wgpu or cuda (the latter two need `--features wgpu|cuda` at build time).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Run folders (config.json + adapter/).
    runs: Vec<PathBuf>,
}

fn load<B: Backend>(a: &Args, run: &Path, device: &B::Device) -> Result<(TrainConfig, TaskModel<B>)> {
    let cfg: TrainConfig = serde_json::from_slice(
        &std::fs::read(run.join("config.json")).with_context(|| format!("{}/config.json", run.display()))?,
    )?;
    anyhow::ensure!(
        cfg.method != Method::Full,
        "{}: full fine-tuning has no adapter",
        run.display()
    );
    let (net, _) = Backbone::<B>::from_pretrained(&a.model, a.num_labels, cfg.seed, device)?;
    let targets = net.default_targets().iter().map(|s| s.to_string()).collect();
    let (mut model, _) = prepare(net, &cfg, false)?;
    model.net = model
        .net
        .load_adapter(&run.join("adapter"), &manifest(&cfg, targets))
        .with_context(|| format!("adapter of {}", run.display()))?;
    Ok((cfg, model))
}

fn main() -> std::process::ExitCode {
    tabs_experiments::cli::exit("run_latency", run_cli(Args::parse()))
}

fn run_cli(a: Args) -> Result<()> {
    for (flag, v) in [
        ("--samples", a.samples),
        ("--rounds", a.rounds),
        ("--num-labels", a.num_labels),
    ] {
        if v == 0 {
            bail!("{flag} 0: expected at least 1");
        }
    }
    if a.runs.is_empty() {
        bail!("no run folders given: expected RUNS... (folders with config.json and adapter/)");
    }
    match a.device.as_str() {
        "cpu" => run::<NdArray>(&a, &Default::default()),
        "wgpu" => wgpu_run(&a),
        "cuda" => cuda_run(&a),
        other => bail!("--device {other:?}: expected cpu, wgpu or cuda"),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_run(a: &Args) -> Result<()> {
    run::<burn::backend::Wgpu>(a, &Default::default())
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_run(_: &Args) -> Result<()> {
    bail!("--device wgpu: this binary was built without the `wgpu` feature (cargo run --release --features wgpu ...)")
}

#[cfg(feature = "cuda")]
fn cuda_run(a: &Args) -> Result<()> {
    run::<burn::backend::Cuda>(a, &Default::default())
}

#[cfg(not(feature = "cuda"))]
fn cuda_run(_: &Args) -> Result<()> {
    bail!("--device cuda: this binary was built without the `cuda` feature (cargo run --release --features cuda ...)")
}

fn run<B: Backend>(a: &Args, device: &B::Device) -> Result<()> {
    let [_, dev, _] = text_csv_splits(&a.data)?;
    let dev = dev.context("no validation file")?;
    let limits = ModelLimits::from_dir(&a.model)?;
    let tok = TextTokenizer::from_dir(&a.model)?;
    limits.check_tokenizer(&a.model, &tok)?;
    let mut examples = load_text_csv(&dev)?;
    examples.truncate(a.samples);
    anyhow::ensure!(!examples.is_empty(), "{}: no texts to time", dev.display());
    // 128 tokens, or fewer where the model's absolute positions end earlier.
    let enc = encode_texts(&tok, &examples, limits.max_positions.map_or(128, |p| p.min(128)))?;
    let models: Vec<(TrainConfig, TaskModel<B>)> = a.runs.iter().map(|r| load(a, r, device)).collect::<Result<_>>()?;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); models.len()];
    for round in 0..a.rounds {
        for (k, (_, m)) in models.iter().enumerate() {
            // One untimed pass first (allocations, caches).
            let _ = tabs_experiments::evaluate::latency(m, &enc[..1], 1, device);
            for e in &enc {
                let t = tabs_experiments::evaluate::latency(m, std::slice::from_ref(e), 1, device);
                times[k].push(t.mean);
            }
        }
        eprintln!("round {} of {} done", round + 1, a.rounds);
    }
    println!("| run | method | sequences timed | mean ms | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for ((run, (cfg, _)), t) in a.runs.iter().zip(&models).zip(&mut times) {
        t.sort_by(f64::total_cmp);
        let q = |p: f64| t[((p * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1];
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let name = run
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "| {name} | {} | {} | {mean:.2} | {:.2} | {:.2} |",
            cfg.method,
            t.len(),
            q(0.5),
            q(0.99)
        );
    }
    Ok(())
}
