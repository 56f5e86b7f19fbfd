//! Adapter injection into BERT through `tabs::inject`: peft's LoRA count on the all-MiniLM-L6-v2 shape, the six
//! default targets by name, TABS with zero-initialised adapters = the frozen model, the budget at inference,
//! gradients only where trainable, and adapter files that carry the heads.

use crate::common::{batch, fixture, values, Cpu};
use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Param};
use burn::tensor::Tensor;
use tabs::io::AdapterManifest;
use tabs::{AdapterConfig, GatingConfig, Granularity, LoraConfig, RankStats, SpectralConfig, TabsError};
use tabs_bert::{AdapterSpec, BertConfig, BertError, BertForSequenceClassification};

type Ad = Autodiff<NdArray<f32>>;

fn lora8() -> AdapterConfig {
    AdapterConfig::Lora(LoraConfig {
        rank: 8,
        alpha: 16.0,
        dropout: 0.0,
    })
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

fn tiny() -> BertForSequenceClassification<Cpu> {
    BertForSequenceClassification::from_pretrained(&fixture("bert/seqcls"), None, 0, &Default::default())
        .unwrap()
        .0
}

#[test]
fn lora_r8_on_minilm_shape_matches_the_hand_count() {
    let mut c = BertConfig::minilm_l6();
    c.vocab_size = 16; // the vocabulary does not change the count
    let model = BertForSequenceClassification::<Cpu>::random(&c, 0, &Default::default());
    let (model, report) = model.inject(&AdapterSpec::new(lora8(), None)).unwrap();
    assert_eq!(report.adapted.len(), 6 * 6);
    assert_eq!(
        &report.adapted[..6],
        [
            "encoder.layer.0.attention.self.query",
            "encoder.layer.0.attention.self.key",
            "encoder.layer.0.attention.self.value",
            "encoder.layer.0.attention.output.dense",
            "encoder.layer.0.intermediate.dense",
            "encoder.layer.0.output.dense",
        ]
    );
    // Per layer: q, k, v, attention.output.dense 4 · 8·(384 + 384) + intermediate 8·(384 + 1536)
    // + output 8·(1536 + 384) = 24,576 + 15,360 + 15,360 = 55,296; × 6 layers.
    assert_eq!(report.adapter_params, 331_776);
    assert_eq!(report.gate_params, 0);
    // Heads: pooler 384·384 + 384, classifier 384·2 + 2.
    assert_eq!(model.trainable_params(), 331_776 + 384 * 384 + 384 + 384 * 2 + 2);
}

#[test]
fn targets_by_pattern_and_typed_errors() {
    let model = tiny();
    let spec = AdapterSpec::with_targets(&["attention.self.query", "re:layer\\.1\\..*value"], lora8(), None);
    let (_, report) = model.clone().inject(&spec).unwrap();
    assert_eq!(
        report.adapted,
        vec![
            "encoder.layer.0.attention.self.query",
            "encoder.layer.1.attention.self.query",
            "encoder.layer.1.attention.self.value"
        ]
    );
    // DeBERTa's names do not exist in BERT: the error names the pattern and an example map name.
    let spec = AdapterSpec::with_targets(&["query_proj"], lora8(), None);
    let err = model.inject(&spec).unwrap_err();
    assert!(
        matches!(err, BertError::Input(ref m) if m.contains("`query_proj`") && m.contains("encoder.layer.0.attention.self.query")),
        "{err}"
    );
}

#[test]
fn tabs_injection_starts_at_the_frozen_model_and_keeps_the_budget() {
    let model = tiny();
    let input = batch::<Cpu>(&[15, 9, 2], 15, 105);
    let frozen = model.forward(&input);
    let (frozen_logits, frozen_hidden) = (values(frozen.logits), values(frozen.encoder.last_hidden_state));
    let (model, report) = model.inject(&tabs_spec(4, 1.5)).unwrap();
    // A = 0: exactly the frozen model, whatever the gates.
    let out = model.forward(&input);
    assert_eq!(values(out.logits.clone()), frozen_logits);
    assert_eq!(values(out.encoder.last_hidden_state.clone()), frozen_hidden);
    // Adapter params: 2 layers × (4 maps 32→32 + 32→48 + 48→32) × R·(d_in + d_out); gates: Linear(32, 4) + Linear(4, 4).
    assert_eq!(
        report.adapter_params,
        2 * (4 * 4 * (32 + 32) + 4 * (32 + 48) + 4 * (48 + 32))
    );
    assert_eq!(report.gate_params, 2 * (32 * 4 + 4 + 4 * 4 + 4));
    assert_eq!(model.bert.adapter_params(), report.adapter_params + report.gate_params);
    // Inference gates obey B(T) = ⌊1.5·T⌋ per (layer, sequence); padding never active.
    let tm = out.encoder.token_mask.as_ref().unwrap();
    assert_eq!(tm.budgets, vec![22, 13, 3]);
    let mut stats = RankStats::new(2, 4, Granularity::Token);
    stats.record(&out.encoder.gates, tm);
    assert_eq!(out.encoder.gates.len(), 2);
    assert_eq!(stats.violations, 0);
    assert_eq!(stats.tokens[0], 26);
    // At initialisation every direction is active before the cut (ℓ₀ ≈ −1.9 > −2.40 for ρ/R = 1.5/4), so the
    // cut binds: each layer uses exactly its budget.
    assert_eq!(stats.rank_sum, vec![22 + 13 + 3, 22 + 13 + 3]);
}

#[test]
fn only_adapters_gates_and_heads_get_gradients() {
    let model =
        BertForSequenceClassification::<Ad>::from_pretrained(&fixture("bert/seqcls"), None, 0, &Default::default())
            .unwrap()
            .0;
    let (mut model, _) = model.inject(&tabs_spec(4, 2.0)).unwrap();
    let q = &mut model.bert.encoder.layers[0].attention.query;
    let s = q.spectral.take().unwrap();
    q.spectral = Some(tabs::GatedSpectral {
        a_u: Param::from_tensor(Tensor::full([32, 4], 0.05, &Default::default())),
        ..s
    });
    let input = batch::<Ad>(&[12, 5], 12, 105);
    let out = model.forward(&input);
    let loss = out.logits.clone().sum() + model.bert.budget_loss(&out.encoder.gates, &Default::default());
    let grads = loss.backward();
    let l0 = &model.bert.encoder.layers[0];
    let q = l0.attention.query.spectral.as_ref().unwrap();
    assert!(q.a_u.val().grad(&grads).is_some() && q.a_v.val().grad(&grads).is_some());
    let ctrl = model.bert.gates.as_ref().unwrap().layers[0]
        .controller
        .as_ref()
        .unwrap();
    assert!(ctrl.output.weight.val().grad(&grads).is_some());
    assert!(model.classifier.weight.val().grad(&grads).is_some());
    assert!(model.pooler.weight.val().grad(&grads).is_some());
    assert!(model.bert.embeddings.word_embeddings.val().grad(&grads).is_none());
    assert!(l0.attention.query.base.weight.val().grad(&grads).is_none());
    assert!(l0.output_norm.gamma.val().grad(&grads).is_none());
    // Dropout (p = 0.1) makes two training passes differ; the inference model is deterministic.
    assert_ne!(values(out.logits), values(model.forward(&input).logits));
    let valid = model.valid();
    let input = batch::<Cpu>(&[12, 5], 12, 105);
    assert_eq!(
        values(valid.forward(&input).logits),
        values(valid.forward(&input).logits)
    );
}

#[test]
fn adapter_files_carry_heads_and_reproduce_outputs() {
    let dir = std::env::temp_dir().join(format!("tabs-bert-adapter-{}", std::process::id()));
    let load = || tiny().inject(&tabs_spec(4, 2.0)).unwrap().0;
    let mut trained = load();
    let l1 = &mut trained.bert.encoder.layers[1];
    let s = l1.intermediate.spectral.take().unwrap();
    l1.intermediate.spectral = Some(tabs::GatedSpectral {
        a_v: Param::from_tensor(Tensor::full([32, 4], -0.07, &Default::default())),
        ..s
    });
    trained.classifier.weight = Param::from_tensor(trained.classifier.weight.val().mul_scalar(3.0));
    trained.pooler.weight = Param::from_tensor(trained.pooler.weight.val().mul_scalar(0.5));
    let mut manifest = AdapterManifest::new(
        "tabs",
        tabs_bert::DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
        4,
        1.0,
        0,
    );
    manifest.granularity = Some(Granularity::Token);
    manifest.controller_hidden = Some(4);
    trained.save_adapter(&dir, &manifest).unwrap();
    let input = batch::<Cpu>(&[14, 6], 14, 105);
    let expected = values(trained.forward(&input).logits);
    let fresh = load();
    assert_ne!(values(fresh.forward(&input).logits), expected);
    let loaded = fresh.load_adapter(&dir, &manifest).unwrap();
    assert_eq!(values(loaded.forward(&input).logits), expected);
    let mut lora_manifest = manifest.clone();
    lora_manifest.method = "lora".into();
    let e = load().load_adapter(&dir, &lora_manifest).unwrap_err();
    assert!(
        matches!(e, BertError::Tabs(TabsError::Mismatch { field: "method", .. })),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
