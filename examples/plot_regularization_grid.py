"""Grid-search L2 strength x dropout rate (x label smoothing) with early stopping.

The seeds' experiment on combining regularizers (deck 002's grid tables),
on sklearn's digits: a StandardScaler + MLPClassifier pipeline, 5-fold
GridSearchCV, early stopping inside every fit, one accuracy heatmap per
label-smoothing value. Saves ``examples/output/regularization_grid.png``.

    python examples/plot_regularization_grid.py [--quick]
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skneural import MLPClassifier  # noqa: E402

OUTPUT = Path(__file__).parent / "output" / "regularization_grid.png"


def main(quick=False):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:600], y[:600]
    alphas = [1e-4, 1e-1] if quick else [1e-5, 1e-3, 1e-2, 1e-1, 1.0]
    dropouts = [0.0, 0.3] if quick else [0.0, 0.1, 0.2, 0.4]
    smoothing = [0.0, 0.1]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(128,), early_stopping=True, n_iter_no_change=10,
        max_iter=40 if quick else 200, random_state=0))
    grid = {"mlpclassifier__alpha": alphas, "mlpclassifier__dropout": dropouts,
            "mlpclassifier__label_smoothing": smoothing}
    cv = StratifiedKFold(3 if quick else 5, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, grid, cv=cv).fit(X, y)

    scores = np.asarray(search.cv_results_["mean_test_score"]).reshape(
        len(alphas), len(dropouts), len(smoothing))  # GridSearchCV varies the last key fastest
    fig, axes = plt.subplots(1, len(smoothing), figsize=(5 * len(smoothing), 4), squeeze=False)
    for k, (ax, eps) in enumerate(zip(axes[0], smoothing)):
        im = ax.imshow(scores[:, :, k], cmap="viridis", vmin=scores.min(), vmax=scores.max())
        ax.set_xticks(range(len(dropouts)), [f"{d:g}" for d in dropouts])
        ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        ax.set_xlabel("dropout")
        ax.set_ylabel("alpha (L2)")
        ax.set_title(f"label_smoothing = {eps:g}")
        for i in range(len(alphas)):
            for j in range(len(dropouts)):
                ax.text(j, i, f"{scores[i, j, k]:.3f}", ha="center", va="center", color="w")
    fig.colorbar(im, ax=axes.ravel().tolist(), label="CV accuracy")
    fig.suptitle("digits: GridSearchCV over regularizers, early stopping in each fit")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUTPUT, dpi=100, bbox_inches="tight")
    print(f"best {search.best_params_}: {search.best_score_:.4f}; saved {OUTPUT}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
