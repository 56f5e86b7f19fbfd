//! Loading a finished run folder back into a model: `RUN/config.json` (the [`TrainConfig`]) and `RUN/adapter/`
//! (tabs' adapter format: adapters, gates and heads) on the base checkpoint the run fine-tuned.
//!
//! The run folder does not record which checkpoint folder it started from, so the caller names it (`--model`).
//! The model is rebuilt exactly as the run built it — [`Backbone::from_pretrained`] with the adapter's label count
//! (the classifier's width), [`prepare`] (the method's injection: LoRA, or the SVD basis of spectral adapters, and
//! the gates), then [`Backbone::load_adapter`] checked against [`manifest`] — so its outputs are the run's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;

use crate::backbone::Backbone;
use crate::method::Method;
use crate::run::manifest;
use crate::train::{prepare, TrainConfig};

/// The adapter folder of a run.
pub fn adapter_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("adapter")
}

/// Read `RUN/config.json`.
pub fn read_config(run_dir: &Path) -> Result<TrainConfig> {
    anyhow::ensure!(
        run_dir.is_dir(),
        "{}: no such run folder (expected a folder written by glue/lra --out)",
        run_dir.display()
    );
    let path = run_dir.join("config.json");
    let bytes = std::fs::read(&path).with_context(|| format!("{}: cannot read the run's settings", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not a run's config.json (TrainConfig)", path.display()))
}

/// The label count of a run: the width of the classifier in `RUN/adapter/adapter.safetensors` (Burn layout
/// `[d, num_labels]`).
pub fn num_labels(run_dir: &Path) -> Result<usize> {
    let path = adapter_dir(run_dir).join(tabs::io::TENSORS_FILE);
    let tensors =
        tabs_hf::read_tensors(&path).with_context(|| format!("reading the run's adapter {}", path.display()))?;
    match tensors.get("classifier.weight") {
        Some(t) if t.shape.len() == 2 && t.shape[1] > 0 => Ok(t.shape[1]),
        Some(t) => bail!(
            "{}: tensor `classifier.weight` has shape {:?}, expected [d, num_labels]",
            path.display(),
            t.shape
        ),
        None => bail!(
            "{}: no tensor `classifier.weight` (not a run's adapter)",
            path.display()
        ),
    }
}

/// The run in `run_dir` on its base checkpoint (`model_override`, required: a run folder does not record its
/// base): the settings and the model with the run's adapters, gates (at the final ρ) and heads. Runs of `full`
/// fine-tuning keep no adapter (their model is in the Learner's checkpoints) and are refused.
pub fn load_run<B: Backend>(
    run_dir: &Path,
    model_override: Option<&Path>,
    device: &B::Device,
) -> Result<(TrainConfig, Backbone<B>)> {
    let cfg = read_config(run_dir)?;
    if cfg.method == Method::Full {
        bail!(
            "{}: a full fine-tuning run has no adapter/ (its weights are in the Learner's checkpoints), so there is \
             nothing to load on the base",
            run_dir.display()
        );
    }
    let Some(model) = model_override else {
        bail!(
            "{}/config.json does not record the base checkpoint: give the folder the run fine-tuned (--model DIR)",
            run_dir.display()
        );
    };
    let n = num_labels(run_dir)?;
    let (net, _) = Backbone::<B>::from_pretrained(model, n, cfg.seed, device)
        .with_context(|| format!("--model {}", model.display()))?;
    let targets: Vec<String> = net.default_targets().iter().map(|s| s.to_string()).collect();
    let (task_model, _) = prepare(net, &cfg, n == 1)?;
    let net = task_model
        .net
        .load_adapter(&adapter_dir(run_dir), &manifest(&cfg, targets))
        .with_context(|| format!("the adapter of {} on --model {}", run_dir.display(), model.display()))?;
    Ok((cfg, net))
}
