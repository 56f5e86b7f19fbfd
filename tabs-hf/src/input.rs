//! The inputs of an encoder forward pass, as HF models take them (`input_ids`, `attention_mask`,
//! `token_type_ids`); one type for every encoder crate.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// A padded batch: ids `[b, T]`, attention mask `[b, T]` (1 = real token, 0 = padding), optional token types
/// `[b, T]` (0 when absent, as HF's buffered zeros).
#[derive(Debug, Clone)]
pub struct EncoderInput<B: Backend> {
    /// Token ids.
    pub input_ids: Tensor<B, 2, Int>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Tensor<B, 2, Int>,
    /// Segment ids.
    pub token_type_ids: Option<Tensor<B, 2, Int>>,
}
