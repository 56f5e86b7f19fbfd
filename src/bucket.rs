//! Batching by length: example indices grouped into batches of similar length, so little of a padded batch is
//! padding.
//!
//! Algorithm ([`length_batches`]):
//! 1. order the indices: shuffled with `StdRng::seed_from_u64(seed)` when `shuffle`, else `0..n`;
//! 2. cut the order into consecutive chunks of `chunk_size` indices (the "buckets");
//! 3. sort each chunk by length, longest first (stable: equal lengths keep their order);
//! 4. walk each sorted chunk and close the current batch before an index that would break a limit: the batch
//!    holds `batch_size` indices, or adding the index would make the padded size count · longest exceed
//!    `max_tokens` (the first index of a batch is its longest, so the padded size of a batch of c indices is
//!    c · length(first)). An index longer than `max_tokens` by itself forms a batch of one (no example is ever
//!    dropped);
//! 5. when `shuffle`, shuffle the order of the batches (same RNG, continued).
//!
//! Every index in `0..lengths.len()` appears in exactly one batch; the result depends only on the lengths, the
//! configuration and the seed.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data_error::DataError;

/// Settings of [`length_batches`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketConfig {
    /// Most indices in a batch (≥ 1).
    pub batch_size: usize,
    /// Most padded tokens in a batch (count · longest length), if limited. A single over-long example still
    /// forms its own batch.
    pub max_tokens: Option<usize>,
    /// Indices sorted together (≥ 1); larger chunks give tighter batches and less randomness. A common choice is
    /// 50–100 × `batch_size`; `usize::MAX` sorts everything.
    pub chunk_size: usize,
    /// Shuffle the indices before chunking and the batches afterwards (training); `false` gives a fixed,
    /// length-sorted order (evaluation).
    pub shuffle: bool,
}

impl BucketConfig {
    /// `batch_size` indices per batch, chunks of 100 batches, shuffled, no token limit.
    pub fn new(batch_size: usize) -> Self {
        BucketConfig {
            batch_size,
            max_tokens: None,
            chunk_size: batch_size.saturating_mul(100),
            shuffle: true,
        }
    }
}

/// Groups `0..lengths.len()` into batches of similar length (see the module documentation).
pub fn length_batches(lengths: &[usize], config: &BucketConfig, seed: u64) -> Result<Vec<Vec<usize>>, DataError> {
    if config.batch_size == 0 {
        return Err(DataError::InvalidArgument("bucket: batch_size must be ≥ 1".into()));
    }
    if config.chunk_size == 0 {
        return Err(DataError::InvalidArgument("bucket: chunk_size must be ≥ 1".into()));
    }
    if config.max_tokens == Some(0) {
        return Err(DataError::InvalidArgument("bucket: max_tokens must be ≥ 1".into()));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    if config.shuffle {
        order.shuffle(&mut rng);
    }
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for chunk in order.chunks_mut(config.chunk_size.min(lengths.len().max(1))) {
        chunk.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
        let mut current: Vec<usize> = Vec::new();
        let mut longest = 0usize;
        for &index in chunk.iter() {
            if current.is_empty() {
                longest = lengths[index];
            } else {
                let full = current.len() >= config.batch_size;
                let too_many_tokens = config
                    .max_tokens
                    .is_some_and(|m| (current.len() + 1).saturating_mul(longest) > m);
                if full || too_many_tokens {
                    batches.push(std::mem::take(&mut current));
                    longest = lengths[index];
                }
            }
            current.push(index);
        }
        if !current.is_empty() {
            batches.push(current);
        }
    }
    if config.shuffle {
        batches.shuffle(&mut rng);
    }
    Ok(batches)
}

/// Total padded size Σ_batches count · longest of `batches` (a measure of padding waste).
pub fn padded_tokens(lengths: &[usize], batches: &[Vec<usize>]) -> usize {
    batches
        .iter()
        .map(|b| b.len() * b.iter().map(|&i| lengths[i]).max().unwrap_or(0))
        .sum()
}
