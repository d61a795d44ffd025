"""The regularization catalogue: penalties, noise and perturbations, once for every estimator.

Every technique is a flat estimator parameter (so ``GridSearchCV`` can tune
it) read here; the engine asks a :class:`Regularizer` for each batch's loss.

Scaling follows sklearn's L2 term ``0.5 * alpha * w^T w / batch_weight``:
every weight penalty is divided by the batch's total sample weight, so
strengths mean "per sample" whatever the batch size. sklearn's L2 term itself
enters the stochastic solvers as its gradient, ``alpha / batch_weight * W``,
added by the engine to the weights' gradients (folded into the matmuls of the
hand-written MLP backward pass); L-BFGS adds it to the objective.

Weights are the parameters with ``dim() >= 2`` (matrices and kernels); biases
and normalization parameters are never penalized or perturbed.
"""

import math
from numbers import Integral, Real

import torch
from torch import nn

from .compat import foreach_norm
from .device import full_precision
from .networks import batch_norm_layers
from .validation import Interval

#: constraints of the catalogue's parameters, shared by every estimator
REGULARIZATION_CONSTRAINTS = {
    "alpha_l1": [Interval(Real, 0, None, closed="left")],
    "alpha_lp": [Interval(Real, 0, None, closed="left")],
    "lp_exponent": [Interval(Real, 0, 1, closed="neither")],
    "layer_alphas": [None, "array-like"],
    "soft_sharing": [Interval(Real, 0, None, closed="left")],
    "soft_sharing_components": [Interval(Integral, 2, None, closed="left")],
    "jacobian_penalty": [Interval(Real, 0, None, closed="left")],
    "input_noise": [Interval(Real, 0, None, closed="left")],
    "weight_noise": [Interval(Real, 0, None, closed="left")],
    "dropconnect": [Interval(Real, 0, 1, closed="left")],
    "adversarial": [Interval(Real, 0, 1, closed="both")],
    "adversarial_eps": [Interval(Real, 0, None, closed="left")],
    "penalty_start_epoch": [Interval(Integral, 0, None, closed="left")],
}

#: defaults: every technique off
REGULARIZATION_DEFAULTS = {
    "alpha_l1": 0.0, "alpha_lp": 0.0, "lp_exponent": 0.5, "layer_alphas": None,
    "soft_sharing": 0.0, "soft_sharing_components": 3, "jacobian_penalty": 0.0,
    "input_noise": 0.0, "weight_noise": 0.0, "dropconnect": 0.0, "adversarial": 0.0,
    "adversarial_eps": 0.1, "penalty_start_epoch": 0,
}

LP_SMOOTHING = 1e-8  # |w|^p has an infinite slope at 0 for p < 1; (|w| + eps)^p does not


def decayed_parameters(module):
    """Weights that penalties act on: matrices and kernels, not biases or norm scales.

    The ``dim() >= 2`` rule (as in nanoGPT's parameter groups) excludes biases
    and normalization parameters, which are 1-D. The soft-weight-sharing prior
    lives in ``module.weight_prior`` and is excluded too.
    """
    prior = getattr(module, "weight_prior", None)
    skip = {id(p) for p in prior.parameters()} if prior is not None else set()
    return [p for p in module.parameters()
            if p.requires_grad and p.dim() >= 2 and id(p) not in skip]


def l2_penalty(module):
    """Sum of squared weights, ``w^T w``, over the decayed parameters (differentiable)."""
    return sum(p.pow(2).sum() for p in decayed_parameters(module))


def squared_norm(params):
    """``w^T w`` of a list of tensors, without building a graph."""
    with torch.no_grad():
        return torch.stack(foreach_norm(params)).square().sum()


def l1_penalty(params):
    """``sum |w|`` (lasso): drives weights to exactly zero under proximal-free SGD only approximately."""
    return sum(p.abs().sum() for p in params)


def lp_penalty(params, p_exp):
    """``sum (|w| + eps)^p`` for ``0 < p < 1``: a sparser prior than L1 (seed 002)."""
    return sum((w.abs() + LP_SMOOTHING).pow(p_exp).sum() for w in params)


def layer_l2_penalty(params, alphas):
    """``0.5 * sum_l alpha_l * ||W_l||^2``: one strength per layer ("consistent" decay, seed 000)."""
    if len(alphas) != len(params):
        raise ValueError(
            f"layer_alphas has {len(alphas)} entries but the network has {len(params)} "
            "weight layers; give one strength per layer."
        )
    return sum(0.5 * a * w.pow(2).sum() for a, w in zip(alphas, params))


