//! A saved run scored again on a split: the same `metrics` / `budget` / `rank_histogram` / `flops` blocks as its
//! `results.json` (bit for bit on the CPU for the split training evaluated), optionally at another budget ρ, and
//! for GLUE's unlabelled test split the submission files GLUE's server expects (`index<TAB>prediction`).
//!
//! Splits: `dev` (GLUE dev — with MNLI's dev_mismatched beside it when present — or a CSV folder's
//! validation.csv / dev.csv), `test` (GLUE test: predictions only; a CSV folder's labelled test.csv) or a file
//! (GLUE: a labelled `.tsv` in the dev layout or `.jsonl`; CSV runs: a `.csv` with `text,label`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::batch::Encoded;
use crate::evaluate::{evaluate, BudgetReport, Evaluation, FlopReport};
use crate::glue::{self, GlueTask, Label, Split};
use crate::lra::load_text_csv;
use crate::method::Method;
use crate::run::{argmax, class_metrics, encode_glue, encode_texts, glue_metrics, text_csv_splits};
use crate::run_folder::LoadedModel;

/// Which examples to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalSplit {
    /// The validation split.
    Dev,
    /// The test split (GLUE: unlabelled, predictions only).
    Test,
    /// A labelled file.
    File(PathBuf),
}

impl FromStr for EvalSplit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "dev" => EvalSplit::Dev,
            "test" => EvalSplit::Test,
            "" => return Err("expected dev, test or a file".into()),
            path => EvalSplit::File(PathBuf::from(path)),
        })
    }
}

/// What `evaluate` writes: `results.json`'s scoring blocks for the chosen split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    /// Task.
    pub task: String,
    /// Method.
    pub method: Method,
    /// `dev`, `test` or the file scored.
    pub split: String,
    /// The budget ρ the model ran at (gated methods).
    pub rho: Option<f64>,
    /// Examples scored (first split).
    pub examples: usize,
    /// Metrics per split scored (empty for GLUE test).
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// Budget statistics (spectral methods).
    pub budget: Option<BudgetReport>,
    /// Token-rank histogram per layer (spectral methods).
    pub rank_histogram: Option<Vec<Vec<u64>>>,
    /// FLOPs per sequence.
    pub flops: FlopReport,
}

/// A score report and, for GLUE test, the submission files: (file name, one prediction per example).
#[derive(Debug, Clone)]
pub struct Rescored {
    /// The report.
    pub report: ScoreReport,
    /// GLUE submission files (`SST-2.tsv`, `MNLI-m.tsv`, …) with their predictions in file order.
    pub submission: Vec<(String, Vec<String>)>,
}

/// Score `model` on `split` of `data` (the run's data folder) at budget `rho` (None: the trained ρ).
pub fn rescore<B: Backend>(
    model: &LoadedModel<B>,
    data: &Path,
    split: &EvalSplit,
    rho: Option<f64>,
    batch_size: usize,
    device: &B::Device,
) -> Result<Rescored> {
    if batch_size == 0 {
        bail!("--batch-size 0: expected at least 1");
    }
    let mut net = model.net.clone();
    if let Some(rho) = rho {
        net.set_rho(rho)?;
    }
    let cfg = &model.config;
    let max_length = cfg.max_length;
    let run_eval = |enc: &[Encoded]| evaluate(&net, enc, cfg.method, batch_size, device);
    // (split name, encoded examples, labelled)
    let mut parts: Vec<(String, Vec<Encoded>, bool)> = Vec::new();
    let mut submission_names: Vec<String> = Vec::new();
    let task = model.glue_task();
    match (task, cfg.task.as_str()) {
        (Some(task), _) => {
            let glue_split = |s: Split| -> Result<Vec<Encoded>> {
                let ex = glue::load_split(task, data, s)?;
                encode_unlabelled(&model.tokenizer, task, ex, max_length)
            };
            match split {
                EvalSplit::Dev => {
                    parts.push(("dev".into(), glue_split(Split::Dev)?, true));
                    if task == GlueTask::Mnli && glue::split_path(task, data, Split::DevMismatched).is_some() {
                        parts.push(("dev_mismatched".into(), glue_split(Split::DevMismatched)?, true));
                    }
                }
                EvalSplit::Test => {
                    let mut name = |suffix: &str| submission_names.push(format!("{}{suffix}.tsv", task.dir_name()));
                    if task == GlueTask::Mnli {
                        parts.push(("test".into(), glue_split(Split::Test)?, false));
                        name("-m");
                        if glue::split_path(task, data, Split::TestMismatched).is_some() {
                            parts.push(("test_mismatched".into(), glue_split(Split::TestMismatched)?, false));
                            name("-mm");
                        }
                    } else {
                        parts.push(("test".into(), glue_split(Split::Test)?, false));
                        name("");
                    }
                }
                EvalSplit::File(path) => {
                    let ex = match path.extension().and_then(|e| e.to_str()) {
                        Some("tsv") => glue::load_tsv(task, path, Split::Dev)?,
                        Some("jsonl") => glue::load_jsonl(task, path)?,
                        _ => bail!(
                            "--split {}: a GLUE file must be a labelled .tsv (dev layout) or .jsonl",
                            path.display()
                        ),
                    };
                    if ex.iter().any(|e| e.label.is_none()) {
                        bail!("--split {}: examples without labels cannot be scored", path.display());
                    }
                    parts.push((
                        path.display().to_string(),
                        encode_glue(&model.tokenizer, task, &ex, max_length)?,
                        true,
                    ));
                }
            }
        }
        (None, "csv") => {
            let file = match split {
                EvalSplit::Dev => text_csv_splits(data)?[1].clone(),
                EvalSplit::Test => text_csv_splits(data)?[2].clone(),
                EvalSplit::File(p) => Some(p.clone()),
            }
            .ok_or_else(|| anyhow::anyhow!("--split test: {} has no test.csv", data.display()))?;
            let ex = load_text_csv(&file)?;
            let name = match split {
                EvalSplit::File(p) => p.display().to_string(),
                EvalSplit::Dev => "dev".into(),
                EvalSplit::Test => "test".into(),
            };
            parts.push((name, encode_texts(&model.tokenizer, &ex, max_length)?, true));
        }
        (None, other) => bail!(
            "task {other:?}: evaluate scores GLUE and CSV text-classification runs (LRA runs: their results.json \
             holds the scores)"
        ),
    }
    let num_labels = model.num_labels();
    let score = |eval: &Evaluation, enc: &[Encoded]| -> Result<BTreeMap<String, f64>> {
        match task {
            Some(t) => glue_metrics(t, eval, enc),
            None => class_metrics(eval, enc, num_labels),
        }
    };
    let mut metrics = BTreeMap::new();
    let mut first: Option<Evaluation> = None;
    let mut submission = Vec::new();
    let mut examples = 0;
    for (i, (name, enc, labelled)) in parts.iter().enumerate() {
        let eval = run_eval(enc);
        if *labelled {
            metrics.insert(name.clone(), score(&eval, enc)?);
        } else if let (Some(task), Some(file)) = (task, submission_names.get(i)) {
            submission.push((
                file.clone(),
                eval.logits.iter().map(|l| glue_prediction(task, l)).collect(),
            ));
        }
        if first.is_none() {
            examples = enc.len();
            first = Some(eval);
        }
    }
    let first = first.context("no split to score")?;
    let rho = net.gates().map(|g| g.config.budget.rho);
    Ok(Rescored {
        report: ScoreReport {
            task: cfg.task.clone(),
            method: cfg.method,
            split: match split {
                EvalSplit::Dev => "dev".into(),
                EvalSplit::Test => "test".into(),
                EvalSplit::File(p) => p.display().to_string(),
            },
            rho,
            examples,
            metrics,
            budget: first.budget,
            rank_histogram: first.rank_histogram,
            flops: first.flops,
        },
        submission,
    })
}

