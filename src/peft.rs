//! peft interoperability for LoRA: read a peft LoRA adapter of a sequence classifier into a [`Backbone`]
//! ([`load_peft`]), and write a `lora` run in peft's layout ([`export_peft`]).
//!
//! peft's folder (`PeftModel.save_pretrained`, task type `SEQ_CLS`):
//!
//! - `adapter_config.json`: `peft_type` `"LORA"`, `r`, `lora_alpha`, `target_modules` (a list of names, each matching
//!   a module whose full name equals it or ends with `.name`, or one regular expression that must match the whole
//!   name), `use_rslora`, `modules_to_save`, …;
//! - `adapter_model.safetensors`: for every targeted `nn.Linear` named `M` (full HF name, e.g.
//!   `deberta.encoder.layer.0.attention.self.query_proj`), `base_model.model.M.lora_A.weight` A `[r, d_in]` and
//!   `base_model.model.M.lora_B.weight` B `[d_out, r]`; for every module in `modules_to_save` (peft adds
//!   `classifier` for `SEQ_CLS`) its trained copy under its own name — in memory
//!   `classifier.modules_to_save.default.weight`, saved as `base_model.model.classifier.weight` (peft's
//!   `get_peft_model_state_dict` drops `modules_to_save.` and the adapter name `.default`). The pooler is saved only
//!   when `modules_to_save` names it: `base_model.model.pooler.dense.*` (DeBERTa) or
//!   `base_model.model.bert.pooler.dense.*` (BERT).
//!
//! The adapted map is y = W·x + b + s·B·A·x with s = α/r, or s = α/√r with `use_rslora` (rsLoRA). In Burn's layout
//! (`tabs::Lora`: A `[d_in, r]`, B `[r, d_out]`, y += s·x·A·B) peft's A and B are transposed and s is stored as is
//! in `Lora::scaling` (f64), so rsLoRA is exact too.
//!
//! Supported: `peft_type` `LORA`, `task_type` `SEQ_CLS` (or unset), `bias` `"none"`, no DoRA, no LoRA bias, no
//! per-module rank/α patterns, no layer selection, every target an adaptable map (the six of each layer).
//! `fan_in_fan_out` is accepted and ignored, as peft itself does for `nn.Linear` (it warns and sets it to false).
//! Anything else is a [`PeftError`] naming the file and key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::module::Param;
use burn::tensor::backend::Backend;
use serde_json::{json, Value};
use tabs::{AdapterConfig, AdapterSpec, LoraConfig};
use tabs_bert::BertForSequenceClassification;
use tabs_deberta::DebertaForSequenceClassification;
use tabs_hf::{LoadReport, RawTensor};

use crate::backbone::{model_type, Backbone};
use crate::hf_layout::{self, from_pytorch, heads_mut, maps_mut, model_prefix, pooler_key, put_linear, to_pytorch};
use crate::method::Method;
use crate::train::TrainConfig;

/// peft's config file.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// peft's tensor file.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// peft's older tensor file (a PyTorch pickle), read when there is no safetensors file.
pub const WEIGHTS_BIN: &str = "adapter_model.bin";
/// The prefix of every saved key: `PeftModel.base_model` (the LoRA tuner) `.model` (the HF model).
pub const KEY_PREFIX: &str = "base_model.model.";

/// A peft adapter this crate cannot use.
#[derive(Debug, thiserror::Error)]
pub enum PeftError {
    /// A config key with a value we do not support.
    #[error("{path}: `{key}` = {found}: {expected}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Its value.
        found: String,
        /// What is supported instead.
        expected: String,
    },
    /// A tensor that is absent, unexpected or of the wrong shape.
    #[error("{path}: tensor `{key}`: {reason}")]
    Tensor {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// The `target_modules` of a peft config.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Names: a module is targeted when its full name equals one or ends with `.name`.
    List(Vec<String>),
    /// A regular expression that must match a module's whole name (Python's `re.fullmatch`).
    Regex(String),
}