class GaussianMixturePrior(nn.Module):
    """Soft weight sharing (Nowlan & Hinton 1992; Bishop 5.5.7).

    ``Omega(w) = -sum_i ln sum_j pi_j N(w_i | mu_j, sigma_j^2)`` with learnable
    mixing coefficients (softmax of logits), means and standard deviations
    (exp of log-sigmas), trained jointly with the network.

    On its own ``Omega`` is unbounded below: a component whose variance
    collapses onto one weight drives ``-ln N`` to minus infinity. As Nowlan &
    Hinton, each precision ``1 / sigma_j^2`` gets a Gamma prior, here with
    shape ``1 + VARIANCE_PRIOR_STRENGTH`` and its mode at the initial
    precision, which adds ``c * (ln sigma_j^2 + sigma_0^2 / sigma_j^2)``
    (``c = VARIANCE_PRIOR_STRENGTH``) and keeps every variance away from 0.
    """

    VARIANCE_PRIOR_STRENGTH = 1.0

    def __init__(self, n_components, weights):
        super().__init__()
        with torch.no_grad():
            flat = torch.cat([w.detach().reshape(-1) for w in weights])
            spread = float(flat.abs().max()) if flat.numel() else 1.0
        dtype = weights[0].dtype if weights else torch.get_default_dtype()
        # one component pinned near zero pulls small weights together; the rest spread out
        means = torch.linspace(-spread, spread, n_components, dtype=dtype)
        self.means = nn.Parameter(means)
        self.initial_log_sigma = math.log(spread / n_components + 1e-3)
        self.log_sigmas = nn.Parameter(torch.full((n_components,), self.initial_log_sigma,
                                                  dtype=dtype))
        self.logits = nn.Parameter(torch.zeros(n_components, dtype=dtype))

    def variance_penalty(self):
        """``c * sum_j (ln sigma_j^2 + sigma_0^2 / sigma_j^2)``, the Gamma prior on the precisions.

        ``sigma_0`` is the components' initial width, a constant of the prior
        (an attribute, not a parameter: the state dict is unchanged).
        """
        log_var = 2 * self.log_sigmas
        log_var0 = 2 * self.initial_log_sigma
        return self.VARIANCE_PRIOR_STRENGTH * (log_var + torch.exp(log_var0 - log_var)).sum()

    def forward(self, weights):
        w = torch.cat([p.reshape(-1) for p in weights]).unsqueeze(1)  # (n_weights, 1)
        log_pi = torch.log_softmax(self.logits, dim=0)
        dist = torch.distributions.Normal(self.means, self.log_sigmas.exp())
        return -torch.logsumexp(log_pi + dist.log_prob(w), dim=1).sum() + self.variance_penalty()


def _row_weighted_sum(per_row, weight):
    """``sum_n w_n * per_row_n`` (``sum_n per_row_n`` without weights)."""
    return per_row.sum() if weight is None else (per_row * weight.to(per_row.dtype)).sum()


def jacobian_norm(module, inputs, weight=None):
    """``0.5 * sum_n w_n sum_k ||d y_nk / d x_n||^2`` (the Tikhonov penalty, seed 000), differentiable.

    One backward pass per output; rows are independent, so the gradient of
    the column sum ``sum_n y_nk`` gives every row's input gradient at once.
    ``weight`` (per row, default 1) weighs each row as ``sample_weight`` does.
    """
    x = inputs[0].detach().requires_grad_(True)
    out = module(x, *inputs[1:])
    out = out.reshape(out.shape[0], -1)
    per_row = 0.0
    for k in range(out.shape[1]):
        (grad,) = torch.autograd.grad(out[:, k].sum(), x, create_graph=True)
        per_row = per_row + grad.pow(2).reshape(grad.shape[0], -1).sum(dim=1)
    return 0.5 * _row_weighted_sum(per_row, weight)


def tangent_propagation(module, inputs, tangents, weight=None):
    """``0.5 * sum_n w_n sum_k (sum_i J_nki tau_ni)^2`` for tangents ``tau`` (seed 000), differentiable.

    The Jacobian-vector product ``J tau`` is computed by the double-backward
    trick: ``g(u) = J^T u`` is linear in ``u``, so ``d(g . tau)/du = J tau``.
    ``weight`` (per row, default 1) weighs each row as ``sample_weight`` does.
    """
    x = inputs[0].detach().requires_grad_(True)
    out = module(x, *inputs[1:])
    u = torch.zeros_like(out, requires_grad=True)
    (jt_u,) = torch.autograd.grad(out, x, grad_outputs=u, create_graph=True)
    (j_tau,) = torch.autograd.grad(jt_u, u, grad_outputs=tangents, create_graph=True)
    return 0.5 * _row_weighted_sum(j_tau.pow(2).reshape(j_tau.shape[0], -1).sum(dim=1), weight)


