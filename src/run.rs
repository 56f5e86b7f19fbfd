//! A whole run: load data, build or load the model, inject the method, train with the Learner, evaluate, and
//! write `config.json`, `run.json` (where the base checkpoint and data are; [`crate::run_folder`]), the adapter
//! (tabs io format) and `results.json` into `--out` (all atomically).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
#[cfg(not(test))]
use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use tabs::io::{write_atomic, AdapterManifest};
use tabs_deberta::{Architecture, DebertaConfig, DebertaForSequenceClassification};

use crate::backbone::{Backbone, TextTokenizer};
use crate::batch::{Encoded, Target};
use crate::data_parallel;
use crate::device::main_device;
#[cfg(not(test))]
use crate::device::{on_devices, DeviceArgs, OnDevices, TrainBackend};
use crate::evaluate::{evaluate, latency, BudgetReport, Evaluation, FlopReport, MeanP99};
use crate::glue::{self, GlueTask, Label, Split};
use crate::lra::{load_text_csv, TextExample};
use crate::lra_task::{LraData, LraTask};
use crate::method::Method;
use crate::metrics::{self, TaskScore};
use crate::preflight::{check_resume, checked_tokenizer};
use crate::run_folder::RunInfo;
use crate::train::{check_checkpoint, prepare, train, TaskModel, TrainConfig};

/// `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Task.
    pub task: String,
    /// Method.
    pub method: Method,
    /// Metrics per evaluated split (e.g. `dev`: accuracy, f1, …).
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// Trainable parameters (adapters + gates + heads; everything for `full`).
    pub trainable_params: usize,
    /// Budget statistics at inference (spectral methods).
    pub budget: Option<BudgetReport>,
    /// Token-rank histogram per layer (spectral methods).
    pub rank_histogram: Option<Vec<Vec<u64>>>,
    /// FLOPs per sequence.
    pub flops: FlopReport,
    /// Per-sequence latency at evaluation (batch 1), milliseconds.
    pub latency_ms: MeanP99,
    /// Training examples seen per epoch.
    pub train_examples: usize,
    /// Seed.
    pub seed: u64,
}

/// Tokenise GLUE examples (labels required) with longest-first truncation to `max_length`.
pub fn encode_glue(
    tok: &TextTokenizer,
    task: GlueTask,
    examples: &[glue::Example],
    max_length: usize,
) -> Result<Vec<Encoded>> {
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(256) {
        let a: Vec<&str> = chunk.iter().map(|e| e.text_a.as_str()).collect();
        let b: Vec<&str> = chunk.iter().map(|e| e.text_b.as_deref().unwrap_or("")).collect();
        let (ids, types) = tok.encode_batch(&a, task.is_pair().then_some(b.as_slice()), max_length)?;
        for (i, e) in chunk.iter().enumerate() {
            let target = match e.label {
                Some(Label::Class(c)) => Target::Class(c),
                Some(Label::Score(s)) => Target::Score(s),
                None => anyhow::bail!("{task}: an example has no label (test files cannot be used for training)"),
            };
            out.push(Encoded {
                input_ids: ids[i].clone(),
                token_type_ids: types[i].clone(),
                target,
            });
        }
    }
    Ok(out)
}

/// Task metrics of an evaluation against the examples' targets.
pub fn glue_metrics(task: GlueTask, eval: &Evaluation, examples: &[Encoded]) -> Result<BTreeMap<String, f64>> {
    let mut m = BTreeMap::new();
    if task.is_regression() {
        let pred: Vec<f64> = eval.logits.iter().map(|l| l[0] as f64).collect();
        let gold: Vec<f64> = examples
            .iter()
            .map(|e| match e.target {
                Target::Score(s) => s as f64,
                Target::Class(c) => c as f64,
            })
            .collect();
        if let TaskScore::Correlation { pearson, spearman } = metrics::score_stsb(&pred, &gold)? {
            m.insert("pearson".into(), pearson);
            m.insert("spearman".into(), spearman);
        }
        return Ok(m);
    }
    let pred: Vec<usize> = eval.logits.iter().map(|l| argmax(l)).collect();
    let gold: Vec<usize> = examples
        .iter()
        .map(|e| match e.target {
            Target::Class(c) => c,
            Target::Score(s) => s as usize,
        })
        .collect();
    m.insert("accuracy".into(), metrics::accuracy(&pred, &gold)?);
    if task == GlueTask::Mnli {
        // MNLI's main metric combines two splits; each split reports its accuracy.
        return Ok(m);
    }
    match metrics::score_classification(task, &pred, &gold)? {
        TaskScore::AccuracyF1 { f1, .. } => {
            m.insert("f1".into(), f1);
        }
        TaskScore::Matthews(v) => {
            m.insert("matthews".into(), v);
        }
        _ => {}
    }
    Ok(m)
}

