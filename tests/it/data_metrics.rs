//! Metrics against scikit-learn / SciPy reference values (`tests/fixtures/metrics/reference.json`, written by
//! `scripts/make_metric_reference.py`), hand-computed cases, degenerate inputs, and `glue_avg` against AdaLoRA's
//! Table 1.

use serde_json::Value;
use tabs_experiments::glue::GlueTask;
use tabs_experiments::metrics::{
    accuracy, average_ranks, f1_binary, glue_avg, matthews_corrcoef, pearson, score_classification, score_mnli,
    score_stsb, spearman, MetricError, TaskScore,
};

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-12, "{what}: got {got}, sklearn/scipy {want}");
}

#[test]
fn classification_matches_sklearn() {
    let r = reference();
    let cases = r["classification"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    let mut f1_cases = 0;
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (p, l) = (usizes(&c["predictions"]), usizes(&c["labels"]));
        close(
            accuracy(&p, &l).unwrap(),
            c["accuracy"].as_f64().unwrap(),
            &format!("{name} accuracy"),
        );
        close(
            matthews_corrcoef(&p, &l).unwrap(),
            c["mcc"].as_f64().unwrap(),
            &format!("{name} mcc"),
        );
        if let Some(f1) = c.get("f1") {
            close(f1_binary(&p, &l).unwrap(), f1.as_f64().unwrap(), &format!("{name} f1"));
            f1_cases += 1;
        }
    }
    assert_eq!(f1_cases, 11);
}

#[test]
fn correlations_match_scipy() {
    let r = reference();
    let cases = r["regression"].as_array().unwrap();
    assert_eq!(cases.len(), 11);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (x, y) = (floats(&c["x"]), floats(&c["y"]));
        for (got, key) in [
            (pearson(&x, &y).unwrap(), "pearson"),
            (spearman(&x, &y).unwrap(), "spearman"),
        ] {
            match c[key].as_f64() {
                // 1e-9: SciPy's pearsonr normalises before its dot product; both are exact to ~1e-15 relative, but
                // the large-offset case loses a few more digits in either order of operations.
                Some(want) => assert!((got - want).abs() <= 1e-9, "{name} {key}: got {got}, scipy {want}"),
                None => assert!(got.is_nan(), "{name} {key}: scipy gives NaN, got {got}"),
            }
        }
    }
}

#[test]
fn hand_computed_cases() {
    // preds 1 1 0 0 1, labels 1 0 0 1 1: TP 2, FP 1, FN 1, TN 1.
    let (p, l) = ([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]);
    assert_eq!(accuracy(&p, &l).unwrap(), 0.6);
    assert_eq!(f1_binary(&p, &l).unwrap(), 4.0 / 6.0); // 2·2 / (2·2 + 1 + 1)
                                                       // (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 − 1)/√(3·3·2·2) = 1/6.
    assert!((matthews_corrcoef(&p, &l).unwrap() - 1.0 / 6.0).abs() < 1e-15);
    // x = 1 2 3, y = 1 3 2: means 2, 2; Σdxdy = 1·1·... = (−1)(−1) + 0 + (1)(0) = 1; Σdx² = 2, Σdy² = 2 ⇒ r = 0.5.
    assert!((pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap() - 0.5).abs() < 1e-15);
    // Ties: ranks of (1, 1, 2) are (1.5, 1.5, 3); against (1, 2, 3): r = 0.866025… (= √3/2).
    assert_eq!(average_ranks(&[1.0, 1.0, 2.0]), vec![1.5, 1.5, 3.0]);
    assert!((spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).unwrap() - 3f64.sqrt() / 2.0).abs() < 1e-15);
    // Spearman is invariant under monotone maps; Pearson is not.
    let x = [0.5, 1.0, 2.0, 4.0];
    let y: Vec<f64> = x.iter().map(|v: &f64| v.exp()).collect();
    assert!((spearman(&x, &y).unwrap() - 1.0).abs() < 1e-15);
    assert!(pearson(&x, &y).unwrap() < 0.99);
}

#[test]
fn degenerate_inputs() {
    // Constant predictions: MCC 0 (sklearn), accuracy and F1 still defined.
    assert_eq!(matthews_corrcoef(&[1, 1, 1, 1], &[0, 1, 0, 1]).unwrap(), 0.0);
    assert_eq!(matthews_corrcoef(&[0, 1, 0, 1], &[1, 1, 1, 1]).unwrap(), 0.0);
    // No positive anywhere: F1 0 (sklearn's zero_division default).
    assert_eq!(f1_binary(&[0, 0], &[0, 0]).unwrap(), 0.0);
    // Constant input: correlations are NaN (SciPy).
    assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).unwrap().is_nan());
    assert!(spearman(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]).unwrap().is_nan());
    // Empty input and mismatched lengths are errors, never NaN.
    assert_eq!(
        accuracy(&[], &[]),
        Err(MetricError::TooFew {
            metric: "accuracy",
            needed: 1,
            got: 0
        })
    );
    assert!(matches!(matthews_corrcoef(&[], &[]), Err(MetricError::TooFew { .. })));
    assert!(matches!(f1_binary(&[], &[]), Err(MetricError::TooFew { .. })));
    assert_eq!(
        pearson(&[1.0], &[2.0]),
        Err(MetricError::TooFew {
            metric: "pearson",
            needed: 2,
            got: 1
        })
    );
    assert_eq!(
        accuracy(&[1, 0], &[1]),
        Err(MetricError::LengthMismatch {
            metric: "accuracy",
            predictions: 2,
            labels: 1
        })
    );
    assert_eq!(
        f1_binary(&[0, 2], &[0, 1]),
        Err(MetricError::NotBinary {
            metric: "f1",
            index: 1,
            value: 2
        })
    );
    assert_eq!(
        spearman(&[1.0, f64::NAN], &[1.0, 2.0]),
        Err(MetricError::NonFinite {
            metric: "spearman",
            index: 1
        })
    );
}

