//! A trained run read back for measurement (`ranks`, `flops --run`): the run folder written by the root package
//! (`examples/glue`: `config.json` = the run's `TrainConfig`, `adapter/`), the checkpoint folder it was trained
//! from (weights + tokenizer; DeBERTa or BERT by `model_type`) and its data's dev split (a GLUE task folder, or a
//! CSV text folder for `--task csv` runs).
//!
//! The model is rebuilt with `tabs_experiments::train::prepare` (the run's own adapter spec) and the adapter
//! loaded against the run's manifest (`tabs_experiments::run::manifest`), so a mismatch is a typed error, not a
//! silently different model.

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use tabs::{GatingConfig, Kernel};
use tabs_experiments::backbone::{Backbone, LayerShape, TextTokenizer};
use tabs_experiments::batch::{Encoded, Target};
use tabs_experiments::glue::{self, GlueTask, Split};
use tabs_experiments::lra::TextExample;
use tabs_experiments::run::{encode_glue, encode_texts, manifest, TextCsv};
use tabs_experiments::train::{prepare, TrainConfig};

use crate::output::read_json;

/// The dev split of the run's task.
#[derive(Debug, Clone)]
pub enum DevSet {
    /// A GLUE task's dev split.
    Glue(GlueTask, Vec<glue::Example>),
    /// `validation.csv` (or `dev.csv`) of a CSV text folder.
    Csv(Vec<TextExample>),
}

/// A trained spectral run, ready to evaluate.
pub struct TrainedRun<B: Backend> {
    /// The run's `config.json`.
    pub cfg: TrainConfig,
    /// The backbone with the trained adapter, gates and heads loaded.
    pub model: Backbone<B>,
    /// The checkpoint's tokenizer.
    pub tokenizer: TextTokenizer,
    /// The run's gating (granularity, R, budget ρ, controller width).
    pub gating: GatingConfig,
    /// The run's kernel of the gated term.
    pub kernel: Kernel,
    /// Layer count and map widths (for the FLOP model).
    pub shape: LayerShape,
    /// The dev split.
    pub dev: DevSet,
}

impl<B: Backend> TrainedRun<B> {
    /// Read run folder `run`, trained from checkpoint folder `model` on the data at `data`.
    pub fn load(run: &Path, model: &Path, data: &Path, device: &B::Device) -> Result<Self> {
        let cfg: TrainConfig = read_json(&run.join("config.json"))?;
        anyhow::ensure!(
            cfg.method.is_gated(),
            "run {} is `{}`: no gates to study (expected a gated run: bhsp, cbsp, tabs, tabs-noproj, tabs-shared)",
            run.display(),
            cfg.method
        );
        let (dev, num_labels, regression) = if cfg.task == "csv" {
            let csv = TextCsv::load(data)?;
            (DevSet::Csv(csv.dev), csv.num_labels, false)
        } else {
            let task: GlueTask = cfg.task.parse().map_err(|e| {
                anyhow::anyhow!(
                    "run {}: task `{}` is neither `csv` nor a GLUE task ({e}); LRA runs are not read here",
                    run.display(),
                    cfg.task
                )
            })?;
            let ex = glue::load_split(task, data, Split::Dev)?;
            (DevSet::Glue(task, ex), task.num_labels(), task.is_regression())
        };
        let tokenizer = TextTokenizer::from_dir(model).with_context(|| format!("tokenizer of {}", model.display()))?;
        let (net, _) = Backbone::<B>::from_pretrained(model, num_labels, cfg.seed, device)?;
        let (prepared, _) = prepare(net, &cfg, regression)?;
        let targets = prepared.net.default_targets().iter().map(|s| s.to_string()).collect();
        let model = prepared
            .net
            .load_adapter(&run.join("adapter"), &manifest(&cfg, targets))
            .with_context(|| format!("adapter of {}", run.display()))?;
        let gating = match model.gates() {
            Some(g) => g.config,
            None => bail!("run {}: the rebuilt model has no gates", run.display()),
        };
        let kernel = model
            .maps()
            .iter()
            .find_map(|(_, m)| m.spectral.as_ref().map(|s| s.kernel))
            .unwrap_or(cfg.adapter.kernel);
        let shape = model.shape();
        Ok(TrainedRun {
            cfg,
            model,
            tokenizer,
            gating,
            kernel,
            shape,
            dev,
        })
    }