/// Index of the largest value.
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) },
        )
        .0
}

/// Where a GLUE run reads from and writes to.
#[derive(Debug, Clone)]
pub struct GlueRun {
    /// HF checkpoint folder (with its tokenizer).
    pub model: PathBuf,
    /// GLUE root or task folder.
    pub data: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Continue from the last checkpoint in `out/checkpoints`.
    pub resume: bool,
    /// Use at most this many training examples (None = all).
    pub max_train: Option<usize>,
    /// Sequences timed for latency.
    pub latency_samples: usize,
}

/// Train and evaluate one GLUE task; writes `config.json`, `adapter/` and `results.json` into `run.out`.
pub fn run_glue<B: AutodiffBackend>(cfg: &TrainConfig, run: &GlueRun, devices: &[B::Device]) -> Result<Results> {
    let device = main_device(devices)?;
    let task: GlueTask = cfg.task.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    if run.resume {
        check_resume(cfg, &run.out)?;
    }
    // Everything random (fresh heads, controllers, LoRA A, dropout, gate samples) follows from the seed.
    B::seed(device, cfg.seed);
    let tok = checked_tokenizer(&run.model, cfg.max_length)?;
    let mut train_ex = glue::load_split(task, &run.data, Split::Train)?;
    if let Some(n) = run.max_train {
        train_ex.truncate(n);
    }
    // MNLI's `Split::Dev` is dev_matched; dev_mismatched is evaluated by `glue` when present.
    let dev_ex = glue::load_split(task, &run.data, Split::Dev)?;
    let train_enc = encode_glue(&tok, task, &train_ex, cfg.max_length)?;
    let dev_enc = encode_glue(&tok, task, &dev_ex, cfg.max_length)?;
    let (mut net, report) = Backbone::<B>::from_pretrained(&run.model, task.num_labels(), cfg.seed, device)?;
    println!("model {}: {report}", run.model.display());
    if let Some(p) = cfg.cls_dropout {
        net.set_classifier_dropout(p);
    }
    // MNLI: dev_mismatched is reported beside dev (= dev_matched) when the file is there.
    let mut extra = Vec::new();
    if task == GlueTask::Mnli && glue::split_path(task, &run.data, Split::DevMismatched).is_some() {
        let mm = glue::load_split(task, &run.data, Split::DevMismatched)?;
        extra.push((
            "dev_mismatched".to_string(),
            encode_glue(&tok, task, &mm, cfg.max_length)?,
        ));
    }
    let results = fit_and_report(
        cfg,
        net,
        task.is_regression(),
        &train_enc,
        &dev_enc,
        &extra,
        run,
        devices,
        |eval, ex| glue_metrics(task, eval, ex),
    )?;
    Ok(results)
}

/// The splits of a CSV text-classification folder: `train.csv`, `validation.csv` (or `dev.csv`) and, when
/// present, `test.csv`, each with a header naming `text` and `label` (integer classes 0..K−1).
pub fn text_csv_splits(dir: &Path) -> Result<[Option<PathBuf>; 3]> {
    let pick = |names: &[&str]| names.iter().map(|n| dir.join(n)).find(|p| p.is_file());
    let train = pick(&["train.csv"]);
    let dev = pick(&["validation.csv", "dev.csv"]);
    anyhow::ensure!(
        train.is_some() && dev.is_some(),
        "{}: a CSV text-classification folder needs train.csv and validation.csv (or dev.csv)",
        dir.display()
    );
    Ok([train, dev, pick(&["test.csv"])])
}

