"""Torch modules of the convolutional classifier: augmentation, conv blocks, the network.

Everything works for 1-D signals ``(B, C, L)`` and 2-D images ``(B, C, H, W)``;
``spatial_dims`` picks the ``Conv1d``/``Conv2d`` family once, at construction.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._core.networks import ACTIVATIONS, MLP, WeightedBatchNorm1d, WeightedBatchNorm2d

CONV = {1: nn.Conv1d, 2: nn.Conv2d}
BATCH_NORM = {1: WeightedBatchNorm1d, 2: WeightedBatchNorm2d}
SPATIAL_DROPOUT = {1: nn.Dropout1d, 2: nn.Dropout2d}
POOL = {"max": {1: nn.MaxPool1d, 2: nn.MaxPool2d}, "avg": {1: nn.AvgPool1d, 2: nn.AvgPool2d}}
CONV_NORMALIZATIONS = ("batch", "group", "layer", "instance")
GROUP_NORM_GROUPS = 8


def make_norm(kind, channels, spatial_dims):
    """A normalization over ``channels`` feature maps, or ``None``.

    ``"group"`` uses up to 8 groups (the largest count dividing ``channels``),
    ``"layer"`` one group and ``"instance"`` one group per channel: all three
    are ``GroupNorm`` (Wu & He 2018) and independent of the batch.
    """
    if kind is None:
        return None
    if kind == "batch":
        return BATCH_NORM[spatial_dims](channels)
    groups = {"group": math.gcd(channels, GROUP_NORM_GROUPS), "layer": 1,
              "instance": channels}[kind]
    return nn.GroupNorm(groups, channels)


class ConvBlock(nn.Module):
    """One stage: conv -> [norm] -> act, or a residual basic block; then spatial dropout, pool.

    Plain block: one ``kernel_size`` convolution (local receptive field, shared
    weights). Residual block (He et al. 2016): two convolutions and a shortcut,
    ``act(x' + F(x))``, where the shortcut ``x'`` is ``x`` itself or, when the
    channel count changes, a 1x1 convolution of it. ``dilation`` spaces the
    kernel taps, widening the receptive field by ``(kernel_size - 1) * dilation``
    per convolution at no extra weights. Padding keeps the spatial size, so
    only pooling shrinks it.
    """

    def __init__(self, in_channels, out_channels, spatial_dims, kernel_size=3, dilation=1,
                 residual=False, normalization="batch", activation="relu", spatial_dropout=0.0,
                 pooling=None):
        super().__init__()
        conv = CONV[spatial_dims]
        bias = normalization is None  # a norm's shift makes a conv bias redundant
        self.conv1 = conv(in_channels, out_channels, kernel_size, padding="same",
                          dilation=dilation, bias=bias)
        self.norm1 = make_norm(normalization, out_channels, spatial_dims)
        self.act = ACTIVATIONS[activation]()
        self.residual = residual
        if residual:
            self.conv2 = conv(out_channels, out_channels, kernel_size, padding="same",
                              dilation=dilation, bias=bias)
            self.norm2 = make_norm(normalization, out_channels, spatial_dims)
            self.shortcut = (nn.Identity() if in_channels == out_channels
                             else conv(in_channels, out_channels, 1, bias=False))
        self.dropout = SPATIAL_DROPOUT[spatial_dims](spatial_dropout) if spatial_dropout else None
        self.pool = POOL[pooling][spatial_dims](2) if pooling is not None else None

    def forward(self, x):  # (B, C_in, *S) -> (B, C_out, *S) or (B, C_out, *S/2)
        h = self.conv1(x)
        if self.norm1 is not None:
            h = self.norm1(h)
        h = self.act(h)
        if self.residual:
            h = self.conv2(h)
            if self.norm2 is not None:
                h = self.norm2(h)
            h = self.act(h + self.shortcut(x))
        if self.dropout is not None:
            h = self.dropout(h)
        if self.pool is not None:
            h = self.pool(h)
        return h


class Augment(nn.Module):
    """Random label-preserving transformations of a batch, applied only in ``train()`` mode.

    Training with transformed data (Bishop PRML 5.5.3) asks the network for
    invariance by example. Per sample, one affine map combines an integer
    shift of up to ``shift`` pixels per axis, a rotation of up to ``rotation``
    degrees, a scaling by up to ``1 +/- scale`` and optional mirror flips; it is
    applied by ``grid_sample`` (bilinear, zeros outside) on the input's device,
    then Gaussian noise of standard deviation ``noise`` is added. For 1-D
    signals only the shift, scaling, ``horizontal_flip`` (time reversal) and
    noise apply. In ``eval()`` mode the input passes through unchanged.
    """

    def __init__(self, spatial_dims, shift=0, rotation=0.0, scale=0.0, horizontal_flip=False,
                 vertical_flip=False, noise=0.0):
        super().__init__()
        self.spatial_dims = spatial_dims
        self.shift = int(shift)
        self.rotation = float(rotation) if spatial_dims == 2 else 0.0
        self.scale = float(scale)
        self.horizontal_flip = bool(horizontal_flip)
        self.vertical_flip = bool(vertical_flip) and spatial_dims == 2
        self.noise = float(noise)

    @property
    def geometric(self):
        return bool(self.shift or self.rotation or self.scale or self.horizontal_flip
                    or self.vertical_flip)

    def _uniform(self, n, bound, like):
        return (torch.rand(n, dtype=like.dtype, device=like.device) * 2 - 1) * bound

    def _flip_sign(self, n, like):
        return torch.where(torch.rand(n, device=like.device) < 0.5, -1.0, 1.0).to(like.dtype)

    def _theta(self, x):
        """Per-sample affine maps from output to input coordinates, in grid_sample's units."""
        n, height, width = x.shape[0], x.shape[-2], x.shape[-1]
        angle = self._uniform(n, math.radians(self.rotation), x)
        zoom = 1.0 + self._uniform(n, self.scale, x)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        shift = torch.randint(-self.shift, self.shift + 1, (2, n), device=x.device).to(x.dtype)
        theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
        # rotate in pixel units: normalized coordinates scale x by 2/W and y by 2/H
        theta[:, 0, 0] = cos
        theta[:, 0, 1] = -sin * height / width
        theta[:, 1, 0] = sin * width / height
        theta[:, 1, 1] = cos
        theta[:, 0, 2] = 2.0 * shift[0] / width
        theta[:, 1, 2] = 2.0 * shift[1] / height if self.spatial_dims == 2 else 0.0
        if self.horizontal_flip:
            theta[:, :, 0] *= self._flip_sign(n, x)[:, None]
        if self.vertical_flip:
            theta[:, :, 1] *= self._flip_sign(n, x)[:, None]
        return theta

    def forward(self, x):  # (B, C, *S) -> (B, C, *S)
        if not self.training:
            return x
        if self.geometric:
            image = x if self.spatial_dims == 2 else x.unsqueeze(2)  # (B, C, 1, L) for signals
            grid = F.affine_grid(self._theta(image), list(image.shape), align_corners=False)
            image = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros",
                                  align_corners=False)
            x = image if self.spatial_dims == 2 else image.squeeze(2)
        if self.noise:
            x = x + self.noise * torch.randn_like(x)
        return x


