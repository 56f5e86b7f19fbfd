//! A run folder read back: the trained model of `glue --out RUN` / `lra --out RUN` (or a base checkpoint with an
//! adapter folder), ready for [`crate::predict`] and [`crate::rescore`].
//!
//! A run folder holds `config.json` (the [`TrainConfig`]), `run.json` (a [`RunInfo`]: where the base
//! checkpoint and the data were, the class count), `adapter/` (every method but `full`) and, for `full`,
//! `model.mpk` (the whole network in full precision). Loading rebuilds the model as training built it —
//! the base checkpoint, the method's injection (the same SVD), then the saved adapter, gates and heads —
//! so its outputs are the ones training evaluated.
//!
//! Runs written before `run.json` existed load when `--model` names their base checkpoint; the class count is
//! then read from the saved classifier.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::record::{CompactRecorder, FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use tabs::io::{adapter_paths, read_manifest, write_atomic, AdapterManifest};

use crate::backbone::{Backbone, TextTokenizer};
use crate::glue::GlueTask;
use crate::method::{adapter_spec, Method};
use crate::run::{manifest, FULL_MODEL_FILE};
use crate::train::{last_checkpoint, TaskModel, TrainConfig};

/// The truncation length of a peft adapter's inputs (peft records none): transformers' usual model maximum.
pub const PEFT_MAX_LENGTH: usize = 512;

/// File name of a run's [`RunInfo`].
pub const RUN_INFO_FILE: &str = "run.json";

/// What a run folder records beside its `config.json`, so that it can be loaded again (`run.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The base checkpoint folder, absolute (None: a randomly initialised encoder, `lra` without `--model`).
    pub model: Option<PathBuf>,
    /// The data (GLUE root or task folder, CSV folder, LRA folder), absolute.
    pub data: PathBuf,
    /// Outputs of the classifier (1: regression).
    pub num_labels: usize,
}

impl RunInfo {
    /// Write `dir/run.json` atomically (paths made absolute, so the folder can be used from anywhere).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let info = RunInfo {
            model: self.model.as_deref().map(abs),
            data: abs(&self.data),
            num_labels: self.num_labels,
        };
        write_atomic(&dir.join(RUN_INFO_FILE), &serde_json::to_vec_pretty(&info)?)?;
        Ok(())
    }

    /// Read `dir/run.json` (None when the folder predates it).
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(RUN_INFO_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let info = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a run description (model, data, num_labels)", path.display()))?;
        Ok(Some(info))
    }
}

/// The flags that name a run folder: `--run RUN_DIR` and `--model DIR` (overrides the base checkpoint the run
/// records; runs written before `run.json` need it).
#[derive(Debug, Clone, clap::Args)]
pub struct RunFolderArgs {
    /// A run folder (`glue --out` / `lra --out`): its config.json, run.json and adapter/.
    #[arg(long)]
    pub run: PathBuf,
    /// The base checkpoint folder the run fine-tuned (default: the one its run.json records).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// A trained model read back, with what it was trained with.
#[derive(Debug)]
pub struct LoadedModel<B: Backend> {
    /// The run's settings (method, adapter hyper-parameters, max length, task).
    pub config: TrainConfig,
    /// The network with its trained adapter, gates and heads.
    pub net: Backbone<B>,
    /// The base checkpoint's tokenizer.
    pub tokenizer: TextTokenizer,
    /// The base checkpoint folder.
    pub model_dir: PathBuf,
    /// The data the run was trained on, when known (None for `--adapter` folders).
    pub data: Option<PathBuf>,
}

impl<B: Backend> LoadedModel<B> {
    /// Outputs of the classifier (1: regression).
    pub fn num_labels(&self) -> usize {
        self.net.num_labels()
    }

    /// The GLUE task, when the run was one.
    pub fn glue_task(&self) -> Option<GlueTask> {
        self.config.task.parse().ok()
    }
}

/// Load run folder `run` (see the module docs); `model` overrides the base checkpoint it records.
pub fn load_run<B: Backend>(run: &Path, model: Option<&Path>, device: &B::Device) -> Result<LoadedModel<B>> {
    let config = read_config(run)?;
    let info = RunInfo::read(run)?;
    let model_dir = match (model, info.as_ref().map(|i| i.model.as_ref())) {
        (Some(m), _) => m.to_path_buf(),
        (None, Some(Some(m))) => m.clone(),
        (None, Some(None)) => bail!(
            "run folder {}: the run trained a randomly initialised encoder (no --model); its base weights were never \
             saved, so it cannot be loaded",
            run.display()
        ),
        (None, None) => bail!(
            "run folder {}: no {RUN_INFO_FILE} (a run from an older version); pass --model DIR, the checkpoint it was \
             trained from",
            run.display()
        ),
    };
    let adapter = run.join("adapter");
    let num_labels = match (&info, config.method) {
        (Some(i), _) => i.num_labels,
        (None, Method::Full) => bail!(
            "run folder {}: no {RUN_INFO_FILE} (a run from an older version) and a full fine-tuning run has no adapter \
             to read the class count from; re-run it to load it",
            run.display()
        ),
        (None, _) => saved_num_labels(&adapter)?,
    };
    let tokenizer = TextTokenizer::from_dir(&model_dir)?;
    let (net, _) = Backbone::<B>::from_pretrained(&model_dir, num_labels, config.seed, device)?;
    let targets: Vec<String> = net.default_targets().iter().map(|s| s.to_string()).collect();
    let net = inject(net, &config)?;
    let net = if config.method == Method::Full {
        load_full(net, run, device)?
    } else {
        net.load_adapter(&adapter, &manifest(&config, targets))
            .with_context(|| format!("run folder {}: loading adapter/", run.display()))?
    };
    Ok(LoadedModel {
        config,
        net,
        tokenizer,
        model_dir,
        data: info.map(|i| i.data),
    })
}

/// The settings of run folder `run` (`config.json`), checked before anything is loaded.
pub fn read_config(run: &Path) -> Result<TrainConfig> {
    if !run.is_dir() {
        bail!(
            "run folder {}: not a folder (expected the --out folder of a glue or lra run)",
            run.display()
        );
    }
    let path = run.join("config.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("run folder {}: cannot read {}", run.display(), path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a run configuration", path.display()))
}