/// Tokenise single texts with their classes.
pub fn encode_texts(tok: &TextTokenizer, examples: &[TextExample], max_length: usize) -> Result<Vec<Encoded>> {
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(256) {
        let a: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        let (ids, types) = tok.encode_batch(&a, None, max_length)?;
        for ((input_ids, token_type_ids), e) in ids.into_iter().zip(types).zip(chunk) {
            out.push(Encoded {
                input_ids,
                token_type_ids,
                target: Target::Class(e.label),
            });
        }
    }
    Ok(out)
}

/// Accuracy and, with two classes, F1 of class 1.
pub fn class_metrics(eval: &Evaluation, examples: &[Encoded], num_labels: usize) -> Result<BTreeMap<String, f64>> {
    let pred: Vec<usize> = eval.logits.iter().map(|l| argmax(l)).collect();
    let gold: Vec<usize> = examples
        .iter()
        .map(|e| match e.target {
            Target::Class(c) => c,
            Target::Score(s) => s as usize,
        })
        .collect();
    let mut m = BTreeMap::from([("accuracy".to_string(), metrics::accuracy(&pred, &gold)?)]);
    if num_labels == 2 {
        m.insert("f1".into(), metrics::f1_binary(&pred, &gold)?);
    }
    Ok(m)
}

/// The examples of a CSV text-classification folder (see [`text_csv_splits`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TextCsv {
    /// `train.csv`.
    pub train: Vec<TextExample>,
    /// `validation.csv` or `dev.csv`.
    pub dev: Vec<TextExample>,
    /// `test.csv` (empty when absent).
    pub test: Vec<TextExample>,
    /// The class count: the largest label + 1 over all splits (at least 2).
    pub num_labels: usize,
}

impl TextCsv {
    /// Reads every split of `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let [train, dev, test] = text_csv_splits(dir)?;
        let load = |p: &Option<PathBuf>| -> Result<Vec<TextExample>> {
            Ok(match p {
                Some(p) => load_text_csv(p)?,
                None => Vec::new(),
            })
        };
        let (train, dev, test) = (load(&train)?, load(&dev)?, load(&test)?);
        let num_labels = train
            .iter()
            .chain(&dev)
            .chain(&test)
            .map(|e| e.label + 1)
            .max()
            .unwrap_or(0);
        anyhow::ensure!(num_labels >= 2, "{}: fewer than two classes", dir.display());
        Ok(TextCsv {
            train,
            dev,
            test,
            num_labels,
        })
    }
}

/// Train and evaluate a CSV text-classification task (see [`text_csv_splits`]); `test` is reported beside
/// `dev` when `test.csv` exists. The class count is the largest label + 1 over all splits.
pub fn run_text_csv<B: AutodiffBackend>(cfg: &TrainConfig, run: &GlueRun, devices: &[B::Device]) -> Result<Results> {
    let device = main_device(devices)?;
    if run.resume {
        check_resume(cfg, &run.out)?;
    }
    B::seed(device, cfg.seed);
    let TextCsv {
        train: mut train_ex,
        dev: dev_ex,
        test: test_ex,
        num_labels,
    } = TextCsv::load(&run.data)?;
    if let Some(n) = run.max_train {
        train_ex.truncate(n);
    }
    let tok = checked_tokenizer(&run.model, cfg.max_length)?;
    let train_enc = encode_texts(&tok, &train_ex, cfg.max_length)?;
    let dev_enc = encode_texts(&tok, &dev_ex, cfg.max_length)?;
    let mut extra = Vec::new();
    if !test_ex.is_empty() {
        extra.push(("test".to_string(), encode_texts(&tok, &test_ex, cfg.max_length)?));
    }
    let (mut net, report) = Backbone::<B>::from_pretrained(&run.model, num_labels, cfg.seed, device)?;
    println!("model {}: {report}", run.model.display());
    if let Some(p) = cfg.cls_dropout {
        net.set_classifier_dropout(p);
    }
    fit_and_report(
        cfg,
        net,
        false,
        &train_enc,
        &dev_enc,
        &extra,
        run,
        devices,
        |eval, ex| class_metrics(eval, ex, num_labels),
    )
}

