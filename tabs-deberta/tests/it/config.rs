//! `config.json` as users have it: defaults, both `pos_att_type` forms, −1 sentinels, and clear errors.

use std::path::Path;

use tabs_deberta::config::Activation;
use tabs_deberta::{Architecture, DebertaConfig, DebertaError};

fn parse(json: &str) -> Result<DebertaConfig, DebertaError> {
    DebertaConfig::from_json(json, Path::new("test/config.json"))
}

#[test]
fn raw_v3_base_config_gets_hf_defaults() {
    // microsoft/deberta-v3-base's config.json: no pooler keys, pos_att_type as a list.
    let c = parse(
        r#"{"model_type": "deberta-v2", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
            "max_position_embeddings": 512, "relative_attention": true, "position_buckets": 256,
            "norm_rel_ebd": "layer_norm", "share_att_key": true, "pos_att_type": ["p2c", "c2p"],
            "layer_norm_eps": 1e-7, "max_relative_positions": -1, "position_biased_input": false,
            "num_attention_heads": 12, "num_hidden_layers": 12, "type_vocab_size": 0, "vocab_size": 128100}"#,
    )
    .unwrap();
    assert_eq!(c, DebertaConfig::v3_base());
    assert_eq!(c.max_relative_positions, 512);
    assert_eq!(c.position_buckets, Some(256));
    assert_eq!(c.att_span(), 256);
    assert!(c.c2p && c.p2c && c.norm_rel_ebd && c.share_att_key && !c.position_biased_input);
    assert_eq!(
        (c.pooler_hidden_size, c.pooler_dropout, c.pooler_hidden_act),
        (768, 0.0, Activation::Gelu)
    );
    assert_eq!(c.cls_dropout, 0.1);
    assert_eq!(c.num_labels, 2);
    assert_eq!(c.layer_norm_eps, 1e-7);
    assert_eq!(c.attention_head_size, 64);
}

#[test]
fn pos_att_type_forms_and_sentinels() {
    let c = parse(r#"{"pos_att_type": "p2c|c2p", "hidden_size": 32, "num_attention_heads": 4}"#).unwrap();
    assert!(c.c2p && c.p2c);
    let c = parse(r#"{"pos_att_type": "C2P", "hidden_size": 32, "num_attention_heads": 4}"#).unwrap();
    assert!(c.c2p && !c.p2c);
    let c = parse(r#"{"pos_att_type": ["p2c"], "hidden_size": 32, "num_attention_heads": 4}"#).unwrap();
    assert!(!c.c2p && c.p2c);
    let c = parse(r#"{"pos_att_type": null, "hidden_size": 32, "num_attention_heads": 4}"#).unwrap();
    assert!(!c.c2p && !c.p2c);
    let c = parse(
        r#"{"hidden_size": 32, "num_attention_heads": 4, "position_buckets": -1, "max_relative_positions": -1,
            "max_position_embeddings": 100}"#,
    )
    .unwrap();
    assert_eq!(
        (c.position_buckets, c.max_relative_positions, c.att_span()),
        (None, 100, 100)
    );
    // HF defaults for absent keys.
    assert!(!c.relative_attention && c.position_biased_input && c.type_vocab_size == 0);
    let c =
        parse(r#"{"hidden_size": 32, "num_attention_heads": 4, "id2label": {"0": "a", "1": "b", "2": "c"}}"#).unwrap();
    assert_eq!(c.num_labels, 3);
    let c = parse(r#"{"hidden_size": 32, "num_attention_heads": 4, "num_labels": 1, "cls_dropout": 0.3}"#).unwrap();
    assert_eq!((c.num_labels, c.cls_dropout), (1, 0.3));
}

#[test]
fn unsupported_options_are_errors_naming_the_key() {
    let err = |json: &str| parse(json).unwrap_err().to_string();
    let e = err(r#"{"hidden_size": 32, "num_attention_heads": 4, "conv_kernel_size": 3}"#);
    assert!(e.contains("conv_kernel_size") && e.contains("test/config.json"), "{e}");
    let e = err(r#"{"hidden_size": 32, "num_attention_heads": 4, "hidden_act": "mish"}"#);
    assert!(e.contains("hidden_act") && e.contains("mish"), "{e}");
    let e = err(r#"{"hidden_size": 32, "num_attention_heads": 4, "pos_att_type": "c2p|p2p"}"#);
    assert!(e.contains("pos_att_type") && e.contains("p2p"), "{e}");
    let e = err(r#"{"hidden_size": 30, "num_attention_heads": 4}"#);
    assert!(e.contains("multiple"), "{e}");
    let e = err(r#"{"model_type": "bert"}"#);
    assert!(e.contains("model_type"), "{e}");
    let e = err(r#"{"hidden_size": 32, "num_attention_heads": 4, "hidden_dropout_prob": 1.5}"#);
    assert!(e.contains("hidden_dropout_prob"), "{e}");
    let e = err(r#"{"hidden_size": "big"}"#);
    assert!(e.contains("invalid config"), "{e}");
    let e = err("{not json");
    assert!(e.contains("test/config.json"), "{e}");
    // A conv_kernel_size of 0 means "no conv layer" and is fine.
    assert!(parse(r#"{"hidden_size": 32, "num_attention_heads": 4, "conv_kernel_size": 0}"#).is_ok());
}
