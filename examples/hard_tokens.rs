//! The TABS mechanism on a synthetic task, in seconds on CPU: a frozen linear map must be corrected only on
//! "hard" tokens (feature 0 = +2; easy tokens have −2). Trains the gated spectral adapter with the chosen
//! granularity and budget, then prints the loss against the frozen map, the mean rank of hard and easy tokens,
//! the rank histogram and the budget violations at inference.
//!
//! cargo run --release --example hard_tokens -- --granularity token --rho 2
//! cargo run --release --example hard_tokens -- --svg book/src/figures/gates-token.svg   # the gates, drawn

use anyhow::Result;
use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Module};
use burn::nn::LinearConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, ElementConversion, Tensor};
use clap::{Parser, ValueEnum};
use tabs::{
    AdaptedLinear, AdapterConfig, GateMode, GatingConfig, Granularity, Kernel, RankStats, SpectralConfig,
    SpectralGates, TokenMask,
};
use tabs_experiments::device::{on_device, OnDevice};

#[derive(Clone, Copy, ValueEnum, Debug)]
enum Gran {
    /// BHSP: one gate set per layer.
    Layer,
    /// CBSP: one gate set per sequence.
    Sequence,
    /// TABS: one gate set per token.
    Token,
}

#[derive(Parser, Debug)]
#[command(about = "TABS on a synthetic hard-token task (CPU, seconds)")]
struct Args {
    /// Gate granularity.
    #[arg(long, value_enum, default_value = "token")]
    granularity: Gran,
    /// ρ: active directions per token on average.
    #[arg(long, default_value_t = 2.0)]
    rho: f64,
    /// Fraction of hard tokens.
    #[arg(long, default_value_t = 0.25)]
    hard: f64,
    /// Training steps.
    #[arg(long, default_value_t = 400)]
    steps: usize,
    /// Seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// cpu, wgpu or cuda (the latter two need `--features wgpu|cuda` at build time).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Also draw the inference gates of four sequences (tokens × directions, hard tokens marked) as SVG here.
    #[arg(long)]
    svg: Option<std::path::PathBuf>,
}

const D: usize = 16;
const R: usize = 4;
const T: usize = 16;
const BATCH: usize = 8;

#[derive(Module, Debug)]
struct Toy<B: Backend> {
    map: AdaptedLinear<B>,
    gates: SpectralGates<B>,
}

fn batch<B: Backend>(
    frozen: &AdaptedLinear<B>,
    correction: &Tensor<B, 2>,
    hard_frac: f64,
    dev: &B::Device,
) -> (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>) {
    let hard = Tensor::<B, 3>::random([BATCH, T, 1], Distribution::Uniform(0.0, 1.0), dev)
        .lower_elem(hard_frac)
        .float();
    let noise = Tensor::<B, 3>::random([BATCH, T, D], Distribution::Normal(0.0, 1.0), dev);
    let marker = hard.clone().mul_scalar(4.0).sub_scalar(2.0);
    let x = Tensor::cat(vec![marker, noise.slice([0..BATCH, 0..T, 1..D])], 2);
    let target = frozen.base.forward(x.clone()) + x.clone().matmul(correction.clone().unsqueeze_dim(0)) * hard.clone();
    (x, target, hard)
}

fn main() -> Result<()> {
    tabs_hf::malloc::reuse_freed_memory();
    let args = Args::parse();
    on_device(&args.device, Job(&args))
}

/// The experiment on the backend `--device` names (trained through `Autodiff<B>`).
struct Job<'a>(&'a Args);

impl OnDevice for Job<'_> {
    type Output = ();

    fn run<B: Backend>(self, device: B::Device) -> Result<()> {
        run::<Autodiff<B>>(self.0, &device)
    }
}

