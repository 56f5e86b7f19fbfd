//! Optimiser parameter groups on one burn optimiser: moving a sub-module's gradients into a group of their own
//! (stepped with its own learning rate) and decoupled weight decay applied per group.
//!
//! burn-train hands `TrainStep::optimize` a single optimiser, so groups are separate `optim.step` calls on
//! disjoint gradient sets. Weight decay is not left to AdamW (its decay would reach every group alike): the
//! optimiser runs with decay 0 and [`decay`] applies AdamW's decoupled form θ ← θ·(1 − lr_g·wd) to the
//! parameters of the groups that decay, before their step. With Adam's update Δ (which does not depend on θ) this
//! is exactly AdamW's θ ← θ·(1 − lr·wd) − lr·Δ.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

/// The float parameters of a module: (id, rank).
pub fn param_ids<B: Backend, M: Module<B>>(module: &M) -> Vec<(ParamId, usize)> {
    struct Ids(Vec<(ParamId, usize)>);
    impl<B: Backend> ModuleVisitor<B> for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push((param.id, D));
        }
    }
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    ids.0
}

/// Move the gradients of `ids` (from [`param_ids`]) out of `grads` into a new group. Parameters of rank 1 to 4.
pub fn take_grads<B: Backend>(ids: &[(ParamId, usize)], grads: &mut GradientsParams) -> GradientsParams {
    let mut group = GradientsParams::new();
    for &(id, rank) in ids {
        macro_rules! mv {
            ($d:literal) => {
                if let Some(g) = grads.remove::<B, $d>(id) {
                    group.register::<B, $d>(id, g);
                }
            };
        }
        match rank {
            1 => mv!(1),
            2 => mv!(2),
            3 => mv!(3),
            4 => mv!(4),
            _ => {}
        }
    }
    group
}

/// Decoupled weight decay: every parameter with a gradient in `groups[i].0` is multiplied by `groups[i].1`
/// (= 1 − lr_g·wd). Parameters without a gradient (frozen, or in a group that does not decay) are untouched.
pub fn decay<B: AutodiffBackend, M: Module<B>>(module: M, groups: &[(&GradientsParams, f64)]) -> M {
    struct Decay<'a, B: AutodiffBackend> {
        groups: &'a [(&'a GradientsParams, f64)],
        _b: std::marker::PhantomData<B>,
    }
    impl<B: AutodiffBackend> ModuleMapper<B> for Decay<'_, B> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, tensor, mapper) = param.consume();
            let factor = self
                .groups
                .iter()
                .find(|(g, _)| g.get::<B::InnerBackend, D>(id).is_some())
                .map(|(_, f)| *f);
            let tensor = match factor {
                Some(f) if f != 1.0 => {
                    let require_grad = tensor.is_require_grad();
                    let t = Tensor::from_inner(tensor.inner().mul_scalar(f));
                    if require_grad {
                        t.require_grad()
                    } else {
                        t
                    }
                }
                _ => tensor,
            };
            Param::from_mapped_value(id, tensor, mapper)
        }
    }
    module.map(&mut Decay {
        groups,
        _b: std::marker::PhantomData,
    })
}
