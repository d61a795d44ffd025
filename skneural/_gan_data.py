"""Tabular rows <-> the flat float matrix a GAN trains on.

Numeric columns are standardized (zero mean, unit variance); each
categorical column becomes a one-hot block, as in CTGAN. ``decode`` maps a
generator's output back to rows in the original scale, categorical blocks by
their argmax, so every generated category is one seen in ``fit``.
"""

import numpy as np
import pandas as pd
from sklearn.utils import check_array


def _is_dataframe(X):
    return hasattr(X, "dtypes") and hasattr(X, "columns")


def categorical_indices(X, categorical_features, n_features):
    """Resolve ``categorical_features`` to sorted column indices.

    ``"auto"`` takes the object, category, bool and string columns of a
    DataFrame and nothing from an array; ``None`` means no categorical
    column; otherwise indices, a boolean mask or column names.
    """
    if categorical_features is None:
        return []
    if isinstance(categorical_features, str):
        if categorical_features != "auto":
            raise ValueError(
                f"categorical_features={categorical_features!r}; use 'auto', None, "
                "column indices, a boolean mask or column names."
            )
        if not _is_dataframe(X):
            return []
        return [i for i, dtype in enumerate(X.dtypes)
                if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
                or isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)]
    spec = np.asarray(categorical_features)
    if spec.dtype == bool:
        if spec.shape != (n_features,):
            raise ValueError(
                f"categorical_features as a boolean mask must have {n_features} entries, "
                f"got shape {spec.shape}."
            )
        return [int(i) for i in np.flatnonzero(spec)]
    if spec.dtype.kind in "OUS":
        if not _is_dataframe(X):
            raise ValueError("categorical_features given as column names needs a DataFrame X.")
        columns = [str(c) for c in X.columns]
        missing = [name for name in spec.ravel() if str(name) not in columns]
        if missing:
            raise ValueError(f"categorical_features names {missing} are not columns of X.")
        return sorted(columns.index(str(name)) for name in spec.ravel())
    if spec.dtype.kind not in "iu":
        raise TypeError(
            "categorical_features must be 'auto', None, integer indices, a boolean mask "
            f"or column names, got {categorical_features!r}."
        )
    indices = sorted({int(i) for i in spec.ravel()})
    if indices and (indices[0] < -n_features or indices[-1] >= n_features):
        raise ValueError(
            f"categorical_features {indices} out of range for {n_features} features."
        )
    return sorted({i % n_features for i in indices})


class TabularEncoder:
    """Standardize numeric columns and one-hot encode categorical ones.

    Parameters
    ----------
    categorical : list of int
        Indices of the categorical columns.
    """

    def __init__(self, categorical):
        self.categorical = list(categorical)

    def fit(self, X, frame=None):
        """Learn means, scales and categories from validated rows ``X`` (2-D array)."""
        n_features = X.shape[1]
        self.numeric = [i for i in range(n_features) if i not in self.categorical]
        numeric = self._numeric(X)
        self.mean_ = numeric.mean(axis=0)
        scale = numeric.std(axis=0)
        self.scale_ = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(self.mean_)), scale, 1.0)
        self.categories_ = []
        for i in self.categorical:
            column = X[:, i]
            if pd.isna(column).any():
                raise ValueError(f"Categorical column {i} contains missing values.")
            try:
                self.categories_.append(np.unique(column))
            except TypeError as exc:
                raise TypeError(
                    f"Categorical column {i} mixes types that cannot be ordered ({exc}); "
                    "convert it to strings."
                ) from exc
        # Restore DataFrame dtypes on the way out: categories, ints, floats.
        self.dtypes_ = None if frame is None else list(frame.dtypes)
        self.columns_ = None if frame is None else list(frame.columns)
        return self

    def _numeric(self, X):
        if not self.numeric:
            return np.zeros((X.shape[0], 0))
        part = X[:, self.numeric]
        if part.dtype.kind not in "fiub":
            part = check_array(part, dtype=np.float64)
        return np.asarray(part, dtype=np.float64)

    @property
    def blocks(self):
        """(start, stop) of each one-hot block in the encoded matrix."""
        start, out = len(self.numeric), []
        for categories in self.categories_:
            out.append((start, start + len(categories)))
            start += len(categories)
        return out

    @property
    def n_encoded(self):
        return len(self.numeric) + sum(len(c) for c in self.categories_)

    def encode(self, X, dtype):
        """Rows -> (n, n_encoded) standardized numeric part then one-hot blocks."""
        parts = [(self._numeric(X) - self.mean_) / self.scale_]
        for i, categories in zip(self.categorical, self.categories_):
            codes = np.searchsorted(categories, X[:, i])
            codes = np.clip(codes, 0, len(categories) - 1)
            unknown = categories[codes] != X[:, i]
            if np.any(unknown):
                raise ValueError(
                    f"Categorical column {i} has categories not seen in fit: "
                    f"{np.unique(X[unknown, i])[:5].tolist()}."
                )
            parts.append(np.eye(len(categories))[codes])
        return np.hstack(parts).astype(dtype, copy=False)

    def decode(self, Z, dtype):
        """Generator outputs -> rows in the original scale and layout."""
        numeric = np.asarray(Z[:, :len(self.numeric)], dtype=np.float64) * self.scale_ + self.mean_
        columns = [None] * (len(self.numeric) + len(self.categorical))
        for j, i in enumerate(self.numeric):
            columns[i] = numeric[:, j]
        for (start, stop), i, categories in zip(self.blocks, self.categorical, self.categories_):
            columns[i] = categories[np.argmax(Z[:, start:stop], axis=1)]
        if self.columns_ is not None:
            return self._frame(columns)
        if not self.categorical:
            return numeric.astype(dtype, copy=False)
        if all(c.dtype.kind in "fiub" for c in self.categories_):
            return np.column_stack(columns).astype(np.float64)
        out = np.empty((Z.shape[0], len(columns)), dtype=object)
        for i, column in enumerate(columns):
            out[:, i] = column
        return out

    def _frame(self, columns):
        data = {}
        for name, column, dtype in zip(self.columns_, columns, self.dtypes_):
            if isinstance(dtype, pd.CategoricalDtype):
                data[name] = pd.Categorical(column, dtype=dtype)
            elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                if column.dtype.kind == "f":
                    column = np.rint(column)
                data[name] = column.astype(dtype)
            else:
                try:
                    data[name] = pd.Series(column).astype(dtype).to_numpy()
                except (TypeError, ValueError):
                    data[name] = column
        return pd.DataFrame(data, columns=self.columns_)
