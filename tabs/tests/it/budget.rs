//! The budget of TABS.md §5: B(T), the inference guarantee (property test over random logits, padded batches,
//! lengths 1..4096 and every granularity), the training projection and the "no projection" switch.

use crate::common::*;
use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use proptest::prelude::*;
use tabs::{BudgetConfig, GateMode, GatingConfig, Granularity, InferenceGate, SpectralGates, TokenMask};

type Dev = burn::backend::ndarray::NdArrayDevice;

#[test]
fn budget_formula() {
    let b = BudgetConfig::default();
    assert_eq!(b.budget(0), 0);
    assert_eq!(b.budget(1), 8);
    assert_eq!(b.budget(4096), 32_768);
    let b = BudgetConfig {
        rho: 0.1,
        offset: 2,
        cap: Some(50),
        ..Default::default()
    };
    assert_eq!(b.budget(30), 5); // ⌊0.1·30⌋ = 3 (not 2 from 2.9999…), + 2
    assert_eq!(b.budget(9), 2);
    assert_eq!(b.budget(1000), 50);
    assert_eq!(b.global_budget(12), 3);
    assert!(BudgetConfig {
        rho: -1.0,
        ..Default::default()
    }
    .validate()
    .is_err());
    assert!(BudgetConfig {
        rho: f64::NAN,
        ..Default::default()
    }
    .validate()
    .is_err());
}

