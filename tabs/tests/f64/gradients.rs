//! Finite-difference gradient checks in f64 (central differences, ε = 1e-6; relative error ‖ad − fd‖/‖fd‖
//! ≤ 1e-3, observed far smaller): the gated term w.r.t. A_U, A_V and the gate logits (through the
//! HardConcrete sample with fixed noise), the expected-count penalty, the projected logits (τ detached, so
//! the reference holds τ at its value at the base point) and the Lagrangian's ascent direction.

use crate::common::*;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use tabs::budget;
use tabs::kernel::{self, Factors, Kernel};
use tabs::HardConcrete;

type Dev = burn::backend::ndarray::NdArrayDevice;

struct Problem {
    h: Vec<f64>,
    u: Vec<f64>,
    v: Vec<f64>,
    s: Vec<f64>,
    a_u: Vec<f64>,
    a_v: Vec<f64>,
    logits: Vec<f64>,
    noise: Vec<f64>,
    proj: Vec<f64>,
    n: usize,
    d_in: usize,
    d_out: usize,
    r: usize,
}

fn problem(seed: u64) -> Problem {
    let dev = Dev::default();
    Cpu64::seed(&dev, seed);
    let (n, d_in, d_out, r) = (6, 7, 5, 4);
    let rnd = |len: usize, std: f64| to_vec(randn::<Cpu64, 1>([len], std, &dev));
    let uni =
        |len: usize, lo: f64, hi: f64| to_vec(Tensor::<Cpu64, 1>::random([len], Distribution::Uniform(lo, hi), &dev));
    Problem {
        h: rnd(n * d_in, 1.0),
        u: rnd(d_out * r, 0.5),
        v: rnd(d_in * r, 0.5),
        s: uni(r, 0.5, 2.0),
        a_u: rnd(d_out * r, 0.3),
        a_v: rnd(d_in * r, 0.3),
        logits: rnd(n * r, 1.0),
        // Noise in (0.2, 0.8) keeps most samples strictly inside (0, 1) (away from the clamp's kinks).
        noise: uni(n * r, 0.2, 0.8),
        proj: rnd(n * d_out, 1.0),
        n,
        d_in,
        d_out,
        r,
    }
}

fn t2<B: Backend>(v: &[f64], shape: [usize; 2], dev: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), dev)
}

/// L = Σ proj ⊙ Δ(h; A_U, A_V, z(ℓ − τ, u)), τ a given constant per row group (here one scalar).
fn gated_loss<B: Backend>(
    p: &Problem,
    a_u: Tensor<B, 2>,
    a_v: Tensor<B, 2>,
    logits: Tensor<B, 2>,
    tau: f64,
    kernel: Kernel,
    dev: &B::Device,
) -> Tensor<B, 1> {
    let hc = HardConcrete::default();
    let z = hc.sample_with_noise(logits.sub_scalar(tau), t2(&p.noise, [p.n, p.r], dev));
    let s: Tensor<B, 1> = Tensor::from_data(TensorData::new(p.s.clone(), [p.r]), dev);
    let gs = z * s.unsqueeze_dim(0);
    let f = Factors {
        u: t2(&p.u, [p.d_out, p.r], dev),
        v: t2(&p.v, [p.d_in, p.r], dev),
        a_u,
        a_v,
        alpha: 1.7,
    };
    let delta = kernel::gated_term(kernel, t2(&p.h, [p.n, p.d_in], dev), gs, &f);
    (delta * t2(&p.proj, [p.n, p.d_out], dev)).sum()
}

fn rel_err(ad: &[f64], fd: &[f64]) -> f64 {
    let num: f64 = ad.iter().zip(fd).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    let den: f64 = fd.iter().map(|b| b * b).sum::<f64>().sqrt();
    assert!(
        den > 1e-6,
        "the reference gradient vanishes: the check would be vacuous"
    );
    num / den
}

