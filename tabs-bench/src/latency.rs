//! `latency`: per-sequence forward latency of a DeBERTa (a checkpoint folder, or a base-size random-init
//! DeBERTa-v3: 768/12/12/3072, vocab 128100) per method, for fixed lengths and a realistic length mix.
//!
//! Protocol per length, rows interleaved pass by pass: `warmup` untimed forward passes of every row, then
//! n timed passes of a `[batch, T]` input (n = max(min_iters, ⌊iters·256 / max(T, 256)⌋), so long inputs get fewer passes), each ended by a
//! host read of the logits (so asynchronous backends are timed to completion). Per-sequence latency = pass
//! time / batch. The mix draws `mix` lengths from [`crate::lengths::glue_mix`] and times each once at batch 1
//! (after `warmup` passes of the first; the same quantile lengths in the peer). Input ids are fixed pseudo-random ids (seeded).
//!
//! Gate state (random-init adapters, no training): the controllers start at ℓ₀ ≈ −1.60 for every direction, so
//! the deterministic gate keeps all R = 16 directions; TABS's top-B cut then keeps exactly B(T) = 8T pairs,
//! CBSP (no cut) runs all 16T (2× its budget), and the ablation's binary gate 1[ℓ > 0] keeps none. A = 0, so a
//! merged BHSP map equals W: `bhsp-merged` has exactly the frozen model's shapes and compute and is reported
//! from the `frozen` timings (not re-timed).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tabs::{AdaptedLinear, SpectralGates};
use tabs_deberta::{Architecture, DebertaConfig, DebertaForSequenceClassification, DebertaInput};
use tabs_experiments::method::{AdapterHyper, Method};

use crate::lengths::glue_mix;
use crate::methods::BenchMethod;
use crate::summary::Summary;

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyArgs {
    /// Rows.
    pub methods: Vec<BenchMethod>,
    /// Fixed lengths.
    pub lengths: Vec<usize>,
    /// Sequences per forward pass.
    pub batch: usize,
    /// Untimed passes before timing.
    pub warmup: usize,
    /// Timed passes at T ≤ 256 (scaled down as 256/T above).
    pub iters: usize,
    /// At least this many timed passes.
    pub min_iters: usize,
    /// Inputs drawn from the GLUE-like mix (0: no mix row).
    pub mix: usize,
    /// Longest length of the mix.
    pub mix_max: usize,
    /// Seed of weights, ids and mix.
    pub seed: u64,
    /// Adapter hyper-parameters.
    pub hyper: AdapterHyper,
    /// Checkpoint folder (None: base-size random init).
    pub model: Option<PathBuf>,
}

/// One timed (method, shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyRow {
    /// Row.
    pub method: String,
    /// `fixed` or `mix`.
    pub shape: String,
    /// T (fixed), or the longest length of the mix.
    pub length: usize,
    /// Mean length (the mix's mean; T for fixed).
    pub mean_length: f64,
    /// Sequences per pass.
    pub batch: usize,
    /// Per-sequence latency in milliseconds.
    pub ms: Summary,
    /// How the row was obtained when not timed directly.
    pub note: Option<String>,
}

/// Timed passes for a length.
pub fn iters_for(args: &LatencyArgs, t: usize) -> usize {
    (args.iters * 256 / t.max(256)).max(args.min_iters)
}

/// Fixed pseudo-random ids `[batch, T]` below `vocab`, avoiding the special ids 0..4.
pub fn input<B: Backend>(
    batch: usize,
    t: usize,
    vocab: usize,
    rng: &mut StdRng,
    device: &B::Device,
) -> DebertaInput<B> {
    let ids: Vec<i64> = (0..batch * t)
        .map(|_| rng.random_range(4..vocab.max(5)) as i64)
        .collect();
    DebertaInput {
        input_ids: Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [batch, t]), device),
        attention_mask: Tensor::<B, 2, Int>::ones([batch, t], device),
        token_type_ids: None,
    }
}