/// `glue`'s task: CSV texts when `cfg.task` is `csv` ([`run_text_csv`]), else GLUE ([`run_glue`]).
pub fn run_task<B: AutodiffBackend>(cfg: &TrainConfig, run: &GlueRun, devices: &[B::Device]) -> Result<Results> {
    if cfg.task == "csv" {
        run_text_csv::<B>(cfg, run, devices)
    } else {
        run_glue::<B>(cfg, run, devices)
    }
}

/// [`run_task`] trained through `Autodiff` on the backend and devices `devices` names (`--device cpu|wgpu|cuda`,
/// `--devices`; [`crate::device::on_devices`]). The programs call this, not the generic function: it is not generic, so the
/// backend instances of the whole training path are compiled once, in this library, and the programs and tests
/// that link it reuse them instead of compiling their own (see the profile notes in `Cargo.toml`). Left out of the
/// library's own unit-test build (`cfg(not(test))`), which does not call it, so that build does not compile the
/// whole training path a second time; the same holds for the other `*_on` functions.
#[cfg(not(test))]
pub fn run_task_on(devices: &DeviceArgs, cfg: &TrainConfig, run: &GlueRun) -> Result<Results> {
    struct Job<'a>(&'a TrainConfig, &'a GlueRun);
    impl OnDevices for Job<'_> {
        type Output = Results;
        fn run<B: TrainBackend>(self, devices: Vec<B::Device>) -> Result<Results> {
            run_task::<Autodiff<B>>(self.0, self.1, &devices)
        }
    }
    on_devices(devices, Job(cfg, run))
}

/// An LRA run: where the encoder comes from and where the run goes.
#[derive(Debug, Clone, PartialEq)]
pub struct LraRun {
    /// A checkpoint folder (DeBERTa or BERT), or None for a fresh DeBERTa-v3-style encoder of `size`.
    pub model: Option<PathBuf>,
    /// The fresh encoder's shape: `tiny` (2 layers × 64) or `base` (12 × 768).
    pub size: String,
    /// The task's data folder (recorded in `run.json`).
    pub data: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Continue from the last checkpoint.
    pub resume: bool,
}

/// A fresh DeBERTa-v3-style encoder for `data` (its vocabulary, classes, token types for pairs), `size` `tiny`
/// (d 64, 2 layers, 4 heads, FFN 128) or `base` (768, 12, 12, 3072); log buckets 256, c2p + p2c, shared keys.
pub fn lra_encoder_config(size: &str, data: &LraData) -> Result<DebertaConfig> {
    let (d, layers, heads, ffn) = match size {
        "tiny" => (64, 2, 4, 128),
        "base" => (768, 12, 12, 3072),
        other => anyhow::bail!("--size {other:?}: expected tiny or base"),
    };
    let json = format!(
        r#"{{"model_type": "deberta-v2", "vocab_size": {}, "hidden_size": {d}, "num_hidden_layers": {layers},
            "num_attention_heads": {heads}, "intermediate_size": {ffn}, "relative_attention": true,
            "position_buckets": 256, "max_relative_positions": -1, "max_position_embeddings": 512,
            "norm_rel_ebd": "layer_norm", "share_att_key": true, "pos_att_type": "p2c|c2p",
            "position_biased_input": false, "type_vocab_size": {types}, "num_labels": {labels},
            "initializer_range": 0.2, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}}"#,
        data.vocab_size(),
        types = if data.task == LraTask::Retrieval { 2 } else { 0 },
        labels = data.task.num_labels(),
    );
    Ok(DebertaConfig::from_json(&json, Path::new("<lra encoder>"))?)
}

