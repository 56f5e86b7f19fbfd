//! peft interoperability (issue 14.3), no Python needed: the committed references of
//! `scripts/make_peft_reference.py` (peft 0.21.2, transformers 5.24) pin the import; export → import and the merged
//! export are checked against the adapted model itself.
//!
//! - `import_equals_peft_logits`: [`load_peft`] on the three committed peft adapters (DeBERTa LoRA with the six
//!   maps and a trained pooler, DeBERTa rsLoRA with a regex target, BERT LoRA with the base's pooler) gives peft's
//!   logits within 1e-4.
//! - `peft_export_round_trips_bit_exactly`: a `lora` run exported with `--format peft` and imported back has
//!   bit-equal A, B, heads, the same scale and the same logits (both backbones).
//! - `merged_export_gives_the_adapted_logits`: `--format merged` of `lora` and `bhsp` runs (both backbones),
//!   loaded by `Backbone::from_pretrained` without adapter code, gives the adapted model's logits within 1e-4.
//! - `committed_runs_give_their_recorded_logits`: the run folders under `tests/fixtures/peft/runs/` (inputs of the
//!   by-hand `--check-export`) still load to the logits recorded in their `logits.json`
//!   (`TABS_WRITE_PEFT_RUNS=1` rewrites them).
//! - `unsupported_peft_adapters_are_clear_errors` and `export_refuses_what_it_cannot_write`: every refused option
//!   is an error naming the file and key.

use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::{Int, Tensor, TensorData};
use serde_json::Value;
use tabs_experiments::backbone::{Backbone, EncoderInput};
use tabs_experiments::export::{export_merged, export_run, ExportFormat};
use tabs_experiments::hf_layout::{self, heads_mut, maps_mut};
use tabs_experiments::method::Method;
use tabs_experiments::peft::{is_peft_adapter, load_peft};
use tabs_experiments::run::manifest;
use tabs_experiments::run_folder::load_run;
use tabs_experiments::train::{prepare, TrainConfig};

type B = tabs_hf::Cpu;

const DEMO: &str = "tests/fixtures/demo/model";
const BERT: &str = "tabs-bert/tests/fixtures/bert/model_bin";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/peft").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tabs-peft-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A padded batch read from a reference JSON (`input_ids`, `attention_mask`, `token_type_ids`).
fn batch(v: &Value) -> EncoderInput<B> {
    let device = Default::default();
    let rows = |key: &str| -> Tensor<B, 2, Int> {
        let rows: Vec<Vec<i64>> = serde_json::from_value(v[key].clone()).unwrap();
        let (b, t) = (rows.len(), rows[0].len());
        Tensor::from_data(TensorData::new(rows.concat(), [b, t]), &device)
    };
    EncoderInput {
        input_ids: rows("input_ids"),
        attention_mask: rows("attention_mask"),
        token_type_ids: Some(rows("token_type_ids")),
    }
}

fn logits(net: &Backbone<B>, input: &EncoderInput<B>) -> Vec<f32> {
    hf_layout::values(net.forward(input).logits)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn reference(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name).join("reference.json")).unwrap()).unwrap()
}

#[test]
fn import_equals_peft_logits() {
    let device = Default::default();
    for name in ["deberta-lora", "deberta-rslora", "bert-lora"] {
        let r = reference(name);
        let base = root().join(r["base"].as_str().unwrap());
        assert!(is_peft_adapter(&fixture(name)), "{name}");
        let net = load_peft::<B>(&base, &fixture(name), &device).unwrap();
        let want: Vec<f32> = serde_json::from_value::<Vec<Vec<f32>>>(r["logits"].clone())
            .unwrap()
            .concat();
        let got = logits(&net, &batch(&r));
        let d = max_diff(&got, &want);
        println!("{name}: max |ours − peft| = {d:.3e}");
        assert!(d < 1e-4, "{name}: logits differ by {d}: {got:?} vs {want:?}");
    }
    // A tabs adapter folder is not a peft one.
    assert!(!is_peft_adapter(
        &root().join("tests/fixtures/peft/runs/deberta-lora/adapter")
    ));
    assert!(!is_peft_adapter(&root().join("nope")));
}

