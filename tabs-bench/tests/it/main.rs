//! The integration tests of this crate, one binary (each file a module): linking one test binary instead of
//! one per file is most of the build time of `cargo test`.

mod bench;
mod trained;