/// Central differences of f at x.
fn finite_diff(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let eps = 1e-6;
    (0..x.len())
        .map(|i| {
            let mut xp = x.to_vec();
            let mut xm = x.to_vec();
            xp[i] += eps;
            xm[i] -= eps;
            (f(&xp) - f(&xm)) / (2.0 * eps)
        })
        .collect()
}

fn check_gated_term(kernel: Kernel, tau: f64) {
    let dev = Dev::default();
    let p = problem(11);
    let a_u = t2::<Cpu64Ad>(&p.a_u, [p.d_out, p.r], &dev).require_grad();
    let a_v = t2::<Cpu64Ad>(&p.a_v, [p.d_in, p.r], &dev).require_grad();
    let lg = t2::<Cpu64Ad>(&p.logits, [p.n, p.r], &dev).require_grad();
    let loss = gated_loss(&p, a_u.clone(), a_v.clone(), lg.clone(), tau, kernel, &dev);
    let grads = loss.backward();
    let g_au = to_vec(a_u.grad(&grads).unwrap());
    let g_av = to_vec(a_v.grad(&grads).unwrap());
    let g_l = to_vec(lg.grad(&grads).unwrap());

    let eval = |au: &[f64], av: &[f64], l: &[f64]| {
        to_vec(gated_loss::<Cpu64>(
            &p,
            t2(au, [p.d_out, p.r], &dev),
            t2(av, [p.d_in, p.r], &dev),
            t2(l, [p.n, p.r], &dev),
            tau,
            kernel,
            &dev,
        ))[0]
    };
    let fd_au = finite_diff(&p.a_u, |x| eval(x, &p.a_v, &p.logits));
    let fd_av = finite_diff(&p.a_v, |x| eval(&p.a_u, x, &p.logits));
    let fd_l = finite_diff(&p.logits, |x| eval(&p.a_u, &p.a_v, x));
    for (name, ad, fd) in [("A_U", g_au, fd_au), ("A_V", g_av, fd_av), ("logits", g_l, fd_l)] {
        let e = rel_err(&ad, &fd);
        assert!(e <= 1e-3, "{kernel:?} ∂L/∂{name}: relative error {e}");
    }
}

#[test]
fn gated_term_gradients_dense() {
    check_gated_term(Kernel::DenseMasked, 0.0);
}

#[test]
fn gated_term_gradients_gathered() {
    check_gated_term(Kernel::Gathered, 0.0);
}

#[test]
fn expected_count_penalty_gradient() {
    let dev = Dev::default();
    let hc = HardConcrete::default();
    Cpu64::seed(&dev, 12);
    // Two groups of 30 items; logits high enough that both exceed their budgets.
    let logits = to_vec(randn::<Cpu64, 1>([60], 1.0, &dev))
        .iter()
        .map(|x| x + 1.0)
        .collect::<Vec<_>>();
    let cost = vec![1.0; 60];
    let budgets = [10.0, 14.0];
    let penalty = |l: Tensor<Cpu64Ad, 2>| -> Tensor<Cpu64Ad, 1> {
        let expected = (hc.prob_nonzero(l) * t2(&cost, [2, 30], &dev))
            .sum_dim(1)
            .squeeze_dim(1);
        budget::relative_excess(
            expected,
            Tensor::from_data(TensorData::new(budgets.to_vec(), [2]), &dev),
        )
    };
    let l = t2::<Cpu64Ad>(&logits, [2, 30], &dev).require_grad();
    let value = penalty(l.clone());
    assert!(to_vec(value.clone())[0] > 0.01, "the penalty must be active");
    let ad = to_vec(l.grad(&value.backward()).unwrap());
    let fd = finite_diff(&logits, |x| to_vec(penalty(t2(x, [2, 30], &dev)))[0]);
    let e = rel_err(&ad, &fd);
    assert!(e <= 1e-3, "relative error {e}");
}

