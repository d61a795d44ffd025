"""Torch modules built from estimator parameters.

Each module's ``forward`` maps a float tensor to raw outputs (logits or
identity outputs); probabilities are computed by the estimators, never here.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_linear_bn_eval

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}



class _WeightedBatchNorm:
    """Batch norm whose batch statistics honour sample weights (mix in before ``nn.BatchNormNd``).

    In training, the engine sets two attributes per mini-batch:

    - ``sample_weight`` (tensor of shape (B,) or ``None``): the batch mean and
      (biased) variance are the weighted moments over rows (and spatial
      positions), so a weight of 2 acts like a repeated row and a weight of 0
      like an absent one;
    - ``update_stats`` (bool): ``False`` normalizes with the batch statistics
      but leaves the running statistics alone, for extra forward passes on
      the same or perturbed rows (FGSM, Jacobian and tangent penalties) and
      for L-BFGS's line-search points.

    The running variance gets the unbiased factor ``m / (m - 1)`` with ``m``
    the number of values, weights counting as repetitions (sklearn's
    sample-weight semantics: a weight of 2 is a repeated row, so ``m`` is the
    weights' sum times the spatial size; no factor when ``m <= 1``). In eval
    mode the running statistics are used, as in ``torch.nn.BatchNorm1d``, and
    the state dict is the same.
    """

    sample_weight = None
    update_stats = True

    def forward(self, x):
        weight = self.sample_weight
        if not self.training or (weight is None and self.update_stats):
            return super().forward(x)
        w = torch.ones(x.shape[0], dtype=x.dtype, device=x.device) if weight is None else weight
        mean, var, total = weighted_moments(x, w)
        if self.update_stats:
            with torch.no_grad():
                update_running_statistics(self, mean.flatten(), var.flatten(), total)
        shape = (1, -1, *([1] * (x.dim() - 2)))
        out = (x - mean) / torch.sqrt(var + self.eps)
        return out * self.weight.reshape(shape) + self.bias.reshape(shape)


def weighted_moments(x, weight):
    """Per-channel mean and biased variance of ``x`` (B, C, *S), rows weighted by ``weight`` (B,).

    Over rows and spatial positions; both keep ``x``'s dimensions (shape
    ``(1, C, 1, ...)``). Also returns the number of values, weights counting
    as repetitions: the weights' sum times the spatial size.
    """
    dims = [0, *range(2, x.dim())]
    w = weight.to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
    total = w.sum() * math.prod(x.shape[2:])
    mean = (x * w).sum(dims, keepdim=True) / total
    var = ((x - mean).pow(2) * w).sum(dims, keepdim=True) / total
    return mean, var, total


def running_factor(norm):
    """Count one more training batch in ``norm`` and return its running-average factor.

    As ``torch.nn.BatchNorm1d``: ``momentum``, or the cumulative ``1 / n`` when
    ``momentum`` is ``None``.
    """
    norm.num_batches_tracked += 1
    return 1.0 / float(norm.num_batches_tracked) if norm.momentum is None else norm.momentum


def update_running_statistics(norm, mean, var, count):
    """Move ``norm``'s running statistics towards a batch's (biased) ``var`` and ``mean``.

    ``count`` values (weights counting as repetitions) make the variance
    unbiased by ``count / (count - 1)``; no factor when ``count <= 1``.
    """
    factor = running_factor(norm)
    unbiased = var * (count / (count - 1) if count > 1 else 1.0)
    norm.running_mean.lerp_(mean, factor)
    norm.running_var.lerp_(unbiased, factor)


class WeightedBatchNorm1d(_WeightedBatchNorm, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` with sample-weighted batch statistics (see :class:`_WeightedBatchNorm`)."""


