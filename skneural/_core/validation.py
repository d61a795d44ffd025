"""The one place that touches scikit-learn's private helpers.

scikit-learn does not promise that its underscore-prefixed utilities stay put
between releases. Every module imports them from here, and each import falls
back to a small local equivalent when sklearn no longer has it, so a renamed
helper cannot break ``import skneural`` (tests/test_private_api.py removes
each in turn). The rest is sklearn's public API.
"""

import functools
import numbers
import warnings

import numpy as np
import torch
from sklearn import config_context, get_config
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    check_non_negative,
    check_random_state,
    column_or_1d,
    validate_data,
)

# Each private helper is imported where sklearn keeps it today and, should a
# release move or rename it, replaced by the local equivalent below (what
# skneural needs of it, with sklearn's behaviour and messages).

try:
    from sklearn.utils._param_validation import (
        Interval,
        InvalidParameterError,
        Options,
        StrOptions,
    )

    _LOCAL_CONSTRAINTS = False
except ImportError:
    _LOCAL_CONSTRAINTS = True

    class InvalidParameterError(ValueError, TypeError):
        """A constructor parameter of the wrong type or value."""

    class Interval:
        """Numbers of ``type`` between ``left`` and ``right`` (``None``: unbounded)."""

        def __init__(self, type, left, right, *, closed):
            self.type, self.left, self.right, self.closed = type, left, right, closed

        def is_satisfied_by(self, val):
            if self.type == "real_not_int":
                ok = isinstance(val, numbers.Real) and not isinstance(val, numbers.Integral)
            else:
                ok = isinstance(val, self.type)
            if not ok or (not isinstance(val, numbers.Integral) and np.isnan(val)):
                return False
            left = -np.inf if self.left is None else self.left
            right = np.inf if self.right is None else self.right
            return ((left <= val if self.closed in ("left", "both") else left < val)
                    and (val <= right if self.closed in ("right", "both") else val < right))

        def __str__(self):
            return f"in the range {self.closed} [{self.left}, {self.right}] of {self.type}"

    class Options:
        """Values of ``type`` among ``options``."""

        def __init__(self, type, options, *, deprecated=None):
            self.type, self.options, self.deprecated = type, options, deprecated or set()

        def is_satisfied_by(self, val):
            return isinstance(val, self.type) and val in self.options

        def __str__(self):
            return f"one of {sorted(map(repr, self.options))}"

    class StrOptions(Options):
        """Strings among ``options``."""

        def __init__(self, options, *, deprecated=None):
            super().__init__(str, options, deprecated=deprecated)

    def _local_satisfied(constraint, value):
        if isinstance(constraint, (Interval, Options)):
            return constraint.is_satisfied_by(value)
        if constraint is None:
            return value is None
        if isinstance(constraint, type):
            return isinstance(value, constraint)
        return True  # "array-like", "boolean", ...: not checked without sklearn's classes


def _validate_params(estimator):
    """``estimator._validate_params()``, or a check of the local constraint classes."""
    if not _LOCAL_CONSTRAINTS:
        estimator._validate_params()
        return
    constraints = getattr(estimator, "_parameter_constraints", {})
    for name, value in estimator.get_params(deep=False).items():
        allowed = constraints.get(name, "no_validation")
        if allowed != "no_validation" and not any(_local_satisfied(c, value) for c in allowed):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be "
                f"{' or '.join(map(str, allowed))}. Got {value!r} instead.")


try:
    if _LOCAL_CONSTRAINTS:  # sklearn's decorator would validate with its own classes
        raise ImportError
    from sklearn.base import _fit_context
except ImportError:

    def _fit_context(*, prefer_skip_nested_validation):
        """Validate the parameters, then fit with nested validation skipped (sklearn's)."""

        def decorator(fit_method):
            @functools.wraps(fit_method)
            def wrapper(estimator, *args, **kwargs):
                skip = get_config().get("skip_parameter_validation", False)
                if not skip and not (fit_method.__name__ == "partial_fit"
                                     and _is_fitted(estimator)):
                    _validate_params(estimator)
                with config_context(
                        skip_parameter_validation=prefer_skip_nested_validation or skip):
                    return fit_method(estimator, *args, **kwargs)

            return wrapper

        return decorator

    def _is_fitted(estimator):
        try:
            check_is_fitted(estimator)
        except NotFittedError:
            return False
        return True


try:
    from sklearn.utils.multiclass import _check_partial_fit_first_call
