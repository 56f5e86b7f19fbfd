//! The gates' training schedule and what makes the gates learn (method chapter, "How the gates learn"): the
//! phases step by step, the warm-up's all-on gates, the annealed budget that training then meets, the penalty
//! read before the projection's shift (so λ acts), the straight-through logit bound (finite differences), and the
//! gate logits' gradient, exactly 0 while A = 0 and non-zero once A ≠ 0.

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use tabs::{
    AdaptedLinear, AdapterConfig, GateMode, GatePhase, GateSchedule, GatingConfig, Granularity, HardConcrete, Penalty,
    SpectralConfig, SpectralGates, TokenMask,
};

use crate::common::*;

type Dev = burn::backend::ndarray::NdArrayDevice;

fn rho_of(p: GatePhase) -> f64 {
    match p {
        GatePhase::Gated { rho } => rho,
        GatePhase::Warmup => panic!("expected a gated phase"),
    }
}

#[test]
fn schedule_phases_step_by_step() {
    // W = 3, N = 4, R = 16, ρ = 4: ρ_t = 4 + 12·(1 − (s − 3)/4).
    let s = GateSchedule::new(3, 4);
    for step in 0..3 {
        assert_eq!(s.phase(Some(step), 16, 4.0), GatePhase::Warmup, "step {step}");
    }
    let expected = [
        (3, 16.0),
        (4, 13.0),
        (5, 10.0),
        (6, 7.0),
        (7, 4.0),
        (8, 4.0),
        (1000, 4.0),
    ];
    for (step, rho) in expected {
        assert_eq!(rho_of(s.phase(Some(step), 16, 4.0)), rho, "step {step}");
    }
    // Outside training (step cleared) the final ρ applies, whatever the schedule.
    assert_eq!(rho_of(s.phase(None, 16, 4.0)), 4.0);
    assert_eq!(s.end(), 7);
    // No annealing: ρ right after the warm-up; no schedule at all: ρ from step 0.
    assert_eq!(rho_of(GateSchedule::new(2, 0).phase(Some(2), 16, 4.0)), 4.0);
    assert_eq!(rho_of(GateSchedule::default().phase(Some(0), 16, 4.0)), 4.0);
    // ρ ≥ R: nothing to anneal.
    assert_eq!(rho_of(s.phase(Some(4), 8, 12.0)), 12.0);
}

/// Token gates, R = 8, over 2 layers whose input width is 12.
fn token_gates(rho: f64, schedule: GateSchedule, step: Option<usize>, dev: &Dev) -> SpectralGates<Cpu64Ad> {
    let mut cfg = GatingConfig::new(Granularity::Token);
    cfg.rank = 8;
    cfg.budget.rho = rho;
    cfg.schedule = schedule;
    let mut g = SpectralGates::<Cpu64Ad>::new(cfg, 12, 2, dev).unwrap();
    g.step = step;
    g
}

/// A padded float mask `[b, T]` for `lengths`.
fn float_mask<B: Backend>(lengths: &[usize], t: usize, dev: &B::Device) -> Tensor<B, 2> {
    let v: Vec<f64> = lengths
        .iter()
        .flat_map(|&l| (0..t).map(move |i| if i < l { 1.0 } else { 0.0 }))
        .collect();
    Tensor::from_data(TensorData::new(v, [lengths.len(), t]), dev)
}

#[test]
fn warmup_turns_every_gate_on_with_no_budget_loss() {
    let dev = Dev::default();
    Cpu64Ad::seed(&dev, 1);
    let gates = token_gates(2.0, GateSchedule::new(5, 10), Some(4), &dev);
    let lengths = [3usize, 5];
    let mask = gates.token_mask(float_mask(&lengths, 5, &dev));
    // During the warm-up the budget in force is ρ_t = R.
    assert_eq!(mask.budgets, vec![24, 40]);
    let h = randn::<Cpu64Ad, 3>([2, 5, 12], 1.0, &dev);
    for mode in [GateMode::Train, GateMode::Eval] {
        let out = gates.forward_mode(0, h.clone(), &mask, mode);
        let g = to_vec(out.gates.clone());
        for (b, &len) in lengths.iter().enumerate() {
            for t in 0..5 {
                let want = if t < len { 1.0 } else { 0.0 };
                assert!(
                    g[(b * 5 + t) * 8..(b * 5 + t + 1) * 8].iter().all(|&x| x == want),
                    "{mode:?}"
                );
            }
        }
        assert_eq!(to_vec(out.count.clone()), vec![24.0, 40.0]);
        let loss = gates.budget_loss(&[out]);
        assert_eq!(to_vec(loss), vec![0.0]);
    }
    // One step later the gates are sampled: the warm-up ends exactly at W.
    let gates = token_gates(2.0, GateSchedule::new(5, 10), Some(5), &dev);
    let out = gates.forward_mode(0, h, &mask, GateMode::Train);
    assert!(to_vec(out.gates).iter().any(|&x| x > 0.0 && x < 1.0));
}

