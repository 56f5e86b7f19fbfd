//! Evaluation of a trained model: predictions, the gates' statistics (rank histograms, budget violations),
//! realised adapter + controller FLOPs per sequence (TABS.md §7) and per-sequence latency — everything a
//! `results.json` reports.

use std::time::Instant;

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use tabs::flops::{self, LayerCost, MapShape};
use tabs::stats::token_ranks;
use tabs::{Granularity, RankStats};

use crate::backbone::Backbone;
use crate::batch::{make_batch, Encoded};
use crate::method::Method;
use crate::train::bucket_indices;

/// Budget statistics at inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetReport {
    /// Groups over budget.
    pub violations: u64,
    /// Groups checked.
    pub groups: u64,
    /// max r/B.
    pub worst_ratio: f64,
    /// Mean token rank per layer.
    pub mean_rank_per_layer: Vec<f64>,
}

/// Mean and maximum of a per-sequence quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanMax {
    /// Mean.
    pub mean: f64,
    /// Maximum.
    pub max: f64,
}

/// Mean and 99th percentile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanP99 {
    /// Mean.
    pub mean: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
}

/// FLOPs per sequence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlopReport {
    /// Realised adapter + controller FLOPs per sequence.
    pub adapter_and_controller: MeanMax,
    /// Frozen target maps per sequence (reference, not adapter cost).
    pub base_maps: MeanMax,
}

/// What one input cost, as [`evaluate`] measured it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InputCost {
    /// Realised (token, direction) pairs summed over layers (gated methods; for `Layer` gates a direction on in
    /// layer ℓ counts once per real token).
    pub active_pairs: Option<u64>,
    /// The guarantee for this input, summed the same way: Σ_ℓ B(T) for `Token` / `Sequence` gates, T·B_global for
    /// `Layer` gates; None where no inference cut enforces it (`cbsp`, `tabs-noproj`) or without gates.
    pub budget: Option<u64>,
    /// Realised adapter + controller FLOPs of this input (TABS.md §7).
    pub adapter_flops: f64,
    /// Real tokens (special tokens included).
    pub tokens: usize,
}

/// What one evaluation produced.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Logits per example, in input order.
    pub logits: Vec<Vec<f32>>,
    /// What each example cost, in input order.
    pub costs: Vec<InputCost>,
    /// Gate statistics (spectral methods).
    pub budget: Option<BudgetReport>,
    /// Rank histogram per layer (spectral methods).
    pub rank_histogram: Option<Vec<Vec<u64>>>,
    /// FLOPs.
    pub flops: FlopReport,
}

fn mean_max(v: &[f64]) -> MeanMax {
    MeanMax {
        mean: if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        },
        max: v.iter().cloned().fold(0.0, f64::max),
    }
}

/// The FLOP model of one layer of `net` for `method`.
fn layer_cost<B: Backend>(net: &Backbone<B>, method: Method) -> (Vec<MapShape>, Option<LayerCost>) {
    let shape = net.shape();
    let maps = shape.maps();
    let cost = net.gates().map(|g| {
        let spectral = net
            .maps()
            .into_iter()
            .find_map(|(_, m)| m.spectral.as_ref().map(|s| s.kernel));
        LayerCost {
            maps: maps.clone(),
            granularity: g.config.granularity,
            d_model: shape.hidden,
            hidden: g.config.hidden(),
            rank: g.config.rank,
            kernel: spectral.unwrap_or(tabs::Kernel::DenseMasked),
        }
    });
    if method == Method::Full {
        return (maps, None);
    }
    (maps, cost)
}

