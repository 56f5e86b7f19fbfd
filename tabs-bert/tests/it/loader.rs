//! Checkpoint loading errors: every missing encoder key in one error, shape mismatches naming key / expected /
//! found, unsupported config options naming the key, invalid inputs.

use std::path::{Path, PathBuf};

use crate::common::{batch, fixture, Cpu};
use tabs_bert::{BertConfig, BertError, BertForSequenceClassification, HfError};

/// A copy of a fixture folder whose config.json is edited by `edit`.
fn with_config(case: &str, name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let src = fixture(&format!("bert/{case}"));
    let dir = std::env::temp_dir().join(format!("tabs-bert-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["model.safetensors", "pytorch_model.bin"] {
        if src.join(f).is_file() {
            std::fs::copy(src.join(f), dir.join(f)).unwrap();
        }
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    edit(&mut cfg);
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    dir
}

fn load(dir: &Path) -> Result<(), BertError> {
    BertForSequenceClassification::<Cpu>::from_pretrained(dir, None, 0, &Default::default()).map(|_| ())
}

#[test]
fn missing_keys_are_named_together() {
    // Three layers in the config, two in the file: the 16 tensors of layer 2 are all named.
    let dir = with_config("seqcls", "missing", |c| c["num_hidden_layers"] = 3.into());
    match load(&dir) {
        Err(BertError::Checkpoint(HfError::MissingKeys { keys, .. })) => {
            assert_eq!(keys.len(), 16, "{keys:?}");
            assert!(keys.contains(&"encoder.layer.2.attention.self.query.weight".to_string()));
            assert!(keys.contains(&"encoder.layer.2.output.LayerNorm.bias".to_string()));
        }
        other => panic!("expected MissingKeys, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn shape_mismatches_name_key_expected_and_found() {
    let dir = with_config("seqcls", "shape", |c| c["intermediate_size"] = 40.into());
    let err = load(&dir).unwrap_err();
    match &err {
        BertError::Checkpoint(HfError::ShapeMismatch { mismatches, .. }) => {
            // Per layer: intermediate weight + bias, output weight.
            assert_eq!(mismatches.len(), 6, "{err}");
            assert!(mismatches.contains(&(
                "bert.encoder.layer.0.intermediate.dense.weight".to_string(),
                vec![40, 32],
                vec![48, 32]
            )));
        }
        other => panic!("expected ShapeMismatch, got {other}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unsupported_options_and_bad_inputs_are_errors() {
    let dir = with_config("seqcls", "relpos", |c| {
        c["position_embedding_type"] = "relative_key".into()
    });
    assert!(
        matches!(load(&dir), Err(BertError::Checkpoint(HfError::Unsupported { ref key, .. })) if key == "position_embedding_type")
    );
    let _ = std::fs::remove_dir_all(dir);
    let dir = with_config("seqcls", "act", |c| c["hidden_act"] = "mish".into());
    assert!(
        matches!(load(&dir), Err(BertError::Checkpoint(HfError::Unsupported { ref key, .. })) if key == "hidden_act")
    );
    let _ = std::fs::remove_dir_all(dir);
    assert!(matches!(
        load(&fixture("bert")),
        Err(BertError::Checkpoint(HfError::Io { .. }))
    ));

    let mut c = BertConfig::minilm_l6();
    c.vocab_size = 50;
    c.max_position_embeddings = 8;
    let model = BertForSequenceClassification::<Cpu>::random(&c, 0, &Default::default());
    assert!(model.forward_checked(&batch::<Cpu>(&[8, 3], 8, 50)).is_ok());
    assert!(matches!(
        model.forward_checked(&batch::<Cpu>(&[9], 9, 50)),
        Err(BertError::Input(ref m)) if m.contains("max_position_embeddings")
    ));
    assert!(matches!(
        model.forward_checked(&batch::<Cpu>(&[8], 8, 60)),
        Err(BertError::Input(ref m)) if m.contains("input_ids")
    ));
}
