//! Two computations of the gated spectral term; same result (tests: equal to 1e-5), different cost.
//!
//! With H `[N, d_in]` (N = batch·T token rows), G̃ = G ⊙ s `[N, R]` (gates times singular values),
//! P = H·Ṽ and Q = H·V_R (`[N, R]`):
//!
//! Δ = α·(((P − Q) ⊙ G̃)·U_Rᵀ + (P ⊙ G̃)·A_Uᵀ)   `[N, d_out]`.
//!
//! - [`Kernel::DenseMasked`]: computes P, Q for all N·R pairs (2·2·(d_in + d_out) FLOPs per pair and map),
//!   then masks: best where most pairs are active or the device prefers dense matmuls;
//! - [`Kernel::Gathered`]: gathers only the M active (t, i) pairs (G̃ ≠ 0), computes their dot products and
//!   scatter-adds the rank-one outputs: 2·2·(d_in + d_out) FLOPs per *active* pair. Needs one host read of
//!   the active indices.

use burn::tensor::backend::Backend;
use burn::tensor::{IndexingUpdateOp, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::matmul::matmul;

/// Which computation of the gated term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Kernel {
    /// All pairs, masked.
    #[default]
    DenseMasked,
    /// Only active pairs, gathered and scatter-added.
    Gathered,
}

impl std::fmt::Display for Kernel {
    /// The configuration name: `dense-masked` or `gathered`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kernel::DenseMasked => "dense-masked",
            Kernel::Gathered => "gathered",
        })
    }
}

/// The factors of one adapted map: U_R `[d_out, R]`, V_R `[d_in, R]`, A_U `[d_out, R]`, A_V `[d_in, R]`, α.
#[derive(Debug, Clone)]
pub struct Factors<B: Backend> {
    /// U_R.
    pub u: Tensor<B, 2>,
    /// V_R.
    pub v: Tensor<B, 2>,
    /// A_U.
    pub a_u: Tensor<B, 2>,
    /// A_V.
    pub a_v: Tensor<B, 2>,
    /// α.
    pub alpha: f64,
}

/// Δ for token rows `h` `[N, d_in]` and scaled gates `gs` = G ⊙ s `[N, R]`; returns `[N, d_out]`.
pub fn gated_term<B: Backend>(kernel: Kernel, h: Tensor<B, 2>, gs: Tensor<B, 2>, f: &Factors<B>) -> Tensor<B, 2> {
    match kernel {
        Kernel::DenseMasked => dense_masked(h, gs, f),
        Kernel::Gathered => gathered(h, gs, f),
    }
}

/// Dense-masked kernel: Δ = α(((P − Q) ⊙ G̃) U_Rᵀ + (P ⊙ G̃) A_Uᵀ), as two GEMMs:
/// [P, Q] = H·[Ṽ, V_R] `[N, 2R]`, then Δ = [(P − Q) ⊙ αG̃, P ⊙ αG̃]·[U_R, A_U]ᵀ, so that the `[N, d_out]` output
/// is written once (no sum of two products, no scaling pass over it).
pub fn dense_masked<B: Backend>(h: Tensor<B, 2>, gs: Tensor<B, 2>, f: &Factors<B>) -> Tensor<B, 2> {
    let [n, r] = gs.dims();
    let v_tilde = f.v.clone() + f.a_v.clone();
    let pq = matmul(h, Tensor::cat(vec![v_tilde, f.v.clone()], 1));
    let p = pq.clone().slice([0..n, 0..r]);
    let q = pq.slice([0..n, r..2 * r]);
    let gs = gs.mul_scalar(f.alpha);
    let z = Tensor::cat(vec![(p.clone() - q) * gs.clone(), p * gs], 1);
    matmul(z, Tensor::cat(vec![f.u.clone(), f.a_u.clone()], 1).transpose())
}

/// Gathered-sparse kernel: for each active pair (t, i) with g̃ = G̃_{t,i} ≠ 0,
/// p = h_t·ṽ_i, q = h_t·v_i, Δ_t += α·g̃·((p − q)·u_i + p·a_{u,i}).
pub fn gathered<B: Backend>(h: Tensor<B, 2>, gs: Tensor<B, 2>, f: &Factors<B>) -> Tensor<B, 2> {
    let [n, _] = h.dims();
    let [r, d_out] = [gs.dims()[1], f.u.dims()[0]];
    let device = h.device();
    let active = gs.clone().not_equal_elem(0.0).nonzero();
    // `nonzero` returns no index tensors at all when nothing is active.
    let (rows, cols): (Tensor<B, 1, Int>, Tensor<B, 1, Int>) = match active.as_slice() {
        [rows, cols] if rows.dims()[0] > 0 => (rows.clone(), cols.clone()),
        _ => {
            // Keep the graph connected to the gates (zero gradient) for a consistent autodiff graph.
            return gs.sum().mul_scalar(0.0).unsqueeze_dim::<2>(1).expand([n, d_out]);
        }
    };
    let h_sel = h.select(0, rows.clone()); // [M, d_in]
    let v_sel = f.v.clone().transpose().select(0, cols.clone()); // [M, d_in]
    let av_sel = f.a_v.clone().transpose().select(0, cols.clone()); // [M, d_in]
    let u_sel = f.u.clone().transpose().select(0, cols.clone()); // [M, d_out]
    let au_sel = f.a_u.clone().transpose().select(0, cols.clone()); // [M, d_out]
    let flat = rows.clone().mul_scalar(r as i64) + cols;
    let g_sel = gs.reshape([n * r]).select(0, flat).unsqueeze_dim::<2>(1); // [M, 1]
    let q = (h_sel.clone() * v_sel).sum_dim(1); // [M, 1]
    let p = q.clone() + (h_sel * av_sel).sum_dim(1); // h·(v + a_v)
    let contrib = u_sel * ((p.clone() - q) * g_sel.clone()) + au_sel * (p * g_sel);
    Tensor::<B, 2>::zeros([n, d_out], &device).select_assign(
        0,
        rows,
        contrib.mul_scalar(f.alpha),
        IndexingUpdateOp::Add,
    )
}

#[cfg(test)]
mod tests {
    use super::Kernel;

    #[test]
    fn display_is_the_configuration_name() {
        for k in [Kernel::DenseMasked, Kernel::Gathered] {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
    }
}