/// Train and evaluate an LRA task (accuracy on `val`, and on `test` when it has examples).
pub fn run_lra<B: AutodiffBackend>(
    cfg: &TrainConfig,
    run: &LraRun,
    data: &LraData,
    devices: &[B::Device],
) -> Result<Results> {
    let device = main_device(devices)?;
    let net: Backbone<B> = match &run.model {
        Some(dir) => Backbone::<B>::from_pretrained(dir, data.task.num_labels(), cfg.seed, device)?.0,
        None => DebertaForSequenceClassification::<B>::random(&lra_encoder_config(&run.size, data)?, cfg.seed, device)
            .into(),
    };
    let glue_run = GlueRun {
        model: run.model.clone().unwrap_or_default(),
        data: run.data.clone(),
        out: run.out.clone(),
        resume: run.resume,
        max_train: None,
        latency_samples: 50,
    };
    let extra = if data.test.is_empty() {
        vec![]
    } else {
        vec![("test".to_string(), data.test.clone())]
    };
    fit_and_report(
        cfg,
        net,
        false,
        &data.train,
        &data.val,
        &extra,
        &glue_run,
        devices,
        |eval, ex| {
            let correct = eval
                .logits
                .iter()
                .zip(ex)
                .filter(|(l, e)| e.target == Target::Class(argmax(l)))
                .count();
            Ok(BTreeMap::from([(
                "accuracy".to_string(),
                correct as f64 / ex.len().max(1) as f64,
            )]))
        },
    )
}

/// [`run_lra`] trained through `Autodiff` on the backend and devices `devices` names; not generic, as
/// [`run_task_on`].
#[cfg(not(test))]
pub fn run_lra_on(devices: &DeviceArgs, cfg: &TrainConfig, run: &LraRun, data: &LraData) -> Result<Results> {
    struct Job<'a>(&'a TrainConfig, &'a LraRun, &'a LraData);
    impl OnDevices for Job<'_> {
        type Output = Results;
        fn run<B: TrainBackend>(self, devices: Vec<B::Device>) -> Result<Results> {
            run_lra::<Autodiff<B>>(self.0, self.1, self.2, &devices)
        }
    }
    on_devices(devices, Job(cfg, run, data))
}

/// Shared by GLUE and LRA: prepare → train → evaluate → write the run folder.
#[allow(clippy::too_many_arguments)]
pub fn fit_and_report<B: AutodiffBackend>(
    cfg: &TrainConfig,
    net: impl Into<Backbone<B>>,
    regression: bool,
    train_enc: &[Encoded],
    dev_enc: &[Encoded],
    extra: &[(String, Vec<Encoded>)],
    run: &GlueRun,
    devices: &[B::Device],
    score: impl Fn(&Evaluation, &[Encoded]) -> Result<BTreeMap<String, f64>>,
) -> Result<Results> {
    let device = main_device(devices)?;
    // `--resume` is checked (saved config, checkpoint files) before anything is written.
    if run.resume {
        check_resume(cfg, &run.out)?;
        anyhow::ensure!(
            devices.len() == 1 || !data_parallel::is_ddp::<B>(),
            "--resume: not with DDP (--features ddp on several CUDA devices): burn-train 0.21 does not restore DDP \
             runs reliably (burn issues #5084, #5320); resume on one device, or train again"
        );
    }
    data_parallel::check_batch(cfg.batch_size, devices.len())?;
    B::seed(device, cfg.seed);
    let net = net.into();
    // Library callers too: inputs padded to max_length must fit absolute position embeddings.
    if let Some(limit) = net.max_positions().filter(|&limit| cfg.max_length > limit) {
        anyhow::bail!(
            "--max-length {}: above the model's max_position_embeddings {limit} (absolute positions)",
            cfg.max_length
        );
    }
    let targets: Vec<String> = net.default_targets().iter().map(|s| s.to_string()).collect();
    let info = RunInfo {
        model: (!run.model.as_os_str().is_empty()).then(|| run.model.clone()),
        data: run.data.clone(),
        num_labels: net.num_labels(),
    };
    let (model, trainable) = prepare(net, cfg, regression)?;
    if run.resume {
        check_checkpoint(&model, &run.out, device)?;
    }
    std::fs::create_dir_all(&run.out).with_context(|| format!("creating {}", run.out.display()))?;
    write_atomic(&run.out.join("config.json"), &serde_json::to_vec_pretty(cfg)?)?;
    info.write(&run.out)?;
    println!(
        "{} on {}: {} trainable parameters, {} training / {} dev examples, {} epochs",
        cfg.method,
        cfg.task,
        trainable,
        train_enc.len(),
        dev_enc.len(),
        cfg.epochs
    );
    let trained: TaskModel<B::InnerBackend> = train(model, cfg, train_enc, dev_enc, &run.out, run.resume, devices)?;
    let inner_device = device.clone();
    let eval = evaluate(&trained.net, dev_enc, cfg.method, cfg.batch_size, &inner_device);
    let mut metrics = BTreeMap::from([("dev".to_string(), score(&eval, dev_enc)?)]);
    for (name, examples) in extra {
        let e = evaluate(&trained.net, examples, cfg.method, cfg.batch_size, &inner_device);
        metrics.insert(name.clone(), score(&e, examples)?);
    }
    let lat = latency(&trained.net, dev_enc, run.latency_samples, &inner_device);
    save_adapter(&trained, cfg, targets, &run.out.join("adapter"))?;
    let results = Results {
        task: cfg.task.clone(),
        method: cfg.method,
        metrics,
        trainable_params: trainable,
        budget: eval.budget.clone(),
        rank_histogram: eval.rank_histogram.clone(),
        flops: eval.flops,
        latency_ms: lat,
        train_examples: train_enc.len(),
        seed: cfg.seed,
    };
    write_atomic(&run.out.join("results.json"), &serde_json::to_vec_pretty(&results)?)?;
    Ok(results)
}

