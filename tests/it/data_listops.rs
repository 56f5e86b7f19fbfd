//! ListOps: generator (LRA recipe), both string forms, parser, evaluator (checked against a second, independently
//! written stack evaluator over thousands of trees), length window, dedup, determinism, TSV and tokens.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tabs_experiments::listops::{
    evaluate, generate, generate_splits, generate_tree, parse, to_tsv, tokenize_listops, ListOpsConfig, Op, ParseError,
    Tree, LISTOPS_VOCAB,
};

/// A second evaluator, written independently of `Tree::value` / `Op::apply`: it walks the raw tokens of either
/// string form with an explicit stack of (operator, arguments) frames and computes each operator from a histogram
/// of its arguments.
fn stack_eval(source: &str) -> u8 {
    let mut frames: Vec<(String, Vec<u32>)> = vec![("top".into(), vec![])];
    for tok in source.split(' ').filter(|t| !t.is_empty() && *t != "(" && *t != ")") {
        if tok.starts_with('[') {
            frames.push((tok.to_owned(), vec![]));
        } else if tok == "]" {
            let (op, args) = frames.pop().expect("balanced");
            let mut hist = [0u32; 10];
            for &a in &args {
                hist[a as usize] += 1;
            }
            let smallest = (0..10).find(|&d| hist[d] > 0).unwrap() as u32;
            let largest = (0..10).rev().find(|&d| hist[d] > 0).unwrap() as u32;
            // k-th smallest (0-based) by walking the histogram.
            let kth = |k: u32| -> u32 {
                let mut seen = 0;
                for d in 0..10u32 {
                    seen += hist[d as usize];
                    if seen > k {
                        return d;
                    }
                }
                unreachable!()
            };
            let n = args.len() as u32;
            let value = match op.as_str() {
                "[MIN" => smallest,
                "[MAX" => largest,
                "[SM" => args.iter().fold(0, |acc, a| (acc + a) % 10),
                "[MED" if n % 2 == 1 => kth(n / 2),
                "[MED" => (kth(n / 2 - 1) + kth(n / 2)) / 2,
                other => panic!("operator {other}"),
            };
            frames.last_mut().unwrap().1.push(value);
        } else {
            frames.last_mut().unwrap().1.push(tok.parse().unwrap());
        }
    }
    let (_, top) = frames.pop().unwrap();
    assert_eq!(top.len(), 1);
    top[0] as u8
}

/// Tokens of a source string other than parentheses (LRA's length).
fn lra_len(source: &str) -> usize {
    source.split_whitespace().filter(|t| *t != "(" && *t != ")").count()
}

#[test]
fn hand_computed_values() {
    let cases = [
        ("[MAX 4 3 [MIN 2 3 ] 1 0 ]", 4),
        ("[MIN 4 3 [MAX 2 9 ] 1 5 ]", 1),
        ("[MED 1 2 ]", 1),             // np.median = 1.5, int() = 1
        ("[MED 3 [SM 5 6 ] 9 0 ]", 2), // SM = 1; 0 1 3 9 → (1 + 3)/2
        ("[SM 9 9 9 ]", 7),            // 27 mod 10
        ("[MED 7 1 5 ]", 5),
        ("( ( ( [MAX 4 ) 3 ) ] )", 4), // LRA form of [MAX 4 3 ]
        ("( ( ( [SM 7 ) ( ( [MIN 8 ) ] ) ) ] )", 5),
        ("7", 7),
    ];
    for (s, want) in cases {
        assert_eq!(evaluate(s).unwrap(), want, "{s}");
        assert_eq!(stack_eval(s), want, "{s} (stack evaluator)");
    }
}

#[test]
fn both_string_forms_round_trip() {
    let t = parse("[MAX 4 3 [MIN 2 3 ] 1 0 ]").unwrap();
    assert_eq!(t.to_plain_string(), "[MAX 4 3 [MIN 2 3 ] 1 0 ]");
    assert_eq!(
        t.to_lra_string(),
        "( ( ( ( ( ( [MAX 4 ) 3 ) ( ( ( [MIN 2 ) 3 ) ] ) ) 1 ) 0 ) ] )"
    );
    assert_eq!(parse(&t.to_lra_string()).unwrap(), t);
    assert_eq!(t.token_len(), 10);
    assert_eq!(t.depth(), 3);
}

