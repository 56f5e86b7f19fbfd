//! Training through burn-train's Learner: the task model (DeBERTa + head, with the method's adapters), its
//! train/validation steps (task loss + the budget loss), three parameter groups (adapters; heads at `head_lr`;
//! gates at `gate_lr` without weight decay), the learning-rate warm-up, the gates' schedule (warm-up with every
//! gate on, then ρ_t annealed from R to ρ), checkpoints every epoch and `--resume`, and a plain-text renderer
//! when there is no terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::module::{AutodiffModule, Module};
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::record::CompactRecorder;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, Transaction};
use burn::train::metric::{AccuracyInput, AccuracyMetric, Adaptor, ItemLazy, LossInput, LossMetric};
use burn::train::{InferenceStep, Learner, SupervisedTraining, TrainOutput, TrainStep, TrainingStrategy};
use serde::{Deserialize, Serialize};

use crate::backbone::Backbone;

use crate::batch::{Bucket, BucketBatcher, Encoded, TaskBatch};
use crate::bucket::{length_batches, BucketConfig};
use crate::data_parallel;
use crate::method::{adapter_spec, AdapterHyper, Method};
use crate::param_groups::{decay, param_ids, take_grads};
use crate::renderer::PlainRenderer;
use crate::schedule::WarmupLinear;

/// Everything that defines a run (written to `config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Task name (`sst2`, `listops`, …).
    pub task: String,
    /// Method.
    pub method: Method,
    /// Adapter hyper-parameters.
    pub adapter: AdapterHyper,
    /// Peak learning rate of adapters (and of all parameters for `full`).
    pub lr: f64,
    /// Peak learning rate of the pooler and classifier (default: `lr`).
    pub head_lr: Option<f64>,
    /// Linear warm-up steps.
    pub warmup_steps: usize,
    /// Warm-up as a fraction of all steps (overrides `warmup_steps` when set).
    pub warmup_ratio: Option<f64>,
    /// AdamW (decoupled) weight decay of adapters and heads; gate parameters never decay.
    pub weight_decay: f64,
    /// Peak learning rate of the gate parameters (controllers, `Layer` logits, Lagrange multipliers); None = `lr`.
    #[serde(default)]
    pub gate_lr: Option<f64>,
    /// Gate warm-up W in optimiser steps (every gate on); see [`tabs::GateSchedule`].
    #[serde(default)]
    pub gate_warmup_steps: usize,
    /// Gate warm-up as a fraction of all steps (overrides `gate_warmup_steps` when set).
    #[serde(default)]
    pub gate_warmup_ratio: Option<f64>,
    /// Budget annealing N in optimiser steps after the warm-up (ρ_t from R down to ρ).
    #[serde(default)]
    pub anneal_steps: usize,
    /// Annealing as a fraction of all steps (overrides `anneal_steps` when set).
    #[serde(default)]
    pub anneal_ratio: Option<f64>,
    /// Epochs.
    pub epochs: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Truncation length (tokens, special tokens included).
    pub max_length: usize,
    /// Classifier dropout override (`cls_dropout`).
    pub cls_dropout: Option<f64>,
    /// Seed of initialisation, batching and dropout.
    pub seed: u64,
}

impl TrainConfig {
    /// Defaults for a task and method (AdaLoRA-style: lr 5e-4, batch 32, 3 epochs, max length 128).
    pub fn new(task: &str, method: Method) -> Self {
        Self {
            task: task.to_string(),
            method,
            adapter: AdapterHyper::default(),
            lr: 5e-4,
            head_lr: None,
            warmup_steps: 0,
            warmup_ratio: Some(0.06),
            weight_decay: 0.0,
            gate_lr: None,
            gate_warmup_steps: 0,
            gate_warmup_ratio: Some(DEFAULT_GATE_WARMUP_RATIO),
            anneal_steps: 0,
            anneal_ratio: Some(DEFAULT_ANNEAL_RATIO),
            epochs: 3,
            batch_size: 32,
            max_length: 128,
            cls_dropout: None,
            seed: 42,
        }
    }

