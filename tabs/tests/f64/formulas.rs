//! Formulas that the budget and gradient tests leave free, each pinned by a test that fails when the formula is
//! changed (checked by making the change): which pairs the cut keeps, the sequence controller's masked mean,
//! the relative-excess penalty and the Lagrangian's deviation by value, ℓ₀'s orientation away from ρ/R = ½, the
//! logit bound, and LoRA's α/r scale.

use burn::module::Param;
use burn::nn::LinearConfig;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};
use tabs::budget::{budget_cut, relative_deviation, relative_excess};
use tabs::{
    AdaptedLinear, AdapterConfig, GateMode, GatingConfig, Granularity, HardConcrete, LoraConfig, SpectralGates,
    TokenMask,
};

use crate::common::*;

type Dev = burn::backend::ndarray::NdArrayDevice;

fn t1<B: Backend>(v: Vec<f64>, dev: &B::Device) -> Tensor<B, 1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), dev)
}

#[test]
fn the_cut_keeps_exactly_the_largest_active_logits() {
    // Distinct logits in a shuffled order, unit costs, budget 4: the kept items are the 4 largest among the active
    // ones (not merely 4 of them), in every group.
    let dev = Dev::default();
    let logits: Vec<f64> = vec![
        0.3, 2.0, -1.0, 1.5, 0.9, 3.1, -0.2, 0.1, //
        -3.0, 0.5, 0.4, 2.2, 1.1, -0.7, 0.8, 1.9,
    ];
    let active = [
        true, true, true, false, true, true, true, true, //
        true, true, true, true, true, true, true, true,
    ];
    let keep = to_vec(budget_cut::<Cpu64>(
        Tensor::from_data(TensorData::new(logits.clone(), [2, 8]), &dev),
        Tensor::<Cpu64, 2, Bool>::from_data(TensorData::new(active.to_vec(), [2, 8]), &dev),
        Tensor::ones([2, 8], &dev),
        t1(vec![4.0, 4.0], &dev),
    ));
    for g in 0..2 {
        let mut order: Vec<usize> = (0..8).filter(|&i| active[g * 8 + i]).collect();
        order.sort_by(|&a, &b| logits[g * 8 + b].total_cmp(&logits[g * 8 + a]));
        let want: Vec<f64> = (0..8)
            .map(|i| if order[..4].contains(&i) { 1.0 } else { 0.0 })
            .collect();
        assert_eq!(&keep[g * 8..(g + 1) * 8], &want[..], "group {g}");
    }
}

#[test]
fn sequence_gates_of_a_padded_batch_equal_those_of_each_sequence_alone() {
    // CBSP's controller reads the mean over real tokens only: padding (filled with large values here) must not
    // change a sequence's logits or gates.
    let dev = Dev::default();
    Cpu64::seed(&dev, 21);
    let cfg = GatingConfig::new(Granularity::Sequence);
    let gates = SpectralGates::<Cpu64>::new(cfg, 6, 1, &dev).unwrap();
    let lengths = [3usize, 5];
    let real = randn::<Cpu64, 3>([2, 5, 6], 1.0, &dev);
    let pad = Tensor::<Cpu64, 3>::full([2, 5, 6], 7.0, &dev);
    let keep: Vec<f64> = lengths
        .iter()
        .flat_map(|&l| (0..5).map(move |t| if t < l { 1.0 } else { 0.0 }))
        .collect();
    let m = Tensor::<Cpu64, 2>::from_data(TensorData::new(keep, [2, 5]), &dev).unsqueeze_dim::<3>(2);
    let h = real.clone() * m.clone() + pad * (m.ones_like() - m);
    let mask = TokenMask::<Cpu64>::from_lengths(&lengths, 5, &cfg.budget, &dev);
    let batch = to_vec(gates.raw_logits(0, h.clone(), &mask));
    let batch_gates = to_vec(gates.forward_mode(0, h, &mask, GateMode::Eval).gates);
    for (b, &len) in lengths.iter().enumerate() {
        let alone = real.clone().slice([b..b + 1, 0..len, 0..6]);
        let mask1 = TokenMask::<Cpu64>::from_lengths(&[len], len, &cfg.budget, &dev);
        let one = to_vec(gates.raw_logits(0, alone.clone(), &mask1));
        let r = cfg.rank;
        for (x, y) in batch[b * r..(b + 1) * r].iter().zip(&one) {
            assert!((x - y).abs() < 1e-5, "sequence {b}: {x} vs {y}");
        }
        let g1 = to_vec(gates.forward_mode(0, alone, &mask1, GateMode::Eval).gates);
        for (x, y) in batch_gates[b * 5 * r..(b * 5 + len) * r].iter().zip(&g1) {
            assert!((x - y).abs() < 1e-5, "sequence {b}: gate {x} vs {y}");
        }
    }
}

#[test]
fn budget_losses_by_value() {
    let dev = Dev::default();
    // Relative excess: mean_g (max(0, E − B)/max(B, 1))²: (2/10)², 0 (under budget), (3/1)² (B = 0 → /1).
    let v = to_vec(relative_excess::<Cpu64>(
        t1(vec![12.0, 8.0, 3.0], &dev),
        t1(vec![10.0, 10.0, 0.0], &dev),
    ))[0];
    assert!((v - (0.04 + 0.0 + 9.0) / 3.0).abs() < 1e-12, "{v}");
    // Relative deviation: mean_g (E − B)/max(B, 1), signed: (0.2 − 0.3 + 3)/3.
    let d = to_vec(relative_deviation::<Cpu64>(
        t1(vec![12.0, 7.0, 3.0], &dev),
        t1(vec![10.0, 10.0, 0.0], &dev),
    ))[0];
    assert!((d - (0.2 - 0.3 + 3.0) / 3.0).abs() < 1e-12, "{d}");
}