/// Apply `f` to each of the six adaptable maps of every layer.
pub fn map_adapted<B: Backend>(
    net: &mut DebertaForSequenceClassification<B>,
    f: impl Fn(AdaptedLinear<B>) -> AdaptedLinear<B>,
) {
    for l in net.encoder.layers.iter_mut() {
        for m in l.maps_mut() {
            *m = f(m.clone());
        }
    }
}

/// The base model: a checkpoint folder or a base-size random-init DeBERTa-v3.
pub fn base_model<B: Backend>(
    model: Option<&PathBuf>,
    seed: u64,
    device: &B::Device,
) -> Result<DebertaForSequenceClassification<B>> {
    match model {
        Some(dir) => Ok(
            DebertaForSequenceClassification::from_pretrained(dir, None, seed, device)
                .with_context(|| format!("loading {}", dir.display()))?
                .0,
        ),
        None => Ok(DebertaForSequenceClassification::random(
            &DebertaConfig::v3_base(),
            seed,
            device,
        )),
    }
}

/// Models for every row, built lazily: LoRA injected once (and merged for `lora-merged`); the spectral
/// adapters (SVD of every target map) injected once, then each gated row gets its own fresh gate sources
/// (from the row's `adapter_spec`) and kernel.
struct Models<B: Backend> {
    base: DebertaForSequenceClassification<B>,
    lora: Option<DebertaForSequenceClassification<B>>,
    spectral: Option<DebertaForSequenceClassification<B>>,
}

impl<B: Backend> Models<B> {
    fn get(
        &mut self,
        m: BenchMethod,
        hyper: &AdapterHyper,
        device: &B::Device,
    ) -> Result<DebertaForSequenceClassification<B>> {
        let inject = |base: &DebertaForSequenceClassification<B>, method: Method| -> Result<_> {
            let spec = tabs_experiments::method::adapter_spec(method, hyper).context("an adapter method")?;
            Ok(base.clone().inject(&spec)?.0)
        };
        Ok(match m {
            BenchMethod::Frozen | BenchMethod::BhspMerged => self.base.clone(),
            BenchMethod::LoraUnmerged | BenchMethod::LoraMerged => {
                if self.lora.is_none() {
                    self.lora = Some(inject(&self.base, Method::Lora)?);
                }
                let mut net = self.lora.clone().expect("built");
                if m.merged() {
                    map_adapted(&mut net, AdaptedLinear::merge_lora);
                }
                net
            }
            _ => {
                if self.spectral.is_none() {
                    self.spectral = Some(inject(&self.base, Method::Tabs)?);
                }
                let mut net = self.spectral.clone().expect("built");
                let cfg = m.gating(hyper).context("a gated row")?;
                let c = net.config().clone();
                net.encoder.gates = Some(SpectralGates::new(cfg, c.hidden_size, c.num_hidden_layers, device)?);
                let kernel = m.kernel();
                map_adapted(&mut net, |mut a| {
                    if let Some(s) = a.spectral.as_mut() {
                        s.kernel = kernel;
                    }
                    a
                });
                net
            }
        })
    }
}

fn time_pass<B: Backend>(net: &DebertaForSequenceClassification<B>, x: &DebertaInput<B>) -> f64 {
    let s = Instant::now();
    let _ = net.forward(x).logits.into_data();
    s.elapsed().as_secs_f64() * 1e3
}

