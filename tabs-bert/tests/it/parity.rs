//! Parity with HuggingFace transformers on tiny random BERT checkpoints (`scripts/make_bert_reference.py`):
//! last hidden state (every position, padding included), pooler output and logits of a padded batch with token
//! types, for a `BertForSequenceClassification` safetensors file (`bert.` prefix), a bare `BertModel`
//! `pytorch_model.bin` (no prefix, `gelu_new`, ε 1e-7, 3 token types) and a `BertForPreTraining` file whose
//! `cls.*` heads are ignored and whose regression head is initialised fresh. Tolerance 1e-4 (f32).

use crate::common::{fixture, max_err, read_reference, reference_input, values, Cpu};
use tabs_bert::BertForSequenceClassification;

const TOL: f64 = 1e-4;

fn check(case: &str, expect_logits: bool) -> (f64, f64) {
    let dev = Default::default();
    let dir = fixture(&format!("bert/{case}"));
    let (model, report) = BertForSequenceClassification::<Cpu>::from_pretrained(&dir, None, 0, &dev).unwrap();
    assert!(report.unused.is_empty(), "{case}: unused keys {:?}", report.unused);
    let r = read_reference(&dir.join("reference.safetensors"));
    let input = reference_input::<Cpu>(&r, &dev);
    model.encoder.validate(&input).unwrap();
    let out = model.forward(&input);
    assert_eq!(
        out.encoder.last_hidden_state.dims().to_vec(),
        r["last_hidden_state"].shape
    );
    let hidden = max_err(
        &values(out.encoder.last_hidden_state.clone()),
        &r["last_hidden_state"].data,
    );
    let pooled = max_err(
        &values(model.pooler_output(out.encoder.last_hidden_state)),
        &r["pooler_output"].data,
    );
    let logits = if expect_logits {
        max_err(&values(out.logits), &r["logits"].data)
    } else {
        0.0
    };
    let shown = if expect_logits {
        format!("{logits:.2e}")
    } else {
        "n/a (fresh head)".into()
    };
    println!("{case}: max |Δ| hidden {hidden:.2e}, pooler {pooled:.2e}, logits {shown} (tolerance {TOL:.0e})");
    assert!(hidden <= TOL, "{case}: hidden state differs by {hidden}");
    assert!(pooled <= TOL, "{case}: pooler output differs by {pooled}");
    assert!(logits <= TOL, "{case}: logits differ by {logits}");
    (hidden, report.loaded.len() as f64)
}

#[test]
fn sequence_classification_safetensors_with_bert_prefix() {
    let (_, loaded) = check("seqcls", true);
    // 5 embedding tensors + 2 layers × 16 + pooler 2 + classifier 2.
    assert_eq!(loaded as usize, 5 + 2 * 16 + 2 + 2);
}

#[test]
fn bare_bert_model_pytorch_bin_without_prefix() {
    let dev = Default::default();
    check("model_bin", false);
    let (_, report) =
        BertForSequenceClassification::<Cpu>::from_pretrained(&fixture("bert/model_bin"), Some(4), 0, &dev).unwrap();
    assert_eq!(report.initialised, vec!["classifier.weight", "classifier.bias"]);
}

#[test]
fn pretraining_checkpoint_ignores_heads_and_initialises_the_classifier() {
    let dev = Default::default();
    check("pretraining", false);
    let (model, report) =
        BertForSequenceClassification::<Cpu>::from_pretrained(&fixture("bert/pretraining"), None, 3, &dev).unwrap();
    assert_eq!(report.initialised, vec!["classifier.weight", "classifier.bias"]);
    assert!(
        report.ignored.iter().all(|k| k.starts_with("cls.")),
        "{:?}",
        report.ignored
    );
    assert_eq!(report.ignored.len(), 9, "{:?}", report.ignored);
    // num_labels 1 (regression) from the config; the fresh head is N(0, 0.02²) with zero bias, as HF.
    assert_eq!(model.classifier.weight.dims(), [32, 1]);
    let w = values(model.classifier.weight.val());
    let std = (w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64).sqrt();
    assert!(std > 0.005 && std < 0.05, "fresh classifier std {std}");
    assert_eq!(values(model.classifier.bias.as_ref().unwrap().val()), vec![0.0]);
}
