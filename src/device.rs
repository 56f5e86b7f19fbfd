//! `--device cpu|wgpu|cuda` and `--devices`: the backend a command-line program runs on and, for training, the
//! devices of that backend that train data parallel, chosen at run time and dispatched in this one place. `wgpu`
//! and `cuda` need the root package's features of the same names at build time; without them the flag is a clear
//! error, not a silent fallback to the CPU.

use std::str::FromStr;

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use tabs_hf::Cpu;

/// A job generic over the backend (train jobs wrap it in `burn::backend::Autodiff<B>`).
pub trait OnDevice {
    /// What the job returns.
    type Output;
    /// Run on backend `B`'s default device.
    fn run<B: Backend>(self, device: B::Device) -> Result<Self::Output>;
}

/// A job that may use several devices of one backend (training, data parallel).
pub trait OnDevices {
    /// What the job returns.
    type Output;
    /// Run on `devices` (non-empty; the first is the main device) of backend `B`.
    fn run<B: TrainBackend>(self, devices: Vec<B::Device>) -> Result<Self::Output>;
}

/// `--devices`: which devices of the backend train.
///
/// * `1` (the default): the backend's default device, as without the flag;
/// * `N` ≥ 2: devices `0 … N−1`;
/// * `all`: every device the backend reports;
/// * `I,J,…`: those indices, each optionally written `backend:index` (`cuda:0,cuda:1`).
///
/// The CPU backend ([`tabs_hf::Cpu`], burn-flex) has one device; `--devices N` there runs N training workers on it, which checks
/// the data-parallel path without a GPU but gains no speed (the CPU's cores are already shared by each matmul).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Devices {
    /// The backend's default device.
    #[default]
    One,
    /// Devices `0 … n−1` (n ≥ 2).
    Count(usize),
    /// Every device the backend reports.
    All,
    /// These indices, in this order (the first is the main device), and the backend named with them, if any.
    List(Vec<usize>, Option<String>),
}

impl FromStr for Devices {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "all" {
            return Ok(Devices::All);
        }
        if let Ok(n) = s.parse::<usize>() {
            return match n {
                0 => Err("expected at least 1 device".into()),
                1 => Ok(Devices::One),
                n => Ok(Devices::Count(n)),
            };
        }
        let mut backend: Option<String> = None;
        let mut indices = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let (name, index) = match part.split_once(':') {
                Some((name, index)) => (Some(name), index),
                None => (None, part),
            };
            let index: usize = index.parse().map_err(|_| {
                format!("{part:?} is not a device: expected a count, `all`, or indices such as 0,1 or cuda:0,cuda:1")
            })?;
            if let Some(name) = name {
                if backend.as_deref().is_some_and(|b| b != name) {
                    return Err(format!("{s:?} names two backends"));
                }
                backend = Some(name.to_string());
            }
            if indices.contains(&index) {
                return Err(format!("device {index} is listed twice"));
            }
            indices.push(index);
        }
        Ok(Devices::List(indices, backend))
    }
}

impl Devices {
    /// The device indices for a backend with `available` devices (`available` is only asked for when needed);
    /// `replicas` allows indices past the backend's count (the CPU backend: N workers on its one device).
    pub fn indices(&self, backend: &str, available: impl Fn() -> usize, replicas: bool) -> Result<Option<Vec<usize>>> {
        let indices: Vec<usize> = match self {
            Devices::One => return Ok(None),
            Devices::Count(n) => (0..*n).collect(),
            Devices::All => (0..available()).collect(),
            Devices::List(list, _) => list.clone(),
        };
        if indices.is_empty() {
            bail!("--devices all: the {backend} backend reports no device");
        }
        if !replicas {
            let n = available();
            if let Some(i) = indices.iter().find(|&&i| i >= n) {
                bail!(
                    "--devices: device {i} does not exist; the {backend} backend has {n} (indices 0 … {})",
                    n.max(1) - 1
                );
            }
        }
        Ok(Some(indices))
    }
}

/// `--device` and `--devices`, shared by the training programs (`glue`, `lra`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DeviceArgs {
    /// cpu, wgpu or cuda (the latter two need `--features wgpu|cuda` at build time) [default: cpu, or the
    /// backend `--devices` names].
    #[arg(long)]
    pub device: Option<String>,
    /// Train data parallel on several devices of that backend: a count (2 = devices 0 and 1), `all`, or indices
    /// (0,1 or cuda:0,cuda:1). --batch-size stays the global batch: each step splits it across the devices.
    #[arg(long, default_value = "1")]
    pub devices: Devices,
}

impl DeviceArgs {
    /// How many devices the flags name, when that is known without asking the backend (`all` is not).
    pub fn count(&self) -> Option<usize> {
        match &self.devices {
            Devices::One => Some(1),
            Devices::Count(n) => Some(*n),
            Devices::All => None,
            Devices::List(indices, _) => Some(indices.len()),
        }
    }

