//! The integration tests of this crate, one binary (each file a module): linking one test binary instead of
//! one per file is most of the build time of `cargo test`.

mod after_training;
mod backbones;
mod bad_input;
mod book;
mod clis;
mod data_bucket;
mod data_error;
mod data_glue;
mod data_listops;
mod data_lra;
mod data_metrics;
mod data_parallel;
mod device;
mod dropout;
mod flags;
mod gelu;
mod hf_parts;
mod layout;
mod peft;
mod train;
