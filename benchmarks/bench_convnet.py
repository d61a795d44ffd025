"""ConvNetClassifier on sklearn's 8x8 digits: stratified 5-fold CV accuracy and fit time.

Side by side on the same folds: skneural's ConvNetClassifier, an RBF SVC and
sklearn's MLPClassifier. Prints one table: mean and std of the fold
accuracies, misclassified digits over all folds, and the total fit time of the
5 folds (predict time is negligible).

Run ``python benchmarks/bench_convnet.py`` (``--quick`` for 2 folds and fewer
epochs, ``--threads N`` for the torch and BLAS thread count, default 1,
``--seed N`` for the ConvNet's ``random_state``, ``--convnet-only`` to skip the
reference models).
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from skneural import ConvNetClassifier

CONVNET = {
    "filters": (32, 64), "kernel_size": 3, "input_shape": (8, 8), "normalization": "batch",
    "pooling": "max", "hidden_layer_sizes": (128,), "dropout": 0.3,
    "shift": 1, "rotation": 10.0, "scale": 0.1,
    "batch_size": 64, "learning_rate": "cosine", "learning_rate_init": 0.002, "max_iter": 100,
    "n_iter_no_change": 1000,
}


def run(name, make, X, y, folds):
    accuracies, errors, fit_seconds = [], 0, 0.0
    for train, test in folds:
        model = make()
        start = time.perf_counter()
        model.fit(X[train], y[train])
        fit_seconds += time.perf_counter() - start
        pred = model.predict(X[test])
        accuracies.append(np.mean(pred == y[test]))
        errors += int(np.sum(pred != y[test]))
    print(f"{name:<38} {np.mean(accuracies):>9.4f} {np.std(accuracies):>7.4f} "
          f"{errors:>7d} {fit_seconds:>9.1f}", flush=True)
    return accuracies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="the ConvNet's random_state")
    parser.add_argument("--convnet-only", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(args.threads)

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # float32: torch's fast path; SVC and MLP are indifferent
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y))
    convnet = dict(CONVNET, n_threads=args.threads, random_state=args.seed)
    if args.quick:
        folds, convnet["max_iter"] = folds[:2], 10

    which = "first 2 of 5 folds" if args.quick else "5-fold CV"
    print(f"sklearn digits (8x8, {len(y)} samples), stratified {which}, "
          f"torch threads {args.threads}")
    print(f"ConvNetClassifier settings: {convnet}\n")
    print(f"{'model':<38} {'accuracy':>9} {'std':>7} {'errors':>7} {'fit s':>9}")
    # the same thread budget for torch and for numpy's BLAS (sklearn's MLP)
    with threadpool_limits(args.threads):
        run(f"skneural ConvNetClassifier (seed {args.seed})",
            lambda: ConvNetClassifier(**convnet), X, y, folds)
        if args.convnet_only:
            return
        run("sklearn SVC (RBF, C=10)", lambda: SVC(C=10.0), X, y, folds)
        run("sklearn MLPClassifier (256,)", lambda: MLPClassifier(
            hidden_layer_sizes=(256,), max_iter=300, random_state=0), X, y, folds)


if __name__ == "__main__":
    main()
