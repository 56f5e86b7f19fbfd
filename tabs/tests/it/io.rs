//! Adapter files: save → load gives identical outputs; bad files give typed errors, never panics.

use std::path::Path;

use crate::common::*;
use burn::module::{Module, Param};
use burn::nn::LinearConfig;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use tabs::io::{self, AdapterManifest};
use tabs::{
    AdaptedLinear, AdapterConfig, GateMode, GatedSpectral, GatingConfig, Granularity, Kernel, SpectralConfig,
    SpectralGates, TabsError, TokenMask,
};

type Dev = burn::backend::ndarray::NdArrayDevice;

/// A toy model: two adapted maps sharing one layer's gates.
#[derive(Module, Debug)]
struct Toy<B: Backend> {
    first: AdaptedLinear<B>,
    second: AdaptedLinear<B>,
    gates: SpectralGates<B>,
}

fn toy(seed: u64, d: usize, rank: usize) -> Toy<Cpu> {
    let dev = Dev::default();
    Cpu::seed(&dev, seed);
    let spectral = AdapterConfig::Spectral(SpectralConfig {
        rank,
        alpha: 1.0,
        kernel: Kernel::DenseMasked,
    });
    let mut cfg = GatingConfig::new(Granularity::Token);
    cfg.rank = rank;
    cfg.budget.rho = 2.0;
    let randomise = |m: AdaptedLinear<Cpu>| {
        let mut m = m;
        let s = m.spectral.take().unwrap();
        let (d_in, d_out) = s.dims();
        m.spectral = Some(GatedSpectral {
            a_u: Param::from_tensor(randn([d_out, rank], 0.2, &dev)),
            a_v: Param::from_tensor(randn([d_in, rank], 0.2, &dev)),
            ..s
        });
        m
    };
    Toy {
        first: randomise(AdaptedLinear::new(LinearConfig::new(d, d).init(&dev), &spectral).unwrap()),
        second: randomise(AdaptedLinear::new(LinearConfig::new(d, 2 * d).init(&dev), &spectral).unwrap()),
        gates: SpectralGates::new(cfg, d, 1, &dev).unwrap(),
    }
}

fn manifest(rank: usize) -> AdapterManifest {
    let mut m = AdapterManifest::new("tabs", vec!["first".into(), "second".into()], rank, 1.0, 7);
    m.rho = Some(2.0);
    m.controller_hidden = Some(rank);
    m.granularity = Some(Granularity::Token);
    m
}

