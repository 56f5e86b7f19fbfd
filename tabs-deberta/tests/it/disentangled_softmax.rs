//! The fused disentangled softmax (burn-flex, with and without autodiff) against the same formula composed of
//! burn tensor ops (skew, add, `mask_fill`, softmax) on burn-ndarray in f64: probabilities, and the gradients of qk, c2p and
//! p2c for a weighted sum of them. Inputs are strided views (a transposed qk, c2p and p2c laid out head-major), the
//! mask pads keys of one sequence, and one case masks every key of a sequence (rows of uniform probabilities). The
//! relative terms come per distance or, as HF computes them, against a log-bucketed table read by index.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Tensor, TensorData};
use std::sync::Arc;

use tabs_deberta::disentangled_softmax::{disentangled_softmax, RelativeTerm};
use tabs_deberta::relative::distance_rows;

type Fused = tabs_hf::Cpu;
/// f64, so that the comparison measures the fused kernel's f32 rounding, not the composed ops'.
type Reference = NdArray<f64>;

/// Deterministic values in [−2, 2).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect()
}

/// The table rows of the 2T − 1 distances, for c2p and for p2c.
type TableRows = (Vec<usize>, Vec<usize>);

struct Case {
    b: usize,
    h: usize,
    t: usize,
    /// Real keys per sequence; the rest are padding.
    lengths: Vec<usize>,
    /// Against a table of 2·span rows with log buckets (span, max relative position), or per distance.
    table: Option<(usize, usize)>,
}

impl Case {
    /// Width of the relative terms and the table rows per distance (c2p, p2c), if any.
    fn columns(&self) -> (usize, Option<TableRows>) {
        match self.table {
            None => (2 * self.t - 1, None),
            Some((span, max_rel)) => {
                let (c, p) = distance_rows(self.t, Some(span), max_rel, span);
                let host = |v: Vec<i64>| v.into_iter().map(|r| r as usize).collect();
                (2 * span, Some((host(c), host(p))))
            }
        }
    }
}

/// (qk, c2p, p2c, mask, weights of the loss) on backend `Bk`: qk is the transpose of a contiguous tensor, c2p and
/// p2c are `[H, b, T, W]` tensors with the first two axes swapped.
#[allow(clippy::type_complexity)]
fn inputs<Bk: Backend>(
    c: &Case,
) -> (
    Tensor<Bk, 4>,
    Tensor<Bk, 4>,
    Tensor<Bk, 4>,
    Tensor<Bk, 4, Bool>,
    Tensor<Bk, 4>,
) {
    let (b, h, t) = (c.b, c.h, c.t);
    let (w, _) = c.columns();
    let dev = Default::default();
    let qk = Tensor::<Bk, 4>::from_data(TensorData::new(values(b * h * t * t, 1), [b, h, t, t]), &dev).swap_dims(2, 3);
    let rel = |seed| {
        Tensor::<Bk, 4>::from_data(TensorData::new(values(b * h * t * w, seed), [h, b, t, w]), &dev).swap_dims(0, 1)
    };
    let mut mask = Vec::with_capacity(b * h * t * t);
    for len in &c.lengths {
        for _ in 0..h * t {
            mask.extend((0..t).map(|j| j >= *len));
        }
    }
    let mask = Tensor::<Bk, 4, Bool>::from_data(TensorData::new(mask, [b, h, t, t]), &dev);
    let weights = Tensor::<Bk, 4>::from_data(TensorData::new(values(b * h * t * t, 4), [b, h, t, t]), &dev);
    (qk, rel(2), rel(3), mask, weights)
}

/// The two relative terms of case `c`.
fn terms<Bk: Backend>(c: &Case, c2p: Tensor<Bk, 4>, p2c: Tensor<Bk, 4>) -> (RelativeTerm<Bk>, RelativeTerm<Bk>) {
    match c.columns().1 {
        None => (RelativeTerm::distances(c2p), RelativeTerm::distances(p2c)),
        Some((cr, pr)) => (
            RelativeTerm {
                values: c2p,
                rows: Some(Arc::new(cr)),
            },
            RelativeTerm {
                values: p2c,
                rows: Some(Arc::new(pr)),
            },
        ),
    }
}

fn flat<Bk: Backend, const D: usize>(x: Tensor<Bk, D>) -> Vec<f32> {
    x.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let worst = got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
    assert!(worst <= tol, "{what}: max |Δ| = {worst:e} > {tol:e}");
}

/// Probabilities, then the gradients of qk, c2p and p2c for Σ P ⊙ weights.
fn run<Bk: AutodiffBackend>(c: &Case) -> [Vec<f32>; 4] {
    let (qk, c2p, p2c, mask, weights) = inputs::<Bk>(c);
    let (qk, c2p, p2c) = (qk.require_grad(), c2p.require_grad(), p2c.require_grad());
    let (c, p) = terms(c, c2p.clone(), p2c.clone());
    let probs = disentangled_softmax(qk.clone(), Some(c), Some(p), mask);
    let grads = (probs.clone() * weights).sum().backward();
    let grad = |x: &Tensor<Bk, 4>| flat(x.grad(&grads).expect("tracked"));
    [flat(probs), grad(&qk), grad(&c2p), grad(&p2c)]
}

fn check(c: Case) {
    let what = format!(
        "b {} H {} T {} lengths {:?} table {:?}",
        c.b, c.h, c.t, c.lengths, c.table
    );
    // Without autodiff.
    let (qk, c2p, p2c, mask, _) = inputs::<Fused>(&c);
    let (c2p, p2c) = terms(&c, c2p, p2c);
    let fused = flat(disentangled_softmax(qk, Some(c2p), Some(p2c), mask));
    let (qk, c2p, p2c, mask, _) = inputs::<Reference>(&c);
    let (c2p, p2c) = terms(&c, c2p, p2c);
    let reference = flat(disentangled_softmax(qk, Some(c2p), Some(p2c), mask));
    assert_close(&fused, &reference, 1e-6, &format!("{what}: probabilities"));
    // Under autodiff.
    let fused = run::<Autodiff<Fused>>(&c);
    let reference = run::<Autodiff<Reference>>(&c);
    for (k, name) in ["probabilities", "dqk", "dc2p", "dp2c"].iter().enumerate() {
        assert_close(
            &fused[k],
            &reference[k],
            1e-6,
            &format!("{what}: {name} under autodiff"),
        );
    }
}

#[test]
fn fused_equals_composed_forward_and_backward() {
    // 37 and 70 span several of the kernel's 32-row blocks, the last one partial.
    for t in [1, 2, 5, 9, 37, 70] {
        check(Case {
            b: 2,
            h: 3,
            t,
            lengths: vec![t, t.div_ceil(2)],
            table: None,
        });
    }
}

#[test]
fn fused_equals_composed_against_a_log_bucketed_table() {
    // span 4 and log buckets up to distance 16: 8 table rows for 2T − 1 = 19 … 139 distances, so that many
    // distances share a row (the gradients accumulate).
    for t in [10, 37, 70] {
        check(Case {
            b: 2,
            h: 3,
            t,
            lengths: vec![t, t.div_ceil(2)],
            table: Some((4, 16)),
        });
    }
}

#[test]
fn fused_equals_composed_when_every_key_is_masked() {
    check(Case {
        b: 2,
        h: 2,
        t: 4,
        lengths: vec![3, 0],
        table: None,
    });
}
