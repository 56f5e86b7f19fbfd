//! The benchmarked rows. Each is a [`tabs_experiments::method::Method`] (whose adapter spec comes from
//! [`tabs_experiments::method::adapter_spec`], never rebuilt here) plus how it is run: kernel, merged or not.
//!
//! | row | method | how |
//! |---|---|---|
//! | `frozen` | none | the frozen base model, no adapter |
//! | `lora-merged` | lora | LoRA r = 8 merged into W (same compute as `frozen`) |
//! | `lora-unmerged` | lora | y = W h + (α/r)·B A h |
//! | `bhsp-merged` | bhsp | BHSP's one gate set per layer folded into W: a dense map of W's shape (timed as `frozen`) |
//! | `bhsp` | bhsp | unmerged, one gate set per layer, global budget ρ·L, dense-masked kernel |
//! | `cbsp` | cbsp | gates per sequence, no inference cut, dense-masked kernel |
//! | `cbsp-gathered` | cbsp | the same, gathered kernel |
//! | `tabs-dense` | tabs | gates per token, top-B cut, dense-masked kernel |
//! | `tabs-gathered` | tabs | the same, gathered kernel |
//! | `tabs-noproj` | tabs-noproj | ablation: no projection, no cut, gate 1[ℓ > 0], dense-masked kernel |
//!
//! Dense-masked is `tabs`' default kernel and, measured on this CPU, the faster one (README, "Kernels"); the
//! gathered rows show what skipping inactive pairs costs or saves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tabs::{GatingConfig, Kernel};
use tabs_deberta::AdapterSpec;
use tabs_experiments::method::{adapter_spec, AdapterHyper, Method};

/// One benchmarked row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BenchMethod {
    /// Frozen base model.
    Frozen,
    /// LoRA merged into W.
    LoraMerged,
    /// LoRA unmerged.
    LoraUnmerged,
    /// BHSP merged into W.
    BhspMerged,
    /// BHSP unmerged.
    Bhsp,
    /// CBSP (dense-masked kernel).
    Cbsp,
    /// CBSP, gathered kernel.
    CbspGathered,
    /// TABS, dense-masked kernel.
    TabsDense,
    /// TABS, gathered kernel.
    TabsGathered,
    /// TABS without projection or cut.
    TabsNoproj,
}

impl BenchMethod {
    /// Every row, in table order.
    pub const ALL: [BenchMethod; 10] = [
        BenchMethod::Frozen,
        BenchMethod::LoraMerged,
        BenchMethod::LoraUnmerged,
        BenchMethod::BhspMerged,
        BenchMethod::Bhsp,
        BenchMethod::Cbsp,
        BenchMethod::CbspGathered,
        BenchMethod::TabsDense,
        BenchMethod::TabsGathered,
        BenchMethod::TabsNoproj,
    ];

    /// Name on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            BenchMethod::Frozen => "frozen",
            BenchMethod::LoraMerged => "lora-merged",
            BenchMethod::LoraUnmerged => "lora-unmerged",
            BenchMethod::BhspMerged => "bhsp-merged",
            BenchMethod::Bhsp => "bhsp",
            BenchMethod::Cbsp => "cbsp",
            BenchMethod::CbspGathered => "cbsp-gathered",
            BenchMethod::TabsDense => "tabs-dense",
            BenchMethod::TabsGathered => "tabs-gathered",
            BenchMethod::TabsNoproj => "tabs-noproj",
        }
    }

    /// The training method behind the row (None for the frozen model).
    pub fn method(self) -> Option<Method> {
        match self {
            BenchMethod::Frozen => None,
            BenchMethod::LoraMerged | BenchMethod::LoraUnmerged => Some(Method::Lora),
            BenchMethod::BhspMerged | BenchMethod::Bhsp => Some(Method::Bhsp),
            BenchMethod::Cbsp | BenchMethod::CbspGathered => Some(Method::Cbsp),
            BenchMethod::TabsDense | BenchMethod::TabsGathered => Some(Method::Tabs),
            BenchMethod::TabsNoproj => Some(Method::TabsNoproj),
        }
    }

    /// Kernel of the gated term (gated rows only).
    pub fn kernel(self) -> Kernel {
        match self {
            BenchMethod::TabsGathered | BenchMethod::CbspGathered => Kernel::Gathered,
            _ => Kernel::DenseMasked,
        }
    }

    /// Whether the adapter is folded into W (no adapter compute at inference).
    pub fn merged(self) -> bool {
        matches!(self, BenchMethod::LoraMerged | BenchMethod::BhspMerged)
    }

    /// Whether the row runs gated spectral adapters at inference.
    pub fn gated(self) -> bool {
        !self.merged() && self.method().is_some_and(Method::is_spectral)
    }

    /// The adapter spec of the row (from `tabs_experiments::method::adapter_spec`, with the row's kernel).
    pub fn spec(self, hyper: &AdapterHyper) -> Option<AdapterSpec> {
        let h = AdapterHyper {
            kernel: self.kernel(),
            ..*hyper
        };
        adapter_spec(self.method()?, &h)
    }

    /// The gating configuration of a gated row.
    pub fn gating(self, hyper: &AdapterHyper) -> Option<GatingConfig> {
        self.spec(hyper).and_then(gating_of)
    }
}

/// The gating configuration inside an adapter spec (one place to adapt if `AdapterSpec`'s fields change).
pub fn gating_of(spec: AdapterSpec) -> Option<GatingConfig> {
    spec.gating
}

impl fmt::Display for BenchMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BenchMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        BenchMethod::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = BenchMethod::ALL.iter().map(|m| m.name()).collect();
            format!("unknown method {s:?} (expected one of {})", names.join(", "))
        })
    }
}
