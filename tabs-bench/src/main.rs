//! `tabs-bench`: latency, FLOPs, budget and rank statistics for every method, with plots and a PyTorch peer.
//! Thin: parse flags, call the library, write `<out>/<name>.{json,csv,svg}`. See `tabs-bench/README.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use burn::tensor::backend::Backend;
use clap::{Args, Parser, Subcommand};
use tabs_bench::budget::{self, BudgetArgs, BudgetRow};
use tabs_bench::device::DeviceKind;
use tabs_bench::flops::{self, FlopArgs, FlopPoint, TrainedSource};
use tabs_bench::latency::{self, kernel_compare, LatencyArgs, LatencyResults, LatencyRow};
use tabs_bench::methods::BenchMethod;
use tabs_bench::output::{file_in, write_csv, write_json, write_text, ResultFile, RunRecord};
use tabs_bench::plot::{format_si, line_chart, Chart, Series};
use tabs_bench::ranks::{self, RanksArgs, RanksResult};
use tabs_bench::sim::LogitDist;
use tabs_bench::tradeoff::{self, TradeoffArgs, TradeoffPoint};
use tabs_bench::train_step::{self, TrainStepArgs, TrainStepResults};
use tabs_bench::{peer, report};
use tabs_experiments::backbone::LayerShape;
use tabs_experiments::method::{AdapterHyper, Method};

#[derive(Parser, Debug)]
#[command(
    name = "tabs-bench",
    about = "Latency, FLOPs, budget and rank statistics for TABS and its baselines"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Output folder (default bench-results/<subcommand>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// cpu, wgpu or cuda (wgpu/cuda need `--features wgpu|cuda` at build time).
    #[arg(long, default_value = "cpu")]
    device: DeviceKind,
    /// Seed of everything random.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Spectral rank R.
    #[arg(long, default_value_t = 16)]
    rank: usize,
    /// ρ: active directions per token on average (B(T) = ⌊ρT⌋).
    #[arg(long, default_value_t = 8.0)]
    rho: f64,
    /// LoRA rank r.
    #[arg(long, default_value_t = 8)]
    lora_rank: usize,
    /// Controller hidden width k (default R).
    #[arg(long)]
    k: Option<usize>,
}

impl Common {
    fn hyper(&self) -> AdapterHyper {
        AdapterHyper {
            spectral_rank: self.rank,
            lora_rank: self.lora_rank,
            rho: self.rho,
            controller_hidden: self.k,
            ..AdapterHyper::default()
        }
    }
    fn out(&self, name: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("bench-results").join(name))
    }
}