#[test]
fn training_expected_count_meets_the_annealed_budget() {
    // Step 7 of W = 2, N = 10 with R = 8, ρ = 2: ρ_t = 2 + 6·(1 − 5/10) = 5. High logits: the projection binds,
    // so the expected count after the shift equals B_t(T) = ⌊5·T⌋ per sequence; the inference cut keeps B_t too.
    let dev = Dev::default();
    Cpu64Ad::seed(&dev, 2);
    let mut gates = token_gates(2.0, GateSchedule::new(2, 10), Some(7), &dev);
    assert_eq!(gates.effective_budget().rho, 5.0);
    let lengths = [7usize, 4];
    let mask = gates.token_mask(float_mask(&lengths, 7, &dev));
    assert_eq!(mask.budgets, vec![35, 20]);
    let logits = randn::<Cpu64Ad, 3>([2, 7, 8], 1.0, &dev).add_scalar(3.0);
    let train = gates.gates_from_logits(0, logits.clone(), &mask, GateMode::Train);
    let count = to_vec(train.count.clone());
    let before = to_vec(train.expected.clone());
    for (i, &b) in [35.0, 20.0].iter().enumerate() {
        assert!((count[i] - b).abs() < 1e-6, "count {} vs B_t {b}", count[i]);
        assert!(
            before[i] > b + 1.0,
            "the logits must exceed the budget before the shift"
        );
    }
    let eval = to_vec(gates.gates_from_logits(0, logits, &mask, GateMode::Eval).count);
    assert_eq!(eval, vec![35.0, 20.0]);
    // With the step cleared (the final model) the budget is ρ again.
    gates.step = None;
    assert_eq!(gates.token_mask(float_mask(&lengths, 7, &dev)).budgets, vec![14, 8]);
}

#[test]
fn the_penalty_reads_the_count_before_the_shift_so_lambda_acts() {
    // Logits above the budget with the projection on: after the shift the count is ≤ B, so a penalty on it would
    // be 0 whatever λ. Read before the shift, it is positive and its gradient w.r.t. the logits scales with λ.
    let dev = Dev::default();
    let grad_for = |lambda: f64| {
        let mut cfg = GatingConfig::new(Granularity::Token);
        cfg.rank = 8;
        cfg.budget.rho = 2.0;
        cfg.budget.penalty = Penalty::RelativeExcess { lambda };
        let gates = SpectralGates::<Cpu64Ad>::new(cfg, 6, 1, &dev).unwrap();
        let mask = TokenMask::<Cpu64Ad>::from_lengths(&[5, 3], 5, &cfg.budget, &dev);
        let init: Vec<f64> = (0..2 * 5 * 8).map(|i| 1.0 + 0.05 * (i % 7) as f64).collect();
        let logits = Tensor::<Cpu64Ad, 3>::from_data(TensorData::new(init, [2, 5, 8]), &dev).require_grad();
        let out = gates.gates_from_logits(0, logits.clone(), &mask, GateMode::Train);
        assert!(to_vec(out.count.clone())
            .iter()
            .zip([10.0, 6.0])
            .all(|(c, b)| *c <= b + 1e-9));
        let loss = gates.budget_loss(&[out]);
        let value = to_vec(loss.clone())[0];
        (value, to_vec(logits.grad(&loss.backward()).unwrap()))
    };
    let (v1, g1) = grad_for(1.0);
    let (v4, g4) = grad_for(4.0);
    assert!(v1 > 0.1, "the penalty must be active before the shift: {v1}");
    assert!((v4 - 4.0 * v1).abs() < 1e-12);
    assert!(g1.iter().any(|g| g.abs() > 1e-4), "λ must reach the logits");
    for (a, b) in g1.iter().zip(&g4) {
        assert!((b - 4.0 * a).abs() < 1e-12, "{a} {b}");
    }
}

