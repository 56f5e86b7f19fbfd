//! The `deberta-forward` example and its library half, `tabs_deberta::forward_io`:
//!
//! * requests parse into id batches (mask defaulting to ones) or texts, and every malformed request (invalid JSON,
//!   neither or both forms, ragged rows, mismatched masks, pairs of another length, a missing file) is a typed error
//!   naming the file and the key;
//! * the real DeBERTa-v3 tokenizer (`tests/fixtures/deberta-v3/spm.model`) turns "Hello world!" into
//!   `[1, 5365, 447, 300, 2]`; its ids are out of range for the tiny fixture model, a clear validation error;
//! * end to end, the example binary reproduces HF's logits and hidden states on the `v3_buckets` fixture within 1e-4,
//!   tokenises without a model (`--tokenize-only`), and exits non-zero with a one-line error naming the file or key
//!   on bad inputs, leaving no output file behind.
//!
//! The example is built once with `cargo build --workspace --example deberta-forward` (same profile and target
//! folder as the test; a no-op after `cargo test --workspace`, which builds examples with the same features).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;
use tabs_deberta::forward_io::{
    read_request, write_json_atomic, ForwardIoError, ForwardOutput, ForwardRequest, IdBatch, RequestForm, TextBatch,
};
use tabs_deberta::tokenize::DebertaTokenizer;
use tabs_deberta::{DebertaError, DebertaForSequenceClassification};

type B = tabs_hf::Cpu;

const HELLO_IDS: [i64; 5] = [1, 5365, 447, 300, 2];
const TOL: f32 = 1e-4;

#[derive(Deserialize)]
struct Reference {
    input_ids: Vec<Vec<i64>>,
    attention_mask: Vec<Vec<i64>>,
    logits: Vec<Vec<f32>>,
    last_hidden_state: Vec<Vec<Vec<f32>>>,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deberta/v3_buckets")
}

fn reference() -> Reference {
    let path = fixture_dir().join("reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spm_model() -> PathBuf {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/deberta-v3/spm.model"
    ));
    assert!(path.is_file(), "missing the reference tokenizer {}", path.display());
    path
}

/// A fresh folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tabs-forward-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse(text: &str) -> Result<ForwardRequest, ForwardIoError> {
    ForwardRequest::parse(text, Path::new("in.json"))
}

