"""Local and Dask parallelism: GridSearchCV with n_jobs=1, n_jobs=2 and a 2-worker Dask cluster.

A 12-candidate grid (alpha x learning rate) over a StandardScaler + MLPClassifier
pipeline on sklearn's digits, 3-fold CV, early stopping: 36 fits. Each
setting runs the same search; the script reports wall time, the speed-up over
n_jobs=1, the torch threads a fit uses in each setting (oversubscription
check: workers x threads <= cores) and that the results are identical.
sklearn's own MLPClassifier runs the same grid for reference.

    python benchmarks/bench_parallel.py [--repeats 3] [--no-dask]
"""

import argparse
import os
import time
import warnings

import joblib
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
GRID = {"mlpclassifier__alpha": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0],
        "mlpclassifier__learning_rate_init": [1e-3, 2e-3]}  # both libraries have these


def threads_in_a_fit():
    """torch's intra-op threads that a skneural fit (n_threads=None) started here would use."""
    from skneural._core.device import torch_threads

    with torch_threads(None):
        return torch.get_num_threads()


def search(make_estimator, X, y, n_jobs):
    pipe = make_pipeline(StandardScaler(), make_estimator())
    start = time.perf_counter()
    result = GridSearchCV(pipe, GRID, cv=3, n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - start, result.cv_results_["mean_test_score"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    settings = dict(hidden_layer_sizes=(100,), early_stopping=True, random_state=0)
    ours = lambda: MLPClassifier(**settings)  # noqa: E731
    theirs = lambda: SkMLP(**settings)  # noqa: E731
    print(f"cores: {os.cpu_count()}, torch {torch.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}")

    runs = {}

    def record(name, backend, estimator, n_jobs, threads):
        times, scores = [], None
        for _ in range(args.repeats):
            with joblib.parallel_backend(backend) if backend else _nothing():
                elapsed, scores = search(estimator, X, y, n_jobs)
            times.append(elapsed)
        runs[name] = (float(np.median(times)), scores, threads)
        print(f"  {name}: {runs[name][0]:.1f} s (median of {args.repeats})", flush=True)

    record("skneural, n_jobs=1", None, ours, 1, threads_in_a_fit())
    workers = joblib.Parallel(n_jobs=2)(joblib.delayed(threads_in_a_fit)() for _ in range(2))
    record("skneural, n_jobs=2 (loky)", None, ours, 2, max(workers))
    record("sklearn, n_jobs=1", None, theirs, 1, None)
    record("sklearn, n_jobs=2 (loky)", None, theirs, 2, None)
    if not args.no_dask:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            threads = client.submit(threads_in_a_fit, pure=False).result()
            record("skneural, Dask LocalCluster 2x1", "dask", ours, -1, threads)

    base = runs["skneural, n_jobs=1"]
    print("\n| setting | wall s | vs skneural n_jobs=1 | torch threads per fit | same scores |")
    print("|---|---|---|---|---|")
    for name, (elapsed, scores, threads) in runs.items():
        same = "" if name.startswith("sklearn") else \
            ("yes" if np.array_equal(scores, base[1]) else "NO")
        print(f"| {name} | {elapsed:.1f} | {elapsed / base[0]:.2f}x | "
              f"{'' if threads is None else threads} | {same} |")
    print(f"\nsklearn n_jobs=2 / n_jobs=1: "
          f"{runs['sklearn, n_jobs=2 (loky)'][0] / runs['sklearn, n_jobs=1'][0]:.2f}x")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
