//! The formulas of TABS.md §1–§3, §6, §7 and the LoRA baseline, on the CPU backend.

use crate::common::*;
use burn::module::{Module, Param};
use burn::nn::LinearConfig;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use tabs::flops::{self, LayerCost, MapShape};
use tabs::kernel::{self, Factors};
use tabs::{
    AdaptedLinear, AdapterConfig, GatedSpectral, Granularity, HardConcrete, InferenceGate, Kernel, LoraConfig,
    SpectralBasis, SpectralConfig, TabsError,
};

fn device() -> burn::backend::ndarray::NdArrayDevice {
    Default::default()
}

/// A linear map with random weight and bias, and a spectral adapter with random (non-zero) A_U, A_V.
fn adapted_spectral(d_in: usize, d_out: usize, rank: usize, alpha: f64, seed: u64) -> AdaptedLinear<Cpu> {
    let dev = device();
    Cpu::seed(&dev, seed);
    let linear = LinearConfig::new(d_in, d_out).init::<Cpu>(&dev);
    let cfg = AdapterConfig::Spectral(SpectralConfig {
        rank,
        alpha,
        kernel: Kernel::DenseMasked,
    });
    let mut m = AdaptedLinear::new(linear, &cfg).unwrap();
    let s = m.spectral.take().unwrap();
    let s = GatedSpectral {
        a_u: Param::from_tensor(randn([d_out, rank], 0.3, &dev)),
        a_v: Param::from_tensor(randn([d_in, rank], 0.3, &dev)),
        ..s
    };
    m.spectral = Some(s);
    m
}

#[test]
fn svd_reconstructs_the_weight() {
    let dev = device();
    Cpu::seed(&dev, 1);
    let (d_in, d_out) = (24, 16);
    let w: Tensor<Cpu, 2> = randn([d_in, d_out], 1.0, &dev); // Burn layout
                                                             // Full rank: U diag(s) Vᵀ equals W (PyTorch layout) to f32 precision.
    let full = SpectralBasis::of_burn_weight(&w, 16).unwrap();
    assert!(full.relative_residual < 1e-12, "residual {}", full.relative_residual);
    let u = tensor::<Cpu, 2>(full.u.iter().map(|&x| x as f64).collect(), [d_out, 16], &dev);
    let v = tensor::<Cpu, 2>(full.v.iter().map(|&x| x as f64).collect(), [d_in, 16], &dev);
    let s = tensor::<Cpu, 1>(full.s.iter().map(|&x| x as f64).collect(), [16], &dev);
    let w_pt = (u.clone() * s.unsqueeze_dim(0)).matmul(v.clone().transpose());
    assert!(max_abs_diff(w_pt, w.clone().transpose()) < 1e-5);
    // Orthonormal columns, descending singular values.
    let eye = Tensor::<Cpu, 2>::eye(16, &dev);
    assert!(max_abs_diff(u.clone().transpose().matmul(u), eye.clone()) < 1e-5);
    assert!(max_abs_diff(v.clone().transpose().matmul(v), eye) < 1e-5);
    assert!(full.s.windows(2).all(|p| p[0] >= p[1]));
    // Top-R + residual reconstructs W; the residual norm is the tail of the spectrum.
    let top = SpectralBasis::of_burn_weight(&w, 4).unwrap();
    let tail: f64 = full.s[4..].iter().map(|&x| (x as f64).powi(2)).sum::<f64>();
    let total: f64 = full.s.iter().map(|&x| (x as f64).powi(2)).sum::<f64>();
    assert!((top.relative_residual - (tail / total).sqrt()).abs() < 1e-6);
    assert_eq!(&top.s[..], &full.s[..4]);
    // Canonical signs: the largest-magnitude entry of each v column is positive; same weight, same basis.
    for r in 0..4 {
        let col: Vec<f32> = (0..d_in).map(|i| top.v[i * 4 + r]).collect();
        let m = col
            .iter()
            .cloned()
            .fold(0f32, |a, x| if x.abs() > a.abs() { x } else { a });
        assert!(m > 0.0);
    }
    assert_eq!(top, SpectralBasis::of_burn_weight(&w, 4).unwrap());
    // PyTorch-layout entry point agrees.
    let w_rows = to_vec(w.transpose()).iter().map(|&x| x as f32).collect::<Vec<_>>();
    let pt = SpectralBasis::of_pytorch_weight(&w_rows, d_out, d_in, 4).unwrap();
    assert_eq!(pt.s, top.s);
}

