//! No panic on user input (issue 16): each command-line program, given a bad flag value, file or checkpoint, exits
//! non-zero with exactly one error line naming the culprit and what was expected, no `panicked at`, and writes
//! nothing (every case runs in its own temporary folder, which must be unchanged afterwards: no `results.json`, no
//! `config.json` overwritten by a refused `--resume`). Every case fails at validation, in well under a second.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tabs_experiments::method::Method;
use tabs_experiments::train::TrainConfig;

use crate::clis;

/// One bad invocation.
struct Case {
    /// The example or binary.
    cli: &'static str,
    /// Arguments, split on whitespace; `{tmp}` is the case's folder, `{out}` = `{tmp}/out`, `{demo}` the tiny
    /// DeBERTa fixture, `{bert}` the tiny BERT fixture (max_position_embeddings 40), `{data}` the demo's GLUE root.
    args: &'static str,
    /// Prepares `{tmp}` (files the case reads).
    setup: fn(&Path),
    /// Substrings of the one error line.
    expect: &'static [&'static str],
}

const DEMO: &str = "tests/fixtures/demo/model";
const BERT: &str = "tabs-bert/tests/fixtures/bert/model_bin";

fn none(_: &Path) {}

/// A copy of the demo DeBERTa folder under `tmp/name` with `edit` applied to its `config.json`.
fn demo_copy(tmp: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEMO);
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    dir
}

/// `tmp/abs`: the demo DeBERTa with absolute positions (`position_biased_input`, max_position_embeddings 64).
fn absolute_deberta(tmp: &Path) {
    demo_copy(tmp, "abs", |c| c["position_biased_input"] = true.into());
}

/// `tmp/spm`: the demo DeBERTa's weights (vocabulary 53) with the real DeBERTa-v3 tokenizer (128,001 ids).
fn foreign_tokenizer(tmp: &Path) {
    let dir = demo_copy(tmp, "spm", |_| {});
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let spm = Path::new(env!("CARGO_MANIFEST_DIR")).join("tabs-deberta/tests/fixtures/deberta-v3/spm.model");
    std::fs::copy(spm, dir.join("spm.model")).unwrap();
}

