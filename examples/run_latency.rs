//! Re-measure the per-sequence latency of finished CSV text-classification runs (e.g. `scripts/minilm_compare.sh`)
//! on a quiet machine: each run's model is rebuilt from the checkpoint folder and the run's saved adapter, then
//! the first `--samples` validation texts are timed one by one (batch 1), in rounds that alternate between the runs
//! so that load changes hit every run alike. Prints a Markdown table (mean, p50, p99 in ms).
//!
//! cargo run --release --example run_latency -- --model MODEL_DIR --data CSV_DIR runs/minilm/*-seed42

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;
use tabs_experiments::evaluate::time_runs_on;

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
    tabs_hf::malloc::reuse_freed_memory();
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
    let timed = time_runs_on(&a.device, &a.model, &a.data, &a.runs, a.samples, a.rounds)?;
    println!("| run | method | sequences timed | mean ms | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for r in timed {
        let mut t = r.times_ms;
        t.sort_by(f64::total_cmp);
        let q = |p: f64| t[((p * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1];
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let name = r
            .run
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "| {name} | {} | {} | {mean:.2} | {:.2} | {:.2} |",
            r.method,
            t.len(),
            q(0.5),
            q(0.99)
        );
    }
    Ok(())
}
