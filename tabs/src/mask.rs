//! Which tokens are real: the padding mask, the lengths T_b and the budgets B(T_b) of a batch, computed once
//! per forward pass and shared by every layer.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::budget::BudgetConfig;

/// The real-token mask of a batch with its lengths and budgets.
#[derive(Debug, Clone)]
pub struct TokenMask<B: Backend> {
    /// 1.0 at real tokens, 0.0 at padding: `[batch, T]`.
    pub mask: Tensor<B, 2>,
    /// T_b, real tokens per sequence (host copy).
    pub lengths: Vec<usize>,
    /// T_b as floats: `[batch]`.
    pub lengths_t: Tensor<B, 1>,
    /// B(T_b) per sequence (host copy).
    pub budgets: Vec<usize>,
    /// B(T_b) as floats: `[batch]`.
    pub budgets_t: Tensor<B, 1>,
}

impl<B: Backend> TokenMask<B> {
    /// From an attention mask `[batch, T]` (any int values; non-zero = real token, as in HuggingFace).
    pub fn from_attention_mask(attention_mask: Tensor<B, 2, Int>, budget: &BudgetConfig) -> Self {
        Self::from_float_mask(attention_mask.not_equal_elem(0).float(), budget)
    }

    /// From a float mask `[batch, T]` (non-zero = real token).
    pub fn from_float_mask(mask: Tensor<B, 2>, budget: &BudgetConfig) -> Self {
        let mask = mask.not_equal_elem(0.0).float();
        let [b, t] = mask.dims();
        let data = mask
            .to_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("a float tensor converts to f32");
        let lengths: Vec<usize> = (0..b)
            .map(|i| data[i * t..(i + 1) * t].iter().filter(|x| **x != 0.0).count())
            .collect();
        Self::build(mask, lengths, budget)
    }

    /// From lengths: the first T_b positions of each row are real (right padding to `max_len`).
    pub fn from_lengths(lengths: &[usize], max_len: usize, budget: &BudgetConfig, device: &B::Device) -> Self {
        let mut data = vec![0f32; lengths.len() * max_len];
        for (b, &len) in lengths.iter().enumerate() {
            for x in data[b * max_len..b * max_len + len.min(max_len)].iter_mut() {
                *x = 1.0;
            }
        }
        let mask = Tensor::from_data(TensorData::new(data, [lengths.len(), max_len]), device);
        let lengths = lengths.iter().map(|&l| l.min(max_len)).collect();
        Self::build(mask, lengths, budget)
    }

    fn build(mask: Tensor<B, 2>, lengths: Vec<usize>, budget: &BudgetConfig) -> Self {
        let device = mask.device();
        let budgets: Vec<usize> = lengths.iter().map(|&l| budget.budget(l)).collect();
        let to_t = |v: &[usize]| {
            Tensor::<B, 1>::from_data(
                TensorData::new(v.iter().map(|&x| x as f32).collect::<Vec<_>>(), [v.len()]),
                &device,
            )
        };
        Self {
            lengths_t: to_t(&lengths),
            budgets_t: to_t(&budgets),
            mask,
            lengths,
            budgets,
        }
    }

    /// Batch size.
    pub fn batch(&self) -> usize {
        self.lengths.len()
    }

    /// Padded length T.
    pub fn max_len(&self) -> usize {
        self.mask.dims()[1]
    }
}
