#!/usr/bin/env python3
"""Regenerates src/core/compare/fixtures/scipy-reference.json: inputs and SciPy's answers for
the shadow's and the canary's comparisons (src/core/compare/).

The TypeScript tests read both inputs and expected outputs from that file, so `npm test`
needs no Python. Run from the repository root:

    python3 scripts/scipy-compare-reference.py

Any python3 with numpy and scipy works (Debian's python3-scipy); the versions used are written
into the file. McNemar's exact p-value is computed as statsmodels' `mcnemar(exact=True)` does
(statsmodels/stats/contingency_tables.py): min(1, 2 * binom.cdf(min(b, c), b + c, 0.5)).

The canary's unpaired cases (Fisher's exact test, Welch's t-test, and labelled predictions of
each side) draw from a generator of their own, so adding them changed none of the cases above.
"""

import json
import sys
from pathlib import Path

import numpy as np
import scipy
import scipy.special as special
import scipy.stats as stats

OUT = Path(__file__).resolve().parent.parent / "src/core/compare/fixtures/scipy-reference.json"


def betainc_cases():
    cases = []
    for a in [0.5, 1.0, 2.5, 10.0, 50.5, 500.0, 5000.0]:
        for b in [0.5, 1.0, 3.0, 20.0, 200.0]:
            for x in [1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.9999]:
                value = float(special.betainc(a, b, x))
                if value > 1e-280:
                    cases.append([a, b, x, value])
    return cases


def t_sf_cases():
    cases = []
    for df in [1, 2, 3, 5, 10, 29, 30, 99, 500, 5000, 100000]:
        for t in [0.0, 0.1, 0.5, 1.0, 1.96, 2.0, 3.0, 5.0, 10.0, 30.0, -1.0, -3.0]:
            value = float(stats.t.sf(t, df))
            if value > 1e-280:
                cases.append([t, df, value])
    return cases


def mcnemar_exact(b, c):
    return float(min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5)))


def mcnemar_cases():
    pairs = [(0, 0), (0, 1), (1, 0), (1, 1), (5, 5), (3, 12), (12, 3), (0, 30), (10, 25),
             (40, 60), (100, 130), (1000, 1100), (5000, 5300), (20000, 20500), (7, 8)]
    return [[b, c, mcnemar_exact(b, c)] for b, c in pairs]


def ttest_cases(rng):
    cases = []
    for n, shift in [(2, 0.5), (3, 0.0), (10, 0.3), (30, 0.5), (100, 0.1), (100, 0.0), (1000, 0.05), (2000, 0.2)]:
        x = rng.normal(1.0, 1.0, n)
        y = x - shift + rng.normal(0.0, 1.0, n)
        result = stats.ttest_rel(x, y)
        cases.append({"x": x.tolist(), "y": y.tolist(), "statistic": float(result.statistic),
                      "df": int(result.df), "p_value": float(result.pvalue)})
    return cases


def classification_verdicts(rng):
    """Labelled pairs of two classifiers with given accuracies, and McNemar's p-value on them."""
    cases = []
    classes = ["fraud", "legit", "review"]
    for n, primary_accuracy, candidate_accuracy in [(50, 0.8, 0.8), (200, 0.7, 0.85), (400, 0.9, 0.8), (20, 0.5, 1.0)]:
        labels = rng.choice(classes, n)
        pairs = []
        b = c = 0
        for label in labels:
            label = str(label)
            wrong = [k for k in classes if k != label]
            p = label if rng.random() < primary_accuracy else str(rng.choice(wrong))
            s = label if rng.random() < candidate_accuracy else str(rng.choice(wrong))
            b += p == label and s != label
            c += p != label and s == label
            pairs.append({"primary_prediction": p, "shadow_prediction": s, "label": label})
        cases.append({"pairs": pairs, "b": int(b), "c": int(c), "p_value": mcnemar_exact(int(b), int(c))})
    return cases


def regression_verdicts(rng):
    """Labelled pairs of two regressors; the paired t-test on their absolute errors."""
    cases = []
    for n, primary_noise, candidate_noise in [(40, 1.0, 1.0), (300, 1.0, 0.7), (300, 0.7, 1.0), (1000, 1.0, 0.98)]:
        labels = rng.normal(100.0, 20.0, n)
        primary = labels + rng.normal(0.0, primary_noise, n)
        shadow = labels + rng.normal(0.0, candidate_noise, n)
        result = stats.ttest_rel(np.abs(primary - labels), np.abs(shadow - labels))
        pairs = [{"primary_prediction": float(p), "shadow_prediction": float(s), "label": float(l)}
                 for p, s, l in zip(primary, shadow, labels)]
        cases.append({"pairs": pairs, "statistic": float(result.statistic), "p_value": float(result.pvalue)})
    return cases


