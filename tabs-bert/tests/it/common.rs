//! Shared helpers of the integration tests: fixture paths, reference tensors, batches.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use tabs_bert::BertInput;

/// f32 CPU backend.
pub type Cpu = tabs_hf::Cpu;

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A reference tensor: shape and values (f32 as f64, i64 as f64).
#[derive(Debug, Clone)]
pub struct Ref {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f64>,
}

/// Every tensor of a reference safetensors file.
pub fn read_reference(path: &Path) -> BTreeMap<String, Ref> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, v)| {
            let data: Vec<f64> = match v.dtype() {
                Dtype::F32 => v
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect(),
                Dtype::I64 => v
                    .data()
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
                other => panic!("unexpected dtype {other:?}"),
            };
            (
                name,
                Ref {
                    shape: v.shape().to_vec(),
                    data,
                },
            )
        })
        .collect()
}

fn ints<B: Backend>(r: &Ref, device: &B::Device) -> Tensor<B, 2, Int> {
    let v: Vec<i64> = r.data.iter().map(|&x| x as i64).collect();
    Tensor::from_data(TensorData::new(v, [r.shape[0], r.shape[1]]), device)
}

/// The model input stored in a reference file.
pub fn reference_input<B: Backend>(r: &BTreeMap<String, Ref>, device: &B::Device) -> BertInput<B> {
    BertInput {
        input_ids: ints(&r["input_ids"], device),
        attention_mask: ints(&r["attention_mask"], device),
        token_type_ids: Some(ints(&r["token_type_ids"], device)),
    }
}

/// Tensor values as f64.
pub fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

/// max |a − b| over all entries (shapes must agree).
pub fn max_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// max |a − b| over the real tokens of `[b, T, d]` hidden states, given the `[b, T]` attention mask.
pub fn max_err_real_tokens(a: &[f64], b: &[f64], mask: &[f64], d: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let mut worst = 0.0f64;
    for (pos, m) in mask.iter().enumerate() {
        if *m != 0.0 {
            for i in pos * d..(pos + 1) * d {
                worst = worst.max((a[i] - b[i]).abs());
            }
        }
    }
    worst
}

/// A synthetic padded batch: row b has `lengths[b]` real tokens with ids in [4, vocab).
pub fn batch<B: Backend>(lengths: &[usize], t: usize, vocab: usize) -> BertInput<B> {
    let dev = Default::default();
    let mut ids = vec![0i64; lengths.len() * t];
    let mut mask = vec![0i64; lengths.len() * t];
    for (b, &n) in lengths.iter().enumerate() {
        for i in 0..n {
            ids[b * t + i] = 4 + ((b * 31 + i * 17) % (vocab - 4)) as i64;
            mask[b * t + i] = 1;
        }
    }
    let shape = [lengths.len(), t];
    BertInput {
        input_ids: Tensor::from_data(TensorData::new(ids, shape), &dev),
        attention_mask: Tensor::from_data(TensorData::new(mask, shape), &dev),
        token_type_ids: None,
    }
}
