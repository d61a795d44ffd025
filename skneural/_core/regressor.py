"""What the skneural regressors share: fit entry points and target handling."""

import numpy as np

from .typing import ArrayLike, Input, Self
from .validation import _fit_context, _without_weight_averaging, available_if, column_or_1d


def weighted_moments(y, sample_weight=None):
    """Per-output mean and variance of ``y`` (2-D) under ``sample_weight``.

    Weighted, so a weight of 2 acts exactly like a duplicated row (sklearn's
    sample-weight equivalence).
    """
    mean = np.average(y, axis=0, weights=sample_weight)
    var = np.average((y - mean) ** 2, axis=0, weights=sample_weight)
    return mean, var


class NeuralRegressorMixin:
    """``fit``/``partial_fit`` and numeric, 2-D targets for regressors on ``BaseNeuralEstimator``.

    Put it before the estimator base in the MRO.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self: Self, X: Input, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
            X_val: Input | None = None, y_val: ArrayLike | None = None,
            sample_weight_val: ArrayLike | None = None) -> Self:
        """Fit the model to data ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        X_val : array-like of shape (n_val, n_features), default=None
            Validation rows for early stopping, used instead of holding out
            ``validation_fraction`` of ``X`` (which then all trains); needs
            ``early_stopping=True`` and ``y_val``. In a ``Pipeline``, route it
            with ``set_fit_request(X_val=True, y_val=True)`` and have the
            pipeline transform it like ``X`` with
            ``Pipeline(..., transform_input=["X_val"])``, as for
            :class:`~sklearn.ensemble.HistGradientBoostingRegressor`.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, X_val=X_val,
                         y_val=y_val, sample_weight_val=sample_weight_val)

    @available_if(_without_weight_averaging)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self: Self, X: Input, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> Self:
        """Run one epoch over ``X, y``, keeping the optimizer state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_Xy(self, X, y, reset):
        X, y = super()._validate_Xy(X, y, reset)
        return X, np.asarray(y, dtype=X.dtype)

    def _labels_of(self, target):
        """Targets in their own units from the network's (the inverse of the scaling)."""
        y = np.asarray(target) * self._y_scale + self._y_mean
        return y.ravel() if y.shape[1] == 1 else y

    def _targets_2d(self, y, reset):
        """``y`` as (n_samples, n_outputs), checked against the fitted output count."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if reset:
            self.n_outputs_ = y.shape[1]
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs but the model was fitted on "
                             f"{self.n_outputs_}.")
        return y
