//! The `tabs` tests that compute in f64 (finite differences, exact values), one binary apart from `it`: burn 0.21
//! keeps one default float dtype per device and process (`burn_backend::get_device_settings`, keyed by the
//! device, not the backend), so `NdArray<f32>` and `NdArray<f64>` tests in one process would both run in
//! whichever dtype was used first.

#[path = "../it/common.rs"]
mod common;
mod formulas;
mod gradients;
mod matmul;
mod schedule;