#[test]
fn svd_rejects_bad_input() {
    let dev = device();
    let w: Tensor<Cpu, 2> = randn([8, 6], 1.0, &dev);
    assert!(matches!(
        SpectralBasis::of_burn_weight(&w, 7),
        Err(TabsError::RankTooLarge { rank: 7, max: 6, .. })
    ));
    assert!(matches!(
        SpectralBasis::of_burn_weight(&w, 0),
        Err(TabsError::RankTooLarge { .. })
    ));
    let mut bad = vec![0.5f32; 48];
    bad[3] = f32::NAN;
    assert!(matches!(
        SpectralBasis::of_pytorch_weight(&bad, 6, 8, 2),
        Err(TabsError::Svd { .. })
    ));
    assert!(matches!(
        SpectralBasis::of_pytorch_weight(&bad[..40], 6, 8, 2),
        Err(TabsError::InvalidConfig { .. })
    ));
}

#[test]
fn zero_adapter_is_the_frozen_map_whatever_the_gates() {
    let dev = device();
    Cpu::seed(&dev, 2);
    let linear = LinearConfig::new(20, 12).init::<Cpu>(&dev);
    let cfg = AdapterConfig::Spectral(SpectralConfig {
        rank: 6,
        alpha: 3.0,
        kernel: Kernel::DenseMasked,
    });
    let m = AdaptedLinear::new(linear, &cfg).unwrap();
    let x: Tensor<Cpu, 3> = randn([3, 5, 20], 1.0, &dev);
    let g: Tensor<Cpu, 3> = Tensor::random([3, 5, 6], Distribution::Uniform(0.0, 1.0), &dev);
    let frozen = m.base.forward(x.clone());
    assert_eq!(to_vec(m.forward(x.clone(), Some(&g))), to_vec(frozen.clone()));
    assert_eq!(to_vec(m.forward(x, None)), to_vec(frozen));
}

#[test]
fn gates_zero_is_frozen_and_gates_one_is_the_merged_spectral_adapter() {
    let dev = device();
    let (d_in, d_out, r, alpha) = (20, 12, 6, 1.5);
    let m = adapted_spectral(d_in, d_out, r, alpha, 3);
    let x: Tensor<Cpu, 3> = randn([2, 7, d_in], 1.0, &dev);
    let frozen = m.base.forward(x.clone());
    let zeros = Tensor::<Cpu, 3>::zeros([2, 7, r], &dev);
    assert_eq!(to_vec(m.forward(x.clone(), Some(&zeros))), to_vec(frozen.clone()));

    // g ≡ 1: W' = W + α(Ũ diag(s) Ṽᵀ − U_R diag(s) V_Rᵀ), built here from the factors independently.
    let s = m.spectral.as_ref().unwrap();
    let (u, v, sv) = (s.u.val(), s.v.val(), s.s.val());
    let ut = u.clone() + s.a_u.val();
    let vt = v.clone() + s.a_v.val();
    let w_pt = m.base.weight.val().transpose(); // [d_out, d_in]
    let merged_pt = w_pt
        + ((ut * sv.clone().unsqueeze_dim(0)).matmul(vt.transpose()) - (u * sv.unsqueeze_dim(0)).matmul(v.transpose()))
            .mul_scalar(alpha);
    let expected = x.clone().matmul(merged_pt.transpose().unsqueeze_dim(0))
        + m.base.bias.as_ref().unwrap().val().reshape([1, 1, d_out]);
    let ones = Tensor::<Cpu, 3>::ones([2, 7, r], &dev);
    let got = m.forward(x.clone(), Some(&ones));
    assert!(
        max_abs_diff(got.clone(), expected.clone()) < 1e-5,
        "{}",
        max_abs_diff(got.clone(), expected)
    );
    // And the module's own merge agrees.
    let merged = x
        .clone()
        .matmul((m.base.weight.val() + s.merged_delta()).unsqueeze_dim(0))
        + m.base.bias.as_ref().unwrap().val().reshape([1, 1, d_out]);
    assert!(max_abs_diff(got, merged) < 1e-5);
    // And the change is real (the test could fail).
    assert!(max_abs_diff(m.forward(x.clone(), Some(&ones)), frozen) > 1e-2);
}

