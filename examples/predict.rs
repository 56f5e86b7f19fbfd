//! Predict labels for new texts with a trained adapter, at a budget you choose per call.
//!
//! cargo run --release --example predict -- --run runs/glue --input texts.jsonl --output predictions.jsonl
//! cargo run --release --example predict -- --model DIR --adapter runs/glue/adapter --input texts.csv --rho 2
//! cargo run --release --example predict -- --model DIR --adapter PEFT_ADAPTER_DIR --input texts.jsonl   # peft LoRA
//!
//! One JSON line per input, in input order: `label` (class index, or the score for regression),
//! `probabilities`, `logits`, `active_pairs` (realised (token, direction) pairs summed over layers), `budget`
//! (their guarantee at the chosen ρ, summed the same way), `adapter_flops`, `tokens`, `truncated`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use tabs::io::write_atomic;
use tabs_experiments::predict::{predict_on, ModelSource};
use tabs_experiments::text_inputs::read_inputs;

#[derive(Parser, Debug)]
#[command(about = "Predict labels for new texts with a trained run (or a checkpoint + adapter), at a chosen budget")]
struct Args {
    /// A run folder (`glue --out` / `lra --out`): its config.json, run.json and adapter/.
    #[arg(long)]
    run: Option<PathBuf>,
    /// The base checkpoint folder (overrides the one the run records; with --adapter, required).
    #[arg(long)]
    model: Option<PathBuf>,
    /// An adapter folder to put on --model instead of --run: a run's adapter/, or a peft LoRA adapter.
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// Texts: .jsonl ({"text": ..., "text_pair": ...} per line) or .csv (columns text[,text_pair]).
    #[arg(long)]
    input: PathBuf,
    /// Where to write the predictions (JSONL); standard output when absent.
    #[arg(long)]
    output: Option<PathBuf>,
    /// The inference budget ρ (active directions per token on average; any ρ > 0; default: the run's).
    #[arg(long)]
    rho: Option<f64>,
    /// Truncation length in tokens, special tokens included (default: the run's max_length; peft adapters: 512
    /// or the model's position limit).
    #[arg(long)]
    max_length: Option<usize>,
    /// Sequences per forward pass (similar lengths are batched together; the output keeps the input order).
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// cpu, wgpu or cuda (the latter two need `--features wgpu|cuda` at build time).
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn main() -> std::process::ExitCode {
    tabs_hf::malloc::reuse_freed_memory();
    tabs_experiments::cli::exit("predict", run_cli(Args::parse()))
}

fn run_cli(a: Args) -> Result<()> {
    // Everything the flags say is checked before the model is built or anything is written.
    if a.batch_size == 0 {
        bail!("--batch-size 0: expected at least 1");
    }
    if let Some(n) = a.max_length.filter(|&n| n < 2) {
        bail!("--max-length {n}: expected at least 2 (the special tokens)");
    }
    if let Some(rho) = a.rho.filter(|r| !(r.is_finite() && *r > 0.0)) {
        bail!("--rho {rho}: expected a finite ρ > 0");
    }
    let source = match (&a.run, &a.model, &a.adapter) {
        (Some(_), _, Some(_)) => bail!("give --run RUN_DIR or --model DIR --adapter DIR, not both"),
        (Some(run), model, None) => ModelSource::Run {
            run: run.clone(),
            model: model.clone(),
        },
        (None, Some(model), Some(adapter)) => ModelSource::Adapter {
            model: model.clone(),
            adapter: adapter.clone(),
        },
        (None, _, _) => bail!("give --run RUN_DIR, or --model DIR with --adapter DIR"),
    };
    if let Some(out) = &a.output {
        if out.is_dir() {
            bail!("--output {}: is a folder (expected a file path)", out.display());
        }
    }
    let inputs = read_inputs(&a.input).with_context(|| format!("--input {}", a.input.display()))?;
    let (predictions, max_length) = predict_on(&a.device, &source, &inputs, a.rho, a.batch_size, a.max_length)?;
    let cut = predictions.iter().filter(|p| p.truncated).count();
    if cut > 0 {
        eprintln!(
            "predict: {cut} of {} inputs were longer than the run's max_length {max_length} tokens and were \
             truncated, as in training",
            predictions.len(),
        );
    }
    let mut lines = Vec::new();
    for p in &predictions {
        serde_json::to_writer(&mut lines, p)?;
        lines.push(b'\n');
    }
    match &a.output {
        Some(path) => {
            write_atomic(path, &lines)?;
            eprintln!(
                "predict: {} predictions written to {}",
                predictions.len(),
                path.display()
            );
        }
        None => std::io::stdout().write_all(&lines)?,
    }
    Ok(())
}
