//! Adapter injection into BERT: peft's LoRA count on the all-MiniLM-L6-v2 shape and the six default targets by
//! BERT's map names. (What both backbones share — TABS at the frozen model, the budget, gradients, adapter files —
//! is tested once on both in the root package's `tests/it/backbones.rs`.)

use crate::common::{fixture, Cpu};
use tabs::{AdapterConfig, LoraConfig};
use tabs_bert::{AdapterSpec, BertConfig, BertError, BertForSequenceClassification};

fn lora8() -> AdapterConfig {
    AdapterConfig::Lora(LoraConfig {
        rank: 8,
        alpha: 16.0,
        dropout: 0.0,
    })
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