def image_shift_tangents(images):
    """Tangent vectors of one-pixel shifts of ``(B, C, L)`` signals or ``(B, C, H, W)`` images.

    ``d s(x, xi) / d xi`` at ``xi = 0`` for a shift by ``xi`` pixels is the
    input's spatial derivative, here by central differences (zero at the
    border). Returns one tangent per spatial axis, the last axis first.
    """
    tangents = []
    for axis in range(2, images.dim())[::-1]:
        d = (torch.roll(images, -1, dims=axis) - torch.roll(images, 1, dims=axis)) / 2
        d.narrow(axis, 0, 1).zero_()
        d.narrow(axis, images.shape[axis] - 1, 1).zero_()
        tangents.append(d)
    return tangents


def regularization_params(est):
    """The catalogue's parameter values of ``est`` (missing ones at their defaults)."""
    return {name: getattr(est, name, default) for name, default in REGULARIZATION_DEFAULTS.items()}


def attach_prior(est, module):
    """Give ``module`` its soft-weight-sharing prior when ``est.soft_sharing > 0``."""
    params = regularization_params(est)
    if params["soft_sharing"] > 0 and getattr(module, "weight_prior", None) is None:
        module.weight_prior = GaussianMixturePrior(params["soft_sharing_components"],
                                                   decayed_parameters(module))
    return module


