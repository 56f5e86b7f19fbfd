//! Run a HuggingFace DeBERTa-v2/v3 checkpoint on a JSON batch (token ids, or texts to tokenise) and write the
//! logits and last hidden states as JSON, e.g. to compare with transformers.
//!
//! cargo run --release -p tabs-deberta --example deberta-forward -- --model DIR --input IN.json --output OUT.json
//!
//! `IN.json` is `{"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}` (mask and token types
//! optional) or `{"texts": [...], "text_pairs": [...]}` (pairs optional); see `tabs_deberta::forward_io`.
//! `--tokenize-only` writes the tokenised ids without loading weights.
//!
//! `--adapter DIR` runs the checkpoint with an adapter on top: a peft LoRA folder (`adapter_config.json` with
//! `peft_type: "LORA"` + `adapter_model.safetensors`) or the `adapter/` folder of a tabs run (any method). The
//! classifier (and the pooler, when the adapter has one) comes from the adapter; loading is the root package's
//! `tabs_experiments::run_folder::load_adapter_folder`, the same as `predict --adapter`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use clap::Parser;
use tabs_deberta::forward_io::{self, ForwardOutput, IdBatch, RequestForm};
use tabs_deberta::tokenize::{DebertaTokenizer, Tokenize};
use tabs_deberta::DebertaForSequenceClassification;
use tabs_experiments::backbone::Backbone;
use tabs_experiments::run_folder::load_adapter_folder;

