//! `tabs-hf`'s pieces on their own: checkpoint weights (prefix, missing and mismatched keys), adapter files'
//! legacy keys, activations, the malloc settings. (Here, not in `tabs-hf`, so that `cargo test` does not compile that library twice.)

// `tabs_hf::weights`.
mod weights {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use tabs_hf::weights::*;
    use tabs_hf::HfError;

    fn tensors(keys: &[&str]) -> BTreeMap<String, RawTensor> {
        keys.iter()
            .map(|k| {
                let t = RawTensor {
                    shape: vec![2],
                    data: vec![1.0, 2.0],
                };
                (k.to_string(), t)
            })
            .collect()
    }

    #[test]
    fn the_model_prefix_is_found_and_stripped() {
        for (prefix, head) in [
            ("deberta.", "pooler.dense.weight"),
            ("bert.", "cls.predictions.bias"),
            ("", "x"),
        ] {
            let keys = [
                format!("{prefix}embeddings.word_embeddings.weight"),
                format!("{prefix}encoder.b"),
            ];
            let all: Vec<&str> = keys.iter().map(String::as_str).chain([head]).collect();
            let mut w = Weights::from_checkpoint(PathBuf::from("ckpt"), tensors(&all), 0.02, 0);
            assert_eq!(w.prefix(), prefix);
            assert_eq!(
                w.take("encoder.b", &[], &[2], Init::Zeros, IfMissing::Fail),
                vec![1.0, 2.0]
            );
            let _ = w.take(
                "embeddings.word_embeddings.weight",
                &[],
                &[2],
                Init::Zeros,
                IfMissing::Fail,
            );
            let report = w.finish(|k| k == head).unwrap();
            assert_eq!(report.loaded.len(), 2);
            assert_eq!(report.ignored, vec![head.to_string()], "{prefix:?}");
        }
    }

    #[test]
    fn missing_and_mismatched_keys_are_reported_together() {
        let mut w = Weights::from_checkpoint(PathBuf::from("ckpt"), tensors(&["a", "b"]), 0.02, 0);
        let _ = w.take("a", &[], &[3], Init::Zeros, IfMissing::Fail);
        let _ = w.take("c", &[], &[2], Init::Zeros, IfMissing::Fail);
        let _ = w.take("d", &[], &[2], Init::Zeros, IfMissing::Fail);
        match w.finish(|_| false) {
            Err(HfError::MissingKeys { keys, .. }) => assert_eq!(keys, vec!["c", "d"]),
            other => panic!("{other:?}"),
        }
        let mut w = Weights::from_checkpoint(PathBuf::from("ckpt"), tensors(&["a"]), 0.02, 0);
        let _ = w.take("a", &[], &[3], Init::Zeros, IfMissing::Fail);
        let err = w.finish(|_| false).unwrap_err();
        assert_eq!(err.to_string(), "ckpt: shape mismatch: `a` expected [3], found [2]");
    }
}

// `tabs_hf::classifier`.
mod classifier {
    use tabs_hf::classifier::legacy_keys;

    #[test]
    fn adapter_files_from_before_the_shared_skeleton_are_found() {
        assert_eq!(
            legacy_keys("encoder.layers.0.attention.query_proj.lora.a"),
            [
                "deberta.encoder.layers.0.attention.query_proj.lora.a",
                "bert.encoder.layers.0.attention.query_proj.lora.a"
            ]
        );
        assert_eq!(
            legacy_keys("encoder.gates.layers.1.weight"),
            ["deberta.gates.layers.1.weight", "bert.gates.layers.1.weight"]
        );
        assert!(legacy_keys("classifier.weight").is_empty());
    }

    #[test]
    fn adapter_files_from_before_the_add_norm_block_are_found() {
        assert_eq!(
            legacy_keys("encoder.layers.1.output.dense.lora.b"),
            [
                "encoder.layers.1.output_dense.lora.b",
                "deberta.encoder.layers.1.output.dense.lora.b",
                "bert.encoder.layers.1.output.dense.lora.b",
                "deberta.encoder.layers.1.output_dense.lora.b",
                "bert.encoder.layers.1.output_dense.lora.b"
            ]
        );
        assert_eq!(
            legacy_keys("encoder.layers.0.attention.output.dense.spectral.a_u")[0],
            "encoder.layers.0.attention.output_dense.spectral.a_u"
        );
    }
}

// `tabs_hf::activation`.
mod activation {
    use burn::backend::NdArray;
    use burn::tensor::Tensor;
    use tabs_hf::Activation;

    #[test]
    fn names_and_values() {
        assert_eq!(Activation::parse("gelu_pytorch_tanh"), Some(Activation::GeluTanh));
        assert_eq!(Activation::parse("swish"), Some(Activation::Silu));
        assert_eq!(Activation::parse("mish"), None);
        let x = Tensor::<NdArray, 1>::from_floats([-1.0, 0.0, 2.0], &Default::default());
        let got = |a: Activation| -> Vec<f32> { a.apply(x.clone()).into_data().to_vec().unwrap() };
        // gelu(2) = 2·Φ(2) = 1.954500; tanh-gelu(2) = 1.954598; silu(−1) = −1/(1 + e) = −0.268941.
        let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
        assert!(close(got(Activation::Gelu)[2], 1.9545), "{:?}", got(Activation::Gelu));
        assert!(
            close(got(Activation::GeluTanh)[2], 1.954_598),
            "{:?}",
            got(Activation::GeluTanh)
        );
        assert!(close(got(Activation::Silu)[0], -0.268_941));
        assert_eq!(got(Activation::Relu), vec![0.0, 0.0, 2.0]);
        assert!(close(got(Activation::Tanh)[2], 0.964_028));
    }
}

// `tabs_hf::malloc`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod malloc {
    /// glibc accepts both settings, unless the environment decides. (What they change is measured, not tested:
    /// `tabs-bench/results/cpu-speed/malloc.txt`. In-process it cannot be observed from a test: libtest runs each
    /// test on its own thread, whose glibc arena is a separate mmapped heap of at most 64 MiB, so a block of
    /// 64 MiB is mmapped there whatever `M_MMAP_MAX` says.)
    #[test]
    fn glibc_takes_the_settings() {
        let env_decides = tabs_hf::malloc::environment_decides();
        assert_eq!(tabs_hf::malloc::reuse_freed_memory(), !env_decides);
    }
}
