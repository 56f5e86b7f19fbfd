//! `--device cpu|wgpu|cuda`: the backend a command-line program runs on, chosen at run time and dispatched in
//! this one place. `wgpu` and `cuda` need the root package's features of the same names at build time; without
//! them the flag is a clear error, not a silent fallback to the CPU.

use anyhow::{bail, Result};
use burn::backend::NdArray;
use burn::tensor::backend::Backend;

/// A job generic over the backend (train jobs wrap it in `burn::backend::Autodiff<B>`).
pub trait OnDevice {
    /// What the job returns.
    type Output;
    /// Run on backend `B`'s default device.
    fn run<B: Backend>(self, device: B::Device) -> Result<Self::Output>;
}

/// Run `job` on the backend named by `--device` (`cpu`, `wgpu` or `cuda`).
pub fn on_device<J: OnDevice>(device: &str, job: J) -> Result<J::Output> {
    match device {
        "cpu" => job.run::<NdArray>(Default::default()),
        "wgpu" => wgpu(job),
        "cuda" => cuda(job),
        other => bail!("--device {other:?}: expected cpu, wgpu or cuda"),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu<J: OnDevice>(job: J) -> Result<J::Output> {
    job.run::<burn::backend::Wgpu>(Default::default())
}

#[cfg(not(feature = "wgpu"))]
fn wgpu<J: OnDevice>(_: J) -> Result<J::Output> {
    bail!("--device wgpu: this binary was built without the `wgpu` feature (cargo run --release --features wgpu ...)")
}

#[cfg(feature = "cuda")]
fn cuda<J: OnDevice>(job: J) -> Result<J::Output> {
    job.run::<burn::backend::Cuda>(Default::default())
}

#[cfg(not(feature = "cuda"))]
fn cuda<J: OnDevice>(_: J) -> Result<J::Output> {
    bail!("--device cuda: this binary was built without the `cuda` feature (cargo run --release --features cuda ...)")
}
