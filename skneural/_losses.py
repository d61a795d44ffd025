"""Losses as a name -> function table, each matched to sklearn's MLP losses.

Every function takes raw network outputs (before the output activation), the
encoded targets and optional per-sample weights, and returns the weighted mean
over samples as a scalar tensor. Computing from raw outputs (logits) instead
of probabilities avoids the ``log(0)`` clipping sklearn's numpy code needs.
"""

import torch
import torch.nn.functional as F


def _weighted_mean(per_sample, weight):
    if weight is None:
        return per_sample.mean()
    return (per_sample * weight).sum() / weight.sum()


def squared_error(raw, target, weight=None):
    """Half the squared error, averaged over outputs: sklearn's ``squared_loss``."""
    per_sample = 0.5 * (raw - target).pow(2).mean(dim=1)
    return _weighted_mean(per_sample, weight)


def poisson(raw, target, weight=None):
    """Poisson deviance with a log link (prediction ``exp(raw)``), summed over outputs."""
    per_sample = (torch.xlogy(target, target) - target * raw - target + raw.exp()).sum(dim=1)
    return _weighted_mean(per_sample, weight)


def log_loss(raw, target, weight=None):
    """Softmax cross-entropy; ``target`` holds class indices."""
    return _weighted_mean(F.cross_entropy(raw, target, reduction="none"), weight)


def binary_log_loss(raw, target, weight=None):
    """Sigmoid cross-entropy per output, summed over outputs (binary and multilabel)."""
    per_sample = F.binary_cross_entropy_with_logits(raw, target, reduction="none").sum(dim=1)
    return _weighted_mean(per_sample, weight)


LOSSES = {
    "squared_error": squared_error,
    "poisson": poisson,
    "log_loss": log_loss,
    "binary_log_loss": binary_log_loss,
}

OUTPUT_ACTIVATIONS = {
    "squared_error": "identity",
    "poisson": "exp",
    "log_loss": "softmax",
    "binary_log_loss": "logistic",
}
