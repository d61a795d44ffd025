"""Weight averaging: stochastic weight averaging (SWA) and an exponential moving average (EMA).

The average is kept beside the trained network by torch's
:class:`~torch.optim.swa_utils.AveragedModel`; the engine scores it for early
stopping and hands it to ``predict`` at the end of the fit. Batch-norm
statistics belong to weights, not to an average of weights, so they are
recomputed over the training rows for the averaged weights whenever the
average is read (what :func:`torch.optim.swa_utils.update_bn` does, here
with the rows' ``sample_weight`` and only the normalization layers in
training mode, so dropout draws nothing).
"""

import math
from numbers import Integral

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def averaging_start_epoch(est):
    """The epoch whose end starts the average: ``averaging_start`` resolved, at least 1.

    An int is an epoch count; a float in (0, 1) a share of ``max_iter_``.
    """
    start = est.averaging_start
    if isinstance(start, Integral):
        return max(1, int(start))
    return max(1, math.ceil(start * est.max_iter_))


@torch.no_grad()
def recompute_norm_statistics(module, inputs, weight, rows, batch_size):
    """Set ``module``'s batch-norm running statistics to those of the training rows.

    The batches of ``batch_size`` rows (of ``rows``, or all rows) pass in
    order; each normalization layer takes the cumulative average of their
    statistics (``momentum=None``), weighting rows by ``weight`` where the
    layer supports it. Every other layer stays in eval mode.
    """
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    module.eval()
    for norm in norms:
        norm.train()
    n_rows = inputs[0].shape[0] if rows is None else rows.shape[0]
    try:
        for start in range(0, n_rows, batch_size):
            idx = slice(start, start + batch_size)
            if rows is not None:
                idx = rows[idx]
            batch_weight = None if weight is None else weight[idx]
            for norm in norms:
                norm.sample_weight = batch_weight
            module(*(t[idx] for t in inputs))
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
            norm.sample_weight = None
        module.eval()


class WeightAverage:
    """The running average of a fit's weights (``weight_averaging``).

    From the end of epoch :func:`averaging_start_epoch` on, ``"swa"`` keeps
    the equal-weight mean of the weights at the end of each epoch
    (Izmailov et al. 2018) and ``"ema"`` the exponential moving average
    ``decay * average + (1 - decay) * weights`` after every optimizer step,
    started from the weights at the end of that epoch.
    """

    def __init__(self, est, train, rows, batch_size):
        self.kind = est.weight_averaging
        self.decay = est.averaging_decay
        self.start = averaging_start_epoch(est)
        self.inputs, _, self.weight = train
        self.rows, self.batch_size = rows, batch_size
        self.model = None
        self._stale = True

    @classmethod
    def create(cls, est, train, rows, batch_size):
        """The average of ``est``'s fit, or ``None`` when ``weight_averaging`` is off."""
        if getattr(est, "weight_averaging", None) is None:
            return None
        return cls(est, train, rows, batch_size)

    @property
    def started(self):
        return self.model is not None

    def after_step(self, module):
        if self.kind == "ema" and self.model is not None:
            self.model.update_parameters(module)
            self._stale = True

    def after_epoch(self, module, epoch):
        if epoch < self.start:
            return
        if self.model is None:
            multi_avg_fn = get_ema_multi_avg_fn(self.decay) if self.kind == "ema" else None
            self.model = AveragedModel(module, multi_avg_fn=multi_avg_fn)
            self.model.update_parameters(module)  # the first update copies the weights
        elif self.kind == "swa":
            self.model.update_parameters(module)
        self._stale = True

    def network(self):
        """The network with the averaged weights and their own batch-norm statistics."""
        network = self.model.module
        if self._stale:
            recompute_norm_statistics(network, self.inputs, self.weight, self.rows,
                                      self.batch_size)
            self._stale = False
        return network