/// Tokenise GLUE examples that may lack labels (test files): their targets are never read.
fn encode_unlabelled(
    tok: &crate::backbone::TextTokenizer,
    task: GlueTask,
    mut examples: Vec<glue::Example>,
    max_length: usize,
) -> Result<Vec<Encoded>> {
    for e in &mut examples {
        e.label = e.label.or(Some(Label::Class(0)));
    }
    encode_glue(tok, task, &examples, max_length)
}

/// One GLUE submission cell: the class's name for MNLI / QNLI / RTE (as their TSVs spell labels), the class
/// index for CoLA / SST-2 / MRPC / QQP (their TSVs use 0 / 1), the score clamped to \[0, 5\] for STS-B.
pub fn glue_prediction(task: GlueTask, logits: &[f32]) -> String {
    match task {
        GlueTask::Stsb => format!("{:.3}", (logits[0] as f64).clamp(0.0, 5.0)),
        GlueTask::Mnli | GlueTask::Qnli | GlueTask::Rte => task.label_names()[argmax(logits)].to_string(),
        GlueTask::Cola | GlueTask::Sst2 | GlueTask::Mrpc | GlueTask::Qqp => argmax(logits).to_string(),
    }
}

/// A GLUE submission file: `index<TAB>prediction`, one row per test example in file order.
pub fn submission_tsv(predictions: &[String]) -> String {
    let mut s = String::from("index\tprediction\n");
    for (i, p) in predictions.iter().enumerate() {
        s.push_str(&format!("{i}\t{p}\n"));
    }
    s
}

/// `evaluate` on the backend `device` names: load run folder `run` (`model` overrides its base checkpoint), score
/// it on `split` of `data` (None: the data `run.json` records) at `rho`, `batch_size` sequences at a time (None:
/// the run's batch size). Not generic, as [`crate::run::run_task_on`].
#[cfg(not(test))]
pub fn rescore_on(
    device: &str,
    run: &Path,
    model: Option<&Path>,
    data: Option<&Path>,
    split: &EvalSplit,
    rho: Option<f64>,
    batch_size: Option<usize>,
) -> Result<Rescored> {
    struct Job<'a> {
        run: &'a Path,
        model: Option<&'a Path>,
        data: Option<&'a Path>,
        split: &'a EvalSplit,
        rho: Option<f64>,
        batch_size: Option<usize>,
    }
    impl crate::device::OnDevice for Job<'_> {
        type Output = Rescored;
        fn run<B: Backend>(self, device: B::Device) -> Result<Rescored> {
            let model = crate::run_folder::load_run::<B>(self.run, self.model, &device)?;
            let data = match (self.data, &model.data) {
                (Some(d), _) => d.to_path_buf(),
                (None, Some(d)) => d.clone(),
                (None, None) => bail!(
                    "--run {}: the run records no data folder; pass --data DIR",
                    self.run.display()
                ),
            };
            let batch_size = self.batch_size.unwrap_or(model.config.batch_size);
            rescore(&model, &data, self.split, self.rho, batch_size, &device)
        }
    }
    crate::device::on_device(
        device,
        Job {
            run,
            model,
            data,
            split,
            rho,
            batch_size,
        },
    )
}
