"""Drawing rows from a fitted generator, with optional discriminator rejection sampling.

Discriminator rejection sampling (Azadi et al. 2019): with the optimal
discriminator, ``logit D(x) = log p_data(x) / p_g(x)``, so accepting
``x ~ p_g`` with probability ``exp(logit - M)`` (``M`` the largest logit)
yields ``p_data``. Rows the generator over-produces or places off the data
are thinned; under-produced modes keep nearly all their candidates.
"""

import numpy as np
import torch

SAMPLE_CHUNK = 65536
MAX_REJECTION_ROUNDS = 200
BURN_IN = 10000  # candidates whose largest logit first estimates M, as in the paper


DRS_PERCENTILE = 95.0  # gamma: the 95th percentile of F per batch, as Azadi et al. use
DRS_EPSILON = 1e-6


@torch.no_grad()
def rejection_filter(critic, rows, cond, max_logit, generator):
    """Keep-mask of one batch of candidate ``rows`` and the updated ``M``.

    The paper's smoothed acceptance probability is ``sigmoid(F(x) - gamma)``
    with ``F = l - M - log(1 - exp(l - M - eps))``.
    """
    logit = critic(rows, cond)
    max_logit = max(max_logit, float(logit.max()))
    shifted = logit - max_logit
    score = shifted - torch.log1p(-torch.exp(shifted - DRS_EPSILON))
    gamma = torch.quantile(score, DRS_PERCENTILE / 100.0)
    accept = torch.sigmoid(score - gamma)
    u = torch.rand(accept.shape, generator=generator, device=accept.device, dtype=accept.dtype)
    return u < accept, max_logit


def offset_critic(critic, offsets):
    """``critic`` with ``rows @ offsets[class]`` added to its logit.

    ``offsets`` (one row per class, or one row) weights the categories of
    the one-hot blocks: the marginal calibration's correction of rejection
    sampling, which accepts more (or fewer) of the candidates of a category
    without changing which of them it prefers.
    """

    def score(rows, cond):
        weights = offsets if cond is None else cond @ offsets
        return critic(rows, cond) + (rows * weights).sum(dim=1)

    return score


def generate_rows(G, critic, codes, n_classes, n_samples, generator, device, dtype,
                  bias=None):
    """``n_samples`` encoded rows from generator ``G``, filtered by ``critic`` if given.

    ``codes`` holds the class index of each requested row (conditional
    fits) or is ``None``; ``generator`` is the torch.Generator seeding the
    noise; ``bias`` (a tensor, one row of logit offsets per class, or one
    row) is passed to ``G`` for each row's class.
    """

    def draw(idx):
        z = torch.randn(len(idx), G.latent_dim, generator=generator, device=device,
                        dtype=dtype)
        c, b = None, bias
        if n_classes:
            code = torch.as_tensor(codes[idx], device=device)
            c = torch.nn.functional.one_hot(code, n_classes).to(dtype)
            b = None if bias is None else bias[code]
        return G(z, c, generator, b), c

    if critic is None:
        return torch.cat([draw(np.arange(s, min(s + SAMPLE_CHUNK, n_samples)))[0]
                          for s in range(0, n_samples, SAMPLE_CHUNK)])
    if n_classes and len(np.unique(codes)) > 1:
        # One rejection run per class: M and gamma are the class's own, so the
        # rows of a class follow the same distribution whatever else is requested.
        out = None
        for code in np.unique(codes):
            where = np.flatnonzero(codes == code)
            rows = generate_rows(G, critic, codes[where], n_classes, len(where), generator,
                                 device, dtype, bias)
            if out is None:
                out = torch.empty(n_samples, rows.shape[1], dtype=rows.dtype, device=device)
            out[torch.as_tensor(where, device=device)] = rows
        return out
    if n_samples > SAMPLE_CHUNK:  # bounded memory: each chunk is its own rejection run
        return torch.cat([
            generate_rows(G, critic, None if codes is None else codes[s:s + SAMPLE_CHUNK],
                          n_classes, min(SAMPLE_CHUNK, n_samples - s), generator, device, dtype,
                          bias)
            for s in range(0, n_samples, SAMPLE_CHUNK)])
    # Burn-in: the maximum logit over many candidates estimates M (Azadi et al.).
    burn = np.resize(np.arange(n_samples), BURN_IN)
    rows, c = draw(burn)
    max_logit = float(critic(rows, c).max())
    out = torch.empty(n_samples, rows.shape[1], dtype=dtype, device=device)
    pending = np.arange(n_samples)
    for _ in range(MAX_REJECTION_ROUNDS):
        batch = np.resize(pending, max(2 * len(pending), 1000))
        rows, c = draw(batch)
        keep, max_logit = rejection_filter(critic, rows, c, max_logit, generator)
        keep = keep.cpu().numpy()
        # first accepted candidate for each pending row index
        accepted = {}
        for position in np.flatnonzero(keep):
            accepted.setdefault(batch[position], position)
        if accepted:
            targets = np.fromiter(accepted.keys(), dtype=np.int64)
            positions = np.fromiter(accepted.values(), dtype=np.int64)
            out[torch.as_tensor(targets, device=device)] = rows[
                torch.as_tensor(positions, device=device)]
            pending = np.setdiff1d(pending, targets)
        if not len(pending):
            return out
    raise RuntimeError("Rejection sampling accepted too few candidates; set "
                       "rejection_sampling=False or train longer.")