fn run<Ad: AutodiffBackend>(args: &Args, dev: &Ad::Device) -> Result<()> {
    let dev = dev.clone();
    Ad::seed(&dev, args.seed);
    let granularity = match args.granularity {
        Gran::Layer => Granularity::Layer,
        Gran::Sequence => Granularity::Sequence,
        Gran::Token => Granularity::Token,
    };
    let spectral = AdapterConfig::Spectral(SpectralConfig {
        rank: R,
        alpha: 1.0,
        kernel: Kernel::DenseMasked,
    });
    // ANCHOR: adapt
    // A frozen map with a gated spectral adapter (SVD of W, top-R factors, A_U = A_V = 0) ...
    let map = AdaptedLinear::<Ad>::new(LinearConfig::new(D, D).init(&dev), &spectral)?;
    // ... and one gate source (here: one layer) with its granularity and budget B(T) = ⌊ρT⌋.
    let mut cfg = GatingConfig::new(granularity);
    cfg.rank = R;
    cfg.controller_hidden = Some(8);
    cfg.budget.rho = args.rho;
    let gates = SpectralGates::<Ad>::new(cfg, D, 1, &dev)?;
    // ANCHOR_END: adapt
    let mut model = Toy { map, gates };
    let v = model.map.spectral.as_ref().expect("spectral adapter").v.val().inner();
    let c = Tensor::<Ad::InnerBackend, 2>::random([D, R], Distribution::Normal(0.0, 0.5), &dev);
    let correction = v.matmul(c.transpose());
    let correction_ad = Tensor::<Ad, 2>::from_inner(correction.clone());

    println!(
        "synthetic hard-token task: d = {D}, R = {R}, T = {T}, {}% hard tokens, granularity {granularity:?}, ρ = {}",
        args.hard * 100.0,
        args.rho
    );
    let mask_ad = TokenMask::<Ad>::from_lengths(&[T; BATCH], T, &cfg.budget, &dev);
    let mut optim = AdamConfig::new().init();
    for step in 0..args.steps {
        let (x, target, _) = batch(&model.map, &correction_ad, args.hard, &dev);
        // ANCHOR: train_step
        // Training: HardConcrete samples, projected onto the budget; the penalty keeps E[count] near B.
        let g = model.gates.forward_mode(0, x.clone(), &mask_ad, GateMode::Train);
        let y = model.map.forward(x, Some(&g.gates)); // W x + b + gated spectral delta
        let mse = (y - target).square().mean();
        let budget_loss = model.gates.budget_loss(std::slice::from_ref(&g));
        // ANCHOR_END: train_step
        if step % 100 == 0 || step + 1 == args.steps {
            println!(
                "step {step:>4}: mse {:.4}, budget loss {:.4}",
                mse.clone().into_scalar().elem::<f32>(),
                budget_loss.clone().into_scalar().elem::<f32>()
            );
        }
        let grads = GradientsParams::from_grads((mse + budget_loss).backward(), &model);
        model = optim.step(2e-2, model, grads);
    }

    let model = model.valid();
    let mask = TokenMask::<Ad::InnerBackend>::from_lengths(&[T; BATCH], T, &cfg.budget, &dev);
    let mut stats = RankStats::new(1, R, granularity);
    let (mut hard_rank, mut hard_n, mut easy_rank, mut easy_n, mut mse, mut frozen) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let batches = 50;
    for _ in 0..batches {
        let (x, target, hard) = batch(&model.map, &correction, args.hard, &dev);
        // ANCHOR: eval_step
        // Inference: deterministic gates, then the top-B cut per sequence (count ≤ B(T), always).
        let g = model.gates.forward_mode(0, x.clone(), &mask, GateMode::Eval);
        let y = model.map.forward(x.clone(), Some(&g.gates));
        // ANCHOR_END: eval_step
        mse += (y - target.clone()).square().mean().into_scalar().elem::<f32>();
        frozen += (model.map.base.forward(x) - target)
            .square()
            .mean()
            .into_scalar()
            .elem::<f32>();
        let ranks = g
            .gates
            .clone()
            .greater_elem(0.0)
            .float()
            .sum_dim(2)
            .into_data()
            .to_vec::<f32>()?;
        let hard = hard.into_data().to_vec::<f32>()?;
        if let (Some(path), true) = (&args.svg, hard_n == 0.0 && easy_n == 0.0) {
            let gates = g.gates.clone().into_data().to_vec::<f32>()?;
            let budget = match granularity {
                Granularity::Layer => format!("B = ⌊ρL⌋ = {} directions for the layer", cfg.budget.global_budget(1)),
                _ => format!("B(T) = {} pairs per sequence", mask.budgets[0]),
            };
            let title = format!("{granularity:?} gates, ρ = {}, {budget}", args.rho);
            tabs::io::write_atomic(path, draw_gates(&gates, &hard, &title).as_bytes())?;
            println!("gates of four sequences drawn in {}", path.display());
        }
        for (r, h) in ranks.iter().zip(hard) {
            if h > 0.5 {
                hard_rank += r;
                hard_n += 1.0;
            } else {
                easy_rank += r;
                easy_n += 1.0;
            }
        }
        stats.record(std::slice::from_ref(&g), &mask);
    }
    println!("\nat inference ({} sequences):", batches * BATCH);
    println!(
        "  mse          {:.4} (frozen map: {:.4})",
        mse / batches as f32,
        frozen / batches as f32
    );
    println!(
        "  mean rank    hard tokens {:.2}, easy tokens {:.2} (of R = {R})",
        hard_rank / hard_n,
        easy_rank / easy_n
    );
    println!("  histogram    {:?} (tokens of rank 0..={R})", stats.histogram[0]);
    println!(
        "  budget       {} violations of {} groups, worst r/B = {:.3}",
        stats.violations, stats.groups, stats.worst_ratio
    );
    Ok(())
}

/// Tokens × directions of four sequences as SVG: a cell's blue is the inference gate (white = off); hard tokens
/// get a red mark; each panel's title counts its active pairs against B(T).
fn draw_gates(gates: &[f32], hard: &[f32], title: &str) -> String {
    let (cell, gap, top, left) = (14.0, 60.0, 56.0, 30.0);
    let panel_w = R as f64 * cell;
    let width = (left + 4.0 * (panel_w + gap) + 10.0).max(560.0);
    let height = top + T as f64 * cell + 40.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="18" font-size="13">{title}</text>
"#
    );
    for s in 0..4 {
        let x0 = left + s as f64 * (panel_w + gap);
        let active = (0..T * R).filter(|i| gates[s * T * R + i] > 0.0).count();
        svg += &format!("<text x=\"{x0}\" y=\"{}\">seq {s}: {active} pairs</text>\n", top - 10.0);
        for t in 0..T {
            let y = top + t as f64 * cell;
            if hard[s * T + t] > 0.5 {
                svg += &format!(
                    "<rect x=\"{}\" y=\"{y}\" width=\"5\" height=\"{}\" fill=\"#d62728\"/>\n",
                    x0 - 8.0,
                    cell - 1.0
                );
            }
            for r in 0..R {
                let g = gates[(s * T + t) * R + r].clamp(0.0, 1.0);
                let shade = (255.0 * (1.0 - 0.85 * g)) as u8;
                svg += &format!(
                    "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"rgb({shade},{shade},255)\" stroke=\"#ccc\"/>\n",
                    x0 + r as f64 * cell,
                    cell - 1.0,
                    cell - 1.0
                );
            }
        }
    }
    svg += &format!(
        "<text x=\"{left}\" y=\"{}\">rows: tokens (red = hard token), columns: singular directions 1..{R}; blue = gate value</text>\n</svg>\n",
        height - 14.0
    );
    svg
}
