//! Portable checks: the same library code on an accelerator backend equals the CPU (NdArray) backend.
//!
//! `cargo test --features wgpu --test portable` checks Wgpu (CI: on lavapipe, Mesa's CPU Vulkan driver, Debian
//! `mesa-vulkan-drivers`, headless; `.ci/run` sets the environment it needs); `cargo test --features cuda --test
//! portable` checks CUDA on a GPU machine (Wgpu is taken when both features are on).
//!
//! Tolerances (f32 on both sides; different reduction orders): the gated term and logits 1e-4 absolute on
//! O(1) values; gradients 1e-3 relative to the largest entry; the projection's τ 1e-5; gates, top-B cuts and keep
//! masks exactly.
//! The model check uses deterministic (inference) gates and dropout 0 under autodiff, so both backends compute
//! the same function: HardConcrete *samples* come from each backend's own random stream and are not portable.
#![cfg(any(feature = "wgpu", feature = "cuda"))]

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::module::Param;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use tabs::budget::{budget_cut, projection_shift};
use tabs::gate::{HardConcrete, InferenceGate};
use tabs::io::AdapterManifest;
use tabs::kernel::{gated_term, Factors, Kernel};
use tabs::GateMode;
use tabs_deberta::{DebertaForSequenceClassification, DebertaInput};
use tabs_experiments::method::{adapter_spec, AdapterHyper, Method};

type Cpu = NdArray;

#[cfg(feature = "wgpu")]
type Gpu = burn::backend::wgpu::Wgpu;
#[cfg(feature = "wgpu")]
fn gpu_device() -> burn::backend::wgpu::WgpuDevice {
    Default::default()
}

#[cfg(all(feature = "cuda", not(feature = "wgpu")))]
type Gpu = burn::backend::cuda::Cuda;
#[cfg(all(feature = "cuda", not(feature = "wgpu")))]
fn gpu_device() -> burn::backend::cuda::CudaDevice {
    Default::default()
}

/// Deterministic host data (the same on both backends).
fn host(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0) * scale).collect()
}

fn t2<B: Backend>(v: &[f32], shape: [usize; 2], device: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().expect("f32 data")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "different lengths");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Both kernels of the gated term with half of the (token, direction) pairs off. `[N, d_out]`.
fn gated<B: Backend>(kernel: Kernel, device: &B::Device) -> Vec<f32> {
    let (n, d_in, d_out, r) = (40, 24, 20, 6);
    let h = t2::<B>(&host(1, n * d_in, 1.0), [n, d_in], device);
    let mut g = host(2, n * r, 1.0);
    g.iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { 0.0 });
    let gs = t2::<B>(&g, [n, r], device);
    let f = Factors {
        u: t2(&host(3, d_out * r, 0.3), [d_out, r], device),
        v: t2(&host(4, d_in * r, 0.3), [d_in, r], device),
        a_u: t2(&host(5, d_out * r, 0.1), [d_out, r], device),
        a_v: t2(&host(6, d_in * r, 0.1), [d_in, r], device),
        alpha: 1.5,
    };
    values(gated_term(kernel, h, gs, &f))
}

#[test]
fn gated_term_matches_cpu() {
    let gpu = gpu_device();
    for kernel in [Kernel::DenseMasked, Kernel::Gathered] {
        let a = gated::<Cpu>(kernel, &Default::default());
        let b = gated::<Gpu>(kernel, &gpu);
        let err = max_abs_diff(&a, &b);
        println!("gated term {kernel:?}: max |cpu - gpu| = {err:.2e}");
        assert!(err <= 1e-4, "{kernel:?}: {err}");
        assert!(a.iter().any(|x| x.abs() > 0.1), "the term is not trivially zero");
    }
}

/// Inference gates of logits spread over [−12, 12] (so the clamp and the zero region are exercised).
fn inference_gates<B: Backend>(rule: InferenceGate, device: &B::Device) -> Vec<f32> {
    let logits = t2::<B>(&host(7, 16 * 32, 12.0), [16, 32], device);
    let hc = HardConcrete::default();
    values(hc.inference(hc.clamp_logits(logits), rule))
}

