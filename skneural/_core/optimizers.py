"""The optimizers the engine steps: sklearn's solver names mapped onto torch.optim.

``make_optimizer`` builds the optimizer a ``solver`` names, with sklearn's
parameters keeping their meaning; ``_FastAdam`` steps a fused Adam without
torch.optim's per-step Python.
"""

import torch

from .compat import foreach_add_, foreach_sub_, fused_adam_kernel
from .regularizers import decayed_parameters

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta")
#: ``solver="adadelta"`` steps with torch's ``lr = ADADELTA_LR_SCALE * learning_rate_init``
ADADELTA_LR_SCALE = 1000.0


def prefer_fused(optimizer_cls, params, **kwargs):
    """Prefer torch's fused (single-kernel) update where this torch build has one."""
    try:
        return optimizer_cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return optimizer_cls(params, **kwargs)


def make_optimizer(est, module):
    """Build the torch optimizer named by ``est.solver_`` (``solver`` resolved).

    sklearn's names keep their meaning: ``momentum`` and ``nesterovs_momentum``
    for ``sgd``; ``beta_1``, ``beta_2``, ``epsilon`` for ``adam``/``adamw``.
    sklearn's L2 term is added to the gradients by the engine, so one
    parameter group (one fused update per step) serves every solver but
    ``adamw``, whose decoupled ``alpha`` decays the weight matrices only: as
    in nanoGPT, a second group holds biases and normalization parameters.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    groups = [{"params": params}]
    if est.solver_ == "adamw":
        decayed = decayed_parameters(module)
        ids = {id(p) for p in decayed}
        groups = [{"params": decayed, "weight_decay": est.alpha},
                  {"params": [p for p in params if id(p) not in ids], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    lr, eps = est.learning_rate_init, est.epsilon
    if est.solver_ == "sgd":
        momentum = est.momentum
        return prefer_fused(torch.optim.SGD, groups, lr=lr, momentum=momentum,
                            nesterov=bool(est.nesterovs_momentum and momentum > 0))
    if est.solver_ == "adam":
        return prefer_fused(torch.optim.Adam, groups, lr=lr, betas=(est.beta_1, est.beta_2), eps=eps)
    if est.solver_ == "adamw":
        return prefer_fused(torch.optim.AdamW, groups, lr=lr, betas=(est.beta_1, est.beta_2), eps=eps)
    if est.solver_ == "adagrad":
        return prefer_fused(torch.optim.Adagrad, groups, lr=lr, eps=eps)
    if est.solver_ == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=est.beta_2, eps=eps,
                                   momentum=est.momentum)
    if est.solver_ == "adadelta":
        # Adadelta's step is set by the ratio of running RMS values; torch's lr only scales
        # it, and Zeiler's method is lr = 1: the documented ADADELTA_LR_SCALE maps the
        # default learning_rate_init=0.001 to 1.
        return torch.optim.Adadelta(groups, lr=lr * ADADELTA_LR_SCALE, rho=est.beta_2, eps=eps)
    raise ValueError(f"Unknown stochastic solver {est.solver_!r}.")


def set_decoupled_decay(optimizer, module, alpha):
    """Set AdamW's decoupled weight decay of the weight matrices of ``module`` to ``alpha``."""
    ids = {id(p) for p in decayed_parameters(module)}
    for group in optimizer.param_groups:
        if group["params"] and id(group["params"][0]) in ids:
            group["weight_decay"] = alpha


class _FastAdam:
    """Adam's update without torch.optim's per-step Python (hooks, profiling, regrouping).

    On small networks ``optimizer.step()`` costs more than the update itself.
    This calls the same fused kernel on the optimizer's own state tensors, so
    the result and the state (for ``partial_fit`` and pickling) are exactly
    those of ``torch.optim.Adam(fused=True)``. It is used only for a plain
    fused Adam on the CPU, after ``optimizer.step()`` has created the state,
    and steps aside (``None``) wherever that does not hold.
    """

    @classmethod
    def create(cls, optimizer):
        kernel = fused_adam_kernel()
        if (kernel is None or type(optimizer) is not torch.optim.Adam
                or len(optimizer.param_groups) != 1):
            return None
        group = optimizer.param_groups[0]
        params = group["params"]
        if not (group.get("fused") and not group["amsgrad"] and not group["maximize"]
                and group["weight_decay"] == 0 and params
                and all(p.device.type == "cpu" and p in optimizer.state for p in params)):
            return None
        return cls(kernel, optimizer, group, params)

    def __init__(self, kernel, optimizer, group, params):
        state = optimizer.state
        self.kernel, self.group, self.params = kernel, group, params
        self.exp_avgs = [state[p]["exp_avg"] for p in params]
        self.exp_avg_sqs = [state[p]["exp_avg_sq"] for p in params]
        self.steps = [state[p]["step"] for p in params]

    def step(self):
        group = self.group
        beta1, beta2 = group["betas"]
        foreach_add_(self.steps, 1)
        try:
            self.kernel(self.params, [p.grad for p in self.params], self.exp_avgs,
                        self.exp_avg_sqs, [], self.steps, amsgrad=False, lr=group["lr"],
                        beta1=beta1, beta2=beta2, weight_decay=0.0, eps=group["eps"],
                        maximize=False)
        except (TypeError, RuntimeError):  # a torch whose private kernel changed signature
            foreach_sub_(self.steps, 1)
            raise
