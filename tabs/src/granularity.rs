//! Where gate logits come from — one gated spectral module, three methods:
//!
//! | granularity | logits ℓ | method |
//! |---|---|---|
//! | [`Granularity::Layer`] | a learned vector per layer, one gate set for every input; global budget ρ·L | BHSP |
//! | [`Granularity::Sequence`] | controller on the masked mean of the layer input over real tokens | CBSP |
//! | [`Granularity::Token`] | controller on each token's layer input h_{ℓ,t} | TABS |
//!
//! [`SpectralGates`] holds the per-layer gate sources of a whole model and turns logits into gates:
//! training = straight-through clamp → projection (threshold shift, τ detached) → HardConcrete sample;
//! inference = clamp → deterministic (or binary) gate → budget cut. Everything per (layer, sequence) except
//! `Layer` granularity, whose budget and cut are global across layers. Under a [`GateSchedule`] the gates
//! follow the training step ([`SpectralGates::step`]): every gate on during the warm-up, then the budget of
//! ρ_t (training and the evaluations during training), and ρ once the step is cleared.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::budget::{self, BudgetConfig, Lagrangian, Penalty};
use crate::controller::{Controller, ControllerConfig};
use crate::error::{Result, TabsError};
use crate::gate::{HardConcrete, InferenceGate};
use crate::mask::TokenMask;
use crate::schedule::{GatePhase, GateSchedule};

/// Which inputs share a gate set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// One learned gate set per layer (BHSP).
    Layer,
    /// One gate set per sequence and layer, from a controller on the masked mean input (CBSP).
    Sequence,
    /// One gate set per token and layer, from a controller on the token's input (TABS).
    Token,
}

/// Training (sample + projection) or inference (deterministic gate + cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// HardConcrete samples, projection.
    Train,
    /// Deterministic gates, budget cut.
    Eval,
}

impl GateMode {
    /// `Train` where the backend records gradients (Burn's convention, as for dropout), else `Eval`.
    pub fn of_backend<B: Backend>(device: &B::Device) -> Self {
        if B::ad_enabled(device) {
            GateMode::Train
        } else {
            GateMode::Eval
        }
    }
}

/// Everything that decides the gates of a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GatingConfig {
    /// Layer / Sequence / Token.
    pub granularity: Granularity,
    /// R, spectral directions per map (default 16).
    pub rank: usize,
    /// k, the controller's hidden width (default R).
    pub controller_hidden: Option<usize>,
    /// HardConcrete hyper-parameters.
    pub hard_concrete: HardConcrete,
    /// Gate rule at inference.
    pub inference_gate: InferenceGate,
    /// The budget.
    pub budget: BudgetConfig,
    /// Warm-up and budget annealing in training (default: none).
    #[serde(default)]
    pub schedule: GateSchedule,
}

impl GatingConfig {
    /// TABS defaults: Token granularity, R = 16, k = R, ρ = 8.
    pub fn new(granularity: Granularity) -> Self {
        Self {
            granularity,
            rank: 16,
            controller_hidden: None,
            hard_concrete: HardConcrete::default(),
            inference_gate: InferenceGate::Deterministic,
            budget: BudgetConfig::default(),
            schedule: GateSchedule::default(),
        }
    }

    /// k (defaults to R).
    pub fn hidden(&self) -> usize {
        self.controller_hidden.unwrap_or(self.rank)
    }

    /// The initial logit ℓ₀: P(z ≠ 0) = min(ρ/R, 1) without a schedule. With budget annealing (N > 0) gating
    /// starts at ρ_t = R, so ℓ₀ = max(0, ℓ(ρ/R)): at ℓ = 0 P(z ≠ 0) = σ(−β log(−γ/ζ)) ≈ 0.83 and E[z] ≈ 0.5
    /// (CoFi's `droprate_init` = 0.5), mostly on but not saturated, so the gates take over from the warm-up's
    /// g ≡ 1 without a jump to P = ρ/R, and the projection brings the count down with ρ_t.
    pub fn init_logit(&self) -> f64 {
        let target = self
            .hard_concrete
            .logit_for_rate((self.budget.rho / self.rank as f64).min(1.0));
        if self.schedule.anneal_steps > 0 {
            target.max(0.0)
        } else {
            target
        }
    }

