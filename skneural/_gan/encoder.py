"""Tabular rows <-> the flat float matrix a GAN trains on.

Numeric columns are standardized (zero mean, unit variance). With
``numeric_encoding="mode_specific"`` each standardized column is further
split as in CTGAN (Xu et al. 2019): a variational Gaussian mixture finds its
modes, and a value becomes the one-hot of its mode plus its offset from the
mode's mean in units of four standard deviations. A narrow peak then costs
the generator a discrete choice and an O(1) number instead of a very precise
output. Each categorical column becomes a one-hot block. ``decode`` maps a
generator's output back to rows in the original scale, one-hot blocks by
their argmax, so every generated category is one seen in ``fit``.
With ``numeric_encoding="auto"`` only the columns whose modes are well
separated (the fitted mixture's density falls below ``SEPARATION`` of the
lower peak somewhere between two peaks: clusters, a few repeated values)
are encoded by mode; the others, unimodal or merely skewed, stay
standardized, since the mode one-hots of a column with overlapping modes
give the generator discrete choices the data do not have.

Encoded layout: ``[numeric part (one value per numeric column: a mode offset
or a standardized value) | one-hot blocks: the mode blocks of the
mode-encoded numeric columns, then the categories]``.

pandas is an optional extra: it is imported only where a DataFrame's
dtypes are read or a DataFrame is built, so arrays need no pandas. Other
DataFrames (polars) are read and rebuilt through narwhals, which
scikit-learn >= 1.7 installs: a model fitted on one samples the same kind.
"""

import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture
from sklearn.utils import check_array

from .._core.tabular import narwhals as _narwhals

MAX_MODES = 10  # CTGAN's defaults: 10 components, weights below 0.005 pruned
MIN_MODE_WEIGHT = 0.005
MIN_MODE_STD = 1e-3  # in standardized units: floors the spread of single-value modes
MIXTURE_ROWS = 5000  # rows the mixture of one column is fitted on
SEPARATION = 0.05  # "auto": modes count as separated where the density dips below this


def separated(means, stds, weights, column):
    """Do a column's modes stand apart: does the mixture's density dip below ``SEPARATION``?

    The density is evaluated on a grid over the column's range; between
    each pair of neighbouring peaks its lowest point is compared with the
    lower of the two peaks.
    """
    if len(means) < 2:
        return False
    grid = np.linspace(column.min(), column.max(), 4000)[:, None]
    density = (weights / stds * np.exp(-0.5 * ((grid - means) / stds) ** 2)).sum(axis=1)
    inner = density[1:-1]
    peaks = np.flatnonzero((inner > density[:-2]) & (inner >= density[2:])) + 1
    return any(density[a:b].min() < SEPARATION * min(density[a], density[b])
               for a, b in zip(peaks[:-1], peaks[1:]))