except ImportError:

    def _check_partial_fit_first_call(clf, classes=None):
        """Whether this is ``clf``'s first ``partial_fit`` (which then sets ``classes_``)."""
        if getattr(clf, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            if getattr(clf, "classes_", None) is None:
                clf.classes_ = unique_labels(classes)
                return True
            if not np.array_equal(clf.classes_, unique_labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call "
                                 f"to partial_fit, was: {clf.classes_!r}")
        return False


try:
    from sklearn.utils._set_output import _wrap_data_with_container
except ImportError:

    def _wrap_data_with_container(method, data_to_wrap, original_input, estimator):
        """``data_to_wrap`` in the container ``set_output`` (or the global config) asks for."""
        config = getattr(estimator, "_sklearn_output_config", {})
        dense = config[method] if method in config else get_config()[f"{method}_output"]
        if (dense == "default" or not hasattr(estimator, "get_feature_names_out")
                or method not in getattr(estimator, "_sklearn_auto_wrap_output_keys", set())):
            return data_to_wrap
        columns = list(estimator.get_feature_names_out())
        if dense == "pandas":
            import pandas as pd

            index = getattr(original_input, "index", None)
            return pd.DataFrame(data_to_wrap, index=index, columns=columns)
        if dense == "polars":
            import polars as pl

            return pl.DataFrame(data_to_wrap, schema=columns, orient="row")
        raise ValueError(f"output config must be 'default', 'pandas' or 'polars', got {dense}")


try:
    from sklearn.utils.optimize import _check_optimize_result
except ImportError:

    def _check_optimize_result(solver, result, max_iter=None, extra_warning_msg=None):
        """The iterations of a scipy L-BFGS-B ``result``; warns if it did not converge."""
        if solver != "lbfgs":
            raise NotImplementedError
        n_iter = result.nit if max_iter is None else min(result.nit, max_iter)
        if result.status != 0:
            msg = (f"{solver} failed to converge after {n_iter} iteration(s) "
                   f"(status={result.status}):\n{result.message}\n")
            if max_iter is not None and n_iter == max_iter:
                msg += ("\nIncrease the number of iterations to improve the "
                        f"convergence (max_iter={max_iter}).")
            msg += ("\nYou might also want to scale the data as shown in:\n"
                    "    https://scikit-learn.org/stable/modules/preprocessing.html")
            if extra_warning_msg is not None:
                msg += "\n" + extra_warning_msg
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        return n_iter


try:
    from sklearn.utils.validation import _check_feature_names_in
except ImportError:

    def _check_feature_names_in(estimator, input_features=None, *, generate_names=True):
        """``input_features`` checked against the fitted names, else those names or x0, x1..."""
        names = getattr(estimator, "feature_names_in_", None)
        n_features = getattr(estimator, "n_features_in_", None)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if names is not None and not np.array_equal(names, input_features):
                raise ValueError("input_features is not equal to feature_names_in_")
            if n_features is not None and len(input_features) != n_features:
                raise ValueError("input_features should have length equal to number of "
                                 f"features ({n_features}), got {len(input_features)}")
            return input_features
        if names is not None:
            return names
        if not generate_names:
            return None
        if n_features is None:
            raise ValueError("Unable to generate feature names without n_features_in_")
        return np.asarray([f"x{i}" for i in range(n_features)], dtype=object)


try:
    from sklearn.utils.validation import _check_sample_weight
except ImportError:

    def _check_sample_weight(sample_weight, X, *, dtype=None, ensure_non_negative=False,
                             copy=False, allow_all_zero_weights=False, **_):
        """``sample_weight`` as a float array of shape (n_samples,) (ones for ``None``)."""
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        if dtype is not None and dtype not in (np.float32, np.float64):
            dtype = np.float64
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=dtype)
        elif isinstance(sample_weight, numbers.Number):
            sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
        else:
            sample_weight = check_array(
                sample_weight, accept_sparse=False, ensure_2d=False, order="C", copy=copy,
                dtype=[np.float64, np.float32] if dtype is None else dtype,
                input_name="sample_weight")
            if sample_weight.ndim != 1:
                raise ValueError(f"Sample weights must be 1D array or scalar, got "
                                 f"{sample_weight.ndim}D array. Expected either a scalar "
                                 f"value or a 1D array of length {n_samples}.")
            if sample_weight.shape != (n_samples,):
                raise ValueError(f"sample_weight.shape == {sample_weight.shape}, "
                                 f"expected {(n_samples,)}!")
        if not allow_all_zero_weights and np.all(sample_weight == 0):
            raise ValueError("Sample weights must contain at least one non-zero number.")
        if ensure_non_negative:
            check_non_negative(sample_weight, "`sample_weight`")
        return sample_weight


def _without_weight_averaging(est):
    """``partial_fit`` exists only without ``weight_averaging`` (sklearn's ``available_if``).

    Each ``partial_fit`` call is one epoch and keeps no average, as sklearn's
    MLP offers no ``partial_fit`` for ``solver="lbfgs"``.
    """
    if getattr(est, "weight_averaging", None) is not None:
        raise AttributeError(
            f"partial_fit is not available with weight_averaging={est.weight_averaging!r}: "
            "each call is one epoch and keeps no average; use fit."
        )
    return True


__all__ = [
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "_check_feature_names_in",
    "_check_optimize_result",
    "_check_partial_fit_first_call",
    "_check_sample_weight",
    "_fit_context",
    "_without_weight_averaging",
    "available_if",
    "as_tensor",
    "check_is_fitted",
    "check_random_state",
    "column_or_1d",
    "type_of_target",
    "unique_labels",
    "validate_data",
    "_wrap_data_with_container",
]


def as_tensor(array, dtype, device):
    """Wrap a numpy array as a tensor, without a copy where possible.

    Read-only inputs (memory-mapped data, sklearn's read-only checks) are
    wrapped too: the library never writes into user data, so torch's
    "not writable" warning would only be noise.
    """
    array = np.asarray(array)
    if array.flags.writeable:  # the common case skips the costly warnings context
        return torch.as_tensor(array, dtype=dtype, device=device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(array, dtype=dtype, device=device)
