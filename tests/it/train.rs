//! Training through the Learner on the committed demo task (tiny DeBERTa, SST-2-format "not"-flip task):
//! every method trains and keeps its budget at evaluation, the same seed gives the same results.json, full
//! fine-tuning learns the context task, and `--resume` continues from a checkpoint.

use std::path::PathBuf;

use burn::backend::Autodiff;
use tabs_experiments::method::Method;
use tabs_experiments::run::{run_glue, without_timing, GlueRun, Results};
use tabs_experiments::train::TrainConfig;

type B = Autodiff<tabs_hf::Cpu>;

/// The backend's random generator is process-global: runs must not interleave for seeds to mean anything.
pub(crate) static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn demo_run(name: &str, max_train: usize) -> GlueRun {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("tabs-train-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    GlueRun {
        model: root.join("tests/fixtures/demo/model"),
        data: root.join("tests/fixtures/demo"),
        out,
        resume: false,
        max_train: Some(max_train),
        latency_samples: 5,
    }
}

pub(crate) fn cfg(method: Method, epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::new("sst2", method);
    (c.epochs, c.batch_size, c.lr, c.max_length, c.seed) = (epochs, 16, 3e-3, 32, 7);
    c.adapter.spectral_rank = 8;
    c.adapter.rho = 4.0;
    c
}

pub(crate) fn run(method: Method, epochs: usize, max_train: usize, name: &str) -> (Results, GlueRun) {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let r = demo_run(name, max_train);
    let results =
        run_glue::<B>(&cfg(method, epochs), &r, &[Default::default()]).unwrap_or_else(|e| panic!("{method}: {e:#}"));
    (results, r)
}

