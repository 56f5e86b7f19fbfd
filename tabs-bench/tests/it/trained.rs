//! `ranks` and `flops --run` on runs trained here: a TABS adapter on the tiny BERT fixture (a `--task csv`
//! run) and on the tiny DeBERTa demo task (a GLUE run). The counts are checked against the FLOP formulas of
//! the method chapter (§6) and against each other; `tradeoff` evaluates one of them at several inference budgets; the budget must hold on real gate decisions.

use std::path::{Path, PathBuf};

use burn::backend::Autodiff;
use tabs::Kernel;
use tabs_bench::flops::{run_trained, TrainedSource};
use tabs_bench::ranks::{self, RanksArgs};
use tabs_bench::tradeoff::{self, TradeoffArgs};
use tabs_bench::trained::TrainedRun;
use tabs_experiments::method::Method;
use tabs_experiments::run::{run_glue, run_text_csv, GlueRun};
use tabs_experiments::train::TrainConfig;

type B = tabs_hf::Cpu;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tabs-bench-trained-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tabs_cfg(task: &str) -> TrainConfig {
    let mut c = TrainConfig::new(task, Method::Tabs);
    (c.epochs, c.batch_size, c.lr, c.max_length, c.seed) = (1, 16, 3e-3, 32, 7);
    c.adapter.spectral_rank = 8;
    c.adapter.rho = 4.0;
    c
}

/// A TABS run on the tiny BERT fixture and a CSV text folder; returns (run folder, model, data).
fn bert_run() -> (PathBuf, PathBuf, PathBuf) {
    let model = root().join("tabs-bert/tests/fixtures/bert/model_bin");
    let data = tmp("csv");
    let rows = |n: usize| {
        let mut s = String::from("text,label\n");
        for i in 0..n {
            let (adj, label) = [("good", 1), ("bad", 0), ("not good", 0), ("not bad", 1)][i % 4];
            s.push_str(&format!(
                "\"the movie was {adj}, really, and the cast was {adj} too\",{label}\n"
            ));
        }
        s
    };
    std::fs::write(data.join("train.csv"), rows(48)).unwrap();
    std::fs::write(data.join("validation.csv"), rows(12)).unwrap();
    let run = GlueRun {
        model: model.clone(),
        data: data.clone(),
        out: data.join("run"),
        resume: false,
        max_train: None,
        latency_samples: 2,
    };
    let mut c = tabs_cfg("csv");
    c.task = "csv".into();
    run_text_csv::<Autodiff<B>>(&c, &run, &[Default::default()]).unwrap_or_else(|e| panic!("{e:#}"));
    (run.out, model, data)
}

