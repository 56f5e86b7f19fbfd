//! `tabs::matmul`: its own product on burn-flex (with and without autodiff) against burn's `matmul` on
//! burn-ndarray in f64: values and both gradients, for plain, batched, broadcast and transposed (strided) operands,
//! both parallel splits, an operand without a gradient, head views and the heads-merged attention context.

use burn::backend::{Autodiff, Flex, NdArray};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use tabs::matmul::{attention_context, matmul};

type Reference = Autodiff<NdArray<f64>>;

/// Deterministic values in [−1, 1) (a 64-bit LCG), `n` of them.
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

/// An operand of `dims`; with `transposed`, stored as `dims` with the last two axes swapped and viewed back
/// (a strided tensor).
fn operand<B: Backend, const D: usize>(dims: [usize; D], transposed: bool, seed: u64) -> Tensor<B, D> {
    let n = dims.iter().product();
    let dev = Default::default();
    if transposed {
        let mut stored = dims;
        stored.swap(D - 2, D - 1);
        Tensor::<B, D>::from_data(TensorData::new(values(n, seed), stored), &dev).swap_dims(D - 2, D - 1)
    } else {
        Tensor::<B, D>::from_data(TensorData::new(values(n, seed), dims), &dev)
    }
}

/// A case: operand shapes, which are transposed views, whether B needs a gradient.
#[derive(Clone, Copy)]
struct Case<const D: usize> {
    a: [usize; D],
    b: [usize; D],
    a_t: bool,
    b_t: bool,
    b_grad: bool,
}

/// Output, grad A, grad B (None when B needs none) of L = Σ C ⊙ W (W fixed, random) on backend `B`.
fn run<B: AutodiffBackend, const D: usize>(
    case: Case<D>,
    product: fn(Tensor<B, D>, Tensor<B, D>) -> Tensor<B, D>,
) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    let a = operand::<B, D>(case.a, case.a_t, 1).require_grad();
    let mut b = operand::<B, D>(case.b, case.b_t, 2);
    if case.b_grad {
        b = b.require_grad();
    }
    let c = product(a.clone(), b.clone());
    let w = Tensor::<B, D>::from_data(
        TensorData::new(values(c.shape().num_elements(), 3), c.shape()),
        &c.device(),
    );
    let grads = (c.clone() * w).sum().backward();
    (to_vec(c), to_vec(a.grad(&grads).unwrap()), b.grad(&grads).map(to_vec))
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / (1.0 + w.abs()))
        .fold(0.0, f64::max);
    // f32 sums of ≤ 200 products of values in [−1, 1) against f64.
    assert!(worst < 1e-5, "{what}: worst relative difference {worst:e}");
}

fn check<const D: usize>(name: &str, case: Case<D>) {
    let (c, ga, gb) = run::<Reference, D>(case, |a, b| a.matmul(b));
    let (fc, fga, fgb) = run::<Autodiff<Flex>, D>(case, matmul);
    close(&format!("{name}: C"), &fc, &c);
    close(&format!("{name}: dA"), &fga, &ga);
    match (fgb, gb) {
        (Some(fgb), Some(gb)) => close(&format!("{name}: dB"), &fgb, &gb),
        (None, None) => {}
        (got, _) => panic!("{name}: dB present: {}, expected {}", got.is_some(), case.b_grad),
    }
    // Without autodiff (the inference path).
    let plain = matmul(
        operand::<Flex, D>(case.a, case.a_t, 1),
        operand::<Flex, D>(case.b, case.b_t, 2),
    );
    close(&format!("{name}: C without autodiff"), &to_vec(plain), &c);
}

#[test]
fn products_on_burn_flex_equal_burn_ndarray_f64() {
    let two = |a, b| Case {
        a,
        b,
        a_t: false,
        b_t: false,
        b_grad: true,
    };
    check("2-D", two([37, 50], [50, 29]));
    check(
        "2-D, strided both",
        Case {
            a_t: true,
            b_t: true,
            ..two([37, 50], [50, 29])
        },
    );
    check(
        "2-D, B frozen",
        Case {
            b_grad: false,
            ..two([37, 50], [50, 29])
        },
    );
    // 200³ multiply-adds: the GEMM splits the matrix over the threads.
    check("2-D, large", two([200, 200], [200, 200]));
    let four = |a, b| Case {
        a,
        b,
        a_t: false,
        b_t: false,
        b_grad: true,
    };
    // 2·3 small matrices: one after the other.
    check("4-D", four([2, 3, 17, 8], [2, 3, 8, 19]));
    // 2·6 matrices of 64³: the batch is shared out over the threads.
    check("4-D, parallel batch", four([2, 6, 64, 64], [2, 6, 64, 64]));
    check(
        "4-D, B broadcast over the batch",
        Case {
            b_t: true,
            ..four([2, 3, 17, 8], [1, 3, 8, 11])
        },
    );
    check("4-D, A broadcast over heads", four([2, 1, 17, 8], [2, 3, 8, 11]));
    check(
        "4-D, A strided, B frozen",
        Case {
            a_t: true,
            b_grad: false,
            ..four([2, 3, 17, 8], [2, 3, 8, 5])
        },
    );
}

/// The products of an attention layer on head views of projected rows (`[b, T, H·dh]` seen as `[b, H, T, dh]`,
/// whose gradients the kernel writes in the rows' order): Q·Kᵀ and `attention_context` (P·V with the heads
/// merged), against burn's ops on burn-ndarray f64; values and the gradients of Q, K, V rows and P.
#[test]
fn attention_products_on_head_views() {
    fn run_attention<B: AutodiffBackend>(ours: bool) -> Vec<Vec<f64>> {
        let (b, h, t, dh) = (2, 3, 17, 8);
        let rows = |seed| operand::<B, 3>([b, t, h * dh], false, seed).require_grad();
        let (q, k, v) = (rows(4), rows(5), rows(6));
        let heads = |x: Tensor<B, 3>| x.reshape([b, t, h, dh]).swap_dims(1, 2);
        let p = operand::<B, 4>([b, h, t, t], false, 7).require_grad();
        let (s, c) = if ours {
            (
                matmul(heads(q.clone()), heads(k.clone()).swap_dims(2, 3)),
                attention_context(p.clone(), heads(v.clone())),
            )
        } else {
            (
                heads(q.clone()).matmul(heads(k.clone()).swap_dims(2, 3)),
                p.clone()
                    .matmul(heads(v.clone()))
                    .swap_dims(1, 2)
                    .reshape([b, t, h * dh]),
            )
        };
        let dev = s.device();
        let ws = Tensor::<B, 4>::from_data(TensorData::new(values(b * h * t * t, 8), [b, h, t, t]), &dev);
        let wc = Tensor::<B, 3>::from_data(TensorData::new(values(b * t * h * dh, 9), [b, t, h * dh]), &dev);
        let grads = ((s.clone() * ws).sum() + (c.clone() * wc).sum()).backward();
        let grad = |x: &Tensor<B, 3>| to_vec(x.grad(&grads).unwrap());
        vec![
            to_vec(s),
            to_vec(c),
            grad(&q),
            grad(&k),
            grad(&v),
            to_vec(p.grad(&grads).unwrap()),
        ]
    }
    let want = run_attention::<Reference>(false);
    let got = run_attention::<Autodiff<Flex>>(true);
    for ((g, w), what) in got.iter().zip(&want).zip(["Q·Kᵀ", "context", "dQ", "dK", "dV", "dP"]) {
        close(what, g, w);
    }
}
