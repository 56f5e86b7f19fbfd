//! Reading HF checkpoint folders: `config.json` + `model.safetensors` (F32 / F16 / BF16 / F64 / I64) or
//! `pytorch_model.bin` (PyTorch zip or legacy pickle, through burn-store's reader). Tensors are kept in PyTorch
//! layout under their HF keys; [`crate::weights::Weights`] maps them onto a model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn_store::pytorch::PytorchReader;
use safetensors::{Dtype, SafeTensors};

use crate::error::{HfError, Result};
use crate::weights::RawTensor;

/// The files of a checkpoint folder.
#[derive(Debug, Clone)]
pub struct CheckpointFiles {
    /// `config.json`.
    pub config: PathBuf,
    /// `model.safetensors` or `pytorch_model.bin`.
    pub weights: PathBuf,
}

impl CheckpointFiles {
    /// Find the files of a folder (safetensors preferred).
    pub fn in_dir(dir: &Path) -> Result<Self> {
        let config = dir.join("config.json");
        if !config.is_file() {
            return Err(HfError::Io {
                path: config,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "config.json not found"),
            });
        }
        let st = dir.join("model.safetensors");
        let bin = dir.join("pytorch_model.bin");
        let weights = if st.is_file() {
            st
        } else if bin.is_file() {
            bin
        } else {
            return Err(HfError::NoCheckpoint { dir: dir.to_path_buf() });
        };
        Ok(Self { config, weights })
    }
}

/// Read every tensor of a `.safetensors` or PyTorch `.bin` file, converted to f32.
pub fn read_tensors(path: &Path) -> Result<BTreeMap<String, RawTensor>> {
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    if is_safetensors {
        read_safetensors(path)
    } else {
        read_pytorch(path)
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> HfError {
    HfError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, RawTensor>> {
    let bytes = std::fs::read(path).map_err(|source| HfError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(path, e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
                .collect(),
            Dtype::I64 => raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
                .collect(),
            other => return Err(bad(path, format!("tensor `{name}` has unsupported dtype {other:?}"))),
        };
        out.insert(
            name.to_string(),
            RawTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(out)
}

fn read_pytorch(path: &Path) -> Result<BTreeMap<String, RawTensor>> {
    if !path.is_file() {
        return Err(HfError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        });
    }
    let reader = PytorchReader::new(path).map_err(|e| bad(path, e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, snapshot) in reader.into_tensors() {
        let data = snapshot
            .to_data()
            .map_err(|e| bad(path, format!("tensor `{name}`: {e:?}")))?;
        let shape = data.shape.to_vec();
        let values = data
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|e| bad(path, format!("tensor `{name}`: {e:?}")))?;
        out.insert(name, RawTensor { shape, data: values });
    }
    Ok(out)
}

/// Read the config and all tensors of a checkpoint folder: the validated config `C`, the weights file and its
/// tensors (in f32).
pub fn read_dir<C: crate::Architecture>(
    dir: &Path,
) -> std::result::Result<(C, PathBuf, BTreeMap<String, RawTensor>), crate::ModelError> {
    let files = CheckpointFiles::in_dir(dir)?;
    let config = C::from_file(&files.config)?;
    let tensors = read_tensors(&files.weights)?;
    Ok((config, files.weights, tensors))
}
