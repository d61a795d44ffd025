"""Generator and discriminator of GANSampler, built from flat parameters."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .._core.compat import foreach_lerp_
from .._core.networks import MLP, init_weights

GUMBEL_TAU = 0.2  # CTGAN's temperature: near one-hot yet differentiable


class Generator(nn.Module):
    """Noise (and a class one-hot) -> one encoded row.

    Numeric outputs are linear, or ``tanh`` when they are mode offsets in
    [-1, 1] (``bounded``: True, False, or one flag per numeric column); each one-hot block is a Gumbel-softmax
    in training (so the discriminator sees near one-hot vectors with a
    gradient) and an exact one-hot of a draw from the same categorical,
    ``softmax(logits)``, in eval mode (the Gumbel-max trick: the argmax of
    the training output). The draw, not the argmax of the logits, is what
    the discriminator was trained against: a generator may leave the choice
    between modes to the Gumbel noise (near-uniform logits), and taking the
    argmax would then collapse those modes into one.
    """

    def __init__(self, latent_dim, n_classes, hidden, n_out, n_numeric, blocks, bounded,
                 activation, normalization):
        super().__init__()
        self.latent_dim = latent_dim
        self.n_numeric = n_numeric
        self.blocks = list(blocks)
        flags = [bounded] * n_numeric if isinstance(bounded, bool) else [bool(b) for b in bounded]
        self.all_bounded, self.any_bounded = all(flags), any(flags)
        # built once, not per step; not saved (the encoder rebuilds it)
        self.register_buffer("bounded_mask", torch.tensor(flags, dtype=torch.bool),
                             persistent=False)
        self.net = MLP(latent_dim + n_classes, hidden, n_out, activation=activation,
                       normalization=normalization)
        init_weights(self.net, "auto", activation)

    def forward(self, z, cond=None, generator=None, bias=None):  # (B, latent) -> (B, n_out)
        """``generator`` (a torch.Generator) seeds the eval-mode category draws.

        ``bias`` (``(B, n_out)`` or ``(1, n_out)``) is added to the logits of
        the eval-mode draws: the marginal calibration's offsets.
        """
        raw = self.net(z if cond is None else torch.cat([z, cond], dim=1))
        numeric = raw[:, :self.n_numeric]
        if self.all_bounded:
            numeric = torch.tanh(numeric)
        elif self.any_bounded:
            numeric = torch.where(self.bounded_mask, torch.tanh(numeric), numeric)
        parts = [numeric]
        for start, stop in self.blocks:
            logits = raw[:, start:stop]
            if self.training:
                parts.append(F.gumbel_softmax(logits, tau=GUMBEL_TAU, hard=False))
            else:
                if bias is not None:
                    logits = logits + bias[:, start:stop]
                gumbel = -torch.empty_like(logits).exponential_(generator=generator).log()
                parts.append(F.one_hot((logits + gumbel).argmax(dim=1), stop - start)
                             .to(raw.dtype))
        return torch.cat(parts, dim=1)


class Discriminator(nn.Module):
    """Packed rows (and class one-hots) -> one logit per pack of ``pac`` rows.

    Packing (PacGAN, Lin et al. 2018) lets the discriminator judge ``pac``
    samples jointly, so a generator that drops modes produces packs that
    look too alike and is penalized: the classic cure for mode collapse.
    """

    def __init__(self, n_in, n_classes, hidden, pac, activation, normalization, spectral_norm):
        super().__init__()
        self.pac = pac
        self.net = MLP(pac * (n_in + n_classes), hidden, 1, activation=activation,
                       normalization=normalization)
        init_weights(self.net, "auto", activation)
        for layer in self.net.modules():
            if isinstance(layer, nn.LeakyReLU):
                layer.negative_slope = 0.2  # the usual GAN slope (DCGAN)
        if spectral_norm:
            # The hook-based form, not torch.nn.utils.parametrizations: a
            # parametrized module cannot be pickled, and estimators must be.
            for layer in self.net.linear_layers():
                nn.utils.spectral_norm(layer)

    def forward(self, x, cond=None):  # (B, F) [, (B, K)] -> (B / pac,)
        if cond is not None:
            x = torch.cat([x, cond], dim=1)
        return self.net(x.reshape(x.shape[0] // self.pac, -1)).squeeze(1)


class GANModule(nn.Module):
    """The fitted networks: generator, discriminator, their weight average.

    ``generator_average`` is an exponential moving average of the generator's
    weights (Yazici et al. 2019), its decay warmed up by
    ``training.averaging_decay``; it damps the oscillation of the
    adversarial game and is what ``sample`` draws from when enabled.
    ``critic`` is the unpacked discriminator used for rejection sampling.
    """

    def __init__(self, generator, discriminator, average):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.generator_average = copy.deepcopy(generator) if average else None
        self.critic = None

    def sampler(self):
        return self.generator if self.generator_average is None else self.generator_average

    @torch.no_grad()
    def update_average(self, decay):
        foreach_lerp_(self.generator_average.parameters(), self.generator.parameters(),
                      1.0 - decay)
        for avg, b in zip(self.generator_average.buffers(), self.generator.buffers()):
            avg.copy_(b)