#[test]
fn ranks_and_trained_flops_of_a_bert_csv_run() {
    let (run, model, data) = bert_run();
    let device = Default::default();

    let r = ranks::run::<B>(
        &RanksArgs {
            run: run.clone(),
            model: model.clone(),
            data: data.clone(),
            batch: 5,
            max_examples: None,
            top: 3,
            min_count: 1,
        },
        &device,
        |_| {},
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        (r.task.as_str(), r.method, r.rank, r.examples),
        ("csv", Method::Tabs, 8, 12)
    );
    assert_eq!(r.histogram.len(), 2, "two layers");
    for h in &r.histogram {
        assert_eq!(h.len(), 9, "ranks 0..=R");
        assert_eq!(h.iter().sum::<u64>(), r.tokens, "every real token once per layer");
    }
    assert_eq!(r.violations, 0, "TABS keeps the budget on real gate decisions");
    assert!(r.worst_ratio <= 1.0);
    assert!(
        r.flops_gathered_mean <= r.guarantee_mean,
        "{} > {}",
        r.flops_gathered_mean,
        r.guarantee_mean
    );
    assert!(!r.top_tokens.is_empty());

    // FLOPs on windows of the dev texts: T = 2 is too short, 41 and 100 exceed BERT's 40 positions.
    let src = TrainedSource {
        runs: vec![run.clone()],
        model: model.clone(),
        data: data.clone(),
        batch: 3,
    };
    let got = run_trained::<B>(&src, &[2, 8, 16, 40, 41, 100], 4, &device, |_| {}).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(got.skipped.len(), 3, "{:?}", got.skipped);
    assert!(got.skipped[0].starts_with("T = 2:"), "{:?}", got.skipped);
    assert!(got.skipped[1].contains("40 positions"), "{:?}", got.skipped);
    assert_eq!(got.hyper.rho, 4.0);

    // The formulas, independently: L = 2 layers, R = 8, k = R, d = 32, maps of d = 32, f = 48.
    let (layers, rank, d) = (2.0, 8.0, 32.0);
    let pair: f64 = 4.0 * (3.0 * 64.0 + 64.0 + 80.0 + 80.0); // Σ_maps 4(d_in + d_out)
    let controller = |t: f64| 2.0 * t * (d * rank + rank * rank);
    for &t in &[8usize, 16, 40] {
        let at = |name: &str| {
            got.points
                .iter()
                .find(|p| p.method == name && p.length == t)
                .unwrap_or_else(|| panic!("{name} at T = {t}: {:?}", got.points))
        };
        let (dense, gathered) = (at("tabs-trained-dense"), at("tabs-trained-gathered"));
        let tf = t as f64;
        assert_eq!(dense.samples, 4);
        // Dense-masked: every (token, direction) pair, whatever the gates.
        assert_eq!(dense.max, layers * (tf * rank * pair + controller(tf)));
        assert_eq!(dense.mean, dense.max);
        // Gathered: active pairs only = mean rank · T per layer, never above the guarantee B(T)·cost.
        let rank_mean = gathered.mean_rank.unwrap();
        assert_eq!(dense.mean_rank, gathered.mean_rank);
        assert!((0.0..=4.0).contains(&rank_mean), "mean rank {rank_mean} ≤ ρ = 4");
        let want = layers * (rank_mean * tf * pair + controller(tf));
        assert!(
            (gathered.mean - want).abs() <= 1e-6 * want,
            "{} vs {want}",
            gathered.mean
        );
        assert!(gathered.max <= gathered.guarantee);
        assert_eq!(gathered.guarantee, layers * ((4 * t) as f64 * pair + controller(tf)));
    }
    // The trained run's kernel is read back from the model.
    let loaded = TrainedRun::<B>::load(&run, &model, &data, &device).unwrap();
    assert_eq!(loaded.kernel, Kernel::DenseMasked);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn deberta_glue_run_has_no_position_limit_and_bad_input_is_named() {
    let model = root().join("tests/fixtures/demo/model");
    let data = root().join("tests/fixtures/demo");
    let out = tmp("sst2");
    let run = GlueRun {
        model: model.clone(),
        data: data.clone(),
        out: out.join("run"),
        resume: false,
        max_train: Some(64),
        latency_samples: 2,
    };
    run_glue::<Autodiff<B>>(&tabs_cfg("sst2"), &run, &[Default::default()]).unwrap_or_else(|e| panic!("{e:#}"));
    let device = Default::default();
    let src = TrainedSource {
        runs: vec![run.out.clone()],
        model: model.clone(),
        data: data.clone(),
        batch: 2,
    };
    // The demo model has 64 position embeddings but DeBERTa-v3 positions are relative: T = 100 is measured.
    let got = run_trained::<B>(&src, &[100], 2, &device, |_| {}).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let p = got.points.iter().find(|p| p.method == "tabs-trained-gathered").unwrap();
    assert_eq!((p.length, p.samples), (100, 2));
    assert!(p.max <= p.guarantee);

    // Two runs of one method would give two rows of one name.
    let twice = TrainedSource {
        runs: vec![run.out.clone(), run.out.clone()],
        ..src.clone()
    };
    let err = run_trained::<B>(&twice, &[100], 2, &device, |_| {}).err().unwrap();
    assert!(format!("{err:#}").contains("a second `tabs` run"), "{err:#}");

    // A LoRA run has no gates; a missing run folder is named.
    let mut lora = tabs_cfg("sst2");
    lora.method = Method::Lora;
    let lora_run = GlueRun {
        out: out.join("lora"),
        ..run
    };
    run_glue::<Autodiff<B>>(&lora, &lora_run, &[Default::default()]).unwrap();
    let err = TrainedRun::<B>::load(&lora_run.out, &model, &data, &device)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("no gates to study"), "{err:#}");
    let err = TrainedRun::<B>::load(&out.join("absent"), &model, &data, &device)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("absent"), "{err:#}");

    // tradeoff: one trained model at several inference budgets. The cut holds every budget (0 violations),
    // the active pairs never exceed Σ_sequences L·⌊ρ·T⌋ and grow with ρ, and bad flags are named.
    let args = |rhos: Vec<f64>| TradeoffArgs {
        runs: vec![run.out.clone()],
        model: model.clone(),
        data: data.clone(),
        rhos,
        batch: 16,
        max_examples: Some(40),
    };
    let points =
        tradeoff::run::<B>(&args(vec![1.0, 2.0, 4.0, 8.0]), &device, |_| {}).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(points.len(), 4);
    let lengths: Vec<usize> = TrainedRun::<B>::load(&run.out, &model, &data, &device)
        .unwrap()
        .encode_dev(32, Some(40))
        .unwrap()
        .iter()
        .map(|e| e.input_ids.len())
        .collect();
    for (p, rho) in points.iter().zip([1.0, 2.0, 4.0, 8.0]) {
        assert_eq!((p.method, p.rho_trained, p.rho_infer), (Method::Tabs, 4.0, rho));
        assert_eq!((p.violations, p.groups), (0, 2 * 40), "ρ = {rho}");
        let bound: f64 = lengths.iter().map(|&t| 2.0 * (rho * t as f64).floor()).sum::<f64>() / 40.0;
        assert!(
            p.active_pairs_mean <= bound,
            "ρ = {rho}: {} > {bound}",
            p.active_pairs_mean
        );
        assert!((0.0..=1.0).contains(&p.accuracy));
    }
    assert!(points
        .windows(2)
        .all(|w| w[0].active_pairs_mean <= w[1].active_pairs_mean));
    assert!(points[0].active_pairs_mean < points[3].active_pairs_mean);
    for (bad, needle) in [
        (vec![0.0], "--rhos 0"),
        (vec![], "--rhos"),
        (vec![f64::NAN], "--rhos NaN"),
    ] {
        let err = tradeoff::run::<B>(&args(bad), &device, |_| {}).err().unwrap();
        assert!(format!("{err:#}").contains(needle), "{err:#}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
