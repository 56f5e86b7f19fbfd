//! # tabs-bench — measurement for TABS
//!
//! The instrument behind the seed's claims (p99 latency, FLOPs, budget violations): every subcommand of the
//! `tabs-bench` binary is one function here, writing JSON + CSV + an SVG plot into its output folder.
//!
//! | module | concept |
//! |---|---|
//! | [`summary`] | mean / p50 / p99 / max of timings (nearest-rank percentiles) |
//! | [`output`] | atomic JSON / CSV writes, the run record (command line, time) |
//! | [`methods`] | the benchmarked rows (frozen, LoRA merged/unmerged, BHSP, CBSP, TABS kernels, ablation) |
//! | [`sim`] | gate decisions from a stated logit distribution, through `tabs`' own gate code |
//! | [`lengths`] | length mixes (uniform + log-uniform 1..4096; a GLUE-like mix for latency) |
//! | [`budget`] | violations and worst r/B over many random inputs, per method |
//! | [`flops`] | realised adapter + controller FLOPs vs length against the guarantee B(T)·cost (simulated or trained gates) |
//! | [`latency`] | per-sequence forward latency of a base-size DeBERTa, per method and length |
//! | [`peer`] | the PyTorch peer's JSON (`scripts/torch_bench.py`, several files joined) and ours/peer ratios |
//! | [`trained`] | a trained run read back (DeBERTa or BERT, GLUE or CSV) and windows of its dev texts |
//! | [`ranks`] | per-token rank histograms of a trained adapter and the tokens that get high rank |
//! | [`train_step`] | seconds per fine-tuning step (forward + backward + AdamW) of a base-size DeBERTa, per method, and ours / peer |
//! | [`tradeoff`] | accuracy vs inference budget ρ_infer from one trained model (the cut makes any ρ valid) |
//! | [`plot`] | SVG line charts (plotters, no system fonts) |
//! | [`report`] | one Markdown page from the latest results |
//! | [`device`] | `--device cpu\|wgpu\|cuda` |

pub mod budget;
pub mod device;
pub mod flops;
pub mod latency;
pub mod lengths;
pub mod methods;
pub mod output;
pub mod peer;
pub mod plot;
pub mod ranks;
pub mod report;
pub mod sim;
pub mod summary;
pub mod tradeoff;
pub mod train_step;
pub mod trained;