/// The LoRA settings of a peft `adapter_config.json` that decide the adapted model.
#[derive(Debug, Clone, PartialEq)]
pub struct PeftLora {
    /// r.
    pub r: usize,
    /// α.
    pub alpha: f64,
    /// Which maps carry LoRA.
    pub targets: Targets,
    /// s = α/√r instead of α/r.
    pub use_rslora: bool,
    /// Modules saved whole (heads), as listed (peft adds `classifier` and `score` for `SEQ_CLS`).
    pub modules_to_save: Vec<String>,
}

impl PeftLora {
    /// The scale s of B·A: α/r, or α/√r with rsLoRA.
    pub fn scaling(&self) -> f64 {
        if self.use_rslora {
            self.alpha / (self.r as f64).sqrt()
        } else {
            self.alpha / self.r as f64
        }
    }

    /// Whether the module with full HF name `name` is targeted (peft's `check_target_module_exists`).
    pub fn targets(&self, name: &str) -> bool {
        match &self.targets {
            Targets::List(l) => l.iter().any(|t| name == t || name.ends_with(&format!(".{t}"))),
            Targets::Regex(re) => tabs::inject::matches(name, &format!("re:^(?:{re})$")).unwrap_or(false),
        }
    }

    /// Read and check `dir/adapter_config.json`.
    pub fn read(dir: &Path) -> Result<Self, PeftError> {
        let path = dir.join(CONFIG_FILE);
        let unsupported = |key: &str, found: String, expected: &str| PeftError::Unsupported {
            path: path.clone(),
            key: key.to_string(),
            found,
            expected: expected.to_string(),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| unsupported("(file)", format!("unreadable ({e})"), "a peft adapter_config.json"))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| unsupported("(file)", format!("not JSON ({e})"), "a peft adapter_config.json"))?;
        let get = |key: &str| v.get(key).cloned().unwrap_or(Value::Null);
        let s = |x: &Value| x.to_string();
        match get("peft_type").as_str() {
            Some("LORA") => {}
            _ => return Err(unsupported("peft_type", s(&get("peft_type")), "expected \"LORA\"")),
        }
        match get("task_type") {
            Value::Null => {}
            Value::String(t) if t == "SEQ_CLS" => {}
            other => {
                return Err(unsupported(
                    "task_type",
                    s(&other),
                    "expected \"SEQ_CLS\" (a sequence classifier)",
                ))
            }
        }
        let r = get("r")
            .as_u64()
            .filter(|&r| r > 0)
            .ok_or_else(|| unsupported("r", s(&get("r")), "expected a positive integer"))? as usize;
        let alpha = get("lora_alpha")
            .as_f64()
            .filter(|a| a.is_finite())
            .ok_or_else(|| unsupported("lora_alpha", s(&get("lora_alpha")), "expected a number"))?;
        let targets = match get("target_modules") {
            Value::String(re) => Targets::Regex(re),
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_string) => {
                Targets::List(a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            }
            other => {
                return Err(unsupported(
                    "target_modules",
                    s(&other),
                    "expected a non-empty list of module names or a regular expression",
                ))
            }
        };
        let flag = |key: &str| -> Result<bool, PeftError> {
            match get(key) {
                Value::Null => Ok(false),
                Value::Bool(b) => Ok(b),
                other => Err(unsupported(key, s(&other), "expected true or false")),
            }
        };
        let use_rslora = flag("use_rslora")?;
        flag("fan_in_fan_out")?; // peft sets it to false for nn.Linear (with a warning): so do we.
        match get("bias") {
            Value::Null => {}
            Value::String(b) if b == "none" => {}
            other => return Err(unsupported("bias", s(&other), "expected \"none\" (no trained biases)")),
        }
        // Options that change the adapted model and that this reader does not implement: each must be off.
        for (key, what) in [
            ("use_dora", "DoRA (weight-decomposed LoRA) is not supported"),
            ("lora_bias", "a LoRA bias is not supported"),
            (
                "rank_pattern",
                "per-module ranks are not supported (one r for every map)",
            ),
            ("alpha_pattern", "per-module α are not supported (one α for every map)"),
            (
                "layers_to_transform",
                "layer selection is not supported (use target_modules)",
            ),
            (
                "layers_pattern",
                "layer selection is not supported (use target_modules)",
            ),
            (
                "exclude_modules",
                "exclude_modules is not supported (use target_modules)",
            ),
            (
                "target_parameters",
                "LoRA on parameters is not supported (only on linear maps)",
            ),
            ("trainable_token_indices", "trainable tokens are not supported"),
            ("layer_replication", "layer replication is not supported"),
            ("use_qalora", "QALoRA is not supported"),
            ("use_bdlora", "BD-LoRA is not supported"),
            ("alora_invocation_tokens", "activated LoRA is not supported"),
            ("arrow_config", "Arrow routing is not supported"),
            ("kasa_config", "KaSA is not supported"),
            ("velora_config", "VeLoRA is not supported"),
            ("monteclora_config", "MonteCLoRA is not supported"),
        ] {
            let off = match get(key) {
                Value::Null | Value::Bool(false) => true,
                Value::Object(o) => o.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::String(t) => t.is_empty(),
                _ => false,
            };
            if !off {
                return Err(unsupported(key, s(&get(key)), &format!("{what}; expected it unset")));
            }
        }
        let modules_to_save = match get("modules_to_save") {
            Value::Null => Vec::new(),
            Value::Array(a) if a.iter().all(Value::is_string) => {
                a.iter().filter_map(|x| x.as_str().map(String::from)).collect()
            }
            other => return Err(unsupported("modules_to_save", s(&other), "expected a list of names")),
        };
        Ok(Self {
            r,
            alpha,
            targets,
            use_rslora,
            modules_to_save,
        })
    }
}

