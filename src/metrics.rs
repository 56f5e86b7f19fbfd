//! Evaluation metrics of the GLUE / LRA experiments and `glue_avg`.
//!
//! All scores are fractions (accuracy 0.9 = 90 %); correlations lie in \[−1, 1\]. Every function returns an error
//! on empty input or on inputs of different lengths (never NaN for those), and otherwise follows scikit-learn /
//! SciPy in the degenerate cases, as stated per function. Reference values: `tests/fixtures/metrics/reference.json`
//! (written by `scripts/make_metric_reference.py` with scikit-learn and SciPy).
//!
//! # `glue_avg`
//!
//! AdaLoRA (Zhang et al., ICLR 2023), Table 1 ("Results with DeBERTaV3-base on GLUE development set … We report the
//! average correlation for STS-B"), reports MNLI m/mm, SST-2 Acc, CoLA Mcc, QQP Acc/F1, QNLI Acc, RTE Acc, MRPC Acc,
//! STS-B Corr and "All Ave.". Its "All Ave." is the plain mean over the eight tasks of one number per task, where the
//! two-number columns enter as their mean:
//!
//! ```text
//! glue_avg = ⅛ · ( (acc_m + acc_mm)/2  (MNLI) + acc (SST-2) + MCC (CoLA) + (acc + F1)/2 (QQP) + acc (QNLI)
//!                  + acc (RTE) + acc (MRPC) + (Pearson + Spearman)/2 (STS-B) )
//! ```
//!
//! This reading reproduces the table's "All Ave." column to its printed precision, e.g. AdaLoRA 1.27M: 89.31,
//! LoRA r=8: 88.34, BitFit: 86.02 (pinned by `tests/it/data_metrics.rs`); averaging MNLI-m and QQP-acc alone would give
//! 89.46 for AdaLoRA instead. STS-B's "Corr" is the average of Pearson and Spearman, as the caption says and as
//! AdaLoRA's `run_glue.py` computes it (`combined_score` = mean of the `glue`/`stsb` metric's `pearson` and
//! `spearmanr`).

use crate::glue::GlueTask;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    /// Fewer items than the metric needs (1 for classification metrics, 2 for correlations).
    #[error("{metric} needs at least {needed} items, got {got}")]
    TooFew {
        /// The metric.
        metric: &'static str,
        /// Minimum number of items.
        needed: usize,
        /// Number given.
        got: usize,
    },
    /// Predictions and labels differ in length.
    #[error("{metric}: {predictions} predictions but {labels} labels")]
    LengthMismatch {
        /// The metric.
        metric: &'static str,
        /// Number of predictions.
        predictions: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A binary metric got a class other than 0 or 1.
    #[error("{metric}: item {index} has class {value}, expected 0 or 1")]
    NotBinary {
        /// The metric.
        metric: &'static str,
        /// Position of the item.
        index: usize,
        /// The class found.
        value: usize,
    },
    /// A regression value is NaN or infinite.
    #[error("{metric}: item {index} is not finite")]
    NonFinite {
        /// The metric.
        metric: &'static str,
        /// Position of the item.
        index: usize,
    },
    /// `glue_avg` was not given exactly one score per task, or a score of the wrong kind.
    #[error("glue_avg: {0}")]
    GlueScores(String),
}

/// The number that represents a task in `glue_avg` (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MainMetric {
    /// Accuracy (SST-2, MRPC, QNLI, RTE).
    Accuracy,
    /// Matthews correlation (CoLA).
    Matthews,
    /// Mean of accuracy and binary F1 (QQP).
    AccuracyF1Mean,
    /// Mean of matched and mismatched accuracy (MNLI).
    MatchedMismatchedAccuracyMean,
    /// Mean of Pearson and Spearman correlation (STS-B).
    PearsonSpearmanMean,
}

fn check_pair<A, B>(metric: &'static str, a: &[A], b: &[B], needed: usize) -> Result<(), MetricError> {
    if a.len() != b.len() {
        return Err(MetricError::LengthMismatch {
            metric,
            predictions: a.len(),
            labels: b.len(),
        });
    }
    if a.len() < needed {
        return Err(MetricError::TooFew {
            metric,
            needed,
            got: a.len(),
        });
    }
    Ok(())
}

/// Accuracy = (1/n) Σᵢ 1\[predᵢ = labelᵢ\]. Errors on empty input.
pub fn accuracy(predictions: &[usize], labels: &[usize]) -> Result<f64, MetricError> {
    check_pair("accuracy", predictions, labels, 1)?;
    let correct = predictions.iter().zip(labels).filter(|(p, l)| p == l).count();
    Ok(correct as f64 / labels.len() as f64)
}

