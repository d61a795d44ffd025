"""Torch modules built from estimator parameters.

Each module's ``forward`` maps a float tensor to raw outputs (logits or
identity outputs); probabilities are computed by the estimators, never here.
"""

import math

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

NORMALIZATIONS = {
    "batch": nn.BatchNorm1d,
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
                block.append(nn.Dropout(rate))
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