/// `tmp/out`: a run of `tabs` on sst2 with the defaults, saved after epoch 1 (config.json and a model checkpoint
/// that is cut short).
fn saved_run(tmp: &Path) {
    let out = tmp.join("out");
    let ckpt = out.join("checkpoints/checkpoint");
    std::fs::create_dir_all(&ckpt).unwrap();
    let cfg = TrainConfig::new("sst2", Method::Tabs);
    std::fs::write(out.join("config.json"), serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    std::fs::write(ckpt.join("model-1.mpk"), [0x92, 0x01, 0x02]).unwrap();
}

/// `tmp/out`: a run folder with a saved config.json only.
fn saved_config(tmp: &Path) {
    std::fs::create_dir_all(tmp.join("out")).unwrap();
    let cfg = TrainConfig::new("sst2", Method::Tabs);
    std::fs::write(tmp.join("out/config.json"), serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
}

/// `tmp/run`: a `lora` run folder with its config.json only.
fn saved_lora_config(tmp: &Path) {
    std::fs::create_dir_all(tmp.join("run")).unwrap();
    let cfg = TrainConfig::new("sst2", Method::Lora);
    std::fs::write(tmp.join("run/config.json"), serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
}

/// `tmp/csv`: a CSV text-classification folder.
fn csv(tmp: &Path) {
    let dir = tmp.join("csv");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["train.csv", "validation.csv"] {
        std::fs::write(dir.join(f), "text,label\ngood film,1\nbad film,0\n").unwrap();
    }
}

/// `tmp/csv` and `tmp/run`, a run folder without its config.json.
fn csv_and_empty_run(tmp: &Path) {
    csv(tmp);
    std::fs::create_dir_all(tmp.join("run")).unwrap();
}

/// `tmp/in.json`: ids beyond the demo model's vocabulary (53).
fn ids_beyond_vocab(tmp: &Path) {
    std::fs::write(tmp.join("in.json"), r#"{"input_ids": [[1, 60, 2]]}"#).unwrap();
}

/// `tmp/in.json`: texts.
fn texts(tmp: &Path) {
    std::fs::write(tmp.join("in.json"), r#"{"texts": ["a good film"]}"#).unwrap();
}

/// `tmp/in.jsonl`: a good line, then a line without "text".
fn jsonl_bad_line(tmp: &Path) {
    std::fs::write(
        tmp.join("in.jsonl"),
        "{\"text\": \"a good film\"}\n{\"txt\": \"a bad film\"}\n",
    )
    .unwrap();
}

/// `tmp/in.csv`: no `text` column.
fn csv_without_text(tmp: &Path) {
    std::fs::write(tmp.join("in.csv"), "sentence,label\na good film,1\n").unwrap();
}

/// `tmp/in.jsonl`: one good line.
fn jsonl(tmp: &Path) {
    std::fs::write(tmp.join("in.jsonl"), "{\"text\": \"a good film\"}\n").unwrap();
}

fn cases() -> Vec<Case> {
    let case = |cli, args, setup, expect| Case {
        cli,
        args,
        setup,
        expect,
    };
    vec![
        // tabs-bench: every range at the boundary.
        case(
            "tabs-bench",
            "budget --max-len 0 --out {out}",
            none,
            &["--max-len 0", "at least 1"],
        ),
        case(
            "tabs-bench",
            "budget --rank 0 --out {out}",
            none,
            &["--rank 0", "at least 1"],
        ),
        case("tabs-bench", "budget --k 0 --out {out}", none, &["--k 0", "at least 1"]),
        case("tabs-bench", "budget --rho=-1 --out {out}", none, &["--rho -1", "≥ 0"]),
        case(
            "tabs-bench",
            "budget --rho NaN --out {out}",
            none,
            &["--rho NaN", "finite"],
        ),
        case(
            "tabs-bench",
            "budget --layers 0 --out {out}",
            none,
            &["--layers 0", "at least 1"],
        ),
        case(
            "tabs-bench",
            "budget --lora-rank 0 --out {out}",
            none,
            &["--lora-rank 0"],
        ),
        case(
            "tabs-bench",
            "budget --logit-std=-2 --out {out}",
            none,
            &["--logit-std -2", "≥ 0"],
        ),
        case(
            "tabs-bench",
            "latency --lengths 64,0 --out {out}",
            none,
            &["--lengths 64,0", "at least 1"],
        ),
        case(
            "tabs-bench",
            "latency --mix-max 0 --out {out}",
            none,
            &["--mix-max 0", "at least 1"],
        ),
        case(
            "tabs-bench",
            "flops --samples 0 --out {out}",
            none,
            &["--samples 0", "at least 1"],
        ),
        case(
            "tabs-bench",
            "latency --model {tmp}/abs --methods frozen --lengths 128 --mix 0 --out {out}",
            absolute_deberta,
            &["--lengths", "128", "max_position_embeddings 64"],
        ),
        // glue: flags, the checkpoint's limits and tokenizer, --resume.
        case(
            "glue",
            "--lora-rank 0 --out {out}",
            none,
            &["--lora-rank 0", "at least 1"],
        ),
        case("glue", "--rho NaN --out {out}", none, &["--rho NaN", "finite"]),
        case(
            "glue",
            "--max-length 0 --out {out}",
            none,
            &["--max-length 0", "at least 1"],
        ),
        case(
            "glue",
            "--device tpu --out {out}",
            none,
            &["--device \"tpu\"", "cpu, wgpu or cuda"],
        ),
        case(
            "glue",
            "--devices 0 --out {out}",
            none,
            &["--devices", "at least 1 device"],
        ),
        case(
            "glue",
            "--devices cuda:0,cuda:1 --device cpu --out {out}",
            none,
            &["--devices names backend \"cuda\"", "--device is \"cpu\""],
        ),
        case(
            "glue",
            "--devices 4 --batch-size 2 --out {out}",
            none,
            &["--batch-size 2", "4 devices"],
        ),
        case("glue", "--model {demo} --out {out}", none, &["--model", "--data"]),
        case(
            "glue",
            "--model {bert} --data {data} --task sst2 --max-length 64 --out {out}",
            none,
            &["--max-length 64", "max_position_embeddings 40", "model_bin/config.json"],
        ),
        case(
            "glue",
            "--model {tmp}/spm --data {data} --task sst2 --out {out}",
            foreign_tokenizer,
            &["spm", "128001 ids", "vocab_size is 53"],
        ),
        case(
            "glue",
            "--resume --model {demo} --data {data} --task sst2 --out {out}",
            none,
            &["--resume", "config.json does not exist"],
        ),
        case(
            "glue",
            "--resume --method lora --model {demo} --data {data} --task sst2 --out {out}",
            saved_config,
            &["--resume", "method = \"tabs\"", "\"lora\" (--method)"],
        ),
        case(
            "glue",
            "--resume --rank 4 --model {demo} --data {data} --task sst2 --out {out}",
            saved_config,
            &["--resume", "adapter.spectral_rank = 16", "4 (--rank)"],
        ),
        case(
            "glue",
            "--resume --model {demo} --data {data} --task sst2 --out {out}",
            saved_run,
            &["--resume", "model-1.mpk", "not a readable model checkpoint"],
        ),
        // lra: BERT and absolute-position DeBERTa within their position limit, other flags.
        case(
            "lra",
            "--model {bert} --data {tmp}/none --out {out}",
            none,
            &["--max-length 2048", "max_position_embeddings 40"],
        ),
        case(
            "lra",
            "--model {tmp}/abs --data {tmp}/none --out {out}",
            absolute_deberta,
            &["--max-length 2048", "max_position_embeddings 64"],
        ),
        case("lra", "--task nope --out {out}", none, &["--task \"nope\"", "listops"]),
        case("lra", "--k 0 --out {out}", none, &["--k 0", "at least 1"]),
        case(
            "lra",
            "--generate --devices 4 --batch-size 2 --data {tmp}/gen --out {out}",
            none,
            &["--batch-size 2", "4 devices"],
        ),
        case(
            "lra",
            "--devices 0,0 --out {out}",
            none,
            &["--devices", "device 0 is listed twice"],
        ),
        case(
            "lra",
            "--resume --data {tmp}/none --out {out}",
            none,
            &["--resume", "config.json does not exist"],
        ),
        // run_latency.
        case(
            "run_latency",
            "--model {demo} --data {tmp}/csv --samples 0 {tmp}/run",
            csv,
            &["--samples 0", "at least 1"],
        ),
        case(
            "run_latency",
            "--model {demo} --data {tmp}/csv --rounds 0 {tmp}/run",
            csv,
            &["--rounds 0", "at least 1"],
        ),
        case(
            "run_latency",
            "--model {demo} --data {tmp}/csv",
            csv,
            &["no run folders"],
        ),
        case(
            "run_latency",
            "--model {demo} --data {tmp}/csv {tmp}/run",
            csv_and_empty_run,
            &["run/config.json"],
        ),
        // predict and evaluate (after training).
        case(
            "predict",
            "--run {tmp}/run --input {tmp}/missing.jsonl",
            none,
            &["--input", "missing.jsonl"],
        ),
        case(
            "predict",
            "--run {tmp}/run --input {tmp}/in.jsonl",
            jsonl_bad_line,
            &["in.jsonl:2", "text"],
        ),
        case(
            "predict",
            "--run {tmp}/run --input {tmp}/in.csv",
            csv_without_text,
            &["in.csv", "no column \"text\""],
        ),
        case(
            "predict",
            "--run {tmp}/nowhere --input {tmp}/in.jsonl",
            jsonl,
            &["nowhere", "not a folder"],
        ),
        case(
            "predict",
            "--run {tmp}/run --input {tmp}/in.jsonl --rho 0",
            jsonl,
            &["--rho 0", "ρ > 0"],
        ),
        case(
            "predict",
            "--run {tmp}/run --adapter {tmp}/run --input {tmp}/in.jsonl",
            jsonl,
            &["--run", "--adapter", "not both"],
        ),
        case(
            "predict",
            "--run {tmp}/run --input {tmp}/in.jsonl --batch-size 0",
            jsonl,
            &["--batch-size 0", "at least 1"],
        ),
        case(
            "predict",
            "--run {tmp}/run --input {tmp}/in.jsonl --max-length 1",
            jsonl,
            &["--max-length 1", "at least 2"],
        ),
        case(
            "evaluate",
            "--run {tmp}/run --out {tmp}/scores.json",
            csv_and_empty_run,
            &["run/config.json"],
        ),
        case(
            "evaluate",
            "--run {tmp}/run --rho NaN --out {tmp}/scores.json",
            none,
            &["--rho NaN", "ρ > 0"],
        ),
        case(
            "evaluate",
            "--run {tmp}/run --out {tmp}",
            none,
            &["--out", "is a folder"],
        ),
        // export.
        case(
            "export",
            "--run {tmp}/nope --model {demo} --format peft --out {tmp}/x",
            none,
            &["nope", "not a folder"],
        ),
        case(
            "export",
            "--run {out} --model {demo} --format merged --out {tmp}/x",
            saved_config,
            &["method tabs", "depend on the input"],
        ),
        case(
            "export",
            "--run {tmp}/run --format peft --out {tmp}/x",
            saved_lora_config,
            &["no run.json", "--model DIR"],
        ),
        case(
            "export",
            "--run {out} --model {demo} --format merged --out {tmp}",
            saved_config,
            &["--out", "not an empty folder"],
        ),
        case(
            "export",
            "--run {out} --model {demo} --format onnx --out {tmp}/x",
            saved_config,
            &["--format", "onnx", "peft or merged"],
        ),
        // deberta-forward.
        case(
            "deberta-forward",
            "--model {demo} --input {tmp}/missing.json --output {tmp}/out.json",
            none,
            &["missing.json"],
        ),
        case(
            "deberta-forward",
            "--model {demo} --input {tmp}/in.json --output {tmp}/out.json",
            ids_beyond_vocab,
            &["in.json", "60", "53"],
        ),
        case(
            "deberta-forward",
            "--model {demo} --input {tmp}/in.json --output {tmp}",
            texts,
            &["is a folder", "--output"],
        ),
    ]
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
                out.insert(p, Vec::new());
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn bad_input_is_one_error_line_naming_the_culprit_and_writes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let root = std::env::temp_dir().join(format!("tabs-bad-input-{}", std::process::id()));
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let tmp = root.join(i.to_string());
        std::fs::create_dir_all(&tmp).unwrap();
        (c.setup)(&tmp);
        let before = snapshot(&tmp);
        let t = tmp.display().to_string();
        let args: Vec<String> = c
            .args
            .split_whitespace()
            .map(|a| {
                a.replace("{out}", &format!("{t}/out"))
                    .replace("{tmp}", &t)
                    .replace("{demo}", DEMO)
                    .replace("{bert}", BERT)
                    .replace("{data}", "tests/fixtures/demo")
            })
            .collect();
        let start = Instant::now();
        let out = clis::run(c.cli, &args);
        let secs = start.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.to_lowercase().contains("error")).collect();
        let what = format!("{} {}", c.cli, c.args);
        let mut problems = Vec::new();
        if out.status.success() {
            problems.push("exit status 0".to_string());
        }
        if stderr.contains("panicked") {
            problems.push("panicked".to_string());
        }
        match errors[..] {
            [line] => {
                for e in c.expect {
                    if !line.contains(e) {
                        problems.push(format!("`{e}` not in the error line"));
                    }
                }
            }
            _ => problems.push(format!("{} error lines", errors.len())),
        }
        let after = snapshot(&tmp);
        if after != before {
            let written: Vec<_> = after
                .keys()
                .filter(|p| before.get(*p) != after.get(*p))
                .map(|p| p.strip_prefix(&tmp).unwrap().display().to_string())
                .collect();
            problems.push(format!("wrote {written:?}"));
        }
        eprintln!(
            "{secs:6.2} s  {what}\n          {}",
            errors.first().unwrap_or(&"(no error line)")
        );
        if !problems.is_empty() {
            failures.push(format!("{what}: {}\n--- stderr:\n{stderr}", problems.join("; ")));
        }
    }
    std::fs::remove_dir_all(&root).ok();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
