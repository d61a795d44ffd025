"""The one place that touches scikit-learn's private helpers.

scikit-learn does not promise that its underscore-prefixed utilities stay put
between releases; importing them here keeps any breakage to a single file.
"""

import warnings

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import (
    _check_feature_names_in,
    _check_sample_weight,
    check_is_fitted,
    check_random_state,
    column_or_1d,
    validate_data,
)

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