    /// The AdaLoRA repository's DeBERTa-v3-base GLUE settings (`NLU/scripts/run_debertav3_<task>.sh`): max
    /// length, batch size, learning rate, epochs, warm-up, classifier dropout, weight decay and LoRA α.
    pub fn adalora_preset(task: &str, method: Method) -> Option<Self> {
        // (max_len, lr, epochs, warmup steps, warmup ratio, cls_dropout, weight decay, lora α)
        let p: (usize, f64, usize, usize, Option<f64>, f64, f64, f64) = match task {
            "mnli" => (256, 5e-4, 7, 1000, None, 0.15, 0.0, 16.0),
            "cola" => (64, 8e-4, 25, 100, None, 0.10, 0.0, 32.0),
            "sst2" => (128, 8e-4, 24, 1000, None, 0.0, 0.01, 16.0),
            "mrpc" => (320, 1e-3, 30, 0, Some(0.1), 0.0, 0.01, 32.0),
            "stsb" => (128, 2.2e-3, 25, 100, None, 0.2, 0.1, 32.0),
            "qqp" => (320, 8e-4, 5, 2000, None, 0.15, 0.01, 16.0),
            "qnli" => (512, 5e-4, 5, 500, None, 0.1, 0.01, 32.0),
            "rte" => (320, 1.2e-3, 50, 200, None, 0.2, 0.01, 32.0),
            _ => return None,
        };
        let mut c = Self::new(task, method);
        (c.max_length, c.lr, c.epochs, c.warmup_steps, c.warmup_ratio) = (p.0, p.1, p.2, p.3, p.4);
        c.cls_dropout = Some(p.5);
        c.weight_decay = p.6;
        c.adapter.lora_alpha = p.7;
        c.batch_size = 32;
        Some(c)
    }
}

/// Default gate warm-up: this fraction of all steps with every gate on (chosen on the demo: README, "The demo";
/// the book's method chapter, §5½).
pub const DEFAULT_GATE_WARMUP_RATIO: f64 = 0.2;
/// Default budget annealing after the warm-up, as a fraction of all steps.
pub const DEFAULT_ANNEAL_RATIO: f64 = 0.3;

impl TrainConfig {
    /// The gates' schedule for a run of `steps` optimiser steps (ratios win over step counts).
    pub fn gate_schedule(&self, steps: usize) -> tabs::GateSchedule {
        let of = |ratio: Option<f64>, fixed: usize| ratio.map_or(fixed, |r| (r * steps as f64).round() as usize);
        tabs::GateSchedule::new(
            of(self.gate_warmup_ratio, self.gate_warmup_steps),
            of(self.anneal_ratio, self.anneal_steps),
        )
    }
}

/// The task model: an encoder with a classification / regression head and the method's adapters.
#[derive(Module, Debug)]
pub struct TaskModel<B: Backend> {
    /// The network.
    pub net: Backbone<B>,
    /// Regression (one output, MSE) or classification (cross-entropy).
    pub regression: bool,
    /// head_lr / lr.
    pub head_lr_ratio: f64,
    /// gate_lr / lr.
    pub gate_lr_ratio: f64,
    /// Decoupled weight decay of adapters and heads (not gates).
    pub weight_decay: f64,
}

/// One step's output, for the Learner's metrics.
#[derive(Debug, Clone)]
pub struct TaskOutput<B: Backend> {
    /// Total loss (task + budget).
    pub loss: Tensor<B, 1>,
    /// Logits `[b, num_labels]`.
    pub logits: Tensor<B, 2>,
    /// Class targets `[b]`.
    pub classes: Tensor<B, 1, Int>,
}

impl<B: Backend> ItemLazy for TaskOutput<B> {
    type ItemSync = TaskOutput<burn::backend::NdArray>;

    fn sync(self) -> Self::ItemSync {
        let [loss, logits, classes] = Transaction::default()
            .register(self.loss)
            .register(self.logits)
            .register(self.classes)
            .execute()
            .try_into()
            .expect("three tensors");
        let device = Default::default();
        TaskOutput {
            loss: Tensor::from_data(loss.convert::<f32>(), &device),
            logits: Tensor::from_data(logits.convert::<f32>(), &device),
            classes: Tensor::from_data(classes.convert::<i64>(), &device),
        }
    }
}

