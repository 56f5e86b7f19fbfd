//! Where a model's parameters come from: a checkpoint's tensors (PyTorch layout, by HF key) or a fresh
//! initialisation as HF's `_init_weights` does (Linear/Embedding weights ~ N(0, initializer_range²), biases 0,
//! LayerNorm 1/0). Builders ask for every key; problems are collected (all missing keys, all shape
//! mismatches) and reported together by [`Weights::finish`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{HfError, Result};

/// A checkpoint tensor converted to f32, in PyTorch layout.
#[derive(Debug, Clone)]
pub struct RawTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// What a load did, key by key.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Keys taken from the checkpoint.
    pub loaded: Vec<String>,
    /// Keys initialised fresh (absent heads), as HF does.
    pub initialised: Vec<String>,
    /// Checkpoint keys knowingly ignored (pre-training heads, unused position embeddings, buffers).
    pub ignored: Vec<String>,
    /// Checkpoint keys nobody asked for.
    pub unused: Vec<String>,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "loaded {} tensors", self.loaded.len())?;
        if !self.initialised.is_empty() {
            write!(f, "; initialised fresh: {}", self.initialised.join(", "))?;
        }
        if !self.ignored.is_empty() {
            let mut groups: BTreeMap<String, usize> = BTreeMap::new();
            for k in &self.ignored {
                let g = k.split('.').next().unwrap_or(k).to_string();
                *groups.entry(g).or_default() += 1;
            }
            let g: Vec<String> = groups.iter().map(|(k, n)| format!("{k}.* ({n})")).collect();
            write!(
                f,
                "; ignored {} (pre-training heads / unused): {}",
                self.ignored.len(),
                g.join(", ")
            )?;
        }
        if !self.unused.is_empty() {
            write!(f, "; UNUSED keys: {}", self.unused.join(", "))?;
        }
        Ok(())
    }
}

/// The source of every parameter of a model under construction.
pub struct Weights {
    path: PathBuf,
    tensors: BTreeMap<String, RawTensor>,
    /// The model prefix of the checkpoint's keys (`deberta.`, `bert.`; empty for bare encoder checkpoints).
    prefix: String,
    fresh: bool,
    rng: StdRng,
    init_range: f64,
    used: BTreeSet<String>,
    missing: Vec<String>,
    mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
    report: LoadReport,
}

/// How a key that is absent from a checkpoint is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// An error (encoder weights).
    Fail,
    /// Initialise as HF does and record it (task heads).
    Initialise,
}

impl Weights {
    /// Parameters from a checkpoint's tensors. Keys are asked for without the model prefix
    /// (`encoder.layer.0.…`) and found with or without it: the prefix is what precedes
    /// `embeddings.word_embeddings.weight` in the checkpoint (`deberta.` / `bert.` in task and pre-training
    /// checkpoints, nothing in bare encoder checkpoints).
    pub fn from_checkpoint(path: PathBuf, tensors: BTreeMap<String, RawTensor>, init_range: f64, seed: u64) -> Self {
        let prefix = tensors
            .keys()
            .find_map(|k| k.strip_suffix("embeddings.word_embeddings.weight"))
            .unwrap_or("")
            .to_string();
        Self {
            path,
            tensors,
            prefix,
            fresh: false,
            rng: StdRng::seed_from_u64(seed),
            init_range,
            used: BTreeSet::new(),
            missing: vec![],
            mismatched: vec![],
            report: LoadReport::default(),
        }
    }

    /// Fresh parameters (HF's initialisation) from a seed.
    pub fn random(init_range: f64, seed: u64) -> Self {
        let mut w = Self::from_checkpoint(PathBuf::from("<random init>"), BTreeMap::new(), init_range, seed);
        w.fresh = true;
        w
    }

    /// Whether this source initialises everything.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Whether the checkpoint holds `key` (under the model prefix or not).
    pub fn contains(&self, key: &str) -> bool {
        self.resolve(key).is_some()
    }

