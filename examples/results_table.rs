//! A Markdown table of finished runs (any task): one row per run folder's `results.json` with every split's task
//! metrics (accuracy, F1, Matthews, Pearson, Spearman: each column that some run has), trainable parameters,
//! latency, realised FLOPs, budget and mean rank.
//!
//! cargo run --release --example results_table -- runs/minilm/*-seed*

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use tabs_experiments::run::Results;

#[derive(Parser, Debug)]
#[command(about = "Markdown table of run folders (results.json)")]
struct Args {
    /// Run folders (each with results.json).
    runs: Vec<PathBuf>,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let mut rows = Vec::new();
    for dir in &a.runs {
        let path = dir.join("results.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let r: Results =
            serde_json::from_str(&text).with_context(|| format!("{}: not a results.json", path.display()))?;
        rows.push((
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            r,
        ));
    }
    let splits: Vec<String> = rows
        .iter()
        .flat_map(|(_, r)| r.metrics.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let metric = |r: &Results, split: &str, name: &str| r.metrics.get(split).and_then(|m| m.get(name)).copied();
    // The metrics a split of `results.json` can hold, in this order (classification: accuracy, F1 when binary,
    // Matthews for CoLA; STS-B: Pearson and Spearman), each a column only when some run has it.
    const METRICS: [(&str, &str); 5] = [
        ("accuracy", "acc"),
        ("f1", "F1"),
        ("matthews", "Matthews"),
        ("pearson", "Pearson"),
        ("spearman", "Spearman"),
    ];
    let mut columns: Vec<(&str, &str, &str)> = Vec::new();
    for s in &splits {
        for (m, label) in METRICS {
            if rows.iter().any(|(_, r)| metric(r, s, m).is_some()) {
                columns.push((s.as_str(), m, label));
            }
        }
    }
    let mut header = vec!["run".to_string(), "method".into(), "seed".into()];
    for (s, _, label) in &columns {
        header.push(format!("{s} {label}"));
    }
    header.extend(
        [
            "trainable params",
            "latency mean / p99 (ms)",
            "adapter+ctrl MFLOPs/seq mean / max",
            "violations / groups",
            "worst r/B",
            "mean rank per layer",
        ]
        .map(String::from),
    );
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
    for (name, r) in &rows {
        let mut cells = vec![name.clone(), r.method.to_string(), r.seed.to_string()];
        for (s, m, _) in &columns {
            cells.push(metric(r, s, m).map_or("–".into(), |v| format!("{:.2}", 100.0 * v)));
        }
        cells.push(r.trainable_params.to_string());
        cells.push(format!("{:.1} / {:.1}", r.latency_ms.mean, r.latency_ms.p99));
        let f = &r.flops.adapter_and_controller;
        cells.push(format!("{:.2} / {:.2}", f.mean / 1e6, f.max / 1e6));
        match &r.budget {
            Some(b) => {
                cells.push(format!("{} / {}", b.violations, b.groups));
                cells.push(format!("{:.3}", b.worst_ratio));
                let ranks: Vec<String> = b.mean_rank_per_layer.iter().map(|x| format!("{x:.1}")).collect();
                cells.push(ranks.join(", "));
            }
            None => cells.extend(["–", "–", "–"].map(String::from)),
        }
        println!("| {} |", cells.join(" | "));
    }
    Ok(())
}
