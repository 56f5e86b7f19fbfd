//! Experiments for TABS (tasks and training wiring: issue 4).
//!
//! Data and metrics (no training code here):
//!
//! - [`glue`] — GLUE task folders (TSV as distributed, or JSONL): tasks, splits, labels, loaders.
//! - [`metrics`] — accuracy, binary F1, Matthews correlation, Pearson, Spearman and AdaLoRA's `glue_avg`.
//! - [`listops`] — the LRA ListOps generator, string forms, parser, evaluator, TSV writer and tokens.
//! - [`lra`] — loaders for the LRA tasks (ListOps, byte-level IMDB, AAN retrieval, grey CIFAR-10, Pathfinder).
//! - [`bucket`] — deterministic batching of example indices by length.
//! - [`data_error`] — the loaders' error type (file, line, column) and line reader.

pub mod bucket;
pub mod data_error;
pub mod glue;
pub mod listops;
pub mod lra;
pub mod metrics;

pub use data_error::DataError;
