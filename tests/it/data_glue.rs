//! GLUE loaders on hand-made fixtures in the distributed layouts (`scripts/make_glue_fixtures.py`).

use std::path::{Path, PathBuf};

use tabs_experiments::glue::{load_jsonl, load_split, load_tsv, GlueTask, Label, Split};
use tabs_experiments::DataError;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/glue")
}

fn ex(a: &str, b: Option<&str>, label: Option<Label>) -> tabs_experiments::glue::Example {
    tabs_experiments::glue::Example {
        text_a: a.to_owned(),
        text_b: b.map(str::to_owned),
        label,
    }
}

use Label::{Class, Score};

#[test]
fn quirks_are_really_in_the_fixtures() {
    // If a checkout normalised line ends or stripped the BOM, the tests below would test less: fail loudly.
    let cola_dev = std::fs::read(fixtures().join("CoLA/dev.tsv")).unwrap();
    assert!(
        cola_dev.windows(2).any(|w| w == b"\r\n"),
        "CoLA/dev.tsv must keep its \\r\\n line ends"
    );
    let mrpc = std::fs::read(fixtures().join("MRPC/train.tsv")).unwrap();
    assert!(
        mrpc.starts_with(b"\xEF\xBB\xBF"),
        "MRPC/train.tsv must start with a UTF-8 BOM"
    );
}

#[test]
fn cola_headerless_train_and_crlf_dev() {
    let root = fixtures();
    let train = load_split(GlueTask::Cola, &root, Split::Train).unwrap();
    assert_eq!(
        train,
        vec![
            ex("The cat sat on the mat.", None, Some(Class(1))),
            ex("Cat the mat on sat.", None, Some(Class(0))),
            ex("She said \"hello.", None, Some(Class(1))),
            ex("", None, Some(Class(0))),
        ]
    );
    let dev = load_split(GlueTask::Cola, &root.join("CoLA"), Split::Dev).unwrap();
    assert_eq!(
        dev,
        vec![
            ex("Birds fly.", None, Some(Class(1))),
            ex("Fly birds the.", None, Some(Class(0)))
        ]
    );
    let test = load_split(GlueTask::Cola, &root, Split::Test).unwrap();
    assert_eq!(
        test,
        vec![ex("Dogs bark.", None, None), ex("Bark dogs loud the.", None, None)]
    );
}

#[test]
fn sst2_keeps_trailing_spaces_quotes_and_empty_sentences() {
    let root = fixtures();
    let train = load_split(GlueTask::Sst2, &root, Split::Train).unwrap();
    assert_eq!(train[0], ex("a gentle , moving film ", None, Some(Class(1))));
    assert_eq!(train[2], ex("it 's \" fine", None, Some(Class(1))));
    let dev = load_split(GlueTask::Sst2, &root, Split::Dev).unwrap();
    assert_eq!(
        dev,
        vec![ex("a triumph . ", None, Some(Class(1))), ex("", None, Some(Class(0)))]
    );
    let test = load_split(GlueTask::Sst2, &root, Split::Test).unwrap();
    assert_eq!(test.len(), 2);
    assert!(test.iter().all(|e| e.label.is_none()));
}

#[test]
fn mrpc_with_bom_selects_columns_by_name() {
    let root = fixtures();
    let train = load_split(GlueTask::Mrpc, &root, Split::Train).unwrap();
    assert_eq!(
        train,
        vec![
            ex(
                "The firm posted a profit .",
                Some("The company reported a profit ."),
                Some(Class(1))
            ),
            ex("Shares fell 2 % .", Some("The index rose \" sharply ."), Some(Class(0))),
        ]
    );
    let test = load_split(GlueTask::Mrpc, &root, Split::Test).unwrap();
    assert_eq!(test, vec![ex("Rain is expected .", Some("It may rain ."), None)]);
}

#[test]
fn stsb_scores_are_floats() {
    let root = fixtures();
    let train = load_split(GlueTask::Stsb, &root, Split::Train).unwrap();
    let scores: Vec<Option<Label>> = train.iter().map(|e| e.label).collect();
    assert_eq!(scores, vec![Some(Score(5.0)), Some(Score(0.0)), Some(Score(2.615))]);
    assert_eq!(train[0].text_a, "A dog runs.");
    assert_eq!(train[0].text_b.as_deref(), Some("A dog is running."));
    let test = load_split(GlueTask::Stsb, &root, Split::Test).unwrap();
    assert_eq!(test, vec![ex("Hi.", Some("Hello."), None)]);
}

#[test]
fn qqp_empty_question_is_kept() {
    let root = fixtures();
    let train = load_split(GlueTask::Qqp, &root, Split::Train).unwrap();
    assert_eq!(train[1], ex("Why is the sky blue?", Some(""), Some(Class(0))));
    let test = load_split(GlueTask::Qqp, &root, Split::Test).unwrap();
    assert_eq!(test, vec![ex("What is 2+2?", Some("What's two plus two?"), None)]);
}

