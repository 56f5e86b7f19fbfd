//! Exporting a run: as a peft LoRA adapter ([`crate::peft::export_peft`]) or as a plain HuggingFace checkpoint with
//! the adapter merged into the weights ([`export_merged`]), loadable by `AutoModelForSequenceClassification` and by
//! [`Backbone::from_pretrained`] without tabs' adapter code.
//!
//! Merged weight of an adapted map, PyTorch layout W `[d_out, d_in]`:
//!
//! - LoRA: W' = W + s·B·A, s = α/r;
//! - spectral adapter with gates g ∈ [0, 1]^R that do not depend on the input — `spectral` (g ≡ 1) and `bhsp`
//!   (`Layer` granularity: one gate vector per layer, at inference the deterministic HardConcrete gate after the
//!   global top-B cut, a fixed vector with most entries 0 or 1): with Ũ = U_R + A_U, Ṽ = V_R + A_V,
//!   W' = W + α·(Ũ·diag(s ⊙ g)·Ṽᵀ − U_R·diag(s ⊙ g)·V_Rᵀ),
//!   exactly the gated term `tabs` adds for every token (`tabs::kernel`: α(((P − Q) ⊙ G̃)U_Rᵀ + (P ⊙ G̃)A_Uᵀ) with
//!   P = hṼ, Q = hV_R, G̃ = g ⊙ s, which is h·ΔWᵀ).
//!
//! `tabs`, `tabs-noproj`, `tabs-shared` and `cbsp` gate per token or per sequence, from the input: no single
//! weight equals them, so they are refused. `full` runs have no adapter (their whole network is in `model.mpk`)
//! and are refused too.
//!
//! DeBERTa subtlety: with `share_att_key` the relative-position embeddings go through `query_proj` / `key_proj`
//! too. tabs applies LoRA there (as peft does) but *not* the gated spectral term (positions are not tokens,
//! `AdaptedLinear::forward_static`). A merged spectral delta would change the positions' projections, so for
//! spectral methods the export writes `share_att_key: false` with `pos_key_proj` / `pos_query_proj` = the frozen
//! key / query maps (HF's own layout for unshared position projections): the merged checkpoint computes exactly what
//! the adapted model does.
//!
//! Output folder rule: `--out` must not exist or be an empty folder (an export never overwrites); every file is
//! written atomically (temporary file, then rename). Everything is checked before the folder is created.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde_json::{json, Value};
use tabs::{GateMode, GatedSpectral, Granularity};
use tabs_hf::RawTensor;

use crate::backbone::Backbone;
use crate::hf_layout::{self, architecture, model_prefix, pooler_key, put_linear, to_pytorch};
use crate::method::Method;
use crate::peft::{export_peft, load_base};

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A peft LoRA adapter folder (`lora` runs).
    Peft,
    /// A HF checkpoint folder with the adapter merged (`lora`, `spectral`, `bhsp` runs).
    Merged,
}

impl FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "peft" => Ok(ExportFormat::Peft),
            "merged" => Ok(ExportFormat::Merged),
            _ => Err(format!("unknown format {s:?} (expected peft or merged)")),
        }
    }
}

/// Files of a checkpoint folder that belong to its tokenizer, copied into a merged export when present.
pub const TOKENIZER_FILES: [&str; 9] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "spm.model",
    "sentencepiece.bpe.model",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
];

/// `out` must not exist, or be an empty folder.
pub fn check_out(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let empty = out.is_dir()
        && std::fs::read_dir(out)
            .with_context(|| format!("--out {}", out.display()))?
            .next()
            .is_none();
    anyhow::ensure!(
        empty,
        "--out {}: exists and is not an empty folder (export writes only into a new or empty folder, it never \
         overwrites)",
        out.display()
    );
    Ok(())
}

/// Whether `method` can be written in `format`, checked before anything is loaded.
pub fn check_method(method: Method, format: ExportFormat) -> Result<()> {
    match (format, method) {
        (ExportFormat::Peft, Method::Lora) => Ok(()),
        (ExportFormat::Peft, Method::Bhsp | Method::Spectral) => bail!(
            "method {method}: peft has no equivalent of the spectral adapter; --format merged writes this run as a \
             plain checkpoint with the adapter merged"
        ),
        (ExportFormat::Merged, Method::Lora | Method::Spectral | Method::Bhsp) => Ok(()),
        (_, Method::Full) => bail!(
            "method full: a full fine-tuning run has no adapter to export (its whole network is in model.mpk), and \
             writing it as a HF checkpoint is not supported"
        ),
        (ExportFormat::Peft, _) => bail!("method {method}: peft has no equivalent (input-dependent spectral gates)"),
        (ExportFormat::Merged, _) => bail!(
            "method {method}: its gates depend on the input (per token or per sequence), so no single weight matrix \
             equals the adapted map; merged export supports lora, spectral and bhsp"
        ),
    }
}

