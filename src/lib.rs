//! Experiments for TABS: tasks, training wiring and results.
//!
//! Data and metrics:
//!
//! - [`glue`] — GLUE task folders (TSV as distributed, or JSONL): tasks, splits, labels, loaders.
//! - [`metrics`] — accuracy, binary F1, Matthews correlation, Pearson, Spearman and AdaLoRA's `glue_avg`.
//! - [`listops`] — the LRA ListOps generator, string forms, parser, evaluator, TSV writer and tokens.
//! - [`lra`] — loaders for the LRA tasks (ListOps, byte-level IMDB, AAN retrieval, grey CIFAR-10, Pathfinder).
//! - [`lra_task`] — the five LRA tasks as token sequences for one encoder (ids, pairs, pixels, classes).
//! - [`bucket`] — deterministic batching of example indices by length.
//! - [`data_error`] — the loaders' error type (file, line, column) and line reader.
//! - [`csv_table`] — a CSV file with a header, rows with their line numbers.
//!
//! Training and evaluation:
//!
//! - [`method`] — the compared methods (full, lora, bhsp, cbsp, tabs, tabs-noproj, tabs-shared).
//! - [`backbone`] — the encoders behind one type (DeBERTa, BERT/MiniLM) and their tokenizers.
//! - [`batch`] — tokenised examples, padded buckets.
//! - [`train`] — burn-train's Learner wiring: task model, steps, parameter groups, checkpoints, resume.
//! - [`schedule`] — warm-up + linear decay.
//! - [`renderer`] — plain-text progress without a terminal.
//! - [`evaluate`] — predictions, gate statistics, FLOPs and latency for `results.json`.
//! - [`run`] — a whole run: data → model → train → evaluate → `results.json`.
//! - [`preflight`] — checks of a run's inputs (max length, tokenizer, `--resume`) before anything is written.
//! - [`cli`] — one-line errors and the exit status of the command-line programs.
//! - [`device`] — `--device cpu|wgpu|cuda` and `--devices`, dispatched in one place.
//! - [`data_parallel`] — training on several devices: the global batch split across them, the strategy.
//!
//! After training:
//!
//! - [`run_folder`] — a run folder (or a checkpoint + adapter folder) loaded back as a model.
//! - [`text_inputs`] — texts to predict from JSONL or CSV.
//! - [`predict`] — labels, probabilities, realised pairs and budgets for new texts at a chosen ρ.
//! - [`rescore`] — a saved run scored again on a split; GLUE test submission files.
//! - [`peft`] — peft LoRA adapters: import onto a base checkpoint, export of `lora` runs.
//! - [`export`] — a run as a peft adapter or as a plain HF checkpoint with the adapter merged.
//! - [`hf_layout`] — a backbone's tensors under HF names and in PyTorch layout.

pub mod backbone;
pub mod batch;
pub mod bucket;
pub mod cli;
pub mod csv_table;
pub mod data_error;
pub mod data_parallel;
pub mod device;
pub mod evaluate;
pub mod export;
pub mod glue;
pub mod hf_layout;
pub mod hyper_args;
pub mod listops;
pub mod lra;
pub mod lra_task;
pub mod method;
pub mod metrics;
pub mod param_groups;
pub mod peft;
pub mod predict;
pub mod preflight;
pub mod renderer;
pub mod rescore;
pub mod run;
pub mod run_folder;
pub mod schedule;
pub mod text_inputs;
pub mod train;

pub use data_error::DataError;
