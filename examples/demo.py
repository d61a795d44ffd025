"""The main job: grid-search an MLP's regularization on digits, with early stopping.

A StandardScaler + skneural MLPClassifier pipeline, tuned over the L2 strength
``alpha`` and the ``dropout`` rate by GridSearchCV (early stopping inside each
fit), then the best model is cross-validated against sklearn's own
MLPClassifier with the same settings. Prints two tables.

Run with ``bash run.sh demo`` (``--quick`` for a smaller grid).
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifier


def main(quick=False):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    settings = dict(hidden_layer_sizes=(256,), early_stopping=True, max_iter=200,
                    n_iter_no_change=10, random_state=0)

    pipe = make_pipeline(StandardScaler(), MLPClassifier(**settings))
    grid = {
        "mlpclassifier__alpha": [1e-4, 1e-2] if quick else [1e-4, 1e-3, 1e-2, 1e-1],
        "mlpclassifier__dropout": [0.0, 0.3] if quick else [0.0, 0.1, 0.3, 0.5],
    }
    start = time.perf_counter()
    search = GridSearchCV(pipe, grid, cv=cv, n_jobs=1).fit(X, y)
    elapsed = time.perf_counter() - start

    print(f"GridSearchCV over alpha x dropout on digits ({len(search.cv_results_['params'])} "
          f"candidates x 5 folds, {elapsed:.1f} s)\n")
    print(f"{'alpha':>8} {'dropout':>8} {'mean acc':>9} {'std':>7} {'rank':>5}")
    res = search.cv_results_
    for params, mean, std, rank in zip(res["params"], res["mean_test_score"],
                                       res["std_test_score"], res["rank_test_score"]):
        print(f"{params['mlpclassifier__alpha']:>8g} {params['mlpclassifier__dropout']:>8g} "
              f"{mean:>9.4f} {std:>7.4f} {rank:>5d}")
    best = search.best_params_
    print(f"\nbest: {best}, CV accuracy {search.best_score_:.4f}\n")

    sk_settings = {k: v for k, v in settings.items()}
    sk_settings["alpha"] = best["mlpclassifier__alpha"]
    candidates = {
        "skneural MLPClassifier (best)": search.best_estimator_,
        # the same model sklearn can fit (no dropout): a like-for-like timing
        "skneural MLPClassifier (same alpha)": make_pipeline(StandardScaler(),
                                                             MLPClassifier(**sk_settings)),
        "sklearn MLPClassifier (same alpha)": make_pipeline(StandardScaler(),
                                                            SklearnMLP(**sk_settings)),
    }
    print(f"{'5-fold CV with early stopping':<37} {'accuracy':>9} {'std':>7} {'fit s':>7}")
    for name, model in candidates.items():
        scores = cross_validate(model, X, y, cv=cv)
        print(f"{name:<37} {np.mean(scores['test_score']):>9.4f} "
              f"{np.std(scores['test_score']):>7.4f} {np.sum(scores['fit_time']):>7.1f}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