#[test]
fn mnli_five_files_and_hf_label_order() {
    let root = fixtures();
    let train = load_split(GlueTask::Mnli, &root, Split::Train).unwrap();
    let labels: Vec<Option<Label>> = train.iter().map(|e| e.label).collect();
    // HF datasets order: entailment 0, neutral 1, contradiction 2.
    assert_eq!(labels, vec![Some(Class(0)), Some(Class(2)), Some(Class(1))]);
    assert_eq!(train[0], ex("A man plays.", Some("Someone plays."), Some(Class(0))));
    let dev_m = load_split(GlueTask::Mnli, &root, Split::Dev).unwrap();
    assert_eq!(
        dev_m,
        vec![
            ex("The door is open.", Some("The door is closed."), Some(Class(2))),
            ex("Kids laugh.", Some("Children are happy."), Some(Class(0))),
        ]
    );
    let dev_mm = load_split(GlueTask::Mnli, &root, Split::DevMismatched).unwrap();
    assert_eq!(dev_mm, vec![ex("It snowed.", Some("It was cold."), Some(Class(1)))]);
    let test_m = load_split(GlueTask::Mnli, &root, Split::Test).unwrap();
    assert_eq!(test_m, vec![ex("Cats sleep.", Some("Cats rest."), None)]);
    let test_mm = load_split(GlueTask::Mnli, &root, Split::TestMismatched).unwrap();
    assert_eq!(test_mm, vec![ex("Ships sail.", Some("Boats move."), None)]);
    assert!(matches!(
        load_split(GlueTask::Rte, &root, Split::DevMismatched),
        Err(DataError::InvalidArgument(_))
    ));
}

#[test]
fn qnli_and_rte_named_labels_blank_lines_skipped() {
    let root = fixtures();
    let qnli = load_split(GlueTask::Qnli, &root, Split::Train).unwrap();
    assert_eq!(
        qnli,
        vec![
            ex("Who wrote it?", Some("It was written by Ann."), Some(Class(0))),
            ex("When did it end?", Some("The war was long."), Some(Class(1))),
        ]
    );
    let rte = load_split(GlueTask::Rte, &root, Split::Train).unwrap();
    assert_eq!(
        rte[1],
        ex("The vote was delayed.", Some("The vote happened."), Some(Class(1)))
    );
    let rte_test = load_split(GlueTask::Rte, &root, Split::Test).unwrap();
    assert_eq!(rte_test, vec![ex("C.", Some("D."), None)]);
}

#[test]
fn every_task_and_split_loads() {
    let root = fixtures();
    let mut total = 0;
    for task in GlueTask::ALL {
        for &split in task.splits() {
            let examples = load_split(task, &root, split).unwrap_or_else(|e| panic!("{task} {split:?}: {e}"));
            assert!(!examples.is_empty());
            for e in &examples {
                assert_eq!(e.text_b.is_some(), task.is_pair(), "{task}");
                assert_eq!(e.label.is_some(), split.is_labelled(), "{task} {split:?}");
                match e.label {
                    Some(Class(c)) => assert!(c < task.num_labels()),
                    Some(Score(s)) => assert!(task.is_regression() && (0.0..=5.0).contains(&s)),
                    None => {}
                }
            }
            total += examples.len();
        }
    }
    assert_eq!(total, 44);
}

#[test]
fn jsonl_same_fields() {
    let root = fixtures().join("jsonl");
    let sst = load_split(GlueTask::Sst2, &root, Split::Train).unwrap();
    assert_eq!(
        sst,
        vec![
            ex("great fun", None, Some(Class(1))),
            ex("", None, Some(Class(0))),
            ex("so-so", None, Some(Class(0))),
        ]
    );
    let mnli = load_split(GlueTask::Mnli, &root, Split::Dev).unwrap();
    assert_eq!(
        mnli,
        vec![
            ex("A.", Some("B."), Some(Class(1))),
            ex("C.", Some("D."), Some(Class(2)))
        ]
    );
    let sts = load_split(GlueTask::Stsb, &root, Split::Dev).unwrap();
    assert_eq!(
        sts,
        vec![
            ex("x", Some("y"), Some(Score(3.2))),
            ex("x", Some("z"), Some(Score(0.0)))
        ]
    );
    let rte = load_split(GlueTask::Rte, &root, Split::Test).unwrap();
    assert_eq!(rte, vec![ex("E.", Some("F."), None), ex("G.", Some("H."), None)]);
}

fn malformed(name: &str) -> PathBuf {
    fixtures().join("malformed").join(name)
}