#[test]
fn hard_concrete_inference_gates_match_cpu() {
    let gpu = gpu_device();
    for rule in [InferenceGate::Deterministic, InferenceGate::Binary] {
        let a = inference_gates::<Cpu>(rule, &Default::default());
        let b = inference_gates::<Gpu>(rule, &gpu);
        let err = max_abs_diff(&a, &b);
        println!("inference gates {rule:?}: max |cpu - gpu| = {err:.2e}");
        assert!(err <= 1e-6, "{rule:?}: {err}");
        // Same zero pattern: what is off on one backend is off on the other.
        let zeros = |v: &[f32]| v.iter().map(|x| *x == 0.0).collect::<Vec<_>>();
        assert_eq!(zeros(&a), zeros(&b));
        assert!(a.contains(&0.0) && a.iter().any(|x| *x > 0.0));
    }
}

/// The top-B cut with unit costs and the training projection τ, on 8 groups of 64 items.
fn cut_and_shift<B: Backend>(device: &B::Device) -> (Vec<f32>, Vec<f32>) {
    let (g, n) = (8, 64);
    let logits = t2::<B>(&host(8, g * n, 5.0), [g, n], device);
    let active = t2::<B>(&host(9, g * n, 1.0), [g, n], device).greater_elem(-0.5);
    let cost = Tensor::<B, 2>::ones([g, n], device);
    let budget = Tensor::<B, 1>::from_data(
        TensorData::new(vec![0.0f32, 1., 3., 7., 16., 30., 48., 64.], [g]),
        device,
    );
    let keep = budget_cut(logits.clone(), active, cost.clone(), budget.clone());
    let tau = projection_shift(logits, cost, budget, HardConcrete::default().l0_shift());
    (values(keep), values(tau))
}

#[test]
fn budget_cut_and_projection_match_cpu() {
    let (keep_cpu, tau_cpu) = cut_and_shift::<Cpu>(&Default::default());
    let (keep_gpu, tau_gpu) = cut_and_shift::<Gpu>(&gpu_device());
    assert_eq!(keep_cpu, keep_gpu, "top-B keep masks differ");
    let kept: Vec<f32> = keep_cpu.chunks(64).map(|c| c.iter().sum()).collect();
    println!("kept per group: {kept:?}");
    assert!(
        kept[0] == 0.0 && kept[3] == 7.0,
        "the cut keeps exactly min(B, active): {kept:?}"
    );
    let err = max_abs_diff(&tau_cpu, &tau_gpu);
    println!("projection τ: cpu {tau_cpu:?}, gpu {tau_gpu:?}, max diff {err:.2e}");
    assert!(err <= 1e-5, "{err}");
    assert_eq!(tau_cpu[0], tabs::budget::TAU_MAX as f32, "B = 0 pins τ to TAU_MAX");
}

