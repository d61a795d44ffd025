"""The mixture behind a mixture density network, as small functions.

A mixture density network (Bishop, PRML 5.6) maps ``x`` to the parameters of

    p(t | x) = sum_k pi_k(x) N(t | mu_k(x), sigma_k(x)^2 I)

with ``pi`` from a softmax, ``mu`` linear and ``sigma`` positive. The network's
raw output row is laid out as ``[a_pi (K) | a_mu (K*D) | a_sigma (K*S)]`` where
``S`` is 1 for a spherical (isotropic) covariance and ``D`` for a diagonal one.

The ``"generalized_normal"`` family replaces each Gaussian by a product over
outputs of generalized normal densities (Subbotin; ``scipy.stats.gennorm``)

    p(t_d) = beta / (2 alpha Gamma(1/beta)) exp(-|(t_d - mu) / alpha|^beta)

with a learned shape ``beta`` per component (and per output for a diagonal
family), appended to the raw row as ``a_beta (K*S)``. ``beta = 2`` is the
Gaussian with ``sigma = alpha / sqrt(2)``, ``beta = 1`` the Laplace, and large
``beta`` a flat top with steep edges (one component with ``beta = 8`` is 0.05
nats from a uniform). ``beta`` is kept in ``[1, BETA_MAX]`` by a sigmoid and
starts at 2; the numpy functions take the shapes as an optional ``shapes``
array (``None`` means Gaussian, and ``stds`` are then standard deviations,
otherwise the scales ``alpha``).

The torch part (``split_raw``, ``mixture_log_prob``, ``mixture_nll``) is what
training differentiates; the numpy part (``mixture_mean``, ``mixture_quantile``,
``mixture_mode``, ``mixture_sample``) works on fitted parameters at predict time.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import gammainc, gammaln, logsumexp, ndtr

LOG_2PI = math.log(2.0 * math.pi)

COMPONENTS = ("gaussian", "generalized_normal")
# the generalized normal's shape lives in [1, BETA_MAX]: beta < 1 has a cusp
# whose gradient is unbounded at the mean, and BETA_MAX = 16 is 0.026 nats from
# a uniform interval, closer than the data in any benchmark resolves
BETA_MAX = 16.0
# a_beta = 0 gives beta = 2 (the Gaussian): sigmoid(_BETA_OFFSET) = 1 / (BETA_MAX - 1)
_BETA_OFFSET = -math.log(BETA_MAX - 2.0)


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


def n_raw_outputs(n_components, n_outputs, covariance_type, component="gaussian"):
    """Width of the network's output layer."""
    n_std = 1 if covariance_type == "spherical" else n_outputs
    n_shape = n_std if component == "generalized_normal" else 0
    return n_components * (1 + n_outputs + n_std + n_shape)


def shape_from_raw(a_beta):
    """``beta = 1 + (BETA_MAX - 1) sigmoid(a + offset)``: in ``[1, BETA_MAX]``, 2 at ``a = 0``."""
    return 1.0 + (BETA_MAX - 1.0) * torch.sigmoid(a_beta + _BETA_OFFSET)


def split_raw(raw, n_components, n_outputs, covariance_type, std_transform="exp", min_std=0.0,
              component="gaussian"):
    """Cut raw outputs ``(B, P)`` into mixture parameters.

    Returns
    -------
    log_weights : tensor of shape (B, K)
        ``log pi_k``, from a log-softmax (never ``log`` of a softmax).
    means : tensor of shape (B, K, D)
    log_std : tensor of shape (B, K, S)
        ``log sigma_k`` (``log alpha_k`` for the generalized normal); ``S`` is
        1 (spherical) or ``D`` (diagonal).
    shape : tensor of shape (B, K, S)
        Only for ``component="generalized_normal"``: ``beta_k``.
    """
    K, D = n_components, n_outputs
    S = 1 if covariance_type == "spherical" else D
    log_weights = F.log_softmax(raw[:, :K], dim=1)                        # (B, K)
    means = raw[:, K:K + K * D].reshape(-1, K, D)                         # (B, K, D)
    end = K + K * D + K * S
    a_std = raw[:, K + K * D:end].reshape(-1, K, S)                       # (B, K, S)
    log_std = STD_TRANSFORMS[std_transform](a_std, min_std)
    if component == "gaussian":
        return log_weights, means, log_std
    return log_weights, means, log_std, shape_from_raw(raw[:, end:end + K * S].reshape(-1, K, S))


