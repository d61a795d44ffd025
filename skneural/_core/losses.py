"""Losses as a name -> function table, each matched to sklearn's MLP losses.

Every function takes raw network outputs (before the output activation), the
encoded targets and optional per-sample weights, and returns the weighted mean
over samples as a scalar tensor. Unweighted batches take torch's fused
reductions, which matter on the per-step path of small networks. Computing from raw outputs (logits) instead
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
    if weight is None:
        return 0.5 * F.mse_loss(raw, target)
    per_sample = 0.5 * (raw - target).pow(2).mean(dim=1)
    return _weighted_mean(per_sample, weight)


def poisson(raw, target, weight=None):
    """Poisson deviance with a log link (prediction ``exp(raw)``), summed over outputs."""
    per_sample = (torch.xlogy(target, target) - target * raw - target + raw.exp()).sum(dim=1)
    return _weighted_mean(per_sample, weight)


def log_loss(raw, target, weight=None):
    """Softmax cross-entropy; ``target`` holds class indices."""
    if weight is None:
        return F.cross_entropy(raw, target)
    return _weighted_mean(F.cross_entropy(raw, target, reduction="none"), weight)


def binary_log_loss(raw, target, weight=None):
    """Sigmoid cross-entropy per output, summed over outputs (binary and multilabel)."""
    if weight is None:
        return F.binary_cross_entropy_with_logits(raw, target, reduction="sum") / raw.shape[0]
    per_sample = F.binary_cross_entropy_with_logits(raw, target, reduction="none").sum(dim=1)
    return _weighted_mean(per_sample, weight)


def smoothed_log_loss(raw, target, weight=None, eps=0.0):
    """Cross-entropy against smoothed targets: ``1 - eps`` on the true class, ``eps/(K-1)`` elsewhere."""
    log_p = torch.log_softmax(raw, dim=1)
    true = -log_p.gather(1, target.unsqueeze(1)).squeeze(1)
    others = -log_p.sum(dim=1) - true
    per_sample = (1 - eps) * true + eps / (raw.shape[1] - 1) * others
    return _weighted_mean(per_sample, weight)


def smoothed_binary_log_loss(raw, target, weight=None, eps=0.0):
    """Sigmoid cross-entropy against targets moved ``eps`` toward the other label."""
    return binary_log_loss(raw, target * (1 - eps) + (1 - target) * eps, weight)


SMOOTHED_LOSSES = {"log_loss": smoothed_log_loss, "binary_log_loss": smoothed_binary_log_loss}

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
