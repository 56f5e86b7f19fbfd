//! Adapter files: `adapter_config.json` (an [`AdapterManifest`]: method, targets, R, ρ, α, k, seed, …) and
//! `adapter.safetensors` (the adapter's tensors, f32, keyed by their module path, e.g.
//! `encoder.layer.0.attention.query_proj.spectral.a_u`).
//!
//! Which tensors: by default every tensor inside a [`crate::GatedSpectral`], [`crate::Lora`] or
//! [`crate::SpectralGates`] module — the trainable A_U, A_V, LoRA A/B, controllers, layer logits and
//! multipliers, plus the frozen spectral basis (U_R, s, V_R), so a loaded adapter reproduces its outputs
//! bit-for-bit without recomputing an SVD. Models add their own always-trainable parts (a classifier head)
//! with [`save_adapter_with`] / [`load_adapter_with`] and a wider [`TensorFilter`].
//!
//! Writing is atomic (temporary files, then rename). Loading checks the manifest against the model's, every
//! tensor's presence, dtype and shape, and that the file holds no tensor the model lacks, before changing
//! anything; every failure is a typed [`TabsError`] naming the file and key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TabsError};
use crate::granularity::Granularity;

/// File name of the manifest.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// File name of the tensors.
pub const TENSORS_FILE: &str = "adapter.safetensors";
/// Format tag written into every manifest.
pub const FORMAT: &str = "tabs-adapter/1";

/// What an adapter is: recorded on save, checked on load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Method name: `lora`, `bhsp`, `cbsp`, `tabs`, … (free text, must match on load).
    pub method: String,
    /// Target map name patterns.
    pub targets: Vec<String>,
    /// R (spectral) or r (LoRA).
    pub rank: usize,
    /// ρ (spectral methods).
    pub rho: Option<f64>,
    /// α.
    pub alpha: f64,
    /// k, the controller's hidden width (Sequence / Token).
    pub controller_hidden: Option<usize>,
    /// Gate granularity (spectral methods).
    pub granularity: Option<Granularity>,
    /// Seed of the run.
    pub seed: u64,
    /// Anything else the caller wants to record (not checked).
    #[serde(default)]
    pub extra: serde_json::Value,
}

impl AdapterManifest {
    /// A manifest with the format tag set.
    pub fn new(method: impl Into<String>, targets: Vec<String>, rank: usize, alpha: f64, seed: u64) -> Self {
        Self {
            format: FORMAT.into(),
            method: method.into(),
            targets,
            rank,
            rho: None,
            alpha,
            controller_hidden: None,
            granularity: None,
            seed,
            extra: serde_json::Value::Null,
        }
    }

    /// Compare the fields that change the meaning of the tensors (format, method, targets, rank, α, k,
    /// granularity). ρ and the seed may differ: the budget can be changed at inference.
    fn check_against(&self, found: &AdapterManifest, path: &Path) -> Result<()> {
        let mismatch = |field: &'static str, expected: String, found: String| TabsError::Mismatch {
            path: path.to_path_buf(),
            field,
            expected,
            found,
        };
        if found.format != self.format {
            return Err(mismatch("format", self.format.clone(), found.format.clone()));
        }
        if found.method != self.method {
            return Err(mismatch("method", self.method.clone(), found.method.clone()));
        }
        if found.targets != self.targets {
            return Err(mismatch(
                "targets",
                format!("{:?}", self.targets),
                format!("{:?}", found.targets),
            ));
        }
        if found.rank != self.rank {
            return Err(mismatch("rank", self.rank.to_string(), found.rank.to_string()));
        }
        if found.alpha != self.alpha {
            return Err(mismatch("alpha", self.alpha.to_string(), found.alpha.to_string()));
        }
        if found.controller_hidden != self.controller_hidden {
            return Err(mismatch(
                "controller_hidden",
                format!("{:?}", self.controller_hidden),
                format!("{:?}", found.controller_hidden),
            ));
        }
        if found.granularity != self.granularity {
            return Err(mismatch(
                "granularity",
                format!("{:?}", self.granularity),
                format!("{:?}", found.granularity),
            ));
        }
        Ok(())
    }
}

/// Where a tensor sits in a module: field names (`names`) and the enclosing containers' types
/// (`containers`, e.g. `"Struct:GatedSpectral"`, `"Vec"`), outermost first.
#[derive(Debug, Clone, Copy)]
pub struct TensorPath<'a> {
    /// Field names, the last one is the tensor's.
    pub names: &'a [String],
    /// Container types, parallel to `names`.
    pub containers: &'a [String],
}