#[test]
fn thousands_of_trees_agree_with_the_stack_evaluator() {
    // A wide window (1, 400) to get many distinct trees quickly, plus the default LRA window below.
    let cfg = ListOpsConfig {
        min_length: 1,
        max_length: 400,
        ..ListOpsConfig::default()
    };
    let examples = generate(&cfg, 3000, 7).unwrap();
    let mut by_value = [0usize; 10];
    for e in &examples {
        assert_eq!(e.target, stack_eval(&e.source), "{}", e.source);
        assert_eq!(evaluate(&e.source).unwrap(), e.target);
        let tree = parse(&e.source).unwrap();
        assert_eq!(tree.to_lra_string(), e.source);
        assert_eq!(stack_eval(&tree.to_plain_string()), e.target);
        by_value[e.target as usize] += 1;
    }
    // Every answer occurs (LRA's ListOps is skewed but covers 0–9).
    assert!(by_value.iter().all(|&c| c > 0), "{by_value:?}");
    // Unfiltered draws too (mostly single leaves, as in LRA: P(leaf at the root) = 0.75).
    let mut rng = StdRng::seed_from_u64(11);
    let mut leaves = 0;
    for _ in 0..4000 {
        let t = generate_tree(&mut rng, &ListOpsConfig::default());
        assert_eq!(t.value(), stack_eval(&t.to_lra_string()));
        assert!(t.depth() <= 10);
        if matches!(t, Tree::Leaf(_)) {
            leaves += 1;
        }
    }
    assert!(
        (2800..3200).contains(&leaves),
        "{leaves} leaves of 4000 (expected ≈ 3000)"
    );
}

#[test]
fn default_window_dedup_and_determinism() {
    let cfg = ListOpsConfig::default();
    let a = generate(&cfg, 40, 1234).unwrap();
    let b = generate(&cfg, 40, 1234).unwrap();
    assert_eq!(a, b, "same seed, same data");
    let c = generate(&cfg, 40, 1235).unwrap();
    assert_ne!(a, c, "another seed, other data");
    let distinct: HashSet<&str> = a.iter().map(|e| e.source.as_str()).collect();
    assert_eq!(distinct.len(), 40);
    for e in &a {
        let len = lra_len(&e.source);
        assert!(500 < len && len < 2000, "length {len}");
        assert_eq!(parse(&e.source).unwrap().token_len(), len);
        assert_eq!(e.target, stack_eval(&e.source));
        assert!(parse(&e.source).unwrap().depth() <= 10);
    }
}

#[test]
fn window_is_strict_and_dedup_is_exact() {
    // Window (3, 5) admits exactly the 4-token trees `[OP a b ]`: 4 operators · 10 · 10 values = 400 trees.
    let cfg = ListOpsConfig {
        min_length: 3,
        max_length: 5,
        max_attempts: 5_000_000,
        ..ListOpsConfig::default()
    };
    let all = generate(&cfg, 400, 3).unwrap();
    let distinct: HashSet<&str> = all.iter().map(|e| e.source.as_str()).collect();
    assert_eq!(distinct.len(), 400);
    assert!(all.iter().all(|e| lra_len(&e.source) == 4));
    // A 401st distinct tree does not exist: the attempt limit reports it instead of looping.
    let limited = ListOpsConfig {
        max_attempts: 200_000,
        ..cfg
    };
    assert!(generate(&limited, 401, 3)
        .unwrap_err()
        .to_string()
        .contains("only 400 of 401"));
    // Empty or unreachable windows are rejected up front.
    assert!(generate(
        &ListOpsConfig {
            min_length: 5,
            max_length: 6,
            ..cfg.clone()
        },
        1,
        0
    )
    .is_err());
    let shallow = ListOpsConfig {
        max_depth: 2,
        max_args: 3,
        min_length: 5,
        max_length: 100,
        ..cfg
    };
    assert_eq!(shallow.longest_possible(), 5);
    assert!(generate(&shallow, 1, 0)
        .unwrap_err()
        .to_string()
        .contains("not more than min_length"));
}

