//! The PyTorch peer: `scripts/torch_bench.py` times the same shapes (same model size, lengths, batch, warm-up and
//! pass counts, seeded mix) with PyTorch + transformers (+ peft LoRA merged / unmerged) on the same machine and
//! writes rows in the same format as [`LatencyRow`]. Ratios are ours / peer (> 1: we are slower).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::latency::LatencyRow;
use crate::output::read_json;

/// The peer's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerFile {
    /// Library versions in words.
    pub implementation: String,
    /// torch.get_num_threads().
    pub threads: usize,
    /// The command that produced the file.
    pub command: String,
    /// Timed rows.
    pub rows: Vec<LatencyRow>,
}

/// Ours vs the peer for one (method, shape, length, batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// Row.
    pub method: String,
    /// `fixed` / `mix`.
    pub shape: String,
    /// T.
    pub length: usize,
    /// Batch.
    pub batch: usize,
    /// Our mean (ms).
    pub ours_mean: f64,
    /// Peer mean (ms).
    pub peer_mean: f64,
    /// ours / peer, mean.
    pub mean_ratio: f64,
    /// Our p99 (ms).
    pub ours_p99: f64,
    /// Peer p99 (ms).
    pub peer_p99: f64,
    /// ours / peer, p99.
    pub p99_ratio: f64,
}

/// Read the peer's JSON.
pub fn read(path: &Path) -> Result<PeerFile> {
    read_json(path)
}

/// Several peer files (e.g. one per length range) as one: rows in file order, commands one per line, the
/// distinct implementation strings joined by " | " (a file without LoRA rows does not name peft). Files timed
/// with another thread count than the first are an error naming the file.
pub fn read_all(paths: &[PathBuf]) -> Result<Option<PeerFile>> {
    let mut out: Option<PeerFile> = None;
    for p in paths {
        let f = read(p)?;
        match out.as_mut() {
            None => out = Some(f),
            Some(o) => {
                anyhow::ensure!(
                    f.threads == o.threads,
                    "{}: peer timed with {} threads, the first file with {}",
                    p.display(),
                    f.threads,
                    o.threads
                );
                if !o.implementation.split(" | ").any(|i| i == f.implementation) {
                    o.implementation = format!("{} | {}", o.implementation, f.implementation);
                }
                o.command = format!("{}\n{}", o.command, f.command);
                o.rows.extend(f.rows);
            }
        }
    }
    Ok(out)
}

/// Ratios for every row present on both sides.
pub fn ratios(ours: &[LatencyRow], peer: &[LatencyRow]) -> Vec<Ratio> {
    ours.iter()
        .filter_map(|o| {
            let p = peer
                .iter()
                .find(|p| p.method == o.method && p.shape == o.shape && p.length == o.length && p.batch == o.batch)?;
            Some(Ratio {
                method: o.method.clone(),
                shape: o.shape.clone(),
                length: o.length,
                batch: o.batch,
                ours_mean: o.ms.mean,
                peer_mean: p.ms.mean,
                mean_ratio: o.ms.mean / p.ms.mean,
                ours_p99: o.ms.p99,
                peer_p99: p.ms.p99,
                p99_ratio: o.ms.p99 / p.ms.p99,
            })
        })
        .collect()
}
