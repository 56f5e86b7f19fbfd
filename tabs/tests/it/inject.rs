//! The model-agnostic injection (`tabs::inject`) on a toy 2-layer model: peft target matching, default targets,
//! parameter counts by formula, typed errors, frozen backbone, A = 0 ⇒ the frozen model's output.

use crate::common::{max_abs_diff, randn, Cpu, CpuAd};
use burn::module::{Module, Param};
use burn::nn::LinearConfig;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use tabs::inject::{self, matches, Adaptable, AdapterSpec};
use tabs::{
    AdaptedLinear, AdapterConfig, GatingConfig, Granularity, LayerGates, LoraConfig, SpectralConfig, SpectralGates,
    TabsError, TokenMask,
};

const D: usize = 8;
const F: usize = 6;

/// One toy layer: h + down(relu(up(h))) with up: D → F, down: F → D.
#[derive(Module, Debug)]
struct ToyLayer<B: Backend> {
    up: AdaptedLinear<B>,
    down: AdaptedLinear<B>,
}

#[derive(Module, Debug)]
struct Toy<B: Backend> {
    /// A backbone parameter that is not a map (like an embedding table).
    scale: Param<Tensor<B, 1>>,
    layers: Vec<ToyLayer<B>>,
    gates: Option<SpectralGates<B>>,
}

impl<B: Backend> Toy<B> {
    fn new(device: &B::Device) -> Self {
        let layers = (0..2)
            .map(|_| ToyLayer {
                up: AdaptedLinear::plain(LinearConfig::new(D, F).init(device)),
                down: AdaptedLinear::plain(LinearConfig::new(F, D).init(device)),
            })
            .collect();
        Self {
            scale: Param::from_tensor(Tensor::ones([D], device)),
            layers,
            gates: None,
        }
    }

    fn forward(&self, x: Tensor<B, 3>, lengths: &[usize]) -> (Tensor<B, 3>, Vec<LayerGates<B>>) {
        let [_, t, _] = x.dims();
        let mut h = x * self.scale.val().reshape([1, 1, D]);
        let mut all = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let g = self.gates.as_ref().map(|gates| {
                let mask = TokenMask::from_lengths(lengths, t, &gates.config.budget, &h.device());
                gates.forward(i, h.clone(), &mask)
            });
            let gt = g.as_ref().map(|g| &g.gates);
            let u = burn::tensor::activation::relu(l.up.forward(h.clone(), gt));
            h = h + l.down.forward(u, gt);
            all.extend(g);
        }
        (h, all)
    }
}

impl<B: Backend> Adaptable<B> for Toy<B> {
    fn default_targets() -> &'static [&'static str] {
        &["up", "down"]
    }

    fn adaptable_maps(&self) -> Vec<(String, &AdaptedLinear<B>)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            out.push((format!("layers.{i}.mlp.up"), &l.up));
            out.push((format!("layers.{i}.mlp.down"), &l.down));
        }
        out
    }

    fn adaptable_maps_mut(&mut self) -> Vec<(String, &mut AdaptedLinear<B>)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter_mut().enumerate() {
            out.push((format!("layers.{i}.mlp.up"), &mut l.up));
            out.push((format!("layers.{i}.mlp.down"), &mut l.down));
        }
        out
    }

    fn gate_dims(&self) -> (usize, usize) {
        (D, self.layers.len())
    }

    fn gates(&self) -> Option<&SpectralGates<B>> {
        self.gates.as_ref()
    }

    fn gates_mut(&mut self) -> Option<&mut SpectralGates<B>> {
        self.gates.as_mut()
    }

    fn set_gates(&mut self, gates: SpectralGates<B>) {
        self.gates = Some(gates);
    }

    fn freeze_backbone(mut self) -> Self {
        self.scale = self.scale.set_require_grad(false);
        self.layers = self.layers.no_grad();
        self
    }
}

fn lora(rank: usize) -> AdapterConfig {
    AdapterConfig::Lora(LoraConfig {
        rank,
        alpha: 2.0 * rank as f64,
        dropout: 0.0,
    })
}

fn spectral(rank: usize) -> AdapterConfig {
    AdapterConfig::Spectral(SpectralConfig {
        rank,
        ..Default::default()
    })
}

fn gating(rank: usize) -> GatingConfig {
    let mut g = GatingConfig::new(Granularity::Token);
    g.rank = rank;
    g.budget.rho = 1.0;
    g
}

#[test]
fn peft_suffix_and_regex_matching() {
    assert!(matches("encoder.layer.0.attention.output.dense", "output.dense").unwrap());
    assert!(matches("encoder.layer.0.attention.output.dense", "attention.output.dense").unwrap());
    assert!(matches("encoder.layer.0.output.dense", "encoder.layer.0.output.dense").unwrap());
    // Suffixes only on a `.` boundary.
    assert!(!matches("encoder.layer.0.output.dense", "put.dense").unwrap());
    assert!(!matches("encoder.layer.0.intermediate.dense", "output.dense").unwrap());
    assert!(matches("encoder.layer.11.output.dense", "re:layer\\.1\\d\\.").unwrap());
    assert!(!matches("encoder.layer.1.output.dense", "re:layer\\.1\\d\\.").unwrap());
    assert!(matches!(
        matches("x", "re:(unclosed"),
        Err(TabsError::InvalidTarget { ref pattern, .. }) if pattern == "re:(unclosed"
    ));
}