#[test]
fn initial_logit_gives_the_rate_rho_over_r() {
    // P(z ≠ 0) at ℓ₀ is ρ/R, in either direction from ½ (a sign error in ℓ₀ is invisible at ½).
    let dev = Dev::default();
    for (rho, r) in [(4.0, 16), (12.0, 16), (2.0, 8), (8.0, 16)] {
        let mut cfg = GatingConfig::new(Granularity::Token);
        cfg.rank = r;
        cfg.budget.rho = rho;
        let l0 = cfg.init_logit();
        let p = to_vec(cfg.hard_concrete.prob_nonzero(t1::<Cpu64>(vec![l0], &dev)))[0];
        assert!((p - rho / r as f64).abs() < 1e-9, "ρ/R = {}: P = {p}", rho / r as f64);
        // And the controller starts there: its output bias is ℓ₀.
        let gates = SpectralGates::<Cpu64>::new(cfg, 4, 1, &dev).unwrap();
        let bias = to_vec(
            gates.layers[0]
                .controller
                .as_ref()
                .unwrap()
                .output
                .bias
                .as_ref()
                .unwrap()
                .val(),
        );
        assert!(bias.iter().all(|&b| (b - l0).abs() < 1e-12));
    }
}

#[test]
fn annealing_starts_the_gates_mostly_on() {
    // With budget annealing gating starts at ρ_t = R, so ℓ₀ = max(0, ℓ(ρ/R)): 0 (P ≈ 0.83, CoFi's start) for
    // ρ/R = ¼, ℓ(15/16) for ρ/R = 15/16; `set_schedule` puts it into every controller bias and `Layer` logit.
    let dev = Dev::default();
    for (granularity, rho, want_p) in [
        (Granularity::Token, 4.0, None),
        (Granularity::Layer, 4.0, None),
        (Granularity::Sequence, 15.0, Some(15.0 / 16.0)),
    ] {
        let mut cfg = GatingConfig::new(granularity);
        cfg.budget.rho = rho;
        let mut gates = SpectralGates::<Cpu64>::new(cfg, 4, 2, &dev).unwrap();
        gates.set_schedule(tabs::GateSchedule::new(3, 5), 0);
        assert_eq!(gates.step, Some(0));
        let l0 = gates.config.init_logit();
        let p = to_vec(cfg.hard_concrete.prob_nonzero(t1::<Cpu64>(vec![l0], &dev)))[0];
        match want_p {
            None => assert!(
                l0 == 0.0 && (p - 0.8320).abs() < 1e-3,
                "{granularity:?}: ℓ₀ {l0}, P {p}"
            ),
            Some(w) => assert!((p - w).abs() < 1e-9, "{granularity:?}: P {p}"),
        }
        for source in &gates.layers {
            let v = match (&source.logits, &source.controller) {
                (Some(l), _) => to_vec(l.val()),
                (None, Some(c)) => to_vec(c.output.bias.as_ref().unwrap().val()),
                _ => unreachable!(),
            };
            assert!(v.iter().all(|&x| (x - l0).abs() < 1e-12), "{granularity:?}: {v:?}");
        }
    }
}

#[test]
fn logits_are_bounded_by_the_configured_clamp() {
    let dev = Dev::default();
    let hc = HardConcrete {
        logit_clamp: 3.0,
        ..Default::default()
    };
    let v = to_vec(hc.clamp_logits(t1::<Cpu64>(vec![-5.0, -3.0, 0.25, 2.9, 4.0], &dev)));
    assert_eq!(v, vec![-3.0, -3.0, 0.25, 2.9, 3.0]);
    // The gates read the bounded logits: a layer's raw logits never leave [−c, c].
    let mut cfg = GatingConfig::new(Granularity::Layer);
    cfg.hard_concrete = hc;
    let mut gates = SpectralGates::<Cpu64>::new(cfg, 4, 1, &dev).unwrap();
    gates.layers[0].logits = Some(Param::from_tensor(t1((0..16).map(|i| i as f64 - 8.0).collect(), &dev)));
    let mask = TokenMask::<Cpu64>::from_lengths(&[2], 2, &cfg.budget, &dev);
    let raw = to_vec(gates.raw_logits(0, Tensor::zeros([1, 2, 4], &dev), &mask));
    assert_eq!(raw.iter().cloned().fold(f64::MIN, f64::max), 3.0);
    assert_eq!(raw.iter().cloned().fold(f64::MAX, f64::min), -3.0);
}

#[test]
fn lora_scales_by_alpha_over_r() {
    // y − W x − b = (α/r)·(x A) B with A [d_in, r], B [r, d_out] (Burn layout): α = 6, r = 3 gives 2·x A B.
    let dev = Dev::default();
    Cpu64::seed(&dev, 8);
    let cfg = LoraConfig {
        rank: 3,
        alpha: 6.0,
        dropout: 0.0,
    };
    let mut m = AdaptedLinear::new(LinearConfig::new(5, 4).init::<Cpu64>(&dev), &AdapterConfig::Lora(cfg)).unwrap();
    let lora = m.lora.take().unwrap();
    let (a, b) = (lora.a.val(), randn::<Cpu64, 2>([3, 4], 1.0, &dev));
    m.lora = Some(tabs::Lora {
        b: Param::from_tensor(b.clone()),
        ..lora
    });
    let x = randn::<Cpu64, 3>([1, 2, 5], 1.0, &dev);
    let delta = m.forward(x.clone(), None) - m.base.forward(x.clone());
    let want = x.matmul(a.unsqueeze_dim(0)).matmul(b.unsqueeze_dim(0)).mul_scalar(2.0);
    assert!(max_abs_diff(delta, want) < 1e-12);
}