    /// Check ranges.
    pub fn validate(&self) -> Result<()> {
        if self.rank == 0 {
            return Err(TabsError::InvalidConfig {
                field: "rank",
                reason: "R must be at least 1".into(),
            });
        }
        if self.hidden() == 0 {
            return Err(TabsError::InvalidConfig {
                field: "controller_hidden",
                reason: "k must be at least 1".into(),
            });
        }
        let hc = &self.hard_concrete;
        if !(hc.beta > 0.0 && hc.gamma < 0.0 && hc.zeta > 1.0 && hc.logit_clamp > 0.0) {
            return Err(TabsError::InvalidConfig {
                field: "hard_concrete",
                reason: format!("expected β > 0, γ < 0, ζ > 1, clamp > 0, got {hc:?}"),
            });
        }
        self.budget.validate()
    }
}

/// The gate source of one layer: a controller (Sequence, Token) or a logit vector (Layer).
#[derive(Module, Debug)]
pub struct GateSource<B: Backend> {
    /// Controller for `Sequence` and `Token` granularity.
    pub controller: Option<Controller<B>>,
    /// Logits `[R]` for `Layer` granularity.
    pub logits: Option<Param<Tensor<B, 1>>>,
}

/// The gates of one layer for a batch.
#[derive(Debug, Clone)]
pub struct LayerGates<B: Backend> {
    /// g `[batch, T, R]`, exactly 0 at padding.
    pub gates: Tensor<B, 3>,
    /// Per budget group (`[batch]`, or `[1]` for `Layer`): the expected count Σ P(z ≠ 0) of the sampled gates
    /// in training (after the projection's shift, so ≤ budget), the realised count of non-zero gates at
    /// inference. Counts (token, direction) pairs, except for `Layer`, where it counts this layer's directions.
    pub count: Tensor<B, 1>,
    /// What the budget loss reads (same shape as `count`): in training the expected count of the logits
    /// *before* the projection's shift, so the penalty acts on the logits themselves (after the shift the count
    /// never exceeds the budget and a penalty on it would do nothing); at inference equal to `count`.
    pub expected: Tensor<B, 1>,
    /// The budget of each group (`[batch]`, or `[1]` = the global budget for `Layer`).
    pub budget: Tensor<B, 1>,
}

/// The gate sources of every layer of a model, and the rules that turn them into budgeted gates.
#[derive(Module, Debug)]
pub struct SpectralGates<B: Backend> {
    /// One per layer.
    pub layers: Vec<GateSource<B>>,
    /// Multipliers when the penalty is [`Penalty::Lagrangian`].
    pub lagrangian: Option<Lagrangian<B>>,
    /// The configuration.
    #[module(skip)]
    pub config: GatingConfig,
    /// Forces a mode regardless of the backend (None: [`GateMode::of_backend`]). For example deterministic
    /// gates under autodiff, to differentiate the inference-time function or compare backends.
    #[module(skip)]
    pub forced_mode: Option<GateMode>,
    /// The training step for the config's [`GateSchedule`] (None: not training under it, i.e. the final ρ).
    /// The trainer sets it before training, advances it after every optimiser step and clears it at the end.
    #[module(skip)]
    pub step: Option<usize>,
}

