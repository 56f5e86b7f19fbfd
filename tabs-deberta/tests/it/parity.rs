//! Parity with HuggingFace transformers on tiny random checkpoints (fixtures made by
//! `scripts/make_reference.py`): logits and last hidden states at real tokens within 1e-4, for every
//! configuration family (log buckets with sequences longer than max_position_embeddings, share_att_key false,
//! c2p-only, p2c-only, embed_proj, absolute positions only, token types, a regression head, `.bin` and
//! safetensors, HF's full saved config and raw minimal configs, a masked-LM checkpoint with a fresh head).

use std::path::PathBuf;

use burn::tensor::{Int, Tensor, TensorData};
use serde::Deserialize;
use tabs_deberta::{DebertaForSequenceClassification, DebertaInput};

type B = tabs_hf::Cpu;

#[derive(Deserialize)]
struct Reference {
    transformers_version: String,
    input_ids: Vec<Vec<i64>>,
    attention_mask: Vec<Vec<i64>>,
    token_type_ids: Option<Vec<Vec<i64>>>,
    logits: Option<Vec<Vec<f32>>>,
    last_hidden_state: Vec<Vec<Vec<f32>>>,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deberta")
        .join(name)
}

fn ints(rows: &[Vec<i64>]) -> Tensor<B, 2, Int> {
    let (b, t) = (rows.len(), rows[0].len());
    let flat: Vec<i64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [b, t]), &Default::default())
}

/// Max |ours − HF| over real tokens of the last hidden state, and over logits.
fn compare(name: &str) -> (f64, Option<f64>, tabs_deberta::LoadReport) {
    let dir = fixture(name);
    let r: Reference = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let (model, report) = DebertaForSequenceClassification::<B>::from_pretrained(&dir, None, 0, &Default::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let input = DebertaInput {
        input_ids: ints(&r.input_ids),
        attention_mask: ints(&r.attention_mask),
        token_type_ids: r.token_type_ids.as_deref().map(ints),
    };
    model.encoder.validate(&input).unwrap();
    let out = model.forward(&input);
    let hidden = out.encoder.last_hidden_state.into_data().to_vec::<f32>().unwrap();
    let [_, t, d] = [r.input_ids.len(), r.input_ids[0].len(), r.last_hidden_state[0][0].len()];
    let mut worst: f64 = 0.0;
    for (b, seq) in r.last_hidden_state.iter().enumerate() {
        for (i, row) in seq.iter().enumerate() {
            if r.attention_mask[b][i] == 0 {
                continue;
            }
            for (j, &x) in row.iter().enumerate() {
                worst = worst.max((hidden[(b * t + i) * d + j] - x).abs() as f64);
            }
        }
    }
    let logits = r.logits.as_ref().map(|expected| {
        let got = out.logits.clone().into_data().to_vec::<f32>().unwrap();
        let n = expected[0].len();
        assert_eq!(got.len(), expected.len() * n);
        expected
            .iter()
            .flatten()
            .zip(&got)
            .map(|(e, g)| (e - g).abs() as f64)
            .fold(0.0, f64::max)
    });
    println!(
        "{name} (HF {}): hidden {worst:.2e}, logits {logits:?}; {report}",
        r.transformers_version
    );
    (worst, logits, report)
}

fn assert_parity(name: &str) -> tabs_deberta::LoadReport {
    let (hidden, logits, report) = compare(name);
    assert!(hidden < 1e-4, "{name}: last_hidden_state differs by {hidden}");
    if let Some(l) = logits {
        assert!(l < 1e-4, "{name}: logits differ by {l}");
    }
    assert!(report.unused.is_empty(), "{name}: unused keys {:?}", report.unused);
    report
}

#[test]
fn v3_layout_with_log_buckets_and_long_sequences() {
    let report = assert_parity("v3_buckets");
    assert!(report.initialised.is_empty());
}

#[test]
fn c2p_only_unshared_keys_absolute_positions_regression_bin() {
    assert_parity("c2p_absolute_regression");
}

#[test]
fn p2c_only_with_embed_proj_and_full_hf_config() {
    assert_parity("p2c_embed_proj");
}

#[test]
fn absolute_positions_only() {
    assert_parity("absolute_only");
}

#[test]
fn masked_lm_checkpoint_loads_with_fresh_head() {
    let report = assert_parity("mlm_checkpoint");
    // transformers 5 saves the MLM head as `cls.predictions.*` (hub checkpoints: `lm_predictions.*`).
    assert!(
        report.ignored.iter().any(|k| k.starts_with("cls.predictions.")),
        "{:?}",
        report.ignored
    );
    assert!(report.initialised.contains(&"pooler.dense.weight".to_string()));
    assert!(report.initialised.contains(&"classifier.weight".to_string()));
}