#[derive(Args, Debug, Clone)]
struct Dist {
    /// Mean μ of the simulated logits (default: the initial logit ℓ₀, P(z ≠ 0) = ρ/R).
    #[arg(long)]
    logit_mean: Option<f64>,
    /// Standard deviation σ of the simulated logits.
    #[arg(long, default_value_t = 2.0)]
    logit_std: f64,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Per-sequence forward latency vs length and batch, per method (+ ratios to the PyTorch peer).
    Latency {
        #[command(flatten)]
        common: Common,
        /// Methods (default: all rows).
        #[arg(long, value_delimiter = ',')]
        methods: Option<Vec<BenchMethod>>,
        /// Fixed lengths.
        #[arg(long, value_delimiter = ',', default_value = "64,128,256,512,1024,2048,4096")]
        lengths: Vec<usize>,
        /// Sequences per pass.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Untimed passes first.
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Timed passes at T ≤ 256 (×256/T above).
        #[arg(long, default_value_t = 20)]
        iters: usize,
        /// At least this many timed passes.
        #[arg(long, default_value_t = 3)]
        min_iters: usize,
        /// Inputs of the GLUE-like length mix (0: none).
        #[arg(long, default_value_t = 50)]
        mix: usize,
        /// Longest length of the mix.
        #[arg(long, default_value_t = 512)]
        mix_max: usize,
        /// Checkpoint folder (default: base-size random-init DeBERTa-v3).
        #[arg(long)]
        model: Option<PathBuf>,
        /// The PyTorch peer's JSON (scripts/torch_bench.py) for ours/peer ratios (comma-separated to join several).
        #[arg(long, value_delimiter = ',')]
        peer: Vec<PathBuf>,
        /// Do not time: take the rows of earlier latency.json files (comma-separated; e.g. to add the peer's
        /// ratios afterwards, or to join runs of different lengths at the same batch).
        #[arg(long, value_delimiter = ',')]
        rows_from: Vec<PathBuf>,
    },
    /// Realised adapter + controller FLOPs vs length, per method, against the guarantee line B(T)·cost.
    Flops {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        dist: Dist,
        /// Methods (default: all rows).
        #[arg(long, value_delimiter = ',')]
        methods: Option<Vec<BenchMethod>>,
        /// Lengths.
        #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256,512,1024,2048,4096")]
        lengths: Vec<usize>,
        /// Inputs per length (random gate draws; with --run, windows of real text).
        #[arg(long, default_value_t = 16)]
        samples: usize,
        /// A HF config.json (DeBERTa or BERT) for the shapes (default: DeBERTa-v3-base).
        #[arg(long, conflicts_with = "run")]
        config: Option<PathBuf>,
        /// A trained run folder of examples/glue (repeat for runs of other methods, same R and ρ): count its
        /// real gate decisions on windows of its dev texts (R, ρ, k and the method then come from the run;
        /// --methods and the logit flags do not apply).
        #[arg(long, requires_all = ["model", "data"], conflicts_with_all = ["methods", "logit_mean"])]
        run: Vec<PathBuf>,
        /// With --run: the checkpoint folder it was trained from.
        #[arg(long, requires = "run")]
        model: Option<PathBuf>,
        /// With --run: its data (GLUE task folder or CSV text folder).
        #[arg(long, requires = "run")]
        data: Option<PathBuf>,
        /// With --run: sequences per forward pass.
        #[arg(long, default_value_t = 8)]
        batch: usize,
    },
    /// Budget violations and worst r/B over many random inputs, per gated method.
    Budget {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        dist: Dist,
        /// Gated methods.
        #[arg(long, value_delimiter = ',', default_value = "bhsp,cbsp,tabs-gathered,tabs-noproj")]
        methods: Vec<BenchMethod>,
        /// Random inputs.
        #[arg(long, default_value_t = 10_000)]
        inputs: usize,
        /// Longest input.
        #[arg(long, default_value_t = 4096)]
        max_len: usize,
        /// Layers per input.
        #[arg(long, default_value_t = 12)]
        layers: usize,
        /// Sequences per padded batch.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Do not simulate: redraw the table and plot from the rows of an earlier budget.json.
        #[arg(long)]
        rows_from: Option<PathBuf>,
    },
    /// Per-token rank histograms of a trained adapter on its dev set, and the tokens with highest rank.
    Ranks {
        #[command(flatten)]
        common: Common,
        /// Run folder of examples/glue (config.json + adapter/), GLUE or `--task csv`.
        #[arg(long)]
        run: PathBuf,
        /// Checkpoint folder the run was trained from (DeBERTa or BERT).
        #[arg(long)]
        model: PathBuf,
        /// The run's data: GLUE (root or task folder) or the CSV text folder.
        #[arg(long)]
        data: PathBuf,
        /// Sequences per batch.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// At most this many dev examples.
        #[arg(long)]
        max_examples: Option<usize>,
        /// Tokens listed at each end.
        #[arg(long, default_value_t = 15)]
        top: usize,
        /// Minimum occurrences of a listed token.
        #[arg(long, default_value_t = 5)]
        min_count: u64,
    },
    /// Accuracy vs inference budget ρ_infer of trained runs (one model, every budget: the cut makes any ρ valid).
    Tradeoff {
        #[command(flatten)]
        common: Common,
        /// Run folders of examples/glue (gated methods), all trained from --model on --data (repeat the flag).
        #[arg(long, required = true)]
        run: Vec<PathBuf>,
        /// Checkpoint folder the runs were trained from (DeBERTa or BERT).
        #[arg(long)]
        model: PathBuf,
        /// The runs' data: GLUE (root or task folder) or the CSV text folder.
        #[arg(long)]
        data: PathBuf,
        /// Inference budgets ρ_infer.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,6,8,12,16")]
        rhos: Vec<f64>,
        /// Sequences per batch.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// At most this many dev examples.
        #[arg(long)]
        max_examples: Option<usize>,
    },
    /// Seconds per fine-tuning step (forward + backward + AdamW) of a base-size DeBERTa-v3, per method
    /// (+ ratios to the PyTorch peer, scripts/torch_train_step.py).
    TrainStep {
        #[command(flatten)]
        common: Common,
        /// Methods, one row each.
        #[arg(long, value_delimiter = ',', default_value = "lora,tabs,full")]
        methods: Vec<Method>,
        /// Tokens per sequence.
        #[arg(long, default_value_t = 128)]
        length: usize,
        /// Sequences per step.
        #[arg(long, default_value_t = 8)]
        batch_size: usize,
        /// Timed steps per method.
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Untimed steps first.
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// AdamW learning rate (does not change the cost).
        #[arg(long, default_value_t = 5e-4)]
        lr: f64,
        /// Checkpoint folder (default: base-size random-init DeBERTa-v3).
        #[arg(long)]
        model: Option<PathBuf>,
        /// The PyTorch peer's output (scripts/torch_train_step.py, JSON lines) for ours/peer ratios.
        #[arg(long)]
        peer: Option<PathBuf>,
    },
    /// One Markdown page from the latest results (default bench-results/report.md).
    Report {
        /// Folder holding latency/, flops/, budget/, ranks/.
        #[arg(long, default_value = "bench-results")]
        root: PathBuf,
        /// Output file (default ROOT/report.md).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Run `$body` with `$B` the backend type and `$dev` its device, or fail clearly when not compiled in.
macro_rules! on_device {
    ($kind:expr, $B:ident, $dev:ident, $body:expr) => {{
        $kind.check().map_err(|e| anyhow!(e))?;
        match $kind {
            DeviceKind::Cpu => {
                type $B = tabs_hf::Cpu;
                let $dev = burn::backend::flex::FlexDevice;
                $body
            }
            DeviceKind::Wgpu => {
                #[cfg(feature = "wgpu")]
                {
                    type $B = burn::backend::Wgpu;
                    let $dev = burn::backend::wgpu::WgpuDevice::default();
                    $body
                }
                #[cfg(not(feature = "wgpu"))]
                unreachable!("checked above")
            }
            DeviceKind::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    type $B = burn::backend::Cuda;
                    let $dev = burn::backend::cuda::CudaDevice::default();
                    $body
                }
                #[cfg(not(feature = "cuda"))]
                unreachable!("checked above")
            }
        }
    }};
}