/// Export the run in `run_dir` (base checkpoint `model`) as `format` into `out`, on the CPU; see the module docs.
/// Checks the output folder and the method before loading anything.
pub fn export_run(run_dir: &Path, model: Option<&Path>, format: ExportFormat, out: &Path) -> Result<()> {
    type B = tabs_hf::Cpu;
    let device = Default::default();
    check_out(out)?;
    let cfg = crate::run_folder::read_config(run_dir)?;
    check_method(cfg.method, format)?;
    let run = crate::run_folder::load_run::<B>(run_dir, model, &device)?;
    match format {
        ExportFormat::Peft => export_peft(&run.net, &run.config, &run.model_dir, out),
        ExportFormat::Merged => export_merged(&run.net, &run.model_dir, out, &device),
    }
}

/// The fixed gate vector `[R]` of every layer when the gates do not depend on the input: `None` without gates
/// (every gate 1), the inference gates of `Layer` granularity (BHSP) otherwise.
pub fn fixed_gates<B: Backend>(net: &Backbone<B>, device: &B::Device) -> Result<Option<Vec<Tensor<B, 1>>>> {
    let Some(g) = net.gates() else {
        return Ok(None);
    };
    if g.config.granularity != Granularity::Layer {
        bail!(
            "the gates are per {:?} (they depend on the input): no merged weight equals the adapted map",
            g.config.granularity
        );
    }
    let r = g.config.rank;
    // Layer gates read neither the input nor the mask's values; one real token gives them their [1, 1, R] shape.
    let mask = g.token_mask(Tensor::ones([1, 1], device));
    let h = Tensor::<B, 3>::zeros([1, 1, net.shape().hidden], device);
    Ok(Some(
        (0..g.num_layers())
            .map(|l| g.forward_mode(l, h.clone(), &mask, GateMode::Eval).gates.reshape([r]))
            .collect(),
    ))
}

/// ΔWᵀ `[d_in, d_out]` (Burn's layout) of a spectral adapter at fixed gates g `[R]` (None: g ≡ 1):
/// α·(Ṽ·diag(s ⊙ g)·Ũᵀ − V_R·diag(s ⊙ g)·U_Rᵀ).
pub fn spectral_delta<B: Backend>(sp: &GatedSpectral<B>, gates: Option<Tensor<B, 1>>) -> Tensor<B, 2> {
    let s = sp.s.val();
    let sg = match gates {
        Some(g) => s * g,
        None => s,
    }
    .unsqueeze_dim::<2>(0);
    let v_tilde = sp.v.val() + sp.a_v.val();
    let u_tilde = sp.u.val() + sp.a_u.val();
    let adapted = (v_tilde * sg.clone()).matmul(u_tilde.transpose());
    let frozen = (sp.v.val() * sg).matmul(sp.u.val().transpose());
    (adapted - frozen).mul_scalar(sp.alpha)
}

/// The layer index of a map name `encoder.layer.N.…`.
fn layer_of(name: &str) -> Option<usize> {
    name.strip_prefix("encoder.layer.")?.split('.').next()?.parse().ok()
}