/// A copy of a committed tiny DeBERTa-v3 checkpoint with dropout 0 (so forward passes are deterministic).
fn tiny_checkpoint() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tabs-deberta/tests/fixtures/deberta/v3_buckets");
    let dir = std::env::temp_dir().join(format!("tabs-portable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    cfg["hidden_dropout_prob"] = 0.0.into();
    cfg["attention_probs_dropout_prob"] = 0.0.into();
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    std::fs::copy(src.join("model.safetensors"), dir.join("model.safetensors")).unwrap();
    dir
}

fn hyper() -> AdapterHyper {
    AdapterHyper {
        spectral_rank: 4,
        rho: 2.0,
        ..AdapterHyper::default()
    }
}

fn manifest() -> AdapterManifest {
    AdapterManifest::new("tabs", vec![], 4, 1.0, 7)
}

/// A TABS-adapted tiny DeBERTa on `B`, its adapters (A_U, A_V, controllers, heads) read from `adapter`.
fn adapted<B: Backend>(ckpt: &Path, adapter: &Path, device: &B::Device) -> DebertaForSequenceClassification<B> {
    let (net, _) = DebertaForSequenceClassification::<B>::from_pretrained(ckpt, Some(3), 7, device).unwrap();
    let spec = adapter_spec(Method::Tabs, &hyper()).unwrap();
    let (mut net, _) = net.inject(&spec).unwrap();
    net.encoder.gates = net.encoder.gates.map(|g| g.with_mode(Some(GateMode::Eval)));
    net.load_adapter(adapter, &manifest()).unwrap()
}

/// Writes an adapter with non-zero A_U, A_V (a fresh injection has A = 0, which would hide the gates'
/// gradient) from a CPU model.
fn write_adapter(ckpt: &Path, dir: &Path) {
    let device = Default::default();
    Cpu::seed(&device, 7);
    let (net, _) = DebertaForSequenceClassification::<Cpu>::from_pretrained(ckpt, Some(3), 7, &device).unwrap();
    let (mut net, _) = net.inject(&adapter_spec(Method::Tabs, &hyper()).unwrap()).unwrap();
    for layer in &mut net.encoder.layers {
        for map in [
            &mut layer.attention.query_proj,
            &mut layer.attention.value_proj,
            &mut layer.intermediate,
        ] {
            let s = map.spectral.as_mut().expect("spectral adapter");
            let perturb = |p: &Param<Tensor<Cpu, 2>>| {
                let v = p.val();
                Param::from_tensor(Tensor::random(v.dims(), Distribution::Normal(0.0, 0.2), &device))
            };
            s.a_u = perturb(&s.a_u);
            s.a_v = perturb(&s.a_v);
        }
    }
    net.save_adapter(dir, &manifest()).unwrap();
}

struct Pass {
    logits: Vec<f32>,
    counts: Vec<f32>,
    grads: Vec<(&'static str, Vec<f32>)>,
}

/// One forward + backward of the adapted model on a padded batch of two sequences.
fn forward_backward<B: AutodiffBackend>(ckpt: &Path, adapter: &Path, device: &B::Device) -> Pass {
    let net = adapted::<B>(ckpt, adapter, device);
    let ids: Vec<i64> = vec![1, 15, 27, 99, 4, 150, 2, 0, 0, 0, 1, 7, 8, 9, 10, 11, 12, 13, 14, 2];
    let mask: Vec<i64> = ids
        .iter()
        .enumerate()
        .map(|(i, &x)| i64::from(x != 0 || i % 10 == 0))
        .collect();
    let int2 = |v: Vec<i64>| Tensor::<B, 2, Int>::from_data(TensorData::new(v, [2, 10]), device);
    let input = DebertaInput {
        input_ids: int2(ids),
        attention_mask: int2(mask),
        token_type_ids: None,
    };
    let out = net.forward(&input);
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), device);
    let loss = CrossEntropyLossConfig::new()
        .init(device)
        .forward(out.logits.clone(), targets);
    let grads = loss.backward();
    let layer = &net.encoder.layers[1];
    let controller = &net.encoder.gates.as_ref().unwrap().layers[0]
        .controller
        .as_ref()
        .unwrap();
    let grad = |p: &Param<Tensor<B, 2>>| values(p.grad(&grads).expect("a gradient"));
    let counts = out.encoder.gates.iter().flat_map(|g| values(g.count.clone())).collect();
    Pass {
        logits: values(out.logits),
        counts,
        grads: vec![
            ("classifier.weight", grad(&net.classifier.weight)),
            (
                "layer 1 query A_U",
                grad(&layer.attention.query_proj.spectral.as_ref().unwrap().a_u),
            ),
            (
                "layer 1 intermediate A_V",
                grad(&layer.intermediate.spectral.as_ref().unwrap().a_v),
            ),
            ("layer 0 controller W1", grad(&controller.hidden.weight)),
        ],
    }
}

#[test]
fn adapted_deberta_forward_backward_matches_cpu() {
    let ckpt = tiny_checkpoint();
    let adapter = ckpt.join("adapter");
    write_adapter(&ckpt, &adapter);
    let cpu = forward_backward::<Autodiff<Cpu>>(&ckpt, &adapter, &Default::default());
    let gpu = forward_backward::<Autodiff<Gpu>>(&ckpt, &adapter, &gpu_device());
    let err = max_abs_diff(&cpu.logits, &gpu.logits);
    println!("logits: max |cpu - gpu| = {err:.2e}");
    assert!(err <= 1e-4, "logits differ by {err}");
    println!(
        "active gates per (layer, sequence): cpu {:?}, gpu {:?}",
        cpu.counts, gpu.counts
    );
    assert_eq!(cpu.counts, gpu.counts, "different gate decisions");
    assert!(
        cpu.counts.iter().any(|c| *c > 0.0),
        "no gate is active: the check would not see the adapter"
    );
    for ((name, a), (_, b)) in cpu.grads.iter().zip(&gpu.grads) {
        let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let rel = max_abs_diff(a, b) / scale;
        println!("grad {name}: max |g| {scale:.2e}, max |cpu - gpu| / max |g| = {rel:.2e}");
        assert!(scale > 0.0, "{name}: zero gradient");
        assert!(rel <= 1e-3, "{name}: relative difference {rel}");
    }
    std::fs::remove_dir_all(&ckpt).ok();
}
