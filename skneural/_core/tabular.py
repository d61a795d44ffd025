"""Categorical columns of a table: which they are, their integer codes, their embeddings.

A dense network reads a categorical column through a learned embedding, one
vector per category, concatenated to the numeric columns before the first
layer. The estimator encodes rows into a float array whose first columns are
the numeric ones and whose last columns hold each categorical column's code
(:class:`CategoricalCodes`); :class:`TabularNet` splits them again.

Codes: ``0`` is a category not seen in ``fit`` (or a missing value in a
column that had none in ``fit``), ``1`` is a missing value, ``2 + k`` the
``k``-th category of the column as sklearn's ``OrdinalEncoder`` sorts them.
The unknown slot is no free parameter (it never occurs in training): its
vector is the training-frequency-weighted mean of the column's other vectors,
so an unseen category is read as the average category.
"""

import warnings

import numpy as np
import torch
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils import _safe_indexing
from torch import nn

from .validation import check_array

UNKNOWN, MISSING, FIRST = 0, 1, 2  # code of an unseen category, of NaN, of category 0
MAX_AUTO_EMBEDDING = 50


def auto_embedding_dim(n_categories):
    """fastai's rule of thumb, ``round(1.6 * n ** 0.56)``, capped at 50.

    >>> [auto_embedding_dim(n) for n in (2, 10, 100, 10_000)]
    [2, 6, 21, 50]
    """
    return int(min(MAX_AUTO_EMBEDDING, max(1, round(1.6 * n_categories ** 0.56))))


def narwhals():
    """narwhals' stable API, or None (scikit-learn < 1.7 does not install it)."""
    try:
        import narwhals.stable.v2 as nw
    except ImportError:
        return None
    return nw


def _categorical_dtypes(X):
    """Which columns of a DataFrame hold categories, strings or Python objects; else ``None``."""
    nw = narwhals()
    if nw is not None and nw.dependencies.is_into_dataframe(X):
        dtypes = nw.from_native(X, eager_only=True).schema.dtypes()
        return np.array([isinstance(d, (nw.Categorical, nw.Enum, nw.String, nw.Object))
                         for d in dtypes])
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # pandas without narwhals
        import pandas as pd
        return np.array([isinstance(d, pd.CategoricalDtype) or d == object
                         or pd.api.types.is_string_dtype(d) for d in X.dtypes])
    return None


def categorical_mask(X, categorical_features):
    """The boolean mask of ``X``'s categorical columns, or ``None`` when there are none.

    ``categorical_features`` has ``HistGradientBoostingClassifier``'s meaning:
    ``None``, ``"from_dtype"``, a boolean mask, integer indices or column
    names. ``"from_dtype"`` takes a DataFrame's ``category``/``Enum`` columns
    and, since a network cannot read them as numbers, its string and object
    columns too.
    """
    n_features = X.shape[1]
    if categorical_features is None:
        return None
    if isinstance(categorical_features, str):  # "from_dtype": the constraints allow no other
        mask = _categorical_dtypes(X)
        return mask if mask is not None and mask.any() else None
    features = np.asarray(categorical_features)
    if features.size == 0:
        return None
    if features.dtype.kind == "b":
        if features.shape != (n_features,):
            raise ValueError("categorical_features set as a boolean mask must have shape "
                             f"(n_features,), got: {features.shape}")
        mask = features
    elif features.dtype.kind in "iu":
        if features.min() < 0 or features.max() >= n_features:
            raise ValueError("categorical_features set as integer indices must be in "
                             f"[0, n_features - 1] = [0, {n_features - 1}]")
        mask = np.zeros(n_features, dtype=bool)
        mask[features] = True
    elif features.dtype.kind in "UO" and all(isinstance(f, str) for f in features):
        names = getattr(X, "columns", None)
        if names is None:
            raise ValueError("categorical_features should be passed as an array of integers "
                             "or as a boolean mask when the model is fitted on data without "
                             "feature names.")
        names = [str(name) for name in names]
        missing = [f for f in features if f not in names]
        if missing:
            raise ValueError(f"categorical_features names {missing} are not columns of the "
                             f"training data. Observed feature names: {names}")
        mask = np.isin(names, features)
    else:
        raise ValueError("categorical_features must be an array-like of bool, int or str, "
                         f"got: {features.dtype.name}.")
    return mask if mask.any() else None