/// A tiny deterministic generator of values in [−scale, scale].
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, scale: f32) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }

    fn tensor<const D: usize>(&mut self, shape: [usize; D], scale: f32) -> Tensor<B, D> {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| self.next(scale)).collect();
        Tensor::from_data(TensorData::new(v, shape), &Default::default())
    }
}

/// A run folder of `method` on `base` with random adapters, gates (BHSP: some off, some fractional, then the
/// top-B cut) and heads — what `glue --out` would leave after training. Returns its config.
fn make_run(dir: &Path, base: &Path, method: Method, seed: u64) -> TrainConfig {
    let device = Default::default();
    let mut cfg = TrainConfig::new("sst2", method);
    cfg.adapter.lora_rank = 4;
    cfg.adapter.lora_alpha = 8.0;
    cfg.adapter.spectral_rank = 4;
    cfg.adapter.spectral_alpha = 1.5;
    cfg.adapter.rho = 2.5;
    cfg.seed = seed;
    let (net, _) = Backbone::<B>::from_pretrained(base, 2, seed, &device).unwrap();
    let targets: Vec<String> = net.default_targets().iter().map(|s| s.to_string()).collect();
    let mut net = prepare(net, &cfg, false).unwrap().0.net;
    let mut g = Lcg(seed);
    for (_, map) in maps_mut(&mut net) {
        if let Some(l) = map.lora.as_mut() {
            l.a = Param::from_tensor(g.tensor(l.a.dims(), 0.3));
            l.b = Param::from_tensor(g.tensor(l.b.dims(), 0.3));
        }
        if let Some(s) = map.spectral.as_mut() {
            s.a_u = Param::from_tensor(g.tensor(s.a_u.dims(), 0.3));
            s.a_v = Param::from_tensor(g.tensor(s.a_v.dims(), 0.3));
        }
    }
    if let Some(gates) = net.gates_mut() {
        // Logits per layer: off (deterministic gate 0), fractional (≈ 0.53), on (1), on (1); the global cut keeps
        // ⌊ρL⌋ = 5 of the 6 active gates of the two layers.
        for source in gates.layers.iter_mut().filter(|s| s.logits.is_some()) {
            let l = [-4.0f32, 0.1, 3.0, 5.0];
            source.logits = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(l.to_vec(), [4]),
                &device,
            )));
        }
    }
    let (pooler, classifier) = heads_mut(&mut net);
    pooler.weight = Param::from_tensor(g.tensor(pooler.weight.dims(), 0.3));
    classifier.weight = Param::from_tensor(g.tensor(classifier.weight.dims(), 0.5));
    classifier.bias = Some(Param::from_tensor(g.tensor([2], 0.5)));
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    net.save_adapter(&dir.join("adapter"), &manifest(&cfg, targets))
        .unwrap();
    cfg
}