impl<B: Backend> SpectralGates<B> {
    /// Fresh gate sources for `num_layers` layers whose input width is `d_model`.
    pub fn new(config: GatingConfig, d_model: usize, num_layers: usize, device: &B::Device) -> Result<Self> {
        config.validate()?;
        if num_layers == 0 || d_model == 0 {
            return Err(TabsError::InvalidConfig {
                field: "num_layers/d_model",
                reason: format!("expected ≥ 1 layer of width ≥ 1, got {num_layers} × {d_model}"),
            });
        }
        let init = config.init_logit();
        let layers = (0..num_layers)
            .map(|_| match config.granularity {
                Granularity::Layer => GateSource {
                    controller: None,
                    logits: Some(Param::from_tensor(Tensor::full([config.rank], init, device))),
                },
                Granularity::Sequence | Granularity::Token => GateSource {
                    controller: Some(
                        ControllerConfig {
                            d_model,
                            hidden: config.hidden(),
                            rank: config.rank,
                            init_logit: init,
                        }
                        .init(device),
                    ),
                    logits: None,
                },
            })
            .collect();
        let lagrangian = match config.budget.penalty {
            Penalty::Lagrangian => Some(Lagrangian::new(device)),
            Penalty::RelativeExcess { .. } => None,
        };
        Ok(Self {
            layers,
            lagrangian,
            config,
            forced_mode: None,
            step: None,
        })
    }

    /// Train under `schedule` from step `step` (0 for a fresh run): sets both and puts every gate source's
    /// initial logit (the controllers' output bias, the `Layer` logits) at the schedule's ℓ₀
    /// ([`GatingConfig::init_logit`]). Call before the first optimiser step; a resumed run's checkpoint then
    /// overwrites the logits with the trained ones.
    pub fn set_schedule(&mut self, schedule: GateSchedule, step: usize) {
        self.config.schedule = schedule;
        self.step = Some(step);
        let init = self.config.init_logit();
        let r = self.config.rank;
        for source in &mut self.layers {
            if let Some(logits) = source.logits.as_mut() {
                let device = logits.device();
                *logits = Param::from_tensor(Tensor::full([r], init, &device));
            }
            if let Some(c) = source.controller.as_mut() {
                if let Some(bias) = c.output.bias.as_mut() {
                    let device = bias.device();
                    *bias = Param::from_tensor(Tensor::full([r], init, &device));
                }
            }
        }
    }

    /// The schedule's phase at the current [`SpectralGates::step`].
    pub fn phase(&self) -> GatePhase {
        self.config
            .schedule
            .phase(self.step, self.config.rank, self.config.budget.rho)
    }

    /// The budget in force now: the config's, with ρ replaced by ρ_t while training under the schedule (R during
    /// the warm-up, where every gate is on).
    pub fn effective_budget(&self) -> BudgetConfig {
        let rho = match self.phase() {
            GatePhase::Warmup => (self.config.rank as f64).max(self.config.budget.rho),
            GatePhase::Gated { rho } => rho,
        };
        BudgetConfig {
            rho,
            ..self.config.budget
        }
    }

    /// The real-token mask of a batch, `mask` `[batch, T]` (non-zero = real), with the budgets in force now
    /// ([`SpectralGates::effective_budget`]). Models build their [`TokenMask`] here.
    pub fn token_mask(&self, mask: Tensor<B, 2>) -> TokenMask<B> {
        TokenMask::from_float_mask(mask, &self.effective_budget())
    }

    /// Number of layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Gates of `layer` for layer input `h` `[batch, T, d]`, in the forced mode if one is set
    /// ([`SpectralGates::with_mode`]), else in the backend's mode ([`GateMode::of_backend`]).
    pub fn forward(&self, layer: usize, h: Tensor<B, 3>, mask: &TokenMask<B>) -> LayerGates<B> {
        let mode = self.mode(&h.device());
        self.forward_mode(layer, h, mask, mode)
    }

    /// The mode [`SpectralGates::forward`] uses on `device`.
    pub fn mode(&self, device: &B::Device) -> GateMode {
        self.forced_mode.unwrap_or_else(|| GateMode::of_backend::<B>(device))
    }

    /// Force a mode for every later forward pass (None: follow the backend again).
    pub fn with_mode(mut self, mode: Option<GateMode>) -> Self {
        self.forced_mode = mode;
        self
    }