/// Whether `dir` holds a peft adapter: an `adapter_config.json` with a `peft_type` key (tabs' own adapter folders
/// use the same file name, with a `format` key instead).
pub fn is_peft_adapter(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(CONFIG_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|v| v.get("peft_type").is_some())
}

/// A checkpoint folder as a sequence classifier with `num_labels` outputs, with the loader's report.
pub(crate) fn load_base<B: Backend>(
    dir: &Path,
    num_labels: usize,
    device: &B::Device,
) -> Result<(Backbone<B>, LoadReport)> {
    Ok(match model_type(dir)?.as_str() {
        "deberta-v2" => {
            let (m, r) = DebertaForSequenceClassification::from_pretrained(dir, Some(num_labels), 0, device)?;
            (Backbone::Deberta(m), r)
        }
        "bert" => {
            let (m, r) = BertForSequenceClassification::from_pretrained(dir, Some(num_labels), 0, device)?;
            (Backbone::Bert(m), r)
        }
        // The same error as every other loader.
        _ => (
            Backbone::from_pretrained(dir, num_labels, 0, device)?.0,
            LoadReport::default(),
        ),
    })
}

/// The tensors of a peft adapter folder (safetensors, or the older `adapter_model.bin`), in f32.
fn read_adapter_tensors(dir: &Path) -> Result<(PathBuf, BTreeMap<String, RawTensor>)> {
    let st = dir.join(WEIGHTS_FILE);
    let path = if !st.is_file() && dir.join(WEIGHTS_BIN).is_file() {
        dir.join(WEIGHTS_BIN)
    } else {
        st
    };
    let tensors =
        tabs_hf::read_tensors(&path).with_context(|| format!("reading the peft adapter {}", dir.display()))?;
    Ok((path, tensors))
}

