"""Diagnostic plots for fitted skneural estimators (needs matplotlib: ``pip install skneural[plot]``).

Each function draws on the ``ax`` it is given (or a new figure's axes) and
returns that ``ax``, so plots compose with the user's own figures::

    import matplotlib.pyplot as plt
    from skneural.plotting import plot_gradient_norms, plot_learning_curve

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plot_learning_curve(clf, ax=left)
    plot_gradient_norms(clf, ax=right)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator

from ._core.typing import ArrayLike
from ._core.validation import check_is_fitted

if TYPE_CHECKING:  # matplotlib is an optional dependency
    from matplotlib.axes import Axes

__all__ = [
    "plot_conditional_density",
    "plot_gradient_norms",
    "plot_learning_curve",
    "plot_samples",
]


def _axes(ax):
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("skneural.plotting needs matplotlib: pip install "
                          "'skneural[plot]' (or matplotlib).") from exc
    return plt.figure().add_subplot()


def plot_learning_curve(estimator: BaseEstimator, *, ax: Axes | None = None) -> Axes:
    """Plot the training loss per epoch and, with early stopping, the validation loss and score.

    Parameters
    ----------
    estimator : fitted skneural estimator
        Reads ``loss_curve_`` (for ``GANSampler`` a dict with the
        discriminator's and the generator's curves) and, when present and
        non-empty, ``validation_loss_curve_`` (drawn beside the training
        loss, in its units) and ``validation_scores_`` (on a second y axis,
        unless ``scoring="loss"`` makes them the negative validation loss).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when ``None``.

    Returns
    -------
    ax : matplotlib Axes
    """
    check_is_fitted(estimator, "loss_curve_")
    ax = _axes(ax)
    curves = estimator.loss_curve_
    if not isinstance(curves, dict):
        curves = {"training": curves}
    lines = []
    for name, values in curves.items():
        lines += ax.plot(np.arange(1, len(values) + 1), values, label=f"{name} loss")
    ax.set(xlabel="epoch", ylabel="loss", title=f"{type(estimator).__name__}: learning curve")
    val_losses = getattr(estimator, "validation_loss_curve_", None)
    if val_losses:
        lines += ax.plot(np.arange(1, len(val_losses) + 1), val_losses, label="validation loss")
    scores = getattr(estimator, "validation_scores_", None)
    if scores and getattr(estimator, "scoring", None) != "loss":
        twin = ax.twinx()
        lines += twin.plot(np.arange(1, len(scores) + 1), scores, color="tab:orange",
                           label="validation score")
        twin.set_ylabel("validation score")
    ax.legend(handles=lines, loc="center right")
    return ax


def plot_gradient_norms(estimator: BaseEstimator, *, ax: Axes | None = None,
                        log: bool = True) -> Axes:
    """Plot each layer's gradient norm per epoch: vanishing or exploding gradients at a glance.

    Parameters
    ----------
    estimator : fitted skneural estimator trained by a stochastic solver
        Reads ``gradient_norms_`` (one list of per-layer norms per epoch).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when ``None``.
    log : bool, default=True
        Logarithmic y axis (norms often differ by orders of magnitude).

    Returns
    -------
    ax : matplotlib Axes
    """
    check_is_fitted(estimator, "gradient_norms_")
    norms = np.asarray(estimator.gradient_norms_, dtype=float)
    if norms.size == 0:
        raise ValueError("gradient_norms_ is empty: it is recorded by stochastic solvers "
                         "(sgd, adam, ...), not by lbfgs.")
    ax = _axes(ax)
    epochs = np.arange(1, norms.shape[0] + 1)
    for layer in range(norms.shape[1]):
        ax.plot(epochs, norms[:, layer], label=f"layer {layer + 1}")
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="gradient norm (last batch)",
           title=f"{type(estimator).__name__}: gradient norm per layer")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_conditional_density(estimator: BaseEstimator, x: ArrayLike, y: ArrayLike, *,
                             ax: Axes | None = None, modes: bool = True,
                             cmap: str = "viridis") -> Axes:
    """Plot ``p(y | x)`` of a fitted ``MixtureDensityRegressor`` with one input and one target.

    Parameters
    ----------
    estimator : fitted MixtureDensityRegressor, or a Pipeline ending in one
        Must take one input feature and predict one target.
    x : array-like of shape (n_x,)
        Input values (columns of the image), in the units ``estimator`` is
        fed (a Pipeline applies its own preprocessing).
    y : array-like of shape (n_y,)
        Target values (rows of the image).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when ``None``.
    modes : bool, default=True
        Overlay the most probable mode at each ``x`` (``predict_mode``).
    cmap : str, default="viridis"
        Colour map of the density.

    Returns
    -------
    ax : matplotlib Axes
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    mdn = estimator[-1] if hasattr(estimator, "steps") else estimator
    check_is_fitted(mdn, "module_")
    if not hasattr(mdn, "log_likelihood") or getattr(mdn, "n_features_in_", 1) != 1 \
            or getattr(mdn, "n_outputs_", 1) != 1:
        raise ValueError("plot_conditional_density needs a fitted MixtureDensityRegressor "
                         "with one input feature and one target.")
    features = x.reshape(-1, 1)
    if hasattr(estimator, "steps"):
        features = estimator[:-1].transform(features)
    grid_x = np.repeat(features, y.size, axis=0)
    density = np.exp(mdn.log_likelihood(grid_x, np.tile(y, x.size))).reshape(x.size, y.size)
    ax = _axes(ax)
    ax.pcolormesh(x, y, density.T, shading="auto", cmap=cmap,
                  vmax=np.quantile(density, 0.995))
    if modes:
        ax.plot(x, mdn.predict_mode(features).ravel(), ".", color="white", ms=2,
                label="most probable mode")
        ax.legend(loc="upper left", fontsize="small")
    ax.set(xlabel="x", ylabel="y", title=r"conditional density $p(y\,|\,x)$")
    return ax


def plot_samples(X: ArrayLike, samples: ArrayLike, *, features: tuple = (0, 1),
                 ax: Axes | None = None,
                 labels: tuple[str, str] = ("data", "generated")) -> Axes:
    """Scatter real rows against generated ones (e.g. ``GANSampler.sample``) on two features.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_rows, n_features)
        Real rows.
    samples : array-like or DataFrame of shape (n_generated, n_features)
        Generated rows, in the same columns as ``X``.
    features : pair of int or str, default=(0, 1)
        The two columns to plot (names for DataFrames).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when ``None``.
    labels : pair of str, default=("data", "generated")
        Legend labels.

    Returns
    -------
    ax : matplotlib Axes
    """
    def columns(rows):
        if hasattr(rows, "columns") and hasattr(rows, "dtypes"):  # pandas or polars
            names = list(rows.columns)
            return [np.asarray(rows[f if isinstance(f, str) else names[f]]) for f in features]
        rows = np.asarray(rows)
        if rows.ndim != 2:
            raise ValueError(f"rows must be 2-D, got shape {rows.shape}.")
        return [rows[:, f] for f in features]

    ax = _axes(ax)
    ax.scatter(*columns(X), s=4, alpha=0.5, color="tab:blue", label=labels[0])
    ax.scatter(*columns(samples), s=4, alpha=0.5, color="tab:orange", label=labels[1])
    ax.set(xlabel=str(features[0]), ylabel=str(features[1]))
    ax.legend(loc="best", markerscale=3)
    return ax