class ConvNet(nn.Module):
    """[Augment] -> ConvBlock* -> global average pooling or flatten -> dense head.

    The dense head is skneural's ``MLP`` (hidden widths, dropout, logits out).
    With ``global_pooling`` each final feature map is averaged to one number
    (Network in Network, Lin et al. 2014), so the head sees ``filters[-1]``
    features whatever the input size.
    """

    def __init__(self, input_shape, n_outputs, filters, kernel_size=3, dilation=(1,),
                 residual=False, normalization="batch", activation="relu", pooling="max",
                 spatial_dropout=0.0, global_pooling=True, hidden_layer_sizes=(), dropout=0.0,
                 augment=None):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        spatial_dims = len(self.input_shape) - 1
        self.augment = augment
        blocks, channels, size = [], self.input_shape[0], list(self.input_shape[1:])
        for width, rate in zip(filters, dilation):
            # pool only while every spatial side can still be halved
            pool = pooling if pooling is not None and min(size) >= 2 else None
            blocks.append(ConvBlock(channels, width, spatial_dims, kernel_size, rate, residual,
                                    normalization, activation, spatial_dropout, pool))
            channels = width
            size = [s // 2 for s in size] if pool is not None else size
        self.blocks = nn.Sequential(*blocks)
        self.global_pooling = global_pooling
        n_flat = channels if global_pooling else channels * math.prod(size)
        self.head = MLP(n_flat, list(hidden_layer_sizes), n_outputs, activation=activation,
                        dropout=dropout)

    def features(self, x):  # (B, C, *S) -> (B, C_last, *S_last), augmented in training
        if self.augment is not None:
            x = self.augment(x)
        return self.blocks(x)

    def forward(self, x):  # (B, C, *S) -> (B, n_outputs)
        h = self.features(x)
        h = h.mean(dim=tuple(range(2, h.dim()))) if self.global_pooling else h.flatten(1)
        return self.head(h)
