//! Reading HF checkpoint folders: the files and tensors through [`tabs_hf::checkpoint`], the config as
//! [`DebertaConfig`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use tabs_hf::checkpoint::{read_tensors, CheckpointFiles};

use crate::config::DebertaConfig;
use crate::error::Result;
use crate::weights::RawTensor;

/// Read the config and all tensors of a folder; returns the config, the weights file and its tensors.
pub fn read_dir(dir: &Path) -> Result<(DebertaConfig, PathBuf, BTreeMap<String, RawTensor>)> {
    let files = CheckpointFiles::in_dir(dir)?;
    let config = DebertaConfig::from_file(&files.config)?;
    let tensors = read_tensors(&files.weights)?;
    Ok((config, files.weights, tensors))
}