    /// Gates of `layer` in an explicit mode. `h`: `[batch, T, d]`; gates: `[batch, T, R]`. During the
    /// schedule's warm-up every gate is 1 at real tokens (no logits are computed).
    pub fn forward_mode(&self, layer: usize, h: Tensor<B, 3>, mask: &TokenMask<B>, mode: GateMode) -> LayerGates<B> {
        if self.phase() == GatePhase::Warmup {
            return self.all_on(mask);
        }
        let logits = self.raw_logits(layer, h, mask);
        self.gates_from_logits(layer, logits, mask, mode)
    }

    /// Every gate on at real tokens: count = expected = the cost of all R directions (R·T_b per sequence; R for
    /// `Layer`, whose budget is then the global one at ρ_t = R). Constants, so the budget loss is 0 with no
    /// gradient.
    fn all_on(&self, mask: &TokenMask<B>) -> LayerGates<B> {
        let r = self.config.rank;
        let [b, t] = mask.mask.dims();
        let gates = mask.mask.clone().unsqueeze_dim::<3>(2).expand([b, t, r]);
        let (count, budget) = match self.config.granularity {
            Granularity::Layer => {
                let device = mask.mask.device();
                let global = self.effective_budget().global_budget(self.num_layers()) as f64;
                (Tensor::full([1], r as f64, &device), Tensor::full([1], global, &device))
            }
            Granularity::Sequence | Granularity::Token => {
                (mask.lengths_t.clone().mul_scalar(r as f64), mask.budgets_t.clone())
            }
        };
        LayerGates {
            gates,
            expected: count.clone(),
            count,
            budget,
        }
    }

    /// Logits of `layer`, bounded by the straight-through clamp ([`HardConcrete::clamp_logits`]): `[batch, T, R]`
    /// (Token), `[batch, 1, R]` (Sequence), `[1, 1, R]` (Layer).
    pub fn raw_logits(&self, layer: usize, h: Tensor<B, 3>, mask: &TokenMask<B>) -> Tensor<B, 3> {
        let hc = &self.config.hard_concrete;
        let source = &self.layers[layer];
        let logits = match self.config.granularity {
            Granularity::Layer => source
                .logits
                .as_ref()
                .expect("Layer granularity has logits")
                .val()
                .reshape([1, 1, self.config.rank]),
            Granularity::Token => source
                .controller
                .as_ref()
                .expect("Token granularity has a controller")
                .forward(h),
            Granularity::Sequence => {
                let m = mask.mask.clone().unsqueeze_dim::<3>(2); // [b, T, 1]
                let denom = mask.lengths_t.clone().clamp_min(1.0).unsqueeze_dim::<2>(1); // [b, 1]
                let mean = (h * m).sum_dim(1).squeeze_dim::<2>(1) / denom; // [b, d]
                source
                    .controller
                    .as_ref()
                    .expect("Sequence granularity has a controller")
                    .forward(mean)
                    .unsqueeze_dim(1)
            }
        };
        hc.clamp_logits(logits)
    }

    /// Gates from (clamped) logits as returned by [`SpectralGates::raw_logits`] (for Token/Sequence; for Layer
    /// the logits of all layers are read from the parameters, so `logits` is only used for this layer).
    pub fn gates_from_logits(
        &self,
        layer: usize,
        logits: Tensor<B, 3>,
        mask: &TokenMask<B>,
        mode: GateMode,
    ) -> LayerGates<B> {
        match self.config.granularity {
            Granularity::Layer => self.layer_gates(layer, mask, mode),
            Granularity::Token | Granularity::Sequence => self.local_gates(logits, mask, mode),
        }
    }

