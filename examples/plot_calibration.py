"""Calibrating an over-confident MLPClassifier: reliability and log-loss before and after.

A wide MLP trained long without weight decay on half of sklearn's breast
cancer data fits its training rows almost exactly, and its probabilities on
new rows sit at 0 and 1 even where it is wrong, which the log-loss punishes.
``CalibratedClassifierCV(..., cv=3, ensemble=False)`` fits a calibrator
(Platt's sigmoid, isotonic regression, or one temperature for the logits)
to the network's out-of-fold probabilities and refits the network on all
training rows, so each calibrated model holds exactly the raw network plus
its calibrator. The figure shows the reliability diagrams
(``CalibrationDisplay``) and the spread of the predicted probabilities on
the held-out half; the script prints the held-out log-loss and Brier score.

Run ``python examples/plot_calibration.py`` (``--quick`` for fewer epochs);
the figure goes to ``examples/output/plot_calibration.png``.
"""

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.calibration import CalibratedClassifierCV, CalibrationDisplay
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifier

OUTPUT = Path(__file__).resolve().parent / "output" / "plot_calibration.png"
METHODS = ("sigmoid", "isotonic", "temperature")  # temperature: scikit-learn >= 1.8


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    epochs = 40 if parser.parse_args().quick else 200
    warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the point here
    torch.set_num_threads(1)  # a small network: one thread is fastest
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y,
                                                        random_state=0)

    def overconfident_mlp():  # wide, no weight decay, a large step, no early stop
        return make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(64, 64), alpha=0.0, learning_rate_init=0.01,
            max_iter=epochs, n_iter_no_change=epochs, random_state=0))

    start = time.perf_counter()
    models = {"uncalibrated": overconfident_mlp().fit(X_train, y_train)}
    for method in METHODS:
        models[method] = CalibratedClassifierCV(overconfident_mlp(), method=method, cv=3,
                                                ensemble=False).fit(X_train, y_train)
    print(f"{len(models)} models ({epochs} epochs each fit) in "
          f"{time.perf_counter() - start:.1f} s; held-out half, {len(y_test)} tumours:")
    print(f"{'':>14} {'log-loss':>9} {'Brier':>7} {'accuracy':>9}")
    proba = {name: model.predict_proba(X_test)[:, 1] for name, model in models.items()}
    for name, p in proba.items():
        print(f"{name:>14} {log_loss(y_test, p):9.4f} {brier_score_loss(y_test, p):7.4f} "
              f"{accuracy_score(y_test, p > 0.5):9.4f}")

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 5))
    colors = {"uncalibrated": "k", "sigmoid": "C0", "isotonic": "C1", "temperature": "C2"}
    for name, p in proba.items():
        CalibrationDisplay.from_predictions(
            y_test, p, n_bins=5, ax=left, name=f"{name} (log-loss {log_loss(y_test, p):.3f})",
            color=colors[name], marker="o")
    left.set(title="reliability on the held-out half (5 bins)",
             xlabel="mean predicted probability of benign", ylabel="fraction benign")
    left.legend(loc="lower right", fontsize=9)

    bins = np.linspace(0, 1, 21)
    for name in ("uncalibrated", "temperature"):
        middle.hist(proba[name], bins=bins, alpha=0.6, label=name, color=colors[name])
    middle.set_yscale("log")
    middle.set(title="predicted probabilities\n(the raw network's sit at 0 and 1)",
               xlabel="predicted probability of benign", ylabel="tumours (log scale)")
    middle.legend()

    # the log-loss is an average of -log p(true class): a few confident mistakes dominate it
    raw = proba["uncalibrated"]
    wrong = np.flatnonzero((raw > 0.5) != y_test)
    p_true = {name: np.where(y_test == 1, p, 1 - p) for name, p in proba.items()}
    cost = {name: -np.log(np.clip(p, 1e-15, 1)) for name, p in p_true.items()}
    order = wrong[np.argsort(-cost["uncalibrated"][wrong])]
    for name, c in cost.items():
        right.plot(np.arange(len(order)), c[order], "o", color=colors[name], label=name,
                   alpha=0.8)
        for i in np.flatnonzero(c[order] > 30):  # p(true class) of about 0, clipped
            right.annotate(f"{name}: p = {p_true[name][order][i]:.0g}", (i, c[order][i]),
                           xytext=(8, -4), textcoords="offset points", fontsize=9)
    share = cost["uncalibrated"][wrong].sum() / cost["uncalibrated"].sum()
    right.set(title=f"the {len(wrong)} tumours the raw network gets wrong\n"
                    f"hold {share:.0%} of its log-loss",
              xlabel="misclassified tumour (by raw cost)", ylabel="-log p(true class)  (nats)")
    right.legend(fontsize=9)
    fig.suptitle(f"MLPClassifier(64, 64), alpha=0, {epochs} epochs, on breast cancer: "
                 "CalibratedClassifierCV(cv=3, ensemble=False)")
    fig.tight_layout()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUTPUT, dpi=100)
    print(f"saved {OUTPUT}")


if __name__ == "__main__":
    main()
