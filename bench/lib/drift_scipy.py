"""The SciPy peer of the drift benchmark (bench/drift.ts), run with Debian's /usr/bin/python3.

    python3 drift_scipy.py e2e METHOD REFERENCE CURRENT
        pandas.read_csv of both files, then METHOD on every column, as a data scientist would
        write it; prints one JSON line with the statistics and the time of each step.
    python3 drift_scipy.py compute ROUNDS NUM_REF NUM_CUR CAT_REF CAT_CUR
        reads the four files once, then times only the SciPy/numpy calls on data already in
        memory, ROUNDS times each; prints one JSON line with the medians.

METHOD is ks, wasserstein or psi (numeric columns), chisquare or jensenshannon (categorical).
PSI is binned as docs/DRIFT.md defines it: inner edges numpy.quantile(reference, k/B) for
k = 1..B-1 (B = 10, equal edges merged), bin i holds (edge_{i-1}, edge_i], empty shares 1e-4.
"""

import json
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from scipy.spatial.distance import jensenshannon  # noqa: E402
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance  # noqa: E402

IMPORT_S = time.perf_counter() - T0

BINS = 10
EPSILON = 1e-4


def psi(reference, current, bins=BINS):
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    # searchsorted(side='left') puts a value equal to edge i in bin i: bins are (lower, upper].
    r = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, current, side="left"), minlength=len(edges) + 1)
    rs = r / r.sum()
    cs = c / c.sum()
    rs = np.where(rs == 0, EPSILON, rs)
    cs = np.where(cs == 0, EPSILON, cs)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def numeric(method, reference, current):
    if method == "ks":
        result = ks_2samp(reference, current)
        return {"statistic": float(result.statistic), "p_value": float(result.pvalue)}
    if method == "wasserstein":
        distance = wasserstein_distance(reference, current)
        return {"statistic": float(distance), "score": float(distance / max(np.std(reference), 0.001))}
    if method == "psi":
        return {"statistic": psi(reference, current)}
    raise ValueError(method)


def aligned(reference_counts, current_counts):
    categories = sorted(set(reference_counts.index) | set(current_counts.index))
    r = reference_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.float64)
    c = current_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.float64)
    return r, c


def categorical(method, r, c):
    if method == "chisquare":
        result = chi2_contingency(np.vstack([r, c]))
        return {"statistic": float(result[0]), "p_value": float(result[1])}
    if method == "jensenshannon":
        return {"statistic": float(jensenshannon(r, c, base=2))}
    raise ValueError(method)


def e2e(method, reference_path, current_path):
    t = time.perf_counter()
    reference = pd.read_csv(reference_path)
    current = pd.read_csv(current_path)
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    columns = {}
    for name in reference.columns:
        if method in ("ks", "wasserstein", "psi"):
            columns[name] = numeric(method, reference[name].to_numpy(), current[name].to_numpy())
        else:
            r, c = aligned(reference[name].value_counts(), current[name].value_counts())
            columns[name] = categorical(method, r, c)
    compute_s = time.perf_counter() - t
    return {"import_s": IMPORT_S, "read_s": read_s, "compute_s": compute_s, "columns": columns}


# A round lasts at least this long: a computation that takes less is called again and again
# within the round, and the round's figure is the time per call (bench/lib/drift-compute.ts
# times Tenure so too).
MIN_ROUND_S = 0.020


def timed(rounds, run):
    times = []
    result = None
    calls = 0
    for _ in range(rounds):
        t = time.perf_counter()
        calls = 0
        while True:
            result = run()
            calls += 1
            elapsed = time.perf_counter() - t
            if elapsed >= MIN_ROUND_S:
                break
        times.append(elapsed / calls)
    return {
        "median_s": float(np.median(times)),
        "min_s": min(times),
        "max_s": max(times),
        "calls_per_round": calls,
        "result": result,
    }


def compute(rounds, num_ref, num_cur, cat_ref, cat_cur):
    reference = pd.read_csv(num_ref)
    current = pd.read_csv(num_cur)
    name = reference.columns[0]
    r_values = reference[name].to_numpy()
    c_values = current[name].to_numpy()
    out = {}
    for method in ("ks", "wasserstein", "psi"):
        out[method] = timed(rounds, lambda m=method: numeric(m, r_values, c_values))
    cat_reference = pd.read_csv(cat_ref)
    cat_current = pd.read_csv(cat_cur)
    columns = list(cat_reference.columns)

    def counts():
        return {n: aligned(cat_reference[n].value_counts(), cat_current[n].value_counts()) for n in columns}

    # Tenure counts categories while it reads, so its in-memory data is counts: the like-for-like
    # SciPy step starts from counts too. Counting (value_counts) is timed on its own beside it.
    out["value_counts"] = timed(rounds, lambda: len(counts()))
    histograms = counts()
    for method in ("chisquare", "jensenshannon"):
        out[method] = timed(
            rounds, lambda m=method: {n: categorical(m, r, c) for n, (r, c) in histograms.items()}
        )
    return out


def main(argv):
    versions = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
    }
    if argv[0] == "e2e":
        result = e2e(argv[1], argv[2], argv[3])
    elif argv[0] == "compute":
        result = compute(int(argv[1]), *argv[2:6])
    else:
        raise SystemExit(f"unknown mode {argv[0]}")
    print(json.dumps({"versions": versions, **result}))


if __name__ == "__main__":
    main(sys.argv[1:])