#[test]
fn projected_logits_gradient() {
    let dev = Dev::default();
    let hc = HardConcrete::default();
    let p = problem(13);
    // One group = all n·r gate logits, shifted up so the projection is active: budget 5 of 24 items.
    let logits: Vec<f64> = p.logits.iter().map(|x| x + 2.0).collect();
    let group = t2::<Cpu64>(&logits, [1, p.n * p.r], &dev);
    let tau = to_vec(budget::projection_shift(
        group.clone(),
        group.ones_like(),
        Tensor::from_data(TensorData::new(vec![5.0], [1]), &dev),
        hc.l0_shift(),
    ))[0];
    assert!(tau > 0.5, "projection inactive (τ = {tau})");
    // The shifted logits meet the budget tightly.
    let count: f64 = logits
        .iter()
        .map(|l| 1.0 / (1.0 + (-(l - tau - hc.l0_shift())).exp()))
        .sum();
    assert!(count <= 5.0 + 1e-9 && count > 5.0 - 1e-6, "count {count}");
    // Gradient through ℓ − τ (τ detached) equals the finite difference at fixed τ.
    let p2 = Problem { logits, ..p };
    let lg = t2::<Cpu64Ad>(&p2.logits, [p2.n, p2.r], &dev).require_grad();
    let au = t2::<Cpu64Ad>(&p2.a_u, [p2.d_out, p2.r], &dev);
    let av = t2::<Cpu64Ad>(&p2.a_v, [p2.d_in, p2.r], &dev);
    let loss = gated_loss(&p2, au, av, lg.clone(), tau, Kernel::DenseMasked, &dev);
    let ad = to_vec(lg.grad(&loss.backward()).unwrap());
    let fd = finite_diff(&p2.logits, |x| {
        to_vec(gated_loss::<Cpu64>(
            &p2,
            t2(&p2.a_u, [p2.d_out, p2.r], &dev),
            t2(&p2.a_v, [p2.d_in, p2.r], &dev),
            t2(x, [p2.n, p2.r], &dev),
            tau,
            Kernel::DenseMasked,
            &dev,
        ))[0]
    });
    let e = rel_err(&ad, &fd);
    assert!(e <= 1e-3, "relative error {e}");
    // And the projection's own output carries no gradient (τ detached).
    let lg = t2::<Cpu64Ad>(&p2.logits, [1, p2.n * p2.r], &dev).require_grad();
    let tau_ad = budget::projection_shift(
        lg.clone(),
        lg.clone().ones_like(),
        Tensor::from_data(TensorData::new(vec![5.0], [1]), &dev),
        hc.l0_shift(),
    );
    assert!(!tau_ad.is_require_grad());
}

#[test]
fn lagrangian_ascends_on_multipliers_and_descends_on_the_model() {
    let dev = Dev::default();
    let mut lag = tabs::Lagrangian::<Cpu64Ad>::new(&dev);
    lag.lambda1 = burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.7], [1]), &dev));
    lag.lambda2 = burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.3], [1]), &dev));
    let x = Tensor::<Cpu64Ad, 1>::from_data(TensorData::new(vec![0.4], [1]), &dev).require_grad();
    let d = x.clone().mul_scalar(2.0); // d = 0.8, ∂d/∂x = 2
    let loss = lag.loss(d);
    assert!((to_vec(loss.clone())[0] - (0.7 * 0.8 + 0.3 * 0.64)).abs() < 1e-12);
    let grads = loss.backward();
    let gx = to_vec(x.grad(&grads).unwrap())[0];
    assert!((gx - (0.7 * 2.0 + 2.0 * 0.3 * 0.8 * 2.0)).abs() < 1e-12, "{gx}");
    let g1 = to_vec(lag.lambda1.val().grad(&grads).unwrap())[0];
    let g2 = to_vec(lag.lambda2.val().grad(&grads).unwrap())[0];
    assert!((g1 + 0.8).abs() < 1e-12 && (g2 + 0.64).abs() < 1e-12, "{g1} {g2}");
}
