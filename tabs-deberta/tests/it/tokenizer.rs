//! The DeBERTa-v3 tokenizer against HuggingFace: ids, token type ids and attention masks equal the committed
//! fixture `tests/fixtures/tokenizer/reference.json` (made by `scripts/make_tokenizer_reference.py`), for the
//! tokenizer built from `spm.model` and the one loaded from `tokenizer.json`; and bad input gives typed errors.
//!
//! The reference files are read from `tests/fixtures/deberta-v3/` (the real DeBERTa-v3 tokenizer, MIT); a
//! missing file fails the test with its path.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;
use tabs_deberta::tokenize::{DebertaTokenizer, Padding, SentencePieceModel, Tokenize, TokenizeError, Truncation};

/// Cases where transformers 5.x's `AutoTokenizer` (NFC instead of SentencePiece's `nmt_nfkc` map) gives other ids
/// than the converted pipeline; the fixture records both and the Rust tokenizer follows the converted pipeline.
const KNOWN_HF_AUTO_DIVERGENCES: &[&str] = &["nfkc_compat", "nbsp_and_controls"];

#[derive(Debug, Deserialize)]
struct Fixture {
    transformers_version: String,
    vocab_size_with_added: usize,
    vocab_size_base: usize,
    special_ids: std::collections::BTreeMap<String, u32>,
    cases: Vec<Case>,
    batches: Vec<Batch>,
    decodes: Vec<Decode>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    text: String,
    pair: Option<String>,
    max_length: Option<usize>,
    input_ids: Vec<u32>,
    token_type_ids: Vec<u32>,
    attention_mask: Vec<u32>,
    hf_auto_input_ids: Vec<u32>,
    hf_auto_equal: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FixturePadding {
    Named(String),
    Length(usize),
}

#[derive(Debug, Deserialize)]
struct Batch {
    name: String,
    texts: Vec<String>,
    pairs: Option<Vec<String>>,
    max_length: Option<usize>,
    padding: FixturePadding,
    input_ids: Vec<Vec<u32>>,
    token_type_ids: Vec<Vec<u32>>,
    attention_mask: Vec<Vec<u32>>,
    hf_auto_equal: bool,
}

#[derive(Debug, Deserialize)]
struct Decode {
    name: String,
    input_ids: Vec<u32>,
    skip_special_tokens: bool,
    expected: String,
    hf_auto: String,
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deberta-v3")
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer/reference.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
    })
}

fn from_spm() -> &'static DebertaTokenizer {
    static TOKENIZER: OnceLock<DebertaTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        DebertaTokenizer::from_spm_model(&reference_dir().join("spm.model")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn from_json() -> &'static DebertaTokenizer {
    static TOKENIZER: OnceLock<DebertaTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        DebertaTokenizer::from_tokenizer_json(&reference_dir().join("tokenizer.json")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn truncation(max_length: Option<usize>) -> Truncation {
    max_length.map_or(Truncation::None, |max_length| Truncation::LongestFirst { max_length })
}

/// Checks every single/pair case; returns (passed, failures).
fn check_cases(tokenizer: &DebertaTokenizer) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let cases = &fixture().cases;
    for case in cases {
        let result = tokenizer.encode(&case.text, case.pair.as_deref(), truncation(case.max_length));
        match result {
            Ok(enc)
                if enc.input_ids == case.input_ids
                    && enc.token_type_ids == case.token_type_ids
                    && enc.attention_mask == case.attention_mask => {}
            Ok(enc) => failures.push(format!(
                "{}: got ids {:?} types {:?} mask {:?}, expected ids {:?} types {:?} mask {:?}",
                case.name,
                enc.input_ids,
                enc.token_type_ids,
                enc.attention_mask,
                case.input_ids,
                case.token_type_ids,
                case.attention_mask
            )),
            Err(e) => failures.push(format!("{}: error {e}", case.name)),
        }
    }
    (cases.len() - failures.len(), failures)
}

fn check_batches(tokenizer: &DebertaTokenizer) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let batches = &fixture().batches;
    for batch in batches {
        let texts: Vec<&str> = batch.texts.iter().map(String::as_str).collect();
        let pairs: Option<Vec<&str>> = batch.pairs.as_ref().map(|p| p.iter().map(String::as_str).collect());
        let padding = match &batch.padding {
            FixturePadding::Named(name) if name == "longest" => Padding::Longest,
            FixturePadding::Named(name) => panic!("{}: unknown padding {name}", batch.name),
            FixturePadding::Length(n) => Padding::MaxLength(*n),
        };
        match tokenizer.encode_batch(&texts, pairs.as_deref(), truncation(batch.max_length), padding) {
            Ok(enc)
                if enc.input_ids == batch.input_ids
                    && enc.token_type_ids == batch.token_type_ids
                    && enc.attention_mask == batch.attention_mask => {}
            Ok(enc) => failures.push(format!(
                "{}: got {enc:?}, expected ids {:?}",
                batch.name, batch.input_ids
            )),
            Err(e) => failures.push(format!("{}: error {e}", batch.name)),
        }
    }
    (batches.len() - failures.len(), failures)
}