#[test]
fn kernels_agree() {
    let dev = device();
    let (d_in, d_out, r) = (32, 24, 8);
    let m = adapted_spectral(d_in, d_out, r, 2.0, 4);
    let s = m.spectral.as_ref().unwrap();
    let f = Factors {
        u: s.u.val(),
        v: s.v.val(),
        a_u: s.a_u.val(),
        a_v: s.a_v.val(),
        alpha: s.alpha,
    };
    for density in [0.0, 0.05, 0.5, 1.0] {
        let h: Tensor<Cpu, 2> = randn([40, d_in], 1.0, &dev);
        let g: Tensor<Cpu, 2> = Tensor::random([40, r], Distribution::Uniform(0.0, 1.0), &dev);
        let on: Tensor<Cpu, 2> = Tensor::<Cpu, 2>::random([40, r], Distribution::Uniform(0.0, 1.0), &dev)
            .lower_elem(density)
            .float();
        let gs = g * on * s.s.val().unsqueeze_dim(0);
        let dense = kernel::dense_masked(h.clone(), gs.clone(), &f);
        let sparse = kernel::gathered(h, gs, &f);
        let scale = max_abs(dense.clone()).max(1.0);
        let diff = max_abs_diff(dense.clone(), sparse);
        assert!(diff / scale < 1e-5, "density {density}: {diff}");
        if density > 0.0 {
            assert!(max_abs(dense) > 1e-3);
        }
    }
    // Through the module: both kernels, 3-D input.
    let x: Tensor<Cpu, 3> = randn([2, 9, d_in], 1.0, &dev);
    let g: Tensor<Cpu, 3> = Tensor::random([2, 9, r], Distribution::Uniform(-1.0, 1.0), &dev).clamp_min(0.0);
    let a = s.delta_with(x.clone(), g.clone(), Kernel::DenseMasked);
    let b = s.delta_with(x, g, Kernel::Gathered);
    assert!(max_abs_diff(a.clone(), b) / max_abs(a).max(1.0) < 1e-5);
}

#[test]
fn lora_merged_equals_unmerged() {
    let dev = device();
    Cpu::seed(&dev, 5);
    let linear = LinearConfig::new(16, 10).init::<Cpu>(&dev);
    let cfg = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.0,
    };
    let mut m = AdaptedLinear::new(linear, &AdapterConfig::Lora(cfg)).unwrap();
    // B starts at zero: the adapted map equals the frozen one.
    let x: Tensor<Cpu, 3> = randn([2, 5, 16], 1.0, &dev);
    assert_eq!(to_vec(m.forward(x.clone(), None)), to_vec(m.base.forward(x.clone())));
    // peft's A init: U(−1/√d_in, 1/√d_in).
    let a = to_vec(m.lora.as_ref().unwrap().a.val());
    assert!(a.iter().all(|v| v.abs() <= 0.25 + 1e-6) && a.iter().any(|v| v.abs() > 0.15));
    let lora = m.lora.take().unwrap();
    m.lora = Some(tabs::Lora {
        b: Param::from_tensor(randn([4, 10], 0.5, &dev)),
        ..lora
    });
    let frozen = m.base.forward(x.clone());
    let unmerged = m.forward(x.clone(), None);
    assert!(max_abs_diff(unmerged.clone(), frozen) > 1e-2);
    let m = m.merge_lora();
    assert!(m.lora_merged);
    let merged = m.forward(x.clone(), None);
    assert!(max_abs_diff(merged, unmerged.clone()) < 1e-5);
    let m = m.unmerge_lora();
    assert!(max_abs_diff(m.forward(x, None), unmerged) < 1e-5);
    assert_eq!(m.trainable_params(), 4 * (16 + 10));
}

