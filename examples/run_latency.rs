//! Re-measure the per-sequence latency of finished CSV text-classification runs (e.g. `scripts/minilm_compare.sh`)
//! on a quiet machine: each run's model is rebuilt from the checkpoint folder and the run's saved adapter, then
//! the first `--samples` validation texts are timed one by one (batch 1), in rounds that alternate between the runs
//! so that load changes hit every run alike. Prints a Markdown table (mean, p50, p99 in ms).
//!
//! cargo run --release --example run_latency -- --model MODEL_DIR --data CSV_DIR runs/minilm/*-seed42

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use clap::Parser;
use tabs_experiments::backbone::TextTokenizer;
use tabs_experiments::device::{on_device, OnDevice};
use tabs_experiments::lra::load_text_csv;
use tabs_experiments::preflight::ModelLimits;
use tabs_experiments::run::{encode_texts, text_csv_splits};
use tabs_experiments::run_folder::{load_run, LoadedModel};

#[derive(Parser, Debug)]
#[command(about = "Per-sequence latency of finished CSV runs, re-measured")]
struct Args {
    /// The checkpoint folder the runs fine-tuned.
    #[arg(long)]
    model: PathBuf,
    /// The CSV folder (its validation.csv / dev.csv is timed).
    #[arg(long)]
    data: PathBuf,
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

fn main() -> std::process::ExitCode {
    tabs_experiments::cli::exit("run_latency", run_cli(Args::parse()))
}

fn run_cli(a: Args) -> Result<()> {
    for (flag, v) in [("--samples", a.samples), ("--rounds", a.rounds)] {
        if v == 0 {
            bail!("{flag} 0: expected at least 1");
        }
    }
    if a.runs.is_empty() {
        bail!("no run folders given: expected RUNS... (folders with config.json and adapter/)");
    }
    on_device(&a.device, Job(&a))
}

struct Job<'a>(&'a Args);

impl OnDevice for Job<'_> {
    type Output = ();

    fn run<B: Backend>(self, device: B::Device) -> Result<()> {
        run::<B>(self.0, &device)
    }
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
    let models: Vec<LoadedModel<B>> = a
        .runs
        .iter()
        .map(|r| load_run(r, Some(&a.model), device))
        .collect::<Result<_>>()?;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); models.len()];
    for round in 0..a.rounds {
        for (k, m) in models.iter().enumerate() {
            // One untimed pass first (allocations, caches).
            let _ = tabs_experiments::evaluate::latency(&m.net, &enc[..1], 1, device);
            for e in &enc {
                let t = tabs_experiments::evaluate::latency(&m.net, std::slice::from_ref(e), 1, device);
                times[k].push(t.mean);
            }
        }
        eprintln!("round {} of {} done", round + 1, a.rounds);
    }
    println!("| run | method | sequences timed | mean ms | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for ((run, m), t) in a.runs.iter().zip(&models).zip(&mut times) {
        t.sort_by(f64::total_cmp);
        let q = |p: f64| t[((p * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1];
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let name = run
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "| {name} | {} | {} | {mean:.2} | {:.2} | {:.2} |",
            m.config.method,
            t.len(),
            q(0.5),
            q(0.99)
        );
    }
    Ok(())
}