fn progress(line: &str) {
    eprintln!("[tabs-bench] {line}");
}

fn main() -> std::process::ExitCode {
    tabs_hf::malloc::reuse_freed_memory();
    tabs_experiments::cli::exit("tabs-bench", run_cli(Cli::parse()))
}

fn run_cli(cli: Cli) -> Result<()> {
    cli.cmd.check()?;
    let start = Instant::now();
    match cli.cmd {
        Cmd::Latency {
            common,
            methods,
            lengths,
            batch,
            warmup,
            iters,
            min_iters,
            mix,
            mix_max,
            model,
            peer,
            rows_from,
        } => {
            let args = LatencyArgs {
                methods: methods.unwrap_or_else(|| BenchMethod::ALL.to_vec()),
                lengths,
                batch,
                warmup,
                iters,
                min_iters,
                mix,
                mix_max,
                seed: common.seed,
                hyper: common.hyper(),
                model,
            };
            let peer = peer::read_all(&peer)?;
            let (rows, timed_by, args) = if rows_from.is_empty() {
                (
                    on_device!(common.device, B, dev, latency::run::<B>(&args, &dev, progress)?),
                    None,
                    args,
                )
            } else {
                let files = rows_from
                    .iter()
                    .map(|p| tabs_bench::output::read_json(p))
                    .collect::<Result<Vec<report::LatencyFile>>>()?;
                let (rows, by, args) = latency::join_files(files).map_err(|e| anyhow!("--rows-from: {e}"))?;
                (rows, Some(by), args)
            };
            let ratios = peer.as_ref().map_or(Vec::new(), |p| peer::ratios(&rows, &p.rows));
            let results = LatencyResults {
                kernels: kernel_compare(&rows),
                rows,
                peer,
                ratios,
                timed_by,
            };
            write_latency(&common.out("latency"), record(&common, start), args, results)
        }
        Cmd::Flops {
            common,
            dist,
            methods,
            lengths,
            samples,
            config,
            run,
            model,
            data,
            batch,
        } => {
            let dist = LogitDist {
                mean: dist.logit_mean,
                std: dist.logit_std,
            };
            let mut args = FlopArgs {
                methods: Vec::new(),
                lengths,
                samples,
                dist,
                seed: common.seed,
                hyper: common.hyper(),
                model: "DeBERTa-v3-base".into(),
                trained: None,
                skipped: Vec::new(),
            };
            let points = match (model, data) {
                (Some(model), Some(data)) => {
                    let src = TrainedSource {
                        runs: run,
                        model,
                        data,
                        batch,
                    };
                    let got = on_device!(common.device, B, dev, {
                        flops::run_trained::<B>(&src, &args.lengths, samples, &dev, progress)?
                    });
                    for s in &got.skipped {
                        progress(&format!("skipped {s}"));
                    }
                    (args.hyper, args.model, args.skipped) = (got.hyper, got.model, got.skipped);
                    args.trained = Some(src);
                    got.points
                }
                _ => {
                    let shape = match &config {
                        Some(p) => {
                            args.model = p.display().to_string();
                            LayerShape::from_config_file(p)?
                        }
                        None => LayerShape::from(&tabs_deberta::DebertaConfig::v3_base()),
                    };
                    args.methods = methods.unwrap_or_else(|| BenchMethod::ALL.to_vec());
                    on_device!(common.device, B, dev, flops::run::<B>(&args, &shape, &dev, progress))
                }
            };
            write_flops(&common.out("flops"), record(&common, start), args, points)
        }
        Cmd::Budget {
            common,
            dist,
            methods,
            inputs,
            max_len,
            layers,
            batch,
            rows_from,
        } => {
            if let Some(p) = rows_from {
                let old: report::BudgetFile = tabs_bench::output::read_json(&p)?;
                return write_budget(&common.out("budget"), old.record, old.args, old.results);
            }
            if let Some(m) = methods.iter().find(|m| !m.gated()) {
                bail!("--methods: `{m}` has no gates and no budget (use bhsp, cbsp, tabs-dense, tabs-gathered, tabs-noproj)");
            }
            let args = BudgetArgs {
                methods,
                inputs,
                max_len,
                layers,
                batch,
                dist: LogitDist {
                    mean: dist.logit_mean,
                    std: dist.logit_std,
                },
                seed: common.seed,
                hyper: common.hyper(),
            };
            let rows = on_device!(common.device, B, dev, {
                <B as Backend>::seed(&dev, common.seed);
                budget::run::<B>(&args, &dev, progress)
            });
            write_budget(&common.out("budget"), record(&common, start), args, rows)
        }
        Cmd::Ranks {
            common,
            run,
            model,
            data,
            batch,
            max_examples,
            top,
            min_count,
        } => {
            let args = RanksArgs {
                run,
                model,
                data,
                batch,
                max_examples,
                top,
                min_count,
            };
            let result = on_device!(common.device, B, dev, ranks::run::<B>(&args, &dev, progress)?);
            write_ranks(&common.out("ranks"), record(&common, start), args, result)
        }
        Cmd::TrainStep {
            common,
            methods,
            length,
            batch_size,
            steps,
            warmup,
            lr,
            model,
            peer,
        } => {
            let peer = match &peer {
                Some(p) => train_step::read_peer(p, length, batch_size)?,
                None => Vec::new(),
            };
            let args = TrainStepArgs {
                methods,
                length,
                batch_size,
                steps,
                warmup,
                lr,
                seed: common.seed,
                hyper: common.hyper(),
                model,
            };
            let rows = on_device!(
                common.device,
                B,
                dev,
                train_step::run::<burn::backend::Autodiff<B>>(&args, &dev, progress)?
            );
            let ratios = train_step::ratios(&rows, &peer);
            let results = TrainStepResults { rows, peer, ratios };
            write_train_step(&common.out("train-step"), record(&common, start), args, results)
        }
        Cmd::Tradeoff {
            common,
            run,
            model,
            data,
            rhos,
            batch,
            max_examples,
        } => {
            let args = TradeoffArgs {
                runs: run,
                model,
                data,
                rhos,
                batch,
                max_examples,
            };
            let points = on_device!(common.device, B, dev, tradeoff::run::<B>(&args, &dev, progress)?);
            write_tradeoff(&common.out("tradeoff"), record(&common, start), args, points)
        }
        Cmd::Report { root, out } => {
            let out = out.unwrap_or_else(|| root.join("report.md"));
            write_text(&out, &report::page(&root))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

fn record(common: &Common, start: Instant) -> RunRecord {
    let mut r = RunRecord::now(&common.device.describe());
    r.elapsed_s = start.elapsed().as_secs_f64();
    r
}

fn f(x: f64) -> String {
    format!("{x}")
}

fn write_latency(dir: &Path, record: RunRecord, args: LatencyArgs, results: LatencyResults) -> Result<()> {
    let rows: Vec<Vec<String>> = results
        .rows
        .iter()
        .map(|r| {
            vec![
                r.method.clone(),
                r.shape.clone(),
                r.length.to_string(),
                f(r.mean_length),
                r.batch.to_string(),
                r.ms.n.to_string(),
                f(r.ms.mean),
                f(r.ms.p50),
                f(r.ms.p99),
                f(r.ms.max),
            ]
        })
        .collect();
    write_csv(
        &file_in(dir, "latency.csv")?,
        &[
            "method",
            "shape",
            "length",
            "mean_length",
            "batch",
            "passes",
            "mean_ms",
            "p50_ms",
            "p99_ms",
            "max_ms",
        ],
        &rows,
    )?;
    let mut series = p99_series(&results.rows, "", false);
    if let Some(p) = &results.peer {
        series.extend(p99_series(&p.rows, "torch ", true));
    }
    line_chart(
        &file_in(dir, "latency.svg")?,
        &Chart {
            title: &format!("p99 latency per sequence (batch {})", args.batch),
            x_label: "tokens T",
            y_label: "ms",
            log_x: true,
            log_y: true,
        },
        &series,
    )?;
    if !results.ratios.is_empty() {
        println!("{}", report::ratio_table(&results));
    }
    println!("{}", report::latency_table(&results));
    println!("{}", report::kernel_table(&results));
    write_json(&file_in(dir, "latency.json")?, &ResultFile { record, args, results })?;
    println!("wrote {}/latency.{{json,csv,svg}}", dir.display());
    Ok(())
}

fn write_flops(dir: &Path, record: RunRecord, args: FlopArgs, points: Vec<FlopPoint>) -> Result<()> {
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.method.clone(),
                p.length.to_string(),
                p.samples.to_string(),
                f(p.mean),
                f(p.max),
                f(p.guarantee),
                f(p.max_over_guarantee),
                f(p.frozen_maps),
                p.mean_rank.map_or(String::new(), f),
            ]
        })
        .collect();
    write_csv(
        &file_in(dir, "flops.csv")?,
        &[
            "method",
            "length",
            "samples",
            "mean",
            "max",
            "guarantee",
            "max_over_guarantee",
            "frozen_maps",
            "mean_rank",
        ],
        &rows,
    )?;
    if args.trained.is_some() {
        flops_ratio_chart(&file_in(dir, "flops.svg")?, &args, &points)?;
    } else {
        flops_chart(&file_in(dir, "flops.svg")?, &args, &points)?;
    }
    println!("{}", report::flops_table(&points));
    write_json(
        &file_in(dir, "flops.json")?,
        &ResultFile {
            record,
            args,
            results: points,
        },
    )?;
    println!("wrote {}/flops.{{json,csv,svg}}", dir.display());
    Ok(())
}