    /// The first `max_examples` dev examples (all when `None`) tokenised with truncation to `max_length` (the
    /// run's own `max_length` for `ranks`).
    pub fn encode_dev(&self, max_length: usize, max_examples: Option<usize>) -> Result<Vec<Encoded>> {
        let take = |n: usize| max_examples.map_or(n, |m| m.min(n));
        match &self.dev {
            DevSet::Glue(task, ex) => encode_glue(&self.tokenizer, *task, &ex[..take(ex.len())], max_length),
            DevSet::Csv(ex) => encode_texts(&self.tokenizer, &ex[..take(ex.len())], max_length),
        }
    }
}

/// Inputs of exactly `t` real tokens cut from encoded texts: each text's tokens without its first and last
/// (`[CLS]` … `[SEP]`) are concatenated in order, cut into consecutive windows of `t − 2`, and each window is
/// wrapped in the first text's `[CLS]` and `[SEP]` ids again. Token types are 0. At most `n` windows, fewer when
/// the texts run out (never repeated). Needs `t ≥ 3`.
pub fn windows(texts: &[Encoded], t: usize, n: usize) -> Vec<Encoded> {
    let (Some(first), true) = (texts.first(), t >= 3) else {
        return Vec::new();
    };
    let (cls, sep) = (first.input_ids[0], *first.input_ids.last().unwrap_or(&0));
    let body = texts
        .iter()
        .filter(|e| e.input_ids.len() > 2)
        .flat_map(|e| e.input_ids[1..e.input_ids.len() - 1].iter().copied());
    let stream: Vec<u32> = body.take(n.saturating_mul(t - 2)).collect();
    stream
        .chunks_exact(t - 2)
        .map(|w| {
            let mut ids = Vec::with_capacity(t);
            ids.push(cls);
            ids.extend_from_slice(w);
            ids.push(sep);
            Encoded {
                token_type_ids: vec![0; t],
                input_ids: ids,
                target: Target::Class(0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(ids: &[u32]) -> Encoded {
        Encoded {
            input_ids: ids.to_vec(),
            token_type_ids: vec![0; ids.len()],
            target: Target::Class(1),
        }
    }

    #[test]
    fn windows_concatenate_bodies_and_rewrap() {
        // [CLS]=1, [SEP]=2; bodies 10 11 | 12 | (none) | 13 14 15 16
        let texts = [
            enc(&[1, 10, 11, 2]),
            enc(&[1, 12, 2]),
            enc(&[1, 2]),
            enc(&[1, 13, 14, 15, 16, 2]),
        ];
        let w = windows(&texts, 4, 10);
        let ids: Vec<Vec<u32>> = w.iter().map(|e| e.input_ids.clone()).collect();
        assert_eq!(ids, vec![vec![1, 10, 11, 2], vec![1, 12, 13, 2], vec![1, 14, 15, 2]]);
        assert!(w.iter().all(|e| e.token_type_ids == vec![0; 4]));
        assert_eq!(windows(&texts, 4, 2).len(), 2, "at most n");
        // 7 body tokens in all: one window of 7 (+ 2), none of 8.
        assert_eq!(
            windows(&texts, 9, 10)[0].input_ids,
            vec![1, 10, 11, 12, 13, 14, 15, 16, 2]
        );
        assert_eq!(windows(&texts, 10, 10).len(), 0);
        assert_eq!(windows(&texts, 2, 10).len(), 0);
        assert_eq!(windows(&[], 4, 10).len(), 0);
    }
}
