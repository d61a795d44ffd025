"""Model selection by held-out likelihood: a scorer for GridSearchCV and cross_validate."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from .._core.typing import ArrayLike


def log_likelihood_scorer(estimator: BaseEstimator, X: ArrayLike, y: ArrayLike,
                          sample_weight: ArrayLike | None = None) -> float:
    """Mean log-likelihood ``(1/n) sum_i log p(y_i | x_i)`` in nats, higher is better.

    Pass it as ``scoring=log_likelihood_scorer`` to ``GridSearchCV`` or
    ``cross_validate`` to select models by held-out likelihood instead of the
    R^2 of their conditional mean (``score``). Works on a fitted
    ``MixtureDensityRegressor`` and on a ``Pipeline`` ending in one (the
    rows go through the pipeline's transformers first).
    """
    if isinstance(estimator, Pipeline):
        X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    return float(np.average(estimator.log_likelihood(X, y), weights=sample_weight))