/// Counts `(tp, fp, fn)` of a binary problem with positive class 1.
fn binary_counts(
    metric: &'static str,
    predictions: &[usize],
    labels: &[usize],
) -> Result<(u64, u64, u64), MetricError> {
    check_pair(metric, predictions, labels, 1)?;
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for (index, (&p, &l)) in predictions.iter().zip(labels).enumerate() {
        for value in [p, l] {
            if value > 1 {
                return Err(MetricError::NotBinary { metric, index, value });
            }
        }
        match (p, l) {
            (1, 1) => tp += 1,
            (1, 0) => fp += 1,
            (0, 1) => fn_ += 1,
            _ => {}
        }
    }
    Ok((tp, fp, fn_))
}

/// Binary F1 with positive class 1: F1 = 2·TP / (2·TP + FP + FN).
///
/// When TP + FP + FN = 0 (no positive predicted or present) the score is 0, as scikit-learn's `f1_score`
/// returns by default (`zero_division="warn"` yields 0 with a warning). Errors on empty input and on classes other than 0 / 1.
pub fn f1_binary(predictions: &[usize], labels: &[usize]) -> Result<f64, MetricError> {
    let (tp, fp, fn_) = binary_counts("f1", predictions, labels)?;
    let denominator = 2 * tp + fp + fn_;
    Ok(if denominator == 0 {
        0.0
    } else {
        (2 * tp) as f64 / denominator as f64
    })
}

/// Matthews correlation coefficient, multi-class form (scikit-learn's `matthews_corrcoef`):
///
/// MCC = (c·s − Σₖ pₖ tₖ) / √((s² − Σₖ pₖ²)(s² − Σₖ tₖ²)),
///
/// with s the number of items, c the number correct, pₖ the number predicted as k and tₖ the number truly k. For
/// two classes this is (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)). When the denominator is 0 (constant
/// predictions or constant labels) the result is 0, as in scikit-learn. Errors on empty input.
pub fn matthews_corrcoef(predictions: &[usize], labels: &[usize]) -> Result<f64, MetricError> {
    check_pair("matthews_corrcoef", predictions, labels, 1)?;
    // Per class: (number predicted, number true); a map, so arbitrary class ids cost nothing.
    let mut counts: std::collections::BTreeMap<usize, (f64, f64)> = std::collections::BTreeMap::new();
    let mut correct = 0f64;
    for (&p, &l) in predictions.iter().zip(labels) {
        counts.entry(p).or_default().0 += 1.0;
        counts.entry(l).or_default().1 += 1.0;
        if p == l {
            correct += 1.0;
        }
    }
    let s = labels.len() as f64;
    let pt: f64 = counts.values().map(|(p, t)| p * t).sum();
    let pp: f64 = counts.values().map(|(p, _)| p * p).sum();
    let tt: f64 = counts.values().map(|(_, t)| t * t).sum();
    let denominator = ((s * s - pp) * (s * s - tt)).sqrt();
    Ok(if denominator == 0.0 {
        0.0
    } else {
        (correct * s - pt) / denominator
    })
}

fn check_finite(metric: &'static str, values: &[f64]) -> Result<(), MetricError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MetricError::NonFinite { metric, index }),
        None => Ok(()),
    }
}

fn pearson_unchecked(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

/// Pearson correlation r = Σ(xᵢ − x̄)(yᵢ − ȳ) / √(Σ(xᵢ − x̄)² · Σ(yᵢ − ȳ)²), clamped to \[−1, 1\].
///
/// Returns **NaN** when either input is constant (SciPy's `pearsonr` does the same, with a warning); errors on
/// fewer than 2 items, different lengths, or non-finite values.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64, MetricError> {
    check_pair("pearson", x, y, 2)?;
    check_finite("pearson", x)?;
    check_finite("pearson", y)?;
    Ok(pearson_unchecked(x, y))
}

/// 1-based ranks with ties given the average of the ranks they span (SciPy's `rankdata(method="average")`).
/// Values must be finite (checked by the callers that take user input).
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Items start..end (0-based) take ranks start+1 ..= end; their average is (start + 1 + end) / 2.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman rank correlation: the Pearson correlation of the average ranks ([`average_ranks`]).
///
/// NaN when either input is constant, like SciPy's `spearmanr`; errors as [`pearson`].
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64, MetricError> {
    check_pair("spearman", x, y, 2)?;
    check_finite("spearman", x)?;
    check_finite("spearman", y)?;
    Ok(pearson_unchecked(&average_ranks(x), &average_ranks(y)))
}

