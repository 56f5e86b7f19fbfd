//! Data-parallel training (`--devices`, issue 15) without a GPU: burn-train's multi-device strategy over two
//! (three) workers on the CPU backend. With the same global batch, two devices take the same optimiser steps as
//! one: the trained LoRA adapter agrees to rounding and the dev metrics are equal. Uneven splits, TABS and
//! `--resume` work with several devices; too small a batch is refused before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use burn::backend::Autodiff;
use safetensors::SafeTensors;
use tabs_experiments::method::Method;
use tabs_experiments::run::{run_glue, GlueRun, Results};
use tabs_experiments::train::TrainConfig;

use crate::train::{cfg, SERIAL};

type B = Autodiff<tabs_hf::Cpu>;

/// The demo model without dropout (so a LoRA run is deterministic), in a fresh folder.
fn deterministic_model(tmp: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo/model");
    let dir = tmp.join("model");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    config["hidden_dropout_prob"] = 0.0.into();
    config["attention_probs_dropout_prob"] = 0.0.into();
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    dir
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tabs-dp-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `run_glue` on the demo task with `model`, on `devices` CPU workers.
fn try_run(
    c: &TrainConfig,
    model: &Path,
    out: PathBuf,
    max_train: usize,
    devices: usize,
    resume: bool,
) -> Result<Results> {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let run = GlueRun {
        model: model.to_path_buf(),
        data: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo"),
        out,
        resume,
        max_train: Some(max_train),
        latency_samples: 1,
    };
    run_glue::<B>(c, &run, &vec![Default::default(); devices])
}

fn run_on(c: &TrainConfig, model: &Path, out: PathBuf, max_train: usize, devices: usize, resume: bool) -> Results {
    try_run(c, model, out, max_train, devices, resume).unwrap_or_else(|e| panic!("{devices} devices: {e:#}"))
}

/// The adapter's tensors by name.
fn adapter(out: &Path) -> BTreeMap<String, Vec<f32>> {
    let bytes = std::fs::read(out.join("adapter/adapter.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let v = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, v)
        })
        .collect()
}

#[test]
fn two_devices_take_the_steps_of_one() {
    let dir = tmp("same");
    let model = deterministic_model(&dir);
    // 160 examples = 10 global batches of 16; two devices take 8 each per step.
    let c = cfg(Method::Lora, 3);
    let one = run_on(&c, &model, dir.join("one"), 160, 1, false);
    let two = run_on(&c, &model, dir.join("two"), 160, 2, false);
    let (a, b) = (adapter(&dir.join("one")), adapter(&dir.join("two")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let mut worst = 0f32;
    let mut moved = 0f32;
    for (name, x) in &a {
        for (p, q) in x.iter().zip(&b[name]) {
            worst = worst.max((p - q).abs());
            moved = moved.max(p.abs());
        }
    }
    // 30 AdamW steps; the two runs differ only in the order of float additions (a mean over 16 against two
    // means over 8, halved and added).
    eprintln!("two devices vs one: adapters differ by at most {worst} (largest entry {moved})");
    assert!(worst < 1e-4, "adapters differ by {worst} (largest entry {moved})");
    assert!(moved > 1e-3, "the adapter trained");
    assert_eq!(one.metrics, two.metrics, "dev metrics");
    // Check the check: one device with half the batch takes other steps.
    let mut half = cfg(Method::Lora, 3);
    half.batch_size = 8;
    run_on(&half, &model, dir.join("half"), 160, 1, false);
    let h = adapter(&dir.join("half"));
    let differs = a
        .iter()
        .any(|(name, x)| x.iter().zip(&h[name]).any(|(p, q)| (p - q).abs() > 1e-3));
    assert!(differs, "a different batch size trains differently");
}

#[test]
fn uneven_splits_tabs_and_resume() {
    let dir = tmp("uneven");
    let model = deterministic_model(&dir);
    // 150 examples: the last global batch holds 6, split 2 + 2 + 2 over three devices; the others 6 + 5 + 5.
    let c = cfg(Method::Tabs, 1);
    let res = run_on(&c, &model, dir.join("three"), 150, 3, false);
    assert_eq!(res.train_examples, 150);
    let budget = res.budget.expect("TABS reports its budget");
    assert_eq!(budget.violations, 0);
    // --resume on two devices continues from the two-device checkpoint.
    let out = dir.join("resume");
    run_on(&c, &model, out.clone(), 64, 2, false);
    let more = TrainConfig { epochs: 2, ..c.clone() };
    run_on(&more, &model, out.clone(), 64, 2, true);
    assert!(out.join("checkpoints/checkpoint/model-2.mpk").is_file());
    // A global batch smaller than the device count is refused before anything is written.
    let mut tiny = c.clone();
    tiny.batch_size = 2;
    let e = try_run(&tiny, &model, dir.join("refused"), 16, 3, false).unwrap_err();
    assert!(format!("{e:#}").contains("--batch-size 2"), "{e:#}");
    assert!(!dir.join("refused").exists());
}

// From `src/data_parallel.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod data_parallel_units {
    use tabs_experiments::batch::{Encoded, Target};
    use tabs_experiments::data_parallel::*;

    fn ex(id: u32) -> Encoded {
        Encoded {
            input_ids: vec![id],
            token_type_ids: vec![0],
            target: Target::Class(0),
        }
    }

    fn batch(ids: std::ops::Range<u32>) -> Vec<Encoded> {
        ids.map(ex).collect()
    }

    #[test]
    fn small_batches_join_a_neighbour() {
        let merged = merge_small(vec![batch(0..4), batch(4..5), batch(5..9), batch(9..10)], 2).unwrap();
        let sizes: Vec<usize> = merged.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![4, 6]);
        let ids: Vec<u32> = merged.iter().flatten().map(|e| e.input_ids[0]).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>(), "every example kept once");
        assert!(merge_small(vec![batch(0..1)], 2).is_err());
        assert_eq!(merge_small(vec![batch(0..1)], 1).unwrap().len(), 1);
    }

    #[test]
    fn parts_are_part_major_with_shares() {
        let items = split_parts(&[batch(0..5), batch(5..9)], 2);
        let ids: Vec<Vec<u32>> = items
            .iter()
            .map(|b| b.examples.iter().map(|e| e.input_ids[0]).collect())
            .collect();
        assert_eq!(ids, vec![vec![0, 1, 2], vec![5, 6], vec![3, 4], vec![7, 8]]);
        let shares: Vec<f32> = items.iter().map(|b| b.share).collect();
        assert_eq!(shares, vec![0.6, 0.5, 0.4, 0.5]);
        // The shares of each global batch add up to 1.
        assert_eq!(shares[0] + shares[2], 1.0);
        assert_eq!(shares[1] + shares[3], 1.0);
    }

    #[test]
    fn slices_shuffle_alike() {
        type B = tabs_hf::Cpu;
        let batches: Vec<Vec<Encoded>> = (0..12).map(|i| batch(i * 2..i * 2 + 2)).collect();
        let loader = train_loader::<B>(&batches, 2, 5, &Default::default());
        let halves = [loader.slice(0, 12), loader.slice(12, 24)];
        for _epoch in 0..3 {
            let firsts: Vec<Vec<i64>> = halves
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|b| b.input.input_ids.into_data().convert::<i64>().to_vec::<i64>().unwrap()[0])
                        .collect()
                })
                .collect();
            // Part 0 of batch t holds example 2t, part 1 example 2t + 1: the same t at every step.
            let pairs: Vec<(i64, i64)> = firsts[0].iter().copied().zip(firsts[1].iter().copied()).collect();
            assert!(pairs.iter().all(|&(a, b)| b == a + 1), "{pairs:?}");
            assert_ne!(firsts[0], (0..12).map(|t| 2 * t).collect::<Vec<_>>(), "shuffled");
        }
    }
}
