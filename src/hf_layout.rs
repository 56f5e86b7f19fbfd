//! A [`Backbone`]'s tensors under HuggingFace names and in PyTorch layout — what the peft import/export and the
//! merged export share.
//!
//! - Names: the encoder lives under `deberta.` / `bert.` ([`model_prefix`]); the adaptable maps are
//!   `{prefix}encoder.layer.N.attention.self.{query,key,value}[_proj]`, `…attention.output.dense`,
//!   `…intermediate.dense`, `…output.dense` (`Backbone::maps` names them without the prefix); the heads are
//!   `classifier.*` and the pooler `pooler.dense.*` (DeBERTa's `ContextPooler`, top level) or
//!   `bert.pooler.dense.*` (BERT's, inside the encoder) ([`pooler_key`]).
//! - Layout: a PyTorch `nn.Linear` weight is `[d_out, d_in]`, Burn's `Linear` weight its transpose `[d_in, d_out]`;
//!   [`from_pytorch`] and [`to_pytorch`] transpose on the host (exact: values are only moved).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use tabs::{Adaptable, AdaptedLinear};
use tabs_hf::RawTensor;

use crate::backbone::Backbone;

/// `deberta.` or `bert.`: where HF's `…ForSequenceClassification` keeps the encoder.
pub fn model_prefix<B: Backend>(net: &Backbone<B>) -> &'static str {
    match net {
        Backbone::Deberta(_) => "deberta.",
        Backbone::Bert(_) => "bert.",
    }
}

/// The pooler's HF module name: `pooler.dense` (DeBERTa) or `bert.pooler.dense` (BERT).
pub fn pooler_key<B: Backend>(net: &Backbone<B>) -> &'static str {
    match net {
        Backbone::Deberta(_) => "pooler.dense",
        Backbone::Bert(_) => "bert.pooler.dense",
    }
}

/// The `architectures` entry of a merged checkpoint.
pub fn architecture<B: Backend>(net: &Backbone<B>) -> &'static str {
    match net {
        Backbone::Deberta(_) => "DebertaV2ForSequenceClassification",
        Backbone::Bert(_) => "BertForSequenceClassification",
    }
}

/// Every adaptable map, mutable, with its name without the model prefix (`encoder.layer.N.…`).
pub fn maps_mut<B: Backend>(net: &mut Backbone<B>) -> Vec<(String, &mut AdaptedLinear<B>)> {
    match net {
        Backbone::Deberta(m) => m.encoder.adaptable_maps_mut(),
        Backbone::Bert(m) => m.encoder.adaptable_maps_mut(),
    }
}

/// (pooler dense, classifier), mutable.
pub fn heads_mut<B: Backend>(net: &mut Backbone<B>) -> (&mut Linear<B>, &mut Linear<B>) {
    match net {
        Backbone::Deberta(m) => (&mut m.pooler, &mut m.classifier),
        Backbone::Bert(m) => (&mut m.pooler, &mut m.classifier),
    }
}

/// A PyTorch-layout matrix `[rows, cols]` as a Burn tensor `[cols, rows]` (its transpose, contiguous).
pub fn from_pytorch<B: Backend>(t: &RawTensor, device: &B::Device) -> Tensor<B, 2> {
    let (rows, cols) = (t.shape[0], t.shape[1]);
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = t.data[r * cols + c];
        }
    }
    Tensor::from_data(TensorData::new(out, [cols, rows]), device)
}

/// A 1-D tensor from its values.
pub fn vector<B: Backend>(t: &RawTensor, device: &B::Device) -> Tensor<B, 1> {
    Tensor::from_data(TensorData::new(t.data.clone(), [t.data.len()]), device)
}

/// The values of a tensor as f32 on the host.
pub fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("a float tensor converts to f32")
}

/// A Burn matrix `[rows, cols]` in PyTorch layout: its transpose `[cols, rows]`.
pub fn to_pytorch<B: Backend>(t: Tensor<B, 2>) -> RawTensor {
    let [rows, cols] = t.dims();
    let v = values(t);
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    RawTensor {
        shape: vec![cols, rows],
        data: out,
    }
}

/// A 1-D Burn tensor as a raw tensor.
pub fn raw_vector<B: Backend>(t: Tensor<B, 1>) -> RawTensor {
    let v = values(t);
    RawTensor {
        shape: vec![v.len()],
        data: v,
    }
}

/// A `Linear`'s weight `{name}.weight` (PyTorch layout) and bias `{name}.bias` into `out`.
pub fn put_linear<B: Backend>(out: &mut BTreeMap<String, RawTensor>, name: &str, l: &Linear<B>) {
    out.insert(format!("{name}.weight"), to_pytorch(l.weight.val()));
    if let Some(b) = &l.bias {
        out.insert(format!("{name}.bias"), raw_vector(b.val()));
    }
}

/// Replace a `Linear`'s weight with PyTorch-layout `weight` `[d_out, d_in]` and its bias with `bias` `[d_out]`.
pub fn set_linear<B: Backend>(l: &mut Linear<B>, weight: &RawTensor, bias: Option<&RawTensor>, device: &B::Device) {
    l.weight = Param::from_tensor(from_pytorch(weight, device));
    if let Some(b) = bias {
        l.bias = Some(Param::from_tensor(vector(b, device)));
    }
}

/// Write f32 tensors as a `.safetensors` file with metadata `{"format": "pt"}` (what transformers and peft
/// write, and what transformers checks on load), atomically.
pub fn write_safetensors(path: &Path, tensors: &BTreeMap<String, RawTensor>) -> Result<()> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, t)| {
            let raw = t.data.iter().flat_map(|x| x.to_le_bytes()).collect();
            (k.clone(), t.shape.clone(), raw)
        })
        .collect();
    let mut views = Vec::with_capacity(bytes.len());
    for (k, shape, raw) in &bytes {
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), raw)
            .with_context(|| format!("{}: tensor `{k}`", path.display()))?;
        views.push((k.clone(), view));
    }
    let metadata = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    let blob = safetensors::serialize(views, Some(metadata)).with_context(|| format!("writing {}", path.display()))?;
    tabs::io::write_atomic(path, &blob)?;
    Ok(())
}
