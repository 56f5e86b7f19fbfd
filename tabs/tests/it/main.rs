//! The `tabs` integration tests in f32, one binary (each file a module; linking one binary instead of one per
//! file is most of the build time of `cargo test -p tabs`). The f64 tests are the `f64` binary.

mod budget;
mod common;
mod elementary;
mod inject;
mod io;
mod learning;
mod method;
