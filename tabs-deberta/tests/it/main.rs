//! The integration tests of this crate, one binary (each file a module): linking one test binary instead of
//! one per file is most of the build time of `cargo test`.

// Linked for its compiled code only: at the test profile's opt-level 1 rustc reuses the generic instances (the
// model's forward and backward on the CPU backend) that tabs-experiments already compiled, instead of compiling
// them again here (a dev-dependency; see the workspace Cargo.toml).
use tabs_experiments as _;

mod adapters;
mod config;
mod disentangled_softmax;
mod forward_cli;
mod loader;
mod parity;
mod skew;
mod tokenizer;