#[derive(Parser, Debug)]
#[command(
    name = "deberta-forward",
    about = "Run a DeBERTa-v2/v3 checkpoint on a JSON batch and write logits and last hidden states as JSON"
)]
struct Args {
    /// HF checkpoint folder: config.json + model.safetensors or pytorch_model.bin (and spm.model or
    /// tokenizer.json for `texts` unless --tokenizer is given).
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Input JSON: {"input_ids", "attention_mask"?, "token_type_ids"?} or {"texts", "text_pairs"?}.
    #[arg(long, value_name = "IN.json")]
    input: PathBuf,
    /// Output JSON (written atomically).
    #[arg(long, value_name = "OUT.json")]
    output: PathBuf,
    /// Tokenizer file for `texts`: a SentencePiece `.model` or a HF `tokenizer.json` (default: the --model folder's).
    #[arg(long, value_name = "PATH")]
    tokenizer: Option<PathBuf>,
    /// Truncate tokenised `texts` to N tokens, special tokens included (longest first); default: no truncation.
    #[arg(long, value_name = "N")]
    max_length: Option<usize>,
    /// Only tokenise `texts`: write input_ids, token_type_ids and attention_mask without loading weights.
    #[arg(long)]
    tokenize_only: bool,
    /// Adapter folder on top of --model: a peft LoRA adapter or the adapter/ folder of a tabs run (its
    /// classifier sets the label count).
    #[arg(long, value_name = "DIR", conflicts_with = "num_labels")]
    adapter: Option<PathBuf>,
    /// Override the config's num_labels (a checkpoint head of another size is an error).
    #[arg(long, value_name = "N")]
    num_labels: Option<usize>,
    /// Seed of heads initialised fresh (a checkpoint without pooler/classifier).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, wgpu or cuda (the latter two need `--features wgpu|cuda` at build time).
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn main() -> ExitCode {
    tabs_hf::malloc::reuse_freed_memory();
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deberta-forward: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line (`file: cannot read or write this file: <OS error>`), skipping a cause
/// whose text its parent already shows.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn run(args: &Args) -> Result<()> {
    let start = Instant::now();
    if !args.tokenize_only && args.model.is_none() {
        bail!("--model DIR is required (only --tokenize-only with --tokenizer PATH runs without a model)");
    }
    let output = args.output.display();
    if args.output.is_dir() {
        bail!("{output}: is a folder; --output names the JSON file to write");
    }
    match args.output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            bail!("{output}: the folder {} does not exist", dir.display())
        }
        _ => {}
    }
    let input = args.input.display();
    let request = forward_io::read_request(&args.input)?;
    if !request.ignored_keys.is_empty() {
        eprintln!(
            "deberta-forward: {input}: ignoring key(s) {}",
            request.ignored_keys.join(", ")
        );
    }

    let tokenizer = match &request.form {
        RequestForm::Ids(_) => {
            if args.tokenize_only {
                bail!("{input}: --tokenize-only needs `texts`, but this file holds `input_ids`");
            }
            if args.max_length.is_some() {
                bail!("{input}: --max-length applies to `texts`, but this file holds `input_ids` (not truncated)");
            }
            if args.tokenizer.is_some() {
                eprintln!("deberta-forward: {input} holds `input_ids`; --tokenizer is not used");
            }
            None
        }
        RequestForm::Texts(_) => Some(load_tokenizer(args)?),
    };
    let batch = request.to_ids(tokenizer.as_ref().map(|(t, _)| t), args.max_length)?;
    let [b, t] = batch.shape()?;

    if args.tokenize_only {
        forward_io::write_json_atomic(&args.output, &batch)?;
        eprintln!(
            "deberta-forward: tokenised batch {b}, length {t} in {:.3} s -> {output}",
            start.elapsed().as_secs_f64(),
        );
        return Ok(());
    }

    match args.device.as_str() {
        "cpu" => forward_on::<tabs_hf::Cpu>(args, &batch, &tokenizer, start, &Default::default()),
        "wgpu" => wgpu_forward(args, &batch, &tokenizer, start),
        "cuda" => cuda_forward(args, &batch, &tokenizer, start),
        other => bail!("--device {other:?}: expected cpu, wgpu or cuda"),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_forward(args: &Args, batch: &IdBatch, tokenizer: &Tokenizer, start: Instant) -> Result<()> {
    forward_on::<burn::backend::Wgpu>(args, batch, tokenizer, start, &Default::default())
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_forward(_: &Args, _: &IdBatch, _: &Tokenizer, _: Instant) -> Result<()> {
    bail!("--device wgpu: this binary was built without the `wgpu` feature (cargo run --release --features wgpu ...)")
}

#[cfg(feature = "cuda")]
fn cuda_forward(args: &Args, batch: &IdBatch, tokenizer: &Tokenizer, start: Instant) -> Result<()> {
    tabs_hf::cuda_probe::cuda_device_count()?;
    forward_on::<burn::backend::Cuda>(args, batch, tokenizer, start, &Default::default())
}

#[cfg(not(feature = "cuda"))]
fn cuda_forward(_: &Args, _: &IdBatch, _: &Tokenizer, _: Instant) -> Result<()> {
    bail!("--device cuda: this binary was built without the `cuda` feature (cargo run --release --features cuda ...)")
}

/// The tokenizer used for `texts`, with where it came from.
type Tokenizer = Option<(DebertaTokenizer, String)>;

/// Load the model on `device`, run the batch, write the output.
fn forward_on<B: Backend>(
    args: &Args,
    batch: &IdBatch,
    tokenizer: &Tokenizer,
    start: Instant,
    device: &B::Device,
) -> Result<()> {
    let (input, output) = (args.input.display(), args.output.display());
    let [b, t] = batch.shape()?;
    let dir = args.model.as_ref().expect("checked above");
    let device = device.clone();
    let load_start = Instant::now();
    let model = match &args.adapter {
        None => {
            let (model, report) =
                DebertaForSequenceClassification::<B>::from_pretrained(dir, args.num_labels, args.seed, &device)
                    .context("cannot load the model")?;
            eprintln!("deberta-forward: {}: {report}", dir.display());
            model
        }
        Some(adapter) => with_adapter::<B>(dir, adapter, &device)?,
    };
    let load_s = load_start.elapsed().as_secs_f64();

    let mut ids = batch.to_input::<B>(&device)?;
    // A model without token type embeddings (type_vocab_size 0, as DeBERTa-v3) does not use token types, as in
    // transformers; they are dropped so that the tokenizer's pair segments (1) pass validation.
    if model.config().type_vocab_size == 0 && ids.token_type_ids.take().is_some() {
        let used = batch.token_type_ids.iter().flatten().flatten().any(|&t| t != 0);
        if used {
            eprintln!(
                "deberta-forward: the model has no token type embeddings (type_vocab_size 0): token_type_ids not used"
            );
        }
    }
    let checked = model.encoder.validate(&ids);
    match &tokenizer {
        Some((tok, source)) => checked.with_context(|| {
            format!(
                "{input}: `texts` tokenised with {source} (vocabulary {}) do not fit the model in {}",
                tok.vocab_size(),
                dir.display()
            )
        })?,
        None => checked.with_context(|| format!("{input}: does not fit the model in {}", dir.display()))?,
    }

    let forward_start = Instant::now();
    let out = model.forward(&ids);
    let result = ForwardOutput::new(batch, &out)?;
    let forward_s = forward_start.elapsed().as_secs_f64();
    forward_io::write_json_atomic(&args.output, &result)?;
    let c = model.config();
    eprintln!(
        "deberta-forward: batch {b}, length {t}, hidden {}, labels {}: load {load_s:.3} s, forward {forward_s:.3} s, \
         total {:.3} s -> {output}",
        c.hidden_size,
        c.num_labels,
        start.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// The DeBERTa checkpoint `dir` with the adapter folder `adapter` (peft LoRA or a tabs run's `adapter/`).
fn with_adapter<B: Backend>(
    dir: &Path,
    adapter: &Path,
    device: &B::Device,
) -> Result<DebertaForSequenceClassification<B>> {
    let loaded = load_adapter_folder::<B>(dir, adapter, device)?;
    let kind = if tabs_experiments::peft::is_peft_adapter(adapter) {
        "peft LoRA adapter".to_string()
    } else {
        format!("{} adapter", loaded.config.method)
    };
    eprintln!(
        "deberta-forward: {} with the {kind} {} ({} labels)",
        dir.display(),
        adapter.display(),
        loaded.num_labels()
    );
    match loaded.net {
        Backbone::Deberta(model) => Ok(model),
        Backbone::Bert(_) => bail!(
            "--model {}: a BERT checkpoint; deberta-forward runs DeBERTa-v2/v3 (`predict --model DIR --adapter DIR` \
             runs BERT too)",
            dir.display()
        ),
    }
}

/// The tokenizer of --tokenizer, else of the --model folder, with a description of where it came from.
fn load_tokenizer(args: &Args) -> Result<(DebertaTokenizer, String)> {
    let input = args.input.display();
    match (&args.tokenizer, &args.model) {
        (Some(path), _) => Ok((DebertaTokenizer::from_file(path)?, path.display().to_string())),
        (None, Some(dir)) => Ok((
            DebertaTokenizer::from_dir(dir)
                .with_context(|| format!("{input} holds `texts` and no --tokenizer is given"))?,
            format!("the tokenizer of {}", dir.display()),
        )),
        (None, None) => bail!(
            "{input} holds `texts`, which need a tokenizer: pass --tokenizer PATH (spm.model or tokenizer.json) \
             or --model DIR holding one"
        ),
    }
}