class WeightedBatchNorm2d(_WeightedBatchNorm, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` with sample-weighted batch statistics (see :class:`_WeightedBatchNorm`)."""


def batch_norm_layers(module):
    """The weighted batch-norm layers of ``module``, which the engine steers per batch."""
    return [m for m in module.modules() if isinstance(m, _WeightedBatchNorm)]


def has_batch_norm(module):
    """Whether ``module`` normalizes with batch statistics in training (any batch norm)."""
    kinds = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    return any(isinstance(m, kinds) for m in module.modules())


NORMALIZATIONS = {
    "batch": WeightedBatchNorm1d,
    "layer": nn.LayerNorm,
}


def _glorot_uniform(weight, bias, activation, generator):
    # sklearn's MLP uses factor 2 for logistic units and 6 otherwise (Glorot & Bengio 2010)
    fan_out, fan_in = weight.shape[0], math.prod(weight.shape[1:])
    factor = 2.0 if activation == "logistic" else 6.0
    bound = math.sqrt(factor / (fan_in + fan_out))
    nn.init.uniform_(weight, -bound, bound, generator=generator)
    if bias is not None:
        nn.init.uniform_(bias, -bound, bound, generator=generator)


def _he_normal(weight, bias, activation, generator):
    nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)
    if bias is not None:
        nn.init.zeros_(bias)


def _small_normal(weight, bias, activation, generator):
    nn.init.normal_(weight, 0.0, 0.01, generator=generator)
    if bias is not None:
        nn.init.zeros_(bias)


INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "he_normal": _he_normal,
    "normal": _small_normal,
}


def init_weights(module, init, activation, generator=None):
    """Initialise every linear and convolutional layer of ``module`` in place.

    Parameters
    ----------
    module : torch.nn.Module
    init : {"auto", "glorot_uniform", "he_normal", "normal"}
        ``"auto"`` is sklearn's choice, Glorot uniform.
    activation : str
        Name of the hidden activation; Glorot's bound depends on it.
    generator : torch.Generator, default=None
    """
    fn = INITIALIZERS["glorot_uniform" if init == "auto" else init]
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            fn(layer.weight, layer.bias, activation, generator)


def per_layer(value, n_layers, name):
    """Broadcast a scalar or a per-layer sequence to a list of ``n_layers``."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise ValueError(
                f"{name} has {len(value)} entries but the network has "
                f"{n_layers} hidden layers; give one value or one per layer."
            )
        return [float(v) for v in value]
    return [float(value)] * n_layers


def dropout_mask(h, rate):
    """Inverted-dropout mask shaped like ``h``: 0 with probability ``rate``, else ``1 / (1 - rate)``.

    One ``uniform_`` draw and a comparison, half the time of ``bernoulli_``
    (0.24 against 0.47 ms forward and backward for a 200 x 256 batch on one
    CPU thread; RESULTS, issue 20). The training path of :class:`InvertedDropout`
    and :func:`manual_backprop` both draw their masks here, so they agree.
    """
    return torch.empty_like(h).uniform_().ge_(rate).div_(1 - rate)


class InvertedDropout(nn.Dropout):
    """``nn.Dropout`` (same ``p``, same distribution) with masks from :func:`dropout_mask`."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * dropout_mask(x, self.p)


class MLP(nn.Module):
    """Fully connected network: (Linear -> [Norm] -> activation -> [Dropout])* -> Linear.

    Normalization sits after the affine map and before the activation, as in
    Ioffe & Szegedy (2015). Dropout is inverted dropout, active only in
    ``train()`` mode.
    """

    def __init__(self, n_features, hidden_layer_sizes, n_outputs, activation="relu",
                 normalization=None, dropout=0.0):
        super().__init__()
        dropout = per_layer(dropout, len(hidden_layer_sizes), "dropout")
        blocks = []
        n_in = n_features
        for width, rate in zip(hidden_layer_sizes, dropout):
            block = [nn.Linear(n_in, width)]
            if normalization is not None:
                block.append(NORMALIZATIONS[normalization](width))
            block.append(ACTIVATIONS[activation]())
            if rate > 0:
                block.append(InvertedDropout(rate))
            blocks.append(nn.Sequential(*block))
            n_in = width
        self.hidden = nn.Sequential(*blocks)
        self.out = nn.Linear(n_in, n_outputs)

    def forward(self, x):  # (B, F) -> (B, n_outputs)
        return self.out(self.hidden(x))

    def linear_layers(self):
        """The affine maps in order, the output layer last."""
        return [block[0] for block in self.hidden] + [self.out]


def fold_batch_norm(mlp):
    """Return an inference copy of ``mlp`` with each BatchNorm folded into its Linear.

    In eval mode batch norm is the affine map ``gamma * (z - mean) / sqrt(var + eps)
    + beta`` of the running statistics, so composing it with the preceding
    linear layer is exact up to rounding and saves one pass over the activations.
    """
    blocks = []
    for block in mlp.hidden:
        layers = list(block)
        if len(layers) > 1 and isinstance(layers[1], nn.BatchNorm1d):
            layers = [fuse_linear_bn_eval(layers[0], layers[1])] + layers[2:]
        layers = [layer for layer in layers if not isinstance(layer, nn.Dropout)]
        blocks.append(nn.Sequential(*layers))
    folded = MLP.__new__(MLP)
    nn.Module.__init__(folded)
    folded.hidden = nn.Sequential(*blocks)
    folded.out = mlp.out
    return folded.eval()


# ---------------------------------------------------------------------------
# Explicit backpropagation for MLPs: Linear -> [batch or layer norm] -> activation
# -> [dropout] blocks. On small networks torch's per-op dispatch and autograd
# bookkeeping weigh on a training step; computing the gradient by hand, as
# sklearn's numpy MLP does, skips the graph and the ops autograd would add.
# Normalization layers call the same native kernels autograd calls, so the
# gradients are autograd's.

_ACTIVATION_FORWARD = {
    "identity": lambda z: z,
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "logistic": torch.sigmoid_,
}

# derivative of each activation written in terms of its output h
_ACTIVATION_BACKWARD = {
    "identity": lambda h, delta: delta,
    # autograd's own kernel: a third of the time of multiplying by the bool mask h > 0
    "relu": lambda h, delta: torch.ops.aten.threshold_backward(delta, h, 0),
    "tanh": lambda h, delta: delta.mul_(1.0 - h * h),
    "logistic": lambda h, delta: delta.mul_(h * (1.0 - h)),
}


def _output_delta(loss_name, raw, target, weight):
    """Loss value and d(loss)/d(raw) for a canonical link (delta = prediction - target)."""
    n = raw.shape[0]
    scale = (1.0 / n) if weight is None else (weight / weight.sum()).unsqueeze(1)
    if loss_name == "log_loss":
        loss = F.cross_entropy(raw, target, reduction="none")
        delta = torch.softmax(raw, dim=1)
        delta[torch.arange(n, device=raw.device), target] -= 1.0
    elif loss_name == "binary_log_loss":
        loss = F.binary_cross_entropy_with_logits(raw, target, reduction="none").sum(dim=1)
        delta = torch.sigmoid(raw).sub_(target)
    elif loss_name == "squared_error":
        loss = 0.5 * (raw - target).pow(2).mean(dim=1)
        delta = (raw - target).div_(raw.shape[1])
    else:  # poisson, log link
        loss = (torch.xlogy(target, target) - target * raw - target + raw.exp()).sum(dim=1)
        delta = raw.exp().sub_(target)
    loss = loss.mean() if weight is None else (loss * weight).sum() / weight.sum()
    return loss, delta.mul_(scale)


_NUMPY_ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0, out=z),
    "tanh": lambda z: np.tanh(z, out=z),
    "logistic": lambda z: np.divide(1.0, 1.0 + np.exp(-z), out=z),
}


def numpy_forward(mlp, X, activation):
    """The forward pass of a plain MLP in numpy, for a few rows on the CPU.

    For one row, torch's per-op dispatch costs more than the arithmetic; the
    weights are read as numpy views of the parameters (no copy), so this is
    the same network, not a cached copy.
    """
    layers = mlp.linear_layers()
    act = _NUMPY_ACTIVATIONS[activation]
    h = X
    for layer in layers[:-1]:
        h = act(h @ layer.weight.detach().numpy().T + layer.bias.detach().numpy())
    return h @ layers[-1].weight.detach().numpy().T + layers[-1].bias.detach().numpy()


def supports_numpy_forward(mlp, activation):
    """Whether :func:`numpy_forward` computes ``mlp`` (an :class:`MLP` of Linear + activation blocks)."""
    return isinstance(mlp, MLP) and all(len(block) == 2 for block in mlp.hidden) and activation in _NUMPY_ACTIVATIONS


def manual_blocks(mlp):
    """Each hidden block's (normalization layer or ``None``, dropout rate), or ``None``
    if a block is not Linear -> [norm] -> activation -> [Dropout] with a norm
    :func:`manual_backprop` knows (affine batch norm with running statistics,
    affine layer norm over the features)."""
    plan = []
    for block in mlp.hidden:
        layers = list(block)[1:]
        norm = None
        if layers and isinstance(layers[0], (_WeightedBatchNorm, nn.LayerNorm)):
            norm = layers.pop(0)
            if isinstance(norm, _WeightedBatchNorm):
                if not (norm.affine and norm.track_running_stats):
                    return None
            elif norm.weight is None or norm.bias is None or len(norm.normalized_shape) != 1:
                return None
        rate = 0.0
        if len(layers) == 2 and isinstance(layers[1], nn.Dropout):
            rate = layers.pop().p
        if len(layers) != 1:
            return None
        plan.append((norm, rate))
    return plan


def supports_manual_backprop(mlp, activation, loss_name):
    """Whether :func:`manual_backprop` computes exactly what autograd would for ``mlp``."""
    return isinstance(mlp, MLP) and manual_blocks(mlp) is not None and activation in _ACTIVATION_BACKWARD and (
        loss_name in ("log_loss", "binary_log_loss", "squared_error", "poisson"))


def _norm_forward(norm, z, weight):
    """Training-mode normalization of ``z`` (B, W): the output and what the backward pass needs.

    Batch norm updates the running statistics as the module's own training
    forward pass does; with row weights the moments are the weighted ones of
    :class:`_WeightedBatchNorm`.
    """
    if isinstance(norm, nn.LayerNorm):
        out, mean, rstd = torch.native_layer_norm(z, norm.normalized_shape, norm.weight,
                                                  norm.bias, norm.eps)
        return out, (mean, rstd)
    if weight is None:
        factor = running_factor(norm)
        out, mean, invstd = torch.native_batch_norm(z, norm.weight, norm.bias, norm.running_mean,
                                                    norm.running_var, True, factor, norm.eps)
        return out, (mean, invstd)
    mean, var, total = weighted_moments(z, weight)  # (1, W), (1, W)
    update_running_statistics(norm, mean.flatten(), var.flatten(), total)
    invstd = torch.rsqrt(var + norm.eps)
    xhat = (z - mean).mul_(invstd)
    share = (weight / total).unsqueeze(1)  # (B, 1)
    return torch.addcmul(norm.bias, xhat, norm.weight), (share, xhat, invstd)


def _norm_backward(norm, grad, z, saved):
    """d(loss)/dz from d(loss)/d(output), with the norm's parameter gradients written."""
    if isinstance(norm, nn.LayerNorm):
        dz, d_weight, d_bias = torch.ops.aten.native_layer_norm_backward(
            grad, z, norm.normalized_shape, *saved, norm.weight, norm.bias, [True, True, True])
    elif len(saved) == 2:
        dz, d_weight, d_bias = torch.ops.aten.native_batch_norm_backward(
            grad, z, norm.weight, norm.running_mean, norm.running_var, *saved, True, norm.eps,
            [True, True, True])
    else:  # weighted moments: dz = gamma * invstd * (g - share * (sum g + xhat * sum g xhat))
        share, xhat, invstd = saved
        d_bias = grad.sum(dim=0)
        d_weight = (grad * xhat).sum(dim=0)
        dz = torch.addcmul(d_bias, xhat, d_weight).mul_(share)
        dz = torch.sub(grad, dz).mul_(norm.weight * invstd)
    for param, value in ((norm.weight, d_weight), (norm.bias, d_bias)):
        if param.grad is None:
            param.grad = value
        else:
            param.grad.copy_(value)
    return dz


def manual_backprop(mlp, x, target, weight, loss_name, activation, weight_decay=0.0,
                    blocks=None):
    """One batch's data loss, with its gradient written into each parameter's ``.grad``.

    Parameters
    ----------
    mlp : MLP
        A network of Linear -> [norm] -> activation -> [dropout] blocks (see
        :func:`supports_manual_backprop`), in training mode: dropout draws its
        masks and batch norm normalizes with the batch's statistics (weighted
        by ``weight``) and updates its running ones.
    x : Tensor of shape (B, F)
    target : Tensor
        Class indices for ``"log_loss"``, else a (B, n_outputs) float tensor.
    weight : Tensor of shape (B,) or None
    loss_name : str
    activation : str
    weight_decay : float, default=0.0
        Adds ``weight_decay * W`` to each weight matrix's gradient (the
        gradient of sklearn's L2 term), inside the same matmul.
    blocks : list, default=None
        ``mlp``'s block plan (``manual_blocks(mlp)``), when the caller made it
        once for many steps.

    Returns
    -------
    loss : Tensor
        The weighted mean loss, a 0-d tensor without a graph.
    """
    layers = mlp.linear_layers()
    forward = _ACTIVATION_FORWARD[activation]
    blocks = manual_blocks(mlp) if blocks is None else blocks
    with torch.no_grad():
        inputs, outputs, masks, normed = [x], [], [], []  # per hidden block
        for layer, (norm, rate) in zip(layers[:-1], blocks):
            z = torch.addmm(layer.bias, inputs[-1], layer.weight.T)  # (B, width)
            if norm is not None:
                out, saved = _norm_forward(norm, z, weight)
                normed.append((z, saved))
                z = out
            h = forward(z)
            outputs.append(h)
            # inverted dropout drawn as the network's InvertedDropout draws it
            mask = dropout_mask(h, rate) if rate > 0 else None
            masks.append(mask)
            inputs.append(h * mask if mask is not None else h)
        raw = torch.addmm(layers[-1].bias, inputs[-1], layers[-1].weight.T)
        loss, delta = _output_delta(loss_name, raw, target, weight)  # (B, n_outputs)
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            _write_grad(layer.weight, delta.T, inputs[i], weight_decay)
            _write_grad(layer.bias, delta, None)
            if i > 0:
                delta = delta @ layer.weight
                if masks[i - 1] is not None:
                    delta.mul_(masks[i - 1])
                delta = _ACTIVATION_BACKWARD[activation](outputs[i - 1], delta)
                norm = blocks[i - 1][0]
                if norm is not None:
                    delta = _norm_backward(norm, delta, *normed.pop())
    return loss


def _write_grad(param, left, right, weight_decay=0.0):
    """``param.grad = left @ right + weight_decay * param`` (or ``left``'s column sum)."""
    if right is None:
        if param.grad is None:
            param.grad = left.sum(dim=0)
        else:
            torch.sum(left, dim=0, out=param.grad)
    elif param.grad is None:
        param.grad = torch.addmm(param, left, right, beta=weight_decay)
    else:
        torch.addmm(param, left, right, beta=weight_decay, out=param.grad)
