"""Marginal calibration of a fitted GANSampler: category shares and numeric quantiles.

A GAN matches the joint distribution only as far as its game converged; on
small real tables its per-column marginals stay visibly off (a category a
few points too frequent, a skewed column's tail too short), and those are
what a two-sample test, or a user, checks first. After training, two
corrections are fitted on the training rows, per class in a conditional fit:

* categorical columns: an offset ``b`` per category added to the
  generator's logits before the eval-mode draw, found by the fixed-point
  iteration ``b <- b + log p_train - log p_generated`` on a large draw. The
  offset moves every row's category probabilities the same way in log-odds,
  so which rows take which category, and with it the dependence on the
  other columns, is kept.
* numeric columns: under mode-specific encoding, the mode of each value is
  a one-hot block like a category's and gets the same offsets; within each
  mode, the monotone quantile map ``x -> F_train^-1(F_gen(x))`` applied to
  the decoded values (``F`` the empirical distribution functions of the
  values of that mode, on ``N_LEVELS`` levels). Ranks within a mode are
  unchanged and no value changes mode, so the dependence between columns
  is the generator's; the marginal becomes the training one (mode shares
  times within-mode distributions), confined to the training range. A
  single map over the whole column would move values across the gaps
  between modes wherever the generator's mode shares are off, producing
  rows at combinations it never made.

The arrays are plain numpy (pickle and ``skops.io`` carry them).
"""

import numpy as np

CALIBRATION_ROWS = 20000  # generated rows each correction is measured on
MIN_GROUP_ROWS = 2000  # at least this many per class in a conditional fit
BIAS_ITERATIONS = 8  # draws; the offsets are updated after each but the last
BIAS_TOLERANCE = 0.005  # stop once every category share is this close (total variation)
MAX_BIAS_STEP = 3.0  # bound on one update of a logit offset
MAX_BIAS = 10.0  # bound on an offset: a category absent from a class is all but never drawn
N_LEVELS = 1001
MIN_MAP_ROWS = 20  # training values below which a (class, column, mode) keeps the identity map


def group_sizes(n_groups):
    """Generated rows per group (class) for the calibration draws."""
    return np.full(n_groups, max(-(-CALIBRATION_ROWS // n_groups), MIN_GROUP_ROWS))


def category_shares(encoded, blocks, groups, n_groups):
    """``[(n_groups, k)]``: the share of each category of each one-hot block, per group."""
    counts = np.zeros((n_groups, 1))
    np.add.at(counts, (groups, 0), 1.0)
    out = []
    for start, stop in blocks:
        sums = np.zeros((n_groups, stop - start))
        np.add.at(sums, groups, encoded[:, start:stop])
        out.append(sums / np.maximum(counts, 1.0))
    return out


def fit_logit_bias(draw, target, blocks, bias, groups):
    """Logit offsets ``(n_groups, n_out)`` that give the generated rows ``target``'s shares.

    ``draw(bias)`` returns encoded rows generated with the offsets ``bias``
    (the starting offsets are updated in place), the rows of group ``g``
    where ``groups == g``; ``target`` holds the training shares
    (:func:`category_shares`). Each update is ``log target - log share``,
    halved for an offset each time its direction flips: through rejection
    sampling, whose acceptance is relative to the batch, a share can respond
    to its offset far more steeply than one for one. Returns the offsets and
    the last draw, made with them.
    """
    n_groups = bias.shape[0]
    floor = 0.5 / np.bincount(groups, minlength=n_groups)[:, None]  # half a generated row
    rate, previous = np.ones_like(bias), np.zeros_like(bias)
    for iteration in range(BIAS_ITERATIONS):
        rows = draw(bias)
        if not blocks:
            break
        shares = category_shares(rows, blocks, groups, n_groups)
        gap = max(0.5 * np.abs(s - t).sum(axis=1).max() for s, t in zip(shares, target))
        if gap < BIAS_TOLERANCE or iteration == BIAS_ITERATIONS - 1:
            break
        step = np.zeros_like(bias)
        for (start, stop), s, t in zip(blocks, shares, target):
            step[:, start:stop] = np.log(np.maximum(t, floor)) - np.log(np.maximum(s, floor))
        rate[step * previous < 0] *= 0.5
        previous = step
        bias[:] = np.clip(bias + rate * np.clip(step, -MAX_BIAS_STEP, MAX_BIAS_STEP),
                          -MAX_BIAS, MAX_BIAS)
    return bias, rows


def _increasing(q):
    """Quantiles ``(..., N_LEVELS)`` made strictly increasing along the last axis (np.interp needs it)."""
    q = np.maximum.accumulate(q, axis=-1)
    span = q[..., -1:] - q[..., :1]
    tiny = np.where(span > 0, span, np.maximum(np.abs(q[..., :1]), 1.0)) * 1e-9
    return q + np.arange(q.shape[-1]) * tiny


def fit_quantile_maps(generated, generated_modes, generated_groups, train, train_modes,
                      train_groups, n_groups, n_modes):
    """``{"generated", "train"}`` quantiles, each ``(n_groups, n_numeric, n_modes, N_LEVELS)``.

    One map per group, numeric column and mode of the column (``*_modes``
    holds each value's mode, all 0 without mode-specific encoding): values
    never leave their mode, so the map cannot move a row to a combination
    of modes the generator did not produce. A cell with fewer than
    ``MIN_MAP_ROWS`` training or generated values keeps the identity, clipped
    to the group's training range of the column.
    """
    levels = np.linspace(0.0, 1.0, N_LEVELS)
    shape = (n_groups, generated.shape[1], n_modes, N_LEVELS)
    out = {"generated": np.zeros(shape), "train": np.zeros(shape)}
    for g in range(n_groups):
        for j in range(generated.shape[1]):
            column = train[train_groups == g, j]
            for k in range(n_modes):
                gen = generated[(generated_groups == g) & (generated_modes[:, j] == k), j]
                real = train[(train_groups == g) & (train_modes[:, j] == k), j]
                q = _increasing(np.quantile(gen if len(gen) else column, levels))
                out["generated"][g, j, k] = q
                enough = len(real) >= MIN_MAP_ROWS and len(gen) >= MIN_MAP_ROWS
                out["train"][g, j, k] = np.quantile(real, levels) if enough else \
                    np.clip(q, column.min(), column.max())
    return out


def apply_quantile_maps(numeric, modes, groups, maps):
    """Decoded numeric columns ``(n, n_numeric)`` through the maps of their rows' groups and modes."""
    out = np.empty_like(numeric)
    for g in np.unique(groups):
        in_group = groups == g
        for j in range(numeric.shape[1]):
            for k in np.unique(modes[in_group, j]):
                rows = in_group & (modes[:, j] == k)
                out[rows, j] = np.interp(numeric[rows, j], maps["generated"][g, j, k],
                                         maps["train"][g, j, k])
    return out