impl<B: Backend> Adaptor<LossInput<B>> for TaskOutput<B> {
    fn adapt(&self) -> LossInput<B> {
        LossInput::new(self.loss.clone())
    }
}

impl<B: Backend> Adaptor<AccuracyInput<B>> for TaskOutput<B> {
    fn adapt(&self) -> AccuracyInput<B> {
        AccuracyInput::new(self.logits.clone(), self.classes.clone())
    }
}

impl<B: Backend> TaskModel<B> {
    /// Forward pass with the total loss: task loss + the gates' budget loss.
    pub fn forward_loss(&self, batch: TaskBatch<B>) -> TaskOutput<B> {
        let out = self.net.forward(&batch.input);
        let device = out.logits.device();
        let task = if self.regression {
            MseLoss::new().forward(out.logits.clone(), batch.scores, Reduction::Mean)
        } else {
            CrossEntropyLossConfig::new()
                .init(&device)
                .forward(out.logits.clone(), batch.classes.clone())
        };
        let budget = self.net.budget_loss(&out.gates, &device);
        TaskOutput {
            loss: task + budget,
            logits: out.logits,
            classes: batch.classes,
        }
    }
}

impl<B: AutodiffBackend> TrainStep for TaskModel<B> {
    type Input = TaskBatch<B>;
    type Output = TaskOutput<B>;

    /// Forward, loss, and the gradients of `share · loss` (`share` = 1 on one device; see
    /// [`crate::data_parallel`]).
    fn step(&self, batch: TaskBatch<B>) -> TrainOutput<TaskOutput<B>> {
        let share = batch.share;
        let out = self.forward_loss(batch);
        let grads = out.loss.clone().mul_scalar(share).backward();
        TrainOutput::new(self, grads, out)
    }

    /// Three parameter groups, each its own optimiser step: adapters (and everything for `full`) at `lr`, the
    /// pooler and classifier at `lr · head_lr_ratio`, the gates at `lr · gate_lr_ratio`; decoupled weight decay
    /// on the first two only. Then the gates' schedule advances by one step.
    fn optimize<B2, O>(self, optim: &mut O, lr: f64, mut grads: GradientsParams) -> Self
    where
        B2: AutodiffBackend,
        O: Optimizer<Self, B2>,
        Self: AutodiffModule<B2>,
    {
        let [pooler, classifier] = self.net.heads();
        let head_ids = [param_ids::<B, _>(pooler), param_ids::<B, _>(classifier)].concat();
        let head = take_grads::<B2::InnerBackend>(&head_ids, &mut grads);
        let gate = self
            .net
            .gates()
            .map(|g| take_grads::<B2::InnerBackend>(&param_ids::<B, _>(g), &mut grads));
        let (head_lr, gate_lr, wd) = (lr * self.head_lr_ratio, lr * self.gate_lr_ratio, self.weight_decay);
        let mut model = self;
        if wd > 0.0 {
            model = decay::<B2, _>(model, &[(&grads, 1.0 - lr * wd), (&head, 1.0 - head_lr * wd)]);
        }
        model = optim.step(lr, model, grads);
        if !head.is_empty() {
            model = optim.step(head_lr, model, head);
        }
        if let Some(gate) = gate.filter(|g| !g.is_empty()) {
            model = optim.step(gate_lr, model, gate);
        }
        if let Some(g) = model.net.gates_mut() {
            g.step = g.step.map(|s| s + 1);
        }
        model
    }
}

impl<B: Backend> InferenceStep for TaskModel<B> {
    type Input = TaskBatch<B>;
    type Output = TaskOutput<B>;

    fn step(&self, batch: TaskBatch<B>) -> TaskOutput<B> {
        self.forward_loss(batch)
    }
}

/// Index buckets of similar length (shuffled for training, sorted for evaluation).
pub fn bucket_indices(examples: &[Encoded], batch_size: usize, shuffle: bool, seed: u64) -> Vec<Vec<usize>> {
    let lengths: Vec<usize> = examples.iter().map(|e| e.input_ids.len()).collect();
    let mut cfg = BucketConfig::new(batch_size.max(1));
    cfg.shuffle = shuffle;
    length_batches(&lengths, &cfg, seed).expect("batch size ≥ 1 and chunk size ≥ 1")
}