#[test]
fn default_targets_and_lora_count() {
    let dev = Default::default();
    let spec = AdapterSpec::new(lora(2), None);
    assert!(spec.targets.is_empty());
    assert_eq!(spec.resolved_targets::<Cpu, Toy<Cpu>>(), vec!["up", "down"]);
    let (model, report) = inject::inject(Toy::<Cpu>::new(&dev), &spec).unwrap();
    assert_eq!(
        report.adapted,
        vec![
            "layers.0.mlp.up",
            "layers.0.mlp.down",
            "layers.1.mlp.up",
            "layers.1.mlp.down"
        ]
    );
    // LoRA r·(d_in + d_out) per map: 2 layers × (2·(8 + 6) + 2·(6 + 8)) = 112.
    assert_eq!(report.adapter_params, 2 * (2 * (D + F) + 2 * (F + D)));
    assert_eq!(report.adapter_params, 112);
    assert_eq!(report.gate_params, 0);
    assert_eq!(inject::adapter_params(&model), 112);
    assert_eq!(
        inject::map_names(&model),
        vec![
            "layers.0.mlp.up",
            "layers.0.mlp.down",
            "layers.1.mlp.up",
            "layers.1.mlp.down"
        ]
    );
}

#[test]
fn explicit_targets_and_typed_errors() {
    let dev = Default::default();
    let spec = AdapterSpec::with_targets(&["re:layers\\.1\\.", "layers.0.mlp.down"], lora(1), None);
    let (_, report) = inject::inject(Toy::<Cpu>::new(&dev), &spec).unwrap();
    assert_eq!(
        report.adapted,
        vec!["layers.0.mlp.down", "layers.1.mlp.up", "layers.1.mlp.down"]
    );
    assert_eq!(report.adapter_params, 3 * (D + F));

    let spec = AdapterSpec::with_targets(&["up", "query"], lora(1), None);
    match inject::inject(Toy::<Cpu>::new(&dev), &spec) {
        Err(TabsError::UnmatchedTarget { pattern, example }) => {
            assert_eq!(pattern, "query");
            assert_eq!(example, "layers.0.mlp.up");
        }
        other => panic!("expected UnmatchedTarget, got {:?}", other.map(|(_, r)| r)),
    }
    let spec = AdapterSpec::with_targets(&["re:["], lora(1), None);
    assert!(matches!(
        inject::inject(Toy::<Cpu>::new(&dev), &spec).map(|(_, r)| r),
        Err(TabsError::InvalidTarget { .. })
    ));
    let spec = AdapterSpec::new(spectral(2), Some(gating(3)));
    assert!(matches!(
        inject::inject(Toy::<Cpu>::new(&dev), &spec).map(|(_, r)| r),
        Err(TabsError::GateRankMismatch { gating: 3, spectral: 2 })
    ));
}

#[test]
fn gated_spectral_injection_freezes_the_backbone_and_starts_at_the_frozen_model() {
    let dev = Default::default();
    let model = Toy::<CpuAd>::new(&dev);
    let x = randn::<CpuAd, 3>([2, 5, D], 1.0, &dev);
    let (frozen, _) = model.forward(x.clone(), &[5, 3]);
    let (model, report) = inject::inject(model, &AdapterSpec::new(spectral(2), Some(gating(2)))).unwrap();
    // Spectral R·(d_in + d_out) per map; Token gates per layer Linear(8, k=R) + Linear(R, R).
    assert_eq!(report.adapter_params, 2 * (2 * (D + F) + 2 * (F + D)));
    assert_eq!(report.gate_params, 2 * (D * 2 + 2 + 2 * 2 + 2));
    assert_eq!(
        inject::adapter_params(&model),
        report.adapter_params + report.gate_params
    );
    assert!(!model.scale.is_require_grad());
    let l0 = &model.layers[0];
    assert!(!l0.up.base.weight.is_require_grad());
    let s = l0.up.spectral.as_ref().unwrap();
    assert!(s.a_u.is_require_grad() && s.a_v.is_require_grad());
    assert!(!s.u.is_require_grad());
    // A_U = A_V = 0 ⇒ exactly the frozen output, whatever the gates.
    let (out, gates) = model.forward(x, &[5, 3]);
    assert_eq!(gates.len(), 2);
    assert_eq!(max_abs_diff(out.clone(), frozen), 0.0);
    // Gradients reach the adapters and controllers only.
    let grads = out.sum().backward();
    let ctrl = model.gates.as_ref().unwrap().layers[1].controller.as_ref().unwrap();
    assert!(ctrl.output.weight.val().grad(&grads).is_some());
    assert!(s.a_u.val().grad(&grads).is_some());
    assert!(model.scale.val().grad(&grads).is_none());
    assert!(l0.down.base.weight.val().grad(&grads).is_none());
}