#[test]
fn splits_and_tsv() {
    let cfg = ListOpsConfig {
        min_length: 10,
        max_length: 60,
        ..ListOpsConfig::default()
    };
    let s = generate_splits(&cfg, 30, 5, 7, 99).unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (30, 5, 7));
    let all: HashSet<&str> = s
        .train
        .iter()
        .chain(&s.val)
        .chain(&s.test)
        .map(|e| e.source.as_str())
        .collect();
    assert_eq!(all.len(), 42, "no example in two splits");
    let tsv = to_tsv(&s.val);
    let mut lines = tsv.split("\r\n");
    assert_eq!(lines.next(), Some("Source\tTarget"));
    for (line, e) in lines.zip(&s.val) {
        assert_eq!(line, format!("{}\t{}", e.source, e.target));
    }
    assert!(tsv.ends_with("\r\n"));
}

#[test]
fn tokens() {
    let ids = tokenize_listops("( ( ( [MAX 4 ) 3 ) ] )").unwrap();
    assert_eq!(ids, vec![12, 5, 4, 15]);
    assert_eq!(
        tokenize_listops("[SM 0 [MED 9 ] ]").unwrap(),
        vec![14, 1, 13, 10, 15, 15]
    );
    for e in generate(
        &ListOpsConfig {
            min_length: 1,
            max_length: 300,
            ..ListOpsConfig::default()
        },
        200,
        5,
    )
    .unwrap()
    {
        let ids = tokenize_listops(&e.source).unwrap();
        assert_eq!(ids.len(), lra_len(&e.source));
        let back: Vec<&str> = ids.iter().map(|&i| LISTOPS_VOCAB[i as usize]).collect();
        assert_eq!(parse(&back.join(" ")).unwrap(), parse(&e.source).unwrap());
    }
    assert!(matches!(
        tokenize_listops("[MAX 4 X ]"),
        Err(ParseError::UnknownToken { index: 2, .. })
    ));
}

#[test]
fn parse_errors() {
    assert!(matches!(
        parse("[MAX 4 10 ]"),
        Err(ParseError::UnknownToken { index: 2, .. })
    ));
    assert_eq!(parse("4 ]"), Err(ParseError::UnmatchedClose { index: 1 }));
    assert_eq!(parse("[MIN ]"), Err(ParseError::NoArguments { index: 1 }));
    assert_eq!(parse("[MIN 1 [MAX 2"), Err(ParseError::Incomplete { open: 2 }));
    assert_eq!(parse(""), Err(ParseError::Incomplete { open: 0 }));
    assert_eq!(parse("[MIN 1 ] 2"), Err(ParseError::Trailing { index: 3 }));
    assert_eq!(parse("( [MIN 1 ]"), Err(ParseError::UnbalancedParens));
    let deep = "[SM ".repeat(5000) + "1" + &" ]".repeat(5000);
    assert_eq!(parse(&deep), Err(ParseError::TooDeep));
    assert_eq!(Op::Med.apply(&[0, 9]), 4);
}

// From `src/listops.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod listops_units {
    use tabs_experiments::listops::*;

    #[test]
    fn lra_string_form() {
        let t = Tree::Node {
            op: Op::Max,
            args: vec![Tree::Leaf(4), Tree::Leaf(3)],
        };
        assert_eq!(t.to_lra_string(), "( ( ( [MAX 4 ) 3 ) ] )");
        assert_eq!(t.to_plain_string(), "[MAX 4 3 ]");
        assert_eq!(t.token_len(), 4);
    }

    #[test]
    fn median_truncates() {
        assert_eq!(Op::Med.apply(&[1, 2]), 1);
        assert_eq!(Op::Med.apply(&[3, 9, 0, 4]), 3);
        assert_eq!(Op::Med.apply(&[7, 1, 5]), 5);
        assert_eq!(Op::SumMod.apply(&[9, 9, 9]), 7);
    }
}
