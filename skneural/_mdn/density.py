"""The Gaussian mixture behind a mixture density network, as small functions.

A mixture density network (Bishop, PRML 5.6) maps ``x`` to the parameters of

    p(t | x) = sum_k pi_k(x) N(t | mu_k(x), sigma_k(x)^2 I)

with ``pi`` from a softmax, ``mu`` linear and ``sigma`` positive. The network's
raw output row is laid out as ``[a_pi (K) | a_mu (K*D) | a_sigma (K*S)]`` where
``S`` is 1 for a spherical (isotropic) covariance and ``D`` for a diagonal one.

The torch part (``split_raw``, ``mixture_log_prob``, ``mixture_nll``) is what
training differentiates; the numpy part (``mixture_mean``, ``mixture_quantile``,
``mixture_mode``, ``mixture_sample``) works on fitted parameters at predict time.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import logsumexp, ndtr

LOG_2PI = math.log(2.0 * math.pi)


def _log_std_exp(a, min_std):
    """``log(exp(a) + min_std)``, Bishop's ``sigma = exp(a)`` with an optional floor.

    Written as ``logaddexp`` so it stays exact for any ``a``: ``log sigma``
    never goes through ``sigma`` itself, which under- or overflows first.
    """
    if min_std == 0:
        return a
    return torch.logaddexp(a, torch.full_like(a, math.log(min_std)))


def _log_std_softplus(a, min_std):
    """``log(softplus(a) + min_std)``: grows linearly instead of exponentially in ``a``."""
    if min_std == 0:
        # softplus(a) = exp(a) to double precision below -20; the clamp keeps the
        # unused branch finite, or its infinite gradient would turn into NaN
        return torch.where(a < -20, a, torch.log(F.softplus(a.clamp(min=-20))))
    return torch.log(F.softplus(a) + min_std)


# name -> function from the raw sigma activations to log sigma
STD_TRANSFORMS = {
    "exp": _log_std_exp,
    "softplus": _log_std_softplus,
}


def n_raw_outputs(n_components, n_outputs, covariance_type):
    """Width of the network's output layer."""
    n_std = 1 if covariance_type == "spherical" else n_outputs
    return n_components * (1 + n_outputs + n_std)


def split_raw(raw, n_components, n_outputs, covariance_type, std_transform="exp", min_std=0.0):
    """Cut raw outputs ``(B, P)`` into mixture parameters.

    Returns
    -------
    log_weights : tensor of shape (B, K)
        ``log pi_k``, from a log-softmax (never ``log`` of a softmax).
    means : tensor of shape (B, K, D)
    log_std : tensor of shape (B, K, S)
        ``log sigma_k``; ``S`` is 1 (spherical) or ``D`` (diagonal).
    """
    K, D = n_components, n_outputs
    S = 1 if covariance_type == "spherical" else D
    log_weights = F.log_softmax(raw[:, :K], dim=1)                        # (B, K)
    means = raw[:, K:K + K * D].reshape(-1, K, D)                         # (B, K, D)
    a_std = raw[:, K + K * D:K + K * D + K * S].reshape(-1, K, S)         # (B, K, S)
    return log_weights, means, STD_TRANSFORMS[std_transform](a_std, min_std)