/// The error of a request that must fail, checked to name the file.
fn parse_err(text: &str) -> ForwardIoError {
    let e = parse(text).expect_err(text);
    let msg = e.to_string();
    assert!(msg.starts_with("in.json: "), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    e
}

fn key_of(e: &ForwardIoError) -> &str {
    match e {
        ForwardIoError::Key { key, .. } => key,
        other => panic!("expected a key error, got {other:?}"),
    }
}

fn max_abs_diff<'a>(a: impl IntoIterator<Item = &'a f32>, b: impl IntoIterator<Item = &'a f32>) -> f32 {
    a.into_iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

// ----- requests -----

#[test]
fn ids_form_defaults_the_mask_and_keeps_token_types() {
    let r = parse(r#"{"input_ids": [[1, 5, 2], [1, 6, 2]]}"#).unwrap();
    let RequestForm::Ids(ids) = &r.form else {
        panic!("{r:?}")
    };
    assert_eq!(ids.attention_mask, vec![vec![1; 3]; 2]);
    assert_eq!(ids.token_type_ids, None);
    assert_eq!(ids.shape().unwrap(), [2, 3]);

    let r = parse(
        r#"{"input_ids": [[1, 5, 2, 0]], "attention_mask": [[1, 1, 1, 0]], "token_type_ids": [[0, 0, 1, 0]],
            "logits": [[0.5]], "note": null}"#,
    )
    .unwrap();
    assert_eq!(r.ignored_keys, vec!["logits".to_string(), "note".to_string()]);
    let RequestForm::Ids(ids) = &r.form else {
        panic!("{r:?}")
    };
    assert_eq!(ids.attention_mask, vec![vec![1, 1, 1, 0]]);
    assert_eq!(ids.token_type_ids, Some(vec![vec![0, 0, 1, 0]]));
    let input = ids.to_input::<B>(&Default::default()).unwrap();
    assert_eq!(input.input_ids.dims(), [1, 4]);
    assert_eq!(input.token_type_ids.map(|t| t.dims()), Some([1, 4]));
}

#[test]
fn texts_form_with_and_without_pairs() {
    let r = parse(r#"{"texts": ["a", "b"], "text_pairs": null}"#).unwrap();
    assert_eq!(
        r.form,
        RequestForm::Texts(TextBatch {
            texts: vec!["a".into(), "b".into()],
            text_pairs: None
        })
    );
    let r = parse(r#"{"texts": ["a"], "text_pairs": ["b"]}"#).unwrap();
    let RequestForm::Texts(t) = &r.form else {
        panic!("{r:?}")
    };
    assert_eq!(t.text_pairs, Some(vec!["b".to_string()]));
}

#[test]
fn malformed_requests_name_the_file_and_key() {
    // Invalid JSON.
    let e = parse_err(r#"{"input_ids": [[1, 2]"#);
    assert!(matches!(e, ForwardIoError::Json { .. }), "{e:?}");
    // Not an object; neither form; both forms.
    assert!(parse_err("[[1, 2]]").to_string().contains("`input_ids` or `texts`"));
    let e = parse_err(r#"{"ids": [[1]]}"#);
    assert!(e.to_string().contains("found keys `ids`"), "{e}");
    let e = parse_err(r#"{"attention_mask": [[1]]}"#);
    assert!(e.to_string().contains("`attention_mask`"), "{e}");
    let e = parse_err(r#"{"input_ids": [[1]], "texts": ["a"]}"#);
    assert!(e.to_string().contains("both `input_ids` and `texts`"), "{e}");
    let e = parse_err(r#"{"texts": ["a"], "attention_mask": [[1]]}"#);
    assert!(e.to_string().contains("`attention_mask` goes with `input_ids`"), "{e}");
    assert_eq!(
        key_of(&parse_err(r#"{"input_ids": [[1]], "text_pairs": ["a"]}"#)),
        "text_pairs"
    );
    // Ragged rows name the row.
    let e = parse_err(r#"{"input_ids": [[1, 2, 3], [1, 2, 3], [1, 2]]}"#);
    assert_eq!(key_of(&e), "input_ids[2]");
    assert!(e.to_string().contains("row 2 has 2 entries but row 0 has 3"), "{e}");
    // Cells, rows and lists of the wrong kind.
    assert_eq!(key_of(&parse_err(r#"{"input_ids": [[1, 2.5]]}"#)), "input_ids[0][1]");
    assert_eq!(key_of(&parse_err(r#"{"input_ids": [[1], 2]}"#)), "input_ids[1]");
    assert_eq!(key_of(&parse_err(r#"{"input_ids": "1 2 3"}"#)), "input_ids");
    assert_eq!(key_of(&parse_err(r#"{"input_ids": []}"#)), "input_ids");
    assert_eq!(key_of(&parse_err(r#"{"input_ids": [[]]}"#)), "input_ids[0]");
    // Masks and token types of another shape, masks that are not 0/1.
    assert_eq!(
        key_of(&parse_err(
            r#"{"input_ids": [[1, 2]], "attention_mask": [[1, 1], [1, 1]]}"#
        )),
        "attention_mask"
    );
    assert_eq!(
        key_of(&parse_err(r#"{"input_ids": [[1, 2]], "token_type_ids": [[0, 0, 0]]}"#)),
        "token_type_ids"
    );
    assert_eq!(
        key_of(&parse_err(r#"{"input_ids": [[1, 2]], "attention_mask": [[1, 2]]}"#)),
        "attention_mask[0][1]"
    );
    // Texts: pairs of another length, non-strings, empty lists.
    let e = parse_err(r#"{"texts": ["a", "b"], "text_pairs": ["c"]}"#);
    assert_eq!(key_of(&e), "text_pairs");
    assert!(e.to_string().contains("has 1 entries but `texts` has 2"), "{e}");
    assert_eq!(key_of(&parse_err(r#"{"texts": ["a", 3]}"#)), "texts[1]");
    assert_eq!(key_of(&parse_err(r#"{"texts": []}"#)), "texts");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let path = Path::new("/nonexistent/deberta-forward/in.json");
    let e = read_request(path).unwrap_err();
    assert!(matches!(e, ForwardIoError::Io { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with("/nonexistent/deberta-forward/in.json: "),
        "{e}"
    );
}

#[test]
fn an_inconsistent_id_batch_is_an_error_not_a_panic() {
    let batch = IdBatch {
        input_ids: vec![vec![1, 2], vec![1]],
        token_type_ids: None,
        attention_mask: vec![vec![1, 1], vec![1, 1]],
    };
    let e = batch.to_input::<B>(&Default::default()).unwrap_err();
    assert!(e.to_string().contains("`input_ids[1]` has 1 entries"), "{e}");
}

#[test]
fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
    let tmp = TempDir::new("atomic");
    let out = tmp.write("out.json", "old");
    write_json_atomic(&out, &serde_json::json!({"a": [1, 2]})).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), r#"{"a":[1,2]}"#);
    let names: Vec<_> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);
    // A folder that does not exist: an error naming the file, nothing written.
    let bad = tmp.path("missing/out.json");
    let e = write_json_atomic(&bad, &1).unwrap_err();
    assert!(e.to_string().contains("missing/out.json"), "{e}");
}

// ----- tokenizer and model -----

#[test]
fn the_real_tokenizer_encodes_hello_world() {
    let tok = DebertaTokenizer::from_file(&spm_model()).unwrap();
    let r = parse(r#"{"texts": ["Hello world!"]}"#).unwrap();
    let ids = r.to_ids(Some(&tok), None).unwrap();
    assert_eq!(ids.input_ids, vec![HELLO_IDS.to_vec()]);
    assert_eq!(ids.token_type_ids, Some(vec![vec![0; 5]]));
    assert_eq!(ids.attention_mask, vec![vec![1; 5]]);

    // Pairs, padding to the longest row, truncation.
    let r = parse(r#"{"texts": ["Hello world!", "Hello"], "text_pairs": ["Hello", "Hello world!"]}"#).unwrap();
    let ids = r.to_ids(Some(&tok), None).unwrap();
    assert_eq!(ids.shape().unwrap(), [2, 7]);
    assert_eq!(ids.token_type_ids.as_ref().unwrap()[0], vec![0, 0, 0, 0, 0, 1, 1]);
    let r = parse(r#"{"texts": ["Hello world!", "Hello"]}"#).unwrap();
    let ids = r.to_ids(Some(&tok), Some(4)).unwrap();
    assert_eq!(ids.input_ids, vec![vec![1, 5365, 447, 2], vec![1, 5365, 2, 0]]);
    assert_eq!(ids.attention_mask[1], vec![1, 1, 1, 0]);

    // Without a tokenizer, or with a max_length below the special tokens: errors naming the file.
    let e = r.to_ids(None, None).unwrap_err();
    assert!(e.to_string().starts_with("in.json: "), "{e}");
    let e = r.to_ids(Some(&tok), Some(1)).unwrap_err();
    assert!(matches!(e, ForwardIoError::Tokenize { .. }), "{e:?}");
    assert!(e.to_string().starts_with("in.json: cannot tokenise `texts`"), "{e}");
}

#[test]
fn library_forward_matches_the_reference_and_rejects_foreign_ids() {
    let dir = fixture_dir();
    let r = reference();
    let text = std::fs::read_to_string(dir.join("reference.json")).unwrap();
    // The reference dump itself is a valid request: its outputs are ignored keys.
    let req = ForwardRequest::parse(&text, &dir.join("reference.json")).unwrap();
    assert!(
        req.ignored_keys.contains(&"logits".to_string()),
        "{:?}",
        req.ignored_keys
    );
    let batch = req.to_ids(None, None).unwrap();
    assert_eq!(batch.input_ids, r.input_ids);

    let device = Default::default();
    let (model, _) = DebertaForSequenceClassification::<B>::from_pretrained(&dir, None, 0, &device).unwrap();
    let input = batch.to_input::<B>(&device).unwrap();
    model.encoder.validate(&input).unwrap();
    let out = ForwardOutput::new(&batch, &model.forward(&input)).unwrap();
    let d = max_abs_diff(out.logits.iter().flatten(), r.logits.iter().flatten());
    assert!(d <= TOL, "logits differ from HF by {d:e}");
    assert_eq!(out.last_hidden_state.len(), r.input_ids.len());
    assert_eq!(out.last_hidden_state[0].len(), r.input_ids[0].len());

    // Real-tokenizer ids (up to 128000) into a model of vocabulary 211: a typed input error.
    let tok = DebertaTokenizer::from_file(&spm_model()).unwrap();
    let ids = parse(r#"{"texts": ["Hello world!"]}"#)
        .unwrap()
        .to_ids(Some(&tok), None)
        .unwrap();
    let e = model
        .encoder
        .validate(&ids.to_input::<B>(&device).unwrap())
        .unwrap_err();
    assert!(matches!(e, DebertaError::Input(_)), "{e:?}");
    assert!(e.to_string().contains("input_ids must be in [0, 211)"), "{e}");
}

// ----- the example binary, end to end -----

/// The example's executable, built once (same profile as this test).
fn example() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        // <target>/<profile dir>/deps/forward_cli-<hash>
        let me = std::env::current_exe().unwrap();
        let profile_dir = me.parent().and_then(Path::parent).and_then(Path::file_name).unwrap();
        let profile = match profile_dir.to_str().unwrap() {
            "debug" => "dev",
            other => other,
        };
        let out = Command::new(env!("CARGO"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            // `--workspace`: the same feature unification as the README's `cargo test --workspace`, so the build
            // is a no-op there instead of rebuilding burn with another feature set.
            .args(["build", "-q", "--workspace", "--example", "deberta-forward"])
            .args(["--profile", profile, "--message-format=json"])
            .output()
            .expect("cannot run cargo");
        assert!(
            out.status.success(),
            "cargo build --example deberta-forward failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "deberta-forward")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no executable for the example")
    })
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(example())
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("cannot run the example")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A run that must fail: non-zero exit, exactly one error line containing every `needles`, no panic, no output.
fn assert_fails(out: &Output, output_file: &Path, needles: &[&str]) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected a failure:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{err}");
    for n in needles {
        assert!(errors[0].contains(n), "`{n}` not in: {}", errors[0]);
    }
    assert!(!output_file.exists(), "{} was written", output_file.display());
}

#[test]
fn cli_forward_matches_the_hf_reference() {
    let tmp = TempDir::new("forward");
    let r = reference();
    let input = tmp.write(
        "in.json",
        &serde_json::json!({"input_ids": r.input_ids, "attention_mask": r.attention_mask}).to_string(),
    );
    let output = tmp.path("out.json");
    let out = run(&[&"--model", &fixture_dir(), &"--input", &input, &"--output", &output]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("loaded "), "no load report: {err}");
    assert!(err.contains("batch 3, length 70"), "no summary: {err}");

    let got: ForwardOutput = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(got.input_ids, r.input_ids);
    assert_eq!(got.attention_mask, r.attention_mask);
    let d = max_abs_diff(got.logits.iter().flatten(), r.logits.iter().flatten());
    assert!(d <= TOL, "logits differ from HF by {d:e}");
    assert_eq!(got.logits.len(), r.input_ids.len());
    assert_eq!(got.logits[0].len(), 3);
    assert_eq!(got.last_hidden_state.len(), r.input_ids.len());
    let mut worst: f32 = 0.0;
    for (b, rows) in r.last_hidden_state.iter().enumerate() {
        assert_eq!(got.last_hidden_state[b].len(), 70);
        for (t, row) in rows.iter().enumerate() {
            assert_eq!(got.last_hidden_state[b][t].len(), 32);
            if r.attention_mask[b][t] == 1 {
                worst = worst.max(max_abs_diff(&got.last_hidden_state[b][t], row));
            }
        }
    }
    assert!(worst <= TOL, "hidden states at real tokens differ from HF by {worst:e}");
}

#[test]
fn cli_token_types_follow_the_model() {
    let tmp = TempDir::new("token-types");
    let output = tmp.path("out.json");
    let fixtures = fixture_dir().parent().unwrap().to_path_buf();
    let logits = |model: &Path, input: &Path| -> Vec<Vec<f32>> {
        let out = run(&[&"--model", &model, &"--input", &input, &"--output", &output]);
        assert!(out.status.success(), "{}", stderr(&out));
        let got: ForwardOutput = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
        std::fs::remove_file(&output).unwrap();
        got.logits
    };

    // A model with token type embeddings, fed its HF dump as it is (token types included): HF's logits.
    let abs = fixtures.join("absolute_only");
    let expected: Reference =
        serde_json::from_str(&std::fs::read_to_string(abs.join("reference.json")).unwrap()).unwrap();
    let got = logits(&abs, &abs.join("reference.json"));
    let d = max_abs_diff(got.iter().flatten(), expected.logits.iter().flatten());
    assert!(d <= TOL, "logits differ from HF by {d:e}");
    // ... and a token type beyond its type_vocab_size (2): an error naming the key.
    let bad = tmp.write(
        "tt.json",
        r#"{"input_ids": [[1, 5, 2]], "token_type_ids": [[0, 2, 0]]}"#,
    );
    let out = run(&[&"--model", &abs, &"--input", &bad, &"--output", &output]);
    assert_fails(&out, &output, &["tt.json", "token_type_ids must be in [0, 2)"]);

    // A model without token type embeddings (type_vocab_size 0, as DeBERTa-v3) ignores them, as transformers does:
    // pair segments (1) are accepted and change nothing.
    let plain = tmp.write("plain.json", r#"{"input_ids": [[1, 5, 7, 2, 9, 2]]}"#);
    let pair = tmp.write(
        "pair.json",
        r#"{"input_ids": [[1, 5, 7, 2, 9, 2]], "token_type_ids": [[0, 0, 0, 0, 1, 1]]}"#,
    );
    assert_eq!(logits(&fixture_dir(), &plain), logits(&fixture_dir(), &pair));
}

#[test]
fn cli_tokenize_only_needs_no_model() {
    let tmp = TempDir::new("tokenize");
    let input = tmp.write("in.json", r#"{"texts": ["Hello world!"]}"#);
    let output = tmp.path("ids.json");
    let out = run(&[
        &"--tokenize-only",
        &"--tokenizer",
        &spm_model(),
        &"--input",
        &input,
        &"--output",
        &output,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: IdBatch = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(got.input_ids, vec![HELLO_IDS.to_vec()]);
    assert_eq!(got.token_type_ids, Some(vec![vec![0; 5]]));
    assert_eq!(got.attention_mask, vec![vec![1; 5]]);
}

#[test]
fn cli_bad_inputs_fail_with_one_clear_line() {
    let tmp = TempDir::new("bad");
    let model = fixture_dir();
    let output = tmp.path("out.json");
    let forward = |input: &Path| run(&[&"--model", &model, &"--input", &input, &"--output", &output]);

    // Missing file.
    let missing = tmp.path("missing.json");
    assert_fails(&forward(&missing), &output, &["missing.json"]);
    // Invalid JSON.
    let bad = tmp.write("bad.json", "{\"input_ids\": [[1, 2]");
    assert_fails(&forward(&bad), &output, &["bad.json", "invalid JSON"]);
    // Neither form, both forms.
    let neither = tmp.write("neither.json", r#"{"ids": [[1, 2]]}"#);
    assert_fails(
        &forward(&neither),
        &output,
        &["neither.json", "expected `input_ids`", "found keys `ids`"],
    );
    let both = tmp.write("both.json", r#"{"input_ids": [[1, 2]], "texts": ["a"]}"#);
    assert_fails(&forward(&both), &output, &["both.json", "both `input_ids` and `texts`"]);
    // Ragged rows.
    let ragged = tmp.write("ragged.json", r#"{"input_ids": [[1, 5, 2], [1, 2]]}"#);
    assert_fails(
        &forward(&ragged),
        &output,
        &["ragged.json", "`input_ids[1]`", "row 1 has 2 entries"],
    );
    // Ids out of the fixture's vocabulary (211).
    let big = tmp.write("big.json", r#"{"input_ids": [[1, 500, 2]]}"#);
    assert_fails(&forward(&big), &output, &["big.json", "input_ids must be in [0, 211)"]);
    // Pairs of another length.
    let pairs = tmp.write("pairs.json", r#"{"texts": ["a", "b"], "text_pairs": ["c"]}"#);
    assert_fails(&forward(&pairs), &output, &["pairs.json", "`text_pairs`"]);
    // Texts with the real tokenizer into the tiny model: ids out of range, named with the tokenizer.
    let hello = tmp.write("hello.json", r#"{"texts": ["Hello world!"]}"#);
    let out = run(&[
        &"--model",
        &model,
        &"--tokenizer",
        &spm_model(),
        &"--input",
        &hello,
        &"--output",
        &output,
    ]);
    assert_fails(
        &out,
        &output,
        &["hello.json", "spm.model", "input_ids must be in [0, 211)"],
    );
    // Texts without any tokenizer (the fixture folder has none).
    assert_fails(&forward(&hello), &output, &["hello.json", "spm.model"]);
    // No model without --tokenize-only.
    let out = run(&[&"--tokenizer", &spm_model(), &"--input", &hello, &"--output", &output]);
    assert_fails(&out, &output, &["--model"]);
}

/// A folder of the root package's test fixtures (the peft references of `scripts/make_peft_reference.py` and the
/// tabs run folders beside them).
fn root_fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

/// `--adapter`: peft's own logits (LoRA on the six maps with a trained pooler; rsLoRA with a regex target) on the
/// padded batches stored beside them (each file is also a valid request: `input_ids`, `attention_mask`,
/// `token_type_ids`, plus keys the example ignores). (A tabs run's `adapter/` goes through the same loader as
/// `predict --adapter`, tested in the root package's `after_training.rs`; an adapter folder from before manifests
/// recorded the run's settings is a one-line error saying to use the run folder.)
#[test]
fn cli_adapter_gives_peft_logits() {
    let tmp = TempDir::new("adapter");
    let base = root_fixture("demo/model");
    let cases = [
        (
            "peft/deberta-lora",
            "peft/deberta-lora/reference.json",
            "peft LoRA adapter",
        ),
        (
            "peft/deberta-rslora",
            "peft/deberta-rslora/reference.json",
            "peft LoRA adapter",
        ),
    ];
    for (i, (adapter, reference, kind)) in cases.into_iter().enumerate() {
        let (adapter, reference) = (root_fixture(adapter), root_fixture(reference));
        let output = tmp.path(&format!("out{i}.json"));
        let out = run(&[
            &"--model",
            &base,
            &"--adapter",
            &adapter,
            &"--input",
            &reference,
            &"--output",
            &output,
        ]);
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(err.contains(kind), "{err}");
        let want: Value = serde_json::from_str(&std::fs::read_to_string(&reference).unwrap()).unwrap();
        let want: Vec<Vec<f32>> = serde_json::from_value(want["logits"].clone()).unwrap();
        let got: ForwardOutput = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
        assert_eq!(got.logits.len(), want.len());
        assert_eq!(got.logits[0].len(), want[0].len());
        let d = max_abs_diff(got.logits.iter().flatten(), want.iter().flatten());
        assert!(d <= TOL, "{}: logits differ by {d}", adapter.display());
        // Without the adapter the same batch gives other logits (the adapter is applied, not ignored).
        let plain = tmp.path(&format!("plain{i}.json"));
        let n = want[0].len().to_string();
        let out = run(&[
            &"--model",
            &base,
            &"--num-labels",
            &n,
            &"--input",
            &reference,
            &"--output",
            &plain,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let base_out: ForwardOutput = serde_json::from_str(&std::fs::read_to_string(&plain).unwrap()).unwrap();
        assert!(max_abs_diff(base_out.logits.iter().flatten(), want.iter().flatten()) > 1e-3);
    }
    // A BERT checkpoint, a folder that is no adapter, an adapter folder of an older version, and --num-labels with --adapter are one-line errors.
    let reference = root_fixture("peft/deberta-lora/reference.json");
    let output = tmp.path("bad.json");
    let bert = root_fixture("../../tabs-bert/tests/fixtures/bert/model_bin");
    let out = run(&[
        &"--model",
        &bert,
        &"--adapter",
        &root_fixture("peft/bert-lora"),
        &"--input",
        &reference,
        &"--output",
        &output,
    ]);
    assert_fails(&out, &output, &["BERT checkpoint", "predict"]);
    let out = run(&[
        &"--model",
        &base,
        &"--adapter",
        &base,
        &"--input",
        &reference,
        &"--output",
        &output,
    ]);
    assert_fails(&out, &output, &["--adapter"]);
    let old = root_fixture("peft/runs/deberta-bhsp/adapter");
    let out = run(&[
        &"--model",
        &base,
        &"--adapter",
        &old,
        &"--input",
        &reference,
        &"--output",
        &output,
    ]);
    assert_fails(&out, &output, &["--adapter", "use --run with the run folder"]);
    let out = run(&[
        &"--model",
        &base,
        &"--adapter",
        &root_fixture("peft/deberta-lora"),
        &"--num-labels",
        &"2",
        &"--input",
        &reference,
        &"--output",
        &output,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--num-labels"), "{}", stderr(&out));
}
