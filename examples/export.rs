//! Export a finished run: as a peft LoRA adapter (`--format peft`, `lora` runs) or as a plain HuggingFace checkpoint
//! with the adapter merged into the weights (`--format merged`, `lora`, `spectral` and `bhsp` runs). `--model`
//! overrides the base checkpoint the run records (runs written before `run.json` need it). `--out` must not exist or be empty.
//!
//! cargo run --release --example export -- --run RUN_DIR --model MODEL_DIR --format peft --out PEFT_DIR
//! cargo run --release --example export -- --run RUN_DIR --model MODEL_DIR --format merged --out HF_DIR

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use tabs_experiments::export::{export_run, ExportFormat};
use tabs_experiments::run_folder::RunFolderArgs;

#[derive(Parser, Debug)]
#[command(about = "Export a run as a peft LoRA adapter or as a HF checkpoint with the adapter merged")]
struct Args {
    /// The run folder and its base checkpoint.
    #[command(flatten)]
    folder: RunFolderArgs,
    /// peft (a peft LoRA adapter folder; lora runs) or merged (a HF checkpoint folder; lora, spectral, bhsp).
    #[arg(long)]
    format: ExportFormat,
    /// Output folder (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    tabs_hf::malloc::reuse_freed_memory();
    tabs_experiments::cli::exit("export", run(Args::parse()))
}

fn run(a: Args) -> Result<()> {
    export_run(&a.folder.run, a.folder.model.as_deref(), a.format, &a.out)?;
    println!(
        "{}: {} export of {}",
        a.out.display(),
        match a.format {
            ExportFormat::Peft => "peft",
            ExportFormat::Merged => "merged",
        },
        a.folder.run.display()
    );
    Ok(())
}
