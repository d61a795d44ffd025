"""ConvNetClassifier on sklearn's 8x8 digits: stratified 5-fold CV accuracy and fit time.

Side by side on the same folds: skneural's ConvNetClassifier with its
defaults (only ``input_shape`` and ``random_state`` set), an RBF SVC and
sklearn's MLPClassifier. Prints one table: mean and std of the fold
accuracies, misclassified digits over all folds, and the total fit time
(wall and CPU) of the 5 folds (predict time is negligible).

Run ``python benchmarks/bench_convnet.py``. Options: ``--seeds 0 1 2 3 4``
for the ConvNet's ``random_state`` values (one row each), ``--threads N``
for the torch and BLAS thread count (default 1), ``--convnet-only`` to skip
the reference models, ``--quick`` for 2 folds and 10 epochs, ``--previous``
for the defaults before issue 19 (no normalization, dropout or
augmentation; 50 epochs of Adam 0.001), ``--tuned`` for the settings this
script ran before the defaults took them over (100 epochs in batches of 64),
and ``--split`` for sklearn's unshuffled 50/50 split of the digits (its
second half is written by other people) against the RBF SVC of sklearn's
digits example (``gamma=0.001`` on the raw pixels, 0.969).
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from skneural import ConvNetClassifier

#: the defaults before issue 19, for ``--previous``
PREVIOUS = {"normalization": None, "dropout": 0.0, "shift": 0, "rotation": 0.0, "scale": 0.0,
            "learning_rate": "constant", "learning_rate_init": 0.001, "max_iter": 50,
            "n_iter_no_change": 10}
#: what this script ran before the defaults took it over, for ``--tuned``
TUNED = {"batch_size": 64, "shift": 1, "rotation": 10.0, "scale": 0.1, "max_iter": 100,
         "n_iter_no_change": 1000}


def run(name, make, X, y, folds):
    accuracies, errors, wall, cpu = [], 0, 0.0, 0.0
    for train, test in folds:
        model = make()
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(X[train], y[train])
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        pred = model.predict(X[test])
        accuracies.append(np.mean(pred == y[test]))
        errors += int(np.sum(pred != y[test]))
    print(f"{name:<40} {np.mean(accuracies):>9.4f} {np.std(accuracies):>7.4f} "
          f"{errors:>7d} {wall:>8.1f} {cpu:>8.1f}", flush=True)
    return accuracies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="the ConvNet's random_state values")
    parser.add_argument("--convnet-only", action="store_true")
    parser.add_argument("--split", action="store_true",
                        help="sklearn's unshuffled 50/50 split instead of 5-fold CV")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--previous", action="store_true", help="the defaults before issue 19")
    which.add_argument("--tuned", action="store_true", help="the script's former settings")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(args.threads)

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # float32: torch's fast path; SVC and MLP are indifferent
    if args.split:
        train, test = train_test_split(np.arange(len(y)), test_size=0.5, shuffle=False)
        folds, design = [(train, test)], "unshuffled 50/50 split (sklearn's digits example)"
    else:
        folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y))
        design = "stratified 5-fold CV"
    settings = PREVIOUS if args.previous else TUNED if args.tuned else {}
    label = "previous defaults" if args.previous else "tuned" if args.tuned else "defaults"
    convnet = dict(settings, input_shape=(8, 8), n_threads=args.threads)
    if args.quick:
        folds, convnet["max_iter"] = folds[:2], 10
        design += ", first 2 folds, 10 epochs"

    print(f"sklearn digits (8x8, {len(y)} samples), {design}, torch threads {args.threads}")
    print(f"ConvNetClassifier: {label} {settings or ''}\n")
    print(f"{'model':<40} {'accuracy':>9} {'std':>7} {'errors':>7} {'wall s':>8} {'CPU s':>8}")
    # the same thread budget for torch and for numpy's BLAS (sklearn's models)
    with threadpool_limits(args.threads):
        for seed in args.seeds:
            run(f"ConvNetClassifier {label} (seed {seed})",
                lambda: ConvNetClassifier(**convnet, random_state=seed), X, y, folds)
        if args.convnet_only:
            return
        if args.split:
            # gamma=0.001 on the raw 0-16 pixels of sklearn's example is 0.256 on pixels / 16
            run("sklearn SVC (RBF, gamma=0.001 on raw pixels)", lambda: SVC(gamma=0.256),
                X, y, folds)
        run("sklearn SVC (RBF, C=10)", lambda: SVC(C=10.0), X, y, folds)
        run("sklearn MLPClassifier (256,)", lambda: MLPClassifier(
            hidden_layer_sizes=(256,), max_iter=300, random_state=0), X, y, folds)


if __name__ == "__main__":
    main()
