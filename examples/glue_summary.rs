//! `glue_avg` over finished runs: reads each run folder's `results.json` and prints the AdaLoRA-paper average
//! (each task's main metric: CoLA Matthews, SST-2/QNLI/RTE accuracy, MRPC/QQP mean of accuracy and F1, MNLI mean
//! of matched and mismatched accuracy, STS-B mean of Pearson and Spearman).
//!
//! cargo run --release --example glue_summary -- runs/cola-tabs runs/sst2-tabs ...

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use tabs_experiments::glue::GlueTask;
use tabs_experiments::metrics::{glue_avg, TaskScore};
use tabs_experiments::run::Results;

#[derive(Parser, Debug)]
#[command(about = "GLUE average (AdaLoRA's All Ave.) over run folders")]
struct Args {
    /// Run folders (each with results.json).
    runs: Vec<PathBuf>,
}

fn score(r: &Results) -> Result<(GlueTask, TaskScore)> {
    let task: GlueTask = r.task.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let dev = r.metrics.get("dev").context("results.json has no dev metrics")?;
    let get = |k: &str| {
        dev.get(k)
            .copied()
            .with_context(|| format!("{}: dev metric `{k}` missing", r.task))
    };
    let s = match task {
        GlueTask::Cola => TaskScore::Matthews(get("matthews")?),
        GlueTask::Mrpc | GlueTask::Qqp => TaskScore::AccuracyF1 {
            accuracy: get("accuracy")?,
            f1: get("f1")?,
        },
        GlueTask::Stsb => TaskScore::Correlation {
            pearson: get("pearson")?,
            spearman: get("spearman")?,
        },
        GlueTask::Mnli => {
            let mm = r
                .metrics
                .get("dev_mismatched")
                .and_then(|m| m.get("accuracy"))
                .copied()
                .context("mnli: dev_mismatched accuracy missing (put dev_mismatched.tsv beside dev_matched.tsv)")?;
            TaskScore::MatchedMismatched {
                matched: get("accuracy")?,
                mismatched: mm,
            }
        }
        _ => TaskScore::Accuracy(get("accuracy")?),
    };
    Ok((task, s))
}

fn main() -> Result<()> {
    let a = Args::parse();
    if a.runs.is_empty() {
        bail!("give run folders, e.g. runs/cola-tabs runs/sst2-tabs");
    }
    let mut scores = Vec::new();
    for dir in &a.runs {
        let path = dir.join("results.json");
        let r: Results =
            serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| path.display().to_string())?)
                .with_context(|| format!("{}: not a results.json", path.display()))?;
        let (task, s) = score(&r)?;
        println!("{:<6} {:<12} main metric {:.4}", task.name(), r.method.name(), s.main());
        scores.push((task, s));
    }
    println!("glue_avg {:.4}", glue_avg(&scores)?);
    Ok(())
}