#[test]
fn hard_concrete_probability_matches_samples() {
    let dev = device();
    Cpu::seed(&dev, 6);
    let hc = HardConcrete::default();
    let n = 200_000;
    for logit in [-3.0, -1.6, 0.0, 1.0, 2.5] {
        let l = Tensor::<Cpu, 1>::full([n], logit, &dev);
        let z = hc.sample(l.clone());
        let empirical = to_vec(z.clone().greater_elem(0.0).float().mean())[0];
        let formula = to_vec(hc.prob_nonzero(l.narrow(0, 0, 1)))[0];
        assert!(
            (empirical - formula).abs() < 0.01,
            "ℓ={logit}: {empirical} vs {formula}"
        );
        let zs = to_vec(z);
        assert!(zs.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // Both ends of the stretch have mass (hard zeros and hard ones).
        if logit == 0.0 {
            assert!(zs.contains(&0.0) && zs.contains(&1.0));
        }
    }
    // ℓ₀ for ρ/R = ½ is ≈ −1.6 and gives P = ½.
    let l0 = hc.logit_for_rate(0.5);
    assert!((l0 + 1.599).abs() < 1e-3, "{l0}");
    let p = to_vec(hc.prob_nonzero(Tensor::<Cpu, 1>::full([1], l0, &dev)))[0];
    assert!((p - 0.5).abs() < 1e-6);
}

#[test]
fn inference_gates_are_exact() {
    let dev = device();
    let hc = HardConcrete::default();
    let zero_below = hc.deterministic_zero_below();
    assert!((zero_below - (1.0f64 / 11.0).ln()).abs() < 1e-12);
    let logits = tensor::<Cpu, 1>(vec![-10.0, -2.5, -2.39, 0.0, 2.39, 2.5, 10.0], [7], &dev);
    let det = to_vec(hc.inference(logits.clone(), InferenceGate::Deterministic));
    assert_eq!(det[0], 0.0);
    assert_eq!(det[1], 0.0);
    assert!(det[2] > 0.0 && det[2] < 0.01);
    assert!((det[3] - 0.5).abs() < 1e-6);
    assert!(det[4] < 1.0 && det[4] > 0.99);
    assert_eq!(det[5], 1.0);
    assert_eq!(det[6], 1.0);
    let bin = to_vec(hc.inference(logits, InferenceGate::Binary));
    assert_eq!(bin, vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    // Binary gates are {0, 1} on random logits; deterministic ones are {0, 1} outside ±2.40.
    let l: Tensor<Cpu, 1> = randn([1000], 5.0, &dev);
    assert!(to_vec(hc.inference(l.clone(), InferenceGate::Binary))
        .iter()
        .all(|&v| v == 0.0 || v == 1.0));
    let outside = l.clone().abs().greater_elem(2.4).float();
    let det = hc.inference(l, InferenceGate::Deterministic);
    let off = to_vec(det.clone() * outside.clone());
    let on = to_vec(outside);
    assert!(off.iter().zip(&on).all(|(g, o)| *o == 0.0 || *g == 0.0 || *g == 1.0));
}

#[test]
fn flop_counter_equals_the_hand_formula() {
    // Worked example: one DeBERTa-base layer, six maps (Q, K, V, O: 768→768; FFN in 768→3072, out 3072→768),
    // T = 10 tokens, R = 16, k = 16, 23 active pairs, gathered kernel, Token granularity.
    let sq = MapShape { d_in: 768, d_out: 768 };
    let up = MapShape { d_in: 768, d_out: 3072 };
    let down = MapShape { d_in: 3072, d_out: 768 };
    let cost = LayerCost {
        maps: vec![sq, sq, sq, sq, up, down],
        granularity: Granularity::Token,
        d_model: 768,
        hidden: 16,
        rank: 16,
        kernel: Kernel::Gathered,
    };
    let f = cost.flops(10, 23);
    // adapter: 23 pairs × 4·(d_in+d_out) summed over maps = 23 × 4 × (4·1536 + 3840 + 3840) = 1_271_808
    assert_eq!(f.adapter, 23 * 4 * (4 * 1536 + 3840 + 3840));
    assert_eq!(f.adapter, 1_271_808);
    // controller: 2·T·(d·k + k·R) = 2·10·(768·16 + 256) = 250_880
    assert_eq!(f.controller, 250_880);
    // base: 2·T·Σ d_in·d_out = 20·(4·589_824 + 2·2_359_296) = 141_557_760
    assert_eq!(f.base, 141_557_760);
    assert_eq!(f.overhead(), 1_271_808 + 250_880);
    // Dense-masked pays for all T·R = 160 pairs.
    let dense = LayerCost {
        kernel: Kernel::DenseMasked,
        ..cost.clone()
    };
    assert_eq!(dense.flops(10, 23).adapter, 160 * 4 * (4 * 1536 + 3840 + 3840));
    // Sequence controller: T·d + 2(d·k + k·R); Layer: 0.
    assert_eq!(flops::controller(Granularity::Sequence, 10, 768, 16, 16), 7680 + 25_088);
    assert_eq!(flops::controller(Granularity::Layer, 10, 768, 16, 16), 0);
    // LoRA r=8 unmerged on Q: 2·T·r·(d_in+d_out); merged 0.
    assert_eq!(flops::lora(10, 8, sq, false), 2 * 10 * 8 * 1536);
    assert_eq!(flops::lora(10, 8, sq, true), 0);
    // Guarantee line with ρ = 8: B(10) = 80 pairs.
    assert_eq!(cost.guarantee(10, 80), 80 * cost.pair_cost() + 250_880);
}

#[test]
fn frozen_parts_are_not_trainable() {
    let dev = burn::backend::ndarray::NdArrayDevice::default();
    let linear = LinearConfig::new(8, 6).init::<CpuAd>(&dev);
    let cfg = AdapterConfig::Spectral(SpectralConfig {
        rank: 3,
        alpha: 1.0,
        kernel: Kernel::DenseMasked,
    });
    let m = AdaptedLinear::new(linear, &cfg).unwrap();
    let s = m.spectral.as_ref().unwrap();
    assert!(!m.base.weight.val().is_require_grad());
    assert!(!s.u.val().is_require_grad() && !s.s.val().is_require_grad() && !s.v.val().is_require_grad());
    assert!(s.a_u.val().is_require_grad() && s.a_v.val().is_require_grad());
    assert_eq!(m.trainable_params(), 3 * (8 + 6));
    assert_eq!(m.num_params(), 8 * 6 + 6 + 3 * 6 + 3 + 3 * 8 + 3 * (8 + 6));
}