#[test]
fn peft_export_round_trips_bit_exactly() {
    let device = Default::default();
    for (base, name) in [(DEMO, "deberta-lora"), (BERT, "bert-lora")] {
        let base = root().join(base);
        let t = tmp(&format!("roundtrip-{name}"));
        make_run(&t.join("run"), &base, Method::Lora, 3);
        let run = load_run::<B>(&t.join("run"), Some(&base), &device).unwrap().net;
        let out = t.join("peft");
        export_run(&t.join("run"), Some(&base), ExportFormat::Peft, &out).unwrap();
        assert!(is_peft_adapter(&out));
        let back = load_peft::<B>(&base, &out, &device).unwrap();
        let (a, b) = (run.maps(), back.maps());
        assert_eq!(a.len(), b.len());
        let mut checked = 0;
        for ((na, ma), (nb, mb)) in a.iter().zip(&b) {
            assert_eq!(na, nb);
            let (la, lb) = (ma.lora.as_ref().unwrap(), mb.lora.as_ref().unwrap());
            assert_eq!(
                hf_layout::values(la.a.val()),
                hf_layout::values(lb.a.val()),
                "{name} {na} A"
            );
            assert_eq!(
                hf_layout::values(la.b.val()),
                hf_layout::values(lb.b.val()),
                "{name} {na} B"
            );
            assert_eq!(la.scaling, lb.scaling, "{name} {na}");
            checked += 1;
        }
        assert_eq!(checked, 12, "{name}");
        for (ha, hb) in run.heads().iter().zip(back.heads()) {
            assert_eq!(hf_layout::values(ha.weight.val()), hf_layout::values(hb.weight.val()));
            let bias = |l: &burn::nn::Linear<B>| hf_layout::values(l.bias.as_ref().unwrap().val());
            assert_eq!(bias(ha), bias(hb));
        }
        let r = reference(name);
        assert_eq!(logits(&run, &batch(&r)), logits(&back, &batch(&r)), "{name}");
        // The config has every field peft's LoraConfig writes.
        let ours: Value = serde_json::from_slice(&std::fs::read(out.join("adapter_config.json")).unwrap()).unwrap();
        let peft: Value =
            serde_json::from_slice(&std::fs::read(fixture(name).join("adapter_config.json")).unwrap()).unwrap();
        for key in peft.as_object().unwrap().keys().filter(|k| *k != "peft_version") {
            assert!(
                ours.get(key).is_some(),
                "{name}: exported adapter_config.json lacks {key}"
            );
        }
        assert_eq!(ours["task_type"], "SEQ_CLS");
        assert_eq!(ours["r"], 4);
        assert_eq!(ours["lora_alpha"], 8);
        std::fs::remove_dir_all(&t).ok();
    }
}

#[test]
fn merged_export_gives_the_adapted_logits() {
    let device = Default::default();
    for (base, name) in [(DEMO, "deberta-lora"), (BERT, "bert-lora")] {
        let base = root().join(base);
        let r = reference(name);
        for method in [Method::Lora, Method::Bhsp, Method::Spectral] {
            let t = tmp(&format!("merged-{name}-{method}"));
            make_run(&t.join("run"), &base, method, 5);
            let run = load_run::<B>(&t.join("run"), Some(&base), &device).unwrap().net;
            let out = t.join("merged");
            export_merged(&run, &base, &out, &device).unwrap();
            let (merged, report) = Backbone::<B>::from_pretrained(&out, 2, 0, &device).unwrap();
            assert!(!report.contains("initialised"), "{report}");
            assert!(merged
                .maps()
                .iter()
                .all(|(_, m)| m.lora.is_none() && m.spectral.is_none()));
            let (want, got) = (logits(&run, &batch(&r)), logits(&merged, &batch(&r)));
            let d = max_diff(&got, &want);
            println!("{name} {method}: max |merged − adapted| = {d:.3e}");
            assert!(d < 1e-4, "{name} {method}: {got:?} vs {want:?}");
            // The adapter does change the model (the check is not vacuous).
            let (plain, _) = Backbone::<B>::from_pretrained(&base, 2, 0, &device).unwrap();
            assert!(max_diff(&logits(&plain, &batch(&r)), &want) > 1e-2, "{name} {method}");
            if method == Method::Bhsp {
                // Some gates are off, some fractional, and the cut leaves fewer than all on.
                let gates = tabs_experiments::export::fixed_gates(&run, &device).unwrap().unwrap();
                let all: Vec<f32> = gates.into_iter().flat_map(hf_layout::values).collect();
                assert!(all.contains(&0.0) && all.iter().any(|&g| g > 0.0 && g < 1.0), "{all:?}");
            }
            let config: Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
            assert_eq!(config["num_labels"], 2);
            assert!(out.join("tokenizer.json").is_file());
            std::fs::remove_dir_all(&t).ok();
        }
    }
}

/// The committed run folders (inputs of the by-hand `make_peft_reference.py --check-export`) and the batch of the
/// matching peft reference.
const RUNS: [(&str, &str, Method, &str); 3] = [
    ("deberta-lora", DEMO, Method::Lora, "deberta-lora"),
    ("bert-lora", BERT, Method::Lora, "bert-lora"),
    ("deberta-bhsp", DEMO, Method::Bhsp, "deberta-lora"),
];