fn check_decodes(tokenizer: &DebertaTokenizer) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let decodes = &fixture().decodes;
    for decode in decodes {
        match tokenizer.decode(&decode.input_ids, decode.skip_special_tokens) {
            Ok(text) if text == decode.expected => {}
            Ok(text) => failures.push(format!("{}: got {text:?}, expected {:?}", decode.name, decode.expected)),
            Err(e) => failures.push(format!("{}: error {e}", decode.name)),
        }
    }
    (decodes.len() - failures.len(), failures)
}

fn assert_all_pass(loader: &str, what: &str, (passed, failures): (usize, Vec<String>)) {
    println!(
        "{loader}: {passed}/{} {what} equal HuggingFace",
        passed + failures.len()
    );
    assert!(
        failures.is_empty(),
        "{loader}: {} {what} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn spm_model_matches_hf_cases() {
    assert_all_pass("spm.model", "cases", check_cases(from_spm()));
}

#[test]
fn tokenizer_json_matches_hf_cases() {
    assert_all_pass("tokenizer.json", "cases", check_cases(from_json()));
}

#[test]
fn spm_model_matches_hf_batches() {
    assert_all_pass("spm.model", "batches", check_batches(from_spm()));
}

#[test]
fn tokenizer_json_matches_hf_batches() {
    assert_all_pass("tokenizer.json", "batches", check_batches(from_json()));
}

#[test]
fn spm_model_matches_hf_decodes() {
    assert_all_pass("spm.model", "decodes", check_decodes(from_spm()));
}

#[test]
fn tokenizer_json_matches_hf_decodes() {
    assert_all_pass("tokenizer.json", "decodes", check_decodes(from_json()));
}

#[test]
fn hello_world_reference_ids() {
    for tokenizer in [from_spm(), from_json()] {
        let enc = tokenizer
            .encode("Hello world!", None, Truncation::None)
            .expect("encode");
        assert_eq!(enc.input_ids, [1, 5365, 447, 300, 2]);
        assert_eq!(enc.token_type_ids, [0; 5]);
        assert_eq!(enc.attention_mask, [1; 5]);
    }
}

/// The fixture says where transformers 5.x's `AutoTokenizer` differs from the converted pipeline; only the
/// known NFKC cases may, and on every other case the Rust ids are therefore also `AutoTokenizer`'s.
#[test]
fn hf_auto_tokenizer_differs_only_on_known_cases() {
    let fixture = fixture();
    let differing: Vec<&str> = fixture
        .cases
        .iter()
        .filter(|c| !c.hf_auto_equal)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        differing, KNOWN_HF_AUTO_DIVERGENCES,
        "transformers {}",
        fixture.transformers_version
    );
    for case in fixture.cases.iter().filter(|c| c.hf_auto_equal) {
        assert_eq!(case.hf_auto_input_ids, case.input_ids, "{}", case.name);
    }
    assert!(fixture.batches.iter().all(|b| b.hf_auto_equal));
    assert!(fixture.decodes.iter().all(|d| d.hf_auto == d.expected));
}

#[test]
fn special_ids_and_vocab_sizes() {
    let fixture = fixture();
    for tokenizer in [from_spm(), from_json()] {
        let ids = &fixture.special_ids;
        assert_eq!(tokenizer.pad_id(), ids["[PAD]"]);
        assert_eq!(tokenizer.cls_id(), ids["[CLS]"]);
        assert_eq!(tokenizer.sep_id(), ids["[SEP]"]);
        assert_eq!(tokenizer.unk_id(), ids["[UNK]"]);
        assert_eq!(tokenizer.mask_id(), ids["[MASK]"]);
        assert_eq!((tokenizer.pad_id(), tokenizer.cls_id(), tokenizer.sep_id()), (0, 1, 2));
        assert_eq!((tokenizer.unk_id(), tokenizer.mask_id()), (3, 128_000));
        assert_eq!(tokenizer.vocab_size(), fixture.vocab_size_with_added);
        assert_eq!(tokenizer.base_vocab_size(), fixture.vocab_size_base);
    }
}

