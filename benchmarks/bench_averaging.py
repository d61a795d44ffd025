"""Weight averaging (``weight_averaging="swa" | "ema"``) against the plain fit, side by side.

Two benchmarks, each with the estimator's defaults and the averaging
parameters' defaults (``averaging_start=0.75``, ``averaging_decay=0.999``),
at the default step size and at a 10x larger one (where averaging the
iterates is expected to help most: the iterates bounce around a minimum),
that step size for the whole 200-epoch budget (``n_iter_no_change=inf``: the
MLPs' default stops on the training loss, often before ``averaging_start``):

- ``digits``: ``MLPClassifier`` on sklearn's digits (inputs scaled to [0, 1]),
  stratified 5-fold CV accuracy and log-loss;
- ``uci``: ``MLPRegressor`` in a ``StandardScaler`` pipeline on UCI
  Boston and Concrete (the standard 90/10 splits in ``../shared/data/uci/``),
  test RMSE over the first ``--splits`` splits.

Every setting sees the same folds and seeds. Reported: mean (and worst fold
or split), fit seconds, and the difference to the plain fit.

Run:  python benchmarks/bench_averaging.py [--splits 5] [--seeds 0 1]
"""

import argparse
import os
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifier, MLPRegressor

DATA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "uci")
SETTINGS = {"plain": {}, "swa": {"weight_averaging": "swa"}, "ema": {"weight_averaging": "ema"}}
# (learning_rate_init, n_iter_no_change): the defaults, a 10x step, and a 10x step for the
# whole max_iter budget (no stop on the training loss), SWA's setting (Izmailov et al. 2018)
STEP_SIZES = ((0.001, 10), (0.01, 10), (0.01, np.inf))


def bench_digits(seeds):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rows = []
    for lr, patience in STEP_SIZES:
        for name, params in SETTINGS.items():
            acc, loss, seconds = [], [], []
            for seed in seeds:
                folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)
                for train, test in folds:
                    clf = MLPClassifier(learning_rate_init=lr, n_iter_no_change=patience,
                                        random_state=seed, n_threads=1, **params)
                    start = time.perf_counter()
                    clf.fit(X[train], y[train])
                    seconds.append(time.perf_counter() - start)
                    acc.append(clf.score(X[test], y[test]))
                    loss.append(log_loss(y[test], clf.predict_proba(X[test])))
            rows.append((f"{lr}, {patience}", name, np.mean(acc), np.min(acc), np.mean(loss), np.max(loss),
                         np.mean(seconds)))
    print("\n## digits, MLPClassifier defaults, stratified 5-fold CV "
          f"(seeds {list(seeds)})\n")
    print("| learning_rate_init, n_iter_no_change | weight_averaging | accuracy (worst fold) "
          "| log-loss (worst fold) | fit s | accuracy vs plain |")
    print("|---|---|---|---|---|---|")
    for lr, name, a, a_min, ll, ll_max, s in rows:
        plain = next(r for r in rows if r[0] == lr and r[1] == "plain")
        print(f"| {lr} | {name} | {a:.4f} ({a_min:.4f}) | {ll:.4f} ({ll_max:.4f}) | {s:.2f} "
              f"| {a - plain[2]:+.4f} |")


def bench_uci(n_splits, seeds):
    rows = []
    for dataset in ("boston", "concrete"):
        data = np.load(os.path.join(DATA_DIR, f"{dataset}.npz"))
        X, y = data["X"], data["y"]
        for lr, patience in STEP_SIZES:
            for name, params in SETTINGS.items():
                rmse, seconds = [], []
                for seed in seeds:
                    for k in range(n_splits):
                        train, test = data["train"][k], data["test"][k]
                        reg = make_pipeline(StandardScaler(), MLPRegressor(
                            learning_rate_init=lr, n_iter_no_change=patience, random_state=seed,
                            n_threads=1, **params))
                        start = time.perf_counter()
                        reg.fit(X[train], y[train])
                        seconds.append(time.perf_counter() - start)
                        pred = reg.predict(X[test])
                        rmse.append(float(np.sqrt(np.mean((pred - y[test]) ** 2))))
                rows.append((dataset, f"{lr}, {patience}", name, np.mean(rmse), np.max(rmse), np.mean(seconds)))
    print(f"\n## UCI, MLPRegressor defaults in a StandardScaler pipeline, first {n_splits} "
          f"standard splits (seeds {list(seeds)})\n")
    print("| data set | learning_rate_init, n_iter_no_change | weight_averaging "
          "| test RMSE (worst split) "
          "| fit s | RMSE vs plain |")
    print("|---|---|---|---|---|---|")
    for dataset, lr, name, r, r_max, s in rows:
        plain = next(x for x in rows if x[:2] == (dataset, lr) and x[2] == "plain")
        print(f"| {dataset} | {lr} | {name} | {r:.3f} ({r_max:.3f}) | {s:.2f} "
              f"| {100 * (r / plain[3] - 1):+.1f}% |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", choices=("digits", "uci"), default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores")
    if args.only in (None, "digits"):
        bench_digits(args.seeds)
    if args.only in (None, "uci"):
        bench_uci(args.splits, args.seeds)


if __name__ == "__main__":
    main()