    /// Token / Sequence: budget groups are the sequences of the batch.
    fn local_gates(&self, logits: Tensor<B, 3>, mask: &TokenMask<B>, mode: GateMode) -> LayerGates<B> {
        let cfg = &self.config;
        let hc = &cfg.hard_concrete;
        let [b, t_logits, r] = logits.dims();
        let t = mask.max_len();
        let m3 = mask.mask.clone().unsqueeze_dim::<3>(2); // [b, T, 1]
                                                          // Cost of each item: 1 per real token (Token), T_b per shared direction (Sequence).
        let cost = match cfg.granularity {
            Granularity::Token => m3.clone().expand([b, t, r]).reshape([b, t * r]),
            _ => mask.lengths_t.clone().unsqueeze_dim::<2>(1).expand([b, r]),
        };
        let budget = mask.budgets_t.clone();
        let nonzero_budget = budget.clone().greater_elem(0.0).float().reshape([b, 1, 1]);
        let group = |x: Tensor<B, 3>| x.reshape([b, t_logits * r]);
        match mode {
            GateMode::Train => {
                let expected = (group(hc.prob_nonzero(logits.clone())) * cost.clone())
                    .sum_dim(1)
                    .squeeze_dim(1);
                let logits = if cfg.budget.projection {
                    let tau =
                        budget::projection_shift(group(logits.clone()), cost.clone(), budget.clone(), hc.l0_shift());
                    logits - tau.reshape([b, 1, 1])
                } else {
                    logits
                };
                let mut p = group(hc.prob_nonzero(logits.clone()));
                let mut z = hc.sample(logits);
                if cfg.budget.projection {
                    // Sequences with B = 0 get no direction at all (their expected count is then exactly 0).
                    z = z * nonzero_budget.clone();
                    p = p * nonzero_budget.reshape([b, 1]);
                }
                let count = (p * cost).sum_dim(1).squeeze_dim(1);
                LayerGates {
                    gates: z.expand([b, t, r]) * m3,
                    count,
                    expected,
                    budget,
                }
            }
            GateMode::Eval => {
                let mut z = hc.inference(logits.clone(), cfg.inference_gate);
                if cfg.budget.inference_cut {
                    let active = group(z.clone()).greater_elem(0.0);
                    let keep = budget::budget_cut(group(logits), active, cost.clone(), budget.clone());
                    z = z * keep.reshape([b, t_logits, r]);
                }
                let count = (group(z.clone()).greater_elem(0.0).float() * cost)
                    .sum_dim(1)
                    .squeeze_dim(1);
                LayerGates {
                    gates: z.expand([b, t, r]) * m3,
                    expected: count.clone(),
                    count,
                    budget,
                }
            }
        }
    }

    /// Layer: one budget group, all layers' directions, budget min(⌊ρ·L⌋ + c, cap).
    fn layer_gates(&self, layer: usize, mask: &TokenMask<B>, mode: GateMode) -> LayerGates<B> {
        let cfg = &self.config;
        let hc = &cfg.hard_concrete;
        let (l, r) = (self.num_layers(), cfg.rank);
        let [b, t] = mask.mask.dims();
        let device = mask.mask.device();
        let all: Vec<Tensor<B, 1>> = self
            .layers
            .iter()
            .map(|s| s.logits.as_ref().expect("Layer granularity has logits").val())
            .collect();
        let all = hc.clamp_logits(Tensor::cat(all, 0).reshape([1, l * r]));
        let cost = Tensor::<B, 2>::ones([1, l * r], &device);
        let global = self.effective_budget().global_budget(l) as f64;
        let budget = Tensor::<B, 1>::full([1], global, &device);
        let this_layer = |x: Tensor<B, 2>| x.slice([0..1, layer * r..(layer + 1) * r]).reshape([1, 1, r]);
        let m3 = mask.mask.clone().unsqueeze_dim::<3>(2);
        match mode {
            GateMode::Train => {
                let expected = hc.prob_nonzero(this_layer(all.clone())).sum().reshape([1]);
                let all = if cfg.budget.projection {
                    let tau = budget::projection_shift(all.clone(), cost, budget.clone(), hc.l0_shift());
                    all - tau.unsqueeze_dim(1)
                } else {
                    all
                };
                let mine = this_layer(all);
                let mut count = hc.prob_nonzero(mine.clone()).sum().reshape([1]);
                let mut z = hc.sample(mine);
                if cfg.budget.projection && global == 0.0 {
                    z = z.zeros_like();
                    count = count.zeros_like();
                }
                LayerGates {
                    gates: z.expand([b, t, r]) * m3,
                    count,
                    expected,
                    budget,
                }
            }
            GateMode::Eval => {
                let mut z = hc.inference(all.clone(), cfg.inference_gate);
                if cfg.budget.inference_cut {
                    let active = z.clone().greater_elem(0.0);
                    z = z * budget::budget_cut(all, active, cost, budget.clone());
                }
                let mine = this_layer(z);
                let count = mine.clone().greater_elem(0.0).float().sum().reshape([1]);
                LayerGates {
                    gates: mine.expand([b, t, r]) * m3,
                    expected: count.clone(),
                    count,
                    budget,
                }
            }
        }
    }

