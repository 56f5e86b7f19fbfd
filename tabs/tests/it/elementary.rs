//! `tabs::elementary` against f64 references on dense grids: eˣ (x ≤ 0), Φ and φ, to the accuracy their docs state.

use tabs::elementary::{exp_nonpositive, normal_cdf, normal_pdf};

/// n + 1 points evenly from a to b.
fn grid(a: f64, b: f64, n: usize) -> impl Iterator<Item = f32> {
    (0..=n).map(move |i| (a + (b - a) * i as f64 / n as f64) as f32)
}

#[test]
fn exp_of_nonpositive_arguments_within_three_ulp() {
    let mut worst = 0f64;
    for x in grid(-87.0, 0.0, 2_000_000) {
        let want = (x as f64).exp();
        // One ulp of f32 at `want`: 2^(⌊log₂ want⌋ − 23).
        let ulp = 2f64.powi(want.log2().floor() as i32 - 23);
        worst = worst.max((exp_nonpositive(x) as f64 - want).abs() / ulp);
    }
    assert!(worst < 3.0, "worst error {worst} ulp");
    assert_eq!(exp_nonpositive(-87.4), 0.0);
    assert_eq!(exp_nonpositive(f32::MIN), 0.0);
    assert_eq!(exp_nonpositive(0.0), 1.0);
}

#[test]
fn normal_cdf_and_density() {
    let (mut abs, mut tail, mut pdf) = (0f64, 0f64, 0f64);
    for x in grid(-14.0, 14.0, 2_000_000) {
        let xf = x as f64;
        let want = 0.5 * libm::erfc(-xf / std::f64::consts::SQRT_2);
        let got = normal_cdf(x) as f64;
        abs = abs.max((got - want).abs());
        if x < 0.0 && want > 1e-37 {
            tail = tail.max((got - want).abs() / want);
        }
        let density = (-0.5 * xf * xf).exp() / (2.0 * std::f64::consts::PI).sqrt();
        if density > 1e-37 {
            pdf = pdf.max((normal_pdf(x) as f64 - density).abs() / density);
        }
    }
    assert!(abs < 2.5e-7, "Φ: worst absolute error {abs:e}");
    assert!(tail < 2e-5, "Φ: worst relative error in the lower tail {tail:e}");
    // x² rounds to 2⁻²⁴ relative, which e^(−x²/2) turns into x²/2·2⁻²⁴ ≤ 3·10⁻⁶ relative at |x| = 13.
    assert!(pdf < 5e-6, "φ: worst relative error {pdf:e}");
    assert_eq!(normal_cdf(-14.0), 0.0, "Φ(−14) ≈ 8·10⁻⁴⁵ is below f32's normal range");
    assert_eq!(normal_cdf(14.0), 1.0);
}