def fisher_cases():
    """2x2 tables [[a, b], [c, d]] and scipy.stats.fisher_exact's two-sided p-value."""
    tables = [
        [[8, 2], [1, 5]], [[0, 0], [3, 4]], [[0, 5], [0, 7]], [[3, 3], [3, 3]], [[1, 0], [0, 1]],
        [[10, 20], [10, 20]], [[5, 25], [15, 15]], [[30, 0], [0, 30]], [[2, 98], [9, 91]],
        [[40, 960], [60, 940]], [[50, 450], [30, 470]], [[12, 88], [12, 88]], [[0, 30], [6, 24]],
        [[300, 9700], [150, 2850]], [[1000, 99000], [1100, 98900]], [[7, 93], [3, 197]],
        [[45, 55], [55, 45]], [[3000, 97000], [2000, 48000]], [[1, 29], [30, 0]],
    ]
    rng = np.random.default_rng(20261208)
    for _ in range(12):
        n1 = int(rng.integers(30, 3000))
        n2 = int(rng.integers(30, 3000))
        tables.append([[int(rng.binomial(n1, 0.1)), 0], [int(rng.binomial(n2, 0.13)), 0]])
        tables[-1][0][1] = n1 - tables[-1][0][0]
        tables[-1][1][1] = n2 - tables[-1][1][0]
    return [{"table": t, "p_value": float(stats.fisher_exact(t).pvalue)} for t in tables]


def welch_cases(rng):
    cases = []
    for n1, n2, shift, s1, s2 in [(2, 2, 0.5, 1.0, 1.0), (2, 5, 0.0, 1.0, 3.0), (10, 30, 0.3, 1.0, 0.5),
                                  (30, 30, 0.5, 1.0, 1.0), (100, 40, 0.1, 2.0, 1.0), (100, 100, 0.0, 1.0, 1.0),
                                  (1000, 300, 0.05, 1.0, 1.5), (2000, 2500, 0.2, 0.7, 1.0)]:
        x = rng.normal(1.0, s1, n1)
        y = rng.normal(1.0 + shift, s2, n2)
        result = stats.ttest_ind(x, y, equal_var=False)
        cases.append({"x": x.tolist(), "y": y.tolist(), "statistic": float(result.statistic),
                      "df": float(result.df), "p_value": float(result.pvalue)})
    return cases


def canary_classification(rng):
    """Labelled predictions of a primary and a canary that saw different requests: Fisher's exact test."""
    cases = []
    classes = ["fraud", "legit", "review"]
    for n1, n2, primary_accuracy, canary_accuracy in [(300, 60, 0.9, 0.9), (400, 100, 0.9, 0.6),
                                                      (1000, 200, 0.8, 0.85), (50, 40, 0.7, 0.5)]:
        sides = []
        for n, accuracy in [(n1, primary_accuracy), (n2, canary_accuracy)]:
            items = []
            for label in rng.choice(classes, n):
                label = str(label)
                wrong = [k for k in classes if k != label]
                prediction = label if rng.random() < accuracy else str(rng.choice(wrong))
                items.append({"prediction": prediction, "label": label})
            sides.append(items)
        errors = [sum(i["prediction"] != i["label"] for i in side) for side in sides]
        table = [[errors[0], len(sides[0]) - errors[0]], [errors[1], len(sides[1]) - errors[1]]]
        cases.append({"primary": sides[0], "canary": sides[1], "errors": errors,
                      "p_value": float(stats.fisher_exact(table).pvalue)})
    return cases


def canary_regression(rng):
    """Labelled predictions of a primary and a canary: Welch's t-test on their absolute errors."""
    cases = []
    for n1, n2, primary_noise, canary_noise in [(300, 60, 1.0, 1.0), (400, 100, 1.0, 2.0), (1000, 300, 1.0, 0.9)]:
        sides = []
        errors = []
        for n, noise in [(n1, primary_noise), (n2, canary_noise)]:
            labels = rng.normal(100.0, 20.0, n)
            predictions = labels + rng.normal(0.0, noise, n)
            sides.append([{"prediction": float(p), "label": float(l)} for p, l in zip(predictions, labels)])
            errors.append(np.abs(predictions - labels))
        result = stats.ttest_ind(errors[0], errors[1], equal_var=False)
        cases.append({"primary": sides[0], "canary": sides[1], "statistic": float(result.statistic),
                      "df": float(result.df), "p_value": float(result.pvalue)})
    return cases


def main():
    rng = np.random.default_rng(20261207)
    out = {
        "generated_by": "scripts/scipy-compare-reference.py",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "betainc": betainc_cases(),
        "t_sf": t_sf_cases(),
        "mcnemar": mcnemar_cases(),
        "ttest_rel": ttest_cases(rng),
        "classification": classification_verdicts(rng),
        "regression": regression_verdicts(rng),
    }
    canary_rng = np.random.default_rng(20261209)
    out["fisher_exact"] = fisher_cases()
    out["ttest_welch"] = welch_cases(canary_rng)
    out["canary_classification"] = canary_classification(canary_rng)
    out["canary_regression"] = canary_regression(canary_rng)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
