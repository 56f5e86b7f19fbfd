//! Score a saved run again on any split, optionally at another budget ρ; on GLUE `--split test`, write the
//! submission files GLUE's server expects.
//!
//! cargo run --release --example evaluate -- --run runs/glue --split dev --out runs/glue/dev-scores.json
//! cargo run --release --example evaluate -- --run runs/sst2 --split test --out runs/sst2/test.json   # + SST-2.tsv
//! cargo run --release --example evaluate -- --run runs/glue --split dev --rho 2 --out rho2.json

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use tabs::io::write_atomic;
use tabs_experiments::rescore::{rescore_on, submission_tsv, EvalSplit};
use tabs_experiments::run_folder::RunFolderArgs;

#[derive(Parser, Debug)]
#[command(about = "Score a saved run again on dev, test or a file (GLUE test: submission TSVs)")]
struct Args {
    /// The run folder and its base checkpoint.
    #[command(flatten)]
    folder: RunFolderArgs,
    /// The data folder (overrides the one the run records).
    #[arg(long)]
    data: Option<PathBuf>,
    /// dev, test, or a labelled file (GLUE: .tsv in the dev layout or .jsonl; CSV runs: .csv).
    #[arg(long, default_value = "dev")]
    split: EvalSplit,
    /// The JSON file to write (metrics, budget, rank_histogram, flops as in results.json); GLUE test
    /// submission files go beside it.
    #[arg(long)]
    out: PathBuf,
    /// The inference budget ρ (any ρ > 0; default: the run's).
    #[arg(long)]
    rho: Option<f64>,
    /// Sequences per forward pass (default: the run's batch size).
    #[arg(long)]
    batch_size: Option<usize>,
    /// cpu, wgpu or cuda (the latter two need `--features wgpu|cuda` at build time).
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn main() -> std::process::ExitCode {
    tabs_hf::malloc::reuse_freed_memory();
    tabs_experiments::cli::exit("evaluate", run_cli(Args::parse()))
}

fn run_cli(a: Args) -> Result<()> {
    if a.batch_size == Some(0) {
        bail!("--batch-size 0: expected at least 1");
    }
    if let Some(rho) = a.rho.filter(|r| !(r.is_finite() && *r > 0.0)) {
        bail!("--rho {rho}: expected a finite ρ > 0");
    }
    if a.out.is_dir() {
        bail!("--out {}: is a folder (expected a file path)", a.out.display());
    }
    let scored = rescore_on(
        &a.device,
        &a.folder.run,
        a.folder.model.as_deref(),
        a.data.as_deref(),
        &a.split,
        a.rho,
        a.batch_size,
    )?;
    let dir = a.out.parent().filter(|p| !p.as_os_str().is_empty()).map(PathBuf::from);
    if let Some(dir) = &dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for (name, predictions) in &scored.submission {
        let path = dir.clone().unwrap_or_default().join(name);
        write_atomic(&path, submission_tsv(predictions).as_bytes())?;
        println!(
            "{}: {} predictions (GLUE submission)",
            path.display(),
            predictions.len()
        );
    }
    write_atomic(&a.out, &serde_json::to_vec_pretty(&scored.report)?)?;
    println!("{}", serde_json::to_string_pretty(&scored.report.metrics)?);
    if let Some(b) = &scored.report.budget {
        println!(
            "budget: {} violations of {} groups (worst r/B {:.3}) at ρ = {}",
            b.violations,
            b.groups,
            b.worst_ratio,
            scored.report.rho.unwrap_or(f64::NAN)
        );
    }
    println!("written to {}", a.out.display());
    Ok(())
}