/// A task's dev-set result, in the form its [`MainMetric`] needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaskScore {
    /// Accuracy.
    Accuracy(f64),
    /// Matthews correlation.
    Matthews(f64),
    /// Accuracy and binary F1.
    AccuracyF1 {
        /// Accuracy.
        accuracy: f64,
        /// Binary F1 (positive class 1).
        f1: f64,
    },
    /// MNLI matched and mismatched accuracy.
    MatchedMismatched {
        /// `dev_matched` accuracy.
        matched: f64,
        /// `dev_mismatched` accuracy.
        mismatched: f64,
    },
    /// Pearson and Spearman correlation.
    Correlation {
        /// Pearson r.
        pearson: f64,
        /// Spearman ρ.
        spearman: f64,
    },
}

impl TaskScore {
    /// Which [`MainMetric`] this score feeds.
    pub fn metric(&self) -> MainMetric {
        match self {
            TaskScore::Accuracy(_) => MainMetric::Accuracy,
            TaskScore::Matthews(_) => MainMetric::Matthews,
            TaskScore::AccuracyF1 { .. } => MainMetric::AccuracyF1Mean,
            TaskScore::MatchedMismatched { .. } => MainMetric::MatchedMismatchedAccuracyMean,
            TaskScore::Correlation { .. } => MainMetric::PearsonSpearmanMean,
        }
    }

    /// The single number that enters `glue_avg`: the value itself, or the mean of the two values.
    pub fn main(&self) -> f64 {
        match *self {
            TaskScore::Accuracy(v) | TaskScore::Matthews(v) => v,
            TaskScore::AccuracyF1 { accuracy, f1 } => (accuracy + f1) / 2.0,
            TaskScore::MatchedMismatched { matched, mismatched } => (matched + mismatched) / 2.0,
            TaskScore::Correlation { pearson, spearman } => (pearson + spearman) / 2.0,
        }
    }
}

/// Scores a classification task other than MNLI (class ids as in [`GlueTask::label_names`]).
pub fn score_classification(task: GlueTask, predictions: &[usize], labels: &[usize]) -> Result<TaskScore, MetricError> {
    match task.main_metric() {
        MainMetric::Accuracy => Ok(TaskScore::Accuracy(accuracy(predictions, labels)?)),
        MainMetric::Matthews => Ok(TaskScore::Matthews(matthews_corrcoef(predictions, labels)?)),
        MainMetric::AccuracyF1Mean => Ok(TaskScore::AccuracyF1 {
            accuracy: accuracy(predictions, labels)?,
            f1: f1_binary(predictions, labels)?,
        }),
        MainMetric::MatchedMismatchedAccuracyMean | MainMetric::PearsonSpearmanMean => Err(MetricError::GlueScores(
            format!("{task} is not scored by score_classification (use score_mnli / score_stsb)"),
        )),
    }
}

/// Scores MNLI from its matched and mismatched dev predictions.
pub fn score_mnli(matched: (&[usize], &[usize]), mismatched: (&[usize], &[usize])) -> Result<TaskScore, MetricError> {
    Ok(TaskScore::MatchedMismatched {
        matched: accuracy(matched.0, matched.1)?,
        mismatched: accuracy(mismatched.0, mismatched.1)?,
    })
}

/// Scores STS-B from predicted and gold similarity scores.
pub fn score_stsb(predictions: &[f64], labels: &[f64]) -> Result<TaskScore, MetricError> {
    Ok(TaskScore::Correlation {
        pearson: pearson(predictions, labels)?,
        spearman: spearman(predictions, labels)?,
    })
}

/// AdaLoRA's "All Ave.": the mean of [`TaskScore::main`] over the eight GLUE tasks (see the module
/// documentation). Needs exactly one score per [`GlueTask`], each of the kind [`GlueTask::main_metric`] names.
/// A NaN score (a constant STS-B predictor) makes the average NaN.
pub fn glue_avg(scores: &[(GlueTask, TaskScore)]) -> Result<f64, MetricError> {
    let mut total = 0.0;
    for task in GlueTask::ALL {
        let mut found = scores.iter().filter(|(t, _)| *t == task);
        let Some((_, score)) = found.next() else {
            return Err(MetricError::GlueScores(format!("no score for {task}")));
        };
        if found.next().is_some() {
            return Err(MetricError::GlueScores(format!("more than one score for {task}")));
        }
        if score.metric() != task.main_metric() {
            return Err(MetricError::GlueScores(format!(
                "{task} needs a {:?} score, got {:?}",
                task.main_metric(),
                score.metric()
            )));
        }
        total += score.main();
    }
    Ok(total / GlueTask::ALL.len() as f64)
}