#[test]
fn committed_runs_give_their_recorded_logits() {
    let device = Default::default();
    let write = std::env::var_os("TABS_WRITE_PEFT_RUNS").is_some();
    for (name, base, method, batch_of) in RUNS {
        let dir = fixture("runs").join(name);
        let base = root().join(base);
        if write {
            let _ = std::fs::remove_dir_all(&dir);
            make_run(&dir, &base, method, 11);
        }
        let run = load_run::<B>(&dir, Some(&base), &device).unwrap().net;
        let mut r = reference(batch_of);
        let got = logits(&run, &batch(&r));
        if write {
            r["logits"] = serde_json::to_value(got.chunks(2).map(<[f32]>::to_vec).collect::<Vec<_>>()).unwrap();
            r["base"] = Value::from(base.strip_prefix(root()).unwrap().to_string_lossy().into_owned());
            std::fs::write(dir.join("logits.json"), serde_json::to_vec(&r).unwrap()).unwrap();
        }
        let recorded: Value = serde_json::from_slice(&std::fs::read(dir.join("logits.json")).unwrap()).unwrap();
        let want: Vec<f32> = serde_json::from_value::<Vec<Vec<f32>>>(recorded["logits"].clone())
            .unwrap()
            .concat();
        assert!(max_diff(&got, &want) < 1e-5, "{name}: {got:?} vs {want:?}");
    }
}

/// A copy of the committed peft adapter `source` under `tmp/name`, its config edited.
fn edited(t: &Path, name: &str, source: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let dir = t.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        fixture(source).join("adapter_model.safetensors"),
        dir.join("adapter_model.safetensors"),
    )
    .unwrap();
    let mut c: Value =
        serde_json::from_slice(&std::fs::read(fixture(source).join("adapter_config.json")).unwrap()).unwrap();
    edit(&mut c);
    std::fs::write(dir.join("adapter_config.json"), serde_json::to_vec(&c).unwrap()).unwrap();
    dir
}

/// An edit of an adapter_config.json.
type Edit = Box<dyn FnOnce(&mut Value)>;

