//! Spectral directions of a frozen weight and the additive Spectral Adapter^A built on them.
//!
//! For a frozen map y = W·h + b with W ∈ ℝ^{d_out×d_in} (PyTorch layout; Burn's `Linear` stores Wᵀ as
//! `[d_in, d_out]`) the thin SVD W = U·S·Vᵀ is computed once (in f64, with faer) and the top R directions kept:
//! U_R `[d_out, R]`, s `[R]` (descending), V_R `[d_in, R]`. Signs are canonical: the entry of largest magnitude
//! of each column of V_R is positive (so the same weight always gives the same basis).
//!
//! The adapter trains A_U `[d_out, R]`, A_V `[d_in, R]` (zero-initialised). With Ũ = U_R + A_U, Ṽ = V_R + A_V
//! and per-token gates g_t ∈ [0, 1]^R the adapted map is
//!
//! y_t = W·h_t + b + α·[Ũ·diag(s ⊙ g_t)·Ṽᵀ − U_R·diag(s ⊙ g_t)·V_Rᵀ]·h_t,
//!
//! the *change* of the top-R spectral part, so A = 0 or g = 0 give exactly the frozen map and g ≡ 1 gives
//! Spectral Adapter^A, W' = W + α(Ũ diag(s) Ṽᵀ − U_R diag(s) V_Rᵀ), which can be merged.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use faer::Mat;

use crate::error::{Result, TabsError};
use crate::kernel::{self, Kernel};

/// The top-R singular triplets of a weight, as host data (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralBasis {
    /// d_in.
    pub d_in: usize,
    /// d_out.
    pub d_out: usize,
    /// R.
    pub rank: usize,
    /// U_R, row-major `[d_out, R]`.
    pub u: Vec<f32>,
    /// s, `[R]`, descending.
    pub s: Vec<f32>,
    /// V_R, row-major `[d_in, R]`.
    pub v: Vec<f32>,
    /// ‖W − U_R diag(s) V_Rᵀ‖_F / ‖W‖_F (computed in f64).
    pub relative_residual: f64,
}

impl SpectralBasis {
    /// Thin SVD of a weight in Burn's layout `[d_in, d_out]` (the transpose of W), keeping the top `rank`.
    pub fn of_burn_weight<B: Backend>(weight: &Tensor<B, 2>, rank: usize) -> Result<Self> {
        let [d_in, d_out] = weight.dims();
        let data = weight
            .to_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .map_err(|e| TabsError::Svd {
                d_in,
                d_out,
                reason: format!("{e:?}"),
            })?;
        // data[i * d_out + o] = W[o, i]
        Self::of_matrix(d_in, d_out, rank, |o, i| data[i * d_out + o])
    }

    /// Thin SVD of W `[d_out, d_in]` given row-major (PyTorch layout), keeping the top `rank`.
    pub fn of_pytorch_weight(w: &[f32], d_out: usize, d_in: usize, rank: usize) -> Result<Self> {
        if w.len() != d_out * d_in {
            return Err(TabsError::InvalidConfig {
                field: "weight",
                reason: format!("expected {d_out}×{d_in} = {} values, got {}", d_out * d_in, w.len()),
            });
        }
        Self::of_matrix(d_in, d_out, rank, |o, i| w[o * d_in + i] as f64)
    }

    fn of_matrix(d_in: usize, d_out: usize, rank: usize, at: impl Fn(usize, usize) -> f64) -> Result<Self> {
        let max = d_in.min(d_out);
        if rank == 0 || rank > max {
            return Err(TabsError::RankTooLarge { rank, max, d_in, d_out });
        }
        let w = Mat::<f64>::from_fn(d_out, d_in, at);
        if !w.col_iter().all(|c| c.iter().all(|x| x.is_finite())) {
            return Err(TabsError::Svd {
                d_in,
                d_out,
                reason: "the weight holds non-finite values".into(),
            });
        }
        let svd = w.thin_svd().map_err(|e| TabsError::Svd {
            d_in,
            d_out,
            reason: format!("{e:?}"),
        })?;
        let (u_all, s_all, v_all) = (svd.U(), svd.S().column_vector(), svd.V());
        let mut u = vec![0f32; d_out * rank];
        let mut v = vec![0f32; d_in * rank];
        let mut s = vec![0f32; rank];
        let mut approx = Mat::<f64>::zeros(d_out, d_in);
        for r in 0..rank {
            // Canonical sign: the largest-magnitude entry of v_r is positive.
            let (mut best, mut sign) = (0.0f64, 1.0f64);
            for i in 0..d_in {
                let x = v_all[(i, r)];
                if x.abs() > best {
                    best = x.abs();
                    sign = x.signum();
                }
            }
            s[r] = s_all[r] as f32;
            for o in 0..d_out {
                u[o * rank + r] = (sign * u_all[(o, r)]) as f32;
            }
            for i in 0..d_in {
                v[i * rank + r] = (sign * v_all[(i, r)]) as f32;
            }
            for o in 0..d_out {
                for i in 0..d_in {
                    approx[(o, i)] += s_all[r] * u_all[(o, r)] * v_all[(i, r)];
                }
            }
        }
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for o in 0..d_out {
            for i in 0..d_in {
                let x = w[(o, i)];
                num += (x - approx[(o, i)]).powi(2);
                den += x * x;
            }
        }
        let relative_residual = if den > 0.0 { (num / den).sqrt() } else { 0.0 };
        Ok(Self {
            d_in,
            d_out,
            rank,
            u,
            s,
            v,
            relative_residual,
        })
    }
}

