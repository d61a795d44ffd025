"""Sequence inputs: validation, padding and standardization.

Every accepted layout becomes one float array of shape ``(n, T_max, F)`` in
which the steps after the end of each sequence hold NaN. User data with NaN is
rejected during validation, so inside the library NaN means "padding" and
nothing else. That keeps the padded array an ordinary ndarray, which the base
estimator can split, index and chunk like any 2-D ``X``; the lengths are
recovered from it in ``sequence_tensors``.
"""

import numpy as np
import torch
from sklearn.utils import check_array

from .._core.validation import as_tensor

FLOAT_DTYPES = (np.float64, np.float32)


def is_sequence_list(X):
    """True for a list (or 1-D object array) of sequences rather than a 2-D table.

    A list counts as a list of sequences when an element is 2-D ``(T_i, F)``
    or when its 1-D elements differ in length; a list of equal-length rows is
    an ordinary 2-D table (which, without ``input_shape``, means the same
    univariate sequences anyway).
    """
    if isinstance(X, np.ndarray):
        if X.dtype != object or X.ndim != 1:
            return False
    elif not isinstance(X, (list, tuple)):
        return False
    if len(X) == 0:
        return False
    try:
        ndims = {np.ndim(x) for x in X}
    except ValueError:  # an element that is itself ragged
        return True
    if 2 in ndims:
        return True
    if ndims == {1}:
        return len({len(x) for x in X}) > 1
    return False


def _check_sequence(seq, index):
    seq = np.asarray(seq) if not hasattr(seq, "dtype") else seq
    if np.ndim(seq) == 1:
        seq = np.reshape(seq, (-1, 1))
    if np.ndim(seq) != 2:
        raise ValueError(
            f"Sequence {index} of X has {np.ndim(seq)} dimensions; every sequence "
            "must be an array of shape (n_timesteps, n_features) or (n_timesteps,)."
        )
    if seq.shape[0] == 0:
        raise ValueError(f"Sequence {index} of X is empty; every sequence needs at least one step.")
    return check_array(seq, dtype=FLOAT_DTYPES, ensure_min_samples=1, input_name=f"X[{index}]")


def pad_sequences(sequences):
    """Validate a list of ``(T_i, F)`` arrays and pad them with NaN to ``(n, T_max, F)``."""
    sequences = [_check_sequence(seq, i) for i, seq in enumerate(sequences)]
    widths = {seq.shape[1] for seq in sequences}
    if len(widths) > 1:
        raise ValueError(
            f"The sequences of X have different numbers of features {sorted(widths)}; "
            "every sequence must have the same n_features."
        )
    dtype = np.float32 if all(seq.dtype == np.float32 for seq in sequences) else np.float64
    lengths = [seq.shape[0] for seq in sequences]
    padded = np.full((len(sequences), max(lengths), widths.pop()), np.nan, dtype=dtype)
    for row, seq in zip(padded, sequences):
        row[:seq.shape[0]] = seq
    return padded


def check_3d(X):
    """Validate an ``(n, T, F)`` array of equal-length sequences."""
    X = check_array(X, dtype=FLOAT_DTYPES, allow_nd=True, ensure_min_samples=1, input_name="X")
    if X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(f"X of shape {X.shape} has no time steps or no features.")
    return X


def reshape_flat(X, input_shape):
    """Rows of a 2-D ``X`` as sequences: ``(n, T*F) -> (n, T, F)``; univariate without a shape."""
    if input_shape is None:
        return X.reshape(X.shape[0], X.shape[1], 1)
    n_timesteps, n_features = (int(v) for v in input_shape)
    if n_timesteps * n_features != X.shape[1]:
        raise ValueError(
            f"input_shape={tuple(input_shape)} needs {n_timesteps * n_features} columns "
            f"per row, but X has {X.shape[1]}."
        )
    return X.reshape(X.shape[0], n_timesteps, n_features)


def lengths_of(padded):
    """Number of valid (non-NaN) steps of each padded sequence."""
    return (~np.isnan(padded[:, :, 0])).sum(axis=1)


def standardization_stats(padded, mode, sample_weight=None):
    """Mean and scale per feature (``"feature"``) or per step and feature (``"timestep"``).

    NaN padding is skipped, so a step's statistics come from the sequences
    that reach it. Moments are weighted by ``sample_weight``, so a weight of
    2 acts exactly like a repeated sequence. Constant inputs get scale 1.
    """
    if mode is None:
        return None, None
    axis = (0, 1) if mode == "feature" else 0
    valid = ~np.isnan(padded)
    weight = np.ones(padded.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    weight = valid * weight.astype(np.float64)[:, None, None]  # (n, T, F)
    x = np.where(valid, padded, 0.0).astype(np.float64)
    total = weight.sum(axis=axis)
    with np.errstate(all="ignore"):
        mean = (weight * x).sum(axis=axis) / total
        std = np.sqrt((weight * (x - mean) ** 2).sum(axis=axis) / total)
    mean = np.where(total > 0, mean, 0.0)
    scale = np.where(np.isfinite(std) & (std > 1e-12 * np.maximum(1.0, np.abs(mean))), std, 1.0)
    return mean.astype(padded.dtype), scale.astype(padded.dtype)


def fit_steps(stats, n_steps):
    """Per-step statistics for ``n_steps`` steps; steps past the training length reuse the last."""
    if stats.ndim == 1 or stats.shape[0] == n_steps:
        return stats
    if stats.shape[0] > n_steps:
        return stats[:n_steps]
    return np.concatenate([stats, np.repeat(stats[-1:], n_steps - stats.shape[0], axis=0)])


def sequence_tensors(padded, mean, scale, dtype, device):
    """``(x, lengths)`` tensors for a padded array: standardized, padding set to 0."""
    lengths = lengths_of(padded)
    padded = padded[:, :max(1, int(lengths.max()))]
    if mean is not None:
        steps = padded.shape[1]
        padded = (padded - fit_steps(mean, steps)) / fit_steps(scale, steps)
    x = np.nan_to_num(padded, nan=0.0)  # a copy: user arrays may be read-only
    return as_tensor(x, dtype, device), torch.as_tensor(lengths, dtype=torch.long, device=device)