fn adalora_row(v: [f64; 10]) -> Vec<(GlueTask, TaskScore)> {
    // Columns of AdaLoRA Table 1 (percent): MNLI m, MNLI mm, SST-2, CoLA, QQP acc, QQP F1, QNLI, RTE, MRPC, STS-B.
    let f = |x: f64| x / 100.0;
    vec![
        (
            GlueTask::Mnli,
            TaskScore::MatchedMismatched {
                matched: f(v[0]),
                mismatched: f(v[1]),
            },
        ),
        (GlueTask::Sst2, TaskScore::Accuracy(f(v[2]))),
        (GlueTask::Cola, TaskScore::Matthews(f(v[3]))),
        (
            GlueTask::Qqp,
            TaskScore::AccuracyF1 {
                accuracy: f(v[4]),
                f1: f(v[5]),
            },
        ),
        (GlueTask::Qnli, TaskScore::Accuracy(f(v[6]))),
        (GlueTask::Rte, TaskScore::Accuracy(f(v[7]))),
        (GlueTask::Mrpc, TaskScore::Accuracy(f(v[8]))),
        // The table gives only the averaged STS-B "Corr": use it for both correlations.
        (
            GlueTask::Stsb,
            TaskScore::Correlation {
                pearson: f(v[9]),
                spearman: f(v[9]),
            },
        ),
    ]
}

#[test]
fn glue_avg_reproduces_adalora_table_1() {
    // (row, printed "All Ave.")
    let rows = [
        (
            [90.76, 90.79, 96.10, 71.45, 92.23, 89.74, 94.55, 88.09, 90.69, 91.84],
            89.31,
        ), // AdaLoRA 1.27M
        (
            [90.65, 90.69, 94.95, 69.82, 91.99, 89.38, 93.87, 85.20, 89.95, 91.60],
            88.34,
        ), // LoRA r=8
        (
            [89.37, 89.91, 94.84, 66.96, 88.41, 84.95, 92.24, 78.70, 87.75, 91.35],
            86.02,
        ), // BitFit
        (
            [90.66, 90.70, 95.80, 70.04, 91.78, 89.16, 94.49, 87.36, 90.44, 91.63],
            88.86,
        ), // AdaLoRA 0.32M
    ];
    for (row, printed) in rows {
        let avg = glue_avg(&adalora_row(row)).unwrap() * 100.0;
        assert!(
            (avg - printed).abs() < 0.005 + 1e-9,
            "glue_avg {avg:.4} vs the table's {printed}"
        );
    }
}

#[test]
fn glue_avg_needs_each_task_once_with_the_right_kind() {
    let mut row = adalora_row([90.0; 10]);
    assert!((glue_avg(&row).unwrap() - 0.9).abs() < 1e-12);
    row.pop();
    assert!(glue_avg(&row).unwrap_err().to_string().contains("no score for stsb"));
    row.push((GlueTask::Stsb, TaskScore::Accuracy(0.9)));
    assert!(glue_avg(&row)
        .unwrap_err()
        .to_string()
        .contains("stsb needs a PearsonSpearmanMean score"));
    row.pop();
    row.push((
        GlueTask::Stsb,
        TaskScore::Correlation {
            pearson: 0.9,
            spearman: 0.9,
        },
    ));
    row.push((GlueTask::Rte, TaskScore::Accuracy(0.5)));
    assert!(glue_avg(&row)
        .unwrap_err()
        .to_string()
        .contains("more than one score for rte"));
}

#[test]
fn task_scoring_helpers() {
    let qqp = score_classification(GlueTask::Qqp, &[1, 1, 0, 0, 1], &[1, 0, 0, 1, 1]).unwrap();
    assert_eq!(
        qqp,
        TaskScore::AccuracyF1 {
            accuracy: 0.6,
            f1: 4.0 / 6.0
        }
    );
    assert!((qqp.main() - (0.6 + 4.0 / 6.0) / 2.0).abs() < 1e-15);
    assert!(
        matches!(score_classification(GlueTask::Cola, &[1, 0], &[1, 0]).unwrap(), TaskScore::Matthews(m) if m == 1.0)
    );
    assert!(score_classification(GlueTask::Stsb, &[1], &[1]).is_err());
    let mnli = score_mnli((&[0, 1, 2, 2], &[0, 1, 2, 0]), (&[1, 1], &[1, 0])).unwrap();
    assert_eq!(mnli.main(), (0.75 + 0.5) / 2.0);
    let sts = score_stsb(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap();
    assert!((sts.main() - 0.5).abs() < 1e-15); // Pearson 0.5, Spearman 0.5
}

// From `src/metrics.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod metrics_units {
    use tabs_experiments::metrics::*;

    #[test]
    fn mcc_accepts_any_class_id() {
        assert_eq!(matthews_corrcoef(&[usize::MAX, 0], &[usize::MAX, 0]).unwrap(), 1.0);
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 30.0, 20.0, 20.0]),
            vec![1.5, 4.0, 1.5, 6.0, 4.0, 4.0]
        );
        assert_eq!(average_ranks(&[]), Vec::<f64>::new());
    }
}
