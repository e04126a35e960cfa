#!/usr/bin/env python3
"""Regenerates src/core/decay/fixtures/scipy-theilslopes.json: inputs and SciPy's answers for
the Theil–Sen fit behind learned TTLs (src/core/decay/theil-sen.ts), and norm.ppf for its
normal quantile.

The TypeScript tests read both inputs and expected outputs from that file, so `npm test`
needs no Python. Run from the repository root:

    python3 scripts/scipy-theilslopes-reference.py

Any python3 with numpy and scipy works (Debian's python3-scipy); the versions used are written
into the file.
"""

import json
from pathlib import Path

import numpy as np
import scipy
import scipy.stats as stats

OUT = Path(__file__).resolve().parent.parent / "src/core/decay/fixtures/scipy-theilslopes.json"


def finite(v):
    v = float(v)
    return None if np.isnan(v) else v


def case(name, x, y, alpha=0.95):
    r = stats.theilslopes(y, x, alpha=alpha)
    return {
        "name": name,
        "x": [float(v) for v in x],
        "y": [float(v) for v in y],
        "alpha": alpha,
        "slope": finite(r.slope),
        "intercept": finite(r.intercept),
        "low_slope": finite(r.low_slope),
        "high_slope": finite(r.high_slope),
    }


def main():
    rng = np.random.default_rng(20261207)
    cases = []
    # Decaying daily metrics like a model's judged windows: AUC-like levels, slopes, noise.
    for n in [2, 3, 4, 5, 7, 14, 30, 90, 200]:
        for slope in [-0.004, -0.0005, 0.0, 0.001]:
            x = np.arange(n, dtype=float) + rng.integers(0, 3)
            y = 0.95 + slope * x + rng.normal(0, 0.01, n)
            cases.append(case(f"n={n} slope={slope}", x, np.round(y, 6)))
    # Missing windows: gaps in x.
    x = np.sort(rng.choice(np.arange(120), 40, replace=False)).astype(float)
    cases.append(case("gaps", x, np.round(0.9 - 0.002 * x + rng.normal(0, 0.02, 40), 5)))
    # Ties in x (two windows at the same age) and in y (a metric rounded to 2 places).
    x = np.repeat(np.arange(15, dtype=float), 2)
    cases.append(case("ties in x", x, np.round(0.8 - 0.003 * x + rng.normal(0, 0.01, 30), 6)))
    x = np.arange(25, dtype=float)
    cases.append(case("ties in y", x, np.round(0.8 - 0.003 * x + rng.normal(0, 0.01, 25), 2)))
    # Outliers: the robust slope ignores them.
    y = 0.9 - 0.001 * x
    y[[3, 11, 19]] = [0.1, 0.2, 0.99]
    cases.append(case("outliers", x, y))
    # A step down, a flat line, other confidence levels.
    cases.append(case("step", x, np.where(x < 12, 0.9, 0.8)))
    cases.append(case("flat", x, np.full(25, 0.9)))
    for alpha in [0.9, 0.8, 0.99, 0.1]:
        cases.append(case(f"alpha={alpha}", x, np.round(0.9 - 0.002 * x + rng.normal(0, 0.01, 25), 6), alpha))
    # Fractional ages (windows' midpoints in days), unsorted input.
    x = rng.uniform(0, 60, 33)
    cases.append(case("unsorted fractional", x, np.round(0.7 - 0.001 * x + rng.normal(0, 0.005, 33), 6)))
    ppf = [[p, float(stats.norm.ppf(p))] for p in [1e-12, 1e-6, 0.001, 0.005, 0.025, 0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.975, 0.999999]]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {"scipy": scipy.__version__, "numpy": np.__version__, "theilslopes": cases, "norm_ppf": ppf},
            indent=None,
        )
        + "\n"
    )
    print(f"wrote {len(cases)} cases to {OUT}")


main()
