//! Length bucketing: property tests (every index exactly once, limits, determinism, sortedness) and the padding
//! it saves.

use proptest::prelude::*;
use tabs_experiments::bucket::{length_batches, padded_tokens, BucketConfig};

fn config() -> impl Strategy<Value = BucketConfig> {
    (1usize..40, prop::option::of(1usize..3000), 1usize..300, any::<bool>()).prop_map(
        |(batch_size, max_tokens, chunk_size, shuffle)| BucketConfig {
            batch_size,
            max_tokens,
            chunk_size,
            shuffle,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_index_once_within_limits(
        lengths in prop::collection::vec(0usize..600, 0..500),
        cfg in config(),
        seed in any::<u64>(),
    ) {
        let batches = length_batches(&lengths, &cfg, seed).unwrap();
        let mut seen = vec![0u32; lengths.len()];
        for b in &batches {
            prop_assert!(!b.is_empty());
            prop_assert!(b.len() <= cfg.batch_size);
            if let Some(m) = cfg.max_tokens {
                let longest = b.iter().map(|&i| lengths[i]).max().unwrap();
                prop_assert!(b.len() == 1 || b.len() * longest <= m, "batch {:?} pads to {} > {}", b, b.len() * longest, m);
            }
            for &i in b {
                seen[i] += 1;
            }
        }
        prop_assert!(seen.iter().all(|&c| c == 1));
        // Deterministic from the seed.
        prop_assert_eq!(&batches, &length_batches(&lengths, &cfg, seed).unwrap());
        // Within a batch the indices are sorted longest first (each batch comes from one sorted chunk).
        for b in &batches {
            prop_assert!(b.windows(2).all(|w| lengths[w[0]] >= lengths[w[1]]));
        }
    }

    #[test]
    fn unshuffled_single_chunk_is_globally_sorted(
        lengths in prop::collection::vec(0usize..100, 1..300),
        batch_size in 1usize..20,
    ) {
        let cfg = BucketConfig { batch_size, max_tokens: None, chunk_size: usize::MAX, shuffle: false };
        let batches = length_batches(&lengths, &cfg, 0).unwrap();
        let flat: Vec<usize> = batches.concat();
        prop_assert!(flat.windows(2).all(|w| lengths[w[0]] > lengths[w[1]] || (lengths[w[0]] == lengths[w[1]] && w[0] < w[1])));
        // All batches full except possibly the last.
        prop_assert!(batches[..batches.len() - 1].iter().all(|b| b.len() == batch_size));
    }
}

#[test]
fn bucketing_cuts_padding_and_seeds_differ() {
    // 2000 lengths spread over 1..512 (deterministic pseudo-random).
    let lengths: Vec<usize> = (0..2000u64)
        .map(|i| (i.wrapping_mul(2654435761) % 511 + 1) as usize)
        .collect();
    let real: usize = lengths.iter().sum();
    let random = BucketConfig {
        batch_size: 32,
        max_tokens: None,
        chunk_size: 32,
        shuffle: true,
    };
    let bucketed = BucketConfig {
        chunk_size: 32 * 50,
        ..random.clone()
    };
    let waste_random = padded_tokens(&lengths, &length_batches(&lengths, &random, 1).unwrap()) - real;
    let waste_bucketed = padded_tokens(&lengths, &length_batches(&lengths, &bucketed, 1).unwrap()) - real;
    assert!(
        waste_bucketed * 10 < waste_random,
        "bucketed waste {waste_bucketed} vs random {waste_random}"
    );
    assert_ne!(
        length_batches(&lengths, &bucketed, 1).unwrap(),
        length_batches(&lengths, &bucketed, 2).unwrap()
    );
    assert!(length_batches(
        &lengths,
        &BucketConfig {
            batch_size: 0,
            ..random.clone()
        },
        0
    )
    .is_err());
    assert!(length_batches(
        &lengths,
        &BucketConfig {
            chunk_size: 0,
            ..random.clone()
        },
        0
    )
    .is_err());
    assert!(length_batches(
        &lengths,
        &BucketConfig {
            max_tokens: Some(0),
            ..random
        },
        0
    )
    .is_err());
    assert!(length_batches(&[], &BucketConfig::new(8), 0).unwrap().is_empty());
}

// From `src/bucket.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod bucket_units {
    use tabs_experiments::bucket::*;

    #[test]
    fn unshuffled_is_sorted_longest_first() {
        let lengths = [3, 9, 1, 7, 7, 2];
        let cfg = BucketConfig {
            batch_size: 2,
            max_tokens: None,
            chunk_size: usize::MAX,
            shuffle: false,
        };
        let b = length_batches(&lengths, &cfg, 0).unwrap();
        assert_eq!(b, vec![vec![1, 3], vec![4, 0], vec![5, 2]]);
    }

    #[test]
    fn token_limit_and_oversized_singletons() {
        let lengths = [10, 4, 4, 4, 30];
        let cfg = BucketConfig {
            batch_size: 8,
            max_tokens: Some(12),
            chunk_size: usize::MAX,
            shuffle: false,
        };
        let b = length_batches(&lengths, &cfg, 0).unwrap();
        assert_eq!(b, vec![vec![4], vec![0], vec![1, 2, 3]]);
    }
}