struct Case {
    granularity: Granularity,
    lengths: Vec<usize>,
    pad: usize,
    rank: usize,
    rho: f64,
    mean: f64,
    std: f64,
    seed: u64,
    binary: bool,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn run_case(c: &Case) {
    let dev = Dev::default();
    Cpu::seed(&dev, c.seed);
    let layers = 3;
    let mut cfg = GatingConfig::new(c.granularity);
    cfg.rank = c.rank;
    cfg.budget.rho = c.rho;
    cfg.inference_gate = if c.binary {
        InferenceGate::Binary
    } else {
        InferenceGate::Deterministic
    };
    let hc = cfg.hard_concrete;
    let mut gates = SpectralGates::<Cpu>::new(cfg, 8, layers, &dev).unwrap();
    let t = c.lengths.iter().max().unwrap() + c.pad;
    let b = c.lengths.len();
    let mask = TokenMask::<Cpu>::from_lengths(&c.lengths, t, &cfg.budget, &dev);
    let t_logits = match c.granularity {
        Granularity::Token => t,
        _ => 1,
    };
    let mut all_logits = Vec::new();
    for l in 0..layers {
        let logits = hc.clamp_logits(randn::<Cpu, 3>([b, t_logits, c.rank], c.std, &dev).add_scalar(c.mean));
        if c.granularity == Granularity::Layer {
            let v = randn::<Cpu, 1>([c.rank], c.std, &dev).add_scalar(c.mean);
            gates.layers[l].logits = Some(Param::from_tensor(v));
        }
        all_logits.push(logits);
    }
    let m = to_vec(mask.mask.clone());
    let det_threshold = hc.deterministic_zero_below();
    let is_active = |l: f64| if c.binary { l > 0.0 } else { l > det_threshold };

    // ---- inference ----
    let mut layer_total = 0usize;
    let mut layer_active_before = 0usize;
    for (l, logits) in all_logits.iter().enumerate() {
        let out = gates.gates_from_logits(l, logits.clone(), &mask, GateMode::Eval);
        let g = to_vec(out.gates.clone());
        let counts = to_vec(out.count.clone());
        let lg = to_vec(logits.clone());
        for bi in 0..b {
            let tb = c.lengths[bi];
            let mut nz = 0usize;
            for ti in 0..t {
                for r in 0..c.rank {
                    let v = g[(bi * t + ti) * c.rank + r];
                    assert!((0.0..=1.0).contains(&v));
                    if m[bi * t + ti] == 0.0 {
                        assert_eq!(v, 0.0, "padding token {ti} of sequence {bi} is active");
                    } else if v > 0.0 {
                        nz += 1;
                    }
                }
            }
            let budget = mask.budgets[bi];
            match c.granularity {
                Granularity::Token | Granularity::Sequence => {
                    assert!(
                        nz <= budget,
                        "{:?}: layer {l} seq {bi}: {nz} > B = {budget}",
                        c.granularity
                    );
                    assert_eq!(nz as f64, counts[bi]);
                    // The cut keeps as much as the budget allows (it is not vacuous).
                    let active_before = if c.granularity == Granularity::Token {
                        (0..tb * c.rank).filter(|&k| is_active(lg[bi * t * c.rank + k])).count()
                    } else {
                        (0..c.rank).filter(|&k| is_active(lg[bi * c.rank + k])).count() * tb
                    };
                    let expected = if c.granularity == Granularity::Token {
                        active_before.min(budget)
                    } else {
                        (active_before / tb).min(budget / tb) * tb
                    };
                    assert_eq!(nz, expected, "{:?}: layer {l} seq {bi}", c.granularity);
                }
                Granularity::Layer => {
                    // Every real token of every sequence has the same gates.
                    assert_eq!(nz % tb, 0);
                    if bi == 0 {
                        layer_total += nz / tb;
                    }
                }
            }
        }
        if c.granularity == Granularity::Layer {
            let lv = to_vec(gates.layers[l].logits.as_ref().unwrap().val().clamp(-10.0, 10.0));
            layer_active_before += lv.iter().filter(|&&x| is_active(x)).count();
        }
    }
    if c.granularity == Granularity::Layer {
        let global = cfg.budget.global_budget(layers);
        assert!(layer_total <= global, "Layer: {layer_total} > {global}");
        assert_eq!(layer_total, layer_active_before.min(global));
    }

    // ---- training (projection on) ----
    let mut layer_expected = 0.0;
    let mut layer_unprojected = 0.0;
    for (l, logits) in all_logits.iter().enumerate() {
        let out = gates.gates_from_logits(l, logits.clone(), &mask, GateMode::Train);
        let g = to_vec(out.gates.clone());
        for (k, v) in g.iter().enumerate() {
            if m[k / c.rank] == 0.0 {
                assert_eq!(*v, 0.0);
            }
        }
        let counts = to_vec(out.count.clone());
        let lg = to_vec(logits.clone());
        match c.granularity {
            Granularity::Token | Granularity::Sequence => {
                for bi in 0..b {
                    let budget = mask.budgets[bi] as f64;
                    assert!(counts[bi] <= budget + 1e-3 * budget, "train: {} > {budget}", counts[bi]);
                    let tb = c.lengths[bi];
                    let unprojected: f64 = if c.granularity == Granularity::Token {
                        (0..tb * c.rank)
                            .map(|k| sigmoid(lg[bi * t * c.rank + k] - hc.l0_shift()))
                            .sum()
                    } else {
                        tb as f64
                            * (0..c.rank)
                                .map(|k| sigmoid(lg[bi * c.rank + k] - hc.l0_shift()))
                                .sum::<f64>()
                    };
                    if unprojected > budget {
                        assert!(
                            counts[bi] >= budget * (1.0 - 1e-3),
                            "projection overshoots: {}",
                            counts[bi]
                        );
                    } else {
                        assert!((counts[bi] - unprojected).abs() <= 1e-3 * unprojected.max(1.0));
                    }
                }
            }
            Granularity::Layer => {
                layer_expected += counts[0];
                let lv = to_vec(gates.layers[l].logits.as_ref().unwrap().val().clamp(-10.0, 10.0));
                layer_unprojected += lv.iter().map(|x| sigmoid(x - hc.l0_shift())).sum::<f64>();
            }
        }
    }
    if c.granularity == Granularity::Layer {
        let global = cfg.budget.global_budget(layers) as f64;
        assert!(layer_expected <= global * (1.0 + 1e-3), "{layer_expected} > {global}");
        if layer_unprojected > global {
            assert!(layer_expected >= global * (1.0 - 1e-3));
        }
    }
}

fn granularity() -> impl Strategy<Value = Granularity> {
    prop_oneof![
        Just(Granularity::Layer),
        Just(Granularity::Sequence),
        Just(Granularity::Token)
    ]
}

fn length() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=16, 1usize..=4096]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn budget_guarantee_holds_for_every_input(
        granularity in granularity(),
        lengths in prop::collection::vec(length(), 1..=3),
        pad in 0usize..4,
        rank in prop_oneof![Just(4usize), Just(16usize)],
        rho in prop_oneof![Just(0.5f64), Just(1.0), Just(2.5), Just(8.0)],
        mean in -4.0f64..4.0,
        std in prop_oneof![Just(0.3f64), Just(3.0), Just(10.0)],
        seed in any::<u64>(),
        binary in any::<bool>(),
    ) {
        run_case(&Case { granularity, lengths, pad, rank, rho, mean, std, seed, binary });
    }
}

