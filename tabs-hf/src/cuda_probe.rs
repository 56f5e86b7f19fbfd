//! Is there a CUDA device to run on? Asked before `--device cuda` builds anything, so that a machine without a GPU
//! or without its driver gets one error line instead of a panic: cubecl panics in its device thread when libcuda
//! cannot be loaded (and the caller then on the closed channel). The probe catches that, with the panic messages
//! kept off the terminal. Every program with `--device cuda` (the root package's, `tabs-bench`,
//! `tabs-deberta`'s examples) asks here.

use burn::tensor::backend::Backend;

/// Why there is no CUDA device to run on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoCuda {
    /// The driver loaded and counts no device.
    #[error("--device cuda: the CUDA driver reports no GPU")]
    NoGpu,
    /// libcuda could not be loaded or initialised.
    #[error(
        "--device cuda: no usable CUDA driver (libcuda could not be loaded or initialised; is there an NVIDIA GPU \
         and its driver?)"
    )]
    NoDriver,
}

/// The number of CUDA devices (≥ 1), or why there is none.
pub fn cuda_device_count() -> Result<usize, NoCuda> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let count = std::panic::catch_unwind(|| <burn::backend::Cuda as Backend>::device_count(0));
    std::panic::set_hook(hook);
    match count {
        Ok(0) => Err(NoCuda::NoGpu),
        Ok(n) => Ok(n),
        Err(_) => Err(NoCuda::NoDriver),
    }
}
