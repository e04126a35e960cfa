#!/usr/bin/env python3
"""Regenerates src/core/drift/fixtures/scipy-reference.json: inputs and SciPy's answers.

The TypeScript tests read both the inputs and the expected outputs from that file, so
`npm test` needs no Python. Run from the repository root:

    python3 scripts/scipy-reference.py

Any python3 with numpy and scipy works (Debian's python3-scipy, or a pyenv one); the
versions used are written into the file. Inputs come from numpy's default_rng with fixed
seeds, so the file is the same on every run with the same numpy and scipy.

PSI has no SciPy function: it is computed here with numpy from the documented binning
(reference quantiles, open end bins, empty bins at 1e-4), independently of the TypeScript.
"""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy
import scipy.special as special
import scipy.stats as stats
from scipy.spatial.distance import jensenshannon

OUT = Path(__file__).resolve().parent.parent / "src/core/drift/fixtures/scipy-reference.json"
EPSILON = 1e-4


def floats(values):
    return [float(v) for v in values]


def quantile_edges(reference, bins):
    """Inner edges at the reference's k/bins quantiles (numpy 'linear'), duplicates removed."""
    edges = np.quantile(np.asarray(reference, dtype=np.float64), np.arange(1, bins) / bins)
    return np.unique(edges)


def bin_counts(values, edges):
    """Bin i holds (edges[i-1], edges[i]]; the first and last bins are open-ended."""
    index = np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="left")
    return np.bincount(index, minlength=len(edges) + 1)


def psi_from_counts(ref_counts, cur_counts):
    ref = np.asarray(ref_counts, dtype=np.float64) / np.sum(ref_counts)
    cur = np.asarray(cur_counts, dtype=np.float64) / np.sum(cur_counts)
    ref = np.where(ref == 0, EPSILON, ref)
    cur = np.where(cur == 0, EPSILON, cur)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_case(name, reference, current, bins=10):
    reference = np.asarray(reference, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    ks = stats.ks_2samp(reference, current)
    edges = quantile_edges(reference, bins)
    ref_counts = bin_counts(reference, edges)
    cur_counts = bin_counts(current, edges)
    return {
        "name": name,
        "reference": floats(reference),
        "current": floats(current),
        "bins": bins,
        "ks": {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)},
        "wasserstein": float(stats.wasserstein_distance(reference, current)),
        "reference_std": float(np.std(reference)),
        "edges": floats(edges),
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "psi": psi_from_counts(ref_counts, cur_counts),
        "jensenshannon": float(jensenshannon(ref_counts, cur_counts, base=2)),
    }


def shifted_ks_cases(reference, current, shifts):
    """ks_2samp of reference against current + shift; the TS adds the same shift (exact in IEEE)."""
    out = []
    for shift in shifts:
        ks = stats.ks_2samp(reference, current + shift)
        wd = stats.wasserstein_distance(reference, current + shift)
        out.append({"shift": shift, "statistic": float(ks.statistic), "pvalue": float(ks.pvalue),
                    "wasserstein": float(wd)})
    return out


def numeric_cases():
    rng = np.random.default_rng(20240611)
    cases = [
        numeric_case("exact, no ties, 25 vs 30", rng.normal(0, 1, 25), rng.normal(0.5, 1, 30)),
        numeric_case("exact, ties, 40 vs 35", rng.integers(0, 10, 40), rng.integers(0, 12, 35)),
        numeric_case("exact, equal sizes, 50 vs 50", rng.normal(0, 1, 50), rng.normal(0.3, 1.2, 50)),
        numeric_case("exact, tiny, 3 vs 4", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]),
        numeric_case("exact, identical samples", [1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0]),
        numeric_case("exact, 8 vs 8 far apart", rng.normal(0, 1, 8), rng.normal(10, 1, 8)),
        numeric_case("exact, 3000 vs 2000 rounded", np.round(rng.normal(0, 1, 3000), 3),
                     np.round(rng.normal(0.05, 1, 2000), 3)),
        numeric_case("exact, 1000 vs 1000 skewed", np.round(rng.lognormal(0, 1, 1000), 4),
                     np.round(rng.lognormal(0.1, 1, 1000), 4)),
    ]
    return cases


def asymptotic_case():
    rng = np.random.default_rng(7)
    reference = np.round(rng.normal(10, 2, 12000), 2)
    current = np.round(rng.normal(10, 2, 15000), 2)
    return {
        "name": "asymptotic, 12000 vs 15000, 2 decimals",
        "reference": floats(reference),
        "current": floats(current),
        "shifts": shifted_ks_cases(reference, current, [0.0, 0.02, 0.05, 0.1, 0.3, 2.0]),
    }


def kstwo_grid():
    rows = []
    for n in [2, 3, 10, 50, 140, 141, 500, 6667, 100000, 100001, 500000]:
        xs = set()
        for nx2 in [0.05, 0.2, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0, 17.0, 25.0, 100.0, 300.0]:
            xs.add(math.sqrt(nx2 / n))
        for t in [0.4, 0.75, 1.0, n - 1.5, n - 0.5]:
            xs.add(t / n)
        xs.update([0.5, 0.6, 0.9, 0.999, 1.0])
        for x in sorted(xs):
            if 0 < x <= 1:
                rows.append([n, x, float(stats.kstwo.sf(x, n))])
    return rows