/// Run `examples` through `net` (inference mode) in length buckets; outputs keep the input order.
pub fn evaluate<B: Backend>(
    net: &Backbone<B>,
    examples: &[Encoded],
    method: Method,
    batch_size: usize,
    device: &B::Device,
) -> Evaluation {
    let layers = net.shape().layers;
    let (maps, cost) = layer_cost(net, method);
    let lora_rank = net
        .maps()
        .into_iter()
        .find_map(|(_, m)| m.lora.as_ref().map(|l| l.rank()));
    // The ungated spectral adapter (`spectral`): every (token, direction) pair is active.
    let ungated = net
        .gates()
        .is_none()
        .then(|| {
            net.maps()
                .into_iter()
                .find_map(|(_, m)| m.spectral.as_ref().map(|s| (s.rank(), s.kernel)))
        })
        .flatten();
    let mut stats = net
        .gates()
        .map(|g| RankStats::new(layers, g.config.rank, g.config.granularity));
    // Buckets of indices, so outputs keep the input order.
    let order = bucket_indices(examples, batch_size, false, 0);
    let mut logits = vec![Vec::new(); examples.len()];
    let (mut overhead, mut base) = (vec![0.0; examples.len()], vec![0.0; examples.len()]);
    let gated = net.gates().map(|g| g.config.budget.inference_cut);
    let mut pairs = vec![gated.map(|_| 0u64); examples.len()];
    let mut budgets = vec![gated.and_then(|cut| cut.then_some(0u64)); examples.len()];
    for idx in order {
        let items: Vec<Encoded> = idx.iter().map(|&i| examples[i].clone()).collect();
        let batch = make_batch::<B>(&items, device);
        let out = net.forward(&batch.input);
        let l = out
            .logits
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("float logits");
        let n = l.len() / items.len();
        for (k, &i) in idx.iter().enumerate() {
            logits[i] = l[k * n..(k + 1) * n].to_vec();
            let t = items[k].input_ids.len();
            base[i] = layers as f64 * maps.iter().map(|m| flops::base_map(t, *m) as f64).sum::<f64>();
            if let Some(r) = lora_rank {
                overhead[i] = layers as f64 * maps.iter().map(|m| flops::lora(t, r, *m, false) as f64).sum::<f64>();
            }
            if let Some((r, kernel)) = ungated {
                let pairs = (t * r) as u64;
                overhead[i] = layers as f64
                    * maps
                        .iter()
                        .map(|m| flops::gated_term(kernel, pairs, t, r, *m) as f64)
                        .sum::<f64>();
            }
        }
        if let (Some(stats), Some(mask), Some(cost)) = (stats.as_mut(), out.token_mask.as_ref(), cost.as_ref()) {
            stats.record(&out.gates, mask);
            let layer_gates = cost.granularity == Granularity::Layer;
            for g in &out.gates {
                // `Layer` gates: one global budget in directions over all layers, a direction costing T pairs.
                let global = layer_gates.then(|| g.budget.clone().into_data().convert::<f64>().to_vec::<f64>());
                let global = global.and_then(|v| v.ok()).and_then(|v| v.first().copied());
                for (k, ranks) in token_ranks(g, mask).iter().enumerate() {
                    let n: u64 = ranks.iter().map(|&r| r as u64).sum();
                    let i = idx[k];
                    overhead[i] += cost.flops(ranks.len(), n).overhead() as f64;
                    if let Some(p) = pairs[i].as_mut() {
                        *p += n;
                    }
                    if let Some(b) = budgets[i].as_mut() {
                        // Layer gates: the global budget once (not per layer), times the real tokens.
                        *b = match global {
                            Some(g) => g.round() as u64 * ranks.len() as u64,
                            None => *b + mask.budgets[k] as u64,
                        };
                    }
                }
            }
        }
    }
    let costs = (0..examples.len())
        .map(|i| InputCost {
            active_pairs: pairs[i],
            budget: budgets[i],
            adapter_flops: overhead[i],
            tokens: examples[i].input_ids.len(),
        })
        .collect();
    Evaluation {
        logits,
        costs,
        budget: stats.as_ref().map(|s| BudgetReport {
            violations: s.violations,
            groups: s.groups,
            worst_ratio: s.worst_ratio,
            mean_rank_per_layer: s.mean_rank(),
        }),
        rank_histogram: stats.map(|s| s.histogram),
        flops: FlopReport {
            adapter_and_controller: mean_max(&overhead),
            base_maps: mean_max(&base),
        },
    }
}