/// Write `net` (LoRA and/or input-independent spectral adapters on the base checkpoint `base_model`) as a HF
/// checkpoint folder `out`: `config.json` (the base's, with `architectures`, `num_labels`, `id2label`/`label2id`
/// for the classifier's width, and `share_att_key: false` when DeBERTa's position projections must stay frozen —
/// see the module docs), `model.safetensors` (f32, HF names: every tensor the base model uses, the adapted maps
/// merged, the pooler and classifier) and the base folder's tokenizer files.
pub fn export_merged<B: Backend>(net: &Backbone<B>, base_model: &Path, out: &Path, device: &B::Device) -> Result<()> {
    check_out(out)?;
    let gates = fixed_gates(net, device)?;
    let prefix = model_prefix(net);
    let [pooler, classifier] = net.heads();
    let num_labels = classifier.weight.dims()[1];
    // The tensors the base model uses (under the checkpoint's own names), read as f32.
    let (_, report) = load_base::<B>(base_model, num_labels, device)?;
    let files = tabs_hf::CheckpointFiles::in_dir(base_model)?;
    let raw = tabs_hf::read_tensors(&files.weights)?;
    let ckpt_prefix = raw
        .keys()
        .find_map(|k| k.strip_suffix("embeddings.word_embeddings.weight"))
        .unwrap_or("")
        .to_string();
    let mut tensors: BTreeMap<String, RawTensor> = BTreeMap::new();
    for key in &report.loaded {
        let bare = key.strip_prefix(ckpt_prefix.as_str()).unwrap_or(key);
        if bare.starts_with("pooler.") || bare.starts_with("classifier.") {
            continue; // heads come from the model below
        }
        tensors.insert(format!("{prefix}{bare}"), raw[key].clone());
    }
    let mut spectral = false;
    for (name, map) in net.maps() {
        let mut w = map.base.weight.val();
        if let (Some(l), false) = (&map.lora, map.lora_merged) {
            w = w + l.delta_weight();
        }
        if let Some(sp) = &map.spectral {
            spectral = true;
            let g = match (&gates, layer_of(&name)) {
                (Some(all), Some(i)) => Some(all[i].clone()),
                (Some(_), None) => bail!("{name}: no layer index in the map's name"),
                (None, _) => None,
            };
            w = w + spectral_delta(sp, g);
        }
        tensors.insert(format!("{prefix}{name}.weight"), to_pytorch(w));
    }
    put_linear(&mut tensors, pooler_key(net), pooler);
    put_linear(&mut tensors, "classifier", classifier);
    let mut config: Value = {
        let path = base_model.join("config.json");
        serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
            .with_context(|| format!("{}: not JSON", path.display()))?
    };
    // DeBERTa: keep the relative-position projections free of the spectral delta (see the module docs).
    if let (Backbone::Deberta(m), true) = (net, spectral) {
        let c = m.config();
        if c.relative_attention && c.share_att_key {
            for (i, layer) in m.encoder.layers.iter().enumerate() {
                let p = format!("{prefix}encoder.layer.{i}.attention.self");
                let sides = [
                    (c.c2p, "pos_key_proj", &layer.attention.key_proj),
                    (c.p2c, "pos_query_proj", &layer.attention.query_proj),
                ];
                for (on, pos, map) in sides {
                    if on {
                        let mut w = map.base.weight.val();
                        if let (Some(l), false) = (&map.lora, map.lora_merged) {
                            w = w + l.delta_weight();
                        }
                        tensors.insert(format!("{p}.{pos}.weight"), to_pytorch(w));
                        if let Some(b) = &map.base.bias {
                            tensors.insert(format!("{p}.{pos}.bias"), hf_layout::raw_vector(b.val()));
                        }
                    }
                }
            }
            config["share_att_key"] = json!(false);
        }
    }
    set_labels(&mut config, num_labels, architecture(net));
    // Everything is computed: now write.
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    hf_layout::write_safetensors(&out.join("model.safetensors"), &tensors)?;
    tabs::io::write_atomic(&out.join("config.json"), &serde_json::to_vec_pretty(&config)?)?;
    for f in TOKENIZER_FILES {
        let src = base_model.join(f);
        if src.is_file() {
            let bytes = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
            tabs::io::write_atomic(&out.join(f), &bytes)?;
        }
    }
    Ok(())
}

/// `architectures`, `num_labels`, `id2label` and `label2id` of a classifier with `n` outputs (the base's label
/// names are kept when it has exactly `n`), and `dtype` f32 (the merged weights are written in f32).
fn set_labels(config: &mut Value, n: usize, arch: &str) {
    config["architectures"] = json!([arch]);
    let keep = config
        .get("id2label")
        .and_then(Value::as_object)
        .is_some_and(|m| m.len() == n && (0..n).all(|i| m.contains_key(&i.to_string())));
    if !keep {
        let id2label: serde_json::Map<String, Value> =
            (0..n).map(|i| (i.to_string(), json!(format!("LABEL_{i}")))).collect();
        config["id2label"] = Value::Object(id2label);
    }
    let label2id: serde_json::Map<String, Value> = config["id2label"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        v.as_str().unwrap_or(k).to_string(),
                        json!(k.parse::<usize>().unwrap_or(0)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    config["label2id"] = Value::Object(label2id);
    config["num_labels"] = json!(n);
    for key in ["torch_dtype", "dtype"] {
        if config.get(key).is_some() {
            config[key] = json!("float32");
        }
    }
}