/// Buckets of examples (see [`bucket_indices`]).
pub fn buckets(examples: &[Encoded], batch_size: usize, shuffle: bool, seed: u64) -> Vec<Vec<Encoded>> {
    bucket_indices(examples, batch_size, shuffle, seed)
        .into_iter()
        .map(|b| b.into_iter().map(|i| examples[i].clone()).collect())
        .collect()
}

/// The last epoch with a saved model checkpoint under `dir` (burn-train writes `checkpoint/model-<epoch>.mpk`).
pub fn last_checkpoint(dir: &Path) -> Option<usize> {
    std::fs::read_dir(dir.join("checkpoint"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("model-")?.strip_suffix(".mpk")?.parse::<usize>().ok()
        })
        .max()
}

/// Inject the method's adapters (or leave everything trainable for `full`) and wrap the network.
pub fn prepare<B: Backend>(
    net: Backbone<B>,
    cfg: &TrainConfig,
    regression: bool,
) -> anyhow::Result<(TaskModel<B>, usize)> {
    let net = match adapter_spec(cfg.method, &cfg.adapter) {
        Some(spec) => net.inject(&spec)?.0,
        None => net,
    };
    let trainable = match cfg.method {
        Method::Full => net.num_params(),
        _ => net.trainable_params(),
    };
    Ok((
        TaskModel {
            net,
            regression,
            head_lr_ratio: cfg.head_lr.map_or(1.0, |h| h / cfg.lr),
            gate_lr_ratio: cfg.gate_lr.map_or(1.0, |g| g / cfg.lr),
            weight_decay: cfg.weight_decay,
        },
        trainable,
    ))
}

/// Train with the Learner on `devices` (the first is the main device; two or more train data parallel, see
/// [`crate::data_parallel`]); returns the trained model on the inner backend, its gates at the final ρ.
pub fn train<B: AutodiffBackend>(
    mut model: TaskModel<B>,
    cfg: &TrainConfig,
    train: &[Encoded],
    valid: &[Encoded],
    out: &Path,
    resume: bool,
    devices: &[B::Device],
) -> anyhow::Result<TaskModel<B::InnerBackend>> {
    anyhow::ensure!(!train.is_empty(), "no training examples");
    anyhow::ensure!(!valid.is_empty(), "no validation examples");
    let device = crate::device::main_device(devices)?;
    for d in devices {
        B::seed(d, cfg.seed);
    }
    let n = devices.len();
    let train_buckets = data_parallel::merge_small(buckets(train, cfg.batch_size, true, cfg.seed), n)?;
    let valid_buckets: Vec<Bucket> = buckets(valid, cfg.batch_size, false, cfg.seed)
        .into_iter()
        .map(Bucket::whole)
        .collect();
    let train_buckets_len = train_buckets.len();
    let steps = train_buckets_len * cfg.epochs;
    let warmup = cfg
        .warmup_ratio
        .map_or(cfg.warmup_steps, |r| (r * steps as f64).round() as usize);
    let loader_train = data_parallel::train_loader::<B>(&train_buckets, n, cfg.seed, device);
    let loader_valid = DataLoaderBuilder::new(BucketBatcher)
        .batch_size(1)
        .set_device(device.clone())
        .build(InMemDataset::new(valid_buckets));
    let checkpoints: PathBuf = out.join("checkpoints");
    let mut training = SupervisedTraining::new(&checkpoints, loader_train, loader_valid)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_file_checkpointer(CompactRecorder::new())
        .num_epochs(cfg.epochs);
    let mut lr_steps_per_step = 1;
    if n > 1 {
        let parallel = data_parallel::parallel::<B>(devices);
        println!(
            "data parallel on {n} devices {devices:?} ({}): global batch {} split into parts of {}–{} examples, \
             one optimiser step per global batch",
            parallel.name,
            cfg.batch_size,
            cfg.batch_size / n,
            cfg.batch_size.div_ceil(n)
        );
        lr_steps_per_step = parallel.lr_steps_per_step;
        training = training.with_training_strategy(TrainingStrategy::Default(parallel.strategy));
    }
    if !model.regression {
        training = training
            .metric_train_numeric(AccuracyMetric::new())
            .metric_valid_numeric(AccuracyMetric::new());
    }
    if !std::io::stdout().is_terminal() {
        training = training.renderer(PlainRenderer::new(0));
    }
    let mut first_step = 0;
    if resume {
        let epoch = last_checkpoint(&checkpoints)
            .ok_or_else(|| anyhow::anyhow!("--resume: no checkpoint in {}", checkpoints.display()))?;
        println!("resuming after epoch {epoch} from {}", checkpoints.display());
        training = training.checkpoint(epoch);
        first_step = epoch * train_buckets_len;
    }
    if let Some(g) = model.net.gates_mut() {
        g.set_schedule(cfg.gate_schedule(steps), first_step);
        let s = g.config.schedule;
        if s.end() > 0 {
            println!(
                "gate schedule: {} warm-up steps with every gate on, then ρ_t from {} to {} over {} steps (of {steps})",
                s.warmup_steps,
                g.config.rank.max(g.config.budget.rho as usize),
                g.config.budget.rho,
                s.anneal_steps
            );
        }
    }
    // Weight decay is applied per group in `optimize` (gates never decay), so AdamW's own is 0.
    let optim = AdamWConfig::new().with_weight_decay(0.0).init();
    let schedule = WarmupLinear::new(cfg.lr, warmup * lr_steps_per_step, steps * lr_steps_per_step);
    let mut trained = training.launch(Learner::new(model, optim, schedule)).model;
    if let Some(g) = trained.net.gates_mut() {
        g.step = None;
    }
    Ok(trained)
}

