"""Type aliases for the public API's annotations (PEP 561: the package ships ``py.typed``)."""

from collections.abc import Sequence
from typing import TypeVar, Union

import numpy as np
import numpy.typing as npt

#: Anything ``numpy.asarray`` accepts: arrays, nested lists, DataFrames, Series.
ArrayLike = npt.ArrayLike
#: Inputs of ``fit``/``predict``: array-likes, scipy sparse matrices, or (for
#: ``LSTMSequenceClassifier``) a list of variable-length ``(T_i, F)`` arrays.
Input = Union[npt.ArrayLike, Sequence[npt.ArrayLike]]
NDArray = np.ndarray
#: ``int``, a ``numpy.random.RandomState`` or ``None``, as sklearn's ``random_state``.
RandomState = Union[int, np.random.RandomState, None]
#: ``fit`` and ``partial_fit`` return the estimator itself.
Self = TypeVar("Self")

__all__ = ["ArrayLike", "Input", "NDArray", "RandomState", "Self"]