class CategoricalCodes:
    """The fitted encoding of a table's categorical columns (a private estimator attribute).

    Parameters
    ----------
    mask : ndarray of bool of shape (n_features,)
        Which columns are categorical.
    names : list of str
        Each categorical column's name (its index when ``X`` has no names).
    """

    def __init__(self, mask, names):
        self.mask = mask
        self.names = names
        self.encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                      encoded_missing_value=-2, dtype=np.float64)

    def fit(self, X):
        """Learn each column's categories from the categorical columns of ``X``."""
        codes = self.encoder.fit_transform(_safe_indexing(X, self.mask, axis=1))
        self.has_missing = (codes == -2).any(axis=0)
        self.n_levels = [len(c) - int(m) for c, m in zip(self.encoder.categories_,
                                                          self.has_missing)]
        return self

    def numeric(self, X, dtype):
        """The numeric columns of ``X`` as a float array (``(n, 0)`` when there are none)."""
        if self.mask.all():
            return np.empty((X.shape[0], 0), dtype=np.float64)
        return check_array(_safe_indexing(X, ~self.mask, axis=1), dtype=dtype)

    def codes(self, X, warn=True):
        """Integer codes of the categorical columns, shape ``(n, n_categorical)``.

        Categories not seen in ``fit`` (and missing values in a column that had
        none) get the unknown code; ``warn`` names their columns in a warning.
        """
        raw = self.encoder.transform(_safe_indexing(X, self.mask, axis=1))
        codes = raw + FIRST
        codes[raw == -1] = UNKNOWN
        missing = raw == -2
        codes[missing] = np.where(self.has_missing, MISSING, UNKNOWN)[np.nonzero(missing)[1]]
        unknown = (codes == UNKNOWN).any(axis=0)
        if warn and unknown.any():
            columns = [name for name, u in zip(self.names, unknown) if u]
            warnings.warn(
                f"Categorical columns {columns} hold categories not seen in fit (or missing "
                "values where fit saw none); they are read as the average category "
                "(the training-frequency-weighted mean embedding).",
                UserWarning, stacklevel=4)
        return codes

    def frequencies(self, codes, sample_weight=None):
        """Each column's weighted share of the missing slot and of each category."""
        w = np.ones(len(codes)) if sample_weight is None else np.asarray(sample_weight, float)
        shares = []
        for j, n in enumerate(self.n_levels):
            counts = np.bincount(codes[:, j].astype(np.int64), weights=w, minlength=n + FIRST)
            shares.append(counts[MISSING:] / counts[MISSING:].sum())
        return shares


class CategoricalEmbedding(nn.Module):
    """One learned table a categorical column; codes ``(B, C)`` to vectors ``(B, sum(dims))``.

    A column's table has one row for the missing value, then one per
    category; the unknown category's row is computed, the ``frequency``-
    weighted mean of the learned rows. The tables are the diagonal blocks of
    one masked matrix, so a batch is embedded by one lookup and one sum,
    whatever the number of columns (a loop over columns costs a few torch
    operations each, forward and backward, which dominate small networks).
    """

    def __init__(self, n_levels, dims):
        super().__init__()
        rows = [n + FIRST - 1 for n in n_levels]   # learned rows: the missing value, categories
        row_start = np.concatenate([[0], np.cumsum(rows)])
        col_start = np.concatenate([[0], np.cumsum(dims)])
        n_columns, shape = len(rows), (row_start[-1], col_start[-1])
        mask = torch.zeros(shape, dtype=torch.float64)
        frequency = torch.zeros((n_columns, shape[0]), dtype=torch.float64)
        for j, n in enumerate(rows):
            mask[row_start[j]:row_start[j + 1], col_start[j]:col_start[j + 1]] = 1.0
            frequency[j, row_start[j]:row_start[j + 1]] = 1.0 / n  # until fit sets the shares
        self.weight = nn.Parameter(torch.randn(shape, dtype=torch.float64) * mask)
        self.register_buffer("mask", mask)
        self.register_buffer("frequency", frequency)
        # code c >= 1 of column j is row n_columns + row_start[j] + c - 1 of the lookup
        self.register_buffer("offset", torch.as_tensor(n_columns + row_start[:-1] - 1))
        self.register_buffer("column", torch.arange(n_columns))
        self._blocks = [(int(row_start[j]), int(row_start[j + 1]), int(col_start[j]),
                         int(col_start[j + 1])) for j in range(n_columns)]

    def table(self, j):
        """Column ``j``'s learned rows: the missing value's, then each category's."""
        r0, r1, c0, c1 = self._blocks[j]
        return self.weight[r0:r1, c0:c1]

    def shares(self, j):
        """Column ``j``'s weights of its learned rows in the unknown category's vector."""
        r0, r1, _, _ = self._blocks[j]
        return self.frequency[j, r0:r1]

    def set_frequencies(self, shares):
        """Set each column's training shares of its learned rows."""
        with torch.no_grad():
            for j, share in enumerate(shares):
                r0, r1, _, _ = self._blocks[j]
                self.frequency[j].zero_()
                self.frequency[j, r0:r1] = torch.as_tensor(share, dtype=self.frequency.dtype)

    def forward(self, codes):
        table = self.weight * self.mask                      # off-block entries stay 0
        lookup = torch.cat([self.frequency @ table, table])  # unknown rows first
        rows = torch.where(codes == UNKNOWN, self.column, codes + self.offset)
        return lookup[rows].sum(dim=1)


class TabularNet(nn.Module):
    """``body`` reading numeric columns and embedded categorical columns side by side."""

    def __init__(self, body, n_levels, dims):
        super().__init__()
        self.embedding = CategoricalEmbedding(n_levels, dims)
        self.body = body

    def forward(self, x, codes):  # (B, F_numeric), (B, C) int64 -> body's output
        return self.body(torch.cat([x, self.embedding(codes)], dim=1))

    def linear_layers(self):
        """The body's affine maps (what ``coefs_`` lists)."""
        return self.body.linear_layers()