/// Configuration of a gated spectral adapter on one map.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpectralConfig {
    /// R, the number of top singular directions (default 16).
    pub rank: usize,
    /// α, the scale of the gated term (default 1).
    pub alpha: f64,
    /// How the gated term is computed.
    pub kernel: Kernel,
}

impl Default for SpectralConfig {
    fn default() -> Self {
        Self {
            rank: 16,
            alpha: 1.0,
            kernel: Kernel::DenseMasked,
        }
    }
}

/// The gated spectral adapter of one frozen map: the frozen basis (U_R, s, V_R) and trainable A_U, A_V.
#[derive(Module, Debug)]
pub struct GatedSpectral<B: Backend> {
    /// U_R `[d_out, R]`, frozen.
    pub u: Param<Tensor<B, 2>>,
    /// s `[R]`, frozen.
    pub s: Param<Tensor<B, 1>>,
    /// V_R `[d_in, R]`, frozen.
    pub v: Param<Tensor<B, 2>>,
    /// A_U `[d_out, R]`, trainable, zero-initialised.
    pub a_u: Param<Tensor<B, 2>>,
    /// A_V `[d_in, R]`, trainable, zero-initialised.
    pub a_v: Param<Tensor<B, 2>>,
    /// α.
    pub alpha: f64,
    /// The kernel used by [`GatedSpectral::delta`].
    #[module(skip)]
    pub kernel: Kernel,
}

impl<B: Backend> GatedSpectral<B> {
    /// A zero-initialised adapter on a basis.
    pub fn new(basis: &SpectralBasis, config: &SpectralConfig, device: &B::Device) -> Self {
        let (d_in, d_out, r) = (basis.d_in, basis.d_out, basis.rank);
        let frozen2 = |data: &[f32], rows: usize| {
            Param::from_tensor(Tensor::<B, 2>::from_data(
                TensorData::new(data.to_vec(), [rows, r]),
                device,
            ))
            .set_require_grad(false)
        };
        Self {
            u: frozen2(&basis.u, d_out),
            s: Param::from_tensor(Tensor::<B, 1>::from_data(TensorData::new(basis.s.clone(), [r]), device))
                .set_require_grad(false),
            v: frozen2(&basis.v, d_in),
            a_u: Param::from_tensor(Tensor::zeros([d_out, r], device)),
            a_v: Param::from_tensor(Tensor::zeros([d_in, r], device)),
            alpha: config.alpha,
            kernel: config.kernel,
        }
    }

    /// R.
    pub fn rank(&self) -> usize {
        self.s.dims()[0]
    }

    /// (d_in, d_out).
    pub fn dims(&self) -> (usize, usize) {
        (self.v.dims()[0], self.u.dims()[0])
    }

    /// The gated term α·[Ũ diag(s ⊙ g_t) Ṽᵀ − U_R diag(s ⊙ g_t) V_Rᵀ]·h_t for every token.
    ///
    /// - `h`: `[batch, T, d_in]`; `gates`: `[batch, T, R]` (or broadcastable `[batch|1, T|1, R]`).
    /// - returns `[batch, T, d_out]`.
    pub fn delta(&self, h: Tensor<B, 3>, gates: Tensor<B, 3>) -> Tensor<B, 3> {
        self.delta_with(h, gates, self.kernel)
    }

    /// [`GatedSpectral::delta`] with an explicit kernel.
    pub fn delta_with(&self, h: Tensor<B, 3>, gates: Tensor<B, 3>, kernel: Kernel) -> Tensor<B, 3> {
        let [b, t, d_in] = h.dims();
        let r = self.rank();
        let d_out = self.u.dims()[0];
        let gates = gates.expand([b, t, r]);
        let gs = gates.reshape([b * t, r]) * self.s.val().unsqueeze_dim(0);
        let h2 = h.reshape([b * t, d_in]);
        let factors = kernel::Factors {
            u: self.u.val(),
            v: self.v.val(),
            a_u: self.a_u.val(),
            a_v: self.a_v.val(),
            alpha: self.alpha,
        };
        kernel::gated_term(kernel, h2, gs, &factors).reshape([b, t, d_out])
    }

    /// The ungated (g ≡ 1) weight change in Burn's layout `[d_in, d_out]`:
    /// ΔWᵀ = α(Ṽ diag(s) Ũᵀ − V_R diag(s) U_Rᵀ).
    pub fn merged_delta(&self) -> Tensor<B, 2> {
        let s = self.s.val().unsqueeze_dim(0);
        let vt = self.v.val() + self.a_v.val();
        let ut = self.u.val() + self.a_u.val();
        let adapted = (vt * s.clone()).matmul(ut.transpose());
        let frozen = (self.v.val() * s).matmul(self.u.val().transpose());
        (adapted - frozen).mul_scalar(self.alpha)
    }

    /// Number of trainable parameters: (d_in + d_out)·R.
    pub fn trainable_params(&self) -> usize {
        let (d_in, d_out) = self.dims();
        (d_in + d_out) * self.rank()
    }
}