/// Load the base checkpoint `model_dir` (DeBERTa-v2/v3 or BERT, by its `config.json`) with peft's LoRA adapter
/// `adapter_dir` on top: LoRA in the maps `target_modules` selects, A and B from the adapter, the classifier (and
/// the pooler, when the adapter has it) from the adapter. The label count is the adapter classifier's. Returns a
/// model with unmerged LoRA whose logits are peft's (tests: within 1e-4 of `PeftModel` on the tiny models).
///
/// Errors (naming the file and key): an unsupported config option (see the module docs), a target that matches no
/// adaptable map, a tensor that matches no targeted map or head, a targeted map without both A and B, a shape
/// other than A `[r, d_in]` / B `[d_out, r]`, no classifier, or no pooler in either the adapter or the base.
pub fn load_peft<B: Backend>(model_dir: &Path, adapter_dir: &Path, device: &B::Device) -> Result<Backbone<B>> {
    let cfg = PeftLora::read(adapter_dir)?;
    let (path, tensors) = read_adapter_tensors(adapter_dir)?;
    let tensor_error = |key: &str, reason: String| PeftError::Tensor {
        path: path.clone(),
        key: key.to_string(),
        reason,
    };
    let classifier_key = format!("{KEY_PREFIX}classifier.weight");
    let num_labels = match tensors.get(&classifier_key) {
        Some(t) if t.shape.len() == 2 && t.shape[0] > 0 => t.shape[0],
        Some(t) => {
            return Err(tensor_error(
                &classifier_key,
                format!("shape {:?}, expected [num_labels, d]", t.shape),
            )
            .into())
        }
        None => {
            return Err(tensor_error(
                &classifier_key,
                "absent: a sequence-classification adapter saves its classifier (task_type SEQ_CLS)".into(),
            )
            .into())
        }
    };
    let (mut net, report) = load_base::<B>(model_dir, num_labels, device)?;
    let prefix = model_prefix(&net);
    let pooler = pooler_key(&net);
    // Which maps peft adapted (full HF names), and that each list entry selects one.
    let maps: Vec<(String, (usize, usize))> = net.maps().into_iter().map(|(n, m)| (n, m.dims())).collect();
    let targeted: BTreeMap<String, (usize, usize)> = maps
        .iter()
        .filter(|(n, _)| cfg.targets(&format!("{prefix}{n}")))
        .map(|(n, d)| (n.clone(), *d))
        .collect();
    let unmatched = |entry: String| PeftError::Unsupported {
        path: adapter_dir.join(CONFIG_FILE),
        key: "target_modules".into(),
        found: entry,
        expected: format!(
            "matches no adaptable map of this model (maps are named like {prefix}{}; the six of each layer can carry \
             LoRA)",
            maps.first().map(|(n, _)| n.as_str()).unwrap_or("")
        ),
    };
    match &cfg.targets {
        Targets::List(l) => {
            for t in l {
                let one = PeftLora {
                    targets: Targets::List(vec![t.clone()]),
                    ..cfg.clone()
                };
                if !maps.iter().any(|(n, _)| one.targets(&format!("{prefix}{n}"))) {
                    return Err(unmatched(format!("{t:?}")).into());
                }
            }
        }
        Targets::Regex(re) if targeted.is_empty() => return Err(unmatched(format!("{re:?}")).into()),
        Targets::Regex(_) => {}
    }
    // Sort every tensor into a map's A or B or a head; anything else is an error.
    let mut lora: BTreeMap<String, [Option<&RawTensor>; 2]> = BTreeMap::new();
    let mut heads: BTreeMap<&str, &RawTensor> = BTreeMap::new();
    let head_names = [
        "classifier.weight".to_string(),
        "classifier.bias".to_string(),
        format!("{pooler}.weight"),
        format!("{pooler}.bias"),
    ];
    for (key, t) in &tensors {
        let Some(rest) = key.strip_prefix(KEY_PREFIX) else {
            return Err(tensor_error(
                key,
                format!("does not start with `{KEY_PREFIX}` (not saved by a PeftModel)"),
            )
            .into());
        };
        if let Some(h) = head_names.iter().find(|h| h.as_str() == rest) {
            heads.insert(h.as_str(), t);
            continue;
        }
        let ab = [".lora_A.weight", ".lora_B.weight"]
            .iter()
            .enumerate()
            .find_map(|(i, suffix)| Some((i, rest.strip_suffix(suffix)?)));
        let Some((i, module)) = ab else {
            return Err(tensor_error(
                key,
                format!(
                    "matches no LoRA map or head of a {} sequence classifier (expected …lora_A.weight, …lora_B.weight, \
                     classifier.*, {pooler}.*)",
                    prefix.trim_end_matches('.')
                ),
            )
            .into());
        };
        let name = module.strip_prefix(prefix).unwrap_or(module);
        let Some(&(d_in, d_out)) = targeted.get(name) else {
            return Err(tensor_error(
                key,
                format!("`{module}` is not a map that target_modules selects on this model"),
            )
            .into());
        };
        let want = if i == 0 { [cfg.r, d_in] } else { [d_out, cfg.r] };
        if t.shape != want {
            return Err(tensor_error(key, format!("shape {:?}, expected {want:?} (r = {})", t.shape, cfg.r)).into());
        }
        lora.entry(name.to_string()).or_default()[i] = Some(t);
    }
    for name in targeted.keys() {
        let found = lora.get(name).copied().unwrap_or_default();
        for (i, ab) in ["lora_A", "lora_B"].iter().enumerate() {
            if found[i].is_none() {
                return Err(tensor_error(
                    &format!("{KEY_PREFIX}{prefix}{name}.{ab}.weight"),
                    "absent, but target_modules selects this map".into(),
                )
                .into());
            }
        }
    }
    let has_pooler = heads.contains_key(format!("{pooler}.weight").as_str());
    if !has_pooler && report.initialised.iter().any(|k| k.starts_with("pooler.")) {
        return Err(tensor_error(
            &format!("{KEY_PREFIX}{pooler}.weight"),
            format!(
                "absent, and {} has no pooler either (transformers would initialise it at random): save the adapter \
                 with modules_to_save including \"pooler\"",
                model_dir.display()
            ),
        )
        .into());
    }
    for (key, want) in [
        ("classifier.bias", vec![num_labels]),
        (
            &format!("{pooler}.weight") as &str,
            vec![net.shape().hidden, net.shape().hidden],
        ),
        (&format!("{pooler}.bias"), vec![net.shape().hidden]),
    ] {
        if let Some(t) = heads.get(key).filter(|t| t.shape != want) {
            return Err(tensor_error(
                &format!("{KEY_PREFIX}{key}"),
                format!("shape {:?}, expected {want:?}", t.shape),
            )
            .into());
        }
    }
    // Inject LoRA into exactly the targeted maps, then fill A, B, the scale and the heads.
    if !targeted.is_empty() {
        let names: Vec<&str> = targeted.keys().map(String::as_str).collect();
        let lora_cfg = LoraConfig {
            rank: cfg.r,
            alpha: cfg.alpha,
            dropout: 0.0,
        };
        net = net
            .inject(&AdapterSpec::with_targets(&names, AdapterConfig::Lora(lora_cfg), None))?
            .0;
    }
    let scaling = cfg.scaling();
    for (name, map) in maps_mut(&mut net) {
        let (Some([Some(a), Some(b)]), Some(l)) = (lora.get(&name), map.lora.as_mut()) else {
            continue;
        };
        l.a = Param::from_tensor(from_pytorch(a, device));
        l.b = Param::from_tensor(from_pytorch(b, device));
        l.scaling = scaling;
    }
    let (pooler_linear, classifier) = heads_mut(&mut net);
    hf_layout::set_linear(
        classifier,
        heads["classifier.weight"],
        heads.get("classifier.bias").copied(),
        device,
    );
    if let Some(w) = heads.get(format!("{pooler}.weight").as_str()) {
        hf_layout::set_linear(
            pooler_linear,
            w,
            heads.get(format!("{pooler}.bias").as_str()).copied(),
            device,
        );
    }
    Ok(net)
}

