//! Adapter injection into DeBERTa: peft's LoRA parameter count on a base-size config, freezing, TABS gates
//! inside the model (initial output = frozen model, budget at inference, gradients only where trainable),
//! dropout in training only, and adapter files that carry the heads.

use std::path::PathBuf;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use tabs::io::AdapterManifest;
use tabs::{AdapterConfig, GatingConfig, Granularity, LoraConfig, RankStats, SpectralConfig, TabsError};
use tabs_deberta::{AdapterSpec, DebertaConfig, DebertaError, DebertaForSequenceClassification, DebertaInput};

type B = NdArray<f32>;
type Ad = Autodiff<NdArray<f32>>;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deberta")
        .join(name)
}

fn batch<Bk: Backend>(lengths: &[usize], t: usize, vocab: usize) -> DebertaInput<Bk> {
    let dev = Default::default();
    let mut ids = vec![0i64; lengths.len() * t];
    let mut mask = vec![0i64; lengths.len() * t];
    for (b, &n) in lengths.iter().enumerate() {
        for i in 0..n {
            ids[b * t + i] = 4 + ((b * 31 + i * 17) % (vocab - 4)) as i64;
            mask[b * t + i] = 1;
        }
    }
    let shape = [lengths.len(), t];
    DebertaInput {
        input_ids: Tensor::<Bk, 2, Int>::from_data(TensorData::new(ids, shape), &dev),
        attention_mask: Tensor::<Bk, 2, Int>::from_data(TensorData::new(mask, shape), &dev),
        token_type_ids: None,
    }
}

