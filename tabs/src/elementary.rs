//! Elementary functions in a form the compiler vectorises (no libm call, no branch per element), for the CPU
//! kernels: eˣ for x ≤ 0 (softmax, the normal density) and the standard normal CDF Φ (GELU).
//!
//! glibc's `expf` and libm's `erff` are a call per element; burn-flex's GELU spends 4–6 % of a base-size DeBERTa
//! forward in scalar `erff` (`perf`, README "Speed on CPU").

/// eˣ for x ≤ 0, within 3 ulp (2.9 at worst on 2·10⁶ points of [−87, 0], `tests/it/elementary.rs`):
/// eˣ = 2ⁿ·e^r with n = round(x / ln 2), |r| ≤ ln 2 / 2 and a degree-6 polynomial for e^r.
/// Below −87.3 (where eˣ is subnormal) it returns 0, as the f32::MIN fill of masked scores needs.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Round to nearest by the 1.5·2²³ trick (`f32::round` is a libm call on the baseline x86-64 target).
    const ROUND: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0 + r * (0.5 + r * (1.666_666_7e-1 + r * (4.166_579_6e-2 + r * (8.333_452e-3 + r * 1.393_981_7e-3)))));
    let scale = f32::from_bits((((n as i32).max(-126) + 127) as u32) << 23);
    if x < -87.3 {
        0.0
    } else {
        p * scale
    }
}

/// 1/√(2π).
pub const INV_SQRT_2PI: f32 = 0.398_942_3;

/// The standard normal density φ(x) = e^(−x²/2)/√(2π).
#[inline(always)]
pub fn normal_pdf(x: f32) -> f32 {
    INV_SQRT_2PI * exp_nonpositive(-0.5 * x * x)
}

/// The standard normal CDF Φ(x) = ½·erfc(−x/√2), to 2.5·10⁻⁷ absolute (f32 rounding near Φ = ½ dominates) and
/// 2·10⁻⁵ relative in the lower tail (Φ > 10⁻³⁸), through the Chebyshev fit of erfc of Numerical Recipes
/// (`erfcc`, fractional error < 1.2·10⁻⁷ in exact arithmetic): for z = |x|/√2 and t = 1/(1 + z/2),
/// erfc(z) = t·exp(−z² + c₀ + t(c₁ + t(c₂ + … + t·c₉))), and Φ(x) = 1 − ½erfc(z) for x ≥ 0, ½erfc(z) below.
#[inline(always)]
pub fn normal_cdf(x: f32) -> f32 {
    const C: [f32; 10] = [
        -1.265_512_2,
        1.000_023_7,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_204,
        1.488_515_9,
        -0.822_152_23,
        0.170_872_77,
    ];
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let mut p = C[9];
    for &c in C[..9].iter().rev() {
        p = p * t + c;
    }
    let half_erfc = 0.5 * t * exp_nonpositive(-z * z + p);
    if x >= 0.0 {
        1.0 - half_erfc
    } else {
        half_erfc
    }
}
