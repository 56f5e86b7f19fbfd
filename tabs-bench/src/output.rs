//! Result files: every write goes to a temporary file in the same folder and is renamed into place
//! ([`tabs::io::write_atomic`]), so a reader never sees half a file. Each subcommand writes
//! `<name>.json` (with the [`RunRecord`]: the exact command, time, machine), `<name>.csv` and `<name>.svg`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Where and how a result was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The command line that produced the file (argv joined by spaces).
    pub command: String,
    /// Seconds since the Unix epoch at the start of the run.
    pub started_unix: u64,
    /// Wall-clock seconds the subcommand took.
    pub elapsed_s: f64,
    /// Backend / device in words.
    pub device: String,
    /// Available CPU threads (std::thread::available_parallelism).
    pub threads: usize,
    /// /proc/loadavg when the file was written (other work on a shared machine shows here).
    #[serde(default)]
    pub loadavg: Option<String>,
}

impl RunRecord {
    /// A record for this process, `device` in words.
    pub fn now(device: &str) -> Self {
        RunRecord {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            elapsed_s: 0.0,
            device: device.to_string(),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            loadavg: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .map(|s| s.trim().to_string()),
        }
    }
}

/// `dir/name` after creating `dir`.
pub fn file_in(dir: &Path, name: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join(name))
}

/// Write `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value)?;
    tabs::io::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Write a CSV with a header and rows of already formatted fields, atomically.
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        anyhow::ensure!(
            r.len() == header.len(),
            "a CSV row has {} fields, the header {}",
            r.len(),
            header.len()
        );
        w.write_record(r)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    tabs::io::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Write text (SVG, Markdown) atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    tabs::io::write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// Read a JSON file.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A subcommand's result file: how it was produced, its arguments and its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFile<A, R> {
    /// Command, time, device.
    pub record: RunRecord,
    /// Arguments as parsed.
    pub args: A,
    /// Results.
    pub results: R,
}
