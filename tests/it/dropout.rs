//! `tabs_hf::dropout`: on the CPU training backend (its own parallel mask) and on burn-ndarray (burn's Dropout), the
//! same law: identity without autodiff; under autodiff each element kept with probability 1 − p and scaled by
//! 1 / (1 − p), the gradient the same mask; reproducible after `Backend::seed`, fresh on every call.

use burn::backend::{Autodiff, NdArray};
use burn::nn::DropoutConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use tabs_hf::dropout;

fn values<B: Backend, const D: usize>(x: Tensor<B, D>) -> Vec<f32> {
    x.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

/// The law on backend `B` for p = 0.1 and 0.5.
fn law<B: AutodiffBackend>() {
    let dev = Default::default();
    let n = 512 * 512;
    for p in [0.1, 0.5] {
        let d = DropoutConfig::new(p).init();
        let x = Tensor::<B, 2>::ones([512, 512], &dev).require_grad();
        let y = dropout(&d, x.clone());
        let grads = y.clone().sum().backward();
        let (y, g) = (values(y), values(x.grad(&grads).unwrap()));
        let scale = (1.0 / (1.0 - p)) as f32;
        assert!(
            y.iter().all(|&v| v == 0.0 || v == scale),
            "p = {p}: values other than 0 and 1/(1 − p)"
        );
        assert_eq!(y, g, "p = {p}: the gradient of Σy is the mask");
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
        // 5 standard deviations of the dropped fraction.
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (dropped - p).abs() < 5.0 * sd,
            "p = {p}: dropped {dropped}, 5 sd = {}",
            5.0 * sd
        );
        // Dropped elements are not clustered: the fraction in each half of the rows is also near p.
        for half in y.chunks(n / 2) {
            let f = half.iter().filter(|&&v| v == 0.0).count() as f64 / (n / 2) as f64;
            assert!((f - p).abs() < 5.0 * sd * 2f64.sqrt(), "p = {p}: a half dropped {f}");
        }
    }
    let d = DropoutConfig::new(0.3).init();
    let draw = || values(dropout(&d, Tensor::<B, 2>::ones([64, 64], &dev)));
    B::seed(&dev, 7);
    let (first, second) = (draw(), draw());
    B::seed(&dev, 7);
    assert_eq!(draw(), first, "the same seed gives the same mask");
    assert_ne!(first, second, "each call draws a new mask");
    let plain = Tensor::<B::InnerBackend, 2>::ones([8, 8], &dev);
    assert_eq!(values(dropout(&d, plain)), vec![1.0; 64], "identity without autodiff");
}

#[test]
fn dropout_law_on_the_cpu_training_backend() {
    law::<Autodiff<tabs_hf::Cpu>>();
}

#[test]
fn dropout_law_on_burn_ndarray() {
    law::<Autodiff<NdArray>>();
}
