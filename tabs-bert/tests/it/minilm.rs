//! The real sentence-transformers all-MiniLM-L6-v2 (d 384, 6 layers, 12 heads) against HuggingFace
//! transformers: last hidden states at real tokens and the pooler output within 1e-4 on seven real sentences
//! (two of them pairs), and the tokenizer's ids, token types and truncation equal to HF's.
//!
//! The checkpoint is not committed: `scripts/fetch_real.sh` puts it in `$TABS_REAL_DIR/all-MiniLM-L6-v2`
//! (default `$HOME/.cache/tabs-real`). Without it these tests print why and pass without checking anything.
//! The reference outputs (`tests/fixtures/minilm/`) are made by `scripts/make_minilm_reference.py`.

use std::path::PathBuf;

use crate::common::{fixture, max_err, max_err_real_tokens, read_reference, reference_input, values, Cpu};
use serde_json::Value;
use tabs_bert::{BertConfig, BertForSequenceClassification, BertTokenizer, Tokenize, Truncation};

const TOL: f64 = 1e-4;

fn minilm_dir() -> Option<PathBuf> {
    let root = std::env::var_os("TABS_REAL_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tabs-real")))?;
    let dir = root.join("all-MiniLM-L6-v2");
    if dir.join("model.safetensors").is_file() && dir.join("tokenizer.json").is_file() {
        Some(dir)
    } else {
        println!(
            "SKIPPED: all-MiniLM-L6-v2 not found at {}; run scripts/fetch_real.sh",
            dir.display()
        );
        None
    }
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn minilm_hidden_states_equal_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let dev = Default::default();
    let (model, report) = BertForSequenceClassification::<Cpu>::from_pretrained(&dir, None, 0, &dev).unwrap();
    // 5 embedding tensors + 6 layers × 16 + pooler 2 loaded; only the classifier is fresh; the position_ids
    // buffer is ignored.
    assert_eq!(report.loaded.len(), 5 + 6 * 16 + 2);
    assert_eq!(report.initialised, vec!["classifier.weight", "classifier.bias"]);
    assert_eq!(report.ignored, vec!["embeddings.position_ids"]);
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert_eq!(model.config().layer_norm_eps, 1e-12);
    // The built-in shape used by the LoRA count test is this checkpoint's config.
    assert_eq!(*model.config(), BertConfig::minilm_l6());

    let r = read_reference(&fixture("minilm/reference.safetensors"));
    let input = reference_input::<Cpu>(&r, &dev);
    model.encoder.validate(&input).unwrap();
    let out = model.encoder.forward(&input);
    assert_eq!(out.last_hidden_state.dims().to_vec(), r["last_hidden_state"].shape);
    let got = values(out.last_hidden_state.clone());
    let hidden = max_err_real_tokens(&got, &r["last_hidden_state"].data, &r["attention_mask"].data, 384);
    let hidden_all = max_err(&got, &r["last_hidden_state"].data);
    let pooled = max_err(
        &values(model.pooler_output(out.last_hidden_state)),
        &r["pooler_output"].data,
    );
    let scale = r["last_hidden_state"].data.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    println!(
        "all-MiniLM-L6-v2 {:?}: max |Δ| hidden (real tokens) {hidden:.2e}, hidden (all positions) {hidden_all:.2e}, \
         pooler {pooled:.2e}; max |hidden| {scale:.2} (tolerance {TOL:.0e})",
        r["input_ids"].shape
    );
    assert!(hidden <= TOL, "hidden states differ by {hidden}");
    assert!(pooled <= TOL, "pooler output differs by {pooled}");
}

#[test]
fn minilm_tokenizer_equals_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let tok = BertTokenizer::from_dir(&dir).unwrap();
    assert_eq!(tok.vocab_size(), 30522);
    let text = std::fs::read_to_string(fixture("minilm/sentences.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 7);
    let r = read_reference(&fixture("minilm/reference.safetensors"));
    let t = r["input_ids"].shape[1];
    for (row, c) in cases.iter().enumerate() {
        let (a, b) = (c["text"].as_str().unwrap(), c["pair"].as_str());
        let e = tok.encode(a, b, Truncation::None).unwrap();
        assert_eq!(e.input_ids, ids(&c["input_ids"]), "{a}");
        assert_eq!(e.token_type_ids, ids(&c["token_type_ids"]), "{a}");
        // The padded batch the model reference was computed on starts with these ids.
        let batch_row: Vec<u32> = r["input_ids"].data[row * t..row * t + e.input_ids.len()]
            .iter()
            .map(|&x| x as u32)
            .collect();
        assert_eq!(batch_row, e.input_ids);
        let e = tok.encode(a, b, Truncation::LongestFirst { max_length: 16 }).unwrap();
        assert_eq!(e.input_ids, ids(&c["truncated_16"]), "{a} (max_length 16)");
        assert_eq!(
            e.token_type_ids,
            ids(&c["truncated_16_token_type_ids"]),
            "{a} (max_length 16)"
        );
    }
}
