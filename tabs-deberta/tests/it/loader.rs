//! Checkpoint loading failures are typed errors naming the key, file and shapes; nothing panics.

use std::path::{Path, PathBuf};

use tabs_deberta::weights::Weights;
use tabs_deberta::{DebertaConfig, DebertaError, DebertaForSequenceClassification, HfError};
use tabs_hf::checkpoint::read_dir;
use tabs_hf::Architecture;

type B = tabs_hf::Cpu;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deberta")
        .join(name)
}

fn build(
    config: &DebertaConfig,
    path: &Path,
    tensors: std::collections::BTreeMap<String, tabs_deberta::weights::RawTensor>,
) -> Result<(), DebertaError> {
    let mut w = Weights::from_checkpoint(path.to_path_buf(), tensors, 0.02, 0);
    DebertaForSequenceClassification::<B>::new(config, &mut w, &Default::default());
    w.finish(|k| config.ignored_key(k))
        .map(|_| ())
        .map_err(DebertaError::from)
}

#[test]
fn missing_encoder_keys_are_named() {
    let (config, path, mut tensors) = read_dir::<DebertaConfig>(&fixture("v3_buckets")).unwrap();
    tensors.remove("deberta.encoder.layer.1.attention.self.key_proj.weight");
    tensors.remove("deberta.encoder.rel_embeddings.weight");
    match build(&config, &path, tensors) {
        Err(DebertaError::Checkpoint(HfError::MissingKeys { keys, path: p })) => {
            assert_eq!(p, path);
            assert!(
                keys.contains(&"encoder.layer.1.attention.self.key_proj.weight".to_string()),
                "{keys:?}"
            );
            assert!(keys.contains(&"encoder.rel_embeddings.weight".to_string()), "{keys:?}");
            assert_eq!(keys.len(), 2);
        }
        other => panic!("expected MissingKeys, got {other:?}"),
    }
}

#[test]
fn shape_mismatch_names_key_expected_and_found() {
    let (mut config, path, tensors) = read_dir::<DebertaConfig>(&fixture("v3_buckets")).unwrap();
    config.intermediate_size = 48; // the checkpoint has 64
    let err = build(&config, &path, tensors).unwrap_err();
    match &err {
        DebertaError::Checkpoint(HfError::ShapeMismatch { mismatches, .. }) => {
            let (k, e, f) = &mismatches[0];
            assert_eq!(k, "deberta.encoder.layer.0.intermediate.dense.weight");
            assert_eq!((e.as_slice(), f.as_slice()), (&[48, 32][..], &[64, 32][..]));
            assert_eq!(mismatches.len(), 2 * 3); // per layer: intermediate weight + bias, output weight
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    assert!(err.to_string().contains("expected [48, 32], found [64, 32]"), "{err}");
}

#[test]
fn classifier_of_another_size_is_a_shape_error() {
    let err =
        DebertaForSequenceClassification::<B>::from_pretrained(&fixture("v3_buckets"), Some(5), 0, &Default::default())
            .unwrap_err();
    assert!(err.to_string().contains("classifier.weight"), "{err}");
}

#[test]
fn damaged_and_absent_files() {
    let tmp = std::env::temp_dir().join(format!("tabs-deberta-loader-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    // No config.json.
    let e = DebertaForSequenceClassification::<B>::from_pretrained(&tmp, None, 0, &Default::default()).unwrap_err();
    assert!(e.to_string().contains("config.json"), "{e}");
    // Config but no weights.
    std::fs::copy(fixture("v3_buckets").join("config.json"), tmp.join("config.json")).unwrap();
    let e = DebertaForSequenceClassification::<B>::from_pretrained(&tmp, None, 0, &Default::default()).unwrap_err();
    assert!(
        matches!(e, DebertaError::Checkpoint(HfError::NoCheckpoint { .. })),
        "{e}"
    );
    // Truncated safetensors.
    let bytes = std::fs::read(fixture("v3_buckets").join("model.safetensors")).unwrap();
    std::fs::write(tmp.join("model.safetensors"), &bytes[..bytes.len() / 3]).unwrap();
    let e = DebertaForSequenceClassification::<B>::from_pretrained(&tmp, None, 0, &Default::default()).unwrap_err();
    assert!(
        matches!(e, DebertaError::Checkpoint(HfError::Checkpoint { .. }))
            && e.to_string().contains("model.safetensors"),
        "{e}"
    );
    // Garbage pytorch_model.bin.
    std::fs::remove_file(tmp.join("model.safetensors")).unwrap();
    std::fs::write(tmp.join("pytorch_model.bin"), b"this is not a pickle").unwrap();
    let e = DebertaForSequenceClassification::<B>::from_pretrained(&tmp, None, 0, &Default::default()).unwrap_err();
    assert!(
        matches!(e, DebertaError::Checkpoint(HfError::Checkpoint { .. }))
            && e.to_string().contains("pytorch_model.bin"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn pretraining_heads_and_unused_position_embeddings_are_ignored() {
    let (mut config, path, mut tensors) = read_dir::<DebertaConfig>(&fixture("v3_buckets")).unwrap();
    config.num_labels = 3;
    // A v3 hub checkpoint carries position_embeddings although position_biased_input is false.
    tensors.insert(
        "deberta.embeddings.position_embeddings.weight".into(),
        tabs_deberta::weights::RawTensor {
            shape: vec![64, 32],
            data: vec![0.0; 64 * 32],
        },
    );
    tensors.insert(
        "lm_predictions.lm_head.bias".into(),
        tabs_deberta::weights::RawTensor {
            shape: vec![211],
            data: vec![0.0; 211],
        },
    );
    tensors.insert(
        "something.else".into(),
        tabs_deberta::weights::RawTensor {
            shape: vec![1],
            data: vec![0.0],
        },
    );
    let mut w = Weights::from_checkpoint(path, tensors, 0.02, 0);
    DebertaForSequenceClassification::<B>::new(&config, &mut w, &Default::default());
    let report = w.finish(|k| config.ignored_key(k)).unwrap();
    assert_eq!(report.ignored.len(), 2, "{report}");
    assert_eq!(report.unused, vec!["something.else".to_string()]);
    assert!(report.to_string().contains("UNUSED keys: something.else"));
}
