//! What both backbones share through `tabs-hf`'s skeleton, tested once and run on each (the tiny DeBERTa-v3 and
//! BERT checkpoints committed as test fixtures): TABS injection starts at the frozen model and keeps the budget
//! at inference; only adapters, gates and heads get gradients, and dropout acts in training only; adapter files
//! carry the heads, reproduce the outputs, refuse another method, and files written before the skeleton was
//! shared (tensors under `deberta.` / `bert.`) still load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use tabs::io::AdapterManifest;
use tabs::{AdapterConfig, AdapterSpec, GatingConfig, Granularity, RankStats, SpectralConfig};
use tabs_bert::BertForSequenceClassification;
use tabs_deberta::DebertaForSequenceClassification;
use tabs_hf::{Architecture, Embed, EncoderInput, FromWeights, SelfAttention, SequenceClassifier};

type Cpu = tabs_hf::Cpu;
type Ad = Autodiff<Cpu>;

fn deberta_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tabs-deberta/tests/fixtures/deberta/v3_buckets")
}

fn bert_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tabs-bert/tests/fixtures/bert/seqcls")
}

/// A padded batch: row b has `lengths[b]` real tokens with ids in [4, vocab), then padding.
fn batch<B: Backend>(lengths: &[usize], t: usize, vocab: usize) -> EncoderInput<B> {
    let dev = Default::default();
    let mut ids = vec![0i64; lengths.len() * t];
    let mut mask = vec![0i64; lengths.len() * t];
    for (b, &n) in lengths.iter().enumerate() {
        for i in 0..n {
            ids[b * t + i] = 4 + ((b * 31 + i * 17) % (vocab - 4)) as i64;
            mask[b * t + i] = 1;
        }
    }
    let shape = [lengths.len(), t];
    EncoderInput {
        input_ids: Tensor::<B, 2, Int>::from_data(TensorData::new(ids, shape), &dev),
        attention_mask: Tensor::<B, 2, Int>::from_data(TensorData::new(mask, shape), &dev),
        token_type_ids: None,
    }
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

/// TABS at R = `rank`, token gates, ρ = `rho`.
fn tabs_spec(rank: usize, rho: f64) -> AdapterSpec {
    let mut gating = GatingConfig::new(Granularity::Token);
    gating.rank = rank;
    gating.budget.rho = rho;
    let spectral = SpectralConfig {
        rank,
        ..Default::default()
    };
    AdapterSpec::new(AdapterConfig::Spectral(spectral), Some(gating))
}

/// Load a fixture checkpoint as `SequenceClassifier<B, E, A, C>`.
fn load<B, E, A, C>(dir: &Path) -> SequenceClassifier<B, E, A, C>
where
    B: Backend,
    C: Architecture,
    E: Embed<B> + FromWeights<B, C>,
    A: SelfAttention<B, Context = E::Context> + FromWeights<B, C>,
{
    SequenceClassifier::from_pretrained(dir, None, 0, &Default::default())
        .unwrap()
        .0
}

fn starts_frozen_and_keeps_the_budget<E, A, C>(model: SequenceClassifier<Cpu, E, A, C>)
where
    C: Architecture,
    E: Embed<Cpu> + FromWeights<Cpu, C>,
    A: SelfAttention<Cpu, Context = E::Context> + FromWeights<Cpu, C>,
{
    let c = model.config().clone();
    let (rank, rho, lengths) = (4, 1.5, [15, 9, 2]);
    let input = batch::<Cpu>(&lengths, 15, c.vocab_size);
    let frozen = model.forward(&input);
    let frozen = (values(frozen.logits), values(frozen.encoder.last_hidden_state));
    let (model, report) = model.inject(&tabs_spec(rank, rho)).unwrap();
    // A = 0: exactly the frozen model, whatever the gates.
    let out = model.forward(&input);
    assert_eq!(values(out.logits.clone()), frozen.0);
    assert_eq!(values(out.encoder.last_hidden_state.clone()), frozen.1);
    // Adapters: R·(d_in + d_out) per map (both fixtures: attention width = d); gates: Linear(d, R) + Linear(R, R)
    // per layer; the count of the model is both.
    let (d, f, layers) = (c.hidden_size, c.intermediate_size, c.num_hidden_layers);
    assert_eq!(report.adapted.len(), 6 * layers);
    assert_eq!(report.adapter_params, layers * rank * (4 * 2 * d + (d + f) + (f + d)));
    assert_eq!(report.gate_params, layers * (d * rank + rank + rank * rank + rank));
    assert_eq!(
        model.encoder.adapter_params(),
        report.adapter_params + report.gate_params
    );
    // Inference gates obey B(T) = ⌊ρ·T⌋ per (layer, sequence); padding is never active.
    let budgets: Vec<usize> = lengths.iter().map(|&n| (rho * n as f64).floor() as usize).collect();
    let tm = out.encoder.token_mask.as_ref().unwrap();
    assert_eq!(tm.budgets, budgets);
    let mut stats = RankStats::new(layers, rank, Granularity::Token);
    stats.record(&out.encoder.gates, tm);
    assert_eq!(out.encoder.gates.len(), layers);
    assert_eq!((stats.groups, stats.violations), ((layers * lengths.len()) as u64, 0));
    assert_eq!(stats.tokens[0], lengths.iter().sum::<usize>() as u64);
    // At initialisation every direction is on before the cut (ℓ₀ = max(0, ℓ(ρ/R)) ≥ 0 > the threshold), so
    // the cut binds: each layer uses exactly its budget.
    assert_eq!(stats.rank_sum, vec![budgets.iter().sum::<usize>() as u64; layers]);
}

#[test]
fn tabs_starts_at_the_frozen_model_and_keeps_the_budget() {
    let deberta: DebertaForSequenceClassification<Cpu> = load(&deberta_dir());
    starts_frozen_and_keeps_the_budget(deberta);
    let bert: BertForSequenceClassification<Cpu> = load(&bert_dir());
    starts_frozen_and_keeps_the_budget(bert);
}

fn gradients_only_where_trainable<E, A, C>(model: SequenceClassifier<Ad, E, A, C>)
where
    C: Architecture,
    E: Embed<Ad> + FromWeights<Ad, C> + AutodiffModule<Ad>,
    A: SelfAttention<Ad, Context = E::Context> + FromWeights<Ad, C> + AutodiffModule<Ad>,
    E::InnerModule: Embed<Cpu> + FromWeights<Cpu, C>,
    A::InnerModule: SelfAttention<Cpu, Context = <E::InnerModule as Embed<Cpu>>::Context> + FromWeights<Cpu, C>,
{
    let vocab = model.config().vocab_size;
    let (mut model, _) = model.inject(&tabs_spec(4, 2.0)).unwrap();
    // Non-zero A_U on layer 0's query map so that the gates matter.
    let query = &mut model.encoder.layers[0].attention.maps_mut()[0];
    let s = query.spectral.take().unwrap();
    query.spectral = Some(tabs::GatedSpectral {
        a_u: Param::from_tensor(Tensor::full(s.a_u.val().dims(), 0.05, &Default::default())),
        ..s
    });
    let input = batch::<Ad>(&[12, 5], 12, vocab);
    let out = model.forward(&input);
    let loss = out.logits.clone().sum() + model.encoder.budget_loss(&out.encoder.gates, &Default::default());
    let grads = loss.backward();
    let l0 = &model.encoder.layers[0];
    let query = l0.attention.maps()[0];
    let q = query.spectral.as_ref().unwrap();
    assert!(q.a_u.val().grad(&grads).is_some() && q.a_v.val().grad(&grads).is_some());
    let ctrl = model.encoder.gates.as_ref().unwrap().layers[0]
        .controller
        .as_ref()
        .unwrap();
    assert!(ctrl.output.weight.val().grad(&grads).is_some());
    assert!(model.classifier.weight.val().grad(&grads).is_some());
    assert!(model.pooler.weight.val().grad(&grads).is_some());
    assert!(query.base.weight.val().grad(&grads).is_none());
    assert!(q.u.val().grad(&grads).is_none());
    assert!(l0.output.norm.gamma.val().grad(&grads).is_none());
    assert!(l0.intermediate.base.weight.val().grad(&grads).is_none());
    // Dropout (p = 0.1) makes two training passes differ; the inference model is deterministic.
    assert_ne!(values(out.logits), values(model.forward(&input).logits));
    let valid = model.valid();
    let input = batch::<Cpu>(&[12, 5], 12, vocab);
    assert_eq!(
        values(valid.forward(&input).logits),
        values(valid.forward(&input).logits)
    );
}

#[test]
fn only_adapters_gates_and_heads_get_gradients_and_dropout_acts_in_training() {
    let deberta: DebertaForSequenceClassification<Ad> = load(&deberta_dir());
    gradients_only_where_trainable(deberta);
    let bert: BertForSequenceClassification<Ad> = load(&bert_dir());
    gradients_only_where_trainable(bert);
}

/// Rewrite an adapter file with its tensors under the names `rename` gives.
fn rename_tensors(file: &Path, rename: impl Fn(&str) -> String) {
    let bytes = std::fs::read(file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors: BTreeMap<String, safetensors::tensor::TensorView<'_>> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| (rename(&name), view))
        .collect();
    let out = safetensors::serialize(&tensors, None).unwrap();
    std::fs::write(file, out).unwrap();
}

fn adapter_files_round_trip<E, A, C>(dir: &Path, fresh: impl Fn() -> SequenceClassifier<Cpu, E, A, C>, legacy: &str)
where
    C: Architecture,
    E: Embed<Cpu> + FromWeights<Cpu, C>,
    A: SelfAttention<Cpu, Context = E::Context> + FromWeights<Cpu, C>,
{
    let load = || fresh().inject(&tabs_spec(4, 2.0)).unwrap().0;
    let mut trained = load();
    // "Train": change A_V of one map, the classifier and the pooler.
    let l1 = &mut trained.encoder.layers[1];
    let s = l1.intermediate.spectral.take().unwrap();
    l1.intermediate.spectral = Some(tabs::GatedSpectral {
        a_v: Param::from_tensor(Tensor::full(s.a_v.val().dims(), -0.07, &Default::default())),
        ..s
    });
    trained.classifier.weight = Param::from_tensor(trained.classifier.weight.val().mul_scalar(3.0));
    trained.pooler.weight = Param::from_tensor(trained.pooler.weight.val().mul_scalar(0.5));
    let targets = C::DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect();
    let mut manifest = AdapterManifest::new("tabs", targets, 4, 1.0, 0);
    manifest.granularity = Some(Granularity::Token);
    manifest.controller_hidden = Some(4);
    trained.save_adapter(dir, &manifest).unwrap();
    let input = batch::<Cpu>(&[14, 6], 14, trained.config().vocab_size);
    let expected = values(trained.forward(&input).logits);
    assert_ne!(values(load().forward(&input).logits), expected);
    let loaded = load().load_adapter(dir, &manifest).unwrap();
    assert_eq!(values(loaded.forward(&input).logits), expected);
    // Another method is a typed error naming the field.
    let mut lora_manifest = manifest.clone();
    lora_manifest.method = "lora".into();
    let e = format!("{:?}", load().load_adapter(dir, &lora_manifest).unwrap_err());
    assert!(e.contains("Mismatch") && e.contains("\"method\""), "{e}");
    // A file from before the shared skeleton: `{legacy}encoder.layers.…` and `{legacy}gates.…`.
    rename_tensors(&dir.join("adapter.safetensors"), |name| {
        if let Some(rest) = name.strip_prefix("encoder.gates.") {
            format!("{legacy}gates.{rest}")
        } else if name.starts_with("encoder.") {
            format!("{legacy}{name}")
        } else {
            name.to_string()
        }
    });
    let loaded = load().load_adapter(dir, &manifest).unwrap();
    assert_eq!(values(loaded.forward(&input).logits), expected);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn adapter_files_carry_heads_reproduce_outputs_and_old_files_load() {
    let tmp = std::env::temp_dir().join(format!("tabs-backbones-{}", std::process::id()));
    let deberta = || -> DebertaForSequenceClassification<Cpu> { load(&deberta_dir()) };
    adapter_files_round_trip(&tmp.join("deberta"), deberta, "deberta.");
    let bert = || -> BertForSequenceClassification<Cpu> { load(&bert_dir()) };
    adapter_files_round_trip(&tmp.join("bert"), bert, "bert.");
    let _ = std::fs::remove_dir_all(&tmp);
}

// From `src/backbone.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod backbone_units {
    use std::path::Path;
    use tabs_experiments::backbone::*;

    #[test]
    fn unsupported_or_missing_model_type_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("tabs-backbone-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), r#"{"model_type": "roberta"}"#).unwrap();
        let dev = Default::default();
        let err = Backbone::<tabs_hf::Cpu>::from_pretrained(&dir, 2, 0, &dev).unwrap_err();
        assert!(
            err.to_string().contains("model_type \"roberta\" is not supported"),
            "{err}"
        );
        let err = TextTokenizer::from_dir(&dir).unwrap_err();
        assert!(
            err.to_string().contains("model_type \"roberta\" is not supported"),
            "{err}"
        );
        std::fs::write(dir.join("config.json"), r#"{"hidden_size": 8}"#).unwrap();
        let err = model_type(&dir).unwrap_err();
        assert!(err.to_string().contains("no \"model_type\""), "{err}");
        let err = LayerShape::from_config_file(&dir.join("config.json")).unwrap_err();
        assert!(err.to_string().contains("no \"model_type\""), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn layer_shapes_and_position_limits_come_from_the_config() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let deberta = root.join("tests/fixtures/demo/model");
        let bert = root.join("tabs-bert/tests/fixtures/bert/model_bin");
        let shape = |d: &Path| LayerShape::from_config_file(&d.join("config.json")).unwrap();
        let want = |layers, hidden, intermediate| LayerShape {
            layers,
            hidden,
            intermediate,
            attention: hidden,
        };
        assert_eq!(shape(&deberta), want(2, 32, 64));
        assert_eq!(shape(&bert), want(2, 32, 48));
        let dev = Default::default();
        for (dir, limit) in [(&deberta, None), (&bert, Some(40))] {
            let (m, _) = Backbone::<tabs_hf::Cpu>::from_pretrained(dir, 2, 0, &dev).unwrap();
            assert_eq!(m.shape(), shape(dir), "{}", dir.display());
            // DeBERTa-v3 positions are relative only (no limit); BERT's are learned absolute embeddings.
            assert_eq!(m.max_positions(), limit, "{}", dir.display());
        }
    }
}