/// The pipeline built from `spm.model` serialises to the same `tokenizer.json` as the shipped file (with its
/// padding and truncation off): same normaliser, pre-tokeniser, model (every piece and score), added tokens,
/// post-processor and decoder.
#[test]
fn spm_pipeline_equals_shipped_tokenizer_json() {
    let spm: serde_json::Value =
        serde_json::from_str(&from_spm().to_tokenizer_json(false).expect("serialise")).expect("json");
    let json: serde_json::Value =
        serde_json::from_str(&from_json().to_tokenizer_json(false).expect("serialise")).expect("json");
    for key in [
        "truncation",
        "padding",
        "added_tokens",
        "normalizer",
        "pre_tokenizer",
        "post_processor",
        "decoder",
    ] {
        assert_eq!(spm[key], json[key], "{key}");
    }
    assert_eq!(spm["model"]["type"], json["model"]["type"]);
    assert_eq!(spm["model"]["unk_id"], json["model"]["unk_id"]);
    assert_eq!(spm["model"]["byte_fallback"], json["model"]["byte_fallback"]);
    let (a, b) = (
        spm["model"]["vocab"].as_array().expect("vocab"),
        json["model"]["vocab"].as_array().expect("vocab"),
    );
    assert_eq!(a.len(), 128_000);
    let first_difference = a.iter().zip(b).position(|(x, y)| x != y);
    assert_eq!(first_difference, None, "first differing piece");
    assert_eq!(spm, json);
}

// ---- errors: typed, never panics ----