/// The float parameter shapes of a module, in visiting order.
fn param_shapes<B: Backend, M: Module<B>>(m: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> burn::module::ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut v = Shapes(Vec::new());
    m.visit(&mut v);
    v.0
}

/// For `--resume`, before anything is written: the last epoch saved under `out/checkpoints`, after checking that
/// its model, optimiser and scheduler files load (burn-train's own loading panics on a truncated file) and that
/// the saved parameters have `model`'s shapes (a checkpoint of another model, method or rank).
pub fn check_checkpoint<B: AutodiffBackend>(
    model: &TaskModel<B>,
    out: &Path,
    device: &B::Device,
) -> anyhow::Result<usize> {
    use burn::optim::adaptor::OptimizerAdaptor;
    use burn::optim::AdamW;
    use burn::record::Recorder;
    type OptimRecord<B> = <OptimizerAdaptor<AdamW, TaskModel<B>, B> as Optimizer<TaskModel<B>, B>>::Record;
    let checkpoints = out.join("checkpoints");
    let epoch = last_checkpoint(&checkpoints)
        .ok_or_else(|| anyhow::anyhow!("--resume: no checkpoint in {}", checkpoints.display()))?;
    let dir = checkpoints.join("checkpoint");
    let file = |name: &str| dir.join(format!("{name}-{epoch}"));
    // The recorder's message, first line only (it may go on about format versions).
    let unreadable = |stem: &str, what: &str, e: burn::record::RecorderError| {
        let e = e.to_string();
        let e = e.lines().next().unwrap_or_default();
        let e = e
            .strip_prefix("Unknown(\"")
            .map_or(e, |e| e.trim_end_matches(")").trim_end_matches('"'));
        anyhow::anyhow!(
            "--resume: {}.mpk: not a readable {what} checkpoint ({e}); delete {} to start over",
            file(stem).display(),
            out.display()
        )
    };
    let recorder = CompactRecorder::new();
    let record: <TaskModel<B> as Module<B>>::Record =
        Recorder::<B>::load(&recorder, file("model"), device).map_err(|e| unreadable("model", "model", e))?;
    if param_shapes(&model.clone().load_record(record)) != param_shapes(model) {
        anyhow::bail!(
            "--resume: {}.mpk: the saved parameters have other shapes than this model (another --model?)",
            file("model").display()
        );
    }
    let _: OptimRecord<B> =
        Recorder::<B>::load(&recorder, file("optim"), device).map_err(|e| unreadable("optim", "optimizer", e))?;
    let _: usize = Recorder::<B>::load(&recorder, file("scheduler"), device)
        .map_err(|e| unreadable("scheduler", "scheduler", e))?;
    Ok(epoch)
}