#[test]
fn without_projection_and_cut_the_budget_is_not_enforced() {
    // The ablation switch is real: high logits, ρ = 1 of R = 16 — the cut is what keeps the count at B.
    let dev = Dev::default();
    Cpu::seed(&dev, 3);
    let lengths = [50usize, 20];
    for (projection, cut) in [(true, true), (false, false)] {
        let mut cfg = GatingConfig::new(Granularity::Token);
        cfg.budget.rho = 1.0;
        cfg.budget.projection = projection;
        cfg.budget.inference_cut = cut;
        let gates = SpectralGates::<Cpu>::new(cfg, 8, 1, &dev).unwrap();
        let mask = TokenMask::<Cpu>::from_lengths(&lengths, 50, &cfg.budget, &dev);
        let logits = Tensor::<Cpu, 3>::full([2, 50, 16], 5.0, &dev);
        let eval = to_vec(gates.gates_from_logits(0, logits.clone(), &mask, GateMode::Eval).count);
        let train = to_vec(gates.gates_from_logits(0, logits, &mask, GateMode::Train).count);
        for (i, &len) in lengths.iter().enumerate() {
            let b = len as f64;
            if cut {
                assert_eq!(eval[i], b);
                assert!(train[i] <= b * 1.001);
            } else {
                assert_eq!(eval[i], 16.0 * b); // every real pair active
                assert!(train[i] > 15.0 * b);
            }
        }
    }
}

#[test]
fn budget_zero_sequences_get_no_directions() {
    // ρ = 0.5 and T = 1: B = 0, so no direction may be active, in training or inference.
    let dev = Dev::default();
    let mut cfg = GatingConfig::new(Granularity::Token);
    cfg.budget.rho = 0.5;
    let gates = SpectralGates::<Cpu>::new(cfg, 8, 1, &dev).unwrap();
    let mask = TokenMask::<Cpu>::from_lengths(&[1, 4], 4, &cfg.budget, &dev);
    assert_eq!(mask.budgets, vec![0, 2]);
    let logits = Tensor::<Cpu, 3>::full([2, 4, 16], 8.0, &dev);
    for mode in [GateMode::Eval, GateMode::Train] {
        let out = gates.gates_from_logits(0, logits.clone(), &mask, mode);
        let g = to_vec(out.gates.slice([0..1, 0..4, 0..16]));
        assert!(g.iter().all(|&x| x == 0.0), "{mode:?}");
    }
}

#[test]
fn projection_pins_budget_zero_groups_to_tau_max() {
    // With B = 0 no τ can make the expected count exactly 0 in exact arithmetic; τ is TAU_MAX by contract
    // (not wherever the backend's f32 sigmoid happens to underflow), and other groups are unaffected.
    let dev = Dev::default();
    let logits = Tensor::<Cpu, 2>::from_floats([[5.0, 4.0, -1.0, 0.0], [5.0, 4.0, -1.0, 0.0]], &dev);
    let cost = Tensor::<Cpu, 2>::ones([2, 4], &dev);
    let budget = Tensor::<Cpu, 1>::from_floats([0.0, 1.0], &dev);
    let tau = to_vec(tabs::budget::projection_shift(logits, cost, budget, -1.6));
    assert_eq!(tau[0], tabs::budget::TAU_MAX);
    assert!(tau[1] > 0.0 && tau[1] < 20.0, "{tau:?}");
}

#[test]
#[should_panic(expected = "no multipliers")]
fn lagrangian_penalty_without_multipliers_is_not_silently_zero() {
    let dev = Dev::default();
    let cfg = GatingConfig::new(Granularity::Token);
    let mut gates = SpectralGates::<Cpu>::new(cfg, 8, 1, &dev).unwrap();
    gates.config.budget.penalty = tabs::Penalty::Lagrangian; // edited after construction: no multipliers
    let mask = TokenMask::<Cpu>::from_lengths(&[4], 4, &gates.config.budget, &dev);
    let out = gates.forward_mode(0, Tensor::zeros([1, 4, 8], &dev), &mask, GateMode::Train);
    let _ = gates.budget_loss(&[out]);
}
