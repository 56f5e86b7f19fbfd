#!/usr/bin/env python3
"""Write tests/fixtures/metrics/reference.json: metric values computed by scikit-learn and SciPy.

Needs PyPI scikit-learn + scipy (CI does not: it reads the committed fixture):

    pip install scikit-learn scipy
    python3 scripts/make_metric_reference.py

Each classification case holds `predictions`, `labels` and sklearn's `accuracy` and `mcc` (and `f1`,
`f1_binary(pos_label=1)`, for binary cases); each regression case holds `x`, `y` and SciPy's `pearson` and
`spearman` (None = NaN, which SciPy returns for a constant input). Cases are random (fixed seed) plus degenerate
ones: constant predictions, all-negative F1, heavy ties, perfect and inverted agreement.
"""
import json
import os
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "metrics", "reference.json")


def nan_to_none(v):
    v = float(v)
    return None if np.isnan(v) else v


def classification(name, preds, labels):
    preds = [int(p) for p in preds]
    labels = [int(l) for l in labels]
    case = {
        "name": name,
        "predictions": preds,
        "labels": labels,
        "accuracy": float(accuracy_score(labels, preds)),
        "mcc": float(matthews_corrcoef(labels, preds)),
    }
    if set(preds) <= {0, 1} and set(labels) <= {0, 1}:
        case["f1"] = float(f1_score(labels, preds, pos_label=1, average="binary", labels=[0, 1], zero_division=0.0))
    return case


def regression(name, x, y):
    x = [float(v) for v in x]
    y = [float(v) for v in y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = pearsonr(x, y)[0]
        s = spearmanr(x, y)[0]
    return {"name": name, "x": x, "y": y, "pearson": nan_to_none(p), "spearman": nan_to_none(s)}


def main():
    rng = np.random.default_rng(20240607)
    cls = []
    for i, n in enumerate([5, 17, 64, 257, 1000]):
        labels = rng.integers(0, 2, n)
        flip = rng.random(n) < 0.3
        preds = np.where(flip, 1 - labels, labels)
        cls.append(classification(f"binary_random_{i}_n{n}", preds, labels))
    for i, n in enumerate([9, 100, 600]):
        labels = rng.integers(0, 3, n)
        noise = rng.integers(0, 3, n)
        preds = np.where(rng.random(n) < 0.4, noise, labels)
        cls.append(classification(f"three_class_random_{i}_n{n}", preds, labels))
    cls.append(classification("constant_predictions", [1] * 12, [0, 1] * 6))
    cls.append(classification("constant_labels", [0, 1, 1, 0, 1], [1] * 5))
    cls.append(classification("all_negative", [0] * 7, [0] * 7))
    cls.append(classification("perfect", [0, 1, 1, 0, 1, 0], [0, 1, 1, 0, 1, 0]))
    cls.append(classification("inverted", [1, 0, 0, 1, 0, 1], [0, 1, 1, 0, 1, 0]))
    cls.append(classification("single_item", [1], [1]))
    cls.append(classification("five_class_skewed", rng.integers(0, 5, 50), np.minimum(rng.integers(0, 9, 50), 4)))

    reg = []
    for i, n in enumerate([2, 3, 10, 50, 500]):
        x = rng.uniform(0, 5, n)
        y = np.clip(x + rng.normal(0, 1.0, n), 0, 5)
        reg.append(regression(f"stsb_like_{i}_n{n}", x, y))
    for i, n in enumerate([20, 200]):
        # STS-B gold scores are often on a 0.2 grid: many ties.
        y = np.round(rng.uniform(0, 5, n) * 5) / 5
        x = np.round(y + rng.normal(0, 0.8, n))
        reg.append(regression(f"heavy_ties_{i}_n{n}", x, y))
    reg.append(regression("perfect_monotone_nonlinear", [0.1, 0.5, 1.0, 2.0, 4.5], [0.01, 0.25, 1.0, 4.0, 20.25]))
    reg.append(regression("inverted", [1, 2, 3, 4], [4, 3, 2, 1]))
    reg.append(regression("constant_x", [2.5] * 6, [0, 1, 2, 3, 4, 5]))
    reg.append(regression("large_offset", 1e6 + rng.normal(0, 1, 40), rng.normal(0, 1, 40)))

    out = {
        "generator": "scripts/make_metric_reference.py",
        "sklearn": sklearn.__version__,
        "scipy": scipy.__version__,
        "classification": cls,
        "regression": reg,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(cls)} classification, {len(reg)} regression cases")


if __name__ == "__main__":
    main()