#[test]
fn every_method_trains_and_reports_its_budget() {
    for method in Method::ALL {
        let (res, r) = run(method, 1, 160, method.name());
        // The file is exactly the returned results (text, not parsed back: serde_json's default float parser can
        // be one ulp off on a round trip).
        let written = std::fs::read_to_string(r.out.join("results.json")).unwrap();
        assert_eq!(written.as_bytes(), serde_json::to_vec_pretty(&res).unwrap());
        let parsed: Results = serde_json::from_str(&written).unwrap();
        assert_eq!((parsed.method, parsed.seed), (res.method, res.seed));
        assert!(r.out.join("config.json").is_file());
        let acc = res.metrics["dev"]["accuracy"];
        assert!((0.0..=1.0).contains(&acc), "{method}: {acc}");
        assert!(res.trainable_params > 0);
        assert!(res.latency_ms.mean > 0.0 && res.latency_ms.p99 >= res.latency_ms.mean * 0.5);
        match method {
            Method::Full => {
                assert!(res.budget.is_none() && res.rank_histogram.is_none());
                assert_eq!(res.flops.adapter_and_controller.mean, 0.0);
            }
            Method::Lora => {
                assert!(res.budget.is_none());
                assert!(res.flops.adapter_and_controller.mean > 0.0);
                assert!(r.out.join("adapter/adapter.safetensors").is_file());
            }
            Method::Spectral => {
                // Every (token, direction) pair active: the dense-masked cost, T·R pairs, with no controller.
                assert!(res.budget.is_none() && res.rank_histogram.is_none());
                assert!(res.flops.adapter_and_controller.mean > 0.0);
                assert!(r.out.join("adapter/adapter.safetensors").is_file());
            }
            _ => {
                let b = res.budget.as_ref().unwrap();
                assert_eq!(
                    b.groups as usize,
                    if method == Method::Bhsp {
                        b.groups as usize
                    } else {
                        2 * 200
                    }
                );
                let h = res.rank_histogram.as_ref().unwrap();
                assert_eq!(h.len(), 2);
                assert_eq!(h[0].len(), 9);
                assert!(r.out.join("adapter/adapter_config.json").is_file());
                if matches!(method, Method::Tabs | Method::Bhsp | Method::TabsShared) {
                    assert_eq!(b.violations, 0, "{method} must keep its budget");
                    assert!(b.worst_ratio <= 1.0);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&r.out);
    }
}

#[test]
fn same_seed_same_results() {
    let (a, ra) = run(Method::Tabs, 1, 120, "det-a");
    let (b, rb) = run(Method::Tabs, 1, 120, "det-b");
    assert_eq!(without_timing(a), without_timing(b));
    let _ = std::fs::remove_dir_all(&ra.out);
    let _ = std::fs::remove_dir_all(&rb.out);
}

#[test]
fn full_fine_tuning_learns_the_context_task() {
    // Chance is 50 %: the label flips with "not", so no single word decides it. Measured: 100 % after 5 epochs.
    let (res, r) = run(Method::Full, 8, 1200, "learn");
    let acc = res.metrics["dev"]["accuracy"];
    assert!(acc >= 0.9, "dev accuracy {acc}");
    let _ = std::fs::remove_dir_all(&r.out);
}

#[test]
fn resume_continues_from_the_last_checkpoint() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = demo_run("resume", 64);
    run_glue::<B>(&cfg(Method::Lora, 1), &r, &[Default::default()]).unwrap();
    assert!(r.out.join("checkpoints/checkpoint/model-1.mpk").is_file());
    r.resume = true;
    let res = run_glue::<B>(&cfg(Method::Lora, 2), &r, &[Default::default()]).unwrap();
    assert!(r.out.join("checkpoints/checkpoint/model-2.mpk").is_file());
    assert!(res.metrics["dev"]["accuracy"] >= 0.0);
    // Resuming without checkpoints is a clear error.
    let empty = demo_run("resume-empty", 16);
    let e = run_glue::<B>(
        &cfg(Method::Lora, 1),
        &GlueRun {
            resume: true,
            ..empty.clone()
        },
        &[Default::default()],
    )
    .unwrap_err();
    assert!(e.to_string().contains("no checkpoint"), "{e}");
    let _ = std::fs::remove_dir_all(&r.out);
    let _ = std::fs::remove_dir_all(&empty.out);
}

/// The same pipeline on the other backbone: a tiny random BERT (tabs-bert's parity fixture) trains TABS on a
/// CSV text task; its adapter file names BERT's maps and loads back into a fresh model with the same logits.
#[test]
fn bert_backbone_trains_on_csv_texts_and_its_adapter_loads_back() {
    use burn::module::Module;
    use tabs_experiments::backbone::{Backbone, EncoderInput, TextTokenizer};
    use tabs_experiments::method::adapter_spec;
    use tabs_experiments::run::{encode_texts, manifest, run_text_csv};

    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = root.join("tabs-bert/tests/fixtures/bert/model_bin");
    let data = std::env::temp_dir().join(format!("tabs-train-test-{}-csv", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let rows = |n: usize| {
        let mut s = String::from("text,label\n");
        for i in 0..n {
            let (adj, label) = [("good", 1), ("bad", 0), ("not good", 0), ("not bad", 1)][i % 4];
            s.push_str(&format!("\"the movie was {adj}, really\",{label}\n"));
        }
        s
    };
    std::fs::write(data.join("train.csv"), rows(48)).unwrap();
    std::fs::write(data.join("validation.csv"), rows(8)).unwrap();
    let run = GlueRun {
        model: model.clone(),
        data: data.clone(),
        out: data.join("out"),
        resume: false,
        max_train: None,
        latency_samples: 3,
    };
    let mut c = cfg(Method::Tabs, 1);
    c.task = "csv".into();
    let res = run_text_csv::<B>(&c, &run, &[Default::default()]).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(res.task, "csv");
    assert!(res.metrics["dev"].contains_key("f1"), "two classes ⇒ F1 reported");
    let budget = res.budget.expect("TABS reports its budget");
    assert_eq!(budget.violations, 0);
    assert_eq!(budget.mean_rank_per_layer.len(), 2);

    let adapter = run.out.join("adapter");
    let cfg_json = std::fs::read_to_string(adapter.join("adapter_config.json")).unwrap();
    assert!(cfg_json.contains("\"query\""), "BERT's target names: {cfg_json}");
    // Load back: a fresh model with the same injection and the saved adapter gives the run's dev logits.
    let device = Default::default();
    let (net, _) = Backbone::<tabs_hf::Cpu>::from_pretrained(&model, 2, 99, &device).unwrap();
    let (net, _) = net.inject(&adapter_spec(Method::Tabs, &c.adapter).unwrap()).unwrap();
    let targets = net.default_targets().iter().map(|s| s.to_string()).collect();
    let net = net.load_adapter(&adapter, &manifest(&c, targets)).unwrap();
    assert!(net.num_params() > 0);
    let tok = TextTokenizer::from_dir(&model).unwrap();
    let ex = tabs_experiments::lra::TextExample {
        text: "the movie was not bad, really".into(),
        label: 1,
    };
    let enc = encode_texts(&tok, &[ex], 32).unwrap();
    let batch = tabs_experiments::batch::make_batch::<tabs_hf::Cpu>(&enc, &device);
    let input: &EncoderInput<tabs_hf::Cpu> = &batch.input;
    let logits: Vec<f32> = net.forward(input).logits.into_data().to_vec().unwrap();
    assert_eq!(logits.len(), 2);
    assert!(logits.iter().all(|x| x.is_finite()));
    let _ = std::fs::remove_dir_all(&data);
}

// From `src/preflight.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod preflight_units {
    use tabs_experiments::method::Method;
    use tabs_experiments::preflight::*;
    use tabs_experiments::train::TrainConfig;

    #[test]
    fn the_first_differing_key_is_named_with_its_flag() {
        let dir = std::env::temp_dir().join(format!("tabs-preflight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = TrainConfig::new("sst2", Method::Tabs);
        let err = check_resume(&cfg, &dir).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        std::fs::write(dir.join("config.json"), serde_json::to_vec(&cfg).unwrap()).unwrap();
        check_resume(&cfg, &dir).unwrap();
        let mut longer = cfg.clone();
        longer.epochs += 2;
        check_resume(&longer, &dir).unwrap();
        let mut other = cfg.clone();
        other.adapter.spectral_rank = 4;
        let err = check_resume(&other, &dir).unwrap_err().to_string();
        assert!(
            err.contains("adapter.spectral_rank = 16, this run has 4 (--rank)"),
            "{err}"
        );
        let other = TrainConfig::new("sst2", Method::Lora);
        let err = check_resume(&other, &dir).unwrap_err().to_string();
        assert!(
            err.contains("method = \"tabs\", this run has \"lora\" (--method)"),
            "{err}"
        );
        std::fs::write(dir.join("config.json"), "{\"task\": ").unwrap();
        let err = format!("{:#}", check_resume(&cfg, &dir).unwrap_err());
        assert!(err.contains("not valid JSON"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

// From `src/param_groups.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod param_groups_units {
    use burn::backend::Autodiff;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::Tensor;
    use tabs_experiments::param_groups::*;

    type Ad = Autodiff<tabs_hf::Cpu>;

    fn values(l: &Linear<Ad>) -> Vec<f32> {
        let mut v = l.weight.val().into_data().to_vec::<f32>().unwrap();
        v.extend(l.bias.as_ref().unwrap().val().into_data().to_vec::<f32>().unwrap());
        v
    }

    #[test]
    fn a_group_takes_its_gradients_and_only_its_parameters_decay() {
        let dev = Default::default();
        let both: Vec<Linear<Ad>> = vec![LinearConfig::new(3, 2).init(&dev), LinearConfig::new(2, 1).init(&dev)];
        let x = Tensor::<Ad, 2>::ones([4, 3], &dev);
        let loss = both[1].forward(both[0].forward(x)).sum();
        let mut grads = GradientsParams::from_grads(loss.backward(), &both);
        assert_eq!(grads.len(), 4);
        let group = take_grads::<tabs_hf::Cpu>(&param_ids::<Ad, _>(&both[1]), &mut grads);
        assert_eq!(
            (group.len(), grads.len()),
            (2, 2),
            "weight and bias of the second map moved"
        );
        let decayed = decay::<Ad, _>(both.clone(), &[(&group, 0.5)]);
        assert_eq!(values(&decayed[0]), values(&both[0]), "not in the group: untouched");
        let want: Vec<f32> = values(&both[1]).iter().map(|v| v * 0.5).collect();
        assert_eq!(values(&decayed[1]), want);
        assert!(decayed[1].weight.val().is_require_grad(), "still trainable");
        let decayed = decay::<Ad, _>(both.clone(), &[(&grads, 0.9)]);
        let want: Vec<f32> = values(&both[0]).iter().map(|v| v * 0.9).collect();
        assert_eq!(values(&decayed[0]), want);
        assert_eq!(values(&decayed[1]), values(&both[1]));
    }
}