/// Load a base checkpoint folder `model` with an adapter folder `adapter`: the `adapter/` of a run (or a copy of
/// it: its manifest records the run's settings), or a peft LoRA adapter ([`crate::peft::load_peft`]; it records
/// no truncation length, so `max_length` is 512 or the model's position limit, whichever is smaller).
pub fn load_adapter_folder<B: Backend>(model: &Path, adapter: &Path, device: &B::Device) -> Result<LoadedModel<B>> {
    if crate::peft::is_peft_adapter(adapter) {
        let net = crate::peft::load_peft::<B>(model, adapter, device)?;
        let mut config = TrainConfig::new("peft", Method::Lora);
        config.max_length = net.max_positions().map_or(PEFT_MAX_LENGTH, |p| p.min(PEFT_MAX_LENGTH));
        if let Some(lora) = net.maps().iter().find_map(|(_, m)| m.lora.as_ref()) {
            config.adapter.lora_rank = lora.rank();
        }
        return Ok(LoadedModel {
            config,
            tokenizer: TextTokenizer::from_dir(model)?,
            net,
            model_dir: model.to_path_buf(),
            data: None,
        });
    }
    let manifest = read_manifest(adapter).with_context(|| format!("--adapter {}", adapter.display()))?;
    let config = adapter_config(&manifest).ok_or_else(|| {
        anyhow::anyhow!(
            "--adapter {}: adapter_config.json does not record the run's settings (written by an older version); \
             use --run with the run folder instead",
            adapter.display()
        )
    })?;
    let num_labels = saved_num_labels(adapter)?;
    let tokenizer = TextTokenizer::from_dir(model)?;
    let (net, _) = Backbone::<B>::from_pretrained(model, num_labels, config.seed, device)?;
    let net = inject(net, &config)?;
    let net = net
        .load_adapter(adapter, &manifest)
        .with_context(|| format!("--adapter {}", adapter.display()))?;
    Ok(LoadedModel {
        config,
        net,
        tokenizer,
        model_dir: model.to_path_buf(),
        data: None,
    })
}

/// The run settings a manifest records in `extra.config` (written since `run.json` exists).
pub fn adapter_config(manifest: &AdapterManifest) -> Option<TrainConfig> {
    serde_json::from_value(manifest.extra.get("config")?.clone()).ok()
}

/// Inject the method's adapters as training did.
fn inject<B: Backend>(net: Backbone<B>, config: &TrainConfig) -> Result<Backbone<B>> {
    Ok(match adapter_spec(config.method, &config.adapter) {
        Some(spec) => net.inject(&spec)?.0,
        None => net,
    })
}

/// A full fine-tuning run's weights: `model.mpk` (full precision, written since `run.json` exists), else the
/// Learner's last checkpoint (half precision: the scores can differ slightly from `results.json`; said on
/// standard error).
fn load_full<B: Backend>(net: Backbone<B>, run: &Path, device: &B::Device) -> Result<Backbone<B>> {
    let saved = run.join(FULL_MODEL_FILE);
    if saved.is_file() {
        return net
            .load_file(
                saved.clone(),
                &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
                device,
            )
            .map_err(|e| anyhow::anyhow!("{}: not a readable model file ({e})", saved.display()));
    }
    let checkpoints = run.join("checkpoints");
    let epoch = last_checkpoint(&checkpoints).ok_or_else(|| {
        anyhow::anyhow!(
            "run folder {}: a full fine-tuning run keeps its weights in {FULL_MODEL_FILE} (or, before that file \
             existed, checkpoints/checkpoint/model-<epoch>.mpk), and there is neither",
            run.display()
        )
    })?;
    let file = checkpoints.join("checkpoint").join(format!("model-{epoch}"));
    eprintln!(
        "note: {} has no {FULL_MODEL_FILE} (an older run); loading the Learner's half-precision checkpoint {}.mpk",
        run.display(),
        file.display()
    );
    let model = TaskModel {
        net,
        regression: false,
        head_lr_ratio: 1.0,
        gate_lr_ratio: 1.0,
        weight_decay: 0.0,
    };
    let record = Recorder::<B>::load(&CompactRecorder::new(), file.clone(), device)
        .map_err(|e| anyhow::anyhow!("{}.mpk: not a readable model checkpoint ({e})", file.display()))?;
    Ok(model.load_record(record).net)
}

/// The class count of a saved classifier head: `classifier.weight` is `[d, num_labels]` (Burn layout).
fn saved_num_labels(adapter: &Path) -> Result<usize> {
    let (_, tensors) = adapter_paths(adapter);
    let bytes = std::fs::read(&tensors).with_context(|| format!("reading {}", tensors.display()))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a safetensors file ({e})", tensors.display()))?;
    let info = meta.info("classifier.weight").ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no classifier.weight (not a sequence classifier's adapter)",
            tensors.display()
        )
    })?;
    match info.shape.as_slice() {
        [_, n] if *n > 0 => Ok(*n),
        s => bail!(
            "{}: classifier.weight has shape {s:?}, expected [hidden, num_labels]",
            tensors.display()
        ),
    }
}