class Regularizer:
    """Everything one training step needs beyond the plain data loss.

    Built once per fit from the estimator's parameters. ``active`` says
    whether any technique is on: when none is, the engine may use a model's
    hand-written gradient instead of autograd.
    """

    def __init__(self, est, module):
        self.est, self.module = est, module
        self.params = p = regularization_params(est)
        self.weights = decayed_parameters(module)
        self.penalties = (p["alpha_l1"] > 0 or p["alpha_lp"] > 0 or p["layer_alphas"] is not None
                          or p["soft_sharing"] > 0 or p["jacobian_penalty"] > 0
                          or getattr(est, "tangent_prop", 0) > 0)
        # noise regularization's (input std, target std) and dequantization's step, or None
        training_noise = getattr(est, "_training_noise", None)
        self.noise = self._noise_tensors(training_noise() if training_noise else None)
        self.perturbs = (self.noise is not None or p["input_noise"] > 0 or p["weight_noise"] > 0
                         or p["dropconnect"] > 0
                         or (p["adversarial"] > 0 and p["adversarial_eps"] > 0))
        self.active = self.penalties or self.perturbs or getattr(est, "label_smoothing", 0) > 0
        self.norms = batch_norm_layers(module)
        # the engine runs the loss under autocast exactly when precision is set
        self.mixed_precision = getattr(est, "precision", None) is not None
        self.freeze_statistics = False
        self._saved = None

    def penalties_on(self, epoch):
        """Incremental penalizing (seed 002): weight penalties start at ``penalty_start_epoch``."""
        return epoch >= self.params["penalty_start_epoch"]

    # -------------------------------------------------------------- penalties
    def weight_penalty(self):
        """Penalties that depend on the weights alone, or ``None``."""
        p, total = self.params, None
        terms = []
        if p["alpha_l1"] > 0:
            terms.append(p["alpha_l1"] * l1_penalty(self.weights))
        if p["alpha_lp"] > 0:
            terms.append(p["alpha_lp"] * lp_penalty(self.weights, p["lp_exponent"]))
        if p["layer_alphas"] is not None:
            terms.append(layer_l2_penalty(self.weights, list(p["layer_alphas"])))
        if p["soft_sharing"] > 0:
            terms.append(p["soft_sharing"] * self.module.weight_prior(self.weights))
        for term in terms:
            total = term if total is None else total + term
        return total

    def input_penalty(self, inputs, weight=None):
        """Penalties on the input-output map (Tikhonov, tangent propagation), or ``None``."""
        p, total = self.params, None
        if p["jacobian_penalty"] > 0:
            total = p["jacobian_penalty"] * jacobian_norm(self.module, inputs, weight)
        strength = getattr(self.est, "tangent_prop", 0)
        if strength > 0:
            term = strength * sum(tangent_propagation(self.module, inputs, t, weight)
                                  for t in self.est._tangents(inputs[0]))
            total = term if total is None else total + term
        return total

    # ---------------------------------------------------------- perturbations
    def _noise_tensors(self, scales):
        if scales is None:
            return None
        device = next(self.module.parameters()).device
        return tuple(None if s is None
                     else torch.as_tensor(s, dtype=self.est._dtype, device=device)
                     for s in scales)

    def add_noise(self, inputs, target):
        """Noise regularization (Rothfuss et al. 2019): fresh Gaussian noise on inputs and
        targets; target dequantization: fresh uniform noise of one quantization step."""
        if self.noise is None or not self.module.training:
            return inputs, target
        x_std, y_std, y_step = self.noise
        if x_std is not None:
            x = inputs[0]
            inputs = (x + x_std * torch.randn_like(x),) + tuple(inputs[1:])
            target = target + y_std * torch.randn_like(target)
        if y_step is not None:
            target = target + y_step * (torch.rand_like(target) - 0.5)
        return inputs, target

    def perturb_inputs(self, inputs):
        """Gaussian input noise (training with noise = Tikhonov regularization, seed 000)."""
        sigma = self.params["input_noise"]
        if sigma > 0:
            x = inputs[0]
            return (x + sigma * torch.randn_like(x),) + tuple(inputs[1:])
        return inputs

    def perturb_weights(self):
        """Weight noise and DropConnect for this step's forward and backward passes."""
        p = self.params
        if not (p["weight_noise"] > 0 or p["dropconnect"] > 0):
            return
        self._saved = [w.detach().clone() for w in self.weights]
        self._masks = []
        with torch.no_grad():
            for w in self.weights:
                scale = None
                if p["dropconnect"] > 0:
                    keep = 1.0 - p["dropconnect"]
                    scale = (torch.rand_like(w) < keep).to(w.dtype) / keep  # inverted DropConnect
                    w.mul_(scale)
                if p["weight_noise"] > 0:
                    w.add_(p["weight_noise"] * torch.randn_like(w))
                self._masks.append(scale)

    def restore_weights(self):
        """Put the clean weights back; DropConnect's gradient flows only through kept weights."""
        if self._saved is None:
            return
        with torch.no_grad():
            for w, saved, mask in zip(self.weights, self._saved, self._masks):
                w.copy_(saved)
                if mask is not None and w.grad is not None:
                    w.grad.mul_(mask)
        self._saved = None

    # ------------------------------------------------------- batch statistics
    def _steer_norms(self, weight, update):
        """Tell the batch-norm layers this batch's row weights and whether to update statistics."""
        for norm in self.norms:
            norm.sample_weight, norm.update_stats = weight, update

    # ------------------------------------------------------------------- loss
    def loss(self, inputs, target, weight, epoch, with_l2=False):
        """One batch's regularized loss (to call ``backward`` on).

        Batch-norm layers see the rows' weights, and update their running
        statistics once, on the first (clean) forward pass, unless
        ``freeze_statistics`` is set (L-BFGS's line-search points); the
        extra passes of FGSM and the Jacobian and tangent penalties
        normalize with their own batch statistics but leave the running ones
        alone.
        """
        try:
            self._steer_norms(weight, not self.freeze_statistics)
            return self._loss(inputs, target, weight, epoch, with_l2)
        finally:
            self._steer_norms(None, True)

    def _data_loss(self, raw, target, weight):
        """The estimator's data loss, in the parameters' precision even under autocast."""
        if not self.mixed_precision:
            return self.est._data_loss(raw, target, weight)
        with torch.autocast(target.device.type, enabled=False):
            return self.est._data_loss(full_precision(raw, self.est._dtype), target, weight)

    def _loss(self, inputs, target, weight, epoch, with_l2):
        est, module, p = self.est, self.module, self.params
        inputs, target = self.add_noise(self.perturb_inputs(inputs), target)
        if p["adversarial"] > 0 and p["adversarial_eps"] > 0:
            x = inputs[0].detach().requires_grad_(True)
            clean = self._data_loss(module(x, *inputs[1:]), target, weight)
            self._steer_norms(weight, False)
            (grad,) = torch.autograd.grad(clean, x, retain_graph=True)
            x_adv = (x + p["adversarial_eps"] * grad.sign()).detach()  # FGSM (Goodfellow 2015)
            adv = self._data_loss(module(x_adv, *inputs[1:]), target, weight)
            loss = (1 - p["adversarial"]) * clean + p["adversarial"] * adv
        else:
            loss = self._data_loss(module(*inputs), target, weight)
        self._steer_norms(weight, False)
        if not self.penalties_on(epoch):
            return loss
        reg = self.weight_penalty() if self.penalties else None
        if self.penalties:
            extra = self.input_penalty(inputs, weight)
            if extra is not None:
                reg = extra if reg is None else reg + extra
        if with_l2 and getattr(est, "alpha", 0):
            l2 = 0.5 * est.alpha * l2_penalty(module)
            reg = l2 if reg is None else reg + l2
        if reg is not None:
            # sklearn divides its L2 term by the batch's sample count (or weight sum)
            norm = target.shape[0] if weight is None else weight.sum()
            loss = loss + reg / norm
        return loss
