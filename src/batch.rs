//! Encoded examples and their batches: token ids (already tokenised), token types and a label; a batcher pads
//! a bucket of similar-length examples to its longest row and builds the model input.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::backbone::EncoderInput;

/// A label for training: a class or a regression target.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Target {
    /// Class id.
    Class(usize),
    /// Regression target.
    Score(f32),
}

/// One tokenised example.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Token ids including special tokens.
    pub input_ids: Vec<u32>,
    /// Segment ids (same length).
    pub token_type_ids: Vec<u32>,
    /// The gold label.
    pub target: Target,
}

/// A padded batch: model input `[b, T]`, class targets `[b]` and regression targets `[b, 1]`.
#[derive(Debug, Clone)]
pub struct TaskBatch<B: Backend> {
    /// Model input.
    pub input: EncoderInput<B>,
    /// Class ids (0 for regression examples).
    pub classes: Tensor<B, 1, Int>,
    /// Regression targets (0 for classification examples).
    pub scores: Tensor<B, 2>,
    /// This batch's share `n_i / n` of the global batch it belongs to (1 on one device). Training scales the loss
    /// by it before `backward`, so that the gradients the devices of a data-parallel step add up are the global
    /// batch's mean gradient (see [`crate::data_parallel`]).
    pub share: f32,
}

/// One data-loader item: a bucket of similar-length examples (a whole batch, or one device's part of it) and
/// its share of the global batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// The examples.
    pub examples: Vec<Encoded>,
    /// `n_i / n`: this bucket's examples over the global batch's.
    pub share: f32,
}

impl Bucket {
    /// A whole batch (share 1).
    pub fn whole(examples: Vec<Encoded>) -> Self {
        Bucket { examples, share: 1.0 }
    }
}

/// Pads a bucket (the dataset's items are whole buckets, so the data loader's batch size is 1).
#[derive(Debug, Clone, Copy, Default)]
pub struct BucketBatcher;

impl<B: Backend> Batcher<B, Bucket, TaskBatch<B>> for BucketBatcher {
    fn batch(&self, items: Vec<Bucket>, device: &B::Device) -> TaskBatch<B> {
        let share = items.iter().map(|b| b.share).sum();
        let items: Vec<Encoded> = items.into_iter().flat_map(|b| b.examples).collect();
        TaskBatch {
            share,
            ..make_batch(&items, device)
        }
    }
}

/// Pad examples to the longest (pad id 0, mask 0) and build tensors.
pub fn make_batch<B: Backend>(items: &[Encoded], device: &B::Device) -> TaskBatch<B> {
    let b = items.len();
    let t = items.iter().map(|e| e.input_ids.len()).max().unwrap_or(1).max(1);
    let mut ids = vec![0i64; b * t];
    let mut types = vec![0i64; b * t];
    let mut mask = vec![0i64; b * t];
    let mut classes = vec![0i64; b];
    let mut scores = vec![0f32; b];
    for (i, e) in items.iter().enumerate() {
        for (j, (&id, &tt)) in e.input_ids.iter().zip(&e.token_type_ids).enumerate() {
            ids[i * t + j] = id as i64;
            types[i * t + j] = tt as i64;
            mask[i * t + j] = 1;
        }
        match e.target {
            Target::Class(c) => classes[i] = c as i64,
            Target::Score(s) => scores[i] = s,
        }
    }
    let int2 = |v: Vec<i64>| Tensor::<B, 2, Int>::from_data(TensorData::new(v, [b, t]), device);
    TaskBatch {
        input: EncoderInput {
            input_ids: int2(ids),
            attention_mask: int2(mask),
            token_type_ids: Some(int2(types)),
        },
        classes: Tensor::from_data(TensorData::new(classes, [b]), device),
        scores: Tensor::from_data(TensorData::new(scores, [b, 1]), device),
        share: 1.0,
    }
}