/// A fresh temporary directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tabs-tokenizer-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn missing_file_is_an_io_error_naming_the_file() {
    let path = temp_dir("missing").join("spm.model");
    match DebertaTokenizer::from_spm_model(&path) {
        Err(TokenizeError::Io { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Io, got {other:?}"),
    }
    let json = path.with_file_name("tokenizer.json");
    assert!(matches!(
        DebertaTokenizer::from_tokenizer_json(&json),
        Err(TokenizeError::Io { .. })
    ));
    assert!(matches!(
        DebertaTokenizer::from_file(&json),
        Err(TokenizeError::Io { .. })
    ));
}

#[test]
fn garbage_model_is_a_parse_error() {
    let dir = temp_dir("garbage");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let inputs: [(&str, &[u8]); 5] = [
        ("random.model", &garbage),
        ("empty.model", b""),
        ("text.model", b"this is not a sentencepiece model\n"),
        ("json.model", b"{\"version\": \"1.0\"}"),
        ("zeros.model", &[0u8; 64]),
    ];
    for (name, bytes) in inputs {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        match DebertaTokenizer::from_spm_model(&path) {
            Err(TokenizeError::Parse { path: p, reason }) => {
                assert_eq!(p, path);
                assert!(!reason.is_empty());
            }
            other => panic!("{name}: expected Parse, got {other:?}"),
        }
    }
}

#[test]
fn truncated_model_is_a_parse_error() {
    let bytes = std::fs::read(reference_dir().join("spm.model")).expect("read spm.model");
    let dir = temp_dir("truncated");
    for keep in [1, 7, 100, 1000, bytes.len() / 2, bytes.len() - 1] {
        let path = dir.join(format!("cut{keep}.model"));
        std::fs::write(&path, &bytes[..keep]).expect("write");
        match DebertaTokenizer::from_spm_model(&path) {
            Err(TokenizeError::Parse { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("keeping {keep} bytes: expected Parse, got {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Damage inside the precompiled charsmap keeps the protobuf valid but would make `tokenizers`' normaliser index
/// out of bounds while encoding; the loader must refuse it instead.
#[test]
fn damaged_charsmap_is_a_parse_error_not_a_panic() {
    let bytes = std::fs::read(reference_dir().join("spm.model")).expect("read spm.model");
    let model = SentencePieceModel::from_bytes(&bytes).expect("parse spm.model");
    let charsmap = &model.precompiled_charsmap;
    let start = bytes
        .windows(64)
        .position(|w| w == &charsmap[..64])
        .expect("charsmap in file");
    let trie_end = 4 + u32::from_le_bytes([charsmap[0], charsmap[1], charsmap[2], charsmap[3]]) as usize / 4 * 4;
    let damages: [(&str, usize, &[u8]); 3] = [
        // The root unit points far outside the trie.
        ("root", start + 4, &0x7fff_fc00u32.to_le_bytes()),
        // The trie claims more units than the map holds.
        ("size", start, &0x7fff_fff0u32.to_le_bytes()),
        // The normalised text is no longer UTF-8.
        ("text", start + trie_end + 10, &[0xff]),
    ];
    let dir = temp_dir("charsmap");
    for (name, at, patch) in damages {
        let mut damaged = bytes.clone();
        damaged[at..at + patch.len()].copy_from_slice(patch);
        let path = dir.join(format!("{name}.model"));
        std::fs::write(&path, &damaged).expect("write");
        match DebertaTokenizer::from_spm_model(&path) {
            Err(TokenizeError::Parse { reason, .. }) => assert!(reason.contains("charsmap"), "{name}: {reason}"),
            other => panic!("{name}: expected Parse, got {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same for a `tokenizer.json` whose `Precompiled` normaliser carries a damaged charsmap.
#[test]
fn damaged_charsmap_in_json_is_a_parse_error_not_a_panic() {
    let mut json: serde_json::Value =
        serde_json::from_str(&from_spm().to_tokenizer_json(false).expect("serialise")).expect("json");
    let normalizers = json["normalizer"]["normalizers"]
        .as_array_mut()
        .expect("normalizer sequence");
    let precompiled = normalizers
        .iter_mut()
        .find(|n| n["type"] == "Precompiled")
        .expect("Precompiled step");
    // One trie unit whose offset points far outside the trie.
    precompiled["precompiled_charsmap"] = serde_json::Value::from("BAAAAAD8/38=");
    let dir = temp_dir("jsoncharsmap");
    let path = dir.join("tokenizer.json");
    std::fs::write(&path, json.to_string()).expect("write");
    match DebertaTokenizer::from_tokenizer_json(&path) {
        Err(TokenizeError::Parse { reason, .. }) => assert!(reason.contains("charsmap"), "{reason}"),
        other => panic!("expected Parse, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_json_is_a_parse_error() {
    let dir = temp_dir("badjson");
    let inputs: [(&str, &str); 3] = [
        ("truncated.json", "{\"version\": \"1.0\", \"model\": {"),
        ("wrong.json", "{\"hello\": [1, 2, 3]}"),
        ("text.json", "not json at all"),
    ];
    for (name, text) in inputs {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        match DebertaTokenizer::from_tokenizer_json(&path) {
            Err(TokenizeError::Parse { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{name}: expected Parse, got {other:?}"),
        }
        assert!(matches!(
            DebertaTokenizer::from_file(&path),
            Err(TokenizeError::Parse { .. })
        ));
    }
}

#[test]
fn from_file_and_from_dir_pick_the_loader() {
    let dir = reference_dir();
    let by_model = DebertaTokenizer::from_file(&dir.join("spm.model")).expect("spm.model");
    let by_json = DebertaTokenizer::from_file(&dir.join("tokenizer.json")).expect("tokenizer.json");
    let by_dir = DebertaTokenizer::from_dir(&dir).expect("dir");
    for tokenizer in [&by_model, &by_json, &by_dir] {
        let ids = tokenizer
            .encode("Hello world!", None, Truncation::None)
            .expect("encode")
            .input_ids;
        assert_eq!(ids, [1, 5365, 447, 300, 2]);
    }
    let empty = temp_dir("emptydir");
    match DebertaTokenizer::from_dir(&empty) {
        Err(TokenizeError::NotFound { dir, expected }) => {
            assert_eq!(dir, empty);
            assert!(expected.contains("spm.model"), "{expected}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let other = empty.join("vocab.txt");
    std::fs::write(&other, "x").expect("write");
    assert!(matches!(
        DebertaTokenizer::from_file(&other),
        Err(TokenizeError::UnsupportedFile { .. })
    ));
}

#[test]
fn pair_count_mismatch_is_an_error() {
    let tokenizer = from_spm();
    let result = tokenizer.encode_batch(&["a", "b"], Some(&["x"]), Truncation::None, Padding::None);
    match result {
        Err(TokenizeError::PairCountMismatch { texts: 2, pairs: 1 }) => {}
        other => panic!("expected PairCountMismatch, got {other:?}"),
    }
}

#[test]
fn max_length_below_the_special_tokens_is_an_error() {
    let tokenizer = from_spm();
    let short = Truncation::LongestFirst { max_length: 2 };
    assert!(matches!(
        tokenizer.encode("a b c", Some("d e"), short),
        Err(TokenizeError::MaxLengthTooSmall {
            max_length: 2,
            special_tokens: 3
        })
    ));
    assert!(matches!(
        tokenizer.encode("a b c", None, Truncation::LongestFirst { max_length: 1 }),
        Err(TokenizeError::MaxLengthTooSmall {
            max_length: 1,
            special_tokens: 2
        })
    ));
    let enc = tokenizer
        .encode("a b c", None, short)
        .expect("two tokens fit [CLS] [SEP]");
    assert_eq!(enc.input_ids, [1, 2]);
}

#[test]
fn decode_of_an_unknown_id_is_an_error() {
    let tokenizer = from_spm();
    match tokenizer.decode(&[1, 5365, 999_999], false) {
        Err(TokenizeError::UnknownId {
            id: 999_999,
            vocab_size: 128_001,
        }) => {}
        other => panic!("expected UnknownId, got {other:?}"),
    }
}

#[test]
fn empty_batch_is_empty() {
    let batch = from_spm()
        .encode_batch(&[], None, Truncation::None, Padding::Longest)
        .expect("empty batch");
    assert!(batch.is_empty());
}