/// Simulated gates: mean FLOPs of every row against the guarantee line, log–log.
fn flops_chart(path: &Path, args: &FlopArgs, points: &[FlopPoint]) -> Result<()> {
    let names = first_appearance(points.iter().map(|p| p.method.as_str()).collect());
    let mut series: Vec<Series> = names
        .iter()
        .map(|m| Series {
            name: m.to_string(),
            points: points
                .iter()
                .filter(|p| p.method == *m)
                .map(|p| (p.length as f64, p.mean))
                .collect(),
            dashed: false,
        })
        .filter(|s| s.points.iter().any(|p| p.1 > 0.0)) // merged / frozen rows cost 0: not on a log axis
        .collect();
    let mut g: Vec<(f64, f64)> = points.iter().map(|p| (p.length as f64, p.guarantee)).collect();
    g.sort_by(|a, b| a.0.total_cmp(&b.0));
    g.dedup();
    series.push(Series {
        name: "guarantee B(T)·cost".into(),
        points: g,
        dashed: true,
    });
    line_chart(
        path,
        &Chart {
            title: &format!(
                "adapter + controller FLOPs per sequence (mean), {}",
                model_label(&args.model)
            ),
            x_label: "tokens T",
            y_label: "FLOPs",
            log_x: true,
            log_y: true,
        },
        &series,
    )
}