fn vec<Bk: Backend, const D: usize>(t: Tensor<Bk, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

#[test]
fn lora_r8_on_base_size_matches_peft_count() {
    // A base-size encoder (768/12/12/3072); the vocabulary is shrunk because it does not change the count.
    let mut c = DebertaConfig::v3_base();
    c.vocab_size = 16;
    let model = DebertaForSequenceClassification::<B>::random(&c, 0, &Default::default());
    let lora = AdapterConfig::Lora(LoraConfig {
        rank: 8,
        alpha: 16.0,
        dropout: 0.0,
    });
    let (model, report) = model.inject(&AdapterSpec::new(lora, None)).unwrap();
    assert_eq!(report.adapted.len(), 12 * 6);
    assert_eq!(report.adapter_params, 1_327_104);
    assert_eq!(report.gate_params, 0);
    // Heads: pooler 768·768 + 768, classifier 768·2 + 2.
    assert_eq!(model.trainable_params(), 1_327_104 + 768 * 768 + 768 + 768 * 2 + 2);
}

#[test]
fn targets_by_pattern() {
    let (model, _) =
        DebertaForSequenceClassification::<B>::from_pretrained(&fixture("v3_buckets"), None, 0, &Default::default())
            .unwrap();
    let lora = AdapterConfig::Lora(LoraConfig::default());
    let spec = AdapterSpec {
        targets: vec!["attention.self.query_proj".into(), "re:layer\\.1\\..*value_proj".into()],
        adapter: lora,
        gating: None,
    };
    let (_, report) = model.clone().inject(&spec).unwrap();
    assert_eq!(
        report.adapted,
        vec![
            "encoder.layer.0.attention.self.query_proj",
            "encoder.layer.1.attention.self.query_proj",
            "encoder.layer.1.attention.self.value_proj"
        ]
    );
    let spec = AdapterSpec {
        targets: vec!["query".into()],
        adapter: lora,
        gating: None,
    };
    let err = model.inject(&spec).unwrap_err();
    assert!(
        matches!(err, DebertaError::Input(ref m) if m.contains("`query`")),
        "{err}"
    );
}

fn tabs_spec(rank: usize, rho: f64) -> AdapterSpec {
    let mut gating = GatingConfig::new(Granularity::Token);
    gating.rank = rank;
    gating.budget.rho = rho;
    AdapterSpec::new(
        AdapterConfig::Spectral(SpectralConfig {
            rank,
            ..Default::default()
        }),
        Some(gating),
    )
}

#[test]
fn tabs_injection_starts_at_the_frozen_model_and_keeps_the_budget() {
    let (model, _) =
        DebertaForSequenceClassification::<B>::from_pretrained(&fixture("v3_buckets"), None, 0, &Default::default())
            .unwrap();
    let input = batch::<B>(&[40, 13, 3], 40, 211);
    let frozen = vec(model.forward(&input).logits);
    let (model, report) = model.inject(&tabs_spec(4, 1.5)).unwrap();
    // A = 0: exactly the frozen model, whatever the gates.
    let out = model.forward(&input);
    assert_eq!(vec(out.logits.clone()), frozen);
    // Adapter params: 2 layers × 6 maps × R·(d_in + d_out); gates: 2 controllers (32→4→4).
    let maps = 2 * (4 * 4 * (32 + 32) + 4 * (32 + 64) + 4 * (64 + 32));
    assert_eq!(report.adapter_params, maps);
    assert_eq!(report.gate_params, 2 * (32 * 4 + 4 + 4 * 4 + 4));
    // Inference gates obey B(T) = ⌊1.5·T⌋ per (layer, sequence); padding never active.
    let tm = out.encoder.token_mask.as_ref().unwrap();
    assert_eq!(tm.budgets, vec![60, 19, 4]);
    let mut stats = RankStats::new(2, 4, Granularity::Token);
    stats.record(&out.encoder.gates, tm);
    assert_eq!(stats.groups, 6);
    assert_eq!(stats.violations, 0);
    assert!(stats.worst_ratio <= 1.0);
    assert_eq!(stats.tokens[0], 56);
    // At initialisation every direction is active before the cut (ℓ₀ ≈ −2.1 > −2.40), so the cut binds:
    // each layer uses exactly its budget.
    assert_eq!(stats.rank_sum, vec![60 + 19 + 4, 60 + 19 + 4]);
}

#[test]
fn only_adapters_gates_and_heads_get_gradients_and_dropout_acts_in_training() {
    let (model, _) =
        DebertaForSequenceClassification::<Ad>::from_pretrained(&fixture("v3_buckets"), None, 0, &Default::default())
            .unwrap();
    let (mut model, _) = model.inject(&tabs_spec(4, 2.0)).unwrap();
    // Non-zero A_U so that gates matter.
    let s = model.deberta.encoder.layers[0]
        .attention
        .query_proj
        .spectral
        .take()
        .unwrap();
    model.deberta.encoder.layers[0].attention.query_proj.spectral = Some(tabs::GatedSpectral {
        a_u: Param::from_tensor(Tensor::full([32, 4], 0.05, &Default::default())),
        ..s
    });
    let input = batch::<Ad>(&[20, 7], 20, 211);
    let out = model.forward(&input);
    let loss = out.logits.clone().sum() + model.deberta.budget_loss(&out.encoder.gates, &Default::default());
    let grads = loss.backward();
    let l0 = &model.deberta.encoder.layers[0];
    let q = l0.attention.query_proj.spectral.as_ref().unwrap();
    assert!(q.a_u.val().grad(&grads).is_some() && q.a_v.val().grad(&grads).is_some());
    let ctrl = model.deberta.gates.as_ref().unwrap().layers[0]
        .controller
        .as_ref()
        .unwrap();
    assert!(ctrl.output.weight.val().grad(&grads).is_some());
    assert!(model.classifier.weight.val().grad(&grads).is_some());
    assert!(model.pooler.weight.val().grad(&grads).is_some());
    assert!(model.deberta.embeddings.word_embeddings.val().grad(&grads).is_none());
    assert!(l0.attention.query_proj.base.weight.val().grad(&grads).is_none());
    assert!(q.u.val().grad(&grads).is_none());
    assert!(l0.output_norm.gamma.val().grad(&grads).is_none());
    // Dropout (p = 0.1) makes two training passes differ; the inference model is deterministic.
    let again = model.forward(&input);
    assert_ne!(vec(out.logits), vec(again.logits));
    let valid = model.valid();
    let input = batch::<B>(&[20, 7], 20, 211);
    assert_eq!(vec(valid.forward(&input).logits), vec(valid.forward(&input).logits));
}

#[test]
fn adapter_files_carry_heads_and_reproduce_outputs() {
    let dir = std::env::temp_dir().join(format!("tabs-deberta-adapter-{}", std::process::id()));
    let load = || {
        let (m, _) = DebertaForSequenceClassification::<B>::from_pretrained(
            &fixture("v3_buckets"),
            None,
            0,
            &Default::default(),
        )
        .unwrap();
        m.inject(&tabs_spec(4, 2.0)).unwrap().0
    };
    let mut trained = load();
    // "Train": change A_V of one map and the classifier.
    let l1 = &mut trained.deberta.encoder.layers[1];
    let s = l1.intermediate.spectral.take().unwrap();
    l1.intermediate.spectral = Some(tabs::GatedSpectral {
        a_v: Param::from_tensor(Tensor::full([32, 4], -0.07, &Default::default())),
        ..s
    });
    trained.classifier.weight = Param::from_tensor(trained.classifier.weight.val().mul_scalar(3.0));
    let mut manifest = AdapterManifest::new(
        "tabs",
        tabs_deberta::DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
        4,
        1.0,
        0,
    );
    manifest.granularity = Some(Granularity::Token);
    manifest.controller_hidden = Some(4);
    trained.save_adapter(&dir, &manifest).unwrap();
    let input = batch::<B>(&[30, 8], 30, 211);
    let expected = vec(trained.forward(&input).logits);
    let fresh = load();
    assert_ne!(vec(fresh.forward(&input).logits), expected);
    let loaded = fresh.load_adapter(&dir, &manifest).unwrap();
    assert_eq!(vec(loaded.forward(&input).logits), expected);
    // Loading into a LoRA model is a typed error.
    let mut lora_manifest = manifest.clone();
    lora_manifest.method = "lora".into();
    let e = load().load_adapter(&dir, &lora_manifest).unwrap_err();
    assert!(
        matches!(e, DebertaError::Tabs(TabsError::Mismatch { field: "method", .. })),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