/// Time every row; `progress` gets one line per (row, shape).
///
/// Rows are *interleaved*: for each length, every row gets its warm-up passes, then timed pass k of every row
/// runs before pass k + 1 of any row. On a shared machine a burst of foreign load then hits all rows alike
/// instead of whichever row happened to be running.
pub fn run<B: Backend>(
    args: &LatencyArgs,
    device: &B::Device,
    mut progress: impl FnMut(&str),
) -> Result<Vec<LatencyRow>> {
    let t0 = Instant::now();
    // Absolute positions end at max_position_embeddings: checked on the config, before the weights load.
    let longest = args
        .lengths
        .iter()
        .copied()
        .chain((args.mix > 0).then_some(args.mix_max))
        .max();
    if let (Some(dir), Some(t)) = (&args.model, longest) {
        let c = DebertaConfig::from_file(&dir.join("config.json"))?;
        if let Some(max) = c.max_length() {
            anyhow::ensure!(
                t <= max,
                "--lengths / --mix-max {t}: above the model's max_position_embeddings {max} (absolute positions)"
            );
        }
    }
    let base = base_model::<B>(args.model.as_ref(), args.seed, device)?;
    let vocab = base.config().vocab_size;
    let mut models = Models {
        base,
        lora: None,
        spectral: None,
    };
    let timed: Vec<BenchMethod> = args
        .methods
        .iter()
        .copied()
        .filter(|m| *m != BenchMethod::BhspMerged)
        .collect();
    let nets = timed
        .iter()
        .map(|&m| models.get(m, &args.hyper, device))
        .collect::<Result<Vec<_>>>()?;
    progress(&format!(
        "{} models ready in {:.1} s",
        nets.len(),
        t0.elapsed().as_secs_f64()
    ));
    let mut rows: Vec<LatencyRow> = Vec::new();
    let push = |rows: &mut Vec<LatencyRow>,
                m: BenchMethod,
                shape: &str,
                length: usize,
                mean_length: f64,
                batch: usize,
                times: &[f64]| {
        let ms = Summary::of(times);
        rows.push(LatencyRow {
            method: m.name().into(),
            shape: shape.into(),
            length,
            mean_length,
            batch,
            ms,
            note: None,
        });
    };
    for &t in &args.lengths {
        let mut rng = StdRng::seed_from_u64(args.seed ^ t as u64);
        let x = input::<B>(args.batch, t, vocab, &mut rng, device);
        for net in &nets {
            for _ in 0..args.warmup {
                time_pass(net, &x);
            }
        }
        let n = iters_for(args, t);
        let mut times = vec![Vec::with_capacity(n); nets.len()];
        for _ in 0..n {
            for (k, net) in nets.iter().enumerate() {
                times[k].push(time_pass(net, &x) / args.batch as f64);
            }
        }
        for (k, &m) in timed.iter().enumerate() {
            push(&mut rows, m, "fixed", t, t as f64, args.batch, &times[k]);
        }
        let line: Vec<String> = timed
            .iter()
            .zip(&times)
            .map(|(m, ts)| format!("{m} {:.0}/{:.0}", Summary::of(ts).mean, Summary::of(ts).p99))
            .collect();
        progress(&format!(
            "T={t} b={} ({n} passes), mean/p99 ms: {}",
            args.batch,
            line.join(", ")
        ));
    }
    if args.mix > 0 {
        let lengths = glue_mix(args.mix, args.mix_max);
        let mut rng = StdRng::seed_from_u64(args.seed ^ 0x313);
        let first = input::<B>(1, lengths[0], vocab, &mut rng, device);
        for net in &nets {
            for _ in 0..args.warmup {
                time_pass(net, &first);
            }
        }
        let mut times = vec![Vec::with_capacity(lengths.len()); nets.len()];
        for &t in &lengths {
            let x = input::<B>(1, t, vocab, &mut rng, device);
            for (k, net) in nets.iter().enumerate() {
                times[k].push(time_pass(net, &x));
            }
        }
        let mean_len = lengths.iter().sum::<usize>() as f64 / lengths.len() as f64;
        for (k, &m) in timed.iter().enumerate() {
            push(&mut rows, m, "mix", args.mix_max, mean_len, 1, &times[k]);
        }
        progress(&format!("mix of {} lengths done", lengths.len()));
    }
    if args.methods.contains(&BenchMethod::BhspMerged) {
        let frozen: Vec<LatencyRow> = rows.iter().filter(|r| r.method == "frozen").cloned().collect();
        for mut r in frozen {
            r.method = BenchMethod::BhspMerged.name().into();
            r.note =
                Some("merged BHSP has the frozen model's shapes (and, with A = 0, its weights): frozen timings".into());
            rows.push(r);
        }
    }
    Ok(rows)
}