/// Trained gates: realised FLOPs of the active pairs (gathered kernel) over the guarantee line, per run. The
/// dense-masked rows cost T·R pairs whatever the gates (they are in the table, not the plot).
fn flops_ratio_chart(path: &Path, args: &FlopArgs, points: &[FlopPoint]) -> Result<()> {
    let names = first_appearance(
        points
            .iter()
            .filter(|p| p.method.ends_with("-gathered"))
            .map(|p| p.method.as_str())
            .collect(),
    );
    let mut series: Vec<Series> = names
        .iter()
        .map(|m| Series {
            name: m.trim_end_matches("-gathered").to_string(),
            points: points
                .iter()
                .filter(|p| p.method == *m)
                .map(|p| (p.length as f64, p.mean / p.guarantee))
                .collect(),
            dashed: false,
        })
        .collect();
    series.push(unit_line("guarantee B(T)·cost", points.iter().map(|p| p.length as f64)));
    line_chart(
        path,
        &Chart {
            title: &format!(
                "trained gates on real text: active-pair FLOPs / guarantee (mean), {}",
                model_label(&args.model)
            ),
            x_label: "tokens T",
            y_label: "realised / guarantee",
            log_x: true,
            log_y: false,
        },
        &series,
    )
}

fn write_budget(dir: &Path, record: RunRecord, args: BudgetArgs, rows: Vec<BudgetRow>) -> Result<()> {
    let csv: Vec<Vec<String>> = rows
        .iter()
        .flat_map(|r| {
            r.by_length.iter().map(move |b| {
                vec![
                    r.method.clone(),
                    b.lo.to_string(),
                    b.hi.to_string(),
                    b.groups.to_string(),
                    b.violations.to_string(),
                    f(b.worst_ratio),
                    f(b.mean_ratio),
                ]
            })
        })
        .collect();
    write_csv(
        &file_in(dir, "budget.csv")?,
        &[
            "method",
            "len_lo",
            "len_hi",
            "groups",
            "violations",
            "worst_ratio",
            "mean_ratio",
        ],
        &csv,
    )?;
    let mut series: Vec<Series> = rows
        .iter()
        .map(|r| Series {
            name: format!("{} worst r/B", r.method),
            points: r.by_length.iter().map(|b| (b.lo as f64, b.worst_ratio)).collect(),
            dashed: false,
        })
        .collect();
    series.push(unit_line(
        "budget r = B",
        rows.iter().flat_map(|r| r.by_length.iter().map(|b| b.lo as f64)),
    ));
    line_chart(
        &file_in(dir, "budget.svg")?,
        &Chart {
            title: "worst realised count / budget per length bin",
            x_label: "tokens T (bin start, bins [2^k, 2^(k+1)))",
            y_label: "r / B",
            log_x: true,
            log_y: false,
        },
        &series,
    )?;
    println!("{}", report::budget_table(&rows));
    write_json(
        &file_in(dir, "budget.json")?,
        &ResultFile {
            record,
            args,
            results: rows,
        },
    )?;
    println!("wrote {}/budget.{{json,csv,svg}}", dir.display());
    Ok(())
}

