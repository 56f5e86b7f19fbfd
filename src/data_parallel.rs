//! Data-parallel training on several devices of one backend (`--devices`): burn-train's multi-device strategy
//! (one worker thread per device, gradients summed on the first device, one optimiser there), or with the `ddp`
//! feature on CUDA its distributed data parallel strategy (a model replica and optimiser per device, gradients
//! all-reduced by sum).
//!
//! **Semantics.** `--batch-size` is the global batch `n`. Each global batch (one length bucket) is split into one
//! part per device, of `⌊n/N⌋` or `⌈n/N⌉` examples; device `i` scales its part's loss `L_i` (a mean over its
//! `n_i` examples) by `n_i / n` before `backward` ([`crate::batch::TaskBatch::share`]), so the summed gradient is
//! `Σ_i (n_i/n) ∇L_i = ∇ (mean loss over the global batch)`: the step one device takes with the whole batch, up to
//! rounding. One optimiser step, one learning-rate step and one gate-schedule step per global batch, as on one
//! device. Exact for the task loss and for budget penalties that are means over sequences; stochastic gates
//! and dropout draw their noise per device, so those runs agree in distribution, not bit for bit.
//!
//! **Order.** burn-train gives device `i` the `i`-th contiguous slice of the training items and shuffles each
//! slice every epoch with a generator of its own. [`SplitLoader`] lays the items out part-major (every global
//! batch's part 0, then every part 1, …) and gives every slice the same generator, so in every epoch the `t`-th
//! item of every device belongs to the same global batch.
//!
//! A global batch with fewer examples than devices (a length chunk's short last batch) joins the next batch, so
//! no device idles and no example is dropped.

use std::sync::Arc;

use anyhow::{ensure, Result};
use burn::data::dataloader::{BatchDataLoader, DataLoader, DataLoaderBuilder, DataLoaderIterator, FixBatchStrategy};
use burn::data::dataset::transform::PartialDataset;
use burn::data::dataset::InMemDataset;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::train::{ExecutionStrategy, MultiDeviceOptim};
use rand_burn::SeedableRng;

use crate::batch::{Bucket, BucketBatcher, Encoded, TaskBatch};

/// `--batch-size` is the global batch: on several devices it must give each at least one example per step.
pub fn check_batch(batch_size: usize, devices: usize) -> Result<()> {
    ensure!(
        devices <= 1 || batch_size >= devices,
        "--batch-size {batch_size}: below the {devices} devices of --devices (it is the global batch, split across them)"
    );
    Ok(())
}

/// Merge every batch with fewer than `parts` examples into the next one (the last into the one before), so each
/// can be split into `parts` non-empty parts. An error if all batches together hold fewer than `parts` examples.
pub fn merge_small(mut batches: Vec<Vec<Encoded>>, parts: usize) -> Result<Vec<Vec<Encoded>>> {
    let total: usize = batches.iter().map(Vec::len).sum();
    ensure!(
        total >= parts,
        "--devices: {parts} devices but only {total} training examples (each device needs at least one per step)"
    );
    let mut i = 0;
    while i < batches.len() {
        if batches[i].len() < parts {
            let small = batches.remove(i);
            let into = if i < batches.len() { i } else { i - 1 };
            batches[into].extend(small);
        } else {
            i += 1;
        }
    }
    Ok(batches)
}

/// Split every global batch into `parts` parts (sizes differ by at most one, each part's share `n_i / n`) and
/// lay them out part-major: item `p · M + t` is part `p` of batch `t` (`M` batches). Batches must hold at least
/// `parts` examples ([`merge_small`]).
pub fn split_parts(batches: &[Vec<Encoded>], parts: usize) -> Vec<Bucket> {
    let mut out: Vec<Vec<Bucket>> = vec![Vec::with_capacity(batches.len()); parts];
    for batch in batches {
        let n = batch.len();
        let mut start = 0;
        for (p, slot) in out.iter_mut().enumerate() {
            let len = n / parts + usize::from(p < n % parts);
            slot.push(Bucket {
                examples: batch[start..start + len].to_vec(),
                share: len as f32 / n as f32,
            });
            start += len;
        }
    }
    out.into_iter().flatten().collect()
}