impl TensorPath<'_> {
    /// The dotted key, e.g. `layers.0.controller.hidden.weight`.
    pub fn key(&self) -> String {
        self.names.join(".")
    }

    /// Whether any enclosing container is the struct `name` (e.g. `"GatedSpectral"`).
    pub fn inside(&self, name: &str) -> bool {
        self.containers.iter().any(|c| c.strip_prefix("Struct:") == Some(name))
    }
}

/// Selects the tensors an adapter file holds.
pub trait TensorFilter: Fn(&TensorPath<'_>) -> bool {}
impl<F: Fn(&TensorPath<'_>) -> bool> TensorFilter for F {}

/// The default selection: everything inside `GatedSpectral`, `Lora` or `SpectralGates`.
pub fn adapter_tensors(path: &TensorPath<'_>) -> bool {
    path.inside("GatedSpectral") || path.inside("Lora") || path.inside("SpectralGates")
}

/// The tensors of an adapter file for a HF-style sequence classifier: every adapter and gate tensor
/// ([`adapter_tensors`]) plus the always-trainable heads `pooler.*` and `classifier.*`. Used by every backbone.
pub fn adapter_and_head_tensors(path: &TensorPath<'_>) -> bool {
    adapter_tensors(path) || matches!(path.names.first().map(String::as_str), Some("pooler" | "classifier"))
}

/// Save the adapter tensors of `module` (default selection) and `manifest` into `dir` (created if needed).
pub fn save_adapter<B: Backend, M: Module<B>>(module: &M, dir: &Path, manifest: &AdapterManifest) -> Result<()> {
    save_adapter_with(module, dir, manifest, adapter_tensors)
}

/// [`save_adapter`] with a custom selection.
pub fn save_adapter_with<B: Backend, M: Module<B>>(
    module: &M,
    dir: &Path,
    manifest: &AdapterManifest,
    filter: impl TensorFilter,
) -> Result<()> {
    let mut collector = Collector::<B, _> {
        walk: Walk::new(&filter),
        tensors: BTreeMap::new(),
        _b: std::marker::PhantomData,
    };
    module.visit(&mut collector);
    let bytes: BTreeMap<String, (Vec<usize>, Vec<u8>)> = collector
        .tensors
        .into_iter()
        .map(|(k, (shape, values))| {
            let raw = values.iter().flat_map(|x| x.to_le_bytes()).collect();
            (k, (shape, raw))
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(k, (shape, raw))| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), raw)
                .expect("shape and byte length agree by construction");
            (k.clone(), view)
        })
        .collect();
    let tensors_path = dir.join(TENSORS_FILE);
    let blob = safetensors::serialize(views, None).map_err(|e| TabsError::Safetensors {
        path: tensors_path.clone(),
        reason: e.to_string(),
    })?;
    let config_path = dir.join(CONFIG_FILE);
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| TabsError::Config {
        path: config_path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::create_dir_all(dir).map_err(|source| TabsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_atomic(&tensors_path, &blob)?;
    write_atomic(&config_path, &json)
}

/// Write `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    let io = |source| TabsError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Read and parse the manifest of an adapter folder.
pub fn read_manifest(dir: &Path) -> Result<AdapterManifest> {
    let path = dir.join(CONFIG_FILE);
    let bytes = std::fs::read(&path).map_err(|source| TabsError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| TabsError::Config {
        path,
        reason: e.to_string(),
    })
}

/// Load an adapter folder into `module` (default selection), checking it against `expected`.
pub fn load_adapter<B: Backend, M: Module<B>>(module: M, dir: &Path, expected: &AdapterManifest) -> Result<M> {
    load_adapter_with(module, dir, expected, adapter_tensors)
}

/// [`load_adapter`] with a custom selection.
pub fn load_adapter_with<B: Backend, M: Module<B>>(
    module: M,
    dir: &Path,
    expected: &AdapterManifest,
    filter: impl TensorFilter,
) -> Result<M> {
    load_adapter_aliased(module, dir, expected, filter, |_| Vec::new())
}

/// [`load_adapter_with`] for files that may name a tensor differently: a tensor the module expects under `key`
/// is also looked for under each of `aliases(key)` (e.g. the module paths of an older layout).
pub fn load_adapter_aliased<B: Backend, M: Module<B>>(
    module: M,
    dir: &Path,
    expected: &AdapterManifest,
    filter: impl TensorFilter,
    aliases: impl Fn(&str) -> Vec<String>,
) -> Result<M> {
    let manifest = read_manifest(dir)?;
    expected.check_against(&manifest, &dir.join(CONFIG_FILE))?;
    let path = dir.join(TENSORS_FILE);
    let bytes = std::fs::read(&path).map_err(|source| TabsError::Io {
        path: path.clone(),
        source,
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| TabsError::Safetensors {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    // First pass: what the model expects.
    let mut shapes = ShapeCollector::<B, _> {
        walk: Walk::new(&filter),
        shapes: BTreeMap::new(),
        _b: std::marker::PhantomData,
    };
    module.visit(&mut shapes);
    let mut values: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut used = std::collections::BTreeSet::new();
    for (key, shape) in &shapes.shapes {
        let stored = std::iter::once(key.clone())
            .chain(aliases(key))
            .find(|k| st.tensor(k).is_ok())
            .ok_or_else(|| TabsError::MissingTensor {
                path: path.clone(),
                name: key.clone(),
            })?;
        let view = st.tensor(&stored).map_err(|e| TabsError::Safetensors {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        used.insert(stored);
        if view.dtype() != Dtype::F32 || view.shape() != shape.as_slice() {
            return Err(TabsError::ShapeMismatch {
                path: path.clone(),
                name: key.clone(),
                expected: shape.clone(),
                found: view.shape().to_vec(),
                dtype: format!("{:?}", view.dtype()),
            });
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        values.insert(key.clone(), data);
    }
    if let Some(extra) = st.names().into_iter().find(|n| !used.contains(*n)) {
        return Err(TabsError::UnexpectedTensor {
            path,
            name: extra.to_string(),
        });
    }
    // Second pass: replace values, keeping each parameter's id and gradient requirement.
    let mut setter = Setter::<B, _> {
        walk: Walk::new(&filter),
        values,
        _b: std::marker::PhantomData,
    };
    Ok(module.map(&mut setter))
}

/// The module path while a visitor or mapper walks a module, and the selection filter.
struct Walk<'f, F> {
    filter: &'f F,
    names: Vec<String>,
    containers: Vec<String>,
}

impl<'f, F: TensorFilter> Walk<'f, F> {
    fn new(filter: &'f F) -> Self {
        Self {
            filter,
            names: Vec::new(),
            containers: Vec::new(),
        }
    }

    fn enter(&mut self, name: &str, container_type: &str) {
        self.names.push(name.to_string());
        self.containers.push(container_type.to_string());
    }

    fn exit(&mut self) {
        self.names.pop();
        self.containers.pop();
    }

    /// The dotted key of the current tensor when the filter selects it.
    fn selected_key(&self) -> Option<String> {
        let path = TensorPath {
            names: &self.names,
            containers: &self.containers,
        };
        (self.filter)(&path).then(|| path.key())
    }
}

struct Collector<'f, B, F> {
    walk: Walk<'f, F>,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    _b: std::marker::PhantomData<B>,
}

struct ShapeCollector<'f, B, F> {
    walk: Walk<'f, F>,
    shapes: BTreeMap<String, Vec<usize>>,
    _b: std::marker::PhantomData<B>,
}

struct Setter<'f, B, F> {
    walk: Walk<'f, F>,
    values: BTreeMap<String, Vec<f32>>,
    _b: std::marker::PhantomData<B>,
}

impl<B: Backend, F: TensorFilter> ModuleVisitor<B> for Collector<'_, B, F> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.walk.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.walk.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(key) = self.walk.selected_key() {
            let t = param.val();
            let shape = t.dims().to_vec();
            let data = t
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .expect("a float tensor converts to f32");
            self.tensors.insert(key, (shape, data));
        }
    }
}

impl<B: Backend, F: TensorFilter> ModuleVisitor<B> for ShapeCollector<'_, B, F> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.walk.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.walk.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(key) = self.walk.selected_key() {
            self.shapes.insert(key, param.dims().to_vec());
        }
    }
}

impl<B: Backend, F: TensorFilter> ModuleMapper<B> for Setter<'_, B, F> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.walk.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.walk.exit();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let Some(key) = self.walk.selected_key() else {
            return param;
        };
        let Some(values) = self.values.remove(&key) else {
            return param;
        };
        param.map(|t| {
            let require_grad = t.is_require_grad();
            let shape: [usize; D] = t.dims();
            let device = t.device();
            Tensor::<B, D>::from_data(TensorData::new(values, shape), &device).set_require_grad(require_grad)
        })
    }
}

/// Convenience: the folder's two file paths (config, tensors).
pub fn adapter_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(CONFIG_FILE), dir.join(TENSORS_FILE))
}