fn write_train_step(dir: &Path, record: RunRecord, args: TrainStepArgs, results: TrainStepResults) -> Result<()> {
    let mut csv = Vec::new();
    for r in &results.rows {
        let ratio = results.ratios.iter().find(|q| q.method == r.method);
        csv.push(vec![
            r.method.clone(),
            r.length.to_string(),
            r.batch_size.to_string(),
            r.steps.to_string(),
            format!("{:.4}", r.mean_step_s),
            format!("{:.4}", r.sd_step_s),
            format!("{:.4}", r.min_step_s),
            format!("{:.4}", r.max_step_s),
            r.trainable_params.to_string(),
            ratio.map_or(String::new(), |q| q.peer_method.clone()),
            ratio.map_or(String::new(), |q| format!("{:.4}", q.peer_s)),
            ratio.map_or(String::new(), |q| format!("{:.3}", q.ratio)),
        ]);
        let vs = ratio.map_or(String::new(), |q| {
            format!("; peer {} {:.3} s, ratio {:.2}×", q.peer_method, q.peer_s, q.ratio)
        });
        println!(
            "{}: {:.3} ± {:.3} s per step ({} steps, batch {} × {} tokens, {} trainable){vs}",
            r.method, r.mean_step_s, r.sd_step_s, r.steps, r.batch_size, r.length, r.trainable_params
        );
    }
    write_csv(
        &file_in(dir, "train-step.csv")?,
        &[
            "method",
            "length",
            "batch_size",
            "steps",
            "mean_step_s",
            "sd_step_s",
            "min_step_s",
            "max_step_s",
            "trainable_params",
            "peer_method",
            "peer_step_s",
            "ratio",
        ],
        &csv,
    )?;
    let path = file_in(dir, "train-step.json")?;
    write_json(&path, &ResultFile { record, args, results })?;
    eprintln!("[tabs-bench] wrote {}", path.display());
    Ok(())
}