#[test]
fn the_logit_bound_keeps_the_gradient() {
    // ℓ̂ = clamp(ℓ, −10, 10) in value; beyond the bound the gradient of f(ℓ̂) equals f'(±10), the derivative of
    // the unclamped function at the bound (finite differences from inside), where a forward clamp gives 0.
    let dev = Dev::default();
    let hc = HardConcrete::default();
    // f(ℓ) = Σ w ⊙ ℓ² + Σ P(z ≠ 0 | ℓ): smooth, with a derivative well away from 0 at the bounds.
    let f = |l: Tensor<Cpu64Ad, 1>| -> Tensor<Cpu64Ad, 1> {
        let w = Tensor::from_data(TensorData::new(vec![0.3, -0.7, 0.5, 1.5], [4]), &dev);
        (l.clone().powi_scalar(2) * w).sum() + hc.prob_nonzero(l).sum()
    };
    let x = vec![12.0, -11.0, 3.0, -0.5];
    let l = Tensor::<Cpu64Ad, 1>::from_data(TensorData::new(x.clone(), [4]), &dev).require_grad();
    let bounded = hc.clamp_logits(l.clone());
    assert_eq!(to_vec(bounded.clone()), vec![10.0, -10.0, 3.0, -0.5]);
    let ad = to_vec(l.grad(&f(bounded).backward()).unwrap());
    let at = |v: Vec<f64>| to_vec(f(Tensor::from_data(TensorData::new(v, [4]), &dev)))[0];
    let inside = [10.0, -10.0, 3.0, -0.5];
    let eps = 1e-6;
    for i in 0..4 {
        let (mut p, mut m) = (inside.to_vec(), inside.to_vec());
        p[i] += eps;
        m[i] -= eps;
        let fd = (at(p) - at(m)) / (2.0 * eps);
        assert!(
            (ad[i] - fd).abs() <= 1e-6 * fd.abs().max(1.0),
            "logit {}: ad {} fd {fd}",
            x[i],
            ad[i]
        );
        assert!(fd.abs() > 1e-6, "the reference derivative at logit {} vanishes", x[i]);
    }
    // A forward clamp would have cut it.
    let l = Tensor::<Cpu64Ad, 1>::from_data(TensorData::new(x, [4]), &dev).require_grad();
    let dead = to_vec(l.grad(&f(l.clone().clamp(-10.0, 10.0)).backward()).unwrap());
    assert_eq!((dead[0], dead[1]), (0.0, 0.0));
}

#[test]
fn gate_logits_learn_only_once_the_adapter_is_nonzero() {
    // The controller's gradient is exactly 0 while A_U = A_V = 0 (the gated term is 0 for any gates) and
    // non-zero once A ≠ 0; during the warm-up no logit is computed at all, so there is nothing to learn.
    let dev = Dev::default();
    Cpu64Ad::seed(&dev, 4);
    let linear = burn::nn::LinearConfig::new(12, 10).init::<Cpu64Ad>(&dev);
    let spectral = SpectralConfig {
        rank: 8,
        ..Default::default()
    };
    let mut map = AdaptedLinear::new(linear, &AdapterConfig::Spectral(spectral)).unwrap();
    let h = randn::<Cpu64Ad, 3>([2, 4, 12], 1.0, &dev);
    let controller_grad = |map: &AdaptedLinear<Cpu64Ad>, step: Option<usize>| {
        let gates = token_gates(4.0, GateSchedule::new(3, 0), step, &dev);
        let mask = gates.token_mask(float_mask(&[4, 2], 4, &dev));
        let g = gates.forward_mode(0, h.clone(), &mask, GateMode::Train);
        let loss = map.forward(h.clone(), Some(&g.gates)).powi_scalar(2).sum();
        let grads = loss.backward();
        let bias = gates.layers[0]
            .controller
            .as_ref()
            .unwrap()
            .output
            .bias
            .as_ref()
            .unwrap();
        bias.val().grad(&grads).map(to_vec)
    };
    let zero = controller_grad(&map, Some(3)).expect("gated: the controller is in the graph");
    assert!(zero.iter().all(|&g| g == 0.0), "A = 0: {zero:?}");
    assert!(
        controller_grad(&map, Some(0)).is_none(),
        "warm-up: no logits, no gradient"
    );
    let s = map.spectral.take().unwrap();
    map.spectral = Some(tabs::GatedSpectral {
        a_u: Param::from_tensor(randn([10, 8], 0.3, &dev)),
        ..s
    });
    let grad = controller_grad(&map, Some(3)).unwrap();
    assert!(grad.iter().any(|g| g.abs() > 1e-6), "A ≠ 0: {grad:?}");
}