/// Write a `lora` run's model (`net`, loaded by [`crate::run_folder::load_run`]) as a peft adapter folder in
/// `out` (which must not exist or be empty): `adapter_config.json` with every field peft 0.21's `LoraConfig` writes
/// (`task_type` `SEQ_CLS`, `r`, `lora_alpha`, the run's targets, `modules_to_save` `["classifier", "pooler"]`,
/// `base_model_name_or_path` = `base_model` as given) and `adapter_model.safetensors` (A, B transposed to peft's
/// `[r, d_in]` / `[d_out, r]`, the classifier and the pooler), both written atomically.
pub fn export_peft<B: Backend>(net: &Backbone<B>, cfg: &TrainConfig, base_model: &Path, out: &Path) -> Result<()> {
    anyhow::ensure!(
        cfg.method == Method::Lora,
        "method {}: peft has no equivalent (peft export is for lora runs{})",
        cfg.method,
        match cfg.method {
            Method::Bhsp | Method::Spectral => "; --format merged writes this run as a plain checkpoint",
            _ => "",
        }
    );
    crate::export::check_out(out)?;
    let prefix = model_prefix(net);
    let mut tensors = BTreeMap::new();
    let mut targets = BTreeSet::new();
    let h = &cfg.adapter;
    for (name, map) in net.maps() {
        let Some(l) = &map.lora else { continue };
        anyhow::ensure!(
            l.scaling == h.lora_alpha / h.lora_rank as f64,
            "{name}: LoRA scale {} is not α/r = {}/{} of the run's config.json",
            l.scaling,
            h.lora_alpha,
            h.lora_rank
        );
        tensors.insert(
            format!("{KEY_PREFIX}{prefix}{name}.lora_A.weight"),
            to_pytorch(l.a.val()),
        );
        tensors.insert(
            format!("{KEY_PREFIX}{prefix}{name}.lora_B.weight"),
            to_pytorch(l.b.val()),
        );
        targets.insert(name);
    }
    anyhow::ensure!(!targets.is_empty(), "the run's model has no LoRA map");
    let [pooler, classifier] = net.heads();
    put_linear(&mut tensors, &format!("{KEY_PREFIX}{}", pooler_key(net)), pooler);
    put_linear(&mut tensors, &format!("{KEY_PREFIX}classifier"), classifier);
    let target_modules: Vec<&str> = net.default_targets().to_vec();
    let config = peft_config(cfg, &target_modules, &base_model.display().to_string());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    hf_layout::write_safetensors(&out.join(WEIGHTS_FILE), &tensors)?;
    tabs::io::write_atomic(&out.join(CONFIG_FILE), &serde_json::to_vec_pretty(&config)?)?;
    Ok(())
}