fn write_tradeoff(dir: &Path, record: RunRecord, args: TradeoffArgs, points: Vec<TradeoffPoint>) -> Result<()> {
    let csv: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.run.clone(),
                p.method.to_string(),
                f(p.rho_trained),
                f(p.rho_infer),
                format!("{:.4}", p.accuracy),
                f(p.active_pairs_mean),
                f(p.adapter_flops_mean),
                p.groups.to_string(),
                p.violations.to_string(),
                format!("{:.3}", p.worst_ratio),
            ]
        })
        .collect();
    write_csv(
        &file_in(dir, "tradeoff.csv")?,
        &[
            "run",
            "method",
            "rho_trained",
            "rho_infer",
            "accuracy",
            "active_pairs_mean",
            "adapter_flops_mean",
            "groups",
            "violations",
            "worst_ratio",
        ],
        &csv,
    )?;
    let mut series: Vec<Series> = Vec::new();
    for p in &points {
        let name = format!("{} (trained at ρ = {})", p.method, p.rho_trained);
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push((p.adapter_flops_mean, 100.0 * p.accuracy)),
            None => series.push(Series {
                name,
                points: vec![(p.adapter_flops_mean, 100.0 * p.accuracy)],
                dashed: false,
            }),
        }
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    line_chart(
        &file_in(dir, "tradeoff.svg")?,
        &Chart {
            title: "dev accuracy vs inference budget (one trained model per line, ρ_infer varied)",
            x_label: "realised adapter + controller FLOPs per sequence (gathered)",
            y_label: "dev accuracy (%)",
            log_x: true,
            log_y: false,
        },
        &series,
    )?;
    println!("| method | ρ trained | ρ infer | accuracy | pairs / seq | adapter FLOPs / seq | violations |");
    println!("|---|---|---|---|---|---|---|");
    for p in &points {
        println!(
            "| {} | {} | {} | {:.2} | {:.0} | {} | {} / {} |",
            p.method,
            p.rho_trained,
            p.rho_infer,
            100.0 * p.accuracy,
            p.active_pairs_mean,
            format_si(p.adapter_flops_mean),
            p.violations,
            p.groups
        );
    }
    write_json(
        &file_in(dir, "tradeoff.json")?,
        &ResultFile {
            record,
            args,
            results: points,
        },
    )?;
    println!("wrote {}/tradeoff.{{json,csv,svg}}", dir.display());
    Ok(())
}

fn write_ranks(dir: &Path, record: RunRecord, args: RanksArgs, r: RanksResult) -> Result<()> {
    let mut csv = Vec::new();
    for (l, h) in r.histogram.iter().enumerate() {
        for (k, c) in h.iter().enumerate() {
            csv.push(vec![l.to_string(), k.to_string(), c.to_string()]);
        }
    }
    write_csv(&file_in(dir, "ranks.csv")?, &["layer", "rank", "tokens"], &csv)?;
    let tok: Vec<Vec<String>> = r
        .top_tokens
        .iter()
        .map(|t| ("top", t))
        .chain(r.bottom_tokens.iter().map(|t| ("bottom", t)))
        .map(|(w, t)| {
            vec![
                w.to_string(),
                t.id.to_string(),
                t.token.clone(),
                t.count.to_string(),
                f(t.mean_rank),
            ]
        })
        .collect();
    write_csv(
        &file_in(dir, "tokens.csv")?,
        &["list", "id", "token", "count", "mean_rank"],
        &tok,
    )?;
    let series: Vec<Series> = r
        .histogram
        .iter()
        .enumerate()
        .map(|(l, h)| {
            let n = h.iter().sum::<u64>().max(1) as f64;
            Series {
                name: format!("layer {l}"),
                points: h.iter().enumerate().map(|(k, c)| (k as f64, *c as f64 / n)).collect(),
                dashed: false,
            }
        })
        .collect();
    line_chart(
        &file_in(dir, "ranks.svg")?,
        &Chart {
            title: "per-token rank distribution per layer (trained adapter, dev set)",
            x_label: "token rank |{i : g_ti > 0}|",
            y_label: "fraction of tokens",
            log_x: false,
            log_y: false,
        },
        &series,
    )?;
    println!("{}", report::ranks_tables(&r));
    write_json(
        &file_in(dir, "ranks.json")?,
        &ResultFile {
            record,
            args,
            results: r,
        },
    )?;
    println!("wrote {}/ranks.{{json,csv,svg}}", dir.display());
    Ok(())
}