def _pandas(needed_for):
    """The pandas module, or an ImportError naming the extra that installs it."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            f"GANSampler needs pandas {needed_for}; install it with "
            "`pip install skneural[pandas]`."
        ) from exc
    return pandas


def _loaded_pandas():
    """pandas if something already imported it, else None (then no object is a pandas one)."""
    return sys.modules.get("pandas")


def narwhals_frame(X):
    """``X`` as an eager narwhals DataFrame when it is a DataFrame but not pandas', else None.

    pandas frames keep their own code path (it needs no narwhals); this one
    serves polars and the other libraries narwhals reads.
    """
    nw = _narwhals()
    pd = _loaded_pandas()
    if nw is None or (pd is not None and isinstance(X, pd.DataFrame)) \
            or not nw.dependencies.is_into_dataframe(X):
        return None
    return nw.from_native(X, eager_only=True)


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT, Decimal('NaN')
    except (TypeError, ValueError):
        return False


def isna(column):
    """``pd.isna`` of a 1-D column; pandas is used only when already imported.

    Without pandas loaded no ``pd.NA``/``pd.NaT`` can exist, and None, NaN
    and NaT are the missing values.
    """
    pd = _loaded_pandas()
    if pd is not None:
        return np.asarray(pd.isna(column), dtype=bool)
    column = np.asarray(column)
    if column.dtype.kind in "fc":
        return np.isnan(column)
    if column.dtype.kind in "mM":
        return np.isnat(column)
    if column.dtype.kind != "O":
        return np.zeros(column.shape, dtype=bool)
    return np.fromiter((_is_missing(v) for v in column), dtype=bool, count=column.size)


def describe_dtype(dtype):
    """A column's dtype as plain values (a name, or a categorical's categories and order).

    pandas dtype objects hold pandas internals that ``skops.io`` cannot save;
    these descriptions round-trip through pickle and skops alike. A narwhals
    dtype (of a polars column) is its name, or an Enum's categories.
    """
    pd, nw = _loaded_pandas(), _narwhals()
    if pd is not None and isinstance(dtype, pd.CategoricalDtype):
        return ("category", dtype.categories.tolist(), bool(dtype.ordered))
    if nw is not None and isinstance(dtype, nw.Enum):
        return ("enum", list(dtype.categories))
    return str(dtype)


def narwhals_dtype_from_description(description):
    """The narwhals dtype :func:`describe_dtype` described; None if not rebuilt.

    Dtypes with parameters other than an Enum's (``Datetime(time_unit=...)``)
    are not rebuilt; their columns keep the dtype their values give.
    """
    nw = _narwhals()
    if not isinstance(description, str):
        return nw.Enum(description[1])
    dtype = getattr(nw, description, None)
    is_dtype = isinstance(dtype, type) and issubclass(dtype, nw.dtypes.DType)
    return dtype() if is_dtype else None


def dtype_from_description(description):
    """The pandas dtype that :func:`describe_dtype` described."""
    pd = _pandas("to return the rows of a model fitted on a DataFrame as a DataFrame")
    if isinstance(description, str):
        return pd.api.types.pandas_dtype(description)
    _, categories, ordered = description
    return pd.CategoricalDtype(categories, ordered=ordered)


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
        frame = narwhals_frame(X)
        if frame is not None:
            nw = _narwhals()
            kinds = (nw.Boolean, nw.Categorical, nw.Enum, nw.Object, nw.String)
            return [i for i, dtype in enumerate(frame.schema.dtypes())
                    if isinstance(dtype, kinds)]
        pd = _pandas("to find the categorical columns of a DataFrame")
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
    mode_specific : bool or "auto"
        Encode numeric columns by mode (CTGAN) rather than standardized
        only; ``"auto"``: only the columns with well-separated modes.
    rng : numpy RandomState
        Seeds the mixtures and the draw of each value's mode.
    """

    def __init__(self, categorical, mode_specific, rng):
        self.categorical = list(categorical)
        self.mode_specific = mode_specific
        self.rng = rng

    def fit(self, X, frame=None):
        """Learn means, scales, modes and categories from validated rows ``X`` (2-D array)."""
        n_features = X.shape[1]
        self.numeric = [i for i in range(n_features) if i not in self.categorical]
        numeric = self._numeric(X)
        self.mean_ = numeric.mean(axis=0)
        scale = numeric.std(axis=0)
        self.scale_ = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(self.mean_)), scale, 1.0)
        standardized = (numeric - self.mean_) / self.scale_
        self.modes_, self.mode_columns_ = [], []
        if self.mode_specific:
            for j, column in enumerate(standardized.T):
                modes = self._fit_modes(column)
                if self.mode_specific != "auto" or separated(*modes, column):
                    self.modes_.append(modes)
                    self.mode_columns_.append(j)
        self.categories_ = []
        for i in self.categorical:
            column = X[:, i]
            if isna(column).any():
                raise ValueError(f"Categorical column {i} contains missing values.")
            try:
                self.categories_.append(np.unique(column))
            except TypeError as exc:
                raise TypeError(
                    f"Categorical column {i} mixes types that cannot be ordered ({exc}); "
                    "convert it to strings."
                ) from exc
        # Restore DataFrame dtypes on the way out: categories, ints, floats;
        # ``backend_`` names the library of a DataFrame that is not pandas'.
        self.dtypes_, self.columns_, self.backend_ = None, None, None
        if frame is not None:
            self.columns_ = list(frame.columns)
            native = narwhals_frame(frame)
            if native is not None:
                self.backend_ = native.implementation.value
            dtypes = frame.dtypes if native is None else native.schema.dtypes()
            self.dtypes_ = [describe_dtype(d) for d in dtypes]
        return self

    def _fit_modes(self, column):
        """(means, stds, weights) of the modes of one standardized column."""
        if np.unique(column).size < 2:
            return np.zeros(1), np.ones(1), np.ones(1)
        if column.size > MIXTURE_ROWS:
            column = self.rng.choice(column, MIXTURE_ROWS, replace=False)
        mixture = BayesianGaussianMixture(
            n_components=min(MAX_MODES, np.unique(column).size),
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3, max_iter=100,
            random_state=self.rng.randint(np.iinfo(np.int32).max))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(column.reshape(-1, 1))
        # The mixture's Wishart prior inflates narrow modes' variances by about
        # prior / n_k; one maximum-likelihood M-step on its responsibilities
        # gives the modes' own means and spreads. Modes holding less than
        # MIN_MODE_WEIGHT of the rows are dropped first.
        resp = mixture.predict_proba(column.reshape(-1, 1))
        share = resp.mean(axis=0)
        keep = share > MIN_MODE_WEIGHT
        keep[np.argmax(share)] = True
        resp = resp[:, keep] / np.maximum(resp[:, keep].sum(axis=1, keepdims=True), 1e-300)
        mass = np.maximum(resp.sum(axis=0), 1e-12)
        means = resp.T @ column / mass
        stds = np.sqrt(np.einsum("nk,nk->k", resp, (column[:, None] - means) ** 2) / mass)
        return means, np.maximum(stds, MIN_MODE_STD), mass / mass.sum()

    @property
    def _mode_columns(self):
        """Numeric column index of each entry of ``modes_``."""
        columns = getattr(self, "mode_columns_", None)  # absent in models saved before "auto"
        return list(range(len(self.modes_))) if columns is None else columns

    @property
    def bounded(self):
        """Per numeric column: is its encoded value a mode offset in [-1, 1]?"""
        mask = [False] * len(self.numeric)
        for j in self._mode_columns:
            mask[j] = True
        return mask

    def _mode_parts(self, standardized):
        """Offsets in [-1, 1] and mode one-hots; each value's mode drawn from its posterior."""
        offsets, onehots = [], []
        for j, (means, stds, weights) in zip(self._mode_columns, self.modes_):
            x = standardized[:, j:j + 1]
            log_density = -0.5 * ((x - means) / stds) ** 2 - np.log(stds) + np.log(weights)
            post = np.exp(log_density - log_density.max(axis=1, keepdims=True))
            post /= post.sum(axis=1, keepdims=True)
            cumulative = post.cumsum(axis=1)
            u = self.rng.uniform(size=(x.shape[0], 1))
            mode = np.minimum((u > cumulative).sum(axis=1), len(means) - 1)
            offsets.append(np.clip((x[:, 0] - means[mode]) / (4 * stds[mode]), -0.99, 0.99))
            onehots.append(np.eye(len(means))[mode])
        return offsets, onehots

    def _numeric(self, X):
        if not self.numeric:
            return np.zeros((X.shape[0], 0))
        part = X[:, self.numeric]
        if part.dtype.kind not in "fiub":
            part = check_array(part, dtype=np.float64)
        return np.asarray(part, dtype=np.float64)

    def _block_sizes(self):
        return [len(m[0]) for m in self.modes_] + [len(c) for c in self.categories_]

    @property
    def blocks(self):
        """(start, stop) of each one-hot block: numeric modes, then categories."""
        start, out = len(self.numeric), []
        for size in self._block_sizes():
            out.append((start, start + size))
            start += size
        return out

    @property
    def category_blocks(self):
        """(start, stop) of the categorical columns' one-hot blocks."""
        return self.blocks[len(self.modes_):]

    @property
    def n_encoded(self):
        return len(self.numeric) + sum(self._block_sizes())

    def encode(self, X, dtype):
        """Rows -> (n, n_encoded): numeric part, then one-hot blocks."""
        standardized = (self._numeric(X) - self.mean_) / self.scale_
        offsets, parts = self._mode_parts(standardized)
        numeric = standardized.copy()
        for j, offset in zip(self._mode_columns, offsets):
            numeric[:, j] = offset
        parts = [numeric] + parts
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

    @property
    def n_modes(self):
        """The most modes of a numeric column (1 without mode-specific encoding)."""
        return max([len(m[0]) for m in self.modes_], default=1)

    def numeric_modes(self, Z):
        """Mode index ``(n, n_numeric)`` of each numeric value of encoded rows (0 if no modes)."""
        modes = np.zeros((Z.shape[0], len(self.numeric)), dtype=int)
        for j, (start, stop) in zip(self._mode_columns, self.blocks[:len(self.modes_)]):
            modes[:, j] = np.argmax(Z[:, start:stop], axis=1)
        return modes

    def decode_numeric(self, Z):
        """Generator outputs -> the numeric columns ``(n, n_numeric)`` in the original scale."""
        numeric = np.asarray(Z[:, :len(self.numeric)], dtype=np.float64)
        if self.modes_:
            modes = self.numeric_modes(Z)
            for j, (means, stds, _) in zip(self._mode_columns, self.modes_):
                numeric[:, j] = numeric[:, j] * 4 * stds[modes[:, j]] + means[modes[:, j]]
        return numeric * self.scale_ + self.mean_

    def decode(self, Z, dtype, numeric=None):
        """Generator outputs -> rows in the original scale and layout.

        ``numeric`` replaces the numeric columns :meth:`decode_numeric` would
        give (e.g. after a calibration of them).
        """
        if numeric is None:
            numeric = self.decode_numeric(Z)
        columns = [None] * (len(self.numeric) + len(self.categorical))
        for j, i in enumerate(self.numeric):
            columns[i] = numeric[:, j]
        for (start, stop), i, categories in zip(self.category_blocks, self.categorical,
                                                self.categories_):
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
        backend = getattr(self, "backend_", None)  # absent in models saved before polars
        if backend is not None:
            return self._narwhals_frame(columns, backend)
        pd = _pandas("to return the rows of a model fitted on a DataFrame as a DataFrame")
        data = {}
        for name, column, description in zip(self.columns_, columns, self.dtypes_):
            dtype = dtype_from_description(description)
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

    def _narwhals_frame(self, columns, backend):
        """The rows as a ``backend`` (e.g. polars) DataFrame with the training dtypes."""
        nw = _narwhals()
        if nw is None:
            raise ImportError(f"GANSampler needs narwhals (`pip install narwhals`) to return "
                              f"the rows of a model fitted on a {backend} DataFrame.")
        data = {}
        for name, column, description in zip(self.columns_, columns, self.dtypes_):
            dtype = narwhals_dtype_from_description(description)
            if dtype is not None and dtype.is_integer() and column.dtype.kind == "f":
                column = np.rint(column)
                width = getattr(np, str(dtype).lower(), None)  # "UInt8" -> np.uint8
                if width is not None:  # clipped, so the cast cannot fail or wrap around
                    column = np.clip(column, np.iinfo(width).min, np.iinfo(width).max)
            values = column.tolist() if column.dtype == object else column
            series = nw.new_series(name, values, backend=backend)
            data[name] = series if dtype is None else series.cast(dtype)
        # the Series carry their backend; naming it again makes narwhals 2.29
        # rebuild them, which turns polars Enum columns into Categorical ones
        return nw.from_dict(data).to_native()