def mixture_log_prob(log_weights, means, log_std, target):
    """``log p(t | x)`` per row, by log-sum-exp over the components.

    Parameters
    ----------
    log_weights : tensor (B, K)
    means : tensor (B, K, D)
    log_std : tensor (B, K, S) with S in {1, D}
    target : tensor (B, D)

    Returns
    -------
    tensor (B,)
    """
    D = means.shape[-1]
    z = (target.unsqueeze(1) - means) * torch.exp(-log_std)               # (B, K, D)
    log_det = log_std.sum(dim=-1) * (D // log_std.shape[-1])              # (B, K)
    log_normal = -0.5 * z.pow(2).sum(dim=-1) - log_det - 0.5 * D * LOG_2PI
    return torch.logsumexp(log_weights + log_normal, dim=1)


def mixture_nll(raw, target, weight=None, *, n_components, covariance_type,
                std_transform="exp", min_std=0.0):
    """Mean negative log-likelihood of ``target`` under the mixture in ``raw``.

    The loss of a mixture density network: Bishop's eq. (5.153) divided by the
    (weighted) number of rows, so that it has the scale of sklearn's losses.
    """
    params = split_raw(raw, n_components, target.shape[1], covariance_type,
                       std_transform, min_std)
    nll = -mixture_log_prob(*params, target)
    if weight is None:
        return nll.mean()
    return (nll * weight).sum() / weight.sum()


# ----------------------------------------------------------------- numpy side
def mixture_mean(weights, means):
    """Conditional mean ``sum_k pi_k mu_k``: ``(n, K), (n, K, D) -> (n, D)``."""
    return np.einsum("nk,nkd->nd", weights, means)


def mixture_cdf(t, weights, means, stds):
    """Marginal CDF per output at ``t`` of shape (n, D) -> (n, D)."""
    return np.einsum("nk,nkd->nd", weights, ndtr((t[:, None, :] - means) / stds))


def mixture_quantile(q, weights, means, stds, n_bisect=80):
    """Quantile ``q`` of each output's marginal mixture, by bisection on the CDF.

    Each output's marginal is itself a 1-D Gaussian mixture with the same
    weights, so the quantile is exact up to the bisection tolerance
    (``range / 2**n_bisect``).
    """
    lo = (means - 12.0 * stds).min(axis=1)                                  # (n, D)
    hi = (means + 12.0 * stds).max(axis=1)
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        below = mixture_cdf(mid, weights, means, stds) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def mixture_log_density(t, weights, means, stds):
    """Log density of points ``t`` (n, M, D) under each row's mixture -> (n, M)."""
    z = (t[:, :, None, :] - means[:, None]) / stds[:, None]                 # (n, M, K, D)
    log_normal = (-0.5 * (z ** 2).sum(-1) - np.log(stds).sum(-1)[:, None]
                  - 0.5 * means.shape[-1] * LOG_2PI)
    with np.errstate(divide="ignore"):
        return logsumexp(np.log(weights)[:, None] + log_normal, axis=-1)


def mixture_mode(weights, means, stds, n_iter=100, chunk=4096):
    """The most probable point of each row's mixture.

    Runs the Gaussian-mixture mean-shift fixed point (Carreira-Perpinan 2000)
    from every component mean; each start climbs to a local mode, and the
    mode with the highest density wins. Rows go in chunks, as the iteration
    holds ``(rows, K, K, D)`` arrays.
    """
    if weights.shape[0] > chunk:
        return np.concatenate([
            mixture_mode(weights[s:s + chunk], means[s:s + chunk], stds[s:s + chunk], n_iter)
            for s in range(0, weights.shape[0], chunk)])
    precision = 1.0 / stds ** 2                                             # (n, K, D)
    log_norm = np.log(np.maximum(weights, 1e-300)) - np.log(stds).sum(-1)   # (n, K)
    x = means.copy()                                                        # (n, M=K, D)
    for _ in range(n_iter):
        z = (x[:, :, None, :] - means[:, None]) / stds[:, None]              # (n, M, K, D)
        log_r = log_norm[:, None] - 0.5 * (z ** 2).sum(-1)                  # (n, M, K)
        r = np.exp(log_r - log_r.max(axis=-1, keepdims=True))
        x = (np.einsum("nmk,nkd->nmd", r, precision * means)
             / np.einsum("nmk,nkd->nmd", r, precision))
    density = mixture_log_density(x, weights, means, stds)                  # (n, M)
    return x[np.arange(x.shape[0]), density.argmax(axis=1)]


def mixture_sample(weights, means, stds, n_samples, rng):
    """Draw ``n_samples`` points from each row's mixture: -> (n, n_samples, D)."""
    n, _, D = means.shape
    u = rng.uniform(size=(n, n_samples, 1))
    component = (u > np.cumsum(weights, axis=1)[:, None, :-1]).sum(axis=-1)  # (n, n_samples)
    rows = np.arange(n)[:, None]
    noise = rng.standard_normal(size=(n, n_samples, D))
    return means[rows, component] + stds[rows, component] * noise