/// The adapter manifest of a run whose adapters sit in the maps named by `targets`.
pub fn manifest(cfg: &TrainConfig, targets: Vec<String>) -> AdapterManifest {
    let h = &cfg.adapter;
    let spectral = cfg.method.is_spectral();
    let mut m = AdapterManifest::new(
        cfg.method.name(),
        targets,
        if spectral { h.spectral_rank } else { h.lora_rank },
        if spectral { h.spectral_alpha } else { h.lora_alpha },
        cfg.seed,
    );
    if cfg.method.is_gated() {
        m.rho = Some(h.rho);
        m.controller_hidden = Some(h.controller_hidden.unwrap_or(h.spectral_rank));
        m.granularity = crate::method::adapter_spec(cfg.method, h).and_then(|s| s.gating.map(|g| g.granularity));
    }
    // The whole run configuration, so that an adapter folder alone can be loaded again
    // ([`crate::run_folder::load_adapter_folder`]).
    m.extra = serde_json::json!({ "task": cfg.task, "config": cfg });
    m
}

fn save_adapter<B: burn::tensor::backend::Backend>(
    model: &TaskModel<B>,
    cfg: &TrainConfig,
    targets: Vec<String>,
    dir: &Path,
) -> Result<()> {
    if cfg.method == Method::Full {
        // Full fine-tuning has no adapter: the whole network, in full precision (the Learner's checkpoints are
        // half precision), beside adapter/'s place.
        let out = dir.parent().unwrap_or(Path::new("."));
        return save_full_model(&model.net, out);
    }
    model.net.save_adapter(dir, &manifest(cfg, targets))?;
    Ok(())
}

/// File name of a full fine-tuning run's weights (Burn's named MessagePack, full precision).
pub const FULL_MODEL_FILE: &str = "model.mpk";

/// Write `net` to `out/model.mpk` atomically (a temporary folder, then a rename).
fn save_full_model<B: burn::tensor::backend::Backend>(net: &crate::backbone::Backbone<B>, out: &Path) -> Result<()> {
    use burn::module::Module;
    use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
    let tmp = out.join(".model-tmp");
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    net.clone()
        .save_file(tmp.join("model"), &NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", tmp.join("model.mpk").display()))?;
    std::fs::rename(tmp.join("model.mpk"), out.join(FULL_MODEL_FILE))
        .with_context(|| format!("writing {}", out.join(FULL_MODEL_FILE).display()))?;
    std::fs::remove_dir(&tmp).ok();
    Ok(())
}

/// Drop wall-clock fields so two runs can be compared for determinism.
pub fn without_timing(mut r: Results) -> Results {
    r.latency_ms = MeanP99 { mean: 0.0, p99: 0.0 };
    r
}