/// Dense-masked vs gathered at one length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelCompare {
    /// T.
    pub length: usize,
    /// tabs-dense mean (ms).
    pub dense_mean: f64,
    /// tabs-gathered mean (ms).
    pub gathered_mean: f64,
    /// tabs-dense p99 (ms).
    pub dense_p99: f64,
    /// tabs-gathered p99 (ms).
    pub gathered_p99: f64,
    /// gathered / dense, mean.
    pub gathered_over_dense: f64,
}

/// Everything `latency` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyResults {
    /// Our rows.
    pub rows: Vec<LatencyRow>,
    /// The peer's file, when given.
    pub peer: Option<crate::peer::PeerFile>,
    /// Ours / peer.
    pub ratios: Vec<crate::peer::Ratio>,
    /// TABS kernels side by side.
    pub kernels: Vec<KernelCompare>,
    /// When the rows were read from an earlier file (`--rows-from`): the command that timed them.
    #[serde(default)]
    pub timed_by: Option<String>,
}

/// Rows of several latency files as one result: the rows in file order, the commands that timed them (one per
/// line), and the first file's arguments with the lengths and methods of all. Files timed at different batch
/// sizes, on different models or with different adapter settings are not joined (an error says which).
pub fn join_files(
    files: Vec<crate::output::ResultFile<LatencyArgs, LatencyResults>>,
) -> Result<(Vec<LatencyRow>, String, LatencyArgs), String> {
    let mut it = files.into_iter();
    let first = it.next().ok_or("no file given")?;
    let mut args = first.args;
    let mut rows = first.results.rows;
    let mut by = vec![first.results.timed_by.unwrap_or(first.record.command)];
    for f in it {
        if (f.args.batch, &f.args.model, f.args.seed, f.args.hyper) != (args.batch, &args.model, args.seed, args.hyper)
        {
            return Err(format!(
                "`{}` was timed at batch {} on {:?} (seed {}, {:?}), the first file at batch {} on {:?} (seed {}, {:?})",
                f.record.command,
                f.args.batch,
                f.args.model,
                f.args.seed,
                f.args.hyper,
                args.batch,
                args.model,
                args.seed,
                args.hyper
            ));
        }
        for t in f.args.lengths {
            if !args.lengths.contains(&t) {
                args.lengths.push(t);
            }
        }
        for m in f.args.methods {
            if !args.methods.contains(&m) {
                args.methods.push(m);
            }
        }
        rows.extend(f.results.rows);
        by.push(f.results.timed_by.unwrap_or(f.record.command));
    }
    Ok((rows, by.join("\n"), args))
}

/// Dense vs gathered per fixed length, from the `tabs-dense` and `tabs-gathered` rows.
pub fn kernel_compare(rows: &[LatencyRow]) -> Vec<KernelCompare> {
    rows.iter()
        .filter(|r| r.method == "tabs-dense" && r.shape == "fixed")
        .filter_map(|d| {
            let g = rows.iter().find(|g| {
                g.method == "tabs-gathered" && g.shape == "fixed" && g.length == d.length && g.batch == d.batch
            })?;
            Some(KernelCompare {
                length: d.length,
                dense_mean: d.ms.mean,
                gathered_mean: g.ms.mean,
                dense_p99: d.ms.p99,
                gathered_p99: g.ms.p99,
                gathered_over_dense: g.ms.mean / d.ms.mean,
            })
        })
        .collect()
}