    /// The model prefix found in the checkpoint (`deberta.`, `bert.` or empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn resolve(&self, key: &str) -> Option<String> {
        [format!("{}{key}", self.prefix), key.to_string()]
            .into_iter()
            .find(|k| self.tensors.contains_key(k))
    }

    /// Values of `key` with the expected PyTorch `shape`; `alt` lists legacy names (e.g. `gamma` for `weight`).
    pub fn take(&mut self, key: &str, alt: &[&str], shape: &[usize], init: Init, if_missing: IfMissing) -> Vec<f32> {
        let key = key.to_string();
        let found = std::iter::once(key.clone())
            .chain(alt.iter().map(|a| a.to_string()))
            .find_map(|k| self.resolve(&k));
        match found {
            Some(k) => {
                let t = &self.tensors[&k];
                self.used.insert(k.clone());
                if t.shape != shape {
                    self.mismatched.push((k, shape.to_vec(), t.shape.clone()));
                    return init.values(shape, &mut self.rng, self.init_range);
                }
                self.report.loaded.push(k);
                t.data.clone()
            }
            None => {
                if !self.fresh {
                    match if_missing {
                        IfMissing::Fail => self.missing.push(key.clone()),
                        IfMissing::Initialise => self.report.initialised.push(key.clone()),
                    }
                }
                init.values(shape, &mut self.rng, self.init_range)
            }
        }
    }

    /// A `Linear` from `{prefix}.weight` `[d_out, d_in]` (transposed to Burn's `[d_in, d_out]`) and
    /// `{prefix}.bias`.
    pub fn linear<B: Backend>(
        &mut self,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        if_missing: IfMissing,
        device: &B::Device,
    ) -> Linear<B> {
        let w = self.take(
            &format!("{prefix}.weight"),
            &[],
            &[d_out, d_in],
            Init::Normal,
            if_missing,
        );
        // Transpose on the host so the parameter is contiguous: a transposed *view* would be copied by every
        // matmul of the CPU backend (measured with perf: `to_vec_mapped`, a fifth of a base-size forward).
        let mut wt = vec![0f32; w.len()];
        for o in 0..d_out {
            for i in 0..d_in {
                wt[i * d_out + o] = w[o * d_in + i];
            }
        }
        let weight = Tensor::<B, 2>::from_data(TensorData::new(wt, [d_in, d_out]), device);
        let mut linear = LinearConfig::new(d_in, d_out).with_bias(bias).init::<B>(device);
        linear.weight = Param::from_tensor(weight);
        if bias {
            let b = self.take(&format!("{prefix}.bias"), &[], &[d_out], Init::Zeros, if_missing);
            linear.bias = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(b, [d_out]),
                device,
            )));
        }
        linear
    }

    /// A `LayerNorm` with ε from `{prefix}.weight|gamma` and `{prefix}.bias|beta`.
    pub fn layer_norm<B: Backend>(&mut self, prefix: &str, d: usize, eps: f64, device: &B::Device) -> LayerNorm<B> {
        let g = self.take(
            &format!("{prefix}.weight"),
            &[&format!("{prefix}.gamma")],
            &[d],
            Init::Ones,
            IfMissing::Fail,
        );
        let b = self.take(
            &format!("{prefix}.bias"),
            &[&format!("{prefix}.beta")],
            &[d],
            Init::Zeros,
            IfMissing::Fail,
        );
        let mut ln = LayerNormConfig::new(d).with_epsilon(eps).init::<B>(device);
        ln.gamma = Param::from_tensor(Tensor::from_data(TensorData::new(g, [d]), device));
        ln.beta = Some(Param::from_tensor(Tensor::from_data(TensorData::new(b, [d]), device)));
        ln
    }

    /// An embedding table `[rows, d]`.
    pub fn embedding<B: Backend>(
        &mut self,
        key: &str,
        rows: usize,
        d: usize,
        device: &B::Device,
    ) -> Param<Tensor<B, 2>> {
        let w = self.take(key, &[], &[rows, d], Init::Normal, IfMissing::Fail);
        Param::from_tensor(Tensor::from_data(TensorData::new(w, [rows, d]), device))
    }

    /// Record checkpoint keys that are knowingly not used (matched by `ignore`), then fail on any missing or
    /// mismatched key, else return the report.
    pub fn finish(mut self, ignore: impl Fn(&str) -> bool) -> Result<LoadReport> {
        if !self.missing.is_empty() {
            return Err(HfError::MissingKeys {
                path: self.path,
                keys: self.missing,
            });
        }
        if !self.mismatched.is_empty() {
            return Err(HfError::ShapeMismatch {
                path: self.path,
                mismatches: self.mismatched,
            });
        }
        for k in self.tensors.keys() {
            if self.used.contains(k) {
                continue;
            }
            let bare = k.strip_prefix(self.prefix.as_str()).unwrap_or(k);
            if ignore(bare) {
                self.report.ignored.push(k.clone());
            } else {
                self.report.unused.push(k.clone());
            }
        }
        Ok(self.report)
    }
}

/// How a parameter is initialised when not loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// N(0, initializer_range²).
    Normal,
    /// 0.
    Zeros,
    /// 1.
    Ones,
}

impl Init {
    fn values(self, shape: &[usize], rng: &mut StdRng, std: f64) -> Vec<f32> {
        let n: usize = shape.iter().product();
        match self {
            Init::Zeros => vec![0.0; n],
            Init::Ones => vec![1.0; n],
            Init::Normal => (0..n)
                .map(|_| {
                    // Box–Muller.
                    let u1: f64 = rng.random::<f64>().max(1e-300);
                    let u2: f64 = rng.random::<f64>();
                    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
                })
                .collect(),
        }
    }
}
