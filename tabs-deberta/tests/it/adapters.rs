//! Adapter injection into DeBERTa: peft's LoRA parameter count on a base-size config and targets by DeBERTa's
//! map names. (What both backbones share — TABS at the frozen model, the budget, gradients, adapter files — is
//! tested once on both in the root package's `tests/it/backbones.rs`.)

use std::path::PathBuf;

use tabs::{AdapterConfig, LoraConfig};
use tabs_deberta::{AdapterSpec, DebertaConfig, DebertaError, DebertaForSequenceClassification};

type B = tabs_hf::Cpu;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deberta")
        .join(name)
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
