"""The class labels of a conditional GAN: checked in ``fit``, encoded, drawn in ``sample``.

A conditional GAN (Mirza & Osindero 2014) feeds both networks a one-hot code
of the row's class, so ``sample(n, y=label)`` draws rows of that class.
"""

import numpy as np
import torch

from .._core.validation import column_or_1d, type_of_target


def check_labels(y, n_samples):
    """``y`` as a 1-D array of class labels for ``n_samples`` rows, or a clear error."""
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} rows but y has {y.shape[0]} entries.")
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"GANSampler conditions on class labels; y is {kind!r}. Pass class labels "
            "(binary or multiclass) or y=None for an unconditional GAN."
        )
    return y


def one_hot_conditions(y, classes, dtype, device):
    """The condition vectors of labels ``y``: one-hot over ``classes``, shape (B, K)."""
    codes = torch.as_tensor(np.searchsorted(classes, y), device=device)
    return torch.nn.functional.one_hot(codes, len(classes)).to(dtype)


def draw_codes(classes, class_prior, y, n_samples, rng):
    """Class codes of ``n_samples`` rows to generate: ``y``'s, or drawn by the prior.

    ``classes`` is ``None`` for an unconditional fit, and so is the result.
    """
    if classes is None:
        if y is not None:
            raise ValueError("y was given to sample but GANSampler was fitted without y.")
        return None
    if y is None:
        return rng.choice(len(classes), size=n_samples, p=class_prior)
    y = np.asarray(y, dtype=classes.dtype if classes.dtype != object else None)
    y = np.full(n_samples, y.item(), dtype=y.dtype) if y.ndim == 0 else column_or_1d(y)
    if y.shape[0] != n_samples:
        raise ValueError(f"y has {y.shape[0]} labels for n_samples={n_samples}.")
    codes = np.searchsorted(classes, y)
    codes = np.clip(codes, 0, len(classes) - 1)
    unknown = classes[codes] != y
    if np.any(unknown):
        raise ValueError(f"y contains labels {np.unique(y[unknown]).tolist()} not in "
                         f"classes_ {classes.tolist()}.")
    return codes
