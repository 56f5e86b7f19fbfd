//! `relative::skew` against its definition, on both of its paths: Y[b, h, i, j] = X[b, h, i, (T − 1) − i + j], or
//! with `transpose` Y[b, h, i, j] = X[b, h, j, (T − 1) − j + i]; without autodiff (2-D windows, one head at a time)
//! and under autodiff (one whole-tensor view), which must agree exactly (both only move values).

use burn::backend::Autodiff;
use burn::tensor::{Tensor, TensorData};
use tabs_deberta::relative::skew;

type B = tabs_hf::Cpu;

fn values<Bk: burn::tensor::backend::Backend>(y: Tensor<Bk, 4>) -> Vec<f32> {
    y.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

#[test]
fn skew_equals_its_definition_with_and_without_autodiff() {
    let (b, h) = (2, 3);
    for t in [1usize, 2, 5, 9] {
        let w = 2 * t - 1;
        // Distinct values, so that any misplaced element shows.
        let x: Vec<f32> = (0..b * h * t * w).map(|k| k as f32).collect();
        let at = |n: usize, i: usize, m: usize| x[(n * t + i) * w + m];
        for transpose in [false, true] {
            let mut want = Vec::with_capacity(b * h * t * t);
            for n in 0..b * h {
                for i in 0..t {
                    for j in 0..t {
                        want.push(if transpose {
                            at(n, j, t - 1 - j + i)
                        } else {
                            at(n, i, t - 1 - i + j)
                        });
                    }
                }
            }
            let data = || TensorData::new(x.clone(), [b, h, t, w]);
            let plain = values(skew(Tensor::<B, 4>::from_data(data(), &Default::default()), transpose));
            let ad = values(skew(
                Tensor::<Autodiff<B>, 4>::from_data(data(), &Default::default()),
                transpose,
            ));
            assert_eq!(plain, want, "T = {t}, transpose {transpose}, without autodiff");
            assert_eq!(ad, want, "T = {t}, transpose {transpose}, under autodiff");
        }
    }
}