/// A dashed reference line at y = 1 across the x range of `xs` (a ratio chart's bound).
fn unit_line(name: &str, xs: impl Iterator<Item = f64>) -> Series {
    let (lo, hi) = xs.fold((f64::INFINITY, 0.0_f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    Series {
        name: name.into(),
        points: vec![(lo, 1.0), (hi, 1.0)],
        dashed: true,
    }
}

/// One p99-vs-length series per method (fixed lengths), named `{prefix}{method} p99`.
fn p99_series(rows: &[LatencyRow], prefix: &str, dashed: bool) -> Vec<Series> {
    let names = first_appearance(rows.iter().map(|r| r.method.as_str()).collect());
    names
        .into_iter()
        .map(|m| Series {
            name: format!("{prefix}{m} p99"),
            points: rows
                .iter()
                .filter(|r| r.method == m && r.shape == "fixed")
                .map(|r| (r.length as f64, r.ms.p99))
                .collect(),
            dashed,
        })
        .collect()
}

/// The last path component of a model description ("…/all-MiniLM-L6-v2" → "all-MiniLM-L6-v2").
fn model_label(model: &str) -> &str {
    let m = model.trim_end_matches('/');
    let m = m.strip_suffix("/config.json").unwrap_or(m);
    m.rsplit('/').next().unwrap_or(m)
}

/// The distinct names in order of first appearance (rows are interleaved by pass, so `dedup` is not enough).
fn first_appearance(names: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// `flag v` must be at least 1.
fn at_least_one(flag: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("{flag} 0: expected at least 1");
    }
    Ok(())
}

/// `flag v` must be a finite number ≥ 0.
fn non_negative(flag: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        bail!("{flag} {v}: expected a finite number ≥ 0");
    }
    Ok(())
}

/// Every length of `flag` at least 1 (and at least one length).
fn lengths_ok(flag: &str, lengths: &[usize]) -> Result<()> {
    if lengths.is_empty() {
        bail!("{flag}: expected at least one length");
    }
    if lengths.contains(&0) {
        bail!("{flag} {}: expected lengths of at least 1 token", join(lengths));
    }
    Ok(())
}

fn join(v: &[impl std::fmt::Display]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

impl Common {
    /// The ranges of the shared flags (each error names its flag), checked before anything runs.
    fn check(&self) -> Result<()> {
        at_least_one("--rank", self.rank)?;
        at_least_one("--lora-rank", self.lora_rank)?;
        if let Some(k) = self.k {
            at_least_one("--k", k)?;
        }
        non_negative("--rho", self.rho)
    }
}

impl Dist {
    fn check(&self) -> Result<()> {
        if let Some(m) = self.logit_mean.filter(|m| !m.is_finite()) {
            bail!("--logit-mean {m}: expected a finite number");
        }
        non_negative("--logit-std", self.logit_std)
    }
}

impl Cmd {
    /// Every flag's range, before anything is computed or written (errors name the flag and the range).
    fn check(&self) -> Result<()> {
        match self {
            Cmd::Latency {
                common,
                lengths,
                batch,
                mix,
                mix_max,
                ..
            } => {
                common.check()?;
                lengths_ok("--lengths", lengths)?;
                at_least_one("--batch", *batch)?;
                if *mix > 0 {
                    at_least_one("--mix-max", *mix_max)?;
                }
                Ok(())
            }
            Cmd::Flops {
                common,
                dist,
                lengths,
                samples,
                batch,
                ..
            } => {
                common.check()?;
                dist.check()?;
                lengths_ok("--lengths", lengths)?;
                at_least_one("--samples", *samples)?;
                at_least_one("--batch", *batch)
            }
            Cmd::Budget {
                common,
                dist,
                inputs,
                max_len,
                layers,
                batch,
                ..
            } => {
                common.check()?;
                dist.check()?;
                at_least_one("--inputs", *inputs)?;
                at_least_one("--max-len", *max_len)?;
                at_least_one("--layers", *layers)?;
                at_least_one("--batch", *batch)
            }
            Cmd::Ranks { common, batch, .. } => {
                common.check()?;
                at_least_one("--batch", *batch)
            }
            Cmd::TrainStep {
                common,
                methods,
                length,
                batch_size,
                steps,
                lr,
                ..
            } => {
                common.check()?;
                if methods.is_empty() {
                    bail!("--methods: expected at least one method");
                }
                at_least_one("--length", *length)?;
                at_least_one("--batch-size", *batch_size)?;
                at_least_one("--steps", *steps)?;
                if !(lr.is_finite() && *lr > 0.0) {
                    bail!("--lr {lr}: expected a finite number > 0");
                }
                Ok(())
            }
            Cmd::Tradeoff {
                common, rhos, batch, ..
            } => {
                common.check()?;
                at_least_one("--batch", *batch)?;
                if rhos.is_empty() {
                    bail!("--rhos: expected at least one budget");
                }
                rhos.iter().try_for_each(|&r| non_negative("--rhos", r))
            }
            Cmd::Report { .. } => Ok(()),
        }
    }
}