/// peft 0.21's `LoraConfig(task_type="SEQ_CLS", …).to_dict()` for a run, as `save_pretrained` writes it
/// (`inference_mode` true), without `peft_version` (not written by peft).
fn peft_config(cfg: &TrainConfig, target_modules: &[&str], base: &str) -> Value {
    let h = &cfg.adapter;
    // An integral α is written as an integer, as Python would.
    let alpha = if h.lora_alpha.fract() == 0.0 && h.lora_alpha.abs() < 1e15 {
        json!(h.lora_alpha as i64)
    } else {
        json!(h.lora_alpha)
    };
    json!({
        "alora_invocation_tokens": null,
        "alpha_pattern": {},
        "arrow_config": null,
        "auto_mapping": null,
        "base_model_name_or_path": base,
        "bias": "none",
        "corda_config": null,
        "ensure_weight_tying": false,
        "eva_config": null,
        "exclude_modules": null,
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "kasa_config": null,
        "layer_replication": null,
        "layers_pattern": null,
        "layers_to_transform": null,
        "loftq_config": {},
        "lora_alpha": alpha,
        "lora_bias": false,
        "lora_dropout": 0.0,
        "lora_ga_config": null,
        "megatron_config": null,
        "megatron_core": "megatron.core",
        "modules_to_save": ["classifier", "pooler"],
        "monteclora_config": null,
        "peft_type": "LORA",
        "qalora_group_size": 16,
        "r": h.lora_rank,
        "rank_pattern": {},
        "revision": null,
        "target_modules": target_modules,
        "target_parameters": null,
        "task_type": "SEQ_CLS",
        "trainable_token_indices": null,
        "use_bdlora": null,
        "use_dora": false,
        "use_qalora": false,
        "use_rslora": false,
        "velora_config": null
    })
}