    /// The backend: `--device`, else the one `--devices` names, else `cpu`; an error if the two disagree.
    pub fn backend(&self) -> Result<&str> {
        let named = match &self.devices {
            Devices::List(_, backend) => backend.as_deref(),
            _ => None,
        };
        match (self.device.as_deref(), named) {
            (Some(d), Some(n)) if d != n => bail!("--devices names backend {n:?} but --device is {d:?}"),
            (Some(d), _) => Ok(d),
            (None, Some(n)) => Ok(n),
            (None, None) => Ok("cpu"),
        }
    }
}

/// The main device of a run: the first of `devices` (an error if there is none).
pub fn main_device<D>(devices: &[D]) -> Result<&D> {
    devices
        .first()
        .ok_or_else(|| anyhow::anyhow!("no device given to run on"))
}

/// Run `job` on the backend named by `--device` (`cpu`, `wgpu` or `cuda`), on its default device.
pub fn on_device<J: OnDevice>(device: &str, job: J) -> Result<J::Output> {
    match device {
        "cpu" => job.run::<Cpu>(Default::default()),
        #[cfg(feature = "wgpu")]
        "wgpu" => job.run::<burn::backend::Wgpu>(Default::default()),
        #[cfg(feature = "cuda")]
        "cuda" => {
            cuda_device_count()?;
            job.run::<burn::backend::Cuda>(Default::default())
        }
        other => Err(unavailable(other, false)),
    }
}

/// The backends a training job can run on: every backend, or with the `ddp` feature those burn's distributed
/// autodiff accepts (`Autodiff<B>` then needs `B: DistributedBackend`, which the CPU backend is not).
#[cfg(not(feature = "ddp"))]
pub trait TrainBackend: Backend {}
#[cfg(not(feature = "ddp"))]
impl<B: Backend> TrainBackend for B {}
/// The backends a training job can run on: with the `ddp` feature, those burn's distributed autodiff accepts.
#[cfg(feature = "ddp")]
pub trait TrainBackend: Backend + burn::tensor::backend::distributed::DistributedBackend {}
#[cfg(feature = "ddp")]
impl<B: Backend + burn::tensor::backend::distributed::DistributedBackend> TrainBackend for B {}

/// Run the training `job` on the backend and devices `args` name.
pub fn on_devices<J: OnDevices>(args: &DeviceArgs, job: J) -> Result<J::Output> {
    let backend = args.backend()?;
    match backend {
        #[cfg(not(feature = "ddp"))]
        "cpu" => {
            let n = args.devices.indices("cpu", || 1, true)?.map_or(1, |i| i.len());
            job.run::<Cpu>(vec![Default::default(); n])
        }
        #[cfg(feature = "wgpu")]
        "wgpu" => {
            use burn::backend::wgpu::WgpuDevice;
            type W = burn::backend::Wgpu;
            // Indexed devices are discrete GPUs (cubecl's device type 0); one device is wgpu's best available.
            let devices = match args
                .devices
                .indices("wgpu", || <W as Backend>::device_count(0), false)?
            {
                None => vec![WgpuDevice::default()],
                Some(indices) => indices.into_iter().map(WgpuDevice::DiscreteGpu).collect(),
            };
            job.run::<W>(devices)
        }
        #[cfg(feature = "cuda")]
        "cuda" => {
            use burn::backend::cuda::CudaDevice;
            let count = cuda_device_count()?;
            let devices = match args.devices.indices("cuda", || count, false)? {
                None => vec![CudaDevice::default()],
                Some(indices) => indices.into_iter().map(CudaDevice::new).collect(),
            };
            job.run::<burn::backend::Cuda>(devices)
        }
        other => Err(unavailable(other, true)),
    }
}

/// The number of CUDA devices, or an error when there is none or the CUDA driver cannot be loaded (one line, not
/// cubecl's panic: [`tabs_hf::cuda_probe`]).
#[cfg(feature = "cuda")]
pub fn cuda_device_count() -> Result<usize> {
    Ok(tabs_hf::cuda_probe::cuda_device_count()?)
}

/// Why `--device NAME` cannot run in this binary: not built with the backend's feature, an unknown name, or
/// (`training` with the `ddp` feature) the CPU backend.
fn unavailable(name: &str, training: bool) -> anyhow::Error {
    match name {
        "cpu" if training => anyhow::anyhow!(
            "--device cpu: this binary was built with the `ddp` feature, with which burn's autodiff trains on CUDA \
             or WGPU only; build without it to train on the CPU"
        ),
        "wgpu" | "cuda" => anyhow::anyhow!(
            "--device {name}: this binary was built without the `{name}` feature (cargo run --release --features \
             {name} ...)"
        ),
        other => anyhow::anyhow!("--device {other:?}: expected cpu, wgpu or cuda"),
    }
}
