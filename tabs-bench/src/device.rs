//! `--device cpu|wgpu|cuda`: the backend a subcommand runs on. WGPU and CUDA need the binary built with
//! `--features wgpu` / `--features cuda` (as the root package's examples); without it the choice is an error
//! that says so.

use std::fmt;
use std::str::FromStr;

/// A device choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// The CPU backend, [`tabs_hf::Cpu`] (burn-flex; always available).
    Cpu,
    /// burn-wgpu (feature `wgpu`).
    Wgpu,
    /// burn-cuda (feature `cuda`).
    Cuda,
}

impl FromStr for DeviceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(DeviceKind::Cpu),
            "wgpu" => Ok(DeviceKind::Wgpu),
            "cuda" => Ok(DeviceKind::Cuda),
            other => Err(format!("--device {other:?}: expected cpu, wgpu or cuda")),
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        })
    }
}

impl DeviceKind {
    /// Whether this binary can run on the device (its backend feature was enabled at build time).
    pub fn compiled(self) -> bool {
        match self {
            DeviceKind::Cpu => true,
            DeviceKind::Wgpu => cfg!(feature = "wgpu"),
            DeviceKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// Ok, or the error a user sees when the backend was not compiled in.
    pub fn check(self) -> Result<(), String> {
        if !self.compiled() {
            return Err(format!(
                "--device {self}: this binary was built without the `{self}` feature \
                 (cargo run --release -p tabs-bench --features {self} -- ...)"
            ));
        }
        #[cfg(feature = "cuda")]
        if self == DeviceKind::Cuda {
            tabs_experiments::device::cuda_device_count().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The device in words, for result files.
    pub fn describe(self) -> String {
        match self {
            DeviceKind::Cpu => format!(
                "cpu (burn-flex, {} threads)",
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
            ),
            DeviceKind::Wgpu => "wgpu (burn-wgpu, default adapter)".into(),
            DeviceKind::Cuda => "cuda (burn-cuda, device 0)".into(),
        }
    }
}