#[test]
fn short_row_names_file_line_and_header() {
    let err = load_tsv(GlueTask::Sst2, &malformed("sst2_short_row.tsv"), Split::Train).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            DataError::FieldCount {
                line: 3,
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("sst2_short_row.tsv:3:") && msg.contains("[\"sentence\", \"label\"]"),
        "{msg}"
    );
}

#[test]
fn bad_label_names_column_value_and_label_set() {
    let err = load_tsv(GlueTask::Rte, &malformed("rte_bad_label.tsv"), Split::Train).unwrap_err();
    let msg = err.to_string();
    assert!(msg.ends_with(
        "rte_bad_label.tsv:3: column \"label\": label \"contradiction\" is not one of {entailment, not_entailment} or ids {0, 1}"
    ), "{msg}");
}

#[test]
fn missing_column_lists_expected_and_found() {
    let err = load_tsv(GlueTask::Mnli, &malformed("mnli_no_gold_label.tsv"), Split::Train).unwrap_err();
    match &err {
        DataError::MissingColumn {
            column,
            expected,
            found,
            ..
        } => {
            assert_eq!(column, "gold_label");
            assert_eq!(expected, &["sentence1", "sentence2", "gold_label"]);
            assert_eq!(found.last().map(String::as_str), Some("label1"));
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err
        .to_string()
        .contains("mnli_no_gold_label.tsv:1: header has no column \"gold_label\""));
    // The same file is a valid *test* file (no label column needed).
    assert_eq!(
        load_tsv(GlueTask::Mnli, &malformed("mnli_no_gold_label.tsv"), Split::Test)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn score_out_of_range_and_cola_layout() {
    let err = load_tsv(GlueTask::Stsb, &malformed("stsb_bad_score.tsv"), Split::Dev).unwrap_err();
    assert!(err
        .to_string()
        .contains("stsb_bad_score.tsv:2: column \"score\": label \"5.5\" is not one of a number in [0, 5]"));
    let err = load_tsv(GlueTask::Cola, &malformed("cola_three_fields.tsv"), Split::Train).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::FieldCount {
                line: 2,
                expected: 4,
                found: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn jsonl_errors_name_line_and_field() {
    let err = load_jsonl(GlueTask::Rte, &malformed("pair_without_sentence2.jsonl")).unwrap_err();
    assert!(err
        .to_string()
        .ends_with("pair_without_sentence2.jsonl:2: column \"sentence2\": missing (rte is a pair task)"));
    let err = load_jsonl(GlueTask::Sst2, &malformed("not_json.jsonl")).unwrap_err();
    assert!(matches!(err, DataError::Malformed { line: 2, .. }), "{err}");
    let err = load_jsonl(GlueTask::Sst2, &malformed("pair_without_sentence2.jsonl")).unwrap_err();
    assert!(err
        .to_string()
        .contains(":1: column \"sentence2\": present, but sst2 is a single-sentence task"));
}

#[test]
fn missing_files_list_candidates() {
    let dir = fixtures().join("malformed");
    let err = load_split(GlueTask::Qqp, &dir, Split::Train).unwrap_err();
    match err {
        DataError::NotFound { candidates, .. } => {
            assert!(candidates[0].ends_with("train.tsv") && candidates[1].ends_with("train.jsonl"));
        }
        other => panic!("unexpected {other}"),
    }
}

// From `src/glue.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod glue_units {
    use std::path::Path;
    use tabs_experiments::glue::*;

    #[test]
    fn task_names_parse() {
        for t in GlueTask::ALL {
            assert_eq!(t.name().parse::<GlueTask>().unwrap(), t);
            assert_eq!(t.dir_name().parse::<GlueTask>().unwrap(), t);
        }
        assert_eq!("STS_B".parse::<GlueTask>().unwrap(), GlueTask::Stsb);
        assert!("wnli".parse::<GlueTask>().is_err());
    }

    #[test]
    fn labels_by_name_or_id() {
        let p = Path::new("f.tsv");
        assert_eq!(
            parse_label(GlueTask::Mnli, "neutral", p, 2, "gold_label").unwrap(),
            Label::Class(1)
        );
        assert_eq!(parse_label(GlueTask::Rte, "1", p, 2, "label").unwrap(), Label::Class(1));
        assert_eq!(
            parse_label(GlueTask::Stsb, "3.8", p, 2, "score").unwrap(),
            Label::Score(3.8)
        );
        let e = parse_label(GlueTask::Mnli, "-", p, 9, "gold_label").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.tsv:9: column \"gold_label\": label \"-\" is not one of {entailment, neutral, contradiction} or ids {0, 1, 2}"
        );
        assert!(parse_label(GlueTask::Stsb, "5.5", p, 2, "score").is_err());
        assert!(parse_label(GlueTask::Sst2, "2", p, 2, "label").is_err());
    }
}