/// The training loader: batches of whole buckets on one device, shuffled every epoch with `seed` (burn-train's
/// own loader), or for `parts` ≥ 2 devices a [`SplitLoader`] over [`split_parts`].
pub fn train_loader<B: Backend>(
    batches: &[Vec<Encoded>],
    parts: usize,
    seed: u64,
    device: &B::Device,
) -> Arc<dyn DataLoader<B, TaskBatch<B>>> {
    let build = |items: Vec<Bucket>| {
        DataLoaderBuilder::new(BucketBatcher)
            .batch_size(1)
            .shuffle(seed)
            .set_device(device.clone())
            .build(InMemDataset::new(items))
    };
    if parts <= 1 {
        return build(batches.iter().cloned().map(Bucket::whole).collect());
    }
    let items = split_parts(batches, parts);
    Arc::new(SplitLoader {
        whole: build(items.clone()),
        items: Arc::new(InMemDataset::new(items)),
        seed,
        device: device.clone(),
    })
}

/// A loader whose slices shuffle alike: `slice(start, end)` is a loader over those items whose generator starts
/// from the same `seed` in every slice (burn-train's own loader forks a different generator per slice). On one
/// device (no slicing) it is the wrapped loader, unchanged.
pub struct SplitLoader<B: Backend> {
    whole: Arc<dyn DataLoader<B, TaskBatch<B>>>,
    items: Arc<InMemDataset<Bucket>>,
    seed: u64,
    device: B::Device,
}

impl<B: Backend> DataLoader<B, TaskBatch<B>> for SplitLoader<B> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<TaskBatch<B>> + 'a> {
        self.whole.iter()
    }

    fn num_items(&self) -> usize {
        self.whole.num_items()
    }

    fn to_device(&self, device: &B::Device) -> Arc<dyn DataLoader<B, TaskBatch<B>>> {
        Arc::new(SplitLoader {
            whole: self.whole.to_device(device),
            items: self.items.clone(),
            seed: self.seed,
            device: device.clone(),
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<B, TaskBatch<B>>> {
        Arc::new(BatchDataLoader::new(
            Box::new(FixBatchStrategy::new(1)),
            Arc::new(PartialDataset::new(self.items.clone(), start, end)),
            Arc::new(BucketBatcher),
            self.device.clone(),
            Some(rand_burn::rngs::StdRng::seed_from_u64(self.seed)),
        ))
    }
}

/// How a run with several devices trains.
pub struct Parallel<B: AutodiffBackend> {
    /// burn-train's strategy.
    pub strategy: ExecutionStrategy<B>,
    /// Learning-rate scheduler steps per optimiser step: burn-train's DDP steps each replica's scheduler once
    /// per device per step, so the schedule is stretched by the device count to stay per global batch.
    pub lr_steps_per_step: usize,
    /// For the log: which strategy, in words.
    pub name: &'static str,
}

/// The strategy for `devices` (two or more): DDP when built with the `ddp` feature and the backend is CUDA,
/// else burn-train's multi-device strategy with the optimiser on the first device.
pub fn parallel<B: AutodiffBackend>(devices: &[B::Device]) -> Parallel<B> {
    #[cfg(feature = "ddp")]
    if let Some(strategy) = ddp::<B>(devices) {
        return Parallel {
            strategy,
            lr_steps_per_step: devices.len(),
            name: "DDP: a replica and optimiser per device, gradients all-reduced",
        };
    }
    Parallel {
        strategy: ExecutionStrategy::MultiDevice(devices.to_vec(), MultiDeviceOptim::OptimMainDevice),
        lr_steps_per_step: 1,
        name: "multi-device: gradients summed on the first device, whose optimiser steps",
    }
}

/// Whether [`parallel`] would choose DDP for backend `B` (the `ddp` feature and CUDA).
pub fn is_ddp<B: AutodiffBackend>() -> bool {
    #[cfg(feature = "ddp")]
    {
        std::any::TypeId::of::<B>() == std::any::TypeId::of::<Ddp>()
    }
    #[cfg(not(feature = "ddp"))]
    {
        false
    }
}

#[cfg(feature = "ddp")]
type Ddp = burn::backend::Autodiff<burn::backend::Cuda>;

/// DDP on CUDA: the generic `B` is checked to be `Autodiff<Cuda>` (the only backend DDP is built for here) and
/// the strategy built for that type is handed back as `B`'s.
#[cfg(feature = "ddp")]
fn ddp<B: AutodiffBackend>(devices: &[B::Device]) -> Option<ExecutionStrategy<B>> {
    use std::any::Any;

    use burn::tensor::backend::distributed::{DistributedConfig, ReduceOperation};
    let cuda: Vec<burn::backend::cuda::CudaDevice> = devices
        .iter()
        .map(|d| (d as &dyn Any).downcast_ref().cloned())
        .collect::<Option<_>>()?;
    let config = DistributedConfig {
        all_reduce_op: ReduceOperation::Sum,
    };
    let strategy: Box<dyn Any> = Box::new(ExecutionStrategy::<Ddp>::ddp(cuda, config));
    strategy.downcast::<ExecutionStrategy<B>>().ok().map(|s| *s)
}