#[test]
fn unsupported_peft_adapters_are_clear_errors() {
    let device = Default::default();
    let t = tmp("unsupported");
    let base = root().join(DEMO);
    let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
        (
            "dora",
            Box::new(|c| c["use_dora"] = true.into()),
            vec!["use_dora", "DoRA"],
        ),
        (
            "bias",
            Box::new(|c| c["bias"] = "all".into()),
            vec!["`bias` = \"all\"", "\"none\""],
        ),
        (
            "rank",
            Box::new(|c| c["rank_pattern"] = serde_json::json!({"query_proj": 8})),
            vec!["rank_pattern", "per-module ranks"],
        ),
        (
            "alpha",
            Box::new(|c| c["alpha_pattern"] = serde_json::json!({"query_proj": 8})),
            vec!["alpha_pattern"],
        ),
        (
            "ia3",
            Box::new(|c| c["peft_type"] = "IA3".into()),
            vec!["peft_type", "\"LORA\""],
        ),
        (
            "task",
            Box::new(|c| c["task_type"] = "CAUSAL_LM".into()),
            vec!["task_type", "SEQ_CLS"],
        ),
        (
            "target",
            Box::new(|c| c["target_modules"] = serde_json::json!(["query_proj", "gate_proj"])),
            vec!["target_modules", "\"gate_proj\"", "matches no adaptable map"],
        ),
        (
            "regex",
            Box::new(|c| c["target_modules"] = ".*\\.nothing".into()),
            vec!["target_modules", "matches no adaptable map"],
        ),
        (
            // The tensors name maps that the (narrower) targets do not select.
            "narrower",
            Box::new(|c| c["target_modules"] = serde_json::json!(["query_proj"])),
            vec![
                "attention.output.dense.lora_A.weight",
                "not a map that target_modules selects",
            ],
        ),
        (
            "r",
            Box::new(|c| c["r"] = 8.into()),
            vec!["lora_A.weight", "shape [4, 32], expected [8, 32]"],
        ),
        (
            "layers",
            Box::new(|c| c["layers_to_transform"] = serde_json::json!([0])),
            vec!["layers_to_transform"],
        ),
    ];
    for (name, edit, expect) in cases {
        let dir = edited(&t, name, "deberta-lora", edit);
        let err = format!(
            "{:#}",
            load_peft::<B>(&base, &dir, &device)
                .err()
                .unwrap_or_else(|| panic!("{name}: loaded"))
        );
        assert!(err.contains("adapter_"), "{name}: no file named: {err}");
        for e in expect {
            assert!(err.contains(e), "{name}: `{e}` not in: {err}");
        }
    }
    // Maps the targets select but whose A and B the file lacks (the rsLoRA adapter has query, value, intermediate).
    let dir = edited(&t, "wider", "deberta-rslora", |c| {
        c["target_modules"] = serde_json::json!(["query_proj", "key_proj", "value_proj", "intermediate.dense"])
    });
    let err = format!("{:#}", load_peft::<B>(&base, &dir, &device).err().unwrap());
    assert!(
        err.contains("key_proj.lora_A.weight") && err.contains("absent, but target_modules selects"),
        "{err}"
    );
    // A tensor that matches no map or head.
    let dir = edited(&t, "extra", "deberta-lora", |_| {});
    let path = dir.join("adapter_model.safetensors");
    let mut tensors = tabs_hf::read_tensors(&path).unwrap();
    let extra = "base_model.model.deberta.embeddings.word_embeddings.lora_embedding_A";
    tensors.insert(
        extra.into(),
        tabs_hf::RawTensor {
            shape: vec![4, 53],
            data: vec![0.0; 4 * 53],
        },
    );
    hf_layout::write_safetensors(&path, &tensors).unwrap();
    let err = format!("{:#}", load_peft::<B>(&base, &dir, &device).err().unwrap());
    assert!(
        err.contains(extra) && err.contains("matches no LoRA map or head"),
        "{err}"
    );
    // No classifier.
    tensors.remove(extra);
    tensors.remove("base_model.model.classifier.weight");
    hf_layout::write_safetensors(&path, &tensors).unwrap();
    let err = format!("{:#}", load_peft::<B>(&base, &dir, &device).err().unwrap());
    assert!(err.contains("classifier.weight") && err.contains("absent"), "{err}");
    // No pooler in the adapter and none in the base (the demo DeBERTa has no heads).
    let dir = edited(&t, "nopooler", "deberta-lora", |_| {});
    let path = dir.join("adapter_model.safetensors");
    let mut tensors = tabs_hf::read_tensors(&path).unwrap();
    tensors.retain(|k, _| !k.contains("pooler"));
    hf_layout::write_safetensors(&path, &tensors).unwrap();
    let err = format!("{:#}", load_peft::<B>(&base, &dir, &device).err().unwrap());
    assert!(
        err.contains("pooler.dense.weight") && err.contains("modules_to_save"),
        "{err}"
    );
    std::fs::remove_dir_all(&t).ok();
}

#[test]
fn export_refuses_what_it_cannot_write() {
    let t = tmp("refuse");
    let base = root().join(DEMO);
    make_run(&t.join("tabs"), &base, Method::Tabs, 1);
    make_run(&t.join("bhsp"), &base, Method::Bhsp, 1);
    make_run(&t.join("lora"), &base, Method::Lora, 1);
    let err = |run: &str, model: Option<&Path>, format, out: &str| {
        let e = export_run(&t.join(run), model, format, &t.join(out)).unwrap_err();
        assert!(!t.join(out).exists() || out == "lora", "{run}: wrote {out}");
        format!("{e:#}")
    };
    let e = err("tabs", Some(&base), ExportFormat::Merged, "o1");
    assert!(e.contains("method tabs") && e.contains("depend on the input"), "{e}");
    let e = err("bhsp", Some(&base), ExportFormat::Peft, "o2");
    assert!(
        e.contains("peft has no equivalent") && e.contains("--format merged"),
        "{e}"
    );
    let e = err("lora", None, ExportFormat::Peft, "o3");
    assert!(e.contains("--model"), "{e}");
    // An existing non-empty --out is never written into.
    let e = err("bhsp", Some(&base), ExportFormat::Merged, "lora");
    assert!(e.contains("not an empty folder"), "{e}");
    std::fs::remove_dir_all(&t).ok();
}