def smirnov_grid():
    rows = []
    for n in [2, 5, 20, 141, 1000, 6667, 100001, 500000]:
        for nx2 in [0.5, 2.2, 3.0, 5.0, 10.0, 50.0, 200.0, 369.0]:
            x = math.sqrt(nx2 / n)
            if x < 1:
                rows.append([n, x, float(special.smirnov(n, x))])
        for x in [0.5, 0.7, 0.95]:
            rows.append([n, x, float(special.smirnov(n, x))])
    return rows


def gammaincc_grid():
    rows = []
    for a in [0.5, 1.0, 1.5, 2.0, 2.5, 4.5, 10.0, 20.5, 50.0, 100.0, 199.5, 250.0, 1000.0, 4999.5]:
        for ratio in [0.01, 0.2, 0.5, 0.8, 0.95, 1.0, 1.05, 1.3, 2.0, 4.0, 10.0]:
            x = a * ratio
            rows.append([a, x, float(special.gammaincc(a, x))])
    for x in [1e-8, 0.1, 0.6, 1.0, 3.0]:
        for a in [0.5, 1.0]:
            rows.append([a, x, float(special.gammaincc(a, x))])
    return rows


def normal_sf_grid():
    zs = [-5.0, -1.0, -0.3, 0.0, 0.2, 0.7, 1.0, 1.5, 1.959963984540054, 2.5, 3.3, 5.0, 8.0, 12.0, 30.0]
    return [[z, float(stats.norm.sf(z))] for z in zs]


def categorical_case(name, reference, current):
    categories = sorted(set(reference) | set(current))
    ref_counts = np.array([reference.count(c) for c in categories])
    cur_counts = np.array([current.count(c) for c in categories])
    table = np.vstack([ref_counts, cur_counts])
    contingency = stats.chi2_contingency(table)
    case = {
        "name": name,
        "categories": categories,
        "reference_counts": [int(c) for c in ref_counts],
        "current_counts": [int(c) for c in cur_counts],
        "chi2_contingency": {"statistic": float(contingency.statistic),
                             "pvalue": float(contingency.pvalue), "dof": int(contingency.dof)},
        "jensenshannon": float(jensenshannon(ref_counts, cur_counts, base=2)),
        "psi": psi_from_counts(ref_counts, cur_counts),
    }
    if len(categories) > 1 and np.all(ref_counts > 0):
        expected = ref_counts / ref_counts.sum() * cur_counts.sum()
        gof = stats.chisquare(cur_counts, expected)
        case["chisquare"] = {"statistic": float(gof.statistic), "pvalue": float(gof.pvalue)}
    return case


def categorical_cases():
    rng = np.random.default_rng(99)
    colours = ["red", "green", "blue", "amber"]
    return [
        categorical_case("four colours, mild shift",
                         list(rng.choice(colours, 400, p=[0.4, 0.3, 0.2, 0.1])),
                         list(rng.choice(colours, 300, p=[0.35, 0.3, 0.2, 0.15]))),
        categorical_case("a new category in current",
                         list(rng.choice(colours[:3], 200)), list(rng.choice(colours, 250))),
        categorical_case("two categories (Yates)", ["a"] * 30 + ["b"] * 70, ["a"] * 45 + ["b"] * 55),
        categorical_case("one category", ["x"] * 10, ["x"] * 12),
    ]


def z_cases():
    out = []
    for ref_pos, ref_n, cur_pos, cur_n in [(30, 100, 45, 100), (120, 1000, 131, 900), (5, 40, 6, 41), (0, 10, 10, 10)]:
        pooled = (ref_pos + cur_pos) / (ref_n + cur_n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / ref_n + 1 / cur_n))
        z = (cur_pos / cur_n - ref_pos / ref_n) / se
        table = [[ref_pos, ref_n - ref_pos], [cur_pos, cur_n - cur_pos]]
        chi2 = stats.chi2_contingency(table, correction=False)
        out.append({"reference_positive": ref_pos, "reference_size": ref_n, "current_positive": cur_pos,
                    "current_size": cur_n, "statistic": z, "pvalue": float(2 * stats.norm.sf(abs(z))),
                    "chi2_uncorrected": float(chi2.statistic)})
    return out


def bh_cases():
    rng = np.random.default_rng(5)
    lists = [[0.01, 0.04, 0.03, 0.2, 0.5], list(rng.uniform(0, 0.2, 12)), [0.001], [0.05, 0.05, 0.05]]
    return [{"pvalues": floats(p), "adjusted": floats(stats.false_discovery_control(p, method="bh"))}
            for p in lists]


def main():
    data = {
        "generated_by": "scripts/scipy-reference.py",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numeric": numeric_cases(),
        "asymptotic": asymptotic_case(),
        "kstwo_sf": kstwo_grid(),
        "smirnov": smirnov_grid(),
        "gammaincc": gammaincc_grid(),
        "normal_sf": normal_sf_grid(),
        "categorical": categorical_cases(),
        "z_test": z_cases(),
        "benjamini_hochberg": bh_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n")
    # The repository lints JSON with Biome; format the file as Biome would, so `npm run lint` passes.
    if shutil.which("npx"):
        subprocess.run(["npx", "biome", "format", "--write", str(OUT)], check=True, capture_output=True)
    else:
        print("npx not found: run `npx biome format --write` on the file before committing")
    print(f"wrote {OUT} with scipy {scipy.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
