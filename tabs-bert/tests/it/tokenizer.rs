//! The WordPiece tokenizer against transformers' `BertTokenizer` (fast) on the tiny fixture vocabulary
//! (`tokenizer_reference.json`, made by `scripts/make_bert_reference.py`): singles, pairs with token types,
//! longest-first truncation counting the special tokens, lower-casing, accent stripping, punctuation, `[UNK]`.

use crate::common::fixture;
use serde_json::Value;
use tabs_bert::tokenize::{BertTokenizer, Padding, Tokenize, TokenizeError, Truncation};

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn equals_transformers_on_the_fixture_cases() {
    let tok = BertTokenizer::from_dir(&fixture("bert/seqcls")).unwrap();
    let text = std::fs::read_to_string(fixture("bert/tokenizer_reference.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 6);
    for c in &cases {
        let pair = c["pair"].as_str();
        let truncation = match c["max_length"].as_u64() {
            Some(n) => Truncation::LongestFirst { max_length: n as usize },
            None => Truncation::None,
        };
        let e = tok.encode(c["text"].as_str().unwrap(), pair, truncation).unwrap();
        assert_eq!(e.input_ids, ids(&c["input_ids"]), "{c}");
        assert_eq!(e.token_type_ids, ids(&c["token_type_ids"]), "{c}");
        assert_eq!(e.attention_mask, ids(&c["attention_mask"]), "{c}");
    }
    // A word with no WordPiece cover (the vocabulary has letters but no digits or CJK) is one `[UNK]` (id 1);
    // a CJK character is split off as its own word by the BERT normaliser.
    let e = tok.encode("the 7x 東bad", None, Truncation::None).unwrap();
    assert_eq!(e.input_ids, vec![2, 41, 1, 1, 59, 3]);
}

#[test]
fn batches_pad_on_the_right_and_errors_are_typed() {
    let tok = BertTokenizer::from_dir(&fixture("bert/seqcls")).unwrap();
    let b = tok
        .encode_batch(
            &["the movie", "bad"],
            Some(&["yes", "no no no"]),
            Truncation::None,
            Padding::Longest,
        )
        .unwrap();
    let single = tok.encode("the movie", Some("yes"), Truncation::None).unwrap();
    let n = single.input_ids.len();
    assert_eq!(&b.input_ids[0][..n], &single.input_ids[..]);
    let len = b.input_ids[0].len();
    assert!(b.input_ids.iter().all(|r| r.len() == len));
    // "[CLS] bad [SEP] no no no [SEP]" = 7 is the longest; row 0 "[CLS] the movie [SEP] yes [SEP]" has 6 tokens
    // and 1 pad (token type 0, attention 0).
    assert_eq!(len, 7);
    assert_eq!(b.attention_mask[0], vec![1, 1, 1, 1, 1, 1, 0]);
    assert_eq!(b.token_type_ids[0], vec![0, 0, 0, 0, 1, 1, 0]);
    assert_eq!(b.input_ids[0][6], tok.pad_id());
    assert!(matches!(
        tok.encode("a b c", Some("d"), Truncation::LongestFirst { max_length: 2 }),
        Err(TokenizeError::MaxLengthTooSmall {
            max_length: 2,
            special_tokens: 3
        })
    ));
    assert!(matches!(
        tok.encode_batch(&["a", "b"], Some(&["c"]), Truncation::None, Padding::None),
        Err(TokenizeError::PairCountMismatch { texts: 2, pairs: 1 })
    ));
    assert!(matches!(
        BertTokenizer::from_dir(&fixture("bert")),
        Err(TokenizeError::Io { .. })
    ));
}
