//! Where the model's parameters come from: a checkpoint's tensors or HF's fresh initialisation — the shared
//! implementation of [`tabs_hf::weights`], re-exported here.

pub use tabs_hf::weights::{IfMissing, Init, LoadReport, RawTensor, Weights};