    /// The budget loss over the layers' outputs of one forward pass (`[1]`), on the expected counts E *before*
    /// the projection's shift ([`LayerGates::expected`]) and the budgets in force (B_t under the schedule):
    /// - relative excess: λ·Σ_ℓ mean_b (max(0, E_{ℓ,b} − B_b)/B_b)² (Layer: λ·(max(0, Σ_ℓ E_ℓ − B)/B)²);
    /// - Lagrangian: λ₁·d + λ₂·d² with d the mean over layers of mean_b (E_{ℓ,b} − B_b)/B_b
    ///   (Layer: d = (Σ_ℓ E_ℓ − B)/B).
    ///
    /// # Panics
    /// If the penalty is Lagrangian but the gates have no multipliers, which only happens when `config` was edited
    /// after [`SpectralGates::new`] (a silent zero loss would train without any budget term).
    pub fn budget_loss(&self, outputs: &[LayerGates<B>]) -> Tensor<B, 1> {
        let device = outputs.first().map(|o| o.count.device()).unwrap_or_default();
        if outputs.is_empty() {
            return Tensor::zeros([1], &device);
        }
        let layer = self.config.granularity == Granularity::Layer;
        let total = || {
            let sum = outputs
                .iter()
                .map(|o| o.expected.clone())
                .reduce(|a, b| a + b)
                .expect("non-empty");
            (sum, outputs[0].budget.clone())
        };
        match (self.config.budget.penalty, &self.lagrangian) {
            (Penalty::RelativeExcess { lambda }, _) => {
                let pen = if layer {
                    let (e, b) = total();
                    budget::relative_excess(e, b)
                } else {
                    outputs
                        .iter()
                        .map(|o| budget::relative_excess(o.expected.clone(), o.budget.clone()))
                        .reduce(|a, b| a + b)
                        .expect("non-empty")
                };
                pen.mul_scalar(lambda)
            }
            (Penalty::Lagrangian, Some(lagrangian)) => {
                let d = if layer {
                    let (e, b) = total();
                    budget::relative_deviation(e, b)
                } else {
                    outputs
                        .iter()
                        .map(|o| budget::relative_deviation(o.expected.clone(), o.budget.clone()))
                        .reduce(|a, b| a + b)
                        .expect("non-empty")
                        .div_scalar(outputs.len() as f64)
                };
                lagrangian.loss(d)
            }
            // `new` creates the multipliers whenever the penalty is Lagrangian; only editing `config` afterwards
            // gets here, and silently training without a budget term would hide that mistake.
            (Penalty::Lagrangian, None) => panic!(
                "SpectralGates: the penalty is Lagrangian but there are no multipliers (the config was changed after \
                 SpectralGates::new; build the gates with the penalty you train with)"
            ),
        }
    }

    /// Trainable parameters: Layer L·R; Sequence/Token L·(d·k + k + k·R + R) (+2 with a Lagrangian).
    pub fn trainable_params(&self) -> usize {
        self.num_params()
    }
}