fn outputs(m: &Toy<Cpu>, x: Tensor<Cpu, 3>) -> Vec<f64> {
    let dev = Dev::default();
    let mask = TokenMask::<Cpu>::from_lengths(&[5, 3], 5, &m.gates.config.budget, &dev);
    let g = m.gates.forward_mode(0, x.clone(), &mask, GateMode::Eval);
    let y = m.first.forward(x, Some(&g.gates));
    to_vec(m.second.forward(y, Some(&g.gates)))
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tabs-io-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn save_then_load_reproduces_outputs() {
    let dev = Dev::default();
    let dir = tmp("roundtrip");
    let trained = toy(1, 12, 4);
    io::save_adapter(&trained, &dir, &manifest(4)).unwrap();
    let names: Vec<String> = {
        let bytes = std::fs::read(dir.join(io::TENSORS_FILE)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut n: Vec<String> = st.names().into_iter().map(String::from).collect();
        n.sort();
        n
    };
    // The adapter and gate tensors and the spectral basis, never the frozen base maps.
    assert!(names.contains(&"first.spectral.a_u".to_string()));
    assert!(names.contains(&"first.spectral.u".to_string()));
    assert!(names.contains(&"gates.layers.0.controller.hidden.weight".to_string()));
    assert!(names.iter().all(|n| !n.contains("base")), "{names:?}");
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);

    // The same frozen model with fresh adapters: load, compare.
    let x: Tensor<Cpu, 3> = randn([2, 5, 12], 1.0, &dev);
    let expected = outputs(&trained, x.clone());
    let mut fresh = trained.clone();
    fresh.gates = SpectralGates::new(trained.gates.config, 12, 1, &dev).unwrap();
    fresh.first.spectral.as_mut().unwrap().a_u = Param::from_tensor(Tensor::zeros([12, 4], &dev));
    assert_ne!(outputs(&fresh, x.clone()), expected);
    let loaded = io::load_adapter(fresh, &dir, &manifest(4)).unwrap();
    assert_eq!(outputs(&loaded, x), expected);
    // ρ may differ at load (the budget can change at inference).
    let mut m = manifest(4);
    m.rho = Some(4.0);
    assert!(io::load_adapter(toy(1, 12, 4), &dir, &m).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

fn expect_err(dir: &Path, model: Toy<Cpu>, m: &AdapterManifest) -> TabsError {
    match io::load_adapter(model, dir, m) {
        Ok(_) => panic!("loading should fail"),
        Err(e) => e,
    }
}

#[test]
fn bad_files_give_typed_errors() {
    let dir = tmp("errors");
    io::save_adapter(&toy(2, 12, 4), &dir, &manifest(4)).unwrap();

    // Wrong method.
    let mut lora = manifest(4);
    lora.method = "lora".into();
    let e = expect_err(&dir, toy(2, 12, 4), &lora);
    assert!(matches!(e, TabsError::Mismatch { field: "method", .. }), "{e}");
    assert!(
        e.to_string().contains("adapter_config.json") && e.to_string().contains("tabs"),
        "{e}"
    );

    // Wrong rank in the manifest.
    let e = expect_err(&dir, toy(2, 12, 3), &manifest(3));
    assert!(matches!(e, TabsError::Mismatch { field: "rank", .. }), "{e}");

    // Same manifest, wrong shapes (a model of another width).
    let e = expect_err(&dir, toy(2, 10, 4), &manifest(4));
    match &e {
        TabsError::ShapeMismatch {
            name, expected, found, ..
        } => {
            assert!(name.contains('.'));
            assert_ne!(expected, found);
        }
        other => panic!("expected ShapeMismatch, got {other}"),
    }

    // Truncated tensor file.
    let tensors = dir.join(io::TENSORS_FILE);
    let bytes = std::fs::read(&tensors).unwrap();
    std::fs::write(&tensors, &bytes[..bytes.len() / 2]).unwrap();
    let e = expect_err(&dir, toy(2, 12, 4), &manifest(4));
    assert!(matches!(e, TabsError::Safetensors { .. }), "{e}");
    std::fs::write(&tensors, &bytes[..5]).unwrap();
    let e = expect_err(&dir, toy(2, 12, 4), &manifest(4));
    assert!(matches!(e, TabsError::Safetensors { .. }), "{e}");

    // A file lacking a tensor, and one with an extra tensor.
    std::fs::write(&tensors, &bytes).unwrap();
    let mut no_gates = toy(2, 12, 4);
    no_gates.first.spectral = None;
    let e = expect_err(&dir, no_gates, &manifest(4));
    assert!(matches!(e, TabsError::UnexpectedTensor { .. }), "{e}");
    let small_dir = tmp("small");
    let mut small = toy(2, 12, 4);
    small.first.spectral = None;
    io::save_adapter(&small, &small_dir, &manifest(4)).unwrap();
    let e = expect_err(&small_dir, toy(2, 12, 4), &manifest(4));
    assert!(
        matches!(&e, TabsError::MissingTensor { name, .. } if name.starts_with("first.spectral")),
        "{e}"
    );

    // Broken JSON and missing files.
    std::fs::write(dir.join(io::CONFIG_FILE), b"{\"format\": ").unwrap();
    let e = expect_err(&dir, toy(2, 12, 4), &manifest(4));
    assert!(matches!(e, TabsError::Config { .. }), "{e}");
    let e = expect_err(&tmp("missing"), toy(2, 12, 4), &manifest(4));
    assert!(matches!(e, TabsError::Io { .. }), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&small_dir);
}