def _generalized_normal_log_density(z, log_scale, shape):
    """Sum over outputs of ``log gennorm(z; beta) - log alpha``, ``z = (t - mu) / alpha``.

    ``|z|`` is capped where ``|z|^beta`` would come within ``e^20`` of the
    dtype's largest value: a point hundreds of scales from a flat-topped
    component keeps a finite (hopeless) log density instead of overflowing
    float32 to ``-inf``; its gradient through that component is then 0.
    """
    factor = z.shape[-1] // shape.shape[-1]   # D outputs share one (alpha, beta) when spherical
    cap = math.log(torch.finfo(z.dtype).max) - 20.0
    power = torch.minimum(z.abs(), torch.exp(cap / shape)).pow(shape)           # (B, K, D)
    log_norm = torch.log(shape) - math.log(2.0) - torch.lgamma(1.0 / shape)     # (B, K, S)
    return (-power.sum(dim=-1) + factor * (log_norm - log_scale).sum(dim=-1))


def mixture_log_prob(target, log_weights, means, log_std, shape=None):
    """``log p(t | x)`` per row, by log-sum-exp over the components.

    Call it as ``mixture_log_prob(target, *split_raw(...))``.

    Parameters
    ----------
    target : tensor (B, D)
    log_weights : tensor (B, K)
    means : tensor (B, K, D)
    log_std : tensor (B, K, S) with S in {1, D}
    shape : tensor (B, K, S) or None
        The generalized normal's ``beta``; ``None`` for Gaussian components.

    Returns
    -------
    tensor (B,)
    """
    D = means.shape[-1]
    z = (target.unsqueeze(1) - means) * torch.exp(-log_std)               # (B, K, D)
    if shape is not None:
        return torch.logsumexp(log_weights + _generalized_normal_log_density(z, log_std, shape),
                               dim=1)
    log_det = log_std.sum(dim=-1) * (D // log_std.shape[-1])              # (B, K)
    log_normal = -0.5 * z.pow(2).sum(dim=-1) - log_det - 0.5 * D * LOG_2PI
    return torch.logsumexp(log_weights + log_normal, dim=1)


def mixture_nll(raw, target, weight=None, *, n_components, covariance_type,
                std_transform="exp", min_std=0.0, component="gaussian"):
    """Mean negative log-likelihood of ``target`` under the mixture in ``raw``.

    The loss of a mixture density network: Bishop's eq. (5.153) divided by the
    (weighted) number of rows, so that it has the scale of sklearn's losses.
    """
    params = split_raw(raw, n_components, target.shape[1], covariance_type,
                       std_transform, min_std, component)
    nll = -mixture_log_prob(target, *params)
    if weight is None:
        return nll.mean()
    return (nll * weight).sum() / weight.sum()


# ----------------------------------------------------------------- numpy side
def mixture_mean(weights, means):
    """Conditional mean ``sum_k pi_k mu_k``: ``(n, K), (n, K, D) -> (n, D)``."""
    return np.einsum("nk,nkd->nd", weights, means)


def _component_cdf(z, shapes):
    """Standardized CDF of each component: the normal's, or the generalized normal's."""
    if shapes is None:
        return ndtr(z)
    return 0.5 + 0.5 * np.sign(z) * gammainc(1.0 / shapes, np.abs(z) ** shapes)


def mixture_cdf(t, weights, means, stds, shapes=None):
    """Marginal CDF per output at ``t`` of shape (n, D) -> (n, D)."""
    cdf = _component_cdf((t[:, None, :] - means) / stds, shapes)
    return np.einsum("nk,nkd->nd", weights, cdf)


def mixture_quantile(q, weights, means, stds, shapes=None, n_bisect=80):
    """Quantile ``q`` of each output's marginal mixture, by bisection on the CDF.

    Each output's marginal is itself a 1-D mixture with the same weights, so
    the quantile is exact up to the bisection tolerance
    (``range / 2**n_bisect``). The bracket is 12 standard deviations around
    every Gaussian, 40 scales around every generalized normal (``beta >= 1``
    has tails no heavier than the Laplace's, ``e^-40`` beyond).
    """
    width = 12.0 * stds if shapes is None else 40.0 * stds
    lo = (means - width).min(axis=1)                                        # (n, D)
    hi = (means + width).max(axis=1)
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        below = mixture_cdf(mid, weights, means, stds, shapes) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _component_log_density(t, means, stds, shapes):
    """Log density of points ``t`` (n, M, D) under each component -> (n, M, K)."""
    z = (t[:, :, None, :] - means[:, None]) / stds[:, None]                 # (n, M, K, D)
    if shapes is None:
        return (-0.5 * (z ** 2).sum(-1) - np.log(stds).sum(-1)[:, None]
                - 0.5 * means.shape[-1] * LOG_2PI)
    log_norm = np.log(shapes) - math.log(2.0) - gammaln(1.0 / shapes) - np.log(stds)
    return log_norm.sum(-1)[:, None] - (np.abs(z) ** shapes[:, None]).sum(-1)


def mixture_log_density(t, weights, means, stds, shapes=None):
    """Log density of points ``t`` (n, M, D) under each row's mixture -> (n, M)."""
    log_components = _component_log_density(t, means, stds, shapes)
    with np.errstate(divide="ignore"):
        return logsumexp(np.log(weights)[:, None] + log_components, axis=-1)


def _mode_step(x, weights, means, stds, shapes):
    """One fixed-point step towards a stationary point of the mixture density.

    Setting the gradient of ``log p`` to zero gives ``x_d = sum_k w_kd mu_kd /
    sum_k w_kd`` with ``w_kd = r_k beta_kd |z_kd|^(beta_kd - 2) / alpha_kd^2``
    and ``r`` the responsibilities: Gaussian mean shift (Carreira-Perpinan
    2000) for ``beta = 2``, iteratively reweighted least squares otherwise.
    """
    log_r = np.log(np.maximum(weights, 1e-300))[:, None] + _component_log_density(
        x, means, stds, shapes)                                             # (n, M, K)
    r = np.exp(log_r - log_r.max(axis=-1, keepdims=True))[..., None]       # (n, M, K, 1)
    if shapes is None:
        precision = 1.0 / stds ** 2                                         # (n, K, D)
        w = r * precision[:, None]
    else:
        z = np.abs(x[:, :, None, :] - means[:, None]) / stds[:, None]       # (n, M, K, D)
        z = np.maximum(z, 1e-12)   # beta < 2 puts an infinite weight at the mean: stay there
        w = r * (shapes * stds ** -2.0)[:, None] * z ** (shapes[:, None] - 2.0)
    return (w * means[:, None]).sum(axis=2) / w.sum(axis=2)


def mixture_mode(weights, means, stds, shapes=None, n_iter=100, chunk=4096):
    """The most probable point of each row's mixture.

    Runs the fixed point of :func:`_mode_step` from every component mean;
    each start climbs to a local mode, and the mode with the highest density
    wins. Gaussian mean shift increases the density at every step; for the
    generalized normal a step that would lower it is not taken. Rows go in
    chunks, as the iteration holds ``(rows, K, K, D)`` arrays.
    """
    if weights.shape[0] > chunk:
        return np.concatenate([
            mixture_mode(weights[s:s + chunk], means[s:s + chunk], stds[s:s + chunk],
                         None if shapes is None else shapes[s:s + chunk], n_iter)
            for s in range(0, weights.shape[0], chunk)])
    x = means.copy()                                                        # (n, M=K, D)
    if shapes is None:
        for _ in range(n_iter):   # mean shift never lowers the density
            x = _mode_step(x, weights, means, stds, None)
        density = mixture_log_density(x, weights, means, stds)              # (n, M)
    else:
        density = mixture_log_density(x, weights, means, stds, shapes)
        for _ in range(n_iter):
            step = _mode_step(x, weights, means, stds, shapes)
            step_density = mixture_log_density(step, weights, means, stds, shapes)
            better = step_density >= density
            x = np.where(better[..., None], step, x)
            density = np.where(better, step_density, density)
    return x[np.arange(x.shape[0]), density.argmax(axis=1)]


def mixture_sample(weights, means, stds, shapes=None, *, n_samples, rng):
    """Draw ``n_samples`` points from each row's mixture: -> (n, n_samples, D).

    A generalized normal draw is ``mu + alpha s G^(1/beta)`` with ``G ~
    Gamma(1/beta)`` and a random sign ``s`` (Nardon & Pianca 2009).
    """
    n, _, D = means.shape
    u = rng.uniform(size=(n, n_samples, 1))
    component = (u > np.cumsum(weights, axis=1)[:, None, :-1]).sum(axis=-1)  # (n, n_samples)
    rows = np.arange(n)[:, None]
    if shapes is None:
        noise = rng.standard_normal(size=(n, n_samples, D))
    else:
        beta = shapes[rows, component]                                      # (n, n_samples, D)
        sign = np.where(rng.uniform(size=beta.shape) < 0.5, -1.0, 1.0)
        noise = sign * rng.standard_gamma(1.0 / beta) ** (1.0 / beta)
    return means[rows, component] + stds[rows, component] * noise