/// Per-sequence latency (batch 1) over up to `n` examples: mean and p99 in milliseconds.
pub fn latency<B: Backend>(net: &Backbone<B>, examples: &[Encoded], n: usize, device: &B::Device) -> MeanP99 {
    let mut times: Vec<f64> = examples
        .iter()
        .take(n)
        .map(|e| {
            let batch = make_batch::<B>(std::slice::from_ref(e), device);
            let s = Instant::now();
            let _ = net.forward(&batch.input).logits.into_data();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    if times.is_empty() {
        return MeanP99 { mean: 0.0, p99: 0.0 };
    }
    let p = ((0.99 * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1;
    MeanP99 {
        mean: times.iter().sum::<f64>() / times.len() as f64,
        p99: times[p],
    }
}

/// One run's timings from [`time_runs_on`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunTimes {
    /// The run folder.
    pub run: std::path::PathBuf,
    /// Its method.
    pub method: Method,
    /// Per-sequence latency of every timed pass, in ms.
    pub times_ms: Vec<f64>,
}

/// `run_latency` on the backend `device` names: rebuild every run in `runs` from the checkpoint `model` and its
/// saved adapter, then time the first `samples` validation texts of the CSV folder `data` one by one (batch 1,
/// at most 128 tokens), in `rounds` rounds that alternate between the runs (so that load changes hit every run
/// alike); each run gets one untimed pass per round first. Progress goes to stderr. Not generic, as
/// [`crate::run::run_task_on`].
#[cfg(not(test))]
pub fn time_runs_on(
    device: &str,
    model: &std::path::Path,
    data: &std::path::Path,
    runs: &[std::path::PathBuf],
    samples: usize,
    rounds: usize,
) -> anyhow::Result<Vec<RunTimes>> {
    use anyhow::Context;
    struct Job<'a> {
        model: &'a std::path::Path,
        data: &'a std::path::Path,
        runs: &'a [std::path::PathBuf],
        samples: usize,
        rounds: usize,
    }
    impl crate::device::OnDevice for Job<'_> {
        type Output = Vec<RunTimes>;
        fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<Vec<RunTimes>> {
            let [_, dev, _] = crate::run::text_csv_splits(self.data)?;
            let dev = dev.context("no validation file")?;
            let limits = crate::preflight::ModelLimits::from_dir(self.model)?;
            let tok = crate::backbone::TextTokenizer::from_dir(self.model)?;
            limits.check_tokenizer(self.model, &tok)?;
            let mut examples = crate::lra::load_text_csv(&dev)?;
            examples.truncate(self.samples);
            anyhow::ensure!(!examples.is_empty(), "{}: no texts to time", dev.display());
            // 128 tokens, or fewer where the model's absolute positions end earlier.
            let enc = crate::run::encode_texts(&tok, &examples, limits.max_positions.map_or(128, |p| p.min(128)))?;
            let models: Vec<crate::run_folder::LoadedModel<B>> = self
                .runs
                .iter()
                .map(|r| crate::run_folder::load_run(r, Some(self.model), &device))
                .collect::<anyhow::Result<_>>()?;
            let mut times: Vec<Vec<f64>> = vec![Vec::new(); models.len()];
            for round in 0..self.rounds {
                for (k, m) in models.iter().enumerate() {
                    // One untimed pass first (allocations, caches).
                    let _ = latency(&m.net, &enc[..1], 1, &device);
                    for e in &enc {
                        times[k].push(latency(&m.net, std::slice::from_ref(e), 1, &device).mean);
                    }
                }
                eprintln!("round {} of {} done", round + 1, self.rounds);
            }
            Ok(self
                .runs
                .iter()
                .zip(&models)
                .zip(times)
                .map(|((run, m), times_ms)| RunTimes {
                    run: run.clone(),
                    method: m.config.method,
                    times_ms,
                })
                .collect())
        }
    }
    crate::device::on_device(
        device,
        Job {
            model,
            data,
            runs,
            samples,
            rounds,
        },
    )
}
